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
use crate::fanout::{Answer, JobKind};
use crate::protocol::text::{self, Arith, Storage, TextReply};
use crate::reply::unexpected;
use crate::server_set::Flow;
use crate::stats::ClientStats;

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

    /// Fetches one key. A miss is `Ok(None)`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.cluster.read(key.as_ref(), Retrieval::Get, |item| item.to_item())
    }

    /// Fetches one key with its CAS token.
    pub fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.cluster.read(key.as_ref(), Retrieval::Gets, |item| item.to_item())
    }

    /// Fetches one key and sets its TTL (memcached `gats`), with CAS token.
    pub fn get_and_touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Option<Item>> {
        self.cluster.read(key.as_ref(), Retrieval::Gats { exptime: ttl }, |item| item.to_item())
    }

    /// Fetches one key and hands the value, borrowed from the receive
    /// buffer, to `f`. A miss is `Ok(None)`.
    pub fn get_with<T>(
        &self,
        key: impl AsRef<[u8]>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        self.cluster.read(key.as_ref(), cmd, f)
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
        let opts = crate::value::CodecOptions::of(&self.config);
        for _ in 0..10 {
            let Some(item) = self.cluster.read_for_update(key)? else {
                return Ok(Status::NotStored);
            };
            let joined = crate::value::concat(&item.value, item.flags, piece, prepend, &opts)
                .map_err(|e| Error::BadValue(e.to_string()))?;
            self.check_value(&joined.data)?;
            // The item keeps its remaining lifetime, as memcached's append does.
            let ttl = crate::protocol::exptime_for_remaining(item.ttl);
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
        status_of(self.cluster.write(key, kind)?)
    }

    /// Deletes a key. `Status::NotFound` if it did not exist.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<Status> {
        status_of(self.cluster.write(key.as_ref(), JobKind::Delete)?)
    }

    /// Adds `delta` to a decimal value; `None` if the key does not exist.
    /// memcached wraps at 2^64.
    pub fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        number_of(self.cluster.write(key.as_ref(), JobKind::Arith(Arith::Incr, delta))?)
    }

    /// Subtracts `delta` from a decimal value, stopping at 0; `None` if the
    /// key does not exist.
    pub fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        number_of(self.cluster.write(key.as_ref(), JobKind::Arith(Arith::Decr, delta))?)
    }

    /// Sets a key's TTL. `Status::NotFound` if it does not exist.
    pub fn touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Status> {
        status_of(self.cluster.write(key.as_ref(), JobKind::Touch(ttl))?)
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
        self.cluster.read_multi(&keys, cmd, on_hit)
    }

    /// Stores many values in one fan-out. One result per item, in order.
    pub fn set_multi(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<Status>>> {
        let mut writes = Vec::with_capacity(items.len());
        for item in items {
            self.cluster.router.check_key(item.key)?;
            self.check_value(item.value)?;
            let kind =
                JobKind::Store { cmd: Storage::Set, value: item.value, flags: item.flags, ttl };
            writes.push((item.key, kind));
        }
        Ok(self.cluster.write_multi(&writes).into_iter().map(|r| r.and_then(status_of)).collect())
    }

    /// Deletes many keys in one fan-out. One result per key, in order.
    pub fn delete_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Status>>> {
        let mut writes = Vec::with_capacity(keys.len());
        for key in keys {
            self.cluster.router.check_key(key.as_ref())?;
            writes.push((key.as_ref(), JobKind::Delete));
        }
        Ok(self.cluster.write_multi(&writes).into_iter().map(|r| r.and_then(status_of)).collect())
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
                (self.cluster.servers.name(i).to_string(), r.map(|()| pairs))
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
                let r =
                    if interrupted {
                        Err(Error::Interrupted)
                    } else {
                        self.cluster.servers.exchange(i, text::encode_version, |name, reply| {
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
                        .and_then(|()| self.cluster.servers.exchange(i, &encode, &handle))
                };
                interrupted |= r.as_ref().err() == Some(&Error::Interrupted);
                (self.cluster.servers.name(i).to_string(), r)
            })
            .collect()
    }
}

fn status_of(a: Answer) -> Result<Status> {
    match a {
        Answer::Status(s) => Ok(s),
        other => Err(Error::protocol("", &format!("unexpected answer {other:?}"))),
    }
}

fn number_of(a: Answer) -> Result<Option<u64>> {
    match a {
        Answer::Number(n) => Ok(n),
        other => Err(Error::protocol("", &format!("unexpected answer {other:?}"))),
    }
}
