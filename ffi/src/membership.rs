//! Changing the server list at run time. The new ring is built aside and
//! swapped in atomically: requests in flight on other threads finish on the
//! ring they started with. Servers in both lists keep their connections,
//! health and counters; servers that leave are closed. With the
//! `migration` option (on by default) a key that moved is copied to its new
//! owner on its first read for `migration_s` seconds. A list change in a
//! forked child is that process's own.

use std::ffi::c_char;

use crate::args;
use crate::boundary::{status_call, Failure};
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};

/// A C string argument as UTF-8 text.
///
/// # Safety
/// `text` must be NULL or a NUL-terminated string.
unsafe fn text<'a>(text: *const c_char, what: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller.
    let s = unsafe { args::c_str(text, what) }?;
    s.to_str().map_err(|_| Failure::new(MCRING_BAD_CONFIG, format!("{what} is not valid UTF-8")))
}

/// Replaces the server list with `servers`: whitespace-separated server
/// tokens as in a config string (`host:port[:weight]`, `[v6addr]:port`,
/// `/path/to.sock`, `dns+NAME:PORT`, `srv+NAME`), no options. With `drain`,
/// servers that leave are still read (and their keys moved) until
/// `migration_s` has passed. An empty string empties the list.
///
/// Returns `MCRING_OK`, `MCRING_BAD_CONFIG` (the list is unchanged; the
/// token in `mcring_last_error()`), or `MCRING_INVALID_ARGUMENT` for NULL.
///
/// # Safety
/// `c` must be NULL or a live client; `servers` NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn mcring_client_set_servers(
    c: *mut mcring_client,
    servers: *const c_char,
    drain: bool,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, servers) = unsafe { (client(c)?, text(servers, "servers")?) };
        c.set_servers(&[servers], drain)?;
        Ok(MCRING_OK)
    })
}

/// Adds one server or DNS source (a token as for
/// `mcring_client_set_servers()`).
///
/// Returns `MCRING_OK`, `MCRING_BAD_CONFIG`, or `MCRING_INVALID_ARGUMENT`.
///
/// # Safety
/// `c` must be NULL or a live client; `server` NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn mcring_client_add_server(
    c: *mut mcring_client,
    server: *const c_char,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, server) = unsafe { (client(c)?, text(server, "server")?) };
        if server.split_whitespace().count() != 1 {
            return Err(Failure::new(MCRING_BAD_CONFIG, "expected one server token"));
        }
        c.add_server(server.trim())?;
        Ok(MCRING_OK)
    })
}

/// Removes the server named `server` (`host:port`, as
/// `mcring_server_info()` names it) or a DNS source (its `dns+`/`srv+`
/// token). With `drain`, it is still read until `migration_s` has passed:
/// a graceful removal.
///
/// Returns `MCRING_OK`, `MCRING_BAD_CONFIG` (no such server), or
/// `MCRING_INVALID_ARGUMENT`.
///
/// # Safety
/// `c` must be NULL or a live client; `server` NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn mcring_client_remove_server(
    c: *mut mcring_client,
    server: *const c_char,
    drain: bool,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, server) = unsafe { (client(c)?, text(server, "server")?) };
        c.remove_server(server.trim(), drain)?;
        Ok(MCRING_OK)
    })
}
