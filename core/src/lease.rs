//! Leases: when a value is missing or stale, exactly one caller of the
//! whole pool (any process, any language) computes it; the others wait for
//! it, or are served the stale value meanwhile. Built on memcached 1.6's
//! meta protocol, so the server decides who wins:
//!
//! * `mg <key> v c f t N<lease_ttl> [R<seconds>]` on the key's lease copy
//!   (its first live copy, as reads order them). On a miss the server
//!   creates an empty placeholder that lives `lease_ttl` seconds and answers
//!   the first caller `W` (won: compute it) and every later one `Z` (a win
//!   was already sent: wait). A placeholder is an empty value with flags 0
//!   and `W` or `Z` but no `X`; a real empty value has neither flag (except
//!   in its early-recache window, where it is taken for a placeholder and
//!   its callers wait for the recomputed value).
//! * After `md <key> I T<stale_ttl>` (see `invalidate`) the item is stale
//!   (`X`): the first caller gets it with `W` and recomputes, the others get
//!   it with `Z` and serve it at once.
//! * With `R<seconds>` one caller wins (`W`) once the remaining TTL drops
//!   below that many seconds; the others keep reading the value (`Z`).
//! * The winner fills the lease with `ms ... C<cas>`, the lease's CAS
//!   token, so a newer write (or a delete) that came meanwhile is never
//!   overwritten; then the key's other copies get the value. A winner whose
//!   compute fails gives the lease back at once (`md C<cas>`: a placeholder
//!   is deleted, a stale or recached item marked stale again), so another
//!   caller wins without waiting. A winner that dies leaves a placeholder
//!   that expires after `lease_ttl`, and the next caller wins then.
//!
//! Waiting callers sleep between polls, from 2 ms doubling up to a few ms
//! (never more than a small part of `lease_ttl`); a process that waited for
//! the key before sleeps through most of that last wait and then polls in
//! short steps while the value is due (see `wait_times`), and callers of
//! one process share one wait (see `flight`). No caller waits more than
//! twice `lease_ttl` plus a second: past that it computes without a lease
//! (its value is then returned, not stored).

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::{random_below, Cluster, Placement};
use crate::conn::{poll_many, Deadline};
use crate::error::{Error, Result};
use crate::fanout;
use crate::flight::{Flights, Followed, Join, Ticket};
use crate::health::monotonic_ms;
use crate::job::{Answer, Job, JobKind};
use crate::protocol::meta::{self, MetaFlag, MetaFlags, MetaReply};
use crate::protocol::text::Storage;
use crate::reply::{meta_unexpected, Item, Status};
use crate::router::{Copies, Route};
use crate::stats::Counter;
use crate::wait_times::Pauses;

/// The longest TTL memcached takes as relative (30 days).
const MAX_RELATIVE_TTL: u32 = 30 * 24 * 3600;

/// How one `get_or_lease` (or `get_or_compute`) behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseOptions {
    /// How long a lease lasts when its winner never fills it (rounded up to
    /// whole seconds for memcached). Default: the client's `lease_ttl`.
    pub lease_ttl: Duration,
    /// Early recache: once the value's remaining TTL is below this many
    /// seconds, one caller recomputes it while the others keep reading it.
    /// 0: none.
    pub recache_s: u32,
    /// Stale-while-revalidate after expiry: values are stored this many
    /// seconds longer than their TTL, and in that extra time one caller
    /// recomputes while the others are served the old value (as stale).
    /// 0: none.
    pub stale_ttl: u32,
}

impl LeaseOptions {
    /// The options of `config`: its `lease_ttl`, no early recache, no stale
    /// time.
    pub fn of(config: &crate::Config) -> LeaseOptions {
        LeaseOptions {
            lease_ttl: Duration::from_secs(u64::from(config.lease_ttl)),
            recache_s: 0,
            stale_ttl: 0,
        }
    }

    /// The placeholder's TTL in whole seconds (at least 1).
    fn lease_secs(&self) -> u32 {
        let ms = self.lease_ttl.as_millis().max(1);
        (ms.div_ceil(1000)).min(u128::from(MAX_RELATIVE_TTL)) as u32
    }

    /// The placeholder's TTL as sent: a second more than the lease, since
    /// memcached's clock ticks in whole seconds and a TTL of N seconds
    /// ends N-1 to N seconds later; the lease lasts at least `lease_ttl`.
    fn placeholder_secs(&self) -> u32 {
        self.lease_secs().saturating_add(1).min(MAX_RELATIVE_TTL)
    }

    fn lease_ms(&self) -> u64 {
        u64::from(self.lease_secs()) * 1000
    }

    /// The `R` threshold: early recache plus the stale time.
    fn recache_below(&self) -> u32 {
        self.recache_s.saturating_add(self.stale_ttl)
    }

    /// The longest a caller waits for others' leases before it computes
    /// without one.
    fn wait_budget_ms(&self) -> u64 {
        2 * self.lease_ms() + 1000
    }

    /// The longest sleep between two polls of a waiting caller.
    fn poll_cap(&self) -> Duration {
        Duration::from_millis((self.lease_ms() / 200).clamp(4, 15))
    }
}

/// What a lease was given for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseKind {
    /// The key was missing: the server holds a placeholder for it.
    Missing,
    /// The value was invalidated (stale): it is still served to others.
    Stale,
    /// The value is in its early-recache (or stale-time) window: it is
    /// still served to others.
    Recache,
    /// No lease could be had (a server that does not create placeholders,
    /// or a wait that outlasted its budget): the computed value is
    /// returned but not stored.
    Unleased,
}

/// The right, and the duty, to compute one key's value: fill it with
/// [`crate::Client::lease_fill`], or give it back with
/// [`crate::Client::lease_release`] if computing failed. A token that is
/// dropped unfilled ends its lease only when it expires (`lease_ttl`).
#[derive(Debug)]
pub struct LeaseToken {
    pub(crate) key: Vec<u8>,
    pub(crate) server_key: Option<Vec<u8>>,
    pub(crate) server: usize,
    pub(crate) rerouted: bool,
    pub(crate) cas: u64,
    pub(crate) kind: LeaseKind,
    pub(crate) previous: Option<Item>,
    pub(crate) stale_ttl: u32,
    pub(crate) flights: Arc<Flights>,
    pub(crate) ticket: Option<Ticket>,
}

impl LeaseToken {
    /// The key the lease is for.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// What the lease was given for.
    pub fn kind(&self) -> LeaseKind {
        self.kind
    }

    /// The value the key had (stale, or about to expire), which the caller
    /// may serve if it cannot compute a new one; `None` for a missing key.
    pub fn previous(&self) -> Option<&Item> {
        self.previous.as_ref()
    }

    /// The lease's CAS token on its server (0 without a lease).
    pub fn cas(&self) -> u64 {
        self.cas
    }

    /// The placement of the key.
    pub(crate) fn placement(&self) -> Placement<'_> {
        match &self.server_key {
            Some(sk) => Placement::ServerKey(sk),
            None => Placement::OwnKey,
        }
    }
}

/// What [`crate::Client::get_or_lease`] found.
#[derive(Debug)]
pub enum Leased {
    /// The value: fresh, or fresh enough (another caller is recomputing it
    /// early).
    Hit(Item),
    /// A stale value (invalidated, or in its stale time after expiry),
    /// served while another caller recomputes it.
    Stale(Item),
    /// This caller must compute the value and fill the lease (or release
    /// it).
    Compute(LeaseToken),
}

/// What [`crate::Client::get_or_compute`] returns.
#[derive(Debug)]
pub enum Fetched<T> {
    /// The cached value (fresh, or fresh enough).
    Cached(Item),
    /// A stale value, served while another caller recomputes it.
    Stale(Item),
    /// This caller computed the value: what `compute` returned.
    Computed(T),
}

/// Why [`crate::Client::get_or_compute`] failed.
#[derive(Debug)]
pub enum ComputeError<E> {
    /// The cache failed (before anything was computed).
    Cache(Error),
    /// `compute` failed; its lease was given back.
    Compute(E),
}

impl<E: std::fmt::Display> std::fmt::Display for ComputeError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComputeError::Cache(e) => e.fmt(f),
            ComputeError::Compute(e) => write!(f, "compute failed: {e}"),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for ComputeError<E> {}

/// What the lease copy said.
enum Look {
    /// A value to serve.
    Value(Item),
    /// A stale value to serve; another caller recomputes it.
    Stale(Item),
    /// This caller won the lease.
    Won { cas: u64, kind: LeaseKind, previous: Option<Item> },
    /// A placeholder whose lease another caller holds.
    Wait,
}

/// Reads a `VA` reply of a lease read.
fn classify(data: &[u8], flags: MetaFlags<'_>, opts: &LeaseOptions) -> Look {
    let client_flags = flags.client_flags().unwrap_or(0);
    let cas = flags.cas().unwrap_or(0);
    let (won, stale, sent) = (flags.won(), flags.stale(), flags.win_sent());
    let placeholder = crate::placeholder::is_placeholder(data, &flags);
    let item = || Item { value: data.to_vec(), flags: client_flags, cas: Some(cas) };
    if won {
        let kind = if placeholder {
            LeaseKind::Missing
        } else if stale {
            LeaseKind::Stale
        } else {
            LeaseKind::Recache
        };
        return Look::Won { cas, kind, previous: (!placeholder).then(item) };
    }
    if placeholder {
        return Look::Wait;
    }
    let in_stale_time = opts.stale_ttl > 0
        && sent
        && flags.ttl().is_some_and(|t| (0..i64::from(opts.stale_ttl)).contains(&t));
    if stale || in_stale_time {
        Look::Stale(item())
    } else {
        Look::Value(item())
    }
}

/// The TTL a lease fill is written with: `ttl` shortened by a random part
/// of up to `jitter` of it, plus the stale time. TTLs of 0 (never) and
/// absolute times (over 30 days) are written as given.
pub(crate) fn fill_ttl(ttl: u32, jitter: f64, stale_ttl: u32) -> u32 {
    if ttl == 0 || ttl > MAX_RELATIVE_TTL {
        return ttl;
    }
    let spread = (f64::from(ttl) * jitter) as usize;
    let ttl = if spread > 0 { ttl - random_below(spread + 1) as u32 } else { ttl };
    ttl.max(1).saturating_add(stale_ttl).min(MAX_RELATIVE_TTL)
}

/// The key of a flight: the key and what places it.
pub(crate) fn flight_key(key: &[u8], at: Placement<'_>) -> u64 {
    let own = crate::invalidation::name_key(key);
    match at {
        Placement::ServerKey(sk) if !sk.is_empty() => {
            own ^ crate::invalidation::name_key(sk).rotate_left(29)
        }
        _ => own,
    }
}

/// Sleeps `d`, waking early only for a signal the interrupt check turns
/// into a stop.
fn nap(d: Duration) -> Result<()> {
    match poll_many(&mut [], &Deadline::after(d)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(Error::Interrupted),
        Err(_) => {
            std::thread::sleep(d);
            Ok(())
        }
    }
}

/// Whether an error is a server's failure, after which another copy may
/// answer.
fn next_copy_may_help(e: &Error) -> bool {
    e.is_server_failure()
}

impl Cluster {
    /// One lease read of `key` on server `s`.
    fn lease_look(&self, s: usize, key: &[u8], opts: &LeaseOptions) -> Result<Look> {
        let prefix = self.prefix();
        let flags = [
            MetaFlag::ReturnValue,
            MetaFlag::ReturnCas,
            MetaFlag::ReturnFlags,
            MetaFlag::ReturnTtl,
            MetaFlag::Vivify(opts.placeholder_secs()),
            MetaFlag::Recache(opts.recache_below()),
        ];
        let used = if opts.recache_below() > 0 { flags.len() } else { flags.len() - 1 };
        self.servers.count(s, Counter::Gets);
        let mut look = None;
        // Not idempotent: sent twice, the second read would find this
        // caller's own placeholder and wait for itself.
        self.servers.exchange_meta(
            s,
            false,
            |buf| meta::encode_mg(buf, prefix, key, &flags[..used]),
            |name, reply| match reply {
                MetaReply::Value { data, flags } => {
                    look = Some(classify(data, flags, opts));
                    Ok(())
                }
                // A server that does not create placeholders.
                MetaReply::Miss(_) => {
                    look = Some(Look::Won { cas: 0, kind: LeaseKind::Unleased, previous: None });
                    Ok(())
                }
                other => Err(meta_unexpected(name, other)),
            },
        )?;
        let look = look.ok_or_else(|| Error::protocol(self.servers.name(s), "mg left no reply"))?;
        let hit = matches!(look, Look::Value(_) | Look::Stale(_))
            || matches!(look, Look::Won { previous: Some(_), .. });
        self.servers.count(s, if hit { Counter::Hits } else { Counter::Misses });
        Ok(look)
    }

    /// A plain read of `key` on server `s` (no lease taken): a value that
    /// is neither stale nor a placeholder, with its remaining TTL.
    fn plain_look(&self, s: usize, key: &[u8]) -> Result<Option<(Item, i64)>> {
        let prefix = self.prefix();
        let mut found = None;
        self.servers.count(s, Counter::Gets);
        self.servers.exchange_meta(
            s,
            true,
            |buf| {
                meta::encode_mg(
                    buf,
                    prefix,
                    key,
                    &[MetaFlag::ReturnValue, MetaFlag::ReturnFlags, MetaFlag::ReturnTtl],
                )
            },
            |name, reply| match reply {
                MetaReply::Value { data, flags } => {
                    let opts =
                        LeaseOptions { lease_ttl: Duration::ZERO, recache_s: 0, stale_ttl: 0 };
                    if let Look::Value(item) = classify(data, flags, &opts) {
                        found = Some((item, flags.ttl().unwrap_or(-1)));
                    }
                    Ok(())
                }
                MetaReply::Miss(_) => Ok(()),
                other => Err(meta_unexpected(name, other)),
            },
        )?;
        self.servers.count(s, if found.is_some() { Counter::Hits } else { Counter::Misses });
        Ok(found.map(|(mut item, ttl)| {
            item.cas = None;
            (item, ttl)
        }))
    }

    /// A lease read through the copy policy: the key's first live copy (in
    /// route order), the next ones when it fails, then the failover target.
    /// Returns the server that answered and whether it is off the key's
    /// home. A lease won for a missing key whose other copies hold the
    /// value is filled with that value at once (read repair).
    fn lease_read(
        &self,
        key: &[u8],
        at: Placement<'_>,
        opts: &LeaseOptions,
    ) -> Result<(usize, bool, Look)> {
        let (h, route) = self.route(key, at)?;
        let mut failed = Copies::new();
        let mut first_err = None;
        for s in route.targets.iter() {
            match self.lease_look(s, key, opts) {
                Ok(look) => {
                    let look = self.repair_from_copies(key, &route, s, look);
                    return Ok((s, route.rerouted, look));
                }
                Err(e) if !next_copy_may_help(&e) => return Err(e),
                Err(e) => {
                    failed.push(s);
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(fallback) = self.fallback(h, &route, &failed) {
            for s in fallback.targets.iter() {
                match self.lease_look(s, key, opts) {
                    Ok(look) => return Ok((s, true, look)),
                    Err(e) if !next_copy_may_help(&e) => return Err(e),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
        }
        Err(first_err.unwrap_or_else(|| self.down_error(&route)))
    }

    /// A lease won on server `s` for a missing key: if another live copy
    /// has the value, it fills the lease and is the answer.
    fn repair_from_copies(&self, key: &[u8], route: &Route, s: usize, look: Look) -> Look {
        let Look::Won { cas, kind: LeaseKind::Missing, .. } = look else { return look };
        for other in route.targets.iter().filter(|&o| o != s) {
            if let Ok(Some((item, ttl))) = self.plain_look(other, key) {
                let exptime = crate::protocol::exptime_for_remaining(ttl);
                if let Ok(Status::Done) =
                    self.fill_on(s, key, &item.value, item.flags, exptime, Some(cas))
                {
                    self.servers.count(s, Counter::ReadRepairs);
                }
                return Look::Value(item);
            }
        }
        look
    }

    /// `ms` of a value on server `s`: conditional on `cas` (the lease's),
    /// or, without one, only if nothing is stored (`add`).
    fn fill_on(
        &self,
        s: usize,
        key: &[u8],
        value: &[u8],
        flags: u32,
        ttl: u32,
        cas: Option<u64>,
    ) -> Result<Status> {
        let prefix = self.prefix();
        let condition = match cas {
            Some(cas) => MetaFlag::CompareCas(cas),
            None => MetaFlag::Mode(b'E'),
        };
        let meta_flags = [MetaFlag::Ttl(ttl), MetaFlag::ClientFlags(flags), condition];
        self.servers.count(s, Counter::Sets);
        let mut status = Status::NotStored;
        self.servers.exchange_meta(
            s,
            false,
            |buf| meta::encode_ms(buf, prefix, key, value, &meta_flags),
            |name, reply| {
                status = match reply {
                    MetaReply::Hit(_) => Status::Done,
                    MetaReply::NotStored(_) => Status::NotStored,
                    MetaReply::Exists(_) => Status::Exists,
                    MetaReply::NotFound(_) => Status::NotFound,
                    other => return Err(meta_unexpected(name, other)),
                };
                Ok(())
            },
        )?;
        Ok(status)
    }

    /// `md` of `key` on server `s` with `flags`: `Done`, or `NotFound` /
    /// `Exists` when there was nothing to delete or the CAS did not match.
    fn md_on(&self, s: usize, key: &[u8], flags: &[MetaFlag<'_>]) -> Result<Status> {
        let prefix = self.prefix();
        self.servers.count(s, Counter::Deletes);
        let mut status = Status::NotFound;
        self.servers.exchange_meta(
            s,
            true,
            |buf| meta::encode_md(buf, prefix, key, flags),
            |name, reply| {
                status = match reply {
                    MetaReply::Hit(_) => Status::Done,
                    MetaReply::NotFound(_) => Status::NotFound,
                    MetaReply::Exists(_) => Status::Exists,
                    other => return Err(meta_unexpected(name, other)),
                };
                Ok(())
            },
        )?;
        Ok(status)
    }

    /// Fills a lease: the lease copy with the lease's CAS token, then, once
    /// it stored, the key's other live copies unconditionally (their
    /// failures are counted, and they forget the key before serving again).
    /// `Status::Exists` or `NotFound` when a newer write, a delete or an
    /// expiry of the lease came first (nothing is stored).
    pub(crate) fn lease_fill(
        &self,
        token: &LeaseToken,
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<Status> {
        let key = &token.key[..];
        let ttl = if token.rerouted && (ttl == 0 || ttl > self.policy.gutter_ttl) {
            self.policy.gutter_ttl
        } else {
            ttl
        };
        let cas = (token.kind != LeaseKind::Unleased).then_some(token.cas);
        let s = token.server;
        let status = self.fill_on(s, key, value, flags, ttl, cas)?;
        if status != Status::Done {
            return Ok(status);
        }
        let Ok((_, route)) = self.route(key, token.placement()) else { return Ok(status) };
        let kind = JobKind::Store { cmd: Storage::Set, value, flags, ttl };
        let jobs: Vec<Job<'_>> =
            route.targets.iter().filter(|&o| o != s).map(|o| Job::new(o, key, kind)).collect();
        if !jobs.is_empty() {
            let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
            for (job, a) in jobs.iter().zip(answers) {
                if !matches!(a, Ok(Answer::Status(Status::Done))) {
                    self.servers.count(job.server, Counter::ReplicaWriteFailures);
                    self.servers.forget_later(job.server, key);
                }
            }
        }
        for h in route.missed_home().filter(|&h| h != s) {
            self.servers.forget_later(h, key);
        }
        Ok(if token.rerouted { Status::StoredElsewhere } else { Status::Done })
    }

    /// Gives a lease back: a placeholder is deleted, a stale or recached
    /// value marked stale again, so the next caller wins at once. A lease
    /// that was already replaced is left alone.
    pub(crate) fn lease_release(&self, token: &LeaseToken) -> Result<()> {
        let cas = MetaFlag::CompareCas(token.cas);
        match token.kind {
            LeaseKind::Unleased => Ok(()),
            LeaseKind::Missing => self.md_on(token.server, &token.key, &[cas]).map(|_| ()),
            LeaseKind::Stale | LeaseKind::Recache => {
                self.md_on(token.server, &token.key, &[MetaFlag::Invalidate, cas]).map(|_| ())
            }
        }
    }

    /// Marks `key` stale on every live copy for `stale_ttl` seconds (`md I
    /// T`): readers through leases are served the old value while one of
    /// them recomputes it. With `stale_ttl` 0 the key is deleted. Copies
    /// that cannot be reached forget the key before they serve again.
    /// `Done` when a copy held the key, `NotFound` when none did.
    pub(crate) fn invalidate(
        &self,
        key: &[u8],
        at: Placement<'_>,
        stale_ttl: u32,
    ) -> Result<Status> {
        let (_, route) = self.route(key, at)?;
        let flags = [MetaFlag::Invalidate, MetaFlag::Ttl(stale_ttl.min(MAX_RELATIVE_TTL))];
        let flags: &[MetaFlag<'_>] = if stale_ttl == 0 { &[] } else { &flags };
        let mut outcome: Option<Status> = None;
        let mut first_err = None;
        for s in route.targets.iter() {
            match self.md_on(s, key, flags) {
                Ok(status) => {
                    if outcome != Some(Status::Done) {
                        outcome = Some(status);
                    }
                }
                Err(Error::Interrupted) => return Err(Error::Interrupted),
                Err(e) => {
                    self.servers.forget_later(s, key);
                    first_err.get_or_insert(e);
                }
            }
        }
        for s in route.missed_home() {
            self.servers.forget_later(s, key);
        }
        match (outcome, first_err) {
            (Some(Status::Done), _) if route.rerouted => Ok(Status::StoredElsewhere),
            (Some(status), _) => Ok(status),
            (None, Some(e)) => Err(e),
            (None, None) => Err(self.down_error(&route)),
        }
    }
}

/// `get_or_lease` over a cluster and the client's flights: see
/// [`crate::Client::get_or_lease`].
pub(crate) fn get_or_lease(
    cluster: &Cluster,
    flights: &Arc<Flights>,
    key: &[u8],
    at: Placement<'_>,
    opts: &LeaseOptions,
) -> Result<Leased> {
    cluster.place(key, at)?;
    let fkey = flight_key(key, at);
    let give_up = monotonic_ms() + opts.wait_budget_ms();
    let mut waited = false;
    let token = |s: usize, rerouted: bool, cas, kind, previous, ticket| LeaseToken {
        key: key.to_vec(),
        server_key: match at {
            Placement::ServerKey(sk) if !sk.is_empty() => Some(sk.to_vec()),
            _ => None,
        },
        server: s,
        rerouted,
        cas,
        kind,
        previous,
        stale_ttl: opts.stale_ttl,
        flights: Arc::clone(flights),
        ticket,
    };
    loop {
        // Another caller of this process already waits for (or computes)
        // the key: its answer is ours.
        if let Some(f) = flights.existing(fkey) {
            if !waited {
                waited = true;
                count_home(cluster, key, at, Counter::LeaseWaits);
            }
            if let Followed::Value(v) = flights.follow(&f, give_up)? {
                return Ok(Leased::Hit((*v).clone()));
            }
        }
        if monotonic_ms() >= give_up {
            let s = cluster.route(key, at)?.1.targets.first().unwrap_or(0);
            return Ok(Leased::Compute(token(s, false, 0, LeaseKind::Unleased, None, None)));
        }
        let (s, rerouted, look) = cluster.lease_read(key, at, opts)?;
        match look {
            Look::Value(item) => return Ok(Leased::Hit(item)),
            Look::Stale(item) => {
                cluster.servers.count(s, Counter::StaleHits);
                return Ok(Leased::Stale(item));
            }
            Look::Won { cas, kind, previous } => {
                cluster.servers.count(s, Counter::LeaseWins);
                // Callers of this process that come for the key meanwhile
                // (or poll for it already) wait for this one's value instead
                // of asking memcached.
                let ticket = match kind {
                    LeaseKind::Missing => flights.lead_now(fkey, monotonic_ms() + opts.lease_ms()),
                    _ => None,
                };
                return Ok(Leased::Compute(token(s, rerouted, cas, kind, previous, ticket)));
            }
            Look::Wait => {
                if !waited {
                    waited = true;
                    cluster.servers.count(s, Counter::LeaseWaits);
                }
                match flights.join(fkey, give_up) {
                    Join::Follow(f) => {
                        if let Followed::Value(v) = flights.follow(&f, give_up)? {
                            return Ok(Leased::Hit((*v).clone()));
                        }
                    }
                    Join::Lead(ticket) => {
                        return poll(cluster, flights, key, at, opts, give_up, Some(ticket), &token)
                    }
                    Join::Alone => {
                        return poll(cluster, flights, key, at, opts, give_up, None, &token)
                    }
                }
            }
        }
    }
}

/// Counts `counter` on the key's primary.
fn count_home(cluster: &Cluster, key: &[u8], at: Placement<'_>, counter: Counter) {
    if let Ok((_, route)) = cluster.route(key, at) {
        if let Some(s) = route.home.first() {
            cluster.servers.count(s, counter);
        }
    }
}

type MakeToken<'a> =
    dyn Fn(usize, bool, u64, LeaseKind, Option<Item>, Option<Ticket>) -> LeaseToken + 'a;

/// Polls a key whose lease another caller holds, until a value or a lease
/// of its own, with the pauses of [`Pauses`]: asleep for most of the last
/// wait for the key (if this process remembers one) and in short steps
/// while the value is due, else in steps from 2 ms doubling up to
/// `poll_cap`.
/// A flight this caller leads hands the value to its followers; one taken
/// over by the lease's winner in this process is followed instead.
#[allow(clippy::too_many_arguments)]
fn poll(
    cluster: &Cluster,
    flights: &Arc<Flights>,
    key: &[u8],
    at: Placement<'_>,
    opts: &LeaseOptions,
    give_up: u64,
    mut ticket: Option<Ticket>,
    token: &MakeToken<'_>,
) -> Result<Leased> {
    let fkey = flight_key(key, at);
    let started = monotonic_ms();
    // The last wait for this key took about as long as this one will (one
    // key's computes take alike).
    let last = flights.waits.last(fkey).map(|ms| ms.min(opts.lease_ms()));
    let mut pauses = Pauses::new(last, opts.poll_cap());
    loop {
        if ticket.as_ref().is_some_and(|t| !t.is_current()) {
            // The winner is a caller of this process: its value comes here.
            ticket = None;
            if let Some(f) = flights.existing(fkey) {
                if let Followed::Value(v) = flights.follow(&f, give_up)? {
                    return Ok(Leased::Hit((*v).clone()));
                }
            }
        }
        let now = monotonic_ms();
        if now >= give_up {
            drop(ticket);
            let s = cluster.route(key, at)?.1.targets.first().unwrap_or(0);
            return Ok(Leased::Compute(token(s, false, 0, LeaseKind::Unleased, None, None)));
        }
        let pause = pauses.next(now.saturating_sub(started));
        nap(pause.min(Duration::from_millis(give_up - now)))?;
        let (s, rerouted, look) = cluster.lease_read(key, at, opts)?;
        let hand = |item: &Item| Some(Arc::new(item.clone()));
        match look {
            Look::Wait => continue,
            Look::Value(item) => {
                let waited = monotonic_ms().saturating_sub(started);
                flights.waits.record(fkey, pauses.wait_to_remember(waited));
                if let Some(t) = ticket {
                    t.end(hand(&item));
                }
                return Ok(Leased::Hit(item));
            }
            Look::Stale(item) => {
                flights.waits.forget(fkey);
                cluster.servers.count(s, Counter::StaleHits);
                if let Some(t) = ticket {
                    t.end(hand(&item));
                }
                return Ok(Leased::Stale(item));
            }
            Look::Won { cas, kind, previous } => {
                // The holder's lease ran out: this caller computes now, and
                // its followers keep waiting for it. A wait that ended so
                // says nothing about the next one.
                flights.waits.forget(fkey);
                cluster.servers.count(s, Counter::LeaseWins);
                if let Some(t) = &ticket {
                    t.extend(monotonic_ms() + opts.lease_ms());
                }
                return Ok(Leased::Compute(token(s, rerouted, cas, kind, previous, ticket)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Limits;

    fn look_of(reply: &[u8], opts: &LeaseOptions) -> Look {
        match meta::parse_meta_reply(reply, &Limits::default()).unwrap().unwrap().0 {
            MetaReply::Value { data, flags } => classify(data, flags, opts),
            other => panic!("{other:?}"),
        }
    }

    fn opts() -> LeaseOptions {
        LeaseOptions { lease_ttl: Duration::from_secs(3), recache_s: 0, stale_ttl: 0 }
    }

    #[test]
    fn replies_of_memcached_1_6_are_read_as_they_mean() {
        // What memcached 1.6.18 answers (see the module comment).
        let o = opts();
        assert!(matches!(
            look_of(b"VA 0 c1 t-1 f0 W\r\n\r\n", &o),
            Look::Won { cas: 1, kind: LeaseKind::Missing, previous: None }
        ));
        assert!(matches!(look_of(b"VA 0 c1 t30 f0 Z\r\n\r\n", &o), Look::Wait));
        match look_of(b"VA 3 c3 t30 f5 X W\r\nabc\r\n", &o) {
            Look::Won { cas: 3, kind: LeaseKind::Stale, previous: Some(p) } => {
                assert_eq!((&p.value[..], p.flags), (&b"abc"[..], 5))
            }
            _ => panic!("stale win"),
        }
        assert!(
            matches!(look_of(b"VA 3 c3 t30 f5 Z X\r\nabc\r\n", &o), Look::Stale(i) if i.value == b"abc")
        );
        assert!(matches!(
            look_of(b"VA 1 c14 t60 f0 W\r\nx\r\n", &o),
            Look::Won { kind: LeaseKind::Recache, previous: Some(_), .. }
        ));
        assert!(
            matches!(look_of(b"VA 1 c14 t60 f0 Z\r\nx\r\n", &o), Look::Value(i) if i.value == b"x")
        );
        // A real empty value has neither flag.
        assert!(
            matches!(look_of(b"VA 0 c2 t60 f0\r\n\r\n", &o), Look::Value(i) if i.value.is_empty())
        );
        // An empty value with flags of its own is no placeholder.
        assert!(matches!(look_of(b"VA 0 c2 t60 f16 Z\r\n\r\n", &o), Look::Value(_)));
        // In the stale time after the nominal TTL: served as stale.
        let with_stale = LeaseOptions { stale_ttl: 10, ..o };
        assert!(matches!(look_of(b"VA 1 c2 t4 f0 Z\r\nx\r\n", &with_stale), Look::Stale(_)));
        assert!(matches!(look_of(b"VA 1 c2 t40 f0 Z\r\nx\r\n", &with_stale), Look::Value(_)));
    }

    #[test]
    fn options_round_lease_times_up_and_bound_polls() {
        let o = LeaseOptions { lease_ttl: Duration::from_millis(2500), ..opts() };
        assert_eq!(o.lease_secs(), 3);
        assert_eq!(LeaseOptions { lease_ttl: Duration::ZERO, ..o }.lease_secs(), 1);
        assert_eq!(o.placeholder_secs(), 4, "a second more than the lease: memcached's clock");
        assert_eq!(o.poll_cap(), Duration::from_millis(15));
        assert_eq!(
            LeaseOptions { lease_ttl: Duration::from_secs(1), ..o }.poll_cap().as_millis(),
            5
        );
        assert_eq!(LeaseOptions { recache_s: 5, stale_ttl: 10, ..o }.recache_below(), 15);
    }

    #[test]
    fn fill_ttls_are_jittered_down_and_extended_by_the_stale_time() {
        assert_eq!(fill_ttl(0, 0.5, 10), 0, "never expires stays never");
        assert_eq!(fill_ttl(MAX_RELATIVE_TTL + 1, 0.5, 10), MAX_RELATIVE_TTL + 1);
        assert_eq!(fill_ttl(100, 0.0, 0), 100);
        assert_eq!(fill_ttl(100, 0.0, 30), 130);
        let seen: std::collections::BTreeSet<u32> =
            (0..2000).map(|_| fill_ttl(100, 0.1, 0)).collect();
        assert!(seen.iter().all(|t| (90..=100).contains(t)), "{seen:?}");
        assert!(seen.len() > 5, "spread: {seen:?}");
        assert_eq!(fill_ttl(1, 1.0, 0), 1, "never below one second");
    }
}
