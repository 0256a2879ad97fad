//! The copy policy: how reads and writes use a key's copies while servers
//! fail.
//!
//! * **Reads** try the key's live copies in order (primary first, or a
//!   random copy first with `read_policy=random`) until one has the key. When
//!   every copy failed, the failover target is tried (`next`: the next live
//!   server on the ring; `gutter`: the gutter pool; `eject`: the ring without
//!   the dead servers), for keys whose every home copy missed a write of
//!   them (else any copy it holds is older than the key: a miss). With
//!   `read_repair`, a value found after a copy missed
//!   it is written back to that copy with `add` and the value's remaining
//!   lifetime, so a restarted server warms up.
//! * **Writes** go to every live copy in one fan-out; the key's primary
//!   decides the result when it answered, else the first copy that did.
//!   Copies that failed or were skipped count as `replica_write_failures`.
//!   **Conditional writes** (add, replace, cas, append, prepend, incr, decr)
//!   never run on several copies at once: they go to one copy at a time
//!   until one answers, and only once it took effect to the others, so the
//!   copies cannot disagree about the condition.
//! * **Honest results**: a write that reached no home copy of its key is
//!   retried once on the failover target, and then says so
//!   ([`Status::StoredElsewhere`], counted as `stored_elsewhere`); one that
//!   reached nothing is an error, never a silent success.
//! * **Stale values after recovery**: a write that goes elsewhere, or fails,
//!   on one of its key's home copies leaves that server holding an older
//!   value. The key is queued on the server (see `invalidation`) and
//!   deleted there before the server serves anything again; writes that land
//!   off their key's home carry a TTL of at most `gutter_ttl`, so they cannot
//!   resurface later either.

use crate::cluster::{Cluster, Placement, Probes};
use crate::config::Failover;
use crate::error::{Error, Result};
use crate::fanout;
use crate::histogram::CommandClass;
use crate::job::{count_answer, encode_job, meta_answer, text_answer, Answer, Job, JobKind};
use crate::placeholder::{is_placeholder, may_be_placeholder};
use crate::protocol::meta::{self, MetaFlag, MetaReply};
use crate::protocol::text::{Retrieval, Storage, TextReply};
use crate::reply::{is_prefixed, meta_unexpected, unexpected, ItemRef, Status};
use crate::router::{Copies, Route};
use crate::server_set::Flow;
use crate::server_set::Held;
use crate::stats::Counter;

/// A value with everything needed to write it back changed.
pub(crate) struct FullItem {
    pub value: Vec<u8>,
    pub flags: u32,
    pub cas: u64,
    /// Remaining TTL in seconds; -1 for none.
    pub ttl: i64,
}

/// A value read from a copy after another copy missed it, kept to repair
/// that copy.
struct Repair {
    value: Vec<u8>,
    flags: u32,
    /// Remaining TTL in seconds; -1 (or unknown) means none.
    ttl: Option<i64>,
}

impl Repair {
    /// The exptime to write back: the remaining TTL (absolute beyond 30
    /// days), 0 for none.
    fn exptime(&self) -> u32 {
        crate::protocol::exptime_for_remaining(self.ttl.unwrap_or(-1))
    }
}

/// Whether a write kind only takes effect under a condition a copy decides.
fn is_conditional(kind: &JobKind<'_>) -> bool {
    match kind {
        JobKind::Store { cmd, .. } => !matches!(cmd, Storage::Set),
        JobKind::Arith(..) | JobKind::ArithOrInit { .. } => true,
        _ => false,
    }
}

/// What the other copies get once one copy accepted a conditional write:
/// the value itself for add/replace/cas, the same command otherwise.
fn propagation<'a>(kind: JobKind<'a>) -> JobKind<'a> {
    match kind {
        JobKind::Store {
            cmd: Storage::Add | Storage::Replace | Storage::Cas { .. },
            value,
            flags,
            ttl,
        } => JobKind::Store { cmd: Storage::Set, value, flags, ttl },
        other => other,
    }
}

/// `kind` with its TTL capped at `cap` seconds (0, "never", becomes `cap`).
fn clamp_ttl(kind: JobKind<'_>, cap: u32) -> JobKind<'_> {
    let clamp = |ttl: u32| if ttl == 0 || ttl > cap { cap } else { ttl };
    match kind {
        JobKind::Store { cmd, value, flags, ttl } => {
            JobKind::Store { cmd, value, flags, ttl: clamp(ttl) }
        }
        JobKind::Touch(ttl) => JobKind::Touch(clamp(ttl)),
        JobKind::ArithOrInit { arith, delta, initial, ttl } => {
            JobKind::ArithOrInit { arith, delta, initial, ttl: clamp(ttl) }
        }
        other => other,
    }
}

/// Whether an answer means the write took effect.
fn took_effect(a: &Answer) -> bool {
    matches!(a, Answer::Status(Status::Done) | Answer::Number(Some(_)) | Answer::Sent)
}

/// The answer of a write that took effect only off its key's home: a store
/// or delete says so; other answers (a condition that failed there, a
/// number) are what the target said.
fn elsewhere(kind: &JobKind<'_>, a: Answer) -> Answer {
    match (kind, a) {
        (JobKind::Delete, Answer::Status(_)) => Answer::Status(Status::StoredElsewhere),
        (_, Answer::Status(Status::Done)) => Answer::Status(Status::StoredElsewhere),
        (_, other) => other,
    }
}

/// One key's write, as settled from its copies' answers.
enum Settled {
    /// At least one copy answered.
    Done(Answer),
    /// No copy answered: the servers that failed, and the first error.
    Failed(Copies, Error),
}

impl Cluster {
    /// Reads one key through its copies and failover target.
    #[inline]
    pub(crate) fn read<T>(
        &self,
        key: &[u8],
        at: Placement<'_>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        self.read_spread(key, at, cmd, false, f)
    }

    /// [`Cluster::read`]; with `hot`, the copies are tried in the order
    /// for hot keys (see `read_policy=hot_random`).
    pub(crate) fn read_spread<T>(
        &self,
        key: &[u8],
        at: Placement<'_>,
        cmd: Retrieval,
        hot: bool,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        let (h, route) = self.route(key, at)?;
        let mut f = Some(f);
        let mut missed = Copies::new();
        let mut failed = Copies::new();
        let mut first_err: Option<Error> = None;
        let order = if hot { self.read_order_hot(&route) } else { self.read_order(&route) };
        let repairing = self.policy.read_repair && cmd == Retrieval::Get;
        for s in order.iter() {
            let mut repair = None;
            let keep = repairing && !missed.is_empty();
            // A server that must forget this key first is not asked for it.
            let r = match self.servers.held(s, key, order.len() > 1) {
                None if self.may_answer(key, &route, s) => {
                    self.read_on(s, key, cmd, keep, &mut f, &mut repair)
                }
                None | Some(Held::Probe) => self.ask_for_a_miss(s, key, cmd),
                Some(Held::Miss) => Ok(None),
                Some(Held::Down(e)) => Err(e),
            };
            if r.is_ok() {
                self.count_read_failover(&route, s);
            }
            match r {
                Ok(Some(v)) => {
                    if let Some(r) = repair {
                        self.repair(key, &missed, &r);
                    }
                    return Ok(Some(v));
                }
                Ok(None) => missed.push(s),
                // Not the server's fault: another copy would not help.
                Err(e @ (Error::Interrupted | Error::TooLarge { .. })) => return Err(e),
                Err(e) => {
                    failed.push(s);
                    first_err.get_or_insert(e);
                }
            }
        }
        if !missed.is_empty() {
            return Ok(None);
        }
        // No copy could be read: the failover target, if there is one now.
        if let Some(fallback) = self.fallback(h, &route, &failed) {
            let trusted = self.off_home_may_answer(key, &route);
            for s in fallback.targets.iter() {
                let mut repair = None;
                let r = if trusted {
                    self.read_on(s, key, cmd, false, &mut f, &mut repair)
                } else {
                    self.ask_for_a_miss(s, key, cmd)
                };
                match r {
                    Ok(found) => {
                        self.servers.count(s, Counter::Failovers);
                        return Ok(found);
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None if self.policy.failover == Failover::None => {
                // failover=none: a dead server's keys read as misses.
                if let Some(s) = route.home.first() {
                    self.servers.count(s, Counter::Errors);
                }
                Ok(None)
            }
            None => Err(self.down_error(&route)),
        }
    }

    /// Asks server `s` for `key` and takes its answer as a miss: the
    /// server is up (a probe, or a failover target) but what it holds for
    /// the key may be older than the key. Its failure still counts as one.
    fn ask_for_a_miss<T>(&self, s: usize, key: &[u8], cmd: Retrieval) -> Result<Option<T>> {
        let mut unused = None::<fn(ItemRef<'_>)>;
        self.read_on(s, key, cmd, false, &mut unused, &mut None).map(|_| None)
    }

    /// Whether server `s` of `route` may answer a read of `key`: a home
    /// copy always (its invalidation log decides, see `held`), a server
    /// off the key's home only as [`Cluster::off_home_may_answer`] says.
    #[inline]
    fn may_answer(&self, key: &[u8], route: &Route, s: usize) -> bool {
        !route.rerouted || route.home.contains(s) || self.off_home_may_answer(key, route)
    }

    /// Whether a server off `key`'s home (its failover target) may answer
    /// for it. It may hold a copy rerouted there in an earlier outage,
    /// older than what the home copies got since; its copy can be the
    /// newest only when every home copy missed a write of the key and has
    /// not been used since (the key is queued, unclaimed, in each one's
    /// invalidation log). Otherwise it is still asked (its failure counts
    /// as one, as before), but its answer is taken as a miss.
    pub(crate) fn off_home_may_answer(&self, key: &[u8], route: &Route) -> bool {
        route.home.iter().all(|h| self.servers.missed_since_used(h, key))
    }

    /// Counts a read that server `s` of a rerouted route answered for a
    /// key whose home copies it does not hold (their servers were down) as
    /// a failover on `s`, as a write's failover is counted. (A route that
    /// was not rerouted only targets home copies: one flag test then.)
    #[inline]
    fn count_read_failover(&self, route: &Route, s: usize) {
        if route.rerouted && !route.home.contains(s) {
            self.servers.count(s, Counter::Failovers);
        }
    }

    /// One read of `key` on server `s`. With `keep`, the value is read with
    /// its TTL (meta `mg`) and kept in `repair` for writing back elsewhere.
    /// A value over `max_value_bytes` is skipped unread: `Error::TooLarge`,
    /// the connection stays usable.
    fn read_on<T>(
        &self,
        s: usize,
        key: &[u8],
        cmd: Retrieval,
        keep: bool,
        f: &mut Option<impl FnOnce(ItemRef<'_>) -> T>,
        repair: &mut Option<Repair>,
    ) -> Result<Option<T>> {
        let prefix = self.prefix();
        self.servers.count(s, Counter::Gets);
        let mut found = None;
        if keep {
            self.servers.exchange_meta_as(
                CommandClass::Get,
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
                    // A lease placeholder: the key is missing.
                    MetaReply::Value { data, flags } if is_placeholder(data, &flags) => Ok(()),
                    MetaReply::Value { data, flags } => {
                        let item = ItemRef {
                            value: data,
                            flags: flags.client_flags().unwrap_or(0),
                            cas: None,
                        };
                        *repair = Some(Repair {
                            value: data.to_vec(),
                            flags: item.flags,
                            ttl: flags.ttl(),
                        });
                        found = f.take().map(|f| f(item));
                        Ok(())
                    }
                    MetaReply::Miss(_) => Ok(()),
                    other => Err(meta_unexpected(name, other)),
                },
            )?;
        } else {
            let mut oversized = None;
            // An empty flag-0 value may be a lease placeholder: checked below.
            let mut suspect = None;
            self.servers.exchange_as(
                CommandClass::Get,
                s,
                true,
                |buf| encode_job(buf, prefix, &Job::new(s, key, JobKind::Get(cmd))),
                |name, reply| match reply {
                    TextReply::Value { key: got, flags, data, cas } => {
                        if found.is_some() || !is_prefixed(got, prefix, key) {
                            return Err(Error::protocol(
                                name,
                                "reply for a key that was not asked for",
                            ));
                        }
                        if may_be_placeholder(data, flags) {
                            suspect = Some(cas);
                        } else {
                            found = f.take().map(|f| f(ItemRef { value: data, flags, cas }));
                        }
                        Ok(Flow::More)
                    }
                    TextReply::Oversized { len, .. } => {
                        oversized = Some(Error::TooLarge {
                            server: name.to_string(),
                            message: format!(
                                "value of {len} bytes is over max_value_bytes {}",
                                self.servers.io.limits.max_value_len
                            ),
                        });
                        Ok(Flow::More)
                    }
                    TextReply::End => match oversized.take() {
                        Some(e) => Err(e),
                        None => Ok(Flow::Done(())),
                    },
                    other => Err(unexpected(name, other)),
                },
            )?;
            if let Some(cas) = suspect {
                if !self.servers.is_placeholder_now(s, key)? {
                    found = f.take().map(|f| f(ItemRef { value: &[], flags: 0, cas }));
                }
            }
        }
        self.servers.count(s, if found.is_some() { Counter::Hits } else { Counter::Misses });
        Ok(found)
    }

    /// Reads `key` with its flags, CAS token and remaining TTL (meta `mg`),
    /// from the first of its copies that answers (for read-modify-write).
    pub(crate) fn read_for_update(
        &self,
        key: &[u8],
        at: Placement<'_>,
    ) -> Result<Option<FullItem>> {
        let (_, route) = self.route(key, at)?;
        let prefix = self.prefix();
        let mut first_err = None;
        for s in route.targets.iter() {
            if !self.may_answer(key, &route, s) {
                return Ok(None);
            }
            match self.servers.held(s, key, route.targets.len() > 1) {
                None => {}
                Some(Held::Miss) => return Ok(None),
                Some(Held::Down(e)) => {
                    first_err.get_or_insert(e);
                    continue;
                }
                Some(Held::Probe) => {
                    first_err.get_or_insert(self.down_error(&route));
                    continue;
                }
            }
            let mut found = None;
            let r = self.servers.exchange_meta_as(
                CommandClass::Meta,
                s,
                true,
                |buf| {
                    meta::encode_mg(
                        buf,
                        prefix,
                        key,
                        &[
                            MetaFlag::ReturnValue,
                            MetaFlag::ReturnFlags,
                            MetaFlag::ReturnCas,
                            MetaFlag::ReturnTtl,
                        ],
                    )
                },
                |name, reply| match reply {
                    // A lease placeholder: the key is missing.
                    MetaReply::Value { data, flags } if is_placeholder(data, &flags) => Ok(()),
                    MetaReply::Value { data, flags } => {
                        found = Some(FullItem {
                            value: data.to_vec(),
                            flags: flags.client_flags().unwrap_or(0),
                            cas: flags.cas().unwrap_or(0),
                            ttl: flags.ttl().unwrap_or(-1),
                        });
                        Ok(())
                    }
                    MetaReply::Miss(_) => Ok(()),
                    other => Err(meta_unexpected(name, other)),
                },
            );
            match r {
                Ok(()) => return Ok(found),
                Err(e @ (Error::Interrupted | Error::TooLarge { .. })) => return Err(e),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| self.down_error(&route)))
    }

    /// Writes a value found elsewhere back to the copies that missed it.
    fn repair(&self, key: &[u8], missed: &Copies, r: &Repair) {
        let kind =
            JobKind::Store { cmd: Storage::Add, value: &r.value, flags: r.flags, ttl: r.exptime() };
        let jobs: Vec<Job<'_>> = missed.iter().map(|s| Job::new(s, key, kind)).collect();
        self.count_repairs(&jobs);
    }

    /// Runs read-repair jobs and counts those that stored.
    fn count_repairs(&self, jobs: &[Job<'_>]) {
        let answers = fanout::run(&self.servers, jobs, &mut |_, _, _| {});
        for (job, a) in jobs.iter().zip(answers) {
            if a == Ok(Answer::Status(Status::Done)) {
                self.servers.count(job.server, Counter::ReadRepairs);
            }
        }
    }

    /// Writes one key to its copies (or failover target).
    pub(crate) fn write(&self, key: &[u8], at: Placement<'_>, kind: JobKind<'_>) -> Result<Answer> {
        let (h, route) = self.route(key, at)?;
        // Fast path: one live copy, nothing missed.
        if let (Some(s), 1, 1, false) =
            (route.targets.first(), route.targets.len(), route.home.len(), route.rerouted)
        {
            return match self.write_on(s, key, kind) {
                Ok(a) => Ok(a),
                Err(e) if e.is_server_failure() => {
                    self.write_after_failure(key, h, &route, kind, Copies::one(s), e)
                }
                Err(e) => Err(e),
            };
        }
        match self.write_route(key, &route, kind) {
            Settled::Done(a) => Ok(a),
            Settled::Failed(_, Error::Interrupted) => Err(Error::Interrupted),
            Settled::Failed(failed, e) => self.write_after_failure(key, h, &route, kind, failed, e),
        }
    }

    /// A write whose targets all failed: one more try on the failover
    /// target (its result then says the write went elsewhere), else the
    /// error. Either way the key's home copies must forget it.
    fn write_after_failure(
        &self,
        key: &[u8],
        h: u32,
        route: &Route,
        kind: JobKind<'_>,
        failed: Copies,
        e: Error,
    ) -> Result<Answer> {
        for s in failed.iter() {
            self.servers.forget_later(s, key);
        }
        for s in route.missed_home() {
            self.servers.forget_later(s, key);
        }
        let mut tried = failed;
        for s in route.targets.iter() {
            tried.push(s);
        }
        if let Some(fallback) = self.fallback(h, route, &tried) {
            if let Settled::Done(a) = self.write_route(key, &fallback, kind) {
                return Ok(a);
            }
        }
        Err(e)
    }

    /// Sends a write to a route's targets and settles it.
    fn write_route(&self, key: &[u8], route: &Route, kind: JobKind<'_>) -> Settled {
        let kind = if route.rerouted { clamp_ttl(kind, self.policy.gutter_ttl) } else { kind };
        if route.targets.is_empty() {
            for s in route.missed_home() {
                self.servers.forget_later(s, key);
            }
            return Settled::Failed(Copies::new(), self.down_error(route));
        }
        let mut buf = [0; crate::router::MAX_COPIES];
        let targets = route.targets.as_usize(&mut buf);
        let mut results: Vec<(usize, Result<Answer>)> = Vec::with_capacity(targets.len());
        if is_conditional(&kind) && targets.len() > 1 {
            // One copy at a time decides; the others follow only once it
            // took effect.
            let mut decided = None;
            for (i, &s) in targets.iter().enumerate() {
                let r = self.write_on(s, key, kind);
                let answered = match &r {
                    Ok(a) => Some(took_effect(a)),
                    Err(e) if e.is_server_failure() => None,
                    // A reply-level error (or an interruption) ends the write.
                    Err(_) => Some(false),
                };
                results.push((s, r));
                if let Some(took) = answered {
                    decided = Some((i, took));
                    break;
                }
            }
            if let Some((i, true)) = decided {
                let follow = propagation(kind);
                let jobs: Vec<Job<'_>> =
                    targets[i + 1..].iter().map(|&s| Job::new(s, key, follow)).collect();
                let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
                results.extend(jobs.iter().map(|j| j.server).zip(answers));
            }
        } else if targets.len() == 1 {
            results.push((targets[0], self.write_on(targets[0], key, kind)));
        } else {
            let jobs: Vec<Job<'_>> = targets.iter().map(|&s| Job::new(s, key, kind)).collect();
            let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
            results.extend(targets.iter().copied().zip(answers));
        }
        self.settle(key, route, &kind, results)
    }

    /// Decides a write's result from its copies' answers (the first home
    /// copy that answered, else the first other one: then the write went
    /// elsewhere) and books the copies it missed.
    fn settle(
        &self,
        key: &[u8],
        route: &Route,
        kind: &JobKind<'_>,
        results: Vec<(usize, Result<Answer>)>,
    ) -> Settled {
        let mut home_answer = None;
        let mut other_answer = None;
        let mut failed = Copies::new();
        let mut first_err = None;
        for (s, r) in results {
            match r {
                Ok(a) if route.home.contains(s) => {
                    home_answer.get_or_insert(a);
                }
                Ok(a) => {
                    other_answer.get_or_insert(a);
                }
                Err(e) => {
                    failed.push(s);
                    first_err.get_or_insert(e);
                }
            }
        }
        let answer = match (home_answer, other_answer) {
            (Some(a), _) => a,
            (None, Some(a)) => {
                if let Some(s) = route.home.first() {
                    self.servers.count(s, Counter::StoredElsewhere);
                }
                elsewhere(kind, a)
            }
            (None, None) => {
                return Settled::Failed(failed, first_err.unwrap_or_else(|| self.down_error(route)))
            }
        };
        // The write reached a copy: every copy that did not get it must
        // forget the key before it serves again (a conditional write that
        // did not take effect changed nothing).
        if took_effect(&answer) || !is_conditional(kind) {
            for s in failed.iter() {
                self.servers.count(s, Counter::ReplicaWriteFailures);
                self.servers.forget_later(s, key);
            }
            for s in route.missed_home() {
                self.servers.count(s, Counter::ReplicaWriteFailures);
                self.servers.forget_later(s, key);
            }
        }
        if route.rerouted {
            if let Some(s) = route.targets.first() {
                self.servers.count(s, Counter::Failovers);
            }
        }
        Settled::Done(answer)
    }

    /// One write of `key` on server `s`, on its own connection.
    fn write_on(&self, s: usize, key: &[u8], kind: JobKind<'_>) -> Result<Answer> {
        let prefix = self.prefix();
        self.servers.count(s, kind.counter());
        let job = Job::new(s, key, kind);
        let idempotent = kind.is_idempotent();
        let class = kind.class();
        if kind.is_meta() {
            let mut answer = None;
            self.servers.exchange_meta_as(
                class,
                s,
                idempotent,
                |buf| encode_job(buf, prefix, &job),
                |name, reply| {
                    answer = Some(meta_answer(name, reply)?);
                    Ok(())
                },
            )?;
            return answer.ok_or_else(|| Error::protocol(self.servers.name(s), "no reply"));
        }
        let answer = self.servers.exchange_as(
            class,
            s,
            idempotent,
            |buf| encode_job(buf, prefix, &job),
            |name, reply| text_answer(name, &job.kind, reply).map(Flow::Done),
        )?;
        if let Some(server) = self.servers.get(s) {
            count_answer(&server.counters, &kind, &answer);
        }
        Ok(answer)
    }

    /// Writes one key without waiting for replies (noreply): to every live
    /// copy (a conditional write to the first only; the others forget the
    /// key), or, when none can be written, to the failover target.
    pub(crate) fn write_quiet(
        &self,
        key: &[u8],
        at: Placement<'_>,
        kind: JobKind<'_>,
    ) -> Result<()> {
        let (h, route) = self.route(key, at)?;
        let hashes = [h];
        let mut results = self.write_multi_quiet_routed(&[(key, kind)], &hashes, vec![Ok(route)]);
        results.pop().unwrap_or_else(|| Err(Error::protocol("", "write left unanswered")))
    }

    /// Writes many keys (checked, with their placement hashes) without
    /// waiting for replies, in one fan-out; keys that reached no copy get
    /// one more fan-out to their failover targets.
    pub(crate) fn write_multi_quiet(
        &self,
        writes: &[(&[u8], JobKind<'_>)],
        hashes: &[u32],
    ) -> Vec<Result<()>> {
        let probes = Probes::default();
        let routes = hashes.iter().map(|&h| self.route_hash(h, &probes)).collect();
        self.write_multi_quiet_routed(writes, hashes, routes)
    }

    fn write_multi_quiet_routed(
        &self,
        writes: &[(&[u8], JobKind<'_>)],
        hashes: &[u32],
        routes: Vec<Result<Route>>,
    ) -> Vec<Result<()>> {
        let mut results: Vec<Option<Result<()>>> = (0..writes.len()).map(|_| None).collect();
        let mut pending: Vec<(usize, Route)> = Vec::with_capacity(writes.len());
        for (i, route) in routes.into_iter().enumerate() {
            match route {
                Ok(r) => pending.push((i, r)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let probes = Probes::default();
        // Two rounds: the keys' routes, then failover targets for keys that
        // reached nothing.
        for round in 0..2 {
            let mut jobs = Vec::new();
            let mut owner = Vec::new();
            for (i, route) in &pending {
                let (key, kind) = writes[*i];
                let kind =
                    if route.rerouted { clamp_ttl(kind, self.policy.gutter_ttl) } else { kind };
                let mut buf = [0; crate::router::MAX_COPIES];
                let targets = route.targets.as_usize(&mut buf);
                let targets =
                    if is_conditional(&kind) { &targets[..targets.len().min(1)] } else { targets };
                for &s in targets {
                    jobs.push(Job::quiet(s, key, kind));
                    owner.push(*i);
                }
                // Home copies this write does not reach must forget the key.
                for s in route.home.iter() {
                    if !targets.contains(&s) {
                        self.servers.forget_later(s, key);
                    }
                }
            }
            let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
            let mut sent: Vec<Option<bool>> = vec![None; writes.len()];
            let mut errors: Vec<Option<Error>> = (0..writes.len()).map(|_| None).collect();
            let mut failed: Vec<Copies> = vec![Copies::new(); writes.len()];
            for ((job, a), &i) in jobs.iter().zip(answers).zip(&owner) {
                match a {
                    Ok(_) => sent[i] = Some(true),
                    Err(e) => {
                        self.servers.forget_later(job.server, writes[i].0);
                        failed[i].push(job.server);
                        if sent[i].is_none() {
                            sent[i] = Some(false);
                        }
                        errors[i].get_or_insert(e);
                    }
                }
            }
            let mut next = Vec::new();
            for (i, route) in pending {
                match sent[i] {
                    Some(true) => {
                        if route.rerouted {
                            if let Some(s) = route.home.first() {
                                self.servers.count(s, Counter::StoredElsewhere);
                            }
                        }
                        results[i] = Some(Ok(()));
                    }
                    _ => {
                        let e = errors[i].take().unwrap_or_else(|| self.down_error(&route));
                        let fallback = if round == 0 && e != Error::Interrupted {
                            self.fallback_in(hashes[i], &route, &failed[i], &probes)
                        } else {
                            None
                        };
                        match fallback {
                            Some(fb) => next.push((i, fb)),
                            None => results[i] = Some(Err(e)),
                        }
                    }
                }
            }
            pending = next;
            if pending.is_empty() {
                break;
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::protocol("", "write left unanswered"))))
            .collect()
    }

    /// Reads many keys (checked, with their placement hashes): each round
    /// asks every unresolved key's next copy, in one fan-out; keys whose
    /// copies all failed get their failover target.
    pub(crate) fn read_multi(
        &self,
        keys: &[&[u8]],
        hashes: &[u32],
        cmd: Retrieval,
        mut on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        if self.is_simple() {
            return self.read_multi_simple(keys, hashes, cmd, on_hit);
        }
        let probes = Probes::default();
        let mut plans = Vec::with_capacity(keys.len());
        for &h in hashes {
            let route = self.route_hash(h, &probes)?;
            plans.push((h, route, self.read_order(&route)));
        }
        struct State {
            found: Option<bool>,
            missed: Copies,
            failed: Copies,
            error: Option<Error>,
            repair: Option<Repair>,
        }
        let mut state: Vec<State> = (0..keys.len())
            .map(|_| State {
                found: None,
                missed: Copies::new(),
                failed: Copies::new(),
                error: None,
                repair: None,
            })
            .collect();
        let repairing = self.policy.read_repair && cmd == Retrieval::Get;

        let mut round = 0;
        loop {
            let mut jobs = Vec::new();
            let mut owner = Vec::new();
            let mut probe_only = Vec::new();
            let mut skipped = false;
            for (k, (h, route, order)) in plans.iter().enumerate() {
                let st = &mut state[k];
                if st.found.is_some() {
                    continue;
                }
                // Asked (a probe, or a failover target whose copy may be
                // old), its answer taken as a miss.
                let mut for_a_miss = false;
                if let Some(s) = order.at(round) {
                    match self.servers.held(s, keys[k], order.len() > 1) {
                        None if self.may_answer(keys[k], route, s) => {}
                        None | Some(Held::Probe) => for_a_miss = true,
                        Some(Held::Miss) => {
                            st.missed.push(s);
                            skipped = true;
                            continue;
                        }
                        Some(Held::Down(e)) => {
                            st.failed.push(s);
                            st.error.get_or_insert(e);
                            skipped = true;
                            continue;
                        }
                    }
                }
                let server = if round < order.len() {
                    order.at(round)
                } else if round == order.len() && st.missed.is_empty() {
                    // Every copy failed (or none was usable): failover target.
                    let target = self
                        .fallback_in(*h, route, &st.failed, &probes)
                        .and_then(|r| r.targets.first());
                    // What the target holds may predate the key's latest write.
                    for_a_miss = target.is_some() && !self.off_home_may_answer(keys[k], route);
                    target
                } else {
                    None
                };
                let Some(server) = server else { continue };
                let kind = if repairing && !for_a_miss && !st.missed.is_empty() {
                    JobKind::MetaGet
                } else {
                    JobKind::Get(cmd)
                };
                jobs.push(Job::new(server, keys[k], kind));
                owner.push(k);
                probe_only.push(for_a_miss);
            }
            if jobs.is_empty() {
                if skipped && round <= crate::router::MAX_COPIES {
                    // Every key of this round was skipped: their next copies.
                    round += 1;
                    continue;
                }
                break;
            }
            let answers = fanout::run(&self.servers, &jobs, &mut |j, item, ttl| {
                if probe_only[j] {
                    return;
                }
                let k = owner[j];
                if matches!(jobs[j].kind, JobKind::MetaGet) {
                    state[k].repair =
                        Some(Repair { value: item.value.to_vec(), flags: item.flags, ttl });
                }
                on_hit(k, item);
            });
            let mut interrupted = false;
            for ((j, a), &k) in answers.into_iter().enumerate().zip(&owner) {
                if a.is_ok() {
                    if round >= plans[k].2.len() {
                        // The failover target, asked after every copy failed.
                        self.servers.count(jobs[j].server, Counter::Failovers);
                    } else {
                        self.count_read_failover(&plans[k].1, jobs[j].server);
                    }
                }
                let st = &mut state[k];
                match a {
                    Ok(_) if probe_only[j] => st.missed.push(jobs[j].server),
                    Ok(Answer::Hit) => st.found = Some(true),
                    Ok(_) => st.missed.push(jobs[j].server),
                    // The value's fault, not the server's: that key fails.
                    Err(e @ Error::TooLarge { .. }) => {
                        st.found = Some(false);
                        st.error = Some(e);
                    }
                    Err(e) => {
                        interrupted |= e == Error::Interrupted;
                        st.failed.push(jobs[j].server);
                        st.error.get_or_insert(e);
                    }
                }
            }
            round += 1;
            if interrupted {
                return Err(Error::Interrupted);
            }
            if round > crate::router::MAX_COPIES + 1 {
                break;
            }
        }

        // Write values found after a miss back to the copies that missed them.
        let mut repairs = Vec::new();
        for (k, st) in state.iter().enumerate() {
            if let Some(r) = &st.repair {
                for s in st.missed.iter() {
                    let kind = JobKind::Store {
                        cmd: Storage::Add,
                        value: &r.value,
                        flags: r.flags,
                        ttl: r.exptime(),
                    };
                    repairs.push(Job::new(s, keys[k], kind));
                }
            }
        }
        if !repairs.is_empty() {
            self.count_repairs(&repairs);
        }

        let none_mode = self.policy.failover == Failover::None;
        Ok(state
            .into_iter()
            .zip(&plans)
            .map(|(st, (_, route, _))| match (st.found, st.error) {
                (Some(false), Some(e)) => Err(e),
                (Some(_), _) => Ok(true),
                (None, _) if !st.missed.is_empty() => Ok(false),
                (None, Some(e)) => Err(e),
                (None, None) if none_mode => Ok(false),
                (None, None) => Err(self.down_error(route)),
            })
            .collect())
    }

    /// [`Cluster::read_multi`] while every server is alive and keys have one
    /// copy: one fan-out to the owners; keys whose server fails in it get
    /// one more fan-out to their failover targets.
    fn read_multi_simple(
        &self,
        keys: &[&[u8]],
        hashes: &[u32],
        cmd: Retrieval,
        mut on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        let mut jobs = Vec::with_capacity(keys.len());
        for (key, server) in keys.iter().zip(self.owners(hashes)?) {
            jobs.push(Job::new(server, key, JobKind::Get(cmd)));
        }
        // Keys a server must forget first are not asked there (no
        // allocation unless there is one).
        let mut held = Vec::new();
        for (j, job) in jobs.iter().enumerate() {
            if let Some(h) = self.servers.held(job.server, job.key, false) {
                held.push((j, h));
            }
        }
        let mut retry = Vec::new();
        let answers = if held.is_empty() {
            fanout::run(&self.servers, &jobs, &mut |j, item, _| on_hit(j, item))
        } else {
            let mut all: Vec<Option<Result<Answer>>> = (0..jobs.len()).map(|_| None).collect();
            for (j, h) in held {
                all[j] = Some(match h {
                    Held::Miss => Ok(Answer::Miss),
                    Held::Down(e) => {
                        retry.push(j);
                        Err(e)
                    }
                    Held::Probe => {
                        retry.push(j);
                        Err(Error::ServerDown {
                            server: self.servers.name(jobs[j].server).to_string(),
                        })
                    }
                });
            }
            let asked: Vec<usize> = (0..jobs.len()).filter(|&j| all[j].is_none()).collect();
            let sub: Vec<Job<'_>> = asked
                .iter()
                .map(|&j| Job::new(jobs[j].server, jobs[j].key, jobs[j].kind))
                .collect();
            let answered =
                fanout::run(&self.servers, &sub, &mut |j, item, _| on_hit(asked[j], item));
            for (a, &j) in answered.into_iter().zip(&asked) {
                all[j] = Some(a);
            }
            all.into_iter().map(|a| a.unwrap_or(Ok(Answer::Miss))).collect()
        };
        let mut results: Vec<Result<bool>> = Vec::with_capacity(keys.len());
        for (j, a) in answers.into_iter().enumerate() {
            match a {
                Ok(Answer::Hit) => results.push(Ok(true)),
                Ok(_) => results.push(Ok(false)),
                Err(e) => {
                    if e.is_server_failure() {
                        retry.push(j);
                    }
                    results.push(Err(e));
                }
            }
        }
        if retry.is_empty() || matches!(self.policy.failover, Failover::None | Failover::Eject) {
            return Ok(results);
        }
        let probes = Probes::default();
        let mut jobs2 = Vec::new();
        let mut owner = Vec::new();
        // Targets asked only for their answer: what they hold for the key
        // predates its latest write (see `off_home_may_answer`).
        let mut for_a_miss = Vec::new();
        for &j in &retry {
            let key = keys[j];
            let h = hashes[j];
            let failed = Copies::one(jobs[j].server);
            let route = Route { home: failed, targets: failed, rerouted: false };
            if let Some(s) =
                self.fallback_in(h, &route, &failed, &probes).and_then(|r| r.targets.first())
            {
                jobs2.push(Job::new(s, key, JobKind::Get(cmd)));
                owner.push(j);
                for_a_miss.push(!self.off_home_may_answer(key, &route));
            }
        }
        let answers = fanout::run(&self.servers, &jobs2, &mut |j, item, _| {
            if !for_a_miss[j] {
                on_hit(owner[j], item)
            }
        });
        for (((a, &j), job), &miss) in answers.into_iter().zip(&owner).zip(&jobs2).zip(&for_a_miss)
        {
            if a.is_ok() {
                self.servers.count(job.server, Counter::Failovers);
            }
            match a {
                Ok(_) if miss => results[j] = Ok(false),
                Ok(Answer::Hit) => results[j] = Ok(true),
                Ok(_) => results[j] = Ok(false),
                Err(_) => {}
            }
        }
        Ok(results)
    }

    /// Writes many keys (checked, with their placement hashes) in one
    /// fan-out over all their copies; keys that reached no copy get one more
    /// fan-out to their failover targets. Only for writes without a
    /// condition (set, delete).
    pub(crate) fn write_multi(
        &self,
        writes: &[(&[u8], JobKind<'_>)],
        hashes: &[u32],
    ) -> Vec<Result<Answer>> {
        let probes = Probes::default();
        let mut routes = Vec::with_capacity(writes.len());
        let simple = if self.is_simple() { self.owners(hashes).ok() } else { None };
        if let Some(owners) = simple {
            // Every server alive, one copy: the owners.
            for (&h, p) in hashes.iter().zip(owners) {
                let one = Copies::one(p);
                routes.push(Ok((h, Route { home: one, targets: one, rerouted: false })));
            }
        } else {
            for &h in hashes {
                routes.push(self.route_hash(h, &probes).map(|r| (h, r)));
            }
        }
        let mut jobs = Vec::new();
        let mut owner = Vec::new();
        for (i, ((key, kind), route)) in writes.iter().zip(&routes).enumerate() {
            let Ok((_, route)) = route else { continue };
            let kind =
                if route.rerouted { clamp_ttl(*kind, self.policy.gutter_ttl) } else { *kind };
            for s in route.targets.iter() {
                jobs.push(Job::new(s, key, kind));
                owner.push(i);
            }
        }
        let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
        let mut per_key: Vec<Vec<(usize, Result<Answer>)>> =
            (0..writes.len()).map(|_| Vec::new()).collect();
        for ((job, a), &i) in jobs.iter().zip(answers).zip(&owner) {
            per_key[i].push((job.server, a));
        }

        let mut results: Vec<Option<Result<Answer>>> = (0..writes.len()).map(|_| None).collect();
        let mut retry: Vec<(usize, u32, Route, Copies, Error)> = Vec::new();
        for (i, route) in routes.iter().enumerate() {
            let (h, route) = match route {
                Ok(r) => r,
                Err(e) => {
                    results[i] = Some(Err(e.clone()));
                    continue;
                }
            };
            let (key, kind) = writes[i];
            if route.targets.is_empty() {
                for s in route.missed_home() {
                    self.servers.forget_later(s, key);
                }
                retry.push((i, *h, *route, Copies::new(), self.down_error(route)));
                continue;
            }
            match self.settle(key, route, &kind, std::mem::take(&mut per_key[i])) {
                Settled::Done(a) => results[i] = Some(Ok(a)),
                Settled::Failed(failed, e) => retry.push((i, *h, *route, failed, e)),
            }
        }

        // Keys that reached no copy: their failover targets, in one fan-out.
        let mut jobs = Vec::new();
        let mut fallbacks = Vec::new();
        for (i, h, route, failed, e) in retry {
            let (key, kind) = writes[i];
            for s in failed.iter() {
                self.servers.forget_later(s, key);
            }
            if e == Error::Interrupted {
                results[i] = Some(Err(e));
                continue;
            }
            let mut tried = failed;
            for s in route.targets.iter() {
                tried.push(s);
            }
            match self.fallback_in(h, &route, &tried, &probes) {
                Some(fb) => {
                    let kind = clamp_ttl(kind, self.policy.gutter_ttl);
                    for s in fb.targets.iter() {
                        jobs.push(Job::new(s, key, kind));
                    }
                    fallbacks.push((i, route, fb, e));
                }
                None => results[i] = Some(Err(e)),
            }
        }
        if !jobs.is_empty() {
            let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
            let mut answers = jobs.iter().map(|j| j.server).zip(answers);
            for (i, route, fb, e) in fallbacks {
                let mine: Vec<(usize, Result<Answer>)> =
                    answers.by_ref().take(fb.targets.len()).collect();
                let (key, kind) = writes[i];
                // The fallback route keeps the key's home, so its answer is
                // settled as one that went elsewhere.
                let fb = Route { home: route.home, ..fb };
                results[i] = Some(match self.settle(key, &fb, &kind, mine) {
                    Settled::Done(a) => Ok(a),
                    Settled::Failed(_, _) => Err(e),
                });
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::protocol("", "write left unanswered"))))
            .collect()
    }
}
