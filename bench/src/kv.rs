//! mcring's side of the key-value benchmarks (bench/kv.sh and the scale
//! benchmarks in bench/scale/): the same workloads as the C clients in
//! bench/c/, through the engine's public API, without any binding.
//!
//! ```text
//! kv <get|set|mget|mset|mdel|mixed|connect> <ops> <config tokens>...   prints ops/second
//! ```
//!
//! The workload comes from the environment as bench/c/kv_common.h defines
//! it (`KV_KEYS`, `KV_MULTI`, `KV_VALUE_LEN`, `KV_VALUE_FILE`, `KV_LATENCY`;
//! `KV_MCRING_OPTIONS` adds config tokens after the servers). Keys are
//! `mcr:<i>`; `get` uses `Client::get` (an owned copy of each value, as
//! libmemcached's `memcached_get` returns one), `mget` fetches `KV_MULTI`
//! keys per call with `get_multi_with`, the callback API the Python and PHP
//! bindings build their objects from; `mset` and `mdel` are
//! `Client::set_multi` and `Client::delete_multi` (mdel's keys are stored
//! again before each call, outside the timing); with `KV_NOREPLY=1`, they
//! are `Client::set_multi_noreply` and `Client::delete_multi_noreply` (quiet
//! meta sets and deletes, no replies awaited).

use std::time::Instant;

use mcring::{Client, Retrieval, SetItem};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn die(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}

struct Workload {
    keys: Vec<String>,
    multi: usize,
    value: Vec<u8>,
}

impl Workload {
    fn key_of(&self, op: usize, k: usize) -> &[u8] {
        self.keys[(op * self.multi + k) % self.keys.len()].as_bytes()
    }

    fn batch(&self, op: usize) -> Vec<&[u8]> {
        (0..self.multi).map(|k| self.key_of(op, k)).collect()
    }
}

fn get(client: &Client, w: &Workload, op: usize, miss_ok: bool) {
    let item = client.get(w.key_of(op, 0)).unwrap_or_else(|e| die(&format!("get: {e}")));
    if item.is_none() && !miss_ok {
        die("preloaded key missing");
    }
}

fn set(client: &Client, w: &Workload, op: usize) {
    client.set(w.key_of(op, 0), &w.value, 0, 0).unwrap_or_else(|e| die(&format!("set: {e}")));
}

fn count(client: &Client, w: &Workload, op: usize) -> usize {
    let mut hits = 0;
    let base = (op * w.multi) % w.keys.len();
    let r = if base + w.multi <= w.keys.len() {
        // The usual case: the call's keys lie side by side (no batch to build).
        client.get_multi_with(&w.keys[base..base + w.multi], Retrieval::Get, |_, _| hits += 1)
    } else {
        client.get_multi_with(&w.batch(op), Retrieval::Get, |_, _| hits += 1)
    };
    r.unwrap_or_else(|e| die(&format!("get_multi: {e}")));
    hits
}

fn mset(client: &Client, w: &Workload, op: usize) {
    let items: Vec<SetItem<'_>> =
        (0..w.multi).map(|k| SetItem { key: w.key_of(op, k), value: &w.value, flags: 0 }).collect();
    if env("KV_NOREPLY", 0) == 1 {
        let sent = client.set_multi_noreply(&items, 0);
        for r in sent.unwrap_or_else(|e| die(&format!("set_multi_noreply: {e}"))) {
            r.unwrap_or_else(|e| die(&format!("set_multi_noreply: {e}")));
        }
        return;
    }
    for r in client.set_multi(&items, 0).unwrap_or_else(|e| die(&format!("set_multi: {e}"))) {
        r.unwrap_or_else(|e| die(&format!("set_multi: {e}")));
    }
}

fn mdel(client: &Client, w: &Workload, op: usize) {
    let keys = w.batch(op);
    if env("KV_NOREPLY", 0) == 1 {
        let sent = client.delete_multi_noreply(&keys);
        for r in sent.unwrap_or_else(|e| die(&format!("delete_multi_noreply: {e}"))) {
            r.unwrap_or_else(|e| die(&format!("delete_multi_noreply: {e}")));
        }
        return;
    }
    for r in client.delete_multi(&keys).unwrap_or_else(|e| die(&format!("delete_multi: {e}"))) {
        r.unwrap_or_else(|e| die(&format!("delete_multi: {e}")));
    }
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4
}

/// bench/memory.sh's mix, as `kv_mixed` in bench/c/kv_common.h.
fn mixed(client: &Client, w: &Workload, ops: usize) {
    let every = env("KV_RSS_EVERY", 1_000_000);
    let one = Workload { keys: w.keys.clone(), multi: 1, value: w.value.clone() };
    let miss = Workload {
        keys: (0..w.keys.len()).map(|i| format!("absent:{i}")).collect(),
        multi: 1,
        value: Vec::new(),
    };
    let big = Workload { keys: vec!["big:0".into()], multi: 1, value: vec![b'y'; 200 * 1024] };
    println!("rss 0 {}", rss_kib());
    let start = Instant::now();
    for op in 0..ops {
        match op % 100 {
            0..=59 => get(client, &one, op, true),
            60..=64 => get(client, &miss, op, true),
            65..=84 => set(client, &one, op),
            85..=89 => mdel(client, &one, op),
            90..=94 => {
                count(client, w, op);
            }
            95..=98 => mset(client, w, op),
            _ => {
                set(client, &big, op);
                get(client, &big, op, true);
            }
        }
        if (op + 1) % every == 0 {
            println!("rss {} {}", op + 1, rss_kib());
        }
    }
    println!("{:.0}", ops as f64 / start.elapsed().as_secs_f64());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: kv <get|set|mget|mset|mdel|mixed|connect> <ops> <config tokens>...");
        std::process::exit(2);
    }
    let op = args[1].as_str();
    let ops: usize = args[2].parse().unwrap_or_else(|_| die(&format!("bad ops count {}", args[2])));
    let mut config = args[3..].join(" ");
    if let Ok(extra) = std::env::var("KV_MCRING_OPTIONS") {
        config = format!("{config} {extra}");
    }
    let client = Client::from_config_str(&config).unwrap_or_else(|e| die(&e.to_string()));
    let value_len = env("KV_VALUE_LEN", 100);
    let value = match std::env::var("KV_VALUE_FILE") {
        Ok(path) if !path.is_empty() => {
            let mut bytes = std::fs::read(&path).unwrap_or_else(|e| die(&format!("{path}: {e}")));
            if bytes.len() < value_len {
                die("KV_VALUE_FILE is shorter than KV_VALUE_LEN");
            }
            bytes.truncate(value_len);
            bytes
        }
        _ => vec![b'x'; value_len],
    };
    let w = Workload {
        keys: (0..env("KV_KEYS", 1000).max(1)).map(|i| format!("mcr:{i}")).collect(),
        multi: env("KV_MULTI", 100).max(1),
        value,
    };
    let one = Workload { keys: w.keys.clone(), multi: 1, value: w.value.clone() };
    // Preload every key (also warms the connections).
    for i in 0..w.keys.len() {
        set(&client, &one, i);
    }
    if count(&client, &one, 0) != 1 {
        die("preloaded key does not read back");
    }
    if op == "mixed" {
        mixed(&client, &w, ops);
        return;
    }
    let latency = env("KV_LATENCY", 0) == 1;
    let mut lat = Vec::with_capacity(if latency { ops } else { 0 });
    let mut busy = 0.0;
    let start = Instant::now();
    for i in 0..ops {
        if op == "mdel" {
            mset(&client, &w, i);
        }
        let t0 = (latency || op == "mdel").then(Instant::now);
        match op {
            "get" => get(&client, &w, i, false),
            // Each call pays a new connection (over TLS a handshake,
            // resumed unless tls_resumption=false).
            "connect" => {
                client.close();
                get(&client, &w, i, false)
            }
            "set" => set(&client, &w, i),
            "mget" => {
                if count(&client, &w, i) != w.multi {
                    die("preloaded keys missing");
                }
            }
            "mset" => mset(&client, &w, i),
            "mdel" => mdel(&client, &w, i),
            other => die(&format!("unknown op {other}")),
        }
        if let Some(t0) = t0 {
            let d = t0.elapsed().as_secs_f64();
            busy += d;
            if latency {
                lat.push(d);
            }
        }
    }
    let seconds = if op == "mdel" { busy } else { start.elapsed().as_secs_f64() };
    if op == "mset" && count(&client, &w, ops - 1) != w.multi {
        die("mset: keys missing afterwards");
    }
    if op == "mdel" && count(&client, &w, ops - 1) != 0 {
        die("mdel: keys left afterwards");
    }
    if latency {
        lat.sort_by(f64::total_cmp);
        let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)] * 1e6;
        println!("{:.0} {:.1} {:.1}", ops as f64 / seconds, p(0.5), p(0.99));
    } else {
        println!("{:.0}", ops as f64 / seconds);
    }
}
