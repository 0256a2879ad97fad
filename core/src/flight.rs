//! Flights: callers in one process that wait for the same key share one
//! wait.
//!
//! When a key is missing and another caller holds its lease, every waiting
//! caller would poll memcached on its own. Instead the first waiter of a
//! process leads a *flight* for the key: it alone polls (or, if it won the
//! lease, computes), and the others follow it, asleep until it ends. A
//! flight that ends with a value hands it to its followers, who return it
//! without a request of their own; one that ends without (an error, a
//! released lease) sends them back to memcached.
//!
//! The table is a fixed array of slots changed only with atomics, plus one
//! small mutex per slot that guards the handed-over value for the moment
//! of a pointer copy. Nothing a forked child inherits can make it wait: a
//! flight led by a thread of the parent (another fork generation) is taken
//! over, and a handover lock found held by the parent is bypassed (the
//! child then reads memcached itself). Followers sleep on a futex (Linux)
//! and are woken the moment their flight ends.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use crate::conn::fork_generation;
use crate::health::monotonic_ms;
use crate::reply::Item;
use crate::wait_times::WaitTimes;

/// Slots in a table: keys waited for at the same time in one process.
/// Keys whose slot is taken by another key's flight wait on their own.
const SLOTS: usize = 64;

/// Marks a slot being set up by a thread of the fork generation in the low
/// bits. Flight ids stay below it.
const CLAIMING: u64 = 1 << 63;
const GENERATION_BITS: u64 = (1 << 32) - 1;

/// The longest a follower sleeps before looking at its flight again.
const NAP: Duration = Duration::from_millis(50);

/// What a flight ended with, for its followers.
#[derive(Default)]
struct Handover {
    flight: u64,
    value: Option<Arc<Item>>,
}

struct Slot {
    /// 0 when free, `CLAIMING | generation` while being set up, else the id
    /// of the flight in it. The fields below are written only while the
    /// slot is being set up, and belong to the id published after them.
    id: AtomicU64,
    /// The flight's key (a hash of it; never 0).
    key: AtomicU64,
    /// Fork generation of the flight's leader.
    generation: AtomicU64,
    /// Monotonic ms after which followers stop waiting for the leader.
    deadline_ms: AtomicU64,
    /// Bumped whenever a flight in the slot ends: followers sleep on it.
    ended: AtomicU32,
    handover: Mutex<Handover>,
    /// Fork generation of the handover lock's latest holder.
    handover_holder: AtomicU64,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            id: AtomicU64::new(0),
            key: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            deadline_ms: AtomicU64::new(0),
            ended: AtomicU32::new(0),
            handover: Mutex::new(Handover::default()),
            handover_holder: AtomicU64::new(0),
        }
    }
}

/// A consistent view of a live flight.
struct Live {
    id: u64,
    key: u64,
    mine: bool,
    deadline_ms: u64,
}

impl Slot {
    /// The flight in the slot, if one is set up. `Err(())` while the slot
    /// is being set up by a thread of this process.
    fn live(&self, generation: u64) -> Result<Option<Live>, ()> {
        for _ in 0..4 {
            let id = self.id.load(Ordering::Acquire);
            if id == 0 {
                return Ok(None);
            }
            if id & CLAIMING != 0 {
                // A claimer of another fork generation vanished in the fork.
                return if id & GENERATION_BITS == generation & GENERATION_BITS {
                    Err(())
                } else {
                    Ok(None)
                };
            }
            let key = self.key.load(Ordering::Acquire);
            let leader_generation = self.generation.load(Ordering::Acquire);
            let deadline_ms = self.deadline_ms.load(Ordering::Acquire);
            if self.id.load(Ordering::Acquire) == id {
                let mine = leader_generation == generation;
                return Ok(Some(Live { id, key, mine, deadline_ms }));
            }
        }
        Err(())
    }

    /// The handover lock, unless a thread that vanished in a `fork()` holds it.
    fn lock_handover(&self) -> Option<MutexGuard<'_, Handover>> {
        let generation = fork_generation();
        let guard = match self.handover.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                if self.handover_holder.load(Ordering::Acquire) != generation {
                    return None;
                }
                self.handover.lock().unwrap_or_else(|p| p.into_inner())
            }
        };
        self.handover_holder.store(generation, Ordering::Release);
        Some(guard)
    }
}

/// The flights of one client.
pub(crate) struct Flights {
    slots: Box<[Slot]>,
    next_id: AtomicU64,
    /// How long this process's last wait for each key lasted.
    pub(crate) waits: WaitTimes,
}

impl std::fmt::Debug for Flights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flights").field("slots", &self.slots.len()).finish()
    }
}

/// How a caller takes part in the flight for its key.
pub(crate) enum Join {
    /// It leads the flight: it polls (or computes) for the others, and
    /// ends the flight with [`Ticket::end`] (or by dropping the ticket).
    Lead(Ticket),
    /// Another caller of this process leads it: wait with [`Flights::follow`].
    Follow(Follower),
    /// The slot holds another key's flight: wait alone.
    Alone,
}

/// A flight this caller leads. Dropping it ends the flight without a value.
pub(crate) struct Ticket {
    flights: Arc<Flights>,
    slot: usize,
    id: u64,
    ended: bool,
}

/// A flight this caller follows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Follower {
    slot: usize,
    id: u64,
    /// The slot's end count when the flight was joined.
    seen: u32,
    deadline_ms: u64,
}

/// How following a flight ended.
#[derive(Debug)]
pub(crate) enum Followed {
    /// The leader handed over this value.
    Value(Arc<Item>),
    /// The flight ended without a value, or its leader's time ran out: read
    /// memcached again.
    Ended,
}

impl Flights {
    pub(crate) fn new() -> Arc<Flights> {
        let slots = (0..SLOTS).map(|_| Slot::default()).collect();
        Arc::new(Flights { slots, next_id: AtomicU64::new(0), waits: WaitTimes::default() })
    }

    fn slot_of(key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % SLOTS
    }

    /// The flight for `key` that a thread of this process leads now, to
    /// follow; `None` when there is none (one atomic load when the slot is
    /// free, the usual case).
    pub(crate) fn existing(&self, key: u64) -> Option<Follower> {
        let i = Flights::slot_of(key);
        let slot = &self.slots[i];
        if slot.id.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let seen = slot.ended.load(Ordering::Acquire);
        let live = slot.live(fork_generation()).ok()??;
        (live.key == key && live.mine && live.deadline_ms > monotonic_ms()).then_some(Follower {
            slot: i,
            id: live.id,
            seen,
            deadline_ms: live.deadline_ms,
        })
    }

    /// Follows the flight for `key`, or leads a new one whose followers
    /// wait for it until `deadline_ms` (monotonic) at most.
    pub(crate) fn join(self: &Arc<Flights>, key: u64, deadline_ms: u64) -> Join {
        let i = Flights::slot_of(key);
        let slot = &self.slots[i];
        let generation = fork_generation();
        for _ in 0..4 {
            let seen = slot.ended.load(Ordering::Acquire);
            let id = slot.id.load(Ordering::Acquire);
            let stale = match slot.live(generation) {
                Err(()) => return Join::Alone,
                Ok(None) => false,
                Ok(Some(live)) => {
                    let alive = live.mine && live.deadline_ms > monotonic_ms();
                    if alive && live.key == key {
                        let deadline_ms = live.deadline_ms;
                        return Join::Follow(Follower { slot: i, id: live.id, seen, deadline_ms });
                    }
                    if alive {
                        return Join::Alone;
                    }
                    true
                }
            };
            // A stale flight's followers stop waiting for it.
            if let Some(ticket) = self.claim(i, id, key, deadline_ms, stale) {
                return Join::Lead(ticket);
            }
        }
        Join::Alone
    }

    /// Leads the flight for `key` from now on, taking it over from the
    /// caller of this process that leads it (a waiter that polls: this
    /// caller won the lease and will hand the value over itself). Its
    /// followers are woken and follow the new flight. `None` when the slot
    /// holds another key's live flight.
    pub(crate) fn lead_now(self: &Arc<Flights>, key: u64, deadline_ms: u64) -> Option<Ticket> {
        let i = Flights::slot_of(key);
        let slot = &self.slots[i];
        let generation = fork_generation();
        for _ in 0..4 {
            let id = slot.id.load(Ordering::Acquire);
            let ours = match slot.live(generation) {
                Err(()) => return None,
                Ok(None) => false,
                Ok(Some(live)) => {
                    if live.key != key && live.mine && live.deadline_ms > monotonic_ms() {
                        return None;
                    }
                    true
                }
            };
            if let Some(ticket) = self.claim(i, id, key, deadline_ms, ours) {
                return Some(ticket);
            }
        }
        None
    }

    /// Claims slot `i`, whose id was `id`, for a new flight of `key`;
    /// `wake`: the flight there is replaced and its followers must look
    /// again.
    fn claim(
        self: &Arc<Flights>,
        i: usize,
        id: u64,
        key: u64,
        deadline_ms: u64,
        wake: bool,
    ) -> Option<Ticket> {
        let slot = &self.slots[i];
        let claim = CLAIMING | (fork_generation() & GENERATION_BITS);
        slot.id.compare_exchange(id, claim, Ordering::AcqRel, Ordering::Acquire).ok()?;
        slot.key.store(key, Ordering::Release);
        slot.generation.store(fork_generation(), Ordering::Release);
        slot.deadline_ms.store(deadline_ms, Ordering::Release);
        let new = ((self.next_id.fetch_add(1, Ordering::Relaxed) + 1) & !CLAIMING).max(1);
        slot.id.store(new, Ordering::Release);
        if wake {
            wake_all(&slot.ended);
        }
        Some(Ticket { flights: Arc::clone(self), slot: i, id: new, ended: false })
    }

    /// Sleeps until the followed flight ends, or its leader's time (or
    /// `until_ms`) runs out. `Err` when a signal interrupted the sleep and
    /// the thread's interrupt check asks to stop.
    pub(crate) fn follow(&self, f: &Follower, until_ms: u64) -> crate::Result<Followed> {
        let slot = &self.slots[f.slot];
        let until_ms = until_ms.min(f.deadline_ms);
        loop {
            if slot.ended.load(Ordering::Acquire) != f.seen
                || slot.id.load(Ordering::Acquire) != f.id
            {
                break;
            }
            let now = monotonic_ms();
            if now >= until_ms {
                return Ok(Followed::Ended);
            }
            let nap = Duration::from_millis(until_ms - now).min(NAP);
            if wait_for_change(&slot.ended, f.seen, nap) && crate::conn::stop_requested() {
                return Err(crate::Error::Interrupted);
            }
        }
        let handed = slot.lock_handover().and_then(|h| match &*h {
            Handover { flight, value: Some(v) } if *flight == f.id => Some(Arc::clone(v)),
            _ => None,
        });
        Ok(handed.map_or(Followed::Ended, Followed::Value))
    }
}

impl Ticket {
    /// Gives the flight's followers until `deadline_ms` (monotonic): the
    /// leader won the lease and computes now.
    pub(crate) fn extend(&self, deadline_ms: u64) {
        let slot = &self.flights.slots[self.slot];
        if slot.id.load(Ordering::Acquire) == self.id {
            slot.deadline_ms.store(deadline_ms, Ordering::Release);
        }
    }

    /// Whether this ticket still leads its flight (it was not taken over).
    pub(crate) fn is_current(&self) -> bool {
        self.flights.slots[self.slot].id.load(Ordering::Acquire) == self.id
    }

    /// Ends the flight, handing `value` to its followers (`None`: they read
    /// memcached again).
    pub(crate) fn end(mut self, value: Option<Arc<Item>>) {
        self.finish(value);
    }

    fn finish(&mut self, value: Option<Arc<Item>>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let slot = &self.flights.slots[self.slot];
        if value.is_some() {
            if let Some(mut h) = slot.lock_handover() {
                *h = Handover { flight: self.id, value };
            }
        }
        // A leader taken over (its time ran out) leaves the slot alone.
        if slot.id.compare_exchange(self.id, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            wake_all(&slot.ended);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.finish(None);
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket").field("slot", &self.slot).field("id", &self.id).finish()
    }
}

/// Bumps `word` and wakes every thread asleep on it.
fn wake_all(word: &AtomicU32) {
    word.fetch_add(1, Ordering::AcqRel);
    #[cfg(target_os = "linux")]
    // SAFETY: FUTEX_WAKE on a live, aligned u32; no memory is written.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        );
    }
}

/// Sleeps while `word` equals `seen`, at most `timeout`. True when a
/// signal interrupted the sleep.
fn wait_for_change(word: &AtomicU32, seen: u32, timeout: Duration) -> bool {
    #[cfg(target_os = "linux")]
    {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: FUTEX_WAIT on a live, aligned u32 with a valid timespec;
        // the kernel only reads them.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                seen,
                &ts as *const libc::timespec,
            )
        };
        rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (word, seen);
        std::thread::sleep(timeout.min(Duration::from_millis(1)));
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn item(v: &[u8]) -> Arc<Item> {
        Arc::new(Item { value: v.to_vec(), flags: 0, cas: None })
    }

    #[test]
    fn followers_get_the_leaders_value_at_once() {
        let flights = Flights::new();
        let far = monotonic_ms() + 10_000;
        let Join::Lead(ticket) = flights.join(7, far) else { panic!("first caller leads") };
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let flights = Arc::clone(&flights);
                std::thread::spawn(move || {
                    let Join::Follow(f) = flights.join(7, far) else { panic!("others follow") };
                    let start = Instant::now();
                    let got = flights.follow(&f, far).unwrap();
                    (got, start.elapsed())
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        assert!(flights.existing(7).is_some());
        ticket.end(Some(item(b"v")));
        for w in waiters {
            let (got, waited) = w.join().unwrap();
            assert!(matches!(got, Followed::Value(v) if v.value == b"v"));
            assert!(waited < Duration::from_secs(5), "woken, not timed out: {waited:?}");
        }
        assert!(flights.existing(7).is_none(), "the slot is free again");
    }

    #[test]
    fn a_flight_without_a_value_or_past_its_deadline_sends_followers_back() {
        let flights = Flights::new();
        let far = monotonic_ms() + 10_000;
        let Join::Lead(ticket) = flights.join(1, far) else { panic!() };
        let Join::Follow(f) = flights.join(1, far) else { panic!() };
        drop(ticket);
        assert!(matches!(flights.follow(&f, far).unwrap(), Followed::Ended));

        let soon = monotonic_ms() + 30;
        let Join::Lead(stuck) = flights.join(1, soon) else { panic!() };
        let Join::Follow(f) = flights.join(1, far) else { panic!() };
        let start = Instant::now();
        assert!(matches!(flights.follow(&f, far).unwrap(), Followed::Ended));
        assert!(start.elapsed() < Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(40));
        // Past its deadline the flight is taken over by the next caller.
        let Join::Lead(next) = flights.join(1, far) else { panic!("taken over") };
        stuck.end(Some(item(b"late")));
        assert!(flights.existing(1).is_some(), "the late leader leaves the new flight alone");
        next.end(None);
    }

    #[test]
    fn a_child_takes_over_its_parents_flights() {
        let flights = Flights::new();
        let far = monotonic_ms() + 10_000;
        let Join::Lead(ticket) = flights.join(3, far) else { panic!() };
        // SAFETY: fork in a test; the child only touches the table and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = flights.existing(3).is_none() && matches!(flights.join(3, far), Join::Lead(_));
            // SAFETY: leave the child at once.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(status, 0, "the child leads its own flight instead of following the parent's");
        ticket.end(None);
    }
}
