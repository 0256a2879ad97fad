//! `mcring.shared_health()`: server health shared by forked workers.

use pyo3::prelude::*;

use crate::errors;

/// Makes server health shared by this process and every process forked
/// from it afterwards: call it in a pre-fork server's master before the
/// workers start (gunicorn's `on_starting` or `when_ready` hook, uWSGI's
/// master). Clients created afterwards, in the master or in any worker,
/// keep failure counts and dead servers in one small shared-memory area,
/// so when one worker finds a server dead the others skip it without paying
/// their own timeouts. Calling it again does nothing. Raises `mcring.Error`
/// if the shared area cannot be mapped.
#[pyfunction]
pub fn shared_health(py: Python<'_>) -> PyResult<()> {
    mcring::shared_health::init().map_err(|e| {
        errors::shared_health_failed(py, format!("cannot map the shared health area: {e}"))
    })
}
