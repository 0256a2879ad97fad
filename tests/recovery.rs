//! What happens every week in a real fleet, each against real memcached:
//! restarts and idle timeouts (no error, no dead server), a stopped server
//! beside healthy ones in a fan-out (it alone times out), rewrites of items
//! that keep their expiry (absolute beyond 30 days), conditional writes over
//! replicas, an oversized value among others, names with several addresses,
//! and locks a forked child may find held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcring::{Client, Error, SetItem, Status};
use mcring_tests::{Fault, FaultProxy, Memcached};

fn client(servers: &[String], options: &str) -> Client {
    Client::from_config_str(&format!("{} {options}", servers.join(" "))).unwrap()
}

/// Fills the server's idle pool: `n` threads each hold a connection at once.
fn fill_pool(c: &Arc<Client>, n: usize) {
    let handles: Vec<_> = (0..n)
        .map(|t| {
            let c = c.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    c.set(format!("warm{t}:{i}"), b"v", 0, 0).unwrap();
                    c.get(format!("warm{t}:{i}")).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// The remaining TTL memcached reports for `key` (meta `mg t`).
fn remaining_ttl(m: &Memcached, key: &str) -> Option<i64> {
    let reply = m.raw(format!("mg {key} t\r\n").as_bytes(), b"\r\n");
    let text = String::from_utf8_lossy(&reply);
    text.trim().strip_prefix("HD t").and_then(|t| t.parse().ok())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn a_restart_costs_no_error_and_no_dead_server() {
    let mut m = Memcached::start();
    let c = Arc::new(client(
        &[m.spec()],
        "pool_size=8 failure_limit=2 retry_timeout_ms=5000 connect_timeout_ms=1000",
    ));
    fill_pool(&c, 8);
    for round in 0..2 {
        // systemctl restart memcached: SIGTERM, then a new process on the port.
        m.restart_gracefully();
        let before = c.stats().total;
        for i in 0..20 {
            let k = format!("after{round}:{i}");
            assert_eq!(c.set(&k, b"v", 0, 0).unwrap(), Status::Done, "{k}");
            assert_eq!(c.get(&k).unwrap().unwrap().value, b"v");
        }
        // Multi-key and conditional commands on connections left from before.
        fill_pool(&c, 8);
        m.restart_gracefully();
        let keys: Vec<String> = (0..50).map(|i| format!("m{round}:{i}")).collect();
        assert!(c.get_multi(&keys).unwrap().iter().all(|r| matches!(r, Ok(None))));
        fill_pool(&c, 8);
        m.restart_gracefully();
        assert_eq!(c.add(format!("add{round}"), b"v", 0, 0).unwrap(), Status::Done);
        assert_eq!(c.incr_or_init(format!("n{round}"), 1, 5, 0).unwrap(), 5);
        let after = c.stats().total;
        assert_eq!(after.errors, before.errors, "no error across restarts");
        assert!(after.reconnects > before.reconnects, "stale connections were replaced");
        assert!(c.alive()[0].1, "the server was never marked dead");
    }
}

#[test]
fn connections_memcached_closed_for_idleness_are_replaced_quietly() {
    let m = Memcached::start_with(&["-o", "idle_timeout=1"]);
    let c = Arc::new(client(&[m.spec()], "pool_size=4 failure_limit=1 retry_timeout_ms=5000"));
    fill_pool(&c, 4);
    // memcached counts the connections it closed for idleness.
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.stat("idle_kicks").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) < 4 {
        assert!(Instant::now() < deadline, "memcached closed no idle connection");
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = c.stats().total;
    for i in 0..10 {
        c.set(format!("idle{i}"), b"v", 0, 0).unwrap();
    }
    let keys: Vec<String> = (0..10).map(|i| format!("idle{i}")).collect();
    assert!(c.get_multi(&keys).unwrap().iter().all(|r| matches!(r, Ok(Some(_)))));
    let after = c.stats().total;
    assert_eq!(after.errors, before.errors);
    assert!(after.reconnects > before.reconnects);
    assert!(c.alive()[0].1);
}

#[test]
fn a_stopped_server_never_costs_the_healthy_ones_their_replies() {
    // 3 servers, 300 keys of 100 KB, one SIGSTOPped: the healthy servers'
    // keys all come back, neither is marked dead, and the call returns
    // within one io_timeout plus slack.
    let servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let c = client(&specs, "io_timeout_ms=700 connect_timeout_ms=500 failure_limit=1");
    let value = vec![b'v'; 100_000];
    let keys: Vec<String> = (0..300).map(|i| format!("big{i}")).collect();
    for k in &keys {
        c.set(k, &value, 0, 0).unwrap();
    }
    // Pooled connections to every server, then one server stops.
    assert!(c.get_multi(&keys).unwrap().iter().all(|r| matches!(r, Ok(Some(_)))));
    let stopped = (0..3)
        .find(|&i| {
            let first = c.server_for(&keys[0]).unwrap().name();
            specs[i] != first
        })
        .unwrap();
    servers[stopped].pause();
    let t = Instant::now();
    let got = c.get_multi(&keys).unwrap();
    let took = t.elapsed();
    servers[stopped].resume();
    for (k, r) in keys.iter().zip(&got) {
        if c.server_for(k).unwrap().name() == specs[stopped] {
            assert!(r.is_err() || matches!(r, Ok(None)), "{k}: {r:?}");
        } else {
            let item = r.as_ref().unwrap_or_else(|e| panic!("{k}: {e}"));
            assert_eq!(item.as_ref().map(|i| i.value.len()), Some(100_000), "{k}");
        }
    }
    let alive = c.alive();
    for (i, (name, up)) in alive.iter().enumerate() {
        assert_eq!(*up, i != stopped, "{name}");
    }
    assert!(took < Duration::from_millis(700 + 500), "the call took {took:?}");
}

#[test]
fn rewrites_keep_the_expiry_of_the_item() {
    let m = Memcached::start();
    let c = client(&[m.spec()], "");
    let day = 24 * 3600;
    for (key, ttl) in [("ten", 10u32), ("days29", 29 * day), ("days40", 40 * day)] {
        // Over 30 days an exptime is an absolute Unix time, as memcached
        // defines it.
        let exptime = if ttl > 30 * day { (unix_now() + ttl as i64) as u32 } else { ttl };
        c.set(key, b"start", 0, exptime).unwrap();
        assert_eq!(c.append_value(key, b"-more", false).unwrap(), Status::Done, "{key}");
        assert_eq!(c.get(key).unwrap().unwrap().value, b"start-more", "{key} survives append");
        let left = remaining_ttl(&m, key).unwrap();
        assert!((ttl as i64 - left).abs() <= 2, "{key}: ttl {ttl} became {left}");
    }
}

#[test]
fn read_repair_writes_back_with_the_remaining_expiry() {
    let mut servers = [Memcached::start(), Memcached::start()];
    let specs: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let c = client(
        &specs,
        "replicas=1 read_repair=true failure_limit=1 retry_timeout_ms=100 connect_timeout_ms=300",
    );
    let forty_days = 40 * 24 * 3600;
    let key = (0..)
        .map(|i| format!("rr{i}"))
        .find(|k| c.server_for(k).unwrap().name() == specs[0])
        .unwrap();
    c.set(&key, b"v", 0, (unix_now() + forty_days) as u32).unwrap();
    servers[0].restart();
    std::thread::sleep(Duration::from_millis(150));
    // The first read finds the primary empty, reads the replica and repairs.
    for _ in 0..3 {
        assert_eq!(c.get(&key).unwrap().unwrap().value, b"v");
    }
    let left = remaining_ttl(&servers[0], &key).expect("repaired on the primary");
    assert!((forty_days - left).abs() <= 2, "repaired with ttl {left}");
}

#[test]
fn a_conditional_write_is_decided_by_one_copy_and_then_copied() {
    // replicas=2 with the primary timing out: `add` goes to the first
    // replica alone, and the other replica gets the value once it took
    // effect — the copies cannot disagree about the condition.
    let servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let proxy = FaultProxy::start(servers[0].addr());
    let specs = vec![proxy.spec(), servers[1].spec(), servers[2].spec()];
    let c = client(&specs, "replicas=2 io_timeout_ms=300 connect_timeout_ms=300 failure_limit=5");
    let key = (0..)
        .map(|i| format!("cw{i}"))
        .find(|k| c.server_for(k).unwrap().name() == specs[0])
        .unwrap();
    let copies: Vec<String> = c.copies_for(&key).unwrap().iter().map(|s| s.name()).collect();
    let (first, second) = (&copies[1], &copies[2]);
    let by_name = |n: &str| servers.iter().find(|m| m.spec() == n).unwrap();
    // The second replica holds an old value the first does not have.
    by_name(second).raw(format!("set {key} 0 0 3\r\nold\r\n").as_bytes(), b"\r\n");
    proxy.set(Fault::Blackhole);
    assert!(c.add(&key, b"new", 0, 0).unwrap().is_done());
    assert_eq!(by_name(first).raw_get(key.as_bytes()).unwrap().1, b"new");
    assert_eq!(by_name(second).raw_get(key.as_bytes()).unwrap().1, b"new", "copied after the add");
    proxy.set(Fault::None);
}

#[test]
fn an_oversized_value_fails_its_key_alone() {
    let m = Memcached::start_with(&["-I", "2m"]);
    let c = client(&[m.spec()], "max_value_bytes=1048576");
    c.set("small1", b"a", 0, 0).unwrap();
    c.set("small2", b"b", 0, 0).unwrap();
    let raw = {
        let mut cmd = b"set big 0 0 1500000\r\n".to_vec();
        cmd.extend(std::iter::repeat_n(b'x', 1_500_000));
        cmd.extend_from_slice(b"\r\n");
        m.raw(&cmd, b"\r\n")
    };
    assert_eq!(raw, b"STORED\r\n");
    let connects = c.stats().total.connects;
    let got = c.get_multi(&["small1", "big", "small2"]).unwrap();
    assert_eq!(got[0].as_ref().unwrap().as_ref().unwrap().value, b"a");
    assert!(matches!(got[1], Err(Error::TooLarge { .. })), "{:?}", got[1]);
    assert_eq!(got[2].as_ref().unwrap().as_ref().unwrap().value, b"b");
    assert!(matches!(c.get("big"), Err(Error::TooLarge { .. })));
    assert_eq!(c.get("small1").unwrap().unwrap().value, b"a");
    assert_eq!(c.stats().total.connects, connects, "the connection stayed in step and was kept");
    assert!(c.alive()[0].1);
}

#[test]
fn a_name_with_several_addresses_is_connected_in_turn() {
    // localhost names ::1 and 127.0.0.1; memcached listens on 127.0.0.1
    // only. Single and multi-key requests get there without blocking.
    let a = Memcached::start();
    let b = Memcached::start();
    let names =
        vec![format!("localhost:{}", a.addr().port()), format!("localhost:{}", b.addr().port())];
    let c = client(&names, "connect_timeout_ms=1000");
    let keys: Vec<String> = (0..100).map(|i| format!("lh{i}")).collect();
    let items: Vec<SetItem<'_>> =
        keys.iter().map(|k| SetItem { key: k.as_bytes(), value: b"v", flags: 0 }).collect();
    assert!(c.set_multi(&items, 0).unwrap().iter().all(|r| r.as_ref().unwrap().is_done()));
    assert!(c.get_multi(&keys).unwrap().iter().all(|r| matches!(r, Ok(Some(_)))));
    assert_eq!(c.get("lh1").unwrap().unwrap().value, b"v");
    assert!(c.alive().iter().all(|(_, up)| *up));
}

#[test]
fn a_forked_child_never_waits_for_a_lock_its_parent_held() {
    // Threads hammer the client (eject mode with a dead server: rings are
    // rebuilt, keys are queued for invalidation) while the main thread
    // forks; every child must finish its own requests.
    let a = Memcached::start();
    let b = Memcached::start();
    let specs = vec![a.spec(), b.spec(), format!("127.0.0.1:{}", mcring_tests::closed_port())];
    let c = Arc::new(client(&specs, "failover=eject failure_limit=1 retry_timeout_ms=20 connect_timeout_ms=100 io_timeout_ms=200"));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|t| {
            let (c, stop) = (c.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let k = format!("f{t}:{}", i % 500);
                    let _ = c.set(&k, b"v", 0, 0);
                    let _ = c.get_multi(&[&k, "x", "y"]);
                    i += 1;
                }
            })
        })
        .collect();
    for _ in 0..20 {
        // SAFETY: fork in a test; the child uses the client and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = (0..20).all(|i| c.set(format!("child{i}"), b"v", 0, 0).is_ok())
                && c.get_multi(&["child1", "child2"]).is_ok();
            // SAFETY: leave the child without running the test harness.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut status = 0;
        loop {
            // SAFETY: polling the child forked above.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid {
                break;
            }
            if Instant::now() > deadline {
                // SAFETY: killing our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("a forked child hung");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed");
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
}
