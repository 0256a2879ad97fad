//! A real Prometheus scrapes `mcring exporter` in front of three real
//! memcached servers: its HTTP API sees `memcached_up` and the hit ratio
//! of traffic this test made, and, through the shared metrics area the
//! test's client adds into (`--shm`), the client's counts and latency
//! histograms of that traffic; a killed server is `memcached_up 0` on the
//! next scrape (and the scrape itself stays up), and the checked-in
//! `MemcachedDown` alert goes pending for it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mcring::Client;
use mcring_tests::exporter::Exporter;
use mcring_tests::prometheus::Prometheus;
use mcring_tests::Memcached;
use serde_json::Value;

/// The samples of an instant query: (labels, value).
fn samples(prom: &Prometheus, promql: &str) -> Vec<(Value, f64)> {
    let body = prom.query(promql);
    let v: Value = serde_json::from_str(&body).expect("query result is JSON");
    assert_eq!(v["status"], "success", "{promql}: {body}");
    v["data"]["result"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let value =
                        r["value"][1].as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
                    (r["metric"].clone(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `check` every 200 ms until it holds; fails after `limit`.
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("not within {limit:?}: {what}");
}

#[test]
fn prometheus_sees_up_and_hit_ratio_and_a_killed_server() {
    let mut servers = [Memcached::start(), Memcached::start(), Memcached::start()];
    let config: String = servers.iter().map(|m| m.spec()).collect::<Vec<_>>().join(" ");
    // The client adds its metrics into a shared area, which the exporter
    // serves (as it would for PHP-FPM's workers).
    let shm = std::env::temp_dir().join(format!("mcring-prometheus-shm-{}", std::process::id()));
    let _ = std::fs::remove_file(&shm);
    mcring::shared_metrics::init(&shm).unwrap();

    // 1,000 gets, 25% of them misses.
    let client = Client::from_config_str(&config).unwrap();
    let hits: Vec<String> = (0..750).map(|i| format!("user:{i}")).collect();
    for k in &hits {
        client.set(k, b"profile", 0, 0).unwrap();
    }
    let misses: Vec<String> = (0..250).map(|i| format!("absent:{i}")).collect();
    let keys: Vec<&String> = hits.iter().chain(&misses).collect();
    let found = client.get_multi(&keys).unwrap();
    assert_eq!(found.iter().filter(|r| matches!(r, Ok(Some(_)))).count(), 750);

    let shm_arg = shm.display().to_string();
    let exporter = Exporter::start(&config, &["--scrape-timeout", "1", "--shm", &shm_arg]);
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus/alerts.yml");
    let prom = Prometheus::start(exporter.addr, "1s", &[rules]);

    eventually(Duration::from_secs(30), "three servers up", || {
        samples(&prom, "memcached_up == 1").len() == 3
    });
    let ratio = samples(
        &prom,
        r#"sum(memcached_commands_total{command="get",status="hit"}) / sum(memcached_commands_total{command="get"})"#,
    );
    assert_eq!(ratio.len(), 1);
    assert!((ratio[0].1 - 0.75).abs() <= 0.01, "hit ratio {}", ratio[0].1);
    // Per server, memcached_hit_ratio is what this test's keys did there.
    let per_server = samples(&prom, "memcached_hit_ratio");
    assert_eq!(per_server.len(), 3);
    for (labels, value) in &per_server {
        let server = labels["server"].as_str().unwrap();
        let on = |ks: &[String]| {
            ks.iter().filter(|k| client.server_for(k).unwrap().name() == server).count() as f64
        };
        let want = on(&hits) / (on(&hits) + on(&misses));
        assert!((value - want).abs() < 1e-9, "{server}: {value} != {want}");
    }
    let owned: f64 = samples(&prom, "sum(mcring_server_owned_fraction)")[0].1;
    assert!((owned - 1.0).abs() < 1e-9);

    // What the client saw of the same traffic: its counters, and one
    // latency observation per set and per server of the multi-get.
    let one = |promql: &str| {
        let s = samples(&prom, promql);
        assert_eq!(s.len(), 1, "{promql}: {s:?}");
        s[0].1
    };
    assert_eq!(one("sum(mcring_client_gets_total)"), 1000.0);
    assert_eq!(one("sum(mcring_client_hits_total) / sum(mcring_client_gets_total)"), 0.75);
    assert_eq!(one("sum(mcring_client_stored_total)"), 750.0);
    assert_eq!(one(r#"sum(mcring_client_request_duration_seconds_count{command="store"})"#), 750.0);
    assert_eq!(
        one(r#"sum(mcring_client_request_duration_seconds_count{command="get_multi"})"#),
        3.0
    );
    assert_eq!(samples(&prom, "mcring_client_request_duration_seconds_count").len(), 6);
    // The p99 of the sets, as the dashboard computes it, lies in the bucket
    // the client's own histograms put it in.
    let p99 = one(
        r#"histogram_quantile(0.99, sum by (le) (mcring_client_request_duration_seconds_bucket{command="store"}))"#,
    );
    let stats = client.stats();
    let mut store = mcring::histogram::HistogramSnapshot::default();
    for i in 0..stats.servers.len() {
        store = store.plus(&stats.latencies_of(i)[mcring::histogram::CommandClass::Store as usize]);
    }
    let upper = store.quantile_upper_bound(0.99).unwrap();
    let lower = mcring::histogram::BOUNDS_NS
        .iter()
        .map(|&ns| ns as f64 / 1e9)
        .rfind(|&b| b < upper)
        .unwrap_or(0.0);
    assert!(p99 > lower && p99 <= upper, "p99 {p99} outside ({lower}, {upper}]");

    // Kill one: the next scrapes say memcached_up 0 for it, the scrape
    // itself (`up`) stays 1, and the alert is pending.
    let victim = servers[1].spec();
    servers[1].kill();
    eventually(Duration::from_secs(15), "memcached_up 0 for the killed server", || {
        samples(&prom, &format!("memcached_up{{server=\"{victim}\"}}"))
            .first()
            .is_some_and(|(_, v)| *v == 0.0)
    });
    assert_eq!(
        samples(&prom, "up{job=\"mcring\"}")[0].1,
        1.0,
        "a dead server is not a failed scrape"
    );
    assert_eq!(samples(&prom, "memcached_up == 1").len(), 2);
    eventually(Duration::from_secs(15), "MemcachedDown pending for the killed server", || {
        let body = prom.api("/api/v1/alerts");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]["alerts"].as_array().is_some_and(|alerts| {
            alerts.iter().any(|a| {
                a["labels"]["alertname"] == "MemcachedDown"
                    && a["labels"]["server"] == victim.as_str()
            })
        })
    });
    let _ = std::fs::remove_file(&shm);
}
