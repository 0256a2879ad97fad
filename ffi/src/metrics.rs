//! Client metrics as Prometheus text, and the shared metrics area of a pool
//! of processes.

use std::ffi::{c_char, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use mcring::Item;

use crate::args;
use crate::boundary::{status_call, Failure};
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};
use crate::value::mcring_value;

/// Hands out Prometheus text as a value handle.
fn give_text(out: std::ptr::NonNull<*mut mcring_value>, text: String) {
    let item = Item { value: text.into_bytes(), flags: 0, cas: None };
    args::give(out, mcring_value { item });
}

/// A path argument.
///
/// # Safety
/// A non-NULL `path` must be a NUL-terminated string.
unsafe fn path_arg<'a>(path: *const c_char) -> Result<&'a Path, Failure> {
    // SAFETY: forwarded from the caller.
    let p = unsafe { args::c_str(path, "path") }?;
    if p.is_empty() {
        return Err(Failure::invalid("path is empty"));
    }
    Ok(Path::new(OsStr::from_bytes(p.to_bytes())))
}

/// The client's counters and latency histograms in Prometheus text
/// exposition format (version 0.0.4), rendered by the engine exactly as
/// every mcring binding and `mcring exporter --shm` render them: families
/// `mcring_client_*_total{server}` and
/// `mcring_client_request_duration_seconds{server,command}`.
///
/// On success `*out` is a new value holding the text (`mcring_value_data()`,
/// `mcring_value_len()`; not NUL-terminated), freed with
/// `mcring_value_free()`. Returns `MCRING_OK`, or `MCRING_INVALID_ARGUMENT`
/// if a pointer is NULL.
///
/// # Safety
/// `c` must be NULL or a live client; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_metrics_prometheus(
    c: *mut mcring_client,
    out: *mut *mut mcring_value,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let text = unsafe { client(c) }?.stats().prometheus();
        give_text(out, text);
        Ok(MCRING_OK)
    })
}

/// Maps the shared metrics area at `path` (a file, created if needed; on
/// tmpfs such as `/dev/shm/...` it never touches a disk) for this process
/// and every process forked from it afterwards. Clients created afterwards
/// add every count and latency to their server's slot there as well as to
/// their own, so `mcring exporter --shm PATH` (or
/// `mcring_shared_metrics_prometheus()`) shows what all the processes of a
/// pool saw.
///
/// Call it once in the parent before workers fork (PHP-FPM's master at
/// module start-up). Again with the same path it is a no-op. Clients
/// created before the first call do not add to the area.
///
/// Returns `MCRING_OK`; `MCRING_INVALID_ARGUMENT` if `path` is NULL or
/// empty; `MCRING_BAD_CONFIG` if the file cannot be opened, created or
/// mapped, or another path was given before (the message says why).
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn mcring_shared_metrics_init(path: *const c_char) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let path = unsafe { path_arg(path) }?;
        mcring::shared_metrics::init(path)
            .map_err(|e| Failure::new(MCRING_BAD_CONFIG, format!("shared metrics area: {e}")))?;
        Ok(MCRING_OK)
    })
}

/// The metrics of every process using the shared metrics area at `path`,
/// in Prometheus text format (the same families as
/// `mcring_metrics_prometheus()`, summed over the processes; servers sorted
/// by name). Reading maps the file read-only and never writes it.
///
/// On success `*out` is a new value holding the text, freed with
/// `mcring_value_free()`. Returns `MCRING_OK`; `MCRING_INVALID_ARGUMENT` if
/// a pointer is NULL or `path` is empty; `MCRING_BAD_CONFIG` if the file
/// cannot be read or is not a metrics area of this libmcring version.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_shared_metrics_prometheus(
    path: *const c_char,
    out: *mut *mut mcring_value,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let path = unsafe { path_arg(path) }?;
        let stats = mcring::shared_metrics::read(path)
            .map_err(|e| Failure::new(MCRING_BAD_CONFIG, format!("shared metrics area: {e}")))?;
        give_text(out, stats.prometheus());
        Ok(MCRING_OK)
    })
}
