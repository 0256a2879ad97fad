//! memcached's `watch fetchers` log stream: every item fetch the server
//! serves, as it happens (memcached 1.5+). The ops tool samples it to find
//! the hottest keys.
//!
//! A watch takes a connection of its own: after `watch` the server only
//! streams log lines on it. Lines look like
//! `ts=1700000000.123456 gid=7 type=item_get key=a%25b status=found clsid=1 cfd=22 size=1`
//! (keys URL-encoded); when the watcher falls behind the server drops lines
//! and says how many (`skipped=N`).

use std::time::{Duration, Instant};

use crate::config::ServerSpec;
use crate::conn::{Conn, Deadline, IoFailure};
use crate::error::{Error, Result};

/// One fetch from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetch {
    /// The key as stored (URL-decoded, with any prefix).
    pub key: Vec<u8>,
    /// Whether the key was found.
    pub found: bool,
}

/// What one log line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchLine {
    /// An item fetch.
    Fetch(Fetch),
    /// The server dropped this many lines because the watcher was slow.
    Skipped(u64),
    /// Any other line (other event types, future fields).
    Other,
}

/// Reverses memcached's URL encoding of keys (`%XX`).
pub fn url_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Parses one log line (without its line end).
pub fn parse_line(line: &[u8]) -> WatchLine {
    let mut kind = None;
    let mut key = None;
    let mut status = None;
    for field in line.split(|&b| b == b' ') {
        let Some(eq) = field.iter().position(|&b| b == b'=') else { continue };
        let (name, value) = (&field[..eq], &field[eq + 1..]);
        match name {
            b"type" => kind = Some(value),
            b"key" => key = Some(value),
            b"status" => status = Some(value),
            b"skipped" => {
                let n = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                return WatchLine::Skipped(n.unwrap_or(0));
            }
            _ => {}
        }
    }
    match (kind, key) {
        (Some(b"item_get"), Some(key)) => {
            WatchLine::Fetch(Fetch { key: url_decode(key), found: status == Some(b"found") })
        }
        _ => WatchLine::Other,
    }
}

/// How long one wait for log lines may block, so a quiet server does not
/// hold a watch past its end.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// An open `watch fetchers` stream on one server.
pub struct Watch {
    conn: Conn,
    server: String,
}

impl Watch {
    /// Connects to `spec`, sends `watch fetchers` and waits for its `OK`.
    pub fn start(
        spec: &ServerSpec,
        connect_timeout: Duration,
        io_timeout: Duration,
    ) -> Result<Watch> {
        let server = spec.name();
        let mut conn = crate::resolve::Addresses::of(spec)
            .target(connect_timeout)
            .and_then(|t| Conn::connect(&t, connect_timeout, WAIT_SLICE))
            .map_err(|e| Error::io(&server, e))?;
        conn.out.extend_from_slice(b"watch fetchers\r\n");
        let deadline = Deadline::after(io_timeout);
        conn.flush(&deadline).map_err(|e| Error::io(&server, e))?;
        let mut watch = Watch { conn, server };
        loop {
            if let Some(line) = watch.take_line() {
                return match line.as_slice() {
                    b"OK" => Ok(watch),
                    other => Err(Error::Server {
                        server: watch.server.clone(),
                        message: format!(
                            "watch refused: {}",
                            String::from_utf8_lossy(&other[..other.len().min(200)])
                        ),
                    }),
                };
            }
            watch.fill(&deadline.min(Deadline::after(WAIT_SLICE)))?;
            if deadline.passed() {
                return Err(Error::Timeout { server: watch.server, during: "read" });
            }
        }
    }

    /// The server's name.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Reads log lines until `until`, handing each to `on_line`.
    pub fn read_until(&mut self, until: Instant, mut on_line: impl FnMut(WatchLine)) -> Result<()> {
        loop {
            while let Some(line) = self.take_line() {
                on_line(parse_line(&line));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            match self.fill(&Deadline::after(left.min(WAIT_SLICE))) {
                Ok(()) => {}
                Err(Error::Timeout { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn fill(&mut self, deadline: &Deadline) -> Result<()> {
        match self.conn.fill(deadline) {
            Ok(()) => Ok(()),
            Err(IoFailure::Timeout(_)) => {
                Err(Error::Timeout { server: self.server.clone(), during: "read" })
            }
            Err(e) => Err(Error::io(&self.server, e)),
        }
    }

    /// The next complete line in the receive buffer, without its line end.
    fn take_line(&mut self) -> Option<Vec<u8>> {
        let buf = self.conn.buffered();
        let end = memchr::memchr(b'\n', buf)?;
        let mut line = buf[..end].to_vec();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        self.conn.consume(end + 1);
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fetch_lines_of_memcached_1_6() {
        let line =
            b"ts=1796155770.592918 gid=3 type=item_get key=a%25b status=found clsid=1 cfd=13 size=1";
        assert_eq!(parse_line(line), WatchLine::Fetch(Fetch { key: b"a%b".to_vec(), found: true }));
        let miss = b"ts=1.2 gid=4 type=item_get key=nokey status=not_found clsid=0 cfd=13 size=0";
        assert_eq!(
            parse_line(miss),
            WatchLine::Fetch(Fetch { key: b"nokey".to_vec(), found: false })
        );
        assert_eq!(parse_line(b"ts=1.2 gid=5 skipped=17"), WatchLine::Skipped(17));
        assert_eq!(parse_line(b"ts=1.2 gid=6 type=item_store key=k"), WatchLine::Other);
        assert_eq!(parse_line(b""), WatchLine::Other);
    }

    #[test]
    fn url_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(url_decode(b"a%20b%zz%4"), b"a b%zz%4".to_vec());
        assert_eq!(url_decode(b"%C3%A9"), "é".as_bytes().to_vec());
        assert_eq!(url_decode(b"%"), b"%".to_vec());
    }
}
