//! The keys this client reads most (`hot_keys=N` turns counting on), per
//! server.

use std::ffi::{c_char, CString};

use crate::args;
use crate::boundary::{status_call, value_call};
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};

/// One counted key. Only handed out by pointer from an `mcring_hot_keys`
/// snapshot, valid until it is freed.
#[repr(C)]
#[derive(Debug)]
pub struct mcring_hot_key {
    /// The server holding the key (`host:port`), NUL-terminated.
    pub server: *const c_char,
    /// The key's bytes (without the prefix), not NUL-terminated.
    pub key: *const u8,
    /// The key's length.
    pub key_len: usize,
    /// Reads counted (an estimate: at most `error` more than true).
    pub reads: u64,
    /// The most `reads` overstates.
    pub error: u64,
    /// Reads in the last full second.
    pub rate: u64,
}

/// A snapshot of the hot-key counts. Opaque; taken with
/// `mcring_hot_keys_get()`, freed with `mcring_hot_keys_free()`.
pub struct mcring_hot_keys {
    entries: Vec<mcring_hot_key>,
    _servers: Vec<CString>,
    _keys: Vec<Vec<u8>>,
}

/// Takes a snapshot of the client's hot keys: grouped by server (in
/// configuration order), most read first within each server. Empty when
/// counting is off (`hot_keys=0`, the default, without a near cache or
/// `read_policy=hot_random`). Makes no request.
///
/// On success `*out` is a new snapshot the caller owns and must free with
/// `mcring_hot_keys_free()`.
///
/// # Safety
/// `c` must be NULL or a live client; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_hot_keys_get(
    c: *mut mcring_client,
    out: *mut *mut mcring_hot_keys,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let groups = unsafe { client(c) }?.hot_keys();
        let mut servers = Vec::new();
        let mut keys = Vec::new();
        let mut entries = Vec::new();
        for g in groups {
            let name = CString::new(g.server.replace('\0', "\\0")).unwrap_or_default();
            for k in g.keys {
                entries.push(mcring_hot_key {
                    server: name.as_ptr(),
                    key: k.key.as_ptr(),
                    key_len: k.key.len(),
                    reads: k.reads,
                    error: k.error,
                    rate: k.rate,
                });
                // The bytes move with the Vec, not the heap buffer.
                keys.push(k.key);
            }
            servers.push(name);
        }
        args::give(out, mcring_hot_keys { entries, _servers: servers, _keys: keys });
        Ok(MCRING_OK)
    })
}

/// The number of keys in the snapshot; 0 if `hk` is NULL.
///
/// # Safety
/// `hk` must be NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn mcring_hot_keys_count(hk: *const mcring_hot_keys) -> usize {
    // SAFETY: forwarded from the caller.
    value_call(0, || unsafe { args::borrow(hk, "hot keys") }.map_or(0, |h| h.entries.len()))
}

/// Key `i` of the snapshot (`0..mcring_hot_keys_count()`), valid until the
/// snapshot is freed; NULL if `hk` is NULL or `i` is out of range.
///
/// # Safety
/// `hk` must be NULL or a live snapshot.
#[no_mangle]
pub unsafe extern "C" fn mcring_hot_keys_at(
    hk: *const mcring_hot_keys,
    i: usize,
) -> *const mcring_hot_key {
    value_call(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { args::borrow(hk, "hot keys") }
            .ok()
            .and_then(|h| h.entries.get(i))
            .map_or(std::ptr::null(), |e| e as *const mcring_hot_key)
    })
}

/// Frees a snapshot. NULL is a no-op.
///
/// # Safety
/// `hk` must be NULL or a live snapshot, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn mcring_hot_keys_free(hk: *mut mcring_hot_keys) {
    // SAFETY: forwarded from the caller.
    value_call((), || unsafe { args::free(hk) })
}
