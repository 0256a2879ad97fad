//! What routine failures cost a client, measured against real memcached:
//!
//! * **blip**: shared health on, three servers, 3,000 keys; one server is
//!   SIGSTOPped for 1 s (requests meanwhile mark it dead) and resumed; the
//!   share of its keys still found afterwards;
//! * **restart**: a client whose pool holds 8 idle connections; the server
//!   is restarted (SIGTERM, a new process on the same port); errors among
//!   the next 100 requests, and whether the server was marked dead.
//!
//! Uses only the engine's public API, so the same program measures any
//! revision (`cargo run --release -p mcring-bench --bin failure_costs`).
//! Needs `memcached` on the PATH; it dials loopback only.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcring::Client;

struct Server {
    port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl Server {
    fn start_on(port: u16) -> Server {
        let child = Command::new("memcached")
            .args(["-u", "root", "-U", "0", "-l", "127.0.0.1", "-p", &port.to_string()])
            .spawn()
            .expect("memcached on the PATH");
        let s = Server { port, child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = c.write_all(b"version\r\n");
                let mut line = String::new();
                if BufReader::new(c).read_line(&mut line).is_ok() && line.starts_with("VERSION") {
                    return s;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("memcached did not start on {port}");
    }

    fn start() -> Server {
        Server::start_on(free_port())
    }

    fn spec(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    fn restart_gracefully(&mut self) {
        self.signal(libc::SIGTERM);
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::net::TcpListener::bind(("127.0.0.1", self.port)).is_ok()
                || Instant::now() > deadline
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        *self = Server::start_on(self.port);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

fn blip() -> f64 {
    mcring::shared_health::init().expect("shared health");
    let servers = [Server::start(), Server::start(), Server::start()];
    let specs: Vec<String> = servers.iter().map(|s| s.spec()).collect();
    let c = Client::from_config_str(&format!(
        "{} failure_limit=2 retry_timeout_ms=300 connect_timeout_ms=200 io_timeout_ms=200",
        specs.join(" ")
    ))
    .unwrap();
    let keys: Vec<String> = (0..3000).map(|i| format!("blip:{i}")).collect();
    for k in &keys {
        c.set(k, k.as_bytes(), 0, 0).unwrap();
    }
    let victim = &servers[1];
    let mine: Vec<&String> =
        keys.iter().filter(|k| c.server_for(k).unwrap().name() == victim.spec()).collect();
    victim.signal(libc::SIGSTOP);
    let t = Instant::now();
    // Reads of its keys meanwhile (they time out, then see it dead).
    let mut i = 0;
    while t.elapsed() < Duration::from_secs(1) {
        let _ = c.get(mine[i % mine.len()]);
        i += 1;
    }
    victim.signal(libc::SIGCONT);
    std::thread::sleep(Duration::from_millis(400));
    let found = mine.iter().filter(|k| matches!(c.get(k), Ok(Some(_)))).count();
    found as f64 / mine.len() as f64
}

fn restart() -> (usize, bool) {
    let mut server = Server::start();
    let c = Arc::new(
        Client::from_config_str(&format!(
            "{} pool_size=8 failure_limit=2 retry_timeout_ms=5000",
            server.spec()
        ))
        .unwrap(),
    );
    // Eight threads at once leave eight idle connections.
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let _ = c.set(format!("r{t}:{i}"), b"v", 0, 0);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    server.restart_gracefully();
    let errors = (0..100).filter(|i| c.set(format!("after:{i}"), b"v", 0, 0).is_err()).count();
    let marked_dead = !c.alive()[0].1 || errors > 2;
    (errors, marked_dead)
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).collect();
    let all = which.is_empty();
    if all || which.iter().any(|w| w == "restart") {
        let (errors, dead) = restart();
        println!("restart: {errors} errors in the next 100 requests, marked dead: {dead}");
    }
    if all || which.iter().any(|w| w == "blip") {
        println!(
            "blip: {:.1}% of the stopped server's keys found after a 1 s SIGSTOP",
            blip() * 100.0
        );
    }
}
