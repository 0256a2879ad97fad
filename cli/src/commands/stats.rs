//! `stats [GROUP] [--server S]`: every server's statistics side by side.
//!
//! Text: a table, one column per server. The first row, `server_state`,
//! says `ok` or `down` for each server; a value a server did not report
//! (or a server that did not answer) is `-`. Each server that did not
//! answer is also named on stderr, and the exit status is 2.

use serde_json::{json, Map, Value};

use crate::args::{self, Global};
use crate::failure::{warn, Failure, FAILED, OK};
use crate::out::Out;
use crate::pool;

pub fn run(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("stats", rest, &[("--server", true)])?;
    a.expect(0, 1, "stats [GROUP] [--server SERVER]")?;
    let group = a.positional.first().map(String::as_str);
    let client = pool::connect_to(global, a.value("--server"))?;
    let columns: Vec<Column> = client.server_stats(group);
    let mut out = Out::new(global.json);
    let mut failed = false;
    for (server, result) in &columns {
        if let Err(e) = result {
            failed = true;
            warn(e);
            if !out.json {
                continue;
            }
            out.json_line(&json!({"server": server, "ok": false, "error": e.to_string()}))?;
        } else if let (Ok(pairs), true) = (result, out.json) {
            let stats: Map<String, Value> =
                pairs.iter().map(|(n, v)| (n.clone(), Value::String(v.clone()))).collect();
            out.json_line(&json!({"server": server, "ok": true, "stats": stats}))?;
        }
    }
    if !out.json {
        table(&mut out, &columns)?;
    }
    out.flush()?;
    Ok(if failed { FAILED } else { OK })
}

type Column = (String, Result<Vec<(String, String)>, mcring::Error>);

fn table(out: &mut Out, columns: &[Column]) -> Result<(), Failure> {
    let mut names: Vec<&str> = Vec::new();
    for (_, pairs) in columns {
        for (n, _) in pairs.iter().flatten() {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let state = |r: &Result<_, _>| if r.is_ok() { "ok" } else { "down" };
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0).max("server_state".len());
    let col_width: Vec<usize> = columns
        .iter()
        .map(|(server, pairs)| {
            let values = pairs.iter().flatten().map(|(_, v)| v.len()).max().unwrap_or(0);
            values.max(server.len()).max(4)
        })
        .collect();
    let mut line = format!("{:width$}", "stat");
    for ((server, _), w) in columns.iter().zip(&col_width) {
        line.push_str(&format!("  {server:>w$}"));
    }
    out.line(line.trim_end())?;
    let mut line = format!("{:width$}", "server_state");
    for ((_, r), w) in columns.iter().zip(&col_width) {
        line.push_str(&format!("  {:>w$}", state(r)));
    }
    out.line(&line)?;
    for name in names {
        let mut line = format!("{name:width$}");
        for ((_, pairs), w) in columns.iter().zip(&col_width) {
            let v = pairs
                .as_ref()
                .ok()
                .and_then(|p| p.iter().find(|(n, _)| n == name))
                .map_or("-", |(_, v)| v.as_str());
            line.push_str(&format!("  {v:>w$}"));
        }
        out.line(&line)?;
    }
    Ok(())
}
