//! One module per command family; `run` dispatches by name.

mod dump;
mod exporter;
mod get;
mod keys;
mod locate;
mod monitor;
mod ring;
mod servers;
mod stats;
mod store;
mod top;

use mcring::StoreMode;

use crate::args::Global;
use crate::failure::Failure;

/// Runs `command`; returns its exit status.
pub fn run(command: &str, global: &Global, rest: Vec<String>) -> Result<u8, Failure> {
    match command {
        "get" => get::run(global, rest),
        "set" => store::run(global, rest, StoreMode::Set),
        "add" => store::run(global, rest, StoreMode::Add),
        "load" => store::load(global, rest),
        "delete" => keys::delete(global, rest),
        "touch" => keys::touch(global, rest),
        "invalidate" => keys::invalidate(global, rest),
        "exists" => keys::exists(global, rest),
        "incr" => keys::arith(global, rest, false),
        "decr" => keys::arith(global, rest, true),
        "locate" => locate::run(global, rest),
        "health" => servers::health(global, rest),
        "servers" => ring::servers(global, rest),
        "diff-ring" => ring::diff_ring(global, rest),
        "wait-up" => servers::wait_up(global, rest),
        "version" => servers::version(global, rest),
        "flush" => servers::flush(global, rest),
        "stats" => stats::run(global, rest),
        "monitor" => monitor::run(global, rest),
        "dump" => dump::run(global, rest),
        "top" => top::run(global, rest),
        "exporter" => exporter::run(global, rest),
        other => Err(Failure::usage(format!("unknown command {other:?}\n{}", crate::USAGE))),
    }
}
