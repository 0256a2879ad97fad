//! Resizing without a miss storm, and a cold pool's warm-up: a key that
//! misses where it lives now is looked for where it lived before, and
//! copied over.
//!
//! * **Migration** (`migration=true`, the default, for run-time changes):
//!   for `migration_s` after a change of the server list, a key that misses
//!   on its new owner is read from its owner on the previous ring (the few
//!   previous rings, newest first) and, when found, added to the new owner
//!   with its remaining TTL (an absolute time beyond 30 days) before the
//!   read returns — mcrouter's MigrateRoute, in the client. Servers removed
//!   without `drain` are not read; servers removed with `drain` are, until
//!   the window ends.
//! * **Warm-up** (`warmup=host:port,...`): a key that misses on the pool
//!   (after migration) is read from the warm pool and added to the pool the
//!   same way — Facebook's cold cluster warm-up.
//!
//! Writes keep the old copies from coming back: a write or delete during
//! the window goes to the new owner, then deletes the key on its old owners
//! (those it would be read from) and on the warm pool, and waits for those
//! deletes. Writes that need the key to exist (replace, append, prepend,
//! cas, incr, decr, touch) first migrate a key their new owner does not
//! have, and `add` (a lock, often) migrates it before it runs, so it fails
//! when the key exists on the old ring. A delete that found the key only on
//! the old ring reports it deleted. Quiet (noreply) writes delete old copies
//! quietly and do not migrate. One race is left, as in mcrouter: a read
//! that found an old copy just before a concurrent delete of the key may
//! add it back to the new owner.
//!
//! Nothing of this runs while the snapshot has no earlier ring and no warm
//! pool: the request is exactly its cluster's.

use std::sync::Arc;

use crate::cluster::{Cluster, Placement, Probes};
use crate::error::{Error, Result};
use crate::failover::FullItem;
use crate::fanout;
use crate::health::{monotonic_ms, Availability};
use crate::job::{Answer, Job, JobKind};
use crate::membership::{Previous, Snapshot};
use crate::protocol::exptime_for_remaining;
use crate::protocol::text::{Retrieval, Storage};
use crate::reply::{ItemRef, Status};
use crate::router::Copies;
use crate::server::Server;
use crate::stats::Counter;

/// Where a value missing from the pool was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// A previous ring.
    Previous,
    /// The warm pool.
    Warm,
}

/// Whether an answer says the key was not there.
fn is_absent(a: &Answer) -> bool {
    matches!(
        a,
        Answer::Status(Status::NotFound | Status::NotStored) | Answer::Number(None) | Answer::Miss
    )
}

impl Snapshot {
    // ---- one key -------------------------------------------------------------

    /// Reads one key; a miss is looked for elsewhere.
    #[inline]
    pub(crate) fn read<T>(
        &self,
        key: &[u8],
        at: Placement<'_>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        if !self.has_sources() {
            return self.cluster.read(key, at, cmd, f);
        }
        self.read_elsewhere(key, at, cmd, f)
    }

    fn read_elsewhere<T>(
        &self,
        key: &[u8],
        at: Placement<'_>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut apply = |item: ItemRef<'_>| f.take().map(|f| f(item));
        if let Some(v) = self.cluster.read(key, at, cmd, &mut apply)? {
            return Ok(v);
        }
        let Some((item, _)) = self.migrate(key, at)? else { return Ok(None) };
        if cmd == Retrieval::Get {
            return Ok(apply(ItemRef { value: &item.value, flags: item.flags, cas: None }));
        }
        // A CAS token or a touch is the new owner's: ask it again.
        Ok(self.cluster.read(key, at, cmd, &mut apply)?.flatten())
    }

    /// Reads a key with everything needed to write it back.
    pub(crate) fn read_for_update(
        &self,
        key: &[u8],
        at: Placement<'_>,
    ) -> Result<Option<FullItem>> {
        let found = self.cluster.read_for_update(key, at)?;
        if found.is_some() || !self.has_sources() || self.migrate(key, at)?.is_none() {
            return Ok(found);
        }
        self.cluster.read_for_update(key, at)
    }

    /// Writes one key (see the module's rules for writes during a window).
    #[inline]
    pub(crate) fn write(&self, key: &[u8], at: Placement<'_>, kind: JobKind<'_>) -> Result<Answer> {
        if !self.has_sources() {
            return self.cluster.write(key, at, kind);
        }
        self.write_elsewhere(key, at, kind)
    }

    fn write_elsewhere(&self, key: &[u8], at: Placement<'_>, kind: JobKind<'_>) -> Result<Answer> {
        let answer = match kind {
            JobKind::Store { cmd: Storage::Set, .. } | JobKind::Delete => {
                self.cluster.write(key, at, kind)?
            }
            JobKind::Store { cmd: Storage::Add, .. } => {
                self.migrate(key, at)?;
                self.cluster.write(key, at, kind)?
            }
            JobKind::ArithOrInit { arith, delta, .. } => {
                match self.cluster.write(key, at, JobKind::Arith(arith, delta))? {
                    Answer::Number(None) => {
                        self.migrate(key, at)?;
                        self.cluster.write(key, at, kind)?
                    }
                    a => a,
                }
            }
            _ => {
                let a = self.cluster.write(key, at, kind)?;
                if is_absent(&a) && self.migrate(key, at)?.is_some() {
                    self.cluster.write(key, at, kind)?
                } else {
                    a
                }
            }
        };
        let h = self.cluster.place(key, at)?;
        let deleted = self.forget_elsewhere(&[key], &[h], false);
        if matches!(kind, JobKind::Delete) && answer == Answer::Status(Status::NotFound) && deleted
        {
            return Ok(Answer::Status(Status::Done));
        }
        Ok(answer)
    }

    /// Writes one key without waiting for its reply; old copies are deleted
    /// the same way.
    #[inline]
    pub(crate) fn write_quiet(
        &self,
        key: &[u8],
        at: Placement<'_>,
        kind: JobKind<'_>,
    ) -> Result<()> {
        let r = self.cluster.write_quiet(key, at, kind);
        if self.has_sources() {
            if let Ok(h) = self.cluster.place(key, at) {
                self.forget_elsewhere(&[key], &[h], true);
            }
        }
        r
    }

    /// Looks for `key` elsewhere and copies it to its owner; the value found.
    fn migrate(&self, key: &[u8], at: Placement<'_>) -> Result<Option<(FullItem, Source)>> {
        let h = self.cluster.place(key, at)?;
        let mut found = self.find_many(&[key], &[h], &[0])?;
        let Some((_, item, source)) = found.pop() else { return Ok(None) };
        self.copy_many(&[key], &[h], &[(0, item_ref(&item), source)], at);
        Ok(Some((item, source)))
    }

    // ---- many keys -----------------------------------------------------------

    /// Reads many keys; misses are looked for elsewhere.
    #[inline]
    pub(crate) fn read_multi(
        &self,
        keys: &[&[u8]],
        hashes: &[u32],
        at: Placement<'_>,
        cmd: Retrieval,
        mut on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        if !self.has_sources() {
            return self.cluster.read_multi(keys, hashes, cmd, on_hit);
        }
        let mut results = self.cluster.read_multi(keys, hashes, cmd, &mut on_hit)?;
        let missed: Vec<usize> = (0..keys.len()).filter(|&k| results[k] == Ok(false)).collect();
        if missed.is_empty() {
            return Ok(results);
        }
        let found = self.find_many(keys, hashes, &missed)?;
        if found.is_empty() {
            return Ok(results);
        }
        let copies: Vec<(usize, Copied<'_>, Source)> =
            found.iter().map(|(k, item, source)| (*k, item_ref(item), *source)).collect();
        self.copy_many(keys, hashes, &copies, at);
        if cmd == Retrieval::Get {
            for (k, item, _) in &found {
                on_hit(*k, ItemRef { value: &item.value, flags: item.flags, cas: None });
                results[*k] = Ok(true);
            }
            return Ok(results);
        }
        // CAS tokens and touches are the new owners': ask them again.
        let index: Vec<usize> = found.iter().map(|(k, _, _)| *k).collect();
        let again: Vec<&[u8]> = index.iter().map(|&k| keys[k]).collect();
        let again_hashes: Vec<u32> = index.iter().map(|&k| hashes[k]).collect();
        let answers = self
            .cluster
            .read_multi(&again, &again_hashes, cmd, |j, item| on_hit(index[j], item))?;
        for (j, r) in answers.into_iter().enumerate() {
            results[index[j]] = r;
        }
        Ok(results)
    }

    /// Writes many keys (set, delete); old copies are deleted.
    #[inline]
    pub(crate) fn write_multi(
        &self,
        writes: &[(&[u8], JobKind<'_>)],
        hashes: &[u32],
    ) -> Vec<Result<Answer>> {
        let results = self.cluster.write_multi(writes, hashes);
        if self.has_sources() {
            let keys: Vec<&[u8]> = writes.iter().map(|(k, _)| *k).collect();
            self.forget_elsewhere(&keys, hashes, false);
        }
        results
    }

    /// Writes many keys without waiting for replies; old copies are deleted
    /// quietly.
    #[inline]
    pub(crate) fn write_multi_quiet(
        &self,
        writes: &[(&[u8], JobKind<'_>)],
        hashes: &[u32],
    ) -> Vec<Result<()>> {
        let results = self.cluster.write_multi_quiet(writes, hashes);
        if self.has_sources() {
            let keys: Vec<&[u8]> = writes.iter().map(|(k, _)| *k).collect();
            self.forget_elsewhere(&keys, hashes, true);
        }
        results
    }

    // ---- where old copies are ------------------------------------------------

    /// The earlier rings still within their window.
    fn live_previous(&self, now: u64) -> impl Iterator<Item = &Previous> {
        self.previous.iter().filter(move |p| now < p.until_ms)
    }

    /// The servers of key hash `h`'s home on the current ring.
    fn home_servers(&self, h: u32) -> Vec<&Arc<Server>> {
        let all = self.cluster.servers.all();
        self.cluster.router.home(h).iter().filter_map(|s| all.get(s)).collect()
    }

    /// The copies of `h` on earlier ring `p` that may hold an old value: on
    /// servers migration may read, not home copies on the current ring, and
    /// not in `asked` (pushed there).
    fn old_copies(
        &self,
        p: &Previous,
        h: u32,
        home: &[&Arc<Server>],
        asked: &mut Vec<*const Server>,
    ) -> Copies {
        let mut copies = Copies::new();
        let all = p.cluster.servers.all();
        for s in p.cluster.router.home(h).iter() {
            let Some(server) = all.get(s) else { continue };
            let ptr = Arc::as_ptr(server);
            if !p.readable.get(s).copied().unwrap_or(false)
                || home.iter().any(|n| Arc::as_ptr(n) == ptr)
                || asked.contains(&ptr)
            {
                continue;
            }
            asked.push(ptr);
            copies.push(s);
        }
        copies
    }

    /// Looks for the keys `which` (indices into `keys`) on the earlier rings,
    /// then on the warm pool: each key found with its value and where.
    fn find_many(
        &self,
        keys: &[&[u8]],
        hashes: &[u32],
        which: &[usize],
    ) -> Result<Vec<(usize, FullItem, Source)>> {
        let now = monotonic_ms();
        let mut found: Vec<Option<(FullItem, Source)>> = (0..keys.len()).map(|_| None).collect();
        let mut asked: Vec<Vec<*const Server>> = vec![Vec::new(); keys.len()];
        for p in self.live_previous(now) {
            let mut jobs = Vec::new();
            let mut owner = Vec::new();
            for &k in which {
                if found[k].is_some() {
                    continue;
                }
                let home = self.home_servers(hashes[k]);
                let copies = self.old_copies(p, hashes[k], &home, &mut asked[k]);
                // One old copy per key: the first that may be contacted.
                let usable = copies
                    .iter()
                    .find(|&s| p.cluster.servers.availability(s, now) != Availability::Down);
                if let Some(s) = usable {
                    jobs.push(Job::new(s, keys[k], JobKind::MetaGet));
                    owner.push(k);
                }
            }
            read_into(&p.cluster, &jobs, &owner, Source::Previous, &mut found)?;
        }
        if let Some(warm) = &self.warm {
            let probes = Probes::default();
            let mut jobs = Vec::new();
            let mut owner = Vec::new();
            for &k in which {
                if found[k].is_some() {
                    continue;
                }
                let target =
                    warm.route_hash(hashes[k], &probes).ok().and_then(|r| r.targets.first());
                if let Some(s) = target {
                    jobs.push(Job::new(s, keys[k], JobKind::MetaGet));
                    owner.push(k);
                }
            }
            read_into(warm, &jobs, &owner, Source::Warm, &mut found)?;
        }
        Ok(found.into_iter().enumerate().filter_map(|(k, f)| f.map(|(i, s)| (k, i, s))).collect())
    }

    /// Adds the values found elsewhere to their keys' owners, in one
    /// fan-out for keys with one live copy (the others one by one).
    fn copy_many(
        &self,
        keys: &[&[u8]],
        hashes: &[u32],
        found: &[(usize, Copied<'_>, Source)],
        at: Placement<'_>,
    ) {
        let probes = Probes::default();
        let mut jobs = Vec::new();
        let mut owner = Vec::new();
        for &(k, item, source) in found {
            let kind = JobKind::Store {
                cmd: Storage::Add,
                value: item.value,
                flags: item.flags,
                ttl: exptime_for_remaining(item.ttl),
            };
            let home = self.cluster.router.home(hashes[k]).first();
            if source == Source::Warm {
                if let Some(s) = home {
                    self.cluster.servers.count(s, Counter::WarmupHits);
                }
            }
            match self.cluster.route_hash(hashes[k], &probes) {
                Ok(route)
                    if route.targets.len() == 1 && route.home.len() == 1 && !route.rerouted =>
                {
                    if let Some(s) = route.targets.first() {
                        jobs.push(Job::new(s, keys[k], kind));
                        owner.push((home, source));
                    }
                }
                Ok(_) => {
                    // Several copies: the write path's rules for a conditional write.
                    let stored = self.cluster.write(keys[k], at, kind);
                    if stored == Ok(Answer::Status(Status::Done)) && source == Source::Previous {
                        if let Some(s) = home {
                            self.cluster.servers.count(s, Counter::MigratedKeys);
                        }
                    }
                }
                Err(_) => {}
            }
        }
        if jobs.is_empty() {
            return;
        }
        let answers = fanout::run(&self.cluster.servers, &jobs, &mut |_, _, _| {});
        for (a, (home, source)) in answers.into_iter().zip(owner) {
            if a == Ok(Answer::Status(Status::Done)) && source == Source::Previous {
                if let Some(s) = home {
                    self.cluster.servers.count(s, Counter::MigratedKeys);
                }
            }
        }
    }

    /// Deletes the keys' old copies on the earlier rings and on the warm
    /// pool (quietly with `quiet`); whether a delete found one.
    fn forget_elsewhere(&self, keys: &[&[u8]], hashes: &[u32], quiet: bool) -> bool {
        let now = monotonic_ms();
        let mut deleted = false;
        let mut asked: Vec<Vec<*const Server>> = vec![Vec::new(); keys.len()];
        for p in self.live_previous(now) {
            let mut jobs = Vec::new();
            for (k, key) in keys.iter().enumerate() {
                let home = self.home_servers(hashes[k]);
                for s in self.old_copies(p, hashes[k], &home, &mut asked[k]).iter() {
                    if p.cluster.servers.availability(s, now) == Availability::Down {
                        // It must forget the key before it serves again.
                        p.cluster.servers.forget_later(s, key);
                        continue;
                    }
                    jobs.push(if quiet {
                        Job::quiet(s, key, JobKind::Delete)
                    } else {
                        Job::new(s, key, JobKind::Delete)
                    });
                }
            }
            if !jobs.is_empty() {
                let answers = fanout::run(&p.cluster.servers, &jobs, &mut |_, _, _| {});
                for (job, a) in jobs.iter().zip(answers) {
                    match a {
                        Ok(Answer::Status(Status::Done)) => deleted = true,
                        Ok(_) => {}
                        Err(_) => p.cluster.servers.forget_later(job.server, job.key),
                    }
                }
            }
        }
        if let Some(warm) = &self.warm {
            let writes: Vec<(&[u8], JobKind<'_>)> =
                keys.iter().map(|k| (*k, JobKind::Delete)).collect();
            if quiet {
                warm.write_multi_quiet(&writes, hashes);
            } else {
                for a in warm.write_multi(&writes, hashes) {
                    deleted |= a == Ok(Answer::Status(Status::Done));
                }
            }
        }
        deleted
    }
}

/// A value found elsewhere, borrowed for copying.
#[derive(Clone, Copy)]
struct Copied<'a> {
    value: &'a [u8],
    flags: u32,
    ttl: i64,
}

fn item_ref(item: &FullItem) -> Copied<'_> {
    Copied { value: &item.value, flags: item.flags, ttl: item.ttl }
}

/// Runs `mg` jobs on `cluster` and keeps the values found (job `j` is for
/// key `owner[j]`). A server that fails is a miss here: the key is simply
/// not migrated.
fn read_into(
    cluster: &Cluster,
    jobs: &[Job<'_>],
    owner: &[usize],
    source: Source,
    found: &mut [Option<(FullItem, Source)>],
) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let answers = fanout::run(&cluster.servers, jobs, &mut |j, item, ttl| {
        found[owner[j]] = Some((
            FullItem {
                value: item.value.to_vec(),
                flags: item.flags,
                cas: 0,
                ttl: ttl.unwrap_or(-1),
            },
            source,
        ));
    });
    if answers.iter().any(|a| a == &Err(Error::Interrupted)) {
        return Err(Error::Interrupted);
    }
    Ok(())
}
