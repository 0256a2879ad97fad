//! The engine's client metrics against real memcached: every request timed
//! once per server in the histogram of its command class, outcomes counted
//! (stored, not stored, hits, misses, errors by kind), slow and failing
//! servers' latencies where their delay puts them, no observation lost
//! between threads, and the Prometheus text of it all accepted by
//! `promtool check metrics`.

use std::collections::HashMap;
use std::time::Duration;

use mcring::histogram::{CommandClass, HistogramSnapshot, BOUNDS_NS};
use mcring::stats::{ClientStats, Snapshot};
use mcring::{Client, Error, Status, StoreMode};
use mcring_tests::{closed_port, Fault, FaultProxy, Memcached};

mod promtool {
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// `promtool check metrics` on an exposition: (passed, its complaints).
    pub fn check_metrics(exposition: &str) -> (bool, String) {
        let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_string());
        let mut child = Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn promtool (is the prometheus package installed?)");
        child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

fn client_for(specs: &[String], options: &str) -> Client {
    Client::from_config_str(&format!("{} {options}", specs.join(" "))).unwrap()
}

/// Server `name`'s counters and histogram of `class` in `stats`.
fn of(stats: &ClientStats, name: &str, class: CommandClass) -> (Snapshot, HistogramSnapshot) {
    let i = stats
        .servers
        .iter()
        .position(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no server {name} in {stats:?}"));
    (stats.servers[i].1, stats.latencies_of(i)[class as usize])
}

/// Observations of `h` in buckets whose upper bound is at most `ns`.
fn at_most(h: &HistogramSnapshot, ns: u64) -> u64 {
    BOUNDS_NS.iter().zip(h.counts).take_while(|(&b, _)| b <= ns).map(|(_, c)| c).sum()
}

/// Expected observations per (server, class), counted as the test sends.
#[derive(Default)]
struct Expect(HashMap<(String, CommandClass), u64>);

impl Expect {
    fn add(&mut self, c: &Client, key: &str, class: CommandClass) {
        *self.0.entry((c.server_for(key).unwrap().name(), class)).or_default() += 1;
    }
}

#[test]
fn every_request_is_timed_once_per_server_in_its_class() {
    let servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let c = client_for(&specs, "");
    let mut expect = Expect::default();
    let keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();

    for k in &keys[..20] {
        assert_eq!(c.set(k, b"1", 0, 0).unwrap(), Status::Done);
        expect.add(&c, k, CommandClass::Store);
    }
    for k in &keys[..5] {
        assert_eq!(c.add(k, b"again", 0, 0).unwrap(), Status::NotStored);
        expect.add(&c, k, CommandClass::Store);
    }
    let token = c.gets(&keys[0]).unwrap().unwrap().cas.unwrap();
    expect.add(&c, &keys[0], CommandClass::Get);
    c.set(&keys[0], b"2", 0, 0).unwrap();
    expect.add(&c, &keys[0], CommandClass::Store);
    assert_eq!(c.cas(&keys[0], b"3", 0, 0, token).unwrap(), Status::Exists);
    expect.add(&c, &keys[0], CommandClass::Store);
    for k in &keys {
        c.get(k).unwrap();
        expect.add(&c, k, CommandClass::Get);
    }
    // One multi-get: one observation per server it asks, however many keys.
    let found = c.get_multi(&keys).unwrap();
    assert_eq!(found.iter().filter(|r| matches!(r, Ok(Some(_)))).count(), 20);
    let mut asked: Vec<String> = keys.iter().map(|k| c.server_for(k).unwrap().name()).collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked.len(), 3, "30 keys reach all three servers");
    for s in &asked {
        *expect.0.entry((s.clone(), CommandClass::MultiGet)).or_default() += 1;
    }
    for k in &keys[20..24] {
        assert_eq!(c.delete(k).unwrap(), Status::NotFound);
        expect.add(&c, k, CommandClass::Delete);
    }
    for k in &keys[1..4] {
        assert_eq!(c.incr(k, 1).unwrap(), Some(2));
        expect.add(&c, k, CommandClass::Arith);
    }
    assert_eq!(c.decr(&keys[25], 1).unwrap(), None, "decr of a missing key");
    expect.add(&c, &keys[25], CommandClass::Arith);
    for k in &keys[4..6] {
        assert_eq!(c.touch(k, 100).unwrap(), Status::Done);
        expect.add(&c, k, CommandClass::Touch);
    }
    assert_eq!(c.incr_or_init("counter", 1, 10, 0).unwrap(), 10);
    expect.add(&c, "counter", CommandClass::Meta);
    assert_eq!(c.incr_or_init("counter", 1, 10, 0).unwrap(), 11);
    expect.add(&c, "counter", CommandClass::Meta);
    // Quiet writes have no reply to time.
    for k in &keys[..10] {
        c.store_noreply(StoreMode::Set, k.as_bytes(), b"q", 0, 0).unwrap();
    }
    c.delete_noreply(&keys[0]).unwrap();
    // A request after the quiet ones, so they have surely been sent and read.
    c.get(&keys[9]).unwrap();
    expect.add(&c, &keys[9], CommandClass::Get);

    let stats = c.stats();
    for s in &specs {
        for class in CommandClass::ALL {
            let want = expect.0.get(&(s.clone(), class)).copied().unwrap_or(0);
            let (_, h) = of(&stats, s, class);
            assert_eq!(h.count(), want, "{s} {}: {h:?}", class.label());
            assert_eq!(h.counts.iter().sum::<u64>(), want);
            if want > 0 {
                assert!(h.sum_ns > 0, "{s} {}: time was measured", class.label());
                assert!(
                    h.sum_ns < want * 10_000_000_000,
                    "{s} {}: no request took 10 s",
                    class.label()
                );
            }
        }
    }
    let total = stats.total;
    assert_eq!(
        total.stored,
        20 + 1,
        "the sets and the one between gets and cas (quiet ones have no reply)"
    );
    assert_eq!(total.not_stored, 5 + 1, "adds of existing keys, and the stale cas (EXISTS)");
    assert_eq!(total.hits, 1 + 20 + 20 + 1, "gets, get, multi-get, last get");
    assert_eq!(total.misses, 10 + 10);
    assert_eq!(total.errors, 0);

    let text = stats.prometheus();
    let (ok, complaints) = promtool::check_metrics(&text);
    assert!(ok, "promtool check metrics: {complaints}\n{text}");
    for s in &specs {
        let (_, h) = of(&stats, s, CommandClass::Get);
        let line = format!(
            "mcring_client_request_duration_seconds_count{{server=\"{s}\",command=\"get\"}} {}\n",
            h.count()
        );
        assert!(text.contains(&line), "{line} in\n{text}");
        let inf = format!(
            "mcring_client_request_duration_seconds_bucket{{server=\"{s}\",command=\"get\",le=\"+Inf\"}} {}\n",
            h.count()
        );
        assert!(text.contains(&inf), "{inf} in\n{text}");
    }
}

#[test]
fn threads_lose_no_observation() {
    let m = Memcached::start();
    let c = std::sync::Arc::new(client_for(&[m.spec()], ""));
    c.set("shared", b"v", 0, 0).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..500 {
                    c.get("shared").unwrap().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = c.stats();
    let (counters, h) = of(&stats, &m.spec(), CommandClass::Get);
    assert_eq!(h.count(), 2000);
    assert_eq!(counters.hits, 2000);
}

#[test]
fn a_slow_server_is_timed_at_its_delay() {
    let slow = Memcached::start();
    let proxy = FaultProxy::start(slow.addr());
    let c = client_for(&[proxy.spec()], "io_timeout_ms=5000");
    c.set("k", b"v", 0, 0).unwrap();
    proxy.set(Fault::Delay(Duration::from_millis(30)));
    for _ in 0..20 {
        assert_eq!(c.get("k").unwrap().unwrap().value, b"v");
    }
    let stats = c.stats();
    let (_, h) = of(&stats, &proxy.spec(), CommandClass::Get);
    assert_eq!(h.count(), 20);
    // Every reply was held 30 ms: none can be in a bucket of 20 ms or less.
    assert_eq!(at_most(&h, 20_000_000), 0, "{h:?}");
    assert!(h.sum_ns >= 20 * 30_000_000, "{h:?}");
    assert!(h.quantile_upper_bound(0.99).unwrap() >= 0.05, "{h:?}");
}

#[test]
fn errors_are_counted_by_kind_and_their_requests_timed() {
    // A black hole: the request times out after io_timeout_ms.
    let m = Memcached::start();
    let hole = FaultProxy::start(m.addr());
    let c = client_for(&[hole.spec()], "io_timeout_ms=300 failover=none");
    c.set("k", b"v", 0, 0).unwrap();
    hole.set(Fault::Blackhole);
    assert!(matches!(c.get("k"), Err(Error::Timeout { .. })), "a black hole times out");
    let stats = c.stats();
    let (counters, h) = of(&stats, &hole.spec(), CommandClass::Get);
    assert_eq!((counters.errors, counters.timeouts), (1, 1), "{counters:?}");
    assert_eq!(h.count(), 1, "the failed request was timed");
    assert_eq!(at_most(&h, 200_000_000), 0, "it waited out its 300 ms timeout: {h:?}");

    // Bytes that are no memcached reply.
    let garbage = FaultProxy::start(m.addr());
    let c = client_for(&[garbage.spec()], "failover=none");
    garbage.set(Fault::Garbage(b"HELLO THERE\r\n".to_vec()));
    assert!(matches!(c.get("k"), Err(Error::Protocol { .. })));
    let (counters, h) = of(&c.stats(), &garbage.spec(), CommandClass::Get);
    assert_eq!((counters.errors, counters.protocol_errors), (1, 1), "{counters:?}");
    assert_eq!(h.count(), 1);

    // Nothing listening.
    let closed = format!("127.0.0.1:{}", closed_port());
    let c = client_for(std::slice::from_ref(&closed), "failover=none");
    assert!(matches!(c.set("k", b"v", 0, 0), Err(Error::Connection { .. })));
    let (counters, h) = of(&c.stats(), &closed, CommandClass::Store);
    assert_eq!((counters.errors, counters.connection_errors), (1, 1), "{counters:?}");
    assert_eq!(h.count(), 1, "a failed connect is timed too");

    // An error reply, on a connection that stays usable; then a value over
    // the client's limit, skipped unread.
    let c = client_for(&[m.spec()], "max_value_bytes=100 failover=none");
    c.set("word", b"abc", 0, 0).unwrap();
    assert!(matches!(c.incr("word", 1), Err(Error::Server { .. })));
    m.raw(format!("set big 0 0 1000\r\n{}\r\n", "x".repeat(1000)).as_bytes(), b"\r\n");
    assert!(matches!(c.get("big"), Err(Error::TooLarge { .. })));
    assert_eq!(c.get("word").unwrap().unwrap().value, b"abc");
    let stats = c.stats();
    let (counters, arith) = of(&stats, &m.spec(), CommandClass::Arith);
    assert_eq!(counters.errors, 2, "{counters:?}");
    assert_eq!((counters.server_errors, counters.too_large), (1, 1), "{counters:?}");
    assert_eq!(
        (counters.timeouts, counters.connection_errors, counters.protocol_errors),
        (0, 0, 0)
    );
    assert_eq!(arith.count(), 1);
    assert_eq!(of(&stats, &m.spec(), CommandClass::Get).1.count(), 2);

    let text = stats.prometheus();
    for line in [
        format!("mcring_client_server_errors_total{{server=\"{}\"}} 1\n", m.spec()),
        format!("mcring_client_too_large_total{{server=\"{}\"}} 1\n", m.spec()),
        format!("mcring_client_errors_total{{server=\"{}\"}} 2\n", m.spec()),
    ] {
        assert!(text.contains(&line), "{line} in\n{text}");
    }
}

#[test]
fn failovers_are_counted_on_the_server_that_served_and_exported() {
    let mut servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let c = client_for(&specs, "failover=next failure_limit=1 retry_timeout_ms=60000");
    let dead = specs[0].clone();
    let keys: Vec<String> = (0..500)
        .map(|i| format!("f{i}"))
        .filter(|k| c.server_for(k).unwrap().name() == dead)
        .take(20)
        .collect();
    assert_eq!(keys.len(), 20);
    servers[0].kill();
    for k in &keys {
        assert_eq!(c.set(k, b"v", 0, 0).unwrap(), Status::StoredElsewhere, "{k}");
    }
    for k in &keys {
        assert_eq!(c.get(k).unwrap().unwrap().value, b"v", "{k} read from its failover target");
    }
    let found = c.get_multi(&keys).unwrap();
    assert!(found.iter().all(|r| matches!(r, Ok(Some(_)))), "{found:?}");
    let stats = c.stats();
    let (down, h) = of(&stats, &dead, CommandClass::Store);
    assert_eq!((down.errors, down.connection_errors), (1, 1), "one failed connect: {down:?}");
    assert_eq!(down.stored_elsewhere, 20, "{down:?}");
    assert_eq!(down.failovers, 0, "the down server served nothing: {down:?}");
    assert_eq!(h.count(), 1, "the attempt on the dead server was timed");
    let others = &specs[1..];
    let count = |class| -> u64 { others.iter().map(|s| of(&stats, s, class).1.count()).sum() };
    assert_eq!(count(CommandClass::Store), 20, "the rerouted writes were timed where they went");
    assert_eq!(count(CommandClass::Get), 20, "and the rerouted reads");
    assert!(count(CommandClass::MultiGet) >= 1, "the multi-get asked a failover target");
    let failovers: Vec<u64> =
        others.iter().map(|s| of(&stats, s, CommandClass::Get).0.failovers).collect();
    assert_eq!(failovers.iter().sum::<u64>(), 20 + 20 + 20, "writes, reads, multi-get keys");
    let text = stats.prometheus();
    for (s, n) in others.iter().zip(&failovers) {
        let line = format!("mcring_client_failovers_total{{server=\"{s}\"}} {n}\n");
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    let (ok, complaints) = promtool::check_metrics(&text);
    assert!(ok, "promtool check metrics: {complaints}\n{text}");
}
