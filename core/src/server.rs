//! One server: its name, idle connections, health, pending invalidations
//! and counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::config::ServerSpec;
use crate::conn::{fork_generation, Conn};
use crate::health::Health;
use crate::invalidation::Invalidations;
use crate::resolve::Addresses;
use crate::stats::Counters;

struct Pool {
    generation: u64,
    idle: Vec<Conn>,
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
    /// Where to connect.
    pub(crate) addresses: Addresses,
}

impl Server {
    /// State for `spec`, with no connection yet.
    pub fn new(spec: ServerSpec) -> Server {
        let name = spec.name();
        let health = Health::for_server(&name);
        let shared_log = if health.is_shared() { crate::shared_health::log() } else { None };
        let invalidations = Invalidations::for_server(&name, shared_log);
        Server {
            addresses: Addresses::of(&spec),
            health,
            name,
            pool: Mutex::new(Pool { generation: fork_generation(), idle: Vec::new() }),
            holder_generation: AtomicU64::new(fork_generation()),
            invalidations,
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
    }

    /// Closes every idle connection.
    pub fn close_idle(&self) {
        if let Some(mut pool) = self.lock_pool() {
            pool.idle.clear();
        }
    }
}
