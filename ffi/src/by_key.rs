//! Commands as libmemcached's `*_by_key` functions make them: every key
//! placed by a server key (the server key is hashed, the prefix is not,
//! unless `hash_with_prefix`), or, with a NULL or empty server key, by the
//! key itself as the plain commands place it. Writes may be sent without
//! waiting for the reply (`noreply`), and arithmetic may create a missing
//! key with an initial value. These are what php-memcached's API needs;
//! each call is one engine call.

use std::ffi::{c_char, c_void};

use mcring::{ByKey, Client, Retrieval, SetItem, StoreMode};

use crate::args;
use crate::boundary::{status_call, Failure};
use crate::client::{c_text, client, mcring_client};
use crate::multi::{mcring_get_cb, mcring_set_item, multi_call};
use crate::status::mcring_status::{self, *};
use crate::value::mcring_value;

/// The storage command of `mcring_store_by_key()`.
///
/// The numeric values are part of the ABI and never change.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mcring_store_mode {
    /// Store unconditionally.
    MCRING_STORE_SET = 0,
    /// Store only if the key does not exist.
    MCRING_STORE_ADD = 1,
    /// Store only if the key exists.
    MCRING_STORE_REPLACE = 2,
    /// Append the bytes to the stored bytes.
    MCRING_STORE_APPEND = 3,
    /// Prepend the bytes to the stored bytes.
    MCRING_STORE_PREPEND = 4,
    /// Store only if the item's CAS token is still the one given.
    MCRING_STORE_CAS = 5,
}

/// The server key argument: `None` when NULL or empty (place by the key,
/// as libmemcached does with an empty server key).
///
/// # Safety
/// A non-NULL `ptr` must point to `len` readable bytes.
pub(crate) unsafe fn server_key_arg<'a>(
    ptr: *const c_char,
    len: usize,
) -> Result<Option<&'a [u8]>, Failure> {
    if ptr.is_null() || len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { args::key(ptr, len) }.map(Some)
}

/// What a command goes through: the client (each key placed by itself) or
/// the client's view for one server key.
enum Target<'a> {
    OwnKey(&'a Client),
    ServerKey(ByKey<'a>),
}

fn target<'a>(c: &'a Client, server_key: Option<&'a [u8]>) -> Target<'a> {
    match server_key {
        None => Target::OwnKey(c),
        Some(sk) => Target::ServerKey(c.by_key(sk)),
    }
}

/// Runs the same command on either kind of target (their methods are named
/// and typed alike).
macro_rules! on {
    ($target:expr, |$t:ident| $body:expr) => {
        match $target {
            Target::OwnKey($t) => $body,
            Target::ServerKey($t) => $body,
        }
    };
}

/// Fetches `key` (with its CAS token when `with_cas`), placed by
/// `server_key` (NULL: by the key). Otherwise as `mcring_get()`.
///
/// # Safety
/// As for `mcring_get()`; `server_key` NULL or `server_key_len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_get_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    key: *const c_char,
    key_len: usize,
    with_cas: bool,
    out: *mut *mut mcring_value,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let (c, sk, key) = unsafe {
            (client(c)?, server_key_arg(server_key, server_key_len)?, args::key(key, key_len)?)
        };
        let cmd = if with_cas { Retrieval::Gets } else { Retrieval::Get };
        match on!(target(c, sk), |t| t.get_with(key, cmd, |item| item.to_item()))? {
            Some(item) => {
                args::give(out, mcring_value { item });
                Ok(MCRING_OK)
            }
            None => Ok(MCRING_NOT_FOUND),
        }
    })
}

/// Runs storage command `mode` (with `cas` for `MCRING_STORE_CAS`; flags
/// and TTL are ignored by append and prepend), placed by `server_key`
/// (NULL: by the key). With `noreply` the command is sent without waiting
/// for its reply: `MCRING_OK` then means sent, and an error the server
/// sends later is counted (`noreply_errors`). Statuses as for
/// `mcring_set()`, `mcring_add()`, ... and `mcring_cas()`.
///
/// # Safety
/// As for `mcring_set()`; `server_key` NULL or `server_key_len` readable
/// bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mcring_store_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    mode: mcring_store_mode,
    key: *const c_char,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    flags: u32,
    ttl_seconds: u32,
    cas: u64,
    noreply: bool,
) -> mcring_status {
    use mcring_store_mode::*;
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, sk, key, value) = unsafe {
            (
                client(c)?,
                server_key_arg(server_key, server_key_len)?,
                args::key(key, key_len)?,
                args::value(value, value_len)?,
            )
        };
        let mode = match mode {
            MCRING_STORE_SET => StoreMode::Set,
            MCRING_STORE_ADD => StoreMode::Add,
            MCRING_STORE_REPLACE => StoreMode::Replace,
            MCRING_STORE_APPEND => StoreMode::Append,
            MCRING_STORE_PREPEND => StoreMode::Prepend,
            MCRING_STORE_CAS => StoreMode::Cas(cas),
        };
        let t = target(c, sk);
        if noreply {
            on!(t, |t| t.store_noreply(mode, key, value, flags, ttl_seconds))?;
            return Ok(MCRING_OK);
        }
        Ok(mcring_status::of_outcome(on!(t, |t| t.store(mode, key, value, flags, ttl_seconds))?))
    })
}

/// Deletes `key`, placed by `server_key` (NULL: by the key); with
/// `noreply` without waiting for the reply. Statuses as for
/// `mcring_delete()`.
///
/// # Safety
/// As for `mcring_delete()`; `server_key` NULL or `server_key_len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_delete_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    key: *const c_char,
    key_len: usize,
    noreply: bool,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, sk, key) = unsafe {
            (client(c)?, server_key_arg(server_key, server_key_len)?, args::key(key, key_len)?)
        };
        let t = target(c, sk);
        if noreply {
            on!(t, |t| t.delete_noreply(key))?;
            return Ok(MCRING_OK);
        }
        Ok(mcring_status::of_outcome(on!(t, |t| t.delete(key))?))
    })
}

/// Sets the TTL of `key`, placed by `server_key` (NULL: by the key); with
/// `noreply` without waiting for the reply. Statuses as for
/// `mcring_touch()`.
///
/// # Safety
/// As for `mcring_touch()`; `server_key` NULL or `server_key_len` readable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_touch_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    key: *const c_char,
    key_len: usize,
    ttl_seconds: u32,
    noreply: bool,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, sk, key) = unsafe {
            (client(c)?, server_key_arg(server_key, server_key_len)?, args::key(key, key_len)?)
        };
        let t = target(c, sk);
        if noreply {
            on!(t, |t| t.touch_noreply(key, ttl_seconds))?;
            return Ok(MCRING_OK);
        }
        Ok(mcring_status::of_outcome(on!(t, |t| t.touch(key, ttl_seconds))?))
    })
}

/// Adds `delta` to (or with `decrement` subtracts it from, stopping at 0)
/// the number stored under `key`, placed by `server_key` (NULL: by the
/// key), and writes the result to `*new_value`. With `initial` not NULL a
/// missing key is created with the value `*initial` (not `*initial` ±
/// `delta`) and TTL `ttl_seconds`, atomically (meta `ma` with
/// autovivify), and that is the result; otherwise a missing key gives
/// `MCRING_NOT_FOUND`. Other statuses as for `mcring_incr()`.
///
/// # Safety
/// As for `mcring_incr()`; `server_key` NULL or `server_key_len` readable
/// bytes; `initial` NULL or readable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mcring_arith_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    key: *const c_char,
    key_len: usize,
    decrement: bool,
    delta: u64,
    initial: *const u64,
    ttl_seconds: u32,
    new_value: *mut u64,
) -> mcring_status {
    status_call(|| {
        let new_value = args::out(new_value, "new_value")?;
        // SAFETY: forwarded from the caller.
        let (c, sk, key) = unsafe {
            (client(c)?, server_key_arg(server_key, server_key_len)?, args::key(key, key_len)?)
        };
        let t = target(c, sk);
        // SAFETY: the caller vouches that a non-NULL `initial` is readable.
        let result = match unsafe { initial.as_ref() } {
            Some(&initial) if decrement => {
                Some(on!(t, |t| t.decr_or_init(key, delta, initial, ttl_seconds))?)
            }
            Some(&initial) => Some(on!(t, |t| t.incr_or_init(key, delta, initial, ttl_seconds))?),
            None if decrement => on!(t, |t| t.decr(key, delta))?,
            None => on!(t, |t| t.incr(key, delta))?,
        };
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

/// Fetches `count` keys in one fan-out, placed by `server_key` (NULL: each
/// by itself), with CAS tokens when `with_cas`. Otherwise as
/// `mcring_get_multi()`.
///
/// # Safety
/// As for `mcring_get_multi()`; `server_key` NULL or `server_key_len`
/// readable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mcring_get_multi_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    keys: *const *const c_char,
    key_lens: *const usize,
    count: usize,
    with_cas: bool,
    on_value: mcring_get_cb,
    userdata: *mut c_void,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: every pointer (and the callback) is used as the caller
    // vouches in the function's safety contract.
    unsafe {
        multi_call(statuses, count, || {
            let on_value = on_value.ok_or_else(|| Failure::null("on_value"))?;
            let (c, sk, keys) = (
                client(c)?,
                server_key_arg(server_key, server_key_len)?,
                args::keys(keys, key_lens, count)?,
            );
            let cmd = if with_cas { Retrieval::Gets } else { Retrieval::Get };
            let deliver = |index: usize, item: mcring::ItemRef<'_>| {
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
            };
            let found = on!(target(c, sk), |t| t.get_multi_with(&keys, cmd, deliver))?;
            Ok(found
                .into_iter()
                .map(|r| r.map(|hit| if hit { MCRING_OK } else { MCRING_NOT_FOUND }))
                .collect())
        })
    }
}

/// Stores `count` items in one fan-out, placed by `server_key` (NULL: each
/// by its key); with `noreply` without waiting for the replies (a status
/// then says the item was sent). Otherwise as `mcring_set_multi()`.
///
/// # Safety
/// As for `mcring_set_multi()`; `server_key` NULL or `server_key_len`
/// readable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mcring_set_multi_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    items: *const mcring_set_item,
    count: usize,
    ttl_seconds: u32,
    noreply: bool,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: every pointer is used as the caller vouches in the function's
    // safety contract.
    unsafe {
        multi_call(statuses, count, || {
            let (c, sk, items) = (
                client(c)?,
                server_key_arg(server_key, server_key_len)?,
                args::array(items, count, "items")?,
            );
            let items = items
                .iter()
                .map(|item| {
                    let key = args::key(item.key, item.key_len)?;
                    let value = args::value(item.value, item.value_len)?;
                    Ok(SetItem { key, value, flags: item.flags })
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let t = target(c, sk);
            if noreply {
                let sent = on!(t, |t| t.set_multi_noreply(&items, ttl_seconds))?;
                return Ok(sent.into_iter().map(|r| r.map(|()| MCRING_OK)).collect());
            }
            let results = on!(t, |t| t.set_multi(&items, ttl_seconds))?;
            Ok(results.into_iter().map(|r| r.map(mcring_status::of_outcome)).collect())
        })
    }
}

/// Deletes `count` keys in one fan-out, placed by `server_key` (NULL: each
/// by itself). Otherwise as `mcring_delete_multi()`.
///
/// # Safety
/// As for `mcring_delete_multi()`; `server_key` NULL or `server_key_len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_delete_multi_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    keys: *const *const c_char,
    key_lens: *const usize,
    count: usize,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: every pointer is used as the caller vouches in the function's
    // safety contract.
    unsafe {
        multi_call(statuses, count, || {
            let (c, sk, keys) = (
                client(c)?,
                server_key_arg(server_key, server_key_len)?,
                args::keys(keys, key_lens, count)?,
            );
            let results = on!(target(c, sk), |t| t.delete_multi(&keys))?;
            Ok(results.into_iter().map(|r| r.map(mcring_status::of_outcome)).collect())
        })
    }
}

/// `mcring_delete_multi_by_key()` without waiting for replies: quiet meta
/// deletes and one `mn` per server, one round trip per server however many
/// keys. `statuses[i]` is `MCRING_OK` once key `i` was sent (a missing key
/// is no error), or why it could not be (`MCRING_BAD_KEY`, a server that
/// could not be reached, ...). A delete memcached refused later is counted
/// (`noreply_errors`).
///
/// # Safety
/// As for `mcring_delete_multi_by_key()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_delete_multi_noreply_by_key(
    c: *mut mcring_client,
    server_key: *const c_char,
    server_key_len: usize,
    keys: *const *const c_char,
    key_lens: *const usize,
    count: usize,
    statuses: *mut mcring_status,
) -> mcring_status {
    // SAFETY: every pointer is used as the caller vouches in the function's
    // safety contract.
    unsafe {
        multi_call(statuses, count, || {
            let (c, sk, keys) = (
                client(c)?,
                server_key_arg(server_key, server_key_len)?,
                args::keys(keys, key_lens, count)?,
            );
            let sent = on!(target(c, sk), |t| t.delete_multi_noreply(&keys))?;
            Ok(sent.into_iter().map(|r| r.map(|()| MCRING_OK)).collect())
        })
    }
}

/// Receives one key from `mcring_dump_keys()`: `userdata` as given, the
/// server's name, the key as stored (with the prefix, URL-decoded;
/// `key_len` bytes, valid only during the call), its expiry as a Unix time
/// (-1: never), its last access, CAS token and size in bytes.
pub type mcring_dump_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        server: *const c_char,
        key: *const u8,
        key_len: usize,
        exptime: i64,
        last_access: i64,
        cas: u64,
        size: u32,
    ),
>;

/// Lists the keys every server holds (memcached's `lru_crawler metadump
/// all`): `on_key` is called once per key, server after server in
/// configuration order. Returns `MCRING_OK` when every server answered,
/// otherwise the status of the first that did not (the keys of the others
/// are still delivered).
///
/// # Safety
/// `c` must be NULL or a live client; `on_key` NULL or a function that may
/// be called with `userdata`.
#[no_mangle]
pub unsafe extern "C" fn mcring_dump_keys(
    c: *mut mcring_client,
    on_key: mcring_dump_cb,
    userdata: *mut c_void,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let c = unsafe { client(c) }?;
        let on_key = on_key.ok_or_else(|| Failure::null("on_key"))?;
        let results = c.dump_keys();
        for (server, result) in &results {
            let server = c_text(server);
            for k in result.iter().flatten() {
                // SAFETY: the caller's callback, with arguments alive for the
                // call.
                unsafe {
                    on_key(
                        userdata,
                        server.as_ptr(),
                        k.key.as_ptr(),
                        k.key.len(),
                        k.exptime,
                        k.last_access,
                        k.cas,
                        k.size,
                    )
                };
            }
        }
        match results.iter().find_map(|(_, r)| r.as_ref().err()) {
            Some(e) => Err(Failure::of_error(e)),
            None => Ok(MCRING_OK),
        }
    })
}
