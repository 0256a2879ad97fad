//! `mcring.Client`: the engine's client with Python values.
//!
//! Every method that talks to a server releases the GIL for the whole
//! request (encoding, compression and network I/O included), so threads
//! sharing a client, or each with their own, overlap their waits. Values are
//! decoded from the receive buffer while the GIL is still released; only the
//! final Python object is built with it held.

use mcring::client::{Retrieval, SetItem, Status, StoreMode};
use mcring::value::{CodecOptions, Decoded, Encoded, ValueError};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors;
use crate::interrupt;
use crate::keys::{self, Key};
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
/// opened until a request needs one.
#[pyclass(frozen, module = "mcring", name = "Client")]
pub struct Client {
    engine: mcring::Client,
    codec: Codec,
}

/// Runs an engine call with the GIL released and the Ctrl-C check in place,
/// mapping its error to the Python exception. An exception a signal handler
/// raised meanwhile wins over the call's own result, even where the engine
/// kept the interruption as one key's or one server's result.
fn run<T: Send>(py: Python<'_>, call: impl FnOnce() -> mcring::Result<T> + Send) -> PyResult<T> {
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

/// One value found by `get_multi`, before it becomes a Python object.
enum Hit {
    /// An uncompressed string: a range of the call's buffer.
    Plain(values::PlainKind, usize, usize),
    /// Anything else, decoded.
    Decoded(Found),
}

impl Client {
    fn store_value(
        &self,
        py: Python<'_>,
        mode: StoreMode,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: u32,
    ) -> PyResult<bool> {
        let key = Key::from_py(key)?;
        let prepared = self.codec.prepare(value)?;
        let (k, v, codec) = (key.as_bytes(), prepared.value(), self.codec);
        let status = run(py, || {
            let encoded = codec.encode(&v)?;
            self.engine.store(mode, k, &encoded.data, encoded.flags, ttl)
        })?;
        Ok(status.is_done())
    }

    /// append/prepend: the bytes are added to the stored value as the codec
    /// sees it (a compressed value is inflated, extended, stored again).
    fn store_raw(
        &self,
        py: Python<'_>,
        mode: StoreMode,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let key = Key::from_py(key)?;
        let payload = values::raw_payload(value)?;
        let (k, data) = (key.as_bytes(), payload.as_bytes());
        let prepend = mode == StoreMode::Prepend;
        let status = run(py, || self.engine.append_value(k, data, prepend))?;
        Ok(status.is_done())
    }

    fn fetch(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<Found>> {
        let key = Key::from_py(key)?;
        let (k, codec) = (key.as_bytes(), self.codec);
        run(py, || {
            self.engine.get_with(k, Retrieval::Get, |item| codec.decode(item.value, item.flags))
        })
    }

    fn remove(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Status> {
        let key = Key::from_py(key)?;
        let k = key.as_bytes();
        run(py, || self.engine.delete(k))
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
        let config = options::config_of(servers, options)?;
        let codec = Codec { options: CodecOptions::of(&config), serializer: config.serializer };
        let engine = mcring::Client::new(config).map_err(|e| errors::to_py(py, e))?;
        Ok(Client { engine, codec })
    }

    /// The value of `key`, or `default` on a miss.
    #[pyo3(signature = (key, default = None))]
    fn get(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        match self.fetch(py, key)? {
            Some(found) => self.codec.python_value(py, found),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    /// `(value, cas)` of `key`, or `(None, None)` on a miss.
    fn gets(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<(Py<PyAny>, Py<PyAny>)> {
        let key = Key::from_py(key)?;
        let (k, codec) = (key.as_bytes(), self.codec);
        let found = run(py, || {
            self.engine.get_with(k, Retrieval::Gets, |item| {
                (codec.decode(item.value, item.flags), item.cas)
            })
        })?;
        match found {
            Some((value, cas)) => {
                let cas = cas.into_pyobject(py)?.into_any().unbind();
                Ok((self.codec.python_value(py, value)?, cas))
            }
            None => Ok((py.None(), py.None())),
        }
    }

    /// Stores `value` under `key`. True when stored.
    #[pyo3(signature = (key, value, ttl = 0))]
    fn set(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: u32,
    ) -> PyResult<bool> {
        self.store_value(py, StoreMode::Set, key, value, ttl)
    }

    /// Stores `value` only if `key` does not exist. True when stored.
    #[pyo3(signature = (key, value, ttl = 0))]
    fn add(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: u32,
    ) -> PyResult<bool> {
        self.store_value(py, StoreMode::Add, key, value, ttl)
    }

    /// Stores `value` only if `key` exists. True when stored.
    #[pyo3(signature = (key, value, ttl = 0))]
    fn replace(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ttl: u32,
    ) -> PyResult<bool> {
        self.store_value(py, StoreMode::Replace, key, value, ttl)
    }

    /// Appends `str` or `bytes` to the stored value of an existing key (also
    /// when it is stored compressed).
    fn append(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.store_raw(py, StoreMode::Append, key, value)
    }

    /// Prepends `str` or `bytes` to the stored value of an existing key (also
    /// when it is stored compressed).
    fn prepend(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.store_raw(py, StoreMode::Prepend, key, value)
    }

    /// Stores `value` only if `key` still has CAS token `cas` (from `gets`).
    #[pyo3(signature = (key, value, cas, ttl = 0))]
    fn cas(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        cas: u64,
        ttl: u32,
    ) -> PyResult<bool> {
        self.store_value(py, StoreMode::Cas(cas), key, value, ttl)
    }

    /// Deletes `key`. True if it existed.
    fn delete(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.remove(py, key)?.is_done())
    }

    /// Adds `delta` to a stored integer; the new value, or None if `key`
    /// does not exist. memcached wraps at 2**64.
    #[pyo3(signature = (key, delta = 1))]
    fn incr(&self, py: Python<'_>, key: &Bound<'_, PyAny>, delta: u64) -> PyResult<Option<u64>> {
        let key = Key::from_py(key)?;
        let k = key.as_bytes();
        run(py, || self.engine.incr(k, delta))
    }

    /// Subtracts `delta` from a stored integer, stopping at 0; the new
    /// value, or None if `key` does not exist.
    #[pyo3(signature = (key, delta = 1))]
    fn decr(&self, py: Python<'_>, key: &Bound<'_, PyAny>, delta: u64) -> PyResult<Option<u64>> {
        let key = Key::from_py(key)?;
        let k = key.as_bytes();
        run(py, || self.engine.decr(k, delta))
    }

    /// Sets the TTL of `key`. True if it exists.
    fn touch(&self, py: Python<'_>, key: &Bound<'_, PyAny>, ttl: u32) -> PyResult<bool> {
        let key = Key::from_py(key)?;
        let k = key.as_bytes();
        Ok(run(py, || self.engine.touch(k, ttl))?.is_done())
    }

    /// A dict of the keys found, in one round trip per server. A key whose
    /// servers cannot be read is left out like a miss; the call fails only
    /// if no key could be read.
    fn get_multi<'py>(
        &self,
        py: Python<'py>,
        keys: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (objects, parsed) = keys::many(keys)?;
        let slices: Vec<&[u8]> = parsed.iter().map(Key::as_bytes).collect();
        let codec = self.codec;
        // Plain strings are copied once into one buffer while the GIL is
        // released and become Python objects straight from it; other values
        // are decoded (inflated, parsed) before the GIL is taken back.
        let (arena, hits, results) = run(py, || {
            let mut arena: Vec<u8> = Vec::new();
            let mut hits: Vec<(usize, Hit)> = Vec::with_capacity(slices.len());
            let results = self.engine.get_multi_with(&slices, Retrieval::Get, |i, item| {
                let hit = match codec.plain(item.flags) {
                    Some(kind) => {
                        let start = arena.len();
                        arena.extend_from_slice(item.value);
                        Hit::Plain(kind, start, arena.len())
                    }
                    None => Hit::Decoded(codec.decode(item.value, item.flags)),
                };
                hits.push((i, hit));
            })?;
            Ok((arena, hits, results))
        })?;
        let out = PyDict::new(py);
        if hits.is_empty() {
            if let Some(Err(e)) = results.into_iter().reduce(|a, b| if a.is_ok() { a } else { b }) {
                return Err(errors::to_py(py, e));
            }
        }
        for (i, hit) in hits {
            let Some(key) = objects.get(i) else { continue };
            let value = match hit {
                Hit::Plain(kind, start, end) => values::plain_value(py, kind, &arena[start..end]),
                Hit::Decoded(found) => self.codec.python_value(py, found)?,
            };
            out.set_item(key, value)?;
        }
        Ok(out)
    }

    /// Stores every item of `mapping` in one round trip per server; the
    /// list of keys that were not stored.
    #[pyo3(signature = (mapping, ttl = 0))]
    fn set_multi<'py>(
        &self,
        py: Python<'py>,
        mapping: &Bound<'py, PyAny>,
        ttl: u32,
    ) -> PyResult<Bound<'py, PyList>> {
        let items = match mapping.cast::<PyDict>() {
            Ok(dict) => dict.items().into_any(),
            Err(_) => mapping.call_method0("items")?,
        };
        let mut objects = Vec::new();
        let mut parsed = Vec::new();
        let mut prepared: Vec<Prepared<'py>> = Vec::new();
        for pair in items.try_iter()? {
            let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair?.extract()?;
            parsed.push(Key::from_py(&key)?);
            prepared.push(self.codec.prepare(&value)?);
            objects.push(key);
        }
        let slices: Vec<&[u8]> = parsed.iter().map(Key::as_bytes).collect();
        let values: Vec<_> = prepared.iter().map(Prepared::value).collect();
        let codec = self.codec;
        let results = run(py, || {
            let encoded =
                values.iter().map(|v| codec.encode(v)).collect::<mcring::Result<Vec<Encoded>>>()?;
            let items: Vec<SetItem<'_>> = slices
                .iter()
                .zip(&encoded)
                .map(|(key, e)| SetItem { key, value: &e.data, flags: e.flags })
                .collect();
            self.engine.set_multi(&items, ttl)
        })?;
        let failed = PyList::empty(py);
        for (key, result) in objects.iter().zip(results) {
            if !matches!(result, Ok(Status::Done)) {
                failed.append(key)?;
            }
        }
        Ok(failed)
    }

    /// Deletes every key in one round trip per server. True if every key
    /// existed; an error if a key's server could not be reached.
    fn delete_multi(&self, py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<bool> {
        let (_, parsed) = keys::many(keys)?;
        let slices: Vec<&[u8]> = parsed.iter().map(Key::as_bytes).collect();
        let results = run(py, || self.engine.delete_multi(&slices))?;
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
    /// Fails if any server could not be flushed.
    #[pyo3(signature = (delay = 0))]
    fn flush_all(&self, py: Python<'_>, delay: u32) -> PyResult<()> {
        let results = run(py, || Ok(self.engine.flush_all(delay)))?;
        for (_, result) in results {
            result.map_err(|e| errors::to_py(py, e))?;
        }
        Ok(())
    }

    /// The client's own counters per server (`"host:port"` to a dict of
    /// counter name to int): gets, hits, misses, sets, deletes, errors,
    /// timeouts, bytes_read, bytes_written, connects, replica_write_failures,
    /// failovers, read_repairs.
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

    /// Every server's own statistics (memcached `stats [group]`), as
    /// `"host:port"` to a dict of str to str. Servers that cannot be reached
    /// are left out; the call fails only if none answered.
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

    /// The configured servers as `"host:port"`, in order.
    #[getter]
    fn servers(&self) -> Vec<String> {
        self.engine.servers().iter().map(|s| s.name()).collect()
    }

    /// Closes idle connections; the client stays usable and reconnects on
    /// demand.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.engine.close());
    }

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match self.fetch(py, key)? {
            Some(found) => self.codec.python_value(py, found),
            None => Err(PyKeyError::new_err(key.clone().unbind())),
        }
    }

    fn __setitem__(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.store_value(py, StoreMode::Set, key, value, 0)?;
        Ok(())
    }

    fn __delitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        match self.remove(py, key)? {
            Status::Done => Ok(()),
            _ => Err(PyKeyError::new_err(key.clone().unbind())),
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
