//! `failover=eject` places keys exactly where libmemcached does after its
//! REMOVE_FAILED_SERVERS ejected a dead server. The real library is driven
//! into ejecting a killed loopback server (tests/oracle/eject_oracle.c), and
//! mcring's writes are then looked up on each live server directly.

use std::io::Write;
use std::process::{Command, Stdio};

use mcring::{Client, Status};
use mcring_tests::c_build::{build, tests_file};
use mcring_tests::Memcached;

fn eject_oracle() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            build(
                &tests_file("oracle/eject_oracle.c"),
                "eject_oracle",
                &["-lmemcached"],
                "libmemcached-dev",
            )
        })
        .clone()
}

/// Spawns `cmd`, retrying while another test thread's fork still holds the
/// freshly written executable open (ETXTBSY).
fn spawn(cmd: &mut Command) -> std::process::Child {
    for _ in 0..50 {
        match cmd.spawn() {
            Ok(child) => return child,
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("spawn eject_oracle: {e}"),
        }
    }
    panic!("eject_oracle stayed busy");
}

fn check(distribution: &str, weights: &[u32], dead: usize) {
    let mut servers: Vec<Memcached> = weights.iter().map(|_| Memcached::start()).collect();
    let specs: Vec<String> =
        servers.iter().zip(weights).map(|(m, w)| format!("{}:{w}", m.spec())).collect();
    servers[dead].kill();
    let keys: Vec<String> = (0..2000).map(|i| format!("eject:{i}:{}", i * 7919)).collect();

    let mut oracle = spawn(
        Command::new(eject_oracle())
            .arg(distribution)
            .arg(dead.to_string())
            .args(&specs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let input: String = keys.iter().map(|k| format!("{k}\n")).collect();
    oracle.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = oracle.wait_with_output().unwrap();
    assert!(out.status.success(), "oracle failed");
    let expected: Vec<usize> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(expected.len(), keys.len());
    assert!(expected.iter().all(|&i| i != dead), "libmemcached ejected the dead server");

    let c = Client::from_config_str(&format!(
        "{} distribution={distribution} failover=eject failure_limit=1 retry_timeout_ms=600000 \
         connect_timeout_ms=500",
        specs.join(" ")
    ))
    .unwrap();
    let mut i = 0;
    while c.alive()[dead].1 && i < keys.len() {
        let _ = c.get(&keys[i]);
        i += 1;
    }
    assert!(!c.alive()[dead].1, "mcring marked the dead server");
    let mut moved = 0;
    for (k, &want) in keys.iter().zip(&expected) {
        // A key placed off its home (the full ring) says so.
        let home = c.server_for(k).unwrap().name();
        let status =
            if home == servers[want].spec() { Status::Done } else { Status::StoredElsewhere };
        assert_eq!(c.set(k, b"v", 0, 0).unwrap(), status, "{k}");
        let holders: Vec<usize> = (0..servers.len())
            .filter(|&s| s != dead && servers[s].raw_get(k.as_bytes()).is_some())
            .collect();
        assert_eq!(holders, vec![want], "{k}: libmemcached places it on server {want}");
        if c.server_for(k).unwrap().name() != servers[want].spec() {
            moved += 1;
        }
    }
    assert!(moved > 0, "some keys moved off the dead server");
}

#[test]
fn eject_equals_libmemcached_ketama_weighted() {
    // Unequal weights: the live servers' point counts change too.
    check("ketama-weighted", &[1, 3, 2, 5], 1);
}

#[test]
fn eject_equals_libmemcached_ketama_equal_weights() {
    check("ketama", &[1, 1, 1, 1, 1], 3);
}

/// Placement of every key: the index of the server holding it after `c`
/// wrote it (asked on each live server directly).
fn placed(c: &Client, servers: &[Memcached], keys: &[String], skip: Option<usize>) -> Vec<usize> {
    keys.iter()
        .map(|k| {
            assert!(c.set(k, b"v", 0, 0).unwrap().is_done(), "{k}");
            let holders: Vec<usize> = (0..servers.len())
                .filter(|&s| Some(s) != skip && servers[s].raw_get(k.as_bytes()).is_some())
                .collect();
            assert_eq!(holders.len(), 1, "{k} on {holders:?}");
            for (s, m) in servers.iter().enumerate() {
                if Some(s) != skip {
                    m.raw(format!("delete {k}\r\n").as_bytes(), b"\r\n");
                }
            }
            holders[0]
        })
        .collect()
}

/// mcring's retry timeout in the round trip: long enough that writing the
/// test's keys fits inside it on a loaded 2-core machine.
const RETRY_MS: u64 = 3000;

#[test]
fn eject_round_trip_kill_eject_restart_back_equals_libmemcached() {
    // kill -> ejected -> restarted -> after the retry timeout back in the
    // ring, with placement equal to libmemcached's at each stage (the real
    // library goes through the same round trip beside mcring).
    let weights = [1u32, 3, 2, 5];
    let dead = 2;
    let mut servers: Vec<Memcached> = weights.iter().map(|_| Memcached::start()).collect();
    let specs: Vec<String> =
        servers.iter().zip(&weights).map(|(m, w)| format!("{}:{w}", m.spec())).collect();
    let keys: Vec<String> = (0..600).map(|i| format!("rt:{i}:{}", i * 31)).collect();
    servers[dead].kill();
    let mut oracle = spawn(
        Command::new(eject_oracle())
            .arg("--roundtrip")
            .arg("ketama-weighted")
            .arg(dead.to_string())
            .args(&specs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let mut to_oracle = oracle.stdin.take().unwrap();
    let input: String = keys.iter().map(|k| format!("{k}\n")).collect();
    to_oracle.write_all(format!("{input}\n").as_bytes()).unwrap();
    let mut from_oracle = std::io::BufReader::new(oracle.stdout.take().unwrap());
    let read_placement = |r: &mut std::io::BufReader<_>| -> Vec<usize> {
        use std::io::BufRead;
        (0..keys.len())
            .map(|_| {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                line.trim().parse().unwrap()
            })
            .collect()
    };
    let lm_ejected = read_placement(&mut from_oracle);

    let c = Client::from_config_str(&format!(
        "{} failover=eject failure_limit=1 retry_timeout_ms={RETRY_MS} connect_timeout_ms=300",
        specs.join(" ")
    ))
    .unwrap();
    let mut i = 0;
    while c.alive()[dead].1 && i < keys.len() {
        let _ = c.get(&keys[i]);
        i += 1;
    }
    assert!(!c.alive()[dead].1, "mcring marked the dead server");
    // Once the retry time has come the full ring is rightly back in use
    // (the request that probes the server places on it), so the ejected
    // placement is only compared while the server is not yet due: writing
    // 600 keys is ~4,200 loopback round trips, seconds on a loaded machine.
    let ejected_at = std::time::Instant::now();
    let mc_ejected = placed(&c, &servers, &keys, Some(dead));
    let took = ejected_at.elapsed();
    assert!(
        took < std::time::Duration::from_millis(RETRY_MS),
        "placing the keys took {took:?}, past the retry timeout: the comparison would be moot"
    );
    assert_eq!(mc_ejected, lm_ejected, "ejected: libmemcached's ring");

    servers[dead].restart();
    {
        use std::io::BufRead;
        let mut sep = String::new();
        from_oracle.read_line(&mut sep).unwrap();
        assert_eq!(sep.trim(), "---");
    }
    to_oracle.write_all(b"go\n").unwrap();
    let lm_back = read_placement(&mut from_oracle);
    assert!(oracle.wait().unwrap().success(), "oracle failed");
    assert!(lm_back.contains(&dead), "libmemcached took the server back");

    // mcring: after the retry timeout the next request that needs the
    // server probes it, and the full ring is back.
    std::thread::sleep(std::time::Duration::from_millis(RETRY_MS + 100).saturating_sub(took));
    let mut sets_on_dead = 0;
    for k in &keys {
        let _ = c.set(k, b"v", 0, 0);
        if servers[dead].raw_get(k.as_bytes()).is_some() {
            sets_on_dead += 1;
        }
        if c.alive()[dead].1 {
            break;
        }
    }
    assert!(c.alive()[dead].1, "the ejected server came back ({sets_on_dead} sets reached it)");
    assert_eq!(placed(&c, &servers, &keys, None), lm_back, "back: libmemcached's full ring");
}
