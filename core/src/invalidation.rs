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
//! Each entry moves FREE -> WRITING -> READY -> DRAINING -> FREE. A state
//! carries a deadline, so an entry claimed by a writer or drainer that died
//! is taken over after it. Requests that find only entries another drainer
//! holds wait for that drain (a round trip) instead of reading stale values
//! while its deletes are in flight.
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

const STATE_SHIFT: u32 = 62;
const TIME_MASK: u64 = (1 << STATE_SHIFT) - 1;
const FREE: u64 = 0;
const WRITING: u64 = 1;
const READY: u64 = 2;
const DRAINING: u64 = 3;

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
    /// State in the top two bits; in the rest the monotonic ms it was
    /// queued (READY) or its holder's deadline (WRITING, DRAINING).
    state: AtomicU64,
    server: AtomicU64,
    len: AtomicU32,
    /// Written only by the holder of WRITING; read only in READY and
    /// DRAINING, with the state checked before and after.
    key: UnsafeCell<[u8; KEY_MAX]>,
}

/// One server's counts in a log.
#[repr(C)]
struct LogServer {
    /// Hash of the server's name (never 0); 0 marks a free slot.
    id: AtomicU64,
    /// Entries of this server in the log (READY, DRAINING).
    pending: AtomicU32,
    /// Monotonic ms of the latest key dropped for lack of room; 0 if none
    /// since the server last drained.
    overflowed_at: AtomicU64,
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
        // SAFETY: in READY/DRAINING nobody writes the bytes; a change of
        // state meanwhile is caught below and the copy discarded.
        let bytes = unsafe { (&*e.key.get())[..len].to_vec() };
        (e.state.load(Ordering::Acquire) == expected).then_some(bytes)
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

/// Why [`Invalidations::take`] handed out nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Nothing {
    /// The server has nothing to forget.
    Clean,
    /// Another drainer holds this server's entries until this monotonic ms:
    /// wait for it rather than read stale values.
    Busy(u64),
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
            match state_of(w) {
                READY
                    if e.server.load(Ordering::Acquire) == self.id
                        && e.len.load(Ordering::Acquire) as usize == wire_key.len()
                        && KeyLog::key_of(e, w).as_deref() == Some(wire_key) =>
                {
                    // Already queued, not yet claimed: its delete will be
                    // sent after this write missed the server.
                    return true;
                }
                FREE => {}
                WRITING if time_of(w) < now => {}
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
            slot.pending.fetch_add(1, Ordering::AcqRel);
            e.state.store(word(READY, now), Ordering::Release);
            return true;
        }
        slot.overflowed_at.store(now.max(1), Ordering::Release);
        false
    }

    /// Claims what the server must forget, for a drain that must be done by
    /// `deadline_ms` (monotonic): up to [`MAX_DRAIN`] keys, and the flush if
    /// the log overflowed and `flush_on_overflow` is set. Entries another
    /// drainer holds (or one whose drain or write expired) are taken over
    /// only after their deadline; until then, when nothing else is left,
    /// the answer is [`Nothing::Busy`].
    pub fn take(&self, deadline_ms: u64, flush_on_overflow: bool) -> Result<Forget, Nothing> {
        let (Some(log), Some(slot)) = (self.log, self.slot) else { return Err(Nothing::Clean) };
        let overflowed = slot.overflowed_at.load(Ordering::Acquire) != 0;
        let pending = slot.pending.load(Ordering::Acquire);
        if pending == 0 && !overflowed {
            return Err(Nothing::Clean);
        }
        let now = monotonic_ms();
        let mut forget = Forget { flush: overflowed && flush_on_overflow, ..Forget::default() };
        if overflowed && !flush_on_overflow {
            // Dropped keys were counted when dropped; nothing to flush.
            slot.overflowed_at.store(0, Ordering::Release);
        }
        let mut busy_until: Option<u64> = None;
        let mut seen = 0u32;
        let mut scanned_all = true;
        for (i, e) in log.entries.iter().enumerate() {
            if seen >= pending || forget.claimed.len() >= MAX_DRAIN {
                scanned_all = false;
                break;
            }
            let w = e.state.load(Ordering::Acquire);
            let st = state_of(w);
            if st == FREE || e.server.load(Ordering::Acquire) != self.id {
                continue;
            }
            match st {
                READY => seen += 1,
                DRAINING if time_of(w) <= now => seen += 1,
                DRAINING | WRITING => {
                    if st == DRAINING {
                        seen += 1;
                    }
                    if time_of(w) > now {
                        busy_until = Some(busy_until.map_or(time_of(w), |b| b.min(time_of(w))));
                        continue;
                    }
                    if st == WRITING {
                        continue;
                    }
                }
                _ => continue,
            }
            let Some(key) = KeyLog::key_of(e, w) else { continue };
            let mine = word(DRAINING, deadline_ms.max(now + 1));
            if e.state.compare_exchange(w, mine, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                forget.keys.push(key);
                forget.claimed.push((i, mine));
            }
        }
        if scanned_all && busy_until.is_none() && seen < pending {
            // A writer died between counting an entry and publishing it:
            // correct the count, so the hot path stops scanning for it.
            let _ =
                slot.pending.compare_exchange(pending, seen, Ordering::AcqRel, Ordering::Acquire);
        }
        if forget.claimed.is_empty() && !forget.flush {
            return Err(match busy_until {
                Some(t) => Nothing::Busy(t),
                None => Nothing::Clean,
            });
        }
        Ok(forget)
    }

    /// The server acknowledged `forget`: its entries leave the log (and a
    /// flush clears the overflow).
    pub fn done(&self, forget: Forget) {
        let (Some(log), Some(slot)) = (self.log, self.slot) else { return };
        for (i, claimed) in forget.claimed {
            let e = &log.entries[i];
            if e.state
                .compare_exchange(claimed, word(FREE, 0), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                let _ = slot
                    .pending
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| p.checked_sub(1));
            }
        }
        if forget.flush {
            slot.overflowed_at.store(0, Ordering::Release);
        }
    }

    /// `forget` could not be applied: its entries are ready again.
    pub fn restore(&self, forget: Forget) {
        let Some(log) = self.log else { return };
        let now = monotonic_ms();
        for (i, claimed) in forget.claimed {
            let _ = log.entries[i].state.compare_exchange(
                claimed,
                word(READY, now),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
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

    #[test]
    fn keys_are_queued_once_claimed_and_released_on_ack() {
        let inv = fresh("a:1");
        assert!(!inv.is_pending());
        assert_eq!(inv.take(u64::MAX, false), Err(Nothing::Clean));
        assert!(inv.add(b"k1"));
        assert!(inv.add(b"k1"), "a queued key is not queued twice");
        assert!(inv.add(b"k2"));
        assert!(inv.is_pending());
        let deadline = monotonic_ms() + 10_000;
        let mut f = inv.take(deadline, false).unwrap();
        f.keys.sort();
        assert_eq!(f.keys, vec![b"k1".to_vec(), b"k2".to_vec()]);
        // While the deletes are in flight, another drainer waits.
        assert!(matches!(inv.take(deadline, false), Err(Nothing::Busy(t)) if t == deadline));
        assert!(inv.is_pending(), "entries leave only once acknowledged");
        inv.done(f);
        assert!(!inv.is_pending());
        assert_eq!(inv.take(deadline, false), Err(Nothing::Clean));
    }

    #[test]
    fn a_failed_drain_puts_keys_back_and_an_expired_one_is_taken_over() {
        let inv = fresh("a:1");
        inv.add(b"k");
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        inv.restore(f);
        let f = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(f.keys, vec![b"k".to_vec()]);
        // This drainer "dies": after its deadline another one takes over.
        let expired = inv.take(1, false);
        assert!(matches!(expired, Err(Nothing::Busy(_))));
        drop(f);
        let log = inv.log.unwrap();
        for e in log.entries.iter() {
            let w = e.state.load(Ordering::Acquire);
            if state_of(w) == DRAINING {
                e.state.store(word(DRAINING, 1), Ordering::Release);
            }
        }
        let again = inv.take(monotonic_ms() + 10_000, false).unwrap();
        assert_eq!(again.keys, vec![b"k".to_vec()]);
        inv.done(again);
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
        b.done(f);
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
