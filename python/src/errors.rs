//! The exception classes of `mcring` and the one place where the engine's
//! errors become Python exceptions.
//!
//! The classes are made with Python's `type()` when the module loads, so a
//! class can have two bases: `BadKeyError` is an `mcring.Error` and a
//! `ValueError`, `ConnectionError` an `mcring.Error` and the builtin
//! `ConnectionError` (an `OSError`), `TimeoutError` the builtin
//! `TimeoutError`, as a caller catching either expects.

use pyo3::exceptions::{
    PyConnectionError, PyException, PyInterruptedError, PyTimeoutError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple, PyType};

use crate::interrupt;

/// Every exception class of the module.
pub struct Classes {
    /// `Error`: the base of every exception the client raises itself.
    pub error: Py<PyType>,
    /// `BadKeyError(Error, ValueError)`.
    pub bad_key: Py<PyType>,
    /// `BadValueError(Error, ValueError)`.
    pub bad_value: Py<PyType>,
    /// `UnreadableValueError(Error, ValueError)`.
    pub unreadable_value: Py<PyType>,
    /// `ConfigError(Error)`.
    pub config: Py<PyType>,
    /// `ConnectionError(Error, builtins.ConnectionError)`.
    pub connection: Py<PyType>,
    /// `ServerDownError(ConnectionError)`.
    pub server_down: Py<PyType>,
    /// `TimeoutError(Error, builtins.TimeoutError)`.
    pub timeout: Py<PyType>,
    /// `ServerError(Error)`.
    pub server: Py<PyType>,
    /// `ProtocolError(ServerError)`.
    pub protocol: Py<PyType>,
    /// `InterruptedError(Error, builtins.InterruptedError)`.
    pub interrupted: Py<PyType>,
    /// `AuthError(Error)`.
    pub auth: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

/// The exception classes, made on first use.
pub fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || make_classes(py))
}

fn make_class(
    py: Python<'_>,
    name: &str,
    bases: &[&Bound<'_, PyType>],
    doc: &str,
) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "mcring")?;
    namespace.set_item("__doc__", doc)?;
    let bases = PyTuple::new(py, bases)?;
    let class = py.get_type::<PyType>().call1((name, bases, namespace))?;
    Ok(class.cast_into::<PyType>()?.unbind())
}

fn make_classes(py: Python<'_>) -> PyResult<Classes> {
    let exception = py.get_type::<PyException>();
    let value_error = py.get_type::<PyValueError>();
    let builtin_connection = py.get_type::<PyConnectionError>();
    let builtin_timeout = py.get_type::<PyTimeoutError>();
    let builtin_interrupted = py.get_type::<PyInterruptedError>();
    let error = make_class(
        py,
        "Error",
        &[&exception],
        "Base class of every error mcring raises. A miss is never an error.",
    )?;
    let e = error.bind(py);
    let connection = make_class(
        py,
        "ConnectionError",
        &[e, &builtin_connection],
        "A server could not be reached, or the connection broke (refused, reset,\n\
         closed), or no server is configured. `server` names the server.",
    )?;
    let server = make_class(
        py,
        "ServerError",
        &[e],
        "A server answered with an error (SERVER_ERROR, CLIENT_ERROR or ERROR).\n\
         `server` names the server.",
    )?;
    Ok(Classes {
        bad_key: make_class(
            py,
            "BadKeyError",
            &[e, &value_error],
            "A key was refused before anything was sent: empty, too long, with\n\
             spaces or control characters, or not str/bytes. `key` holds it.",
        )?,
        bad_value: make_class(
            py,
            "BadValueError",
            &[e, &value_error],
            "A value was refused before anything was sent (e.g. over max_value_bytes).",
        )?,
        unreadable_value: make_class(
            py,
            "UnreadableValueError",
            &[e, &value_error],
            "A stored value cannot be turned into a Python value with this client's\n\
             options: unknown flags, corrupt compressed data, PHP-serialized,\n\
             igbinary or msgpack data, or a pickle while pickles are not allowed.",
        )?,
        config: make_class(py, "ConfigError", &[e], "The server list or an option is invalid.")?,
        server_down: make_class(
            py,
            "ServerDownError",
            &[connection.bind(py)],
            "The server is marked dead after repeated failures and was not tried;\n\
             it is probed again after retry_timeout_ms.",
        )?,
        timeout: make_class(
            py,
            "TimeoutError",
            &[e, &builtin_timeout],
            "A server did not answer within connect_timeout_ms or io_timeout_ms.\n\
             `server` names the server.",
        )?,
        protocol: make_class(
            py,
            "ProtocolError",
            &[server.bind(py)],
            "A server sent bytes that are not a valid memcached reply.",
        )?,
        auth: make_class(
            py,
            "AuthError",
            &[e],
            "The server refused the login (memcached -Y: wrong username or password),\n\
             or requires one and none is configured. `server` names the server. The\n\
             server is not marked dead; it is not tried again for retry_timeout_ms.\n\
             The message never holds the password.",
        )?,
        interrupted: make_class(
            py,
            "InterruptedError",
            &[e, &builtin_interrupted],
            "A signal stopped a request and its handler raised no exception.",
        )?,
        error,
        connection,
        server,
    })
}

/// Raises `class(message)` with the given attributes set on the exception.
fn raise(
    py: Python<'_>,
    class: &Py<PyType>,
    message: String,
    attrs: &[(&str, Bound<'_, PyAny>)],
) -> PyErr {
    let made = class.bind(py).call1((message,)).and_then(|exc| {
        for (name, value) in attrs {
            exc.setattr(*name, value)?;
        }
        Ok(exc)
    });
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// The Python exception for an engine error. A request stopped by a signal
/// re-raises the exception its handler raised (usually `KeyboardInterrupt`).
pub fn to_py(py: Python<'_>, e: mcring::Error) -> PyErr {
    use mcring::Error as E;
    if e == E::Interrupted {
        if let Some(pending) = interrupt::take_pending() {
            return pending;
        }
    }
    let c = match classes(py) {
        Ok(c) => c,
        Err(failed) => return failed,
    };
    let message = e.to_string();
    let name = |server: &str| PyString::new(py, server).into_any();
    match &e {
        E::BadKey { key, .. } => {
            let key = PyBytes::new(py, key).into_any();
            raise(py, &c.bad_key, message, &[("key", key)])
        }
        E::BadValue(_) => raise(py, &c.bad_value, message, &[]),
        E::Config(_) => raise(py, &c.config, message, &[]),
        E::NoServers => raise(py, &c.connection, message, &[]),
        E::Timeout { server, .. } => raise(py, &c.timeout, message, &[("server", name(server))]),
        E::Connection { server, .. } => {
            raise(py, &c.connection, message, &[("server", name(server))])
        }
        E::ServerDown { server } => raise(py, &c.server_down, message, &[("server", name(server))]),
        E::Protocol { server, .. } => raise(py, &c.protocol, message, &[("server", name(server))]),
        E::Server { server, .. } => raise(py, &c.server, message, &[("server", name(server))]),
        E::Interrupted => raise(py, &c.interrupted, message, &[]),
        E::AuthFailed { server, .. } => raise(py, &c.auth, message, &[("server", name(server))]),
        _ => raise(py, &c.error, message, &[]),
    }
}

/// A `ConfigError` with this message.
pub fn config_error(py: Python<'_>, message: String) -> PyErr {
    match classes(py) {
        Ok(c) => raise(py, &c.config, message, &[]),
        Err(e) => e,
    }
}

/// An `UnreadableValueError` for a stored value that cannot be read.
pub fn unreadable(py: Python<'_>, message: String) -> PyErr {
    match classes(py) {
        Ok(c) => raise(py, &c.unreadable_value, message, &[]),
        Err(e) => e,
    }
}

/// A `BadKeyError` for a key of the wrong type.
pub fn bad_key_type(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyErr {
    let message = match key.get_type().name() {
        Ok(name) => format!("key must be str or bytes, not {name}"),
        Err(_) => "key must be str or bytes".to_string(),
    };
    match classes(py) {
        Ok(c) => raise(py, &c.bad_key, message, &[("key", key.clone())]),
        Err(e) => e,
    }
}

/// A `BadValueError` with this message.
pub fn bad_value(py: Python<'_>, message: String) -> PyErr {
    match classes(py) {
        Ok(c) => raise(py, &c.bad_value, message, &[]),
        Err(e) => e,
    }
}

/// An `Error` for a shared health area that cannot be made.
pub fn shared_health_failed(py: Python<'_>, message: String) -> PyErr {
    match classes(py) {
        Ok(c) => raise(py, &c.error, message, &[]),
        Err(e) => e,
    }
}
