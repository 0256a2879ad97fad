//! Turning C arguments into Rust ones: every pointer is checked for NULL
//! here, and every length for what a slice can be.

use std::ffi::{c_char, CStr};
use std::ptr::NonNull;

use crate::boundary::Failure;

/// A slice from a pointer and a length. NULL is allowed with length 0
/// only when `null_ok_if_empty`.
///
/// # Safety
/// A non-NULL `ptr` must point to `len` readable bytes that outlive `'a`
/// and are not written meanwhile.
unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
    null_ok_if_empty: bool,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return if len == 0 && null_ok_if_empty { Ok(&[]) } else { Err(Failure::null(what)) };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("{what} length {len} is impossible")));
    }
    // SAFETY: non-NULL, length checked above; the caller vouches for the
    // memory.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A key: any bytes (the engine checks them), never NULL.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn key<'a>(ptr: *const c_char, len: usize) -> Result<&'a [u8], Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { bytes(ptr.cast(), len, "key", false) }
}

/// A value: any bytes; NULL is an empty value when `len` is 0.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn value<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { bytes(ptr, len, "value", true) }
}

/// An array of `count` elements; NULL is allowed when `count` is 0.
///
/// # Safety
/// A non-NULL `ptr` must point to `count` readable, initialized elements
/// that outlive `'a`.
pub(crate) unsafe fn array<'a, T>(
    ptr: *const T,
    count: usize,
    what: &str,
) -> Result<&'a [T], Failure> {
    if ptr.is_null() {
        return if count == 0 { Ok(&[]) } else { Err(Failure::null(what)) };
    }
    if count.checked_mul(size_of::<T>()).is_none_or(|n| n > isize::MAX as usize) {
        return Err(Failure::invalid(format!("{what} count {count} is impossible")));
    }
    // SAFETY: non-NULL, size checked above; the caller vouches for the
    // memory.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// Keys given as parallel arrays of pointers and lengths.
///
/// # Safety
/// `keys` and `key_lens` must each hold `count` elements (or be NULL with
/// `count` 0), and every `keys[i]` must point to `key_lens[i]` bytes.
pub(crate) unsafe fn keys<'a>(
    keys: *const *const c_char,
    key_lens: *const usize,
    count: usize,
) -> Result<Vec<&'a [u8]>, Failure> {
    // SAFETY: forwarded from the caller.
    let (ptrs, lens) =
        unsafe { (array(keys, count, "keys")?, array(key_lens, count, "key_lens")?) };
    ptrs.iter()
        .zip(lens)
        .enumerate()
        .map(|(i, (&p, &len))| {
            if p.is_null() {
                return Err(Failure::null(&format!("keys[{i}]")));
            }
            // SAFETY: forwarded from the caller.
            unsafe { key(p, len) }
        })
        .collect()
}

/// A NUL-terminated string, never NULL.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string that outlives
/// `'a`.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a CStr, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL; the caller vouches for the terminator.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// An out-pointer, never NULL.
pub(crate) fn out<T>(ptr: *mut T, what: &str) -> Result<NonNull<T>, Failure> {
    NonNull::new(ptr).ok_or_else(|| Failure::null(what))
}

/// An out-pointer for a handle: checked, and set to NULL at once so that
/// the caller sees NULL whenever the call fails.
///
/// # Safety
/// A non-NULL `ptr` must be valid for writing one pointer.
pub(crate) unsafe fn handle_out<T>(ptr: *mut *mut T) -> Result<NonNull<*mut T>, Failure> {
    let out = out(ptr, "out")?;
    // SAFETY: non-NULL; the caller vouches that it is writable.
    unsafe { out.as_ptr().write(std::ptr::null_mut()) };
    Ok(out)
}

/// Hands a new object to C through an out-pointer from [`handle_out`].
pub(crate) fn give<T>(out: NonNull<*mut T>, object: T) {
    // SAFETY: `out` came from `handle_out`, which checked it.
    unsafe { out.as_ptr().write(Box::into_raw(Box::new(object))) };
}

/// Borrows an object behind a handle.
///
/// # Safety
/// A non-NULL `ptr` must come from libmcring (a `*_new` or `*_get` function
/// of this type) and not have been freed.
pub(crate) unsafe fn borrow<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller vouches that a non-NULL pointer is a live handle.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// Takes back and drops an object handed out by [`give`]; NULL is a no-op.
///
/// # Safety
/// A non-NULL `ptr` must come from [`give`] and not have been freed.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the caller vouches that it came from `Box::into_raw`.
        drop(unsafe { Box::from_raw(ptr) });
    }
}
