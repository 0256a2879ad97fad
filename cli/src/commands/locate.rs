//! `locate`: the server of each key read from stdin, computed only (no
//! server is contacted). Servers and options on the line are added to the
//! config (`--servers` or `MCRING_SERVERS`); servers given there replace
//! the configured ones.

use std::io::{self, BufRead};

use mcring::Router;
use serde_json::json;

use crate::args::{self, Global};
use crate::escape::escape_str;
use crate::failure::{Failure, NEGATIVE, OK};
use crate::out::Out;
use crate::pool;

pub fn run(global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    let a = args::parse("locate", rest, &[("--distribution", true), ("--hash", true)])?;
    let mut tokens = a.positional.clone();
    for flag in ["--distribution", "--hash"] {
        if let Some(v) = a.value(flag) {
            tokens.push(format!("{}={v}", &flag[2..]));
        }
    }
    let config = pool::load_config(global, &tokens)?;
    let router = Router::new(&config);
    let names: Vec<String> = router.servers().iter().map(|s| s.name()).collect();

    let mut input = io::BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut out = Out::new(global.json);
    let mut line = Vec::with_capacity(512);
    let mut refused = false;
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
        match router.primary(&line) {
            Ok(i) if out.json => out.json_line(
                &json!({"key": super::get::text_or_escaped(&line), "server": names[i]}),
            )?,
            Ok(i) => {
                out.bytes(names[i].as_bytes())?;
                out.bytes(b"\n")?;
            }
            Err(mcring::Error::BadKey { problem, .. }) => {
                refused = true;
                if out.json {
                    out.json_line(
                        &json!({"key": escape_str(&line), "error": problem.to_string()}),
                    )?;
                } else {
                    out.line(&format!("ERR {problem}"))?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    out.flush()?;
    Ok(if refused { NEGATIVE } else { OK })
}
