//! The client's own counters, per server and in total.

use std::ffi::{c_char, CString};

use mcring::stats::{Snapshot, COUNTER_COUNT};

use crate::args;
use crate::boundary::{status_call, value_call};
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};

/// Counter values of one server (or of all), as the client counted them.
///
/// Only ever handed out by pointer, from a `mcring_stats` snapshot: never
/// allocate one yourself. New counters may be appended in later versions;
/// existing fields keep their place.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mcring_counters {
    /// Keys asked for (a multi-get of 10 keys counts 10).
    pub gets: u64,
    /// Keys found.
    pub hits: u64,
    /// Keys not found.
    pub misses: u64,
    /// Store commands (set, add, replace, append, prepend, cas, incr, decr,
    /// touch).
    pub sets: u64,
    /// Deletes.
    pub deletes: u64,
    /// Requests that failed with an error (including timeouts).
    pub errors: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Bytes received.
    pub bytes_read: u64,
    /// Bytes sent.
    pub bytes_written: u64,
    /// Connections opened.
    pub connects: u64,
    /// Copies of a write that failed while the write as a whole succeeded.
    pub replica_write_failures: u64,
    /// Requests served by another server because this one was down.
    pub failovers: u64,
    /// Values written back to this server after it missed them.
    pub read_repairs: u64,
    /// Quiet (noreply) writes the server answered with an error.
    pub noreply_errors: u64,
    /// Writes and deletes of this server's keys that took effect only on a
    /// failover target (`MCRING_STORED_ELSEWHERE`).
    pub stored_elsewhere: u64,
    /// Keys queued to be deleted on this server before it serves again.
    pub invalidations: u64,
    /// Keys that could not be queued (the invalidation log was full).
    pub invalidations_dropped: u64,
    /// Flushes after an overflowed invalidation log that the server refused.
    pub flush_refused: u64,
    /// Idle pooled connections the server had closed, replaced by fresh
    /// ones without an error.
    pub reconnects: u64,
}

impl mcring_counters {
    fn of(s: &Snapshot) -> mcring_counters {
        mcring_counters {
            gets: s.gets,
            hits: s.hits,
            misses: s.misses,
            sets: s.sets,
            deletes: s.deletes,
            errors: s.errors,
            timeouts: s.timeouts,
            bytes_read: s.bytes_read,
            bytes_written: s.bytes_written,
            connects: s.connects,
            replica_write_failures: s.replica_write_failures,
            failovers: s.failovers,
            read_repairs: s.read_repairs,
            noreply_errors: s.noreply_errors,
            stored_elsewhere: s.stored_elsewhere,
            invalidations: s.invalidations,
            invalidations_dropped: s.invalidations_dropped,
            flush_refused: s.flush_refused,
            reconnects: s.reconnects,
        }
    }

    /// Every value, in field order.
    fn values(&self) -> [u64; COUNTER_COUNT] {
        [
            self.gets,
            self.hits,
            self.misses,
            self.sets,
            self.deletes,
            self.errors,
            self.timeouts,
            self.bytes_read,
            self.bytes_written,
            self.connects,
            self.replica_write_failures,
            self.failovers,
            self.read_repairs,
            self.noreply_errors,
            self.stored_elsewhere,
            self.invalidations,
            self.invalidations_dropped,
            self.flush_refused,
            self.reconnects,
        ]
    }
}

/// The counter names, as C strings, in the order of `Snapshot::fields()`
/// (which is also the field order of `mcring_counters`).
const COUNTER_NAMES: [&std::ffi::CStr; COUNTER_COUNT] = [
    c"gets",
    c"hits",
    c"misses",
    c"sets",
    c"deletes",
    c"errors",
    c"timeouts",
    c"bytes_read",
    c"bytes_written",
    c"connects",
    c"replica_write_failures",
    c"failovers",
    c"read_repairs",
    c"noreply_errors",
    c"stored_elsewhere",
    c"invalidations",
    c"invalidations_dropped",
    c"flush_refused",
    c"reconnects",
];

/// A snapshot of a client's counters. Opaque; taken with
/// `mcring_stats_get()`, freed with `mcring_stats_free()`.
///
/// Thread safety: immutable; may be read by several threads at once.
pub struct mcring_stats {
    servers: Vec<(CString, mcring_counters)>,
    total: mcring_counters,
}

/// Takes a snapshot of the client's counters (per server, and their sum).
/// Counting is cheap and always on; this makes no request.
///
/// On success `*out` is a new snapshot the caller owns and must free with
/// `mcring_stats_free()`. Returns `MCRING_OK`, or `MCRING_INVALID_ARGUMENT`
/// if a pointer is NULL.
///
/// # Safety
/// `c` must be NULL or a live client; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_stats_get(
    c: *mut mcring_client,
    out: *mut *mut mcring_stats,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let stats = unsafe { client(c) }?.stats();
        let servers = stats
            .servers
            .iter()
            .map(|(name, snap)| {
                let name = CString::new(name.replace('\0', "\\0")).unwrap_or_default();
                (name, mcring_counters::of(snap))
            })
            .collect();
        args::give(out, mcring_stats { servers, total: mcring_counters::of(&stats.total) });
        Ok(MCRING_OK)
    })
}

/// Frees a snapshot. NULL is a no-op.
///
/// # Safety
/// `stats` must be NULL or a live snapshot, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn mcring_stats_free(stats: *mut mcring_stats) {
    // SAFETY: forwarded from the caller.
    value_call((), || unsafe { args::free(stats) })
}

/// Borrows a snapshot.
///
/// # Safety
/// A non-NULL `stats` must be a live snapshot.
unsafe fn snapshot<'a>(stats: *const mcring_stats) -> Option<&'a mcring_stats> {
    // SAFETY: forwarded from the caller.
    unsafe { args::borrow(stats, "stats") }.ok()
}

/// The number of servers in the snapshot (the client's servers, in
/// configuration order); 0 if `stats` is NULL.
///
/// # Safety
/// `stats` must be NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn mcring_stats_server_count(stats: *const mcring_stats) -> usize {
    // SAFETY: forwarded from the caller.
    value_call(0, || unsafe { snapshot(stats) }.map_or(0, |s| s.servers.len()))
}

/// The name of server `index` (`host:port`, as in `mcring_server_for_key()`),
/// valid as long as the snapshot; NULL if `index` is out of range or
/// `stats` is NULL.
///
/// # Safety
/// `stats` must be NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn mcring_stats_server_name(
    stats: *const mcring_stats,
    index: usize,
) -> *const c_char {
    value_call(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { snapshot(stats) }
            .and_then(|s| s.servers.get(index))
            .map_or(std::ptr::null(), |(name, _)| name.as_ptr())
    })
}

/// The counters of server `index`, valid as long as the snapshot; NULL if
/// `index` is out of range or `stats` is NULL.
///
/// # Safety
/// `stats` must be NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn mcring_stats_server(
    stats: *const mcring_stats,
    index: usize,
) -> *const mcring_counters {
    value_call(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { snapshot(stats) }
            .and_then(|s| s.servers.get(index))
            .map_or(std::ptr::null(), |(_, counters)| counters as *const mcring_counters)
    })
}

/// The sum of every server's counters, valid as long as the snapshot; NULL
/// if `stats` is NULL.
///
/// # Safety
/// `stats` must be NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn mcring_stats_total(stats: *const mcring_stats) -> *const mcring_counters {
    value_call(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { snapshot(stats) }.map_or(std::ptr::null(), |s| &s.total as *const mcring_counters)
    })
}

/// The name of counter number `field` (`"gets"`, `"hits"`, ... in the
/// field order of `mcring_counters`), a static string; NULL past the last
/// counter, so a loop over `field = 0, 1, ...` until NULL visits them all.
/// These are the names every mcring binding uses (Python, PHP, Prometheus).
#[no_mangle]
pub extern "C" fn mcring_counter_name(field: usize) -> *const c_char {
    value_call(std::ptr::null(), || {
        COUNTER_NAMES.get(field).map_or(std::ptr::null(), |n| n.as_ptr())
    })
}

/// The value of counter number `field` (see `mcring_counter_name()`) in
/// `counters`; 0 if `field` is out of range or `counters` is NULL.
///
/// # Safety
/// `counters` must be NULL or a pointer from a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn mcring_counters_value(
    counters: *const mcring_counters,
    field: usize,
) -> u64 {
    value_call(0, || {
        // SAFETY: forwarded from the caller.
        let Some(c) = (unsafe { counters.as_ref() }) else { return 0 };
        c.values().get(field).copied().unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_engine() {
        let engine: Vec<&str> = Snapshot::default().fields().iter().map(|(n, _)| *n).collect();
        let ours: Vec<&str> = COUNTER_NAMES.iter().map(|n| n.to_str().unwrap()).collect();
        assert_eq!(ours, engine);
    }

    #[test]
    fn values_by_field_match_the_struct() {
        let snap = Snapshot {
            gets: 1,
            hits: 2,
            misses: 3,
            sets: 4,
            deletes: 5,
            errors: 6,
            timeouts: 7,
            bytes_read: 8,
            bytes_written: 9,
            connects: 10,
            replica_write_failures: 11,
            failovers: 12,
            read_repairs: 13,
            noreply_errors: 14,
            stored_elsewhere: 15,
            invalidations: 16,
            invalidations_dropped: 17,
            flush_refused: 18,
            reconnects: 19,
        };
        let c = mcring_counters::of(&snap);
        for (i, (_, v)) in snap.fields().iter().enumerate() {
            assert_eq!(unsafe { mcring_counters_value(&c, i) }, *v);
        }
        assert_eq!(unsafe { mcring_counters_value(&c, COUNTER_COUNT) }, 0);
        assert!(mcring_counter_name(COUNTER_COUNT).is_null());
    }
}
