//! Key validation: what may be sent to memcached as a key.
//!
//! memcached's text protocol separates tokens with spaces and ends commands
//! with `\r\n`, so a key with whitespace or a control byte would split or end
//! the command (`"a\r\nflush_all"` is two commands). Every key is checked here
//! before a byte is written. Bytes >= 0x80 are allowed: UTF-8 keys are normal.

use std::fmt;

/// memcached's and libmemcached's key limit, in bytes (prefix included).
pub const MAX_KEY_LEN: usize = 250;

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// The key is empty.
    Empty,
    /// The key (with the prefix) is longer than 250 bytes.
    TooLong {
        /// Its length in bytes, prefix included.
        len: usize,
    },
    /// The key contains a space, tab, newline or other control byte.
    BadByte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the key.
        offset: usize,
    },
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KeyProblem::Empty => f.write_str("empty key"),
            KeyProblem::TooLong { len } => {
                write!(f, "key is {len} bytes, over the {MAX_KEY_LEN}-byte limit")
            }
            KeyProblem::BadByte { byte, offset } => {
                let what = if byte == b' ' {
                    "space"
                } else if byte.is_ascii_whitespace() {
                    "whitespace"
                } else {
                    "control byte"
                };
                write!(f, "key contains {what} 0x{byte:02x} at offset {offset}")
            }
        }
    }
}

/// Checks a key as it will be sent: `prefix_len` bytes of prefix are added
/// in front of it on the wire and count towards the limit.
#[inline]
pub fn check_key(key: &[u8], prefix_len: usize) -> Result<(), KeyProblem> {
    if key.is_empty() {
        return Err(KeyProblem::Empty);
    }
    let len = key.len() + prefix_len;
    if len > MAX_KEY_LEN {
        return Err(KeyProblem::TooLong { len });
    }
    for (offset, &byte) in key.iter().enumerate() {
        // 0x00..=0x20 covers every control byte and the space; 0x7f is DEL.
        if byte <= b' ' || byte == 0x7f {
            return Err(KeyProblem::BadByte { byte, offset });
        }
    }
    Ok(())
}

/// Renders a key for an error message: printable ASCII as is, anything else
/// escaped, long keys shortened, so a message is always one readable line.
pub fn display_key(key: &[u8]) -> String {
    const SHOWN: usize = 64;
    let mut out = String::new();
    for &b in key.iter().take(SHOWN) {
        if (0x21..0x7f).contains(&b) && b != b'\\' && b != b'"' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if key.len() > SHOWN {
        out.push_str(&format!("...({} bytes)", key.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_and_utf8_keys() {
        assert_eq!(check_key(b"user:42", 0), Ok(()));
        assert_eq!(check_key("café/東京".as_bytes(), 0), Ok(()));
        assert_eq!(check_key(&[b'k'; 250], 0), Ok(()));
    }

    #[test]
    fn refuses_empty_long_and_control() {
        assert_eq!(check_key(b"", 0), Err(KeyProblem::Empty));
        assert_eq!(check_key(&[b'k'; 251], 0), Err(KeyProblem::TooLong { len: 251 }));
        assert_eq!(check_key(&[b'k'; 245], 6), Err(KeyProblem::TooLong { len: 251 }));
        assert_eq!(
            check_key(b"a\r\nflush_all", 0),
            Err(KeyProblem::BadByte { byte: b'\r', offset: 1 })
        );
        assert_eq!(check_key(b"a b", 0), Err(KeyProblem::BadByte { byte: b' ', offset: 1 }));
        assert_eq!(check_key(b"a\0", 0), Err(KeyProblem::BadByte { byte: 0, offset: 1 }));
        assert_eq!(check_key(b"\x7f", 0), Err(KeyProblem::BadByte { byte: 0x7f, offset: 0 }));
    }

    #[test]
    fn display_escapes() {
        assert_eq!(display_key(b"a\r\nb"), "a\\x0d\\x0ab");
        assert!(display_key(&[b'x'; 300]).ends_with("...(300 bytes)"));
    }
}
