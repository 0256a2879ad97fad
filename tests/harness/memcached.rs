//! Real memcached processes on free loopback ports, stopped by pid.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A memcached process started for a test. Killed when dropped.
pub struct Memcached {
    child: Option<Child>,
    /// The TCP port (0 for a unix-socket server).
    pub port: u16,
    /// The unix socket path, for a unix-socket server.
    pub socket: Option<PathBuf>,
    /// The loopback address it listens on (127.0.0.1 unless started with
    /// [`Memcached::start_on`]).
    pub ip: std::net::Ipv4Addr,
    extra_args: Vec<String>,
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    free_port_on(std::net::Ipv4Addr::LOCALHOST)
}

/// A port that was free a moment ago on loopback address `ip`.
pub fn free_port_on(ip: std::net::Ipv4Addr) -> u16 {
    assert!(ip.is_loopback(), "tests listen on loopback addresses only, not {ip}");
    let listener = TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip}:0: {e}"));
    listener.local_addr().expect("local_addr").port()
}

fn memcached_binary() -> String {
    std::env::var("MEMCACHED").unwrap_or_else(|_| "memcached".to_string())
}

fn base_command() -> Command {
    let mut cmd = Command::new(memcached_binary());
    // memcached refuses to run as root without -u.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.args(["-u", "root"]);
    }
    cmd.args(["-U", "0", "-t", "1", "-m", "64"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // If the test process dies without dropping the server (killed, aborted),
    // the server goes with it instead of lingering. The signal follows the
    // thread that started the server; each test starts and stops its own.
    // SAFETY: prctl is async-signal-safe and only affects the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

use libc::{SIGCONT, SIGKILL, SIGSTOP};

impl Memcached {
    /// Starts memcached on a free 127.0.0.1 port.
    pub fn start() -> Memcached {
        Memcached::start_with(&[])
    }

    /// Starts memcached on a free 127.0.0.1 port with extra arguments
    /// (e.g. `["-I", "2m"]`).
    pub fn start_with(args: &[&str]) -> Memcached {
        Memcached::start_on_with(std::net::Ipv4Addr::LOCALHOST, args)
    }

    /// Starts memcached on a free port of loopback address `ip` (127.0.0.2,
    /// 127.0.0.3, ...: servers that differ by address, as pods do).
    pub fn start_on(ip: std::net::Ipv4Addr) -> Memcached {
        Memcached::start_on_with(ip, &[])
    }

    /// One memcached on each loopback address of `ips`, all on the same
    /// port (as the pods behind one headless service): `ADDRESS:PORT` is
    /// what DNS discovery finds.
    pub fn start_on_one_port(ips: &[std::net::Ipv4Addr]) -> Vec<Memcached> {
        for _ in 0..20 {
            let port = free_port_on(ips[0]);
            let mut started = Vec::new();
            for &ip in ips {
                match Memcached::spawn_tcp(ip, port, &[]) {
                    Some(m) => started.push(m),
                    None => break,
                }
            }
            if started.len() == ips.len() {
                return started;
            }
        }
        panic!("could not start memcached on one free port of {ips:?}");
    }

    /// [`Memcached::start_on`] with extra arguments.
    pub fn start_on_with(ip: std::net::Ipv4Addr, args: &[&str]) -> Memcached {
        let extra: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        for _ in 0..20 {
            let port = free_port_on(ip);
            if let Some(m) = Memcached::spawn_tcp(ip, port, &extra) {
                return m;
            }
        }
        panic!("could not start memcached on a free port of {ip}");
    }

    /// Starts memcached listening on a unix socket at `path`.
    pub fn start_unix(path: &std::path::Path) -> Memcached {
        let _ = std::fs::remove_file(path);
        let mut cmd = base_command();
        cmd.arg("-s").arg(path).args(["-a", "0700"]);
        let child = cmd.spawn().expect("spawn memcached (is it installed?)");
        let mut m = Memcached {
            child: Some(child),
            port: 0,
            socket: Some(path.to_path_buf()),
            ip: std::net::Ipv4Addr::LOCALHOST,
            extra_args: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return m;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        m.kill();
        panic!("memcached did not start on {}", path.display());
    }

    fn spawn_tcp(ip: std::net::Ipv4Addr, port: u16, extra: &[String]) -> Option<Memcached> {
        let mut cmd = base_command();
        cmd.args(["-l", &ip.to_string(), "-p", &port.to_string()]).args(extra);
        let child = cmd.spawn().expect("spawn memcached (is it installed?)");
        let mut m =
            Memcached { child: Some(child), port, socket: None, ip, extra_args: extra.to_vec() };
        if m.wait_ready() {
            Some(m)
        } else {
            m.kill();
            None
        }
    }

    /// Waits until the server answers `version` (a TLS server, `-Z`: until
    /// it accepts connections; one with `-Y`: until it asks for a login);
    /// false if it exited or did not answer within 10 s.
    fn wait_ready(&mut self) -> bool {
        let tls = self.extra_args.iter().any(|a| a == "-Z");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    return false;
                }
            }
            if let Ok(mut s) = TcpStream::connect(self.addr()) {
                if tls {
                    return true;
                }
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                if s.write_all(b"version\r\n").is_ok() {
                    let mut line = String::new();
                    if BufReader::new(&mut s).read_line(&mut line).is_ok()
                        && (line.starts_with("VERSION")
                            || line.starts_with("CLIENT_ERROR unauthenticated"))
                    {
                        return true;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// `ip:port` (127.0.0.1 unless started on another loopback address).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.ip, self.port))
    }

    /// The server token for a config string: `ip:port` or the socket path.
    pub fn spec(&self) -> String {
        match &self.socket {
            Some(p) => p.display().to_string(),
            None => format!("{}:{}", self.ip, self.port),
        }
    }

    /// Whether the server was started with argument `arg` (e.g. `-Z`).
    pub fn has_arg(&self, arg: &str) -> bool {
        self.extra_args.iter().any(|a| a == arg)
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on a child we spawned and have not reaped.
            unsafe {
                libc::kill(pid as i32, sig);
            }
        }
    }

    /// SIGKILL and reap the process. The port stays reserved for `restart`
    /// only by convention: nothing else in the tests binds fixed ports.
    pub fn kill(&mut self) {
        self.signal(SIGKILL);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the process keeps its sockets but stops answering. Returns
    /// once the kernel reports it stopped.
    pub fn pause(&self) {
        self.signal(SIGSTOP);
        self.wait_for_state(|state| state == 'T' || state == 't');
    }

    /// The process state letter from /proc (R, S, T, ...).
    fn state(&self) -> Option<char> {
        let pid = self.pid()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The state follows the parenthesised command name.
        stat.rsplit_once(") ")?.1.chars().next()
    }

    fn wait_for_state(&self, want: impl Fn(char) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match self.state() {
                Some(s) if want(s) => return,
                None => return,
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    /// SIGCONT after `pause`. Returns once the process runs again.
    pub fn resume(&self) {
        self.signal(SIGCONT);
        self.wait_for_state(|state| state != 'T' && state != 't');
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// What `systemctl restart memcached` does: SIGTERM, wait for the
    /// process to exit, start a fresh one on the same port.
    pub fn restart_gracefully(&mut self) {
        self.signal(libc::SIGTERM);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        self.restart();
    }

    /// Starts a fresh (empty) memcached on the same port or socket after
    /// `kill`. Retries while the port is in TIME_WAIT or briefly taken.
    pub fn restart(&mut self) {
        self.kill();
        if let Some(path) = self.socket.clone() {
            *self = Memcached::start_unix(&path);
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(m) = Memcached::spawn_tcp(self.ip, self.port, &self.extra_args.clone()) {
                *self = m;
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("could not restart memcached on port {}", self.port);
    }

    /// Sends one raw text-protocol command and reads until `terminator`
    /// ends the reply (e.g. `"END\r\n"`). For asking a server directly.
    pub fn raw(&self, command: &[u8], terminator: &[u8]) -> Vec<u8> {
        raw_command(self.addr(), command, terminator)
    }

    /// The value of `key` stored on this server, asked directly.
    pub fn raw_get(&self, key: &[u8]) -> Option<(u32, Vec<u8>)> {
        let mut cmd = b"get ".to_vec();
        cmd.extend_from_slice(key);
        cmd.extend_from_slice(b"\r\n");
        let reply = self.raw(&cmd, b"END\r\n");
        parse_single_value(&reply)
    }

    /// Number of items this server holds (`stats` curr_items).
    pub fn curr_items(&self) -> u64 {
        self.stat("curr_items").and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// One `stats` value.
    pub fn stat(&self, name: &str) -> Option<String> {
        let reply = self.raw(b"stats\r\n", b"END\r\n");
        let text = String::from_utf8_lossy(&reply);
        text.lines().find_map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next() == Some("STAT") && parts.next() == Some(name))
                .then(|| parts.next().unwrap_or("").to_string())
        })
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        self.resume();
        self.kill();
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Sends `command` to `addr` and reads until the reply ends with `terminator`.
pub fn raw_command(addr: SocketAddr, command: &[u8], terminator: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(command).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while !out.ends_with(terminator) {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Parses `VALUE key flags len\r\n<data>\r\nEND\r\n`; `None` for a bare `END`.
pub fn parse_single_value(reply: &[u8]) -> Option<(u32, Vec<u8>)> {
    if !reply.starts_with(b"VALUE ") {
        return None;
    }
    let line_end = reply.windows(2).position(|w| w == b"\r\n")?;
    let header = std::str::from_utf8(&reply[..line_end]).ok()?;
    let mut parts = header.split(' ');
    parts.next();
    parts.next();
    let flags: u32 = parts.next()?.parse().ok()?;
    let len: usize = parts.next()?.parse().ok()?;
    let data = reply.get(line_end + 2..line_end + 2 + len)?.to_vec();
    Some((flags, data))
}
