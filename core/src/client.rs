//! The public API: commands on a pool of memcached servers.
//!
//! A [`Client`] is `Send + Sync`: threads share it, each request borrowing an
//! idle connection of the server it needs (or opening one). With every server
//! alive and no replicas, a single-key command is one `send` and one `recv`
//! on a pooled connection. Multi-key commands group keys by server, write
//! every server's batch, then read all replies in one `poll` loop (see
//! `fanout`). How a key's copies and dead servers are used is in
//! `failover`.
//!
//! Keys are checked before anything is sent; a bad key fails the whole call
//! and no byte of it reaches a server.

use std::time::Duration;

use crate::cluster::Cluster;
use crate::config::{Config, ServerSpec};
use crate::error::{Error, Result};
use crate::protocol::text::{self, MetadumpLine, Storage, TextReply};
use crate::reply::unexpected;
use crate::server_set::Flow;
use crate::stats::ClientStats;

pub use crate::by_key::ByKey;
pub use crate::protocol::text::Retrieval;
pub use crate::reply::{Item, ItemRef, Status};

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
    pub(crate) fn storage(self) -> Storage {
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

/// One key of [`Client::dump_keys`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpedKey {
    /// The key as stored (prefix included).
    pub key: Vec<u8>,
    /// Expiry as a Unix time; -1 for never.
    pub exptime: i64,
    /// Last access as a Unix time.
    pub last_access: i64,
    /// The CAS token.
    pub cas: u64,
    /// The item's size in bytes, as memcached counts it.
    pub size: u32,
}

/// One result per server, with the server's name, in configuration order.
/// Once a signal interrupts the request to one server, the servers after it
/// are not asked: their results are `Err(Error::Interrupted)` too.
pub type PerServer<T> = Vec<(String, Result<T>)>;

/// A memcached client over a configured pool.
pub struct Client {
    config: Config,
    cluster: Cluster,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("servers", &self.cluster.router.servers()).finish()
    }
}

impl Client {
    /// A client for `config`. No connection is opened until needed.
    pub fn new(config: Config) -> Result<Client> {
        config.validate()?;
        let cluster = Cluster::new(&config);
        Ok(Client { config, cluster })
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
        self.cluster.router.servers()
    }

    /// The server that owns `key` when every server is alive: libmemcached's
    /// `memcached_server_by_key`.
    pub fn server_for(&self, key: impl AsRef<[u8]>) -> Result<&ServerSpec> {
        let i = self.cluster.router.primary(key.as_ref())?;
        Ok(&self.cluster.router.servers()[i])
    }

    /// Every home copy of `key`, primary first (its replicas follow), as
    /// placed when every server is alive.
    pub fn copies_for(&self, key: impl AsRef<[u8]>) -> Result<Vec<&ServerSpec>> {
        let key = key.as_ref();
        self.cluster.router.check_key(key)?;
        let home = self.cluster.router.home(self.cluster.router.key_hash(key));
        Ok(home.as_slice().iter().filter_map(|&i| self.cluster.router.servers().get(i)).collect())
    }

    /// The key commands with every key placed by `server_key` instead of
    /// by itself, exactly as libmemcached's `*_by_key` functions (and
    /// php-memcached's `getByKey`, `setByKey`, ...) place them: the server
    /// key is hashed (without the prefix, unless `hash_with_prefix`), so
    /// related keys can be kept on one server. An empty server key places
    /// each key by itself.
    pub fn by_key<'a>(&'a self, server_key: &'a [u8]) -> ByKey<'a> {
        ByKey::new(self, Some(server_key))
    }

    /// The key commands, each key placed by itself.
    #[inline]
    fn keys(&self) -> ByKey<'_> {
        ByKey::new(self, None)
    }

    /// Fetches one key. A miss is `Ok(None)`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.keys().get(key)
    }

    /// Fetches one key with its CAS token.
    pub fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.keys().gets(key)
    }

    /// Fetches one key and sets its TTL (memcached `gats`), with CAS token.
    pub fn get_and_touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Option<Item>> {
        self.keys().get_and_touch(key, ttl)
    }

    /// Fetches one key and hands the value, borrowed from the receive
    /// buffer, to `f`. A miss is `Ok(None)`.
    #[inline]
    pub fn get_with<T>(
        &self,
        key: impl AsRef<[u8]>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        self.keys().get_with(key, cmd, f)
    }

    /// Stores a value unconditionally.
    pub fn set(&self, key: impl AsRef<[u8]>, value: &[u8], flags: u32, ttl: u32) -> Result<Status> {
        self.keys().set(key, value, flags, ttl)
    }

    /// Stores a value if the key does not exist.
    pub fn add(&self, key: impl AsRef<[u8]>, value: &[u8], flags: u32, ttl: u32) -> Result<Status> {
        self.keys().add(key, value, flags, ttl)
    }

    /// Stores a value if the key exists.
    pub fn replace(
        &self,
        key: impl AsRef<[u8]>,
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<Status> {
        self.keys().replace(key, value, flags, ttl)
    }

    /// Appends raw bytes to an existing value (flags and TTL are left as
    /// they were); see [`Client::append_value`].
    pub fn append(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<Status> {
        self.keys().append(key, value)
    }

    /// Prepends raw bytes to an existing value.
    pub fn prepend(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<Status> {
        self.keys().prepend(key, value)
    }

    /// Appends (or prepends) `piece` to the value as the codec sees it; see
    /// [`ByKey::append_value`].
    pub fn append_value(
        &self,
        key: impl AsRef<[u8]>,
        piece: &[u8],
        prepend: bool,
    ) -> Result<Status> {
        self.keys().append_value(key, piece, prepend)
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
        self.keys().cas(key, value, flags, ttl, cas)
    }

    /// Any storage command.
    #[inline]
    pub fn store(
        &self,
        mode: StoreMode,
        key: &[u8],
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<Status> {
        self.keys().store(mode, key, value, flags, ttl)
    }

    /// Any storage command, not waited for; see [`ByKey::store_noreply`].
    pub fn store_noreply(
        &self,
        mode: StoreMode,
        key: &[u8],
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<()> {
        self.keys().store_noreply(mode, key, value, flags, ttl)
    }

    /// Deletes a key. `Status::NotFound` if it did not exist.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<Status> {
        self.keys().delete(key)
    }

    /// Deletes a key without waiting for the reply.
    pub fn delete_noreply(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.keys().delete_noreply(key)
    }

    /// Adds `delta` to a decimal value; `None` if the key does not exist.
    /// memcached wraps at 2^64.
    pub fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        self.keys().incr(key, delta)
    }

    /// Subtracts `delta` from a decimal value, stopping at 0; `None` if the
    /// key does not exist.
    pub fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        self.keys().decr(key, delta)
    }

    /// Adds `delta`, creating a missing key with `initial`; see
    /// [`ByKey::incr_or_init`].
    pub fn incr_or_init(
        &self,
        key: impl AsRef<[u8]>,
        delta: u64,
        initial: u64,
        ttl: u32,
    ) -> Result<u64> {
        self.keys().incr_or_init(key, delta, initial, ttl)
    }

    /// Subtracts `delta`, creating a missing key with `initial`; see
    /// [`ByKey::incr_or_init`].
    pub fn decr_or_init(
        &self,
        key: impl AsRef<[u8]>,
        delta: u64,
        initial: u64,
        ttl: u32,
    ) -> Result<u64> {
        self.keys().decr_or_init(key, delta, initial, ttl)
    }

    /// `incr` without waiting for the reply.
    pub fn incr_noreply(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<()> {
        self.keys().incr_noreply(key, delta)
    }

    /// `decr` without waiting for the reply.
    pub fn decr_noreply(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<()> {
        self.keys().decr_noreply(key, delta)
    }

    /// Sets a key's TTL. `Status::NotFound` if it does not exist.
    pub fn touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Status> {
        self.keys().touch(key, ttl)
    }

    /// Sets a key's TTL without waiting for the reply.
    pub fn touch_noreply(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<()> {
        self.keys().touch_noreply(key, ttl)
    }

    /// Fetches many keys in one fan-out; see [`ByKey::get_multi`].
    pub fn get_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Option<Item>>>> {
        self.keys().get_multi(keys)
    }

    /// Like [`Client::get_multi`], with CAS tokens.
    pub fn gets_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Option<Item>>>> {
        self.keys().gets_multi(keys)
    }

    /// Fetches many keys, handing each value found to `on_hit`; see
    /// [`ByKey::get_multi_with`].
    #[inline]
    pub fn get_multi_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        cmd: Retrieval,
        on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        self.keys().get_multi_with(keys, cmd, on_hit)
    }

    /// Stores many values in one fan-out. One result per item, in order.
    pub fn set_multi(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<Status>>> {
        self.keys().set_multi(items, ttl)
    }

    /// Stores many values without waiting for replies; see
    /// [`ByKey::set_multi_noreply`].
    pub fn set_multi_noreply(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<()>>> {
        self.keys().set_multi_noreply(items, ttl)
    }

    /// Deletes many keys in one fan-out. One result per key, in order.
    pub fn delete_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Status>>> {
        self.keys().delete_multi(keys)
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
                    .cluster
                    .servers
                    .configured()
                    .iter()
                    .map(|s| (s.name.clone(), Err(e.clone())))
                    .collect();
            }
        }
        let mut interrupted = false;
        (0..self.cluster.router.servers().len())
            .map(|i| {
                let mut pairs = Vec::new();
                if interrupted {
                    return (self.cluster.servers.name(i).to_string(), Err(Error::Interrupted));
                }
                let r = self.cluster.servers.admit(i).and_then(|()| {
                    self.cluster.servers.exchange(
                        i,
                        true,
                        |buf| text::encode_stats(buf, group.map(str::as_bytes)),
                        |name, reply| match reply {
                            TextReply::Stat { name: n, value } => {
                                pairs.push((
                                    String::from_utf8_lossy(n).into_owned(),
                                    String::from_utf8_lossy(value).into_owned(),
                                ));
                                Ok(Flow::More)
                            }
                            // `stats reset` answers RESET; `stats detail on` OK.
                            TextReply::End | TextReply::Reset | TextReply::Ok => Ok(Flow::Done(())),
                            other => Err(unexpected(name, other)),
                        },
                    )
                });
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                (self.cluster.servers.name(i).to_string(), r.map(|()| pairs))
            })
            .collect()
    }

    /// Every key stored on every configured server (`lru_crawler metadump
    /// all`, memcached 1.4.31+), with its expiry, last access, CAS token and
    /// size. Keys are as stored, the prefix included. A server that refuses
    /// (`BUSY` while another crawl runs, or crawling disabled) gives an
    /// `Error::Server` with its message.
    pub fn dump_keys(&self) -> PerServer<Vec<DumpedKey>> {
        let mut interrupted = false;
        (0..self.cluster.router.servers().len())
            .map(|i| {
                let name = self.cluster.servers.name(i).to_string();
                if interrupted {
                    return (name, Err(Error::Interrupted));
                }
                let mut keys = Vec::new();
                let r = self.cluster.servers.admit(i).and_then(|()| {
                    self.cluster.servers.exchange_parsed(
                        i,
                        text::encode_metadump,
                        text::parse_metadump_line,
                        |name, line| match line {
                            MetadumpLine::Key { key, exptime, last_access, cas, size } => {
                                keys.push(DumpedKey { key, exptime, last_access, cas, size });
                                Ok(Flow::More)
                            }
                            MetadumpLine::End => Ok(Flow::Done(())),
                            MetadumpLine::Refused(text) => Err(Error::Server {
                                server: name.to_string(),
                                message: String::from_utf8_lossy(&text).into_owned(),
                            }),
                        },
                    )
                });
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                (name, r.map(|()| keys))
            })
            .collect()
    }

    /// Probes every configured server (and gutter server) with a `version`
    /// round trip, dead ones included: a server that answers is alive again
    /// (after forgetting what it missed), one that fails is reported down.
    /// A probe interrupted by a signal stops the ones after it.
    pub fn health(&self) -> Vec<ServerHealth> {
        let mut interrupted = false;
        (0..self.cluster.servers.all().len())
            .map(|i| {
                let start = std::time::Instant::now();
                let r = if interrupted {
                    Err(Error::Interrupted)
                } else {
                    self.cluster.servers.exchange(i, true, text::encode_version, |name, reply| {
                        match reply {
                            TextReply::Version(_) => Ok(Flow::Done(())),
                            other => Err(unexpected(name, other)),
                        }
                    })
                };
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                ServerHealth {
                    name: self.cluster.servers.name(i).to_string(),
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
        for s in self.cluster.servers.all() {
            let snap = s.counters.snapshot();
            stats.total = stats.total.plus(&snap);
            stats.servers.push((s.name.clone(), snap));
        }
        stats
    }

    /// Whether each server (configured, then gutter) is currently
    /// considered alive.
    pub fn alive(&self) -> Vec<(String, bool)> {
        self.cluster.servers.all().iter().map(|s| (s.name.clone(), s.health.is_alive())).collect()
    }

    /// Closes idle connections (they reopen on demand).
    pub fn close(&self) {
        for s in self.cluster.servers.all() {
            s.close_idle();
        }
    }

    pub(crate) fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub(crate) fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.config.max_value_bytes {
            return Err(Error::BadValue(format!(
                "value is {} bytes, over max_value_bytes {}",
                value.len(),
                self.config.max_value_bytes
            )));
        }
        Ok(())
    }

    fn each_server<T>(
        &self,
        encode: impl Fn(&mut Vec<u8>),
        handle: impl Fn(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> PerServer<T> {
        let mut interrupted = false;
        (0..self.cluster.router.servers().len())
            .map(|i| {
                let r = if interrupted {
                    Err(Error::Interrupted)
                } else {
                    self.cluster
                        .servers
                        .admit(i)
                        .and_then(|()| self.cluster.servers.exchange(i, true, &encode, &handle))
                };
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                (self.cluster.servers.name(i).to_string(), r)
            })
            .collect()
    }
}
