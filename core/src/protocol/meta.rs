//! memcached's meta protocol: `mg`, `ms`, `md`, `ma` and `mn`.
//!
//! Formats follow memcached's doc/protocol.txt as spoken by memcached 1.6
//! (two-letter return codes `VA`, `HD`, `EN`, `NS`, `EX`, `NF`, `MN`; `ms`
//! carries the data length as its second token). A reply's return flags are
//! kept as the raw tokens of its line ([`MetaFlags`]) and read on demand.
//!
//! Base64 keys (the `b` flag) are not encoded or decoded here: a caller may
//! send `MetaFlag::Raw(b"b")` with a key it encoded itself, and a key
//! returned by `k` next to a `b` flag ([`MetaFlags::base64_key`]) is handed
//! back still encoded.

use std::fmt;

use super::text::error_message;
use super::{
    parse_u32, parse_u64, push_key, push_u64, split_data_block, split_line, Limits, ProtocolError,
};

/// One flag of a meta request. The letter each variant writes is given in
/// its description; not every command takes every flag (see protocol.txt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaFlag<'a> {
    /// `v`: return the value (`VA` instead of `HD`); for `ma`, the new number.
    ReturnValue,
    /// `f`: return the client flags.
    ReturnFlags,
    /// `c`: return the CAS token.
    ReturnCas,
    /// `t`: return the remaining TTL in seconds (-1: never expires).
    ReturnTtl,
    /// `k`: return the key.
    ReturnKey,
    /// `s`: return the item's size.
    ReturnSize,
    /// `h`: return whether the item was fetched before (0 or 1).
    ReturnHit,
    /// `l`: return the seconds since the item was last accessed.
    ReturnLastAccess,
    /// `q`: quiet; suppress the nominal reply (`EN` for `mg`, `HD` for
    /// `ms`/`md`/`ma`). Pair with a trailing `mn` to know when all replied.
    Quiet,
    /// `u`: do not bump the item in the LRU.
    NoBump,
    /// `I`: invalidate; `md` marks the item stale instead of deleting it, and
    /// `ms` with a stale CAS stores it as stale.
    Invalidate,
    /// `x`: `md` removes the value but keeps the item (memcached 1.6.27+;
    /// older servers answer `CLIENT_ERROR`).
    RemoveValue,
    /// `O<n>`: opaque number echoed in the reply.
    Opaque(u32),
    /// `T<n>`: set the TTL.
    Ttl(u32),
    /// `N<n>`: create the item on a miss with this TTL (vivify).
    Vivify(u32),
    /// `R<n>`: win the right to recache if the remaining TTL is below `n`.
    Recache(u32),
    /// `F<n>`: client flags to store.
    ClientFlags(u32),
    /// `C<n>`: compare this CAS token before changing the item.
    CompareCas(u64),
    /// `E<n>`: use this as the item's new CAS token (memcached 1.6.27+;
    /// older servers answer `CLIENT_ERROR`).
    NewCas(u64),
    /// `M<c>`: mode. For `ms`: `E` add, `A` append, `P` prepend, `R`
    /// replace, `S` set. For `ma`: `I` or `+` increment, `D` or `-` decrement.
    Mode(u8),
    /// `D<n>`: `ma` delta (default 1).
    Delta(u64),
    /// `J<n>`: `ma` initial value when vivifying on a miss.
    Initial(u64),
    /// A flag written as given, e.g. `b"b"` or `b"Lpath"`.
    Raw(&'a [u8]),
}

/// Appends `mg <key> <flags>*\r\n`.
pub fn encode_mg(buf: &mut Vec<u8>, prefix: &[u8], key: &[u8], flags: &[MetaFlag<'_>]) {
    encode_keyed(buf, b"mg ", prefix, key, flags);
}

/// Appends `ms <key> <datalen> <flags>*\r\n<value>\r\n`.
pub fn encode_ms(
    buf: &mut Vec<u8>,
    prefix: &[u8],
    key: &[u8],
    value: &[u8],
    flags: &[MetaFlag<'_>],
) {
    buf.reserve(prefix.len() + key.len() + value.len() + 32 + flags.len() * 12);
    buf.extend_from_slice(b"ms ");
    push_key(buf, prefix, key);
    buf.push(b' ');
    push_u64(buf, value.len() as u64);
    push_flags(buf, flags);
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(value);
    buf.extend_from_slice(b"\r\n");
}

/// Appends `md <key> <flags>*\r\n`.
pub fn encode_md(buf: &mut Vec<u8>, prefix: &[u8], key: &[u8], flags: &[MetaFlag<'_>]) {
    encode_keyed(buf, b"md ", prefix, key, flags);
}

/// Appends `ma <key> <flags>*\r\n`.
pub fn encode_ma(buf: &mut Vec<u8>, prefix: &[u8], key: &[u8], flags: &[MetaFlag<'_>]) {
    encode_keyed(buf, b"ma ", prefix, key, flags);
}

/// Appends `mn\r\n`, answered by `MN` once every earlier request has replied.
pub fn encode_mn(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"mn\r\n");
}

fn encode_keyed(
    buf: &mut Vec<u8>,
    command: &[u8],
    prefix: &[u8],
    key: &[u8],
    flags: &[MetaFlag<'_>],
) {
    buf.extend_from_slice(command);
    push_key(buf, prefix, key);
    push_flags(buf, flags);
    buf.extend_from_slice(b"\r\n");
}

fn push_flags(buf: &mut Vec<u8>, flags: &[MetaFlag<'_>]) {
    for flag in flags {
        buf.push(b' ');
        let (letter, number) = match *flag {
            MetaFlag::ReturnValue => (b'v', None),
            MetaFlag::ReturnFlags => (b'f', None),
            MetaFlag::ReturnCas => (b'c', None),
            MetaFlag::ReturnTtl => (b't', None),
            MetaFlag::ReturnKey => (b'k', None),
            MetaFlag::ReturnSize => (b's', None),
            MetaFlag::ReturnHit => (b'h', None),
            MetaFlag::ReturnLastAccess => (b'l', None),
            MetaFlag::Quiet => (b'q', None),
            MetaFlag::NoBump => (b'u', None),
            MetaFlag::Invalidate => (b'I', None),
            MetaFlag::RemoveValue => (b'x', None),
            MetaFlag::Opaque(n) => (b'O', Some(u64::from(n))),
            MetaFlag::Ttl(n) => (b'T', Some(u64::from(n))),
            MetaFlag::Vivify(n) => (b'N', Some(u64::from(n))),
            MetaFlag::Recache(n) => (b'R', Some(u64::from(n))),
            MetaFlag::ClientFlags(n) => (b'F', Some(u64::from(n))),
            MetaFlag::CompareCas(n) => (b'C', Some(n)),
            MetaFlag::NewCas(n) => (b'E', Some(n)),
            MetaFlag::Delta(n) => (b'D', Some(n)),
            MetaFlag::Initial(n) => (b'J', Some(n)),
            MetaFlag::Mode(mode) => {
                buf.extend_from_slice(&[b'M', mode]);
                continue;
            }
            MetaFlag::Raw(raw) => {
                buf.extend_from_slice(raw);
                continue;
            }
        };
        buf.push(letter);
        if let Some(number) = number {
            push_u64(buf, number);
        }
    }
}

/// The return flags of a meta reply: the space-separated tokens after its
/// code, each a letter and an optional token (`c123`, `t-1`, `kfoo`, `W`).
///
/// The numeric flags `c`, `f`, `t`, `s`, `h` and `l` are checked when the
/// reply is parsed, so their accessors return `Some` whenever the flag is
/// present.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct MetaFlags<'a> {
    raw: &'a [u8],
}

impl<'a> MetaFlags<'a> {
    /// Checks the tokens of `raw` (the line after the code and its space).
    fn parse(raw: &'a [u8], line: &[u8]) -> Result<MetaFlags<'a>, ProtocolError> {
        let flags = MetaFlags { raw };
        for token in flags.raw.split(|b| *b == b' ') {
            let Some((&letter, value)) = token.split_first() else {
                return Err(ProtocolError::malformed("meta reply", line));
            };
            let valid = match letter {
                b'c' | b's' | b'h' | b'l' => parse_u64(value).is_some(),
                b'f' => parse_u32(value).is_some(),
                b't' => parse_ttl(value).is_some(),
                _ => true,
            };
            if !valid {
                return Err(ProtocolError::bad_number("meta flag", token));
            }
        }
        Ok(flags)
    }

    /// The flags exactly as the server wrote them, e.g. `c123 f0 t-1`.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the reply carries no flags.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Every flag token, letter first, in the order the server sent them.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> {
        let raw = self.raw;
        raw.split(|b| *b == b' ').filter(|token| !token.is_empty())
    }

    /// The token after the first flag with this letter (empty for a bare
    /// flag such as `W`); `None` if the flag is absent.
    pub fn get(&self, letter: u8) -> Option<&'a [u8]> {
        self.iter().find_map(|token| match token.split_first() {
            Some((&first, rest)) if first == letter => Some(rest),
            _ => None,
        })
    }

    /// Whether a flag with this letter is present.
    pub fn has(&self, letter: u8) -> bool {
        self.get(letter).is_some()
    }

    /// `c`: the CAS token.
    pub fn cas(&self) -> Option<u64> {
        self.get(b'c').and_then(parse_u64)
    }

    /// `f`: the client flags.
    pub fn client_flags(&self) -> Option<u32> {
        self.get(b'f').and_then(parse_u32)
    }

    /// `t`: the remaining TTL in seconds; -1 means the item never expires.
    pub fn ttl(&self) -> Option<i64> {
        self.get(b't').and_then(parse_ttl)
    }

    /// `O`: the opaque token, if it is a `u32` (as [`MetaFlag::Opaque`]
    /// sends); use [`get`](Self::get) for other opaque strings.
    pub fn opaque(&self) -> Option<u32> {
        self.get(b'O').and_then(parse_u32)
    }

    /// `k`: the key (base64-encoded if [`base64_key`](Self::base64_key)).
    pub fn key(&self) -> Option<&'a [u8]> {
        self.get(b'k')
    }

    /// `b`: the returned key is base64-encoded.
    pub fn base64_key(&self) -> bool {
        self.has(b'b')
    }

    /// `s`: the item's size in bytes.
    pub fn size(&self) -> Option<u64> {
        self.get(b's').and_then(parse_u64)
    }

    /// `h`: whether the item had been fetched before this request.
    pub fn hit_before(&self) -> Option<bool> {
        self.get(b'h').and_then(parse_u64).map(|hit| hit != 0)
    }

    /// `l`: seconds since the item was last accessed.
    pub fn last_access(&self) -> Option<u64> {
        self.get(b'l').and_then(parse_u64)
    }

    /// `W`: this client won the right to recache the item.
    pub fn won(&self) -> bool {
        self.has(b'W')
    }

    /// `X`: the item is stale (invalidated).
    pub fn stale(&self) -> bool {
        self.has(b'X')
    }

    /// `Z`: another client already received the win flag.
    pub fn win_sent(&self) -> bool {
        self.has(b'Z')
    }
}

impl fmt::Debug for MetaFlags<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MetaFlags(\"{}\")", self.raw.escape_ascii())
    }
}

/// A TTL token: `-1` or a decimal number.
fn parse_ttl(token: &[u8]) -> Option<i64> {
    if token == b"-1" {
        return Some(-1);
    }
    parse_u64(token).and_then(|ttl| i64::try_from(ttl).ok())
}

/// One reply of the meta protocol, borrowing from the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaReply<'a> {
    /// `VA <size> <flags>*\r\n<data>\r\n`: a value (from `mg v` or `ma v`).
    Value {
        /// The data block, which may hold any bytes.
        data: &'a [u8],
        /// The return flags.
        flags: MetaFlags<'a>,
    },
    /// A `VA` header announcing more than [`Limits::max_value_len`] bytes.
    /// Only the header line is consumed: the caller must skip the next
    /// `len + 2` bytes (the data block and its `\r\n`).
    Oversized {
        /// The announced length of the data block.
        len: u64,
        /// The return flags.
        flags: MetaFlags<'a>,
    },
    /// `HD <flags>*`: success without a value (hit, stored, deleted, ...).
    Hit(MetaFlags<'a>),
    /// `EN <flags>*`: `mg` miss. memcached 1.6 echoes `O` and `k` here.
    Miss(MetaFlags<'a>),
    /// `NS <flags>*`: not stored (a mode's condition failed).
    NotStored(MetaFlags<'a>),
    /// `EX <flags>*`: the CAS token did not match.
    Exists(MetaFlags<'a>),
    /// `NF <flags>*`: no such item.
    NotFound(MetaFlags<'a>),
    /// `MN`: the reply to `mn`.
    NoOp,
    /// `ERROR`: unknown command (a trailing message is dropped).
    Error,
    /// `CLIENT_ERROR <msg>`: the request was malformed.
    ClientError(&'a [u8]),
    /// `SERVER_ERROR <msg>`: the server failed to carry out the request.
    ServerError(&'a [u8]),
}

/// Parses one meta reply from the front of `buf`.
///
/// `Ok(None)` means more bytes are needed; `Ok(Some((reply, consumed)))`
/// gives the reply and how many bytes of `buf` it took (never more than
/// `buf.len()`, never 0).
pub fn parse_meta_reply<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<(MetaReply<'a>, usize)>, ProtocolError> {
    let Some((line, line_len)) = split_line(buf, limits)? else {
        return Ok(None);
    };
    let (code, rest) = line.split_at(line.len().min(2));
    let flags_after_code = || match rest {
        b"" => Ok(MetaFlags::default()),
        _ => match rest.strip_prefix(b" ") {
            Some(flags) => MetaFlags::parse(flags, line),
            None => Err(ProtocolError::unexpected(line)),
        },
    };
    let reply = match code {
        b"VA" => return parse_value(buf, line, rest, line_len, limits),
        b"HD" => MetaReply::Hit(flags_after_code()?),
        b"EN" => MetaReply::Miss(flags_after_code()?),
        b"NS" => MetaReply::NotStored(flags_after_code()?),
        b"EX" => MetaReply::Exists(flags_after_code()?),
        b"NF" => MetaReply::NotFound(flags_after_code()?),
        b"MN" if rest.is_empty() => MetaReply::NoOp,
        _ => {
            if let Some(message) = error_message(line, b"CLIENT_ERROR") {
                MetaReply::ClientError(message)
            } else if let Some(message) = error_message(line, b"SERVER_ERROR") {
                MetaReply::ServerError(message)
            } else if line == b"ERROR" || line.starts_with(b"ERROR ") || line.starts_with(b"ERROR:")
            {
                MetaReply::Error
            } else {
                return Err(ProtocolError::unexpected(line));
            }
        }
    };
    Ok(Some((reply, line_len)))
}

/// `VA <size> <flags>*` (`rest` starts after `VA`) then the data block.
fn parse_value<'a>(
    buf: &'a [u8],
    line: &'a [u8],
    rest: &'a [u8],
    line_len: usize,
    limits: &Limits,
) -> Result<Option<(MetaReply<'a>, usize)>, ProtocolError> {
    let Some(rest) = rest.strip_prefix(b" ") else {
        return Err(ProtocolError::malformed("VA", line));
    };
    let (size, flags) = match memchr::memchr(b' ', rest) {
        Some(space) => (rest.get(..space), rest.get(space + 1..)),
        None => (Some(rest), None),
    };
    let size = size.unwrap_or_default();
    let size_number = parse_u64(size).ok_or_else(|| ProtocolError::bad_number("VA size", size))?;
    let flags = match flags {
        Some(flags) => MetaFlags::parse(flags, line)?,
        None => MetaFlags::default(),
    };
    let size = match usize::try_from(size_number) {
        Ok(size) if size <= limits.max_value_len => size,
        _ if size_number <= super::MAX_SKIPPABLE_LEN => {
            return Ok(Some((MetaReply::Oversized { len: size_number, flags }, line_len)));
        }
        _ => return Err(ProtocolError::value_too_large("VA", size_number, limits.max_value_len)),
    };
    Ok(split_data_block(buf, line_len, size)?
        .map(|(data, end)| (MetaReply::Value { data, flags }, end)))
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
    fn every_flag_is_written_with_its_letter() {
        let flags = [
            MetaFlag::ReturnValue,
            MetaFlag::ReturnFlags,
            MetaFlag::ReturnCas,
            MetaFlag::ReturnTtl,
            MetaFlag::ReturnKey,
            MetaFlag::ReturnSize,
            MetaFlag::ReturnHit,
            MetaFlag::ReturnLastAccess,
            MetaFlag::Quiet,
            MetaFlag::NoBump,
            MetaFlag::Invalidate,
            MetaFlag::RemoveValue,
            MetaFlag::Opaque(u32::MAX),
            MetaFlag::Ttl(30),
            MetaFlag::Vivify(0),
            MetaFlag::Recache(5),
            MetaFlag::ClientFlags(7),
            MetaFlag::CompareCas(u64::MAX),
            MetaFlag::NewCas(9),
            MetaFlag::Mode(b'E'),
            MetaFlag::Delta(2),
            MetaFlag::Initial(10),
            MetaFlag::Raw(b"Lpath/"),
        ];
        assert_eq!(
            encoded(|b| encode_mg(b, b"p:", b"k", &flags)),
            &b"mg p:k v f c t k s h l q u I x O4294967295 T30 N0 R5 F7 C18446744073709551615 \
               E9 ME D2 J10 Lpath/\r\n"[..]
        );
    }

    #[test]
    fn command_lines() {
        assert_eq!(encoded(|b| encode_mg(b, b"", b"k", &[])), b"mg k\r\n");
        assert_eq!(
            encoded(|b| encode_mg(b, b"p:", b"k", &[MetaFlag::ReturnValue, MetaFlag::Opaque(3)])),
            b"mg p:k v O3\r\n"
        );
        assert_eq!(
            encoded(|b| encode_ms(b, b"p:", b"k", b"a\r\n\0b", &[MetaFlag::ClientFlags(5)])),
            b"ms p:k 5 F5\r\na\r\n\0b\r\n"
        );
        assert_eq!(encoded(|b| encode_ms(b, b"", b"k", b"", &[])), b"ms k 0\r\n\r\n");
        assert_eq!(encoded(|b| encode_md(b, b"p:", b"k", &[MetaFlag::Quiet])), b"md p:k q\r\n");
        assert_eq!(encoded(|b| encode_md(b, b"", b"k", &[])), b"md k\r\n");
        assert_eq!(
            encoded(|b| encode_ma(b, b"p:", b"n", &[MetaFlag::Mode(b'D'), MetaFlag::Delta(3)])),
            b"ma p:n MD D3\r\n"
        );
        assert_eq!(encoded(encode_mn), b"mn\r\n");
    }

    fn parse(buf: &[u8]) -> Result<Option<(MetaReply<'_>, usize)>, ProtocolError> {
        parse_meta_reply(buf, &Limits::default())
    }

    fn parse_one(buf: &[u8]) -> MetaReply<'_> {
        let (reply, consumed) = parse(buf).unwrap().unwrap();
        assert_eq!(consumed, buf.len(), "{reply:?} should take the whole input");
        reply
    }

    fn flags_of(reply: MetaReply<'_>) -> MetaFlags<'_> {
        match reply {
            MetaReply::Value { flags, .. }
            | MetaReply::Hit(flags)
            | MetaReply::Miss(flags)
            | MetaReply::NotStored(flags)
            | MetaReply::Exists(flags)
            | MetaReply::NotFound(flags) => flags,
            other => panic!("{other:?} has no flags"),
        }
    }

    #[test]
    fn every_reply_code() {
        let value = parse_one(b"VA 5 f3 c99\r\na\r\n\0b\r\n");
        assert!(matches!(value, MetaReply::Value { data: b"a\r\n\0b", .. }));
        assert_eq!(flags_of(value).as_bytes(), b"f3 c99");
        let bare = parse_one(b"VA 0\r\n\r\n");
        assert!(matches!(bare, MetaReply::Value { data: b"", .. }));
        assert!(flags_of(bare).is_empty());
        assert!(matches!(parse_one(b"HD\r\n"), MetaReply::Hit(f) if f.is_empty()));
        assert!(matches!(parse_one(b"HD c5\r\n"), MetaReply::Hit(f) if f.cas() == Some(5)));
        assert!(matches!(parse_one(b"EN\r\n"), MetaReply::Miss(f) if f.is_empty()));
        assert!(matches!(
            parse_one(b"EN O12 kp:k\r\n"),
            MetaReply::Miss(f) if f.opaque() == Some(12) && f.key() == Some(&b"p:k"[..])
        ));
        assert!(matches!(parse_one(b"NS\r\n"), MetaReply::NotStored(f) if f.is_empty()));
        assert!(
            matches!(parse_one(b"NS O1\r\n"), MetaReply::NotStored(f) if f.opaque() == Some(1))
        );
        assert!(matches!(parse_one(b"EX\r\n"), MetaReply::Exists(f) if f.is_empty()));
        assert!(matches!(parse_one(b"EX c0\r\n"), MetaReply::Exists(f) if f.cas() == Some(0)));
        assert!(matches!(parse_one(b"NF\r\n"), MetaReply::NotFound(f) if f.is_empty()));
        assert!(matches!(parse_one(b"NF kx\r\n"), MetaReply::NotFound(f) if f.has(b'k')));
        assert_eq!(parse_one(b"MN\r\n"), MetaReply::NoOp);
        assert_eq!(parse_one(b"ERROR\r\n"), MetaReply::Error);
        assert_eq!(
            parse_one(b"CLIENT_ERROR bad command line format\r\n"),
            MetaReply::ClientError(b"bad command line format")
        );
        assert_eq!(
            parse_one(b"SERVER_ERROR out of memory\r\n"),
            MetaReply::ServerError(b"out of memory")
        );
    }

    #[test]
    fn flag_accessors() {
        let reply =
            parse_one(b"HD c18446744073709551615 f4294967295 t-1 kp:k b s10 h1 l7 O42 W X Z\r\n");
        let flags = flags_of(reply);
        assert_eq!(flags.cas(), Some(u64::MAX));
        assert_eq!(flags.client_flags(), Some(u32::MAX));
        assert_eq!(flags.ttl(), Some(-1));
        assert_eq!(flags.key(), Some(&b"p:k"[..]));
        assert!(flags.base64_key());
        assert_eq!(flags.size(), Some(10));
        assert_eq!(flags.hit_before(), Some(true));
        assert_eq!(flags.last_access(), Some(7));
        assert_eq!(flags.opaque(), Some(42));
        assert!(flags.won() && flags.stale() && flags.win_sent());
        assert_eq!(flags.get(b'W'), Some(&b""[..]));
        assert_eq!(flags.get(b'c'), Some(&b"18446744073709551615"[..]));
        assert_eq!(flags.get(b'q'), None);
        assert_eq!(flags.iter().count(), 12);
        assert_eq!(format!("{flags:?}").len(), "MetaFlags(\"\")".len() + flags.as_bytes().len());

        let none = flags_of(parse_one(b"HD t30 h0 Oabc\r\n"));
        assert_eq!(none.ttl(), Some(30));
        assert_eq!(none.hit_before(), Some(false));
        assert_eq!(none.opaque(), None, "a non-numeric opaque is no u32");
        assert_eq!(none.get(b'O'), Some(&b"abc"[..]));
        assert_eq!(none.cas(), None);
        assert_eq!(none.client_flags(), None);
        assert_eq!(none.key(), None);
        assert!(!none.won() && !none.stale() && !none.win_sent() && !none.base64_key());
    }

    fn error_of(buf: &[u8]) -> ProtocolError {
        parse(buf).expect_err(&format!("{} should fail", buf.escape_ascii()))
    }

    #[test]
    fn bad_replies() {
        let err = error_of(b"VA 99999999999 f0\r\n");
        assert_eq!(err.kind(), ProtocolErrorKind::ValueTooLarge);
        assert_eq!(err.to_string(), "VA length 99999999999 over limit 1048576");
        assert_eq!(
            parse(b"VA 1048577 t5\r\n")
                .unwrap()
                .map(|(r, n)| (matches!(r, MetaReply::Oversized { len: 1_048_577, .. }), n)),
            Some((true, 15))
        );
        assert!(parse(b"VA 1048576\r\n").unwrap().is_none());
        assert_eq!(error_of(b"VA 2\r\nabc\r\n").kind(), ProtocolErrorKind::BadDataTerminator);
        assert_eq!(error_of(b"VA 2 c1\r\nab\n\r").kind(), ProtocolErrorKind::BadDataTerminator);
        for (line, kind) in [
            (&b"VA\r\n"[..], ProtocolErrorKind::MalformedLine),
            (b"VA 1 \r\n", ProtocolErrorKind::MalformedLine),
            (b"VA x\r\n", ProtocolErrorKind::BadNumber),
            (b"VA -1\r\n", ProtocolErrorKind::BadNumber),
            (b"VA 99999999999999999999999\r\n", ProtocolErrorKind::BadNumber),
            (b"HD c\r\n", ProtocolErrorKind::BadNumber),
            (b"HD c18446744073709551616\r\n", ProtocolErrorKind::BadNumber),
            (b"HD f4294967296\r\n", ProtocolErrorKind::BadNumber),
            (b"HD t-2\r\n", ProtocolErrorKind::BadNumber),
            (b"HD sx\r\n", ProtocolErrorKind::BadNumber),
            (b"HD  c1\r\n", ProtocolErrorKind::MalformedLine),
            (b"HD c1 \r\n", ProtocolErrorKind::MalformedLine),
            (b"HD \r\n", ProtocolErrorKind::MalformedLine),
            (b"HDX\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"EXISTS\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"END\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"MN c1\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"ME k exp=-1\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"H\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"hd\r\n", ProtocolErrorKind::UnexpectedLine),
            (b"HD\n", ProtocolErrorKind::BareNewline),
        ] {
            assert_eq!(error_of(line).kind(), kind, "{}", line.escape_ascii());
        }
        let err = error_of(b"STORED\r\n");
        assert_eq!(err.to_string(), "unexpected reply line: STORED");
    }

    #[test]
    fn long_lines_fail_without_a_line_end() {
        let limits = Limits { max_value_len: 1 << 20, max_line_len: 32 };
        let mut line = b"HD O1 ".to_vec();
        line.resize(31, b'x');
        assert_eq!(parse_meta_reply(&line, &limits), Ok(None));
        line.push(b'x');
        let err = parse_meta_reply(&line, &limits).unwrap_err();
        assert_eq!(err.kind(), ProtocolErrorKind::LineTooLong);
    }

    /// Parses every whole reply at the front of `buf`.
    fn parse_all(buf: &[u8]) -> (Vec<MetaReply<'_>>, usize) {
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
        let stream: &[u8] = b"VA 4 f1 c2 t-1\r\nab\r\n\r\nHD c3\r\nEN\r\nNS\r\nEX\r\nNF O9\r\n\
            VA 2\r\n12\r\nCLIENT_ERROR bad data chunk\r\nMN\r\n";
        let (all, consumed) = parse_all(stream);
        assert_eq!(consumed, stream.len());
        assert_eq!(all.len(), 9);
        assert!(
            matches!(all[0], MetaReply::Value { data: b"ab\r\n", flags } if flags.ttl() == Some(-1))
        );
        assert!(matches!(all[1], MetaReply::Hit(f) if f.cas() == Some(3)));
        assert!(matches!(all[2], MetaReply::Miss(_)));
        assert!(matches!(all[3], MetaReply::NotStored(_)));
        assert!(matches!(all[4], MetaReply::Exists(_)));
        assert!(matches!(all[5], MetaReply::NotFound(f) if f.opaque() == Some(9)));
        assert!(matches!(all[6], MetaReply::Value { data: b"12", flags } if flags.is_empty()));
        assert_eq!(all[7], MetaReply::ClientError(b"bad data chunk"));
        assert_eq!(all[8], MetaReply::NoOp);
        for cut in 0..=stream.len() {
            let (replies, consumed) = parse_all(&stream[..cut]);
            assert_eq!(replies[..], all[..replies.len()], "cut at {cut}");
            assert_eq!(replies.len() == all.len(), cut == stream.len(), "cut at {cut}");
            let (rest, rest_consumed) = parse_all(&stream[consumed..]);
            assert_eq!(rest[..], all[replies.len()..]);
            assert_eq!(consumed + rest_consumed, stream.len());
        }
    }

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
            if let Ok(Some((_, consumed))) = parse_meta_reply(&bytes, &limits) {
                prop_assert!(consumed > 0 && consumed <= bytes.len());
            }
        }

        #[test]
        fn reply_like_bytes_never_panic(
            head in prop_oneof![
                Just(&b"VA "[..]), Just(&b"HD "[..]), Just(&b"EN"[..]), Just(&b"VA 3 "[..]),
                Just(&b"HD c"[..]), Just(&b"HD t"[..]), Just(&b"SERVER_ERROR"[..]),
            ],
            tail in tricky_bytes(80),
        ) {
            let bytes = [head, &tail[..]].concat();
            let limits = Limits { max_value_len: 16, max_line_len: 64 };
            if let Ok(Some((reply, consumed))) = parse_meta_reply(&bytes, &limits) {
                prop_assert!(consumed > 0 && consumed <= bytes.len());
                if let MetaReply::Hit(flags) = reply {
                    // Accessors stay total on whatever was accepted.
                    let _ = (flags.cas(), flags.ttl(), flags.client_flags(), flags.opaque());
                    let _ = (flags.size(), flags.hit_before(), flags.last_access(), flags.key());
                }
            }
        }

        #[test]
        fn values_round_trip(
            data in tricky_bytes(200),
            cas in any::<u64>(),
            client_flags in any::<u32>(),
            cut in any::<proptest::sample::Index>(),
        ) {
            let mut stream = format!("VA {} c{cas} f{client_flags}\r\n", data.len()).into_bytes();
            stream.extend_from_slice(&data);
            stream.extend_from_slice(b"\r\n");
            let whole = stream.len();
            stream.extend_from_slice(b"MN\r\n");
            let (reply, consumed) = parse(&stream).unwrap().unwrap();
            prop_assert_eq!(consumed, whole);
            let MetaReply::Value { data: got, flags } = reply else {
                return Err(TestCaseError::fail(format!("{reply:?}")));
            };
            prop_assert_eq!(got, &data[..]);
            prop_assert_eq!(flags.cas(), Some(cas));
            prop_assert_eq!(flags.client_flags(), Some(client_flags));
            prop_assert_eq!(parse(&stream[consumed..]).unwrap(), Some((MetaReply::NoOp, 4)));
            prop_assert_eq!(parse(&stream[..cut.index(whole)]).unwrap(), None);
        }

        #[test]
        fn ms_data_blocks_are_length_delimited(
            key in proptest::collection::vec(33u8..127, 1..40),
            data in tricky_bytes(200),
        ) {
            let mut buf = Vec::new();
            encode_ms(&mut buf, b"ns:", &key, &data, &[MetaFlag::ReturnCas, MetaFlag::Ttl(5)]);
            let line_end = buf.windows(2).position(|w| w == b"\r\n").unwrap();
            let header = std::str::from_utf8(&buf[..line_end]).unwrap();
            let fields: Vec<&str> = header.split(' ').collect();
            prop_assert_eq!(fields[0], "ms");
            prop_assert_eq!(fields[1].as_bytes(), [&b"ns:"[..], &key[..]].concat());
            prop_assert_eq!(fields[2].parse::<usize>().unwrap(), data.len());
            prop_assert_eq!(&fields[3..], &["c", "T5"]);
            prop_assert_eq!(&buf[line_end + 2..], [&data[..], b"\r\n"].concat());
        }
    }
}
