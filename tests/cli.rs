//! The `mcring` command line against real memcached: exact output formats
//! and exit statuses, as scripts rely on them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mcring::Client;
use mcring_tests::{closed_port, mcring_binary, Memcached};

fn run(args: &[&str], env_servers: Option<&str>, stdin: &str) -> Output {
    let mut cmd = Command::new(mcring_binary());
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.env_remove("MCRING_SERVERS");
    if let Some(s) = env_servers {
        cmd.env("MCRING_SERVERS", s);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn set_get_delete_and_exit_statuses() {
    let a = Memcached::start();
    let b = Memcached::start();
    let servers = format!("{} {}", a.spec(), b.spec());
    let s = servers.as_str();

    let out = run(&["--servers", s, "set", "greeting", "hello world"], None, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());

    // MCRING_SERVERS stands in for --servers.
    let out = run(&["get", "greeting", "missing", "greeting"], Some(s), "");
    assert_eq!(text(&out.stdout), "greeting hello world\ngreeting hello world\n");
    assert_eq!(out.status.code(), Some(1), "a miss exits 1");
    let out = run(&["get", "greeting"], Some(s), "");
    assert_eq!(out.status.code(), Some(0));

    // --ttl: gone after expiry.
    let out = run(&["--servers", s, "set", "short", "v", "--ttl", "1"], None, "");
    assert_eq!(out.status.code(), Some(0));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(run(&["--servers", s, "get", "short"], None, "").status.code(), Some(1));

    let out = run(&["--servers", s, "delete", "greeting", "missing"], None, "");
    assert_eq!(out.status.code(), Some(1), "a key that did not exist exits 1");
    assert_eq!(run(&["--servers", s, "get", "greeting"], None, "").status.code(), Some(1));
}

#[test]
fn load_and_get_from_stdin_in_request_order() {
    let a = Memcached::start();
    let b = Memcached::start();
    let c = Memcached::start();
    let s = format!("{} {} {}", a.spec(), b.spec(), c.spec());
    let lines: String = (0..5000).map(|i| format!("k{i} value {i} with spaces\n")).collect();
    let out = run(&["--servers", &s, "load", "--ttl", "300"], None, &lines);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "stored 5000\n");
    assert_eq!(a.curr_items() + b.curr_items() + c.curr_items(), 5000);

    let keys: String = (0..5000).rev().map(|i| format!("k{i}\n")).collect();
    let out = run(&["--servers", &s, "get"], None, &keys);
    assert_eq!(out.status.code(), Some(0));
    let expected: String =
        (0..5000).rev().map(|i| format!("k{i} value {i} with spaces\n")).collect();
    assert_eq!(text(&out.stdout), expected, "one line per hit, in request order");
}

#[test]
fn stats_version_flush_health() {
    let a = Memcached::start();
    let b = Memcached::start();
    let s = format!("{} {}", a.spec(), b.spec());
    let out = run(&["--servers", &s, "version"], None, "");
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with(&format!("{} 1.", a.spec())), "{lines:?}");

    let out = run(&["--servers", &s, "stats"], None, "");
    assert_eq!(out.status.code(), Some(0));
    let table = text(&out.stdout);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, vec!["stat", &a.spec(), &b.spec()]);
    assert!(table.lines().any(|l| l.starts_with("curr_items ")));

    run(&["--servers", &s, "set", "k", "v"], None, "");
    let out = run(&["--servers", &s, "flush"], None, "");
    assert_eq!(out.status.code(), Some(2), "flush without --yes is refused");
    assert_eq!(run(&["--servers", &s, "get", "k"], None, "").status.code(), Some(0));
    assert_eq!(run(&["--servers", &s, "flush", "--yes"], None, "").status.code(), Some(0));
    assert_eq!(run(&["--servers", &s, "get", "k"], None, "").status.code(), Some(1));

    let out = run(&["--servers", &s, "health"], None, "");
    assert_eq!(out.status.code(), Some(0));
    for line in text(&out.stdout).lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[1], "up");
        assert!(parts[2].parse::<f64>().is_ok(), "{line}");
    }
}

#[test]
fn errors_are_one_line_on_stderr_with_status_2() {
    let a = Memcached::start();
    let s = a.spec();
    let closed = format!("127.0.0.1:{}", closed_port());
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["--servers", &s, "set", "bad key", "v"], "", "bad key"),
        (vec!["--servers", &s, "get"], "ok\na\r\nflush_all\n", "bad key"),
        (vec!["--servers", &s, "load"], "ok 1\nnovalue\n", "expected `KEY VALUE`"),
        (vec!["--servers", "bogus=1", "get", "k"], "", "unknown option"),
        (vec!["--servers", &closed, "get", "k"], "", &closed),
        (vec!["get", "k"], "", "MCRING_SERVERS"),
        (vec!["--servers", &s, "frobnicate"], "", "unknown command"),
    ];
    for (args, stdin, needle) in cases {
        let out = run(&args, None, stdin);
        let err = text(&out.stderr);
        assert!(out.status.code().unwrap_or(0) >= 2, "{args:?}: {:?}", out.status);
        assert!(err.contains(needle), "{args:?}: stderr {err:?} should name {needle:?}");
        assert!(err.trim_end().lines().count() == 1 || err.contains("usage"), "{args:?}: {err:?}");
    }
    // Nothing of a refused batch was sent: "ok" was not stored either.
    assert_eq!(a.raw_get(b"ok"), None);
    assert_eq!(a.stat("cmd_flush").as_deref(), Some("0"));
}

#[test]
fn locate_streams_and_marks_refused_keys() {
    let out = run(
        &["locate", "10.0.0.1:11211", "10.0.0.2:11211", "[::1]:11212:3", "/tmp/mc.sock"],
        None,
        "a\n\nhas space\nb\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1], "ERR empty key");
    assert!(lines[2].starts_with("ERR key contains space"));
    for l in [&lines[0], &lines[3]] {
        assert!(["10.0.0.1:11211", "10.0.0.2:11211", "[::1]:11212", "/tmp/mc.sock"]
            .contains(&l.as_str()));
    }
}

// ---- incidents: one server killed, one stopped -------------------------

/// A pool of three where `b` is killed and `c` is SIGSTOPped, with short
/// timeouts so the stopped server costs 300 ms per request.
struct Incident {
    a: Memcached,
    b: Memcached,
    c: Memcached,
    config: String,
}

impl Incident {
    fn new() -> Incident {
        let a = Memcached::start();
        let mut b = Memcached::start();
        let c = Memcached::start();
        let config = format!(
            "{} {} {} connect_timeout_ms=300 io_timeout_ms=300",
            a.spec(),
            b.spec(),
            c.spec()
        );
        b.kill();
        c.pause();
        Incident { a, b, c, config }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--servers", &self.config];
        all.extend_from_slice(args);
        run(&all, None, "")
    }
}

fn lines(out: &Output) -> Vec<String> {
    text(&out.stdout).lines().map(String::from).collect()
}

#[test]
fn every_server_is_reported_with_one_killed_and_one_stopped() {
    let inc = Incident::new();
    let (a, b, c) = (inc.a.spec(), inc.b.spec(), inc.c.spec());

    let out = inc.run(&["health"]);
    assert_eq!(out.status.code(), Some(1), "a server down: exit 1");
    let l = lines(&out);
    assert_eq!(l.len(), 3, "{l:?}");
    assert!(l[0].starts_with(&format!("{a} up ")));
    assert!(l[1].starts_with(&format!("{b} down ")));
    assert!(l[2].starts_with(&format!("{c} down ")));

    let out = inc.run(&["version"]);
    assert_eq!(out.status.code(), Some(2));
    let l = lines(&out);
    assert!(l[0].starts_with(&format!("{a} 1.")), "{l:?}");
    assert_eq!(l[1..], [format!("{b} -"), format!("{c} -")]);
    let err = text(&out.stderr);
    assert!(err.contains(&b) && err.contains(&c), "each failure named: {err}");
    assert_eq!(err.lines().count(), 2, "{err}");

    let out = inc.run(&["stats"]);
    assert_eq!(out.status.code(), Some(2));
    let l = lines(&out);
    let header: Vec<&str> = l[0].split_whitespace().collect();
    assert_eq!(header, ["stat", a.as_str(), b.as_str(), c.as_str()]);
    let state: Vec<&str> = l[1].split_whitespace().collect();
    assert_eq!(state, ["server_state", "ok", "down", "down"]);
    let pid: Vec<&str> =
        l.iter().find(|r| r.starts_with("pid ")).unwrap().split_whitespace().collect();
    assert_eq!(pid[1], inc.a.pid().unwrap().to_string());
    assert_eq!(pid[2..], ["-", "-"]);

    let out = inc.run(&["stats", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let records: Vec<serde_json::Value> =
        lines(&out).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["ok"], true);
    assert_eq!(records[0]["stats"]["pid"], inc.a.pid().unwrap().to_string());
    assert_eq!(records[1]["ok"], false);
    assert!(records[2]["error"].as_str().unwrap().contains("timed out"), "{:?}", records[2]);

    let out = inc.run(&["stats", "settings", "--server", &a]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(lines(&out).iter().any(|l| l.starts_with("maxconns ")));

    inc.a.raw(b"set kept 0 0 1\r\nx\r\n", b"\r\n");
    let out = inc.run(&["flush", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(lines(&out), [format!("{a} flushed"), format!("{b} failed"), format!("{c} failed")]);
    assert_eq!(inc.a.raw_get(b"kept"), None, "the live server was flushed");

    let out = inc.run(&["monitor", "--interval", "0.2", "--count", "1"]);
    assert_eq!(out.status.code(), Some(2), "servers failed to answer during the run");
    let l = lines(&out);
    assert_eq!(l.len(), 3, "{l:?}");
    let fields: Vec<&str> = l[0].split(' ').collect();
    assert_eq!(fields.len(), 5, "{l:?}");
    assert_eq!(fields[1], a);
    assert!(l[1].ends_with(&format!("{b} down")) && l[2].ends_with(&format!("{c} down")), "{l:?}");
}

#[test]
fn get_prints_every_hit_and_names_each_failed_key() {
    let inc = Incident::new();
    let client = mcring::Client::from_config_str(&inc.config).unwrap();
    let on = |server: &str| -> Vec<String> {
        (0..200)
            .map(|i| format!("k{i}"))
            .filter(|k| client.server_for(k).unwrap().name() == server)
            .collect()
    };
    let (on_a, on_b, on_c) = (on(&inc.a.spec()), on(&inc.b.spec()), on(&inc.c.spec()));
    for k in &on_a {
        inc.a.raw(format!("set {k} 0 0 2\r\nv{}\r\n", k.len() % 10).as_bytes(), b"\r\n");
    }
    let mut keys: Vec<&str> = Vec::new();
    for i in 0..on_a.len().max(on_b.len()).max(on_c.len()) {
        for list in [&on_b, &on_a, &on_c] {
            if let Some(k) = list.get(i) {
                keys.push(k);
            }
        }
    }
    let mut args = vec!["get"];
    args.extend(&keys);
    let out = inc.run(&args);
    assert_eq!(out.status.code(), Some(2), "failed keys: exit 2");
    let got: Vec<String> = lines(&out);
    let want: Vec<String> = keys
        .iter()
        .filter(|k| on_a.contains(&k.to_string()))
        .map(|k| format!("{k} v{}", k.len() % 10))
        .collect();
    assert_eq!(got, want, "every hit, in request order, none lost to the failures");
    // Each failed key is named on stderr (keys the engine read from a
    // failover target instead are misses, not failures).
    let err = text(&out.stderr);
    assert!(err.lines().count() >= 2, "{err}");
    for line in err.lines() {
        let key = line.strip_prefix("mcring: ").and_then(|l| l.split(':').next()).unwrap();
        assert!(on_b.contains(&key.to_string()) || on_c.contains(&key.to_string()), "{line}");
    }
    assert!(err.contains(&inc.b.spec()) && err.contains(&inc.c.spec()), "{err}");

    let mut args = vec!["--json", "get"];
    args.extend(&keys);
    let records: Vec<serde_json::Value> =
        lines(&inc.run(&args)).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), keys.len(), "one record per key");
    assert_eq!(records.iter().filter(|r| r["found"] == true).count(), on_a.len());
    let failed = records.iter().filter(|r| r.get("error").is_some()).count();
    let missed = records.iter().filter(|r| r["found"] == false).count();
    assert!(failed >= 2, "{records:?}");
    assert_eq!(failed + missed, on_b.len() + on_c.len());
}

// ---- output ------------------------------------------------------------

/// Runs mcring with its stdout read for a few bytes and then closed.
fn run_with_closed_stdout(args: &[&str], stdin: String) -> Output {
    use std::io::Read;
    let mut child = Command::new(mcring_binary())
        .args(args)
        .env_remove("MCRING_SERVERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let a = Memcached::start();
    let b = Memcached::start();
    let s = format!("{} {}", a.spec(), b.spec());
    let lines: String = (0..30_000).map(|i| format!("key{i} value number {i}\n")).collect();
    assert_eq!(run(&["--servers", &s, "load"], None, &lines).status.code(), Some(0));
    let keys: String = (0..30_000).map(|i| format!("key{i}\n")).collect();
    for args in [
        vec!["--servers", s.as_str(), "get"],
        vec!["--servers", s.as_str(), "locate"],
        vec!["--servers", s.as_str(), "--json", "get"],
    ] {
        let out = run_with_closed_stdout(&args, keys.clone());
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: nothing on stderr, no panic: {err}");
    }
    let out = run_with_closed_stdout(
        &["--servers", &s, "monitor", "--interval", "0.05", "--count", "1000"],
        String::new(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Reverses the CLI's escaping (what `printf '%b'` does for these escapes).
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 1 < s.len() {
            match s[i + 1] {
                b'\\' => out.push(b'\\'),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'x' => {
                    let hex = std::str::from_utf8(&s[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                    continue;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

#[test]
fn values_with_newlines_and_binary_bytes_print_safely() {
    let a = Memcached::start();
    let s = a.spec();
    let binary: Vec<u8> = (0u8..=255).chain(b"\n\r\\ end".iter().copied()).collect();
    let mut child = Command::new(mcring_binary())
        .args(["--servers", &s, "set", "bin", "--stdin"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&binary).unwrap();
    assert!(child.wait().unwrap().success());
    let text_value = "line one\nline two\ttabbed é";
    assert_eq!(run(&["--servers", &s, "set", "txt", text_value], None, "").status.code(), Some(0));

    let out = run(&["--servers", &s, "get", "bin", "txt"], None, "");
    assert_eq!(out.status.code(), Some(0));
    let printed: Vec<&[u8]> = out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(printed.len(), 2, "one line per hit whatever the bytes");
    assert_eq!(unescape(&printed[0][4..]), binary);
    assert_eq!(unescape(&printed[1][4..]), text_value.as_bytes());
    assert_eq!(text(printed[1]), r"txt line one\nline two\ttabbed é");

    let out = run(&["--servers", &s, "get", "--raw", "bin"], None, "");
    assert_eq!(out.stdout, binary, "--raw: the bytes exactly");

    let out = run(&["--servers", &s, "--json", "get", "bin", "txt"], None, "");
    let records: Vec<serde_json::Value> =
        lines(&out).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(records[0]["value_base64"].is_string(), "{:?}", records[0]);
    assert_eq!(records[1]["value"], text_value);
}

// ---- arguments ---------------------------------------------------------

#[test]
fn servers_anywhere_on_the_line_and_the_environment_for_every_command() {
    let a = Memcached::start();
    let s = a.spec();
    assert_eq!(run(&["set", "k", "v", "--servers", &s], None, "").status.code(), Some(0));
    assert_eq!(text(&run(&["get", "--servers", &s, "k"], None, "").stdout), "k v\n");
    assert_eq!(text(&run(&["get", "k"], Some(&s), "").stdout), "k v\n");
    // `--` ends flags: a value that looks like one.
    assert_eq!(
        run(&["--servers", &s, "set", "k2", "--", "--json"], None, "").status.code(),
        Some(0)
    );
    assert_eq!(text(&run(&["get", "k2"], Some(&s), "").stdout), "k2 --json\n");

    // locate --hash takes its servers from MCRING_SERVERS too.
    let env = "10.0.0.1:11211 10.0.0.2:11211 10.0.0.3:11211";
    let keys: String = (0..200).map(|i| format!("k{i}\n")).collect();
    let out = run(&["locate", "--hash", "crc"], Some(env), &keys);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let router = mcring::Router::new(&mcring::Config::parse(&format!("{env} hash=crc")).unwrap());
    let want: String = (0..200)
        .map(|i| {
            format!(
                "{}\n",
                router.servers()[router.primary(format!("k{i}").as_bytes()).unwrap()].name()
            )
        })
        .collect();
    assert_eq!(text(&out.stdout), want);
    let default = run(&["locate"], Some(env), &keys);
    assert_ne!(text(&default.stdout), want, "the hash option took effect");
}

#[test]
fn touch_add_incr_decr_exists_delete() {
    let a = Memcached::start();
    let s = a.spec();
    let r = |args: &[&str]| run(args, Some(&s), "");

    let out = r(&["add", "n", "5"]);
    assert_eq!(out.status.code(), Some(0));
    let out = r(&["add", "n", "6"]);
    assert_eq!(out.status.code(), Some(1), "add on an existing key: exit 1");
    assert_eq!(text(&r(&["--json", "add", "n", "6"]).stdout), "{\"key\":\"n\",\"stored\":false}\n");

    assert_eq!(text(&r(&["incr", "n"]).stdout), "6\n");
    assert_eq!(text(&r(&["incr", "n", "10"]).stdout), "16\n");
    assert_eq!(text(&r(&["decr", "n", "20"]).stdout), "0\n", "decr stops at 0");
    let out = r(&["incr", "absent"]);
    assert_eq!((out.status.code(), out.stdout.is_empty()), (Some(1), true));
    assert_eq!(r(&["incr", "n", "-1"]).status.code(), Some(2), "a bad delta is refused");

    let out = r(&["exists", "n", "absent"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "n yes\nabsent no\n");
    assert_eq!(r(&["exists", "n"]).status.code(), Some(0));

    let out = r(&["touch", "--ttl", "1", "n", "absent"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "n touched\nabsent not_found\n");
    assert_eq!(r(&["touch", "n"]).status.code(), Some(2), "touch needs --ttl");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(text(&r(&["exists", "n"]).stdout), "n no\n", "the TTL took effect");

    r(&["set", "d", "x"]);
    let out = r(&["--json", "delete", "d", "absent"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"key\":\"d\",\"result\":\"deleted\"}\n{\"key\":\"absent\",\"result\":\"not_found\"}\n"
    );
}

#[test]
fn invalidate_marks_keys_stale_for_lease_readers() {
    let a = Memcached::start();
    let s = a.spec();
    let r = |args: &[&str]| run(args, Some(&s), "");
    assert_eq!(r(&["set", "page", "old"]).status.code(), Some(0));
    let out = r(&["invalidate", "page", "absent"]);
    assert_eq!(out.status.code(), Some(1), "a key that was not there: exit 1");
    assert_eq!(text(&out.stdout), "page invalidated\nabsent not_found\n");
    // A lease reader is told to recompute and handed the old value; the
    // next one is served it as stale.
    let c = mcring::Client::new(mcring::Config::parse(&s).unwrap()).unwrap();
    let opts = c.lease_options();
    let mcring::Leased::Compute(token) = c.get_or_lease("page", &opts).unwrap() else {
        panic!("the first reader after invalidate recomputes")
    };
    assert_eq!(token.previous().map(|i| &i.value[..]), Some(&b"old"[..]));
    assert!(
        matches!(c.get_or_lease("page", &opts).unwrap(), mcring::Leased::Stale(i) if i.value == b"old")
    );
    c.lease_release(token).unwrap();
    // --stale-ttl 0 deletes.
    let out = r(&["--json", "invalidate", "--stale-ttl", "0", "page"]);
    assert_eq!(text(&out.stdout), "{\"key\":\"page\",\"result\":\"invalidated\"}\n");
    assert_eq!(text(&r(&["exists", "page"]).stdout), "page no\n");
    assert_eq!(r(&["invalidate"]).status.code(), Some(2), "invalidate needs a key");
    assert_eq!(r(&["invalidate", "--stale-ttl", "x", "k"]).status.code(), Some(2));
}

// ---- waiting, watching -------------------------------------------------

#[test]
fn wait_up_returns_once_a_restarted_server_answers() {
    let a = Memcached::start();
    let mut b = Memcached::start();
    let s = format!("{} {} connect_timeout_ms=200 io_timeout_ms=200", a.spec(), b.spec());
    b.kill();
    let out = run(&["--servers", &s, "wait-up", "--timeout", "0.5"], None, "");
    assert_eq!(out.status.code(), Some(1), "timed out");
    let l = lines(&out);
    assert!(l[0].starts_with(&format!("{} up ", a.spec())), "{l:?}");
    assert_eq!(l[1], format!("{} down", b.spec()));

    // The server is restarted from this thread: a test server dies with
    // the thread that started it.
    let waiter = {
        let s = s.clone();
        std::thread::spawn(move || run(&["--servers", &s, "wait-up", "--timeout", "20"], None, ""))
    };
    std::thread::sleep(std::time::Duration::from_millis(700));
    b.restart();
    let out = waiter.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let l = lines(&out);
    assert_eq!(l.len(), 2, "{l:?}");
    let after: f64 = l[1].strip_prefix(&format!("{} up ", b.spec())).unwrap().parse().unwrap();
    assert!(after >= 500.0, "came up after the restart: {after} ms");
}

#[test]
fn monitor_reports_rates_and_exits_2_below_the_hit_rate() {
    let a = Memcached::start();
    let b = Memcached::start();
    let s = format!("{} {}", a.spec(), b.spec());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Traffic: every get on `a` misses, every get on `b` hits.
    let traffic = {
        let (a, b, stop) = (a.addr(), b.addr(), stop.clone());
        std::thread::spawn(move || {
            mcring_tests::memcached::raw_command(b, b"set hot 0 0 1\r\nx\r\n", b"\r\n");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                mcring_tests::memcached::raw_command(a, b"get absent\r\n", b"END\r\n");
                mcring_tests::memcached::raw_command(b, b"get hot\r\n", b"END\r\n");
            }
        })
    };
    let out =
        run(&["--servers", &s, "monitor", "--interval", "0.5", "--hit-rate-below", "80"], None, "");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    traffic.join().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let l = lines(&out);
    let last = l.last().unwrap();
    assert!(last.ends_with(&format!("{} below 0.00", a.spec())), "{l:?}");
    let b_line: Vec<&str> =
        l.iter().rev().find(|x| x.contains(&b.spec())).unwrap().split(' ').collect();
    assert_eq!(b_line[2], "100.00", "{l:?}");
    assert!(b_line[4].parse::<f64>().unwrap() > 1.0, "commands/s {l:?}");
    assert_eq!(l.iter().filter(|x| x.contains(" below ")).count(), 1, "{l:?}");
}

#[test]
fn top_lists_the_hottest_keys_first() {
    let a = Memcached::start();
    let b = Memcached::start();
    let s = format!("{} {}", a.spec(), b.spec());
    let client = mcring::Client::from_config_str(&s).unwrap();
    for k in ["hot", "warm", "cold"] {
        client.set(k, b"v", 0, 0).unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        let s = s.clone();
        std::thread::spawn(move || {
            let client = mcring::Client::from_config_str(&s).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (k, n) in [("hot", 4), ("warm", 2), ("cold", 1)] {
                    for _ in 0..n {
                        client.get(k).unwrap();
                    }
                }
            }
        })
    };
    let out = run(&["--servers", &s, "top", "--duration", "1.5", "--limit", "2"], None, "");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    traffic.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let l = lines(&out);
    assert_eq!(l.len(), 2, "--limit 2: {l:?}");
    let row = |i: usize| -> (u64, String, String) {
        let f: Vec<&str> = l[i].split(' ').collect();
        (f[0].parse().unwrap(), f[1].to_string(), f[2].to_string())
    };
    let (hot, warm) = (row(0), row(1));
    assert_eq!((hot.1.as_str(), warm.1.as_str()), ("hot", "warm"), "{l:?}");
    assert_eq!(hot.2, client.server_for("hot").unwrap().name());
    assert!(hot.0 > warm.0 && warm.0 > 10, "{l:?}");
}

#[test]
fn dump_lists_every_key_of_every_server_and_names_a_dead_one() {
    let a = Memcached::start();
    let mut b = Memcached::start();
    let s = format!("{} {} connect_timeout_ms=300 io_timeout_ms=300", a.spec(), b.spec());
    let client = mcring::Client::from_config_str(&s).unwrap();
    for i in 0..100u32 {
        client.set(format!("d{i}"), b"v", 0, if i.is_multiple_of(2) { 0 } else { 3600 }).unwrap();
    }
    let out = run(&["--servers", &s, "dump"], None, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let l = lines(&out);
    assert_eq!(l.len(), 100);
    for line in &l {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 6, "{line}");
        assert_eq!(f[0], client.server_for(f[1]).unwrap().name());
        let i: u32 = f[1][1..].parse().unwrap();
        assert_eq!(f[2] == "-1", i.is_multiple_of(2), "{line}");
    }
    let on_a = l.iter().filter(|x| x.starts_with(&a.spec())).count();
    b.kill();
    let out = run(&["--servers", &s, "dump"], None, "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(lines(&out).len(), on_a, "the live server's keys are all printed");
    assert!(text(&out.stderr).contains(&b.spec()));
    let out = run(&["--servers", &s, "dump", "--server", &a.spec()], None, "");
    assert_eq!((out.status.code(), lines(&out).len()), (Some(0), on_a));
}

#[test]
fn diff_ring_counts_and_lists_the_keys_a_change_moves() {
    // Computed only: these servers are never dialed.
    let old = "127.4.0.1:11211 127.4.0.2:11211 127.4.0.3:11211";
    let new = "127.4.0.1:11211 127.4.0.2:11211 127.4.0.3:11211 127.4.0.4:11211";
    let keys: Vec<String> = (0..2000).map(|i| format!("diff:{i}")).collect();
    let (a, b) = (Client::from_config_str(old).unwrap(), Client::from_config_str(new).unwrap());
    let moving: Vec<&String> =
        keys.iter().filter(|k| a.server_for(k).unwrap() != b.server_for(k).unwrap()).collect();
    let input = keys.join("\n") + "\n";
    let out = run(&["diff-ring", old, new], None, &input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pct = moving.len() as f64 * 100.0 / keys.len() as f64;
    assert_eq!(text(&out.stdout), format!("moved {} of 2000 ({pct:.2}%)\n", moving.len()));
    assert!((300..700).contains(&moving.len()), "about a quarter move: {}", moving.len());

    let out = run(&["diff-ring", "--list", old, new], None, &input);
    let listed = lines(&out);
    assert_eq!(listed.len(), moving.len() + 1);
    for (line, k) in listed.iter().zip(&moving) {
        let want =
            format!("{k} {} {}", a.server_for(k).unwrap().name(), b.server_for(k).unwrap().name());
        assert_eq!(line, &want);
    }
    // A bad config names its token.
    let out = run(&["diff-ring", old, "127.4.0.1:0"], None, "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("127.4.0.1:0"), "{}", text(&out.stderr));
}

#[test]
fn servers_lists_the_servers_of_a_config() {
    let out = run(&["servers"], Some("127.4.0.1:11211 127.4.0.2:11300:3"), "");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "127.4.0.1:11211 1 config\n127.4.0.2:11300 3 config\n");
}
