//! `mcring`: the operations tool, built on the same engine as the bindings.
//!
//! ```text
//! mcring [--servers CONFIG] <command> [args]
//! mcring locate [--distribution D] [--hash H] [SERVER|option=value ...] < keys
//! ```
//!
//! Scripts read this output, so formats are exact. Exit status: 0 success,
//! 1 a partial answer (a key refused, a miss), 2 and above an error.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use mcring::{Config, Router};

const USAGE: &str = "\
usage: mcring [--servers CONFIG] <command> [args]

CONFIG is a config string: servers (host:port[:weight], [v6]:port[:weight],
/path.sock[:weight]) and options (name=value). Without --servers the
MCRING_SERVERS environment variable is used.

commands:
  locate [--distribution ketama-weighted|ketama|modula] [--hash NAME] [SERVER...]
      read keys from stdin, one per line; print each key's server
";

/// A command-line failure: message for stderr and exit status.
struct Failure {
    message: String,
    status: u8,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), status: 2 }
    }
}

impl From<mcring::ConfigError> for Failure {
    fn from(e: mcring::ConfigError) -> Failure {
        Failure { message: e.to_string(), status: 2 }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(status) => ExitCode::from(status),
        Err(f) => {
            eprintln!("mcring: {}", f.message);
            ExitCode::from(f.status.max(2))
        }
    }
}

fn run(args: Vec<String>) -> Result<u8, Failure> {
    let mut servers: Option<String> = None;
    let mut rest = args.into_iter();
    let command = loop {
        match rest.next() {
            Some(a) if a == "--servers" => {
                servers =
                    Some(rest.next().ok_or_else(|| Failure::usage("--servers needs a value"))?)
            }
            Some(a) if a.starts_with("--servers=") => {
                servers = Some(a["--servers=".len()..].into())
            }
            Some(a) if a == "-h" || a == "--help" => {
                print!("{USAGE}");
                return Ok(0);
            }
            Some(a) if a == "--version" => {
                println!("mcring {}", mcring::VERSION);
                return Ok(0);
            }
            Some(a) => break a,
            None => return Err(Failure::usage(format!("missing command\n{USAGE}"))),
        }
    };
    let rest: Vec<String> = rest.collect();
    match command.as_str() {
        "locate" => locate(servers, rest),
        other => Err(Failure::usage(format!("unknown command {other:?}\n{USAGE}"))),
    }
}

/// The config from `--servers`, else `MCRING_SERVERS`, plus extra tokens.
fn load_config(servers: Option<String>, extra: &[String]) -> Result<Config, Failure> {
    let base = match servers {
        Some(s) => s,
        None if !extra.is_empty() => String::new(),
        None => std::env::var("MCRING_SERVERS").map_err(|_| {
            Failure::usage("no servers: use --servers CONFIG or set MCRING_SERVERS")
        })?,
    };
    let mut text = base;
    for token in extra {
        text.push(' ');
        text.push_str(token);
    }
    Ok(Config::parse(&text)?)
}

fn locate(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    let mut tokens = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        match flag.as_str() {
            "--distribution" | "--hash" => {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        it.next().ok_or_else(|| Failure::usage(format!("{flag} needs a value")))?
                    }
                };
                tokens.push(format!("{}={}", &flag[2..], value));
            }
            f if f.starts_with("--") => return Err(Failure::usage(format!("unknown flag {f}"))),
            _ => tokens.push(a),
        }
    }
    let config = load_config(servers, &tokens)?;
    if config.servers.is_empty() {
        return Err(Failure::usage("locate needs at least one server"));
    }
    let router = Router::new(&config);
    let names: Vec<String> = router.servers().iter().map(|s| s.name()).collect();

    let stdin = io::stdin();
    let mut input = io::BufReader::with_capacity(1 << 16, stdin.lock());
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = Vec::with_capacity(512);
    let mut refused = false;
    let write_err = |e: io::Error| Failure { message: format!("writing output: {e}"), status: 2 };
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| Failure { message: format!("reading keys: {e}"), status: 2 })?;
        if n == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        match router.primary(&line) {
            Ok(i) => {
                out.write_all(names[i].as_bytes()).map_err(write_err)?;
                out.write_all(b"\n").map_err(write_err)?;
            }
            Err(mcring::Error::BadKey { problem, .. }) => {
                refused = true;
                writeln!(out, "ERR {problem}").map_err(write_err)?;
            }
            Err(e) => return Err(Failure { message: e.to_string(), status: 2 }),
        }
    }
    out.flush().map_err(write_err)?;
    Ok(if refused { 1 } else { 0 })
}
