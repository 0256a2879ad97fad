//! The placement oracle: `tests/oracle/oracle.c` linked against the system
//! libmemcached. It answers which server of a list libmemcached's
//! `memcached_server_by_key` picks for each key, for every distribution and
//! hash, and what libhashkit's functions return. It only computes; it never
//! connects to a server.
//!
//! The conversation is a script of commands written up front ([`Script`])
//! and answers read back in order ([`Answers`]). The pylibmc and
//! php-memcached helpers in `peers` speak the same protocol (servers, keys,
//! place), so their answers are read with the same code. The protocol is
//! described at the top of oracle.c.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;

use crate::c_build;

/// The oracle executable, built on first use (and rebuilt when oracle.c is
/// newer than the build). Panics with a clear message when libmemcached-dev
/// is missing.
pub fn oracle_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        c_build::build(
            &c_build::tests_file("oracle/oracle.c"),
            "placement-oracle",
            &["-lmemcached", "-lhashkit"],
            "libmemcached-dev (libmemcached 1.1 headers and libraries)",
        )
    })
}

/// Starts the oracle on `script`.
pub fn oracle(script: Script) -> Answers {
    Answers::spawn(Command::new(oracle_path()), "placement oracle", script)
}

/// A server as libmemcached is given it: a host without brackets and a port,
/// or a socket path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LmServer {
    /// `memcached_server_add_with_weight(host, port, weight)`.
    Tcp {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
        /// Weight as passed (0 means 1 to libmemcached).
        weight: u32,
    },
    /// `memcached_server_add_unix_socket_with_weight(path, weight)`.
    Unix {
        /// The socket path.
        path: String,
        /// Weight as passed.
        weight: u32,
    },
}

/// How the oracle hands servers to libmemcached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddMode {
    /// One by one (pylibmc, php-memcached `addServer`); O(n²) rebuilds.
    OneByOne,
    /// One server list pushed at once (php-memcached `addServers`).
    Push,
}

/// Commands for a placement process, composed before it starts.
#[derive(Default)]
pub struct Script {
    input: Vec<u8>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Script {
        Script::default()
    }

    /// Asks which hash algorithms the library has.
    pub fn algorithms(&mut self) -> &mut Script {
        self.input.extend_from_slice(b"algorithms\n");
        self
    }

    /// Chooses how servers are added for the following placements.
    pub fn mode(&mut self, mode: AddMode) -> &mut Script {
        let name = match mode {
            AddMode::OneByOne => "add",
            AddMode::Push => "push",
        };
        writeln!(self.input, "mode {name}").unwrap();
        self
    }

    /// Replaces the server list.
    pub fn servers(&mut self, servers: &[LmServer]) -> &mut Script {
        writeln!(self.input, "servers {}", servers.len()).unwrap();
        for s in servers {
            match s {
                LmServer::Tcp { host, port, weight } => {
                    writeln!(self.input, "tcp {host} {port} {weight}").unwrap()
                }
                LmServer::Unix { path, weight } => {
                    writeln!(self.input, "unix {path} {weight}").unwrap()
                }
            }
        }
        self
    }

    /// Replaces the key set. Keys are sent as lines, or hex-encoded when one
    /// of them holds a newline or the set has an empty key.
    pub fn keys(&mut self, keys: &[Vec<u8>]) -> &mut Script {
        let raw = keys.iter().all(|k| !k.is_empty() && !k.contains(&b'\n'));
        if raw {
            writeln!(self.input, "keys {}", keys.len()).unwrap();
            for k in keys {
                self.input.extend_from_slice(k);
                self.input.push(b'\n');
            }
        } else {
            writeln!(self.input, "keyshex {}", keys.len()).unwrap();
            for k in keys {
                for b in k {
                    write!(self.input, "{b:02x}").unwrap();
                }
                self.input.push(b'\n');
            }
        }
        self
    }

    /// Places every key with one distribution (`ketama-weighted`, `ketama`,
    /// `modula`) and hash (`default` or an algorithm name).
    pub fn place(&mut self, distribution: &str, hash: &str) -> &mut Script {
        writeln!(self.input, "place {distribution} {hash}").unwrap();
        self
    }

    /// Places every key with every distribution and hash (oracle only).
    pub fn place_all(&mut self) -> &mut Script {
        self.input.extend_from_slice(b"place-all\n");
        self
    }

    /// Asks for every algorithm's hash of every key (oracle only).
    pub fn digest(&mut self) -> &mut Script {
        self.input.extend_from_slice(b"digest\n");
        self
    }
}

/// Where a placement run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Per key: the owning server's index, or the library's error for the key.
    Placed(Vec<Result<usize, String>>),
    /// The library refused the hash.
    Unsupported(String),
    /// The library killed the process (e.g. an assertion).
    Crashed(String),
    /// Anything else that went wrong.
    Failed(String),
}

/// One placement answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// `ketama-weighted`, `ketama` or `modula`.
    pub distribution: String,
    /// `default` or an algorithm name.
    pub hash: String,
    /// The result.
    pub outcome: Outcome,
}

/// A running placement process and its answers, read in script order.
pub struct Answers {
    what: String,
    child: Option<Child>,
    out: BufReader<ChildStdout>,
    writer: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
}

impl Answers {
    /// Starts `command` and feeds it `script` (plus `quit`) from a thread, so
    /// that large inputs and outputs cannot deadlock.
    pub fn spawn(mut command: Command, what: &str, script: Script) -> Answers {
        let mut input = script.input;
        input.extend_from_slice(b"quit\n");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {what} ({command:?}): {e}"));
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            // A write error means the process died; the reader reports it.
            let _ = stdin.write_all(&input);
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = err.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        let out = BufReader::with_capacity(1 << 16, child.stdout.take().unwrap());
        Answers {
            what: what.to_string(),
            child: Some(child),
            out,
            writer: Some(writer),
            stderr: Some(stderr),
        }
    }

    /// Stops the process and returns what it wrote to stderr.
    fn kill_and_collect(&mut self) -> String {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    }

    fn fail(&mut self, message: &str) -> ! {
        let stderr = self.kill_and_collect();
        panic!("{}: {message}\n--- its stderr ---\n{stderr}", self.what)
    }

    /// Reads the next answer line into `buf`, without its newline.
    fn line_into(&mut self, buf: &mut Vec<u8>) {
        buf.clear();
        match self.out.read_until(b'\n', buf) {
            Ok(0) => self.fail("ended before answering"),
            Ok(_) => {}
            Err(e) => self.fail(&format!("read error: {e}")),
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
    }

    /// The next answer line, without its newline.
    fn line(&mut self) -> String {
        let mut buf = Vec::new();
        self.line_into(&mut buf);
        let line = String::from_utf8_lossy(&buf).into_owned();
        if let Some(reason) = line.strip_prefix("fatal ") {
            self.fail(&format!("refused the script: {reason}"));
        }
        line
    }

    /// Reads an `ok ...` acknowledgement (of `mode`, `servers`, `keys`).
    pub fn ok(&mut self) -> String {
        let line = self.line();
        match line.strip_prefix("ok ") {
            Some(rest) => rest.to_string(),
            None => self.fail(&format!("expected `ok`, got {line:?}")),
        }
    }

    /// Reads the answer to `algorithms`: (name, supported) in libhashkit order.
    pub fn algorithms(&mut self) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        loop {
            let line = self.line();
            if line == "end" {
                return out;
            }
            let fields: Vec<&str> = line.split(' ').collect();
            match fields.as_slice() {
                [_, name, "0"] => out.push((name.to_string(), false)),
                [_, name, "1"] => out.push((name.to_string(), true)),
                _ => self.fail(&format!("bad algorithms line {line:?}")),
            }
        }
    }

    /// Reads the answer to one `place`.
    pub fn placement(&mut self) -> Placement {
        let line = self.line();
        let mut parts = line.splitn(5, ' ');
        let (Some("place"), Some(distribution), Some(hash), Some(status)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            self.fail(&format!("expected a placement, got {line:?}"));
        };
        let rest = parts.next().unwrap_or("").to_string();
        let (distribution, hash) = (distribution.to_string(), hash.to_string());
        let outcome = match status {
            "ok" => {
                let n: usize = match rest.parse() {
                    Ok(n) => n,
                    Err(_) => self.fail(&format!("bad key count in {line:?}")),
                };
                let mut owners = Vec::with_capacity(n);
                let mut buf = Vec::new();
                for _ in 0..n {
                    self.line_into(&mut buf);
                    if let Some(reason) = buf.strip_prefix(b"ERR ") {
                        owners.push(Err(String::from_utf8_lossy(reason).into_owned()));
                    } else {
                        match parse_index(&buf) {
                            Some(i) => owners.push(Ok(i)),
                            None => {
                                let l = String::from_utf8_lossy(&buf).into_owned();
                                self.fail(&format!("bad owner line {l:?}"))
                            }
                        }
                    }
                }
                Outcome::Placed(owners)
            }
            "unsupported" => Outcome::Unsupported(rest),
            "crashed" => Outcome::Crashed(rest),
            "error" => Outcome::Failed(rest),
            _ => self.fail(&format!("bad placement status in {line:?}")),
        };
        Placement { distribution, hash, outcome }
    }

    /// Reads the answers to `place-all`.
    pub fn place_all(&mut self) -> Vec<Placement> {
        let mut out = Vec::new();
        loop {
            // Peek for the terminating "end".
            let buf = match self.out.fill_buf() {
                Ok(b) => b,
                Err(e) => self.fail(&format!("read error: {e}")),
            };
            if buf.starts_with(b"end\n") {
                self.line();
                return out;
            }
            out.push(self.placement());
        }
    }

    /// Reads the answer to `digest`: per key, per algorithm (in the order of
    /// `algorithms`), the hash or `None` where unsupported.
    pub fn digests(&mut self) -> Vec<Vec<Option<u32>>> {
        let header = self.line();
        let n: usize = match header.strip_prefix("digest ").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => self.fail(&format!("expected `digest <n>`, got {header:?}")),
        };
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let line = self.line();
            let mut values = Vec::new();
            for field in line.split(' ') {
                if field == "-" {
                    values.push(None);
                } else {
                    match field.parse() {
                        Ok(v) => values.push(Some(v)),
                        Err(_) => self.fail(&format!("bad digest line {line:?}")),
                    }
                }
            }
            out.push(values);
        }
        out
    }

    /// Waits for the process to end after `quit`; panics unless it exits 0.
    /// Returns its stderr.
    pub fn finish(mut self) -> String {
        let mut rest = Vec::new();
        let _ = self.out.read_to_end(&mut rest);
        let status = self.child.take().map(|mut c| c.wait());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        match status {
            Some(Ok(s)) if s.success() && rest.is_empty() => stderr,
            other => panic!(
                "{} ended badly ({other:?}), unread output {:?}\n--- its stderr ---\n{stderr}",
                self.what,
                String::from_utf8_lossy(&rest[..rest.len().min(500)])
            ),
        }
    }
}

/// A decimal server index.
fn parse_index(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| d.is_ascii_digit().then(|| n * 10 + (d - b'0') as usize))
}

impl Drop for Answers {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.kill_and_collect();
        }
    }
}

/// libmemcached's owner (an index into `servers`) of each key, with every
/// server pushed at once and the given distribution (`ketama-weighted`,
/// `ketama`, `modula`) and its default hash. Computed only: nothing dials.
pub fn owners(servers: &[mcring::ServerSpec], keys: &[Vec<u8>], distribution: &str) -> Vec<usize> {
    let lm: Vec<LmServer> = servers
        .iter()
        .map(|s| match s.transport {
            mcring::config::Transport::Unix => {
                LmServer::Unix { path: s.host.clone(), weight: s.weight }
            }
            mcring::config::Transport::Tcp => {
                LmServer::Tcp { host: s.host.clone(), port: s.port, weight: s.weight }
            }
        })
        .collect();
    let mut script = Script::new();
    script.mode(AddMode::Push).servers(&lm).keys(keys).place(distribution, "default");
    let mut answers = oracle(script);
    answers.ok();
    answers.ok();
    answers.ok();
    let placement = answers.placement();
    answers.finish();
    match placement.outcome {
        Outcome::Placed(owners) => owners
            .into_iter()
            .map(|o| o.unwrap_or_else(|e| panic!("libmemcached refused a key: {e}")))
            .collect(),
        other => panic!("the oracle did not place the keys: {other:?}"),
    }
}
