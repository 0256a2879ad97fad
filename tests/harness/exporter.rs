//! `mcring exporter` started by a test on a free loopback port, stopped by
//! pid (SIGTERM, then SIGKILL if it lingers).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::http_get;
use crate::mcring_binary;

/// A running exporter.
pub struct Exporter {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Exporter {
    /// Starts `mcring --servers CONFIG exporter --listen 127.0.0.1:0 ARGS`
    /// and waits for its `listening` line.
    pub fn start(config: &str, args: &[&str]) -> Exporter {
        Exporter::spawn(&["--servers", config], args)
    }

    /// Starts `mcring exporter --listen 127.0.0.1:0 ARGS` without servers
    /// (a shared metrics area alone, with `--shm`).
    pub fn start_without_servers(args: &[&str]) -> Exporter {
        Exporter::spawn(&[], args)
    }

    fn spawn(global: &[&str], args: &[&str]) -> Exporter {
        let mut child = Command::new(mcring_binary())
            .args(global)
            .args(["exporter", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("MCRING_SERVERS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mcring exporter");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("listening http://")
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Exporter { child: Some(child), addr }
    }

    /// One scrape: (HTTP status, body).
    pub fn scrape(&self) -> (u16, String) {
        http_get(self.addr, "/metrics", &[])
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit status.
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        // SAFETY: kill(2) on a child we spawned and have not reaped.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The value of the sample `name{labels}` exactly as written (labels in
/// the exporter's order), if present.
pub fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let (s, v) = l.rsplit_once(' ')?;
        (s == series).then(|| v.parse().ok())?
    })
}

/// The names of every sample in an exposition (`name` before `{` or ` `).
pub fn sample_names(exposition: &str) -> std::collections::BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next().map(str::to_string))
        .collect()
}
