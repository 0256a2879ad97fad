//! The message of the last failed call, kept per thread.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CString};

use crate::boundary::value_call;
use crate::status::mcring_status;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    /// The status of the last failure and php-memcached's code for its cause.
    static LAST_CODE: Cell<Option<(mcring_status, i32)>> = const { Cell::new(None) };
}

/// Records `message` as this thread's last error.
pub(crate) fn set(message: &str) {
    // A message may quote server bytes; a NUL would cut it short in C.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // Fails only while the thread is being torn down; the message is lost.
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = text);
}

/// Records the last failure's status and php-memcached's code for it.
pub(crate) fn set_code(status: mcring_status, code: i32) {
    let _ = LAST_CODE.try_with(|c| c.set(Some((status, code))));
}

/// Forgets the last failure's code (at the start of every call).
pub(crate) fn clear_code() {
    let _ = LAST_CODE.try_with(|c| c.set(None));
}

/// php-memcached's code of the last failure, if it had this status.
pub(crate) fn code_for(status: mcring_status) -> Option<i32> {
    match LAST_CODE.try_with(Cell::get).ok().flatten() {
        Some((s, code)) if s == status => Some(code),
        _ => None,
    }
}

/// The message of the last call on this thread that failed (returned a
/// status other than `MCRING_OK`, `MCRING_NOT_FOUND`, `MCRING_NOT_STORED`
/// or `MCRING_EXISTS`), e.g. `bad key "a b": key contains space 0x20 at
/// offset 1`; `""` if none has.
///
/// Successful calls leave it as it was. The string belongs to libmcring and
/// stays valid until the next failed call on the same thread; copy it to
/// keep it. Never NULL.
#[no_mangle]
pub extern "C" fn mcring_last_error() -> *const c_char {
    value_call(c"".as_ptr(), || {
        LAST_ERROR.try_with(|e| e.borrow().as_ptr()).unwrap_or(c"".as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        unsafe { CStr::from_ptr(mcring_last_error()) }.to_str().unwrap().to_string()
    }

    #[test]
    fn per_thread_and_nul_safe() {
        set("one\0two");
        assert_eq!(last(), "one\\0two");
        std::thread::spawn(|| assert_eq!(last(), "")).join().unwrap();
        assert_eq!(last(), "one\\0two");
    }
}
