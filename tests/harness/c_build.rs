//! Builds the small C programs the tests run (the placement oracle, the
//! no-dial guard) into the cargo target directory, once per test process
//! and again whenever the source is newer than the build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The cargo profile directory the running test executable was built in
/// (`<target>/<profile>`, for an executable at `<target>/<profile>/deps/<test>`).
pub fn profile_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name()? != "deps" {
        return None;
    }
    deps.parent().map(Path::to_path_buf)
}

/// The directory compiled C helpers go to: `<target>/<profile>/mcring-c`
/// (a temporary directory when the tests do not run from a target directory).
pub fn output_dir() -> PathBuf {
    profile_dir().unwrap_or_else(|| std::env::temp_dir().join("mcring-tests")).join("mcring-c")
}

/// A file in tests/ (this crate's directory).
pub fn tests_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Compiles `source` with `cc -O2 <args>` into `output_dir()/<name>` unless
/// an up-to-date build is there. `what_is_missing` names the packages a
/// failure most likely means are not installed.
///
/// Panics with the compiler's message when the build fails.
pub fn build(source: &Path, name: &str, args: &[&str], what_is_missing: &str) -> PathBuf {
    let dir = output_dir();
    let output = dir.join(name);
    let source_time =
        modified(source).unwrap_or_else(|| panic!("C source {} is missing", source.display()));
    if modified(&output).is_some_and(|t| t >= source_time) {
        return output;
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    // Build under a private name and rename: concurrent test processes may
    // build the same program.
    let partial = dir.join(format!("{name}.partial.{}", std::process::id()));
    let result = Command::new("cc")
        .arg("-O2")
        .arg("-Wall")
        .arg("-o")
        .arg(&partial)
        .arg(source)
        .args(args)
        .output();
    let result = match result {
        Ok(r) => r,
        Err(e) => panic!("cannot run the C compiler `cc` to build {name} ({e}); install gcc"),
    };
    if !result.status.success() {
        let _ = std::fs::remove_file(&partial);
        panic!(
            "building {name} from {} failed ({}); is {what_is_missing} installed? \
             (scripts/setup.sh installs it)\n{}",
            source.display(),
            result.status,
            String::from_utf8_lossy(&result.stderr)
        );
    }
    std::fs::rename(&partial, &output)
        .unwrap_or_else(|e| panic!("rename {} to {}: {e}", partial.display(), output.display()));
    output
}
