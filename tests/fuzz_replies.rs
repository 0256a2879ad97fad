//! What a server sends cannot hurt the client: a local fake server answers
//! the client's real requests (text and meta commands, plain and TLS) with
//! valid replies and with mutated ones — cut at a random byte, huge
//! lengths, garbage flags and numbers, wrong keys, interleaved `END`s,
//! random bytes, replies nobody asked for — for over 200,000 exchanges.
//! The client must never panic or wait past its timeouts, its memory must
//! stay bounded, and after every failure the next request on a fresh
//! connection must work.
//!
//! The fake server stands for a broken or hostile server, which no real
//! memcached can be made to be; the requests are the client's own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcring::{Client, SetItem};
use mcring_tests::tls::Pki;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Plaintext and TLS exchanges (the total is what the issue asks for).
const PLAIN_EXCHANGES: u64 = 185_000;
const TLS_EXCHANGES: u64 = 20_000;
const IO_TIMEOUT_MS: u64 = 250;
const CONNECT_TIMEOUT_MS: u64 = 2000;

/// A small deterministic generator (xorshift64*).
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// One command the fake server received.
enum Cmd {
    Get { keys: Vec<String>, cas: bool },
    Store,
    Delete,
    Arith,
    Touch,
    Version,
    Flush,
    MetaArith { key: String },
    MetaQuiet,
    MetaNoop,
    Unknown,
}

/// Parses complete commands at the front of `buf`; returns them and the
/// bytes they used.
fn parse_commands(buf: &[u8]) -> (Vec<Cmd>, usize) {
    let mut cmds = Vec::new();
    let mut at = 0;
    while let Some(end) = buf[at..].windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&buf[at..at + end]).into_owned();
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        let mut used = end + 2;
        let cmd = match verb {
            "get" | "gets" | "gat" | "gats" => {
                let skip = usize::from(verb.starts_with("ga"));
                let keys = rest.iter().skip(skip).map(|k| k.to_string()).collect();
                Cmd::Get { keys, cas: verb.ends_with('s') }
            }
            "set" | "add" | "replace" | "append" | "prepend" | "cas" => {
                let len: usize = rest.get(3).and_then(|l| l.parse().ok()).unwrap_or(0);
                if buf.len() < at + used + len + 2 {
                    break;
                }
                used += len + 2;
                if rest.last() == Some(&"noreply") {
                    at += used;
                    continue;
                }
                Cmd::Store
            }
            "ms" => {
                let len: usize = rest.get(1).and_then(|l| l.parse().ok()).unwrap_or(0);
                if buf.len() < at + used + len + 2 {
                    break;
                }
                used += len + 2;
                if rest.contains(&"q") {
                    Cmd::MetaQuiet
                } else {
                    Cmd::Store
                }
            }
            "delete" if rest.last() == Some(&"noreply") => {
                at += used;
                continue;
            }
            "delete" => Cmd::Delete,
            "incr" | "decr" => Cmd::Arith,
            "touch" => Cmd::Touch,
            "version" => Cmd::Version,
            "flush_all" => Cmd::Flush,
            "ma" => Cmd::MetaArith { key: rest.first().unwrap_or(&"").to_string() },
            "md" | "mg" if rest.contains(&"q") => Cmd::MetaQuiet,
            "mn" => Cmd::MetaNoop,
            _ => Cmd::Unknown,
        };
        cmds.push(cmd);
        at += used;
    }
    (cmds, at)
}

/// The valid reply to `cmd` (values for `ok:` keys are always "ok").
fn valid_reply(cmd: &Cmd, rng: &mut Rng, out: &mut Vec<u8>) {
    match cmd {
        Cmd::Get { keys, cas } => {
            for k in keys {
                if k.starts_with("ok:") || rng.chance(600) {
                    let value: &[u8] = if k.starts_with("ok:") { b"ok" } else { b"value" };
                    let cas = if *cas { " 77" } else { "" };
                    out.extend_from_slice(
                        format!("VALUE {k} 0 {}{cas}\r\n", value.len()).as_bytes(),
                    );
                    out.extend_from_slice(value);
                    out.extend_from_slice(b"\r\n");
                }
            }
            out.extend_from_slice(b"END\r\n");
        }
        Cmd::Store => {
            let r: &[&[u8]] = &[b"STORED\r\n", b"NOT_STORED\r\n", b"EXISTS\r\n", b"NOT_FOUND\r\n"];
            out.extend_from_slice(r[rng.below(r.len() as u64) as usize]);
        }
        Cmd::Delete => out.extend_from_slice(b"DELETED\r\n"),
        Cmd::Arith => out.extend_from_slice(b"42\r\n"),
        Cmd::Touch => out.extend_from_slice(b"TOUCHED\r\n"),
        Cmd::Version => out.extend_from_slice(b"VERSION 1.6.18\r\n"),
        Cmd::Flush => out.extend_from_slice(b"OK\r\n"),
        Cmd::MetaArith { key } => {
            let _ = key;
            out.extend_from_slice(b"VA 2\r\n42\r\n");
        }
        Cmd::MetaQuiet => {}
        Cmd::MetaNoop => out.extend_from_slice(b"MN\r\n"),
        Cmd::Unknown => out.extend_from_slice(b"ERROR\r\n"),
    }
}

/// How a reply is spoiled.
enum Spoil {
    /// Sent as is.
    None,
    /// Cut at a byte, then the connection is closed.
    CutAndClose,
    /// Cut at a byte, then nothing more (the client must time out).
    CutAndWait,
    /// Changed in place; the connection stays open.
    Mutated,
    /// Changed in place, then the connection is closed.
    MutatedAndClose,
    /// Random bytes, then the connection is closed.
    Noise,
}

/// Spoils a reply. Silent cuts (`silent` per 100,000 replies) and the few
/// mutated replies after which the connection stays open make the client
/// wait out its I/O timeout; every other spoiled reply is followed by the
/// server closing the connection, so the fuzzing is fast.
fn spoil(reply: &mut Vec<u8>, rng: &mut Rng, silent: u64) -> Spoil {
    let roll = rng.below(100_000);
    if roll < 75_000 || reply.is_empty() {
        return Spoil::None;
    }
    if roll < 75_000 + silent {
        let cut = rng.below(reply.len() as u64) as usize;
        reply.truncate(cut);
        return Spoil::CutAndWait;
    }
    if roll < 87_000 {
        let cut = rng.below(reply.len() as u64 + 1) as usize;
        reply.truncate(cut);
        return Spoil::CutAndClose;
    }
    if roll < 90_000 {
        let n = rng.below(200) as usize;
        *reply = (0..n).map(|_| rng.next() as u8).collect();
        return Spoil::Noise;
    }
    let text = String::from_utf8_lossy(reply).into_owned();
    let changed = match rng.below(9) {
        // A huge length.
        0 => text.replacen(" 0 5", " 0 18446744073709551615", 1).replacen(
            "VA 2",
            "VA 99999999999",
            1,
        ),
        // Garbage flags.
        1 => text.replacen(" 0 ", " -x1 ", 1),
        // A key nobody asked for.
        2 => text.replacen("VALUE ", "VALUE zz", 1),
        // END in the middle, and again.
        3 => text.replacen("\r\n", "\r\nEND\r\n", 1) + "END\r\n",
        // A number that is not one.
        4 => text.replacen("42", "4x2", 1).replacen("42", "999999999999999999999999", 1),
        // A reply nobody asked for.
        5 => text + "STORED\r\n",
        // A server error instead.
        6 => "SERVER_ERROR out of memory\r\n".to_string() + &text,
        // Bytes flipped.
        7 => {
            let mut bytes = reply.clone();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(bytes.len() as u64) as usize;
                bytes[i] ^= 1 << rng.below(8);
            }
            *reply = bytes;
            return mutated(rng);
        }
        // A line over the length limit.
        _ => format!("VALUE {} 0 1\r\nx\r\nEND\r\n", "k".repeat(5000)),
    };
    *reply = changed.into_bytes();
    mutated(rng)
}

/// After a mutated reply the connection mostly closes; 1 in 2000 stays open.
fn mutated(rng: &mut Rng) -> Spoil {
    if rng.below(2000) == 0 {
        Spoil::Mutated
    } else {
        Spoil::MutatedAndClose
    }
}

/// Serves one connection: answers every complete command batch, spoiled
/// as the generator says.
fn serve(mut stream: impl Read + Write, mut rng: Rng, silent: u64) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let mut first = true;
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let (cmds, used) = parse_commands(&buf);
        buf.drain(..used);
        if cmds.is_empty() {
            continue;
        }
        // The canary is answered as it should be; so are the deletes a fresh
        // connection sends first (invalidations of keys whose write failed,
        // which the client applies before the canary).
        let canary = cmds.iter().any(
            |c| matches!(c, Cmd::Get { keys, .. } if keys.iter().any(|k| k.starts_with("ok:"))),
        ) || (first && cmds.iter().all(|c| matches!(c, Cmd::Delete | Cmd::Flush)));
        first = false;
        let mut reply = Vec::new();
        for c in &cmds {
            valid_reply(c, &mut rng, &mut reply);
        }
        let how = if canary { Spoil::None } else { spoil(&mut reply, &mut rng, silent) };
        if stream.write_all(&reply).and_then(|()| stream.flush()).is_err() {
            return;
        }
        match how {
            Spoil::CutAndClose | Spoil::Noise | Spoil::MutatedAndClose => return,
            Spoil::CutAndWait => {
                // Silent until the client gives up and closes.
                while matches!(stream.read(&mut chunk), Ok(n) if n > 0) {}
                return;
            }
            Spoil::None | Spoil::Mutated => {}
        }
    }
}

/// The fake server: a listener whose connections are served each on its
/// own thread, plain or TLS.
struct FakeServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    fn start(tls: Option<Arc<rustls::ServerConfig>>, silent: u64) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let seed = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_nodelay(true);
                let rng = Rng(seed.fetch_add(0x9E37_79B9, Ordering::Relaxed) | 1);
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => serve(stream, rng, silent),
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config) else { return };
                        serve(rustls::StreamOwned::new(session, stream), rng, silent)
                    }
                });
            }
        });
        FakeServer { port, stop }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn server_tls_config() -> Arc<rustls::ServerConfig> {
    let pki = Pki::get();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(pki.path("server.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.path("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Runs `exchanges` random requests against `port`; returns (failures, the
/// longest request).
fn exchange_loop(config: &str, exchanges: u64, seed: u64) -> (u64, Duration) {
    let client = Client::from_config_str(config).unwrap();
    let mut rng = Rng(seed);
    let mut failures = 0;
    let mut longest = Duration::ZERO;
    let keys: Vec<String> = (0..64).map(|i| format!("key{i}")).collect();
    let value = vec![b'v'; 300];
    let mut canaries = 0u64;
    for n in 0..exchanges {
        let t = Instant::now();
        let k = &keys[rng.below(keys.len() as u64) as usize];
        let failed = match rng.below(12) {
            0 => client.get(k).is_err(),
            1 => client.gets(k).is_err(),
            2 => {
                let many: Vec<&String> =
                    (0..1 + rng.below(20)).map(|i| &keys[i as usize]).collect();
                match client.get_multi(&many) {
                    Ok(results) => results.iter().any(|r| r.is_err()),
                    Err(_) => true,
                }
            }
            3 => client.set(k, &value, 0, 0).is_err(),
            4 => client.add(k, b"a", 0, 0).is_err(),
            5 => client.delete(k).is_err(),
            6 => client.incr(k, 1).is_err(),
            7 => client.touch(k, 10).is_err(),
            8 => client.incr_or_init(k, 1, 5, 0).is_err(),
            9 => {
                let items = [SetItem { key: k.as_bytes(), value: &value, flags: 0 }];
                client
                    .set_multi_noreply(&items, 0)
                    .map(|r| r.iter().any(|x| x.is_err()))
                    .unwrap_or(true)
                    || client.get(k).is_err()
            }
            10 => client.get_and_touch(k, 5).is_err(),
            _ => client.version().iter().any(|(_, v)| v.is_err()),
        };
        longest = longest.max(t.elapsed());
        // Failures close their connection: the next request opens a fresh
        // one. Every 16th failure (and every 512 exchanges) that next
        // request is a canary whose reply is never spoiled.
        if failed {
            failures += 1;
        }
        if (failed && failures % 16 == 1) || n % 512 == 0 {
            // The next request on a fresh connection works.
            client.close();
            canaries += 1;
            let key = format!("ok:{canaries}");
            let mut answer = client.get(&key);
            if matches!(answer, Err(mcring::Error::Timeout { .. })) {
                // A machine too busy to schedule the fake server in time;
                // a client left out of step would fail again.
                answer = client.get(&key);
            }
            match answer {
                Ok(Some(item)) => assert_eq!(item.value, b"ok", "exchange {n}"),
                other => panic!("exchange {n}: the request after a bad reply failed: {other:?}"),
            }
        }
    }
    (failures, longest)
}

#[test]
fn no_reply_a_server_can_send_breaks_the_client() {
    let timeouts = format!(
        "io_timeout_ms={IO_TIMEOUT_MS} connect_timeout_ms={CONNECT_TIMEOUT_MS} \
         failure_limit=1000000 retry_timeout_ms=0 failover=none"
    );
    let bound = Duration::from_millis(IO_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 1000);
    let started = Instant::now();

    let plain = FakeServer::start(None, 3);
    let config = format!("127.0.0.1:{} {timeouts}", plain.port);
    // Warm up, then take the memory baseline.
    exchange_loop(&config, 2000, 7);
    let baseline = rss();
    let (plain_failures, plain_longest) = exchange_loop(&config, PLAIN_EXCHANGES, 11);

    let tls = FakeServer::start(Some(server_tls_config()), 3);
    let tls_config =
        format!("127.0.0.1:{} {timeouts} tls=true tls_ca={}", tls.port, Pki::get().path("ca.pem"));
    let (tls_failures, tls_longest) = exchange_loop(&tls_config, TLS_EXCHANGES, 13);
    let grown = rss().saturating_sub(baseline);

    println!(
        "{} exchanges in {:.1?}: plain {PLAIN_EXCHANGES} ({plain_failures} failed, longest \
         {plain_longest:?}), TLS {TLS_EXCHANGES} ({tls_failures} failed, longest {tls_longest:?}), \
         memory grew {} KiB",
        PLAIN_EXCHANGES + TLS_EXCHANGES,
        started.elapsed(),
        grown / 1024
    );
    assert!(plain_failures > PLAIN_EXCHANGES / 20, "the fuzzing must break replies often");
    assert!(tls_failures > TLS_EXCHANGES / 20);
    assert!(plain_longest < bound && tls_longest < bound, "a request outlived its timeouts");
    assert!(grown < 64 << 20, "memory grew by {grown} bytes");
}
