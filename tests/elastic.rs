//! Elastic pools: servers added and removed at run time place keys as
//! libmemcached does for the new list (the oracle says so), keep the state
//! of servers that stay, close servers that leave; migration keeps the hit
//! rate through a resize, writes during the window leave no stale copy, and
//! a cold pool warms up from a warm one. Real memcached on loopback.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mcring::{Client, ServerSpec, SetItem, Status};
use mcring_tests::oracle;
use mcring_tests::Memcached;

fn keys(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("elastic:{i}:{}", i * 7919 % 1000).into_bytes()).collect()
}

/// The owner of each key per the client, as an index into its servers.
fn placement(client: &Client, keys: &[Vec<u8>]) -> Vec<usize> {
    keys.iter().map(|k| client.server_index_for(k).unwrap()).collect()
}

/// Asserts the client places every key where libmemcached places it for
/// the client's current list.
fn assert_oracle_placement(client: &Client, keys: &[Vec<u8>], what: &str) {
    let servers = client.servers();
    let want = oracle::owners(&servers, keys, "ketama-weighted");
    let got = placement(client, keys);
    let wrong = want.iter().zip(&got).filter(|(w, g)| w != g).count();
    assert_eq!(wrong, 0, "{what}: {wrong} of {} keys placed unlike libmemcached", keys.len());
}

#[test]
fn every_change_places_keys_as_libmemcached() {
    // Computed only: these servers are never dialed.
    let client = Client::from_config_str("cache-a:11211 cache-b:11211 127.1.0.3:11212").unwrap();
    let keys = keys(3000);
    assert_oracle_placement(&client, &keys, "initial list");

    let change = client.add_server("cache-d:11211:3").unwrap();
    assert_eq!(change.added, ["cache-d:11211"]);
    assert_oracle_placement(&client, &keys, "after add_server");

    let change = client.remove_server("cache-b:11211", false).unwrap();
    assert_eq!(change.removed, ["cache-b:11211"]);
    assert_oracle_placement(&client, &keys, "after remove_server");

    client
        .set_servers(&["127.1.0.3:11212", "cache-e:11300", "[fd00::5]:11211:2", "cache-a"], false)
        .unwrap();
    let names: Vec<String> = client.servers().iter().map(ServerSpec::name).collect();
    assert_eq!(names, ["127.1.0.3:11212", "cache-e:11300", "[fd00::5]:11211", "cache-a:11211"]);
    assert_oracle_placement(&client, &keys, "after set_servers");

    // The same list again changes nothing.
    let same =
        client.set_servers(&["127.1.0.3:11212 cache-e:11300 [fd00::5]:11211:2 cache-a"], false);
    assert!(same.unwrap().is_empty());

    // Bad input: a clear error, the list as it was.
    let before = client.servers();
    for (bad, says) in [("cache-x:0", "port"), ("replicas=2", "option"), ("dns+", "DNS name")] {
        let e = client.add_server(bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
    let e = client.remove_server("cache-zz:11211", false).unwrap_err().to_string();
    assert!(e.contains("no such server"), "{e}");
    assert_eq!(client.servers(), before);

    // Down to nothing and back.
    client.set_servers(&[], false).unwrap();
    assert!(matches!(client.get("k"), Err(mcring::Error::NoServers)));
    client.add_server("cache-a:11211").unwrap();
    assert_oracle_placement(&client, &keys, "one server again");
}

#[test]
fn servers_that_stay_keep_their_state_and_leavers_are_closed() {
    let servers: Vec<Memcached> = (0..3).map(|_| Memcached::start()).collect();
    let config = format!("{} {} io_timeout_ms=2000", servers[0].spec(), servers[1].spec());
    let client = Client::from_config_str(&config).unwrap();
    let keys = keys(200);
    for k in &keys {
        client.set(k, b"v", 0, 0).unwrap();
    }
    let before = client.stats();
    let connects_before = before.total.connects;
    assert!(connects_before >= 2);

    client.add_server(&servers[2].spec()).unwrap();
    let after = client.stats();
    for (name, snap) in &before.servers {
        let kept = after.servers.iter().find(|(n, _)| n == name).expect("server stayed");
        assert_eq!(kept.1.sets, snap.sets, "{name} keeps its counters");
    }
    // Servers that stayed reuse their pooled connections.
    for k in &keys {
        if client.server_for(k).unwrap().name() != servers[2].spec() {
            assert!(client.get(k).unwrap().is_some());
        }
    }
    let connects: u64 = client
        .stats()
        .servers
        .iter()
        .filter(|(n, _)| *n != servers[2].spec())
        .map(|(_, s)| s.connects)
        .sum();
    assert_eq!(connects, connects_before, "no new connection to a server that stayed");

    // A removed server's connections are closed.
    let leaver = &servers[0];
    let open = |m: &Memcached| m.stat("curr_connections").unwrap().parse::<i64>().unwrap();
    let with_client = open(leaver);
    client.remove_server(&leaver.spec(), false).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while open(leaver) >= with_client && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(open(leaver) < with_client, "the removed server's connections were closed");
    assert!(client.stats().servers.iter().all(|(n, _)| *n != leaver.spec()));
    for k in &keys {
        assert_ne!(client.server_for(k).unwrap().name(), leaver.spec());
        client.get(k).unwrap();
    }
}

/// Sets `keys` (value = key) through `client`.
fn fill(client: &Client, keys: &[Vec<u8>], ttl: u32) {
    for chunk in keys.chunks(500) {
        let items: Vec<SetItem<'_>> =
            chunk.iter().map(|k| SetItem { key: k, value: k, flags: 0 }).collect();
        for r in client.set_multi(&items, ttl).unwrap() {
            assert_eq!(r.unwrap(), Status::Done);
        }
    }
}

/// The share of `keys` that read back with their value, one `get` each for
/// the first half and `get_multi` for the rest.
fn hit_rate(client: &Client, keys: &[Vec<u8>]) -> f64 {
    let (single, multi) = keys.split_at(keys.len() / 2);
    let mut hits = 0usize;
    for k in single {
        if let Some(item) = client.get(k).unwrap() {
            assert_eq!(item.value, *k);
            hits += 1;
        }
    }
    for chunk in multi.chunks(250) {
        for (k, r) in chunk.iter().zip(client.get_multi(chunk).unwrap()) {
            if let Some(item) = r.unwrap() {
                assert_eq!(item.value, *k);
                hits += 1;
            }
        }
    }
    hits as f64 / keys.len() as f64
}

fn config_of(servers: &[&Memcached], options: &str) -> String {
    let names: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    format!("{} io_timeout_ms=3000 {options}", names.join(" "))
}

#[test]
fn adding_a_server_keeps_the_hit_rate_with_migration() {
    let keys = keys(20_000);
    let mut rates = Vec::new();
    for migration in [true, false] {
        let servers: Vec<Memcached> = (0..4).map(|_| Memcached::start()).collect();
        let first: Vec<&Memcached> = servers[..3].iter().collect();
        let client =
            Client::from_config_str(&config_of(&first, &format!("migration={migration}"))).unwrap();
        fill(&client, &keys, 0);
        client.add_server(&servers[3].spec()).unwrap();
        let rate = hit_rate(&client, &keys);
        let migrated = client.stats().total.migrated_keys;
        eprintln!(
            "add 4th server, migration={migration}: hit rate {:.4}%, migrated {migrated}",
            rate * 100.0
        );
        rates.push(rate);
        if migration {
            assert!(rate >= 0.999, "hit rate {rate} with migration");
            assert!(migrated > 3000, "about a quarter of the keys moved: {migrated}");
            // Moved keys now live on the new server.
            assert!(servers[3].curr_items() as i64 >= migrated as i64 - 10);
            assert_eq!(hit_rate(&client, &keys), 1.0, "second read: every key on its owner");
        } else {
            assert!((0.6..0.9).contains(&rate), "without migration about 3/4 hit: {rate}");
            assert_eq!(migrated, 0);
        }
    }
}

#[test]
fn graceful_removal_keeps_the_hit_rate() {
    let keys = keys(20_000);
    for drain in [true, false] {
        let servers: Vec<Memcached> = (0..4).map(|_| Memcached::start()).collect();
        let all: Vec<&Memcached> = servers.iter().collect();
        let client = Client::from_config_str(&config_of(&all, "")).unwrap();
        fill(&client, &keys, 0);
        client.remove_server(&servers[1].spec(), drain).unwrap();
        let rate = hit_rate(&client, &keys);
        eprintln!("remove 1 of 4, drain={drain}: hit rate {:.4}%", rate * 100.0);
        if drain {
            assert!(rate >= 0.999, "hit rate {rate} with a drained removal");
        } else {
            assert!(
                (0.6..0.9).contains(&rate),
                "without drain the removed server's keys miss: {rate}"
            );
        }
    }
}

#[test]
fn writes_during_the_window_leave_no_stale_copy() {
    let servers: Vec<Memcached> = (0..4).map(|_| Memcached::start()).collect();
    let first: Vec<&Memcached> = servers[..3].iter().collect();
    let client = Client::from_config_str(&config_of(&first, "")).unwrap();
    let keys = keys(2000);
    fill(&client, &keys, 0);
    let old_owner: Vec<String> =
        keys.iter().map(|k| client.server_for(k).unwrap().name()).collect();
    client.add_server(&servers[3].spec()).unwrap();
    let moved: Vec<usize> = (0..keys.len())
        .filter(|&i| client.server_for(&keys[i]).unwrap().name() != old_owner[i])
        .collect();
    assert!(moved.len() > 200, "{} keys moved", moved.len());
    let server = |name: &str| servers.iter().find(|m| m.spec() == name).unwrap();
    let mut it = moved.iter().copied();

    // set: the new value on the new owner, none left on the old one.
    let i = it.next().unwrap();
    assert_eq!(client.set(&keys[i], b"new", 0, 0).unwrap(), Status::Done);
    assert_eq!(server(&old_owner[i]).raw_get(&keys[i]), None);
    assert_eq!(client.get(&keys[i]).unwrap().unwrap().value, b"new");

    // delete of a key only the old owner had: deleted there, reported so.
    let i = it.next().unwrap();
    assert_eq!(client.delete(&keys[i]).unwrap(), Status::Done);
    assert_eq!(server(&old_owner[i]).raw_get(&keys[i]), None);
    assert_eq!(client.get(&keys[i]).unwrap(), None);

    // add of a key the old ring has fails, as it would have before.
    let i = it.next().unwrap();
    assert_eq!(client.add(&keys[i], b"other", 0, 0).unwrap(), Status::NotStored);
    assert_eq!(client.get(&keys[i]).unwrap().unwrap().value, keys[i]);

    // append, incr and touch find the key on the old ring.
    let i = it.next().unwrap();
    assert_eq!(client.append(&keys[i], b"+").unwrap(), Status::Done);
    let mut want = keys[i].clone();
    want.push(b'+');
    assert_eq!(client.get(&keys[i]).unwrap().unwrap().value, want);
    let i = it.next().unwrap();
    let counter = &keys[i];
    // Make it a number on the old owner only.
    let old = server(&old_owner[i]);
    let mut cmd = b"set ".to_vec();
    cmd.extend_from_slice(counter);
    cmd.extend_from_slice(b" 0 0 2\r\n41\r\n");
    old.raw(&cmd, b"\r\n");
    assert_eq!(client.incr(counter, 1).unwrap(), Some(42));
    assert_eq!(client.incr_or_init(counter, 1, 0, 0).unwrap(), 43);
    assert_eq!(old.raw_get(counter), None, "the old copy is gone");
    let i = it.next().unwrap();
    assert_eq!(client.touch(&keys[i], 1000).unwrap(), Status::Done);

    // delete_multi and set_multi clear old copies too.
    let batch: Vec<&Vec<u8>> = it.by_ref().take(50).map(|i| &keys[i]).collect();
    let batch_idx: Vec<usize> = moved.iter().copied().skip(6).take(50).collect();
    for r in client.delete_multi(&batch).unwrap() {
        r.unwrap();
    }
    for &i in &batch_idx {
        assert_eq!(server(&old_owner[i]).raw_get(&keys[i]), None);
        assert_eq!(client.get(&keys[i]).unwrap(), None, "deleted keys do not come back");
    }
}

#[test]
fn a_cold_pool_warms_up_from_a_warm_pool() {
    let warm: Vec<Memcached> = (0..2).map(|_| Memcached::start()).collect();
    let cold: Vec<Memcached> = (0..2).map(|_| Memcached::start()).collect();
    let warm_refs: Vec<&Memcached> = warm.iter().collect();
    let warm_client = Client::from_config_str(&config_of(&warm_refs, "")).unwrap();
    let keys = keys(2000);
    fill(&warm_client, &keys, 500);
    // One key with an expiry beyond 30 days (an absolute time).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let forty_days = 40 * 24 * 3600;
    warm_client.set("long-lived", b"v", 0, (now + forty_days) as u32).unwrap();

    let warm_list: Vec<String> = warm.iter().map(|m| m.spec()).collect();
    let cold_refs: Vec<&Memcached> = cold.iter().collect();
    let client =
        Client::from_config_str(&config_of(&cold_refs, &format!("warmup={}", warm_list.join(","))))
            .unwrap();
    assert_eq!(hit_rate(&client, &keys), 1.0, "every miss of the cold pool found warm");
    assert_eq!(client.stats().total.warmup_hits, keys.len() as u64);
    assert_eq!(cold.iter().map(|m| m.curr_items()).sum::<u64>(), keys.len() as u64);
    // Copied with the remaining TTL.
    let k = &keys[0];
    let owner = cold.iter().find(|m| m.spec() == client.server_for(k).unwrap().name()).unwrap();
    let ttl = ttl_on(owner, k);
    assert!((400..=500).contains(&ttl), "remaining TTL {ttl}");
    assert!(client.get("long-lived").unwrap().is_some());
    let owner =
        cold.iter().find(|m| m.spec() == client.server_for("long-lived").unwrap().name()).unwrap();
    let ttl = ttl_on(owner, b"long-lived");
    assert!((ttl - forty_days as i64).abs() < 60, "a TTL beyond 30 days kept: {ttl}");
    // A second read is the cold pool's own.
    assert_eq!(hit_rate(&client, &keys), 1.0);
    assert_eq!(client.stats().total.warmup_hits, keys.len() as u64 + 1);
    // A delete reaches the warm pool: the key does not come back from it.
    client.delete(&keys[1]).unwrap();
    assert_eq!(client.get(&keys[1]).unwrap(), None);
    assert_eq!(warm_client.get(&keys[1]).unwrap(), None);
}

/// The remaining TTL of `key` on `m` (meta `mg <key> t`).
fn ttl_on(m: &Memcached, key: &[u8]) -> i64 {
    let mut cmd = b"mg ".to_vec();
    cmd.extend_from_slice(key);
    cmd.extend_from_slice(b" t\r\n");
    let reply = String::from_utf8(m.raw(&cmd, b"\r\n")).unwrap();
    reply
        .split_whitespace()
        .find_map(|f| f.strip_prefix('t'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no TTL in {reply:?}"))
}

#[test]
fn changes_under_concurrent_requests_fail_none() {
    let servers: Vec<Memcached> = (0..4).map(|_| Memcached::start()).collect();
    let first: Vec<&Memcached> = servers[..2].iter().collect();
    let client = Arc::new(Client::from_config_str(&config_of(&first, "")).unwrap());
    let keys = Arc::new(keys(500));
    fill(&client, &keys, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (client, keys, stop, requests) =
                (client.clone(), keys.clone(), stop.clone(), requests.clone());
            std::thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let k = &keys[i % keys.len()];
                    if i % 3 == 0 {
                        client.set(k, k, 0, 0).expect("set during changes");
                    } else if i % 3 == 1 {
                        let v = client.get(k).expect("get during changes");
                        assert!(v.is_none_or(|v| v.value == *k));
                    } else {
                        client.get_multi(&keys[..20]).expect("get_multi during changes");
                    }
                    requests.fetch_add(1, Ordering::Relaxed);
                    i += 7;
                }
            })
        })
        .collect();
    let names: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    for round in 0..40 {
        let n = 1 + round % 4;
        let list: Vec<&str> = names[..n].iter().map(String::as_str).collect();
        client.set_servers(&list, round % 2 == 0).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("a worker failed");
    }
    assert!(requests.load(Ordering::Relaxed) > 100);
    assert_oracle_placement(&client, &keys, "after the last change");
}
