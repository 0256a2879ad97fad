//! Chaos: three real servers with `replicas=1`, worker threads in this
//! process and in forked processes sharing health, while one server at a
//! time is SIGKILLed and restarted or SIGSTOPped and resumed (0.3–1.5 s).
//!
//! Every worker owns its keys and remembers the last version of each it
//! wrote and was told was stored. It checks that no read returns a wrong
//! value or one older than that, and that no call takes longer than the
//! connect and I/O timeouts allow (plus slack). At the end the keys are
//! read once more: how many acknowledged writes are still there is the hit
//! rate, which stays high because a blip never empties a server.
//!
//! Its own test binary: it turns on shared health for the process.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcring::Client;
use mcring_tests::placement_inputs::Rng;
use mcring_tests::Memcached;

const CONNECT_MS: u64 = 200;
const IO_MS: u64 = 200;
/// Slack over a call's budget (a connect and an I/O timeout: one server is
/// disturbed at a time, so a call waits on at most one). It proves no call
/// hangs; it is generous for a loaded 2-core machine, not a speed claim.
const SLACK_MS: u64 = 1000;
const KEYS_PER_WORKER: usize = 150;
const THREADS: usize = 3;
const PROCESSES: usize = 3;

/// What one worker thread saw.
#[derive(Default)]
struct Report {
    ops: u64,
    wrong: u64,
    stale: u64,
    errors: u64,
    max_call: Duration,
    /// What the slowest call was.
    slowest: String,
    /// key -> last acknowledged version.
    acked: HashMap<String, u64>,
}

fn worker(c: &Client, who: &str, seed: u64, stop: &AtomicBool) -> Report {
    let mut rng = Rng::new(seed);
    let mut r = Report::default();
    let mut next_version: HashMap<String, u64> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        let i = rng.range(0, KEYS_PER_WORKER as u64 - 1);
        let key = format!("{who}:{i}");
        let t = Instant::now();
        let write = rng.percent(40);
        if write {
            let v = next_version.entry(key.clone()).or_insert(0);
            *v += 1;
            let value = format!("{key}={v}");
            match c.set(&key, value.as_bytes(), 0, 0) {
                Ok(status) if status.is_done() => {
                    r.acked.insert(key.clone(), *v);
                }
                Ok(_) => {}
                Err(_) => r.errors += 1,
            }
        } else {
            match c.get(&key) {
                Ok(Some(item)) => {
                    let text = String::from_utf8_lossy(&item.value).to_string();
                    match text.strip_prefix(&format!("{key}=")).and_then(|v| v.parse::<u64>().ok())
                    {
                        None => r.wrong += 1,
                        Some(v) if r.acked.get(&key).is_some_and(|&a| v < a) => {
                            if r.stale < 3 {
                                eprintln!(
                                    "stale: {key} read {v} after {} was acknowledged, at {:?}",
                                    r.acked[&key],
                                    std::time::SystemTime::now()
                                );
                            }
                            r.stale += 1
                        }
                        Some(_) => {}
                    }
                }
                Ok(None) => {}
                Err(_) => r.errors += 1,
            }
        }
        if t.elapsed() > r.max_call {
            r.max_call = t.elapsed();
            r.slowest = format!("{} {key}", if write { "set" } else { "get" });
        }
        r.ops += 1;
    }
    r
}

/// Runs THREADS workers on `c` until `stop`.
fn run_threads(c: &Arc<Client>, who: &str, seed: u64, stop: &Arc<AtomicBool>) -> Vec<Report> {
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (c, stop) = (c.clone(), stop.clone());
            let who = format!("{who}t{t}");
            std::thread::spawn(move || worker(&c, &who, seed * 31 + t as u64, &stop))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn encode(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "R {} {} {} {} {} {}\n",
            r.ops,
            r.wrong,
            r.stale,
            r.errors,
            r.max_call.as_micros(),
            r.slowest.replace(' ', "_")
        ));
        for (k, v) in &r.acked {
            out.push_str(&format!("A {k} {v}\n"));
        }
    }
    out
}

fn decode(text: &str) -> Vec<Report> {
    let mut reports: Vec<Report> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "R" => reports.push(Report {
                ops: f[1].parse().unwrap(),
                wrong: f[2].parse().unwrap(),
                stale: f[3].parse().unwrap(),
                errors: f[4].parse().unwrap(),
                max_call: Duration::from_micros(f[5].parse().unwrap()),
                slowest: f.get(6).unwrap_or(&"").replace('_', " "),
                acked: HashMap::new(),
            }),
            "A" => {
                reports.last_mut().unwrap().acked.insert(f[1].to_string(), f[2].parse().unwrap());
            }
            _ => panic!("bad report line {line}"),
        }
    }
    reports
}

#[test]
fn chaos_of_kills_and_stops_loses_nothing_acknowledged_and_serves_nothing_stale() {
    mcring::shared_health::init().unwrap();
    let duration = Duration::from_secs(40);
    let mut servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let config = format!(
        "{} replicas=1 read_repair=true failure_limit=2 retry_timeout_ms=300 \
         connect_timeout_ms={CONNECT_MS} io_timeout_ms={IO_MS}",
        servers.iter().map(|m| m.spec()).collect::<Vec<_>>().join(" ")
    );
    let c = Arc::new(Client::from_config_str(&config).unwrap());
    let stop = Arc::new(AtomicBool::new(false));

    // Forked workers: each reports on a pipe when its time is up.
    let mut children = Vec::new();
    for p in 0..PROCESSES {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe(2) into a two-element array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: fork in a test; the child runs workers and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: the write end belongs to this child now.
            let mut out = unsafe { std::fs::File::from_raw_fd(fds[1]) };
            let stop = Arc::new(AtomicBool::new(false));
            let timer = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(duration);
                    stop.store(true, Ordering::Relaxed);
                })
            };
            let reports = run_threads(&c, &format!("p{p}"), 1000 + p as u64, &stop);
            let _ = timer.join();
            let _ = out.write_all(encode(&reports).as_bytes());
            drop(out);
            // SAFETY: leave the child without running the test harness.
            unsafe { libc::_exit(0) };
        }
        // SAFETY: the parent keeps the read end only.
        unsafe { libc::close(fds[1]) };
        // SAFETY: the read end is ours.
        children.push((pid, unsafe { std::fs::File::from_raw_fd(fds[0]) }));
    }
    let local = {
        let (c, stop) = (c.clone(), stop.clone());
        std::thread::spawn(move || run_threads(&c, "main", 7, &stop))
    };

    // One server at a time: killed and restarted, or stopped and resumed.
    let mut rng = Rng::new(42);
    let (mut kills, mut stops) = (0, 0);
    let start = Instant::now();
    while start.elapsed() + Duration::from_secs(3) < duration {
        std::thread::sleep(Duration::from_millis(rng.range(500, 1500)));
        let victim = rng.range(0, 2) as usize;
        let outage = Duration::from_millis(rng.range(300, 1500));
        if rng.percent(50) {
            servers[victim].kill();
            std::thread::sleep(outage);
            servers[victim].restart();
            kills += 1;
        } else {
            servers[victim].pause();
            std::thread::sleep(outage);
            servers[victim].resume();
            stops += 1;
        }
    }
    std::thread::sleep(duration.saturating_sub(start.elapsed()));
    stop.store(true, Ordering::Relaxed);
    let mut reports = local.join().unwrap();
    for (pid, pipe) in children {
        let mut text = String::new();
        for line in BufReader::new(pipe).lines() {
            text.push_str(&line.unwrap());
            text.push('\n');
        }
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(status, 0, "a worker process failed");
        reports.extend(decode(&text));
    }

    // Every acknowledged write, read once more after the chaos.
    std::thread::sleep(Duration::from_millis(400));
    let reader = Client::from_config_str(&config).unwrap();
    let (mut acked, mut found) = (0u64, 0u64);
    for r in &reports {
        for (k, &v) in &r.acked {
            acked += 1;
            if let Ok(Some(item)) = reader.get(k) {
                if item.value == format!("{k}={v}").as_bytes() {
                    found += 1;
                }
            }
        }
    }
    let ops: u64 = reports.iter().map(|r| r.ops).sum();
    let wrong: u64 = reports.iter().map(|r| r.wrong).sum();
    let stale: u64 = reports.iter().map(|r| r.stale).sum();
    let errors: u64 = reports.iter().map(|r| r.errors).sum();
    let slowest = reports.iter().max_by_key(|r| r.max_call);
    let max_call = slowest.map(|r| r.max_call).unwrap_or_default();
    let slowest = slowest.map(|r| r.slowest.clone()).unwrap_or_default();
    let hit_rate = found as f64 / acked.max(1) as f64;
    // No server was flushed (since its last restart): blips cost keys, not
    // servers.
    let flushes: u64 =
        servers.iter().map(|m| m.stat("cmd_flush").and_then(|v| v.parse().ok()).unwrap_or(0)).sum();
    println!(
        "chaos: {ops} ops by {} workers in {PROCESSES} forked processes and this one, \
         {kills} kills, {stops} stops, {wrong} wrong, {stale} stale, {errors} errors, \
         max call {max_call:?} ({slowest}), {found} of {acked} acknowledged keys read back ({:.1}%), \
         {flushes} flushes",
        reports.len(),
        hit_rate * 100.0
    );
    assert_eq!(wrong, 0, "wrong values read");
    assert_eq!(stale, 0, "values older than an acknowledged write read");
    assert!(
        max_call < Duration::from_millis(CONNECT_MS + IO_MS + SLACK_MS),
        "a call took {max_call:?}"
    );
    assert!(ops > 10_000, "only {ops} operations");
    assert!(kills + stops >= 10, "only {kills} kills and {stops} stops");
    assert_eq!(flushes, 0, "a server was flushed");
    assert!(hit_rate > 0.9, "hit rate of acknowledged keys {hit_rate:.3}");
}
