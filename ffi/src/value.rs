//! The value handle: bytes, flags and CAS token of a value read from the
//! cache (or encoded by the value codec).

use mcring::Item;

use crate::args;
use crate::boundary::value_call;

/// A value: its bytes, client flags and CAS token. Opaque; returned by
/// `mcring_get()` and friends and by the `mcring_encode_*()` functions,
/// owned by the caller, freed with `mcring_value_free()`.
///
/// Thread safety: immutable; may be read by several threads at once.
pub struct mcring_value {
    pub(crate) item: Item,
}

impl mcring_value {
    /// Borrows the value behind a handle, if any.
    ///
    /// # Safety
    /// A non-NULL `v` must be a live value handle.
    unsafe fn get<'a>(v: *const mcring_value) -> Option<&'a Item> {
        // SAFETY: forwarded from the caller.
        unsafe { args::borrow(v, "value") }.ok().map(|v| &v.item)
    }
}

/// The value's bytes: `mcring_value_len()` of them, not NUL-terminated,
/// possibly containing NULs. Valid until the value is freed. Never NULL for
/// a value (even an empty one); NULL if `v` is NULL.
///
/// # Safety
/// `v` must be NULL or a live value handle.
#[no_mangle]
pub unsafe extern "C" fn mcring_value_data(v: *const mcring_value) -> *const u8 {
    value_call(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { mcring_value::get(v) }.map_or(std::ptr::null(), |item| item.value.as_ptr())
    })
}

/// The number of bytes of the value; 0 if `v` is NULL.
///
/// # Safety
/// `v` must be NULL or a live value handle.
#[no_mangle]
pub unsafe extern "C" fn mcring_value_len(v: *const mcring_value) -> usize {
    // SAFETY: forwarded from the caller.
    value_call(0, || unsafe { mcring_value::get(v) }.map_or(0, |item| item.value.len()))
}

/// The client flags stored with the value; 0 if `v` is NULL.
///
/// # Safety
/// `v` must be NULL or a live value handle.
#[no_mangle]
pub unsafe extern "C" fn mcring_value_flags(v: *const mcring_value) -> u32 {
    // SAFETY: forwarded from the caller.
    value_call(0, || unsafe { mcring_value::get(v) }.map_or(0, |item| item.flags))
}

/// The value's CAS token, for `mcring_cas()`: set by `mcring_gets()`,
/// `mcring_get_and_touch()` and `mcring_gets_multi()`; 0 when the call did
/// not ask for it (memcached never hands out 0) or `v` is NULL.
///
/// # Safety
/// `v` must be NULL or a live value handle.
#[no_mangle]
pub unsafe extern "C" fn mcring_value_cas(v: *const mcring_value) -> u64 {
    // SAFETY: forwarded from the caller.
    value_call(0, || unsafe { mcring_value::get(v) }.and_then(|item| item.cas).unwrap_or(0))
}

/// Frees a value. NULL is a no-op.
///
/// # Safety
/// `v` must be NULL or a live value handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn mcring_value_free(v: *mut mcring_value) {
    // SAFETY: forwarded from the caller.
    value_call((), || unsafe { args::free(v) })
}
