//! The clock requests are timed with: nanoseconds of `CLOCK_MONOTONIC`.

/// Monotonic clock reading in nanoseconds: one `clock_gettime` (a vDSO
/// call, no system call), without the checks and conversions of `Instant`
/// and `Duration` (measured: they cost more instructions than the clock
/// read itself). A request reads it once at its start, for both its I/O
/// deadline and its latency.
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

/// `d` in nanoseconds, saturating (for deadlines centuries away).
#[inline]
pub fn nanos(d: std::time::Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}
