//! The `mcring` command-line tool, built for the tests that run it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::c_build;
use crate::peers::workspace_root;

/// The `mcring` executable of this checkout, in the target directory and
/// profile the tests were built with. It is (re)built on first use with
/// `cargo build -p mcring --bin mcring` (a no-op when it is up to date), so a
/// test never runs a stale binary.
pub fn mcring_cli() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let profile_dir = c_build::profile_dir()
            .expect("tests run from a cargo target directory (<target>/<profile>/deps)");
        let target_dir = profile_dir.parent().expect("profile dir has a parent");
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut build = Command::new(&cargo);
        build
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", "mcring", "--bin", "mcring", "--target-dir"])
            .arg(target_dir);
        match profile {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let out = build.output().unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
        assert!(
            out.status.success(),
            "building the mcring CLI failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let exe = profile_dir.join("mcring");
        assert!(exe.is_file(), "{} was not built", exe.display());
        exe
    })
}
