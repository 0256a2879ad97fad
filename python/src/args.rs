//! Numeric arguments (TTLs, deltas, CAS tokens, flags) from Python.
//!
//! A value the protocol cannot carry — negative, too large, not an int —
//! is a `BadValueError` naming the argument, raised before anything is
//! sent, rather than the `TypeError` or `OverflowError` of a plain integer
//! conversion.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::errors;

/// An unsigned integer argument no larger than `max`.
fn unsigned(obj: &Bound<'_, PyAny>, what: &str, max: u64) -> PyResult<u64> {
    let py = obj.py();
    let type_name = || obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    if !obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyBool>() {
        return Err(errors::bad_value(py, format!("{what} must be an int, not {}", type_name())));
    }
    match obj.extract::<i128>() {
        Ok(n) if (0..=i128::from(max)).contains(&n) => Ok(n as u64),
        _ => Err(errors::bad_value(
            py,
            format!("{what} must be between 0 and {max}, not {}", obj.str()?.to_cow()?),
        )),
    }
}

/// A TTL in seconds: 0 (never expires) up to 30 days relative, or a Unix
/// time above that, as memcached reads it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ttl(pub u32);

impl<'a, 'py> FromPyObject<'a, 'py> for Ttl {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Ttl> {
        Ok(Ttl(unsigned(&obj, "ttl", u64::from(u32::MAX))? as u32))
    }
}

/// The delta of `incr`/`decr`, or another 64-bit counter value.
#[derive(Clone, Copy, Debug)]
pub struct Count(pub u64);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Count> {
        Ok(Count(unsigned(&obj, "delta", u64::MAX)?))
    }
}

/// A CAS token (from `gets`).
#[derive(Clone, Copy, Debug)]
pub struct CasToken(pub u64);

impl<'a, 'py> FromPyObject<'a, 'py> for CasToken {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<CasToken> {
        Ok(CasToken(unsigned(&obj, "cas", u64::MAX)?))
    }
}

/// Flags a caller stores with a value: the application's own 16 bits in
/// the php and pylibmc formats (bits 16–31 of the stored flags), all 32
/// bits in the raw format.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags(pub u32);

impl<'a, 'py> FromPyObject<'a, 'py> for Flags {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Flags> {
        Ok(Flags(unsigned(&obj, "flags", u64::from(u32::MAX))? as u32))
    }
}
