//! Per-server state: idle connections, health and counters.
//!
//! Health follows one rule: after `failure_limit` consecutive failures a
//! server is dead for `retry_timeout_ms`; after that a single request probes
//! it (the others keep treating it as dead), and one success makes it alive
//! again. All of it is atomics, so it is shared by threads without locks and
//! survives `fork()` correctly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::config::ServerSpec;
use crate::conn::{fork_generation, Conn};
use crate::shared_health::HealthCell;
use crate::stats::Counters;

/// Milliseconds on the system's monotonic clock (comparable across the
/// processes of one machine, unlike `Instant`).
#[inline]
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    (ts.tv_sec as u64).saturating_mul(1000) + (ts.tv_nsec as u64) / 1_000_000
}

/// Whether a server may be used right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    /// Alive: use it.
    Up,
    /// Dead, but its retry time has come and this caller won the probe.
    Probe,
    /// Dead: do not contact it.
    Down,
}

/// Failure state of one server: in this process, or in the area shared with
/// sibling processes (see [`crate::shared_health`]).
#[derive(Debug)]
pub struct Health {
    cell: CellRef,
}

#[derive(Debug)]
enum CellRef {
    Own(Box<HealthCell>),
    Shared(&'static HealthCell),
}

impl Default for Health {
    fn default() -> Health {
        Health { cell: CellRef::Own(Box::default()) }
    }
}

impl std::ops::Deref for Health {
    type Target = HealthCell;
    fn deref(&self) -> &HealthCell {
        match &self.cell {
            CellRef::Own(c) => c,
            CellRef::Shared(c) => c,
        }
    }
}

impl Health {
    /// The health of the server named `name`: shared with sibling processes
    /// when the shared area exists, private otherwise.
    pub fn for_server(name: &str) -> Health {
        match crate::shared_health::cell(name) {
            Some(cell) => Health { cell: CellRef::Shared(cell) },
            None => Health::default(),
        }
    }

    /// Whether this health lives in the shared area.
    pub fn is_shared(&self) -> bool {
        matches!(self.cell, CellRef::Shared(_))
    }

    /// Whether the server is alive (no side effects).
    #[inline]
    pub fn is_alive(&self) -> bool {
        self.dead_until.load(Ordering::Acquire) == 0
    }

    /// Whether the server may be contacted at `now`, claiming the probe if
    /// it is dead and its retry time has come. `probe_budget_ms` is how long
    /// a probe may take before another caller may probe again.
    #[inline]
    pub fn check(&self, now: u64, probe_budget_ms: u64) -> Availability {
        let until = self.dead_until.load(Ordering::Acquire);
        if until == 0 {
            return Availability::Up;
        }
        if now < until {
            return Availability::Down;
        }
        let started = self.probe_started.load(Ordering::Acquire);
        if started != 0 && now < started.saturating_add(probe_budget_ms) {
            return Availability::Down;
        }
        match self.probe_started.compare_exchange(
            started,
            now.max(1),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Availability::Probe,
            Err(_) => Availability::Down,
        }
    }

    /// Whether the server is currently considered dead.
    pub fn is_dead(&self) -> bool {
        self.dead_until.load(Ordering::Acquire) != 0
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    /// A request succeeded: the server is alive. Returns true for exactly
    /// one caller when it was dead before (it has just recovered).
    #[inline]
    pub fn record_success(&self) -> bool {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
        if self.dead_until.load(Ordering::Relaxed) != 0
            && self.dead_until.swap(0, Ordering::AcqRel) != 0
        {
            self.probe_started.store(0, Ordering::Release);
            return true;
        }
        false
    }

    /// A request failed because of the server (timeout, refused, reset,
    /// garbage). Returns true for exactly one caller when this failure
    /// marked it dead.
    pub fn record_failure(&self, now: u64, failure_limit: u32, retry_timeout_ms: u64) -> bool {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel).saturating_add(1);
        if failures >= failure_limit {
            let until = now.saturating_add(retry_timeout_ms).max(1);
            let before = self.dead_until.swap(until, Ordering::AcqRel);
            self.probe_started.store(0, Ordering::Release);
            // Only the swap that found it alive reports the transition.
            return before == 0;
        }
        false
    }
}

/// Keys a server must forget before it serves again: keys written elsewhere
/// (or whose write to it failed) while it was failing or dead, so that a
/// server that comes back never serves a value older than those writes.
/// Bounded: past `INVALIDATION_CAPACITY` keys the server is flushed instead.
#[derive(Debug, Default)]
pub struct Invalidations {
    pending: std::sync::atomic::AtomicBool,
    queue: Mutex<InvalidationQueue>,
}

#[derive(Debug, Default)]
struct InvalidationQueue {
    keys: std::collections::HashSet<Vec<u8>>,
    overflowed: bool,
}

/// What a recovering server must do before it serves again.
#[derive(Debug, PartialEq, Eq)]
pub enum Forget {
    /// Delete these keys.
    Keys(Vec<Vec<u8>>),
    /// Too many keys were missed: flush everything.
    All,
}

/// Keys remembered per server before falling back to a flush.
pub const INVALIDATION_CAPACITY: usize = 10_000;

impl Invalidations {
    /// Whether anything is waiting (one atomic load: the hot path check).
    #[inline]
    pub fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Remembers that the server must forget `key`.
    pub fn add(&self, key: &[u8]) {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if !q.overflowed {
            if q.keys.len() >= INVALIDATION_CAPACITY {
                q.overflowed = true;
                q.keys.clear();
            } else {
                q.keys.insert(key.to_vec());
            }
        }
        self.pending.store(true, Ordering::Release);
    }

    /// Takes everything waiting (to be applied now).
    pub fn take(&self) -> Option<Forget> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        self.pending.store(false, Ordering::Release);
        if q.overflowed {
            q.overflowed = false;
            q.keys.clear();
            return Some(Forget::All);
        }
        if q.keys.is_empty() {
            return None;
        }
        Some(Forget::Keys(q.keys.drain().collect()))
    }

    /// Puts back what could not be applied.
    pub fn restore(&self, forget: Forget) {
        match forget {
            Forget::All => {
                let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                q.overflowed = true;
                q.keys.clear();
                self.pending.store(true, Ordering::Release);
            }
            Forget::Keys(keys) => {
                for k in keys {
                    self.add(&k);
                }
            }
        }
    }
}

struct Pool {
    generation: u64,
    idle: Vec<Conn>,
}

/// One configured server and everything the client keeps about it.
pub struct Server {
    /// As configured.
    pub spec: ServerSpec,
    /// `host:port` (or the socket path), for messages and stats.
    pub name: String,
    pool: Mutex<Pool>,
    /// Fork generation of the pool lock's latest holder.
    holder_generation: AtomicU64,
    /// Failure state.
    pub health: Health,
    /// Keys to forget before serving again.
    pub invalidations: Invalidations,
    /// Counters.
    pub counters: Counters,
}

impl Server {
    /// State for `spec`, with no connection yet.
    pub fn new(spec: ServerSpec) -> Server {
        let name = spec.name();
        Server {
            spec,
            health: Health::for_server(&name),
            name,
            pool: Mutex::new(Pool { generation: fork_generation(), idle: Vec::new() }),
            holder_generation: AtomicU64::new(fork_generation()),
            invalidations: Invalidations::default(),
            counters: Counters::default(),
        }
    }

    /// Locks the pool. A lock held at the moment of a `fork()` is never
    /// released in the child (its holder does not exist there), so a child
    /// that finds the lock taken by a pre-fork holder bypasses the pool
    /// instead of waiting forever.
    fn lock_pool(&self) -> Option<std::sync::MutexGuard<'_, Pool>> {
        let generation = fork_generation();
        let mut guard = match self.pool.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                if self.holder_generation.load(Ordering::Acquire) != generation {
                    return None;
                }
                self.pool.lock().unwrap_or_else(|p| p.into_inner())
            }
        };
        self.holder_generation.store(generation, Ordering::Release);
        if guard.generation != generation {
            // Connections inherited from the parent: close our copies.
            guard.idle.clear();
            guard.generation = generation;
        }
        Some(guard)
    }

    /// An idle connection from the pool, if there is one that belongs to
    /// this process.
    #[inline]
    pub fn take_idle(&self) -> Option<Conn> {
        let mut pool = self.lock_pool()?;
        while let Some(conn) = pool.idle.pop() {
            if !conn.is_inherited() {
                return Some(conn);
            }
        }
        None
    }

    /// Returns a healthy connection to the pool (or closes it if the pool
    /// already holds `max_idle`).
    #[inline]
    pub fn put_idle(&self, conn: Conn, max_idle: usize) {
        if conn.is_inherited() || !conn.is_idle() {
            return;
        }
        if let Some(mut pool) = self.lock_pool() {
            if pool.idle.len() < max_idle {
                pool.idle.push(conn);
            }
        }
    }

    /// Whether the server has something to forget before it serves again.
    #[inline]
    pub fn must_forget(&self) -> bool {
        self.invalidations.is_pending()
            || (self.health.is_shared() && self.health.forget_all.load(Ordering::Acquire) != 0)
    }

    /// Takes what the server must forget before it serves again: this
    /// process's queued keys, or everything (a flush) when the server died
    /// while its health was shared with other processes.
    pub fn take_forget(&self) -> Option<Forget> {
        let local = self.invalidations.take();
        if self.health.is_shared() && self.health.forget_all.swap(0, Ordering::AcqRel) != 0 {
            return Some(Forget::All);
        }
        local
    }

    /// Puts back what could not be applied.
    pub fn restore_forget(&self, forget: Forget) {
        if forget == Forget::All && self.health.is_shared() {
            self.health.forget_all.store(1, Ordering::Release);
            return;
        }
        self.invalidations.restore(forget);
    }

    /// Notes that the server died: with shared health, whoever uses it first
    /// after it recovers flushes it.
    pub fn note_death(&self) {
        if self.health.is_shared() {
            self.health.forget_all.store(1, Ordering::Release);
        }
    }

    /// Closes every idle connection.
    pub fn close_idle(&self) {
        if let Some(mut pool) = self.lock_pool() {
            pool.idle.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dies_after_limit_then_one_probe() {
        let h = Health::default();
        assert_eq!(h.check(100, 50), Availability::Up);
        assert!(!h.record_failure(100, 2, 1000));
        assert_eq!(h.check(100, 50), Availability::Up);
        assert!(h.record_failure(101, 2, 1000));
        assert_eq!(h.check(500, 50), Availability::Down);
        assert_eq!(h.check(1101, 50), Availability::Probe);
        assert_eq!(h.check(1102, 50), Availability::Down, "one probe at a time");
        assert_eq!(h.check(1200, 50), Availability::Probe, "a lost probe expires");
        assert!(h.record_success());
        assert_eq!(h.check(1201, 50), Availability::Up);
        assert_eq!(h.failures(), 0);
    }

    #[test]
    fn invalidations_overflow_into_a_flush() {
        let inv = Invalidations::default();
        assert!(!inv.is_pending());
        inv.add(b"a");
        inv.add(b"a");
        assert!(inv.is_pending());
        assert_eq!(inv.take(), Some(Forget::Keys(vec![b"a".to_vec()])));
        assert!(!inv.is_pending());
        assert_eq!(inv.take(), None);
        for i in 0..=INVALIDATION_CAPACITY {
            inv.add(format!("k{i}").as_bytes());
        }
        assert_eq!(inv.take(), Some(Forget::All));
        inv.restore(Forget::Keys(vec![b"b".to_vec()]));
        assert_eq!(inv.take(), Some(Forget::Keys(vec![b"b".to_vec()])));
    }

    #[test]
    fn failed_probe_waits_again() {
        let h = Health::default();
        h.record_failure(0, 1, 100);
        assert_eq!(h.check(100, 50), Availability::Probe);
        h.record_failure(100, 1, 100);
        assert_eq!(h.check(150, 50), Availability::Down);
        assert_eq!(h.check(200, 50), Availability::Probe);
    }
}
