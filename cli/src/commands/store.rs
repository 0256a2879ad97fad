//! `set`, `add` and `load`: writes.

use std::io::Read;

use mcring::{SetItem, Status, StoreMode};
use serde_json::json;

use super::get::{stdin_lines, text_or_escaped};
use crate::args::{self, Global};
use crate::failure::{warn, Failure, FAILED, NEGATIVE, OK};
use crate::out::Out;
use crate::pool;

/// Keys per fan-out for `load`.
const BATCH: usize = 10_000;

const WRITE_FLAGS: args::Spec = &[("--ttl", true), ("--stdin", false)];

/// `set` (`StoreMode::Set`) or `add` (`StoreMode::Add`) of one key.
pub fn run(global: &Global, rest: Vec<String>, mode: StoreMode) -> Result<u8, Failure> {
    let name = if mode == StoreMode::Add { "add" } else { "set" };
    let a = args::parse(name, rest, WRITE_FLAGS)?;
    let ttl: u32 = a.number("--ttl", 0)?;
    let usage = format!("{name} KEY (VALUE | --stdin) [--ttl SECONDS]");
    let (key, value) = match (a.flag("--stdin"), a.positional.as_slice()) {
        (false, [key, value]) => (key.clone(), value.as_bytes().to_vec()),
        (true, [key]) => {
            let mut v = Vec::new();
            std::io::stdin()
                .read_to_end(&mut v)
                .map_err(|e| Failure::usage(format!("reading stdin: {e}")))?;
            (key.clone(), v)
        }
        _ => return Err(Failure::usage(format!("usage: mcring {usage}"))),
    };
    let client = pool::connect(global)?;
    let status = client.store(mode, key.as_bytes(), &value, 0, ttl)?;
    let mut out = Out::new(global.json);
    if out.json {
        out.json_line(&json!({"key": key, "stored": status.is_done()}))?;
        out.flush()?;
    }
    match status {
        s if s.is_done() => Ok(OK),
        Status::NotStored | Status::Exists if mode == StoreMode::Add => Ok(NEGATIVE),
        other => Err(Failure { message: format!("{key}: not stored ({other:?})"), status: FAILED }),
    }
}

pub fn load(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("load", rest, &[("--ttl", true)])?;
    a.expect(0, 0, "load [--ttl SECONDS] < lines of KEY VALUE")?;
    let ttl: u32 = a.number("--ttl", 0)?;
    let client = pool::connect(global)?;
    let lines = stdin_lines()?;
    let mut items = Vec::with_capacity(lines.len());
    for (n, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let Some(i) = line.iter().position(|&b| b == b' ') else {
            return Err(Failure::usage(format!("line {}: expected `KEY VALUE`", n + 1)));
        };
        let (key, value) = (&line[..i], &line[i + 1..]);
        client.server_for(key)?;
        items.push(SetItem { key, value, flags: 0 });
    }
    let (mut stored, mut failed) = (0usize, 0usize);
    for chunk in items.chunks(BATCH) {
        for (item, result) in chunk.iter().zip(client.set_multi(chunk, ttl)?) {
            match result {
                Ok(s) if s.is_done() => stored += 1,
                Ok(other) => {
                    failed += 1;
                    warn(format_args!("{}: not stored ({other:?})", text_or_escaped(item.key)));
                }
                Err(e) => {
                    failed += 1;
                    warn(format_args!("{}: {e}", text_or_escaped(item.key)));
                }
            }
        }
    }
    let mut out = Out::new(global.json);
    if out.json {
        out.json_line(&json!({"stored": stored, "failed": failed}))?;
    } else {
        out.line(&format!("stored {stored}"))?;
    }
    out.flush()?;
    Ok(if failed > 0 { FAILED } else { OK })
}
