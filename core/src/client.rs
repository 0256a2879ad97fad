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

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, ServerSpec};
use crate::discovery::{Discoverer, DiscoveryStats};
use crate::error::{Error, Result};
use crate::flight::Flights;
use crate::health::monotonic_ms;
use crate::hot_keys::{HotPath, ServerHotKeys};
use crate::lease::{ComputeError, Fetched, LeaseOptions, LeaseToken, Leased};
use crate::membership::{Loaded, Members, Membership};
use crate::protocol::text::{self, MetadumpLine, Storage, TextReply};
use crate::reply::unexpected;
use crate::server_set::Flow;
use crate::stats::ClientStats;

pub use crate::by_key::ByKey;
pub use crate::membership::Change;
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
    members: Arc<Membership>,
    discovery: Arc<Discoverer>,
    /// Callers of this client waiting for one key share one wait.
    flights: Arc<Flights>,
    /// Hot-key counting and the near cache; `None` when off.
    hot: Option<Box<HotPath>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("servers", &self.servers()).finish()
    }
}

impl Client {
    /// A client for `config`. No connection is opened until needed.
    pub fn new(config: Config) -> Result<Client> {
        config.validate()?;
        // TLS files are read (and a login encoded) now, so a bad one fails here.
        crate::server_set::handshakes(&config)?;
        let mut members = Members::of(&config);
        let discovery = Arc::new(Discoverer::new(&config));
        let addresses = if members.found.is_empty() {
            Default::default()
        } else {
            discovery.resolve_now(&mut members)
        };
        let members = Arc::new(Membership::new(&config, members));
        members.seed(&addresses);
        let hot = HotPath::of(&config);
        Ok(Client { config, members, discovery, flights: Flights::new(), hot })
    }

    /// A client from a config string.
    pub fn from_config_str(config: &str) -> Result<Client> {
        Client::new(Config::parse(config)?)
    }

    /// The configuration the client was made with (its `servers` are the
    /// list at construction: [`Client::servers`] is the list now).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The servers now, in ring order.
    pub fn servers(&self) -> Vec<ServerSpec> {
        self.members.load().cluster.router.servers().to_vec()
    }

    /// The server that owns `key` when every server is alive: libmemcached's
    /// `memcached_server_by_key`.
    pub fn server_for(&self, key: impl AsRef<[u8]>) -> Result<ServerSpec> {
        let snapshot = self.members.load();
        let router = &snapshot.cluster.router;
        let i = router.primary(key.as_ref())?;
        Ok(router.servers()[i].clone())
    }

    /// The index in [`Client::servers`] of the server that owns `key` when
    /// every server is alive.
    pub fn server_index_for(&self, key: impl AsRef<[u8]>) -> Result<usize> {
        self.members.load().cluster.router.primary(key.as_ref())
    }

    /// Every home copy of `key`, primary first (its replicas follow), as
    /// placed when every server is alive.
    pub fn copies_for(&self, key: impl AsRef<[u8]>) -> Result<Vec<ServerSpec>> {
        let key = key.as_ref();
        let snapshot = self.members.load();
        let router = &snapshot.cluster.router;
        router.check_key(key)?;
        let home = router.home(router.key_hash(key));
        Ok(home.iter().filter_map(|i| router.servers().get(i)).cloned().collect())
    }

    // ---- membership ----------------------------------------------------------

    /// Adds a server (`host:port[:weight]`, `/path.sock`) or a DNS source
    /// (`dns+NAME:PORT`, `srv+NAME`) to the pool. The ring over the new list
    /// is built aside and swapped in atomically: requests in flight finish
    /// on the ring they started with, and with `migration` (the default)
    /// keys that move are copied to their new owner on first read.
    pub fn add_server(&self, token: &str) -> Result<Change> {
        self.members.change(false, |m| {
            let mut m = m.clone();
            m.add(token)?;
            Ok(m)
        })
    }

    /// Removes a server (named `host:port`, as in [`Client::servers`]) or a
    /// DNS source (its `dns+`/`srv+` token). Its connections are closed;
    /// with `drain`, migration reads its keys until `migration_s` has
    /// passed (a graceful removal: the server must keep running that long),
    /// and then closes them.
    pub fn remove_server(&self, name: &str, drain: bool) -> Result<Change> {
        self.members.change(drain, |m| {
            let mut m = m.clone();
            m.remove(name)?;
            Ok(m)
        })
    }

    /// Resolves the DNS sources (`dns+`, `srv+`) now, on this thread, and
    /// applies what they found; requests do it in the background every
    /// `dns_refresh_s`.
    pub fn refresh_dns(&self) {
        self.discovery.refresh(&self.members);
    }

    /// DNS discovery's counters: resolutions, failures (the last good list
    /// kept), empty answers (not applied), changes it made, the latest error.
    pub fn discovery_stats(&self) -> DiscoveryStats {
        self.discovery.stats()
    }

    /// The servers and DNS sources the list is made of: servers named
    /// directly, and each DNS source with the servers it resolved to last.
    pub fn members(&self) -> Members {
        self.members.load().members.clone()
    }

    /// Replaces the server list with `tokens` (servers and DNS sources, as
    /// in a config string). Servers in both lists keep their connections,
    /// health and counters; servers that leave are closed (read until the
    /// window ends when `drain`).
    pub fn set_servers(&self, tokens: &[&str], drain: bool) -> Result<Change> {
        let mut next = Members::parse(tokens)?;
        self.members.change(drain, |m| {
            // DNS sources that stay keep what they resolved to.
            for (source, found) in &mut next.found {
                if let Some((_, known)) = m.found.iter().find(|(d, _)| d == source) {
                    found.clone_from(known);
                }
            }
            Ok(next.clone())
        })
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

    /// Deletes many keys without waiting for replies; see
    /// [`ByKey::delete_multi_noreply`].
    pub fn delete_multi_noreply<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<()>>> {
        self.keys().delete_multi_noreply(keys)
    }

    // ---- stampedes and hot keys -------------------------------------------

    /// The lease options of this client's configuration (its `lease_ttl`,
    /// no early recache, no stale time), for [`Client::get_or_lease`].
    pub fn lease_options(&self) -> LeaseOptions {
        LeaseOptions::of(&self.config)
    }

    /// Reads `key` through a lease (memcached 1.6's meta protocol; see
    /// [`crate::lease`]): a value (`Leased::Hit`); a stale value while
    /// another caller recomputes it (`Leased::Stale`); or, when it is
    /// missing, stale or due for early recache and this caller won,
    /// `Leased::Compute` with the lease, which the caller fills with
    /// [`Client::lease_fill`] once it computed the value (or gives back
    /// with [`Client::lease_release`]). Exactly one caller of the whole
    /// pool is told to compute; callers that find another's lease wait for
    /// its value (callers of this process share one wait), at most twice
    /// `lease_ttl` plus a second.
    pub fn get_or_lease(&self, key: impl AsRef<[u8]>, opts: &LeaseOptions) -> Result<Leased> {
        self.keys().get_or_lease(key, opts)
    }

    /// Stores the value computed under `lease`, with `ttl` (spread by
    /// `ttl_jitter`, extended by the lease's stale time), on the lease's
    /// copy only if the lease still holds (its CAS token), then on the
    /// key's other copies. `Status::Exists` or `NotFound` when a newer
    /// write, a delete or the lease's expiry came first: nothing is stored.
    /// Callers of this process waiting for the key get the value at once.
    pub fn lease_fill(
        &self,
        lease: LeaseToken,
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<Status> {
        crate::by_key::fill(self, lease, value, flags, ttl)
    }

    /// Gives a lease back unfilled (its compute failed), so that another
    /// caller wins it at once instead of after `lease_ttl`.
    pub fn lease_release(&self, lease: LeaseToken) -> Result<()> {
        crate::by_key::release(self, lease)
    }

    /// Reads `key`, and when it is missing (or stale, or due for early
    /// recache) and this caller wins the lease, computes it with `compute`
    /// (which returns what to give back, the encoded value and its flags)
    /// and stores it with `ttl`; see [`Client::get_or_lease`]. A `compute`
    /// that fails (or panics) gives the lease back at once and its error is
    /// this caller's alone. A value computed but not stored (a newer write
    /// came first) is still returned.
    pub fn get_or_compute<T, E>(
        &self,
        key: impl AsRef<[u8]>,
        ttl: u32,
        opts: &LeaseOptions,
        compute: impl FnOnce() -> std::result::Result<(T, Vec<u8>, u32), E>,
    ) -> std::result::Result<Fetched<T>, ComputeError<E>> {
        self.keys().get_or_compute(key, ttl, opts, compute)
    }

    /// Marks `key` stale on every copy for `stale_ttl` seconds instead of
    /// deleting it (meta `md I T`): readers through leases are served the
    /// old value at once while one of them recomputes it, so an update does
    /// not cause a stampede. `stale_ttl` 0 deletes the key. `Done` if a
    /// copy held it, `NotFound` if none did.
    pub fn invalidate(&self, key: impl AsRef<[u8]>, stale_ttl: u32) -> Result<Status> {
        self.keys().invalidate(key, stale_ttl)
    }

    /// The keys this client reads most, grouped by the server that holds
    /// them (configured servers, in order), most read first: the contents
    /// of the hot-key sketch (`hot_keys=N`). Empty lists when counting is
    /// off. Counts are estimates: each key's `reads` overstates its true
    /// count by at most its `error`.
    pub fn hot_keys(&self) -> Vec<ServerHotKeys> {
        let snapshot = self.members.load();
        let mut out: Vec<ServerHotKeys> = snapshot
            .cluster
            .servers
            .configured()
            .iter()
            .map(|s| ServerHotKeys { server: s.name.clone(), keys: Vec::new() })
            .collect();
        let Some(hot) = &self.hot else { return out };
        let router = &snapshot.cluster.router;
        for k in hot.sketch.top() {
            let h = k.server_key_hash.unwrap_or_else(|| router.key_hash(&k.key));
            if let Some(group) = router.home(h).first().and_then(|s| out.get_mut(s)) {
                group.keys.push(k);
            }
        }
        out
    }

    pub(crate) fn hot_path(&self) -> Option<&HotPath> {
        self.hot.as_deref()
    }

    pub(crate) fn flights(&self) -> &Arc<Flights> {
        &self.flights
    }

    /// Invalidates every item on every server (after `delay` seconds if not
    /// 0). One result per server.
    pub fn flush_all(&self, delay: u32) -> PerServer<()> {
        if let Some(near) = self.hot.as_ref().and_then(|h| h.near.as_ref()) {
            near.clear();
        }
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
                    .members
                    .load()
                    .cluster
                    .servers
                    .configured()
                    .iter()
                    .map(|s| (s.name.clone(), Err(e.clone())))
                    .collect();
            }
        }
        let snapshot = self.members.load_full();
        let cluster = &snapshot.cluster;
        let mut interrupted = false;
        (0..cluster.router.servers().len())
            .map(|i| {
                let mut pairs = Vec::new();
                if interrupted {
                    return (cluster.servers.name(i).to_string(), Err(Error::Interrupted));
                }
                let r = cluster.servers.admit(i).and_then(|()| {
                    cluster.servers.exchange(
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
                (cluster.servers.name(i).to_string(), r.map(|()| pairs))
            })
            .collect()
    }

    /// Every key stored on every configured server (`lru_crawler metadump
    /// all`, memcached 1.4.31+), with its expiry, last access, CAS token and
    /// size. Keys are as stored, the prefix included. A server that refuses
    /// (`BUSY` while another crawl runs, or crawling disabled) gives an
    /// `Error::Server` with its message.
    pub fn dump_keys(&self) -> PerServer<Vec<DumpedKey>> {
        let snapshot = self.members.load_full();
        let cluster = &snapshot.cluster;
        let mut interrupted = false;
        (0..cluster.router.servers().len())
            .map(|i| {
                let name = cluster.servers.name(i).to_string();
                if interrupted {
                    return (name, Err(Error::Interrupted));
                }
                let mut keys = Vec::new();
                let r = cluster.servers.admit(i).and_then(|()| {
                    cluster.servers.exchange_parsed(
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
        let snapshot = self.members.load_full();
        let cluster = &snapshot.cluster;
        let mut interrupted = false;
        (0..cluster.servers.all().len())
            .map(|i| {
                let start = std::time::Instant::now();
                let r = if interrupted {
                    Err(Error::Interrupted)
                } else {
                    cluster.servers.exchange(i, true, text::encode_version, |name, reply| {
                        match reply {
                            TextReply::Version(_) => Ok(Flow::Done(())),
                            other => Err(unexpected(name, other)),
                        }
                    })
                };
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                ServerHealth {
                    name: cluster.servers.name(i).to_string(),
                    latency: start.elapsed(),
                    error: r.err(),
                }
            })
            .collect()
    }

    /// The client's own counters and latency histograms, per server, and
    /// the counters' sum (gutter servers included, after the configured
    /// ones). [`ClientStats::prometheus`] renders them.
    pub fn stats(&self) -> ClientStats {
        let mut stats = ClientStats::default();
        for s in self.members.load().cluster.servers.all() {
            stats.push(s.name.clone(), s.counters.snapshot(), s.latencies.snapshot());
        }
        if self.hot.is_some() {
            stats.hot_keys = self.hot_keys();
        }
        stats
    }

    /// Whether each server (configured, then gutter) is currently
    /// considered alive.
    pub fn alive(&self) -> Vec<(String, bool)> {
        let snapshot = self.members.load();
        snapshot
            .cluster
            .servers
            .all()
            .iter()
            .map(|s| (s.name.clone(), s.health.is_alive()))
            .collect()
    }

    /// Closes idle connections (they reopen on demand).
    pub fn close(&self) {
        for s in self.members.load().cluster.servers.all() {
            s.close_idle();
        }
    }

    /// The pool as a request sees it: loaded once per request and kept to
    /// its end. Earlier rings whose migration window has passed are let go
    /// here.
    #[inline]
    pub(crate) fn snapshot(&self) -> Loaded<'_> {
        let snapshot = self.members.load();
        if !snapshot.members.found.is_empty() {
            self.discovery.tick(&self.members);
        }
        if let Some(oldest) = snapshot.previous.last() {
            let now = monotonic_ms();
            if now >= oldest.until_ms {
                drop(snapshot);
                self.members.prune(now);
                return self.members.load();
            }
        }
        snapshot
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
        let snapshot = self.members.load_full();
        let cluster = &snapshot.cluster;
        let mut interrupted = false;
        (0..cluster.router.servers().len())
            .map(|i| {
                let r = if interrupted {
                    Err(Error::Interrupted)
                } else {
                    cluster
                        .servers
                        .admit(i)
                        .and_then(|()| cluster.servers.exchange(i, true, &encode, &handle))
                };
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                (cluster.servers.name(i).to_string(), r)
            })
            .collect()
    }
}
