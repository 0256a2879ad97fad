//! One server: its name, idle connections, health, pending invalidations
//! and counters.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::config::ServerSpec;
use crate::conn::{fork_generation, Conn};

/// A connection as the pool and requests hand it around: boxed, so moving
/// it between the pool and a request copies a pointer, not the connection.
pub(crate) type PooledConn = Box<Conn>;
use crate::health::Health;
use crate::histogram::Latencies;
use crate::invalidation::Invalidations;
use crate::resolve::Addresses;
use crate::stats::Counters;

struct Pool {
    generation: u64,
    idle: Vec<PooledConn>,
}

/// One configured server and everything the client keeps about it.
pub struct Server {
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
    /// Latency histograms, one per command class.
    pub latencies: Latencies,
    /// Where to connect.
    pub(crate) addresses: Addresses,
    /// Removed from its pool: connections are closed, not pooled.
    retired: AtomicBool,
    /// Whether this server is counted in its pool's count of dead servers
    /// (see [`Server::book_health`]); [`RETIRED`] once removed.
    booked: AtomicU8,
}

/// Not counted among dead servers.
const ALIVE: u8 = 0;
/// Counted among dead servers.
const DEAD: u8 = 1;
/// Removed from the pool: counted nowhere.
const RETIRED: u8 = 2;

impl Server {
    /// State for `spec`, with no connection yet.
    pub fn new(spec: ServerSpec) -> Server {
        let name = spec.name();
        let health = Health::for_server(&name);
        let shared_log = if health.is_shared() { crate::shared_health::log() } else { None };
        let invalidations = Invalidations::for_server(&name, shared_log);
        let (counters, latencies) = (Counters::for_server(&name), Latencies::for_server(&name));
        Server {
            addresses: Addresses::of(&spec),
            health,
            name,
            pool: Mutex::new(Pool { generation: fork_generation(), idle: Vec::new() }),
            holder_generation: AtomicU64::new(fork_generation()),
            invalidations,
            counters,
            latencies,
            retired: AtomicBool::new(false),
            booked: AtomicU8::new(ALIVE),
        }
    }

    /// Brings `dead` (its pool's count of dead servers, shared by every
    /// server list the pool has had) in line with this server's health,
    /// after its health changed. Each server counts at most once, and a
    /// retired one not at all, whichever snapshot of the list a request
    /// that changed its health was using.
    pub(crate) fn book_health(&self, dead: &AtomicUsize) {
        loop {
            let want = if self.health.is_alive() { ALIVE } else { DEAD };
            let booked = self.booked.load(Ordering::Acquire);
            if booked == RETIRED || booked == want {
                return;
            }
            if self
                .booked
                .compare_exchange(booked, want, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                if want == DEAD {
                    dead.fetch_add(1, Ordering::AcqRel);
                } else {
                    dead.fetch_sub(1, Ordering::AcqRel);
                }
            }
            // Health may have changed again meanwhile: look once more.
        }
    }

    /// Removes the server from its pool: it no longer counts among the dead
    /// servers, its idle connections are closed, and connections that
    /// requests in flight give back are closed too.
    pub(crate) fn retire(&self, dead: &AtomicUsize) {
        self.retired.store(true, Ordering::Release);
        if self.booked.swap(RETIRED, Ordering::AcqRel) == DEAD {
            dead.fetch_sub(1, Ordering::AcqRel);
        }
        self.close_idle();
    }

    /// Whether the server was removed from its pool.
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
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
    pub(crate) fn take_idle(&self) -> Option<PooledConn> {
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
    pub(crate) fn put_idle(&self, conn: PooledConn, max_idle: usize) {
        if conn.is_inherited() || !conn.is_idle() || self.is_retired() {
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
    }

    /// Closes every idle connection.
    pub fn close_idle(&self) {
        if let Some(mut pool) = self.lock_pool() {
            pool.idle.clear();
        }
    }
}
