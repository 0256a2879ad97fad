//! DNS discovery against a real DNS server (dnsmasq on loopback, its own
//! records only) and memcached servers on distinct loopback addresses, one
//! port: a `dns+` pool scales 3 -> 5 -> 2 by changing records and the
//! client follows within `dns_refresh_s` with no request failing; an empty
//! answer or a dead DNS server keeps the last good list; `srv+` takes
//! targets, ports and weights from SRV records. Placement after every change
//! is libmemcached's for the list found (the oracle).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcring::{Client, ServerSpec};
use mcring_tests::dnsmasq::{Dnsmasq, Srv};
use mcring_tests::{oracle, Memcached};

const NAME: &str = "memcached.caching.test";

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

fn records(ips: &[Ipv4Addr]) -> Vec<(&'static str, Ipv4Addr)> {
    ips.iter().map(|&ip| (NAME, ip)).collect()
}

fn names(client: &Client) -> Vec<String> {
    client.servers().iter().map(ServerSpec::name).collect()
}

fn expected(ips: &[Ipv4Addr], port: u16) -> Vec<String> {
    let mut v: Vec<Ipv4Addr> = ips.to_vec();
    v.sort();
    v.iter().map(|ip| format!("{ip}:{port}")).collect()
}

fn keys() -> Vec<Vec<u8>> {
    (0..2000).map(|i| format!("dns:{i}").into_bytes()).collect()
}

fn assert_oracle_placement(client: &Client, keys: &[Vec<u8>]) {
    let servers = client.servers();
    let want = oracle::owners(&servers, keys, "ketama-weighted");
    let got: Vec<usize> = keys.iter().map(|k| client.server_index_for(k).unwrap()).collect();
    assert_eq!(want, got, "placement equals libmemcached's for {servers:?}");
}

/// Waits until the client's list is `want`; how long it took.
fn wait_for_list(client: &Client, want: &[String], bound: Duration) -> Duration {
    let start = Instant::now();
    loop {
        // Requests drive the refresh; the workers make them too.
        let _ = client.get("tick");
        if names(client) == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < bound, "list {:?} never became {want:?}", names(client));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_dns_pool_scales_3_5_2_without_a_failed_request() {
    let servers = Memcached::start_on_one_port(&[ip(2), ip(3), ip(4), ip(5), ip(6)]);
    let port = servers[0].port;
    let all: Vec<Ipv4Addr> = (2..=6).map(ip).collect();
    let dns = Dnsmasq::start(&records(&all[..3]), &[]);
    let refresh_s = 1;
    let config = format!(
        "dns+{NAME}:{port} dns_server={} dns_refresh_s={refresh_s} io_timeout_ms=3000",
        dns.addr()
    );
    let client = Arc::new(Client::from_config_str(&config).unwrap());
    // The constructor resolved the name.
    assert_eq!(names(&client), expected(&all[..3], port));
    let keys = keys();
    assert_oracle_placement(&client, &keys);
    for k in &keys {
        client.set(k, k, 0, 0).unwrap();
    }

    // Requests on four threads through every change; none may fail.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (client, stop, done, failures) =
                (client.clone(), stop.clone(), done.clone(), failures.clone());
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let k = &keys[i % keys.len()];
                    let r = if i % 2 == 0 {
                        client.set(k, k, 0, 0).map(|_| ())
                    } else {
                        client.get(k).map(|v| assert!(v.is_none_or(|v| v.value == *k)))
                    };
                    if let Err(e) = r {
                        failures.lock().unwrap().push(e.to_string());
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 5;
                }
            })
        })
        .collect();

    let bound = Duration::from_secs(10);
    for stage in [&all[..5], &all[3..5]] {
        dns.set_hosts(&records(stage));
        let took = wait_for_list(&client, &expected(stage, port), bound);
        eprintln!(
            "{} servers: the client followed in {took:?} (dns_refresh_s={refresh_s})",
            stage.len()
        );
        assert!(
            took < Duration::from_secs(refresh_s + 3),
            "followed within dns_refresh_s: {took:?}"
        );
        assert_oracle_placement(&client, &keys);
    }

    // An empty answer is not applied.
    dns.set_hosts(&[]);
    std::thread::sleep(Duration::from_millis(2500));
    let _ = client.get("tick");
    assert_eq!(names(&client), expected(&all[3..5], port), "an empty answer wipes nothing");
    assert!(client.discovery_stats().empty_answers > 0, "{:?}", client.discovery_stats());

    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} requests failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(done.load(Ordering::Relaxed) > 200);
    let stats = client.discovery_stats();
    assert_eq!(stats.changes, 2, "{stats:?}");
    assert!(stats.resolutions >= 3);
}

#[test]
fn a_failed_resolution_keeps_the_last_good_list() {
    let servers = Memcached::start_on_one_port(&[ip(7), ip(8)]);
    let port = servers[0].port;
    let mut dns = Dnsmasq::start(&records(&[ip(7), ip(8)]), &[]);
    let config = format!(
        "dns+{NAME}:{port} dns_server={} dns_refresh_s=1 connect_timeout_ms=300",
        dns.addr()
    );
    let client = Client::from_config_str(&config).unwrap();
    assert_eq!(names(&client), expected(&[ip(7), ip(8)], port));
    client.set("k", b"v", 0, 0).unwrap();
    dns.kill();
    let start = Instant::now();
    while client.discovery_stats().failures == 0 {
        assert!(start.elapsed() < Duration::from_secs(15), "the failure is counted");
        assert_eq!(client.get("k").unwrap().unwrap().value, b"v", "requests go on");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(names(&client), expected(&[ip(7), ip(8)], port));
    let stats = client.discovery_stats();
    assert!(stats.last_error.as_deref().unwrap_or("").contains(NAME), "{stats:?}");

    // A name that never resolved: no servers until it does.
    let lonely = Client::from_config_str(&format!(
        "dns+nothing.caching.test:{port} dns_server={} dns_refresh_s=1 connect_timeout_ms=300",
        dns.addr()
    ))
    .unwrap();
    assert!(lonely.servers().is_empty());
    assert!(matches!(lonely.get("k"), Err(mcring::Error::NoServers)));
    dns.restart(&[("nothing.caching.test", ip(7))], &[]);
    lonely.refresh_dns();
    assert_eq!(names(&lonely), [format!("127.0.0.7:{port}")]);
    lonely.set("k2", b"v2", 0, 0).unwrap();
    assert_eq!(lonely.get("k2").unwrap().unwrap().value, b"v2");
}

#[test]
fn srv_records_give_targets_ports_and_weights() {
    let a = Memcached::start_on(ip(9));
    let b = Memcached::start_on(ip(10));
    let c = Memcached::start_on(ip(11));
    let service = "_memcache._tcp.mc.caching.test";
    let srv = |target: &str, port: u16, priority: u16, weight: u16| Srv {
        name: service.into(),
        target: target.into(),
        port,
        priority,
        weight,
    };
    let hosts = [
        ("m0.mc.caching.test", ip(9)),
        ("m1.mc.caching.test", ip(10)),
        ("m2.mc.caching.test", ip(11)),
    ];
    let mut dns = Dnsmasq::start(
        &hosts,
        &[
            srv("m0.mc.caching.test", a.port, 0, 10),
            srv("m1.mc.caching.test", b.port, 0, 30),
            // A backup (a higher priority value) is not a member.
            srv("m2.mc.caching.test", c.port, 5, 10),
        ],
    );
    let client =
        Client::from_config_str(&format!("srv+{service} dns_server={}", dns.addr())).unwrap();
    let list = client.servers();
    let got: Vec<(String, u32)> = list.iter().map(|s| (s.name(), s.weight)).collect();
    assert_eq!(
        got,
        [
            (format!("m0.mc.caching.test:{}", a.port), 10),
            (format!("m1.mc.caching.test:{}", b.port), 30)
        ]
    );
    let keys = keys();
    assert_oracle_placement(&client, &keys);
    // The targets are reached at the addresses the same DNS server gave
    // (the system resolver does not know these names).
    for k in &keys[..200] {
        client.set(k, k, 0, 0).unwrap();
        assert_eq!(client.get(k).unwrap().unwrap().value, *k);
    }
    assert!(a.curr_items() > 0 && b.curr_items() > 0 && c.curr_items() == 0);

    // New records: the third server joins with its weight.
    dns.restart(
        &hosts,
        &[
            srv("m0.mc.caching.test", a.port, 0, 10),
            srv("m1.mc.caching.test", b.port, 0, 30),
            srv("m2.mc.caching.test", c.port, 0, 20),
        ],
    );
    client.refresh_dns();
    assert_eq!(client.servers().len(), 3);
    assert_oracle_placement(&client, &keys);
    // Migration: keys that moved to m2 are still read.
    for k in &keys[..200] {
        assert_eq!(client.get(k).unwrap().unwrap().value, *k, "moved keys migrate");
    }
    assert!(c.curr_items() > 0);
}
