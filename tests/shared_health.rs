//! Shared health across clients of one process tree (PHP-FPM workers,
//! gunicorn workers): one client's discovery spares the others, and a
//! server that died is flushed before anyone reads from it again, because
//! any of them may have rerouted writes away from it meanwhile.
//!
//! Its own test binary: the shared area is per process, and it changes how
//! every client made afterwards keeps health.

use std::time::{Duration, Instant};

use mcring::{Client, Status};
use mcring_tests::{Fault, FaultProxy, Memcached};

#[test]
fn a_server_that_died_is_flushed_before_any_client_reads_it_again() {
    mcring::shared_health::init().unwrap();
    let a = Memcached::start();
    let b = Memcached::start();
    let proxy = FaultProxy::start(a.addr());
    let config = format!(
        "{} {} failover=next failure_limit=1 retry_timeout_ms=300 connect_timeout_ms=300 \
         io_timeout_ms=300",
        proxy.spec(),
        b.spec()
    );
    // Two clients stand for two worker processes: each has its own list of
    // keys to forget, and shares only health.
    let writer = Client::from_config_str(&config).unwrap();
    let reader = Client::from_config_str(&config).unwrap();
    let key = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| writer.server_for(k).unwrap().name() == proxy.spec())
        .unwrap();
    assert_eq!(writer.set(&key, b"v1", 0, 0).unwrap(), Status::Done);

    // The home server drops requests: the writer's write times out, marks it
    // dead for everyone, and goes to the next server instead.
    proxy.set(Fault::Blackhole);
    assert_eq!(writer.set(&key, b"v2", 0, 0).unwrap(), Status::StoredElsewhere);
    assert!(!reader.alive()[0].1, "the reader sees the server dead at once");
    let t = Instant::now();
    assert_eq!(reader.get(&key).unwrap().unwrap().value, b"v2");
    assert!(t.elapsed() < Duration::from_millis(200), "the reader pays no timeout");
    assert_eq!(a.raw_get(key.as_bytes()).unwrap().1, b"v1", "the home still holds v1");

    // It comes back. The reader, which never queued the key, reads it first.
    proxy.set(Fault::None);
    std::thread::sleep(Duration::from_millis(400));
    match reader.get(&key).unwrap() {
        None => {}
        Some(item) => assert_ne!(item.value, b"v1", "stale value served after recovery"),
    }
    assert_eq!(a.raw_get(key.as_bytes()), None, "the recovered server was flushed");
    assert!(reader.alive()[0].1);
}
