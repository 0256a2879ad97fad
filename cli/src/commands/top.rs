//! `top`: the hottest keys, from memcached's `watch fetchers` log,
//! sampled on every server at once for `--duration` seconds.
//!
//! Text: `COUNT KEY SERVER` per key, most fetched first (hits and misses
//! alike: a hot missing key is a stampede in the making), at most
//! `--limit` lines. Keys are shown without the config's prefix.
//! memcached drops log lines when the watcher falls behind; how many is
//! said on stderr, the counts are then a sample.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mcring::watch::{Watch, WatchLine};
use serde_json::json;

use super::get::text_or_escaped;
use crate::args::{self, Global};
use crate::escape::escape;
use crate::failure::{warn, Failure, FAILED, OK};
use crate::out::Out;
use crate::pool;

/// Distinct keys counted per server; beyond this new keys are not counted
/// (the hottest ones are seen early).
const MAX_KEYS: usize = 1_000_000;

/// What one server's watch saw.
#[derive(Default)]
struct Seen {
    fetches: HashMap<Vec<u8>, u64>,
    skipped: u64,
}

fn watch_one(
    spec: &mcring::ServerSpec,
    config: &mcring::Config,
    until: Instant,
) -> mcring::Result<Seen> {
    let mut watch = Watch::start(
        spec,
        Duration::from_millis(config.connect_timeout_ms),
        Duration::from_millis(config.io_timeout_ms),
    )?;
    let mut seen = Seen::default();
    watch.read_until(until, |line| match line {
        WatchLine::Fetch(f) => {
            let len = seen.fetches.len();
            match seen.fetches.get_mut(&f.key) {
                Some(n) => *n += 1,
                None if len < MAX_KEYS => {
                    seen.fetches.insert(f.key, 1);
                }
                None => {}
            }
        }
        WatchLine::Skipped(n) => seen.skipped += n,
        WatchLine::Other => {}
    })?;
    Ok(seen)
}

pub fn run(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let spec: args::Spec = &[("--duration", true), ("--limit", true), ("--server", true)];
    let a = args::parse("top", rest, spec)?;
    a.expect(0, 0, "top [--duration SECONDS] [--limit N] [--server SERVER]")?;
    let duration = a.seconds("--duration", 5.0)?;
    let limit: usize = a.number("--limit", 20)?;
    let mut config = pool::load_config(global, &[])?;
    if let Some(s) = a.value("--server") {
        config = pool::only_server(config, s)?;
    }
    let until = Instant::now() + duration;
    let results: Vec<(String, mcring::Result<Seen>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = config
            .servers
            .iter()
            .map(|spec| (spec.name(), scope.spawn(|| watch_one(spec, &config, until))))
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| {
                let r = h.join().unwrap_or_else(|_| {
                    Err(mcring::Error::BadValue("watch thread panicked".into()))
                });
                (name, r)
            })
            .collect()
    });

    let prefix = config.prefix.as_bytes();
    let mut rows: Vec<(u64, Vec<u8>, &str)> = Vec::new();
    let mut failed = false;
    for (server, r) in &results {
        match r {
            Ok(seen) => {
                if seen.skipped > 0 {
                    warn(format_args!(
                        "{server}: memcached skipped {} log lines (the watch fell behind): counts are a sample",
                        seen.skipped
                    ));
                }
                for (key, &n) in &seen.fetches {
                    let key = key.strip_prefix(prefix).unwrap_or(key);
                    rows.push((n, key.to_vec(), server));
                }
            }
            Err(e) => {
                failed = true;
                warn(e);
            }
        }
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)).then_with(|| a.2.cmp(b.2)));
    let mut out = Out::new(global.json);
    for (n, key, server) in rows.iter().take(limit) {
        if out.json {
            out.json_line(&json!({"key": text_or_escaped(key), "count": n, "server": server}))?;
        } else {
            out.bytes(format!("{n} ").as_bytes())?;
            out.bytes(&escape(key))?;
            out.line(&format!(" {server}"))?;
        }
    }
    out.flush()?;
    Ok(if failed { FAILED } else { OK })
}
