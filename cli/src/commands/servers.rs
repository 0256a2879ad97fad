//! Commands on every server of the pool, each server reported on its own
//! line whatever the others do: `health`, `version`, `flush`, `wait-up`.

use std::time::{Duration, Instant};

use mcring::{Client, Config};
use serde_json::json;

use crate::args::{self, Global};
use crate::failure::{warn, Failure, FAILED, NEGATIVE, OK};
use crate::out::Out;
use crate::pool;

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

pub fn health(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    args::parse("health", rest, &[])?.expect(0, 0, "health")?;
    let client = pool::connect(global)?;
    let mut out = Out::new(global.json);
    let mut down = false;
    for h in client.health() {
        let latency = ms(h.latency);
        match &h.error {
            None if out.json => {
                out.json_line(&json!({"server": h.name, "up": true, "latency_ms": latency}))?
            }
            None => out.line(&format!("{} up {latency:.2}", h.name))?,
            Some(e) => {
                down = true;
                warn(e);
                if out.json {
                    out.json_line(&json!({"server": h.name, "up": false,
                        "latency_ms": latency, "error": e.to_string()}))?;
                } else {
                    out.line(&format!("{} down {latency:.2}", h.name))?;
                }
            }
        }
    }
    out.flush()?;
    Ok(if down { NEGATIVE } else { OK })
}

pub fn version(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    args::parse("version", rest, &[])?.expect(0, 0, "version")?;
    let client = pool::connect(global)?;
    let mut out = Out::new(global.json);
    let mut failed = false;
    for (server, result) in client.version() {
        match result {
            Ok(v) if out.json => out.json_line(&json!({"server": server, "version": v}))?,
            Ok(v) => out.line(&format!("{server} {v}"))?,
            Err(e) => {
                failed = true;
                warn(&e);
                if out.json {
                    out.json_line(&json!({"server": server, "error": e.to_string()}))?;
                } else {
                    out.line(&format!("{server} -"))?;
                }
            }
        }
    }
    out.flush()?;
    Ok(if failed { FAILED } else { OK })
}

pub fn flush(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("flush", rest, &[("--yes", false), ("--delay", true)])?;
    a.expect(0, 0, "flush --yes [--delay SECONDS]")?;
    if !a.flag("--yes") {
        return Err(Failure::usage("flush invalidates every item on every server: add --yes"));
    }
    let delay: u32 = a.number("--delay", 0)?;
    let client = pool::connect(global)?;
    let mut out = Out::new(global.json);
    let mut failed = false;
    for (server, result) in client.flush_all(delay) {
        let error = result.err();
        if let Some(e) = &error {
            failed = true;
            warn(e);
        }
        if out.json {
            let mut record = json!({"server": server, "flushed": error.is_none(), "delay": delay});
            if let (Some(e), Some(map)) = (&error, record.as_object_mut()) {
                map.insert("error".into(), e.to_string().into());
            }
            out.json_line(&record)?;
        } else {
            let word = if error.is_none() { "flushed" } else { "failed" };
            out.line(&format!("{server} {word}"))?;
        }
    }
    out.flush()?;
    Ok(if failed { FAILED } else { OK })
}

/// Waits until every server (configured and gutter) answers a `version`
/// probe: for restarts. Prints each server as it comes up, with the time
/// it took; at the timeout, the servers still down.
pub fn wait_up(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("wait-up", rest, &[("--timeout", true), ("--interval", true)])?;
    a.expect(0, 0, "wait-up --timeout SECONDS [--interval SECONDS]")?;
    if a.value("--timeout").is_none() {
        return Err(Failure::usage("usage: mcring wait-up --timeout SECONDS [--interval SECONDS]"));
    }
    let timeout = a.seconds("--timeout", 0.0)?;
    let interval = a.seconds("--interval", 0.1)?;
    let config = pool::load_config(global, &[])?;
    let start = Instant::now();
    let deadline = start + timeout;
    let mut waiting: Vec<_> = config.servers.iter().chain(&config.gutter).cloned().collect();
    let mut last_error: Vec<(String, String)> = Vec::new();
    let mut out = Out::new(global.json);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Each probe is bounded by the configured timeouts and by what is
        // left of --timeout.
        let bound = |ms: u64| ms.min(left.as_millis() as u64).max(1);
        let mut probe = Config::new(waiting.clone());
        probe.connect_timeout_ms = bound(config.connect_timeout_ms);
        probe.io_timeout_ms = bound(config.io_timeout_ms);
        let client = Client::new(probe)?;
        let mut still = Vec::new();
        last_error.clear();
        for (spec, h) in waiting.iter().zip(client.health()) {
            match h.error {
                None => {
                    let after = ms(start.elapsed());
                    if out.json {
                        out.json_line(&json!({"server": h.name, "up": true, "after_ms": after}))?;
                    } else {
                        out.line(&format!("{} up {after:.2}", h.name))?;
                    }
                }
                Some(e) => {
                    last_error.push((h.name, e.to_string()));
                    still.push(spec.clone());
                }
            }
        }
        out.flush()?;
        waiting = still;
        if waiting.is_empty() {
            return Ok(OK);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(interval.min(left));
    }
    for (server, e) in &last_error {
        warn(e);
        if out.json {
            out.json_line(&json!({"server": server, "up": false, "error": e}))?;
        } else {
            out.line(&format!("{server} down"))?;
        }
    }
    out.flush()?;
    Ok(NEGATIVE)
}
