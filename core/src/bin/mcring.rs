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

use mcring::{Client, Config, Router, SetItem, Status};

const USAGE: &str = "\
usage: mcring [--servers CONFIG] <command> [args]

CONFIG is a config string: servers (host:port[:weight], [v6]:port[:weight],
/path.sock[:weight]) and options (name=value). Without --servers the
MCRING_SERVERS environment variable is used.

commands:
  locate [--distribution ketama-weighted|ketama|modula] [--hash NAME] [SERVER...]
      read keys from stdin, one per line; print each key's server
  get [KEY...]           print `KEY VALUE` per hit (keys from stdin if none);
                         exit 1 if any key missed
  set KEY VALUE [--ttl SECONDS]
  load [--ttl SECONDS]   store `KEY VALUE` lines from stdin; print the count
  delete KEY...          exit 1 if any key did not exist
  stats                  every server's statistics, one column per server
  version                every server's version
  flush --yes            invalidate every item on every server
  health                 `host:port up|down LATENCY_MS` per server; exit 1 if any is down
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

impl From<mcring::Error> for Failure {
    fn from(e: mcring::Error) -> Failure {
        Failure { message: e.to_string(), status: 2 }
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
        "get" => get(servers, rest),
        "set" => set(servers, rest),
        "load" => load(servers, rest),
        "delete" => delete(servers, rest),
        "stats" => stats(servers, rest),
        "version" => version(servers, rest),
        "flush" => flush(servers, rest),
        "health" => health(servers, rest),
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

/// Keys per fan-out when keys come from stdin.
const BATCH: usize = 10_000;

fn connect(servers: Option<String>) -> Result<Client, Failure> {
    let config = load_config(servers, &[])?;
    if config.servers.is_empty() {
        return Err(Failure::usage("no servers in the config"));
    }
    Ok(Client::new(config)?)
}

/// Splits `--ttl N` out of the arguments.
fn take_ttl(args: Vec<String>) -> Result<(u32, Vec<String>), Failure> {
    let mut ttl = 0;
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let value = if a == "--ttl" {
            Some(it.next().ok_or_else(|| Failure::usage("--ttl needs a value"))?)
        } else {
            a.strip_prefix("--ttl=").map(str::to_string)
        };
        match value {
            Some(v) => {
                ttl = v.parse().map_err(|_| Failure::usage(format!("bad --ttl {v:?}")))?;
            }
            None => rest.push(a),
        }
    }
    Ok((ttl, rest))
}

fn read_stdin_lines() -> Result<Vec<Vec<u8>>, Failure> {
    let stdin = io::stdin();
    let mut input = io::BufReader::with_capacity(1 << 16, stdin.lock());
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| Failure { message: format!("reading stdin: {e}"), status: 2 })?;
        if n == 0 {
            return Ok(lines);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        lines.push(line);
    }
}

fn output_error(e: io::Error) -> Failure {
    Failure { message: format!("writing output: {e}"), status: 2 }
}

fn get(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    let client = connect(servers)?;
    let keys: Vec<Vec<u8>> = if args.is_empty() {
        read_stdin_lines()?
    } else {
        args.into_iter().map(String::into_bytes).collect()
    };
    // Check every key before anything is sent.
    for key in &keys {
        client.server_for(key)?;
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut missed = false;
    for chunk in keys.chunks(BATCH) {
        let results = client.get_multi(chunk)?;
        for (key, result) in chunk.iter().zip(results) {
            match result? {
                Some(item) => {
                    let shown = display_value(&client, &item);
                    out.write_all(key).map_err(output_error)?;
                    out.write_all(b" ").map_err(output_error)?;
                    out.write_all(&shown).map_err(output_error)?;
                    out.write_all(b"\n").map_err(output_error)?;
                }
                None => missed = true,
            }
        }
    }
    out.flush().map_err(output_error)?;
    Ok(if missed { 1 } else { 0 })
}

/// A value as `get` prints it: decoded with the client's value format (so a
/// compressed value prints as its text and numbers as PHP writes them), or
/// as stored when it cannot be decoded.
fn display_value(client: &Client, item: &mcring::Item) -> Vec<u8> {
    use mcring::value::{decode, php_double_text, Decoded};
    let config = client.config();
    match decode(&item.value, item.flags, &mcring::value::CodecOptions::of(config)) {
        Ok(Decoded::Str(b) | Decoded::Bytes(b) | Decoded::Json(b)) => b,
        Ok(Decoded::Pickle(b) | Decoded::PhpSerialized(b) | Decoded::Igbinary(b)) => b,
        Ok(Decoded::Msgpack(b)) => b,
        Ok(Decoded::Int(i)) => i.to_string().into_bytes(),
        Ok(Decoded::BigInt(s)) => s.into_bytes(),
        Ok(Decoded::Float(f)) => php_double_text(f).into_bytes(),
        Ok(Decoded::Bool(b)) => {
            if b {
                b"1".to_vec()
            } else {
                Vec::new()
            }
        }
        Err(_) => item.value.clone(),
    }
}

fn set(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    let (ttl, args) = take_ttl(args)?;
    let [key, value] = <[String; 2]>::try_from(args)
        .map_err(|_| Failure::usage("usage: set KEY VALUE [--ttl SECONDS]"))?;
    let client = connect(servers)?;
    match client.set(&key, value.as_bytes(), 0, ttl)? {
        Status::Done => Ok(0),
        other => Err(Failure { message: format!("{key}: not stored ({other:?})"), status: 2 }),
    }
}

fn load(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    let (ttl, args) = take_ttl(args)?;
    if !args.is_empty() {
        return Err(Failure::usage("usage: load [--ttl SECONDS] < lines of KEY VALUE"));
    }
    let client = connect(servers)?;
    let lines = read_stdin_lines()?;
    let mut items = Vec::with_capacity(lines.len());
    for (n, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (key, value) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => {
                return Err(Failure::usage(format!("line {}: expected `KEY VALUE`", n + 1)));
            }
        };
        client.server_for(key)?;
        items.push(SetItem { key, value, flags: 0 });
    }
    let mut stored = 0usize;
    let mut failed = 0usize;
    for chunk in items.chunks(BATCH) {
        for (item, result) in chunk.iter().zip(client.set_multi(chunk, ttl)?) {
            match result {
                Ok(Status::Done) => stored += 1,
                Ok(other) => {
                    failed += 1;
                    eprintln!(
                        "mcring: {}: not stored ({other:?})",
                        String::from_utf8_lossy(item.key)
                    );
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("mcring: {}: {e}", String::from_utf8_lossy(item.key));
                }
            }
        }
    }
    println!("stored {stored}");
    Ok(if failed > 0 { 1 } else { 0 })
}

fn delete(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    if args.is_empty() {
        return Err(Failure::usage("usage: delete KEY..."));
    }
    let client = connect(servers)?;
    let mut missing = false;
    for result in client.delete_multi(&args)? {
        match result? {
            Status::Done => {}
            _ => missing = true,
        }
    }
    Ok(if missing { 1 } else { 0 })
}

fn no_args(command: &str, args: &[String]) -> Result<(), Failure> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(Failure::usage(format!("{command} takes no arguments")))
    }
}

fn stats(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    no_args("stats", &args)?;
    let client = connect(servers)?;
    let mut columns = Vec::new();
    for (name, result) in client.server_stats(None) {
        columns.push((name, result?));
    }
    let mut names: Vec<&str> = Vec::new();
    for (_, pairs) in &columns {
        for (n, _) in pairs {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let width = names.iter().map(|n| n.len()).max().unwrap_or(4).max(4);
    let col_width: Vec<usize> = columns
        .iter()
        .map(|(server, pairs)| {
            pairs.iter().map(|(_, v)| v.len()).max().unwrap_or(0).max(server.len())
        })
        .collect();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    write!(out, "{:width$}", "stat").map_err(output_error)?;
    for ((server, _), w) in columns.iter().zip(&col_width) {
        write!(out, "  {server:>w$}").map_err(output_error)?;
    }
    writeln!(out).map_err(output_error)?;
    for name in names {
        write!(out, "{name:width$}").map_err(output_error)?;
        for ((_, pairs), w) in columns.iter().zip(&col_width) {
            let v = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or("-");
            write!(out, "  {v:>w$}").map_err(output_error)?;
        }
        writeln!(out).map_err(output_error)?;
    }
    out.flush().map_err(output_error)?;
    Ok(0)
}

fn version(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    no_args("version", &args)?;
    let client = connect(servers)?;
    for (name, result) in client.version() {
        println!("{name} {}", result?);
    }
    Ok(0)
}

fn flush(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    if args != ["--yes"] {
        return Err(Failure::usage("flush invalidates every item on every server: add --yes"));
    }
    let client = connect(servers)?;
    for (_, result) in client.flush_all(0) {
        result?;
    }
    Ok(0)
}

fn health(servers: Option<String>, args: Vec<String>) -> Result<u8, Failure> {
    no_args("health", &args)?;
    let client = connect(servers)?;
    let mut down = false;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for h in client.health() {
        let ms = h.latency.as_secs_f64() * 1000.0;
        match &h.error {
            None => writeln!(out, "{} up {ms:.2}", h.name),
            Some(e) => {
                down = true;
                eprintln!("mcring: {e}");
                writeln!(out, "{} down {ms:.2}", h.name)
            }
        }
        .map_err(output_error)?;
    }
    out.flush().map_err(output_error)?;
    Ok(if down { 1 } else { 0 })
}
