//! Single-key commands: retrieval, storage, delete, arithmetic, touch.
//!
//! Keys are `(pointer, length)`: any bytes, checked by the engine before
//! anything is sent (`MCRING_BAD_KEY` for an empty key, one over 250 bytes
//! with the prefix, or one with a space or control byte). Values are
//! `(pointer, length)` of any bytes; NULL is an empty value when the length
//! is 0. Every call is bounded by the client's `connect_timeout_ms` and
//! `io_timeout_ms`.

use std::ffi::c_char;

use mcring::{Retrieval, StoreMode};

use crate::args;
use crate::boundary::status_call;
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};
use crate::value::mcring_value;

/// Fetches one key with `cmd` into a new value handle.
///
/// # Safety
/// As for `mcring_get()`.
unsafe fn retrieve(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    cmd: Retrieval,
    out: *mut *mut mcring_value,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let (c, key) = unsafe { (client(c)?, args::key(key, key_len)?) };
        match c.get_with(key, cmd, |item| item.to_item())? {
            Some(item) => {
                args::give(out, mcring_value { item });
                Ok(MCRING_OK)
            }
            None => Ok(MCRING_NOT_FOUND),
        }
    })
}

/// Runs one storage command.
///
/// # Safety
/// As for `mcring_set()`.
#[allow(clippy::too_many_arguments)]
unsafe fn store(
    c: *mut mcring_client,
    mode: StoreMode,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    flags: u32,
    ttl: u32,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, key, value) =
            unsafe { (client(c)?, args::key(key, key_len)?, args::value(value, value_len)?) };
        Ok(mcring_status::of_outcome(c.store(mode, key, value, flags, ttl)?))
    })
}

/// Fetches `key`. On a hit `*out` is a new value the caller owns and must
/// free with `mcring_value_free()`; otherwise `*out` is NULL.
///
/// Returns `MCRING_OK` on a hit, `MCRING_NOT_FOUND` on a miss, or an error
/// status (`MCRING_BAD_KEY`, `MCRING_TIMEOUT`, `MCRING_CONNECTION_ERROR`,
/// ...; `MCRING_INVALID_ARGUMENT` if a pointer is NULL).
///
/// # Safety
/// `c` must be NULL or a live client; `key` NULL or `key_len` readable
/// bytes; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_get(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { retrieve(c, key, key_len, Retrieval::Get, out) }
}

/// Like `mcring_get()`, and the value carries its CAS token
/// (`mcring_value_cas()`) for a later `mcring_cas()`.
///
/// # Safety
/// As for `mcring_get()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_gets(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { retrieve(c, key, key_len, Retrieval::Gets, out) }
}

/// Fetches `key` and sets its time to live to `ttl_seconds` in the same
/// request (memcached's `gat`); the value carries its CAS token. Statuses
/// as for `mcring_get()`.
///
/// # Safety
/// As for `mcring_get()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_get_and_touch(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    ttl_seconds: u32,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { retrieve(c, key, key_len, Retrieval::Gats { exptime: ttl_seconds }, out) }
}

/// Stores `value` under `key` unconditionally, with client `flags` and a
/// time to live of `ttl_seconds` (0: no expiry; over 30 days: a Unix time,
/// as memcached reads it).
///
/// Returns `MCRING_OK`, or an error status (`MCRING_BAD_KEY`,
/// `MCRING_BAD_VALUE` for a value over `max_value_bytes`,
/// `MCRING_SERVER_ERROR` for one over the server's item size limit,
/// `MCRING_TIMEOUT`, `MCRING_CONNECTION_ERROR`, ...).
///
/// # Safety
/// `c` must be NULL or a live client; `key` NULL or `key_len` readable
/// bytes; `value` NULL or `value_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_set(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    flags: u32,
    ttl_seconds: u32,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { store(c, StoreMode::Set, key, key_len, value, value_len, flags, ttl_seconds) }
}

/// Stores `value` only if `key` does not exist: `MCRING_NOT_STORED` if it
/// does. Otherwise as `mcring_set()`.
///
/// # Safety
/// As for `mcring_set()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_add(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    flags: u32,
    ttl_seconds: u32,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { store(c, StoreMode::Add, key, key_len, value, value_len, flags, ttl_seconds) }
}

/// Stores `value` only if `key` exists: `MCRING_NOT_STORED` if it does not.
/// Otherwise as `mcring_set()`.
///
/// # Safety
/// As for `mcring_set()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_replace(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    flags: u32,
    ttl_seconds: u32,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { store(c, StoreMode::Replace, key, key_len, value, value_len, flags, ttl_seconds) }
}

/// Appends `value` to the existing value of `key`, keeping its flags and
/// time to live: `MCRING_NOT_STORED` if the key does not exist.
///
/// # Safety
/// As for `mcring_set()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_append(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { store(c, StoreMode::Append, key, key_len, value, value_len, 0, 0) }
}

/// Prepends `value` to the existing value of `key`, keeping its flags and
/// time to live: `MCRING_NOT_STORED` if the key does not exist.
///
/// # Safety
/// As for `mcring_set()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_prepend(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { store(c, StoreMode::Prepend, key, key_len, value, value_len, 0, 0) }
}

/// Appends `piece` to the value of `key` as the value codec sees it: unlike
/// `mcring_append()`, a value stored compressed (by mcring or php-memcached)
/// is inflated, extended and stored again instead of being corrupted. Reads
/// the item with its CAS token and remaining TTL and writes it back with a
/// cas, so it costs two round trips; retried a few times when another client
/// changes the item meanwhile (then `MCRING_EXISTS`). `MCRING_NOT_STORED` if
/// the key does not exist. Needs memcached 1.6 (meta commands).
///
/// # Safety
/// As for `mcring_set()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_append_value(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    piece: *const u8,
    piece_len: usize,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { concat_value(c, key, key_len, piece, piece_len, false) }
}

/// Prepends `piece` to the value of `key` as the value codec sees it; see
/// `mcring_append_value()`.
///
/// # Safety
/// As for `mcring_set()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_prepend_value(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    piece: *const u8,
    piece_len: usize,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { concat_value(c, key, key_len, piece, piece_len, true) }
}

/// # Safety
/// As for `mcring_set()`.
unsafe fn concat_value(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    piece: *const u8,
    piece_len: usize,
    prepend: bool,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, key, piece) =
            unsafe { (client(c)?, args::key(key, key_len)?, args::value(piece, piece_len)?) };
        Ok(mcring_status::of_outcome(c.append_value(key, piece, prepend)?))
    })
}

/// Stores `value` only if the item's CAS token is still `cas` (from
/// `mcring_gets()`): `MCRING_EXISTS` if the item changed since,
/// `MCRING_NOT_FOUND` if it no longer exists. Otherwise as `mcring_set()`.
///
/// # Safety
/// As for `mcring_set()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_cas(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    flags: u32,
    ttl_seconds: u32,
    cas: u64,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { store(c, StoreMode::Cas(cas), key, key_len, value, value_len, flags, ttl_seconds) }
}

/// Deletes `key`. Returns `MCRING_OK`, `MCRING_NOT_FOUND` if it did not
/// exist, or an error status.
///
/// # Safety
/// `c` must be NULL or a live client; `key` NULL or `key_len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_delete(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, key) = unsafe { (client(c)?, args::key(key, key_len)?) };
        Ok(mcring_status::of_outcome(c.delete(key)?))
    })
}

/// Sets the time to live of `key` to `ttl_seconds`. Returns `MCRING_OK`,
/// `MCRING_NOT_FOUND` if it does not exist, or an error status.
///
/// # Safety
/// As for `mcring_delete()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_touch(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    ttl_seconds: u32,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, key) = unsafe { (client(c)?, args::key(key, key_len)?) };
        Ok(mcring_status::of_outcome(c.touch(key, ttl_seconds)?))
    })
}

/// `incr` or `decr`.
///
/// # Safety
/// As for `mcring_incr()`.
unsafe fn arith(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    delta: u64,
    new_value: *mut u64,
    incr: bool,
) -> mcring_status {
    status_call(|| {
        let new_value = args::out(new_value, "new_value")?;
        // SAFETY: forwarded from the caller.
        let (c, key) = unsafe { (client(c)?, args::key(key, key_len)?) };
        let result = if incr { c.incr(key, delta)? } else { c.decr(key, delta)? };
        match result {
            Some(n) => {
                // SAFETY: checked non-NULL; the caller vouches it is writable.
                unsafe { new_value.as_ptr().write(n) };
                Ok(MCRING_OK)
            }
            None => Ok(MCRING_NOT_FOUND),
        }
    })
}

/// Adds `delta` to the decimal number stored under `key` (wrapping at
/// 2^64, as memcached does) and writes the result to `*new_value`.
///
/// Returns `MCRING_OK`, `MCRING_NOT_FOUND` if the key does not exist (the
/// key is not created), `MCRING_SERVER_ERROR` if the value is not a
/// number, or another error status; `*new_value` is written only on
/// `MCRING_OK`.
///
/// # Safety
/// As for `mcring_delete()`; `new_value` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_incr(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    delta: u64,
    new_value: *mut u64,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { arith(c, key, key_len, delta, new_value, true) }
}

/// Subtracts `delta` from the decimal number stored under `key`, stopping
/// at 0 (memcached never goes negative), and writes the result to
/// `*new_value`. Statuses as for `mcring_incr()`.
///
/// # Safety
/// As for `mcring_incr()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_decr(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    delta: u64,
    new_value: *mut u64,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { arith(c, key, key_len, delta, new_value, false) }
}
