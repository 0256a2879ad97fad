//! Every request the protocol module encodes, sent over a plain TcpStream to
//! a real memcached, with every reply read back through its parsers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mcring::protocol::{
    encode_arith, encode_delete, encode_flush_all, encode_ma, encode_md, encode_mg, encode_mn,
    encode_ms, encode_retrieval, encode_stats, encode_storage, encode_touch, encode_version,
    parse_meta_reply, parse_text_reply, Arith, Limits, MetaFlag, MetaFlags, MetaReply,
    ProtocolError, Retrieval, Storage, TextReply,
};
use mcring_tests::Memcached;

/// A retrieved item: key, flags, data, cas.
type Item = (Vec<u8>, u32, Vec<u8>, Option<u64>);

/// A test's connection: a socket and every byte read from it so far.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where the next unparsed reply starts in `buf`.
    start: usize,
    limits: Limits,
}

impl Conn {
    fn open(server: &Memcached) -> Conn {
        let stream = TcpStream::connect_timeout(&server.addr(), Duration::from_secs(5)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Conn { stream, buf: Vec::new(), start: 0, limits: Limits::default() }
    }

    /// Sends what `encode` appends to an empty request buffer.
    fn send(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let mut request = Vec::new();
        encode(&mut request);
        self.stream.write_all(&request).unwrap();
    }

    /// Reads once more from the socket; a closed socket or a 5 s silence fails.
    fn fill(&mut self) {
        let mut chunk = [0u8; 16384];
        let n = self.stream.read(&mut chunk).expect("reply within 5 s");
        assert!(n > 0, "server closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Reads until `measure` finds a whole reply; returns where it lies in
    /// `buf`. `measure` gives the length of the reply at the front of its
    /// input, `Ok(None)` while incomplete.
    fn next_reply(
        &mut self,
        measure: impl Fn(&[u8]) -> Result<Option<usize>, ProtocolError>,
    ) -> std::ops::Range<usize> {
        loop {
            match measure(&self.buf[self.start..]) {
                Ok(Some(consumed)) => {
                    let range = self.start..self.start + consumed;
                    self.start += consumed;
                    return range;
                }
                Ok(None) => self.fill(),
                Err(e) => panic!("protocol error: {e}"),
            }
        }
    }

    fn text(&mut self) -> TextReply<'_> {
        let limits = self.limits;
        let range = self.next_reply(|b| Ok(parse_text_reply(b, &limits)?.map(|(_, n)| n)));
        let (reply, consumed) =
            parse_text_reply(&self.buf[range.clone()], &limits).unwrap().unwrap();
        assert_eq!(consumed, range.len());
        reply
    }

    fn meta(&mut self) -> MetaReply<'_> {
        let limits = self.limits;
        let range = self.next_reply(|b| Ok(parse_meta_reply(b, &limits)?.map(|(_, n)| n)));
        let (reply, consumed) =
            parse_meta_reply(&self.buf[range.clone()], &limits).unwrap().unwrap();
        assert_eq!(consumed, range.len());
        reply
    }

    /// Every `VALUE` up to `END`, as (key, flags, data, cas).
    fn values(&mut self) -> Vec<Item> {
        let mut found = Vec::new();
        loop {
            match self.text() {
                TextReply::Value { key, flags, data, cas } => {
                    found.push((key.to_vec(), flags, data.to_vec(), cas))
                }
                TextReply::End => return found,
                other => panic!("expected VALUE or END, got {other:?}"),
            }
        }
    }

    /// Asks for `key`'s value with `get` on this connection.
    fn get(&mut self, key: &[u8]) -> Option<(u32, Vec<u8>)> {
        self.send(|b| encode_retrieval(b, Retrieval::Get, b"", [key]));
        let mut values = self.values();
        assert!(values.len() <= 1);
        values.pop().map(|(_, flags, data, _)| (flags, data))
    }

    /// Whether the server's `version` is at least `min` (major, minor, patch).
    fn version_at_least(&mut self, min: [u32; 3]) -> bool {
        self.send(encode_version);
        let text = match self.text() {
            TextReply::Version(v) => String::from_utf8(v.to_vec()).unwrap(),
            other => panic!("expected VERSION, got {other:?}"),
        };
        let parts: Vec<u32> = text.split('.').map(|p| p.parse().unwrap()).collect();
        parts[..] >= min[..]
    }

    /// Proves that every earlier request has replied and that nothing else
    /// came back: the next reply must be the one to `version`.
    fn assert_text_quiet(&mut self) {
        self.send(encode_version);
        let reply = self.text();
        assert!(matches!(reply, TextReply::Version(_)), "expected VERSION, got {reply:?}");
    }

    /// The meta counterpart: the next reply must be `MN`.
    fn assert_meta_quiet(&mut self) {
        self.send(encode_mn);
        let reply = self.meta();
        assert_eq!(reply, MetaReply::NoOp);
    }
}

/// Sends `ms` with prefix `m:` and reads its reply.
fn ms<'c>(c: &'c mut Conn, key: &[u8], value: &[u8], flags: &[MetaFlag<'_>]) -> MetaReply<'c> {
    c.send(|b| encode_ms(b, b"m:", key, value, flags));
    c.meta()
}

/// A number's stored text without the spaces memcached may pad a `decr`
/// result with (it shrinks the number in place; protocol.txt allows it).
fn trim_padding((_, data): (u32, Vec<u8>)) -> Vec<u8> {
    let end = data.iter().rposition(|b| *b != b' ').map_or(0, |i| i + 1);
    data[..end].to_vec()
}

/// A small xorshift generator: the same test values on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `len` bytes rich in the protocol's separators: \r, \n, NUL, space.
    fn tricky_bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match self.next() % 6 {
                0 => b'\r',
                1 => b'\n',
                2 => 0,
                3 => b' ',
                _ => self.next() as u8,
            })
            .collect()
    }
}

#[test]
fn text_storage_commands() {
    let server = Memcached::start();
    let mut c = Conn::open(&server);

    c.send(|b| encode_storage(b, Storage::Set, b"p:", b"a", 7, 0, b"one\r\ntwo\0", false));
    assert_eq!(c.text(), TextReply::Stored);
    assert_eq!(c.get(b"p:a"), Some((7, b"one\r\ntwo\0".to_vec())));

    c.send(|b| encode_storage(b, Storage::Add, b"p:", b"a", 0, 0, b"x", false));
    assert_eq!(c.text(), TextReply::NotStored);
    c.send(|b| encode_storage(b, Storage::Add, b"p:", b"b", 1, 0, b"bee", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_storage(b, Storage::Replace, b"p:", b"missing", 0, 0, b"x", false));
    assert_eq!(c.text(), TextReply::NotStored);
    c.send(|b| encode_storage(b, Storage::Replace, b"p:", b"b", 2, 0, b"B", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_storage(b, Storage::Append, b"p:", b"b", 0, 0, b">", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_storage(b, Storage::Prepend, b"p:", b"b", 0, 0, b"<", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_storage(b, Storage::Append, b"p:", b"missing", 0, 0, b"x", false));
    assert_eq!(c.text(), TextReply::NotStored);
    assert_eq!(c.get(b"p:b"), Some((2, b"<B>".to_vec())), "append/prepend keep flags");

    // get and gets over several keys, one of them missing.
    let keys: [&[u8]; 3] = [b"a", b"missing", b"b"];
    c.send(|b| encode_retrieval(b, Retrieval::Get, b"p:", keys));
    let got = c.values();
    assert_eq!(
        got,
        vec![
            (b"p:a".to_vec(), 7, b"one\r\ntwo\0".to_vec(), None),
            (b"p:b".to_vec(), 2, b"<B>".to_vec(), None)
        ]
    );
    c.send(|b| encode_retrieval(b, Retrieval::Gets, b"p:", keys));
    let got = c.values();
    assert_eq!(got.len(), 2);
    let cas_a = got[0].3.expect("gets returns a cas");
    let cas_b = got[1].3.expect("gets returns a cas");
    assert_ne!(cas_a, cas_b);

    // cas: a stale token conflicts, the current one wins, a missing key is NOT_FOUND.
    c.send(|b| {
        encode_storage(b, Storage::Cas { cas: cas_a + 1000 }, b"p:", b"a", 0, 0, b"x", false)
    });
    assert_eq!(c.text(), TextReply::Exists);
    c.send(|b| encode_storage(b, Storage::Cas { cas: cas_a }, b"p:", b"a", 3, 0, b"new", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_storage(b, Storage::Cas { cas: cas_a }, b"p:", b"a", 3, 0, b"again", false));
    assert_eq!(c.text(), TextReply::Exists, "the token changed with the store");
    c.send(|b| encode_storage(b, Storage::Cas { cas: 1 }, b"p:", b"missing", 0, 0, b"x", false));
    assert_eq!(c.text(), TextReply::NotFound);
    assert_eq!(c.get(b"p:a"), Some((3, b"new".to_vec())));

    // noreply forms: nothing comes back, and every one took effect.
    c.send(|b| encode_storage(b, Storage::Set, b"q:", b"s", 1, 0, b"set", true));
    c.send(|b| encode_storage(b, Storage::Add, b"q:", b"a", 2, 0, b"add", true));
    c.send(|b| encode_storage(b, Storage::Add, b"q:", b"s", 9, 0, b"not added", true));
    c.send(|b| encode_storage(b, Storage::Replace, b"q:", b"a", 3, 0, b"replaced", true));
    c.send(|b| encode_storage(b, Storage::Append, b"q:", b"a", 0, 0, b"+", true));
    c.send(|b| encode_storage(b, Storage::Prepend, b"q:", b"a", 0, 0, b"-", true));
    c.assert_text_quiet();
    assert_eq!(c.get(b"q:s"), Some((1, b"set".to_vec())));
    assert_eq!(c.get(b"q:a"), Some((3, b"-replaced+".to_vec())));
    c.send(|b| encode_retrieval(b, Retrieval::Gets, b"q:", [&b"s"[..]]));
    let cas_s = c.values()[0].3.unwrap();
    c.send(|b| encode_storage(b, Storage::Cas { cas: cas_s }, b"q:", b"s", 4, 0, b"cas", true));
    c.send(|b| encode_storage(b, Storage::Cas { cas: cas_s }, b"q:", b"s", 5, 0, b"late", true));
    c.assert_text_quiet();
    assert_eq!(c.get(b"q:s"), Some((4, b"cas".to_vec())));
}

#[test]
fn text_delete_arith_touch_and_gat() {
    let server = Memcached::start();
    let mut c = Conn::open(&server);

    c.send(|b| encode_storage(b, Storage::Set, b"", b"d", 0, 0, b"x", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_delete(b, b"", b"d", false));
    assert_eq!(c.text(), TextReply::Deleted);
    c.send(|b| encode_delete(b, b"", b"d", false));
    assert_eq!(c.text(), TextReply::NotFound);
    c.send(|b| encode_storage(b, Storage::Set, b"", b"d", 0, 0, b"x", true));
    c.send(|b| encode_delete(b, b"", b"d", true));
    c.send(|b| encode_delete(b, b"", b"d", true));
    c.assert_text_quiet();
    assert_eq!(c.get(b"d"), None);

    c.send(|b| encode_storage(b, Storage::Set, b"n:", b"n", 0, 0, b"10", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_arith(b, Arith::Incr, b"n:", b"n", 5, false));
    assert_eq!(c.text(), TextReply::Number(15));
    c.send(|b| encode_arith(b, Arith::Decr, b"n:", b"n", 6, false));
    assert_eq!(c.text(), TextReply::Number(9));
    c.send(|b| encode_arith(b, Arith::Decr, b"n:", b"n", 100, false));
    assert_eq!(c.text(), TextReply::Number(0), "decr stops at 0");
    c.send(|b| encode_arith(b, Arith::Incr, b"n:", b"n", u64::MAX, false));
    assert_eq!(c.text(), TextReply::Number(u64::MAX));
    c.send(|b| encode_arith(b, Arith::Incr, b"n:", b"n", 2, false));
    assert_eq!(c.text(), TextReply::Number(1), "incr wraps at 2^64");
    c.send(|b| encode_arith(b, Arith::Incr, b"n:", b"n", 4, true));
    c.send(|b| encode_arith(b, Arith::Decr, b"n:", b"n", 2, true));
    c.assert_text_quiet();
    assert_eq!(c.get(b"n:n").map(trim_padding), Some(b"3".to_vec()));
    c.send(|b| encode_arith(b, Arith::Incr, b"n:", b"missing", 1, false));
    assert_eq!(c.text(), TextReply::NotFound);
    c.send(|b| encode_storage(b, Storage::Set, b"n:", b"word", 0, 0, b"ten", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_arith(b, Arith::Incr, b"n:", b"word", 1, false));
    assert_eq!(
        c.text(),
        TextReply::ClientError(b"cannot increment or decrement non-numeric value")
    );

    // touch, checked through the TTL that mg reports.
    c.send(|b| encode_storage(b, Storage::Set, b"", b"t", 0, 0, b"x", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_touch(b, b"", b"t", 1000, false));
    assert_eq!(c.text(), TextReply::Touched);
    c.send(|b| encode_touch(b, b"", b"missing", 1000, false));
    assert_eq!(c.text(), TextReply::NotFound);
    let ttl = |c: &mut Conn, key: &[u8]| {
        c.send(|b| encode_mg(b, b"", key, &[MetaFlag::ReturnTtl]));
        match c.meta() {
            MetaReply::Hit(flags) => flags.ttl().expect("t flag"),
            other => panic!("expected HD, got {other:?}"),
        }
    };
    let t = ttl(&mut c, b"t");
    assert!((990..=1000).contains(&t), "ttl {t}");
    c.send(|b| encode_touch(b, b"", b"t", 0, true));
    c.assert_text_quiet();
    assert_eq!(ttl(&mut c, b"t"), -1);

    // gat and gats return values (gats with cas) and set the TTL.
    c.send(|b| encode_storage(b, Storage::Set, b"g:", b"1", 5, 0, b"v1", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_storage(b, Storage::Set, b"g:", b"2", 6, 0, b"v2", false));
    assert_eq!(c.text(), TextReply::Stored);
    let keys: [&[u8]; 3] = [b"1", b"none", b"2"];
    c.send(|b| encode_retrieval(b, Retrieval::Gat { exptime: 500 }, b"g:", keys));
    let got = c.values();
    assert_eq!(
        got,
        vec![
            (b"g:1".to_vec(), 5, b"v1".to_vec(), None),
            (b"g:2".to_vec(), 6, b"v2".to_vec(), None)
        ]
    );
    let t = ttl(&mut c, b"g:1");
    assert!((490..=500).contains(&t), "ttl {t}");
    c.send(|b| encode_retrieval(b, Retrieval::Gats { exptime: 2000 }, b"g:", keys));
    let got = c.values();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(_, _, _, cas)| cas.is_some()));
    let t = ttl(&mut c, b"g:2");
    assert!((1990..=2000).contains(&t), "ttl {t}");
}

#[test]
fn text_admin_commands() {
    let server = Memcached::start();
    let mut c = Conn::open(&server);

    c.send(encode_version);
    let version = match c.text() {
        TextReply::Version(v) => String::from_utf8(v.to_vec()).unwrap(),
        other => panic!("expected VERSION, got {other:?}"),
    };
    assert!(version.starts_with("1."), "{version}");

    c.send(|b| encode_stats(b, None));
    let mut stats = Vec::new();
    loop {
        match c.text() {
            TextReply::Stat { name, value } => stats.push((name.to_vec(), value.to_vec())),
            TextReply::End => break,
            other => panic!("expected STAT or END, got {other:?}"),
        }
    }
    let stat = |name: &[u8]| stats.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(stat(b"pid"), Some(server.pid().unwrap().to_string().into_bytes()));
    assert_eq!(stat(b"version"), Some(version.into_bytes()));
    assert!(stats.len() > 40, "{} stats", stats.len());

    c.send(|b| encode_stats(b, Some(b"settings")));
    let mut item_size_max = None;
    loop {
        match c.text() {
            TextReply::Stat { name: b"item_size_max", value } => {
                item_size_max = Some(value.to_vec())
            }
            TextReply::Stat { .. } => {}
            TextReply::End => break,
            other => panic!("expected STAT or END, got {other:?}"),
        }
    }
    assert_eq!(item_size_max, Some(b"1048576".to_vec()));
    c.send(|b| encode_stats(b, Some(b"reset")));
    assert_eq!(c.text(), TextReply::Reset);

    // flush_all now, quietly, and with a delay (items stay until it passes).
    c.send(|b| encode_storage(b, Storage::Set, b"", b"f", 0, 0, b"x", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_flush_all(b, 0, false));
    assert_eq!(c.text(), TextReply::Ok);
    assert_eq!(c.get(b"f"), None);
    c.send(|b| encode_storage(b, Storage::Set, b"", b"f", 0, 0, b"x", true));
    c.send(|b| encode_flush_all(b, 0, true));
    c.assert_text_quiet();
    assert_eq!(c.get(b"f"), None);
    c.send(|b| encode_storage(b, Storage::Set, b"", b"f", 0, 0, b"x", false));
    assert_eq!(c.text(), TextReply::Stored);
    c.send(|b| encode_flush_all(b, 3600, false));
    assert_eq!(c.text(), TextReply::Ok);
    c.send(|b| encode_flush_all(b, 3600, true));
    c.assert_text_quiet();
    assert_eq!(c.get(b"f"), Some((0, b"x".to_vec())), "a delayed flush has not happened yet");

    // Errors the server sends, to requests no encoder writes.
    c.send(|b| b.extend_from_slice(b"no_such_command\r\n"));
    assert_eq!(c.text(), TextReply::Error);
    c.send(|b| b.extend_from_slice(b"set k 0 0 x\r\n"));
    assert_eq!(c.text(), TextReply::ClientError(b"bad command line format"));
    c.assert_text_quiet();
}

#[test]
fn meta_get_set_delete() {
    let server = Memcached::start();
    let mut c = Conn::open(&server);

    c.send(|b| {
        encode_ms(b, b"m:", b"a", b"v\r\n\0", &[MetaFlag::ClientFlags(42), MetaFlag::Ttl(300)])
    });
    assert_eq!(c.meta(), MetaReply::Hit(MetaFlags::default()));
    let get_flags = [
        MetaFlag::ReturnValue,
        MetaFlag::ReturnFlags,
        MetaFlag::ReturnCas,
        MetaFlag::ReturnTtl,
        MetaFlag::ReturnKey,
        MetaFlag::ReturnSize,
        MetaFlag::Opaque(77),
    ];
    c.send(|b| encode_mg(b, b"m:", b"a", &get_flags));
    let cas = match c.meta() {
        MetaReply::Value { data, flags } => {
            assert_eq!(data, b"v\r\n\0");
            assert_eq!(flags.client_flags(), Some(42));
            let ttl = flags.ttl().unwrap();
            assert!((290..=300).contains(&ttl), "ttl {ttl}");
            assert_eq!(flags.key(), Some(&b"m:a"[..]));
            assert_eq!(flags.size(), Some(4));
            assert_eq!(flags.opaque(), Some(77));
            assert!(!flags.won() && !flags.stale() && !flags.win_sent());
            flags.cas().expect("c flag")
        }
        other => panic!("expected VA, got {other:?}"),
    };

    // HD without v; a miss is EN, echoing O and k; a quiet miss says nothing.
    c.send(|b| encode_mg(b, b"m:", b"a", &[MetaFlag::ReturnCas]));
    assert!(matches!(c.meta(), MetaReply::Hit(f) if f.cas() == Some(cas)));
    c.send(|b| encode_mg(b, b"m:", b"nope", &[MetaFlag::ReturnValue]));
    assert_eq!(c.meta(), MetaReply::Miss(MetaFlags::default()));
    c.send(|b| encode_mg(b, b"m:", b"nope", &[MetaFlag::Opaque(5), MetaFlag::ReturnKey]));
    match c.meta() {
        MetaReply::Miss(flags) => {
            assert_eq!(flags.opaque(), Some(5));
            assert_eq!(flags.key(), Some(&b"m:nope"[..]));
        }
        other => panic!("expected EN, got {other:?}"),
    }
    c.send(|b| encode_mg(b, b"m:", b"nope", &[MetaFlag::ReturnValue, MetaFlag::Quiet]));
    c.assert_meta_quiet();

    // h and l report the state before this request; u leaves it alone.
    c.send(|b| encode_ms(b, b"m:", b"h", b"x", &[]));
    assert!(matches!(c.meta(), MetaReply::Hit(_)));
    let hit = |c: &mut Conn, extra: &[MetaFlag<'_>]| {
        let mut flags = vec![MetaFlag::ReturnHit, MetaFlag::ReturnLastAccess];
        flags.extend_from_slice(extra);
        c.send(|b| encode_mg(b, b"m:", b"h", &flags));
        match c.meta() {
            MetaReply::Hit(f) => {
                assert!(f.last_access().is_some());
                f.hit_before().unwrap()
            }
            other => panic!("expected HD, got {other:?}"),
        }
    };
    assert!(!hit(&mut c, &[MetaFlag::NoBump]));
    assert!(!hit(&mut c, &[]), "u did not mark the item fetched");
    assert!(hit(&mut c, &[]));

    // ms modes: add, replace, append, prepend, set.
    assert_eq!(
        ms(&mut c, b"a", b"x", &[MetaFlag::Mode(b'E')]),
        MetaReply::NotStored(MetaFlags::default())
    );
    assert_eq!(
        ms(&mut c, b"new", b"x", &[MetaFlag::Mode(b'R')]),
        MetaReply::NotStored(MetaFlags::default())
    );
    assert_eq!(
        ms(&mut c, b"new", b"mid", &[MetaFlag::Mode(b'E')]),
        MetaReply::Hit(MetaFlags::default())
    );
    assert_eq!(
        ms(&mut c, b"new", b"]", &[MetaFlag::Mode(b'A')]),
        MetaReply::Hit(MetaFlags::default())
    );
    assert_eq!(
        ms(&mut c, b"new", b"[", &[MetaFlag::Mode(b'P')]),
        MetaReply::Hit(MetaFlags::default())
    );
    assert_eq!(c.get(b"m:new"), Some((0, b"[mid]".to_vec())));
    assert_eq!(
        ms(&mut c, b"new", b"s", &[MetaFlag::Mode(b'S')]),
        MetaReply::Hit(MetaFlags::default())
    );
    assert_eq!(
        ms(&mut c, b"new", b"r", &[MetaFlag::Mode(b'R')]),
        MetaReply::Hit(MetaFlags::default())
    );
    assert_eq!(c.get(b"m:new"), Some((0, b"r".to_vec())));

    // CAS: a stale token is EX, a missing item NF, the current token stores
    // and c returns the new one.
    assert_eq!(
        ms(&mut c, b"a", b"x", &[MetaFlag::CompareCas(cas + 1000)]),
        MetaReply::Exists(MetaFlags::default())
    );
    assert_eq!(
        ms(&mut c, b"zzz", b"x", &[MetaFlag::CompareCas(cas)]),
        MetaReply::NotFound(MetaFlags::default())
    );
    c.send(|b| encode_ms(b, b"m:", b"a", b"y", &[MetaFlag::CompareCas(cas), MetaFlag::ReturnCas]));
    let new_cas = match c.meta() {
        MetaReply::Hit(flags) => flags.cas().unwrap(),
        other => panic!("expected HD, got {other:?}"),
    };
    assert_ne!(new_cas, cas);
    // ms q: HD is suppressed, other codes are not.
    c.send(|b| encode_ms(b, b"m:", b"q", b"quiet", &[MetaFlag::Quiet]));
    c.assert_meta_quiet();
    c.send(|b| encode_ms(b, b"m:", b"q", b"x", &[MetaFlag::Quiet, MetaFlag::Mode(b'E')]));
    assert_eq!(c.meta(), MetaReply::NotStored(MetaFlags::default()));
    c.assert_meta_quiet();
    assert_eq!(c.get(b"m:q"), Some((0, b"quiet".to_vec())));

    // md: HD, NF, EX on a stale token, quiet, and x (keep the item, drop the value).
    c.send(|b| encode_md(b, b"m:", b"a", &[MetaFlag::CompareCas(1)]));
    assert_eq!(c.meta(), MetaReply::Exists(MetaFlags::default()));
    c.send(|b| encode_md(b, b"m:", b"a", &[]));
    assert_eq!(c.meta(), MetaReply::Hit(MetaFlags::default()));
    c.send(|b| encode_md(b, b"m:", b"a", &[MetaFlag::Opaque(3)]));
    assert!(matches!(c.meta(), MetaReply::NotFound(f) if f.opaque() == Some(3)));
    c.send(|b| encode_md(b, b"m:", b"q", &[MetaFlag::Quiet]));
    c.assert_meta_quiet();
    assert_eq!(c.get(b"m:q"), None);
    assert_eq!(
        ms(&mut c, b"x", b"value", &[MetaFlag::ClientFlags(9)]),
        MetaReply::Hit(MetaFlags::default())
    );
    // x and E arrived in memcached 1.6.27; older servers refuse them.
    let modern = c.version_at_least([1, 6, 27]);
    c.send(|b| encode_md(b, b"m:", b"x", &[MetaFlag::RemoveValue]));
    if modern {
        assert_eq!(c.meta(), MetaReply::Hit(MetaFlags::default()));
        assert_eq!(c.get(b"m:x"), Some((9, Vec::new())));
    } else {
        assert_eq!(c.meta(), MetaReply::ClientError(b"invalid or duplicate flag"));
        assert_eq!(c.get(b"m:x"), Some((9, b"value".to_vec())));
    }
    c.send(|b| encode_ms(b, b"m:", b"x", b"z", &[MetaFlag::NewCas(123_456)]));
    if modern {
        assert_eq!(c.meta(), MetaReply::Hit(MetaFlags::default()));
        c.send(|b| encode_mg(b, b"m:", b"x", &[MetaFlag::ReturnCas]));
        assert!(matches!(c.meta(), MetaReply::Hit(f) if f.cas() == Some(123_456)));
    } else {
        // The server skips the refused request's data block.
        assert_eq!(c.meta(), MetaReply::ClientError(b"invalid flag"));
        c.assert_meta_quiet();
    }

    // md I marks stale: the next mg sees X and wins (W), the one after sees Z.
    assert_eq!(ms(&mut c, b"s", b"old", &[]), MetaReply::Hit(MetaFlags::default()));
    c.send(|b| encode_md(b, b"m:", b"s", &[MetaFlag::Invalidate, MetaFlag::Ttl(30)]));
    assert_eq!(c.meta(), MetaReply::Hit(MetaFlags::default()));
    c.send(|b| encode_mg(b, b"m:", b"s", &[MetaFlag::ReturnValue]));
    match c.meta() {
        MetaReply::Value { data, flags } => {
            assert_eq!(data, b"old");
            assert!(
                flags.stale() && flags.won() && !flags.win_sent(),
                "{}",
                flags.as_bytes().escape_ascii()
            );
        }
        other => panic!("expected VA, got {other:?}"),
    }
    c.send(|b| encode_mg(b, b"m:", b"s", &[MetaFlag::ReturnValue]));
    assert!(matches!(c.meta(), MetaReply::Value { flags, .. }
        if flags.stale() && flags.win_sent() && !flags.won()));

    // N vivifies a miss: the first client wins, the next is told Z.
    c.send(|b| encode_mg(b, b"m:", b"viv", &[MetaFlag::Vivify(30), MetaFlag::ReturnValue]));
    assert!(matches!(c.meta(), MetaReply::Value { data: b"", flags } if flags.won()));
    c.send(|b| encode_mg(b, b"m:", b"viv", &[MetaFlag::Vivify(30), MetaFlag::ReturnValue]));
    assert!(matches!(c.meta(), MetaReply::Value { data: b"", flags }
        if flags.win_sent() && !flags.won()));

    // R wins a recache when the TTL left is under the token.
    assert_eq!(ms(&mut c, b"r", b"x", &[MetaFlag::Ttl(100)]), MetaReply::Hit(MetaFlags::default()));
    c.send(|b| encode_mg(b, b"m:", b"r", &[MetaFlag::Recache(10)]));
    assert!(matches!(c.meta(), MetaReply::Hit(f) if !f.won()));
    c.send(|b| encode_mg(b, b"m:", b"r", &[MetaFlag::Recache(1000)]));
    assert!(matches!(c.meta(), MetaReply::Hit(f) if f.won()));

    // T on mg updates the TTL; Raw passes a flag through (P is ignored by memcached).
    c.send(|b| encode_mg(b, b"m:", b"r", &[MetaFlag::Ttl(5000), MetaFlag::Raw(b"Pproxy")]));
    assert!(matches!(c.meta(), MetaReply::Hit(_)));
    c.send(|b| encode_mg(b, b"m:", b"r", &[MetaFlag::ReturnTtl]));
    assert!(matches!(c.meta(), MetaReply::Hit(f) if (4990..=5000).contains(&f.ttl().unwrap())));

    // A bad flag is a CLIENT_ERROR, parsed as such.
    c.send(|b| encode_mg(b, b"m:", b"r", &[MetaFlag::Mode(b'Q'), MetaFlag::Raw(b"!")]));
    assert!(matches!(c.meta(), MetaReply::ClientError(_)));
    c.assert_meta_quiet();
}

#[test]
fn meta_arithmetic() {
    let server = Memcached::start();
    let mut c = Conn::open(&server);

    c.send(|b| encode_ma(b, b"m:", b"n", &[]));
    assert_eq!(c.meta(), MetaReply::NotFound(MetaFlags::default()));
    c.send(|b| {
        encode_ma(
            b,
            b"m:",
            b"n",
            &[MetaFlag::Vivify(0), MetaFlag::Initial(40), MetaFlag::ReturnValue],
        )
    });
    assert!(matches!(c.meta(), MetaReply::Value { data: b"40", .. }));
    c.send(|b| encode_ma(b, b"m:", b"n", &[]));
    assert_eq!(c.meta(), MetaReply::Hit(MetaFlags::default()));
    c.send(|b| encode_ma(b, b"m:", b"n", &[MetaFlag::Delta(10), MetaFlag::ReturnValue]));
    assert!(matches!(c.meta(), MetaReply::Value { data: b"51", .. }));
    c.send(|b| {
        encode_ma(
            b,
            b"m:",
            b"n",
            &[MetaFlag::Mode(b'D'), MetaFlag::Delta(50), MetaFlag::ReturnValue],
        )
    });
    assert!(matches!(c.meta(), MetaReply::Value { data: b"1", .. }));
    c.send(|b| {
        encode_ma(
            b,
            b"m:",
            b"n",
            &[MetaFlag::Mode(b'-'), MetaFlag::Delta(9), MetaFlag::ReturnValue],
        )
    });
    assert!(matches!(c.meta(), MetaReply::Value { data: b"0", .. }), "decr stops at 0");
    c.send(|b| {
        encode_ma(
            b,
            b"m:",
            b"n",
            &[
                MetaFlag::Mode(b'+'),
                MetaFlag::Ttl(60),
                MetaFlag::ReturnCas,
                MetaFlag::ReturnTtl,
                MetaFlag::Opaque(8),
                MetaFlag::ReturnKey,
            ],
        )
    });
    let cas = match c.meta() {
        MetaReply::Hit(flags) => {
            let ttl = flags.ttl().unwrap();
            assert!((50..=60).contains(&ttl), "ttl {ttl}");
            assert_eq!(flags.opaque(), Some(8));
            assert_eq!(flags.key(), Some(&b"m:n"[..]));
            flags.cas().unwrap()
        }
        other => panic!("expected HD, got {other:?}"),
    };
    c.send(|b| encode_ma(b, b"m:", b"n", &[MetaFlag::CompareCas(cas + 1)]));
    assert_eq!(c.meta(), MetaReply::Exists(MetaFlags::default()));
    c.send(|b| encode_ma(b, b"m:", b"n", &[MetaFlag::CompareCas(cas), MetaFlag::ReturnValue]));
    assert!(matches!(c.meta(), MetaReply::Value { data: b"2", .. }));
    c.send(|b| encode_ma(b, b"m:", b"n", &[MetaFlag::Quiet]));
    c.assert_meta_quiet();
    assert_eq!(c.get(b"m:n").map(trim_padding), Some(b"3".to_vec()));

    c.send(|b| encode_ms(b, b"m:", b"word", b"ten", &[]));
    assert_eq!(c.meta(), MetaReply::Hit(MetaFlags::default()));
    c.send(|b| encode_ma(b, b"m:", b"word", &[]));
    assert_eq!(
        c.meta(),
        MetaReply::ClientError(b"cannot increment or decrement non-numeric value")
    );
    c.assert_meta_quiet();
}

#[test]
fn values_with_separators_round_trip() {
    let server = Memcached::start();
    let mut c = Conn::open(&server);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut values: Vec<Vec<u8>> = vec![Vec::new(), b"\r\n".to_vec(), b"\r\nEND\r\n".to_vec()];
    for _ in 0..40 {
        let len = (rng.next() % 3000) as usize;
        values.push(rng.tricky_bytes(len));
    }
    // One value large enough to arrive over many reads.
    values.push(rng.tricky_bytes(700_000));

    // Text: pipeline every set, then one get for all keys.
    let keys: Vec<Vec<u8>> = (0..values.len()).map(|i| format!("rt{i}").into_bytes()).collect();
    for (i, (key, value)) in keys.iter().zip(&values).enumerate() {
        c.send(|b| encode_storage(b, Storage::Set, b"t:", key, i as u32, 0, value, false));
    }
    for _ in &values {
        assert_eq!(c.text(), TextReply::Stored);
    }
    c.send(|b| encode_retrieval(b, Retrieval::Get, b"t:", keys.iter().map(|k| &k[..])));
    let got = c.values();
    assert_eq!(got.len(), values.len());
    for (i, (key, flags, data, _)) in got.iter().enumerate() {
        assert_eq!(key, &[&b"t:"[..], &keys[i]].concat());
        assert_eq!(*flags, i as u32);
        assert_eq!(data, &values[i], "value {i}");
    }

    // Meta: quiet sets ended by mn, then pipelined gets.
    for (i, (key, value)) in keys.iter().zip(&values).enumerate() {
        c.send(|b| {
            encode_ms(b, b"m:", key, value, &[MetaFlag::Quiet, MetaFlag::ClientFlags(i as u32)])
        });
    }
    c.assert_meta_quiet();
    for (i, key) in keys.iter().enumerate() {
        c.send(|b| {
            encode_mg(
                b,
                b"m:",
                key,
                &[MetaFlag::ReturnValue, MetaFlag::ReturnFlags, MetaFlag::Opaque(i as u32)],
            )
        });
    }
    for (i, value) in values.iter().enumerate() {
        match c.meta() {
            MetaReply::Value { data, flags } => {
                assert_eq!(flags.opaque(), Some(i as u32));
                assert_eq!(flags.client_flags(), Some(i as u32));
                assert_eq!(data, &value[..], "value {i}");
            }
            other => panic!("expected VA, got {other:?}"),
        }
    }
}

#[test]
fn values_over_the_limit_are_known_at_the_header() {
    // The server allows 2 MiB items; the parser allows 1 MiB by default.
    let server = Memcached::start_with(&["-I", "2m"]);
    let mut c = Conn::open(&server);
    let big = vec![b'x'; 1_500_000];
    c.send(|b| encode_storage(b, Storage::Set, b"", b"big", 0, 0, &big, false));
    assert_eq!(c.text(), TextReply::Stored);

    // Read only the first bytes of the reply: the header alone tells.
    c.send(|b| encode_retrieval(b, Retrieval::Get, b"", [&b"big"[..]]));
    let mut head = Vec::new();
    while !head.windows(2).any(|w| w == b"\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(c.stream.read(&mut byte).unwrap(), 1);
        head.push(byte[0]);
    }
    assert_eq!(
        parse_text_reply(&head, &Limits::default()).unwrap(),
        Some((TextReply::Oversized { key: b"big", flags: 0, len: 1_500_000 }, head.len()))
    );

    let mut c = Conn::open(&server);
    c.send(|b| encode_mg(b, b"", b"big", &[MetaFlag::ReturnValue]));
    let mut head = Vec::new();
    while !head.windows(2).any(|w| w == b"\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(c.stream.read(&mut byte).unwrap(), 1);
        head.push(byte[0]);
    }
    let reply = parse_meta_reply(&head, &Limits::default()).unwrap();
    assert!(
        matches!(reply, Some((MetaReply::Oversized { len: 1_500_000, .. }, n)) if n == head.len()),
        "{reply:?}"
    );

    // With a larger limit the same value parses.
    let mut c = Conn::open(&server);
    c.limits.max_value_len = 2 << 20;
    c.send(|b| encode_mg(b, b"", b"big", &[MetaFlag::ReturnValue]));
    assert!(matches!(c.meta(), MetaReply::Value { data, .. } if data == &big[..]));
}
