//! Replication and failover against real memcached processes: SIGKILL,
//! SIGSTOP, restarts on the same port, and a fault-injecting proxy.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcring::{Client, Config, Error, Ring, SetItem, Status};
use mcring_tests::{Fault, FaultProxy, Memcached};

fn cluster(n: usize) -> Vec<Memcached> {
    (0..n).map(|_| Memcached::start()).collect()
}

fn client(servers: &[&str], options: &str) -> Client {
    Client::from_config_str(&format!("{} {options}", servers.join(" "))).unwrap()
}

fn specs(servers: &[Memcached]) -> Vec<String> {
    servers.iter().map(|m| m.spec()).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn value_for(key: &str, version: u32) -> Vec<u8> {
    format!("{key}=v{version}").into_bytes()
}

/// The remaining TTL of `key` on `m`, asked directly with meta `mg`.
fn raw_ttl(m: &Memcached, key: &str) -> Option<i64> {
    let reply = m.raw(format!("mg {key} t\r\n").as_bytes(), b"\r\n");
    let line = String::from_utf8_lossy(&reply);
    let t = line.split_whitespace().find(|t| t.starts_with('t'))?;
    t[1..].parse().ok()
}

/// Waits until `f` is true, up to `limit`.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

const FAST: &str = "connect_timeout_ms=300 io_timeout_ms=500 failure_limit=2";

#[test]
fn replicas_lose_no_key_when_a_server_is_killed() {
    let mut servers = cluster(3);
    let names = specs(&servers);
    let c =
        client(&refs(&names), &format!("{FAST} replicas=1 read_repair=true retry_timeout_ms=300"));
    let keys: Vec<String> = (0..10_000).map(|i| format!("user:{i}")).collect();
    let values: Vec<Vec<u8>> = keys.iter().map(|k| value_for(k, 1)).collect();
    let items: Vec<SetItem> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| SetItem { key: k.as_bytes(), value: v, flags: 0 })
        .collect();
    for chunk in items.chunks(1000) {
        assert!(c.set_multi(chunk, 0).unwrap().iter().all(|r| *r == Ok(Status::Done)));
    }
    let stored: u64 = servers.iter().map(|m| m.curr_items()).sum();
    assert_eq!(stored, 20_000, "every key has two copies");

    // Kill the server holding the most primaries.
    let victim = 1;
    servers[victim].kill();
    let mut missing = 0;
    for chunk in keys.chunks(1000) {
        for (k, r) in chunk.iter().zip(c.get_multi(chunk).unwrap()) {
            match r.unwrap() {
                Some(item) => assert_eq!(item.value, value_for(k, 1), "{k}"),
                None => missing += 1,
            }
        }
    }
    assert_eq!(missing, 0, "keys lost with one server killed");
    // Single-key reads too.
    for k in keys.iter().take(500) {
        assert_eq!(c.get(k).unwrap().unwrap().value, value_for(k, 1));
    }

    // Writes during the outage succeed, singly and in bulk.
    for k in keys.iter().take(300) {
        assert_eq!(c.set(k, &value_for(k, 2), 0, 0).unwrap(), Status::Done, "{k}");
    }
    let v3: Vec<Vec<u8>> = keys[300..1000].iter().map(|k| value_for(k, 3)).collect();
    let items: Vec<SetItem> = keys[300..1000]
        .iter()
        .zip(&v3)
        .map(|(k, v)| SetItem { key: k.as_bytes(), value: v, flags: 0 })
        .collect();
    assert!(c.set_multi(&items, 0).unwrap().iter().all(|r| *r == Ok(Status::Done)));
    assert!(c.stats().total.replica_write_failures > 0, "missed copies are counted");

    // Restart it (empty) on the same port: read repair repopulates it.
    // Repair is best effort (a read that times out repairs nothing), so a
    // loaded machine may need a second pass.
    servers[victim].restart();
    std::thread::sleep(Duration::from_millis(400));
    let victim_name = servers[victim].spec();
    let primaries: Vec<&String> =
        keys.iter().filter(|k| c.server_for(k).unwrap().name() == victim_name).collect();
    assert!(!primaries.is_empty());
    let mut repaired = 0;
    for _pass in 0..3 {
        for chunk in keys.chunks(1000) {
            for (k, r) in chunk.iter().zip(c.get_multi(chunk).unwrap()) {
                let item = r.unwrap().unwrap_or_else(|| panic!("{k} missing after restart"));
                let n: usize = k["user:".len()..].parse().unwrap();
                let want = if n < 300 {
                    2
                } else if n < 1000 {
                    3
                } else {
                    1
                };
                assert_eq!(item.value, value_for(k, want), "{k}");
            }
        }
        repaired =
            primaries.iter().filter(|k| servers[victim].raw_get(k.as_bytes()).is_some()).count();
        if repaired == primaries.len() {
            break;
        }
    }
    assert_eq!(
        repaired,
        primaries.len(),
        "read repair rewrote every primary copy ({:?})",
        c.stats().total
    );
    assert!(c.stats().total.read_repairs as usize >= primaries.len());
}

#[test]
fn stopped_server_costs_bounded_time_then_nothing() {
    let servers = cluster(3);
    let names = specs(&servers);
    let c = client(
        &refs(&names),
        "connect_timeout_ms=200 io_timeout_ms=300 failure_limit=2 retry_timeout_ms=60000",
    );
    let keys: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
    for k in &keys {
        c.set(k, k.as_bytes(), 0, 0).unwrap();
    }
    let stopped = 0;
    let stopped_name = servers[stopped].spec();
    servers[stopped].pause();
    let bound = Duration::from_millis(200 + 300);
    let mut slow = 0;
    let mut worst = Duration::ZERO;
    for k in &keys {
        let t = Instant::now();
        let r = c.get(k);
        let took = t.elapsed();
        worst = worst.max(took);
        // Generous slack for a loaded CI machine: proves no hang.
        assert!(took < bound + Duration::from_millis(700), "{k} took {took:?}");
        if took > Duration::from_millis(150) {
            slow += 1;
        }
        let home = c.server_for(k).unwrap().name();
        if home == stopped_name {
            // Its keys fail over (a miss on the next server) or time out.
            assert!(matches!(r, Ok(None) | Err(Error::Timeout { .. })), "{k}: {r:?}");
        } else {
            assert_eq!(r.unwrap().unwrap().value, k.as_bytes());
        }
    }
    assert!(slow <= 2, "only failure_limit requests pay the timeout, {slow} did");
    eprintln!("worst single-request latency with a stopped server: {worst:?}");
    // A fan-out never waits on the dead server.
    let t = Instant::now();
    let got = c.get_multi(&keys).unwrap();
    assert!(t.elapsed() < Duration::from_millis(150), "fan-out took {:?}", t.elapsed());
    let hits = got.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert!(hits >= keys.len() / 2);
    servers[stopped].resume();
}

#[test]
fn stopped_server_during_fan_out_costs_one_timeout() {
    let servers = cluster(3);
    let names = specs(&servers);
    let c = client(
        &refs(&names),
        "connect_timeout_ms=200 io_timeout_ms=300 failure_limit=1 retry_timeout_ms=60000",
    );
    let keys: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
    for k in &keys {
        c.set(k, k.as_bytes(), 0, 0).unwrap();
    }
    servers[2].pause();
    let t = Instant::now();
    let got = c.get_multi(&keys).unwrap();
    let took = t.elapsed();
    assert!(took < Duration::from_millis(300 + 700), "first fan-out took {took:?}");
    let timeouts = got.iter().filter(|r| r.is_err()).count();
    let expected =
        keys.iter().filter(|k| c.server_for(k).unwrap().name() == servers[2].spec()).count();
    // The stopped server's keys fall over to the next server within the same
    // call (misses), or report the timeout.
    assert!(got.iter().filter(|r| matches!(r, Ok(Some(_)))).count() >= keys.len() - expected);
    assert!(timeouts <= expected);
    let t = Instant::now();
    c.get_multi(&keys).unwrap();
    assert!(t.elapsed() < Duration::from_millis(150), "a dead server costs nothing");
    servers[2].resume();
}

#[test]
fn failover_next_moves_only_the_dead_servers_keys_with_short_ttl() {
    let mut servers = cluster(3);
    let names = specs(&servers);
    let c =
        client(&refs(&names), &format!("{FAST} failover=next gutter_ttl=5 retry_timeout_ms=60000"));
    let keys: Vec<String> = (0..600).map(|i| format!("k{i}")).collect();
    let dead_name = servers[0].spec();
    servers[0].kill();
    for k in &keys {
        // Refused connections mark the server dead after failure_limit;
        // every write still lands somewhere, and says where.
        let status = c.set(k, k.as_bytes(), 0, 3600).unwrap();
        let home = c.server_for(k).unwrap().name();
        let want = if home == dead_name { Status::StoredElsewhere } else { Status::Done };
        assert_eq!(status, want, "{k}");
    }
    let ring = Ring::new(&c.config().servers, c.config().distribution, c.config().key_hash());
    for k in &keys {
        let home = c.server_for(k).unwrap().name();
        let holder = if home == dead_name {
            // The next live server on the ring, with a TTL of at most 5 s.
            let next = ring.successors(k.as_bytes()).nth(1).unwrap();
            let m = servers.iter().find(|m| m.spec() == names[next]).unwrap();
            let ttl = raw_ttl(m, k).unwrap_or_else(|| panic!("{k} not on {}", names[next]));
            assert!((1..=5).contains(&ttl), "{k}: rerouted write kept ttl {ttl}");
            m
        } else {
            let m = servers.iter().find(|m| m.spec() == home).unwrap();
            assert!(raw_ttl(m, k).unwrap() > 3000, "{k}: a live server's key keeps its TTL");
            m
        };
        assert!(holder.raw_get(k.as_bytes()).is_some());
        assert_eq!(c.get(k).unwrap().unwrap().value, k.as_bytes());
    }
}

#[test]
fn failover_eject_places_keys_as_the_ring_without_the_dead_server() {
    let mut servers = cluster(4);
    let names = specs(&servers);
    // Unequal weights: ejection changes the live servers' point counts too.
    let weighted: Vec<String> =
        names.iter().enumerate().map(|(i, n)| format!("{n}:{}", i + 1)).collect();
    let c = client(&refs(&weighted), &format!("{FAST} failover=eject retry_timeout_ms=60000"));
    servers[1].kill();
    // Mark it dead: its keys fail until failure_limit is reached.
    let mut attempts = 0;
    while c.alive()[1].1 && attempts < 100 {
        let _ = c.get(format!("probe{attempts}"));
        attempts += 1;
    }
    assert!(!c.alive()[1].1, "server marked dead");
    let live: Vec<String> =
        weighted.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, n)| n.clone()).collect();
    let without = Config::parse(&live.join(" ")).unwrap();
    let ring = Ring::new(&without.servers, without.distribution, without.key_hash());
    for i in 0..500 {
        let k = format!("key:{i}");
        let owner = without.servers[ring.server_for(k.as_bytes()).unwrap()].name();
        let home = c.server_for(&k).unwrap().name();
        let want = if home == owner { Status::Done } else { Status::StoredElsewhere };
        assert_eq!(c.set(&k, b"v", 0, 0).unwrap(), want, "{k}");
        let m = servers.iter().find(|m| m.spec() == owner).unwrap();
        assert!(m.raw_get(k.as_bytes()).is_some(), "{k} should be on {owner}");
    }
}

#[test]
fn failover_gutter_serves_from_the_gutter_pool_with_short_ttl() {
    let mut servers = cluster(2);
    let gutter = Memcached::start();
    let names = specs(&servers);
    let c = client(
        &refs(&names),
        &format!(
            "{FAST} failover=gutter gutter={} gutter_ttl=7 retry_timeout_ms=60000",
            gutter.spec()
        ),
    );
    servers[0].kill();
    let dead = servers[0].spec();
    for i in 0..200 {
        let k = format!("g{i}");
        let status = c.set(&k, k.as_bytes(), 0, 0).unwrap();
        let at_home = c.server_for(&k).unwrap().name() != dead;
        assert_eq!(status, if at_home { Status::Done } else { Status::StoredElsewhere }, "{k}");
        if !at_home {
            let ttl = raw_ttl(&gutter, &k).unwrap_or_else(|| panic!("{k} not in the gutter"));
            assert!((1..=7).contains(&ttl), "{k}: gutter ttl {ttl}");
        } else {
            assert!(gutter.raw_get(k.as_bytes()).is_none(), "{k}: live keys stay home");
        }
        assert_eq!(c.get(&k).unwrap().unwrap().value, k.as_bytes());
    }
    assert!(c.stats().total.failovers > 0);
}

#[test]
fn failover_none_misses_reads_and_fails_writes() {
    let mut servers = cluster(2);
    let names = specs(&servers);
    let c = client(&refs(&names), &format!("{FAST} failover=none retry_timeout_ms=60000"));
    servers[0].kill();
    let dead = servers[0].spec();
    let key =
        (0..).map(|i| format!("n{i}")).find(|k| c.server_for(k).unwrap().name() == dead).unwrap();
    let live =
        (0..).map(|i| format!("n{i}")).find(|k| c.server_for(k).unwrap().name() != dead).unwrap();
    // Until marked dead the failure is reported as it happens.
    assert!(matches!(c.set(&key, b"v", 0, 0), Err(Error::Connection { .. })));
    assert!(matches!(c.set(&key, b"v", 0, 0), Err(Error::Connection { .. })));
    assert!(matches!(c.set(&key, b"v", 0, 0), Err(Error::ServerDown { .. })), "dead: not tried");
    assert_eq!(c.get(&key).unwrap(), None, "reads of a dead server's keys miss");
    assert_eq!(c.set(&live, b"v", 0, 0).unwrap(), Status::Done);
    assert_eq!(c.get(&live).unwrap().unwrap().value, b"v");
}

/// Finds a key whose home is server `home` (by name).
fn key_on(c: &Client, home: &str, tag: &str) -> String {
    (0..).map(|i| format!("{tag}{i}")).find(|k| c.server_for(k).unwrap().name() == home).unwrap()
}

#[test]
fn no_stale_read_after_recovery_without_replicas() {
    let servers = cluster(3);
    let names = specs(&servers);
    let c = client(
        &refs(&names),
        "connect_timeout_ms=200 io_timeout_ms=300 failure_limit=2 retry_timeout_ms=500 failover=next",
    );
    let home = servers[1].spec();
    let key = key_on(&c, &home, "stale");
    c.set(&key, b"v1", 0, 0).unwrap();
    servers[1].pause();
    // The first writes time out on the stopped server (and may still be
    // applied by it later); once it is dead they go to the next server.
    for v in [&b"v2"[..], b"v3", b"v4"] {
        let _ = c.set(&key, v, 0, 0);
    }
    assert!(!c.alive()[1].1);
    assert_eq!(c.get(&key).unwrap().unwrap().value, b"v4");
    servers[1].resume();
    std::thread::sleep(Duration::from_millis(600));
    for _ in 0..20 {
        match c.get(&key).unwrap() {
            None => {}
            Some(item) => assert_eq!(item.value, b"v4", "stale value served after recovery"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(c.alive()[1].1, "server recovered");
    assert_eq!(servers[1].raw_get(key.as_bytes()), None, "home copy was invalidated");
}

/// A write during an outage lands on the failover target; after the home
/// server is back and takes newer writes, that rerouted copy is older than
/// the key. In a second outage the failover target must not serve it.
#[test]
fn no_stale_read_from_an_earlier_outages_rerouted_copy() {
    let mut servers = cluster(3);
    let names = specs(&servers);
    let c = client(
        &refs(&names),
        "connect_timeout_ms=200 io_timeout_ms=300 failure_limit=1 retry_timeout_ms=300 failover=next",
    );
    let home = servers[1].spec();
    let key = key_on(&c, &home, "reroute");
    let multi_key = key_on(&c, &home, "reroute-multi");
    let keys = [key.clone(), multi_key.clone()];
    servers[1].kill();
    for k in &keys {
        // The first write may only find the server dead.
        let _ = c.set(k, b"v1", 0, 0);
        assert_eq!(c.set(k, b"v1", 0, 0).unwrap(), Status::StoredElsewhere);
        assert_eq!(c.get(k).unwrap().unwrap().value, b"v1", "read where it was written");
    }
    servers[1].restart();
    // Past the retry timeout: the next write probes the home server and
    // lands there (not on the failover target, which keeps v1).
    std::thread::sleep(Duration::from_millis(500));
    for k in &keys {
        assert_eq!(c.set(k, b"v2", 0, 0).unwrap(), Status::Done, "the home server is back");
    }
    servers[1].kill();
    // (Not found out through the two keys: their home copy is skipped
    // while their second delete is due there.)
    let other = key_on(&c, &home, "other");
    assert!(
        eventually(Duration::from_secs(5), || {
            let _ = c.get(&other);
            !c.alive()[1].1
        }),
        "the home server is down again"
    );
    for k in &keys {
        let got = c.get(k).unwrap().map(|i| i.value);
        assert_ne!(got.as_deref(), Some(&b"v1"[..]), "{k}: the earlier outage's copy was served");
    }
    let got = c.get_multi(&keys).unwrap();
    for (k, r) in keys.iter().zip(got) {
        let got = r.unwrap().map(|i| i.value);
        assert_ne!(got.as_deref(), Some(&b"v1"[..]), "{k}: served by get_multi");
    }
}

#[test]
fn no_stale_read_after_recovery_with_replicas() {
    let servers = cluster(3);
    let names = specs(&servers);
    let c = client(
        &refs(&names),
        "connect_timeout_ms=200 io_timeout_ms=300 failure_limit=2 retry_timeout_ms=500 replicas=1",
    );
    let home = servers[0].spec();
    let keys: Vec<String> = (0..50).map(|i| key_on(&c, &home, &format!("r{i}x"))).collect();
    for k in &keys {
        c.set(k, b"old", 0, 0).unwrap();
    }
    servers[0].pause();
    for k in &keys {
        assert_eq!(c.set(k, b"new", 0, 0).unwrap(), Status::Done, "the replica takes the write");
    }
    servers[0].resume();
    std::thread::sleep(Duration::from_millis(600));
    for k in &keys {
        let got = c.get(k).unwrap();
        assert_eq!(got.map(|i| i.value), Some(b"new".to_vec()), "{k}: stale or lost");
    }
    let got = c.get_multi(&keys).unwrap();
    assert!(got.iter().all(|r| r.as_ref().unwrap().as_ref().unwrap().value == b"new"));
}

#[test]
fn read_policy_random_spreads_reads_over_copies() {
    let servers = cluster(3);
    let names = specs(&servers);
    let c = client(&refs(&names), "replicas=2 read_policy=random");
    c.set("hot", b"v", 0, 0).unwrap();
    for _ in 0..300 {
        assert_eq!(c.get("hot").unwrap().unwrap().value, b"v");
    }
    let stats = c.stats();
    for (name, snap) in &stats.servers {
        assert!(snap.hits > 30, "{name} served {} of 300 reads", snap.hits);
    }
}

#[test]
fn libmemcached_replica_placement_uses_the_next_indices() {
    let servers = cluster(4);
    let names = specs(&servers);
    let c = client(&refs(&names), "replicas=1 replica_placement=libmemcached");
    for i in 0..200 {
        let k = format!("lm{i}");
        c.set(&k, b"v", 0, 0).unwrap();
        let p = names.iter().position(|n| *n == c.server_for(&k).unwrap().name()).unwrap();
        for (j, m) in servers.iter().enumerate() {
            let expected = j == p || j == (p + 1) % 4;
            assert_eq!(m.raw_get(k.as_bytes()).is_some(), expected, "{k} on server {j}");
        }
        let copies: Vec<String> = c.copies_for(&k).unwrap().iter().map(|s| s.name()).collect();
        assert_eq!(copies, vec![names[p].clone(), names[(p + 1) % 4].clone()]);
    }
}

#[test]
fn conditional_writes_are_decided_by_the_primary() {
    let servers = cluster(3);
    let names = specs(&servers);
    let c = client(&refs(&names), "replicas=1");
    assert_eq!(c.add("a", b"1", 0, 0).unwrap(), Status::Done);
    assert_eq!(c.add("a", b"2", 0, 0).unwrap(), Status::NotStored);
    let copies = c.copies_for("a").unwrap();
    for copy in &copies {
        let m = servers.iter().find(|m| m.spec() == copy.name()).unwrap();
        assert_eq!(m.raw_get(b"a").unwrap().1, b"1");
    }
    let cas = c.gets("a").unwrap().unwrap().cas.unwrap();
    assert_eq!(c.cas("a", b"3", 0, 0, cas).unwrap(), Status::Done);
    for copy in &copies {
        let m = servers.iter().find(|m| m.spec() == copy.name()).unwrap();
        assert_eq!(m.raw_get(b"a").unwrap().1, b"3", "cas result copied to the replica");
    }
    c.set("n", b"5", 0, 0).unwrap();
    assert_eq!(c.incr("n", 2).unwrap(), Some(7));
    for copy in c.copies_for("n").unwrap() {
        let m = servers.iter().find(|m| m.spec() == copy.name()).unwrap();
        assert_eq!(m.raw_get(b"n").unwrap().1, b"7");
    }
    assert_eq!(c.delete("n").unwrap(), Status::Done);
    for m in &servers {
        assert!(m.raw_get(b"n").is_none());
    }
}

#[test]
fn flapping_server_under_load() {
    let servers = cluster(3);
    let proxy = FaultProxy::start(servers[0].addr());
    let names = vec![proxy.spec(), servers[1].spec(), servers[2].spec()];
    let c = Arc::new(client(
        &refs(&names),
        "connect_timeout_ms=200 io_timeout_ms=300 failure_limit=2 retry_timeout_ms=200 replicas=1",
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (c, stop, ops) = (c.clone(), stop.clone(), ops.clone());
            std::thread::spawn(move || {
                let mut worst = Duration::ZERO;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("f{}", i % 200);
                    let t0 = Instant::now();
                    if i.is_multiple_of(3) {
                        let _ = c.set(&key, format!("{key}:t{t}:{i}").as_bytes(), 0, 0);
                    } else if let Ok(Some(item)) = c.get(&key) {
                        // Whatever is read must be a value written for this key.
                        let v = String::from_utf8(item.value).unwrap();
                        assert!(v.starts_with(&format!("{key}:")), "{key} read {v}");
                    }
                    if i.is_multiple_of(50) {
                        let keys: Vec<String> = (0..20).map(|j| format!("f{j}")).collect();
                        if let Ok(results) = c.get_multi(&keys) {
                            for (k, r) in keys.iter().zip(results) {
                                if let Ok(Some(item)) = r {
                                    assert!(item.value.starts_with(format!("{k}:").as_bytes()));
                                }
                            }
                        }
                    }
                    worst = worst.max(t0.elapsed());
                    i += 1;
                    ops.fetch_add(1, Ordering::Relaxed);
                }
                worst
            })
        })
        .collect();
    let faults =
        [Fault::Refuse, Fault::None, Fault::Reset, Fault::None, Fault::Blackhole, Fault::None];
    let end = Instant::now() + Duration::from_secs(4);
    let mut n = 0;
    while Instant::now() < end {
        proxy.set(faults[n % faults.len()].clone());
        n += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    proxy.set(Fault::None);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let worst = w.join().expect("worker panicked");
        // A blackholed request may pay a connect and an io timeout, plus a
        // failover attempt: well under 2 s proves nothing hangs.
        assert!(worst < Duration::from_secs(2), "a request took {worst:?}");
    }
    assert!(ops.load(Ordering::Relaxed) > 500, "only {} operations", ops.load(Ordering::Relaxed));
    // Once the flapping stops, everything works again.
    assert!(eventually(Duration::from_secs(3), || c.set("after", b"x", 0, 0).is_ok()));
    assert_eq!(c.get("after").unwrap().unwrap().value, b"x");
}

#[test]
fn misbehaving_servers_get_clear_errors_and_the_next_request_works() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    let c = client(&[&proxy.spec()], "connect_timeout_ms=300 io_timeout_ms=400 failure_limit=100");
    c.set("k", b"value", 0, 0).unwrap();
    // A value over max_value_bytes (1 MiB) is skipped unread: that key
    // fails as too large, the stream stays in step.
    let mut oversized = b"VALUE k 0 2000000\r\n".to_vec();
    oversized.extend(std::iter::repeat_n(b'x', 2_000_000));
    oversized.extend_from_slice(b"\r\nEND\r\n");
    let cases: Vec<(Fault, &str)> = vec![
        (Fault::Garbage(b"HELLO\r\n".to_vec()), "protocol"),
        (Fault::Garbage(oversized), "too large"),
        // No memcached stores a value this long: garbage.
        (Fault::Garbage(b"VALUE k 0 99999999999\r\n".to_vec()), "protocol"),
        (Fault::Garbage(b"VALUE k 0 5\r\nabcdeXX".to_vec()), "protocol"),
        (Fault::CutReplyAfter(12), "connection"),
        (Fault::GarbageThenClose(b"VALUE k 0 100\r\nabc".to_vec()), "connection"),
        (Fault::Reset, "connection"),
        (Fault::Blackhole, "timeout"),
        (Fault::Refuse, "connection"),
    ];
    for (fault, kind) in cases {
        proxy.set(fault.clone());
        let t = Instant::now();
        let r = c.get("k");
        assert!(t.elapsed() < Duration::from_millis(300 + 400 + 500), "{fault:?} hung");
        let ok = matches!(
            (&r, kind),
            (Err(Error::Protocol { .. }), "protocol")
                | (Err(Error::TooLarge { .. }), "too large")
                | (Err(Error::Connection { .. }), "connection")
                | (Err(Error::Timeout { .. }), "timeout")
        );
        assert!(ok, "{fault:?}: expected a {kind} error, got {r:?}");
        proxy.set(Fault::None);
        assert_eq!(c.get("k").unwrap().unwrap().value, b"value", "after {fault:?}");
    }
}

#[test]
fn cli_get_returns_every_key_after_any_one_server_is_killed() {
    let mut servers = cluster(3);
    let config = format!("{} replicas=1 {FAST} retry_timeout_ms=60000", specs(&servers).join(" "));
    let bin = mcring_tests::mcring_binary();
    let input: String = (0..300).map(|i| format!("key{i} value{i}\n")).collect();
    let keys: String = (0..300).map(|i| format!("key{i}\n")).collect();
    for (victim, server) in servers.iter_mut().enumerate() {
        let run = |args: &[&str], stdin: &str| {
            use std::io::Write;
            let mut child = std::process::Command::new(&bin)
                .args(["--servers", &config])
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        };
        let load = run(&["load"], &input);
        assert!(load.status.success(), "{}", String::from_utf8_lossy(&load.stderr));
        server.kill();
        let out = run(&["get"], &keys);
        assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        let expected: String = (0..300).map(|i| format!("key{i} value{i}\n")).collect();
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "server {victim} killed");
        let health = run(&["health"], "");
        assert_eq!(health.status.code(), Some(1));
        let text = String::from_utf8_lossy(&health.stdout);
        assert_eq!(text.lines().filter(|l| l.contains(" down ")).count(), 1, "{text}");
        assert_eq!(text.lines().filter(|l| l.contains(" up ")).count(), 2, "{text}");
        server.restart();
    }
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_usr1(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

#[test]
fn interrupt_check_stops_a_blocked_request() {
    let m = Memcached::start();
    let proxy = FaultProxy::start(m.addr());
    let c = client(&[&proxy.spec()], "io_timeout_ms=5000 failure_limit=100");
    c.set("k", b"v", 0, 0).unwrap();
    proxy.set(Fault::Blackhole);
    // A handler without SA_RESTART, as Python installs for SIGINT.
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut());
    }
    mcring::conn::set_interrupt_check(Some(|| SIGNALLED.load(Ordering::SeqCst)));
    // SAFETY: pthread_self of this thread, signalled from another thread.
    let me = unsafe { libc::pthread_self() } as usize;
    let signaller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: the test thread is alive and blocked in the get below.
        unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) };
    });
    let t = Instant::now();
    let r = c.get("k");
    let took = t.elapsed();
    signaller.join().unwrap();
    mcring::conn::set_interrupt_check(None);
    assert_eq!(r, Err(Error::Interrupted));
    assert!(took < Duration::from_millis(3000), "stopped after {took:?}, not the 5 s timeout");
    proxy.set(Fault::None);
    assert_eq!(c.get("k").unwrap().unwrap().value, b"v", "the client still works");
}

/// Plays the write that timed out on a stopped server and is applied by it
/// only after it resumed (memcached runs a dead connection's buffered
/// commands as soon as it runs again, possibly after the first delete sent
/// on a new connection): the value must not be served while the key
/// lingers, and the second delete removes it.
fn late_write(server: &Memcached, key: &str) {
    let cmd = format!("set {key} 0 0 4\r\nlate\r\n");
    assert_eq!(server.raw(cmd.as_bytes(), b"\r\n"), b"STORED\r\n");
}

#[test]
fn a_late_write_on_a_recovered_server_is_not_served_and_is_deleted_again() {
    for replicas in [1, 0] {
        let servers = cluster(3);
        let names = specs(&servers);
        let c = client(
            &refs(&names),
            &format!(
                "connect_timeout_ms=200 io_timeout_ms=300 failure_limit=2 retry_timeout_ms=300 \
                 replicas={replicas} failover=next"
            ),
        );
        let home = servers[0].spec();
        let keys: Vec<String> = (0..20).map(|i| key_on(&c, &home, &format!("late{i}x"))).collect();
        for k in &keys {
            c.set(k, b"old", 0, 0).unwrap();
        }
        servers[0].pause();
        for k in &keys {
            let _ = c.set(k, b"new", 0, 0);
        }
        servers[0].resume();
        std::thread::sleep(Duration::from_millis(500));
        // The first request to the recovered server deletes its old copies.
        let _ = c.get(&keys[0]);
        for k in &keys {
            let _ = c.get(k);
        }
        assert_eq!(servers[0].raw_get(keys[0].as_bytes()), None, "first delete sent");
        for k in &keys {
            late_write(&servers[0], k);
        }
        let newest = |v: &Option<Vec<u8>>| v.is_none() || v.as_deref() == Some(&b"new"[..]);
        for k in &keys {
            let got = c.get(k).unwrap().map(|i| i.value);
            assert!(newest(&got), "replicas={replicas} {k}: served {got:?}");
        }
        for r in c.get_multi(&keys).unwrap() {
            let got = r.unwrap().map(|i| i.value);
            assert!(newest(&got), "replicas={replicas} multi-get served {got:?}");
        }
        // After the linger (twice the I/O timeout, at least 1 s) the next
        // request to the server deletes the keys once more. (Reads of the
        // lingering keys themselves skip it, and only miss there.)
        std::thread::sleep(Duration::from_millis(1200));
        c.set(key_on(&c, &home, "other"), b"v", 0, 0).unwrap();
        for k in &keys {
            assert_eq!(servers[0].raw_get(k.as_bytes()), None, "replicas={replicas} {k}");
        }
        if replicas == 1 {
            for k in &keys {
                assert_eq!(c.get(k).unwrap().unwrap().value, b"new", "{k}");
            }
        }
    }
}
