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
//!
//! Two more tokens name servers found in DNS (see `discovery`):
//!
//! ```text
//! dns+NAME[:port[:weight]]    one server per A/AAAA address of NAME, named ADDRESS:port
//! srv+_memcache._tcp.NAME     one server per SRV record: its target and port, its weight
//! ```
//!
//! A TCP server may carry its own TLS choice after a comma, overriding the
//! `tls=` option for that server alone (a pool that mixes TLS and plaintext
//! servers): `cache1:11211,tls=true`, `10.0.0.7:11212:3,tls=false`. The
//! attribute is not part of the server's name, so placement is unchanged.
//!
//! Secrets (`password=`) never appear in errors, `Debug` output or
//! [`Config::option_text`]: they are kept as [`Secret`]s.

use std::fmt;
use std::str::FromStr;

pub use crate::auth::Secret;
use crate::compress::{Algorithm, Compression};
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
    /// This server's own TLS choice (`host:port,tls=true`); `None` follows
    /// the config's `tls=` option.
    pub tls: Option<bool>,
}

impl ServerSpec {
    /// A TCP server.
    pub fn tcp(host: impl Into<String>, port: u16) -> ServerSpec {
        ServerSpec { host: host.into(), port, weight: 1, transport: Transport::Tcp, tls: None }
    }

    /// A unix socket server.
    pub fn unix(path: impl Into<String>) -> ServerSpec {
        ServerSpec { host: path.into(), port: 0, weight: 1, transport: Transport::Unix, tls: None }
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

    /// The same server with its own TLS choice.
    pub fn with_tls(mut self, tls: Option<bool>) -> ServerSpec {
        self.tls = tls;
        self
    }

    /// Parses one server token, with its attributes (`,tls=true`).
    pub fn parse(token: &str) -> Result<ServerSpec, ConfigError> {
        let (address, attributes) = split_attributes(token);
        let mut spec = ServerSpec::parse_address(token, address)?;
        if let Some(attributes) = attributes {
            for attribute in attributes.split(',') {
                spec.set_attribute(token, attribute)?;
            }
        }
        Ok(spec)
    }

    /// Applies one `name=value` attribute of a server token.
    fn set_attribute(&mut self, token: &str, attribute: &str) -> Result<(), ConfigError> {
        let bad = |reason: &str| ConfigError::new(token, reason);
        match attribute.split_once('=') {
            Some(("tls", value)) => {
                let tls = parse_bool(value).ok_or_else(|| bad("tls= expects true or false"))?;
                if tls && self.transport == Transport::Unix {
                    return Err(bad("TLS is for TCP servers, not unix sockets"));
                }
                self.tls = Some(tls);
                Ok(())
            }
            Some((name, _)) => Err(bad(&format!(
                "unknown server attribute {name:?} (a server takes only tls=true|false)"
            ))),
            None => Err(bad("expected a server attribute such as tls=true after ','")),
        }
    }

    /// Parses the address part of a server token (before any `,`).
    fn parse_address(token: &str, address: &str) -> Result<ServerSpec, ConfigError> {
        let bad = |reason: &str| ConfigError::new(token, reason);
        let token = address;
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

/// Splits a server token into its address and its attributes: they start at
/// the first `,` whose next part is a `name=value` (a unix socket path may
/// hold other commas).
fn split_attributes(token: &str) -> (&str, Option<&str>) {
    let mut from = 0;
    while let Some(i) = token[from..].find(',') {
        let at = from + i;
        let next = token[at + 1..].split(',').next().unwrap_or("");
        if next.contains('=') || !token.starts_with('/') {
            return (&token[..at], Some(&token[at + 1..]));
        }
        from = at + 1;
    }
    (token, None)
}

/// Splits a comma-separated server list (`gutter=`) into server tokens,
/// keeping each server's attributes with it: `a:1,tls=true,b:2` is
/// `a:1,tls=true` and `b:2`.
fn split_server_list(list: &str) -> Vec<String> {
    let mut servers: Vec<String> = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match servers.last_mut() {
            Some(last) if part.contains('=') => {
                last.push(',');
                last.push_str(part);
            }
            _ => servers.push(part.to_string()),
        }
    }
    servers
}

fn parse_weight(w: &str) -> Option<u32> {
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    w.parse().ok()
}

impl fmt::Display for ServerSpec {
    /// The token that parses back to this server: its name, plus `:weight`
    /// when the weight is not 1, plus its own TLS choice if it has one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if self.weight != 1 {
            write!(f, ":{}", self.weight)?;
        }
        if let Some(tls) = self.tls {
            write!(f, ",tls={tls}")?;
        }
        Ok(())
    }
}

/// A server token whose servers are found in DNS, re-resolved every
/// `dns_refresh_s`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Discovery {
    /// `dns+NAME:PORT[:WEIGHT]`: one server per A and AAAA address of
    /// `name`, each named (and placed) as `ADDRESS:PORT`.
    Addresses {
        /// The name to resolve.
        name: String,
        /// The port every address is given.
        port: u16,
        /// The weight every address is given.
        weight: u32,
    },
    /// `srv+NAME`: one server per SRV record of `name`, named by the
    /// record's target and port, weighted by its weight.
    Srv {
        /// The SRV name, e.g. `_memcache._tcp.memcached.caching.svc.cluster.local`.
        name: String,
    },
}

impl Discovery {
    /// Parses a `dns+...` or `srv+...` token; `None` for any other token.
    pub fn parse(token: &str) -> Option<Result<Discovery, ConfigError>> {
        let bad = |reason: &str| ConfigError::new(token, reason);
        if let Some(rest) = token.strip_prefix("dns+") {
            if rest.is_empty() || rest.starts_with('[') || rest.starts_with('/') {
                return Some(Err(bad("dns+ needs a DNS name: dns+NAME[:PORT[:WEIGHT]]")));
            }
            return Some(ServerSpec::parse(rest).map_err(|e| bad(&e.reason)).and_then(|spec| {
                check_dns_name(&spec.host).map_err(|r| bad(&r))?;
                Ok(Discovery::Addresses { name: spec.host, port: spec.port, weight: spec.weight })
            }));
        }
        let rest = token.strip_prefix("srv+")?;
        Some(match check_dns_name(rest) {
            Ok(()) => Ok(Discovery::Srv { name: rest.to_string() }),
            Err(r) => Err(bad(&r)),
        })
    }
}

/// Refuses what cannot be a DNS name.
fn check_dns_name(name: &str) -> Result<(), String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("empty DNS name".into());
    }
    if name.len() > 253 {
        return Err("DNS name is over 253 bytes".into());
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("bad DNS label {label:?}"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(format!(
                "DNS label {label:?} has a character other than a-z, 0-9, - and _"
            ));
        }
    }
    Ok(())
}

impl fmt::Display for Discovery {
    /// The token that parses back to this source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discovery::Addresses { name, port, weight } => {
                write!(f, "dns+{name}:{port}")?;
                if *weight != 1 {
                    write!(f, ":{weight}")?;
                }
                Ok(())
            }
            Discovery::Srv { name } => write!(f, "srv+{name}"),
        }
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
    /// A random copy first for hot keys only (those read more than
    /// `hot_key_rate` times a second by this client), the primary first for
    /// the others.
    HotRandom,
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
    /// Idle connections kept per server for concurrent callers. A
    /// connection returned to a full pool is closed, so with more threads
    /// in requests at once than this, every surplus request opens a TCP
    /// connection (bench/threads.sh: 2,367 opened in 30,000 gets by 32
    /// threads on 3 servers with 8, 64 with 32).
    pub pool_size: usize,
    /// The most keys one fan-out keeps awaiting replies at once (a sliding
    /// window against incast: many servers answering one multi-get at once
    /// can overflow a switch port's buffer). A server's batch is sent when
    /// it fits beside the batches still awaiting replies; one larger than
    /// the window is sent alone. 0 (the default): no window, every server's
    /// batch goes out at once.
    pub fanout_window: usize,
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
    /// Values at least this long are compressed; 0 disables compression.
    pub compress_threshold: usize,
    /// Servers found in DNS (`dns+...`, `srv+...` tokens), placed after
    /// `servers`.
    pub discover: Vec<Discovery>,
    /// Seconds between two resolutions of the `discover` names.
    pub dns_refresh_s: u32,
    /// The DNS server asked for `discover` names instead of the system's
    /// resolver configuration.
    pub dns_server: Option<std::net::SocketAddr>,
    /// After a run-time change of the server list, a key that misses on its
    /// new owner is looked for on its owner on the previous ring and copied
    /// over (see `migration`).
    pub migration: bool,
    /// How long after a change the previous ring is consulted, in seconds.
    pub migration_s: u32,
    /// A warm pool: a miss on the servers is looked for there and copied
    /// over (a cold pool's warm-up).
    pub warmup: Vec<ServerSpec>,
    /// How long a lease (the right to compute a missing value, see
    /// `get_or_lease`) lasts when its holder never fills it, in seconds.
    pub lease_ttl: u32,
    /// Spreads the TTLs of values written under a lease: each is shortened
    /// by a random part of up to this fraction (0 = exact TTLs).
    pub ttl_jitter: f64,
    /// Keys the hot-key sketch keeps; 0 turns counting off. Set to 256 when
    /// `near_cache_ms` or `read_policy=hot_random` needs it and it is 0.
    pub hot_keys: usize,
    /// Reads per second (by this client) above which a key is hot.
    pub hot_key_rate: u32,
    /// How long hot keys' values are served from this process's memory
    /// without asking memcached; 0 (the default) turns the near cache off.
    pub near_cache_ms: u64,
    /// The most value bytes the near cache holds.
    pub near_cache_bytes: usize,
    /// The compression written (php format): zlib or FastLZ.
    pub compression: Algorithm,
    /// zlib's level, 0..=9.
    pub compression_level: u32,
    /// A compressed value is kept only when the original is more than this
    /// many times its size (php-memcached's `compression_factor`).
    pub compression_factor: f64,
    /// TLS for every TCP server without a `,tls=` of its own.
    pub tls: bool,
    /// PEM bundle of the CAs a server's certificate must chain to; `None`
    /// means the system's roots.
    pub tls_ca: Option<String>,
    /// PEM certificate chain this client presents (memcached's
    /// `ssl_verify_mode`); needs `tls_key`.
    pub tls_cert: Option<String>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<String>,
    /// The name a server's certificate is verified against (and sent as
    /// SNI); `None` means the server's host as configured.
    pub tls_server_name: Option<String>,
    /// Whether TLS sessions are resumed (tickets) instead of a full
    /// handshake per connection; on by default.
    pub tls_resumption: bool,
    /// User for memcached's ASCII authentication (`memcached -Y`).
    pub username: Option<String>,
    /// Password for `username` (from `password=` or `password_file=`).
    pub password: Option<Secret>,
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
            pool_size: 32,
            fanout_window: 0,
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
            discover: Vec::new(),
            dns_refresh_s: 30,
            dns_server: None,
            migration: true,
            migration_s: 120,
            warmup: Vec::new(),
            lease_ttl: 3,
            ttl_jitter: 0.0,
            hot_keys: 0,
            hot_key_rate: 100,
            near_cache_ms: 0,
            near_cache_bytes: 1 << 20,
            compression: Algorithm::Zlib,
            compression_level: crate::compress::ZLIB_DEFAULT_LEVEL,
            compression_factor: 1.3,
            tls: false,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            tls_server_name: None,
            tls_resumption: true,
            username: None,
            password: None,
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
    "fanout_window",
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
    "dns_refresh_s",
    "dns_server",
    "migration",
    "migration_s",
    "warmup",
    "lease_ttl",
    "ttl_jitter",
    "hot_keys",
    "hot_key_rate",
    "near_cache_ms",
    "near_cache_bytes",
    "compression",
    "compression_level",
    "compression_factor",
    "tls",
    "tls_ca",
    "tls_cert",
    "tls_key",
    "tls_server_name",
    "tls_resumption",
    "username",
    "password",
    "password_file",
];

/// Keys the hot-key sketch keeps when a feature needs it and `hot_keys` is 0.
pub const DEFAULT_HOT_KEYS: usize = 256;

/// Options whose values are secret: errors name them without their value.
const SECRET_OPTIONS: &[&str] = &["password"];

/// Whether an option's value is secret (never shown in a message).
pub fn is_secret_option(name: &str) -> bool {
    SECRET_OPTIONS.contains(&name)
}

/// A config token's option name and value, if it is an option
/// (`name=value` with a plain name) rather than a server (which may carry
/// `,tls=...` attributes).
pub fn option_of(token: &str) -> Option<(&str, &str)> {
    let (name, value) = token.split_once('=')?;
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    plain.then_some((name, value))
}

impl Config {
    /// A config with these servers and every option at its default.
    pub fn new(servers: Vec<ServerSpec>) -> Config {
        Config { servers, ..Config::default() }
    }

    /// Parses a config string (servers and `name=value` options).
    pub fn parse(s: &str) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let mut after_secret = false;
        for token in s.split_whitespace() {
            if let Some(source) = Discovery::parse(token) {
                config.discover.push(source?);
            } else if let Some((name, value)) = option_of(token) {
                config.set_option_token(token, name, value)?;
                after_secret = is_secret_option(name);
            } else {
                let spec = ServerSpec::parse(token).map_err(|e| {
                    if after_secret {
                        // Likely the rest of a password with a space in it.
                        ConfigError::new(
                            "<redacted>",
                            "the token after password= is not a server (a password cannot \
                             contain spaces)",
                        )
                    } else {
                        e
                    }
                })?;
                config.servers.push(spec);
                after_secret = false;
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
        // An error about a secret names the option, never the value.
        let shown = if SECRET_OPTIONS.contains(&name) {
            format!("{name}=<redacted>")
        } else {
            token.to_string()
        };
        let token = shown.as_str();
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
            "fanout_window" => {
                self.fanout_window = parse_num(value, 0, 1_000_000)
                    .ok_or_else(|| bad("expected keys in flight, 0..1000000 (0: no window)"))?
                    as usize
            }
            "replicas" => {
                self.replicas =
                    parse_num(value, 0, 16).ok_or_else(|| bad("expected 0..16"))? as usize
            }
            "read_policy" => {
                self.read_policy = match value {
                    "primary" => ReadPolicy::Primary,
                    "random" => ReadPolicy::Random,
                    "hot_random" => ReadPolicy::HotRandom,
                    _ => return Err(bad("expected primary, random or hot_random")),
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
            "gutter" => self.gutter = parse_server_list(token, "gutter", value)?,
            "warmup" => self.warmup = parse_server_list(token, "warmup", value)?,
            "migration" => {
                self.migration = parse_bool(value).ok_or_else(|| bad("expected true or false"))?
            }
            "migration_s" => {
                self.migration_s = parse_num(value, 0, 86_400)
                    .ok_or_else(|| bad("expected seconds, 0..86400"))?
                    as u32
            }
            "dns_refresh_s" => {
                self.dns_refresh_s = parse_num(value, 1, 86_400)
                    .ok_or_else(|| bad("expected seconds, 1..86400"))?
                    as u32
            }
            "dns_server" => {
                let addr = value
                    .parse::<std::net::SocketAddr>()
                    .or_else(|_| {
                        value
                            .parse::<std::net::IpAddr>()
                            .map(|ip| std::net::SocketAddr::new(ip, 53))
                    })
                    .map_err(|_| bad("expected IP:PORT (e.g. 10.96.0.10:53 or [fd00::a]:53)"))?;
                self.dns_server = Some(addr);
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
            "lease_ttl" => {
                self.lease_ttl = parse_num(value, 1, 86_400)
                    .ok_or_else(|| bad("expected seconds, 1..86400"))?
                    as u32
            }
            "ttl_jitter" => {
                self.ttl_jitter = value
                    .parse::<f64>()
                    .ok()
                    .filter(|j| (0.0..=1.0).contains(j))
                    .ok_or_else(|| bad("expected a fraction, 0..1"))?
            }
            "hot_keys" => {
                self.hot_keys = parse_num(value, 0, 65_536)
                    .ok_or_else(|| bad("expected keys to keep, 0..65536 (0 turns counting off)"))?
                    as usize
            }
            "hot_key_rate" => {
                self.hot_key_rate = parse_num(value, 1, 1_000_000_000)
                    .ok_or_else(|| bad("expected reads per second, 1..1000000000"))?
                    as u32
            }
            "near_cache_ms" => {
                self.near_cache_ms = parse_num(value, 0, 60_000)
                    .ok_or_else(|| bad("expected milliseconds, 0..60000 (0 turns it off)"))?
            }
            "near_cache_bytes" => {
                self.near_cache_bytes = parse_num(value, 1, 1 << 30)
                    .ok_or_else(|| bad("expected bytes, 1..1073741824"))?
                    as usize
            }
            "compression" => {
                self.compression = match value {
                    "zlib" => Algorithm::Zlib,
                    "fastlz" => Algorithm::Fastlz,
                    _ => return Err(bad("expected zlib or fastlz")),
                }
            }
            "compression_level" => {
                self.compression_level =
                    parse_num(value, 0, 9).ok_or_else(|| bad("expected a zlib level, 0..9"))? as u32
            }
            "compression_factor" => {
                self.compression_factor = value
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && (0.0..=1000.0).contains(f))
                    .ok_or_else(|| bad("expected a number, 0..1000"))?
            }
            "tls" => self.tls = parse_bool(value).ok_or_else(|| bad("expected true or false"))?,
            "tls_ca" => self.tls_ca = Some(path_value(value).map_err(&bad)?),
            "tls_cert" => self.tls_cert = Some(path_value(value).map_err(&bad)?),
            "tls_key" => self.tls_key = Some(path_value(value).map_err(&bad)?),
            "tls_server_name" => {
                if value.is_empty() || value.len() > 253 {
                    return Err(bad("expected a DNS name or an IP address"));
                }
                self.tls_server_name = Some(value.to_string())
            }
            "tls_resumption" => {
                self.tls_resumption =
                    parse_bool(value).ok_or_else(|| bad("expected true or false"))?
            }
            "username" => {
                crate::auth::check_username(value).map_err(&bad)?;
                self.username = Some(value.to_string())
            }
            "password" => self.password = Some(Secret::new(value).map_err(&bad)?),
            "password_file" => {
                let path = path_value(value).map_err(&bad)?;
                let secret = crate::auth::read_password_file(&path).map_err(|r| bad(&r))?;
                self.password = Some(secret)
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
        match (&self.username, &self.password) {
            (Some(_), None) => {
                return Err(ConfigError::new("username", "needs password= or password_file="))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new("password", "needs username= as well"));
            }
            _ => {}
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            let (given, missing) = if self.tls_cert.is_some() {
                ("tls_cert", "tls_key")
            } else {
                ("tls_key", "tls_cert")
            };
            return Err(ConfigError::new(given, format!("needs {missing}= as well")));
        }
        let tls_options = [
            ("tls_ca", self.tls_ca.is_some()),
            ("tls_cert", self.tls_cert.is_some()),
            ("tls_server_name", self.tls_server_name.is_some()),
        ];
        if let Some((name, _)) = tls_options.iter().find(|(_, set)| *set) {
            if !self.servers.iter().chain(&self.gutter).any(|s| self.uses_tls(s)) {
                return Err(ConfigError::new(
                    name,
                    "is set but no server uses TLS (add tls=true, or ,tls=true to a server)",
                ));
            }
        }
        Ok(())
    }

    /// Keys the hot-key sketch keeps: `hot_keys`, or [`DEFAULT_HOT_KEYS`]
    /// when the near cache or `read_policy=hot_random` needs counting; 0
    /// when nothing counts.
    pub fn hot_key_capacity(&self) -> usize {
        let needed = self.near_cache_ms > 0 || self.read_policy == ReadPolicy::HotRandom;
        match self.hot_keys {
            0 if needed => DEFAULT_HOT_KEYS,
            n => n,
        }
    }

    /// How values are compressed on write.
    pub fn compression(&self) -> Compression {
        Compression {
            algorithm: self.compression,
            zlib_level: self.compression_level,
            factor: self.compression_factor,
        }
    }

    /// Whether connections to `server` use TLS: its own `,tls=` choice, else
    /// the `tls=` option (unix sockets never do).
    pub fn uses_tls(&self, server: &ServerSpec) -> bool {
        server.transport == Transport::Tcp && server.tls.unwrap_or(self.tls)
    }

    /// An option's value as config text, for bindings that show options
    /// (`getOption`): secrets are never shown.
    pub fn option_text(&self, name: &str) -> Option<String> {
        let path = |p: &Option<String>| p.clone();
        match name {
            "tls" => Some(self.tls.to_string()),
            "tls_ca" => path(&self.tls_ca),
            "tls_cert" => path(&self.tls_cert),
            "tls_key" => path(&self.tls_key),
            "tls_server_name" => self.tls_server_name.clone(),
            "tls_resumption" => Some(self.tls_resumption.to_string()),
            "username" => self.username.clone(),
            "password" | "password_file" => self.password.as_ref().map(|_| "<redacted>".into()),
            _ => None,
        }
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

/// A comma-separated server list (`gutter=`, `warmup=`); a server may carry
/// its own `,tls=` attribute.
fn parse_server_list(token: &str, what: &str, value: &str) -> Result<Vec<ServerSpec>, ConfigError> {
    let mut servers = Vec::new();
    for part in split_server_list(value) {
        let part = part.as_str();
        let spec = ServerSpec::parse(part).map_err(|e| {
            ConfigError::new(token, format!("{what} server {:?}: {}", part, e.reason))
        })?;
        servers.push(spec);
    }
    if servers.is_empty() {
        return Err(ConfigError::new(token, "expected host:port[,host:port...]"));
    }
    Ok(servers)
}

/// A file path option's value.
fn path_value(v: &str) -> Result<String, &'static str> {
    if v.is_empty() {
        return Err("expected a file path");
    }
    Ok(v.to_string())
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
    fn compression_options() {
        let c = Config::parse("a:1 compression=fastlz compression_level=9 compression_factor=2.5")
            .unwrap();
        assert_eq!(
            c.compression(),
            Compression { algorithm: Algorithm::Fastlz, zlib_level: 9, factor: 2.5 }
        );
        assert_eq!(Config::parse("a:1").unwrap().compression(), Compression::default());
        for bad in ["compression=lz4", "compression_level=10", "compression_factor=x"] {
            assert!(Config::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fanout_window() {
        assert_eq!(Config::parse("a:1").unwrap().fanout_window, 0, "no window by default");
        assert_eq!(Config::parse("a:1 fanout_window=7").unwrap().fanout_window, 7);
        assert_eq!(Config::parse("a:1 fanout_window=0").unwrap().fanout_window, 0);
        let mut c = Config::new(Vec::new());
        c.set_option("fanout_window", "100").unwrap();
        assert_eq!(c.fanout_window, 100);
        for bad in
            ["fanout_window=", "fanout_window=-1", "fanout_window=x", "fanout_window=1000001"]
        {
            let err = Config::parse(&format!("a:1 {bad}")).unwrap_err();
            assert_eq!(err.token, bad);
            assert!(err.to_string().contains("expected keys in flight"), "{bad}: {err}");
        }
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
    fn discovery_tokens() {
        let c = Config::parse(
            "a:1 dns+memcached.caching.svc.cluster.local:11212 srv+_memcache._tcp.mc dns+x",
        )
        .unwrap();
        assert_eq!(c.servers.len(), 1);
        assert_eq!(
            c.discover,
            [
                Discovery::Addresses {
                    name: "memcached.caching.svc.cluster.local".into(),
                    port: 11212,
                    weight: 1
                },
                Discovery::Srv { name: "_memcache._tcp.mc".into() },
                Discovery::Addresses { name: "x".into(), port: 11211, weight: 1 },
            ]
        );
        let again: Vec<String> = c.discover.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            again,
            [
                "dns+memcached.caching.svc.cluster.local:11212",
                "srv+_memcache._tcp.mc",
                "dns+x:11211"
            ]
        );
        for bad in ["dns+", "dns+[::1]:1", "dns+a..b:1", "srv+", "srv+a!b", "dns+a:0", "dns+/x"] {
            assert!(Config::parse(bad).is_err(), "{bad}");
        }
        let c = Config::parse("dns_server=127.0.0.1:5353 dns_refresh_s=2 migration=false migration_s=5 warmup=w:1,w:2").unwrap();
        assert_eq!(c.dns_server, Some("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(c.dns_refresh_s, 2);
        assert!(!c.migration);
        assert_eq!(c.migration_s, 5);
        assert_eq!(c.warmup.len(), 2);
        assert!(Config::parse("dns_server=nameserver").is_err());
        assert!(Config::parse("dns_refresh_s=0").is_err());
    }

    #[test]
    fn display_round_trips() {
        let c = Config::parse("a:11212 [::1]:11213:5 /tmp/mc.sock:3").unwrap();
        let again: Vec<String> = c.servers.iter().map(|s| s.to_string()).collect();
        assert_eq!(again.join(" "), "a:11212 [::1]:11213:5 /tmp/mc.sock:3");
    }
}
