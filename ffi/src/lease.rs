//! Stampede protection: reads through a lease, so that exactly one caller
//! of the whole pool (any process, any language) computes a missing or
//! stale value while the others wait for it or are served the stale one;
//! invalidation to stale instead of delete. memcached 1.6 (meta protocol).
//!
//! ```c
//! mcring_value *v = NULL;
//! mcring_lease *lease = NULL;
//! mcring_status s = mcring_get_or_lease(c, key, key_len, NULL, &v, &lease);
//! if (s == MCRING_LEASE) {
//!     // compute the value (v, if not NULL, is the previous one) ...
//!     if (ok) s = mcring_lease_fill(c, lease, data, len, flags, ttl);
//!     else    mcring_lease_release(c, lease);
//! }
//! mcring_value_free(v);
//! ```

use std::ffi::c_char;
use std::time::Duration;

use mcring::{LeaseOptions, LeaseToken, Leased};

use crate::args;
use crate::boundary::status_call;
use crate::by_key::server_key_arg;
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};
use crate::value::mcring_value;

/// Options of `mcring_get_or_lease()`. Pass NULL for the client's defaults
/// (its `lease_ttl`, no early recache, no stale time); a zeroed struct
/// means the same.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mcring_lease_options {
    /// How long a lease lasts if its winner never fills it, in ms (rounded
    /// up to whole seconds); 0: the client's `lease_ttl`.
    pub lease_ttl_ms: u32,
    /// Early recache: when the value's remaining TTL is below this many
    /// seconds, one caller recomputes it while the others keep reading it.
    /// 0: none.
    pub recache_s: u32,
    /// Stale time: values are stored this many seconds past their TTL, and
    /// in that time one caller recomputes while the others get the old
    /// value (`MCRING_STALE`). 0: none.
    pub stale_ttl: u32,
}

/// A lease: the right, and the duty, to compute one key's value. Opaque;
/// handed out by `mcring_get_or_lease()` with `MCRING_LEASE`, and consumed
/// (freed) by `mcring_lease_fill()` or `mcring_lease_release()`, exactly
/// one of which the caller must call, with the client that handed it out.
/// A lease never filled nor released ends when it expires (`lease_ttl`).
pub struct mcring_lease {
    token: LeaseToken,
}

/// Reads `key` through a lease.
///
/// - `MCRING_OK`: `*value_out` is the value (the caller frees it with
///   `mcring_value_free()`); `*lease_out` is NULL.
/// - `MCRING_STALE`: `*value_out` is a stale value, served while another
///   caller recomputes it; `*lease_out` is NULL.
/// - `MCRING_LEASE`: this caller must compute the value: `*lease_out` is
///   the lease, to pass to `mcring_lease_fill()` or `mcring_lease_release()`;
///   `*value_out` is the previous value (stale, or about to expire) if there
///   is one, else NULL.
/// - an error status (`MCRING_BAD_KEY`, `MCRING_TIMEOUT`,
///   `MCRING_SERVER_ERROR` from a server without the meta protocol, ...);
///   both out-pointers are NULL.
///
/// When another caller holds the lease of a missing key, this call waits
/// for its value (sleeping between polls from 2 ms up to a few ms; callers
/// of one process share one wait), at most twice `lease_ttl` plus a second,
/// then hands out a lease whose fill is not stored.
///
/// # Safety
/// `c` must be NULL or a live client; `key` NULL or `key_len` readable
/// bytes; `options` NULL or a valid struct; `value_out` and `lease_out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_get_or_lease(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    options: *const mcring_lease_options,
    value_out: *mut *mut mcring_value,
    lease_out: *mut *mut mcring_lease,
) -> mcring_status {
    // SAFETY: forwarded from the caller; no server key.
    unsafe {
        mcring_get_or_lease_by_key(
            c,
            std::ptr::null(),
            0,
            key,
            key_len,
            options,
            value_out,
            lease_out,
        )
    }
}

/// `mcring_get_or_lease()` for `key` placed by `server_key` (NULL or
/// empty: by the key), as libmemcached's `*_by_key` functions place; the
/// lease is taken, waited for and filled on that server.
///
/// # Safety
/// As for `mcring_get_or_lease()`; `server_key` NULL or `server_key_len`
/// readable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mcring_get_or_lease_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    key: *const c_char,
    key_len: usize,
    options: *const mcring_lease_options,
    value_out: *mut *mut mcring_value,
    lease_out: *mut *mut mcring_lease,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (value_out, lease_out) =
            unsafe { (args::handle_out(value_out)?, args::handle_out(lease_out)?) };
        // SAFETY: forwarded from the caller.
        let (c, sk, key) = unsafe {
            (client(c)?, server_key_arg(server_key, server_key_len)?, args::key(key, key_len)?)
        };
        let mut opts = c.lease_options();
        // SAFETY: forwarded from the caller.
        if let Some(o) = unsafe { options.as_ref() } {
            if o.lease_ttl_ms > 0 {
                opts.lease_ttl = Duration::from_millis(u64::from(o.lease_ttl_ms));
            }
            opts = LeaseOptions { recache_s: o.recache_s, stale_ttl: o.stale_ttl, ..opts };
        }
        let leased = match sk {
            None => c.get_or_lease(key, &opts)?,
            Some(sk) => c.by_key(sk).get_or_lease(key, &opts)?,
        };
        match leased {
            Leased::Hit(item) => {
                args::give(value_out, mcring_value { item });
                Ok(MCRING_OK)
            }
            Leased::Stale(item) => {
                args::give(value_out, mcring_value { item });
                Ok(MCRING_STALE)
            }
            Leased::Compute(token) => {
                if let Some(item) = token.previous().cloned() {
                    args::give(value_out, mcring_value { item });
                }
                args::give(lease_out, mcring_lease { token });
                Ok(MCRING_LEASE)
            }
        }
    })
}

/// Stores the value computed under `lease` with client `flags` and
/// `ttl_seconds` (spread by the client's `ttl_jitter`, extended by the
/// lease's stale time), on the lease's copy only if the lease still holds,
/// then on the key's other copies. Callers of this process waiting for the
/// key get it at once. Consumes the lease, whatever the outcome.
///
/// Returns `MCRING_OK` (stored), `MCRING_EXISTS` (a newer write came first:
/// nothing stored), `MCRING_NOT_FOUND` (the key was deleted or the lease
/// expired meanwhile: nothing stored), `MCRING_STORED_ELSEWHERE` (stored on
/// a failover target), `MCRING_NOT_STORED` (a lease that could not be had:
/// nothing stored), or an error (`MCRING_BAD_VALUE` for a value over
/// `max_value_bytes`, which also gives the lease back;
/// `MCRING_INVALID_ARGUMENT` for a lease of another client).
///
/// # Safety
/// `c` must be NULL or a live client; `lease` NULL or a lease handed out by
/// `mcring_get_or_lease()` and not consumed yet (it is freed here; NULL
/// returns `MCRING_INVALID_ARGUMENT`); `value` NULL or `value_len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_lease_fill(
    c: *mut mcring_client,
    lease: *mut mcring_lease,
    value: *const u8,
    value_len: usize,
    flags: u32,
    ttl_seconds: u32,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller; the lease is taken back first,
        // so it is freed whatever fails after.
        let token = unsafe { take(lease) }?;
        // SAFETY: forwarded from the caller.
        let (c, value) = unsafe { (client(c)?, args::value(value, value_len)?) };
        let status = c.lease_fill(token, value, flags, ttl_seconds).map_err(own_token_error)?;
        Ok(mcring_status::of_outcome(status))
    })
}

/// Gives `lease` back unfilled (computing the value failed), so that
/// another caller wins it at once instead of after `lease_ttl`. Consumes
/// the lease. Returns `MCRING_OK`, or an error status.
///
/// # Safety
/// As for `mcring_lease_fill()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_lease_release(
    c: *mut mcring_client,
    lease: *mut mcring_lease,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let token = unsafe { take(lease) }?;
        // SAFETY: forwarded from the caller.
        let c = unsafe { client(c) }?;
        c.lease_release(token).map_err(own_token_error)?;
        Ok(MCRING_OK)
    })
}

/// Marks `key` stale on every copy for `stale_ttl_seconds` instead of
/// deleting it: readers through `mcring_get_or_lease()` get the old value
/// at once (`MCRING_STALE`) while one of them recomputes it, so an update
/// causes no stampede. A `stale_ttl_seconds` of 0 deletes the key.
///
/// Returns `MCRING_OK`, `MCRING_NOT_FOUND` (no copy held the key),
/// `MCRING_STORED_ELSEWHERE`, or an error status.
///
/// # Safety
/// `c` must be NULL or a live client; `key` NULL or `key_len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_invalidate(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    stale_ttl_seconds: u32,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, key) = unsafe { (client(c)?, args::key(key, key_len)?) };
        Ok(mcring_status::of_outcome(c.invalidate(key, stale_ttl_seconds)?))
    })
}

/// Takes a lease handle back from C.
///
/// # Safety
/// A non-NULL `lease` must come from `mcring_get_or_lease()` and not have
/// been consumed.
unsafe fn take(lease: *mut mcring_lease) -> Result<LeaseToken, crate::boundary::Failure> {
    if lease.is_null() {
        return Err(crate::boundary::Failure::null("lease"));
    }
    // SAFETY: the caller vouches that it came from `Box::into_raw`.
    Ok(unsafe { Box::from_raw(lease) }.token)
}

/// A lease handed to the wrong client is the caller's mistake.
fn own_token_error(e: mcring::Error) -> crate::boundary::Failure {
    match e {
        mcring::Error::BadValue(m) if m.contains("another client") => {
            crate::boundary::Failure::invalid(m)
        }
        other => other.into(),
    }
}
