//! memcached's classic text protocol: `get`, `set`, `delete`, `incr`, ...
//!
//! Requests are written exactly as memcached's doc/protocol.txt describes
//! them. Replies are parsed one at a time: a `VALUE` line and its data block
//! make one [`TextReply::Value`], and the `END` that closes a retrieval is a
//! reply of its own, as is every `STAT` line.

use super::{
    parse_u32, parse_u64, push_key, push_u64, split_data_block, split_line, Limits, ProtocolError,
};

/// A retrieval command: each takes one or more keys on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retrieval {
    /// `get`: values and flags.
    Get,
    /// `gets`: values, flags and CAS tokens.
    Gets,
    /// `gat`: `get` that also sets each found item's expiration time.
    Gat {
        /// New expiration time (seconds, or a Unix time past 30 days).
        exptime: u32,
    },
    /// `gats`: `gets` that also sets each found item's expiration time.
    Gats {
        /// New expiration time (seconds, or a Unix time past 30 days).
        exptime: u32,
    },
}

/// A storage command: a line and a data block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `set`: store unconditionally.
    Set,
    /// `add`: store only if the key is absent.
    Add,
    /// `replace`: store only if the key is present.
    Replace,
    /// `append`: add data after the existing value (flags and exptime ignored).
    Append,
    /// `prepend`: add data before the existing value (flags and exptime ignored).
    Prepend,
    /// `cas`: store only if the item's CAS token is still `cas`.
    Cas {
        /// The CAS token from a `gets` or `gats`.
        cas: u64,
    },
}

/// An arithmetic command on a value holding a decimal `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// `incr`: add, wrapping at 2^64.
    Incr,
    /// `decr`: subtract, stopping at 0.
    Decr,
}

/// Appends a retrieval line, e.g. `get p:k1 p:k2\r\n` or `gat 30 p:k1\r\n`.
/// `keys` should hold at least one key: memcached answers `ERROR` otherwise.
pub fn encode_retrieval<'k>(
    buf: &mut Vec<u8>,
    cmd: Retrieval,
    prefix: &[u8],
    keys: impl IntoIterator<Item = &'k [u8]>,
) {
    match cmd {
        Retrieval::Get => buf.extend_from_slice(b"get"),
        Retrieval::Gets => buf.extend_from_slice(b"gets"),
        Retrieval::Gat { exptime } => {
            buf.extend_from_slice(b"gat ");
            push_u64(buf, u64::from(exptime));
        }
        Retrieval::Gats { exptime } => {
            buf.extend_from_slice(b"gats ");
            push_u64(buf, u64::from(exptime));
        }
    }
    for key in keys {
        buf.push(b' ');
        push_key(buf, prefix, key);
    }
    buf.extend_from_slice(b"\r\n");
}

/// Appends a storage command and its data block:
/// `set <key> <flags> <exptime> <bytes> [<cas>] [noreply]\r\n<value>\r\n`.
/// With `noreply` the server sends nothing back unless the line is malformed.
#[allow(clippy::too_many_arguments)]
pub fn encode_storage(
    buf: &mut Vec<u8>,
    cmd: Storage,
    prefix: &[u8],
    key: &[u8],
    flags: u32,
    exptime: u32,
    value: &[u8],
    noreply: bool,
) {
    let name: &[u8] = match cmd {
        Storage::Set => b"set ",
        Storage::Add => b"add ",
        Storage::Replace => b"replace ",
        Storage::Append => b"append ",
        Storage::Prepend => b"prepend ",
        Storage::Cas { .. } => b"cas ",
    };
    buf.reserve(name.len() + prefix.len() + key.len() + value.len() + 64);
    buf.extend_from_slice(name);
    push_key(buf, prefix, key);
    buf.push(b' ');
    push_u64(buf, u64::from(flags));
    buf.push(b' ');
    push_u64(buf, u64::from(exptime));
    buf.push(b' ');
    push_u64(buf, value.len() as u64);
    if let Storage::Cas { cas } = cmd {
        buf.push(b' ');
        push_u64(buf, cas);
    }
    push_noreply(buf, noreply);
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(value);
    buf.extend_from_slice(b"\r\n");
}

/// Appends `delete <key> [noreply]\r\n`.
pub fn encode_delete(buf: &mut Vec<u8>, prefix: &[u8], key: &[u8], noreply: bool) {
    buf.extend_from_slice(b"delete ");
    push_key(buf, prefix, key);
    push_noreply(buf, noreply);
    buf.extend_from_slice(b"\r\n");
}

/// Appends `incr <key> <delta> [noreply]\r\n` or the `decr` form.
pub fn encode_arith(
    buf: &mut Vec<u8>,
    cmd: Arith,
    prefix: &[u8],
    key: &[u8],
    delta: u64,
    noreply: bool,
) {
    buf.extend_from_slice(match cmd {
        Arith::Incr => b"incr ",
        Arith::Decr => b"decr ",
    });
    push_key(buf, prefix, key);
    buf.push(b' ');
    push_u64(buf, delta);
    push_noreply(buf, noreply);
    buf.extend_from_slice(b"\r\n");
}

/// Appends `touch <key> <exptime> [noreply]\r\n`.
pub fn encode_touch(buf: &mut Vec<u8>, prefix: &[u8], key: &[u8], exptime: u32, noreply: bool) {
    buf.extend_from_slice(b"touch ");
    push_key(buf, prefix, key);
    buf.push(b' ');
    push_u64(buf, u64::from(exptime));
    push_noreply(buf, noreply);
    buf.extend_from_slice(b"\r\n");
}

/// Appends `flush_all [delay] [noreply]\r\n`; a `delay` of 0 is left out
/// (flush now).
pub fn encode_flush_all(buf: &mut Vec<u8>, delay: u32, noreply: bool) {
    buf.extend_from_slice(b"flush_all");
    if delay != 0 {
        buf.push(b' ');
        push_u64(buf, u64::from(delay));
    }
    push_noreply(buf, noreply);
    buf.extend_from_slice(b"\r\n");
}

/// Appends `version\r\n`.
pub fn encode_version(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"version\r\n");
}

/// Appends `stats\r\n` or `stats <group>\r\n` (e.g. `settings`, `items`).
pub fn encode_stats(buf: &mut Vec<u8>, group: Option<&[u8]>) {
    buf.extend_from_slice(b"stats");
    if let Some(group) = group {
        buf.push(b' ');
        buf.extend_from_slice(group);
    }
    buf.extend_from_slice(b"\r\n");
}

fn push_noreply(buf: &mut Vec<u8>, noreply: bool) {
    if noreply {
        buf.extend_from_slice(b" noreply");
    }
}

/// One reply of the text protocol, borrowing from the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextReply<'a> {
    /// `VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n`: one found item.
    Value {
        /// The key as the server sent it (prefix included).
        key: &'a [u8],
        /// The item's client flags.
        flags: u32,
        /// The data block, which may hold any bytes.
        data: &'a [u8],
        /// The CAS token, sent for `gets` and `gats`.
        cas: Option<u64>,
    },
    /// A `VALUE` header announcing more than [`Limits::max_value_len`]
    /// bytes. Only the header line is consumed: the caller must skip the
    /// next `len + 2` bytes (the data block and its `\r\n`) and report the
    /// key as too large; the stream stays in step.
    Oversized {
        /// The key as the server sent it (prefix included).
        key: &'a [u8],
        /// The item's client flags.
        flags: u32,
        /// The announced length of the data block.
        len: u64,
    },
    /// `END`: the end of a retrieval or `stats` reply.
    End,
    /// `STORED`.
    Stored,
    /// `NOT_STORED`: an `add`/`replace`/`append`/`prepend` condition failed.
    NotStored,
    /// `EXISTS`: a `cas` found the item changed.
    Exists,
    /// `NOT_FOUND`: no such item.
    NotFound,
    /// `DELETED`.
    Deleted,
    /// `TOUCHED`.
    Touched,
    /// `OK` (e.g. `flush_all`).
    Ok,
    /// `RESET`, the reply to `stats reset`.
    Reset,
    /// The new value after `incr`/`decr`. Trailing spaces are accepted, as
    /// protocol.txt allows the server to pad the number.
    Number(u64),
    /// `VERSION <version>`.
    Version(&'a [u8]),
    /// `STAT <name> <value>`; the value is the rest of the line and may hold
    /// spaces. A line with no value gives an empty one.
    Stat {
        /// The statistic's name.
        name: &'a [u8],
        /// The statistic's value as text.
        value: &'a [u8],
    },
    /// `ERROR`: unknown command. memcached sometimes adds a message
    /// (`ERROR <msg>`, `ERROR: <msg>`), which is dropped.
    Error,
    /// `CLIENT_ERROR <msg>`: the request was malformed.
    ClientError(&'a [u8]),
    /// `SERVER_ERROR <msg>`: the server failed to carry out the request.
    ServerError(&'a [u8]),
}

/// Parses one reply from the front of `buf`.
///
/// `Ok(None)` means more bytes are needed; `Ok(Some((reply, consumed)))`
/// gives the reply and how many bytes of `buf` it took (never more than
/// `buf.len()`, never 0).
pub fn parse_text_reply<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<(TextReply<'a>, usize)>, ProtocolError> {
    let Some((line, line_len)) = split_line(buf, limits)? else {
        return Ok(None);
    };
    if let Some(fields) = line.strip_prefix(b"VALUE ") {
        return parse_value(buf, line, fields, line_len, limits);
    }
    let reply = match line {
        b"END" => TextReply::End,
        b"STORED" => TextReply::Stored,
        b"NOT_STORED" => TextReply::NotStored,
        b"EXISTS" => TextReply::Exists,
        b"NOT_FOUND" => TextReply::NotFound,
        b"DELETED" => TextReply::Deleted,
        b"TOUCHED" => TextReply::Touched,
        b"OK" => TextReply::Ok,
        b"RESET" => TextReply::Reset,
        _ => parse_other_line(line)?,
    };
    Ok(Some((reply, line_len)))
}

/// Lines that carry text after a keyword, numbers, and errors.
fn parse_other_line(line: &[u8]) -> Result<TextReply<'_>, ProtocolError> {
    if let Some(rest) = line.strip_prefix(b"STAT ") {
        let (name, value) = match memchr::memchr(b' ', rest) {
            Some(space) => (rest.get(..space), rest.get(space + 1..)),
            None => (Some(rest), Some(&b""[..])),
        };
        return match (name, value) {
            (Some(name), Some(value)) if !name.is_empty() => Ok(TextReply::Stat { name, value }),
            _ => Err(ProtocolError::malformed("STAT", line)),
        };
    }
    if let Some(version) = line.strip_prefix(b"VERSION ") {
        return Ok(TextReply::Version(version));
    }
    if let Some(message) = error_message(line, b"CLIENT_ERROR") {
        return Ok(TextReply::ClientError(message));
    }
    if let Some(message) = error_message(line, b"SERVER_ERROR") {
        return Ok(TextReply::ServerError(message));
    }
    if line == b"ERROR" || line.starts_with(b"ERROR ") || line.starts_with(b"ERROR:") {
        return Ok(TextReply::Error);
    }
    if line.first().is_some_and(u8::is_ascii_digit) {
        let digits = trim_trailing_spaces(line);
        return parse_u64(digits)
            .map(TextReply::Number)
            .ok_or_else(|| ProtocolError::bad_number("incr/decr result", line));
    }
    Err(ProtocolError::unexpected(line))
}

/// The message of `<keyword> <message>` or of a bare `<keyword>` (empty).
pub(super) fn error_message<'a>(line: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(keyword)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix(b" ")
    }
}

/// `line` without the spaces at its end.
fn trim_trailing_spaces(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|b| *b != b' ').map_or(0, |last| last + 1);
    line.get(..end).unwrap_or_default()
}

/// `VALUE <key> <flags> <bytes> [<cas>]` then the data block.
fn parse_value<'a>(
    buf: &'a [u8],
    line: &'a [u8],
    fields: &'a [u8],
    line_len: usize,
    limits: &Limits,
) -> Result<Option<(TextReply<'a>, usize)>, ProtocolError> {
    // The tokens of splitting at every space. (Tokens are a few bytes: a
    // plain loop beats a vectorised search here.)
    let mut rest = Some(fields);
    let mut token = || -> Option<&'a [u8]> {
        let r = rest?;
        match r.iter().position(|&b| b == b' ') {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    };
    let (Some(key), Some(flags), Some(len)) = (token(), token(), token()) else {
        return Err(ProtocolError::malformed("VALUE", line));
    };
    let cas = token();
    if key.is_empty() || token().is_some() {
        return Err(ProtocolError::malformed("VALUE", line));
    }
    let flags = parse_u32(flags).ok_or_else(|| ProtocolError::bad_number("VALUE flags", flags))?;
    let len_number =
        parse_u64(len).ok_or_else(|| ProtocolError::bad_number("VALUE length", len))?;
    let cas = match cas {
        Some(cas) => {
            Some(parse_u64(cas).ok_or_else(|| ProtocolError::bad_number("VALUE cas", cas))?)
        }
        None => None,
    };
    let len = match usize::try_from(len_number) {
        Ok(len) if len <= limits.max_value_len => len,
        _ if len_number <= super::MAX_SKIPPABLE_LEN => {
            return Ok(Some((TextReply::Oversized { key, flags, len: len_number }, line_len)));
        }
        _ => return Err(ProtocolError::value_too_large("VALUE", len_number, limits.max_value_len)),
    };
    Ok(split_data_block(buf, line_len, len)?
        .map(|(data, end)| (TextReply::Value { key, flags, data, cas }, end)))
}

/// Appends `lru_crawler metadump all\r\n`: one line per stored key, then
/// `END`.
pub fn encode_metadump(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"lru_crawler metadump all\r\n");
}

/// One line of a `lru_crawler metadump` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadumpLine {
    /// `key=<url-encoded> exp=<t> la=<t> cas=<n> fetch=<yes|no> cls=<n> size=<n>`.
    Key {
        /// The key, URL-decoded (prefix included).
        key: Vec<u8>,
        /// Expiry as a Unix time, -1 for never.
        exptime: i64,
        /// Last access as a Unix time.
        last_access: i64,
        /// The CAS token.
        cas: u64,
        /// The item's size in bytes.
        size: u32,
    },
    /// `END`: the dump is complete.
    End,
    /// Any other line: `BUSY ...`, `ERROR`, `CLIENT_ERROR ...` (the server
    /// refused the dump), with its text.
    Refused(Vec<u8>),
}

/// Parses one line of a `lru_crawler metadump` reply; `Ok(None)` while the
/// line is incomplete. memcached ends key lines with a bare `\n` (and `END`
/// with `\r\n`): both are accepted here. Unknown fields of a key line are
/// ignored (memcached adds some over versions).
pub fn parse_metadump_line(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(MetadumpLine, usize)>, ProtocolError> {
    let window = buf.get(..limits.max_line_len).unwrap_or(buf);
    let Some(newline) = memchr::memchr(b'\n', window) else {
        if buf.len() >= limits.max_line_len {
            return Err(ProtocolError::new(
                super::ProtocolErrorKind::LineTooLong,
                format!("unterminated line over {} bytes", limits.max_line_len),
            ));
        }
        return Ok(None);
    };
    let used = newline + 1;
    let line = &window[..newline];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line == b"END" {
        return Ok(Some((MetadumpLine::End, used)));
    }
    let Some(rest) = line.strip_prefix(b"key=") else {
        return Ok(Some((MetadumpLine::Refused(line.to_vec()), used)));
    };
    let mut fields = rest.split(|&b| b == b' ');
    let key = url_decode(fields.next().unwrap_or_default())
        .ok_or_else(|| ProtocolError::malformed("metadump", line))?;
    let (mut exptime, mut last_access, mut cas, mut size) = (-1i64, 0i64, 0u64, 0u32);
    for field in fields {
        let Some(eq) = field.iter().position(|&b| b == b'=') else { continue };
        let (name, value) = (&field[..eq], &field[eq + 1..]);
        let signed = |v: &[u8]| match v.strip_prefix(b"-") {
            Some(digits) => parse_u64(digits).and_then(|n| i64::try_from(n).ok()).map(|n| -n),
            None => parse_u64(v).and_then(|n| i64::try_from(n).ok()),
        };
        let bad = || ProtocolError::bad_number("metadump", field);
        match name {
            b"exp" => exptime = signed(value).ok_or_else(bad)?,
            b"la" => last_access = signed(value).ok_or_else(bad)?,
            b"cas" => cas = parse_u64(value).ok_or_else(bad)?,
            b"size" => size = parse_u32(value).ok_or_else(bad)?,
            _ => {}
        }
    }
    Ok(Some((MetadumpLine::Key { key, exptime, last_access, cas, size }, used)))
}

/// Decodes `%XX` escapes; `None` for a malformed escape.
fn url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::ProtocolErrorKind;
    use super::*;
    use proptest::prelude::*;

    fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut buf = b"<before>".to_vec();
        f(&mut buf);
        assert!(buf.starts_with(b"<before>"), "encoders append");
        buf.split_off(8)
    }

    #[test]
    fn retrieval_lines() {
        let keys: [&[u8]; 2] = [b"k1", b"k2"];
        assert_eq!(
            encoded(|b| encode_retrieval(b, Retrieval::Get, b"p:", keys)),
            b"get p:k1 p:k2\r\n"
        );
        assert_eq!(encoded(|b| encode_retrieval(b, Retrieval::Gets, b"", keys)), b"gets k1 k2\r\n");
        assert_eq!(
            encoded(|b| encode_retrieval(b, Retrieval::Gat { exptime: 30 }, b"p:", [&b"k1"[..]])),
            b"gat 30 p:k1\r\n"
        );
        assert_eq!(
            encoded(|b| encode_retrieval(b, Retrieval::Gats { exptime: 0 }, b"", keys)),
            b"gats 0 k1 k2\r\n"
        );
    }

    #[test]
    fn storage_lines() {
        let cases: [(Storage, &[u8]); 6] = [
            (Storage::Set, b"set"),
            (Storage::Add, b"add"),
            (Storage::Replace, b"replace"),
            (Storage::Append, b"append"),
            (Storage::Prepend, b"prepend"),
            (Storage::Cas { cas: 18_446_744_073_709_551_615 }, b"cas"),
        ];
        for (cmd, name) in cases {
            let cas_field: &[u8] =
                if matches!(cmd, Storage::Cas { .. }) { b" 18446744073709551615" } else { b"" };
            let mut expected = name.to_vec();
            expected.extend_from_slice(b" p:k 4294967295 60 5");
            expected.extend_from_slice(cas_field);
            expected.extend_from_slice(b"\r\na\r\n\0b\r\n");
            let value = b"a\r\n\0b";
            assert_eq!(
                encoded(|b| encode_storage(b, cmd, b"p:", b"k", u32::MAX, 60, value, false)),
                expected
            );
            let mut expected_noreply = name.to_vec();
            expected_noreply.extend_from_slice(b" k 0 0 0");
            expected_noreply.extend_from_slice(cas_field);
            expected_noreply.extend_from_slice(b" noreply\r\n\r\n");
            assert_eq!(
                encoded(|b| encode_storage(b, cmd, b"", b"k", 0, 0, b"", true)),
                expected_noreply
            );
        }
    }

    #[test]
    fn other_command_lines() {
        assert_eq!(encoded(|b| encode_delete(b, b"p:", b"k", false)), b"delete p:k\r\n");
        assert_eq!(encoded(|b| encode_delete(b, b"", b"k", true)), b"delete k noreply\r\n");
        assert_eq!(
            encoded(|b| encode_arith(b, Arith::Incr, b"p:", b"n", u64::MAX, false)),
            b"incr p:n 18446744073709551615\r\n"
        );
        assert_eq!(
            encoded(|b| encode_arith(b, Arith::Decr, b"", b"n", 0, true)),
            b"decr n 0 noreply\r\n"
        );
        assert_eq!(encoded(|b| encode_touch(b, b"p:", b"k", 10, false)), b"touch p:k 10\r\n");
        assert_eq!(encoded(|b| encode_touch(b, b"", b"k", 0, true)), b"touch k 0 noreply\r\n");
        assert_eq!(encoded(|b| encode_flush_all(b, 0, false)), b"flush_all\r\n");
        assert_eq!(encoded(|b| encode_flush_all(b, 0, true)), b"flush_all noreply\r\n");
        assert_eq!(encoded(|b| encode_flush_all(b, 5, false)), b"flush_all 5\r\n");
        assert_eq!(encoded(|b| encode_flush_all(b, 5, true)), b"flush_all 5 noreply\r\n");
        assert_eq!(encoded(encode_version), b"version\r\n");
        assert_eq!(encoded(|b| encode_stats(b, None)), b"stats\r\n");
        assert_eq!(encoded(|b| encode_stats(b, Some(b"settings"))), b"stats settings\r\n");
    }

    fn parse(buf: &[u8]) -> Result<Option<(TextReply<'_>, usize)>, ProtocolError> {
        parse_text_reply(buf, &Limits::default())
    }

    fn parse_one(buf: &[u8]) -> TextReply<'_> {
        let (reply, consumed) = parse(buf).unwrap().unwrap();
        assert_eq!(consumed, buf.len(), "{reply:?} should take the whole input");
        reply
    }

    #[test]
    fn metadump_lines() {
        let limits = Limits::default();
        let line = b"key=a%20b%25 exp=-1 la=1700000000 cas=7 fetch=no cls=1 size=68\nEND\r\n";
        let (first, used) = parse_metadump_line(line, &limits).unwrap().unwrap();
        assert_eq!(
            first,
            MetadumpLine::Key {
                key: b"a b%".to_vec(),
                exptime: -1,
                last_access: 1_700_000_000,
                cas: 7,
                size: 68
            }
        );
        assert_eq!(
            parse_metadump_line(&line[used..], &limits).unwrap().unwrap().0,
            MetadumpLine::End
        );
        assert_eq!(
            parse_metadump_line(b"BUSY currently processing crawler request\r\n", &limits)
                .unwrap()
                .unwrap()
                .0,
            MetadumpLine::Refused(b"BUSY currently processing crawler request".to_vec())
        );
        assert!(parse_metadump_line(b"key=%zz exp=1\r\n", &limits).is_err());
        assert!(parse_metadump_line(b"key=k exp=x\r\n", &limits).is_err());
        assert_eq!(parse_metadump_line(b"key=k exp", &limits), Ok(None));
    }

    #[test]
    fn simple_replies() {
        assert_eq!(parse_one(b"END\r\n"), TextReply::End);
        assert_eq!(parse_one(b"STORED\r\n"), TextReply::Stored);
        assert_eq!(parse_one(b"NOT_STORED\r\n"), TextReply::NotStored);
        assert_eq!(parse_one(b"EXISTS\r\n"), TextReply::Exists);
        assert_eq!(parse_one(b"NOT_FOUND\r\n"), TextReply::NotFound);
        assert_eq!(parse_one(b"DELETED\r\n"), TextReply::Deleted);
        assert_eq!(parse_one(b"TOUCHED\r\n"), TextReply::Touched);
        assert_eq!(parse_one(b"OK\r\n"), TextReply::Ok);
        assert_eq!(parse_one(b"RESET\r\n"), TextReply::Reset);
        assert_eq!(parse_one(b"0\r\n"), TextReply::Number(0));
        assert_eq!(
            parse_one(b"18446744073709551615\r\n"),
            TextReply::Number(18_446_744_073_709_551_615)
        );
        assert_eq!(parse_one(b"9  \r\n"), TextReply::Number(9));
        assert_eq!(parse_one(b"VERSION 1.6.18\r\n"), TextReply::Version(b"1.6.18"));
        assert_eq!(
            parse_one(b"STAT pid 1234\r\n"),
            TextReply::Stat { name: b"pid", value: b"1234" }
        );
        assert_eq!(
            parse_one(b"STAT libevent 2.1.12-stable extra\r\n"),
            TextReply::Stat { name: b"libevent", value: b"2.1.12-stable extra" }
        );
        assert_eq!(parse_one(b"STAT empty\r\n"), TextReply::Stat { name: b"empty", value: b"" });
        assert_eq!(parse_one(b"ERROR\r\n"), TextReply::Error);
        assert_eq!(parse_one(b"ERROR unknown command\r\n"), TextReply::Error);
        assert_eq!(parse_one(b"ERROR: shutdown not enabled\r\n"), TextReply::Error);
        assert_eq!(
            parse_one(b"CLIENT_ERROR bad data chunk\r\n"),
            TextReply::ClientError(b"bad data chunk")
        );
        assert_eq!(parse_one(b"CLIENT_ERROR\r\n"), TextReply::ClientError(b""));
        assert_eq!(
            parse_one(b"SERVER_ERROR out of memory storing object\r\n"),
            TextReply::ServerError(b"out of memory storing object")
        );
    }

    #[test]
    fn value_replies() {
        assert_eq!(
            parse_one(b"VALUE p:k 42 5\r\na\r\n\0b\r\n"),
            TextReply::Value { key: b"p:k", flags: 42, data: b"a\r\n\0b", cas: None }
        );
        assert_eq!(
            parse_one(b"VALUE k 4294967295 0 18446744073709551615\r\n\r\n"),
            TextReply::Value { key: b"k", flags: u32::MAX, data: b"", cas: Some(u64::MAX) }
        );
        // The reply ends after the data block; what follows is left alone.
        let (reply, consumed) = parse(b"VALUE k 0 1\r\nx\r\nEND\r\n").unwrap().unwrap();
        assert_eq!(reply, TextReply::Value { key: b"k", flags: 0, data: b"x", cas: None });
        assert_eq!(consumed, 16);
    }

    fn error_of(buf: &[u8]) -> ProtocolError {
        parse(buf).expect_err(&format!("{:?} should fail", buf.escape_ascii().to_string()))
    }

    #[test]
    fn bad_replies() {
        let err = error_of(b"VALUE k 0 99999999999\r\n");
        assert_eq!(err.kind(), ProtocolErrorKind::ValueTooLarge);
        assert_eq!(err.to_string(), "VALUE length 99999999999 over limit 1048576");
        // Over the limit but a length memcached can have: only the header
        // is consumed, for the caller to skip the data.
        assert_eq!(
            parse(b"VALUE k 7 1048577\r\nxx").unwrap(),
            Some((TextReply::Oversized { key: b"k", flags: 7, len: 1_048_577 }, 19))
        );
        let at_limit = format!("VALUE k 0 {}\r\n", super::super::MAX_SKIPPABLE_LEN + 1);
        assert_eq!(error_of(at_limit.as_bytes()).kind(), ProtocolErrorKind::ValueTooLarge);
        assert!(parse(b"VALUE k 0 1048576\r\n").unwrap().is_none());
        let err = error_of(b"VALUE k 0 2\r\nabc\r\n");
        assert_eq!(err.kind(), ProtocolErrorKind::BadDataTerminator);
        assert_eq!(error_of(b"VALUE k 0 2\r\nab\n").kind(), ProtocolErrorKind::BadDataTerminator);
        // Known early: the byte after the block is there and is not \r.
        assert_eq!(error_of(b"VALUE k 0 2\r\nabX").kind(), ProtocolErrorKind::BadDataTerminator);
        for (line, kind) in [
            (&b"VALUE k 0\r\n"[..], ProtocolErrorKind::MalformedLine),
            (b"VALUE k 0 1 2 3\r\n", ProtocolErrorKind::MalformedLine),
            (b"VALUE  0 1\r\n", ProtocolErrorKind::MalformedLine),
            (b"VALUE k 4294967296 1\r\n", ProtocolErrorKind::BadNumber),
            (b"VALUE k -1 1\r\n", ProtocolErrorKind::BadNumber),
            (b"VALUE k 0 1x\r\n", ProtocolErrorKind::BadNumber),
            (b"VALUE k 0 99999999999999999999999\r\n", ProtocolErrorKind::BadNumber),
            (b"VALUE k 0 1 18446744073709551616\r\n", ProtocolErrorKind::BadNumber),
            (b"VALUE k 0 1 \r\n", ProtocolErrorKind::BadNumber),
            (b"18446744073709551616\r\n", ProtocolErrorKind::BadNumber),
            (b"12x\r\n", ProtocolErrorKind::BadNumber),
            (b"STAT \r\n", ProtocolErrorKind::MalformedLine),
            (b"STAT  x\r\n", ProtocolErrorKind::MalformedLine),
            (b"end\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"END \r\n", ProtocolErrorKind::UnexpectedLine),
            (b"\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"VERSION\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"CLIENT_ERRORx\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"ERRORS\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"HD\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"END\n", ProtocolErrorKind::BareNewline),
        ] {
            assert_eq!(error_of(line).kind(), kind, "{}", line.escape_ascii());
        }
        let long = [b'x'; 100];
        let mut line = long.to_vec();
        line.extend_from_slice(b"\r\n");
        assert_eq!(
            error_of(&line).to_string(),
            format!("unexpected reply line: {}...", "x".repeat(60))
        );
        assert_eq!(error_of(b"WAT\0\xff\r\n").to_string(), "unexpected reply line: WAT\\x00\\xff");
    }

    #[test]
    fn long_lines_fail_without_a_line_end() {
        let limits = Limits { max_value_len: 1 << 20, max_line_len: 16 };
        assert_eq!(parse_text_reply(&[b'S'; 15], &limits), Ok(None));
        let err = parse_text_reply(&[b'S'; 16], &limits).unwrap_err();
        assert_eq!(err.to_string(), "unterminated line over 16 bytes");
        // Data blocks are bounded by max_value_len, not by the line limit.
        let reply = b"VALUE k 0 40\r\n0123456789012345678901234567890123456789\r\n";
        assert!(matches!(
            parse_text_reply(reply, &limits),
            Ok(Some((TextReply::Value { .. }, 56)))
        ));
    }

    #[test]
    fn value_limit_is_configurable() {
        let limits = Limits { max_value_len: 3, max_line_len: 4096 };
        assert!(parse_text_reply(b"VALUE k 0 3\r\nabc\r\n", &limits).unwrap().is_some());
        assert_eq!(
            parse_text_reply(b"VALUE k 0 4\r\n", &limits).unwrap(),
            Some((TextReply::Oversized { key: b"k", flags: 0, len: 4 }, 13))
        );
    }

    /// Parses every whole reply at the front of `buf`.
    fn parse_all(buf: &[u8]) -> (Vec<TextReply<'_>>, usize) {
        let mut replies = Vec::new();
        let mut at = 0;
        while let Some((reply, consumed)) = parse(&buf[at..]).unwrap() {
            assert!(consumed > 0 && consumed <= buf.len() - at);
            replies.push(reply);
            at += consumed;
        }
        (replies, at)
    }

    #[test]
    fn every_split_point_of_a_stream() {
        let stream: &[u8] =
            b"VALUE p:a 1 3 77\r\nx\r\n\r\nVALUE p:b 0 0 78\r\n\r\nEND\r\nSTORED\r\n\
            NOT_FOUND\r\n12\r\nSTAT pid 7\r\nSTAT uptime 1\r\nEND\r\nVERSION 1.6.18\r\n\
            CLIENT_ERROR cannot increment or decrement non-numeric value\r\nEND\r\n";
        let expected = vec![
            TextReply::Value { key: b"p:a", flags: 1, data: b"x\r\n", cas: Some(77) },
            TextReply::Value { key: b"p:b", flags: 0, data: b"", cas: Some(78) },
            TextReply::End,
            TextReply::Stored,
            TextReply::NotFound,
            TextReply::Number(12),
            TextReply::Stat { name: b"pid", value: b"7" },
            TextReply::Stat { name: b"uptime", value: b"1" },
            TextReply::End,
            TextReply::Version(b"1.6.18"),
            TextReply::ClientError(b"cannot increment or decrement non-numeric value"),
            TextReply::End,
        ];
        for cut in 0..=stream.len() {
            let (replies, consumed) = parse_all(&stream[..cut]);
            assert_eq!(replies[..], expected[..replies.len()], "cut at {cut}");
            assert_eq!(replies.len() == expected.len(), cut == stream.len(), "cut at {cut}");
            // What is left over is one incomplete reply, parsed again once the rest arrives.
            let (rest, rest_consumed) = parse_all(&stream[consumed..]);
            assert_eq!(rest[..], expected[replies.len()..]);
            assert_eq!(consumed + rest_consumed, stream.len());
        }
    }

    /// A `VALUE` reply as memcached writes it.
    fn value_reply(key: &[u8], flags: u32, data: &[u8], cas: Option<u64>) -> Vec<u8> {
        let mut out = b"VALUE ".to_vec();
        out.extend_from_slice(key);
        out.extend_from_slice(format!(" {flags} {}", data.len()).as_bytes());
        if let Some(cas) = cas {
            out.extend_from_slice(format!(" {cas}").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Bytes rich in the protocol's own separators.
    fn tricky_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), Just(b' '), any::<u8>()],
            0..max,
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let limits = Limits { max_value_len: 64, max_line_len: 128 };
            if let Ok(Some((_, consumed))) = parse_text_reply(&bytes, &limits) {
                prop_assert!(consumed > 0 && consumed <= bytes.len());
            }
        }

        #[test]
        fn reply_like_bytes_never_panic(
            head in prop_oneof![
                Just(&b"VALUE "[..]), Just(&b"STAT "[..]), Just(&b"VERSION "[..]),
                Just(&b"CLIENT_ERROR"[..]), Just(&b"1"[..]), Just(&b"END"[..]),
            ],
            tail in tricky_bytes(80),
        ) {
            let bytes = [head, &tail[..]].concat();
            let limits = Limits { max_value_len: 16, max_line_len: 64 };
            if let Ok(Some((_, consumed))) = parse_text_reply(&bytes, &limits) {
                prop_assert!(consumed > 0 && consumed <= bytes.len());
            }
        }

        #[test]
        fn values_round_trip(
            key in proptest::collection::vec(33u8..127, 1..40),
            flags in any::<u32>(),
            data in tricky_bytes(200),
            cas in proptest::option::of(any::<u64>()),
            cut in any::<proptest::sample::Index>(),
        ) {
            let mut stream = value_reply(&key, flags, &data, cas);
            let whole = stream.len();
            stream.extend_from_slice(b"END\r\n");
            let (reply, consumed) = parse(&stream).unwrap().unwrap();
            prop_assert_eq!(reply, TextReply::Value { key: &key, flags, data: &data, cas });
            prop_assert_eq!(consumed, whole);
            prop_assert_eq!(parse(&stream[consumed..]).unwrap(), Some((TextReply::End, 5)));
            let cut = cut.index(whole);
            prop_assert_eq!(parse(&stream[..cut]).unwrap(), None);
        }

        #[test]
        fn storage_data_blocks_are_length_delimited(
            key in proptest::collection::vec(33u8..127, 1..40),
            data in tricky_bytes(200),
            noreply in any::<bool>(),
        ) {
            let mut buf = Vec::new();
            encode_storage(&mut buf, Storage::Set, b"ns:", &key, 3, 0, &data, noreply);
            let line_end = buf.windows(2).position(|w| w == b"\r\n").unwrap();
            let header = std::str::from_utf8(&buf[..line_end]).unwrap();
            let fields: Vec<&str> = header.split(' ').collect();
            prop_assert_eq!(fields[1].as_bytes(), [&b"ns:"[..], &key[..]].concat());
            prop_assert_eq!(fields[4].parse::<usize>().unwrap(), data.len());
            prop_assert_eq!(fields.len(), if noreply { 6 } else { 5 });
            prop_assert_eq!(&buf[line_end + 2..], [&data[..], b"\r\n"].concat());
        }
    }
}
