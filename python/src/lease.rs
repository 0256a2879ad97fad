//! Stampede protection and hot keys for Python: `get_or_set` (a read
//! through the engine's lease), `invalidate` (to stale, not deleted) and
//! `hot_keys`. The leases, waits and stale values are the engine's, shared
//! with C and PHP callers of the same pool; this file only runs the
//! caller's `compute` and turns values into Python objects.

use std::time::Duration;

use mcring::{LeaseOptions, Leased};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::args::Ttl;
use crate::client::run;
use crate::errors;
use crate::keys::Key;
use crate::values::Codec;

/// The lease options of one call: the client's, with the caller's
/// `lease_ttl` (seconds, a float), `recache_s` and `stale_ttl`.
pub fn options(
    py: Python<'_>,
    engine: &mcring::Client,
    lease_ttl: Option<f64>,
    recache_s: Option<Ttl>,
    stale_ttl: Option<Ttl>,
) -> PyResult<LeaseOptions> {
    let mut opts = engine.lease_options();
    if let Some(secs) = lease_ttl {
        if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
            return Err(errors::bad_value(
                py,
                format!(
                    "lease_ttl must be between 0 and 86400 seconds (exclusive of 0), not {secs}"
                ),
            ));
        }
        opts.lease_ttl = Duration::from_secs_f64(secs);
    }
    opts.recache_s = recache_s.map_or(0, |t| t.0);
    opts.stale_ttl = stale_ttl.map_or(0, |t| t.0);
    Ok(opts)
}

/// Reads `key` through a lease; when this caller wins it, calls `compute()`
/// (with the GIL held), stores its value with `ttl` and returns it. An
/// exception of `compute` gives the lease back at once (the next caller
/// wins without waiting for `lease_ttl`) and propagates to this caller
/// alone. A value the codec cannot store (a type it has no format for, or
/// over `max_value_bytes`) also gives the lease back and raises. A fill
/// the cache declines (a newer write came first) or cannot make (a server
/// error) still returns the computed value: the cache is a cache.
pub fn get_or_set(
    py: Python<'_>,
    engine: &mcring::Client,
    codec: Codec,
    key: &Bound<'_, PyAny>,
    compute: &Bound<'_, PyAny>,
    ttl: Ttl,
    opts: LeaseOptions,
) -> PyResult<Py<PyAny>> {
    if !compute.is_callable() {
        return Err(errors::bad_value(py, "compute must be callable".to_string()));
    }
    let key = Key::from_py(key)?;
    let k = key.as_bytes();
    let token = match run(py, || engine.get_or_lease(k, &opts))? {
        Leased::Hit(item) | Leased::Stale(item) => {
            return codec.python_value(py, codec.decode(&item.value, item.flags));
        }
        Leased::Compute(token) => token,
    };
    let release = |token| {
        let _ = py.detach(|| engine.lease_release(token));
    };
    let value = match compute.call0() {
        Ok(value) => value,
        Err(e) => {
            release(token);
            return Err(e);
        }
    };
    let prepared = match codec.prepare(&value) {
        Ok(p) => p,
        Err(e) => {
            release(token);
            return Err(e);
        }
    };
    let v = prepared.value();
    // The fill's own outcome is kept apart from `run`'s mapping, so that
    // only a value the codec refused raises.
    let filled = run(py, move || {
        Ok(match codec.encode(&v, 0) {
            Ok(encoded) => engine.lease_fill(token, &encoded.data, encoded.flags, ttl.0),
            Err(e) => {
                let _ = engine.lease_release(token);
                Err(e)
            }
        })
    })?;
    match filled {
        Err(e @ mcring::Error::BadValue(_)) => Err(errors::to_py(py, e)),
        _ => Ok(value.unbind()),
    }
}

/// `{server: [{"key", "reads", "error", "rate"}, ...]}`, most read first.
pub fn hot_keys<'py>(py: Python<'py>, engine: &mcring::Client) -> PyResult<Bound<'py, PyDict>> {
    hot_keys_dict(py, &engine.hot_keys())
}

/// [`hot_keys`] of groups already taken (those of a stats snapshot).
pub fn hot_keys_dict<'py>(
    py: Python<'py>,
    groups: &[mcring::hot_keys::ServerHotKeys],
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for group in groups {
        let keys = PyList::empty(py);
        for k in &group.keys {
            let entry = PyDict::new(py);
            match std::str::from_utf8(&k.key) {
                Ok(text) => entry.set_item("key", PyString::new(py, text))?,
                Err(_) => entry.set_item("key", PyBytes::new(py, &k.key))?,
            }
            entry.set_item("reads", k.reads)?;
            entry.set_item("error", k.error)?;
            entry.set_item("rate", k.rate)?;
            keys.append(entry)?;
        }
        out.set_item(&group.server, keys)?;
    }
    Ok(out)
}
