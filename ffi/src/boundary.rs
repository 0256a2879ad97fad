//! The boundary every exported function runs its body inside: no panic ever
//! unwinds into C, and every failure leaves its message in
//! `mcring_last_error()`.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::last_error;
use crate::status::mcring_status;

/// Why a call failed: the status it returns and the message it leaves.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: mcring_status,
    pub message: String,
    /// php-memcached's result code for the cause (`mcring_memcached_code()`).
    pub code: i32,
}

impl Failure {
    /// A failure with this status and message.
    pub fn new(status: mcring_status, message: impl Into<String>) -> Failure {
        Failure { status, message: message.into(), code: status.memcached_code() }
    }

    /// The failure for an engine error, as `status` reports it.
    pub fn of_error(e: &mcring::Error) -> Failure {
        Failure {
            status: mcring_status::of_error(e),
            message: e.to_string(),
            code: mcring_status::memcached_code_of_error(e),
        }
    }

    /// `MCRING_INVALID_ARGUMENT` for an argument that is NULL.
    pub fn null(what: &str) -> Failure {
        Failure::new(mcring_status::MCRING_INVALID_ARGUMENT, format!("{what} is NULL"))
    }

    /// `MCRING_INVALID_ARGUMENT` with a reason.
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(mcring_status::MCRING_INVALID_ARGUMENT, message)
    }
}

impl From<mcring::Error> for Failure {
    fn from(e: mcring::Error) -> Failure {
        Failure::of_error(&e)
    }
}

impl From<mcring::ConfigError> for Failure {
    fn from(e: mcring::ConfigError) -> Failure {
        Failure::new(mcring_status::MCRING_BAD_CONFIG, e.to_string())
    }
}

impl From<mcring::value::ValueError> for Failure {
    fn from(e: mcring::value::ValueError) -> Failure {
        Failure {
            status: mcring_status::MCRING_BAD_VALUE,
            message: e.to_string(),
            code: mcring_status::memcached_code_of_value_error(&e),
        }
    }
}

/// Runs the body of a function that returns a status. A `Failure` becomes
/// its status with its message recorded; a panic becomes
/// `MCRING_INTERNAL_ERROR`.
pub(crate) fn status_call(body: impl FnOnce() -> Result<mcring_status, Failure>) -> mcring_status {
    // Unwind safety: after a caught panic the only state left behind is the
    // engine's, which is atomics and mutexes (a poisoned mutex panics again
    // on the next use, and that is caught here too).
    // The cause of an earlier call's failure must not be taken for this
    // call's.
    last_error::clear_code();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(failure)) => {
            last_error::set(&failure.message);
            last_error::set_code(failure.status, failure.code);
            failure.status
        }
        Err(payload) => {
            last_error::set(&panic_message(payload.as_ref()));
            let status = mcring_status::MCRING_INTERNAL_ERROR;
            last_error::set_code(status, status.memcached_code());
            status
        }
    }
}

/// Runs the body of a function that returns a plain value (an accessor);
/// a panic returns `fallback` and records the message.
pub(crate) fn value_call<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            last_error::set(&panic_message(payload.as_ref()));
            fallback
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "unknown panic"
    };
    format!("internal error in libmcring (please report): {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::last_error::mcring_last_error;
    use std::ffi::CStr;

    fn last() -> String {
        unsafe { CStr::from_ptr(mcring_last_error()) }.to_str().unwrap().to_string()
    }

    #[test]
    fn a_panic_becomes_internal_error() {
        let s = status_call(|| panic!("boom"));
        assert_eq!(s, mcring_status::MCRING_INTERNAL_ERROR);
        assert!(last().contains("boom"), "{}", last());
        let v = value_call(7usize, || panic!("{}", String::from("bang")));
        assert_eq!(v, 7);
        assert!(last().contains("bang"));
    }

    #[test]
    fn a_failure_sets_the_message() {
        let s = status_call(|| Err(Failure::null("key")));
        assert_eq!(s, mcring_status::MCRING_INVALID_ARGUMENT);
        assert_eq!(last(), "key is NULL");
        assert_eq!(status_call(|| Ok(mcring_status::MCRING_OK)), mcring_status::MCRING_OK);
        assert_eq!(last(), "key is NULL", "success leaves the message");
    }
}
