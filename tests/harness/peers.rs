//! The clients mcring must agree with, as placement answerers: pylibmc (with
//! the libmemcached its wheel bundles) and php-memcached (with the system
//! libmemcached). Helper scripts in tests/peers speak the oracle's protocol
//! (see [`crate::oracle`]).
//!
//! They run under the no-dial guard (tests/oracle/no_dial.c, loaded with
//! LD_PRELOAD): any attempt to connect or to resolve a name is refused and
//! recorded in a [`DialLog`], which tests assert is empty.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::c_build;
use crate::oracle::{Answers, Script};

/// The workspace root (the directory above tests/).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The virtualenv python with pylibmc: `<workspace>/.venv/bin/python`.
/// Panics, saying how to create it, when it or pylibmc is missing.
pub fn venv_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = workspace_root().join(".venv/bin/python");
        let probe = Command::new(&python).args(["-c", "import pylibmc"]).output();
        match probe {
            Ok(o) if o.status.success() => python,
            Ok(o) => panic!(
                "{} cannot import pylibmc: {}\nrun `bash scripts/setup.sh` (or \
                 `python3 -m venv .venv && .venv/bin/pip install pylibmc`) in the workspace",
                python.display(),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => panic!(
                "{} is missing ({e}); run `bash scripts/setup.sh` (or `python3 -m venv .venv \
                 && .venv/bin/pip install pylibmc`) in the workspace",
                python.display()
            ),
        }
    })
}

/// pylibmc's version and the version of the libmemcached it bundles.
pub fn pylibmc_versions() -> (String, String) {
    let out = Command::new(venv_python())
        .args([
            "-c",
            "import pylibmc, _pylibmc; print(pylibmc.__version__, _pylibmc.libmemcached_version)",
        ])
        .output()
        .expect("run python");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (a, b) = text.split_once(' ').unwrap_or((&text, "?"));
    (a.to_string(), b.to_string())
}

/// The `php` CLI with the memcached extension. Panics clearly when missing.
pub fn php() -> &'static str {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let probe =
            Command::new("php").args(["-r", "exit(class_exists('Memcached') ? 0 : 3);"]).output();
        match probe {
            Ok(o) if o.status.success() => {}
            Ok(o) => panic!(
                "php has no memcached extension ({}); install php-memcached \
                 (scripts/setup.sh does)",
                o.status
            ),
            Err(e) => panic!("php CLI is missing ({e}); install php-cli and php-memcached"),
        }
    });
    "php"
}

/// php-memcached's version.
pub fn php_memcached_version() -> String {
    let out = Command::new(php())
        .args(["-r", "echo phpversion('memcached');"])
        .output()
        .expect("run php");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The no-dial guard library, built on first use.
pub fn no_dial_guard() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        c_build::build(
            &c_build::tests_file("oracle/no_dial.c"),
            "no_dial.so",
            &["-shared", "-fPIC"],
            "gcc",
        )
    })
}

/// A file the no-dial guard records attempts in; removed when dropped.
pub struct DialLog {
    path: PathBuf,
}

impl DialLog {
    /// A fresh, empty log.
    pub fn new() -> DialLog {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = c_build::output_dir();
        std::fs::create_dir_all(&dir).expect("create output dir");
        let path = dir.join(format!(
            "dial-log-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        DialLog { path }
    }

    /// Sets `command` up to run under the guard, recording here.
    pub fn guard(&self, command: &mut Command) {
        command.env("LD_PRELOAD", no_dial_guard()).env("MCRING_NO_DIAL_LOG", &self.path);
    }

    /// Every recorded attempt, one per line (`connect 10.0.0.1:11211`).
    pub fn attempts(&self) -> Vec<String> {
        std::fs::read_to_string(&self.path)
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

impl Default for DialLog {
    fn default() -> DialLog {
        DialLog::new()
    }
}

impl Drop for DialLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The pylibmc helper's command (not yet guarded).
pub fn pylibmc_command() -> Command {
    let mut c = Command::new(venv_python());
    c.arg(c_build::tests_file("peers/pylibmc_placement.py"));
    c
}

/// The php-memcached helper's command (not yet guarded).
pub fn php_command() -> Command {
    let mut c = Command::new(php());
    c.args(["-d", "display_errors=stderr", "-d", "error_reporting=-1"]);
    c.arg(c_build::tests_file("peers/php_placement.php"));
    c
}

/// Runs `script` through pylibmc under the guard recording into `log`.
pub fn pylibmc(script: Script, log: &DialLog) -> Answers {
    let mut c = pylibmc_command();
    log.guard(&mut c);
    Answers::spawn(c, "pylibmc placement helper", script)
}

/// Runs `script` through php-memcached under the guard recording into `log`.
pub fn php_memcached(script: Script, log: &DialLog) -> Answers {
    let mut c = php_command();
    log.guard(&mut c);
    Answers::spawn(c, "php-memcached placement helper", script)
}
