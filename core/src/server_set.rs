//! The servers of a pool (the configured ones, then the gutter pool) with
//! the I/O settings they share, their combined liveness, and one-server
//! exchanges: one request and its replies on one pooled connection.
//!
//! Health is booked here, once per exchange: a complete reply (even an
//! error reply) means the server is fine; an I/O or protocol failure counts
//! against it and closes the connection.
//!
//! New connections do what the config asks first (a TLS handshake, a
//! login: a [`Handshake`] per server). A refused login is no health event:
//! the server is not marked dead, and for `retry_timeout_ms` its new
//! connections are not tried (the refusal is returned at once), so wrong
//! credentials cost one attempt per server and period, not one per request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::auth::Login;
use crate::config::{Config, ConfigError};
use crate::conn::{Conn, Deadline, Handshake};
use crate::error::{Error, Result};
use crate::health::{monotonic_ms, Availability};
use crate::histogram::{now_ns, CommandClass};
use crate::invalidation::{Forget, Invalidations};
use crate::protocol::meta::{self, MetaReply};
use crate::protocol::text::{self, TextReply};
use crate::protocol::{Limits, ProtocolError};
use crate::reply::unexpected;
use crate::server::{PooledConn, Server};
use crate::stats::Counter;

/// Why a read skips a server for one key (see [`ServerSet::held`]).
#[derive(Debug)]
pub(crate) enum Held {
    /// A healthy server that must forget the key first: a miss there.
    Miss,
    /// A failing server that must forget the key first: read the key
    /// elsewhere, as after a failure.
    Down(Error),
    /// A dead server being probed, that must forget the key first: the
    /// probe is made (its log is drained first, on the same connection),
    /// but its answer for the key counts as a miss. A probe's drain may
    /// not cover the key (another client may be deleting it there right
    /// then), so the answer could be the value the key is held for.
    Probe,
}

/// Reads and drops what a connection owes for earlier quiet (noreply)
/// batches: at most error replies, then the `MN` closing each batch. Errors
/// among them are counted, never taken for the next request's reply.
/// Ok(true) once nothing is owed, Ok(false) while more bytes are needed.
pub(crate) fn skip_owed(
    conn: &mut Conn,
    owed: &mut u32,
    limits: &Limits,
    counters: &crate::stats::Counters,
) -> std::result::Result<bool, ProtocolError> {
    while *owed > 0 {
        match meta::parse_meta_reply(conn.buffered(), limits)? {
            None => return Ok(false),
            Some((reply, used)) => {
                match reply {
                    MetaReply::NoOp => *owed -= 1,
                    MetaReply::Error | MetaReply::ClientError(_) | MetaReply::ServerError(_) => {
                        counters.incr(Counter::NoreplyErrors)
                    }
                    // NS/NF/EX/HD/EN: outcomes of conditional writes nobody waits for.
                    _ => {}
                }
                conn.consume(used);
            }
        }
    }
    Ok(true)
}

/// A parser of one reply from the front of a buffer (see [`crate::protocol`]).
pub(crate) type ReplyParser<R> =
    fn(&[u8], &Limits) -> std::result::Result<Option<(R, usize)>, ProtocolError>;

/// A connection handed out for one request.
pub(crate) struct Checkout {
    pub conn: PooledConn,
    /// It came from the pool: the server may have closed it meanwhile.
    pub reused: bool,
}

/// What a reply handler tells the request loop.
pub(crate) enum Flow<T> {
    /// Keep reading replies.
    More,
    /// The request is complete.
    Done(T),
}

/// The settings every connection and exchange of a pool uses.
#[derive(Clone, Debug)]
pub(crate) struct IoSettings {
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
    pub limits: Limits,
    /// Written before every key on the wire.
    pub prefix: Vec<u8>,
    pub pool_size: usize,
    /// Keys one fan-out keeps awaiting replies at once; 0: no window.
    pub fanout_window: usize,
    pub failure_limit: u32,
    pub retry_timeout_ms: u64,
    pub flush_on_overflow: bool,
}

impl IoSettings {
    pub(crate) fn of(config: &Config) -> IoSettings {
        IoSettings {
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            io_timeout: Duration::from_millis(config.io_timeout_ms),
            limits: Limits { max_value_len: config.max_value_bytes, max_line_len: 4096 },
            prefix: config.prefix.as_bytes().to_vec(),
            pool_size: config.pool_size,
            fanout_window: config.fanout_window,
            failure_limit: config.failure_limit,
            retry_timeout_ms: config.retry_timeout_ms,
            flush_on_overflow: config.flush_on_overflow,
        }
    }

    /// How long a probe of a dead server may take before another caller
    /// may probe it again.
    fn probe_budget_ms(&self) -> u64 {
        (self.connect_timeout + self.io_timeout).as_millis() as u64 + 100
    }
}

/// The servers of one pool. Indices `0..configured` are the configured
/// servers, the gutter pool follows.
pub(crate) struct ServerSet {
    servers: Vec<Arc<Server>>,
    configured: usize,
    pub io: IoSettings,
    /// Configured (non-gutter) servers currently dead; shared by every
    /// server list a client has had (see [`Server::book_health`]).
    dead: Arc<AtomicUsize>,
    /// What each server's new connections do first; an error if the TLS
    /// files became unreadable after the client was checked.
    handshakes: std::result::Result<Vec<Handshake>, ConfigError>,
    /// Per server: its latest login refusal and until when (monotonic ms)
    /// new connections are not tried.
    refused: Vec<ArcSwapOption<(u64, Error)>>,
}

/// What new connections to each server of `config` (configured, then
/// gutter) do first. Reads the TLS files (once per change of them in this
/// process), so the client's construction reports a bad one.
pub(crate) fn handshakes(config: &Config) -> std::result::Result<Vec<Handshake>, ConfigError> {
    let login = match (&config.username, &config.password) {
        (Some(user), Some(password)) => Some(Login::new(user, password)),
        _ => None,
    };
    Ok(crate::tls::peers(config)?
        .into_iter()
        .map(|tls| Handshake { tls, login: login.clone() })
        .collect())
}

impl ServerSet {
    pub(crate) fn new(config: &Config) -> ServerSet {
        let servers = config
            .servers
            .iter()
            .chain(&config.gutter)
            .cloned()
            .map(|spec| Arc::new(Server::new(spec)))
            .collect::<Vec<_>>();
        let refused = servers.iter().map(|_| ArcSwapOption::empty()).collect();
        ServerSet {
            handshakes: handshakes(config),
            refused,
            servers,
            configured: config.servers.len(),
            io: IoSettings::of(config),
            dead: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A set of existing servers (`configured` of them, then the gutter
    /// pool) for a new server list of the pool whose set is `before`:
    /// `config` is the pool's config with that list. The count of dead
    /// servers is shared with `before`, and a server kept from it keeps its
    /// latest login refusal.
    pub(crate) fn with_servers(
        servers: Vec<Arc<Server>>,
        configured: usize,
        before: &ServerSet,
        config: &Config,
    ) -> ServerSet {
        let refused = servers
            .iter()
            .map(|s| {
                let earlier = before.servers.iter().position(|b| Arc::ptr_eq(b, s));
                let latest =
                    earlier.and_then(|i| before.refused.get(i)).and_then(|r| r.load_full());
                ArcSwapOption::new(latest)
            })
            .collect();
        let set = ServerSet {
            handshakes: handshakes(config),
            refused,
            servers,
            configured,
            io: before.io.clone(),
            dead: before.dead.clone(),
        };
        for s in set.configured() {
            s.book_health(&set.dead);
        }
        set
    }

    /// Takes server `s` out of the pool (see [`Server::retire`]).
    pub(crate) fn retire(&self, server: &Server) {
        server.retire(&self.dead);
    }

    /// Every server, configured then gutter.
    pub(crate) fn all(&self) -> &[Arc<Server>] {
        &self.servers
    }

    /// The configured servers (without the gutter pool).
    pub(crate) fn configured(&self) -> &[Arc<Server>] {
        &self.servers[..self.configured]
    }

    #[inline]
    pub(crate) fn get(&self, s: usize) -> Option<&Server> {
        self.servers.get(s).map(|s| &**s)
    }

    /// The name of server `s`, for errors.
    pub(crate) fn name(&self, s: usize) -> &str {
        self.get(s).map_or("", |s| s.name.as_str())
    }

    /// Adds one to a counter of server `s`.
    #[inline]
    pub(crate) fn count(&self, s: usize, counter: Counter) {
        if let Some(server) = self.get(s) {
            server.counters.incr(counter);
        }
    }

    /// Calls `f` with `key` as it is on the wire (prefix included), built
    /// on the stack; `None` when it is longer than a key can be.
    fn with_wire_key<T>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let mut wire = [0u8; crate::key::MAX_KEY_LEN];
        let prefix = &self.io.prefix;
        let buf = wire.get_mut(..prefix.len() + key.len())?;
        buf[..prefix.len()].copy_from_slice(prefix);
        buf[prefix.len()..].copy_from_slice(key);
        Some(f(buf))
    }

    /// Queues `key` to be deleted on server `s` before it serves again
    /// (the log keeps keys as on the wire, prefix included, so any client
    /// of the pool can apply them).
    pub(crate) fn forget_later(&self, s: usize, key: &[u8]) {
        let Some(server) = self.get(s) else { return };
        let queued =
            self.with_wire_key(key, |wire| server.invalidations.add(wire)).unwrap_or(false);
        server.counters.incr(if queued {
            Counter::Invalidations
        } else {
            Counter::InvalidationsDropped
        });
    }

    /// Claims what server `s` must forget before serving a request whose
    /// I/O must end by `deadline`. `None`: nothing to forget now.
    pub(crate) fn take_forget(&self, s: usize, deadline: &Deadline) -> Option<Forget> {
        let server = self.get(s)?;
        let drain_by = monotonic_ms() + deadline.remaining().as_millis() as u64;
        server.invalidations.take(drain_by, self.io.flush_on_overflow)
    }

    /// How long a key deleted from a recovered server lingers in its log
    /// before its second delete: longer than a timed-out write can take to
    /// reach the server after it resumes (memcached applies a dead
    /// connection's buffered commands as soon as it runs again, on
    /// whichever of its threads holds that connection).
    pub(crate) fn linger_ms(&self) -> u64 {
        (2 * self.io.io_timeout.as_millis() as u64).max(1000)
    }

    /// Whether server `s` must not serve `key` yet: the key is in its
    /// invalidation log (its delete is queued or in flight, or it lingers
    /// before its second delete). A healthy server's answer for it counts
    /// as a miss there ([`Held::Miss`]); a server that is failing or dead
    /// counts as down for it ([`Held::Down`]: the key's other copies are
    /// read, as if it had failed, without charging it a failure); a dead
    /// one is being probed and its answer counts as a miss
    /// ([`Held::Probe`]). One atomic load while the log holds nothing for
    /// the server. `others`: whether the key has another copy to read;
    /// without one a failing server is asked as usual (its log is drained
    /// ahead of the request on the same connection), rather than the read
    /// failing untried.
    #[inline]
    pub(crate) fn held(&self, s: usize, key: &[u8], others: bool) -> Option<Held> {
        if !self.holds(s, key) {
            return None;
        }
        let server = self.get(s)?;
        if !server.health.is_alive() {
            return Some(Held::Probe);
        }
        if server.health.failures() == 0 {
            if !others && server.counters.snapshot().get(Counter::Connects) == 0 {
                // This client never reached the server (the log is shared
                // by every client of the process): no evidence it is up,
                // so it is asked as usual rather than read as a miss.
                return None;
            }
            self.count(s, Counter::Gets);
            self.count(s, Counter::Misses);
            Some(Held::Miss)
        } else if !others {
            None
        } else {
            Some(Held::Down(Error::ServerDown { server: server.name.clone() }))
        }
    }

    /// Whether `key` is in server `s`'s invalidation log (a write of it
    /// missed the server since it last drained). One atomic load while the
    /// log holds nothing for the server.
    #[inline]
    pub(crate) fn holds(&self, s: usize, key: &[u8]) -> bool {
        self.ask_log(s, key, Invalidations::holds)
    }

    /// Whether a write of `key` missed server `s` and `s` has not been used
    /// since (the key is queued in its log, no drain has claimed it yet).
    pub(crate) fn missed_since_used(&self, s: usize, key: &[u8]) -> bool {
        self.ask_log(s, key, Invalidations::queued)
    }

    /// `ask` of server `s`'s invalidation log about `key` as on the wire;
    /// false without a call while the log holds nothing for the server.
    #[inline]
    fn ask_log(&self, s: usize, key: &[u8], ask: fn(&Invalidations, &[u8]) -> bool) -> bool {
        let Some(server) = self.get(s) else { return false };
        server.invalidations.is_pending()
            && self.with_wire_key(key, |wire| ask(&server.invalidations, wire)).unwrap_or(false)
    }

    // ---- liveness ----------------------------------------------------------

    /// Servers known dead: this set's own, plus those in the area shared
    /// with sibling processes (where another process may have found them
    /// dead).
    #[inline]
    pub(crate) fn dead_count(&self) -> u64 {
        let shared = crate::shared_health::counters().map_or(0, |(dead, _)| dead);
        self.dead.load(Ordering::Acquire) as u64 + shared
    }

    /// Whether server `s` is alive (no side effects).
    #[inline]
    pub(crate) fn is_alive(&self, s: usize) -> bool {
        self.get(s).is_some_and(|x| x.health.is_alive())
    }

    /// Whether server `s` is dead and due for a probe (no side effects).
    #[inline]
    pub(crate) fn is_due(&self, s: usize, now: u64) -> bool {
        self.get(s).is_some_and(|x| x.health.is_due(now, self.io.probe_budget_ms()))
    }

    /// Whether server `s` may be contacted at `now`; a dead server whose
    /// retry time has come is claimed for one probe (then `Probe`).
    #[inline]
    pub(crate) fn availability(&self, s: usize, now: u64) -> Availability {
        match self.get(s) {
            Some(server) if server.health.is_alive() => Availability::Up,
            Some(server) => server.health.check(now, self.io.probe_budget_ms()),
            None => Availability::Down,
        }
    }

    /// Admits a request to server `s` outside routing (stats, version,
    /// flush): refused quickly while it is dead.
    pub(crate) fn admit(&self, s: usize) -> Result<()> {
        match self.availability(s, monotonic_ms()) {
            Availability::Up | Availability::Probe => Ok(()),
            Availability::Down => Err(Error::ServerDown { server: self.name(s).to_string() }),
        }
    }

    /// Books a server's death or recovery where its health lives.
    fn note_transition(&self, s: usize, died: bool) {
        let Some(server) = self.get(s) else { return };
        if server.health.is_shared() {
            crate::shared_health::note_transition(died);
            return;
        }
        if s < self.configured {
            server.book_health(&self.dead);
        }
    }

    /// Books a successful exchange with server `s`.
    #[inline]
    pub(crate) fn server_ok(&self, s: usize) {
        let Some(server) = self.get(s) else { return };
        if server.health.record_success() {
            self.note_transition(s, false);
        }
    }

    /// Books a failure of server `s`.
    pub(crate) fn server_failed(&self, s: usize, e: &Error) {
        let Some(server) = self.get(s) else { return };
        server.counters.count_error(e);
        if let Error::AuthFailed { .. } = e {
            self.login_refused(s, e);
        }
        if e.is_server_failure() {
            let died = server.health.record_failure(
                monotonic_ms(),
                self.io.failure_limit,
                self.io.retry_timeout_ms,
            );
            if died {
                self.note_transition(s, true);
                server.close_idle();
            }
        }
    }

    // ---- one-server exchanges ----------------------------------------------

    /// Sends one request to server `s` (already admitted) and reads its reply
    /// on one connection, waiting in `recv`. `handle` sees each reply in turn;
    /// an `Err(Error::Server)` it returns for a complete reply leaves the
    /// connection usable, while I/O and protocol failures close it and count
    /// against the server's health. An `idempotent` request whose pooled
    /// connection turns out closed by the server before any reply byte
    /// arrived is sent once more on a fresh connection; any other request is
    /// only sent on a pooled connection after checking that it is open.
    pub(crate) fn exchange<T>(
        &self,
        server: usize,
        idempotent: bool,
        encode: impl Fn(&mut Vec<u8>),
        handle: impl FnMut(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> Result<T> {
        self.exchange_timed(None, server, idempotent, encode, handle)
    }

    /// [`ServerSet::exchange`], timed as a `class` request if given.
    fn exchange_timed<T>(
        &self,
        class: Option<CommandClass>,
        server: usize,
        idempotent: bool,
        encode: impl Fn(&mut Vec<u8>),
        mut handle: impl FnMut(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> Result<T> {
        self.on_connection(class, server, idempotent, encode, |name, conn, deadline| {
            self.converse(name, conn, deadline, &mut handle)
        })
    }

    /// [`ServerSet::exchange`] of a request of `class`: the time it took,
    /// from taking a connection to the last reply byte (or the failure), is
    /// recorded in server `s`'s latency histogram of that class.
    pub(crate) fn exchange_as<T>(
        &self,
        class: CommandClass,
        server: usize,
        idempotent: bool,
        encode: impl Fn(&mut Vec<u8>),
        handle: impl FnMut(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> Result<T> {
        self.exchange_timed(Some(class), server, idempotent, encode, handle)
    }

    /// [`ServerSet::exchange_meta`] of a request of `class`, its time
    /// recorded as in [`ServerSet::exchange_as`].
    pub(crate) fn exchange_meta_as(
        &self,
        class: CommandClass,
        server: usize,
        idempotent: bool,
        encode: impl Fn(&mut Vec<u8>),
        handle: impl FnOnce(&str, MetaReply<'_>) -> Result<()>,
    ) -> Result<()> {
        self.exchange_meta_timed(Some(class), server, idempotent, encode, handle)
    }

    /// Like [`ServerSet::exchange`] for one meta-protocol request with one
    /// reply.
    pub(crate) fn exchange_meta(
        &self,
        server: usize,
        idempotent: bool,
        encode: impl Fn(&mut Vec<u8>),
        handle: impl FnOnce(&str, MetaReply<'_>) -> Result<()>,
    ) -> Result<()> {
        self.exchange_meta_timed(None, server, idempotent, encode, handle)
    }

    /// [`ServerSet::exchange_meta`], timed as a `class` request if given.
    fn exchange_meta_timed(
        &self,
        class: Option<CommandClass>,
        server: usize,
        idempotent: bool,
        encode: impl Fn(&mut Vec<u8>),
        handle: impl FnOnce(&str, MetaReply<'_>) -> Result<()>,
    ) -> Result<()> {
        let limits = self.io.limits;
        let mut handle = Some(handle);
        self.on_connection(class, server, idempotent, encode, |name, conn, deadline| {
            conn.flush(deadline).map_err(|f| Error::io(name, f))?;
            loop {
                match meta::parse_meta_reply(conn.buffered(), &limits) {
                    Ok(Some((MetaReply::Oversized { len, .. }, used))) => {
                        conn.consume(used);
                        conn.skip(len + 2);
                        return Ok(Err(Error::TooLarge {
                            server: name.to_string(),
                            message: format!(
                                "value of {len} bytes is over max_value_bytes {}",
                                limits.max_value_len
                            ),
                        }));
                    }
                    Ok(Some((reply, used))) => {
                        let r = match handle.take() {
                            Some(h) => h(name, reply),
                            None => Ok(()),
                        };
                        conn.consume(used);
                        return match r {
                            Ok(()) => Ok(Ok(())),
                            Err(e @ Error::Server { .. }) => Ok(Err(e)),
                            Err(e) => Err(e),
                        };
                    }
                    Ok(None) => conn.fill(deadline).map_err(|f| Error::io(name, f))?,
                    Err(e) => return Err(Error::parse(name, &e)),
                }
            }
        })
    }

    /// Like [`ServerSet::exchange`] for a reply parsed by `parse` (replies
    /// outside the text protocol's grammar, such as `lru_crawler metadump`).
    pub(crate) fn exchange_parsed<R, T>(
        &self,
        server: usize,
        encode: impl Fn(&mut Vec<u8>),
        parse: ReplyParser<R>,
        mut handle: impl FnMut(&str, R) -> Result<Flow<T>>,
    ) -> Result<T> {
        let limits = self.io.limits;
        self.on_connection(None, server, true, encode, |name, conn, deadline| {
            conn.flush(deadline).map_err(|f| Error::io(name, f))?;
            loop {
                match parse(conn.buffered(), &limits) {
                    Ok(Some((reply, used))) => {
                        conn.consume(used);
                        match handle(name, reply) {
                            Ok(Flow::More) => {}
                            Ok(Flow::Done(v)) => return Ok(Ok(v)),
                            Err(e @ Error::Server { .. }) => return Ok(Err(e)),
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(None) => conn.fill(deadline).map_err(|f| Error::io(name, f))?,
                    Err(e) => return Err(Error::parse(name, &e)),
                }
            }
        })
    }

    /// One request on a checked-out connection of server `s`: `talk` sends
    /// what `encode` wrote and reads the reply. Its outer `Result` is a
    /// connection failure (the connection is closed and the failure counts
    /// against the server), the inner one a reply-level error (the
    /// connection goes back to the pool; a skipped oversized value is one).
    /// One clock reading, taken here, starts the I/O deadline on a pooled
    /// connection and the request's timing, which saves a clock read per
    /// request; after a connect, or on a retry, the deadline starts anew.
    /// With a `class`, the request's time from then to its end (or failure)
    /// is recorded in the server's latency histogram of that class.
    fn on_connection<T>(
        &self,
        class: Option<CommandClass>,
        server: usize,
        idempotent: bool,
        encode: impl Fn(&mut Vec<u8>),
        talk: impl FnMut(&str, &mut Conn, &Deadline) -> Result<Result<T>>,
    ) -> Result<T> {
        let started = now_ns();
        let s = self.get(server).ok_or(Error::NoServers)?;
        let r = self.talk_on(s, started, server, idempotent, encode, talk);
        if let Some(class) = class {
            s.latencies.record_since(class, started);
        }
        r
    }

    /// [`ServerSet::on_connection`] on server `s` (number `server`).
    fn talk_on<T>(
        &self,
        s: &Server,
        started: u64,
        server: usize,
        idempotent: bool,
        encode: impl Fn(&mut Vec<u8>),
        mut talk: impl FnMut(&str, &mut Conn, &Deadline) -> Result<Result<T>>,
    ) -> Result<T> {
        let mut fresh = false;
        loop {
            let Checkout { mut conn, reused } = self.checkout(server, !idempotent, fresh)?;
            let (read0, written0) = (conn.bytes_read, conn.bytes_written);
            encode(&mut conn.out);
            let deadline = if reused && !fresh {
                Deadline::from(started, self.io.io_timeout)
            } else {
                Deadline::after(self.io.io_timeout)
            };
            let mut owed = std::mem::take(&mut conn.owed);
            let outcome = self
                .skip_owed_replies(&s.name, &mut conn, &mut owed, &deadline, &s.counters)
                .and_then(|()| talk(&s.name, &mut conn, &deadline));
            s.counters.add(Counter::BytesRead, conn.bytes_read - read0);
            s.counters.add(Counter::BytesWritten, conn.bytes_written - written0);
            match outcome {
                Ok(reply) => {
                    // A complete reply, even an error one: the server is fine.
                    self.server_ok(server);
                    self.return_conn(server, conn);
                    if let Err(e) = &reply {
                        s.counters.count_error(e);
                    }
                    return reply;
                }
                Err(Error::Connection { .. })
                    if reused && idempotent && !fresh && conn.bytes_read == read0 =>
                {
                    // The server closed the pooled connection before this
                    // request (a restart, its idle timeout): its other idle
                    // connections are as stale; try once on a fresh one.
                    s.counters.incr(Counter::Reconnects);
                    s.close_idle();
                    fresh = true;
                }
                Err(e) => {
                    drop(conn);
                    self.server_failed(server, &e);
                    return Err(e);
                }
            }
        }
    }

    /// Sends the request waiting in `conn.out`, then reads past the `owed`
    /// replies of earlier quiet batches on the connection.
    fn skip_owed_replies(
        &self,
        name: &str,
        conn: &mut Conn,
        owed: &mut u32,
        deadline: &Deadline,
        counters: &crate::stats::Counters,
    ) -> Result<()> {
        if *owed == 0 {
            return Ok(());
        }
        conn.flush(deadline).map_err(|f| Error::io(name, f))?;
        while !skip_owed(conn, owed, &self.io.limits, counters)
            .map_err(|e| Error::parse(name, &e))?
        {
            conn.fill(deadline).map_err(|f| Error::io(name, f))?;
        }
        Ok(())
    }

    /// The request/reply loop of [`ServerSet::exchange`]. The outer `Result`
    /// is a connection failure; the inner one a reply-level error. A value
    /// over `max_value_bytes` is skipped unread and handed to `handle` as
    /// `TextReply::Oversized`.
    fn converse<T>(
        &self,
        name: &str,
        conn: &mut Conn,
        deadline: &Deadline,
        handle: &mut impl FnMut(&str, TextReply<'_>) -> Result<Flow<T>>,
    ) -> Result<Result<T>> {
        conn.flush(deadline).map_err(|f| Error::io(name, f))?;
        loop {
            match text::parse_text_reply(conn.buffered(), &self.io.limits) {
                Ok(Some((reply, used))) => {
                    let skip = match reply {
                        TextReply::Oversized { len, .. } => len + 2,
                        _ => 0,
                    };
                    let step = handle(name, reply);
                    conn.consume(used);
                    conn.skip(skip);
                    match step {
                        Ok(Flow::More) => {}
                        Ok(Flow::Done(v)) => return Ok(Ok(v)),
                        Err(e @ (Error::Server { .. } | Error::TooLarge { .. })) => {
                            return Ok(Err(e))
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(None) => conn.fill(deadline).map_err(|f| Error::io(name, f))?,
                Err(e) => return Err(Error::parse(name, &e)),
            }
        }
    }

    /// A connection of server `s` with the server's pending invalidations
    /// applied: an idle one (checked to be still open when `check_open`),
    /// or, when there is none or `fresh` asks for it, a new one connected
    /// within the connect timeout.
    fn checkout(&self, server: usize, check_open: bool, fresh: bool) -> Result<Checkout> {
        let mut checkout = self.checkout_bare(server, fresh)?;
        if check_open && checkout.reused && checkout.conn.peer_closed() {
            if let Some(s) = self.get(server) {
                s.counters.incr(Counter::Reconnects);
                s.close_idle();
            }
            checkout = self.checkout_bare(server, true)?;
        }
        self.before_first_use(server, &mut checkout.conn)?;
        Ok(checkout)
    }

    /// An idle connection of server `s` (unless `fresh`), or a new one.
    fn checkout_bare(&self, server: usize, fresh: bool) -> Result<Checkout> {
        let s = self.get(server).ok_or(Error::NoServers)?;
        match if fresh { None } else { s.take_idle() } {
            Some(conn) => Ok(Checkout { conn, reused: true }),
            None => Ok(Checkout { conn: self.connect(server)?, reused: false }),
        }
    }

    /// An idle connection of `s`; with `check_open`, one the server has not
    /// closed meanwhile (stale ones are dropped, and counted).
    fn take_open_idle(&self, s: &Server, check_open: bool) -> Option<PooledConn> {
        while let Some(mut conn) = s.take_idle() {
            if !check_open || !conn.peer_closed() {
                return Some(conn);
            }
            s.counters.incr(Counter::Reconnects);
        }
        None
    }

    /// A new connection of server `s`, connected within the connect
    /// timeout. A failure counts against the server, and has its name
    /// resolved again in the background.
    fn connect(&self, server: usize) -> Result<PooledConn> {
        let s = self.get(server).ok_or(Error::NoServers)?;
        let handshake = self.handshake(server)?;
        let connected = s
            .addresses
            .target(self.io.connect_timeout)
            .and_then(|t| {
                Conn::connect_with(&t, handshake, self.io.connect_timeout, self.io.io_timeout)
            })
            .map(Box::new);
        match connected {
            Ok(conn) => {
                self.count_connect(server, &conn);
                Ok(conn)
            }
            Err(f) => {
                s.addresses.refresh();
                let e = Error::io(&s.name, f);
                self.server_failed(server, &e);
                Err(e)
            }
        }
    }

    /// Like [`ServerSet::checkout`] for a fan-out: a new connection is only
    /// begun (the fan-out completes it in its poll loop), and pending
    /// invalidations are left to the fan-out, which sends them ahead of its
    /// batch.
    pub(crate) fn checkout_for_fanout(&self, server: usize, check_open: bool) -> Result<Checkout> {
        let s = self.get(server).ok_or(Error::NoServers)?;
        if let Some(conn) = self.take_open_idle(s, check_open) {
            return Ok(Checkout { conn, reused: true });
        }
        Ok(Checkout { conn: self.connect_for_fanout(server)?, reused: false })
    }

    /// A connection of server `s` being opened without waiting.
    pub(crate) fn connect_for_fanout(&self, server: usize) -> Result<PooledConn> {
        let s = self.get(server).ok_or(Error::NoServers)?;
        let handshake = self.handshake(server)?;
        let begun = s
            .addresses
            .target(self.io.connect_timeout)
            .and_then(|t| Conn::begin_connect_with(&t, handshake, self.io.io_timeout))
            .map(Box::new);
        match begun {
            Ok(conn) => {
                if !conn.is_connecting() {
                    self.count_connect(server, &conn);
                }
                Ok(conn)
            }
            Err(f) => {
                s.addresses.refresh();
                let e = Error::io(&s.name, f);
                self.server_failed(server, &e);
                Err(e)
            }
        }
    }

    /// Counts a connection of server `s` that has just been opened (and
    /// how its TLS session began).
    pub(crate) fn count_connect(&self, server: usize, conn: &Conn) {
        let Some(s) = self.get(server) else { return };
        s.counters.incr(Counter::Connects);
        match conn.is_resumed() {
            Some(true) => s.counters.incr(Counter::TlsResumptions),
            Some(false) => s.counters.incr(Counter::TlsHandshakes),
            None => {}
        }
    }

    /// What a new connection to server `s` does first, unless its login was
    /// refused within `retry_timeout_ms`: then that refusal, at once.
    fn handshake(&self, server: usize) -> Result<&Handshake> {
        if let Some(refused) = self.refused.get(server).and_then(|r| r.load_full()) {
            if monotonic_ms() < refused.0 {
                return Err(refused.1.clone());
            }
        }
        match &self.handshakes {
            Ok(all) => all.get(server).ok_or(Error::NoServers),
            Err(e) => Err(Error::Config(e.clone())),
        }
    }

    /// Server `s` refused the login: its new connections wait
    /// `retry_timeout_ms` before the next attempt.
    fn login_refused(&self, server: usize, e: &Error) {
        if let Some(slot) = self.refused.get(server) {
            let until = monotonic_ms() + self.io.retry_timeout_ms;
            slot.store(Some(Arc::new((until, e.clone()))));
        }
    }

    /// What server `s` must forget ahead of a fan-out batch. A flush after
    /// an overflowed log needs a look at the server first (did it restart?),
    /// so it is done here, on a connection of its own, before the batch.
    pub(crate) fn forget_for_fanout(
        &self,
        server: usize,
        deadline: &Deadline,
    ) -> Result<Option<Forget>> {
        match self.take_forget(server, deadline) {
            Some(forget) if forget.flush => {
                let Checkout { mut conn, .. } = self.checkout_bare(server, false)?;
                let mut owed = std::mem::take(&mut conn.owed);
                let result = self.forget_on(server, &mut conn, &mut owed, &forget, deadline);
                let s = self.get(server).ok_or(Error::NoServers)?;
                match result {
                    Ok(()) => {
                        conn.owed = owed;
                        self.return_conn(server, conn);
                        s.invalidations.done(forget, self.linger_ms());
                        Ok(None)
                    }
                    Err(e) => {
                        s.invalidations.restore(forget);
                        self.server_failed(server, &e);
                        Err(e)
                    }
                }
            }
            other => Ok(other),
        }
    }

    /// Applies server `s`'s pending invalidations on `conn` before anything
    /// else is sent on it: a server never serves a key it must forget.
    fn before_first_use(&self, server: usize, conn: &mut Conn) -> Result<()> {
        let Some(s) = self.get(server) else { return Ok(()) };
        if !s.must_forget() {
            return Ok(());
        }
        let deadline = Deadline::after(self.io.io_timeout);
        let Some(forget) = self.take_forget(server, &deadline) else { return Ok(()) };
        // The request already encoded waits until the invalidations are done
        // (behind a new connection's login, which must go first).
        let request = conn.out.split_off(conn.queued_login_len());
        let mut owed = std::mem::take(&mut conn.owed);
        let result = self.forget_on(server, conn, &mut owed, &forget, &deadline);
        conn.out = request;
        match result {
            Ok(()) => {
                s.invalidations.done(forget, self.linger_ms());
                Ok(())
            }
            Err(e) => {
                s.invalidations.restore(forget);
                self.server_failed(server, &e);
                Err(e)
            }
        }
    }

    /// Sends the deletes (and, for an overflowed log, the flush) of
    /// `forget` on `conn` and reads the replies.
    fn forget_on(
        &self,
        server: usize,
        conn: &mut Conn,
        owed: &mut u32,
        forget: &Forget,
        deadline: &Deadline,
    ) -> Result<()> {
        let Some(s) = self.get(server) else { return Ok(()) };
        let name = &s.name;
        if forget.flush {
            self.skip_owed_replies(name, conn, owed, deadline, &s.counters)?;
            self.flush_after_overflow(s, conn, deadline)?;
        }
        for chunk in forget.keys.chunks(500) {
            for key in chunk {
                text::encode_delete(&mut conn.out, b"", key, false);
            }
            self.skip_owed_replies(name, conn, owed, deadline, &s.counters)?;
            let mut left = chunk.len();
            self.converse(name, conn, deadline, &mut |name: &str, reply| {
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

    /// The log overflowed for server `s` while it was away: keys it must
    /// forget were dropped, so it is flushed — unless it restarted after
    /// the overflow (its `uptime` says so), which emptied it anyway. A
    /// server that refuses `flush_all` (`-F`) is counted (`flush_refused`)
    /// and not asked again.
    fn flush_after_overflow(&self, s: &Server, conn: &mut Conn, deadline: &Deadline) -> Result<()> {
        let Some(overflowed_at) = s.invalidations.overflowed_at() else { return Ok(()) };
        let name = &s.name;
        text::encode_stats(&mut conn.out, None);
        let mut uptime_s = None;
        self.converse(name, conn, deadline, &mut |name: &str, reply| match reply {
            TextReply::Stat { name: b"uptime", value } => {
                uptime_s = std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok());
                Ok(Flow::More)
            }
            TextReply::Stat { .. } => Ok(Flow::More),
            TextReply::End => Ok(Flow::Done(())),
            other => Err(unexpected(name, other)),
        })??;
        // memcached reports its uptime about 2 s ahead (its clock starts 2 s
        // before the process): a restart within 2 s of the overflow is taken
        // for none, and the server flushed — the safe side.
        let since_overflow_s = monotonic_ms().saturating_sub(overflowed_at) / 1000;
        if uptime_s.is_some_and(|up| up < since_overflow_s) {
            return Ok(());
        }
        text::encode_flush_all(&mut conn.out, 0, false);
        match self.converse(name, conn, deadline, &mut |name: &str, reply| match reply {
            TextReply::Ok => Ok(Flow::Done(())),
            other => Err(unexpected(name, other)),
        })? {
            Ok(()) => Ok(()),
            Err(Error::Server { .. }) => {
                s.counters.incr(Counter::FlushRefused);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Gives a connection back to server `s`'s pool.
    pub(crate) fn return_conn(&self, server: usize, conn: PooledConn) {
        if let Some(s) = self.get(server) {
            s.put_idle(conn, self.io.pool_size);
        }
    }
}
