//! Seeded random inputs for placement tests: server lists in every form a
//! user writes them (IPv4, IPv6, host names, unix sockets, ports, weights)
//! and keys (printable ASCII and UTF-8, 1 to 250 bytes).
//!
//! Every list knows each server both as the config token mcring parses and
//! as the (host, port, weight) libmemcached is given, so the two sides are
//! set up independently.

use crate::oracle::LmServer;

/// xorshift64*: small, seeded, reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.range(0, 99) < percent
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

/// One generated server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestServer {
    /// The config token, as a user writes it (`10.0.0.1:11212:5`,
    /// `[fd00::1]:11211`, `cache-3`, `/tmp/mc.sock:2`).
    pub token: String,
    /// The same server as libmemcached is given it.
    pub lm: LmServer,
}

impl TestServer {
    /// The name `mcring locate` prints for this server: `host:port`,
    /// `[v6]:port`, or the socket path (never the weight).
    pub fn name(&self) -> String {
        match &self.lm {
            LmServer::Tcp { host, port, .. } if host.contains(':') => format!("[{host}]:{port}"),
            LmServer::Tcp { host, port, .. } => format!("{host}:{port}"),
            LmServer::Unix { path, .. } => path.clone(),
        }
    }

    /// The host (or path) and port as libmemcached reports them
    /// (`memcached_server_name`, `memcached_server_port`; 0 for sockets).
    pub fn host_port(&self) -> (String, u16) {
        match &self.lm {
            LmServer::Tcp { host, port, .. } => (host.clone(), *port),
            LmServer::Unix { path, .. } => (path.clone(), 0),
        }
    }

    /// Whether this is an IPv6 address.
    pub fn is_ipv6(&self) -> bool {
        matches!(&self.lm, LmServer::Tcp { host, .. } if host.contains(':'))
    }

    /// Whether this is a unix socket.
    pub fn is_unix(&self) -> bool {
        matches!(self.lm, LmServer::Unix { .. })
    }
}

/// Which kinds of hosts a generated list may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKinds {
    /// IPv4 (10.x), IPv6, host names and unix sockets.
    All,
    /// IPv4 (10.x), IPv6 and host names: TCP only (pylibmc cannot mix unix
    /// sockets with TCP servers).
    Tcp,
    /// IPv4 10.x addresses and host names only.
    Ipv4AndNames,
}

/// How weights are chosen for a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// Every weight 1 (sometimes written `:1`, sometimes left out).
    AllOne,
    /// Weights 1..=100.
    Random,
    /// Weights 1..=100 with some explicit 0 (libmemcached reads 0 as 1).
    RandomWithZero,
}

/// What a generated list looks like.
#[derive(Clone, Copy, Debug)]
pub struct ListShape {
    /// Number of servers.
    pub size: usize,
    /// Host kinds.
    pub hosts: HostKinds,
    /// Weights.
    pub weights: Weights,
    /// Whether a server may appear twice (same host and port).
    pub duplicates: bool,
}

const NAME_WORDS: &[&str] =
    &["cache", "mc", "memcached", "sess", "Cache", "MC-EU", "objects", "frag", "web", "kv"];
const DOMAINS: &[&str] =
    &["", "", ".example.internal", ".svc.cluster.local", ".Example.COM", ".lan", ".invalid"];

fn random_port(rng: &mut Rng) -> u16 {
    match rng.range(0, 99) {
        0..=39 => 11211,
        40..=49 => 11212,
        50..=54 => rng.range(1, 1023) as u16,
        _ => rng.range(1024, 65535) as u16,
    }
}

fn random_ipv6(rng: &mut Rng) -> String {
    let groups: Vec<u16> = (0..8).map(|_| rng.range(0, 0xffff) as u16).collect();
    let text = match rng.range(0, 4) {
        0 => format!("fd{:02x}:{:x}::{:x}", rng.range(0, 255), groups[1], groups[7]),
        1 => format!(
            "2001:db8:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
            groups[2], groups[3], groups[4], groups[5], groups[6], groups[7]
        ),
        2 => format!("fe80::{:x}:{:x}", groups[6], groups[7]),
        3 => format!("::ffff:10.{}.{}.{}", rng.range(0, 255), rng.range(0, 255), rng.range(1, 254)),
        _ => format!("fd00:{:04x}:{:04x}::{:04x}", groups[1], groups[2], groups[3]),
    };
    // Case is kept as written, by libmemcached as by mcring.
    if rng.percent(15) {
        text.to_ascii_uppercase()
    } else {
        text
    }
}

fn random_name(rng: &mut Rng) -> String {
    let word = rng.pick(NAME_WORDS);
    let domain = rng.pick(DOMAINS);
    match rng.range(0, 2) {
        0 => format!("{word}{}{domain}", rng.range(0, 999)),
        1 => format!("{word}-{:02}{domain}", rng.range(0, 99)),
        _ => format!(
            "{word}-{}-{}{domain}",
            rng.pick(&["a", "b", "c", "eu1", "us2"]),
            rng.range(0, 9)
        ),
    }
}

fn random_path(rng: &mut Rng) -> String {
    match rng.range(0, 2) {
        0 => format!("/tmp/mc-{}.sock", rng.range(0, 9999)),
        1 => format!("/run/memcached/{}.sock", random_name(rng).replace('.', "_")),
        _ => format!("/var/run/mc{}", rng.range(0, 999)),
    }
}

fn random_weight(rng: &mut Rng, weights: Weights) -> u32 {
    match weights {
        Weights::AllOne => 1,
        Weights::Random => rng.range(1, 100) as u32,
        Weights::RandomWithZero if rng.percent(10) => 0,
        Weights::RandomWithZero => rng.range(1, 100) as u32,
    }
}

fn random_server(rng: &mut Rng, hosts: HostKinds, weights: Weights) -> TestServer {
    let weight = random_weight(rng, weights);
    // The weight is written when it is not 1, and sometimes when it is.
    let write_weight = weight != 1 || rng.percent(20);
    let kind = match hosts {
        HostKinds::All => rng.range(0, 9),
        HostKinds::Tcp => rng.range(0, 8),
        HostKinds::Ipv4AndNames => rng.range(0, 6),
    };
    match kind {
        0..=6 => {
            let host = if kind <= 3 {
                format!("10.{}.{}.{}", rng.range(0, 255), rng.range(0, 255), rng.range(1, 254))
            } else {
                random_name(rng)
            };
            let port = random_port(rng);
            let token = if port == 11211 && !write_weight && rng.percent(50) {
                host.clone()
            } else if write_weight {
                format!("{host}:{port}:{weight}")
            } else {
                format!("{host}:{port}")
            };
            TestServer { token, lm: LmServer::Tcp { host, port, weight } }
        }
        7 | 8 => {
            let host = random_ipv6(rng);
            let port = random_port(rng);
            let token = if port == 11211 && !write_weight && rng.percent(50) {
                format!("[{host}]")
            } else if write_weight {
                format!("[{host}]:{port}:{weight}")
            } else {
                format!("[{host}]:{port}")
            };
            TestServer { token, lm: LmServer::Tcp { host, port, weight } }
        }
        _ => {
            let path = random_path(rng);
            let token = if write_weight { format!("{path}:{weight}") } else { path.clone() };
            TestServer { token, lm: LmServer::Unix { path, weight } }
        }
    }
}

/// A random server list of the given shape. Without `duplicates`, every
/// (host, port) is distinct, so a server can be named by host and port.
pub fn server_list(rng: &mut Rng, shape: ListShape) -> Vec<TestServer> {
    let mut list: Vec<TestServer> = Vec::with_capacity(shape.size);
    while list.len() < shape.size {
        if shape.duplicates && !list.is_empty() && rng.percent(3) {
            let copy = rng.pick(&list).clone();
            list.push(copy);
            continue;
        }
        let server = random_server(rng, shape.hosts, shape.weights);
        if list.iter().any(|s| s.host_port() == server.host_port()) {
            continue;
        }
        list.push(server);
    }
    list
}

/// The config string for a list plus options (`distribution=...`).
pub fn config_string(servers: &[TestServer], options: &[String]) -> String {
    let mut parts: Vec<&str> = servers.iter().map(|s| s.token.as_str()).collect();
    parts.extend(options.iter().map(|o| o.as_str()));
    parts.join(" ")
}

/// The list as libmemcached is given it.
pub fn lm_servers(servers: &[TestServer]) -> Vec<LmServer> {
    servers.iter().map(|s| s.lm.clone()).collect()
}

/// Characters UTF-8 keys are drawn from: Latin-1, Greek, Cyrillic, CJK,
/// emoji, and anything from U+0080 up.
fn random_non_ascii(rng: &mut Rng) -> char {
    loop {
        let c = match rng.range(0, 5) {
            0 => rng.range(0xA1, 0xFF),
            1 => rng.range(0x391, 0x3C9),
            2 => rng.range(0x410, 0x44F),
            3 => rng.range(0x4E00, 0x9FFF),
            4 => rng.range(0x1F300, 0x1F5FF),
            _ => rng.range(0x80, 0x10FFFF),
        };
        if let Some(c) = char::from_u32(c as u32) {
            return c;
        }
    }
}

/// A key length in bytes: mostly short, up to 250.
fn random_key_len(rng: &mut Rng) -> usize {
    match rng.range(0, 9) {
        0..=4 => rng.range(1, 32) as usize,
        5..=7 => rng.range(33, 128) as usize,
        _ => rng.range(129, 250) as usize,
    }
}

/// A valid key: printable ASCII without whitespace, or UTF-8 (mixed with
/// ASCII), 1..=250 bytes.
pub fn key(rng: &mut Rng) -> Vec<u8> {
    let len = random_key_len(rng);
    let utf8 = rng.percent(40);
    let mut key = String::with_capacity(len);
    loop {
        let c = if utf8 && rng.percent(60) {
            random_non_ascii(rng)
        } else {
            rng.range(0x21, 0x7e) as u8 as char
        };
        if key.len() + c.len_utf8() > len {
            if key.is_empty() {
                continue;
            }
            return key.into_bytes();
        }
        key.push(c);
    }
}

/// `n` valid keys, all distinct.
pub fn keys(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let k = key(rng);
        if seen.insert(k.clone()) {
            out.push(k);
        }
    }
    out
}

/// Keys libmemcached refuses: too long (251 and 300 bytes, ASCII and UTF-8).
/// (The empty key is refused too, but cannot be a line of input.)
pub fn refused_keys() -> Vec<Vec<u8>> {
    vec![vec![b'k'; 251], vec![b'x'; 300], "é".repeat(126).into_bytes()]
}

/// Arbitrary bytes (any value 0..=255), 0..=300 long: for hash functions.
pub fn byte_string(rng: &mut Rng) -> Vec<u8> {
    let len = match rng.range(0, 3) {
        0 => rng.range(0, 8),
        1 => rng.range(9, 64),
        _ => rng.range(65, 300),
    } as usize;
    (0..len).map(|_| rng.range(0, 255) as u8).collect()
}
