//! `mcring exporter` against real memcached: memcached-exporter's metric
//! names and values matching traffic the test made, the ring's ownership,
//! dead and stopped servers as `memcached_up 0` (never a failed scrape),
//! `promtool check metrics`, the client metrics of a shared metrics area
//! (`--shm`), and a clean stop on SIGTERM.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcring::{Client, Ring};
use mcring_tests::exporter::{sample, Exporter};
use mcring_tests::http::http_get;
use mcring_tests::Memcached;

/// `promtool check metrics` on an exposition: (passed, its complaints).
pub fn promtool_check_metrics(exposition: &str) -> (bool, String) {
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
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Traffic with a known answer: 750 keys stored, then 1,000 gets of which
/// 250 miss. Returns per server (hits, misses, items).
fn traffic(client: &Client) -> HashMap<String, (u64, u64, u64)> {
    let mut expected: HashMap<String, (u64, u64, u64)> = HashMap::new();
    let hits: Vec<String> = (0..750).map(|i| format!("hit:{i}")).collect();
    let misses: Vec<String> = (0..250).map(|i| format!("miss:{i}")).collect();
    for k in &hits {
        client.set(k, b"v", 0, 0).unwrap();
        let e = expected.entry(client.server_for(k).unwrap().name()).or_default();
        e.0 += 1;
        e.2 += 1;
    }
    for k in &misses {
        expected.entry(client.server_for(k).unwrap().name()).or_default().1 += 1;
    }
    let keys: Vec<&String> = hits.iter().chain(&misses).collect();
    let found = client.get_multi(&keys).unwrap();
    assert_eq!(found.iter().filter(|r| matches!(r, Ok(Some(_)))).count(), 750);
    expected
}

#[test]
fn exports_every_server_with_memcached_exporter_names_and_true_values() {
    let servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let config: String = servers.iter().map(|m| m.spec()).collect::<Vec<_>>().join(" ");
    let client = Client::from_config_str(&config).unwrap();
    let expected = traffic(&client);
    let exporter = Exporter::start(&config, &[]);
    let (status, text) = exporter.scrape();
    assert_eq!(status, 200);

    for m in &servers {
        let s = m.spec();
        let (hits, misses, items) = expected[&s];
        let at = |series: &str| {
            sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
        };
        assert_eq!(at(&format!("memcached_up{{server=\"{s}\"}}")), 1.0);
        let ratio = at(&format!("memcached_hit_ratio{{server=\"{s}\"}}"));
        assert!((ratio - hits as f64 / (hits + misses) as f64).abs() < 1e-12, "{s}: {ratio}");
        let get = |status: &str| {
            at(&format!(
                "memcached_commands_total{{server=\"{s}\",command=\"get\",status=\"{status}\"}}"
            ))
        };
        assert_eq!(get("hit"), hits as f64);
        assert_eq!(get("miss"), misses as f64);
        assert_eq!(
            at(&format!(
                "memcached_commands_total{{server=\"{s}\",command=\"set\",status=\"hit\"}}"
            )),
            items as f64
        );
        assert_eq!(at(&format!("memcached_current_items{{server=\"{s}\"}}")), items as f64);
        assert_eq!(at(&format!("memcached_limit_bytes{{server=\"{s}\"}}")), 64.0 * 1024.0 * 1024.0);
        for name in [
            "memcached_current_bytes",
            "memcached_current_connections",
            "memcached_uptime_seconds",
            "memcached_read_bytes_total",
            "memcached_written_bytes_total",
            "memcached_items_evicted_total",
            "memcached_max_connections",
            "mcring_scrape_duration_seconds",
        ] {
            at(&format!("{name}{{server=\"{s}\"}}"));
        }
    }
    let total_hits: u64 = expected.values().map(|e| e.0).sum();
    assert_eq!(total_hits, 750);

    // The ring's view equals the engine's continuum.
    let cfg = client.config();
    let ring = Ring::new(&cfg.servers, cfg.distribution, cfg.key_hash());
    let mut sum = 0.0;
    for (spec, f) in cfg.servers.iter().zip(ring.owned_fractions()) {
        let got =
            sample(&text, &format!("mcring_server_owned_fraction{{server=\"{}\"}}", spec.name()))
                .expect("owned fraction");
        assert_eq!(got, f);
        assert!(got > 0.2 && got < 0.5, "{got}");
        sum += got;
    }
    assert!((sum - 1.0).abs() < 1e-9);

    let (ok, complaints) = promtool_check_metrics(&text);
    assert!(ok, "promtool check metrics: {complaints}");

    assert_eq!(http_get(exporter.addr, "/nope", &[]).0, 404);
    assert_eq!(http_get(exporter.addr, "/", &[]).0, 200);
}

#[test]
fn dead_and_stopped_servers_are_up_0_not_a_failed_scrape() {
    let alive = Memcached::start();
    let mut killed = Memcached::start();
    let stopped = Memcached::start();
    let config = format!("{} {} {}", alive.spec(), killed.spec(), stopped.spec());
    let exporter = Exporter::start(&config, &["--scrape-timeout", "1"]);
    let (status, text) = exporter.scrape();
    assert_eq!(status, 200);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("memcached_up{") && l.ends_with(" 1")).count(),
        3
    );

    killed.kill();
    stopped.pause();
    let started = Instant::now();
    let (status, text) = exporter.scrape();
    let took = started.elapsed();
    assert_eq!(status, 200, "a dead server is not a failed scrape");
    // Servers are read in parallel, each within the scrape timeout (1 s):
    // a generous hang bound, not a speed claim.
    assert!(took < Duration::from_secs(5), "scrape took {took:?}");
    let up = |m: &Memcached| sample(&text, &format!("memcached_up{{server=\"{}\"}}", m.spec()));
    assert_eq!(up(&alive), Some(1.0));
    assert_eq!(up(&killed), Some(0.0));
    assert_eq!(up(&stopped), Some(0.0));
    assert!(
        sample(&text, &format!("memcached_current_items{{server=\"{}\"}}", alive.spec())).is_some()
    );
    assert!(sample(&text, &format!("memcached_current_items{{server=\"{}\"}}", killed.spec()))
        .is_none());
    let (ok, complaints) = promtool_check_metrics(&text);
    assert!(ok, "promtool check metrics: {complaints}");

    // Prometheus' own timeout header lowers the bound.
    let started = Instant::now();
    let (status, _) =
        http_get(exporter.addr, "/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "0.3")]);
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    // Every scrape asks again: the stopped server is back as soon as it runs.
    stopped.resume();
    let (_, text) = exporter.scrape();
    assert_eq!(sample(&text, &format!("memcached_up{{server=\"{}\"}}", stopped.spec())), Some(1.0));
}

#[test]
fn sigterm_stops_the_exporter_cleanly() {
    let m = Memcached::start();
    let mut exporter = Exporter::start(&m.spec(), &[]);
    assert_eq!(exporter.scrape().0, 200);
    let addr = exporter.addr;
    assert!(exporter.pid() > 0);
    assert_eq!(exporter.terminate(Duration::from_secs(5)), Some(0), "exit 0 after SIGTERM");
    assert!(std::net::TcpStream::connect(addr).is_err(), "the port is closed");
}

#[test]
fn shm_serves_the_metrics_every_client_of_the_area_counted() {
    let m = Memcached::start();
    let s = m.spec();
    let path = std::env::temp_dir().join(format!("mcring-exporter-shm-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    mcring::shared_metrics::init(&path).unwrap();
    // Two clients (as two workers would have): the area holds their sum.
    let a = Client::from_config_str(&s).unwrap();
    let b = Client::from_config_str(&s).unwrap();
    for i in 0..30 {
        a.set(format!("shm:{i}"), b"v", 0, 0).unwrap();
    }
    for i in 0..20 {
        b.get(format!("shm:{}", i * 2)).unwrap();
    }
    assert_eq!(a.stats().total.sets, 30, "each client keeps its own counts");

    let path_arg = path.display().to_string();
    let exporter = Exporter::start_without_servers(&["--shm", &path_arg]);
    let (status, text) = exporter.scrape();
    assert_eq!(status, 200);
    let at =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(at(&format!("mcring_shared_metrics_up{{path=\"{path_arg}\"}}")), 1.0);
    assert_eq!(at(&format!("mcring_client_sets_total{{server=\"{s}\"}}")), 30.0);
    assert_eq!(at(&format!("mcring_client_stored_total{{server=\"{s}\"}}")), 30.0);
    assert_eq!(at(&format!("mcring_client_gets_total{{server=\"{s}\"}}")), 20.0);
    assert_eq!(at(&format!("mcring_client_hits_total{{server=\"{s}\"}}")), 15.0);
    let count = |class: &str| {
        at(&format!(
            "mcring_client_request_duration_seconds_count{{server=\"{s}\",command=\"{class}\"}}"
        ))
    };
    assert_eq!(count("store"), 30.0);
    assert_eq!(count("get"), 20.0);
    assert_eq!(
        at(&format!(
            "mcring_client_request_duration_seconds_bucket{{server=\"{s}\",command=\"get\",le=\"+Inf\"}}"
        )),
        20.0
    );
    assert!(!text.contains("memcached_up"), "no servers to scrape");
    let (ok, complaints) = promtool_check_metrics(&text);
    assert!(ok, "promtool check metrics: {complaints}");

    // An area that cannot be read is a gauge of 0, not a failed scrape.
    let missing = "/nonexistent/mcring-metrics";
    let exporter = Exporter::start(&s, &["--shm", missing]);
    let (status, text) = exporter.scrape();
    assert_eq!(status, 200);
    assert_eq!(
        sample(&text, &format!("mcring_shared_metrics_up{{path=\"{missing}\"}}")),
        Some(0.0)
    );
    assert_eq!(sample(&text, &format!("memcached_up{{server=\"{s}\"}}")), Some(1.0));
    let _ = std::fs::remove_file(&path);
}
