//! Ring lookup cost per key: mcring's `Ring::server_for` (and
//! `Router::primary`, which checks the key first, as the client does)
//! against libmemcached's `memcached_server_by_key`, on the same keys and
//! the same ketama-weighted lists of 4, 50 and 200 servers, in one run.
//!
//! libmemcached is measured by bench/c/ring_lookup.c, built here with `cc`
//! and run once per list and library: the system libmemcached and, when the
//! workspace's .venv has pylibmc, the libmemcached its wheel bundles. Both
//! sides report the sum of the owners' indices, which must be equal.
//!
//! usage: ring_lookup [--keys N] [--rounds R]   (run by bench/ring_lookup.sh)

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mcring::{Config, Router};

const SIZES: [usize; 3] = [4, 50, 200];

/// xorshift64*: reproducible keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Keys shaped like an application's: a namespace, an id, sometimes UTF-8.
fn keys(n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x005E_ED0F_4B45_5953);
    let spaces = ["user:", "session:", "cart:", "page/v2/", "feed:item:", "ünïcode:", "i18n/東京/"];
    (0..n)
        .map(|_| {
            let space = spaces[rng.below(spaces.len() as u64) as usize];
            let key = match rng.below(3) {
                0 => format!("{space}{}", rng.below(10_000_000)),
                1 => format!("{space}{:016x}{:08x}", rng.next(), rng.below(1 << 32)),
                _ => format!("{space}{}:{}:{:x}", rng.below(1000), rng.below(100), rng.next()),
            };
            key.into_bytes()
        })
        .collect()
}

/// One ketama-weighted list: (mcring config tokens, oracle-style lines).
fn servers(n: usize) -> (String, String) {
    let mut tokens = Vec::new();
    let mut lines = String::new();
    for i in 0..n {
        let host = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256 + 1);
        tokens.push(format!("{host}:11211"));
        lines.push_str(&format!("tcp {host} 11211 1\n"));
    }
    tokens.push("distribution=ketama-weighted".to_string());
    (tokens.join(" "), lines)
}

/// The profile directory this executable runs from (target/release).
fn work_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent().expect("executable directory").join("mcring-bench-c")
}

fn build_c() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/ring_lookup.c");
    let dir = work_dir();
    std::fs::create_dir_all(&dir).expect("create work dir");
    let exe = dir.join("ring_lookup_c");
    let status = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&source)
        .arg("-ldl")
        .status()
        .expect("run cc (install gcc)");
    assert!(
        status.success(),
        "building {} failed (is libmemcached-dev installed?)",
        source.display()
    );
    exe
}

/// The libmemcached libraries to measure: (label, path for dlopen).
fn libraries() -> Vec<(String, String)> {
    let mut libs = vec![("system libmemcached".to_string(), "libmemcached.so.11".to_string())];
    let venv_lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    let bundled = std::fs::read_dir(&venv_lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| python.path().join("site-packages/pylibmc.libs"))
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .flatten()
        .map(|f| f.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libmemcached")));
    if let Some(path) = bundled {
        libs.push(("pylibmc's libmemcached".to_string(), path.display().to_string()));
    }
    libs
}

/// What the C side reported, or why it did not.
enum CResult {
    Measured { version: String, best: f64, median: f64, checksum: u64 },
    Failed(String),
}

fn run_c(exe: &Path, lib: &str, servers: &Path, keys: &Path, rounds: usize) -> CResult {
    let mut command = Command::new(exe);
    // A bundled library finds its own dependencies next to it.
    if let Some(dir) = Path::new(lib).parent().filter(|d| !d.as_os_str().is_empty()) {
        command.env("LD_LIBRARY_PATH", dir);
    }
    let out = command
        .arg(lib)
        .arg(servers)
        .arg(keys)
        .arg(rounds.to_string())
        .output()
        .expect("run ring_lookup_c");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        let mut words = stdout.split_whitespace();
        words.position(|w| w == name)?;
        words.next().map(str::to_string)
    };
    let version = field("version").unwrap_or_default();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        return CResult::Failed(format!("libmemcached {version} failed ({}): {first}", out.status));
    }
    match (field("best_ns_per_key"), field("median_ns_per_key"), field("checksum")) {
        (Some(b), Some(m), Some(c)) => CResult::Measured {
            version,
            best: b.parse().unwrap_or(f64::NAN),
            median: m.parse().unwrap_or(f64::NAN),
            checksum: c.parse().unwrap_or(0),
        },
        _ => CResult::Failed(format!("unreadable output: {stdout}")),
    }
}

/// Best and median ns/key of `lookup` over `rounds` passes over `keys`.
fn time(rounds: usize, keys: &[&[u8]], mut lookup: impl FnMut(&[u8]) -> usize) -> (f64, f64) {
    let mut ns: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            let mut sink = 0usize;
            for key in keys {
                sink ^= lookup(black_box(key));
            }
            black_box(sink);
            start.elapsed().as_nanos() as f64 / keys.len() as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    (ns[0], ns[rounds / 2])
}

fn main() {
    let mut key_count = 200_000;
    let mut rounds = 15;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (a.as_str(), value) {
            ("--keys", Some(v)) if v > 0 => key_count = v,
            ("--rounds", Some(v)) if v > 0 => rounds = v,
            _ => {
                eprintln!("usage: ring_lookup [--keys N] [--rounds R]");
                std::process::exit(2);
            }
        }
    }

    let c_exe = build_c();
    let libs = libraries();
    let keys = keys(key_count);
    // One contiguous buffer, as the C side holds them.
    let mut buffer = Vec::new();
    let mut ranges = Vec::new();
    for k in &keys {
        ranges.push(buffer.len()..buffer.len() + k.len());
        buffer.extend_from_slice(k);
        buffer.push(b'\n');
    }
    let key_slices: Vec<&[u8]> = ranges.iter().map(|r| &buffer[r.clone()]).collect();
    let keys_file = work_dir().join("keys.txt");
    std::fs::write(&keys_file, &buffer).expect("write keys");
    let mean_len = buffer.len() as f64 / keys.len() as f64 - 1.0;

    println!(
        "ring lookup, ketama-weighted: {key_count} keys (mean {mean_len:.1} bytes), \
         ns/key, best (median) of {rounds} rounds"
    );
    for size in SIZES {
        let (config_text, lines) = servers(size);
        let servers_file = work_dir().join(format!("servers-{size}.txt"));
        std::fs::write(&servers_file, lines).expect("write servers");
        let config = Config::parse(&config_text).expect("config");
        let router = Router::new(&config);
        let ring = router.ring();

        let checksum: u64 = key_slices.iter().map(|k| ring.server_for(k).unwrap_or(0) as u64).sum();
        let (ring_best, ring_median) =
            time(rounds, &key_slices, |k| ring.server_for(k).unwrap_or(0));
        let (router_best, router_median) =
            time(rounds, &key_slices, |k| router.primary(k).unwrap_or(0));
        println!("{size:>3} servers:");
        println!("    {:<29}{ring_best:7.1} ({ring_median:.1})", "mcring Ring::server_for");
        println!("    {:<29}{router_best:7.1} ({router_median:.1})", "mcring Router::primary");
        for (label, path) in &libs {
            match run_c(&c_exe, path, &servers_file, &keys_file, rounds) {
                CResult::Measured { version, best, median, checksum: theirs } => {
                    let same = if theirs == checksum { "same owners" } else { "OWNERS DIFFER" };
                    let name = format!("{label} {version}");
                    println!(
                        "    {name:<29}{best:7.1} ({median:.1})   \
                         Ring::server_for / libmemcached = {:.2}  [{same}]",
                        ring_best / best
                    );
                }
                CResult::Failed(why) => println!("    {label}: {why}"),
            }
        }
        let _ = std::io::stdout().flush();
    }
}
