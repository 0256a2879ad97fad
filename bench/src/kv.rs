//! mcring's side of the key-value benchmark (bench/kv.sh): the same
//! workloads as the C clients in bench/c/, through the public API.
//!
//! ```text
//! kv <get|set|mget> <ops> <host:port>...   prints ops/second
//! ```
//!
//! Keys are `mcr:<i>` for i in 0..999, values 100 bytes; `get` uses
//! `Client::get` (an owned copy of each value, as libmemcached's
//! `memcached_get` returns one), `mget` fetches 100 keys per call with
//! `get_multi_with`, the callback API the Python and PHP bindings build their
//! objects from.

use std::time::Instant;

use mcring::{Client, Retrieval};

const KEYS: usize = 1000;
const MULTI: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: kv <get|set|mget> <ops> <host:port>...");
        std::process::exit(2);
    }
    let op = args[1].as_str();
    let ops: usize = args[2].parse().unwrap_or_else(|_| {
        eprintln!("bad ops count {}", args[2]);
        std::process::exit(2)
    });
    let client = Client::from_config_str(&args[3..].join(" ")).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let keys: Vec<String> = (0..KEYS).map(|i| format!("mcr:{i}")).collect();
    let value = vec![b'x'; 100];
    for k in &keys {
        client.set(k, &value, 0, 0).expect("preload");
    }
    let start = Instant::now();
    match op {
        "get" => {
            for i in 0..ops {
                let item = client.get(&keys[i % KEYS]).expect("get");
                assert!(item.is_some(), "preloaded key missing");
            }
        }
        "set" => {
            for i in 0..ops {
                client.set(&keys[i % KEYS], &value, 0, 0).expect("set");
            }
        }
        "mget" => {
            let mut batch: Vec<&[u8]> = Vec::with_capacity(MULTI);
            for i in 0..ops {
                batch.clear();
                let base = (i * MULTI) % KEYS;
                batch.extend((0..MULTI).map(|k| keys[(base + k) % KEYS].as_bytes()));
                let mut hits = 0;
                client.get_multi_with(&batch, Retrieval::Get, |_, _| hits += 1).expect("mget");
                assert_eq!(hits, MULTI, "preloaded keys missing");
            }
        }
        other => {
            eprintln!("unknown op {other}");
            std::process::exit(2);
        }
    }
    println!("{:.0}", ops as f64 / start.elapsed().as_secs_f64());
}
