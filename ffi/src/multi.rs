//! Multi-key commands: one fan-out over every server involved, so the call
//! costs about the slowest server's round trip, not the sum.
//!
//! Results come per key, in the order of the keys given: optionally as an
//! array of statuses the caller provides (`statuses`, `count` elements, or
//! NULL when not wanted), and for retrievals as a callback per value found.
//! A bad key or NULL pointer fails the whole call before anything is sent.
//! Otherwise the call returns `MCRING_OK` when every key got an answer (a
//! hit, a miss, stored, not found, ...), or the status of the first key
//! whose server failed, with its message in `mcring_last_error()`; the
//! other keys' results are still delivered.

use std::ffi::{c_char, c_void};
use std::ptr::NonNull;

use mcring::{Retrieval, SetItem};

use crate::args;
use crate::boundary::{status_call, Failure};
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};

/// Receives one value found by `mcring_get_multi()` or
/// `mcring_gets_multi()`: `userdata` as given, `index` of the key in the
/// caller's array, the value's bytes (`value_len` of them, valid only during
/// the call: copy what you keep), its client flags and its CAS token (0
/// unless asked for).
///
/// Called on the calling thread, while the request is in progress, in the
/// order replies arrive (not the order of the keys). It must not free the
/// client; it may call other libmcring functions.
pub type mcring_get_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        index: usize,
        value: *const u8,
        value_len: usize,
        flags: u32,
        cas: u64,
    ),
>;

/// One entry of `mcring_set_multi()`.
///
/// The layout is part of the ABI: callers allocate arrays of it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mcring_set_item {
    /// The key's bytes (`key_len` of them); never NULL.
    pub key: *const c_char,
    /// The key's length.
    pub key_len: usize,
    /// The value's bytes (`value_len` of them); NULL only if `value_len` is 0.
    pub value: *const u8,
    /// The value's length.
    pub value_len: usize,
    /// Client flags stored with the value.
    pub flags: u32,
}

/// Runs a multi-key command whose `body` yields one result per key, and
/// writes each key's status to `statuses` (if not NULL). Returns
/// `MCRING_OK`, or the first key's failure; if the whole call fails, every
/// key gets the call's status.
///
/// # Safety
/// A non-NULL `statuses` must have room for `count` statuses.
pub(crate) unsafe fn multi_call(
    statuses: *mut mcring_status,
    count: usize,
    body: impl FnOnce() -> Result<Vec<Result<mcring_status, mcring::Error>>, Failure>,
) -> mcring_status {
    let statuses = NonNull::new(statuses);
    let fill = |status: mcring_status| {
        if let Some(out) = statuses {
            for i in 0..count {
                // SAFETY: the caller vouches for `count` writable elements.
                unsafe { out.as_ptr().add(i).write(status) };
            }
        }
    };
    status_call(|| {
        // Every element is a valid status even if the body panics.
        fill(MCRING_INTERNAL_ERROR);
        let results = match body() {
            Ok(results) => results,
            Err(failure) => {
                fill(failure.status);
                return Err(failure);
            }
        };
        let mut first_failure = None;
        for (i, result) in results.into_iter().enumerate().take(count) {
            let status = match result {
                Ok(s) => s,
                Err(e) => {
                    let status = mcring_status::of_error(&e);
                    first_failure.get_or_insert(Failure::of_error(&e));
                    status
                }
            };
            if let Some(out) = statuses {
                // SAFETY: `i < count`; the caller vouches for the room.
                unsafe { out.as_ptr().add(i).write(status) };
            }
        }
        match first_failure {
            Some(f) => Err(f),
            None => Ok(MCRING_OK),
        }
    })
}

/// A multi-key retrieval.
///
/// # Safety
/// As for `mcring_get_multi()`.
#[allow(clippy::too_many_arguments)]
unsafe fn retrieve_multi(
    c: *mut mcring_client,
    keys: *const *const c_char,
    key_lens: *const usize,
    count: usize,
    cmd: Retrieval,
    on_value: mcring_get_cb,
    userdata: *mut c_void,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: every pointer (and the callback) is used as the caller
    // vouches in the function's safety contract.
    unsafe {
        multi_call(statuses, count, || {
            let on_value = on_value.ok_or_else(|| Failure::null("on_value"))?;
            let (c, keys) = (client(c)?, args::keys(keys, key_lens, count)?);
            let found = c.get_multi_with(&keys, cmd, |index, item| {
                // A callback the caller gave, with arguments valid for the
                // duration of the call.
                on_value(
                    userdata,
                    index,
                    item.value.as_ptr(),
                    item.value.len(),
                    item.flags,
                    item.cas.unwrap_or(0),
                )
            })?;
            Ok(found
                .into_iter()
                .map(|r| r.map(|hit| if hit { MCRING_OK } else { MCRING_NOT_FOUND }))
                .collect())
        })
    }
}

/// Fetches `count` keys (`keys[i]` of `key_lens[i]` bytes) in one fan-out.
/// `on_value` is called for each value found; `statuses[i]`, if
/// `statuses` is not NULL, becomes `MCRING_OK` (found), `MCRING_NOT_FOUND`
/// or the error of the key's server. Returns as described for multi-key
/// commands above: `MCRING_OK` when every key was answered, hit or miss.
///
/// # Safety
/// `c` must be NULL or a live client; `keys` and `key_lens` NULL or arrays
/// of `count` elements, each `keys[i]` NULL or `key_lens[i]` readable bytes;
/// `statuses` NULL or room for `count` statuses.
#[no_mangle]
pub unsafe extern "C" fn mcring_get_multi(
    c: *mut mcring_client,
    keys: *const *const c_char,
    key_lens: *const usize,
    count: usize,
    on_value: mcring_get_cb,
    userdata: *mut c_void,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        retrieve_multi(c, keys, key_lens, count, Retrieval::Get, on_value, userdata, statuses)
    }
}

/// Like `mcring_get_multi()`, and each value comes with its CAS token.
///
/// # Safety
/// As for `mcring_get_multi()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_gets_multi(
    c: *mut mcring_client,
    keys: *const *const c_char,
    key_lens: *const usize,
    count: usize,
    on_value: mcring_get_cb,
    userdata: *mut c_void,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        retrieve_multi(c, keys, key_lens, count, Retrieval::Gets, on_value, userdata, statuses)
    }
}

/// Stores `count` items in one fan-out, all with a time to live of
/// `ttl_seconds`. `statuses[i]`, if `statuses` is not NULL, becomes
/// `MCRING_OK` or the error of the item's server. A bad key or a value over
/// `max_value_bytes` fails the whole call before anything is sent.
///
/// # Safety
/// `c` must be NULL or a live client; `items` NULL or an array of `count`
/// items whose pointers are as their fields describe; `statuses` NULL or
/// room for `count` statuses.
#[no_mangle]
pub unsafe extern "C" fn mcring_set_multi(
    c: *mut mcring_client,
    items: *const mcring_set_item,
    count: usize,
    ttl_seconds: u32,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: every pointer (and the callback) is used as the caller
    // vouches in the function's safety contract.
    unsafe {
        multi_call(statuses, count, || {
            let (c, items) = (client(c)?, args::array(items, count, "items")?);
            let items = items
                .iter()
                .map(|item| {
                    let key = args::key(item.key, item.key_len)?;
                    let value = args::value(item.value, item.value_len)?;
                    Ok(SetItem { key, value, flags: item.flags })
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let results = c.set_multi(&items, ttl_seconds)?;
            Ok(results.into_iter().map(|r| r.map(mcring_status::of_outcome)).collect())
        })
    }
}

/// Deletes `count` keys in one fan-out. `statuses[i]`, if `statuses` is
/// not NULL, becomes `MCRING_OK`, `MCRING_NOT_FOUND` or the error of the
/// key's server.
///
/// # Safety
/// As for `mcring_get_multi()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_delete_multi(
    c: *mut mcring_client,
    keys: *const *const c_char,
    key_lens: *const usize,
    count: usize,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: every pointer (and the callback) is used as the caller
    // vouches in the function's safety contract.
    unsafe {
        multi_call(statuses, count, || {
            let (c, keys) = (client(c)?, args::keys(keys, key_lens, count)?);
            let results = c.delete_multi(&keys)?;
            Ok(results.into_iter().map(|r| r.map(mcring_status::of_outcome)).collect())
        })
    }
}
