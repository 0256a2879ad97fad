//! The native module `mcring._mcring`: the mcring engine for Python.
//!
//! A thin layer: keys and values are turned into the engine's types and
//! back, engine errors into exception classes; placement, failover,
//! connections and the value codec are the engine's, shared with C and PHP.

#![deny(unsafe_code)]

mod args;
mod client;
mod errors;
mod interrupt;
mod keys;
mod lease;
mod metrics;
mod options;
mod shared;
mod values;

use pyo3::prelude::*;

/// memcached client with libmemcached-exact key placement (native module).
#[pymodule]
mod _mcring {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::client::Client;

    #[pymodule_export]
    use crate::shared::shared_health;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        super::add_names(m)
    }
}

fn add_names(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    let c = errors::classes(py)?;
    for (name, class) in [
        ("Error", &c.error),
        ("BadKeyError", &c.bad_key),
        ("BadValueError", &c.bad_value),
        ("UnreadableValueError", &c.unreadable_value),
        ("ConfigError", &c.config),
        ("ConnectionError", &c.connection),
        ("ServerDownError", &c.server_down),
        ("TimeoutError", &c.timeout),
        ("ServerError", &c.server),
        ("ProtocolError", &c.protocol),
        ("InterruptedError", &c.interrupted),
        ("AuthError", &c.auth),
    ] {
        m.add(name, class.clone_ref(py))?;
    }
    Ok(())
}
