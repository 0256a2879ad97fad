//! memcached's own statistics as Prometheus metrics, with the names, types
//! and labels of prom/memcached-exporter (`memcached_up`,
//! `memcached_commands_total{command,status}`, ...), so dashboards and
//! alerts written for it work unchanged; plus `memcached_hit_ratio` and the
//! ring's view of each server (`mcring_server_owned_fraction`).
//!
//! One difference: memcached-exporter exports one server per target, while
//! a pool is exported here in one scrape, so every sample carries a
//! `server` label (the server's name as configured).

use crate::config::ServerSpec;
use crate::metrics::{Exposition, Number};
use crate::ring::Ring;

/// Plain `stats` values: (stat, metric, is_counter, help).
const PLAIN: &[(&str, &str, bool, &str)] = &[
    // A counter in memcached-exporter; a gauge here, as Prometheus' own
    // lint (`promtool check metrics`) wants counters named `_total`.
    // Queries read it the same either way.
    ("uptime", "memcached_uptime_seconds", false, "Seconds since the server started."),
    ("time", "memcached_time_seconds", false, "The server's current UNIX time."),
    ("bytes", "memcached_current_bytes", false, "Bytes used to store items."),
    ("limit_maxbytes", "memcached_limit_bytes", false, "Bytes the server may use for storage."),
    ("curr_items", "memcached_current_items", false, "Items stored now."),
    ("total_items", "memcached_items_total", true, "Items stored since the server started."),
    ("bytes_read", "memcached_read_bytes_total", true, "Bytes read from the network."),
    ("bytes_written", "memcached_written_bytes_total", true, "Bytes sent to the network."),
    ("curr_connections", "memcached_current_connections", false, "Open connections."),
    ("total_connections", "memcached_connections_total", true, "Connections opened."),
    (
        "rejected_connections",
        "memcached_connections_rejected_total",
        true,
        "Connections rejected at the -c limit.",
    ),
    (
        "conn_yields",
        "memcached_connections_yielded_total",
        true,
        "Connections yielded at the -R limit.",
    ),
    (
        "listen_disabled_num",
        "memcached_connections_listener_disabled_total",
        true,
        "Times the listener was disabled at the connection limit.",
    ),
    ("evictions", "memcached_items_evicted_total", true, "Valid items evicted to free memory."),
    (
        "reclaimed",
        "memcached_items_reclaimed_total",
        true,
        "Items stored in expired items' memory.",
    ),
    ("store_too_large", "memcached_item_too_large_total", true, "Stores refused as too large."),
    (
        "store_no_memory",
        "memcached_item_no_memory_total",
        true,
        "Stores refused for lack of memory.",
    ),
    ("direct_reclaims", "memcached_direct_reclaims_total", true, "Direct reclaims by workers."),
    ("lru_crawler_starts", "memcached_lru_crawler_starts_total", true, "LRU crawler starts."),
    (
        "crawler_items_checked",
        "memcached_lru_crawler_items_checked_total",
        true,
        "Items examined by the LRU crawler.",
    ),
    (
        "crawler_reclaimed",
        "memcached_lru_crawler_reclaimed_total",
        true,
        "Items freed by the LRU crawler.",
    ),
    (
        "moves_to_cold",
        "memcached_lru_crawler_moves_to_cold_total",
        true,
        "Items moved from HOT or WARM to COLD.",
    ),
    (
        "moves_to_warm",
        "memcached_lru_crawler_moves_to_warm_total",
        true,
        "Items moved from COLD to WARM.",
    ),
    (
        "moves_within_lru",
        "memcached_lru_crawler_moves_within_lru_total",
        true,
        "Items reshuffled within HOT or WARM.",
    ),
    ("total_malloced", "memcached_malloced_bytes", false, "Bytes allocated to slab pages."),
    (
        "accepting_conns",
        "memcached_accepting_connections",
        false,
        "Whether it accepts connections.",
    ),
];

/// `stats` values written as seconds.microseconds.
const TIMEVAL: &[(&str, &str, &str)] = &[
    ("rusage_user", "memcached_process_user_cpu_seconds_total", "User CPU time of the server."),
    (
        "rusage_system",
        "memcached_process_system_cpu_seconds_total",
        "System CPU time of the server.",
    ),
];

/// `stats settings` values exported whatever the crawler does.
const SETTINGS: &[(&str, &str, &str)] =
    &[("maxconns", "memcached_max_connections", "Connections the server allows.")];

/// `stats settings` values exported when the LRU crawler is on; yes/no
/// values become 1/0.
const CRAWLER_SETTINGS: &[(&str, &str, &str)] = &[
    ("lru_crawler", "memcached_lru_crawler_enabled", "Whether the LRU crawler is on."),
    ("lru_crawler_sleep", "memcached_lru_crawler_sleep", "Microseconds between LRU crawls."),
    ("lru_crawler_tocrawl", "memcached_lru_crawler_to_crawl", "Items crawled per slab per run."),
    (
        "lru_maintainer_thread",
        "memcached_lru_crawler_maintainer_thread",
        "Whether the LRU maintainer thread runs.",
    ),
    ("hot_lru_pct", "memcached_lru_crawler_hot_percent", "Slab memory reserved for HOT LRU (%)."),
    (
        "warm_lru_pct",
        "memcached_lru_crawler_warm_percent",
        "Slab memory reserved for WARM LRU (%).",
    ),
    (
        "hot_max_factor",
        "memcached_lru_crawler_hot_max_factor",
        "HOT idle age: COLD age times this.",
    ),
    (
        "warm_max_factor",
        "memcached_lru_crawler_warm_max_factor",
        "WARM idle age: COLD age times this.",
    ),
];

/// Commands with `<op>_hits` and `<op>_misses` stats.
const HIT_MISS_COMMANDS: &[&str] = &["get", "delete", "incr", "decr", "cas", "touch"];

const COMMANDS_HELP: &str = "Requests by command and status.";

/// What one scrape of one server returned: `stats` and `stats settings`
/// as name/value pairs, `None` where the server did not answer.
#[derive(Clone, Copy, Debug)]
pub struct ServerScrape<'a> {
    /// The server's name (the `server` label).
    pub server: &'a str,
    /// `stats`; `None` means the server could not be reached.
    pub stats: Option<&'a [(String, String)]>,
    /// `stats settings`, when it was read.
    pub settings: Option<&'a [(String, String)]>,
}

fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn number(v: &str) -> Option<Number> {
    if let Ok(i) = v.parse::<u64>() {
        return Some(Number::Int(i));
    }
    v.parse::<f64>().ok().filter(|f| f.is_finite()).map(Number::Float)
}

fn stat_u64(pairs: &[(String, String)], name: &str) -> Option<u64> {
    find(pairs, name)?.parse().ok()
}

/// Adds one server's families. A server that did not answer is
/// `memcached_up 0` and nothing else; a value that does not parse is left
/// out rather than failing the scrape.
pub fn add_server(e: &mut Exposition, scrape: &ServerScrape<'_>) {
    let server = scrape.server;
    let labels = [("server", server)];
    let up = scrape.stats.is_some() as u64;
    e.gauge("memcached_up", "Whether the server answered this scrape.", &labels, up);
    let Some(stats) = scrape.stats else { return };

    if let Some(v) = find(stats, "version") {
        e.gauge(
            "memcached_version",
            "The server's version, as a label.",
            &[("server", server), ("version", v)],
            1u64,
        );
    }
    for &(stat, metric, is_counter, help) in PLAIN {
        let Some(v) = find(stats, stat).and_then(number) else { continue };
        if is_counter {
            e.counter(metric, help, &labels, v);
        } else {
            e.gauge(metric, help, &labels, v);
        }
    }
    for &(stat, metric, help) in TIMEVAL {
        if let Some(v) = find(stats, stat).and_then(|v| v.parse::<f64>().ok()) {
            e.counter(metric, help, &labels, v);
        }
    }

    let mut command = |cmd: &str, status: &str, v: u64| {
        e.counter(
            "memcached_commands_total",
            COMMANDS_HELP,
            &[("server", server), ("command", cmd), ("status", status)],
            v,
        );
    };
    for op in HIT_MISS_COMMANDS {
        if let Some(v) = stat_u64(stats, &format!("{op}_hits")) {
            command(op, "hit", v);
        }
        if let Some(v) = stat_u64(stats, &format!("{op}_misses")) {
            command(op, "miss", v);
        }
    }
    if let Some(v) = stat_u64(stats, "cas_badval") {
        command("cas", "badval", v);
    }
    if let Some(v) = stat_u64(stats, "cmd_flush") {
        command("flush", "hit", v);
    }
    // memcached counts cas commands in cmd_set too.
    let cas: Option<u64> =
        ["cas_misses", "cas_hits", "cas_badval"].iter().map(|s| stat_u64(stats, s)).sum();
    if let (Some(set), Some(cas)) = (stat_u64(stats, "cmd_set"), cas) {
        command("set", "hit", set.saturating_sub(cas));
    }

    if let (Some(hits), Some(misses)) = (stat_u64(stats, "get_hits"), stat_u64(stats, "get_misses"))
    {
        if hits + misses > 0 {
            e.gauge(
                "memcached_hit_ratio",
                "get_hits / (get_hits + get_misses) since the server started.",
                &labels,
                hits as f64 / (hits + misses) as f64,
            );
        }
    }

    let Some(settings) = scrape.settings else { return };
    for &(stat, metric, help) in SETTINGS {
        if let Some(v) = find(settings, stat).and_then(number) {
            e.gauge(metric, help, &labels, v);
        }
    }
    if find(settings, "lru_crawler") == Some("yes") {
        for &(stat, metric, help) in CRAWLER_SETTINGS {
            let v = match find(settings, stat) {
                Some("yes") => Number::Int(1),
                Some("no") => Number::Int(0),
                Some(v) => match number(v) {
                    Some(n) => n,
                    None => continue,
                },
                None => continue,
            };
            e.gauge(metric, help, &labels, v);
        }
    }
}

/// Adds `mcring_server_owned_fraction{server}`: the share of the hash space
/// each server owns on `ring` (all servers alive), from its continuum.
pub fn add_owned_fractions(e: &mut Exposition, servers: &[ServerSpec], ring: &Ring) {
    let fractions = ring.owned_fractions();
    for (spec, f) in servers.iter().zip(fractions) {
        e.gauge(
            "mcring_server_owned_fraction",
            "Share of the keyspace the server owns on the ring (all servers alive).",
            &[("server", &spec.name())],
            f,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        text.split_whitespace()
            .map(|t| {
                let (n, v) = t.split_once('=').unwrap();
                (n.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn maps_stats_to_memcached_exporter_names() {
        let stats = pairs(
            "pid=7 uptime=42 version=1.6.18 rusage_user=1.500000 curr_items=3 bytes=300 \
             limit_maxbytes=67108864 get_hits=75 get_misses=25 cmd_set=10 cas_hits=1 \
             cas_misses=1 cas_badval=1 evictions=2 curr_connections=4 bytes_read=99",
        );
        let settings = pairs("maxconns=1024 lru_crawler=yes lru_crawler_sleep=100");
        let mut e = Exposition::new();
        add_server(
            &mut e,
            &ServerScrape { server: "a:1", stats: Some(&stats), settings: Some(&settings) },
        );
        add_server(&mut e, &ServerScrape { server: "b:2", stats: None, settings: None });
        let t = e.render();
        for line in [
            "memcached_up{server=\"a:1\"} 1",
            "memcached_up{server=\"b:2\"} 0",
            "memcached_version{server=\"a:1\",version=\"1.6.18\"} 1",
            "memcached_uptime_seconds{server=\"a:1\"} 42",
            "memcached_process_user_cpu_seconds_total{server=\"a:1\"} 1.5",
            "memcached_current_items{server=\"a:1\"} 3",
            "memcached_current_bytes{server=\"a:1\"} 300",
            "memcached_limit_bytes{server=\"a:1\"} 67108864",
            "memcached_commands_total{server=\"a:1\",command=\"get\",status=\"hit\"} 75",
            "memcached_commands_total{server=\"a:1\",command=\"get\",status=\"miss\"} 25",
            "memcached_commands_total{server=\"a:1\",command=\"cas\",status=\"badval\"} 1",
            "memcached_commands_total{server=\"a:1\",command=\"set\",status=\"hit\"} 7",
            "memcached_items_evicted_total{server=\"a:1\"} 2",
            "memcached_current_connections{server=\"a:1\"} 4",
            "memcached_read_bytes_total{server=\"a:1\"} 99",
            "memcached_hit_ratio{server=\"a:1\"} 0.75",
            "memcached_max_connections{server=\"a:1\"} 1024",
            "memcached_lru_crawler_enabled{server=\"a:1\"} 1",
            "memcached_lru_crawler_sleep{server=\"a:1\"} 100",
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line:?} in\n{t}");
        }
        assert!(!t.contains("pid"), "stats without a mapping are left out");
        assert_eq!(t.matches("server=\"b:2\"").count(), 1, "a dead server is up 0 only");
        assert_eq!(t.matches("# TYPE memcached_up gauge").count(), 1);
    }

    #[test]
    fn owned_fractions_sum_to_one() {
        let c = crate::Config::parse("a:1 b:1 c:1:2").unwrap();
        let ring = Ring::new(&c.servers, c.distribution, c.key_hash());
        let mut e = Exposition::new();
        add_owned_fractions(&mut e, &c.servers, &ring);
        let t = e.render();
        let sum: f64 = t
            .lines()
            .filter(|l| l.starts_with("mcring_server_owned_fraction{"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "{t}");
    }
}
