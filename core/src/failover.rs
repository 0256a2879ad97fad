//! How reads and writes use a key's copies while servers fail.
//!
//! * **Reads** try the key's live copies in order (primary first, or a
//!   random copy first with `read_policy=random`) until one has the key. When
//!   every copy failed, the failover target is tried (`next`: the next live
//!   server on the ring; `gutter`: the gutter pool). With `read_repair`, a
//!   value found after a copy missed it is written back to that copy with
//!   `add` and the value's remaining TTL, so a restarted server warms up.
//! * **Writes** go to every live copy in one fan-out. The first copy that
//!   answers decides the result; copies that failed or were skipped count as
//!   `replica_write_failures`. Conditional writes (add, replace, cas, append,
//!   prepend, incr, decr) go to the first copy first and, once it took
//!   effect, to the others, so copies never take a write the primary refused.
//!   A write that reached no copy is retried once on the failover target and
//!   is otherwise an error, never a silent success.
//! * **Stale values after recovery**: a write that goes elsewhere, or fails,
//!   on one of its key's home copies leaves that server holding an older
//!   value. The key is queued on the server ([`crate::server::Invalidations`])
//!   and deleted there before the server serves anything again; writes that
//!   land off their key's home carry a TTL of at most `gutter_ttl`, so they
//!   cannot resurface later either.

use crate::cluster::{Cluster, Probes};
use crate::config::Failover;
use crate::error::{Error, Result};
use crate::fanout::{self, encode_job, text_answer, Answer, Job, JobKind};
use crate::protocol::meta::{self, MetaFlag, MetaReply};
use crate::protocol::text::{Retrieval, Storage, TextReply};
use crate::reply::{is_prefixed, meta_unexpected, unexpected, ItemRef, Status};
use crate::router::{Copies, Route};
use crate::server_set::Flow;
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

/// Whether a write kind only takes effect under a condition the first copy
/// decides.
fn is_conditional(kind: &JobKind<'_>) -> bool {
    match kind {
        JobKind::Store { cmd, .. } => !matches!(cmd, Storage::Set),
        JobKind::Arith(..) => true,
        _ => false,
    }
}

/// What the other copies get once the first copy accepted a conditional
/// write: the value itself for add/replace/cas, the same command otherwise.
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
        other => other,
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
    pub(crate) fn read<T>(
        &self,
        key: &[u8],
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        let (h, route) = self.route(key)?;
        let mut f = Some(f);
        let mut missed = Copies::new();
        let mut failed = Copies::new();
        let mut first_err: Option<Error> = None;
        let order = self.read_order(&route);
        let repairing = self.policy.read_repair && cmd == Retrieval::Get;
        for &s in order.as_slice() {
            let mut repair = None;
            let keep = repairing && !missed.is_empty();
            match self.read_on(s, key, cmd, keep, &mut f, &mut repair) {
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
            for &s in fallback.targets.as_slice() {
                let mut repair = None;
                match self.read_on(s, key, cmd, false, &mut f, &mut repair) {
                    Ok(found) => return Ok(found),
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

    /// One read of `key` on server `s`. With `keep`, the value is read with
    /// its TTL (meta `mg`) and kept in `repair` for writing back elsewhere.
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
            self.servers.exchange_meta(
                s,
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
            self.servers.exchange(
                s,
                |buf| encode_job(buf, prefix, &Job { server: s, key, kind: JobKind::Get(cmd) }),
                |name, reply| match reply {
                    TextReply::Value { key: got, flags, data, cas } => {
                        if found.is_some() || !is_prefixed(got, prefix, key) {
                            return Err(Error::protocol(
                                name,
                                "reply for a key that was not asked for",
                            ));
                        }
                        found = f.take().map(|f| f(ItemRef { value: data, flags, cas }));
                        Ok(Flow::More)
                    }
                    TextReply::End => Ok(Flow::Done(())),
                    other => Err(unexpected(name, other)),
                },
            )?;
        }
        self.servers.count(s, if found.is_some() { Counter::Hits } else { Counter::Misses });
        Ok(found)
    }

    /// Reads `key` with its flags, CAS token and remaining TTL (meta `mg`),
    /// from the first of its copies that answers (for read-modify-write).
    pub(crate) fn read_for_update(&self, key: &[u8]) -> Result<Option<FullItem>> {
        let (_, route) = self.route(key)?;
        let prefix = self.prefix();
        let mut first_err = None;
        for &s in route.targets.as_slice() {
            let mut found = None;
            let r = self.servers.exchange_meta(
                s,
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
        let jobs: Vec<Job<'_>> =
            missed.as_slice().iter().map(|&s| Job { server: s, key, kind }).collect();
        let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
        for (job, a) in jobs.iter().zip(answers) {
            if a == Ok(Answer::Status(Status::Done)) {
                self.servers.count(job.server, Counter::ReadRepairs);
            }
        }
    }

    /// Writes one key to its copies (or failover target).
    pub(crate) fn write(&self, key: &[u8], kind: JobKind<'_>) -> Result<Answer> {
        let (h, route) = self.route(key)?;
        // Fast path: one live copy, nothing missed.
        if route.targets.len() == 1 && route.home.len() == 1 && !route.rerouted {
            let s = route.targets.as_slice()[0];
            return match self.write_on(s, key, kind) {
                Ok(a) => Ok(a),
                Err(e) if e.is_server_failure() => {
                    self.write_after_failure(key, h, &route, kind, e)
                }
                Err(e) => Err(e),
            };
        }
        match self.write_route(key, &route, kind) {
            Settled::Done(a) => Ok(a),
            Settled::Failed(_, Error::Interrupted) => Err(Error::Interrupted),
            Settled::Failed(_, e) => self.write_after_failure(key, h, &route, kind, e),
        }
    }

    /// A write whose copies all failed: one more try on the failover
    /// target, else the error (and the failed copies must forget the key).
    fn write_after_failure(
        &self,
        key: &[u8],
        h: u32,
        route: &Route,
        kind: JobKind<'_>,
        e: Error,
    ) -> Result<Answer> {
        // Whatever happens next, the failed copies missed this write (or may
        // apply it late): they must forget the key.
        let failed = route.targets;
        for &s in failed.as_slice() {
            self.servers.forget_later(s, key);
        }
        if let Some(fallback) = self.fallback(h, route, &failed) {
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
        let targets = route.targets.as_slice();
        let mut results: Vec<(usize, Result<Answer>)> = Vec::with_capacity(targets.len());
        if is_conditional(&kind) && targets.len() > 1 {
            // The first copy decides; the others follow only if it took effect.
            let first = targets[0];
            let r = self.write_on(first, key, kind);
            let took = matches!(r, Ok(Answer::Status(Status::Done)) | Ok(Answer::Number(Some(_))));
            let first_failed = matches!(&r, Err(e) if e.is_server_failure());
            results.push((first, r));
            if took || first_failed {
                let follow = if took { propagation(kind) } else { kind };
                let jobs: Vec<Job<'_>> =
                    targets[1..].iter().map(|&s| Job { server: s, key, kind: follow }).collect();
                let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
                results.extend(jobs.iter().map(|j| j.server).zip(answers));
            }
        } else if targets.len() == 1 {
            results.push((targets[0], self.write_on(targets[0], key, kind)));
        } else {
            let jobs: Vec<Job<'_>> =
                targets.iter().map(|&s| Job { server: s, key, kind }).collect();
            let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
            results.extend(targets.iter().copied().zip(answers));
        }
        self.settle(key, route, results)
    }

    /// Decides a write's result from its copies' answers and books the
    /// copies it missed.
    fn settle(&self, key: &[u8], route: &Route, results: Vec<(usize, Result<Answer>)>) -> Settled {
        let mut answer = None;
        let mut failed = Copies::new();
        let mut first_err = None;
        for (s, r) in results {
            match r {
                Ok(a) => {
                    answer.get_or_insert(a);
                }
                Err(e) => {
                    failed.push(s);
                    first_err.get_or_insert(e);
                }
            }
        }
        let Some(answer) = answer else {
            return Settled::Failed(failed, first_err.unwrap_or_else(|| self.down_error(route)));
        };
        // The write took effect somewhere: every copy that did not get it
        // must forget the key before it serves again.
        for &s in failed.as_slice() {
            self.servers.count(s, Counter::ReplicaWriteFailures);
            self.servers.forget_later(s, key);
        }
        for s in route.missed_home() {
            self.servers.count(s, Counter::ReplicaWriteFailures);
            self.servers.forget_later(s, key);
        }
        if route.rerouted {
            if let Some(&s) = route.targets.as_slice().first() {
                self.servers.count(s, Counter::Failovers);
            }
        }
        Settled::Done(answer)
    }

    /// One write of `key` on server `s`, on its own connection.
    fn write_on(&self, s: usize, key: &[u8], kind: JobKind<'_>) -> Result<Answer> {
        let prefix = self.prefix();
        self.servers.count(s, kind.counter());
        let job = Job { server: s, key, kind };
        self.servers.exchange(
            s,
            |buf| encode_job(buf, prefix, &job),
            |name, reply| text_answer(name, &job.kind, reply).map(Flow::Done),
        )
    }

    /// Reads many keys: each round asks every unresolved key's next copy, in
    /// one fan-out; keys whose copies all failed get their failover target.
    pub(crate) fn read_multi(
        &self,
        keys: &[&[u8]],
        cmd: Retrieval,
        mut on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        if self.is_simple() {
            return self.read_multi_simple(keys, cmd, on_hit);
        }
        let probes = Probes::default();
        let mut plans = Vec::with_capacity(keys.len());
        for key in keys {
            let (h, route) = self.route_in(key, &probes)?;
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
            for (k, (h, route, order)) in plans.iter().enumerate() {
                let st = &state[k];
                if st.found.is_some() {
                    continue;
                }
                let server = if round < order.len() {
                    Some(order.as_slice()[round])
                } else if round == order.len() && st.missed.is_empty() {
                    // Every copy failed (or none was usable): failover target.
                    self.fallback_in(*h, route, &st.failed, &probes).and_then(|r| r.targets.first())
                } else {
                    None
                };
                let Some(server) = server else { continue };
                let kind = if repairing && !st.missed.is_empty() {
                    JobKind::MetaGet
                } else {
                    JobKind::Get(cmd)
                };
                jobs.push(Job { server, key: keys[k], kind });
                owner.push(k);
            }
            if jobs.is_empty() {
                break;
            }
            let answers = fanout::run(&self.servers, &jobs, &mut |j, item, ttl| {
                let k = owner[j];
                if matches!(jobs[j].kind, JobKind::MetaGet) {
                    state[k].repair =
                        Some(Repair { value: item.value.to_vec(), flags: item.flags, ttl });
                }
                on_hit(k, item);
            });
            let mut interrupted = false;
            for ((j, a), &k) in answers.into_iter().enumerate().zip(&owner) {
                let st = &mut state[k];
                if a == Err(Error::Interrupted) {
                    interrupted = true;
                }
                match a {
                    Ok(Answer::Hit) => st.found = Some(true),
                    Ok(_) => st.missed.push(jobs[j].server),
                    Err(e) => {
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
                for &s in st.missed.as_slice() {
                    let kind = JobKind::Store {
                        cmd: Storage::Add,
                        value: &r.value,
                        flags: r.flags,
                        ttl: r.exptime(),
                    };
                    repairs.push(Job { server: s, key: keys[k], kind });
                }
            }
        }
        if !repairs.is_empty() {
            let answers = fanout::run(&self.servers, &repairs, &mut |_, _, _| {});
            for (job, a) in repairs.iter().zip(answers) {
                if a == Ok(Answer::Status(Status::Done)) {
                    self.servers.count(job.server, Counter::ReadRepairs);
                }
            }
        }

        let none_mode = self.policy.failover == Failover::None;
        Ok(state
            .into_iter()
            .zip(&plans)
            .map(|(st, (_, route, _))| match (st.found, st.error) {
                (Some(_), _) => Ok(true),
                (None, _) if !st.missed.is_empty() => Ok(false),
                (None, Some(e)) => Err(e),
                (None, None) if none_mode => Ok(false),
                (None, None) => Err(self.down_error(route)),
            })
            .collect())
    }

    /// [`Client::read_multi`] while every server is alive and keys have one
    /// copy: one fan-out to the owners; keys whose server fails in it get
    /// one more fan-out to their failover targets.
    fn read_multi_simple(
        &self,
        keys: &[&[u8]],
        cmd: Retrieval,
        mut on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        let mut jobs = Vec::with_capacity(keys.len());
        for (key, server) in keys.iter().zip(self.primaries(keys)?) {
            jobs.push(Job { server, key, kind: JobKind::Get(cmd) });
        }
        let answers = fanout::run(&self.servers, &jobs, &mut |j, item, _| on_hit(j, item));
        let mut results: Vec<Result<bool>> = Vec::with_capacity(keys.len());
        let mut retry = Vec::new();
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
        for &j in &retry {
            let key = keys[j];
            let h = self.router.key_hash(key);
            let failed = Copies::one(jobs[j].server);
            let route = Route { home: failed, targets: failed, rerouted: false };
            if let Some(s) =
                self.fallback_in(h, &route, &failed, &probes).and_then(|r| r.targets.first())
            {
                jobs2.push(Job { server: s, key, kind: JobKind::Get(cmd) });
                owner.push(j);
            }
        }
        let answers = fanout::run(&self.servers, &jobs2, &mut |j, item, _| on_hit(owner[j], item));
        for (a, &j) in answers.into_iter().zip(&owner) {
            match a {
                Ok(Answer::Hit) => results[j] = Ok(true),
                Ok(_) => results[j] = Ok(false),
                Err(_) => {}
            }
        }
        Ok(results)
    }

    /// Writes many keys (already checked) in one fan-out over all their
    /// copies; keys that reached no copy get one more fan-out to their
    /// failover targets.
    pub(crate) fn write_multi(&self, writes: &[(&[u8], JobKind<'_>)]) -> Vec<Result<Answer>> {
        let probes = Probes::default();
        let mut routes = Vec::with_capacity(writes.len());
        let simple = if self.is_simple() {
            let keys: Vec<&[u8]> = writes.iter().map(|(k, _)| *k).collect();
            self.primaries(&keys).ok()
        } else {
            None
        };
        if let Some(primaries) = simple {
            // Every server alive, one copy: the owners, hashed in a batch.
            for ((key, _), p) in writes.iter().zip(primaries) {
                let one = Copies::one(p);
                routes.push(Ok((
                    self.router.key_hash(key),
                    Route { home: one, targets: one, rerouted: false },
                )));
            }
        } else {
            for (key, _) in writes {
                routes.push(self.route_in(key, &probes));
            }
        }
        let mut jobs = Vec::new();
        let mut owner = Vec::new();
        for (i, ((key, kind), route)) in writes.iter().zip(&routes).enumerate() {
            let Ok((_, route)) = route else { continue };
            let kind =
                if route.rerouted { clamp_ttl(*kind, self.policy.gutter_ttl) } else { *kind };
            for &s in route.targets.as_slice() {
                jobs.push(Job { server: s, key, kind });
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
            let key = writes[i].0;
            if route.targets.is_empty() {
                for s in route.missed_home() {
                    self.servers.forget_later(s, key);
                }
                retry.push((i, *h, *route, Copies::new(), self.down_error(route)));
                continue;
            }
            match self.settle(key, route, std::mem::take(&mut per_key[i])) {
                Settled::Done(a) => results[i] = Some(Ok(a)),
                Settled::Failed(failed, e) => retry.push((i, *h, *route, failed, e)),
            }
        }

        // Keys that reached no copy: their failover targets, in one fan-out.
        let mut jobs = Vec::new();
        let mut fallbacks = Vec::new();
        for (i, h, route, failed, e) in retry {
            if e == Error::Interrupted {
                results[i] = Some(Err(e));
                continue;
            }
            match self.fallback_in(h, &route, &failed, &probes) {
                Some(fb) => {
                    let kind = clamp_ttl(writes[i].1, self.policy.gutter_ttl);
                    for &s in fb.targets.as_slice() {
                        jobs.push(Job { server: s, key: writes[i].0, kind });
                    }
                    fallbacks.push((i, fb, failed, e));
                }
                None => {
                    for &s in failed.as_slice() {
                        self.servers.forget_later(s, writes[i].0);
                    }
                    results[i] = Some(Err(e));
                }
            }
        }
        if !jobs.is_empty() {
            let answers = fanout::run(&self.servers, &jobs, &mut |_, _, _| {});
            let mut answers = jobs.iter().map(|j| j.server).zip(answers);
            for (i, fb, failed, e) in fallbacks {
                let mine: Vec<(usize, Result<Answer>)> =
                    answers.by_ref().take(fb.targets.len()).collect();
                for &s in failed.as_slice() {
                    self.servers.forget_later(s, writes[i].0);
                }
                results[i] = Some(match self.settle(writes[i].0, &fb, mine) {
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
