//! The client's metrics as Python objects: `Client.metrics()`'s dict, and
//! the engine's Prometheus text for `mcring.prometheus.Collector`.

use mcring::histogram::{CommandClass, HistogramSnapshot, BOUNDS_NS};
use mcring::stats::{ClientStats, Snapshot};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

fn counters<'py>(py: Python<'py>, snapshot: &Snapshot) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for (field, value) in snapshot.fields() {
        out.set_item(field, value)?;
    }
    Ok(out)
}

/// `{"count", "sum" (seconds), "buckets": [(upper bound s, cumulative count), ...]}`,
/// the buckets as Prometheus' `le` buckets, `float("inf")` last.
fn histogram<'py>(py: Python<'py>, h: &HistogramSnapshot) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let mut cumulative = 0u64;
    let bounds = BOUNDS_NS.iter().map(|&ns| ns as f64 / 1e9).chain([f64::INFINITY]);
    let buckets = PyList::empty(py);
    for (bound, count) in bounds.zip(h.counts) {
        cumulative += count;
        buckets.append(PyTuple::new(
            py,
            [bound.into_pyobject(py)?.into_any(), cumulative.into_pyobject(py)?.into_any()],
        )?)?;
    }
    out.set_item("count", cumulative)?;
    out.set_item("sum", h.sum_seconds())?;
    out.set_item("buckets", buckets)?;
    Ok(out)
}

/// `Client.metrics()`: `{"servers": {name: {"counters": {...}, "latency":
/// {class: histogram}}}, "total": {...}}`.
pub(crate) fn to_dict<'py>(py: Python<'py>, stats: &ClientStats) -> PyResult<Bound<'py, PyDict>> {
    let servers = PyDict::new(py);
    for (i, (name, snapshot)) in stats.servers.iter().enumerate() {
        let server = PyDict::new(py);
        server.set_item("counters", counters(py, snapshot)?)?;
        let latency = PyDict::new(py);
        let latencies = stats.latencies_of(i);
        for class in CommandClass::ALL {
            latency.set_item(class.label(), histogram(py, &latencies[class as usize])?)?;
        }
        server.set_item("latency", latency)?;
        servers.set_item(name, server)?;
    }
    let out = PyDict::new(py);
    out.set_item("servers", servers)?;
    out.set_item("total", counters(py, &stats.total)?)?;
    // The hot-key sketch's contents (empty unless `hot_keys=N` counts).
    out.set_item("hot_keys", crate::lease::hot_keys_dict(py, &stats.hot_keys)?)?;
    Ok(out)
}
