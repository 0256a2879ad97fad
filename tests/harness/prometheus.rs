//! A real Prometheus server (Debian's `prometheus` package) started by a
//! test on a free loopback port, with its storage in a temporary directory,
//! scraping the targets it is given; stopped by pid.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{http_get, url_encode};
use crate::memcached::free_port;

/// A running Prometheus.
pub struct Prometheus {
    child: Option<Child>,
    dir: PathBuf,
    /// Its HTTP API.
    pub addr: SocketAddr,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (host:port, path /metrics) as job
    /// `mcring` every `interval`, evaluating `rule_files` as often, and
    /// waits until it is ready.
    pub fn start(target: SocketAddr, interval: &str, rule_files: &[PathBuf]) -> Prometheus {
        let dir = std::env::temp_dir().join(format!(
            "mcring-prometheus-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let rules: String = rule_files.iter().map(|p| format!("  - {}\n", p.display())).collect();
        let config = format!(
            "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n  \
             evaluation_interval: {interval}\nrule_files:\n{rules}scrape_configs:\n  \
             - job_name: mcring\n    static_configs:\n      - targets: ['{target}']\n"
        );
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let binary = std::env::var("PROMETHEUS").unwrap_or_else(|_| "prometheus".to_string());
        for _ in 0..10 {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let child = Command::new(&binary)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
                .arg(format!("--web.listen-address={addr}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn prometheus (is the prometheus package installed?)");
            let mut p = Prometheus { child: Some(child), dir: dir.clone(), addr };
            if p.wait_ready(Duration::from_secs(30)) {
                return p;
            }
            p.stop();
        }
        panic!("prometheus did not start");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    return false;
                }
            }
            if std::net::TcpStream::connect(self.addr).is_ok()
                && http_get(self.addr, "/-/ready", &[]).0 == 200
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// GETs an API path (e.g. `/api/v1/alerts`) and returns the body.
    pub fn api(&self, path: &str) -> String {
        let (status, body) = http_get(self.addr, path, &[]);
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// An instant query; returns the raw JSON body.
    pub fn query(&self, promql: &str) -> String {
        self.api(&format!("/api/v1/query?query={}", url_encode(promql)))
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on a child we spawned and have not reaped.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
