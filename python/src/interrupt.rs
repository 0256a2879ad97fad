//! Ctrl-C during a blocked request.
//!
//! Python's signal handlers only set a flag; the handler itself runs when
//! the main thread next executes Python code, which a thread blocked in
//! `recv` with the GIL released never does. The engine calls a per-thread
//! check whenever a wait is interrupted by a signal (`EINTR`): this one
//! takes the GIL back and runs the pending handlers. If a handler raised
//! (SIGINT's raises `KeyboardInterrupt`), the exception is kept, the engine
//! stops the request with `Error::Interrupted`, and the binding re-raises the
//! kept exception. Handlers that return normally let the request go on.

use std::cell::RefCell;

use pyo3::prelude::*;

thread_local! {
    /// The exception a signal handler raised during this thread's request.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Runs pending signal handlers; true (stop the request) if one raised.
fn check_signals() -> bool {
    Python::attach(|py| match py.check_signals() {
        Ok(()) => false,
        Err(raised) => {
            PENDING.with(|p| *p.borrow_mut() = Some(raised));
            true
        }
    })
}

/// Installs the check for the calling thread (a thread-local store, cheap
/// enough to do before every request).
#[inline]
pub fn install() {
    mcring::conn::set_interrupt_check(Some(check_signals));
}

/// The exception kept by the last interrupted request of this thread.
pub fn take_pending() -> Option<PyErr> {
    PENDING.with(|p| p.borrow_mut().take())
}
