//! How long a change of the server list takes (bench/list_change.sh): the
//! ring over the new list is built aside and swapped in, while requests
//! keep using the old one. Computed only: the servers are never dialed.
//!
//! ```text
//! list_change [SERVERS] [CHANGES]   prints the median and p99 per change
//! ```
//!
//! Measured: `add_server` and `remove_server` of one server on a pool of
//! SERVERS (default 200), alternating; `set_servers` replacing a tenth of
//! the list; and, for scale, building the ketama ring alone.

use std::time::{Duration, Instant};

use mcring::{Client, Config, Ring};

fn percentile(times: &mut [Duration], p: f64) -> Duration {
    times.sort();
    times[((times.len() as f64 - 1.0) * p).round() as usize]
}

fn report(what: &str, times: &mut [Duration]) {
    let median = percentile(times, 0.5);
    let p99 = percentile(times, 0.99);
    println!("{what:<44} median {:>9.3} ms   p99 {:>9.3} ms", ms(median), ms(p99));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let changes: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200);
    let names: Vec<String> =
        (0..n).map(|i| format!("10.0.{}.{}:11211", i / 250, i % 250 + 1)).collect();
    let client = Client::from_config_str(&names.join(" ")).expect("config");
    let extra = "127.9.9.9:11211";

    let mut times = Vec::with_capacity(changes);
    for i in 0..changes {
        let start = Instant::now();
        if i % 2 == 0 {
            client.add_server(extra).expect("add");
        } else {
            client.remove_server(extra, false).expect("remove");
        }
        times.push(start.elapsed());
    }
    report(&format!("add_server/remove_server, {n} servers"), &mut times);

    let mut times = Vec::with_capacity(changes);
    for i in 0..changes {
        let mut list: Vec<String> = names.clone();
        for (j, name) in list.iter_mut().enumerate().take(n / 10) {
            *name = format!("10.8.{}.{}:11211", i % 2, j + 1);
        }
        let tokens: Vec<&str> = list.iter().map(String::as_str).collect();
        let start = Instant::now();
        client.set_servers(&tokens, false).expect("set_servers");
        times.push(start.elapsed());
    }
    report(&format!("set_servers replacing {} of {n}", n / 10), &mut times);

    let config = Config::parse(&names.join(" ")).expect("config");
    let mut times = Vec::with_capacity(changes);
    for _ in 0..changes {
        let start = Instant::now();
        let ring = Ring::new(&config.servers, config.distribution, config.key_hash());
        std::hint::black_box(&ring);
        times.push(start.elapsed());
    }
    report(&format!("ketama ring alone, {n} servers"), &mut times);
}
