//! `mcring.Client`: the engine's client with Python values.
//!
//! Every method that talks to a server releases the GIL for the whole
//! request (encoding, compression and network I/O included), so threads
//! sharing a client, or each with their own, overlap their waits. Values are
//! decoded from the receive buffer while the GIL is still released; only the
//! final Python object is built with it held.

// The methods take Python's keyword arguments one by one (ttl, flags,
// noreply, server_key, ...), so their Rust signatures are long.
#![allow(clippy::too_many_arguments)]

use mcring::client::{Retrieval, SetItem, Status, StoreMode};
use mcring::value::{CodecOptions, Decoded, Encoded, ValueError};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::args::{CasToken, Count, Flags, Ttl};
use crate::errors;
use crate::interrupt;
use crate::keys::{self, Key, ServerKey};
use crate::lease;
use crate::options;
use crate::values::{self, Codec, Prepared};

/// A memcached client over a pool of servers, with libmemcached's key
/// placement.
///
/// `servers` is a list of `"host:port[:weight]"` strings (also
/// `"[v6addr]:port"` and `"/path/to.sock"`) or a config string such as
/// `"cache1:11211 cache2:11211 replicas=1"`. Keyword arguments are the config
/// string's options (`distribution`, `hash`, `prefix`, `connect_timeout_ms`,
/// `io_timeout_ms`, `replicas`, `failover`, `value_format`, `serializer`,
/// `compress_threshold`, ...). Bad servers or options raise `ConfigError`.
///
/// Safe to share between threads (the GIL is released during network I/O);
/// after `os.fork()` the child opens its own connections. No connection is
/// opened until a request needs one. Python classes may subclass it (cache
/// backends add their framework's method names).
#[pyclass(frozen, subclass, module = "mcring", name = "Client")]
pub struct Client {
    engine: mcring::Client,
    codec: Codec,
}

/// Runs an engine call with the GIL released and the Ctrl-C check in place,
/// mapping its error to the Python exception. An exception a signal handler
/// raised meanwhile wins over the call's own result, even where the engine
/// kept the interruption as one key's or one server's result.
pub(crate) fn run<T: Send>(
    py: Python<'_>,
    call: impl FnOnce() -> mcring::Result<T> + Send,
) -> PyResult<T> {
    let result = py.detach(|| {
        interrupt::install();
        call()
    });
    if let Some(raised) = interrupt::take_pending() {
        return Err(raised);
    }
    result.map_err(|e| errors::to_py(py, e))
}

type Found = Result<Decoded, ValueError>;

/// One value read by a single-key command: decoded, with its flags and CAS
/// token, before it becomes a Python object.
struct Read {
    found: Found,
    flags: u32,
    cas: Option<u64>,
}

/// One value found by `get_multi`, before it becomes a Python object.
enum Hit {
    /// An uncompressed string: a range of the call's buffer.
    Plain(values::PlainKind, usize, usize),
    /// Anything else, decoded.
    Decoded(Found),
}

/// What a read returns besides the value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extra {
    /// The value alone.
    Value,
    /// `(value, cas)`.
    Cas,
}

/// The keys of a multi-key call as the engine sees them: with `key_prefix`
/// written before each (pylibmc's `key_prefix=`), the result keeps the
/// keys as given.
struct MultiKeys<'py> {
    objects: Vec<Bound<'py, PyAny>>,
    parsed: Vec<Key<'py>>,
    prefixed: Vec<Vec<u8>>,
}

impl<'py> MultiKeys<'py> {
    fn new(keys: &Bound<'py, PyAny>, key_prefix: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        let (objects, parsed) = keys::many(keys)?;
        let prefixed = match key_prefix {
            Some(prefix) if !prefix.is_none() => {
                let prefix = Key::from_py(prefix)?;
                parsed.iter().map(|k| [prefix.as_bytes(), k.as_bytes()].concat()).collect()
            }
            _ => Vec::new(),
        };
        Ok(MultiKeys { objects, parsed, prefixed })
    }

    fn slices(&self) -> Vec<&[u8]> {
        if self.prefixed.is_empty() {
            self.parsed.iter().map(Key::as_bytes).collect()
        } else {
            self.prefixed.iter().map(Vec::as_slice).collect()
        }
    }
}

impl Client {
    /// Stores a value; with `noreply`, sends it without waiting for the
    /// server's answer and returns True once sent.
    fn store_value(
        &self,
        py: Python<'_>,
        mode: StoreMode,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Ttl,
        flags: Flags,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let key = Key::from_py(key)?;
        let sk = ServerKey::from_py(server_key)?;
        let view = self.engine.by_key(sk.as_bytes());
        let prepared = self.codec.prepare(value)?;
        self.codec.check_flags(py, flags.0)?;
        let (k, v, codec) = (key.as_bytes(), prepared.value(), self.codec);
        run(py, || {
            let encoded = codec.encode(&v, flags.0)?;
            if noreply {
                view.store_noreply(mode, k, &encoded.data, encoded.flags, ttl.0)?;
                return Ok(true);
            }
            let status = view.store(mode, k, &encoded.data, encoded.flags, ttl.0)?;
            Ok(status.is_done())
        })
    }

    /// append/prepend: the bytes are added to the stored value as the codec
    /// sees it (a compressed value is inflated, extended, stored again, so
    /// the reply is waited for even with `noreply`); in raw format they are
    /// added to the stored bytes.
    fn store_raw(
        &self,
        py: Python<'_>,
        mode: StoreMode,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let key = Key::from_py(key)?;
        let sk = ServerKey::from_py(server_key)?;
        let view = self.engine.by_key(sk.as_bytes());
        let payload = values::raw_payload(value)?;
        let (k, data) = (key.as_bytes(), payload.as_bytes());
        let prepend = mode == StoreMode::Prepend;
        let raw = self.codec.raw;
        let status = run(py, || {
            if raw && noreply {
                view.store_noreply(mode, k, data, 0, 0)?;
                return Ok(Status::Done);
            }
            if raw {
                view.store(mode, k, data, 0, 0)
            } else {
                view.append_value(k, data, prepend)
            }
        })?;
        Ok(noreply || status.is_done())
    }

    fn fetch(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        cmd: Retrieval,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Read>> {
        let key = Key::from_py(key)?;
        let sk = ServerKey::from_py(server_key)?;
        let view = self.engine.by_key(sk.as_bytes());
        let (k, codec) = (key.as_bytes(), self.codec);
        run(py, || {
            view.get_with(k, cmd, |item| Read {
                found: codec.decode(item.value, item.flags),
                flags: item.flags,
                cas: item.cas,
            })
        })
    }

    /// The Python result of a single-key read: the value, `(value, flags)`,
    /// `(value, cas)` or `(value, flags, cas)`; on a miss `default`, or a
    /// tuple of Nones of the same length.
    fn shape(
        &self,
        py: Python<'_>,
        read: Option<Read>,
        extra: Extra,
        with_flags: bool,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let Some(read) = read else {
            return Ok(match (extra, with_flags) {
                (Extra::Value, _) => default.unwrap_or_else(|| py.None()),
                (Extra::Cas, false) => {
                    (py.None(), py.None()).into_pyobject(py)?.into_any().unbind()
                }
                (Extra::Cas, true) => {
                    (py.None(), py.None(), py.None()).into_pyobject(py)?.into_any().unbind()
                }
            });
        };
        let value = self.codec.python_value(py, read.found)?;
        let flags = self.codec.caller_flags(read.flags);
        Ok(match (extra, with_flags) {
            (Extra::Value, false) => value,
            (Extra::Value, true) => (value, flags).into_pyobject(py)?.into_any().unbind(),
            (Extra::Cas, false) => (value, read.cas).into_pyobject(py)?.into_any().unbind(),
            (Extra::Cas, true) => (value, flags, read.cas).into_pyobject(py)?.into_any().unbind(),
        })
    }

    fn remove(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Status> {
        let key = Key::from_py(key)?;
        let sk = ServerKey::from_py(server_key)?;
        let view = self.engine.by_key(sk.as_bytes());
        let k = key.as_bytes();
        run(py, || view.delete(k))
    }

    /// incr/decr: the new value; `None` for a missing key, unless `initial`
    /// is given: then a missing key is created with that value and TTL.
    fn arith(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        incr: bool,
        delta: Count,
        initial: Option<Count>,
        ttl: Ttl,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<u64>> {
        let key = Key::from_py(key)?;
        let sk = ServerKey::from_py(server_key)?;
        let engine = self.engine.by_key(sk.as_bytes());
        let k = key.as_bytes();
        let result = run(py, || match (initial, noreply, incr) {
            // Created atomically when missing (meta ma N J); the reply is
            // waited for even with noreply.
            (Some(initial), _, true) => engine.incr_or_init(k, delta.0, initial.0, ttl.0).map(Some),
            (Some(initial), _, false) => {
                engine.decr_or_init(k, delta.0, initial.0, ttl.0).map(Some)
            }
            (None, true, true) => engine.incr_noreply(k, delta.0).map(|()| None),
            (None, true, false) => engine.decr_noreply(k, delta.0).map(|()| None),
            (None, false, true) => engine.incr(k, delta.0),
            (None, false, false) => engine.decr(k, delta.0),
        })?;
        Ok(if noreply { None } else { result })
    }

    /// A multi-key read: a dict of the keys found to their value, or the
    /// tuple `shape` makes. A key whose servers cannot be read is left out
    /// like a miss; the call fails only if no key could be read.
    fn read_multi<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
        key_prefix: Option<&Bound<'py, PyAny>>,
        cmd: Retrieval,
        with_flags: bool,
        server_key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let keys = MultiKeys::new(keys, key_prefix)?;
        let sk = ServerKey::from_py(server_key)?;
        let view = self.engine.by_key(sk.as_bytes());
        let slices = keys.slices();
        let codec = self.codec;
        let extra = if cmd == Retrieval::Get { Extra::Value } else { Extra::Cas };
        // Plain strings are copied once into one buffer while the GIL is
        // released and become Python objects straight from it; other values
        // are decoded (inflated, parsed) before the GIL is taken back.
        let (arena, hits, results) = run(py, || {
            let mut arena: Vec<u8> = Vec::new();
            let mut hits: Vec<(usize, Hit, u32, Option<u64>)> = Vec::with_capacity(slices.len());
            let results = view.get_multi_with(&slices, cmd, |i, item| {
                let hit = match codec.plain(item.flags) {
                    Some(kind) => {
                        let start = arena.len();
                        arena.extend_from_slice(item.value);
                        Hit::Plain(kind, start, arena.len())
                    }
                    None => Hit::Decoded(codec.decode(item.value, item.flags)),
                };
                hits.push((i, hit, item.flags, item.cas));
            })?;
            Ok((arena, hits, results))
        })?;
        let out = PyDict::new(py);
        if hits.is_empty() {
            if let Some(Err(e)) = results.into_iter().reduce(|a, b| if a.is_ok() { a } else { b }) {
                return Err(errors::to_py(py, e));
            }
        }
        for (i, hit, flags, cas) in hits {
            let Some(key) = keys.objects.get(i) else { continue };
            let value = match hit {
                Hit::Plain(kind, start, end) => values::plain_value(py, kind, &arena[start..end]),
                Hit::Decoded(found) => self.codec.python_value(py, found)?,
            };
            if extra == Extra::Value && !with_flags {
                out.set_item(key, value)?;
                continue;
            }
            let flags = self.codec.caller_flags(flags);
            match (extra, with_flags) {
                (Extra::Cas, false) => out.set_item(key, (value, cas))?,
                (Extra::Cas, true) => out.set_item(key, (value, flags, cas))?,
                _ => out.set_item(key, (value, flags))?,
            }
        }
        Ok(out)
    }

    /// One result per server: the servers that answered; an error only if
    /// none did.
    fn answered<'py, T>(
        py: Python<'py>,
        results: mcring::client::PerServer<T>,
        mut put: impl FnMut(&Bound<'py, PyDict>, &str, T) -> PyResult<()>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        let mut first_error = None;
        for (name, result) in results {
            match result {
                Ok(value) => put(&out, &name, value)?,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if out.is_empty() => Err(errors::to_py(py, e)),
            _ => Ok(out),
        }
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (servers, **options))]
    fn new(servers: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Client> {
        let py = servers.py();
        let (config, raw) = options::config_of(servers, options)?;
        let codec =
            Codec { options: CodecOptions::of(&config), serializer: config.serializer, raw };
        let engine = mcring::Client::new(config).map_err(|e| errors::to_py(py, e))?;
        Ok(Client { engine, codec })
    }

    /// The value of `key`, or `default` on a miss; with `with_flags`,
    /// `(value, flags)`.
    #[pyo3(signature = (key, default = None, *, with_flags = false, server_key = None))]
    fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
        with_flags: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let read = self.fetch(py, key, Retrieval::Get, server_key)?;
        if !with_flags {
            return match read {
                Some(read) => self.codec.python_value(py, read.found),
                None => Ok(default.unwrap_or_else(|| py.None())),
            };
        }
        self.shape(py, read, Extra::Value, true, default)
    }

    /// `(value, cas)` of `key`, or `(None, None)` on a miss; with
    /// `with_flags`, `(value, flags, cas)`.
    #[pyo3(signature = (key, *, with_flags = false, server_key = None))]
    fn gets(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        with_flags: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let read = self.fetch(py, key, Retrieval::Gets, server_key)?;
        self.shape(py, read, Extra::Cas, with_flags, None)
    }

    /// The value of `key`, setting its TTL to `ttl` (memcached `gat`), or
    /// `default` on a miss; with `with_flags`, `(value, flags)`.
    #[pyo3(signature = (key, ttl, default = None, *, with_flags = false, server_key = None))]
    fn get_and_touch(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        ttl: Ttl,
        default: Option<Py<PyAny>>,
        with_flags: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let read = self.fetch(py, key, Retrieval::Gat { exptime: ttl.0 }, server_key)?;
        self.shape(py, read, Extra::Value, with_flags, default)
    }

    /// `(value, cas)` of `key`, setting its TTL to `ttl` (memcached `gats`),
    /// or `(None, None)` on a miss; with `with_flags`, `(value, flags, cas)`.
    #[pyo3(signature = (key, ttl, *, with_flags = false, server_key = None))]
    fn gets_and_touch(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        ttl: Ttl,
        with_flags: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let read = self.fetch(py, key, Retrieval::Gats { exptime: ttl.0 }, server_key)?;
        self.shape(py, read, Extra::Cas, with_flags, None)
    }

    /// Stores `value` under `key`. True when stored (with `noreply`, when
    /// sent). `flags` are the application's own (0-65535, all 32 bits with
    /// `value_format="raw"`).
    #[pyo3(signature = (key, value, ttl = Ttl(0), *, flags = Flags(0), noreply = false, server_key = None))]
    fn set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Ttl,
        flags: Flags,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.store_value(py, StoreMode::Set, key, value, ttl, flags, noreply, server_key)
    }

    /// Stores `value` only if `key` does not exist. True when stored.
    #[pyo3(signature = (key, value, ttl = Ttl(0), *, flags = Flags(0), noreply = false, server_key = None))]
    fn add(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Ttl,
        flags: Flags,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.store_value(py, StoreMode::Add, key, value, ttl, flags, noreply, server_key)
    }

    /// Stores `value` only if `key` exists. True when stored.
    #[pyo3(signature = (key, value, ttl = Ttl(0), *, flags = Flags(0), noreply = false, server_key = None))]
    fn replace(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: Ttl,
        flags: Flags,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.store_value(py, StoreMode::Replace, key, value, ttl, flags, noreply, server_key)
    }

    /// Appends `str` or `bytes` to the stored value of an existing key (also
    /// when it is stored compressed).
    #[pyo3(signature = (key, value, *, noreply = false, server_key = None))]
    fn append(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.store_raw(py, StoreMode::Append, key, value, noreply, server_key)
    }

    /// Prepends `str` or `bytes` to the stored value of an existing key (also
    /// when it is stored compressed).
    #[pyo3(signature = (key, value, *, noreply = false, server_key = None))]
    fn prepend(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.store_raw(py, StoreMode::Prepend, key, value, noreply, server_key)
    }

    /// Stores `value` only if `key` still has CAS token `cas` (from `gets`).
    #[pyo3(signature = (key, value, cas, ttl = Ttl(0), *, flags = Flags(0), noreply = false, server_key = None))]
    fn cas(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        cas: CasToken,
        ttl: Ttl,
        flags: Flags,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.store_value(py, StoreMode::Cas(cas.0), key, value, ttl, flags, noreply, server_key)
    }

    /// Deletes `key`. True if it existed (with `noreply`, when sent).
    #[pyo3(signature = (key, *, noreply = false, server_key = None))]
    fn delete(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if noreply {
            let key = Key::from_py(key)?;
            let sk = ServerKey::from_py(server_key)?;
            let view = self.engine.by_key(sk.as_bytes());
            let k = key.as_bytes();
            run(py, || view.delete_noreply(k))?;
            return Ok(true);
        }
        Ok(self.remove(py, key, server_key)?.is_done())
    }

    /// Adds `delta` to a stored integer; the new value, or None if `key`
    /// does not exist. With `initial`, a missing key is created with the
    /// value `initial` (not `initial + delta`) and TTL `ttl`, and that is
    /// returned. memcached wraps at 2**64. With `noreply`, None.
    #[pyo3(signature = (key, delta = Count(1), initial = None, ttl = Ttl(0), *, noreply = false, server_key = None))]
    fn incr(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        delta: Count,
        initial: Option<Count>,
        ttl: Ttl,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<u64>> {
        self.arith(py, key, true, delta, initial, ttl, noreply, server_key)
    }

    /// Subtracts `delta` from a stored integer, stopping at 0; the new
    /// value, or None if `key` does not exist; `initial` and `ttl` as for
    /// `incr`.
    #[pyo3(signature = (key, delta = Count(1), initial = None, ttl = Ttl(0), *, noreply = false, server_key = None))]
    fn decr(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        delta: Count,
        initial: Option<Count>,
        ttl: Ttl,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<u64>> {
        self.arith(py, key, false, delta, initial, ttl, noreply, server_key)
    }

    /// Sets the TTL of `key`. True if it exists.
    #[pyo3(signature = (key, ttl, *, noreply = false, server_key = None))]
    fn touch(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        ttl: Ttl,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let key = Key::from_py(key)?;
        let sk = ServerKey::from_py(server_key)?;
        let view = self.engine.by_key(sk.as_bytes());
        let k = key.as_bytes();
        if noreply {
            run(py, || view.touch_noreply(k, ttl.0))?;
            return Ok(true);
        }
        Ok(run(py, || view.touch(k, ttl.0))?.is_done())
    }

    /// A dict of the keys found, in one round trip per server. A key whose
    /// servers cannot be read is left out like a miss; the call fails only
    /// if no key could be read. `key_prefix` is written before every key
    /// (the dict keeps the keys as given); with `with_flags`, each value is
    /// `(value, flags)`.
    #[pyo3(signature = (keys, key_prefix = None, *, with_flags = false, server_key = None))]
    fn get_multi<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
        key_prefix: Option<&Bound<'py, PyAny>>,
        with_flags: bool,
        server_key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.read_multi(py, keys, key_prefix, Retrieval::Get, with_flags, server_key)
    }

    /// Like `get_multi`, each value as `(value, cas)` (with `with_flags`,
    /// `(value, flags, cas)`).
    #[pyo3(signature = (keys, key_prefix = None, *, with_flags = false, server_key = None))]
    fn gets_multi<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
        key_prefix: Option<&Bound<'py, PyAny>>,
        with_flags: bool,
        server_key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.read_multi(py, keys, key_prefix, Retrieval::Gets, with_flags, server_key)
    }

    /// Stores every item of `mapping` in one round trip per server; the
    /// list of keys that were not stored (with `noreply`, that could not
    /// be sent).
    #[pyo3(signature = (mapping, ttl = Ttl(0), key_prefix = None, *, flags = Flags(0), noreply = false, server_key = None))]
    fn set_multi<'py>(
        &self,
        py: Python<'py>,
        mapping: &Bound<'py, PyAny>,
        ttl: Ttl,
        key_prefix: Option<&Bound<'py, PyAny>>,
        flags: Flags,
        noreply: bool,
        server_key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let items = match mapping.cast::<PyDict>() {
            Ok(dict) => dict.items().into_any(),
            Err(_) => mapping.call_method0("items")?,
        };
        self.codec.check_flags(py, flags.0)?;
        let sk = ServerKey::from_py(server_key)?;
        let view = self.engine.by_key(sk.as_bytes());
        let prefix = match key_prefix {
            Some(p) if !p.is_none() => Some(Key::from_py(p)?),
            _ => None,
        };
        let mut objects = Vec::new();
        let mut parsed = Vec::new();
        let mut prepared: Vec<Prepared<'py>> = Vec::new();
        for pair in items.try_iter()? {
            let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair?.extract()?;
            let k = Key::from_py(&key)?;
            parsed.push(match &prefix {
                Some(p) => [p.as_bytes(), k.as_bytes()].concat(),
                None => k.as_bytes().to_vec(),
            });
            prepared.push(self.codec.prepare(&value)?);
            objects.push(key);
        }
        let values: Vec<_> = prepared.iter().map(Prepared::value).collect();
        let codec = self.codec;
        let results = run(py, || {
            let encoded = values
                .iter()
                .map(|v| codec.encode(v, flags.0))
                .collect::<mcring::Result<Vec<Encoded>>>()?;
            let items: Vec<SetItem<'_>> = parsed
                .iter()
                .zip(&encoded)
                .map(|(key, e)| SetItem { key, value: &e.data, flags: e.flags })
                .collect();
            if noreply {
                // Sent, or not: whether each was stored is not waited for.
                let sent = view.set_multi_noreply(&items, ttl.0)?;
                return Ok(sent.into_iter().map(|r| r.is_ok()).collect::<Vec<bool>>());
            }
            let results = view.set_multi(&items, ttl.0)?;
            Ok(results.into_iter().map(|r| matches!(r, Ok(s) if s.is_done())).collect())
        })?;
        let failed = PyList::empty(py);
        for (key, stored) in objects.iter().zip(results) {
            if !stored {
                failed.append(key)?;
            }
        }
        Ok(failed)
    }

    /// Deletes every key in one round trip per server. True if every key
    /// existed; an error if a key's server could not be reached.
    #[pyo3(signature = (keys, key_prefix = None, *, noreply = false, server_key = None))]
    fn delete_multi(
        &self,
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        key_prefix: Option<&Bound<'_, PyAny>>,
        noreply: bool,
        server_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let keys = MultiKeys::new(keys, key_prefix)?;
        let sk = ServerKey::from_py(server_key)?;
        let view = self.engine.by_key(sk.as_bytes());
        let slices = keys.slices();
        if noreply {
            for sent in run(py, || view.delete_multi_noreply(&slices))? {
                sent.map_err(|e| errors::to_py(py, e))?;
            }
            return Ok(true);
        }
        let results = run(py, || view.delete_multi(&slices))?;
        let mut all = true;
        for result in results {
            match result {
                Ok(status) => all &= status.is_done(),
                Err(e) => return Err(errors::to_py(py, e)),
            }
        }
        Ok(all)
    }

    /// Invalidates every item on every server (after `delay` seconds).
    /// True when every server was flushed, False when some could not be
    /// (the others were); an error when none could.
    #[pyo3(signature = (delay = Ttl(0)))]
    fn flush_all(&self, py: Python<'_>, delay: Ttl) -> PyResult<bool> {
        let results = run(py, || Ok(self.engine.flush_all(delay.0)))?;
        let mut flushed = 0;
        let mut first_error = None;
        for (_, result) in results {
            match result {
                Ok(()) => flushed += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            None => Ok(true),
            Some(e) if flushed == 0 => Err(errors::to_py(py, e)),
            Some(_) => Ok(false),
        }
    }

    /// This client's own counters, per server (`"host:port"` to a dict of
    /// counter name to int): gets, hits, misses, sets, deletes, errors,
    /// timeouts, bytes_read, bytes_written, connects,
    /// replica_write_failures, failovers, read_repairs. Nothing is sent;
    /// for what the servers count, see `server_stats` (pylibmc's
    /// `get_stats`, pymemcache's `stats`).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (name, snapshot) in self.engine.stats().servers {
            let counters = PyDict::new(py);
            for (field, value) in snapshot.fields() {
                counters.set_item(field, value)?;
            }
            out.set_item(name, counters)?;
        }
        Ok(out)
    }

    /// The client's counters and latency histograms per server, and the
    /// counters' sum: `{"servers": {"host:port": {"counters": {name: int},
    /// "latency": {class: {"count": int, "sum": float, "buckets": [(le,
    /// int), ...]}}}}, "total": {name: int}}`. Classes are get, get_multi,
    /// store, delete, arith, touch, meta; buckets are cumulative, as
    /// Prometheus' `le` buckets (seconds), the last `float("inf")`.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::metrics::to_dict(py, &self.engine.stats())
    }

    /// The client's metrics in Prometheus text format, rendered by the
    /// engine (the families every mcring binding exports).
    fn prometheus(&self) -> String {
        self.engine.stats().prometheus()
    }

    /// Every server's own statistics (memcached `stats [group]`), as
    /// `"host:port"` to a dict of str to str: pylibmc's `get_stats`,
    /// pymemcache's `stats`. Servers that cannot be reached are left out;
    /// the call fails only if none answered. For this client's own
    /// counters, see `stats`.
    #[pyo3(signature = (group = None))]
    fn server_stats<'py>(
        &self,
        py: Python<'py>,
        group: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let results = run(py, || Ok(self.engine.server_stats(group)))?;
        Self::answered(py, results, |out, name, pairs| {
            let stats = PyDict::new(py);
            for (k, v) in pairs {
                stats.set_item(k, v)?;
            }
            out.set_item(name, stats)
        })
    }

    /// Every server's version string, as `"host:port"` to str. Servers that
    /// cannot be reached are left out; the call fails only if none answered.
    fn version<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let results = run(py, || Ok(self.engine.version()))?;
        Self::answered(py, results, |out, name, version| out.set_item(name, version))
    }

    /// Probes every server with a round trip, dead ones included:
    /// `"host:port"` to `{"up": bool, "latency_ms": float, "error": str | None}`.
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let probes = run(py, || Ok(self.engine.health()))?;
        let out = PyDict::new(py);
        for probe in probes {
            let entry = PyDict::new(py);
            entry.set_item("up", probe.is_up())?;
            entry.set_item("latency_ms", probe.latency.as_secs_f64() * 1000.0)?;
            entry.set_item("error", probe.error.map(|e| e.to_string()))?;
            out.set_item(probe.name, entry)?;
        }
        Ok(out)
    }

    /// The server that owns `key` when every server is alive, as
    /// `"host:port"`: libmemcached's `memcached_server_by_key`.
    fn server_for(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<String> {
        let key = Key::from_py(key)?;
        let spec = self.engine.server_for(key.as_bytes()).map_err(|e| errors::to_py(py, e))?;
        Ok(spec.name())
    }

    /// Every server that holds a copy of `key`, primary first.
    fn copies_for(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let key = Key::from_py(key)?;
        let copies = self.engine.copies_for(key.as_bytes()).map_err(|e| errors::to_py(py, e))?;
        Ok(copies.into_iter().map(|s| s.name()).collect())
    }

    /// Reads `key`, and when it is missing (or invalidated, or due for
    /// early recache) computes it with `compute()` and stores it with
    /// `ttl`: exactly one caller of the whole pool (any thread, process or
    /// language sharing it) computes; the others wait for its value, or
    /// are served the stale one. See the README's "Stampedes and hot keys".
    #[pyo3(signature = (key, compute, ttl = Ttl(0), *, lease_ttl = None, recache_s = None, stale_ttl = None))]
    fn get_or_set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        compute: &Bound<'_, PyAny>,
        ttl: Ttl,
        lease_ttl: Option<f64>,
        recache_s: Option<Ttl>,
        stale_ttl: Option<Ttl>,
    ) -> PyResult<Py<PyAny>> {
        let opts = lease::options(py, &self.engine, lease_ttl, recache_s, stale_ttl)?;
        lease::get_or_set(py, &self.engine, self.codec, key, compute, ttl, opts)
    }

    /// Marks `key` stale for `stale_ttl` seconds instead of deleting it:
    /// `get_or_set` callers get the old value at once while one of them
    /// recomputes it. `stale_ttl=0` deletes. True if a copy held the key.
    #[pyo3(signature = (key, stale_ttl = Ttl(30)))]
    fn invalidate(&self, py: Python<'_>, key: &Bound<'_, PyAny>, stale_ttl: Ttl) -> PyResult<bool> {
        let key = Key::from_py(key)?;
        let k = key.as_bytes();
        Ok(run(py, || self.engine.invalidate(k, stale_ttl.0))?.is_done())
    }

    /// A decorator caching a function's results with `get_or_set`:
    /// `@client.cached(ttl=60, key="user:{0}")`. `key` is a `str.format`
    /// template over the call's arguments, a callable taking them, or None
    /// for `module.qualname:` and a digest of their `repr`. The wrapped
    /// function's `cache_key(*args, **kwargs)` gives the key (to
    /// `invalidate` it).
    #[pyo3(signature = (ttl = Ttl(0), key = None, *, lease_ttl = None, recache_s = None, stale_ttl = None))]
    fn cached<'py>(
        slf: &Bound<'py, Self>,
        ttl: Ttl,
        key: Option<&Bound<'py, PyAny>>,
        lease_ttl: Option<f64>,
        recache_s: Option<Ttl>,
        stale_ttl: Option<Ttl>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        lease::options(py, &slf.get().engine, lease_ttl, recache_s, stale_ttl)?;
        py.import("mcring._cached")?.getattr("cached")?.call1((
            slf,
            ttl.0,
            key,
            lease_ttl,
            recache_s.map(|t| t.0),
            stale_ttl.map(|t| t.0),
        ))
    }

    /// The keys this client reads most, per server (`hot_keys=N` turns
    /// counting on): `{server: [{"key", "reads", "error", "rate"}, ...]}`,
    /// most read first. `reads` is an estimate, at most `error` too high;
    /// `rate` is reads in the last second.
    fn hot_keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        lease::hot_keys(py, &self.engine)
    }

    /// The servers now as `"host:port"`, in ring order (DNS sources as
    /// the servers they resolved to).
    #[getter]
    fn servers(&self) -> Vec<String> {
        self.engine.servers().iter().map(|s| s.name()).collect()
    }

    /// Adds a server (`"host:port[:weight]"`, `"/path.sock"`) or a DNS
    /// source (`"dns+NAME:PORT"`, `"srv+NAME"`) at run time. The new ring is
    /// built aside and swapped in; with `migration` (the default) keys that
    /// move are copied to their new owner on first read. Raises
    /// `ConfigError` for a bad server.
    fn add_server(&self, py: Python<'_>, server: &str) -> PyResult<()> {
        run(py, || self.engine.add_server(server)).map(|_| ())
    }

    /// Removes a server (`"host:port"` as in `servers`) or a DNS source.
    /// Its connections are closed; with `drain=True` its keys are still
    /// read (and moved) until `migration_s` has passed: a graceful removal.
    #[pyo3(signature = (server, drain = false))]
    fn remove_server(&self, py: Python<'_>, server: &str, drain: bool) -> PyResult<()> {
        run(py, || self.engine.remove_server(server, drain)).map(|_| ())
    }

    /// Replaces the server list (a list of servers, or one string of them).
    /// Servers in both lists keep their connections and counters.
    #[pyo3(signature = (servers, drain = false))]
    fn set_servers(&self, py: Python<'_>, servers: &Bound<'_, PyAny>, drain: bool) -> PyResult<()> {
        let tokens: Vec<String> = match servers.extract::<String>() {
            Ok(one) => vec![one],
            Err(_) => servers.extract::<Vec<String>>()?,
        };
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        run(py, || self.engine.set_servers(&refs, drain)).map(|_| ())
    }

    /// Resolves the DNS sources now and applies what they found (requests
    /// do it in the background every `dns_refresh_s`).
    fn refresh_dns(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || {
            self.engine.refresh_dns();
            Ok(())
        })
    }

    /// DNS discovery's counters: `resolutions`, `failures` (the last good
    /// list kept), `empty_answers` (not applied), `changes`, `last_error`.
    fn discovery_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.engine.discovery_stats();
        let out = PyDict::new(py);
        out.set_item("resolutions", s.resolutions)?;
        out.set_item("failures", s.failures)?;
        out.set_item("empty_answers", s.empty_answers)?;
        out.set_item("changes", s.changes)?;
        out.set_item("last_error", s.last_error)?;
        Ok(out)
    }

    /// Closes idle connections; the client stays usable and reconnects on
    /// demand.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.engine.close());
    }

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match self.fetch(py, key, Retrieval::Get, None)? {
            Some(read) => self.codec.python_value(py, read.found),
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.store_value(py, StoreMode::Set, key, value, Ttl(0), Flags(0), false, None)?;
        Ok(())
    }

    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.remove(py, key, None)?.is_done() {
            Ok(())
        } else {
            Err(PyKeyError::new_err(key.clone().unbind()))
        }
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = Key::from_py(key)?;
        let k = key.as_bytes();
        Ok(run(py, || self.engine.get_with(k, Retrieval::Get, |_| ()))?.is_some())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        let names: Vec<String> = self.servers().iter().map(|n| format!("{n:?}")).collect();
        format!("mcring.Client([{}])", names.join(", "))
    }
}
