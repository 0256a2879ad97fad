//! Per-key commands with one outcome line per key: `delete`, `touch`,
//! `exists`; and `incr` / `decr`.

use mcring::{Retrieval, Status};
use serde_json::json;

use crate::args::{self, Global};
use crate::escape::escape_str;
use crate::failure::{warn, Failure, FAILED, NEGATIVE, OK};
use crate::out::Out;
use crate::pool;

/// What happened to one key.
enum Outcome {
    /// The command took effect (`deleted`, `touched`, `yes`).
    Done,
    /// The key does not exist (`not_found`, `no`).
    Missing,
    /// The request failed (named on stderr).
    Failed(mcring::Error),
}

/// Prints one line per key (`KEY WORD`) and returns the exit status.
fn report(
    out: &mut Out,
    keys: &[String],
    outcomes: Vec<Outcome>,
    words: (&str, &str),
) -> Result<u8, Failure> {
    let (mut missing, mut failed) = (false, false);
    for (key, outcome) in keys.iter().zip(outcomes) {
        let (word, error) = match outcome {
            Outcome::Done => (words.0, None),
            Outcome::Missing => {
                missing = true;
                (words.1, None)
            }
            Outcome::Failed(e) => {
                failed = true;
                warn(format_args!("{key}: {e}"));
                ("failed", Some(e.to_string()))
            }
        };
        if out.json {
            let mut record = json!({"key": key, "result": word});
            if let (Some(e), Some(map)) = (error, record.as_object_mut()) {
                map.insert("error".into(), e.into());
            }
            out.json_line(&record)?;
        } else {
            out.line(&format!("{} {word}", escape_str(key.as_bytes())))?;
        }
    }
    out.flush()?;
    Ok(if failed {
        FAILED
    } else if missing {
        NEGATIVE
    } else {
        OK
    })
}

fn outcome(r: mcring::Result<Status>) -> Outcome {
    match r {
        Ok(s) if s.is_done() => Outcome::Done,
        Ok(_) => Outcome::Missing,
        Err(e) => Outcome::Failed(e),
    }
}

pub fn delete(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("delete", rest, &[])?;
    a.expect(1, usize::MAX, "delete KEY...")?;
    let client = pool::connect(global)?;
    let outcomes = client.delete_multi(&a.positional)?.into_iter().map(outcome).collect();
    report(&mut Out::new(global.json), &a.positional, outcomes, ("deleted", "not_found"))
}

pub fn touch(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("touch", rest, &[("--ttl", true)])?;
    a.expect(1, usize::MAX, "touch --ttl SECONDS KEY...")?;
    let ttl: u32 = match a.value("--ttl") {
        Some(_) => a.number("--ttl", 0)?,
        None => return Err(Failure::usage("usage: mcring touch --ttl SECONDS KEY...")),
    };
    let client = pool::connect(global)?;
    for key in &a.positional {
        client.server_for(key)?;
    }
    let outcomes = a.positional.iter().map(|k| outcome(client.touch(k, ttl))).collect();
    report(&mut Out::new(global.json), &a.positional, outcomes, ("touched", "not_found"))
}

/// Marks keys stale (meta `md I`) for `--stale-ttl` seconds (default 30)
/// instead of deleting them: readers through leases get the old value
/// while one of them recomputes it.
pub fn invalidate(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("invalidate", rest, &[("--stale-ttl", true)])?;
    a.expect(1, usize::MAX, "invalidate [--stale-ttl SECONDS] KEY...")?;
    let stale_ttl: u32 = match a.value("--stale-ttl") {
        Some(_) => a.number("--stale-ttl", 0)?,
        None => 30,
    };
    let client = pool::connect(global)?;
    for key in &a.positional {
        client.server_for(key)?;
    }
    let outcomes = a.positional.iter().map(|k| outcome(client.invalidate(k, stale_ttl))).collect();
    report(&mut Out::new(global.json), &a.positional, outcomes, ("invalidated", "not_found"))
}

pub fn exists(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("exists", rest, &[])?;
    a.expect(1, usize::MAX, "exists KEY...")?;
    let client = pool::connect(global)?;
    let found = client.get_multi_with(&a.positional, Retrieval::Get, |_, _| {})?;
    let outcomes = found
        .into_iter()
        .map(|r| match r {
            Ok(true) => Outcome::Done,
            Ok(false) => Outcome::Missing,
            Err(e) => Outcome::Failed(e),
        })
        .collect();
    report(&mut Out::new(global.json), &a.positional, outcomes, ("yes", "no"))
}

/// `incr` (or `decr` with `down`): prints the new value.
pub fn arith(global: &Global, rest: Vec<String>, down: bool) -> Result<u8, Failure> {
    let name = if down { "decr" } else { "incr" };
    let a = args::parse(name, rest, &[])?;
    a.expect(1, 2, &format!("{name} KEY [DELTA]"))?;
    let key = &a.positional[0];
    let delta: u64 = match a.positional.get(1) {
        None => 1,
        Some(d) => d.parse().map_err(|_| {
            Failure::usage(format!("{name}: bad DELTA {d:?}: expected 0..18446744073709551615"))
        })?,
    };
    let client = pool::connect(global)?;
    let result = if down { client.decr(key, delta)? } else { client.incr(key, delta)? };
    let mut out = Out::new(global.json);
    match result {
        Some(v) => {
            if out.json {
                out.json_line(&json!({"key": key, "value": v}))?;
            } else {
                out.line(&v.to_string())?;
            }
        }
        None if out.json => out.json_line(&json!({"key": key, "found": false}))?,
        None => {}
    }
    out.flush()?;
    Ok(if result.is_some() { OK } else { NEGATIVE })
}
