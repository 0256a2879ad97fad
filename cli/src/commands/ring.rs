//! The ring a config makes: `servers` (the servers now, DNS sources
//! resolved) and `diff-ring` (how many keys a change of config moves, so an
//! operator knows its cost before making it). Computed only: no memcached
//! server is contacted (DNS names are resolved).

use std::io::{self, BufRead};

use mcring::{Client, Config};
use serde_json::json;

use crate::args::{self, Global};
use crate::escape::escape_str;
use crate::failure::{warn, Failure, NEGATIVE, OK};
use crate::out::Out;
use crate::pool;

/// `servers`: `SERVER WEIGHT SOURCE` per server, in ring order; SOURCE is
/// `config` or the DNS source (`dns+...`, `srv+...`) that found it.
pub fn servers(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    args::parse("servers", rest, &[])?.expect(0, 0, "servers")?;
    let client = pool::connect(global)?;
    let members = client.members();
    let mut out = Out::new(global.json);
    let mut rows: Vec<(String, u32, String)> =
        members.named.iter().map(|s| (s.name(), s.weight, "config".to_string())).collect();
    for (source, found) in &members.found {
        if found.is_empty() {
            warn(format!("{source}: resolved to no server"));
        }
        rows.extend(found.iter().map(|s| (s.name(), s.weight, source.to_string())));
    }
    if let Some(e) = client.discovery_stats().last_error {
        warn(e);
    }
    for (server, weight, source) in &rows {
        if out.json {
            out.json_line(&json!({"server": server, "weight": weight, "source": source}))?;
        } else {
            out.line(&format!("{server} {weight} {source}"))?;
        }
    }
    out.flush()?;
    Ok(if rows.is_empty() { NEGATIVE } else { OK })
}

/// `diff-ring OLD_CONFIG NEW_CONFIG [--list] < keys`: `moved N of M (P%)`;
/// with `--list`, first `KEY OLD_SERVER NEW_SERVER` per key that moves.
pub fn diff_ring(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("diff-ring", rest, &[("--list", false)])?;
    a.expect(2, 2, "diff-ring OLD_CONFIG NEW_CONFIG [--list] < keys")?;
    let list = a.flag("--list");
    let ring = |text: &str| -> Result<Client, Failure> {
        let config = Config::parse(text)?;
        Ok(Client::new(config)?)
    };
    let old = ring(&a.positional[0])?;
    let new = ring(&a.positional[1])?;
    for (which, c) in [("OLD_CONFIG", &old), ("NEW_CONFIG", &new)] {
        if c.servers().is_empty() {
            return Err(Failure::usage(format!("{which} has no servers")));
        }
    }
    let mut input = io::BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut out = Out::new(global.json);
    let mut line = Vec::with_capacity(512);
    let (mut keys, mut moved, mut refused) = (0u64, 0u64, 0u64);
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| Failure::usage(format!("reading keys: {e}")))?;
        if n == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let (from, to) = match (old.server_for(&line), new.server_for(&line)) {
            (Ok(f), Ok(t)) => (f.name(), t.name()),
            (Err(e), _) | (_, Err(e)) => {
                refused += 1;
                warn(format!("key {}: {e}", escape_str(&line)));
                continue;
            }
        };
        keys += 1;
        if from != to {
            moved += 1;
            if list && out.json {
                out.json_line(&json!({"key": super::get::text_or_escaped(&line),
                    "old": from, "new": to}))?;
            } else if list {
                out.line(&format!("{} {from} {to}", escape_str(&line)))?;
            }
        }
    }
    let pct = if keys == 0 { 0.0 } else { moved as f64 * 100.0 / keys as f64 };
    if out.json {
        out.json_line(&json!({"moved": moved, "keys": keys, "percent": pct, "refused": refused}))?;
    } else {
        out.line(&format!("moved {moved} of {keys} ({pct:.2}%)"))?;
    }
    out.flush()?;
    Ok(if refused > 0 { NEGATIVE } else { OK })
}
