//! memcached's text and meta protocols: request encoding and incremental
//! reply parsing, with no I/O.
//!
//! Encoders append one complete request to a caller's `Vec<u8>`. They write
//! a namespace `prefix` before every key and do not check keys: callers check
//! them first (see [`crate::key`]).
//!
//! Parsers read one reply from the front of a byte slice that holds what has
//! arrived so far. They return `Ok(None)` while the reply is incomplete and
//! `Ok(Some((reply, consumed)))` once it is whole; the caller then drops
//! `consumed` bytes from its buffer. Replies borrow from the slice, so parsing
//! never allocates. Memory stays bounded: a value header announcing more than
//! [`Limits::max_value_len`] bytes fails as soon as its line is read, and a
//! line longer than [`Limits::max_line_len`] fails without waiting for its end.
//!
//! Line ends from the server must be `\r\n`: a line ended by a bare `\n` is a
//! [`ProtocolError`]. Any `ProtocolError` means the byte stream can no longer
//! be trusted and the connection should be closed.

use std::fmt;

pub mod meta;
pub mod text;

pub use meta::{
    encode_ma, encode_md, encode_mg, encode_mn, encode_ms, parse_meta_reply, MetaFlag, MetaFlags,
    MetaReply,
};
pub use text::{
    encode_arith, encode_delete, encode_flush_all, encode_metadump, encode_retrieval, encode_stats,
    encode_storage, encode_touch, encode_version, parse_metadump_line, parse_text_reply, Arith,
    MetadumpLine, Retrieval, Storage, TextReply,
};

/// The longest data block a reply may announce and still be skipped (see
/// `TextReply::Oversized`): memcached stores no item over 1 GiB, so a longer
/// announcement is garbage and a protocol error.
pub const MAX_SKIPPABLE_LEN: u64 = 1 << 30;

/// Bounds on what a parser accepts from a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest data block a `VALUE` or `VA` header may announce, in bytes.
    pub max_value_len: usize,
    /// Longest reply line accepted, counting its `\r\n`.
    pub max_line_len: usize,
}

impl Default for Limits {
    /// 1 MiB values (memcached's default item size limit) and 4096-byte lines.
    fn default() -> Limits {
        Limits { max_value_len: 1 << 20, max_line_len: 4096 }
    }
}

/// What kind of [`ProtocolError`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolErrorKind {
    /// A value header announced a data block over [`Limits::max_value_len`].
    ValueTooLarge,
    /// No line end within [`Limits::max_line_len`] bytes.
    LineTooLong,
    /// A line ended by `\n` without the `\r` before it.
    BareNewline,
    /// A data block was not followed by `\r\n`.
    BadDataTerminator,
    /// A number was missing, not decimal, or too large for its field.
    BadNumber,
    /// A known reply line with missing, extra or empty fields.
    MalformedLine,
    /// A line that is no reply this parser knows.
    UnexpectedLine,
}

/// A reply that breaks the protocol. The connection it came from should be
/// closed: what follows in the stream cannot be framed reliably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    kind: ProtocolErrorKind,
    message: String,
}

impl ProtocolError {
    /// What went wrong, for callers that act on the kind.
    pub fn kind(&self) -> ProtocolErrorKind {
        self.kind
    }

    pub(crate) fn new(kind: ProtocolErrorKind, message: String) -> ProtocolError {
        ProtocolError { kind, message }
    }

    pub(crate) fn value_too_large(header: &str, len: u64, limit: usize) -> ProtocolError {
        ProtocolError::new(
            ProtocolErrorKind::ValueTooLarge,
            format!("{header} length {len} over limit {limit}"),
        )
    }

    pub(crate) fn bad_data_terminator() -> ProtocolError {
        ProtocolError::new(
            ProtocolErrorKind::BadDataTerminator,
            "data block not followed by \\r\\n".to_string(),
        )
    }

    pub(crate) fn bad_number(what: &str, token: &[u8]) -> ProtocolError {
        ProtocolError::new(
            ProtocolErrorKind::BadNumber,
            format!("bad {what} number: {}", escape_excerpt(token)),
        )
    }

    pub(crate) fn malformed(what: &str, line: &[u8]) -> ProtocolError {
        ProtocolError::new(
            ProtocolErrorKind::MalformedLine,
            format!("malformed {what} line: {}", escape_excerpt(line)),
        )
    }

    pub(crate) fn unexpected(line: &[u8]) -> ProtocolError {
        ProtocolError::new(
            ProtocolErrorKind::UnexpectedLine,
            format!("unexpected reply line: {}", escape_excerpt(line)),
        )
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProtocolError {}

/// How many bytes of a bad line an error message shows.
const EXCERPT_LEN: usize = 60;

/// The first bytes of `bytes`, escaped to printable ASCII, with "..." when cut.
fn escape_excerpt(bytes: &[u8]) -> String {
    let shown = bytes.get(..EXCERPT_LEN).unwrap_or(bytes);
    let mut out: String = shown.escape_ascii().to_string();
    if shown.len() < bytes.len() {
        out.push_str("...");
    }
    out
}

/// The first line of `buf` without its `\r\n`, and the length of the line
/// with it; `Ok(None)` while no line end has arrived.
fn split_line<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<(&'a [u8], usize)>, ProtocolError> {
    let window = buf.get(..limits.max_line_len).unwrap_or(buf);
    match memchr::memchr(b'\n', window) {
        Some(newline) => match newline.checked_sub(1) {
            Some(cr) if window.get(cr) == Some(&b'\r') => {
                Ok(Some((window.get(..cr).unwrap_or_default(), newline + 1)))
            }
            _ => Err(ProtocolError::new(
                ProtocolErrorKind::BareNewline,
                format!(
                    "line ended by a bare \\n: {}",
                    escape_excerpt(window.get(..newline).unwrap_or_default())
                ),
            )),
        },
        None if !buf.is_empty() && buf.len() >= limits.max_line_len => Err(ProtocolError::new(
            ProtocolErrorKind::LineTooLong,
            format!("unterminated line over {} bytes", limits.max_line_len),
        )),
        None => Ok(None),
    }
}

/// A data block of `len` bytes at `buf[start..]` followed by `\r\n`: the
/// block and the end of its terminator; `Ok(None)` while incomplete. A wrong
/// terminator byte is reported as soon as it arrives.
fn split_data_block(
    buf: &[u8],
    start: usize,
    len: usize,
) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    let data_end = start.checked_add(len).ok_or_else(ProtocolError::bad_data_terminator)?;
    for (offset, expected) in [(0, b'\r'), (1, b'\n')] {
        match data_end.checked_add(offset).and_then(|at| buf.get(at)) {
            Some(&byte) if byte != expected => return Err(ProtocolError::bad_data_terminator()),
            Some(_) => {}
            None => return Ok(None),
        }
    }
    match buf.get(start..data_end) {
        Some(data) => Ok(Some((data, data_end + 2))),
        None => Ok(None),
    }
}

/// The longest exptime memcached reads as relative seconds; a larger one is
/// an absolute Unix time.
pub const MAX_RELATIVE_EXPTIME: i64 = 30 * 24 * 3600;

/// The exptime that gives an item rewritten now the `remaining` lifetime in
/// seconds that memcached reported for it (meta `t`; -1 = never expires):
/// relative up to 30 days, an absolute Unix time beyond (a relative exptime
/// over 30 days would be read as a time in 1970 and expire the item at
/// once), and 1 second for an item on the point of expiring (0 would make it
/// immortal).
pub fn exptime_for_remaining(remaining: i64) -> u32 {
    match remaining {
        -1 => 0,
        r if r <= 0 => 1,
        r if r <= MAX_RELATIVE_EXPTIME => r as u32,
        r => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            (now + r).min(u32::MAX as i64) as u32
        }
    }
}

/// Parses a decimal `u64`: digits only, no sign, no overflow.
fn parse_u64(token: &[u8]) -> Option<u64> {
    if token.is_empty() {
        return None;
    }
    token.iter().try_fold(0u64, |acc, &byte| {
        let digit = byte.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Parses a decimal `u32`: digits only, no sign, no overflow.
fn parse_u32(token: &[u8]) -> Option<u32> {
    parse_u64(token).and_then(|n| u32::try_from(n).ok())
}

/// Appends `n` in decimal.
fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[start..]);
}

/// Appends `prefix` then `key`.
fn push_key(buf: &mut Vec<u8>, prefix: &[u8], key: &[u8]) {
    buf.extend_from_slice(prefix);
    buf.extend_from_slice(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits() {
        let limits = Limits::default();
        assert_eq!(limits.max_value_len, 1_048_576);
        assert_eq!(limits.max_line_len, 4096);
    }

    #[test]
    fn numbers_parse_strictly() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"1a"), None);
        assert_eq!(parse_u64(b" 1"), None);
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
    }

    #[test]
    fn remaining_lifetimes_become_exptimes() {
        assert_eq!(exptime_for_remaining(-1), 0);
        assert_eq!(exptime_for_remaining(0), 1);
        assert_eq!(exptime_for_remaining(10), 10);
        assert_eq!(exptime_for_remaining(29 * 24 * 3600), 29 * 24 * 3600);
        assert_eq!(exptime_for_remaining(MAX_RELATIVE_EXPTIME), MAX_RELATIVE_EXPTIME as u32);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
                as i64;
        let forty_days = 40 * 24 * 3600;
        let abs = exptime_for_remaining(forty_days) as i64;
        assert!((abs - (now + forty_days)).abs() <= 2, "absolute time {abs}");
    }

    #[test]
    fn numbers_print_in_decimal() {
        for n in [0, 7, 10, 99, 100, 4_294_967_296, u64::MAX] {
            let mut buf = Vec::new();
            push_u64(&mut buf, n);
            assert_eq!(buf, n.to_string().as_bytes());
        }
    }

    #[test]
    fn lines_need_crlf_within_the_limit() {
        let limits = Limits { max_value_len: 10, max_line_len: 8 };
        assert_eq!(split_line(b"END\r\nrest", &limits), Ok(Some((&b"END"[..], 5))));
        assert_eq!(split_line(b"\r\n", &limits), Ok(Some((&b""[..], 2))));
        assert_eq!(split_line(b"END\r", &limits), Ok(None));
        assert_eq!(split_line(b"", &limits), Ok(None));
        // A line of exactly max_line_len bytes including \r\n fits.
        assert_eq!(split_line(b"123456\r\n", &limits), Ok(Some((&b"123456"[..], 8))));
        let err = split_line(b"1234567\r\n", &limits).unwrap_err();
        assert_eq!(err.kind(), ProtocolErrorKind::LineTooLong);
        assert_eq!(err.to_string(), "unterminated line over 8 bytes");
        let err = split_line(b"END\n", &limits).unwrap_err();
        assert_eq!(err.kind(), ProtocolErrorKind::BareNewline);
        let err = split_line(b"\n", &limits).unwrap_err();
        assert_eq!(err.kind(), ProtocolErrorKind::BareNewline);
        // Nothing received is never an error, whatever the limit.
        assert_eq!(split_line(b"", &Limits { max_value_len: 0, max_line_len: 0 }), Ok(None));
    }

    #[test]
    fn data_blocks_need_crlf_after_them() {
        assert_eq!(split_data_block(b"xxab\r\n", 2, 2), Ok(Some((&b"ab"[..], 6))));
        assert_eq!(split_data_block(b"xxab\r", 2, 2), Ok(None));
        assert_eq!(split_data_block(b"xxa", 2, 2), Ok(None));
        assert_eq!(split_data_block(b"xx\r\n", 2, 0), Ok(Some((&b""[..], 4))));
        let err = split_data_block(b"xxabc", 2, 2).unwrap_err();
        assert_eq!(err.kind(), ProtocolErrorKind::BadDataTerminator);
        assert_eq!(err.to_string(), "data block not followed by \\r\\n");
        assert!(split_data_block(b"xxab\rx", 2, 2).is_err());
        assert!(split_data_block(b"xx", 2, usize::MAX).is_err());
    }

    #[test]
    fn excerpts_are_escaped_and_cut() {
        assert_eq!(escape_excerpt(b"a\r\n\0\xff"), "a\\r\\n\\x00\\xff");
        let long = [b'x'; 100];
        let shown = escape_excerpt(&long);
        assert_eq!(shown, format!("{}...", "x".repeat(60)));
    }
}
