//! Keys a server must forget before it serves again.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

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

    /// What [`Invalidations::take`] handed out was applied.
    pub fn done(&self, _forget: Forget) {}

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
