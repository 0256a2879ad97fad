//! Keys from Python: `bytes` as they are, `str` as UTF-8.
//!
//! What a key may contain is checked by the engine, once, for every binding.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors;

/// A key's bytes, kept alive in a Python `bytes` object so the engine can
/// borrow them while the GIL is released.
pub struct Key<'py>(Bound<'py, PyBytes>);

impl<'py> Key<'py> {
    /// The key of a `str` or `bytes` object; `BadKeyError` for anything else.
    pub fn from_py(key: &Bound<'py, PyAny>) -> PyResult<Key<'py>> {
        if let Ok(bytes) = key.cast::<PyBytes>() {
            return Ok(Key(bytes.clone()));
        }
        if let Ok(text) = key.cast::<PyString>() {
            return Ok(Key(text.encode_utf8()?));
        }
        Err(errors::bad_key_type(key.py(), key))
    }

    /// The key's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// The keys of an iterable of keys, with the key objects as given (for the
/// keys of a result dict).
pub fn many<'py>(keys: &Bound<'py, PyAny>) -> PyResult<(Vec<Bound<'py, PyAny>>, Vec<Key<'py>>)> {
    if keys.is_instance_of::<PyString>() || keys.is_instance_of::<PyBytes>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "expected an iterable of keys, not a single str or bytes",
        ));
    }
    let mut objects = Vec::new();
    let mut parsed = Vec::new();
    for key in keys.try_iter()? {
        let key = key?;
        parsed.push(Key::from_py(&key)?);
        objects.push(key);
    }
    Ok((objects, parsed))
}

/// The server key of a `*_by_key` placement (`server_key=`): the key that
/// is hashed to pick the server instead of each key itself. None (or an
/// empty key) places every key by itself.
pub struct ServerKey<'py>(Option<Key<'py>>);

impl<'py> ServerKey<'py> {
    /// The server key of an optional `str`/`bytes` argument.
    pub fn from_py(key: Option<&Bound<'py, PyAny>>) -> PyResult<ServerKey<'py>> {
        match key {
            Some(k) if !k.is_none() => Ok(ServerKey(Some(Key::from_py(k)?))),
            _ => Ok(ServerKey(None)),
        }
    }

    /// Its bytes; empty for none.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref().map_or(&[], Key::as_bytes)
    }
}
