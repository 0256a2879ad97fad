//! The `mcring` command-line tool, built once per test run.
//!
//! Integration tests live in another package than the binary, so cargo's
//! `CARGO_BIN_EXE_*` is not available: the binary is built here with the
//! same cargo and profile, and its path handed out.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The path of a freshly built `mcring` binary (debug profile).
pub fn mcring_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let workspace = manifest.parent().expect("tests/ lives in the workspace").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", "mcring-cli", "--bin", "mcring"])
            .current_dir(&workspace)
            .status()
            .expect("run cargo build for the mcring binary");
        assert!(status.success(), "building the mcring binary failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let bin = target.join("debug").join("mcring");
        assert!(bin.exists(), "no binary at {}", bin.display());
        bin
    })
    .clone()
}
