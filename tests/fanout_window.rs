//! `fanout_window=N` against real memcached: the keys awaiting replies in
//! one fan-out are capped, the next server's batch goes out as replies
//! complete, and nothing else about a fan-out changes (every key exactly,
//! writes, quiet writes, a stopped server timing out alone, stale pooled
//! connections replaced).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mcring::{Client, SetItem, Status};
use mcring_tests::{Fault, FaultProxy, Memcached};

fn client(servers: &[String], options: &str) -> Client {
    Client::from_config_str(&format!("{} {options}", servers.join(" "))).unwrap()
}

/// A value of its own for every key, of varying length.
fn value_of(key: &str) -> Vec<u8> {
    let n = key.len() * 7 % 300 + 1;
    key.bytes().cycle().take(n).collect()
}

#[test]
fn fanout_window_is_a_config_token_with_a_clear_error() {
    let m = Memcached::start();
    for bad in ["fanout_window=x", "fanout_window=-3", "fanout_window=", "fanout_window=2000000"] {
        let e = Client::from_config_str(&format!("{} {bad}", m.spec())).expect_err(bad);
        let text = e.to_string();
        assert!(text.contains(bad), "{bad}: the error names the token: {text}");
        assert!(text.contains("expected keys in flight, 0..1000000"), "{bad}: {text}");
    }
    for good in ["fanout_window=0", "fanout_window=1", "fanout_window=100"] {
        let c = Client::from_config_str(&format!("{} {good}", m.spec())).expect(good);
        assert_eq!(c.set("k", b"v", 0, 0).unwrap(), Status::Done, "{good}");
        assert_eq!(c.get_multi(&["k", "absent"]).unwrap().len(), 2, "{good}");
    }
}

#[test]
fn a_windowed_multi_get_returns_every_key_exactly() {
    let servers: Vec<Memcached> = (0..5).map(|_| Memcached::start()).collect();
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let plain = client(&specs, "");
    let c = client(&specs, "fanout_window=7");
    // 1,000 keys stored, 100 absent ones among them.
    let keys: Vec<String> = (0..1100).map(|i| format!("w{i}")).collect();
    let stored = |i: usize| i % 11 != 5;
    for (i, k) in keys.iter().enumerate() {
        if stored(i) {
            plain.set(k, &value_of(k), i as u32, 0).unwrap();
        }
    }
    assert_eq!((0..keys.len()).filter(|&i| stored(i)).count(), 1000);
    let check = |c: &Client, asked: &[String], offset: usize| {
        let got = c.get_multi(asked).unwrap();
        assert_eq!(got.len(), asked.len());
        for (n, (k, r)) in asked.iter().zip(&got).enumerate() {
            let i = offset + n;
            let item = r.as_ref().unwrap_or_else(|e| panic!("{k}: {e}"));
            if stored(i) {
                let item = item.as_ref().unwrap_or_else(|| panic!("{k} missing"));
                assert_eq!(item.value, value_of(k), "{k}");
                assert_eq!(item.flags, i as u32, "{k}");
            } else {
                assert!(item.is_none(), "{k} was never stored");
            }
        }
    };
    // Every server's batch is larger than the window: one at a time.
    check(&c, &keys, 0);
    // Small calls: several servers' batches share the window, the rest
    // wait for their replies.
    for size in 1..=40 {
        for offset in [0, 333, 1059] {
            let end = (offset + size).min(keys.len());
            check(&c, &keys[offset..end], offset);
        }
    }
    // gets (cas tokens) through the window as well.
    let got = c.gets_multi(&keys[..200]).unwrap();
    for (i, (k, r)) in keys[..200].iter().zip(&got).enumerate() {
        let item = r.as_ref().unwrap_or_else(|e| panic!("{k}: {e}"));
        assert_eq!(item.as_ref().map(|it| it.cas.is_some()), stored(i).then_some(true), "{k}");
    }
    assert_eq!(c.stats().total.errors, 0);
    assert!(c.alive().iter().all(|(_, up)| *up));
}

#[test]
fn multi_set_and_delete_through_a_window() {
    let servers: Vec<Memcached> = (0..4).map(|_| Memcached::start()).collect();
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let plain = client(&specs, "");
    let c = client(&specs, "fanout_window=7");
    let keys: Vec<String> = (0..1000).map(|i| format!("ms{i}")).collect();
    let values: Vec<Vec<u8>> = keys.iter().map(|k| value_of(k)).collect();
    let items: Vec<SetItem<'_>> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| SetItem { key: k.as_bytes(), value: v, flags: 3 })
        .collect();
    // Read back by `by`: after quiet writes the same client, whose
    // connections carry the reads after the writes (another connection
    // may be served by another memcached thread first).
    let all_stored = |by: &Client, what: &str| {
        let got = by.get_multi(&keys).unwrap();
        for ((k, v), r) in keys.iter().zip(&values).zip(&got) {
            let item = r.as_ref().unwrap().as_ref().unwrap_or_else(|| panic!("{what}: {k}"));
            assert_eq!((&item.value, item.flags), (v, 3), "{what}: {k}");
        }
    };
    let none_left = |by: &Client, what: &str| {
        let got = by.get_multi(&keys).unwrap();
        for (k, r) in keys.iter().zip(&got) {
            assert!(matches!(r, Ok(None)), "{what}: {k} is still there");
        }
    };

    let set = c.set_multi(&items, 0).unwrap();
    assert!(set.iter().all(|r| matches!(r, Ok(Status::Done))), "set_multi: {set:?}");
    all_stored(&plain, "set_multi");
    let deleted = c.delete_multi(&keys).unwrap();
    assert!(deleted.iter().all(|r| matches!(r, Ok(Status::Done))), "delete_multi");
    none_left(&plain, "delete_multi");
    let again = c.delete_multi(&keys[..50]).unwrap();
    assert!(again.iter().all(|r| matches!(r, Ok(Status::NotFound))), "deleting again");

    // Quiet (noreply) writes: each server's batch is done once written and
    // the next one starts; their closing replies are read by later calls.
    for round in 0..3 {
        let sent = c.set_multi_noreply(&items, 0).unwrap();
        assert!(sent.iter().all(|r| r.is_ok()), "set_multi_noreply {round}");
        all_stored(&c, "set_multi_noreply");
        let sent = c.delete_multi_noreply(&keys).unwrap();
        assert!(sent.iter().all(|r| r.is_ok()), "delete_multi_noreply {round}");
        none_left(&c, "delete_multi_noreply");
    }
    // The connections stay in step for replies after the quiet batches.
    let set = c.set_multi(&items[..100], 0).unwrap();
    assert!(set.iter().all(|r| matches!(r, Ok(Status::Done))));
    let got = c.get_multi(&keys[..100]).unwrap();
    assert!(got
        .iter()
        .zip(&values)
        .all(|(r, v)| r.as_ref().unwrap().as_ref().unwrap().value == *v));
    assert_eq!(c.stats().total.errors, 0);
}

#[test]
fn a_window_sends_the_next_batch_only_as_replies_complete() {
    // 4 servers behind proxies that hold every reply for DELAY, 5 keys on
    // each: a batch sent alone costs one DELAY, batches sent together
    // share it. So the time of a call counts the rounds the window made.
    const DELAY: Duration = Duration::from_millis(250);
    let servers: Vec<Memcached> = (0..4).map(|_| Memcached::start()).collect();
    let proxies: Vec<FaultProxy> = servers.iter().map(|m| FaultProxy::start(m.addr())).collect();
    let specs: Vec<String> = proxies.iter().map(|p| p.spec()).collect();
    let plain = client(&specs, "io_timeout_ms=5000");
    let mut per_server: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0.. {
        let k = format!("d{i}");
        let list = per_server.entry(plain.server_for(&k).unwrap().name()).or_default();
        if list.len() < 5 {
            list.push(k);
        }
        if per_server.len() == 4 && per_server.values().all(|l| l.len() == 5) {
            break;
        }
    }
    let keys: Vec<String> = per_server.values().flatten().cloned().collect();
    for k in &keys {
        plain.set(k, &value_of(k), 0, 0).unwrap();
    }
    let timed = |options: &str| {
        let c = client(&specs, &format!("io_timeout_ms=5000 {options}"));
        // Connections opened (and pooled) before the delay starts.
        assert!(c.get_multi(&keys).unwrap().iter().all(|r| matches!(r, Ok(Some(_)))));
        for p in &proxies {
            p.set(Fault::Delay(DELAY));
        }
        let t = Instant::now();
        let got = c.get_multi(&keys).unwrap();
        let took = t.elapsed();
        for p in &proxies {
            p.set(Fault::None);
        }
        for (k, r) in keys.iter().zip(&got) {
            let item = r.as_ref().unwrap_or_else(|e| panic!("{options}: {k}: {e}"));
            assert_eq!(item.as_ref().map(|i| i.value.clone()), Some(value_of(k)), "{k}");
        }
        took
    };
    // No window, or one all 20 keys fit in: every batch at once.
    for options in ["", "fanout_window=20"] {
        let took = timed(options);
        assert!(took < DELAY * 3, "{options:?}: the batches were not sent together: {took:?}");
    }
    // Two batches of 5 fit in 10: two rounds.
    let took = timed("fanout_window=10");
    assert!(took >= DELAY * 2, "fanout_window=10 sent more than two batches at once: {took:?}");
    assert!(took < DELAY * 4, "fanout_window=10 sent the batches one by one: {took:?}");
    // Nor in 9: one batch at a time, four rounds; a window smaller than
    // one batch still sends each batch (alone).
    for window in [9, 1] {
        let took = timed(&format!("fanout_window={window}"));
        assert!(took >= DELAY * 4, "fanout_window={window}: {took:?}");
    }
}

#[test]
fn a_stopped_server_behind_a_window_never_costs_the_healthy_ones_their_replies() {
    // As in recovery.rs without a window: 3 servers, 300 keys of 100 KB,
    // one SIGSTOPped. Here every batch is larger than the window, so each
    // is sent alone, and the stopped server is the first one: the healthy
    // servers' batches wait out its timeout, then are sent with their own
    // full budgets. Their keys all come back, neither is marked dead, and
    // the call costs one io_timeout plus the healthy servers' own time.
    let servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let c =
        client(&specs, "io_timeout_ms=700 connect_timeout_ms=500 failure_limit=1 fanout_window=7");
    let value = vec![b'v'; 100_000];
    let keys: Vec<String> = (0..300).map(|i| format!("big{i}")).collect();
    for k in &keys {
        c.set(k, &value, 0, 0).unwrap();
    }
    // Pooled connections to every server, then one server stops: the one
    // the first key (whose batch is sent first) is on.
    assert!(c.get_multi(&keys).unwrap().iter().all(|r| matches!(r, Ok(Some(_)))));
    let first = c.server_for(&keys[0]).unwrap().name();
    let stopped = specs.iter().position(|s| *s == first).unwrap();
    let gets = |i: usize| -> u64 { servers[i].stat("cmd_get").unwrap().parse().unwrap() };
    let healthy_servers: Vec<usize> = (0..3).filter(|&i| i != stopped).collect();
    let gets_before: Vec<u64> = healthy_servers.iter().map(|&i| gets(i)).collect();
    servers[stopped].pause();
    let (got, took, gets_meanwhile) = std::thread::scope(|scope| {
        // Halfway through the stopped server's timeout, the window still
        // holds the healthy servers' batches back.
        let watcher = scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(350));
            healthy_servers.iter().map(|&i| gets(i)).collect::<Vec<u64>>()
        });
        let t = Instant::now();
        let got = c.get_multi(&keys).unwrap();
        let took = t.elapsed();
        (got, took, watcher.join().unwrap())
    });
    servers[stopped].resume();
    assert_eq!(gets_meanwhile, gets_before, "the healthy batches waited for the window");
    let mut healthy = 0;
    for (k, r) in keys.iter().zip(&got) {
        if c.server_for(k).unwrap().name() == specs[stopped] {
            assert!(r.is_err() || matches!(r, Ok(None)), "{k}: {r:?}");
        } else {
            let item = r.as_ref().unwrap_or_else(|e| panic!("{k}: {e}"));
            assert_eq!(item.as_ref().map(|i| i.value.len()), Some(100_000), "{k}");
            healthy += 1;
        }
    }
    assert!(healthy > 100, "the healthy servers had {healthy} of the keys");
    let alive = c.alive();
    for (i, (name, up)) in alive.iter().enumerate() {
        assert_eq!(*up, i != stopped, "{name}");
    }
    assert!(took >= Duration::from_millis(700), "the stopped server's batch went first: {took:?}");
    assert!(took < Duration::from_millis(700 + 1000), "the call took {took:?}");
}

#[test]
fn stale_connections_behind_a_window_are_replaced_quietly() {
    // A restart closes every pooled connection: each batch, started in its
    // turn, finds out before any reply byte and is sent again on a fresh
    // connection, without an error or a dead server.
    let mut servers: Vec<Memcached> = (0..3).map(|_| Memcached::start()).collect();
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let c = client(&specs, "fanout_window=7 failure_limit=1 retry_timeout_ms=5000");
    let keys: Vec<String> = (0..300).map(|i| format!("st{i}")).collect();
    let items: Vec<SetItem<'_>> =
        keys.iter().map(|k| SetItem { key: k.as_bytes(), value: b"v", flags: 0 }).collect();
    assert!(c.set_multi(&items, 0).unwrap().iter().all(|r| matches!(r, Ok(Status::Done))));
    for round in 0..2 {
        for m in &mut servers {
            m.restart_gracefully();
        }
        let before = c.stats().total;
        let got = c.get_multi(&keys).unwrap();
        assert!(got.iter().all(|r| matches!(r, Ok(None))), "round {round}: restarted empty");
        for m in &mut servers {
            m.restart_gracefully();
        }
        let set = c.set_multi(&items, 0).unwrap();
        assert!(set.iter().all(|r| matches!(r, Ok(Status::Done))), "round {round}: {set:?}");
        let after = c.stats().total;
        assert_eq!(after.errors, before.errors, "round {round}: no error across restarts");
        assert!(after.reconnects >= before.reconnects + 6, "round {round}: stale ones replaced");
        assert!(c.alive().iter().all(|(_, up)| *up), "round {round}: no server marked dead");
    }
}
