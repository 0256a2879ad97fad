//! One option set for every binding, parsed from a config string or built in code.
//!
//! The config string is whitespace-separated tokens. A token with `=` is an
//! option (`distribution=ketama`, `replicas=1`); any other token is a server:
//!
//! ```text
//! host:port[:weight]      cache1:11211  10.0.0.7:11212:3  cache2 (port 11211)
//! [v6addr]:port[:weight]  [::1]:11211   [fe80::1]:11300:2
//! /path/to.sock[:weight]  /run/memcached/mc.sock  /tmp/mc.sock:4
//! ```
//!
//! A weight of 0 means 1, as in libmemcached. Placement hashes server names as
//! written (no DNS), exactly as libmemcached does.

use std::fmt;
use std::str::FromStr;

use crate::hash::HashKind;
use crate::ring::Distribution;

/// memcached's default port.
pub const DEFAULT_PORT: u16 = 11211;

/// How a server is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP over IPv4 or IPv6 (or a host name resolved at connect time).
    Tcp,
    /// A unix domain socket; `host` is its path.
    Unix,
}

/// One memcached server as configured.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerSpec {
    /// Host name or address without IPv6 brackets, or the socket path.
    pub host: String,
    /// TCP port; 0 for unix sockets (libmemcached's convention).
    pub port: u16,
    /// Relative weight for `ketama-weighted`; at least 1.
    pub weight: u32,
    /// TCP or unix socket.
    pub transport: Transport,
}

impl ServerSpec {
    /// A TCP server.
    pub fn tcp(host: impl Into<String>, port: u16) -> ServerSpec {
        ServerSpec { host: host.into(), port, weight: 1, transport: Transport::Tcp }
    }

    /// A unix socket server.
    pub fn unix(path: impl Into<String>) -> ServerSpec {
        ServerSpec { host: path.into(), port: 0, weight: 1, transport: Transport::Unix }
    }

    /// The same server with another weight (0 means 1).
    pub fn with_weight(mut self, weight: u32) -> ServerSpec {
        self.weight = weight.max(1);
        self
    }

    /// Whether the host is an IPv6 literal (written in brackets in names).
    pub fn is_ipv6(&self) -> bool {
        self.transport == Transport::Tcp && self.host.contains(':')
    }

    /// The server's name as users write it: `host:port`, `[v6]:port`, or the
    /// socket path. This is what `locate` prints and errors name.
    pub fn name(&self) -> String {
        match self.transport {
            Transport::Unix => self.host.clone(),
            Transport::Tcp if self.is_ipv6() => format!("[{}]:{}", self.host, self.port),
            Transport::Tcp => format!("{}:{}", self.host, self.port),
        }
    }

    /// Parses one server token.
    pub fn parse(token: &str) -> Result<ServerSpec, ConfigError> {
        let bad = |reason: &str| ConfigError::new(token, reason);
        if token.is_empty() {
            return Err(bad("empty server"));
        }
        if token.starts_with('/') {
            // A unix socket path, optionally followed by ":weight".
            let (path, weight) = match token.rsplit_once(':') {
                Some((path, w)) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
                    (path, parse_weight(w).ok_or_else(|| bad("weight must be 0..4294967295"))?)
                }
                _ => (token, 1),
            };
            if path.len() < 2 {
                return Err(bad("unix socket path is empty"));
            }
            return Ok(ServerSpec::unix(path).with_weight(weight));
        }
        let (host, rest) = if let Some(after) = token.strip_prefix('[') {
            let (host, rest) =
                after.split_once(']').ok_or_else(|| bad("IPv6 address misses its closing ']'"))?;
            if host.is_empty() || !host.contains(':') {
                return Err(bad("brackets must hold an IPv6 address"));
            }
            if !host.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.' || b == b'%') {
                return Err(bad("not an IPv6 address"));
            }
            let rest = match rest {
                "" => None,
                r => Some(r.strip_prefix(':').ok_or_else(|| bad("expected ':' after ']'"))?),
            };
            (host, rest)
        } else {
            match token.split_once(':') {
                Some((host, rest)) => (host, Some(rest)),
                None => (token, None),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        if host.len() >= 1025 {
            return Err(bad("host name is too long"));
        }
        if !token.starts_with('[') && host.contains(['[', ']']) {
            return Err(bad("stray bracket in host"));
        }
        let (port, weight) = match rest {
            None => (DEFAULT_PORT, 1),
            Some(rest) => {
                let mut parts = rest.split(':');
                let port = parts.next().unwrap_or("");
                let weight = parts.next();
                if parts.next().is_some() {
                    return Err(bad(
                        "too many ':' (write IPv6 addresses in brackets: [addr]:port)",
                    ));
                }
                let port: u16 = match port.parse() {
                    Ok(p) if p > 0 => p,
                    _ => return Err(bad("port must be 1..65535")),
                };
                let weight = match weight {
                    None => 1,
                    Some(w) => {
                        parse_weight(w).ok_or_else(|| bad("weight must be 0..4294967295"))?
                    }
                };
                (port, weight)
            }
        };
        Ok(ServerSpec::tcp(host, port).with_weight(weight))
    }
}

fn parse_weight(w: &str) -> Option<u32> {
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    w.parse().ok()
}

impl fmt::Display for ServerSpec {
    /// The token that parses back to this server: its name, plus `:weight`
    /// when the weight is not 1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if self.weight != 1 {
            write!(f, ":{}", self.weight)?;
        }
        Ok(())
    }
}

/// A config token that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The token, exactly as given.
    pub token: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// An error about `token`.
    pub fn new(token: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError { token: token.to_string(), reason: reason.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.token.is_empty() {
            write!(f, "bad config: {}", self.reason)
        } else {
            write!(f, "bad config token {:?}: {}", self.token, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Which copy a read tries first when `replicas > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPolicy {
    /// The primary, then replicas in order.
    Primary,
    /// A random copy first (spreads hot keys), then the others in order.
    Random,
}

/// Where the replicas of a key live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaPlacement {
    /// The next distinct servers clockwise on the continuum.
    Ring,
    /// libmemcached's `NUMBER_OF_REPLICAS`: the next server indices in the list.
    Libmemcached,
}

/// What the keys of a dead server do until it is probed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failover {
    /// Rebuild the continuum without it (libmemcached's REMOVE_FAILED_SERVERS).
    Eject,
    /// Use the next live server on the ring; only its keys move.
    Next,
    /// Use the gutter pool, with TTLs clamped to `gutter_ttl`.
    Gutter,
    /// Nothing: reads miss, writes fail.
    None,
}

/// Which flags convention values are written and read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    /// php-memcached's type flags (shared by every mcring binding).
    Php,
    /// pylibmc's flags (pickle, int, long, zlib, text), for migrations.
    Pylibmc,
}

/// How structured values (arrays, dicts, objects) are serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serializer {
    /// JSON, readable by every language (php-memcached type 6).
    Json,
    /// Python pickle (Python only).
    Pickle,
    /// PHP `serialize()` (PHP only, php-memcached type 4).
    Php,
}

/// The complete option set of a client.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The pool, in the order given (order matters for placement).
    pub servers: Vec<ServerSpec>,
    /// Key distribution; default `ketama-weighted`.
    pub distribution: Distribution,
    /// Key hash; `None` means the distribution's libmemcached default.
    pub hash: Option<HashKind>,
    /// Prepended to every key on the wire (libmemcached's namespace).
    pub prefix: String,
    /// Whether the prefix takes part in placement (libmemcached's
    /// `HASH_WITH_PREFIX_KEY`); off by default, as in libmemcached.
    pub hash_with_prefix: bool,
    /// Bound on establishing a connection.
    pub connect_timeout_ms: u64,
    /// Bound on each request's network I/O.
    pub io_timeout_ms: u64,
    /// Largest value accepted, in bytes (memcached's default item limit).
    pub max_value_bytes: usize,
    /// Idle connections kept per server for concurrent callers.
    pub pool_size: usize,
    /// Extra copies of every key.
    pub replicas: usize,
    /// Which copy reads try first.
    pub read_policy: ReadPolicy,
    /// Where replicas live.
    pub replica_placement: ReplicaPlacement,
    /// Consecutive failures that mark a server dead.
    pub failure_limit: u32,
    /// How long a dead server is left alone before one request probes it.
    pub retry_timeout_ms: u64,
    /// What a dead server's keys do meanwhile.
    pub failover: Failover,
    /// The gutter pool for `failover=gutter`.
    pub gutter: Vec<ServerSpec>,
    /// TTL cap (seconds) for writes to the gutter pool and rerouted writes.
    pub gutter_ttl: u32,
    /// Write a value found on a replica back to a primary that missed it.
    pub read_repair: bool,
    /// Flush a server whose invalidation log overflowed (more keys missed it
    /// than the log holds) when it returns, unless it restarted meanwhile.
    /// Off by default: the dropped keys are counted and rerouted writes'
    /// TTLs are capped instead.
    pub flush_on_overflow: bool,
    /// Flags convention of values.
    pub value_format: ValueFormat,
    /// Serializer for structured values.
    pub serializer: Serializer,
    /// Values at least this long are zlib-compressed; 0 disables compression.
    pub compress_threshold: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            servers: Vec::new(),
            distribution: Distribution::KetamaWeighted,
            hash: None,
            prefix: String::new(),
            hash_with_prefix: false,
            connect_timeout_ms: 1000,
            io_timeout_ms: 1000,
            max_value_bytes: 1024 * 1024,
            pool_size: 8,
            replicas: 0,
            read_policy: ReadPolicy::Primary,
            replica_placement: ReplicaPlacement::Ring,
            failure_limit: 2,
            retry_timeout_ms: 1000,
            failover: Failover::Next,
            gutter: Vec::new(),
            gutter_ttl: 10,
            read_repair: false,
            flush_on_overflow: false,
            value_format: ValueFormat::Php,
            serializer: Serializer::Json,
            compress_threshold: 2000,
        }
    }
}

/// Every option name the config string accepts.
pub const OPTION_NAMES: &[&str] = &[
    "distribution",
    "hash",
    "prefix",
    "hash_with_prefix",
    "connect_timeout_ms",
    "io_timeout_ms",
    "max_value_bytes",
    "pool_size",
    "replicas",
    "read_policy",
    "replica_placement",
    "failure_limit",
    "retry_timeout_ms",
    "failover",
    "gutter",
    "gutter_ttl",
    "read_repair",
    "flush_on_overflow",
    "value_format",
    "serializer",
    "compress_threshold",
];

impl Config {
    /// A config with these servers and every option at its default.
    pub fn new(servers: Vec<ServerSpec>) -> Config {
        Config { servers, ..Config::default() }
    }

    /// Parses a config string (servers and `name=value` options).
    pub fn parse(s: &str) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        for token in s.split_whitespace() {
            if let Some((name, value)) = token.split_once('=') {
                config.set_option_token(token, name, value)?;
            } else {
                config.servers.push(ServerSpec::parse(token)?);
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one option by name, as if `name=value` were in the config string.
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let token = format!("{name}={value}");
        self.set_option_token(&token, name, value)
    }

    fn set_option_token(
        &mut self,
        token: &str,
        name: &str,
        value: &str,
    ) -> Result<(), ConfigError> {
        let bad = |reason: &str| ConfigError::new(token, reason);
        match name {
            "distribution" => {
                self.distribution =
                    value.parse().map_err(|_| bad("expected ketama-weighted, ketama or modula"))?
            }
            "hash" => {
                self.hash =
                    Some(value.parse().map_err(|e: crate::hash::UnknownHash| bad(&e.to_string()))?)
            }
            "prefix" => {
                if value.len() > 128 {
                    return Err(bad("prefix is over 128 bytes (libmemcached's namespace limit)"));
                }
                if value.bytes().any(|b| b <= b' ' || b == 0x7f) {
                    return Err(bad("prefix contains a control byte"));
                }
                self.prefix = value.to_string()
            }
            "hash_with_prefix" => {
                self.hash_with_prefix =
                    parse_bool(value).ok_or_else(|| bad("expected true or false"))?
            }
            "connect_timeout_ms" => {
                self.connect_timeout_ms = parse_num(value, 1, 3_600_000)
                    .ok_or_else(|| bad("expected milliseconds, 1..3600000"))?
            }
            "io_timeout_ms" => {
                self.io_timeout_ms = parse_num(value, 1, 3_600_000)
                    .ok_or_else(|| bad("expected milliseconds, 1..3600000"))?
            }
            "max_value_bytes" => {
                self.max_value_bytes = parse_num(value, 1, 1 << 30)
                    .ok_or_else(|| bad("expected bytes, 1..1073741824"))?
                    as usize
            }
            "pool_size" => {
                self.pool_size =
                    parse_num(value, 1, 1024).ok_or_else(|| bad("expected 1..1024"))? as usize
            }
            "replicas" => {
                self.replicas =
                    parse_num(value, 0, 16).ok_or_else(|| bad("expected 0..16"))? as usize
            }
            "read_policy" => {
                self.read_policy = match value {
                    "primary" => ReadPolicy::Primary,
                    "random" => ReadPolicy::Random,
                    _ => return Err(bad("expected primary or random")),
                }
            }
            "replica_placement" => {
                self.replica_placement = match value {
                    "ring" => ReplicaPlacement::Ring,
                    "libmemcached" => ReplicaPlacement::Libmemcached,
                    _ => return Err(bad("expected ring or libmemcached")),
                }
            }
            "failure_limit" => {
                self.failure_limit =
                    parse_num(value, 1, 1_000_000).ok_or_else(|| bad("expected 1..1000000"))? as u32
            }
            "retry_timeout_ms" => {
                self.retry_timeout_ms = parse_num(value, 0, 86_400_000)
                    .ok_or_else(|| bad("expected milliseconds, 0..86400000"))?
            }
            "failover" => {
                self.failover = match value {
                    "eject" => Failover::Eject,
                    "next" => Failover::Next,
                    "gutter" => Failover::Gutter,
                    "none" => Failover::None,
                    _ => return Err(bad("expected eject, next, gutter or none")),
                }
            }
            "gutter" => {
                let mut gutter = Vec::new();
                for part in value.split(',').filter(|p| !p.is_empty()) {
                    let spec = ServerSpec::parse(part).map_err(|e| {
                        ConfigError::new(token, format!("gutter server {:?}: {}", part, e.reason))
                    })?;
                    gutter.push(spec);
                }
                if gutter.is_empty() {
                    return Err(bad("expected host:port[,host:port...]"));
                }
                self.gutter = gutter;
            }
            "gutter_ttl" => {
                self.gutter_ttl = parse_num(value, 1, 2_592_000)
                    .ok_or_else(|| bad("expected seconds, 1..2592000"))?
                    as u32
            }
            "flush_on_overflow" => {
                self.flush_on_overflow =
                    parse_bool(value).ok_or_else(|| bad("expected true or false"))?
            }
            "read_repair" => {
                self.read_repair = parse_bool(value).ok_or_else(|| bad("expected true or false"))?
            }
            "value_format" => {
                self.value_format = match value {
                    "php" => ValueFormat::Php,
                    "pylibmc" => ValueFormat::Pylibmc,
                    _ => return Err(bad("expected php or pylibmc")),
                }
            }
            "serializer" => {
                self.serializer = match value {
                    "json" => Serializer::Json,
                    "pickle" => Serializer::Pickle,
                    "php" => Serializer::Php,
                    _ => return Err(bad("expected json, pickle or php")),
                }
            }
            "compress_threshold" => {
                self.compress_threshold = parse_num(value, 0, 1 << 30)
                    .ok_or_else(|| bad("expected bytes, 0 disables"))?
                    as usize
            }
            _ => return Err(bad(&format!("unknown option {name:?}"))),
        }
        Ok(())
    }

    /// Checks what single tokens cannot: combinations of options.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.failover == Failover::Gutter && self.gutter.is_empty() {
            return Err(ConfigError::new("failover=gutter", "needs gutter=host:port[,...]"));
        }
        Ok(())
    }

    /// The key hash in effect: the one given, or the distribution's default.
    pub fn key_hash(&self) -> HashKind {
        self.hash.unwrap_or_else(|| self.distribution.default_hash())
    }
}

impl FromStr for Config {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Config, ConfigError> {
        Config::parse(s)
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_num(v: &str, min: u64, max: u64) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = v.parse().ok()?;
    (min..=max).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_of_every_form() {
        let c = Config::parse("a:11212 b [::1]:11213:5 /tmp/mc.sock /tmp/x.sock:3 c:1:0").unwrap();
        let names: Vec<String> = c.servers.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            ["a:11212", "b:11211", "[::1]:11213", "/tmp/mc.sock", "/tmp/x.sock", "c:1"]
        );
        assert_eq!(c.servers[2].host, "::1");
        assert_eq!(c.servers[2].weight, 5);
        assert_eq!(c.servers[3].transport, Transport::Unix);
        assert_eq!(c.servers[4].weight, 3);
        assert_eq!(c.servers[5].weight, 1, "weight 0 means 1");
    }

    #[test]
    fn options() {
        let c =
            Config::parse("a:1 distribution=modula hash=crc replicas=2 failover=eject prefix=app:")
                .unwrap();
        assert_eq!(c.distribution, Distribution::Modula);
        assert_eq!(c.key_hash(), HashKind::Crc);
        assert_eq!(c.replicas, 2);
        assert_eq!(c.failover, Failover::Eject);
        assert_eq!(c.prefix, "app:");
        assert_eq!(Config::parse("a").unwrap().key_hash(), HashKind::Md5);
        assert_eq!(
            Config::parse("a distribution=ketama").unwrap().key_hash(),
            HashKind::OneAtATime
        );
    }

    #[test]
    fn errors_name_the_token() {
        for bad in [
            "a:0",
            "a:70000",
            "a:1:x",
            "a:1:2:3",
            "::1:11211",
            "[::1",
            "[nothex]:1",
            "bogus=1",
            "replicas=x",
            "distribution=random",
            "hash=sha1",
            "failover=gutter",
            ":11211",
        ] {
            let err = Config::parse(&format!("ok:1 {bad}")).unwrap_err();
            assert!(
                err.token == bad || bad.contains(&err.token),
                "{bad}: error names {:?}",
                err.token
            );
        }
    }

    #[test]
    fn display_round_trips() {
        let c = Config::parse("a:11212 [::1]:11213:5 /tmp/mc.sock:3").unwrap();
        let again: Vec<String> = c.servers.iter().map(|s| s.to_string()).collect();
        assert_eq!(again.join(" "), "a:11212 [::1]:11213:5 /tmp/mc.sock:3");
    }
}
