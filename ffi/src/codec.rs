//! The value codec every mcring binding shares, so that C, PHP and Python
//! agree on how a typed value is stored: its bytes and the type flags in
//! the low 16 bits of the client flags (php-memcached's layout, or
//! pylibmc's with `value_format=pylibmc`), compressed with zlib above
//! `compress_threshold`. The high 16 bits of the flags are the
//! application's own (`user_flags`).
//!
//! Encoding gives an `mcring_value` to pass to `mcring_set()` and friends
//! (`mcring_value_data()`, `mcring_value_len()`, `mcring_value_flags()`);
//! decoding turns the bytes and flags read back into an `mcring_decoded`.

use mcring::config::Serializer;
use mcring::value::{self, CodecOptions, Decoded, Value};
use mcring::Item;

use crate::args;
use crate::boundary::{status_call, value_call, Failure};
use crate::client::{client, mcring_client};
use crate::status::mcring_status::{self, *};
use crate::value::mcring_value;

/// The kind of a decoded value.
///
/// The numeric values are part of the ABI and never change.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mcring_value_type {
    /// A text string (PHP string; Python `str`): any bytes in php format,
    /// valid UTF-8 in pylibmc format. `mcring_decoded_data()`.
    MCRING_TYPE_STRING = 0,
    /// A byte string (Python `bytes`). `mcring_decoded_data()`.
    MCRING_TYPE_BYTES = 1,
    /// An integer. `mcring_decoded_int()`.
    MCRING_TYPE_INT = 2,
    /// An integer beyond 64 bits, as decimal text. `mcring_decoded_data()`.
    MCRING_TYPE_BIGINT = 3,
    /// A float. `mcring_decoded_float()`.
    MCRING_TYPE_FLOAT = 4,
    /// A boolean. `mcring_decoded_bool()`.
    MCRING_TYPE_BOOL = 5,
    /// JSON text, for the caller to parse. `mcring_decoded_data()`.
    MCRING_TYPE_JSON = 6,
    /// A Python pickle. `mcring_decoded_data()`.
    MCRING_TYPE_PICKLE = 7,
    /// PHP `serialize()` output. `mcring_decoded_data()`.
    MCRING_TYPE_PHP_SERIALIZED = 8,
    /// igbinary output (written by php-memcached). `mcring_decoded_data()`.
    MCRING_TYPE_IGBINARY = 9,
    /// msgpack output (written by php-memcached). `mcring_decoded_data()`.
    MCRING_TYPE_MSGPACK = 10,
}

/// How a client's structured values (arrays, dicts, objects) are to be
/// serialized: the `serializer` option. A binding serializes them itself
/// and stores the text with the matching encoder
/// (`mcring_encode_json()`, `mcring_encode_pickle()`,
/// `mcring_encode_php_serialized()`).
///
/// The numeric values are part of the ABI and never change.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mcring_serializer {
    /// JSON, readable by every language (the default).
    MCRING_SERIALIZER_JSON = 0,
    /// Python pickle.
    MCRING_SERIALIZER_PICKLE = 1,
    /// PHP `serialize()`.
    MCRING_SERIALIZER_PHP = 2,
}

/// A value decoded from its stored bytes and flags. Opaque; made by
/// `mcring_decode()` or `mcring_value_decode()`, owned by the caller, freed
/// with `mcring_decoded_free()`.
///
/// Thread safety: immutable; may be read by several threads at once.
pub struct mcring_decoded {
    inner: Decoded,
}

/// Encodes the value `value()` makes (or fails with its argument error) with
/// the client's codec options and hands it out.
///
/// # Safety
/// `c` must be NULL or a live client; `out` NULL or writable; `value` may
/// rely on the safety contract of the exported function calling this.
unsafe fn encode<'a>(
    c: *mut mcring_client,
    value: impl FnOnce() -> Result<Value<'a>, Failure>,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let c = unsafe { client(c) }?;
        let options = CodecOptions::of(c.config()).with_user_flags(user_flags);
        let encoded = value::encode(&value()?, &options)?;
        let item = Item { value: encoded.data.into_owned(), flags: encoded.flags, cas: None };
        args::give(out, mcring_value { item });
        Ok(MCRING_OK)
    })
}

/// Encodes a text string (`len` bytes at `data`; NULL if `len` is 0), with
/// the application's `user_flags` in the high 16 bits of the flags. On
/// success `*out` is a new value (free it with `mcring_value_free()`) to
/// store with `mcring_set()` and friends.
///
/// Returns `MCRING_OK`, `MCRING_BAD_VALUE` if the client's value format has
/// no flag for this kind of value, or `MCRING_INVALID_ARGUMENT` if a
/// pointer is NULL.
///
/// # Safety
/// `c` must be NULL or a live client; `data` NULL or `len` readable bytes;
/// `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_string(
    c: *mut mcring_client,
    data: *const u8,
    len: usize,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || args::value(data, len).map(Value::Str), user_flags, out) }
}

/// Encodes a byte string (Python `bytes`; PHP reads it as a string). As
/// `mcring_encode_string()`.
///
/// # Safety
/// As for `mcring_encode_string()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_bytes(
    c: *mut mcring_client,
    data: *const u8,
    len: usize,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || args::value(data, len).map(Value::Bytes), user_flags, out) }
}

/// Encodes JSON text the caller serialized (php-memcached's JSON type;
/// `MCRING_BAD_VALUE` in pylibmc format). As `mcring_encode_string()`.
///
/// # Safety
/// As for `mcring_encode_string()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_json(
    c: *mut mcring_client,
    data: *const u8,
    len: usize,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || args::value(data, len).map(Value::Json), user_flags, out) }
}

/// Encodes a Python pickle the caller made. As `mcring_encode_string()`.
///
/// # Safety
/// As for `mcring_encode_string()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_pickle(
    c: *mut mcring_client,
    data: *const u8,
    len: usize,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || args::value(data, len).map(Value::Pickle), user_flags, out) }
}

/// Encodes PHP `serialize()` output (`MCRING_BAD_VALUE` in pylibmc
/// format). As `mcring_encode_string()`.
///
/// # Safety
/// As for `mcring_encode_string()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_php_serialized(
    c: *mut mcring_client,
    data: *const u8,
    len: usize,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || args::value(data, len).map(Value::PhpSerialized), user_flags, out) }
}

/// Encodes igbinary serializer output the caller made (php-memcached's
/// type for `SERIALIZER_IGBINARY`; `MCRING_BAD_VALUE` in pylibmc format).
/// As `mcring_encode_string()`.
///
/// # Safety
/// As for `mcring_encode_string()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_igbinary(
    c: *mut mcring_client,
    data: *const u8,
    len: usize,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || args::value(data, len).map(Value::Igbinary), user_flags, out) }
}

/// Encodes msgpack serializer output the caller made (php-memcached's type
/// for `SERIALIZER_MSGPACK`; `MCRING_BAD_VALUE` in pylibmc format). As
/// `mcring_encode_string()`.
///
/// # Safety
/// As for `mcring_encode_string()`.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_msgpack(
    c: *mut mcring_client,
    data: *const u8,
    len: usize,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || args::value(data, len).map(Value::Msgpack), user_flags, out) }
}

/// Encodes an integer, stored as decimal text so that `mcring_incr()` and
/// `mcring_decr()` work on it. As `mcring_encode_string()`.
///
/// # Safety
/// `c` must be NULL or a live client; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_int(
    c: *mut mcring_client,
    v: i64,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || Ok(Value::Int(v)), user_flags, out) }
}

/// Encodes a float (as php-memcached writes it; in pylibmc format as a
/// pickle, as pylibmc does). As `mcring_encode_string()`.
///
/// # Safety
/// `c` must be NULL or a live client; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_float(
    c: *mut mcring_client,
    v: f64,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || Ok(Value::Float(v)), user_flags, out) }
}

/// Encodes a boolean. As `mcring_encode_string()`.
///
/// # Safety
/// `c` must be NULL or a live client; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_encode_bool(
    c: *mut mcring_client,
    v: bool,
    user_flags: u16,
    out: *mut *mut mcring_value,
) -> mcring_status {
    // SAFETY: forwarded from the caller.
    unsafe { encode(c, || Ok(Value::Bool(v)), user_flags, out) }
}

/// The serializer the client's `serializer` option names, for the binding
/// to serialize structured values with; `MCRING_SERIALIZER_JSON` (the
/// default) if `c` is NULL.
///
/// # Safety
/// `c` must be NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn mcring_client_serializer(c: *mut mcring_client) -> mcring_serializer {
    use mcring_serializer::*;
    // SAFETY: forwarded from the caller.
    value_call(MCRING_SERIALIZER_JSON, || match unsafe { client(c) } {
        Ok(c) => match c.config().serializer {
            Serializer::Json => MCRING_SERIALIZER_JSON,
            Serializer::Pickle => MCRING_SERIALIZER_PICKLE,
            Serializer::Php => MCRING_SERIALIZER_PHP,
        },
        Err(_) => MCRING_SERIALIZER_JSON,
    })
}

/// Whether a value stored with `flags` is a string whose stored bytes are
/// the value itself (not compressed, no conversion) in the client's value
/// format: a binding may then use the bytes as they are, skipping
/// `mcring_decode()`. False if `c` is NULL.
///
/// # Safety
/// `c` must be NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn mcring_is_plain_string(c: *const mcring_client, flags: u32) -> bool {
    // SAFETY: forwarded from the caller.
    value_call(false, || match unsafe { client(c) } {
        Ok(c) => mcring::value::plain_string(flags, c.config().value_format).is_some(),
        Err(_) => false,
    })
}

/// Decodes a stored value (`len` bytes at `data`, NULL if `len` is 0, with
/// its client `flags`) in the client's value format, inflating it if it is
/// compressed. On success `*out` is a new decoded value the caller owns and
/// must free with `mcring_decoded_free()`.
///
/// Returns `MCRING_OK`, `MCRING_BAD_VALUE` (unknown type flags, corrupt
/// compressed data, a number that is not decimal text, ...; the message
/// says which), or `MCRING_INVALID_ARGUMENT` if a pointer is NULL.
///
/// # Safety
/// `c` must be NULL or a live client; `data` NULL or `len` readable bytes;
/// `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_decode(
    c: *mut mcring_client,
    data: *const u8,
    len: usize,
    flags: u32,
    out: *mut *mut mcring_decoded,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let (c, data) = unsafe { (client(c)?, args::value(data, len)?) };
        let inner = value::decode(data, flags, &CodecOptions::of(c.config()))?;
        args::give(out, mcring_decoded { inner });
        Ok(MCRING_OK)
    })
}

/// Decodes a value read with `mcring_get()` and friends: the same as
/// `mcring_decode()` on its data, length and flags.
///
/// # Safety
/// `c` must be NULL or a live client; `v` NULL or a live value; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn mcring_value_decode(
    c: *mut mcring_client,
    v: *const mcring_value,
    out: *mut *mut mcring_decoded,
) -> mcring_status {
    status_call(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::handle_out(out) }?;
        // SAFETY: forwarded from the caller.
        let (c, v) = unsafe { (client(c)?, &args::borrow(v, "v")?.item) };
        let inner = value::decode(&v.value, v.flags, &CodecOptions::of(c.config()))?;
        args::give(out, mcring_decoded { inner });
        Ok(MCRING_OK)
    })
}

/// Borrows a decoded value.
///
/// # Safety
/// A non-NULL `d` must be a live decoded value.
unsafe fn decoded<'a>(d: *const mcring_decoded) -> Option<&'a Decoded> {
    // SAFETY: forwarded from the caller.
    unsafe { args::borrow(d, "decoded") }.ok().map(|d| &d.inner)
}

/// The bytes of a decoded value of a byte-like type, or the digits of a
/// BIGINT.
fn payload(d: &Decoded) -> Option<&[u8]> {
    match d {
        Decoded::Str(b)
        | Decoded::Bytes(b)
        | Decoded::Json(b)
        | Decoded::Pickle(b)
        | Decoded::PhpSerialized(b)
        | Decoded::Igbinary(b)
        | Decoded::Msgpack(b) => Some(b),
        Decoded::BigInt(s) => Some(s.as_bytes()),
        Decoded::Int(_) | Decoded::Float(_) | Decoded::Bool(_) => None,
    }
}

/// The kind of a decoded value; `MCRING_TYPE_STRING` if `d` is NULL.
///
/// # Safety
/// `d` must be NULL or a live decoded value.
#[no_mangle]
pub unsafe extern "C" fn mcring_decoded_type(d: *const mcring_decoded) -> mcring_value_type {
    use mcring_value_type::*;
    value_call(MCRING_TYPE_STRING, || {
        // SAFETY: forwarded from the caller.
        match unsafe { decoded(d) } {
            None | Some(Decoded::Str(_)) => MCRING_TYPE_STRING,
            Some(Decoded::Bytes(_)) => MCRING_TYPE_BYTES,
            Some(Decoded::Int(_)) => MCRING_TYPE_INT,
            Some(Decoded::BigInt(_)) => MCRING_TYPE_BIGINT,
            Some(Decoded::Float(_)) => MCRING_TYPE_FLOAT,
            Some(Decoded::Bool(_)) => MCRING_TYPE_BOOL,
            Some(Decoded::Json(_)) => MCRING_TYPE_JSON,
            Some(Decoded::Pickle(_)) => MCRING_TYPE_PICKLE,
            Some(Decoded::PhpSerialized(_)) => MCRING_TYPE_PHP_SERIALIZED,
            Some(Decoded::Igbinary(_)) => MCRING_TYPE_IGBINARY,
            Some(Decoded::Msgpack(_)) => MCRING_TYPE_MSGPACK,
        }
    })
}

/// The bytes of a decoded string, bytes, JSON, pickle, PHP-serialized,
/// igbinary or msgpack value, or the decimal digits of a BIGINT
/// (`mcring_decoded_len()` of them, not NUL-terminated), valid until the
/// decoded value is freed. NULL for INT, FLOAT and BOOL, or if `d` is NULL.
///
/// # Safety
/// `d` must be NULL or a live decoded value.
#[no_mangle]
pub unsafe extern "C" fn mcring_decoded_data(d: *const mcring_decoded) -> *const u8 {
    value_call(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { decoded(d) }.and_then(payload).map_or(std::ptr::null(), <[u8]>::as_ptr)
    })
}

/// The length of `mcring_decoded_data()`; 0 when that is NULL.
///
/// # Safety
/// `d` must be NULL or a live decoded value.
#[no_mangle]
pub unsafe extern "C" fn mcring_decoded_len(d: *const mcring_decoded) -> usize {
    // SAFETY: forwarded from the caller.
    value_call(0, || unsafe { decoded(d) }.and_then(payload).map_or(0, <[u8]>::len))
}

/// The integer of an INT value; 0 for any other type or if `d` is NULL.
///
/// # Safety
/// `d` must be NULL or a live decoded value.
#[no_mangle]
pub unsafe extern "C" fn mcring_decoded_int(d: *const mcring_decoded) -> i64 {
    value_call(0, || match unsafe { decoded(d) } {
        // SAFETY (above): forwarded from the caller.
        Some(Decoded::Int(i)) => *i,
        _ => 0,
    })
}

/// The float of a FLOAT value; 0.0 for any other type or if `d` is NULL.
///
/// # Safety
/// `d` must be NULL or a live decoded value.
#[no_mangle]
pub unsafe extern "C" fn mcring_decoded_float(d: *const mcring_decoded) -> f64 {
    value_call(0.0, || match unsafe { decoded(d) } {
        // SAFETY (above): forwarded from the caller.
        Some(Decoded::Float(x)) => *x,
        _ => 0.0,
    })
}

/// The boolean of a BOOL value; false for any other type or if `d` is NULL.
///
/// # Safety
/// `d` must be NULL or a live decoded value.
#[no_mangle]
pub unsafe extern "C" fn mcring_decoded_bool(d: *const mcring_decoded) -> bool {
    value_call(false, || match unsafe { decoded(d) } {
        // SAFETY (above): forwarded from the caller.
        Some(Decoded::Bool(b)) => *b,
        _ => false,
    })
}

/// Frees a decoded value. NULL is a no-op.
///
/// # Safety
/// `d` must be NULL or a live decoded value, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn mcring_decoded_free(d: *mut mcring_decoded) {
    // SAFETY: forwarded from the caller.
    value_call((), || unsafe { args::free(d) })
}

/// The application's flags: the high 16 bits of a value's client flags,
/// as given to the `mcring_encode_*()` functions.
#[no_mangle]
pub extern "C" fn mcring_user_flags(flags: u32) -> u16 {
    value_call(0, || value::user_flags(flags))
}
