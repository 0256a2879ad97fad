//! The fault-injecting proxy itself: each fault does what it says, against a
//! real memcached, seen from plain blocking sockets.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use mcring_tests::{closed_port, Fault, FaultProxy, Memcached};

/// Upper bound for anything that must not hang.
const PATIENCE: Duration = Duration::from_secs(5);

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, PATIENCE).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Sends `request` and reads until the reply ends with `end`.
fn ask(s: &mut TcpStream, request: &[u8], end: &[u8]) -> Vec<u8> {
    s.write_all(request).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !reply.ends_with(end) {
        let n = s.read(&mut buf).expect("read reply");
        assert!(n > 0, "EOF after {:?}", String::from_utf8_lossy(&reply));
        reply.extend_from_slice(&buf[..n]);
    }
    reply
}

/// Reads until EOF (or error) and returns what came and how it ended.
fn read_to_end(s: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Err(e)),
        }
    }
}

fn is_timeout(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

fn value_reply(key: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("VALUE {key} 0 {}\r\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\r\nEND\r\n");
    v
}

#[test]
fn none_forwards_both_ways_and_counts() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    assert_eq!(proxy.spec(), format!("127.0.0.1:{}", proxy.port()));
    assert_eq!(proxy.addr().port(), proxy.port());
    assert_ne!(proxy.port(), m.port);

    let mut s = connect(proxy.addr());
    assert_eq!(ask(&mut s, b"set k 7 0 2\r\nhi\r\n", b"\r\n"), b"STORED\r\n");
    assert_eq!(m.raw_get(b"k"), Some((7, b"hi".to_vec())), "stored on the real server");
    assert_eq!(ask(&mut s, b"get k\r\n", b"END\r\n"), b"VALUE k 7 2\r\nhi\r\nEND\r\n");

    assert_eq!(proxy.connections_accepted(), 1);
    assert_eq!(proxy.open_connections(), 1);
    assert_eq!(proxy.bytes_to_server(), (17 + 7) as u64);
    // The proxy counts a write just after it returns, which may be after
    // the client has read the bytes.
    wait_until("the reply bytes to be counted", || proxy.bytes_to_client() >= 30);
    assert_eq!(proxy.bytes_to_client(), (8 + 22) as u64);

    // A client half-close still gets its reply, then EOF.
    s.write_all(b"get k\r\n").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let (got, end) = read_to_end(&mut s);
    end.unwrap();
    assert_eq!(got, b"VALUE k 7 2\r\nhi\r\nEND\r\n");
    drop(s);
    wait_until("the connection to close", || proxy.open_connections() == 0);
}

#[test]
fn blackhole_swallows_requests_on_new_and_open_connections() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    let mut open = connect(proxy.addr());
    assert_eq!(ask(&mut open, b"version\r\n", b"\r\n").get(..8), Some(&b"VERSION "[..]));

    proxy.set(Fault::Blackhole);
    let mut fresh = connect(proxy.addr());
    for s in [&mut open, &mut fresh] {
        s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        s.write_all(b"version\r\n").unwrap();
        let mut buf = [0u8; 64];
        let err = s.read(&mut buf).expect_err("a black hole never replies");
        assert!(is_timeout(err.kind()), "expected a timeout, got {err:?}");
    }
    // The server itself is fine.
    assert!(m.raw(b"version\r\n", b"\r\n").starts_with(b"VERSION "));
    assert_eq!(proxy.open_connections(), 2, "connections stay open");

    // Forwarding resumes on a new connection.
    proxy.set(Fault::None);
    let mut again = connect(proxy.addr());
    assert!(ask(&mut again, b"version\r\n", b"\r\n").starts_with(b"VERSION "));
}

#[test]
fn delay_holds_replies_back() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    let mut s = connect(proxy.addr());
    proxy.set(Fault::Delay(Duration::from_millis(300)));
    let started = Instant::now();
    let reply = ask(&mut s, b"version\r\n", b"\r\n");
    assert!(reply.starts_with(b"VERSION "));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "reply came after {:?}",
        started.elapsed()
    );
}

/// Asserts that `s` has been reset: either the write or the read after it
/// reports ECONNRESET.
fn assert_reset(s: &mut TcpStream) {
    if let Err(e) = s.write_all(b"version\r\n") {
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "write: {e:?}");
        return;
    }
    let (got, end) = read_to_end(s);
    assert!(got.is_empty(), "no reply on a reset connection: {got:?}");
    let err = end.expect_err("a reset connection reports an error, not EOF");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "read: {err:?}");
}

#[test]
fn reset_resets_open_and_new_connections() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    let mut open = connect(proxy.addr());
    assert!(ask(&mut open, b"version\r\n", b"\r\n").starts_with(b"VERSION "));

    proxy.set(Fault::Reset);
    let mut buf = [0u8; 16];
    let err = open.read(&mut buf).expect_err("the open connection is reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);

    // The reset may arrive before connect() returns; then connect reports it.
    match TcpStream::connect_timeout(&proxy.addr(), PATIENCE) {
        Ok(mut fresh) => {
            fresh.set_read_timeout(Some(PATIENCE)).unwrap();
            assert_reset(&mut fresh);
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "connect: {e:?}"),
    }

    // A reset is not undone by a quick switch back: the open connection
    // from before still gets it.
    proxy.set(Fault::None);
    let mut open = connect(proxy.addr());
    assert!(ask(&mut open, b"version\r\n", b"\r\n").starts_with(b"VERSION "));
    proxy.set(Fault::Reset);
    proxy.set(Fault::None);
    assert_reset(&mut open);
    wait_until("reset connections to close", || proxy.open_connections() == 0);
}

#[test]
fn cut_reply_after_forwards_exactly_n_bytes_then_closes() {
    let m = Memcached::start();
    let value = vec![b'x'; 100];
    let mut set = b"set big 0 0 100\r\n".to_vec();
    set.extend_from_slice(&value);
    set.extend_from_slice(b"\r\n");
    assert_eq!(m.raw(&set, b"\r\n"), b"STORED\r\n");
    let full = value_reply("big", &value);

    let proxy = FaultProxy::start(m.addr());
    proxy.set(Fault::CutReplyAfter(10));
    let mut s = connect(proxy.addr());
    s.write_all(b"get big\r\n").unwrap();
    let (got, end) = read_to_end(&mut s);
    end.expect("a cut reply ends with a plain EOF");
    assert_eq!(got, &full[..10]);

    // A connection that was already open counts from the switch on.
    proxy.set(Fault::None);
    let mut open = connect(proxy.addr());
    assert_eq!(ask(&mut open, b"get big\r\n", b"END\r\n"), full);
    proxy.set(Fault::CutReplyAfter(50));
    open.write_all(b"get big\r\n").unwrap();
    let (got, end) = read_to_end(&mut open);
    end.unwrap();
    assert_eq!(got, &full[..50]);
}

#[test]
fn garbage_replaces_replies() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    proxy.set(Fault::Garbage(b"HELLO\r\n".to_vec()));
    let mut s = connect(proxy.addr());
    assert_eq!(ask(&mut s, b"version\r\n", b"\r\n"), b"HELLO\r\n");
    assert_eq!(ask(&mut s, b"get k\r\n", b"\r\n"), b"HELLO\r\n", "stays open");
    assert_eq!(ask(&mut s, b"set k 0 0 1\r\nx\r\n", b"\r\n"), b"HELLO\r\n");
    assert_eq!(m.raw_get(b"k"), None, "nothing reached the server");

    let bogus = b"VALUE k 0 99999999999\r\n".to_vec();
    proxy.set(Fault::GarbageThenClose(bogus.clone()));
    let mut s = connect(proxy.addr());
    s.write_all(b"get k\r\n").unwrap();
    let (got, end) = read_to_end(&mut s);
    end.expect("closed with EOF");
    assert_eq!(got, bogus);
}

#[test]
fn refuse_closes_the_port_and_none_reopens_the_same_port() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    let port = proxy.port();
    let mut open = connect(proxy.addr());
    assert!(ask(&mut open, b"version\r\n", b"\r\n").starts_with(b"VERSION "));

    proxy.set(Fault::Refuse);
    let err = TcpStream::connect(proxy.addr()).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let (got, end) = read_to_end(&mut open);
    assert!(got.is_empty(), "the open connection was closed");
    if let Err(e) = end {
        assert!(!is_timeout(e.kind()), "closed, not left hanging: {e:?}");
    }

    proxy.set(Fault::None);
    assert_eq!(proxy.port(), port);
    let mut s = connect(SocketAddr::from(([127, 0, 0, 1], port)));
    assert!(ask(&mut s, b"version\r\n", b"\r\n").starts_with(b"VERSION "));

    // And once more, to show the cycle repeats.
    proxy.set(Fault::Refuse);
    assert_eq!(TcpStream::connect(proxy.addr()).unwrap_err().kind(), ErrorKind::ConnectionRefused);
    proxy.set(Fault::Blackhole);
    connect(proxy.addr());
}

#[test]
fn closed_port_refuses() {
    let port = closed_port();
    let err = TcpStream::connect(("127.0.0.1", port)).expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    assert_ne!(closed_port(), port, "each call gives its own port");
}

#[test]
fn dropping_the_proxy_closes_everything() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    let addr = proxy.addr();
    let mut open = connect(addr);
    assert!(ask(&mut open, b"version\r\n", b"\r\n").starts_with(b"VERSION "));
    proxy.set(Fault::Blackhole);
    drop(proxy);
    let (got, end) = read_to_end(&mut open);
    assert!(got.is_empty());
    if let Err(e) = end {
        assert!(!is_timeout(e.kind()), "the connection was closed, not left hanging");
    }
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
#[should_panic(expected = "loopback")]
fn upstream_must_be_loopback() {
    // Nothing is dialled: the address is rejected up front.
    FaultProxy::start(SocketAddr::from(([192, 0, 2, 1], 11211)));
}

/// Clients hammer the proxy while the fault flaps every ~60 ms; afterwards
/// the proxy still forwards and every connection is cleaned up.
#[test]
fn survives_flapping_faults_under_load() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    let addr = proxy.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let stop = Arc::clone(&stop);
            let answered = Arc::clone(&answered);
            thread::spawn(move || {
                let key = format!("flap{i}");
                let request = format!("set {key} 0 0 3\r\nabc\r\nget {key}\r\n").into_bytes();
                let expected = format!("STORED\r\nVALUE {key} 0 3\r\nabc\r\nEND\r\n").into_bytes();
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                    else {
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
                    s.set_write_timeout(Some(Duration::from_millis(100))).unwrap();
                    for _ in 0..20 {
                        if s.write_all(&request).is_err() {
                            break;
                        }
                        let mut reply = Vec::new();
                        let mut buf = [0u8; 256];
                        while reply.len() < expected.len() {
                            match s.read(&mut buf) {
                                Ok(n) if n > 0 => reply.extend_from_slice(&buf[..n]),
                                _ => break,
                            }
                        }
                        if reply != expected {
                            break; // a fault hit: start over on a new connection
                        }
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();

    let faults = [
        Fault::None,
        Fault::Blackhole,
        Fault::None,
        Fault::Reset,
        Fault::Delay(Duration::from_millis(20)),
        Fault::Refuse,
        Fault::CutReplyAfter(7),
        Fault::None,
        Fault::Garbage(b"HELLO\r\n".to_vec()),
        Fault::GarbageThenClose(b"SERVER_ERROR flap\r\n".to_vec()),
        Fault::Refuse,
        Fault::None,
    ];
    let started = Instant::now();
    for fault in faults.iter().cycle().take(36) {
        proxy.set(fault.clone());
        thread::sleep(Duration::from_millis(60));
    }
    proxy.set(Fault::None);
    thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client thread");
    }
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(answered.load(Ordering::Relaxed) > 0, "some requests got through");

    let mut s = connect(addr);
    assert!(ask(&mut s, b"version\r\n", b"\r\n").starts_with(b"VERSION "));
    drop(s);
    wait_until("all connections to close", || proxy.open_connections() == 0);
    assert!(proxy.connections_accepted() > 4);
}
