//! One server's failure state.
//!
//! One rule: after `failure_limit` consecutive failures a server is dead for
//! `retry_timeout_ms`; after that a single request probes it (the others
//! keep treating it as dead), and one success makes it alive again. All of
//! it is atomics, so it is shared by threads without locks, by sibling
//! processes when it lives in the shared area, and survives `fork()`.

use std::sync::atomic::Ordering;

use crate::shared_health::HealthCell;

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

    /// Whether the server is dead with its retry time come and no probe
    /// under way (no side effects: [`Health::check`] claims the probe).
    pub fn is_due(&self, now: u64, probe_budget_ms: u64) -> bool {
        let until = self.dead_until.load(Ordering::Acquire);
        if until == 0 || now < until {
            return false;
        }
        let started = self.probe_started.load(Ordering::Acquire);
        started == 0 || now >= started.saturating_add(probe_budget_ms)
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
    fn failed_probe_waits_again() {
        let h = Health::default();
        h.record_failure(0, 1, 100);
        assert_eq!(h.check(100, 50), Availability::Probe);
        h.record_failure(100, 1, 100);
        assert_eq!(h.check(150, 50), Availability::Down);
        assert_eq!(h.check(200, 50), Availability::Probe);
    }
}
