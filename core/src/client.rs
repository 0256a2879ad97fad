//! The public API: commands on a pool of memcached servers.
//!
//! A [`Client`] is `Send + Sync`: threads share it, each request borrowing an
//! idle connection of the server it needs (or opening one). Single-key
//! commands take one `send` and one `recv` on a pooled connection.
//! Multi-key commands group keys by server, write every server's batch, then
//! read all replies in one `poll` loop (see [`crate::fanout`]), so their
//! latency is the slowest server's, not the sum.
//!
//! Keys are checked before anything is sent; a bad key fails the whole call
//! and no byte of it reaches a server.

use std::time::Duration;

use crate::config::{Config, ServerSpec};
use crate::conn::{Conn, Deadline, IoFailure};
use crate::error::{Error, Result};
use crate::fanout::{self, Answer, Job, JobKind};
pub use crate::protocol::text::Retrieval;
use crate::protocol::text::{self, Arith, Storage, TextReply};
use crate::protocol::Limits;
use crate::router::Router;
use crate::server::{monotonic_ms, Server};
use crate::stats::{ClientStats, Counter};

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

/// One result per server, with the server's name, in configuration order.
pub type PerServer<T> = Vec<(String, Result<T>)>;

/// A memcached client over a configured pool.
pub struct Client {
    config: Config,
    router: Router,
    servers: Vec<Server>,
    limits: Limits,
    connect_timeout: Duration,
    io_timeout: Duration,
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
        let servers = config.servers.iter().cloned().map(Server::new).collect();
        // Replies may carry values up to the configured maximum, plus slack
        // for a server whose item limit is larger than ours.
        let limits = Limits { max_value_len: config.max_value_bytes, max_line_len: 4096 };
        Ok(Client {
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            io_timeout: Duration::from_millis(config.io_timeout_ms),
            config,
            router,
            servers,
            limits,
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

    /// The server that owns `key` (libmemcached's `memcached_server_by_key`).
    pub fn server_for(&self, key: impl AsRef<[u8]>) -> Result<&ServerSpec> {
        let i = self.router.primary(key.as_ref())?;
        Ok(&self.router.servers()[i])
    }

    /// Fetches one key. A miss is `Ok(None)`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.retrieve(key.as_ref(), Retrieval::Get)
    }

    /// Fetches one key with its CAS token.
    pub fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.retrieve(key.as_ref(), Retrieval::Gets)
    }

    /// Fetches one key and sets its TTL (memcached `gats`), with CAS token.
    pub fn get_and_touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Option<Item>> {
        self.retrieve(key.as_ref(), Retrieval::Gats { exptime: ttl })
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
        let server = self.router.primary(key)?;
        self.check_value(value)?;
        let prefix = self.router.prefix();
        self.count(server, Counter::Sets, 1);
        self.exchange(
            server,
            |buf| text::encode_storage(buf, mode.storage(), prefix, key, flags, ttl, value, false),
            |name, reply| status_reply(name, reply).map(Flow::Done),
        )
    }

    /// Deletes a key. `Status::NotFound` if it did not exist.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<Status> {
        let key = key.as_ref();
        let server = self.router.primary(key)?;
        let prefix = self.router.prefix();
        self.count(server, Counter::Deletes, 1);
        self.exchange(
            server,
            |buf| text::encode_delete(buf, prefix, key, false),
            |name, reply| status_reply(name, reply).map(Flow::Done),
        )
    }

    /// Adds `delta` to a decimal value; `None` if the key does not exist.
    /// memcached wraps at 2^64.
    pub fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        self.arith(Arith::Incr, key.as_ref(), delta)
    }

    /// Subtracts `delta` from a decimal value, stopping at 0; `None` if the
    /// key does not exist.
    pub fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        self.arith(Arith::Decr, key.as_ref(), delta)
    }

    fn arith(&self, cmd: Arith, key: &[u8], delta: u64) -> Result<Option<u64>> {
        let server = self.router.primary(key)?;
        let prefix = self.router.prefix();
        self.count(server, Counter::Sets, 1);
        self.exchange(
            server,
            |buf| text::encode_arith(buf, cmd, prefix, key, delta, false),
            |name, reply| match reply {
                TextReply::Number(n) => Ok(Flow::Done(Some(n))),
                TextReply::NotFound => Ok(Flow::Done(None)),
                other => Err(unexpected(name, other)),
            },
        )
    }

    /// Sets a key's TTL. `Status::NotFound` if it does not exist.
    pub fn touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Status> {
        let key = key.as_ref();
        let server = self.router.primary(key)?;
        let prefix = self.router.prefix();
        self.count(server, Counter::Sets, 1);
        self.exchange(
            server,
            |buf| text::encode_touch(buf, prefix, key, ttl, false),
            |name, reply| status_reply(name, reply).map(Flow::Done),
        )
    }

    /// Fetches many keys in one fan-out. The result has one entry per key,
    /// in order: `Ok(Some(item))` for a hit, `Ok(None)` for a miss, `Err` if
    /// the key's server failed. A bad key fails the whole call before
    /// anything is sent.
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
        let found = self.get_multi_with(keys, cmd, |i, item| items[i] = Some(item.to_item()))?;
        Ok(found.into_iter().zip(items).map(|(r, item)| r.map(|_| item)).collect())
    }

    /// Fetches many keys in one fan-out and hands each value found to
    /// `on_hit(key_index, item)` as it arrives, borrowed from the receive
    /// buffer. Returns one entry per key: `Ok(true)` hit, `Ok(false)` miss,
    /// `Err` if its server failed.
    pub fn get_multi_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        cmd: Retrieval,
        mut on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        let mut jobs = Vec::with_capacity(keys.len());
        for key in keys {
            let key = key.as_ref();
            let server = self.router.primary(key)?;
            jobs.push(Job { server, key, kind: JobKind::Get(cmd) });
        }
        let answers = fanout::run(self, &jobs, &mut on_hit);
        Ok(answers
            .into_iter()
            .map(|a| match a {
                Ok(Answer::Hit) => Ok(true),
                Ok(Answer::Miss) => Ok(false),
                Ok(other) => Err(protocol("", &format!("unexpected answer {other:?} to a get"))),
                Err(e) => Err(e),
            })
            .collect())
    }

    /// Stores many values in one fan-out. One result per item, in order.
    pub fn set_multi(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<Status>>> {
        let mut jobs = Vec::with_capacity(items.len());
        for item in items {
            let server = self.router.primary(item.key)?;
            self.check_value(item.value)?;
            jobs.push(Job {
                server,
                key: item.key,
                kind: JobKind::Store {
                    cmd: Storage::Set,
                    value: item.value,
                    flags: item.flags,
                    ttl,
                },
            });
        }
        Ok(fanout::run(self, &jobs, &mut |_, _| {}).into_iter().map(answer_status).collect())
    }

    /// Deletes many keys in one fan-out. One result per key, in order.
    pub fn delete_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Status>>> {
        let mut jobs = Vec::with_capacity(keys.len());
        for key in keys {
            let key = key.as_ref();
            let server = self.router.primary(key)?;
            jobs.push(Job { server, key, kind: JobKind::Delete });
        }
        Ok(fanout::run(self, &jobs, &mut |_, _| {}).into_iter().map(answer_status).collect())
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
                return self.servers.iter().map(|s| (s.name.clone(), Err(e.clone()))).collect();
            }
        }
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut pairs = Vec::new();
                let r = self.exchange(
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
                );
                (s.name.clone(), r.map(|()| pairs))
            })
            .collect()
    }

    /// Probes every server with a `version` round trip, in one pass.
    /// A server that answers is marked alive; one that fails is reported down
    /// with the error (and the failure counts towards its health).
    pub fn health(&self) -> Vec<ServerHealth> {
        (0..self.servers.len())
            .map(|i| {
                let start = std::time::Instant::now();
                let r = self.exchange(i, text::encode_version, |name, reply| match reply {
                    TextReply::Version(_) => Ok(Flow::Done(())),
                    other => Err(unexpected(name, other)),
                });
                ServerHealth {
                    name: self.servers[i].name.clone(),
                    latency: start.elapsed(),
                    error: r.err(),
                }
            })
            .collect()
    }

    /// The client's own counters, per server and in total.
    pub fn stats(&self) -> ClientStats {
        let mut stats = ClientStats::default();
        for s in &self.servers {
            let snap = s.counters.snapshot();
            stats.total = stats.total.plus(&snap);
            stats.servers.push((s.name.clone(), snap));
        }
        stats
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

    fn count(&self, server: usize, counter: Counter, n: u64) {
        if let Some(s) = self.servers.get(server) {
            s.counters.add(counter, n);
        }
    }

    fn retrieve(&self, key: &[u8], cmd: Retrieval) -> Result<Option<Item>> {
        self.get_with(key, cmd, |item| item.to_item())
    }

    /// Fetches one key and hands the value, borrowed from the receive
    /// buffer, to `f`. A miss is `Ok(None)`.
    pub fn get_with<T>(
        &self,
        key: impl AsRef<[u8]>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        let key = key.as_ref();
        let server = self.router.primary(key)?;
        let prefix = self.router.prefix();
        self.count(server, Counter::Gets, 1);
        let mut f = Some(f);
        let mut found: Option<T> = None;
        self.exchange(
            server,
            |buf| text::encode_retrieval(buf, cmd, prefix, [key]),
            |name, reply| match reply {
                TextReply::Value { key: got, flags, data, cas } => {
                    let f = match f.take() {
                        Some(f) if is_prefixed(got, prefix, key) => f,
                        _ => return Err(protocol(name, "reply for a key that was not asked for")),
                    };
                    found = Some(f(ItemRef { value: data, flags, cas }));
                    Ok(Flow::More)
                }
                TextReply::End => Ok(Flow::Done(())),
                other => Err(unexpected(name, other)),
            },
        )?;
        self.count(server, if found.is_some() { Counter::Hits } else { Counter::Misses }, 1);
        Ok(found)
    }

    /// Sends one request to one server and reads its reply, on a pooled
    /// connection. `handle` sees each reply in turn; an `Err` it returns for
    /// a complete reply (e.g. `SERVER_ERROR`) leaves the connection usable,
    /// while I/O and protocol failures close it and count against the
    /// server's health.
    pub(crate) fn exchange<T>(
        &self,
        server: usize,
        encode: impl FnOnce(&mut Vec<u8>),
        mut handle: impl FnMut(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> Result<T> {
        let s = self.servers.get(server).ok_or(Error::NoServers)?;
        let mut conn = self.checkout(s)?;
        let deadline = Deadline::after(self.io_timeout);
        let (read0, written0) = (conn.bytes_read, conn.bytes_written);
        encode(&mut conn.out);
        let outcome = self.converse(s, &mut conn, &deadline, &mut handle);
        s.counters.add(Counter::BytesRead, conn.bytes_read - read0);
        s.counters.add(Counter::BytesWritten, conn.bytes_written - written0);
        match outcome {
            Ok(Ok(v)) => {
                s.health.record_success();
                s.put_idle(conn, self.config.pool_size);
                Ok(v)
            }
            Ok(Err(reply_error)) => {
                // A complete reply that is an error: the server is fine.
                s.health.record_success();
                s.put_idle(conn, self.config.pool_size);
                s.counters.incr(Counter::Errors);
                Err(reply_error)
            }
            Err(e) => {
                drop(conn);
                self.server_failed(s, &e);
                Err(e)
            }
        }
    }

    /// The request/reply loop of [`Client::exchange`]. The outer `Result`
    /// is a connection failure; the inner one a reply-level error.
    fn converse<T>(
        &self,
        s: &Server,
        conn: &mut Conn,
        deadline: &Deadline,
        handle: &mut impl FnMut(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> Result<Result<T>> {
        conn.flush(deadline).map_err(|f| io_error(&s.name, f))?;
        loop {
            match text::parse_text_reply(conn.buffered(), &self.limits) {
                Ok(Some((reply, used))) => {
                    let step = handle(&s.name, reply);
                    conn.consume(used);
                    match step {
                        Ok(Flow::More) => {}
                        Ok(Flow::Done(v)) => return Ok(Ok(v)),
                        Err(e @ Error::Server { .. }) => return Ok(Err(e)),
                        Err(e) => return Err(e),
                    }
                }
                Ok(None) => conn.fill(deadline).map_err(|f| io_error(&s.name, f))?,
                Err(e) => {
                    return Err(Error::Protocol { server: s.name.clone(), message: e.to_string() })
                }
            }
        }
    }

    /// An idle connection of `s`, or a new one.
    pub(crate) fn checkout(&self, s: &Server) -> Result<Conn> {
        if let Some(conn) = s.take_idle() {
            return Ok(conn);
        }
        match Conn::connect(&s.spec, self.connect_timeout, self.io_timeout) {
            Ok(conn) => {
                s.counters.incr(Counter::Connects);
                Ok(conn)
            }
            Err(f) => {
                let e = io_error(&s.name, f);
                self.server_failed(s, &e);
                Err(e)
            }
        }
    }

    /// Books a failure caused by the server.
    pub(crate) fn server_failed(&self, s: &Server, e: &Error) {
        s.counters.incr(Counter::Errors);
        if e.is_timeout() {
            s.counters.incr(Counter::Timeouts);
        }
        if e.is_server_failure() {
            s.health.record_failure(
                monotonic_ms(),
                self.config.failure_limit,
                self.config.retry_timeout_ms,
            );
        }
    }

    fn each_server<T>(
        &self,
        encode: impl Fn(&mut Vec<u8>),
        handle: impl Fn(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> PerServer<T> {
        (0..self.servers.len())
            .map(|i| (self.servers[i].name.clone(), self.exchange(i, &encode, &handle)))
            .collect()
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

    pub(crate) fn prefix(&self) -> &[u8] {
        self.router.prefix()
    }
}

/// Whether `got` equals `prefix` followed by `key`.
#[inline]
pub(crate) fn is_prefixed(got: &[u8], prefix: &[u8], key: &[u8]) -> bool {
    got.len() == prefix.len() + key.len() && got.starts_with(prefix) && got.ends_with(key)
}

/// Maps a connection-level failure to an error naming the server.
pub(crate) fn io_error(server: &str, f: IoFailure) -> Error {
    match f {
        IoFailure::Timeout(during) => Error::Timeout { server: server.to_string(), during },
        IoFailure::Closed => Error::Connection {
            server: server.to_string(),
            message: "connection closed by server".to_string(),
        },
        IoFailure::Os(e) => {
            Error::Connection { server: server.to_string(), message: e.to_string() }
        }
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

fn answer_status(a: Result<Answer>) -> Result<Status> {
    match a {
        Ok(Answer::Status(s)) => Ok(s),
        Ok(other) => Err(Error::Protocol {
            server: String::new(),
            message: format!("unexpected answer {other:?}"),
        }),
        Err(e) => Err(e),
    }
}
