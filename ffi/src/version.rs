//! The library's version.

use std::ffi::c_char;

use crate::boundary::value_call;

/// The version of libmcring, e.g. `"0.1.0"`: a static string. The header's
/// `MCRING_VERSION` is the version a program was compiled against; this is
/// the one it runs with.
#[no_mangle]
pub extern "C" fn mcring_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    value_call(c"".as_ptr(), || VERSION.as_ptr().cast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_crate_version() {
        let v = unsafe { std::ffi::CStr::from_ptr(mcring_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
