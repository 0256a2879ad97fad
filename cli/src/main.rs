//! `mcring`: the memcached operations tool, on the same engine as the
//! bindings. Scripts read its output, so formats are exact (README
//! "Operate"); every command also speaks JSON lines with `--json`.

mod args;
mod commands;
mod escape;
mod failure;
mod out;
mod pool;
mod scrape;
mod shutdown;

use std::process::ExitCode;

use failure::{warn, Failure};

const USAGE: &str = "\
usage: mcring [--servers CONFIG] [--json] <command> [args]

CONFIG is a config string: servers (host:port[:weight], [v6]:port[:weight],
/path.sock[:weight]), DNS sources (dns+NAME:PORT, srv+NAME) and options
(name=value). Without --servers the
MCRING_SERVERS environment variable is used. --servers and --json may stand
anywhere on the line; `--` ends flags.

keys:
  get [--raw] [KEY...]        `KEY VALUE` per hit, escaped (keys from stdin if none)
  set KEY (VALUE | --stdin) [--ttl S]
  add KEY (VALUE | --stdin) [--ttl S]     exit 1 if the key exists
  load [--ttl S]              store `KEY VALUE` lines from stdin; prints `stored N`
  delete KEY...               `KEY deleted|not_found|failed`
  touch --ttl S KEY...        `KEY touched|not_found|failed`
  invalidate [--stale-ttl S] KEY...
                              mark stale (served while one reader recomputes),
                              `KEY invalidated|not_found|failed`
  exists KEY...               `KEY yes|no|failed`
  incr KEY [DELTA]            the new value; exit 1 if the key does not exist
  decr KEY [DELTA]
  locate [--distribution D] [--hash H] [SERVER|option=value...] < keys
servers:
  servers                     `SERVER WEIGHT SOURCE` per server now (DNS sources resolved)
  diff-ring OLD_CONFIG NEW_CONFIG [--list] < keys
                              `moved N of M (P%)`; --list first `KEY OLD NEW` per moved key
  health                      `SERVER up|down LATENCY_MS`; exit 1 if any is down
  wait-up --timeout S         wait until every server answers; exit 1 on timeout
  stats [GROUP] [--server S]  statistics, one column per server
  version                     `SERVER VERSION`
  flush --yes [--delay S]     `SERVER flushed|failed`
  monitor [--interval S] [--count N] [--hit-rate-below PCT]
                              `TIME SERVER HIT_RATE EVICTIONS/S COMMANDS/S` per server
  dump [--server S]           `SERVER KEY EXPTIME LAST_ACCESS CAS SIZE` per key
  top [--duration S] [--limit N] [--server S]
                              `COUNT KEY SERVER`, hottest keys first
  exporter [--listen ADDR] [--scrape-timeout S] [--shm PATH]
                              Prometheus /metrics for every server of CONFIG, and
                              the client metrics of the shared area at PATH

exit status: 0 success, 1 a negative answer (miss, not found, down),
2 a failure (usage, config, a server or key that failed: named on stderr).
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(status) => ExitCode::from(status),
        Err(f) => {
            if !f.message.is_empty() {
                warn(&f.message);
            }
            ExitCode::from(f.status)
        }
    }
}

fn run(args: Vec<String>) -> Result<u8, Failure> {
    let (global, command, rest) = args::split(args)?;
    if global.version {
        let mut out = out::Out::new(false);
        out.line(&format!("mcring {}", mcring::VERSION))?;
        out.flush()?;
        return Ok(0);
    }
    if global.help {
        let mut out = out::Out::new(false);
        out.bytes(USAGE.as_bytes())?;
        out.flush()?;
        return Ok(0);
    }
    let Some(command) = command else {
        return Err(Failure::usage(format!("missing command\n{USAGE}")));
    };
    commands::run(&command, &global, rest)
}
