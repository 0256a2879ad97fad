//! The client's own counters and latency histograms, per server, and the
//! counters' sum.

use std::ffi::{c_char, CString};

use mcring::histogram::{CommandClass, HistogramSnapshot, BOUNDS_NS, BUCKETS};
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
    /// Requests this server served in place of a down one (reads and
    /// writes of keys whose home copies could not be used).
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
    /// Leases won: a caller was told to compute a missing, stale or
    /// expiring value.
    pub lease_wins: u64,
    /// Callers that waited for another caller's lease.
    pub lease_waits: u64,
    /// Stale values served while another caller recomputes them.
    pub stale_hits: u64,
    /// Computed values stored under their lease.
    pub lease_fills: u64,
    /// Computed values not stored (a newer write, a delete or the lease's
    /// expiry came first).
    pub lease_fills_lost: u64,
    /// Leases given back after their compute failed.
    pub lease_releases: u64,
    /// Reads of hot keys served from the near cache.
    pub near_cache_hits: u64,
    /// TLS connections opened with a full handshake.
    pub tls_handshakes: u64,
    /// TLS connections opened by resuming an earlier session.
    pub tls_resumptions: u64,
    /// Store commands the server applied (`STORED`).
    pub stored: u64,
    /// Store commands whose condition failed (`NOT_STORED`, and `EXISTS`
    /// for `cas`).
    pub not_stored: u64,
    /// Errors that were a connection failing to open or breaking.
    pub connection_errors: u64,
    /// Errors that were bytes which are not a memcached reply.
    pub protocol_errors: u64,
    /// Errors that were error replies (`SERVER_ERROR`, `CLIENT_ERROR`,
    /// `ERROR`).
    pub server_errors: u64,
    /// Errors that were values over `max_value_bytes`, skipped unread.
    pub too_large: u64,
    /// Keys copied to this server from their owner on the previous ring
    /// after a change of the server list.
    pub migrated_keys: u64,
    /// Misses of this server found in the warm pool and copied here.
    pub warmup_hits: u64,
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
            lease_wins: s.lease_wins,
            lease_waits: s.lease_waits,
            stale_hits: s.stale_hits,
            lease_fills: s.lease_fills,
            lease_fills_lost: s.lease_fills_lost,
            lease_releases: s.lease_releases,
            near_cache_hits: s.near_cache_hits,
            tls_handshakes: s.tls_handshakes,
            tls_resumptions: s.tls_resumptions,
            stored: s.stored,
            not_stored: s.not_stored,
            connection_errors: s.connection_errors,
            protocol_errors: s.protocol_errors,
            server_errors: s.server_errors,
            too_large: s.too_large,
            migrated_keys: s.migrated_keys,
            warmup_hits: s.warmup_hits,
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
            self.lease_wins,
            self.lease_waits,
            self.stale_hits,
            self.lease_fills,
            self.lease_fills_lost,
            self.lease_releases,
            self.near_cache_hits,
            self.tls_handshakes,
            self.tls_resumptions,
            self.stored,
            self.not_stored,
            self.connection_errors,
            self.protocol_errors,
            self.server_errors,
            self.too_large,
            self.migrated_keys,
            self.warmup_hits,
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
    c"lease_wins",
    c"lease_waits",
    c"stale_hits",
    c"lease_fills",
    c"lease_fills_lost",
    c"lease_releases",
    c"near_cache_hits",
    c"tls_handshakes",
    c"tls_resumptions",
    c"stored",
    c"not_stored",
    c"connection_errors",
    c"protocol_errors",
    c"server_errors",
    c"too_large",
    c"migrated_keys",
    c"warmup_hits",
];

/// The number of buckets of a latency histogram: 19 upper bounds,
/// 1-2-5 per decade from 10 µs to 10 s (`mcring_latency_bound()`), then
/// one for everything slower.
pub const MCRING_LATENCY_BUCKETS: usize = 20;
const _: () = assert!(MCRING_LATENCY_BUCKETS == BUCKETS);

/// The number of command classes latencies are kept for
/// (`mcring_command_class_name()`).
pub const MCRING_COMMAND_CLASSES: usize = 7;
const _: () = assert!(MCRING_COMMAND_CLASSES == CommandClass::ALL.len());

/// The latency histogram of one server and command class: how many
/// requests took how long, each counted in the first bucket whose upper
/// bound (`mcring_latency_bound()`) is at least its time. A request is
/// timed from taking a connection to its last reply byte; a multi-key
/// request once per server.
///
/// Only ever handed out by pointer, from a `mcring_stats` snapshot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mcring_histogram {
    /// Requests per bucket (not cumulative); the last bucket is +Inf.
    pub counts: [u64; MCRING_LATENCY_BUCKETS],
    /// All requests: the sum of `counts`.
    pub count: u64,
    /// The sum of their times, in nanoseconds.
    pub sum_ns: u64,
}

impl mcring_histogram {
    fn of(h: &HistogramSnapshot) -> mcring_histogram {
        mcring_histogram { counts: h.counts, count: h.count(), sum_ns: h.sum_ns }
    }
}

/// The class names, as C strings, in [`CommandClass::ALL`] order.
const CLASS_NAMES: [&std::ffi::CStr; MCRING_COMMAND_CLASSES] =
    [c"get", c"get_multi", c"store", c"delete", c"arith", c"touch", c"meta"];

/// A snapshot of a client's counters. Opaque; taken with
/// `mcring_stats_get()`, freed with `mcring_stats_free()`.
///
/// Thread safety: immutable; may be read by several threads at once.
pub struct mcring_stats {
    servers: Vec<(CString, mcring_counters)>,
    total: mcring_counters,
    latencies: Vec<[mcring_histogram; MCRING_COMMAND_CLASSES]>,
}

/// Takes a snapshot of the client's counters and latency histograms (per
/// server, and the counters' sum). Counting is cheap and always on; this
/// makes no request.
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
        let latencies =
            stats.latencies.iter().map(|per_class| per_class.map(|h| mcring_histogram::of(&h)));
        args::give(
            out,
            mcring_stats {
                servers,
                total: mcring_counters::of(&stats.total),
                latencies: latencies.collect(),
            },
        );
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

/// The latency histogram of server `index` for command class `class` (see
/// `mcring_command_class_name()`), valid as long as the snapshot; NULL if
/// either is out of range or `stats` is NULL.
///
/// # Safety
/// `stats` must be NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn mcring_stats_latency(
    stats: *const mcring_stats,
    index: usize,
    class: usize,
) -> *const mcring_histogram {
    value_call(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { snapshot(stats) }
            .and_then(|s| s.latencies.get(index))
            .and_then(|per_class| per_class.get(class))
            .map_or(std::ptr::null(), |h| h as *const mcring_histogram)
    })
}

/// The name of command class number `class`: `"get"` (one-key reads),
/// `"get_multi"` (multi-key reads, one request per server), `"store"`,
/// `"delete"`, `"arith"` (incr, decr), `"touch"`, `"meta"` (reads with CAS
/// and TTL for read-modify-write, incr/decr with an initial value); a
/// static string, NULL from `MCRING_COMMAND_CLASSES` on. These are the
/// `command` labels of the Prometheus metrics.
#[no_mangle]
pub extern "C" fn mcring_command_class_name(class: usize) -> *const c_char {
    value_call(std::ptr::null(), || CLASS_NAMES.get(class).map_or(std::ptr::null(), |n| n.as_ptr()))
}

/// The upper bound, in seconds, of latency bucket `bucket`: 0.00001,
/// 0.00002, 0.00005, 0.0001, ... 10, then INFINITY for the last bucket
/// (`MCRING_LATENCY_BUCKETS - 1`); NAN past it.
#[no_mangle]
pub extern "C" fn mcring_latency_bound(bucket: usize) -> f64 {
    value_call(f64::NAN, || match BOUNDS_NS.get(bucket) {
        Some(&ns) => ns as f64 / 1e9,
        None if bucket == BOUNDS_NS.len() => f64::INFINITY,
        None => f64::NAN,
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
            lease_wins: 20,
            lease_waits: 21,
            stale_hits: 22,
            lease_fills: 23,
            lease_fills_lost: 24,
            lease_releases: 25,
            near_cache_hits: 26,
            tls_handshakes: 27,
            tls_resumptions: 28,
            stored: 29,
            not_stored: 30,
            connection_errors: 31,
            protocol_errors: 32,
            server_errors: 33,
            too_large: 34,
            migrated_keys: 35,
            warmup_hits: 36,
        };
        let c = mcring_counters::of(&snap);
        for (i, (_, v)) in snap.fields().iter().enumerate() {
            assert_eq!(unsafe { mcring_counters_value(&c, i) }, *v);
        }
        assert_eq!(unsafe { mcring_counters_value(&c, COUNTER_COUNT) }, 0);
        assert!(mcring_counter_name(COUNTER_COUNT).is_null());
    }

    #[test]
    fn classes_and_bounds_follow_the_engine() {
        for (i, class) in CommandClass::ALL.iter().enumerate() {
            let name = unsafe { std::ffi::CStr::from_ptr(mcring_command_class_name(i)) };
            assert_eq!(name.to_str().unwrap(), class.label());
        }
        assert!(mcring_command_class_name(MCRING_COMMAND_CLASSES).is_null());
        assert_eq!(mcring_latency_bound(0), 0.00001);
        assert_eq!(mcring_latency_bound(18), 10.0);
        assert_eq!(mcring_latency_bound(19), f64::INFINITY);
        assert!(mcring_latency_bound(20).is_nan());
    }
}
