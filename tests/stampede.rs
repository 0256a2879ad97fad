//! Stampede protection and hot keys against real memcached (1.6, meta
//! protocol): herds of threads on a missing key, invalidation to stale,
//! dead lease holders, early recache, stale time, a primary killed mid-herd
//! with replicas, fills that lose to newer writes, hot-key detection of
//! Zipf-distributed reads, the near cache's staleness bound and hot_random.
//! Processes in three languages are in tests/stampede/run.py.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mcring::{Client, Fetched, LeaseKind, LeaseOptions, Leased, Status};
use mcring_tests::Memcached;

const FAST: &str = "connect_timeout_ms=300 io_timeout_ms=500 failure_limit=2";

fn client(servers: &[&Memcached], options: &str) -> Client {
    let names: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    Client::from_config_str(&format!("{} {FAST} {options}", names.join(" "))).unwrap()
}

fn opts(c: &Client) -> LeaseOptions {
    c.lease_options()
}

/// A raw meta command on its own connection: the reply line and, for `VA`,
/// the data.
fn meta(m: &Memcached, line: &str) -> (String, Vec<u8>) {
    let s = TcpStream::connect(m.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    (&s).write_all(format!("{line}\r\n").as_bytes()).unwrap();
    let mut r = BufReader::new(&s);
    let mut head = String::new();
    r.read_line(&mut head).unwrap();
    let head = head.trim_end().to_string();
    let mut data = Vec::new();
    if let Some(len) = head.strip_prefix("VA ").and_then(|t| t.split(' ').next()) {
        let mut buf = vec![0; len.parse::<usize>().unwrap() + 2];
        r.read_exact(&mut buf).unwrap();
        buf.truncate(buf.len() - 2);
        data = buf;
    }
    (head, data)
}

/// The flags of a reply line after its code and length, sorted, without
/// the CAS token (which the server numbers as it likes).
fn shape(head: &str) -> String {
    let mut t: Vec<&str> = head.split(' ').skip(2).filter(|t| !t.starts_with('c')).collect();
    t.sort_unstable();
    t.join(" ")
}

/// A compute that counts itself (in this process and in memcached) and
/// takes `ms`.
fn slow_value(
    c: &Client,
    computes: &AtomicU64,
    ms: u64,
    value: &[u8],
) -> Result<((), Vec<u8>, u32), String> {
    computes.fetch_add(1, Ordering::SeqCst);
    c.incr_or_init("computes", 1, 1, 0).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(ms));
    Ok(((), value.to_vec(), 0))
}

fn value_of<T>(f: &Fetched<T>, computed: &[u8]) -> Vec<u8> {
    match f {
        Fetched::Cached(i) | Fetched::Stale(i) => i.value.clone(),
        Fetched::Computed(_) => computed.to_vec(),
    }
}

#[test]
fn memcached_answers_lease_reads_as_the_engine_reads_them() {
    let m = Memcached::start();
    let (head, data) = meta(&m, "mg k v c t f N30");
    assert_eq!((shape(&head).as_str(), &data[..]), ("W f0 t-1", &b""[..]), "{head}");
    let (head, _) = meta(&m, "mg k v c t f N30");
    assert_eq!(shape(&head), "Z f0 t30", "{head}");
    m.raw(b"set k 5 60 3\r\nabc\r\n", b"\r\n");
    assert_eq!(meta(&m, "md k I T30").0, "HD");
    let (head, data) = meta(&m, "mg k v c t f N30");
    assert_eq!((shape(&head).as_str(), &data[..]), ("W X f5 t30", &b"abc"[..]), "{head}");
    let (head, data) = meta(&m, "mg k v c t f N30");
    assert_eq!((shape(&head).as_str(), &data[..]), ("X Z f5 t30", &b"abc"[..]), "{head}");
    m.raw(b"set k2 0 100 1\r\nx\r\n", b"\r\n");
    assert_eq!(shape(&meta(&m, "mg k2 v c t R200").0), "W t100");
    assert_eq!(shape(&meta(&m, "mg k2 v c t R200").0), "Z t100");
    // A real empty value has neither W nor Z.
    m.raw(b"set e 0 60 0\r\n\r\n", b"\r\n");
    assert_eq!(shape(&meta(&m, "mg e v c t f N30").0), "f0 t60");
}

#[test]
fn a_herd_of_threads_computes_once_and_shares_one_wait() {
    let m = Memcached::start();
    let c = Arc::new(client(&[&m], ""));
    let computes = Arc::new(AtomicU64::new(0));
    let threads = 16;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (c, computes, barrier) = (c.clone(), computes.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let got = c
                    .get_or_compute("herd", 60, &opts(&c), || {
                        slow_value(&c, &computes, 200, b"the value")
                    })
                    .unwrap();
                (value_of(&got, b"the value"), start.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for h in handles {
        let (value, waited) = h.join().unwrap();
        assert_eq!(value, b"the value");
        slowest = slowest.max(waited);
    }
    assert_eq!(computes.load(Ordering::SeqCst), 1);
    assert_eq!(m.raw_get(b"computes").map(|(_, v)| v), Some(b"1".to_vec()));
    assert!(slowest < Duration::from_secs(2), "slowest caller waited {slowest:?}");
    eprintln!("16 threads, 200 ms compute: slowest caller {slowest:?}");
    let s = c.stats().total;
    assert_eq!((s.lease_wins, s.lease_fills), (1, 1), "{s:?}");
    // One thread polls for the process; the others wait for it (each asks
    // at most once, before the wait is set up).
    let herd_gets = s.gets - 1; // the compute's incr_or_init is no get
    assert!(herd_gets <= threads as u64 + 40, "{herd_gets} gets for one herd");
    eprintln!("memcached reads for the herd: {herd_gets}");
}

#[test]
fn after_invalidate_callers_get_the_stale_value_at_once_while_one_recomputes() {
    let m = Memcached::start();
    let c = Arc::new(client(&[&m], ""));
    c.set("page", b"v1", 0, 300).unwrap();
    assert_eq!(c.invalidate("page", 30).unwrap(), Status::Done);
    assert_eq!(c.invalidate("absent", 30).unwrap(), Status::NotFound);
    let computes = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (c, computes, barrier) = (c.clone(), computes.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let got = c
                    .get_or_compute("page", 300, &opts(&c), || {
                        slow_value(&c, &computes, 300, b"v2")
                    })
                    .unwrap();
                (matches!(got, Fetched::Stale(_)), value_of(&got, b"v2"), start.elapsed())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(computes.load(Ordering::SeqCst), 1);
    for (stale, value, waited) in &results {
        if *stale {
            assert_eq!(value, b"v1");
            assert!(*waited < Duration::from_millis(250), "stale served at once, not {waited:?}");
        } else {
            assert_eq!(value, b"v2");
        }
    }
    assert_eq!(results.iter().filter(|r| r.0).count(), 7, "everyone but the winner got v1");
    let after = c.get_or_compute("page", 300, &opts(&c), || Err::<((), Vec<u8>, u32), _>("no"));
    assert!(matches!(after, Ok(Fetched::Cached(i)) if i.value == b"v2"));
    assert_eq!(c.stats().total.stale_hits, 7);
}

#[test]
fn a_lease_holder_that_vanished_is_replaced_after_lease_ttl() {
    let m = Memcached::start();
    let c = Arc::new(client(&[&m], "lease_ttl=1"));
    // What a winner killed mid-compute leaves behind: its placeholder (a
    // 1 s lease is sent as N2: memcached's clock ticks in whole seconds, so
    // it ends 1 to 2 s later).
    let (head, _) = meta(&m, "mg orphan v c t f N2");
    assert!(head.ends_with(" W"), "{head}");
    let start = Instant::now();
    let computes = AtomicU64::new(0);
    let got = c.get_or_compute("orphan", 60, &opts(&c), || slow_value(&c, &computes, 0, b"x"));
    let waited = start.elapsed();
    assert!(matches!(got, Ok(Fetched::Computed(()))));
    assert_eq!(computes.load(Ordering::SeqCst), 1);
    assert!(waited >= Duration::from_millis(300), "waited for the lease: {waited:?}");
    assert!(waited < Duration::from_secs(3), "not longer than about lease_ttl: {waited:?}");
    assert_eq!(c.get("orphan").unwrap().map(|i| i.value), Some(b"x".to_vec()));
}

#[test]
fn a_failed_compute_lets_the_next_caller_win_at_once() {
    let m = Memcached::start();
    let c = client(&[&m], "");
    let failed =
        c.get_or_compute("flaky", 60, &opts(&c), || Err::<((), Vec<u8>, u32), _>("db down"));
    assert!(matches!(failed, Err(mcring::ComputeError::Compute("db down"))));
    let start = Instant::now();
    let Leased::Compute(token) = c.get_or_lease("flaky", &opts(&c)).unwrap() else {
        panic!("the lease was given back")
    };
    assert!(start.elapsed() < Duration::from_millis(500), "no wait for lease_ttl");
    assert_eq!(token.kind(), LeaseKind::Missing);
    assert_eq!(c.lease_fill(token, b"ok", 3, 60).unwrap(), Status::Done);
    let item = c.get("flaky").unwrap().unwrap();
    assert_eq!((&item.value[..], item.flags), (&b"ok"[..], 3));
    // A stale lease given back is stale again: the next caller wins it.
    c.invalidate("flaky", 30).unwrap();
    let Leased::Compute(stale) = c.get_or_lease("flaky", &opts(&c)).unwrap() else { panic!() };
    assert_eq!(
        (stale.kind(), stale.previous().map(|i| &i.value[..])),
        (LeaseKind::Stale, Some(&b"ok"[..]))
    );
    c.lease_release(stale).unwrap();
    assert!(
        matches!(c.get_or_lease("flaky", &opts(&c)).unwrap(), Leased::Compute(t) if t.kind() == LeaseKind::Stale)
    );
    assert_eq!(c.stats().total.lease_releases, 2);
}

#[test]
fn a_fill_never_overwrites_a_newer_write_or_a_delete() {
    let m = Memcached::start();
    let c = client(&[&m], "");
    let Leased::Compute(token) = c.get_or_lease("k", &opts(&c)).unwrap() else { panic!() };
    c.set("k", b"newer", 0, 60).unwrap();
    assert_eq!(c.lease_fill(token, b"older", 0, 60).unwrap(), Status::Exists);
    assert_eq!(c.get("k").unwrap().unwrap().value, b"newer");

    let Leased::Compute(token) = c.get_or_lease("gone", &opts(&c)).unwrap() else { panic!() };
    c.delete("gone").unwrap();
    assert_eq!(c.lease_fill(token, b"older", 0, 60).unwrap(), Status::NotFound);
    assert_eq!(c.get("gone").unwrap(), None);
    assert_eq!(c.stats().total.lease_fills_lost, 2);

    // A token of another client is refused, and the key is untouched.
    let other = client(&[&m], "");
    let Leased::Compute(token) = other.get_or_lease("mine", &opts(&other)).unwrap() else {
        panic!()
    };
    assert!(c.lease_fill(token, b"x", 0, 60).is_err());
}

#[test]
fn early_recache_lets_one_caller_recompute_while_the_others_read() {
    let m = Memcached::start();
    let c = Arc::new(client(&[&m], ""));
    c.set("feed", b"old", 0, 10).unwrap();
    let recache = LeaseOptions { recache_s: 30, ..opts(&c) };
    let computes = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (c, computes, barrier) = (c.clone(), computes.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let got = c
                    .get_or_compute("feed", 100, &recache, || {
                        slow_value(&c, &computes, 300, b"new")
                    })
                    .unwrap();
                (value_of(&got, b"new"), matches!(got, Fetched::Computed(_)), start.elapsed())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(computes.load(Ordering::SeqCst), 1);
    for (value, computed, waited) in &results {
        if !computed {
            assert_eq!(value, b"old", "the fresh-enough value is read meanwhile");
            assert!(*waited < Duration::from_millis(250), "{waited:?}");
        }
    }
    // The recomputed value has the new TTL: outside the window, no win.
    let after = c.get_or_lease("feed", &LeaseOptions { recache_s: 30, ..opts(&c) }).unwrap();
    assert!(matches!(after, Leased::Hit(i) if i.value == b"new"));
}

#[test]
fn stale_time_serves_an_expired_value_while_one_recomputes() {
    let m = Memcached::start();
    let c = client(&[&m], "");
    let swr = LeaseOptions { stale_ttl: 30, ..opts(&c) };
    let first = c.get_or_compute("report", 1, &swr, || Ok::<_, ()>(((), b"r1".to_vec(), 0)));
    assert!(matches!(first, Ok(Fetched::Computed(()))));
    std::thread::sleep(Duration::from_millis(2100));
    // Past its TTL of 1 s: the first caller recomputes, another one meanwhile
    // is served the old value as stale.
    let Leased::Compute(token) = c.get_or_lease("report", &swr).unwrap() else {
        panic!("the first caller after the TTL recomputes")
    };
    assert_eq!(token.previous().map(|i| &i.value[..]), Some(&b"r1"[..]));
    assert!(
        matches!(c.get_or_lease("report", &swr).unwrap(), Leased::Stale(i) if i.value == b"r1")
    );
    assert_eq!(c.lease_fill(token, b"r2", 0, 1).unwrap(), Status::Done);
    assert!(matches!(c.get_or_lease("report", &swr).unwrap(), Leased::Hit(i) if i.value == b"r2"));
}

#[test]
fn with_replicas_a_primary_killed_mid_herd_costs_one_compute_per_lease() {
    let mut servers = [Memcached::start(), Memcached::start()];
    let c = Arc::new(client(&[&servers[0], &servers[1]], "replicas=1 retry_timeout_ms=60000"));
    let key = "herd:replicated";
    let primary = c.server_for(key).unwrap().name();
    let p = servers.iter().position(|m| m.spec() == primary).unwrap();
    let computes = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(9));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (c, computes, barrier) = (c.clone(), computes.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                // Half the herd arrives after the kill.
                std::thread::sleep(Duration::from_millis(if i % 2 == 0 { 0 } else { 150 }));
                let start = Instant::now();
                let got = c
                    .get_or_compute(key, 60, &opts(&c), || {
                        computes.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(300));
                        Ok::<_, ()>(((), b"v".to_vec(), 0))
                    })
                    .unwrap();
                (value_of(&got, b"v"), start.elapsed())
            })
        })
        .collect();
    barrier.wait();
    std::thread::sleep(Duration::from_millis(100));
    servers[p].kill();
    for h in handles {
        let (value, waited) = h.join().unwrap();
        assert_eq!(value, b"v");
        assert!(waited < Duration::from_secs(3), "{waited:?}");
    }
    let s = c.stats().total;
    let n = computes.load(Ordering::SeqCst);
    // The lease on the primary died with it; one more lease on the replica.
    assert!(n <= 2, "{n} computes");
    assert_eq!(s.lease_wins, n, "one compute per lease won: {s:?}");
    // The winner's value reached the callers of this process even though
    // its lease copy died; a lease it cannot check stores nothing, so the
    // replica has it only when a second lease was won there.
    let on_replica = servers[1 - p].raw_get(key.as_bytes()).map(|(_, v)| v);
    assert_eq!(on_replica.is_some(), n == 2, "{on_replica:?}");
    eprintln!("primary killed mid-herd: {n} computes, {} leases won", s.lease_wins);
}

/// Zipf(1.0) ranks (0 = hottest) over `n` keys.
fn zipf(n: usize, samples: usize) -> Vec<usize> {
    let total: f64 = (1..=n).map(|r| 1.0 / r as f64).sum();
    let mut cdf = Vec::with_capacity(n);
    let mut acc = 0.0;
    for r in 1..=n {
        acc += 1.0 / r as f64 / total;
        cdf.push(acc);
    }
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..samples)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            cdf.partition_point(|&c| c < u).min(n - 1)
        })
        .collect()
}

#[test]
fn hot_keys_are_the_ten_hottest_of_ten_thousand_zipf_keys_per_server() {
    let servers: Vec<Memcached> = (0..3).map(|_| Memcached::start()).collect();
    let refs: Vec<&Memcached> = servers.iter().collect();
    let c = client(&refs, "hot_keys=256");
    let keys: Vec<String> = (0..10_000).map(|i| format!("item:{i}")).collect();
    let mut truth = vec![0u64; keys.len()];
    let ranks = zipf(keys.len(), 60_000);
    for chunk in ranks.chunks(100) {
        let batch: Vec<&str> = chunk.iter().map(|&r| keys[r].as_str()).collect();
        c.get_multi(&batch).unwrap();
        for &r in chunk {
            truth[r] += 1;
        }
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|a, b| truth[*b].cmp(&truth[*a]));
    let expected: std::collections::BTreeSet<&[u8]> =
        order[..10].iter().map(|&r| keys[r].as_bytes()).collect();
    let groups = c.hot_keys();
    assert_eq!(groups.len(), 3);
    let mut all: Vec<&mcring::HotKey> = Vec::new();
    for g in &groups {
        for k in &g.keys {
            let key = std::str::from_utf8(&k.key).unwrap();
            assert_eq!(c.server_for(key).unwrap().name(), g.server, "{key} grouped by its server");
        }
        all.extend(&g.keys);
    }
    all.sort_by_key(|k| std::cmp::Reverse(k.reads));
    let found: std::collections::BTreeSet<&[u8]> = all[..10].iter().map(|k| &k.key[..]).collect();
    assert_eq!(found, expected);
    let stats = c.stats();
    assert_eq!(stats.hot_keys, groups);
    let text = stats.prometheus();
    assert!(text.contains("mcring_client_hot_key_reads{server="), "{text}");
    assert!(client(&refs, "").hot_keys().iter().all(|g| g.keys.is_empty()), "off by default");
}

#[test]
fn the_near_cache_serves_hot_keys_for_near_cache_ms_and_sees_its_own_writes() {
    let m = Memcached::start();
    let near = client(&[&m], "near_cache_ms=300 hot_key_rate=20");
    let other = client(&[&m], "");
    other.set("hot", b"v1", 0, 60).unwrap();
    for _ in 0..50 {
        assert_eq!(near.get("hot").unwrap().unwrap().value, b"v1");
    }
    let before = near.stats().total;
    assert!(before.near_cache_hits > 0, "{before:?}");
    other.set("hot", b"v2", 0, 60).unwrap();
    let changed = Instant::now();
    // Another client's write shows within near_cache_ms.
    loop {
        let v = near.get("hot").unwrap().unwrap().value;
        if v == b"v2" {
            break;
        }
        assert_eq!(v, b"v1");
        assert!(changed.elapsed() < Duration::from_millis(300 + 200), "stale past near_cache_ms");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Its own writes at once.
    near.set("hot", b"v3", 0, 60).unwrap();
    assert_eq!(near.get("hot").unwrap().unwrap().value, b"v3");
    near.delete("hot").unwrap();
    assert_eq!(near.get("hot").unwrap(), None);
    // gets (with CAS) always asks memcached.
    near.set("hot", b"v4", 0, 60).unwrap();
    let hits = near.stats().total.near_cache_hits;
    assert!(near.gets("hot").unwrap().unwrap().cas.is_some());
    assert_eq!(near.stats().total.near_cache_hits, hits);
}

#[test]
fn hot_random_spreads_hot_keys_over_their_copies_and_leaves_cold_ones_on_the_primary() {
    let a = Memcached::start();
    let b = Memcached::start();
    let c = client(&[&a, &b], "replicas=1 read_policy=hot_random hot_key_rate=100");
    c.set("hot", b"h", 0, 60).unwrap();
    c.set("cold", b"c", 0, 60).unwrap();
    let gets = |c: &Client| -> Vec<u64> { c.stats().servers.iter().map(|(_, s)| s.gets).collect() };
    let g0 = gets(&c);
    for _ in 0..20 {
        c.get("cold").unwrap();
    }
    let g1 = gets(&c);
    let cold_primary =
        c.servers().iter().position(|s| s.name() == c.server_for("cold").unwrap().name()).unwrap();
    assert_eq!(g1[cold_primary] - g0[cold_primary], 20, "cold reads stay on the primary");
    for _ in 0..2000 {
        c.get("hot").unwrap();
    }
    let g2 = gets(&c);
    let spread: Vec<u64> = g2.iter().zip(&g1).map(|(x, y)| x - y).collect();
    assert!(spread.iter().all(|&n| n > 300), "hot reads on both copies: {spread:?}");
}

#[test]
fn plain_reads_see_a_missing_key_not_the_lease_placeholder() {
    // While a lease's winner computes, memcached holds an empty flag-0
    // placeholder for the key, which a text `get` returns like a value.
    // Plain reads of every kind must see a miss there, and real empty
    // values must still read as empty values.
    let servers = [Memcached::start(), Memcached::start()];
    let refs: Vec<&Memcached> = servers.iter().collect();
    let c = client(&refs, "");
    let reader = client(&refs, "");
    let Leased::Compute(token) = c.get_or_lease("computing", &opts(&c)).unwrap() else {
        panic!("a missing key's first lease read wins")
    };
    let home = servers.iter().find(|m| m.raw_get(b"computing").is_some()).unwrap();
    assert_eq!(
        home.raw_get(b"computing"),
        Some((0, Vec::new())),
        "memcached serves the placeholder"
    );
    c.set("empty", b"", 0, 60).unwrap();
    assert_eq!(reader.get("computing").unwrap(), None, "get");
    assert_eq!(reader.gets("computing").unwrap(), None, "gets");
    let many = reader.get_multi(&["computing", "empty", "absent"]).unwrap();
    let many: Vec<Option<Vec<u8>>> =
        many.into_iter().map(|r| r.unwrap().map(|i| i.value)).collect();
    assert_eq!(many, vec![None, Some(Vec::new()), None], "get_multi");
    assert_eq!(
        reader.get("empty").unwrap().map(|i| i.value),
        Some(Vec::new()),
        "a real empty value"
    );
    let with_cas = reader.gets("empty").unwrap().unwrap();
    assert!(with_cas.cas.is_some_and(|c| c > 0), "an empty value keeps its CAS token");
    assert_eq!(c.lease_fill(token, b"done", 0, 60).unwrap(), Status::Done);
    assert_eq!(reader.get("computing").unwrap().map(|i| i.value), Some(b"done".to_vec()));
}
