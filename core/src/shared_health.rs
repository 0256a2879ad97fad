//! Server health shared by processes forked from one parent.
//!
//! PHP-FPM and pre-fork Python servers run many worker processes against one
//! pool. Without sharing, every worker pays its own timeouts to learn that a
//! server died. [`init`] maps a small `MAP_SHARED` area; clients created
//! afterwards in this process, and in every process forked from it later,
//! keep each server's failure state there, so one worker's timeouts spare
//! the others theirs.
//!
//! The area is an open-addressing table of fixed slots keyed by a hash of
//! the server's name, holding only atomics: no locks that a dying worker
//! could leave held. Beside it lives the pool's invalidation log (see
//! `invalidation`), so a key one worker's write missed is deleted on the
//! recovered server by whichever worker uses it first. Neither is ever
//! unmapped.

use std::io;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crate::invalidation::KeyLog;

/// The failure state of one server (see [`crate::health::Health`]).
#[derive(Debug, Default)]
#[repr(C)]
pub struct HealthCell {
    /// Consecutive failures.
    pub failures: AtomicU32,
    /// Unused; keeps the layout of the fields after it.
    pub reserved: AtomicU32,
    /// Monotonic ms until which the server is dead; 0 when alive.
    pub dead_until: AtomicU64,
    /// Monotonic ms when the current probe started; 0 when none.
    pub probe_started: AtomicU64,
}

#[repr(C)]
struct Slot {
    /// Hash of the server's name (never 0); 0 marks a free slot.
    key: AtomicU64,
    cell: HealthCell,
}

/// Slots in the area: servers beyond this keep private health.
pub const SLOTS: usize = 4096;
const MAGIC: u64 = 0x6d63_7269_6e67_0003; // "mcring" + layout version

#[repr(C)]
struct Region {
    magic: u64,
    /// Servers currently dead, over every slot.
    dead: AtomicU64,
    /// Changes whenever a server dies or recovers.
    epoch: AtomicU64,
    slots: [Slot; SLOTS],
}

static REGION: AtomicPtr<Region> = AtomicPtr::new(std::ptr::null_mut());
/// The invalidation log shared by the same processes.
static LOG: AtomicPtr<KeyLog> = AtomicPtr::new(std::ptr::null_mut());

/// Creates the shared area if it does not exist yet. Call it in the parent
/// before workers fork (PHP's MINIT, a pre-fork server's master).
pub fn init() -> io::Result<()> {
    if !REGION.load(Ordering::Acquire).is_null() {
        return Ok(());
    }
    // The log first: a client sees the region only once the log is there.
    if LOG.load(Ordering::Acquire).is_null() {
        let log = crate::invalidation::map_log(true)? as *const KeyLog as *mut KeyLog;
        if LOG
            .compare_exchange(std::ptr::null_mut(), log, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: our own mapping, never published.
            unsafe { libc::munmap(log as *mut libc::c_void, std::mem::size_of::<KeyLog>()) };
        }
    }
    let size = std::mem::size_of::<Region>();
    // SAFETY: an anonymous shared mapping of `size` bytes; the kernel zeroes
    // it, and all-zero is a valid Region apart from `magic`, set below.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let region = ptr as *mut Region;
    // SAFETY: region points to a fresh, writable, zeroed mapping.
    unsafe { (*region).magic = MAGIC };
    if REGION
        .compare_exchange(std::ptr::null_mut(), region, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // Another thread won; ours is left unused (it is small).
        // SAFETY: unmapping the mapping made above, never published.
        unsafe { libc::munmap(ptr, size) };
    }
    Ok(())
}

fn region() -> Option<&'static Region> {
    let ptr = REGION.load(Ordering::Acquire);
    // SAFETY: once published the mapping lives as long as the process and
    // holds only atomics (and `magic`, written before publication).
    unsafe { ptr.as_ref() }.filter(|r| r.magic == MAGIC)
}

/// The invalidation log shared with sibling processes, when the shared area
/// exists.
pub fn log() -> Option<&'static KeyLog> {
    region()?;
    let ptr = LOG.load(Ordering::Acquire);
    // SAFETY: published by `init` before the region, never unmapped.
    unsafe { ptr.as_ref() }
}

/// Whether the shared area exists in this process.
pub fn is_enabled() -> bool {
    region().is_some()
}

/// The shared cell of the server named `name`, claiming a slot on first use;
/// `None` without a shared area or when every slot is taken.
pub fn cell(name: &str) -> Option<&'static HealthCell> {
    let region = region()?;
    let key = name_key(name);
    let start = (key as usize) % SLOTS;
    for i in 0..SLOTS {
        let slot = &region.slots[(start + i) % SLOTS];
        match slot.key.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some(&slot.cell),
            Err(existing) if existing == key => return Some(&slot.cell),
            Err(_) => {}
        }
    }
    None
}

/// Books a server's death or recovery in the shared counters.
pub fn note_transition(died: bool) {
    if let Some(r) = region() {
        if died {
            r.dead.fetch_add(1, Ordering::AcqRel);
        } else {
            // Saturating: never wrap below zero.
            let _ = r.dead.fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1));
        }
        r.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

/// Servers dead in the shared area, and its epoch; `None` without one.
pub fn counters() -> Option<(u64, u64)> {
    region().map(|r| (r.dead.load(Ordering::Acquire), r.epoch.load(Ordering::Acquire)))
}

fn name_key(name: &str) -> u64 {
    crate::invalidation::name_key(name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_name_and_shared_across_fork() {
        init().unwrap();
        init().unwrap();
        assert!(is_enabled());
        let a = cell("a:1").unwrap();
        let b = cell("b:1").unwrap();
        assert!(!std::ptr::eq(a, b));
        assert!(std::ptr::eq(a, cell("a:1").unwrap()));
        a.failures.store(0, Ordering::SeqCst);
        // SAFETY: fork in a test; the child only touches atomics and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            cell("a:1").unwrap().failures.store(7, Ordering::SeqCst);
            // SAFETY: leave the child at once, without running test harness code.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(a.failures.load(Ordering::SeqCst), 7, "the child's write is seen by the parent");
    }
}
