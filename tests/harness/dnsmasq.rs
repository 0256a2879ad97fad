//! A real DNS server for discovery tests: dnsmasq on a free 127.0.0.1
//! port, answering from its own hosts file and SRV lines only (no upstream,
//! no /etc/hosts, no system config). Records change by rewriting the hosts
//! file and sending SIGHUP (dnsmasq re-reads it); SRV records live in its
//! config file, which is read at start ([`Dnsmasq::restart`]).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One SRV record: `_service._proto.name`, target, port, priority, weight.
#[derive(Clone, Debug)]
pub struct Srv {
    /// The record's name, e.g. `_memcache._tcp.mc.test`.
    pub name: String,
    /// The target host name.
    pub target: String,
    /// The port.
    pub port: u16,
    /// The priority (lower first).
    pub priority: u16,
    /// The weight.
    pub weight: u16,
}

/// A dnsmasq process. Killed when dropped.
pub struct Dnsmasq {
    child: Option<Child>,
    /// Its UDP and TCP port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

fn binary() -> String {
    std::env::var("DNSMASQ").unwrap_or_else(|_| {
        if std::path::Path::new("/usr/sbin/dnsmasq").exists() {
            "/usr/sbin/dnsmasq".into()
        } else {
            "dnsmasq".into()
        }
    })
}

impl Dnsmasq {
    /// Starts dnsmasq answering `hosts` (name, address) and `srv`.
    pub fn start(hosts: &[(&str, Ipv4Addr)], srv: &[Srv]) -> Dnsmasq {
        let dir = std::env::temp_dir().join(format!(
            "mcring-dnsmasq-{}-{}",
            std::process::id(),
            crate::memcached::free_port()
        ));
        std::fs::create_dir_all(&dir).expect("dnsmasq dir");
        let mut d = Dnsmasq { child: None, port: 0, dir };
        d.write_hosts(hosts);
        d.write_srv(srv);
        for _ in 0..20 {
            let port = free_udp_port();
            if d.spawn(port) {
                return d;
            }
        }
        panic!("could not start dnsmasq on a free port (is dnsmasq-base installed?)");
    }

    /// `127.0.0.1:port`, for `dns_server=`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn hosts_file(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    fn conf_file(&self) -> PathBuf {
        self.dir.join("dnsmasq.conf")
    }

    fn write_hosts(&self, hosts: &[(&str, Ipv4Addr)]) {
        let text: String = hosts.iter().map(|(name, ip)| format!("{ip} {name}\n")).collect();
        // Written aside and renamed, so dnsmasq never reads half a file.
        let tmp = self.dir.join("hosts.tmp");
        std::fs::write(&tmp, text).expect("write hosts");
        std::fs::rename(&tmp, self.hosts_file()).expect("rename hosts");
    }

    fn write_srv(&self, srv: &[Srv]) {
        let text: String = srv
            .iter()
            .map(|s| {
                format!("srv-host={},{},{},{},{}\n", s.name, s.target, s.port, s.priority, s.weight)
            })
            .collect();
        std::fs::write(self.conf_file(), text).expect("write dnsmasq.conf");
    }

    fn spawn(&mut self, port: u16) -> bool {
        let mut cmd = Command::new(binary());
        cmd.arg("--keep-in-foreground")
            .arg(format!("--conf-file={}", self.conf_file().display()))
            .arg("--no-resolv")
            .arg("--no-hosts")
            // Authoritative for .test: a name without records is NXDOMAIN
            // (as a real zone answers), not REFUSED.
            .arg("--local=/test/")
            .arg("--no-poll")
            .arg(format!("--addn-hosts={}", self.hosts_file().display()))
            .arg("--listen-address=127.0.0.1")
            .arg("--bind-interfaces")
            .arg(format!("--port={port}"))
            .arg("--pid-file=")
            .arg("--user=root")
            .arg("--local-ttl=0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe and only affects the child.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn dnsmasq (is dnsmasq-base installed?)");
        self.child = Some(child);
        self.port = port;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return false;
            }
            if answers(self.addr()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    /// Replaces the hosts records and makes dnsmasq re-read them (SIGHUP).
    pub fn set_hosts(&self, hosts: &[(&str, Ipv4Addr)]) {
        self.write_hosts(hosts);
        self.signal(libc::SIGHUP);
        // dnsmasq handles the signal in its event loop: wait for a reply
        // after it, so the new records are served when this returns.
        std::thread::sleep(Duration::from_millis(50));
        assert!(answers(self.addr()), "dnsmasq answers after SIGHUP");
    }

    /// Restarts dnsmasq on the same port with new SRV records (and hosts).
    pub fn restart(&mut self, hosts: &[(&str, Ipv4Addr)], srv: &[Srv]) {
        self.kill();
        self.write_hosts(hosts);
        self.write_srv(srv);
        let port = self.port;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.spawn(port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("could not restart dnsmasq on port {port}");
    }

    fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on a child we spawned and have not reaped.
            unsafe {
                libc::kill(c.id() as i32, sig);
            }
        }
    }

    /// SIGKILL and reap: the port then answers nothing.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A UDP port that was free a moment ago on 127.0.0.1 (and TCP too).
fn free_udp_port() -> u16 {
    loop {
        let port = crate::memcached::free_port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Whether a DNS server at `addr` answers a query (for `ready.test A`).
fn answers(addr: SocketAddr) -> bool {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else { return false };
    let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
    // Header: id 0x6d63, recursion desired, one question.
    let mut q = vec![0x6d, 0x63, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["ready", "test"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    if sock.send_to(&q, addr).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(sock.recv_from(&mut buf), Ok((n, _)) if n >= 12 && buf[..2] == q[..2])
}
