//! Printing stored bytes safely.
//!
//! Default (text output): a value or key prints as one line. Printable
//! UTF-8 passes through; a backslash prints as `\\`, newline, carriage
//! return and tab as `\n`, `\r`, `\t`, and every other control byte or byte
//! that is not valid UTF-8 as `\xHH`. `printf '%b'` turns such text back
//! into the original bytes. `--raw` writes the bytes as they are; JSON
//! output carries text values as strings and other values in base64.

/// The escaped form of `bytes` (see the module doc).
pub fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        hex_escape(&mut out, b);
                    }
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            hex_escape(&mut out, b);
        }
    }
    out
}

fn hex_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
}

/// The escaped form as a `String` (escaping leaves only valid UTF-8).
pub fn escape_str(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&escape(bytes)).into_owned()
}

/// Standard base64 with padding (RFC 4648), for binary values in JSON.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_whatever_the_bytes() {
        assert_eq!(escape(b"plain text"), b"plain text");
        assert_eq!(escape("héllo wörld".as_bytes()), "héllo wörld".as_bytes());
        assert_eq!(escape(b"a\nb\r\tc\\d"), br"a\nb\r\tc\\d");
        assert_eq!(escape(b"\x00\x1b\x7f"), br"\x00\x1b\x7f");
        assert_eq!(escape(b"\xff\xfe ok \xc3"), br"\xff\xfe ok \xc3");
        assert_eq!(escape("\u{85}".as_bytes()), br"\xc2\x85");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        assert_eq!(base64(&[0xff, 0x00, 0x80]), "/wCA");
    }
}
