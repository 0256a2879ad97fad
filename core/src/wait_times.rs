//! How long the last wait for each key's value lasted, so that the next
//! wait sleeps through most of it instead of polling.
//!
//! A caller that finds a key's lease held by another caller polls until
//! the value is there. Polling in short steps from the start finds the
//! value soon after it is stored, but asks memcached a dozen times during
//! a 200 ms compute, in every waiting process; long steps ask less and
//! find it late. Computes of one key take about as long each time, so a
//! process remembers how long its last wait for the key lasted and sleeps
//! nine tenths of that before its first poll, then polls in short steps:
//! a few requests per wait, and the value found a few ms after it lands.
//!
//! The table is a fixed array of atomics (no allocation, no lock): each
//! slot holds part of a key's hash and its last wait in ms. Keys that share
//! a slot overwrite each other, which only costs the newer one an
//! estimate; a slot whose hash part differs is no estimate at all.

use std::sync::atomic::{AtomicU64, Ordering};

/// Slots: keys with a remembered wait.
const SLOTS: usize = 256;

/// Low bits of a slot: the wait in ms (up to ~16.7 s).
const MS_BITS: u32 = 24;
const MS_MASK: u64 = (1 << MS_BITS) - 1;

/// The last wait of keys waited for in one client.
pub(crate) struct WaitTimes {
    slots: Box<[AtomicU64]>,
}

impl std::fmt::Debug for WaitTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitTimes").finish_non_exhaustive()
    }
}

impl Default for WaitTimes {
    fn default() -> WaitTimes {
        WaitTimes { slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect() }
    }
}

impl WaitTimes {
    fn slot_and_tag(key: u64) -> (usize, u64) {
        // The slot from the low bits, the tag from the high ones (never 0,
        // so an empty slot matches no key).
        let tag = (key >> MS_BITS) | 1;
        ((key as usize) % SLOTS, tag << MS_BITS)
    }

    /// How long the last wait for `key` (a flight key) lasted, in ms.
    pub(crate) fn last(&self, key: u64) -> Option<u64> {
        let (slot, tag) = Self::slot_and_tag(key);
        let word = self.slots[slot].load(Ordering::Relaxed);
        (word & !MS_MASK == tag).then_some(word & MS_MASK)
    }

    /// Remembers that a wait for `key` lasted `ms`.
    pub(crate) fn record(&self, key: u64, ms: u64) {
        let (slot, tag) = Self::slot_and_tag(key);
        self.slots[slot].store(tag | ms.min(MS_MASK), Ordering::Relaxed);
    }

    /// Forgets `key`'s last wait (one that ended without a value says
    /// nothing about how long the next one lasts).
    pub(crate) fn forget(&self, key: u64) {
        let (slot, tag) = Self::slot_and_tag(key);
        let word = self.slots[slot].load(Ordering::Relaxed);
        if word & !MS_MASK == tag {
            let _ =
                self.slots[slot].compare_exchange(word, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_has_its_own_last_wait_until_another_key_takes_its_slot() {
        let w = WaitTimes::default();
        let a = 0x1234_5678_9abc_def0u64;
        assert_eq!(w.last(a), None, "nothing remembered yet");
        w.record(a, 207);
        assert_eq!(w.last(a), Some(207));
        w.record(a, 190);
        assert_eq!(w.last(a), Some(190), "the latest wait counts");
        // Same slot, another tag: no estimate for either mix-up.
        let b = a.wrapping_add((SLOTS as u64) << 40);
        assert_eq!(w.last(b), None, "another key's wait is not this one's");
        w.record(b, 5);
        assert_eq!(w.last(a), None, "the slot now holds the other key");
        assert_eq!(w.last(b), Some(5));
        w.forget(b);
        assert_eq!(w.last(b), None);
        assert_eq!(w.last(0), None, "a zero key matches no empty slot");
        w.record(a, u64::MAX);
        assert_eq!(w.last(a), Some(MS_MASK), "long waits are capped, not wrapped");
    }
}
