//! `monitor`: per server and per interval, the hit rate, evictions per
//! second and commands per second, from the change of memcached's own
//! counters; a server that does not answer is reported and watched on.
//!
//! ```text
//! TIME SERVER HIT_RATE EVICTIONS_PER_S COMMANDS_PER_S   a server that answered
//! TIME SERVER down                                      one that did not
//! TIME SERVER below HIT_RATE                            under --hit-rate-below
//! ```
//!
//! TIME is UTC (`2026-12-01T20:06:00Z`); HIT_RATE a percentage with two
//! decimals, or `-` when the interval had no gets (or no earlier sample
//! to compare with, as after a restart). With `--hit-rate-below PCT` the
//! command exits 2 after the first interval in which a server is below it
//! (one `below` line per such server); otherwise it runs `--count`
//! intervals (default: until interrupted) and exits 2 if a server failed to
//! answer at some point, else 0.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::args::{self, Global};
use crate::failure::{warn, Failure, FAILED, OK};
use crate::out::Out;
use crate::pool;

/// The counters that make up "commands" (meta commands count in them).
const COMMANDS: &[&str] = &[
    "cmd_get",
    "cmd_set",
    "cmd_touch",
    "cmd_flush",
    "delete_hits",
    "delete_misses",
    "incr_hits",
    "incr_misses",
    "decr_hits",
    "decr_misses",
];

/// The counters `monitor` needs from one `stats` reply.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Instant,
    uptime: u64,
    hits: u64,
    misses: u64,
    evictions: u64,
    commands: u64,
}

impl Sample {
    fn of(at: Instant, pairs: &[(String, String)]) -> Sample {
        let map: HashMap<&str, u64> =
            pairs.iter().filter_map(|(n, v)| Some((n.as_str(), v.parse().ok()?))).collect();
        let get = |n: &str| map.get(n).copied().unwrap_or(0);
        Sample {
            at,
            uptime: get("uptime"),
            hits: get("get_hits"),
            misses: get("get_misses"),
            evictions: get("evictions"),
            commands: COMMANDS.iter().map(|n| get(n)).sum(),
        }
    }
}

/// Rates between two samples of one server: (hit rate %, evictions/s,
/// commands/s); `None` when the counters went back (a restart).
fn rates(before: &Sample, now: &Sample) -> Option<(Option<f64>, f64, f64)> {
    if now.uptime < before.uptime
        || now.hits < before.hits
        || now.misses < before.misses
        || now.evictions < before.evictions
        || now.commands < before.commands
    {
        return None;
    }
    let secs = now.at.duration_since(before.at).as_secs_f64().max(1e-6);
    let (hits, misses) = (now.hits - before.hits, now.misses - before.misses);
    let hit_rate = (hits + misses > 0).then(|| 100.0 * hits as f64 / (hits + misses) as f64);
    let evictions = (now.evictions - before.evictions) as f64 / secs;
    let commands = (now.commands - before.commands) as f64 / secs;
    Some((hit_rate, evictions, commands))
}

/// UTC time as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic
/// Gregorian calendar).
pub fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn two(v: f64) -> String {
    format!("{v:.2}")
}

pub fn run(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let spec: args::Spec = &[("--interval", true), ("--count", true), ("--hit-rate-below", true)];
    let a = args::parse("monitor", rest, spec)?;
    a.expect(0, 0, "monitor [--interval SECONDS] [--count N] [--hit-rate-below PCT]")?;
    let interval = a.seconds("--interval", 5.0)?.max(Duration::from_millis(10));
    let count: Option<u64> = a.value("--count").map(|_| a.number("--count", 0)).transpose()?;
    let threshold: Option<f64> =
        a.value("--hit-rate-below").map(|_| a.number("--hit-rate-below", 0.0)).transpose()?;
    let client = pool::connect(global)?;
    let mut out = Out::new(global.json);

    let sample_all = || -> Vec<(String, Result<Sample, mcring::Error>)> {
        client
            .server_stats(None)
            .into_iter()
            .map(|(server, r)| {
                let at = Instant::now();
                (server, r.map(|pairs| Sample::of(at, &pairs)))
            })
            .collect()
    };
    let mut previous: HashMap<String, Sample> = HashMap::new();
    let mut any_failed = false;
    for (server, r) in sample_all() {
        match r {
            Ok(s) => {
                previous.insert(server, s);
            }
            Err(e) => {
                any_failed = true;
                warn(e);
            }
        }
    }
    let start = Instant::now();
    let mut done = 0u64;
    while count.is_none_or(|c| done < c) {
        done += 1;
        let next = start + interval * done as u32;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let time = utc_now();
        let mut below = Vec::new();
        for (server, r) in sample_all() {
            let now = match r {
                Ok(s) => s,
                Err(e) => {
                    any_failed = true;
                    warn(&e);
                    previous.remove(&server);
                    if out.json {
                        out.json_line(&json!({"time": time, "server": server, "up": false,
                            "error": e.to_string()}))?;
                    } else {
                        out.line(&format!("{time} {server} down"))?;
                    }
                    continue;
                }
            };
            let r = previous.get(&server).and_then(|before| rates(before, &now));
            previous.insert(server.clone(), now);
            let (hit_rate, evictions, commands) = match r {
                Some((h, e, c)) => (h, Some(e), Some(c)),
                None => (None, None, None),
            };
            if out.json {
                out.json_line(&json!({"time": time, "server": server, "up": true,
                    "hit_rate": hit_rate, "evictions_per_s": evictions,
                    "commands_per_s": commands}))?;
            } else {
                let dash = |v: Option<f64>| v.map_or("-".to_string(), two);
                out.line(&format!(
                    "{time} {server} {} {} {}",
                    dash(hit_rate),
                    dash(evictions),
                    dash(commands)
                ))?;
            }
            if let (Some(t), Some(h)) = (threshold, hit_rate) {
                if h < t {
                    below.push((server, h));
                }
            }
        }
        for (server, h) in &below {
            if out.json {
                out.json_line(&json!({"time": time, "server": server, "below": true,
                    "hit_rate": h, "threshold": threshold}))?;
            } else {
                out.line(&format!("{time} {server} below {}", two(*h)))?;
            }
        }
        out.flush()?;
        if !below.is_empty() {
            return Ok(FAILED);
        }
    }
    Ok(if any_failed { FAILED } else { OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Instant, hits: u64, misses: u64, evictions: u64, commands: u64) -> Sample {
        Sample { at, uptime: 10, hits, misses, evictions, commands }
    }

    #[test]
    fn rates_over_an_interval() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        let (h, e, c) = rates(&sample(t0, 100, 0, 0, 100), &sample(t1, 175, 25, 4, 300)).unwrap();
        assert_eq!(h, Some(75.0));
        assert_eq!(e, 2.0);
        assert_eq!(c, 100.0);
        let (h, _, _) = rates(&sample(t0, 5, 5, 0, 0), &sample(t1, 5, 5, 0, 0)).unwrap();
        assert_eq!(h, None, "no gets: no hit rate");
        assert!(rates(&sample(t1, 5, 5, 0, 9), &sample(t1, 1, 0, 0, 1)).is_none(), "restart");
    }

    #[test]
    fn utc_time_format() {
        let t = utc_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        assert!(t.starts_with("20"), "{t}");
    }

    #[test]
    fn interval_commands_include_meta_counted_ones() {
        let pairs: Vec<(String, String)> =
            [("cmd_get", "3"), ("cmd_set", "2"), ("delete_hits", "1")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        assert_eq!(Sample::of(Instant::now(), &pairs).commands, 6);
    }
}
