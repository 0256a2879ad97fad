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
//! [`Pauses`] is that schedule: asleep through 95% of the last wait, then
//! a poll every 3 ms until a little past it (the value is due then: found
//! at most one 3 ms step late, not one doubling step late), then steps
//! doubling from 2 ms up to a cap, as with no estimate at all.
//!
//! A value found by the first poll after the nap may have landed at any
//! time during it, so that wait's length is too long an estimate; kept as
//! it is, every later wait would sleep as long again (one wait stretched by
//! a busy machine would stretch all the next ones). Such a wait is
//! remembered 30% shorter: the next one then finds the value by polling,
//! which measures the wait again to within a step.
//!
//! The table is a fixed array of atomics (no allocation, no lock): each
//! slot holds part of a key's hash and its last wait in ms. Keys that share
//! a slot overwrite each other, which only costs the newer one an
//! estimate; a slot whose hash part differs is no estimate at all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

/// The step between polls while a value is due (around the end of the
/// last wait).
const DUE_STEP_MS: u64 = 3;

/// The pauses of one waiting caller between its polls; see the module
/// documentation.
#[derive(Debug)]
pub(crate) struct Pauses {
    /// The last wait for the key in ms, if remembered.
    last: Option<u64>,
    /// The next doubling step.
    step: Duration,
    cap: Duration,
    napped: bool,
    /// Whether the pause just given was a nap through most of the last
    /// wait (the poll after it is the first since).
    after_nap: bool,
}

impl Pauses {
    /// Pauses for a wait whose last one lasted `last` ms (if known), with
    /// doubling steps never longer than `cap`.
    pub(crate) fn new(last: Option<u64>, cap: Duration) -> Pauses {
        Pauses {
            last,
            step: Duration::from_millis(2).min(cap),
            cap,
            napped: false,
            after_nap: false,
        }
    }

    /// The pause before the next poll, `elapsed_ms` into the wait.
    pub(crate) fn next(&mut self, elapsed_ms: u64) -> Duration {
        self.after_nap = false;
        if let Some(last) = self.last.filter(|&ms| ms > 0) {
            if !self.napped {
                self.napped = true;
                let nap = (last * 95 / 100).saturating_sub(elapsed_ms);
                if nap > 0 {
                    self.after_nap = true;
                    return Duration::from_millis(nap);
                }
            }
            // Due until a tenth (and 5 ms) past the last wait's length.
            if elapsed_ms < last + last / 10 + 5 {
                return Duration::from_millis(DUE_STEP_MS).min(self.cap);
            }
        }
        let d = self.step;
        self.step = (self.step * 2).min(self.cap);
        d
    }

    /// What to remember of a wait whose value the poll after the last
    /// pause found, `elapsed_ms` into it: its length, or 30% less when that
    /// poll was the first after the nap (the value may have been there for
    /// most of the nap).
    pub(crate) fn wait_to_remember(&self, elapsed_ms: u64) -> u64 {
        if self.after_nap {
            elapsed_ms * 7 / 10
        } else {
            elapsed_ms
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

    fn schedule(last: Option<u64>, cap_ms: u64, polls: usize) -> Vec<u64> {
        // The elapsed time of each poll, taking each pause as slept exactly.
        let mut p = Pauses::new(last, Duration::from_millis(cap_ms));
        let mut at = 0;
        (0..polls)
            .map(|_| {
                at += p.next(at).as_millis() as u64;
                at
            })
            .collect()
    }

    #[test]
    fn without_an_estimate_polls_double_from_two_ms_up_to_the_cap() {
        assert_eq!(schedule(None, 15, 7), vec![2, 6, 14, 29, 44, 59, 74]);
        assert_eq!(schedule(Some(0), 4, 4), vec![2, 6, 10, 14], "a zero wait is no estimate");
    }

    #[test]
    fn with_an_estimate_the_wait_sleeps_through_most_of_it_then_polls_in_short_steps() {
        // Last wait 200 ms: asleep until 190, every 3 ms until 225, then
        // doubling again.
        let at = schedule(Some(200), 15, 16);
        assert_eq!(&at[..4], &[190, 193, 196, 199]);
        assert!(at.windows(2).all(|w| w[1] - w[0] <= 3 || w[0] >= 225), "{at:?}");
        let after: Vec<u64> = at.iter().copied().filter(|&t| t > 225).collect();
        assert_eq!(
            (after[1] - after[0], after[2] - after[1]),
            (2, 4),
            "doubling from 2 ms resumes past the due window: {at:?}"
        );
        // A value that lands at the end of the last wait is found within
        // one short step of it.
        let first_after = at.iter().find(|&&t| t >= 200).copied();
        assert_eq!(first_after, Some(202));
        // A wait that joined late naps only for what is left of it.
        let mut p = Pauses::new(Some(200), Duration::from_millis(15));
        assert_eq!(p.next(150), Duration::from_millis(40));
        assert_eq!(p.next(300), Duration::from_millis(2), "past the window: 2 ms, doubling");
        // A value found by the first poll after the nap: the estimate was
        // too long, and is remembered shorter; one found by a later poll is
        // remembered as it was.
        let mut p = Pauses::new(Some(300), Duration::from_millis(15));
        assert_eq!(p.next(0), Duration::from_millis(285));
        assert_eq!(p.wait_to_remember(290), 203);
        p.next(290);
        assert_eq!(p.wait_to_remember(293), 293);
        let mut p = Pauses::new(None, Duration::from_millis(15));
        p.next(0);
        assert_eq!(p.wait_to_remember(2), 2, "no nap, nothing to shorten");
        // The short step is never longer than the cap.
        let mut p = Pauses::new(Some(100), Duration::from_millis(2));
        p.next(0);
        assert_eq!(p.next(95), Duration::from_millis(2));
    }
}
