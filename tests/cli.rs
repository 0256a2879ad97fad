//! The `mcring` command line against real memcached: exact output formats
//! and exit statuses, as scripts rely on them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

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
