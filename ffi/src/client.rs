//! The client handle: creating, freeing, placement.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use arc_swap::ArcSwap;

use mcring::config::Transport;
use mcring::{Client, ServerSpec};

use crate::args;
use crate::boundary::{status_call, value_call, Failure};
use crate::status::mcring_status::{self, *};

/// A memcached client over a pool of servers. Opaque; create it with
/// `mcring_client_new()` or `mcring_client_new_with_config()` and free it
/// with `mcring_client_free()`.
///
/// Thread safety: one client may be used by any number of threads at once;
/// each request borrows a pooled connection of the server it needs.
/// Fork safety: after `fork()` the child may keep using a client created
/// before the fork; it opens its own connections and never touches the
/// parent's.
pub struct mcring_client {
    pub(crate) inner: Client,
    /// Every server's name and host as C strings, for `mcring_server_info()`
    /// to hand out for as long as the client lives: kept (never freed) as
    /// the server list changes. Lock-free, so a forked child never waits.
    server_strings: ArcSwap<Vec<Arc<ServerStrings>>>,
}

/// One server's name and host as C strings.
struct ServerStrings {
    name: CString,
    host: CString,
}

impl mcring_client {
    /// Wraps an engine client.
    pub(crate) fn new(inner: Client) -> mcring_client {
        mcring_client { inner, server_strings: ArcSwap::from_pointee(Vec::new()) }
    }

    /// The C strings of `spec`, alive as long as the client.
    fn strings_of(&self, spec: &ServerSpec) -> Arc<ServerStrings> {
        let name = c_text(&spec.name());
        let host = c_text(&spec.host);
        let known = |list: &[Arc<ServerStrings>]| {
            list.iter().find(|s| s.name == name && s.host == host).cloned()
        };
        if let Some(s) = known(&self.server_strings.load()) {
            return s;
        }
        let new = Arc::new(ServerStrings { name: name.clone(), host: host.clone() });
        self.server_strings.rcu(|list| {
            let mut list = Vec::clone(list);
            if known(&list).is_none() {
                list.push(new.clone());
            }
            list
        });
        known(&self.server_strings.load()).unwrap_or(new)
    }
}

/// A C string of configuration text, which never holds a NUL (it came from
/// C strings); one would be escaped rather than cut the text short.
pub(crate) fn c_text(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

/// Borrows the client behind a handle.
///
/// # Safety
/// A non-NULL `c` must be a live client handle.
pub(crate) unsafe fn client<'a>(c: *const mcring_client) -> Result<&'a Client, Failure> {
    // SAFETY: forwarded from the caller.
    Ok(&unsafe { args::borrow(c, "client") }?.inner)
}

/// Creates a client from a config string, the same string the `mcring`
/// command line takes with `--servers`: whitespace-separated servers
/// (`host:port[:weight]`, `[v6addr]:port[:weight]`, `/path/to.sock`) and
/// `name=value` options (e.g. `"127.0.0.1:11211 127.0.0.1:11212
/// io_timeout_ms=500"`). No connection is opened until one is needed.
///
/// On success `*out` is a new client the caller owns and must free with
/// `mcring_client_free()`; on failure `*out` is NULL. A string without
/// servers gives a client whose requests fail with `MCRING_NO_SERVERS`.
///
/// Returns `MCRING_OK`, `MCRING_BAD_CONFIG` (with the offending token in
/// `mcring_last_error()`), or `MCRING_INVALID_ARGUMENT` if `config` or `out`
/// is NULL.
///
/// # Safety
/// `config` must be NULL or a NUL-terminated string; `out` must be NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_client_new(
    config: *const c_char,
    out: *mut *mut mcring_client,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let config = unsafe { args::c_str(config, "config") }?;
        let config = config
            .to_str()
            .map_err(|_| Failure::new(MCRING_BAD_CONFIG, "bad config: not valid UTF-8"))?;
        let inner = Client::from_config_str(config)?;
        args::give(out, mcring_client::new(inner));
        Ok(MCRING_OK)
    })
}

/// Frees a client and closes its connections. NULL is a no-op.
///
/// # Safety
/// `client` must be NULL or a live client handle, and no other thread may
/// be using it.
#[no_mangle]
pub unsafe extern "C" fn mcring_client_free(client: *mut mcring_client) {
    // SAFETY: forwarded from the caller.
    value_call((), || unsafe { args::free(client) })
}

/// Closes the client's idle connections; they reopen on demand. Useful
/// before a long idle period. Requests in flight on other threads are not
/// disturbed.
///
/// Returns `MCRING_OK`, or `MCRING_INVALID_ARGUMENT` if `c` is NULL.
///
/// # Safety
/// `c` must be NULL or a live client handle.
#[no_mangle]
pub unsafe extern "C" fn mcring_client_close(c: *mut mcring_client) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        unsafe { client(c) }?.close();
        Ok(MCRING_OK)
    })
}

/// Writes the name of the server that owns `key` into `buf`, NUL-terminated:
/// `host:port` as configured (`[v6addr]:port` for IPv6, the path for a unix
/// socket). This is the server libmemcached's `memcached_server_by_key`
/// picks for the same server list and distribution. Computed only: no
/// connection is made.
///
/// Returns `MCRING_OK`; `MCRING_BAD_KEY`; `MCRING_NO_SERVERS`;
/// `MCRING_BUFFER_TOO_SMALL` if the name and its NUL do not fit in
/// `buf_len` bytes (then `buf` holds an empty string if `buf_len` > 0);
/// `MCRING_INVALID_ARGUMENT` if a pointer is NULL.
///
/// # Safety
/// `c` must be NULL or a live client handle; `key` NULL or `key_len`
/// readable bytes; `buf` NULL or `buf_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn mcring_server_for_key(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    buf: *mut c_char,
    buf_len: usize,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, key) = unsafe { (client(c)?, args::key(key, key_len)?) };
        let buf = args::out(buf, "buf")?;
        if buf_len > 0 {
            // SAFETY: `buf` is non-NULL and holds at least one byte.
            unsafe { buf.as_ptr().write(0) };
        }
        let name = c.server_for(key)?.name();
        // SAFETY: `buf` is non-NULL with `buf_len` writable bytes.
        unsafe { write_c_string(&name, buf.as_ptr(), buf_len) }?;
        Ok(MCRING_OK)
    })
}

/// One configured server, as `mcring_server_info()` describes it.
///
/// The layout is part of the ABI: callers allocate it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mcring_server {
    /// The server's name: `host:port` (`[v6addr]:port`, or the socket
    /// path), as `mcring_server_for_key()` and the statistics name it.
    /// Valid as long as the client.
    pub name: *const c_char,
    /// The host as configured (an IPv6 address without brackets), or the
    /// socket path. Valid as long as the client.
    pub host: *const c_char,
    /// The TCP port; 0 for a unix socket.
    pub port: u16,
    /// The weight for `ketama-weighted` placement (at least 1).
    pub weight: u32,
    /// Whether the server is reached over a unix socket.
    pub is_unix: bool,
}

/// The number of configured servers (gutter servers not included); 0 if
/// `c` is NULL.
///
/// # Safety
/// `c` must be NULL or a live client handle.
#[no_mangle]
pub unsafe extern "C" fn mcring_server_count(c: *mut mcring_client) -> usize {
    // SAFETY: forwarded from the caller.
    value_call(0, || unsafe { client(c) }.map_or(0, |c| c.servers().len()))
}

/// Describes configured server number `index` (in configuration order, as
/// in the statistics) in `*out`.
///
/// Returns `MCRING_OK`, or `MCRING_INVALID_ARGUMENT` if `index` is not
/// below `mcring_server_count()` or a pointer is NULL.
///
/// # Safety
/// `c` must be NULL or a live client handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_server_info(
    c: *mut mcring_client,
    index: usize,
    out: *mut mcring_server,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let handle = unsafe { args::borrow(c.cast_const(), "client") }?;
        let out = args::out(out, "out")?;
        let servers = handle.inner.servers();
        let Some(spec) = servers.get(index) else {
            return Err(Failure::invalid(format!(
                "server index {index} is out of range (the client has {})",
                servers.len()
            )));
        };
        let strings = handle.strings_of(spec);
        let info = mcring_server {
            name: strings.name.as_ptr(),
            host: strings.host.as_ptr(),
            port: spec.port,
            weight: spec.weight,
            is_unix: spec.transport == Transport::Unix,
        };
        // SAFETY: `out` is non-NULL and the caller vouches it is writable.
        unsafe { out.as_ptr().write(info) };
        Ok(MCRING_OK)
    })
}

/// Writes the index (in configuration order, as for `mcring_server_info()`)
/// of the server that owns `key` to `*index`: the server
/// `mcring_server_for_key()` names. Computed only: no connection is made.
///
/// Returns `MCRING_OK`, `MCRING_BAD_KEY`, `MCRING_NO_SERVERS`, or
/// `MCRING_INVALID_ARGUMENT` if a pointer is NULL.
///
/// # Safety
/// `c` must be NULL or a live client handle; `key` NULL or `key_len`
/// readable bytes; `index` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_server_index_for_key(
    c: *mut mcring_client,
    key: *const c_char,
    key_len: usize,
    index: *mut usize,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let (c, key) = unsafe { (client(c)?, args::key(key, key_len)?) };
        let index = args::out(index, "index")?;
        let position = c.server_index_for(key)?;
        // SAFETY: `index` is non-NULL and the caller vouches it is writable.
        unsafe { index.as_ptr().write(position) };
        Ok(MCRING_OK)
    })
}

/// Copies `text` and a NUL into `buf`, or fails with
/// `MCRING_BUFFER_TOO_SMALL` leaving `buf` untouched.
///
/// # Safety
/// `buf` must point to `buf_len` writable bytes.
pub(crate) unsafe fn write_c_string(
    text: &str,
    buf: *mut c_char,
    buf_len: usize,
) -> Result<(), Failure> {
    let bytes = text.as_bytes();
    if bytes.len() >= buf_len {
        return Err(Failure::new(
            MCRING_BUFFER_TOO_SMALL,
            format!("buffer of {buf_len} bytes cannot hold {:?} and its NUL", text),
        ));
    }
    // SAFETY: `bytes.len() + 1 <= buf_len` bytes are writable; the regions
    // cannot overlap (one is ours).
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
        buf.add(bytes.len()).write(0);
    }
    Ok(())
}
