//! The public API: commands on a pool of memcached servers.
//!
//! A [`Client`] is `Send + Sync`: threads share it, each request borrowing an
//! idle connection of the server it needs (or opening one). With every server
//! alive and no replicas, a single-key command is one `send` and one `recv`
//! on a pooled connection. Multi-key commands group keys by server, write
//! every server's batch, then read all replies in one `poll` loop (see
//! [`crate::fanout`]). How a key's copies and dead servers are used is in
//! [`crate::failover`].
//!
//! Keys are checked before anything is sent; a bad key fails the whole call
//! and no byte of it reaches a server.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::config::{Config, ServerSpec};
use crate::conn::{Conn, Deadline, IoFailure};
use crate::error::{Error, Result};
use crate::fanout::{Answer, JobKind};
use crate::protocol::meta::{self, MetaReply};
use crate::protocol::text::{self, Arith, Storage, TextReply};
use crate::protocol::Limits;
use crate::router::{Copies, Route, Router};
use crate::server::{monotonic_ms, Availability, Forget, Server};
use crate::stats::{ClientStats, Counter};

pub use crate::protocol::text::Retrieval;

/// A value found in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// The client flags stored with it.
    pub flags: u32,
    /// The CAS token, for `gets` and `get_and_touch`.
    pub cas: Option<u64>,
}

/// A value found in the cache, borrowed from the receive buffer: handed to
/// callbacks so bindings can build their own objects without a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemRef<'a> {
    /// The stored bytes.
    pub value: &'a [u8],
    /// The client flags stored with it.
    pub flags: u32,
    /// The CAS token, for `gets` and `get_and_touch`.
    pub cas: Option<u64>,
}

impl ItemRef<'_> {
    /// An owned copy.
    pub fn to_item(&self) -> Item {
        Item { value: self.value.to_vec(), flags: self.flags, cas: self.cas }
    }
}

/// The outcome of a command that the server carried out or declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Stored, deleted or touched.
    Done,
    /// The condition of `add`, `replace`, `append` or `prepend` failed.
    NotStored,
    /// `cas`: the item changed since it was read.
    Exists,
    /// The item does not exist.
    NotFound,
}

impl Status {
    /// Whether the command took effect.
    pub fn is_done(self) -> bool {
        self == Status::Done
    }
}

/// The storage commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreMode {
    /// Store unconditionally.
    Set,
    /// Store only if the key does not exist.
    Add,
    /// Store only if the key exists.
    Replace,
    /// Append to an existing value.
    Append,
    /// Prepend to an existing value.
    Prepend,
    /// Store only if the item's CAS token still equals this one.
    Cas(u64),
}

impl StoreMode {
    fn storage(self) -> Storage {
        match self {
            StoreMode::Set => Storage::Set,
            StoreMode::Add => Storage::Add,
            StoreMode::Replace => Storage::Replace,
            StoreMode::Append => Storage::Append,
            StoreMode::Prepend => Storage::Prepend,
            StoreMode::Cas(cas) => Storage::Cas { cas },
        }
    }
}

/// One entry of [`Client::set_multi`].
#[derive(Clone, Copy, Debug)]
pub struct SetItem<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// Client flags.
    pub flags: u32,
}

/// The result of probing one server; see [`Client::health`].
#[derive(Clone, Debug)]
pub struct ServerHealth {
    /// The server's name.
    pub name: String,
    /// How long the probe took (until the error, for a server that is down).
    pub latency: Duration,
    /// Why the server is down; `None` when it answered.
    pub error: Option<Error>,
}

impl ServerHealth {
    /// Whether the server answered.
    pub fn is_up(&self) -> bool {
        self.error.is_none()
    }
}

/// The dead servers one call has claimed to probe: every key of the call may
/// use them.
#[derive(Default)]
pub(crate) struct Probes(std::cell::RefCell<Copies>);

/// One result per server, with the server's name, in configuration order.
/// Once a signal interrupts the request to one server, the servers after it
/// are not asked: their results are `Err(Error::Interrupted)` too.
pub type PerServer<T> = Vec<(String, Result<T>)>;

/// A memcached client over a configured pool.
pub struct Client {
    config: Config,
    router: Router,
    /// The configured servers, then the gutter pool.
    servers: Vec<Server>,
    limits: Limits,
    connect_timeout: Duration,
    io_timeout: Duration,
    /// Changes whenever a server dies or recovers.
    epoch: AtomicU64,
    /// Configured (non-gutter) servers currently dead.
    dead: AtomicUsize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("servers", &self.router.servers()).finish()
    }
}

/// What a reply handler tells the request loop.
pub(crate) enum Flow<T> {
    /// Keep reading replies.
    More,
    /// The request is complete.
    Done(T),
}

impl Client {
    /// A client for `config`. No connection is opened until needed.
    pub fn new(config: Config) -> Result<Client> {
        config.validate()?;
        let router = Router::new(&config);
        let servers =
            config.servers.iter().chain(&config.gutter).cloned().map(Server::new).collect();
        let limits = Limits { max_value_len: config.max_value_bytes, max_line_len: 4096 };
        Ok(Client {
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            io_timeout: Duration::from_millis(config.io_timeout_ms),
            config,
            router,
            servers,
            limits,
            epoch: AtomicU64::new(0),
            dead: AtomicUsize::new(0),
        })
    }

    /// A client from a config string.
    pub fn from_config_str(config: &str) -> Result<Client> {
        Client::new(Config::parse(config)?)
    }

    /// The configuration in effect.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configured servers, in order.
    pub fn servers(&self) -> &[ServerSpec] {
        self.router.servers()
    }

    /// The server that owns `key` when every server is alive: libmemcached's
    /// `memcached_server_by_key`.
    pub fn server_for(&self, key: impl AsRef<[u8]>) -> Result<&ServerSpec> {
        let i = self.router.primary(key.as_ref())?;
        Ok(&self.router.servers()[i])
    }

    /// Every home copy of `key`, primary first (its replicas follow), as
    /// placed when every server is alive.
    pub fn copies_for(&self, key: impl AsRef<[u8]>) -> Result<Vec<&ServerSpec>> {
        let key = key.as_ref();
        self.router.check_key(key)?;
        let home = self.router.home(self.router.key_hash(key));
        Ok(home.as_slice().iter().filter_map(|&i| self.router.servers().get(i)).collect())
    }

    /// Fetches one key. A miss is `Ok(None)`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.read(key.as_ref(), Retrieval::Get, |item| item.to_item())
    }

    /// Fetches one key with its CAS token.
    pub fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.read(key.as_ref(), Retrieval::Gets, |item| item.to_item())
    }

    /// Fetches one key and sets its TTL (memcached `gats`), with CAS token.
    pub fn get_and_touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Option<Item>> {
        self.read(key.as_ref(), Retrieval::Gats { exptime: ttl }, |item| item.to_item())
    }

    /// Fetches one key and hands the value, borrowed from the receive
    /// buffer, to `f`. A miss is `Ok(None)`.
    pub fn get_with<T>(
        &self,
        key: impl AsRef<[u8]>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        self.read(key.as_ref(), cmd, f)
    }

    /// Stores a value unconditionally.
    pub fn set(&self, key: impl AsRef<[u8]>, value: &[u8], flags: u32, ttl: u32) -> Result<Status> {
        self.store(StoreMode::Set, key.as_ref(), value, flags, ttl)
    }

    /// Stores a value if the key does not exist.
    pub fn add(&self, key: impl AsRef<[u8]>, value: &[u8], flags: u32, ttl: u32) -> Result<Status> {
        self.store(StoreMode::Add, key.as_ref(), value, flags, ttl)
    }

    /// Stores a value if the key exists.
    pub fn replace(
        &self,
        key: impl AsRef<[u8]>,
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<Status> {
        self.store(StoreMode::Replace, key.as_ref(), value, flags, ttl)
    }

    /// Appends to an existing value (flags and TTL are left as they were).
    pub fn append(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<Status> {
        self.store(StoreMode::Append, key.as_ref(), value, 0, 0)
    }

    /// Prepends to an existing value.
    pub fn prepend(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<Status> {
        self.store(StoreMode::Prepend, key.as_ref(), value, 0, 0)
    }

    /// Appends (or with `prepend`, prepends) `piece` to the value of `key`
    /// as the value codec sees it: a value stored compressed — by mcring or
    /// by php-memcached — is inflated, extended and stored again, where a raw
    /// [`Client::append`] would corrupt it. Reads the value with its flags,
    /// CAS token and remaining TTL (meta `mg`, memcached 1.6) and writes it
    /// back with `cas` and the same TTL, retrying a few times if another
    /// client changed it meanwhile (then `Status::Exists`).
    /// `Status::NotStored` if the key does not exist.
    pub fn append_value(
        &self,
        key: impl AsRef<[u8]>,
        piece: &[u8],
        prepend: bool,
    ) -> Result<Status> {
        let key = key.as_ref();
        let opts = crate::value::CodecOptions {
            format: self.config.value_format,
            compress_threshold: self.config.compress_threshold,
            user_flags: 0,
        };
        for _ in 0..10 {
            let Some(item) = self.read_for_update(key)? else { return Ok(Status::NotStored) };
            let joined = crate::value::concat(
                &item.value,
                item.flags,
                piece,
                prepend,
                &opts,
                self.config.max_value_bytes,
            )
            .map_err(|e| Error::BadValue(e.to_string()))?;
            self.check_value(&joined.data)?;
            // The item keeps its remaining lifetime, as memcached's append does.
            let ttl = if item.ttl > 0 { item.ttl.min(u32::MAX as i64) as u32 } else { 0 };
            match self.cas(key, &joined.data, joined.flags, ttl, item.cas)? {
                Status::Exists => continue,
                Status::NotFound => return Ok(Status::NotStored),
                other => return Ok(other),
            }
        }
        Ok(Status::Exists)
    }

    /// Stores a value only if its CAS token is still `cas`.
    pub fn cas(
        &self,
        key: impl AsRef<[u8]>,
        value: &[u8],
        flags: u32,
        ttl: u32,
        cas: u64,
    ) -> Result<Status> {
        self.store(StoreMode::Cas(cas), key.as_ref(), value, flags, ttl)
    }

    /// Any storage command.
    pub fn store(
        &self,
        mode: StoreMode,
        key: &[u8],
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<Status> {
        self.check_value(value)?;
        let kind = JobKind::Store { cmd: mode.storage(), value, flags, ttl };
        status_of(self.write(key, kind)?)
    }

    /// Deletes a key. `Status::NotFound` if it did not exist.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<Status> {
        status_of(self.write(key.as_ref(), JobKind::Delete)?)
    }

    /// Adds `delta` to a decimal value; `None` if the key does not exist.
    /// memcached wraps at 2^64.
    pub fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        number_of(self.write(key.as_ref(), JobKind::Arith(Arith::Incr, delta))?)
    }

    /// Subtracts `delta` from a decimal value, stopping at 0; `None` if the
    /// key does not exist.
    pub fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        number_of(self.write(key.as_ref(), JobKind::Arith(Arith::Decr, delta))?)
    }

    /// Sets a key's TTL. `Status::NotFound` if it does not exist.
    pub fn touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Status> {
        status_of(self.write(key.as_ref(), JobKind::Touch(ttl))?)
    }

    /// Fetches many keys in one fan-out. The result has one entry per key,
    /// in order: `Ok(Some(item))` for a hit, `Ok(None)` for a miss, `Err` if
    /// no copy of the key could be read. A bad key fails the whole call
    /// before anything is sent.
    pub fn get_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Option<Item>>>> {
        self.collect_multi(keys, Retrieval::Get)
    }

    /// Like [`Client::get_multi`], with CAS tokens.
    pub fn gets_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Option<Item>>>> {
        self.collect_multi(keys, Retrieval::Gets)
    }

    fn collect_multi<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        cmd: Retrieval,
    ) -> Result<Vec<Result<Option<Item>>>> {
        let mut items: Vec<Option<Item>> = (0..keys.len()).map(|_| None).collect();
        let found = self.get_multi_with(keys, cmd, |i, item| {
            if let Some(slot) = items.get_mut(i) {
                *slot = Some(item.to_item());
            }
        })?;
        Ok(found.into_iter().zip(items).map(|(r, item)| r.map(|_| item)).collect())
    }

    /// Fetches many keys in one fan-out and hands each value found to
    /// `on_hit(key_index, item)` as it arrives, borrowed from the receive
    /// buffer. Returns one entry per key: `Ok(true)` hit, `Ok(false)` miss,
    /// `Err` if no copy could be read.
    pub fn get_multi_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        cmd: Retrieval,
        on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
        self.read_multi(&keys, cmd, on_hit)
    }

    /// Stores many values in one fan-out. One result per item, in order.
    pub fn set_multi(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<Status>>> {
        let mut writes = Vec::with_capacity(items.len());
        for item in items {
            self.router.check_key(item.key)?;
            self.check_value(item.value)?;
            let kind =
                JobKind::Store { cmd: Storage::Set, value: item.value, flags: item.flags, ttl };
            writes.push((item.key, kind));
        }
        Ok(self.write_multi(&writes).into_iter().map(|r| r.and_then(status_of)).collect())
    }

    /// Deletes many keys in one fan-out. One result per key, in order.
    pub fn delete_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Status>>> {
        let mut writes = Vec::with_capacity(keys.len());
        for key in keys {
            self.router.check_key(key.as_ref())?;
            writes.push((key.as_ref(), JobKind::Delete));
        }
        Ok(self.write_multi(&writes).into_iter().map(|r| r.and_then(status_of)).collect())
    }

    /// Invalidates every item on every server (after `delay` seconds if not
    /// 0). One result per server.
    pub fn flush_all(&self, delay: u32) -> PerServer<()> {
        self.each_server(
            |buf| text::encode_flush_all(buf, delay, false),
            |name, reply| match reply {
                TextReply::Ok => Ok(Flow::Done(())),
                other => Err(unexpected(name, other)),
            },
        )
    }

    /// Every server's version string.
    pub fn version(&self) -> PerServer<String> {
        self.each_server(text::encode_version, |name, reply| match reply {
            TextReply::Version(v) => Ok(Flow::Done(String::from_utf8_lossy(v).into_owned())),
            other => Err(unexpected(name, other)),
        })
    }

    /// Every server's own statistics (`stats [group]`), as name/value pairs.
    pub fn server_stats(&self, group: Option<&str>) -> PerServer<Vec<(String, String)>> {
        if let Some(g) = group {
            if g.is_empty() || g.bytes().any(|b| b <= b' ' || b == 0x7f) {
                let e = Error::BadValue(format!("bad stats group {g:?}"));
                return self
                    .main_servers()
                    .iter()
                    .map(|s| (s.name.clone(), Err(e.clone())))
                    .collect();
            }
        }
        let mut interrupted = false;
        (0..self.router.servers().len())
            .map(|i| {
                let mut pairs = Vec::new();
                if interrupted {
                    return (self.servers[i].name.clone(), Err(Error::Interrupted));
                }
                let r = self.admit(i).and_then(|()| {
                    self.exchange(
                        i,
                        |buf| text::encode_stats(buf, group.map(str::as_bytes)),
                        |name, reply| match reply {
                            TextReply::Stat { name: n, value } => {
                                pairs.push((
                                    String::from_utf8_lossy(n).into_owned(),
                                    String::from_utf8_lossy(value).into_owned(),
                                ));
                                Ok(Flow::More)
                            }
                            TextReply::End => Ok(Flow::Done(())),
                            other => Err(unexpected(name, other)),
                        },
                    )
                });
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                (self.servers[i].name.clone(), r.map(|()| pairs))
            })
            .collect()
    }

    /// Probes every configured server (and gutter server) with a `version`
    /// round trip, dead ones included: a server that answers is alive again
    /// (after forgetting what it missed), one that fails is reported down.
    /// A probe interrupted by a signal stops the ones after it.
    pub fn health(&self) -> Vec<ServerHealth> {
        let mut interrupted = false;
        (0..self.servers.len())
            .map(|i| {
                let start = std::time::Instant::now();
                let r = if interrupted {
                    Err(Error::Interrupted)
                } else {
                    self.exchange(i, text::encode_version, |name, reply| match reply {
                        TextReply::Version(_) => Ok(Flow::Done(())),
                        other => Err(unexpected(name, other)),
                    })
                };
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                ServerHealth {
                    name: self.servers[i].name.clone(),
                    latency: start.elapsed(),
                    error: r.err(),
                }
            })
            .collect()
    }

    /// The client's own counters, per server and in total (gutter servers
    /// included, after the configured ones).
    pub fn stats(&self) -> ClientStats {
        let mut stats = ClientStats::default();
        for s in &self.servers {
            let snap = s.counters.snapshot();
            stats.total = stats.total.plus(&snap);
            stats.servers.push((s.name.clone(), snap));
        }
        stats
    }

    /// Whether each server (configured, then gutter) is currently
    /// considered alive.
    pub fn alive(&self) -> Vec<(String, bool)> {
        self.servers.iter().map(|s| (s.name.clone(), s.health.is_alive())).collect()
    }

    /// Closes idle connections (they reopen on demand).
    pub fn close(&self) {
        for s in &self.servers {
            s.close_idle();
        }
    }

    fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.config.max_value_bytes {
            return Err(Error::BadValue(format!(
                "value is {} bytes, over max_value_bytes {}",
                value.len(),
                self.config.max_value_bytes
            )));
        }
        Ok(())
    }

    fn main_servers(&self) -> &[Server] {
        &self.servers[..self.router.servers().len()]
    }

    fn each_server<T>(
        &self,
        encode: impl Fn(&mut Vec<u8>),
        handle: impl Fn(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> PerServer<T> {
        let mut interrupted = false;
        (0..self.router.servers().len())
            .map(|i| {
                let r = if interrupted {
                    Err(Error::Interrupted)
                } else {
                    self.admit(i).and_then(|()| self.exchange(i, &encode, &handle))
                };
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                (self.servers[i].name.clone(), r)
            })
            .collect()
    }

    // ---- routing and health ----------------------------------------------

    /// Checks `key` and works out where its requests go now.
    #[inline]
    pub(crate) fn route(&self, key: &[u8]) -> Result<(u32, Route)> {
        self.route_in(key, &Probes::default())
    }

    /// [`Client::route`] for one key of a multi-key call: a server probed
    /// for one key of the call is usable for all of them.
    #[inline]
    pub(crate) fn route_in(&self, key: &[u8], probes: &Probes) -> Result<(u32, Route)> {
        self.router.check_key(key)?;
        let h = self.router.key_hash(key);
        if self.is_simple() {
            // Every server alive, one copy: the owner on the full ring.
            let home = self.router.home(h);
            if home.is_empty() {
                return Err(Error::NoServers);
            }
            return Ok((h, Route { home, targets: home, rerouted: false }));
        }
        Ok((h, self.route_excluding(h, &Copies::new(), probes)))
    }

    /// Whether every server is alive and keys have one copy: requests go
    /// straight to the key's owner.
    #[inline]
    pub(crate) fn is_simple(&self) -> bool {
        self.config.replicas == 0 && self.dead_servers() == 0
    }

    /// The owners of many keys on the full ring, after checking every key.
    pub(crate) fn primaries(&self, keys: &[&[u8]]) -> Result<Vec<usize>> {
        for key in keys {
            self.router.check_key(key)?;
        }
        let mut hashes = Vec::new();
        self.router.key_hashes(keys, &mut hashes);
        let ring = self.router.ring();
        let mut servers = Vec::with_capacity(hashes.len());
        for h in hashes {
            servers.push(ring.server_for_hash(h).ok_or(Error::NoServers)?);
        }
        Ok(servers)
    }

    /// The hash that places `key`.
    #[inline]
    pub(crate) fn router_key_hash(&self, key: &[u8]) -> u32 {
        self.router.key_hash(key)
    }

    /// Where a key's requests go, not counting the servers in `exclude`
    /// (ones that just failed this request).
    pub(crate) fn route_excluding(&self, h: u32, exclude: &Copies, probes: &Probes) -> Route {
        let now = monotonic_ms();
        let usable = |s: usize| !exclude.contains(s) && self.usable_in(s, now, probes);
        let alive = |s: usize| self.servers.get(s).is_some_and(|x| x.health.is_alive());
        let epoch = self.health_epoch();
        let any_dead = self.dead_servers() > 0;
        self.router.route(h, &usable, &alive, epoch, any_dead)
    }

    /// Whether server `s` may be used now; a dead server whose retry time
    /// has come is usable by exactly one call (the probe).
    fn usable(&self, s: usize, now: u64) -> bool {
        self.usable_in(s, now, &Probes::default())
    }

    fn usable_in(&self, s: usize, now: u64, probes: &Probes) -> bool {
        let Some(server) = self.servers.get(s) else { return false };
        if server.health.is_alive() || probes.0.borrow().contains(s) {
            return true;
        }
        match server.health.check(now, self.probe_budget_ms()) {
            Availability::Up => true,
            Availability::Probe => {
                probes.0.borrow_mut().push(s);
                true
            }
            Availability::Down => false,
        }
    }

    fn probe_budget_ms(&self) -> u64 {
        self.config.connect_timeout_ms + self.config.io_timeout_ms + 100
    }

    /// Admits a request to server `s` outside routing (stats, version,
    /// flush): refused quickly while it is dead.
    fn admit(&self, s: usize) -> Result<()> {
        if self.usable(s, monotonic_ms()) {
            Ok(())
        } else {
            Err(Error::ServerDown { server: self.servers[s].name.clone() })
        }
    }

    /// The error for a key none of whose servers may be used.
    pub(crate) fn down_error(&self, route: &Route) -> Error {
        match route.home.first().and_then(|s| self.servers.get(s)) {
            Some(s) => Error::ServerDown { server: s.name.clone() },
            None => Error::NoServers,
        }
    }

    /// Servers known dead: this client's own, plus those in the area shared
    /// with sibling processes (where another process may have found them
    /// dead).
    #[inline]
    fn dead_servers(&self) -> u64 {
        let shared = crate::shared_health::counters().map_or(0, |(dead, _)| dead);
        self.dead.load(Ordering::Acquire) as u64 + shared
    }

    /// Changes whenever a server of this client (or of the shared area)
    /// dies or recovers.
    fn health_epoch(&self) -> u64 {
        let shared = crate::shared_health::counters().map_or(0, |(_, epoch)| epoch);
        self.epoch.load(Ordering::Acquire).wrapping_add(shared)
    }

    /// Books a server's death or recovery where its health lives.
    fn note_transition(&self, s: usize, died: bool) {
        let Some(server) = self.servers.get(s) else { return };
        if server.health.is_shared() {
            crate::shared_health::note_transition(died);
            return;
        }
        if s < self.router.servers().len() {
            if died {
                self.dead.fetch_add(1, Ordering::AcqRel);
            } else {
                self.dead.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Books a successful exchange with server `s`.
    #[inline]
    pub(crate) fn server_ok(&self, s: usize) {
        let Some(server) = self.servers.get(s) else { return };
        if server.health.record_success() {
            self.note_transition(s, false);
        }
    }

    /// Books a failure of server `s`.
    pub(crate) fn server_failed(&self, s: usize, e: &Error) {
        let Some(server) = self.servers.get(s) else { return };
        server.counters.incr(Counter::Errors);
        if e.is_timeout() {
            server.counters.incr(Counter::Timeouts);
        }
        if e.is_server_failure() {
            let died = server.health.record_failure(
                monotonic_ms(),
                self.config.failure_limit,
                self.config.retry_timeout_ms,
            );
            if died {
                self.note_transition(s, true);
                server.note_death();
                server.close_idle();
            }
        }
    }

    // ---- connections ---------------------------------------------------------

    /// Sends one request to server `s` (already admitted) and reads its reply
    /// on one connection, waiting in `recv`. `handle` sees each reply in turn;
    /// an `Err(Error::Server)` it returns for a complete reply leaves the
    /// connection usable, while I/O and protocol failures close it and count
    /// against the server's health.
    pub(crate) fn exchange<T>(
        &self,
        server: usize,
        encode: impl FnOnce(&mut Vec<u8>),
        mut handle: impl FnMut(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> Result<T> {
        self.on_connection(server, encode, |name, conn, deadline| {
            self.converse(name, conn, deadline, &mut handle)
        })
    }

    /// Like [`Client::exchange`] for one meta-protocol request with one reply.
    pub(crate) fn exchange_with_meta(
        &self,
        server: usize,
        encode: impl FnOnce(&mut Vec<u8>),
        handle: &mut dyn FnMut(&str, MetaReply<'_>) -> Result<()>,
    ) -> Result<()> {
        self.on_connection(server, encode, |name, conn, deadline| {
            conn.flush(deadline).map_err(|f| io_error(name, f))?;
            loop {
                match meta::parse_meta_reply(conn.buffered(), &self.limits) {
                    Ok(Some((reply, used))) => {
                        let r = handle(name, reply);
                        conn.consume(used);
                        return match r {
                            Ok(()) => Ok(Ok(())),
                            Err(e @ Error::Server { .. }) => Ok(Err(e)),
                            Err(e) => Err(e),
                        };
                    }
                    Ok(None) => conn.fill(deadline).map_err(|f| io_error(name, f))?,
                    Err(e) => return Err(parse_error(name, &e)),
                }
            }
        })
    }

    /// One request on a checked-out connection of server `s`: `talk` sends
    /// what `encode` wrote and reads the reply. Its outer `Result` is a
    /// connection failure (the connection is closed and the failure counts
    /// against the server), the inner one a reply-level error (the
    /// connection goes back to the pool).
    fn on_connection<T>(
        &self,
        server: usize,
        encode: impl FnOnce(&mut Vec<u8>),
        talk: impl FnOnce(&str, &mut Conn, &Deadline) -> Result<Result<T>>,
    ) -> Result<T> {
        let s = self.servers.get(server).ok_or(Error::NoServers)?;
        let mut conn = self.checkout(server)?;
        let (read0, written0) = (conn.bytes_read, conn.bytes_written);
        encode(&mut conn.out);
        let deadline = Deadline::after(self.io_timeout);
        let outcome = talk(&s.name, &mut conn, &deadline);
        s.counters.add(Counter::BytesRead, conn.bytes_read - read0);
        s.counters.add(Counter::BytesWritten, conn.bytes_written - written0);
        match outcome {
            Ok(reply) => {
                // A complete reply, even an error one: the server is fine.
                self.server_ok(server);
                self.return_conn(server, conn);
                if reply.is_err() {
                    s.counters.incr(Counter::Errors);
                }
                reply
            }
            Err(e) => {
                drop(conn);
                self.server_failed(server, &e);
                Err(e)
            }
        }
    }

    /// The request/reply loop of [`Client::exchange`]. The outer `Result`
    /// is a connection failure; the inner one a reply-level error.
    fn converse<T>(
        &self,
        name: &str,
        conn: &mut Conn,
        deadline: &Deadline,
        handle: &mut impl FnMut(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> Result<Result<T>> {
        conn.flush(deadline).map_err(|f| io_error(name, f))?;
        loop {
            match text::parse_text_reply(conn.buffered(), &self.limits) {
                Ok(Some((reply, used))) => {
                    let step = handle(name, reply);
                    conn.consume(used);
                    match step {
                        Ok(Flow::More) => {}
                        Ok(Flow::Done(v)) => return Ok(Ok(v)),
                        Err(e @ Error::Server { .. }) => return Ok(Err(e)),
                        Err(e) => return Err(e),
                    }
                }
                Ok(None) => conn.fill(deadline).map_err(|f| io_error(name, f))?,
                Err(e) => return Err(parse_error(name, &e)),
            }
        }
    }

    /// An idle connection of server `s`, or a new one (connected within the
    /// connect timeout), with the server's pending invalidations applied.
    pub(crate) fn checkout(&self, server: usize) -> Result<Conn> {
        let s = self.servers.get(server).ok_or(Error::NoServers)?;
        let mut conn = match s.take_idle() {
            Some(conn) => conn,
            None => match Conn::connect(&s.spec, self.connect_timeout, self.io_timeout) {
                Ok(conn) => {
                    s.counters.incr(Counter::Connects);
                    conn
                }
                Err(f) => {
                    let e = io_error(&s.name, f);
                    self.server_failed(server, &e);
                    return Err(e);
                }
            },
        };
        self.before_first_use(server, &mut conn)?;
        Ok(conn)
    }

    /// Like [`Client::checkout`], but a new connection is only begun (the
    /// fan-out completes it in its poll loop), and pending invalidations are
    /// left to the fan-out, which sends them ahead of its batch.
    pub(crate) fn checkout_for_fanout(&self, server: usize) -> Result<Conn> {
        let s = self.servers.get(server).ok_or(Error::NoServers)?;
        if let Some(conn) = s.take_idle() {
            return Ok(conn);
        }
        match Conn::begin_connect(&s.spec, self.connect_timeout, self.io_timeout) {
            Ok(conn) => {
                if !conn.is_connecting() {
                    s.counters.incr(Counter::Connects);
                }
                Ok(conn)
            }
            Err(f) => {
                let e = io_error(&s.name, f);
                self.server_failed(server, &e);
                Err(e)
            }
        }
    }

    /// Applies server `s`'s pending invalidations on `conn` before anything
    /// else is sent on it: a server never serves a key it must forget.
    pub(crate) fn before_first_use(&self, server: usize, conn: &mut Conn) -> Result<()> {
        let Some(s) = self.servers.get(server) else { return Ok(()) };
        if !s.must_forget() {
            return Ok(());
        }
        let Some(forget) = s.take_forget() else { return Ok(()) };
        // The request already encoded waits until the invalidations are done.
        let request = std::mem::take(&mut conn.out);
        let result = self.forget_on(&s.name, conn, &forget);
        conn.out = request;
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                s.restore_forget(forget);
                self.server_failed(server, &e);
                Err(e)
            }
        }
    }

    /// Sends the deletes (or the flush) of `forget` on `conn` and reads the
    /// replies.
    fn forget_on(&self, name: &str, conn: &mut Conn, forget: &Forget) -> Result<()> {
        let prefix = self.router.prefix();
        let deadline = Deadline::after(self.io_timeout);
        let keys: &[Vec<u8>] = match forget {
            Forget::All => {
                text::encode_flush_all(&mut conn.out, 0, false);
                let r =
                    self.converse(name, conn, &deadline, &mut |name: &str, reply| match reply {
                        TextReply::Ok => Ok(Flow::Done(())),
                        other => Err(unexpected(name, other)),
                    })?;
                return r;
            }
            Forget::Keys(keys) => keys,
        };
        for chunk in keys.chunks(500) {
            for key in chunk {
                text::encode_delete(&mut conn.out, prefix, key, false);
            }
            let mut left = chunk.len();
            let deadline = deadline.min(Deadline::after(self.io_timeout));
            self.converse(name, conn, &deadline, &mut |name: &str, reply| {
                match reply {
                    TextReply::Deleted | TextReply::NotFound => {}
                    other => return Err(unexpected(name, other)),
                }
                left -= 1;
                Ok(if left == 0 { Flow::Done(()) } else { Flow::More })
            })??;
        }
        Ok(())
    }

    /// Gives a connection back to server `s`'s pool.
    pub(crate) fn return_conn(&self, server: usize, conn: Conn) {
        if let Some(s) = self.servers.get(server) {
            s.put_idle(conn, self.config.pool_size);
        }
    }

    pub(crate) fn server_list(&self) -> &[Server] {
        &self.servers
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn io_timeout(&self) -> Duration {
        self.io_timeout
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    pub(crate) fn prefix(&self) -> &[u8] {
        self.router.prefix()
    }
}

fn status_of(a: Answer) -> Result<Status> {
    match a {
        Answer::Status(s) => Ok(s),
        other => Err(protocol("", &format!("unexpected answer {other:?}"))),
    }
}

fn number_of(a: Answer) -> Result<Option<u64>> {
    match a {
        Answer::Number(n) => Ok(n),
        other => Err(protocol("", &format!("unexpected answer {other:?}"))),
    }
}

/// Whether `got` equals `prefix` followed by `key`.
#[inline]
pub(crate) fn is_prefixed(got: &[u8], prefix: &[u8], key: &[u8]) -> bool {
    got.len() == prefix.len() + key.len()
        && same_bytes(&got[..prefix.len()], prefix)
        && same_bytes(&got[prefix.len()..], key)
}

/// Byte equality of two slices of the same length, in a plain loop: keys
/// are short, and a call to the C library's vectorised `memcmp` for each one
/// was measured to cost a third of a multi-get's CPU time.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Maps a connection-level failure to an error naming the server.
pub(crate) fn io_error(server: &str, f: IoFailure) -> Error {
    match f {
        IoFailure::Timeout(during) => Error::Timeout { server: server.to_string(), during },
        IoFailure::Interrupted => Error::Interrupted,
        IoFailure::Closed => Error::Connection {
            server: server.to_string(),
            message: "connection closed by server".to_string(),
        },
        IoFailure::Os(e) => {
            Error::Connection { server: server.to_string(), message: e.to_string() }
        }
    }
}

/// The error for a reply the parser refused: a value over this client's
/// `max_value_bytes` is the value's fault, anything else the server's.
pub(crate) fn parse_error(server: &str, e: &crate::protocol::ProtocolError) -> Error {
    if e.kind() == crate::protocol::ProtocolErrorKind::ValueTooLarge {
        Error::TooLarge { server: server.to_string(), message: e.to_string() }
    } else {
        protocol(server, &e.to_string())
    }
}

pub(crate) fn protocol(server: &str, message: &str) -> Error {
    Error::Protocol { server: server.to_string(), message: message.to_string() }
}

/// An error for a reply that does not fit the request: `SERVER_ERROR` and
/// friends are reply-level errors, anything else means the stream is out of
/// step.
pub(crate) fn unexpected(server: &str, reply: TextReply<'_>) -> Error {
    match reply {
        TextReply::ServerError(m) => Error::Server {
            server: server.to_string(),
            message: String::from_utf8_lossy(m).into_owned(),
        },
        TextReply::ClientError(m) => Error::Server {
            server: server.to_string(),
            message: format!("CLIENT_ERROR {}", String::from_utf8_lossy(m)),
        },
        TextReply::Error => Error::Server {
            server: server.to_string(),
            message: "ERROR (command not supported)".to_string(),
        },
        other => protocol(server, &format!("unexpected reply {other:?}")),
    }
}

/// An error for a meta reply that does not fit the request: like
/// [`unexpected`], error replies (including `ERROR` from a server without
/// meta commands) are reply-level errors.
pub(crate) fn meta_unexpected(server: &str, reply: MetaReply<'_>) -> Error {
    match reply {
        MetaReply::ServerError(m) | MetaReply::ClientError(m) => Error::Server {
            server: server.to_string(),
            message: String::from_utf8_lossy(m).into_owned(),
        },
        MetaReply::Error => Error::Server {
            server: server.to_string(),
            message: "ERROR (meta commands need memcached 1.6)".to_string(),
        },
        other => protocol(server, &format!("unexpected meta reply {other:?}")),
    }
}

/// The status carried by a storage, delete or touch reply.
pub(crate) fn status_reply(server: &str, reply: TextReply<'_>) -> Result<Status> {
    match reply {
        TextReply::Stored | TextReply::Deleted | TextReply::Touched => Ok(Status::Done),
        TextReply::NotStored => Ok(Status::NotStored),
        TextReply::Exists => Ok(Status::Exists),
        TextReply::NotFound => Ok(Status::NotFound),
        other => Err(unexpected(server, other)),
    }
}
