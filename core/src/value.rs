//! The value codec every binding shares: how a value becomes the bytes and
//! the 32-bit flags stored in memcached, and back.
//!
//! Two flag conventions exist, chosen by [`ValueFormat`]; a value's flags
//! cannot tell which one wrote it (pylibmc's 1 is a pickle, php-memcached's
//! 1 an integer), so the format is a client option, never a guess.
//!
//! **php-memcached's** ([`ValueFormat::Php`], the default, see [`php_flags`]):
//! bits 0–3 hold the type, bits 4–15 are internal (compression), bits 16–31
//! belong to the application (php-memcached's `OPT_USER_FLAGS`). Integers,
//! floats and booleans are stored as text exactly as php-memcached writes
//! them, so memcached's `incr` works and PHP reads every value back as the
//! same PHP value. Two additions of mcring's own use bit 15, which
//! php-memcached 3.2 leaves unused and ignores on read:
//! - Python `bytes` are a string (type 0) with bit 15 set: PHP reads a plain
//!   string, Python gets `bytes` back rather than `str`;
//! - a Python pickle is type 15 with bit 15 set: php-memcached refuses it as
//!   an unknown type instead of handing PHP code a pickle as a string.
//!
//! **pylibmc's** ([`ValueFormat::Pylibmc`], see [`pylibmc_flags`]), for
//! services that share keys with pylibmc during a migration: 0 bytes,
//! 1 pickle, 2 integer, 4 long, 16 text, and 8 for zlib compression.

use std::borrow::Cow;
use std::fmt;

use crate::compress::{self, Algorithm, CompressError, Compression};
use crate::config::ValueFormat;

/// php-memcached's flag layout, plus mcring's bit-15 extension.
pub mod php_flags {
    /// Bits 0–3: the value's type.
    pub const TYPE_MASK: u32 = 0xF;
    /// A string, stored as is.
    pub const STRING: u32 = 0;
    /// An integer, as decimal text.
    pub const LONG: u32 = 1;
    /// A float, as php-memcached's shortest round-trip text.
    pub const DOUBLE: u32 = 2;
    /// A boolean: `"1"` for true, empty for false.
    pub const BOOL: u32 = 3;
    /// PHP `serialize()` output.
    pub const SERIALIZED: u32 = 4;
    /// igbinary serializer output.
    pub const IGBINARY: u32 = 5;
    /// JSON text.
    pub const JSON: u32 = 6;
    /// msgpack serializer output.
    pub const MSGPACK: u32 = 7;
    /// The payload is compressed (internal flag 1 << 0, stored << 4).
    pub const COMPRESSED: u32 = 1 << 4;
    /// ... with zlib: 4-byte little-endian original length, then a zlib stream.
    pub const ZLIB: u32 = 1 << 5;
    /// ... with FastLZ: 4-byte little-endian original length, then a FastLZ block.
    pub const FASTLZ: u32 = 1 << 6;
    /// ... with zstd (php-memcached 3.3 and later, when built with zstd).
    pub const ZSTD: u32 = 1 << 7;
    /// mcring's own bit, the highest of php-memcached's internal bits (which
    /// assigns them from the bottom up and ignores this one on read).
    pub const MCRING: u32 = 1 << 15;
    /// Python `bytes`: a string for PHP, `bytes` for Python.
    pub const BYTES: u32 = STRING | MCRING;
    /// The type nibble of a Python pickle (only with [`MCRING`]).
    pub const PICKLE_TYPE: u32 = 0xF;
    /// A Python pickle; php-memcached reports "unknown payload type".
    pub const PICKLE: u32 = PICKLE_TYPE | MCRING;
    /// Bits 16–31: the application's own flags.
    pub const USER_MASK: u32 = 0xFFFF_0000;
    /// php-memcached keeps a compressed value only when it is this many
    /// times smaller (its `memcached.compression_factor` default).
    pub const COMPRESSION_FACTOR: f64 = 1.3;
}

/// pylibmc's flags (the python-memcached convention, also pymemcache's).
pub mod pylibmc_flags {
    /// `bytes`, stored as is.
    pub const BYTES: u32 = 0;
    /// A pickle.
    pub const PICKLE: u32 = 1 << 0;
    /// A `bool` as `"1"`/`"0"` (pylibmc reads it back as an `int`).
    pub const INTEGER: u32 = 1 << 1;
    /// An `int` as decimal text, any size.
    pub const LONG: u32 = 1 << 2;
    /// The payload is a zlib stream (no length prefix).
    pub const ZLIB: u32 = 1 << 3;
    /// A `str`, UTF-8 encoded.
    pub const TEXT: u32 = 1 << 4;
    /// The bits that name the type; anything but one of them alone is refused.
    pub const TYPE_MASK: u32 = PICKLE | INTEGER | LONG | TEXT;
}

/// A value as a binding hands it over, before encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A text string (PHP string, Python `str`): php type 0, pylibmc TEXT.
    Str(&'a [u8]),
    /// A byte string (Python `bytes`): php type 0 with [`php_flags::MCRING`],
    /// which PHP reads as a plain string; pylibmc flags 0.
    Bytes(&'a [u8]),
    /// An integer, as decimal text (so memcached's `incr`/`decr` work).
    Int(i64),
    /// A float, as php-memcached writes it (e.g. `1.5`, `.5`, `1e+20`,
    /// `Infinity`, `NaN`); in pylibmc format a pickle, as pylibmc stores floats.
    Float(f64),
    /// A boolean: php `"1"`/`""`; pylibmc INTEGER `"1"`/`"0"`.
    Bool(bool),
    /// Already-serialized JSON text (php type 6). Not in pylibmc format.
    Json(&'a [u8]),
    /// Python pickle bytes: php [`php_flags::PICKLE`], pylibmc flag 1.
    Pickle(&'a [u8]),
    /// PHP `serialize()` output (php type 4). Not in pylibmc format.
    PhpSerialized(&'a [u8]),
    /// igbinary output, as php-memcached stores it with
    /// `SERIALIZER_IGBINARY` (php type 5). Not in pylibmc format.
    Igbinary(&'a [u8]),
    /// msgpack output, as php-memcached stores it with
    /// `SERIALIZER_MSGPACK` (php type 7). Not in pylibmc format.
    Msgpack(&'a [u8]),
}

/// How values are encoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecOptions {
    /// Which flag convention to write.
    pub format: ValueFormat,
    /// Strings and serialized payloads at least this long are zlib-compressed
    /// (kept only if that pays off); 0 never compresses.
    pub compress_threshold: usize,
    /// The application's flags, stored in bits 16–31 (php-memcached's
    /// `OPT_USER_FLAGS`; pylibmc ignores these bits).
    pub user_flags: u16,
    /// The largest value, uncompressed: encoding refuses a longer one and
    /// decoding never inflates past it (the client's `max_value_bytes`).
    pub max_value_bytes: usize,
    /// How values are compressed (php format): zlib or FastLZ, zlib's level,
    /// php-memcached's factor.
    pub compression: Compression,
}

impl CodecOptions {
    /// The options of a client with this config, with no user flags: the one
    /// place every binding takes its codec settings from.
    pub fn of(config: &crate::config::Config) -> CodecOptions {
        CodecOptions {
            format: config.value_format,
            compress_threshold: config.compress_threshold,
            user_flags: 0,
            max_value_bytes: config.max_value_bytes,
            compression: config.compression(),
        }
    }

    /// The same options with the application's flags.
    pub fn with_user_flags(self, user_flags: u16) -> CodecOptions {
        CodecOptions { user_flags, ..self }
    }
}

/// An encoded value, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded<'a> {
    /// The bytes to store: borrowed from the value when nothing changed.
    pub data: Cow<'a, [u8]>,
    /// The flags to store with them.
    pub flags: u32,
}

/// A value as read back, for a binding to turn into its own types.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A string. In php format any bytes (PHP strings are byte strings; a
    /// Python binding returns `str` when they are valid UTF-8); in pylibmc
    /// format always valid UTF-8.
    Str(Vec<u8>),
    /// A byte string (Python `bytes`).
    Bytes(Vec<u8>),
    /// An integer.
    Int(i64),
    /// An integer beyond `i64`, as canonical decimal text (`-` and digits
    /// without leading zeros): a pylibmc `long`, or a php integer that
    /// memcached's `incr` pushed past `i64::MAX`.
    BigInt(String),
    /// A float.
    Float(f64),
    /// A boolean (php format only; pylibmc's booleans read back as `Int`).
    Bool(bool),
    /// JSON text, to be parsed by the binding.
    Json(Vec<u8>),
    /// A Python pickle, to be loaded by the binding.
    Pickle(Vec<u8>),
    /// PHP `serialize()` output.
    PhpSerialized(Vec<u8>),
    /// igbinary output (written by php-memcached with `SERIALIZER_IGBINARY`).
    Igbinary(Vec<u8>),
    /// msgpack output (written by php-memcached with `SERIALIZER_MSGPACK`).
    Msgpack(Vec<u8>),
}

/// Why a value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueError {
    /// php format: the type nibble names no type.
    UnknownPhpType(u32),
    /// pylibmc format: the type bits are not one known type.
    UnknownPylibmcFlags(u32),
    /// A compressed value states an original length over the caller's limit.
    ClaimsTooMuch {
        /// The length the value states.
        claimed: u64,
        /// The caller's limit.
        limit: usize,
    },
    /// A zlib value without a stated length inflates past the caller's limit.
    InflatesTooMuch {
        /// The caller's limit.
        limit: usize,
    },
    /// A compressed value does not inflate to the length it states.
    LengthMismatch {
        /// The length the value states.
        claimed: u64,
    },
    /// A php compressed value is shorter than its 4-byte length header.
    MissingLength,
    /// The zlib data is malformed or truncated.
    ZlibCorrupt,
    /// The FastLZ data is malformed; the reason says how.
    FastlzCorrupt(&'static str),
    /// The value was compressed with zstd, which mcring does not read.
    Zstd,
    /// The compressed flag is set with no known compression type.
    UnknownCompression(u32),
    /// An integer value is not decimal text.
    NotInteger(String),
    /// A float value is not decimal text.
    NotFloat(String),
    /// A pylibmc text value is not valid UTF-8.
    NotUtf8,
    /// A value longer (uncompressed) than the client's `max_value_bytes`.
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The format has no flag for this kind of value.
    NotInFormat {
        /// The kind of value, e.g. "JSON".
        what: &'static str,
        /// The format's name.
        format: &'static str,
    },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::UnknownPhpType(t) => write!(f, "unknown php-memcached value type {t}"),
            ValueError::UnknownPylibmcFlags(t) => write!(f, "unknown pylibmc value flags {t}"),
            ValueError::ClaimsTooMuch { claimed, limit } => write!(
                f,
                "compressed value claims {claimed} bytes, over the limit of {limit} bytes"
            ),
            ValueError::InflatesTooMuch { limit } => {
                write!(f, "compressed value inflates past the limit of {limit} bytes")
            }
            ValueError::LengthMismatch { claimed } => {
                write!(f, "compressed value does not inflate to the {claimed} bytes it claims")
            }
            ValueError::MissingLength => {
                f.write_str("compressed value is shorter than its 4-byte length header")
            }
            ValueError::ZlibCorrupt => f.write_str("zlib data is corrupt"),
            ValueError::FastlzCorrupt(why) => write!(f, "fastlz data is corrupt: {why}"),
            ValueError::Zstd => f.write_str("zstd-compressed values are not supported"),
            ValueError::UnknownCompression(flags) => write!(
                f,
                "value is marked compressed but names no known compression (flags {flags:#x})"
            ),
            ValueError::NotInteger(text) => write!(f, "not a decimal integer: {text}"),
            ValueError::NotFloat(text) => write!(f, "not a decimal number: {text}"),
            ValueError::NotUtf8 => f.write_str("text value is not valid UTF-8"),
            ValueError::TooLarge { len, limit } => {
                write!(f, "value is {len} bytes, over max_value_bytes {limit}")
            }
            ValueError::NotInFormat { what, format } => {
                write!(f, "{what} values have no flag in {format} format; pickle them instead")
            }
        }
    }
}

impl std::error::Error for ValueError {}

impl From<CompressError> for ValueError {
    fn from(e: CompressError) -> ValueError {
        match e {
            CompressError::ZlibCorrupt => ValueError::ZlibCorrupt,
            CompressError::FastlzCorrupt(why) => ValueError::FastlzCorrupt(why),
            CompressError::OverLimit { limit } => ValueError::InflatesTooMuch { limit },
        }
    }
}

/// The application's flags (bits 16–31) of a stored value's flags.
pub fn user_flags(flags: u32) -> u16 {
    (flags >> 16) as u16
}

/// Encodes a value for storing, compressing (php format) as
/// `opts.compression` says: zlib or FastLZ, each in php-memcached's layout
/// and flags (pylibmc format always uses zlib).
///
/// Fails for a value longer than `max_value_bytes` before compression (so
/// nothing is stored that could not be read back), and for a kind of value
/// the format has no flag for (JSON, PHP serialized, igbinary and msgpack
/// values in pylibmc format).
pub fn encode<'a>(value: &Value<'a>, opts: &CodecOptions) -> Result<Encoded<'a>, ValueError> {
    let len = match value {
        Value::Str(s)
        | Value::Bytes(s)
        | Value::Json(s)
        | Value::Pickle(s)
        | Value::PhpSerialized(s)
        | Value::Igbinary(s)
        | Value::Msgpack(s) => s.len(),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => 0,
    };
    if len > opts.max_value_bytes {
        return Err(ValueError::TooLarge { len, limit: opts.max_value_bytes });
    }
    let mut encoded = match opts.format {
        ValueFormat::Php => encode_php(*value, opts.compress_threshold, &opts.compression),
        ValueFormat::Pylibmc => encode_pylibmc(*value, opts.compress_threshold)?,
    };
    encoded.flags |= u32::from(opts.user_flags) << 16;
    Ok(encoded)
}

fn encode_php<'a>(value: Value<'a>, threshold: usize, compression: &Compression) -> Encoded<'a> {
    use php_flags::*;
    let (data, flags, compressible): (Cow<'_, [u8]>, u32, bool) = match value {
        Value::Str(s) => (Cow::Borrowed(s), STRING, true),
        Value::Bytes(s) => (Cow::Borrowed(s), BYTES, true),
        Value::Int(i) => (Cow::Owned(i.to_string().into_bytes()), LONG, false),
        Value::Float(x) => (Cow::Owned(php_double_text(x).into_bytes()), DOUBLE, false),
        Value::Bool(b) => (Cow::Borrowed(if b { b"1" } else { b"" }), BOOL, false),
        Value::Json(s) => (Cow::Borrowed(s), JSON, true),
        Value::Pickle(s) => (Cow::Borrowed(s), PICKLE, true),
        Value::PhpSerialized(s) => (Cow::Borrowed(s), SERIALIZED, true),
        Value::Igbinary(s) => (Cow::Borrowed(s), IGBINARY, true),
        Value::Msgpack(s) => (Cow::Borrowed(s), MSGPACK, true),
    };
    if compressible && threshold > 0 && data.len() >= threshold {
        if let Some((compressed, kind)) = php_compress(&data, compression) {
            return Encoded { data: Cow::Owned(compressed), flags: flags | COMPRESSED | kind };
        }
    }
    Encoded { data, flags }
}

/// php-memcached's compressed layout (original length as 4 bytes
/// little-endian, then the zlib stream or FastLZ block) and the flag of its
/// algorithm, or `None` when php-memcached would not keep it (see
/// [`Compression::compress`]).
fn php_compress(data: &[u8], compression: &Compression) -> Option<(Vec<u8>, u32)> {
    let original_len = u32::try_from(data.len()).ok()?;
    let z = compression.compress(data)?;
    let kind = match compression.algorithm {
        Algorithm::Zlib => php_flags::ZLIB,
        Algorithm::Fastlz => php_flags::FASTLZ,
    };
    let mut out = Vec::with_capacity(4 + z.len());
    out.extend_from_slice(&original_len.to_le_bytes());
    out.extend_from_slice(&z);
    Some((out, kind))
}

fn encode_pylibmc(value: Value<'_>, threshold: usize) -> Result<Encoded<'_>, ValueError> {
    use pylibmc_flags::*;
    let (data, flags): (Cow<'_, [u8]>, u32) = match value {
        Value::Bytes(s) => (Cow::Borrowed(s), BYTES),
        Value::Str(s) => (Cow::Borrowed(s), TEXT),
        Value::Bool(b) => (Cow::Borrowed(if b { b"1" } else { b"0" }), INTEGER),
        Value::Int(i) => (Cow::Owned(i.to_string().into_bytes()), LONG),
        Value::Float(x) => (Cow::Owned(pickle_float(x)), PICKLE),
        Value::Pickle(s) => (Cow::Borrowed(s), PICKLE),
        Value::Json(_) => return Err(ValueError::NotInFormat { what: "JSON", format: "pylibmc" }),
        Value::PhpSerialized(_) => {
            return Err(ValueError::NotInFormat { what: "PHP serialized", format: "pylibmc" })
        }
        Value::Igbinary(_) => {
            return Err(ValueError::NotInFormat { what: "igbinary", format: "pylibmc" })
        }
        Value::Msgpack(_) => {
            return Err(ValueError::NotInFormat { what: "msgpack", format: "pylibmc" })
        }
    };
    // pylibmc compresses any payload at least min_compress_len long and keeps
    // the result only if it is shorter.
    if threshold > 0 && data.len() >= threshold {
        let z = compress::zlib_compress(&data, compress::ZLIB_DEFAULT_LEVEL);
        if !z.is_empty() && z.len() < data.len() {
            return Ok(Encoded { data: Cow::Owned(z), flags: flags | ZLIB });
        }
    }
    Ok(Encoded { data, flags })
}

/// A float as a pickle (protocol 2, BINFLOAT): what any Python unpickles to
/// the same `float`, as pylibmc's own pickled floats do.
fn pickle_float(x: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&[0x80, 2, b'G']);
    out.extend_from_slice(&x.to_be_bytes());
    out.push(b'.');
    out
}

/// A float as php-memcached writes it (its `g_fmt`): the shortest digits that
/// read back as the same float; exponent form `d.ddde+XX` when the decimal
/// point is more than 5 places right of the digits or 4 left of the first;
/// no leading zero before the point (`.5`); `-0` for negative zero;
/// `Infinity`, `-Infinity` and `NaN` (never the `-NaN` php-memcached writes
/// for a negative NaN and then reads back as 0).
pub fn php_double_text(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let (digits, exp) = shortest_digits(x.abs());
    // Position of the decimal point after the first digit, as dtoa reports.
    let decpt = exp + 1;
    let nd = digits.len() as i32;
    let mut out = String::with_capacity(digits.len() + 8);
    if x.is_sign_negative() {
        out.push('-');
    }
    if decpt <= -4 || decpt > nd + 5 {
        let (first, rest) = digits.split_at_checked(1).unwrap_or(("0", ""));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", e.abs()));
    } else if decpt <= 0 {
        out.push('.');
        for _ in decpt..0 {
            out.push('0');
        }
        out.push_str(&digits);
    } else if decpt >= nd {
        out.push_str(&digits);
        for _ in nd..decpt {
            out.push('0');
        }
    } else {
        let (int_part, frac) = digits.split_at_checked(decpt as usize).unwrap_or((&digits, ""));
        out.push_str(int_part);
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// The shortest decimal digits that read back as `x` (finite, >= 0) and
/// the decimal exponent of the first, choosing as zend_dtoa's mode 0 does:
/// the closest such digits, and on an exact tie the even last digit (Rust's
/// own shortest formatting rounds ties up, e.g. `...863.9063` for
/// 3454183008863.90625 where PHP writes `...863.9062`).
fn shortest_digits(x: f64) -> (String, i32) {
    let (digits, exp) = split_scientific(&format!("{x:e}"));
    match tie_to_even(x, &digits, exp) {
        Some(even) => (even, exp),
        None => (digits, exp),
    }
}

/// Splits Rust's `d.ddde<exp>` into its digits and exponent.
fn split_scientific(text: &str) -> (String, i32) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    (mantissa.chars().filter(char::is_ascii_digit).collect(), exp.parse().unwrap_or(0))
}

/// When `x` lies exactly halfway between two `digits.len()`-digit decimals
/// that both read back as `x`, the one with the even last digit.
fn tie_to_even(x: f64, digits: &str, exp: i32) -> Option<String> {
    let n = digits.len();
    // A tie means x's exact decimal expansion is those n digits and a 5.
    let (rounded, rounded_exp) = split_scientific(&format!("{x:.n$e}"));
    if rounded_exp != exp || !rounded.ends_with('5') {
        return None;
    }
    // f64 values have at most 767 significant decimal digits: this is exact.
    let (exact, _) = split_scientific(&format!("{x:.800e}"));
    let (head, tail) = (exact.get(..n + 1)?, exact.get(n + 1..)?);
    if head != rounded || tail.bytes().any(|b| b != b'0') {
        return None;
    }
    let lower = rounded.get(..n)?.to_string();
    let upper = decimal_increment(&lower)?;
    let reads_back = |d: &str| {
        let (first, rest) = d.split_at_checked(1).unwrap_or((d, ""));
        format!("{first}.{rest}0e{exp}").parse::<f64>().ok() == Some(x)
    };
    // ASCII '0' is even, so a digit's byte has the digit's parity.
    let even = |d: &str| d.bytes().last().is_some_and(|b| b.is_multiple_of(2));
    [lower, upper].into_iter().filter(|d| reads_back(d)).find(|d| even(d))
}

/// `digits + 1` in the last place, or `None` if that needs another digit.
fn decimal_increment(digits: &str) -> Option<String> {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

/// Decodes a stored value. `max_value_bytes` caps how large a compressed
/// value may inflate (php values state their length and are refused before
/// inflating when it is over; pylibmc's zlib values are stopped at the cap).
///
/// Never panics, whatever `data` and `flags` hold.
pub fn decode(data: &[u8], flags: u32, opts: &CodecOptions) -> Result<Decoded, ValueError> {
    let max_len = opts.max_value_bytes;
    match opts.format {
        ValueFormat::Php => decode_php(data, flags, max_len),
        ValueFormat::Pylibmc => decode_pylibmc(data, flags, max_len),
    }
}

fn decode_php(data: &[u8], flags: u32, max_len: usize) -> Result<Decoded, ValueError> {
    use php_flags::*;
    let data: Cow<'_, [u8]> = if flags & COMPRESSED != 0 {
        Cow::Owned(php_decompress(data, flags, max_len)?)
    } else {
        Cow::Borrowed(data)
    };
    let kind = flags & TYPE_MASK;
    Ok(match kind {
        STRING if flags & MCRING != 0 => Decoded::Bytes(data.into_owned()),
        STRING => Decoded::Str(data.into_owned()),
        LONG => parse_integer(&data)?,
        DOUBLE => Decoded::Float(parse_php_double(&data)?),
        // php-memcached: true when the payload starts with '1'.
        BOOL => Decoded::Bool(data.first() == Some(&b'1')),
        SERIALIZED => Decoded::PhpSerialized(data.into_owned()),
        IGBINARY => Decoded::Igbinary(data.into_owned()),
        JSON => Decoded::Json(data.into_owned()),
        MSGPACK => Decoded::Msgpack(data.into_owned()),
        PICKLE_TYPE if flags & MCRING != 0 => Decoded::Pickle(data.into_owned()),
        other => return Err(ValueError::UnknownPhpType(other)),
    })
}

/// A stored string whose stored bytes are the value itself; see
/// [`plain_string`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlainString {
    /// A text string (PHP string, Python `str` where it is UTF-8).
    Text,
    /// A byte string (Python `bytes`).
    Bytes,
}

/// Whether a value stored with `flags` is a string that needs no decoding
/// (not compressed, no conversion): then a binding can build its object
/// straight from the received bytes, as [`decode`] would return them.
pub fn plain_string(flags: u32, format: ValueFormat) -> Option<PlainString> {
    match format {
        ValueFormat::Php => match flags & 0xffff {
            php_flags::STRING => Some(PlainString::Text),
            php_flags::BYTES => Some(PlainString::Bytes),
            _ => None,
        },
        // pylibmc's text must be checked as UTF-8: only bytes are plain.
        ValueFormat::Pylibmc => (flags & (pylibmc_flags::TYPE_MASK | pylibmc_flags::ZLIB)
            == pylibmc_flags::BYTES)
            .then_some(PlainString::Bytes),
    }
}

/// A stored value with `piece` added at its end (or start, with `prepend`),
/// as memcached's `append` would do to the uncompressed value: a compressed
/// value is inflated first and compressed again after (when that still pays
/// off), so the result is a valid value of the same type and user flags.
pub fn concat(
    data: &[u8],
    flags: u32,
    piece: &[u8],
    prepend: bool,
    opts: &CodecOptions,
) -> Result<Encoded<'static>, ValueError> {
    let max_len = opts.max_value_bytes;
    let (payload, base_flags) = match opts.format {
        ValueFormat::Php => {
            use php_flags::*;
            let payload = if flags & COMPRESSED != 0 {
                php_decompress(data, flags, max_len)?
            } else {
                data.to_vec()
            };
            (payload, flags & !(COMPRESSED | ZLIB | FASTLZ | ZSTD))
        }
        ValueFormat::Pylibmc => {
            use pylibmc_flags::*;
            let payload = if flags & ZLIB != 0 {
                compress::zlib_decompress(data, max_len)?
            } else {
                data.to_vec()
            };
            (payload, flags & !ZLIB)
        }
    };
    if payload.len() + piece.len() > max_len {
        return Err(ValueError::TooLarge { len: payload.len() + piece.len(), limit: max_len });
    }
    let mut joined = Vec::with_capacity(payload.len() + piece.len());
    if prepend {
        joined.extend_from_slice(piece);
        joined.extend_from_slice(&payload);
    } else {
        joined.extend_from_slice(&payload);
        joined.extend_from_slice(piece);
    }
    let threshold = opts.compress_threshold;
    if threshold > 0 && joined.len() >= threshold {
        match opts.format {
            ValueFormat::Php => {
                let compressible = matches!(
                    base_flags & php_flags::TYPE_MASK,
                    php_flags::STRING
                        | php_flags::SERIALIZED
                        | php_flags::JSON
                        | php_flags::PICKLE_TYPE
                );
                if compressible {
                    if let Some((z, kind)) = php_compress(&joined, &opts.compression) {
                        let flags = base_flags | php_flags::COMPRESSED | kind;
                        return Ok(Encoded { data: Cow::Owned(z), flags });
                    }
                }
            }
            ValueFormat::Pylibmc => {
                let z = compress::zlib_compress(&joined, compress::ZLIB_DEFAULT_LEVEL);
                if !z.is_empty() && z.len() < joined.len() {
                    let flags = base_flags | pylibmc_flags::ZLIB;
                    return Ok(Encoded { data: Cow::Owned(z), flags });
                }
            }
        }
    }
    Ok(Encoded { data: Cow::Owned(joined), flags: base_flags })
}

/// Inflates a php-memcached compressed payload (zlib or FastLZ, after a
/// 4-byte little-endian original length), checking the length against
/// `max_len` first and against the result after.
fn php_decompress(data: &[u8], flags: u32, max_len: usize) -> Result<Vec<u8>, ValueError> {
    use php_flags::*;
    if flags & ZSTD != 0 {
        return Err(ValueError::Zstd);
    }
    let (header, body) = data.split_first_chunk::<4>().ok_or(ValueError::MissingLength)?;
    let claimed = u32::from_le_bytes(*header);
    let claimed_len = usize::try_from(claimed).unwrap_or(usize::MAX);
    if claimed_len > max_len {
        return Err(ValueError::ClaimsTooMuch { claimed: u64::from(claimed), limit: max_len });
    }
    let mismatch = ValueError::LengthMismatch { claimed: u64::from(claimed) };
    // php-memcached tries FastLZ before zlib when both bits are set.
    let result = if flags & FASTLZ != 0 {
        compress::fastlz_decompress(body, claimed_len)
    } else if flags & ZLIB != 0 {
        compress::zlib_decompress(body, claimed_len)
    } else {
        return Err(ValueError::UnknownCompression(flags));
    };
    let out = result.map_err(|e| match e {
        CompressError::OverLimit { .. } => mismatch.clone(),
        other => other.into(),
    })?;
    if out.len() != claimed_len {
        return Err(mismatch);
    }
    Ok(out)
}

fn decode_pylibmc(data: &[u8], flags: u32, max_len: usize) -> Result<Decoded, ValueError> {
    use pylibmc_flags::*;
    let data: Cow<'_, [u8]> = if flags & ZLIB != 0 {
        Cow::Owned(compress::zlib_decompress(data, max_len)?)
    } else {
        Cow::Borrowed(data)
    };
    Ok(match flags & TYPE_MASK {
        BYTES => Decoded::Bytes(data.into_owned()),
        PICKLE => Decoded::Pickle(data.into_owned()),
        INTEGER | LONG => parse_integer(&data)?,
        TEXT => {
            let text = data.into_owned();
            if std::str::from_utf8(&text).is_err() {
                return Err(ValueError::NotUtf8);
            }
            Decoded::Str(text)
        }
        other => return Err(ValueError::UnknownPylibmcFlags(other)),
    })
}

/// At most this much of a bad value is quoted in an error message.
const QUOTE_LIMIT: usize = 40;

fn quote(data: &[u8]) -> String {
    let shown = data.get(..QUOTE_LIMIT).unwrap_or(data);
    let mut text = format!("{:?}", String::from_utf8_lossy(shown));
    if shown.len() < data.len() {
        text.push_str("...");
    }
    text
}

/// Decimal integer text, with optional sign and the surrounding whitespace
/// memcached leaves (`decr` pads a shorter result with trailing spaces).
/// Integers beyond `i64` come back as [`Decoded::BigInt`].
fn parse_integer(data: &[u8]) -> Result<Decoded, ValueError> {
    let bad = || ValueError::NotInteger(quote(data));
    let text = std::str::from_utf8(data.trim_ascii()).map_err(|_| bad())?;
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or("")),
        Some(b'+') => (false, text.get(1..).unwrap_or("")),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Decoded::Int(i));
    }
    let digits = digits.trim_start_matches('0');
    Ok(Decoded::BigInt(if negative { format!("-{digits}") } else { digits.to_string() }))
}

/// A float as php-memcached reads it: `Infinity`, `-Infinity`, `NaN`, or
/// decimal text (including its `.5` and `1e+20` forms).
fn parse_php_double(data: &[u8]) -> Result<f64, ValueError> {
    let bad = || ValueError::NotFloat(quote(data));
    let text = std::str::from_utf8(data.trim_ascii()).map_err(|_| bad())?;
    match text {
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        "NaN" | "-NaN" => Ok(f64::NAN),
        _ if text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) => {
            text.parse::<f64>().map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod concat_tests {
    use super::*;

    fn dec(format: ValueFormat, max: usize) -> CodecOptions {
        CodecOptions {
            format,
            compress_threshold: 0,
            user_flags: 0,
            max_value_bytes: max,
            compression: Compression::default(),
        }
    }

    #[test]
    fn plain_strings_decode_to_themselves() {
        for (format, value) in [
            (ValueFormat::Php, Value::Str(b"text")),
            (ValueFormat::Php, Value::Bytes(b"\xff\x00")),
            (ValueFormat::Pylibmc, Value::Bytes(b"raw")),
        ] {
            let opts = CodecOptions {
                format,
                compress_threshold: 0,
                user_flags: 3,
                max_value_bytes: 1 << 20,
                compression: Compression::default(),
            };
            let e = encode(&value, &opts).unwrap();
            let plain = plain_string(e.flags, format).expect("plain");
            let decoded = decode(&e.data, e.flags, &dec(format, 1 << 20)).unwrap();
            match (plain, decoded) {
                (PlainString::Text, Decoded::Str(d)) | (PlainString::Bytes, Decoded::Bytes(d)) => {
                    assert_eq!(d, e.data.as_ref())
                }
                other => panic!("{other:?}"),
            }
        }
        let opts = CodecOptions {
            format: ValueFormat::Php,
            compress_threshold: 10,
            user_flags: 0,
            max_value_bytes: 1 << 20,
            compression: Compression::default(),
        };
        let compressed = encode(&Value::Str(&[b'a'; 1000]), &opts).unwrap();
        assert_eq!(plain_string(compressed.flags, ValueFormat::Php), None);
        assert_eq!(plain_string(php_flags::LONG, ValueFormat::Php), None);
    }

    #[test]
    fn appends_to_compressed_values_of_both_formats() {
        for format in [ValueFormat::Php, ValueFormat::Pylibmc] {
            let opts = CodecOptions {
                format,
                compress_threshold: 100,
                user_flags: 7,
                max_value_bytes: 1 << 20,
                compression: Compression::default(),
            };
            let long = vec![b'a'; 5000];
            let stored = encode(&Value::Str(&long), &opts).unwrap();
            assert!(stored.data.len() < 1000, "{format:?}: stored compressed");
            let out = concat(
                &stored.data,
                stored.flags,
                b"-end",
                false,
                &CodecOptions { max_value_bytes: 1 << 20, ..opts },
            )
            .unwrap();
            let back = decode(&out.data, out.flags, &dec(format, 1 << 20)).unwrap();
            let mut want = long.clone();
            want.extend_from_slice(b"-end");
            assert_eq!(back, Decoded::Str(want), "{format:?}");
            assert_eq!(user_flags(out.flags), 7);
            let out = concat(
                b"tail",
                0,
                b"head-",
                true,
                &CodecOptions { max_value_bytes: 1 << 20, ..opts },
            )
            .unwrap();
            assert_eq!(out.data.as_ref(), b"head-tail");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 1 << 20;

    /// Decoding options of `format` with inflate limit `max`.
    fn dec(format: ValueFormat, max: usize) -> CodecOptions {
        CodecOptions {
            format,
            compress_threshold: 0,
            user_flags: 0,
            max_value_bytes: max,
            compression: Compression::default(),
        }
    }

    fn php(threshold: usize) -> CodecOptions {
        CodecOptions {
            format: ValueFormat::Php,
            compress_threshold: threshold,
            user_flags: 0,
            max_value_bytes: MAX,
            compression: Compression::default(),
        }
    }

    fn pylibmc(threshold: usize) -> CodecOptions {
        CodecOptions {
            format: ValueFormat::Pylibmc,
            compress_threshold: threshold,
            user_flags: 0,
            max_value_bytes: MAX,
            compression: Compression::default(),
        }
    }

    fn enc(value: Value<'_>, opts: CodecOptions) -> (Vec<u8>, u32) {
        let e = encode(&value, &opts).unwrap();
        (e.data.into_owned(), e.flags)
    }

    fn round_trip(value: Value<'_>, opts: CodecOptions) -> Decoded {
        let (data, flags) = enc(value, opts);
        decode(&data, flags, &dec(opts.format, MAX)).unwrap()
    }

    #[test]
    fn php_strings_and_bytes() {
        assert_eq!(enc(Value::Str(b"hello"), php(2000)), (b"hello".to_vec(), 0));
        assert_eq!(enc(Value::Bytes(b"\xff\x00"), php(2000)), (b"\xff\x00".to_vec(), 0x8000));
        assert_eq!(
            round_trip(Value::Str(b"caf\xc3\xa9"), php(2000)),
            Decoded::Str(b"caf\xc3\xa9".to_vec())
        );
        assert_eq!(
            round_trip(Value::Bytes(b"\xff\x00"), php(2000)),
            Decoded::Bytes(b"\xff\x00".to_vec())
        );
        assert_eq!(round_trip(Value::Str(b""), php(2000)), Decoded::Str(Vec::new()));
    }

    #[test]
    fn php_scalars_as_php_memcached_writes_them() {
        assert_eq!(enc(Value::Int(-42), php(1)), (b"-42".to_vec(), 1));
        assert_eq!(enc(Value::Int(i64::MIN), php(1)), (b"-9223372036854775808".to_vec(), 1));
        assert_eq!(enc(Value::Float(1.5), php(1)), (b"1.5".to_vec(), 2));
        assert_eq!(enc(Value::Bool(true), php(1)), (b"1".to_vec(), 3));
        assert_eq!(enc(Value::Bool(false), php(1)), (Vec::new(), 3));
        assert_eq!(round_trip(Value::Int(i64::MAX), php(1)), Decoded::Int(i64::MAX));
        assert_eq!(round_trip(Value::Float(-0.25), php(1)), Decoded::Float(-0.25));
        assert_eq!(round_trip(Value::Bool(true), php(1)), Decoded::Bool(true));
        assert_eq!(round_trip(Value::Bool(false), php(1)), Decoded::Bool(false));
    }

    #[test]
    fn php_double_text_follows_g_fmt() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (0.5, ".5"),
            (-0.5, "-.5"),
            (0.1, ".1"),
            (0.001, ".001"),
            (0.0001, ".0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (1234567.0, "1234567"),
            (12345678901.0, "12345678901"),
            (1e20, "1e+20"),
            (1.25e100, "1.25e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (3.25, "3.25"),
            // Exact ties between two shortest candidates go to the even digit.
            // 3454183008863.90625 exactly, halfway between ...9062 and ...9063.
            (f64::from_bits(0x428921eacf52ff40), "3454183008863.9062"),
            (0.1 + 0.2, ".30000000000000004"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
            (-f64::NAN, "NaN"),
        ];
        for &(x, text) in cases {
            assert_eq!(php_double_text(x), text, "{x:?}");
        }
    }

    #[test]
    fn php_reads_floats_and_specials() {
        let d = |s: &[u8]| decode(s, 2, &dec(ValueFormat::Php, MAX));
        assert_eq!(d(b".5"), Ok(Decoded::Float(0.5)));
        assert_eq!(d(b"-.5"), Ok(Decoded::Float(-0.5)));
        assert_eq!(d(b"1e+20"), Ok(Decoded::Float(1e20)));
        assert_eq!(d(b"Infinity"), Ok(Decoded::Float(f64::INFINITY)));
        assert_eq!(d(b"-Infinity"), Ok(Decoded::Float(f64::NEG_INFINITY)));
        assert!(matches!(d(b"NaN"), Ok(Decoded::Float(x)) if x.is_nan()));
        assert_eq!(d(b"abc"), Err(ValueError::NotFloat("\"abc\"".into())));
        assert_eq!(d(b"inf"), Err(ValueError::NotFloat("\"inf\"".into())));
        assert!(d(b"").is_err());
    }

    #[test]
    fn php_float_text_round_trips() {
        for x in [1.0 / 3.0, 2.0f64.powi(60), 123.456e-10, -9.99e99, 7e22, 1e21, 1e-4, 9.5e-5] {
            assert_eq!(round_trip(Value::Float(x), php(1)), Decoded::Float(x), "{x}");
        }
    }

    #[test]
    fn integers_read_like_memcached_leaves_them() {
        let d = |s: &[u8]| decode(s, 1, &dec(ValueFormat::Php, MAX));
        assert_eq!(d(b"42"), Ok(Decoded::Int(42)));
        assert_eq!(d(b"9 "), Ok(Decoded::Int(9)), "decr pads with spaces");
        assert_eq!(d(b"+7"), Ok(Decoded::Int(7)));
        assert_eq!(d(b"-0"), Ok(Decoded::Int(0)));
        assert_eq!(
            d(b"18446744073709551615"),
            Ok(Decoded::BigInt("18446744073709551615".into())),
            "incr wraps at 2^64, past i64"
        );
        assert_eq!(
            d(b"-00099999999999999999999"),
            Ok(Decoded::BigInt("-99999999999999999999".into()))
        );
        assert_eq!(d(b"12a"), Err(ValueError::NotInteger("\"12a\"".into())));
        assert_eq!(d(b""), Err(ValueError::NotInteger("\"\"".into())));
        assert_eq!(d(b"-"), Err(ValueError::NotInteger("\"-\"".into())));
        assert_eq!(
            ValueError::NotInteger(quote(&[b'x'; 100])).to_string(),
            format!("not a decimal integer: \"{}\"...", "x".repeat(40))
        );
    }

    #[test]
    fn php_bool_reads_first_byte() {
        let d = |s: &[u8]| decode(s, 3, &dec(ValueFormat::Php, MAX));
        assert_eq!(d(b"1"), Ok(Decoded::Bool(true)));
        assert_eq!(d(b"10"), Ok(Decoded::Bool(true)));
        assert_eq!(d(b""), Ok(Decoded::Bool(false)));
        assert_eq!(d(b"0"), Ok(Decoded::Bool(false)));
        assert_eq!(d(b"true"), Ok(Decoded::Bool(false)));
    }

    #[test]
    fn php_serialized_types() {
        assert_eq!(enc(Value::Json(b"[1,2]"), php(2000)), (b"[1,2]".to_vec(), 6));
        assert_eq!(enc(Value::PhpSerialized(b"a:0:{}"), php(2000)), (b"a:0:{}".to_vec(), 4));
        assert_eq!(enc(Value::Igbinary(b"\0\0\0\x02\x14\0"), php(2000)).1, 5);
        assert_eq!(enc(Value::Msgpack(b"\x90"), php(2000)), (b"\x90".to_vec(), 7));
        assert_eq!(enc(Value::Pickle(b"\x80\x04N."), php(2000)), (b"\x80\x04N.".to_vec(), 0x800F));
        assert_eq!(round_trip(Value::Json(b"{}"), php(0)), Decoded::Json(b"{}".to_vec()));
        assert_eq!(round_trip(Value::Pickle(b"p"), php(0)), Decoded::Pickle(b"p".to_vec()));
        assert_eq!(
            round_trip(Value::PhpSerialized(b"N;"), php(0)),
            Decoded::PhpSerialized(b"N;".to_vec())
        );
        assert_eq!(
            decode(b"ig", 5, &dec(ValueFormat::Php, MAX)),
            Ok(Decoded::Igbinary(b"ig".to_vec()))
        );
        assert_eq!(
            decode(b"mp", 7, &dec(ValueFormat::Php, MAX)),
            Ok(Decoded::Msgpack(b"mp".to_vec()))
        );
    }

    #[test]
    fn php_unknown_types() {
        for t in 8..=15u32 {
            let err = decode(b"x", t, &dec(ValueFormat::Php, MAX)).unwrap_err();
            assert_eq!(err, ValueError::UnknownPhpType(t));
        }
        assert_eq!(
            decode(b"x", 9, &dec(ValueFormat::Php, MAX)).unwrap_err().to_string(),
            "unknown php-memcached value type 9"
        );
    }

    #[test]
    fn php_compression() {
        let big = b"the quick brown fox ".repeat(200);
        let (data, flags) = enc(Value::Str(&big), php(2000));
        assert_eq!(flags, 0x30, "COMPRESSED | ZLIB, type string");
        assert_eq!(&data[..4], &(big.len() as u32).to_le_bytes());
        assert_eq!(compress::zlib_decompress(&data[4..], MAX).unwrap(), big);
        assert_eq!(
            decode(&data, flags, &dec(ValueFormat::Php, MAX)),
            Ok(Decoded::Str(big.clone()))
        );

        // Below the threshold, at 0, and for numbers: never.
        assert_eq!(enc(Value::Str(&big), php(big.len() + 1)).1, 0);
        assert_eq!(enc(Value::Str(&big), php(0)).1, 0);
        assert_eq!(enc(Value::Int(1234567), php(1)).1, 1);
        assert_eq!(enc(Value::Float(1.25), php(1)).1, 2);
        // Exactly at the threshold: yes.
        assert_eq!(enc(Value::Str(&big), php(big.len())).1, 0x30);
        // Bytes, JSON, pickles compress and keep their marks.
        assert_eq!(enc(Value::Bytes(&big), php(100)).1, 0x8030);
        assert_eq!(enc(Value::Json(&big), php(100)).1, 0x36);
        assert_eq!(enc(Value::Pickle(&big), php(100)).1, 0x803F);
        assert_eq!(round_trip(Value::Bytes(&big), php(100)), Decoded::Bytes(big.clone()));
        assert_eq!(round_trip(Value::Pickle(&big), php(100)), Decoded::Pickle(big.clone()));
    }

    #[test]
    fn php_compression_factor_rule() {
        // Random bytes do not compress: stored plain.
        let mut state = 7u64;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        assert_eq!(enc(Value::Str(&noise), php(100)), (noise.clone(), 0));
        // Noise followed by more and more repetition crosses the 1.3 rule
        // somewhere; the encoder must follow the rule on both sides of it.
        let (mut kept, mut refused) = (0, 0);
        for extra in (0..4000).step_by(250) {
            let mut mixed = noise[..3000].to_vec();
            mixed.extend(std::iter::repeat_n(b'a', extra));
            let z = compress::zlib_compress(&mixed, compress::ZLIB_DEFAULT_LEVEL);
            let rule = mixed.len() as f64 > z.len() as f64 * 1.3;
            let flags = enc(Value::Str(&mixed), php(100)).1;
            assert_eq!(flags == 0x30, rule, "extra {extra}");
            if rule {
                kept += 1;
            } else {
                refused += 1;
            }
        }
        assert!(kept > 0 && refused > 0, "the sweep must cross the boundary");
    }

    #[test]
    fn php_fastlz_compression() {
        let fastlz = Compression { algorithm: Algorithm::Fastlz, ..Compression::default() };
        let opts = CodecOptions { compression: fastlz, ..php(2000) };
        let text = "fastlz compresses this. ".repeat(200);
        let e = encode(&Value::Str(text.as_bytes()), &opts).unwrap();
        assert_eq!(e.flags, php_flags::COMPRESSED | php_flags::FASTLZ);
        assert_eq!(&e.data[..4], &(text.len() as u32).to_le_bytes());
        assert_eq!(&e.data[4..], &compress::fastlz_compress(text.as_bytes())[..]);
        assert_eq!(decode(&e.data, e.flags, &opts), Ok(Decoded::Str(text.into_bytes())));
        // A higher factor keeps it as it is.
        let strict = CodecOptions { compression: Compression { factor: 1000.0, ..fastlz }, ..opts };
        let plain = b"ab".repeat(2000);
        let e = encode(&Value::Str(&plain), &strict).unwrap();
        assert_eq!(e.flags, php_flags::STRING);
    }

    #[test]
    fn php_fastlz_values() {
        // "abc" then a 6-byte reference: 9 bytes, stated length 9.
        let mut data = 9u32.to_le_bytes().to_vec();
        data.extend_from_slice(&[2, b'a', b'b', b'c', (4 << 5), 2]);
        assert_eq!(
            decode(&data, 0x50, &dec(ValueFormat::Php, MAX)),
            Ok(Decoded::Str(b"abcabcabc".to_vec()))
        );
        assert_eq!(
            decode(&data, 0x56, &dec(ValueFormat::Php, MAX)),
            Ok(Decoded::Json(b"abcabcabc".to_vec()))
        );
        // Stated length larger or smaller than the real one.
        data[0] = 10;
        assert_eq!(
            decode(&data, 0x50, &dec(ValueFormat::Php, MAX)),
            Err(ValueError::LengthMismatch { claimed: 10 })
        );
        data[0] = 8;
        assert_eq!(
            decode(&data, 0x50, &dec(ValueFormat::Php, MAX)),
            Err(ValueError::LengthMismatch { claimed: 8 })
        );
        // Corrupt block.
        let mut bad = 9u32.to_le_bytes().to_vec();
        bad.extend_from_slice(&[2, b'a', b'b', b'c', (4 << 5), 9]);
        assert_eq!(
            decode(&bad, 0x50, &dec(ValueFormat::Php, MAX)),
            Err(ValueError::FastlzCorrupt("reference before the start"))
        );
    }

    #[test]
    fn php_decompression_guards() {
        let mut bomb = 2_000_000_000u32.to_le_bytes().to_vec();
        bomb.extend_from_slice(&compress::zlib_compress(&[0u8; 4096], 9));
        let err = decode(&bomb, 0x30, &dec(ValueFormat::Php, MAX)).unwrap_err();
        assert_eq!(err, ValueError::ClaimsTooMuch { claimed: 2_000_000_000, limit: MAX });
        assert_eq!(
            err.to_string(),
            "compressed value claims 2000000000 bytes, over the limit of 1048576 bytes"
        );
        // A zlib stream that inflates to more than it claims.
        let mut liar = 100u32.to_le_bytes().to_vec();
        liar.extend_from_slice(&compress::zlib_compress(&[0u8; 4096], 9));
        assert_eq!(
            decode(&liar, 0x30, &dec(ValueFormat::Php, MAX)),
            Err(ValueError::LengthMismatch { claimed: 100 })
        );
        assert_eq!(
            decode(b"abc", 0x30, &dec(ValueFormat::Php, MAX)),
            Err(ValueError::MissingLength)
        );
        let mut junk = 10u32.to_le_bytes().to_vec();
        junk.extend_from_slice(b"not zlib");
        assert_eq!(decode(&junk, 0x30, &dec(ValueFormat::Php, MAX)), Err(ValueError::ZlibCorrupt));
        assert_eq!(
            decode(&junk, 0x90, &dec(ValueFormat::Php, MAX)).unwrap_err().to_string(),
            "zstd-compressed values are not supported"
        );
        assert_eq!(
            decode(&junk, 0x10, &dec(ValueFormat::Php, MAX)),
            Err(ValueError::UnknownCompression(0x10))
        );
        // Compression-type bits without COMPRESSED are ignored, as by php-memcached.
        assert_eq!(
            decode(b"plain", 0x20, &dec(ValueFormat::Php, MAX)),
            Ok(Decoded::Str(b"plain".to_vec()))
        );
    }

    #[test]
    fn user_flags_live_in_the_high_bits() {
        let opts = CodecOptions { user_flags: 0xBEEF, ..php(2000) };
        let e = encode(&Value::Int(5), &opts).unwrap();
        assert_eq!(e.flags, 0xBEEF_0001);
        assert_eq!(user_flags(e.flags), 0xBEEF);
        assert_eq!(decode(&e.data, e.flags, &dec(ValueFormat::Php, MAX)), Ok(Decoded::Int(5)));
        let big = b"x".repeat(5000);
        let e =
            encode(&Value::Bytes(&big), &CodecOptions { user_flags: 0xFFFF, ..php(100) }).unwrap();
        assert_eq!(e.flags, 0xFFFF_8030);
        assert_eq!(decode(&e.data, e.flags, &dec(ValueFormat::Php, MAX)), Ok(Decoded::Bytes(big)));
        let e = encode(&Value::Str(b"s"), &CodecOptions { user_flags: 3, ..pylibmc(0) }).unwrap();
        assert_eq!(e.flags, 0x0003_0010);
        assert_eq!(
            decode(&e.data, e.flags, &dec(ValueFormat::Pylibmc, MAX)),
            Ok(Decoded::Str(b"s".to_vec()))
        );
    }

    #[test]
    fn pylibmc_types() {
        assert_eq!(enc(Value::Bytes(b"b"), pylibmc(0)), (b"b".to_vec(), 0));
        assert_eq!(enc(Value::Str(b"s"), pylibmc(0)), (b"s".to_vec(), 16));
        assert_eq!(enc(Value::Bool(true), pylibmc(0)), (b"1".to_vec(), 2));
        assert_eq!(enc(Value::Bool(false), pylibmc(0)), (b"0".to_vec(), 2));
        assert_eq!(enc(Value::Int(-7), pylibmc(0)), (b"-7".to_vec(), 4));
        assert_eq!(enc(Value::Pickle(b"\x80\x04N."), pylibmc(0)), (b"\x80\x04N.".to_vec(), 1));
        assert_eq!(
            enc(Value::Float(1.5), pylibmc(0)),
            (b"\x80\x02G\x3f\xf8\x00\x00\x00\x00\x00\x00.".to_vec(), 1)
        );
        assert_eq!(round_trip(Value::Bool(true), pylibmc(0)), Decoded::Int(1));
        assert_eq!(round_trip(Value::Int(i64::MIN), pylibmc(0)), Decoded::Int(i64::MIN));
        assert_eq!(round_trip(Value::Bytes(b"\xff"), pylibmc(0)), Decoded::Bytes(b"\xff".to_vec()));
        assert_eq!(
            encode(&Value::Json(b"{}"), &pylibmc(0)).unwrap_err().to_string(),
            "JSON values have no flag in pylibmc format; pickle them instead"
        );
        assert!(encode(&Value::PhpSerialized(b"N;"), &pylibmc(0)).is_err());
        assert!(encode(&Value::Igbinary(b"x"), &pylibmc(0)).is_err());
        assert!(encode(&Value::Msgpack(b"x"), &pylibmc(0)).is_err());
    }

    #[test]
    fn pylibmc_reads() {
        let d = |s: &[u8], f| decode(s, f, &dec(ValueFormat::Pylibmc, MAX));
        assert_eq!(
            d(b"123456789012345678901234567890", 4),
            Ok(Decoded::BigInt("123456789012345678901234567890".into()))
        );
        assert_eq!(d(b"1", 2), Ok(Decoded::Int(1)));
        assert_eq!(d(b"\xff", 16), Err(ValueError::NotUtf8));
        assert_eq!(d(b"x", 3), Err(ValueError::UnknownPylibmcFlags(3)));
        assert_eq!(
            d(b"x", 0x20),
            Ok(Decoded::Bytes(b"x".to_vec())),
            "bits outside the types are ignored"
        );
        assert_eq!(d(b"x", 8), Err(ValueError::ZlibCorrupt));
    }

    #[test]
    fn pylibmc_compression() {
        let big = "héllo wörld ".repeat(300);
        let (data, flags) = enc(Value::Str(big.as_bytes()), pylibmc(1000));
        assert_eq!(flags, 16 | 8);
        assert_eq!(data[0], 0x78, "a bare zlib stream, no length prefix");
        assert_eq!(
            decode(&data, flags, &dec(ValueFormat::Pylibmc, MAX)),
            Ok(Decoded::Str(big.clone().into_bytes()))
        );
        assert_eq!(
            decode(&data, flags, &dec(ValueFormat::Pylibmc, 100)),
            Err(ValueError::InflatesTooMuch { limit: 100 })
        );
        assert_eq!(enc(Value::Str(big.as_bytes()), pylibmc(0)).1, 16);
        // pylibmc keeps any saving at all, not php's 1.3 factor.
        assert_eq!(enc(Value::Int(1111111111111111111), pylibmc(10)).1, 4 | 8);
    }

    proptest! {
        #[test]
        fn decode_never_panics(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            flags in any::<u32>(),
            limit in 0usize..100_000,
        ) {
            let _ = decode(&data, flags, &dec(ValueFormat::Php, limit));
            let _ = decode(&data, flags, &dec(ValueFormat::Pylibmc, limit));
        }

        #[test]
        fn decode_of_compressed_garbage_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            claimed in 0u32..5000,
            kind in prop_oneof![Just(0x30u32), Just(0x50), Just(0x70), Just(0x10), Just(0x36)],
        ) {
            let mut data = claimed.to_le_bytes().to_vec();
            data.extend_from_slice(&body);
            let _ = decode(&data, kind, &dec(ValueFormat::Php, 4096));
        }

        #[test]
        fn floats_round_trip(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            let text = php_double_text(x);
            let back = parse_php_double(text.as_bytes()).unwrap();
            prop_assert!(back.to_bits() == x.to_bits() || (x.is_nan() && back.is_nan()), "{x:?} -> {text}");
        }

        #[test]
        fn strings_round_trip(data in proptest::collection::vec(any::<u8>(), 0..5000), threshold in 0usize..3000) {
            prop_assert_eq!(round_trip(Value::Str(&data), php(threshold)), Decoded::Str(data.clone()));
            prop_assert_eq!(round_trip(Value::Bytes(&data), php(threshold)), Decoded::Bytes(data.clone()));
            prop_assert_eq!(round_trip(Value::Bytes(&data), pylibmc(threshold)), Decoded::Bytes(data.clone()));
        }

        #[test]
        fn integers_round_trip(i in any::<i64>()) {
            prop_assert_eq!(round_trip(Value::Int(i), php(1)), Decoded::Int(i));
            prop_assert_eq!(round_trip(Value::Int(i), pylibmc(1)), Decoded::Int(i));
        }
    }
}
