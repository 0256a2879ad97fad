//! Shared health across clients of one process tree (PHP-FPM workers,
//! gunicorn workers): one client's discovery spares the others, and the
//! keys any of them wrote elsewhere while a server was away are deleted on
//! it before anyone reads it again — by key, never by flushing it.
//!
//! Its own test binary: the shared area is per process, and it changes how
//! every client made afterwards keeps health.

use std::time::{Duration, Instant};

use mcring::{Client, Status};
use mcring_tests::{Fault, FaultProxy, Memcached};

fn shared() {
    mcring::shared_health::init().unwrap();
}

/// The first key (of the form `{stem}{i}`) that `c` places on `server`.
fn key_on(c: &Client, server: &str, stem: &str) -> String {
    (0..).map(|i| format!("{stem}{i}")).find(|k| c.server_for(k).unwrap().name() == server).unwrap()
}

#[test]
fn keys_one_client_missed_are_deleted_by_another_and_nothing_else_is() {
    shared();
    let a = Memcached::start();
    let b = Memcached::start();
    let proxy = FaultProxy::start(a.addr());
    let config = format!(
        "{} {} failover=next failure_limit=1 retry_timeout_ms=300 connect_timeout_ms=300 \
         io_timeout_ms=300",
        proxy.spec(),
        b.spec()
    );
    // Two clients stand for two worker processes: they share health and the
    // invalidation log, nothing else.
    let writer = Client::from_config_str(&config).unwrap();
    let reader = Client::from_config_str(&config).unwrap();
    let key = key_on(&writer, &proxy.spec(), "k");
    let other = key_on(&writer, &proxy.spec(), "other");
    assert_eq!(writer.set(&key, b"v1", 0, 0).unwrap(), Status::Done);
    assert_eq!(writer.set(&other, b"keep", 0, 0).unwrap(), Status::Done);

    // The home server drops requests: the writer's write times out, marks it
    // dead for everyone, and goes to the next server instead — and says so.
    proxy.set(Fault::Blackhole);
    assert_eq!(writer.set(&key, b"v2", 0, 0).unwrap(), Status::StoredElsewhere);
    assert!(!reader.alive()[0].1, "the reader sees the server dead at once");
    let t = Instant::now();
    assert_eq!(reader.get(&key).unwrap().unwrap().value, b"v2");
    assert!(t.elapsed() < Duration::from_millis(200), "the reader pays no timeout");
    assert_eq!(a.raw_get(key.as_bytes()).unwrap().1, b"v1", "the home still holds v1");

    // It comes back. The reader, which never wrote the key, reads it first.
    proxy.set(Fault::None);
    std::thread::sleep(Duration::from_millis(400));
    match reader.get(&key).unwrap() {
        None => {}
        Some(item) => assert_ne!(item.value, b"v1", "stale value served after recovery"),
    }
    assert_eq!(a.raw_get(key.as_bytes()), None, "the key the writer missed was deleted");
    assert_eq!(
        a.raw_get(other.as_bytes()).map(|(_, v)| v),
        Some(b"keep".to_vec()),
        "the recovered server was not flushed"
    );
    assert_eq!(reader.get(&other).unwrap().unwrap().value, b"keep");
    assert!(reader.alive()[0].1);
}

#[test]
fn a_blip_costs_only_the_keys_written_during_it() {
    // The reproduction: three servers, shared health, one SIGSTOPped
    // for 0.4 s (two timeouts mark it dead), then SIGCONT.
    shared();
    let servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let config = format!(
        "{} failure_limit=2 retry_timeout_ms=200 connect_timeout_ms=100 io_timeout_ms=100",
        specs.join(" ")
    );
    let c = Client::from_config_str(&config).unwrap();
    let keys: Vec<String> = (0..300).map(|i| format!("blip{i}")).collect();
    for k in &keys {
        c.set(k, k.as_bytes(), 0, 0).unwrap();
    }
    let victim = &servers[0];
    let on_victim: Vec<&String> =
        keys.iter().filter(|k| c.server_for(k).unwrap().name() == victim.spec()).collect();
    assert!(on_victim.len() > 50);
    victim.pause();
    // Two timeouts, then rerouted writes of a few keys.
    let _ = c.get(on_victim[0]);
    let _ = c.get(on_victim[1]);
    assert!(!c.alive()[0].1, "dead after two timeouts");
    let rewritten = &on_victim[..5];
    for k in rewritten {
        assert_eq!(c.set(k, b"new", 0, 0).unwrap(), Status::StoredElsewhere);
    }
    std::thread::sleep(Duration::from_millis(400 - 200));
    victim.resume();
    std::thread::sleep(Duration::from_millis(250));
    let mut found = 0;
    for k in &on_victim {
        match c.get(k).unwrap() {
            Some(item) if rewritten.contains(k) => {
                panic!(
                    "{k}: read {:?} after it was rewritten",
                    String::from_utf8_lossy(&item.value)
                )
            }
            Some(item) => {
                assert_eq!(item.value, k.as_bytes());
                found += 1;
            }
            None => assert!(rewritten.contains(k), "{k} lost to the blip"),
        }
    }
    assert_eq!(found, on_victim.len() - rewritten.len(), "every untouched key survives the blip");
}

#[test]
fn keys_a_forked_process_missed_are_deleted_before_the_parent_reads() {
    shared();
    let a = Memcached::start();
    let b = Memcached::start();
    let proxy = FaultProxy::start(a.addr());
    let config = format!(
        "{} {} failure_limit=1 retry_timeout_ms=300 connect_timeout_ms=200 io_timeout_ms=200",
        proxy.spec(),
        b.spec()
    );
    let c = Client::from_config_str(&config).unwrap();
    let key = key_on(&c, &proxy.spec(), "forked");
    c.set(&key, b"old", 0, 0).unwrap();
    proxy.set(Fault::Blackhole);
    // SAFETY: fork in a test; the child uses the client and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = matches!(c.set(&key, b"new", 0, 0), Ok(Status::StoredElsewhere));
        // SAFETY: leave the child without running the test harness.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(status, 0, "the child's write went elsewhere");
    proxy.set(Fault::None);
    std::thread::sleep(Duration::from_millis(400));
    if let Some(item) = c.get(&key).unwrap() {
        assert_eq!(item.value, b"new", "the parent read a value the child replaced");
    }
    assert_eq!(a.raw_get(key.as_bytes()), None);
}

/// Fills server `dead`'s part of the invalidation log past its bound with
/// writes while it is down.
fn overflow(c: &Client, dead: &str, stem: &str) {
    let mut dropped = 0;
    let mut i = 0;
    while dropped == 0 {
        let k = format!("{stem}{i}");
        i += 1;
        if c.server_for(&k).unwrap().name() == dead {
            c.set(&k, b"x", 0, 0).unwrap();
            dropped = c.stats().servers[0].1.invalidations_dropped;
        }
    }
}

#[test]
fn an_overflowed_server_is_flushed_only_if_it_did_not_restart_and_a_refused_flush_is_a_warning() {
    shared();
    // flush_all disabled (-F): the flush is refused, counted, not retried,
    // and writes keep working.
    let refusing = Memcached::start_with(&["-F"]);
    let b = Memcached::start();
    let proxy = FaultProxy::start(refusing.addr());
    let options = "failure_limit=1 retry_timeout_ms=200 connect_timeout_ms=200 io_timeout_ms=200 \
                   flush_on_overflow=true";
    let c = Client::from_config_str(&format!("{} {} {options}", proxy.spec(), b.spec())).unwrap();
    let survivor = key_on(&c, &proxy.spec(), "survivor");
    c.set(&survivor, b"v", 0, 0).unwrap();
    proxy.set(Fault::Refuse);
    overflow(&c, &proxy.spec(), "of");
    proxy.set(Fault::None);
    std::thread::sleep(Duration::from_millis(300));
    let key = key_on(&c, &proxy.spec(), "after");
    assert_eq!(c.set(&key, b"1", 0, 0).unwrap(), Status::Done, "writes work after the refusal");
    assert_eq!(c.stats().servers[0].1.flush_refused, 1);
    assert_eq!(c.set(&key, b"2", 0, 0).unwrap(), Status::Done);
    assert_eq!(c.stats().servers[0].1.flush_refused, 1, "asked once");

    // A stopped server holds old values: it is flushed.
    let stopped = Memcached::start();
    let c = Client::from_config_str(&format!("{} {} {options}", stopped.spec(), b.spec())).unwrap();
    let old = key_on(&c, &stopped.spec(), "old");
    c.set(&old, b"v", 0, 0).unwrap();
    stopped.pause();
    overflow(&c, &stopped.spec(), "st");
    stopped.resume();
    std::thread::sleep(Duration::from_millis(300));
    let probe = key_on(&c, &stopped.spec(), "probe");
    c.set(&probe, b"p", 0, 0).unwrap();
    assert_eq!(stopped.raw_get(old.as_bytes()), None, "a stopped, overflowed server is flushed");

    // A restarted one is empty already: what reached it since stays.
    let mut restarted = Memcached::start();
    let c =
        Client::from_config_str(&format!("{} {} {options}", restarted.spec(), b.spec())).unwrap();
    restarted.kill();
    overflow(&c, &restarted.spec(), "rs");
    // memcached's uptime starts at 2 s: restart clearly after the overflow.
    std::thread::sleep(Duration::from_millis(3100));
    restarted.restart();
    let fresh = key_on(&c, &restarted.spec(), "fresh");
    restarted.raw(format!("set {fresh} 0 0 1\r\nf\r\n").as_bytes(), b"\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let probe = key_on(&c, &restarted.spec(), "probe");
    c.set(&probe, b"p", 0, 0).unwrap();
    assert!(restarted.raw_get(fresh.as_bytes()).is_some(), "a restarted server is not flushed");
}

#[test]
fn shared_health_and_invalidation_work_the_same_over_tls() {
    use mcring_tests::tls::{tls_memcached, ClientCerts, Pki};
    shared();
    let a = tls_memcached("server", ClientCerts::None, &[]);
    let b = tls_memcached("server", ClientCerts::None, &[]);
    // The proxy forwards TLS bytes as they are; the certificate is valid for
    // 127.0.0.1, where the proxy listens.
    let proxy = FaultProxy::start(a.addr());
    let tls = format!("tls=true tls_ca={}", Pki::get().path("ca.pem"));
    let config = format!(
        "{} {} {tls} failover=next failure_limit=1 retry_timeout_ms=300 connect_timeout_ms=300 \
         io_timeout_ms=300",
        proxy.spec(),
        b.spec()
    );
    let writer = Client::from_config_str(&config).unwrap();
    let reader = Client::from_config_str(&config).unwrap();
    let direct = Client::from_config_str(&format!("{} {tls}", a.spec())).unwrap();
    let key = key_on(&writer, &proxy.spec(), "tk");
    let other = key_on(&writer, &proxy.spec(), "tother");
    assert_eq!(writer.set(&key, b"v1", 0, 0).unwrap(), Status::Done);
    assert_eq!(writer.set(&other, b"keep", 0, 0).unwrap(), Status::Done);

    proxy.set(Fault::Blackhole);
    assert_eq!(writer.set(&key, b"v2", 0, 0).unwrap(), Status::StoredElsewhere);
    assert!(!reader.alive()[0].1, "the reader sees the server dead at once");
    let t = Instant::now();
    assert_eq!(reader.get(&key).unwrap().unwrap().value, b"v2");
    assert!(t.elapsed() < Duration::from_millis(200), "the reader pays no timeout");
    assert_eq!(direct.get(&key).unwrap().unwrap().value, b"v1", "the home still holds v1");

    proxy.set(Fault::None);
    std::thread::sleep(Duration::from_millis(400));
    match reader.get(&key).unwrap() {
        None => {}
        Some(item) => assert_ne!(item.value, b"v1", "stale value served after recovery"),
    }
    assert_eq!(direct.get(&key).unwrap(), None, "the key the writer missed was deleted");
    assert_eq!(direct.get(&other).unwrap().unwrap().value, b"keep", "no flush");
    assert!(reader.alive()[0].1);
}
