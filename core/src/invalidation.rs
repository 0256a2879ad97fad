//! The invalidation log: keys a server must forget before it serves again.
//!
//! A write that misses one of its key's home copies (the server was dead,
//! failed, or timed out) leaves that server holding an older value. The key
//! goes into the log; before the server serves again, whoever uses it first
//! deletes those keys there, ahead of its own request, and removes them from
//! the log only once the server acknowledged the deletes. A blip therefore
//! costs exactly the keys written meanwhile, never the whole server.
//!
//! The log is one fixed table of (server, key) entries changed only with
//! atomics, so no lock can be left held by a thread that vanished in a
//! `fork()` or by a worker that died. With shared health it lives in the
//! area shared by the processes of a pool (every PHP-FPM or gunicorn worker
//! sees the keys every other one missed); without it, in one table of this
//! process.
//!
//! Each entry moves FREE -> WRITING -> READY -> DRAINING -> LINGER ->
//! FINAL -> FREE. A state carries a deadline, so an entry claimed by a
//! writer or drainer that died is taken over after it. While a key is in
//! the log in any state, reads of it skip that server (see
//! [`Invalidations::holds`]): a delete another client has in flight, or a
//! late write, cannot be read around.
//!
//! After the first delete the key lingers (a second or two) and is deleted
//! once more: a write that timed out may still sit in the stopped server's
//! socket and be applied when it resumes — possibly after the first delete,
//! since memcached serves connections on several threads. While a key
//! lingers, reads of it skip that server.
//!
//! Bounded: a server whose keys do not fit is marked overflowed and the key
//! is dropped (`invalidations_dropped`); with `flush_on_overflow=true` such
//! a server is flushed when it returns, unless it restarted meanwhile (then
//! it is empty anyway).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crate::health::monotonic_ms;

/// Entries in one log (shared by every server of it).
pub const LOG_ENTRIES: usize = 16 * 1024;
/// Servers one log keeps counts for.
const LOG_SERVERS: usize = 4096;
/// The most entries one server may hold.
pub const MAX_PER_SERVER: u32 = (LOG_ENTRIES / 2) as u32;
/// Longest key an entry holds (memcached's limit, prefix included).
const KEY_MAX: usize = 250;
/// Slots an insert looks at (from the key's hash) before giving up.
const PROBES: usize = 64;
/// Keys one drain deletes at most (the rest wait for the next request).
pub const MAX_DRAIN: usize = 2000;
/// How long a writer may hold an entry.
const WRITE_MS: u64 = 1000;
/// While nothing is READY, how often a server's entries are looked at for
/// lingering keys due for their second delete and abandoned drains.
const SCAN_MS: u64 = 50;

const STATE_SHIFT: u32 = 60;
const TIME_MASK: u64 = (1 << STATE_SHIFT) - 1;
const FREE: u64 = 0;
const WRITING: u64 = 1;
const READY: u64 = 2;
const DRAINING: u64 = 3;
/// Deleted once; deleted again after the time it carries.
const LINGER: u64 = 4;
/// The second delete is in flight.
const FINAL: u64 = 5;

fn state_of(word: u64) -> u64 {
    word >> STATE_SHIFT
}

fn time_of(word: u64) -> u64 {
    word & TIME_MASK
}

fn word(state: u64, ms: u64) -> u64 {
    (state << STATE_SHIFT) | (ms & TIME_MASK)
}

/// One (server, key) of the log.
#[repr(C)]
struct Entry {
    /// State in the top bits; in the rest the monotonic ms it was queued
    /// (READY), its holder's deadline (WRITING, DRAINING, FINAL), or when it
    /// is due for its second delete (LINGER).
    state: AtomicU64,
    server: AtomicU64,
    len: AtomicU32,
    /// Written only by the holder of WRITING; read only in the other
    /// states, with the state checked before and after.
    key: UnsafeCell<[u8; KEY_MAX]>,
}

/// One server's counts in a log.
#[repr(C)]
struct LogServer {
    /// Hash of the server's name (never 0); 0 marks a free slot.
    id: AtomicU64,
    /// Entries of this server in the log (every state but FREE and
    /// WRITING).
    pending: AtomicU32,
    /// Monotonic ms of the latest key dropped for lack of room; 0 if none
    /// since the server last drained.
    overflowed_at: AtomicU64,
    /// Entries in READY state (to be deleted now). A hint: requests scan
    /// the table when it is not 0, or every [`SCAN_MS`] while anything is
    /// pending (lingering keys, drains another client may have abandoned).
    ready: AtomicU32,
    /// Monotonic ms of the latest scan of the table for this server.
    last_scan: AtomicU64,
    /// Bumped whenever an entry joins or leaves `pending` or becomes READY
    /// again: a scan that means to correct a drifted count does so only if
    /// nothing changed while it looked.
    changes: AtomicU64,
}

/// A whole log. All-zero is a valid, empty log (it is created by `mmap`).
#[repr(C)]
pub struct KeyLog {
    servers: [LogServer; LOG_SERVERS],
    entries: [Entry; LOG_ENTRIES],
}

// SAFETY: entries' key bytes are written only by the thread that won the
// entry's WRITING state and read only in states where no one writes them
// (re-checked after reading); everything else is atomics.
unsafe impl Sync for KeyLog {}

/// A zeroed anonymous mapping big enough for a log (`MAP_SHARED` for the
/// area shared across `fork()`, `MAP_PRIVATE` for this process's own).
pub(crate) fn map_log(shared: bool) -> std::io::Result<&'static KeyLog> {
    let flags = if shared { libc::MAP_SHARED } else { libc::MAP_PRIVATE } | libc::MAP_ANONYMOUS;
    // SAFETY: a fresh anonymous mapping; all-zero is a valid KeyLog.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            std::mem::size_of::<KeyLog>(),
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the mapping lives as long as the process and is never unmapped.
    Ok(unsafe { &*(ptr as *const KeyLog) })
}

/// This process's own log, for servers whose health is not shared.
static PRIVATE: AtomicPtr<KeyLog> = AtomicPtr::new(std::ptr::null_mut());

fn private_log() -> Option<&'static KeyLog> {
    let ptr = PRIVATE.load(Ordering::Acquire);
    if !ptr.is_null() {
        // SAFETY: published below, never unmapped.
        return Some(unsafe { &*ptr });
    }
    let log = map_log(false).ok()?;
    let mine = log as *const KeyLog as *mut KeyLog;
    match PRIVATE.compare_exchange(std::ptr::null_mut(), mine, Ordering::AcqRel, Ordering::Acquire)
    {
        Ok(_) => Some(log),
        Err(theirs) => {
            // Another thread won; ours is unmapped unused.
            // SAFETY: our own mapping, never published.
            unsafe { libc::munmap(mine as *mut libc::c_void, std::mem::size_of::<KeyLog>()) };
            // SAFETY: published by the winner, never unmapped.
            Some(unsafe { &*theirs })
        }
    }
}

/// FNV-1a, never 0.
pub(crate) fn name_key(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h | 1
}

impl KeyLog {
    /// The counts slot of the server with this id, claiming one on first use.
    fn server(&self, id: u64) -> Option<&LogServer> {
        let start = (id as usize) % LOG_SERVERS;
        for i in 0..LOG_SERVERS {
            let slot = &self.servers[(start + i) % LOG_SERVERS];
            match slot.id.compare_exchange(0, id, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(slot),
                Err(existing) if existing == id => return Some(slot),
                Err(_) => {}
            }
        }
        None
    }

    /// The key of entry `e`, if it is still in `expected` state when read.
    fn key_of(e: &Entry, expected: u64) -> Option<Vec<u8>> {
        let len = (e.len.load(Ordering::Acquire) as usize).min(KEY_MAX);
        // SAFETY: outside WRITING nobody writes the bytes; a change of
        // state meanwhile is caught below and the copy discarded.
        let bytes = unsafe { (&*e.key.get())[..len].to_vec() };
        (e.state.load(Ordering::Acquire) == expected).then_some(bytes)
    }

    /// Whether entry `e` of server `id` holds `wire_key`, its state passing
    /// `still` once the bytes are read (a change of state meanwhile may have
    /// rewritten them).
    fn has_key(e: &Entry, id: u64, wire_key: &[u8], still: impl Fn(u64) -> bool) -> bool {
        if e.server.load(Ordering::Acquire) != id
            || e.len.load(Ordering::Acquire) as usize != wire_key.len()
            || wire_key.len() > KEY_MAX
        {
            return false;
        }
        // SAFETY: outside WRITING nobody writes the bytes; a change of
        // state meanwhile is caught by `still`.
        let same = unsafe { &(&*e.key.get())[..wire_key.len()] } == wire_key;
        same && still(e.state.load(Ordering::Acquire))
    }
}

/// One server's part of a log.
pub struct Invalidations {
    log: Option<&'static KeyLog>,
    slot: Option<&'static LogServer>,
    id: u64,
}

impl std::fmt::Debug for Invalidations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invalidations").field("pending", &self.pending()).finish()
    }
}

/// What a server must do before it serves again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forget {
    /// Keys to delete (on the wire: prefix included).
    pub keys: Vec<Vec<u8>>,
    /// Log entries claimed for those keys: (index, state word claimed).
    claimed: Vec<(usize, u64)>,
    /// The log overflowed for this server: it is to be flushed (see
    /// `flush_on_overflow`).
    pub flush: bool,
}

impl Invalidations {
    /// The part of the log of the server named `name`: the shared log when
    /// the server's health is shared, this process's otherwise.
    pub fn for_server(name: &str, shared: Option<&'static KeyLog>) -> Invalidations {
        let id = name_key(name.as_bytes());
        let log = shared.or_else(private_log);
        let slot = log.and_then(|l| l.server(id));
        Invalidations { log, slot, id }
    }

    fn pending(&self) -> u32 {
        self.slot.map_or(0, |s| s.pending.load(Ordering::Acquire))
    }

    /// Whether anything is waiting (one atomic load: the hot path check).
    #[inline]
    pub fn is_pending(&self) -> bool {
        match self.slot {
            Some(s) => {
                s.pending.load(Ordering::Relaxed) != 0
                    || s.overflowed_at.load(Ordering::Relaxed) != 0
            }
            None => false,
        }
    }

    /// Remembers that the server must forget `wire_key` (prefix included).
    /// False when there was no room: the key is dropped and the server
    /// marked overflowed.
    pub fn add(&self, wire_key: &[u8]) -> bool {
        let (Some(log), Some(slot)) = (self.log, self.slot) else { return false };
        let now = monotonic_ms();
        if wire_key.len() > KEY_MAX || slot.pending.load(Ordering::Acquire) >= MAX_PER_SERVER {
            slot.overflowed_at.store(now.max(1), Ordering::Release);
            return false;
        }
        let start = (name_key(wire_key) ^ self.id.rotate_left(17)) as usize;
        for i in 0..PROBES {
            let e = &log.entries[(start + i) % LOG_ENTRIES];
            let w = e.state.load(Ordering::Acquire);
            let st = state_of(w);
            let same = || KeyLog::has_key(e, self.id, wire_key, |now| now == w);
            match st {
                // Already queued, not yet claimed: its delete will be sent
                // after this write missed the server.
                READY if same() => return true,
                // Deleted once and lingering: due again now.
                LINGER if same() => {
                    if e.state
                        .compare_exchange(w, word(READY, now), Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        slot.changes.fetch_add(1, Ordering::AcqRel);
                        slot.ready.fetch_add(1, Ordering::AcqRel);
                        return true;
                    }
                    continue;
                }
                FREE => {}
                WRITING if time_of(w) < now => {}
                // Being deleted right now (maybe before this write lands
                // there): the key gets an entry of its own.
                _ => continue,
            }
            let mine = word(WRITING, now + WRITE_MS);
            if e.state.compare_exchange(w, mine, Ordering::AcqRel, Ordering::Acquire).is_err() {
                continue;
            }
            e.server.store(self.id, Ordering::Release);
            e.len.store(wire_key.len() as u32, Ordering::Release);
            // SAFETY: this thread holds the entry in WRITING state.
            unsafe { (&mut *e.key.get())[..wire_key.len()].copy_from_slice(wire_key) };
            slot.changes.fetch_add(1, Ordering::AcqRel);
            slot.pending.fetch_add(1, Ordering::AcqRel);
            slot.ready.fetch_add(1, Ordering::AcqRel);
            e.state.store(word(READY, now), Ordering::Release);
            return true;
        }
        slot.overflowed_at.store(now.max(1), Ordering::Release);
        false
    }

    /// Claims what the server must forget, for a drain that must be done by
    /// `deadline_ms` (monotonic): up to [`MAX_DRAIN`] keys (queued ones, and
    /// lingering ones due for their second delete), and the flush if the
    /// log overflowed and `flush_on_overflow` is set. Entries another
    /// drainer holds are taken over only after its deadline. `None`:
    /// nothing to do now (reads still skip the keys the log holds).
    pub fn take(&self, deadline_ms: u64, flush_on_overflow: bool) -> Option<Forget> {
        let (Some(log), Some(slot)) = (self.log, self.slot) else { return None };
        let overflowed = slot.overflowed_at.load(Ordering::Acquire) != 0;
        let changes = slot.changes.load(Ordering::Acquire);
        let pending = slot.pending.load(Ordering::Acquire);
        if pending == 0 && !overflowed {
            return None;
        }
        let now = monotonic_ms();
        if !overflowed
            && slot.ready.load(Ordering::Acquire) == 0
            && now < slot.last_scan.load(Ordering::Relaxed).saturating_add(SCAN_MS)
        {
            // Only lingering or claimed entries, looked at a moment ago.
            return None;
        }
        slot.last_scan.store(now, Ordering::Relaxed);
        let mut forget = Forget { flush: overflowed && flush_on_overflow, ..Forget::default() };
        if overflowed && !flush_on_overflow {
            // Dropped keys were counted when dropped; nothing to flush.
            slot.overflowed_at.store(0, Ordering::Release);
        }
        let mut seen = 0u32;
        let mut ready_seen = 0u32;
        let mut scanned_all = true;
        // Entries a live writer holds (of any server: until it publishes,
        // its entry's server is not known). One may be counted in
        // `pending` already.
        let mut writing = 0u32;
        for (i, e) in log.entries.iter().enumerate() {
            if seen >= pending || forget.claimed.len() >= MAX_DRAIN {
                scanned_all = false;
                break;
            }
            let w = e.state.load(Ordering::Acquire);
            let st = state_of(w);
            if st == WRITING && time_of(w) >= now {
                writing += 1;
            }
            if st == FREE || e.server.load(Ordering::Acquire) != self.id {
                continue;
            }
            if st != WRITING {
                seen += 1;
            }
            let due = time_of(w) <= now;
            let next = match st {
                READY => DRAINING,
                // Its drainer died (or ran out of time): take it over.
                DRAINING if due => DRAINING,
                LINGER | FINAL if due => FINAL,
                // Not due yet, or a write under way.
                _ => continue,
            };
            let Some(key) = KeyLog::key_of(e, w) else { continue };
            let mine = word(next, deadline_ms.max(now + 1));
            if e.state.compare_exchange(w, mine, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                if st == READY {
                    ready_seen += 1;
                }
                forget.keys.push(key);
                forget.claimed.push((i, mine));
            }
        }
        if ready_seen > 0 {
            let _ = slot.ready.fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| {
                Some(r.saturating_sub(ready_seen))
            });
        }
        let unchanged = writing == 0 && slot.changes.load(Ordering::Acquire) == changes;
        if scanned_all && seen < pending && unchanged {
            // A writer died between counting an entry and publishing it:
            // correct the count, so the hot path stops scanning for it.
            // Never while a writer is under way or an entry came or went
            // during the scan (one published behind the scan and one
            // removed ahead of it leave `pending` as it was): a count
            // below the entries would hide a key from the drain and from
            // `holds` for good, and the server would serve its old value.
            let _ =
                slot.pending.compare_exchange(pending, seen, Ordering::AcqRel, Ordering::Acquire);
        }
        if scanned_all && ready_seen == 0 && unchanged {
            // Nothing READY was left: a count that drifted (a writer that
            // died) must not make every request scan. Not when an entry
            // became READY during the scan (behind it): its count would be
            // lost until the next periodic scan.
            let _ = slot.ready.compare_exchange(
                slot.ready.load(Ordering::Acquire),
                0,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        if forget.claimed.is_empty() && !forget.flush {
            return None;
        }
        Some(forget)
    }

    /// The server acknowledged `forget`: keys deleted for the first time
    /// linger for `linger_ms` (and are deleted once more after it, see the
    /// module's documentation); keys deleted the second time leave the log.
    /// A flush clears the overflow.
    pub fn done(&self, forget: Forget, linger_ms: u64) {
        let (Some(log), Some(slot)) = (self.log, self.slot) else { return };
        let now = monotonic_ms();
        for (i, claimed) in forget.claimed {
            let e = &log.entries[i];
            let (next, leaves) = if state_of(claimed) == DRAINING {
                (word(LINGER, now + linger_ms), false)
            } else {
                (word(FREE, 0), true)
            };
            if e.state.compare_exchange(claimed, next, Ordering::AcqRel, Ordering::Acquire).is_ok()
                && leaves
            {
                slot.changes.fetch_add(1, Ordering::AcqRel);
                let _ = slot
                    .pending
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| p.checked_sub(1));
            }
        }
        if forget.flush {
            slot.overflowed_at.store(0, Ordering::Release);
        }
    }

    /// `forget` could not be applied: its entries are due again.
    pub fn restore(&self, forget: Forget) {
        let (Some(log), Some(slot)) = (self.log, self.slot) else { return };
        let now = monotonic_ms();
        for (i, claimed) in forget.claimed {
            let first = state_of(claimed) == DRAINING;
            let back = if first { word(READY, now) } else { word(LINGER, now) };
            if log.entries[i]
                .state
                .compare_exchange(claimed, back, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
                && first
            {
                slot.changes.fetch_add(1, Ordering::AcqRel);
                slot.ready.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Whether `wire_key` is in this server's log (queued, being deleted,
    /// or lingering before its second delete): a read of it must not be
    /// served by this server yet. Cheap while the log holds nothing for it.
    pub fn holds(&self, wire_key: &[u8]) -> bool {
        // The entry may move on while its key is read (a drain claiming
        // it, a first delete done, a failed drain giving it back): its
        // bytes stay until it is free again, so any state but FREE and
        // WRITING still holds the key. (Asking for the very state read
        // first let a read through at the moment a drain claimed it, while
        // the delete was still on its way.)
        self.find(wire_key, |st| !matches!(st, FREE | WRITING))
    }

    /// Whether `wire_key` is queued here and not yet claimed by a drain:
    /// a write of it missed this server, and the server has not been used
    /// since (a drain runs ahead of the first request that reaches it).
    pub fn queued(&self, wire_key: &[u8]) -> bool {
        self.find(wire_key, |st| st == READY)
    }

    /// Whether an entry of this server holds `wire_key` in a state `wanted`
    /// accepts, before and after its bytes are read.
    fn find(&self, wire_key: &[u8], wanted: impl Fn(u64) -> bool) -> bool {
        let (Some(log), Some(slot)) = (self.log, self.slot) else { return false };
        if slot.pending.load(Ordering::Relaxed) == 0 || wire_key.len() > KEY_MAX {
            return false;
        }
        let start = (name_key(wire_key) ^ self.id.rotate_left(17)) as usize;
        (0..PROBES).any(|i| {
            let e = &log.entries[(start + i) % LOG_ENTRIES];
            let held = |w: u64| wanted(state_of(w));
            held(e.state.load(Ordering::Acquire)) && KeyLog::has_key(e, self.id, wire_key, held)
        })
    }

    /// When the log last overflowed for this server (monotonic ms), if it
    /// has since it last drained.
    pub fn overflowed_at(&self) -> Option<u64> {
        self.slot.map(|s| s.overflowed_at.load(Ordering::Acquire)).filter(|&t| t != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(name: &str) -> Invalidations {
        let log = map_log(false).unwrap();
        Invalidations::for_server(name, Some(log))
    }

    /// Lets the entries of `inv` that wait for a time be due now.
    fn make_due(inv: &Invalidations) {
        for e in inv.log.unwrap().entries.iter() {
            let w = e.state.load(Ordering::Acquire);
            if matches!(state_of(w), DRAINING | LINGER | FINAL) {
                e.state.store(word(state_of(w), 1), Ordering::Release);
            }
        }
        inv.slot.unwrap().last_scan.store(0, Ordering::Release);
    }

    #[test]
    fn keys_are_deleted_twice_and_held_until_the_second_delete() {
        let inv = fresh("a:1");
        assert!(!inv.is_pending());
        assert_eq!(inv.take(u64::MAX, false), None);
        assert!(!inv.holds(b"k1"));
        assert!(inv.add(b"k1"));
        assert!(inv.add(b"k1"), "a queued key is not queued twice");
        assert!(inv.add(b"k2"));
        assert!(inv.is_pending());
        assert!(inv.holds(b"k1") && inv.holds(b"k2") && !inv.holds(b"k3"));
        let deadline = monotonic_ms() + 10_000;
        let mut f = inv.take(deadline, false).unwrap();
        f.keys.sort();
        assert_eq!(f.keys, vec![b"k1".to_vec(), b"k2".to_vec()]);
        // While the deletes are in flight, nobody else sends them, and reads
        // still skip the keys.
        assert_eq!(inv.take(deadline, false), None);
        assert!(inv.holds(b"k1"));
        inv.done(f, 60_000);
        // Deleted once: the keys linger, held, not due yet.
        assert!(inv.is_pending() && inv.holds(b"k1"));
        inv.slot.unwrap().last_scan.store(0, Ordering::Release);
        assert_eq!(inv.take(deadline, false), None, "not due before the linger ends");
        make_due(&inv);
        let mut second = inv.take(deadline, false).unwrap();
        second.keys.sort();
        assert_eq!(second.keys, vec![b"k1".to_vec(), b"k2".to_vec()]);
        inv.done(second, 60_000);
        assert!(!inv.is_pending() && !inv.holds(b"k1"));
        inv.slot.unwrap().last_scan.store(0, Ordering::Release);
        assert_eq!(inv.take(deadline, false), None);
    }

    #[test]
    fn a_key_is_queued_only_until_a_drain_claims_it() {
        let inv = fresh("a:1");
        assert!(!inv.queued(b"k1"));
        inv.add(b"k1");
        assert!(inv.queued(b"k1") && !inv.queued(b"k2"));
        let deadline = monotonic_ms() + 10_000;
        let f = inv.take(deadline, false).unwrap();
        assert!(!inv.queued(b"k1") && inv.holds(b"k1"), "claimed: held, no longer queued");
        inv.restore(f);
        assert!(inv.queued(b"k1"), "a failed drain queues it again");
        let f = inv.take(deadline, false).unwrap();
        inv.done(f, 60_000);
        assert!(!inv.queued(b"k1") && inv.holds(b"k1"), "lingering: held, not queued");
    }

    #[test]
    fn a_scan_during_a_write_keeps_the_written_key() {
        let inv = fresh("a:1");
        let (log, slot) = (inv.log.unwrap(), inv.slot.unwrap());
        inv.add(b"k1");
        // Another thread is inside `add` for k2: its entry is counted in
        // `pending` and not yet published.
        let e = &log.entries[(name_key(b"k2") ^ inv.id.rotate_left(17)) as usize % LOG_ENTRIES];
        assert_eq!(state_of(e.state.load(Ordering::Acquire)), FREE);
        e.state.store(word(WRITING, monotonic_ms() + WRITE_MS), Ordering::Release);
        e.server.store(inv.id, Ordering::Release);
        e.len.store(2, Ordering::Release);
        // SAFETY: the test plays the writer holding the entry.
        unsafe { (&mut *e.key.get())[..2].copy_from_slice(b"k2") };
        slot.changes.fetch_add(1, Ordering::AcqRel);
        slot.pending.fetch_add(1, Ordering::AcqRel);
        // A drain scans meanwhile: it sees one entry of two counted.
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(f.keys, vec![b"k1".to_vec()]);
        assert_eq!(slot.pending.load(Ordering::Acquire), 2, "the writer's entry is still counted");
        // The writer publishes; k1 is deleted twice and leaves the log.
        slot.ready.fetch_add(1, Ordering::AcqRel);
        e.state.store(word(READY, monotonic_ms()), Ordering::Release);
        inv.done(f, 0);
        make_due(&inv);
        let mut f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        f.keys.sort();
        assert_eq!(f.keys, vec![b"k1".to_vec(), b"k2".to_vec()]);
        inv.done(f, 0);
        // k2 is still held and still due for its second delete.
        assert!(inv.is_pending() && inv.holds(b"k2") && !inv.holds(b"k1"));
        make_due(&inv);
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(f.keys, vec![b"k2".to_vec()]);
        inv.done(f, 0);
        assert!(!inv.is_pending());
    }

    #[test]
    fn a_key_is_held_while_a_drain_claims_and_gives_it_back() {
        let inv = fresh("a:1");
        inv.add(b"k");
        let stop = AtomicU64::new(0);
        let missed = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut missed = 0u64;
                for _ in 0..300_000 {
                    if !inv.holds(b"k") {
                        missed += 1;
                    }
                }
                stop.store(1, Ordering::Release);
                missed
            });
            // A drain claims the key and puts it back, over and over (as
            // drains that time out on a stopped server do).
            while stop.load(Ordering::Acquire) == 0 {
                if let Some(f) = inv.take(monotonic_ms() + 10_000, false) {
                    inv.restore(f);
                }
                inv.slot.unwrap().last_scan.store(0, Ordering::Release);
            }
            reader.join().unwrap()
        });
        assert_eq!(missed, 0, "a read was let through while the key was in the log");
    }

    #[test]
    fn a_dead_writers_count_is_corrected() {
        let inv = fresh("a:1");
        let (log, slot) = (inv.log.unwrap(), inv.slot.unwrap());
        inv.add(b"k1");
        // A writer counted an entry and died before publishing it.
        log.entries[7].state.store(word(WRITING, 1), Ordering::Release);
        slot.pending.fetch_add(1, Ordering::AcqRel);
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(f.keys, vec![b"k1".to_vec()]);
        assert_eq!(slot.pending.load(Ordering::Acquire), 1);
    }

    #[test]
    fn a_key_missed_again_while_it_lingers_is_due_at_once() {
        let inv = fresh("a:1");
        inv.add(b"k");
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        inv.done(f, 60_000);
        // A new write misses the server: the key is due now, not after the
        // linger, and is still one entry.
        assert!(inv.add(b"k"));
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(f.keys, vec![b"k".to_vec()]);
        inv.done(f, 60_000);
        make_due(&inv);
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        inv.done(f, 60_000);
        assert!(!inv.is_pending());
    }

    #[test]
    fn a_failed_drain_puts_keys_back_and_an_expired_one_is_taken_over() {
        let inv = fresh("a:1");
        inv.add(b"k");
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        inv.restore(f);
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(f.keys, vec![b"k".to_vec()]);
        // This drainer "dies": until its deadline nobody takes the key...
        inv.slot.unwrap().last_scan.store(0, Ordering::Release);
        assert_eq!(inv.take(monotonic_ms() + 10_000, false), None);
        drop(f);
        // ...after it, another drainer does.
        make_due(&inv);
        let again = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(again.keys, vec![b"k".to_vec()]);
        inv.done(again, 0);
        make_due(&inv);
        let last = inv.take(monotonic_ms() + 10_000, false).unwrap();
        inv.done(last, 0);
        assert!(!inv.is_pending());
    }

    #[test]
    fn servers_are_apart_and_overflow_is_bounded() {
        let log = map_log(false).unwrap();
        let a = Invalidations::for_server("a:1", Some(log));
        let b = Invalidations::for_server("b:1", Some(log));
        a.add(b"same");
        assert!(!b.is_pending());
        let mut added = 0;
        for i in 0..(MAX_PER_SERVER + 10) {
            if b.add(format!("key{i}").as_bytes()) {
                added += 1;
            }
        }
        assert!(added <= MAX_PER_SERVER);
        assert!(b.overflowed_at().is_some());
        // Without flush_on_overflow the overflow is only noted.
        let f = b.take(monotonic_ms() + 10_000, false).unwrap();
        assert!(!f.flush);
        assert_eq!(f.keys.len(), MAX_DRAIN);
        assert!(b.overflowed_at().is_none());
        b.done(f, 1000);
        let a_keys = a.take(monotonic_ms() + 10_000, true).unwrap();
        assert_eq!(a_keys.keys, vec![b"same".to_vec()]);
    }

    #[test]
    fn shared_log_is_seen_across_fork() {
        let log = map_log(true).unwrap();
        let inv = Invalidations::for_server("s:1", Some(log));
        // SAFETY: fork in a test; the child only touches the mapping and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let child = Invalidations::for_server("s:1", Some(log));
            let ok = child.add(b"from-child");
            // SAFETY: leave the child at once.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(status, 0);
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(f.keys, vec![b"from-child".to_vec()]);
    }
}
