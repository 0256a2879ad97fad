//! Commands addressed to every server: flush, versions, server statistics,
//! health probes. Each reports per server through a callback, in
//! configuration order, and returns `MCRING_OK` when every server answered,
//! or the status of the first one that did not (its message, naming the
//! server, in `mcring_last_error()`).

use std::ffi::{c_char, c_void, CString};

use crate::boundary::{status_call, Failure};
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};

/// A C string of `text`; a NUL inside (from a server's bytes) is escaped.
fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

/// `MCRING_OK`, or the first failure among `results`.
fn first_failure<'a>(
    mut results: impl Iterator<Item = Option<&'a mcring::Error>>,
) -> Result<mcring_status, Failure> {
    match results.find_map(|e| e) {
        Some(e) => Err(Failure::of_error(e)),
        None => Ok(MCRING_OK),
    }
}

/// Receives one server's answer to `mcring_server_versions()`:
/// `userdata` as given, the server's name, its status, and its version
/// string (`MCRING_OK`) or the error message. Strings are valid only during
/// the call.
pub type mcring_version_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        server: *const c_char,
        status: mcring_status,
        version_or_error: *const c_char,
    ),
>;

/// Receives one statistic of one server from `mcring_server_stats()`:
/// `userdata` as given, the server's name, the statistic's name and value
/// as memcached sends them (e.g. `"curr_items"`, `"42"`). Strings are valid
/// only during the call.
pub type mcring_stat_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        server: *const c_char,
        name: *const c_char,
        value: *const c_char,
    ),
>;

/// Receives one server's result from `mcring_health()`: `userdata` as
/// given, the server's name, `MCRING_OK` if it answered or the status of its
/// failure, how long the probe took in microseconds, and the error message
/// (`""` when it answered). Strings are valid only during the call.
pub type mcring_health_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        server: *const c_char,
        status: mcring_status,
        latency_us: u64,
        error: *const c_char,
    ),
>;

/// Invalidates every item on every server, after `delay_seconds` if not 0
/// (memcached's `flush_all`).
///
/// Returns `MCRING_OK` when every server did it, otherwise the status of
/// the first that did not; `MCRING_INVALID_ARGUMENT` if `c` is NULL.
///
/// # Safety
/// `c` must be NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn mcring_flush_all(
    c: *mut mcring_client,
    delay_seconds: u32,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let c = unsafe { client(c) }?;
        let results = c.flush_all(delay_seconds);
        first_failure(results.iter().map(|(_, r)| r.as_ref().err()))
    })
}

/// Asks every server for its version; `on_server` is called once per
/// server, in configuration order.
///
/// Returns `MCRING_OK` when every server answered, otherwise the status of
/// the first that did not; `MCRING_INVALID_ARGUMENT` if `c` or `on_server`
/// is NULL.
///
/// # Safety
/// `c` must be NULL or a live client; `on_server` NULL or a function that
/// may be called with `userdata`.
#[no_mangle]
pub unsafe extern "C" fn mcring_server_versions(
    c: *mut mcring_client,
    on_server: mcring_version_cb,
    userdata: *mut c_void,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let c = unsafe { client(c) }?;
        let on_server = on_server.ok_or_else(|| Failure::null("on_server"))?;
        let results = c.version();
        for (name, result) in &results {
            let (status, text) = match result {
                Ok(v) => (MCRING_OK, c_string(v)),
                Err(e) => (mcring_status::of_error(e), c_string(&e.to_string())),
            };
            // SAFETY: the caller's callback, with strings alive for the call.
            unsafe { on_server(userdata, c_string(name).as_ptr(), status, text.as_ptr()) };
        }
        first_failure(results.iter().map(|(_, r)| r.as_ref().err()))
    })
}

/// Asks every server for its own statistics (`stats`, or `stats <group>`
/// when `group` is not NULL, e.g. `"slabs"`, `"items"`, `"settings"`);
/// `on_stat` is called once per statistic per server, in configuration
/// order. A server that fails contributes no statistics.
///
/// Returns `MCRING_OK` when every server answered, otherwise the status of
/// the first that did not (`MCRING_BAD_VALUE` for a group with whitespace
/// or control bytes); `MCRING_INVALID_ARGUMENT` if `c` or `on_stat` is
/// NULL.
///
/// # Safety
/// `c` must be NULL or a live client; `group` NULL or a NUL-terminated
/// string; `on_stat` NULL or a function that may be called with `userdata`.
#[no_mangle]
pub unsafe extern "C" fn mcring_server_stats(
    c: *mut mcring_client,
    group: *const c_char,
    on_stat: mcring_stat_cb,
    userdata: *mut c_void,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let c = unsafe { client(c) }?;
        let on_stat = on_stat.ok_or_else(|| Failure::null("on_stat"))?;
        let group =
            if group.is_null() {
                None
            } else {
                // SAFETY: non-NULL; the caller vouches for the terminator.
                let g = unsafe { std::ffi::CStr::from_ptr(group) };
                Some(g.to_str().map_err(|_| {
                    Failure::new(MCRING_BAD_VALUE, "stats group is not valid UTF-8")
                })?)
            };
        let results = c.server_stats(group);
        for (server, result) in &results {
            let server = c_string(server);
            for (name, value) in result.iter().flatten() {
                let (name, value) = (c_string(name), c_string(value));
                // SAFETY: the caller's callback, with strings alive for the
                // call.
                unsafe { on_stat(userdata, server.as_ptr(), name.as_ptr(), value.as_ptr()) };
            }
        }
        first_failure(results.iter().map(|(_, r)| r.as_ref().err()))
    })
}

/// Probes every server with a `version` round trip. A server that answers
/// is marked alive; one that fails is reported with its error (and the
/// failure counts towards marking it dead). `on_server` is called once per
/// server, in configuration order.
///
/// Returns `MCRING_OK` when every server answered, otherwise the status of
/// the first that did not; `MCRING_INVALID_ARGUMENT` if `c` or `on_server`
/// is NULL.
///
/// # Safety
/// `c` must be NULL or a live client; `on_server` NULL or a function that
/// may be called with `userdata`.
#[no_mangle]
pub unsafe extern "C" fn mcring_health(
    c: *mut mcring_client,
    on_server: mcring_health_cb,
    userdata: *mut c_void,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let c = unsafe { client(c) }?;
        let on_server = on_server.ok_or_else(|| Failure::null("on_server"))?;
        let results = c.health();
        for h in &results {
            let (status, message) = match &h.error {
                None => (MCRING_OK, CString::default()),
                Some(e) => (mcring_status::of_error(e), c_string(&e.to_string())),
            };
            let latency_us = u64::try_from(h.latency.as_micros()).unwrap_or(u64::MAX);
            // SAFETY: the caller's callback, with strings alive for the call.
            unsafe {
                on_server(
                    userdata,
                    c_string(&h.name).as_ptr(),
                    status,
                    latency_us,
                    message.as_ptr(),
                )
            };
        }
        first_failure(results.iter().map(|h| h.error.as_ref()))
    })
}
