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
