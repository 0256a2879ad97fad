//! Building a configuration in code, as an alternative to a config string.

use std::ffi::{c_char, CStr};

use mcring::{Client, Config, ServerSpec};

use crate::args;
use crate::boundary::{status_call, value_call, Failure};
use crate::client::mcring_client;
use crate::status::mcring_status::{self, *};

/// A client configuration under construction: servers and options. Opaque;
/// create it with `mcring_config_new()`, free it with `mcring_config_free()`.
///
/// Thread safety: not safe for concurrent mutation; a config that is no
/// longer changed may be read by several threads.
pub struct mcring_config {
    inner: Config,
}

/// A config text argument as UTF-8, or `MCRING_BAD_CONFIG`.
fn utf8<'a>(s: &'a CStr, what: &str) -> Result<&'a str, Failure> {
    s.to_str().map_err(|_| Failure::new(MCRING_BAD_CONFIG, format!("{what} is not valid UTF-8")))
}

/// Refuses text that would not survive a config string.
fn no_blanks(s: &str, what: &str) -> Result<(), Failure> {
    match s.bytes().find(|&b| b <= b' ' || b == 0x7f) {
        Some(b) => Err(Failure::new(
            MCRING_BAD_CONFIG,
            format!("{what} {s:?} contains whitespace or control byte 0x{b:02x}"),
        )),
        None => Ok(()),
    }
}

/// Creates an empty configuration: no servers, every option at its default
/// (the same defaults as an empty config string).
///
/// On success `*out` is a new config the caller owns and must free with
/// `mcring_config_free()`. Returns `MCRING_OK`, or `MCRING_INVALID_ARGUMENT`
/// if `out` is NULL.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_config_new(out: *mut *mut mcring_config) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        args::give(out, mcring_config { inner: Config::default() });
        Ok(MCRING_OK)
    })
}

/// Frees a configuration. NULL is a no-op. Clients made from it are not
/// affected.
///
/// # Safety
/// `config` must be NULL or a live config handle.
#[no_mangle]
pub unsafe extern "C" fn mcring_config_free(config: *mut mcring_config) {
    // SAFETY: forwarded from the caller.
    value_call((), || unsafe { args::free(config) })
}

/// Appends a TCP server. `host` is a name or an address (IPv6 with or
/// without brackets); `port` is 1..65535; `weight` counts for
/// `ketama-weighted` placement (0 means 1, as in libmemcached). The server
/// is named `host:port` (`[v6addr]:port`) for placement, exactly as the
/// same server in a config string.
///
/// Returns `MCRING_OK`, `MCRING_BAD_CONFIG` (bad host or port), or
/// `MCRING_INVALID_ARGUMENT` if a pointer is NULL.
///
/// # Safety
/// `config` must be NULL or a live config handle; `host` NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn mcring_config_add_server(
    config: *mut mcring_config,
    host: *const c_char,
    port: u16,
    weight: u32,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { config.as_mut() }.ok_or_else(|| Failure::null("config"))?;
        // SAFETY: forwarded from the caller.
        let host = utf8(unsafe { args::c_str(host, "host") }?, "host")?;
        no_blanks(host, "host")?;
        // One parser for servers however they are given.
        let token = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}:{weight}")
        } else {
            format!("{host}:{port}:{weight}")
        };
        config.inner.servers.push(ServerSpec::parse(&token)?);
        Ok(MCRING_OK)
    })
}

/// Appends a server listening on a unix socket at `path` (absolute), with
/// `weight` as for `mcring_config_add_server()`.
///
/// Returns `MCRING_OK`, `MCRING_BAD_CONFIG` (not an absolute path), or
/// `MCRING_INVALID_ARGUMENT` if a pointer is NULL.
///
/// # Safety
/// `config` must be NULL or a live config handle; `path` NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn mcring_config_add_unix_server(
    config: *mut mcring_config,
    path: *const c_char,
    weight: u32,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { config.as_mut() }.ok_or_else(|| Failure::null("config"))?;
        // SAFETY: forwarded from the caller.
        let path = utf8(unsafe { args::c_str(path, "path") }?, "path")?;
        no_blanks(path, "path")?;
        if !path.starts_with('/') || path.len() < 2 {
            return Err(Failure::new(
                MCRING_BAD_CONFIG,
                format!("unix socket path {path:?} is not absolute"),
            ));
        }
        config.inner.servers.push(ServerSpec::unix(path).with_weight(weight));
        Ok(MCRING_OK)
    })
}

/// Sets one option by name, exactly as `name=value` in a config string
/// (e.g. `"distribution"`, `"ketama"`; `"io_timeout_ms"`, `"250"`).
///
/// Returns `MCRING_OK`, `MCRING_BAD_CONFIG` (unknown option or bad value),
/// or `MCRING_INVALID_ARGUMENT` if a pointer is NULL.
///
/// # Safety
/// `config` must be NULL or a live config handle; `name` and `value` NULL
/// or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn mcring_config_set_option(
    config: *mut mcring_config,
    name: *const c_char,
    value: *const c_char,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { config.as_mut() }.ok_or_else(|| Failure::null("config"))?;
        // SAFETY: forwarded from the caller.
        let (name, value) = unsafe { (args::c_str(name, "name")?, args::c_str(value, "value")?) };
        let (name, value) = (utf8(name, "option name")?, utf8(value, "option value")?);
        no_blanks(name, "option name")?;
        if mcring::config::is_secret_option(name) {
            // Checked without echoing it.
            if value.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(Failure::new(
                    MCRING_BAD_CONFIG,
                    format!("option {name} contains whitespace or a control byte"),
                ));
            }
        } else {
            no_blanks(value, "option value")?;
        }
        config.inner.set_option(name, value)?;
        Ok(MCRING_OK)
    })
}

/// Creates a client from a configuration built in code. The configuration
/// is copied: it may be changed or freed afterwards.
///
/// On success `*out` is a new client the caller owns and must free with
/// `mcring_client_free()`; on failure `*out` is NULL. Returns `MCRING_OK`,
/// `MCRING_BAD_CONFIG` (options that do not fit together), or
/// `MCRING_INVALID_ARGUMENT` if a pointer is NULL.
///
/// # Safety
/// `config` must be NULL or a live config handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_client_new_with_config(
    config: *const mcring_config,
    out: *mut *mut mcring_client,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let config = unsafe { args::borrow(config, "config") }?;
        let inner = Client::new(config.inner.clone())?;
        args::give(out, mcring_client::new(inner));
        Ok(MCRING_OK)
    })
}
