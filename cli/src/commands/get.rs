//! `get`: values of keys, in request order, each hit on one line.

use std::io::{self, BufRead};

use mcring::value::{decode, php_double_text, Decoded};
use mcring::{Client, Item};
use serde_json::{json, Value};

use crate::args::{self, Global};
use crate::escape::{base64, escape};
use crate::failure::{warn, Failure, FAILED, NEGATIVE, OK};
use crate::out::Out;
use crate::pool;

/// Keys per fan-out when keys come from stdin.
const BATCH: usize = 10_000;

/// Reads stdin as lines (without their `\n`).
pub fn stdin_lines() -> Result<Vec<Vec<u8>>, Failure> {
    let mut input = io::BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| Failure::usage(format!("reading stdin: {e}")))?;
        if n == 0 {
            return Ok(lines);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        lines.push(line);
    }
}

pub fn run(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("get", rest, &[("--raw", false)])?;
    let raw = a.flag("--raw");
    if raw && a.positional.len() != 1 {
        return Err(Failure::usage("usage: mcring get --raw KEY (one key: its bytes exactly)"));
    }
    let client = pool::connect(global)?;
    let keys: Vec<Vec<u8>> = if a.positional.is_empty() {
        stdin_lines()?
    } else {
        a.positional.into_iter().map(String::into_bytes).collect()
    };
    // Every key is checked before anything is sent.
    for key in &keys {
        client.server_for(key)?;
    }
    let mut out = Out::new(global.json);
    let (mut missed, mut failed) = (false, false);
    for chunk in keys.chunks(BATCH) {
        for (key, result) in chunk.iter().zip(client.get_multi(chunk)?) {
            match result {
                Ok(Some(item)) => {
                    let (kind, value) = shown(&client, &item);
                    if raw {
                        out.bytes(&value)?;
                    } else if out.json {
                        let mut record =
                            json!({"key": text_or_escaped(key), "found": true, "type": kind});
                        put_bytes(&mut record, "value", &value);
                        out.json_line(&record)?;
                    } else {
                        out.bytes(&escape(key))?;
                        out.bytes(b" ")?;
                        out.bytes(&escape(&value))?;
                        out.bytes(b"\n")?;
                    }
                }
                Ok(None) => {
                    missed = true;
                    if out.json {
                        out.json_line(&json!({"key": text_or_escaped(key), "found": false}))?;
                    }
                }
                Err(e) => {
                    failed = true;
                    warn(format_args!("{}: {e}", crate::escape::escape_str(key)));
                    if out.json {
                        out.json_line(
                            &json!({"key": text_or_escaped(key), "error": e.to_string()}),
                        )?;
                    }
                }
            }
        }
        out.flush()?;
    }
    out.flush()?;
    Ok(if failed {
        FAILED
    } else if missed {
        NEGATIVE
    } else {
        OK
    })
}

/// A key for JSON: as text when it is UTF-8 (keys never hold spaces or
/// control bytes), escaped otherwise.
pub fn text_or_escaped(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) => s.to_string(),
        Err(_) => crate::escape::escape_str(key),
    }
}

/// Puts bytes into a JSON record: `field` as a string when they are UTF-8,
/// else `field_base64`.
pub fn put_bytes(record: &mut Value, field: &str, bytes: &[u8]) {
    if let Value::Object(map) = record {
        match std::str::from_utf8(bytes) {
            Ok(s) => map.insert(field.to_string(), Value::String(s.to_string())),
            Err(_) => map.insert(format!("{field}_base64"), Value::String(base64(bytes))),
        };
    }
}

/// A value as `get` shows it: decoded with the client's value format (a
/// compressed value shows as its text, numbers as PHP writes them), with
/// its type name; the stored bytes (`"undecodable"`) when it cannot be
/// decoded.
fn shown(client: &Client, item: &Item) -> (&'static str, Vec<u8>) {
    let config = client.config();
    match decode(&item.value, item.flags, &mcring::value::CodecOptions::of(config)) {
        Ok(Decoded::Str(b)) => ("string", b),
        Ok(Decoded::Bytes(b)) => ("bytes", b),
        Ok(Decoded::Json(b)) => ("json", b),
        Ok(Decoded::Pickle(b)) => ("pickle", b),
        Ok(Decoded::PhpSerialized(b)) => ("php_serialized", b),
        Ok(Decoded::Igbinary(b)) => ("igbinary", b),
        Ok(Decoded::Msgpack(b)) => ("msgpack", b),
        Ok(Decoded::Int(i)) => ("int", i.to_string().into_bytes()),
        Ok(Decoded::BigInt(s)) => ("int", s.into_bytes()),
        Ok(Decoded::Float(f)) => ("float", php_double_text(f).into_bytes()),
        Ok(Decoded::Bool(b)) => ("bool", if b { b"1".to_vec() } else { Vec::new() }),
        Err(_) => ("undecodable", item.value.clone()),
    }
}
