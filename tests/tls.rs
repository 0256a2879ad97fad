//! TLS and authentication against real memcached (`-Z`, `-Y`): every command
//! over TLS and with a login, the handshake inside the fan-out, session
//! resumption, the refusal cases with their messages, failover, fork, and no
//! secret in anything a user can see.

use std::time::{Duration, Instant};

use mcring::{Client, Config, Error, SetItem, Status};
use mcring_tests::tls::{authfile, tls_memcached, ClientCerts, Pki};
use mcring_tests::Memcached;

const SECRET: &str = "hunter2-Zq9x";

fn ca() -> String {
    Pki::get().path("ca.pem")
}

fn tls_options() -> String {
    format!("tls=true tls_ca={} connect_timeout_ms=2000 io_timeout_ms=2000", ca())
}

fn client(config: &str) -> Client {
    Client::from_config_str(config).unwrap_or_else(|e| panic!("{config}: {e}"))
}

/// A password file holding SECRET.
fn password_file() -> String {
    let path = std::env::temp_dir().join(format!("mcring-pw-{}", std::process::id()));
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    path.display().to_string()
}

/// Runs every kind of command on `c` and checks the results.
fn every_command(c: &Client) {
    c.flush_all(0).into_iter().for_each(|(s, r)| r.unwrap_or_else(|e| panic!("{s}: {e}")));
    assert_eq!(c.set("k", b"v1", 7, 0).unwrap(), Status::Done);
    let item = c.get("k").unwrap().unwrap();
    assert_eq!((item.value.as_slice(), item.flags), (&b"v1"[..], 7));
    assert_eq!(c.add("k", b"x", 0, 0).unwrap(), Status::NotStored);
    assert_eq!(c.add("new", b"n", 0, 0).unwrap(), Status::Done);
    assert_eq!(c.replace("k", b"v2", 0, 0).unwrap(), Status::Done);
    assert_eq!(c.append("k", b"-a").unwrap(), Status::Done);
    assert_eq!(c.prepend("k", b"p-").unwrap(), Status::Done);
    assert_eq!(c.get("k").unwrap().unwrap().value, b"p-v2-a");
    let cas = c.gets("k").unwrap().unwrap().cas.unwrap();
    assert_eq!(c.cas("k", b"v3", 0, 0, cas).unwrap(), Status::Done);
    assert_eq!(c.cas("k", b"v4", 0, 0, cas).unwrap(), Status::Exists);
    assert_eq!(c.touch("k", 100).unwrap(), Status::Done);
    assert_eq!(c.get_and_touch("k", 200).unwrap().unwrap().value, b"v3");
    assert_eq!(c.set("n", b"10", 0, 0).unwrap(), Status::Done);
    assert_eq!(c.incr("n", 5).unwrap(), Some(15));
    assert_eq!(c.decr("n", 3).unwrap(), Some(12));
    assert_eq!(c.incr_or_init("fresh", 1, 41, 0).unwrap(), 41);
    assert_eq!(c.incr_or_init("fresh", 1, 41, 0).unwrap(), 42);
    c.delete_noreply("new").unwrap();
    assert_eq!(c.delete("k").unwrap(), Status::Done);
    assert_eq!(c.delete("k").unwrap(), Status::NotFound);
    assert!(c.get("new").unwrap().is_none());

    // A value larger than a TLS record, and 100 keys in one multi-get.
    let big: Vec<u8> = (0..900_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(c.set("big", &big, 0, 0).unwrap(), Status::Done);
    assert_eq!(c.get("big").unwrap().unwrap().value, big);
    let keys: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
    let values: Vec<Vec<u8>> = keys.iter().map(|k| format!("value of {k}").into_bytes()).collect();
    let items: Vec<SetItem<'_>> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| SetItem { key: k.as_bytes(), value: v, flags: 0 })
        .collect();
    assert!(c.set_multi(&items, 0).unwrap().into_iter().all(|r| r == Ok(Status::Done)));
    let got = c.get_multi(&keys).unwrap();
    for (r, v) in got.into_iter().zip(&values) {
        assert_eq!(&r.unwrap().unwrap().value, v);
    }
    c.set_multi_noreply(&items[..10], 0).unwrap();
    assert!(c.delete_multi(&keys).unwrap().into_iter().all(|r| r == Ok(Status::Done)));
    for (s, v) in c.version() {
        assert!(v.unwrap_or_else(|e| panic!("{s}: {e}")).starts_with("1."));
    }
    for (s, st) in c.server_stats(None) {
        assert!(st.unwrap_or_else(|e| panic!("{s}: {e}")).iter().any(|(k, _)| k == "pid"));
    }
}

#[test]
fn every_command_works_over_tls_across_three_servers() {
    let servers: Vec<Memcached> =
        (0..3).map(|_| tls_memcached("server", ClientCerts::None, &[])).collect();
    let names: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let c = client(&format!("{} {}", names.join(" "), tls_options()));
    every_command(&c);
    let stats = c.stats().total;
    assert!(stats.tls_handshakes + stats.tls_resumptions >= 3, "{stats:?}");
    assert_eq!(stats.tls_handshakes + stats.tls_resumptions, stats.connects);
}

#[test]
fn a_fresh_multi_get_completes_every_handshake_in_the_poll_loop() {
    let servers: Vec<Memcached> =
        (0..3).map(|_| tls_memcached("server", ClientCerts::None, &[])).collect();
    let names: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let writer = client(&format!("{} {}", names.join(" "), tls_options()));
    let keys: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
    for k in &keys {
        writer.set(k, k.as_bytes(), 0, 0).unwrap();
    }
    // A new client: its first request is a multi-get over three servers, so
    // three connections and handshakes are driven by one poll loop.
    let reader = client(&format!("{} {}", names.join(" "), tls_options()));
    let got = reader.get_multi(&keys).unwrap();
    for (k, r) in keys.iter().zip(got) {
        assert_eq!(r.unwrap().unwrap().value, k.as_bytes());
    }
    assert_eq!(reader.stats().total.connects, 3);
}

#[test]
fn every_command_works_with_a_login_over_tls_and_in_plaintext() {
    let auth = authfile("app", SECRET);
    let auth = auth.display().to_string();
    let tls = tls_memcached("server", ClientCerts::None, &["-Y", &auth]);
    let plain = Memcached::start_with(&["-Y", &auth]);
    let login = format!("username=app password_file={}", password_file());
    every_command(&client(&format!("{} {} {login}", tls.spec(), tls_options())));
    every_command(&client(&format!("{} {login} io_timeout_ms=2000", plain.spec())));
    // A server without -Y takes the login as an already expired item.
    let open = Memcached::start();
    every_command(&client(&format!("{} {login}", open.spec())));
    assert!(open.raw_get(b"mcring_auth").is_none(), "the password must not be readable");
}

#[test]
fn a_mixed_pool_uses_tls_only_where_asked() {
    let tls = tls_memcached("server", ClientCerts::None, &[]);
    let plain = Memcached::start();
    let config = format!("{},tls=true {} tls_ca={}", tls.spec(), plain.spec(), ca());
    let parsed = Config::parse(&config).unwrap();
    assert_eq!(parsed.servers[0].to_string(), format!("{},tls=true", tls.spec()));
    let c = client(&config);
    every_command(&c);
    let stats = c.stats();
    assert!(stats.servers[0].1.tls_handshakes + stats.servers[0].1.tls_resumptions > 0);
    assert_eq!(stats.servers[1].1.tls_handshakes + stats.servers[1].1.tls_resumptions, 0);
    // And the other way round: tls=true for all, one server opts out.
    let c = client(&format!("{} {},tls=false {}", tls.spec(), plain.spec(), tls_options()));
    every_command(&c);
}

#[test]
fn reconnects_and_new_clients_resume_the_session() {
    let m = tls_memcached("server", ClientCerts::None, &[]);
    let config = format!("{} {}", m.spec(), tls_options());
    let c = client(&config);
    c.set("r", b"1", 0, 0).unwrap();
    c.close();
    assert_eq!(c.get("r").unwrap().unwrap().value, b"1");
    let s = c.stats().total;
    assert_eq!(s.connects, 2);
    assert!(s.tls_resumptions >= 1, "the reconnect resumed: {s:?}");
    // Another client with the same settings (a PHP request's client) shares
    // the session store.
    let other = client(&config);
    assert_eq!(other.get("r").unwrap().unwrap().value, b"1");
    assert_eq!(other.stats().total.tls_resumptions, 1, "{:?}", other.stats().total);
}

#[test]
fn a_verified_name_can_be_given_for_servers_given_by_ip() {
    let m = tls_memcached("server-wrong-name", ClientCerts::None, &[]);
    let c = client(&format!("{} {} tls_server_name=wrong.invalid", m.spec(), tls_options()));
    assert_eq!(c.set("n", b"1", 0, 0).unwrap(), Status::Done);
}

#[test]
fn client_certificates_are_presented_when_the_server_requires_them() {
    let pki = Pki::get();
    let m = tls_memcached("server", ClientCerts::Required, &[]);
    let cert = format!("tls_cert={} tls_key={}", pki.path("client.pem"), pki.path("client.key"));
    every_command(&client(&format!("{} {} {cert}", m.spec(), tls_options())));
}

/// The connection error of the first request of a client for `config`,
/// which must come within `limit`.
fn first_error(config: &str, limit: Duration) -> Error {
    let c = client(config);
    let t = Instant::now();
    let e = c.set("x", b"1", 0, 0).expect_err("the request must fail");
    assert!(t.elapsed() < limit, "took {:?} for {e}", t.elapsed());
    e
}

fn assert_connection_error(e: &Error, needle: &str) {
    match e {
        Error::Connection { message, .. } => {
            assert!(message.contains(needle), "{message:?} should say {needle:?}")
        }
        other => panic!("expected a connection error saying {needle:?}, got {other:?}"),
    }
}

#[test]
fn bad_server_certificates_are_refused_with_the_reason() {
    let limit = Duration::from_millis(2500);
    let other_ca = tls_memcached("server-other-ca", ClientCerts::None, &[]);
    let e = first_error(&format!("{} {}", other_ca.spec(), tls_options()), limit);
    assert_connection_error(&e, "not signed by a trusted CA");
    println!("other CA: {e}");
    let expired = tls_memcached("server-expired", ClientCerts::None, &[]);
    let e = first_error(&format!("{} {}", expired.spec(), tls_options()), limit);
    assert_connection_error(&e, "has expired");
    println!("expired: {e}");
    let wrong_name = tls_memcached("server-wrong-name", ClientCerts::None, &[]);
    let e = first_error(&format!("{} {}", wrong_name.spec(), tls_options()), limit);
    assert_connection_error(&e, "not valid for the server's name");
    println!("wrong name: {e}");
    // The system roots do not know the test CA either.
    let good = tls_memcached("server", ClientCerts::None, &[]);
    let e = first_error(&format!("{} tls=true", good.spec()), limit);
    assert_connection_error(&e, "not signed by a trusted CA");
    println!("system roots, test CA: {e}");
}

#[test]
fn missing_or_foreign_client_certificates_are_refused() {
    let pki = Pki::get();
    let limit = Duration::from_millis(2500);
    let m = tls_memcached("server", ClientCerts::Required, &[]);
    let e = first_error(&format!("{} {}", m.spec(), tls_options()), limit);
    assert_connection_error(&e, "client certificate");
    println!("no client certificate: {e}");
    let foreign = format!(
        "tls_cert={} tls_key={}",
        pki.path("client-other-ca.pem"),
        pki.path("client-other-ca.key")
    );
    let e = first_error(&format!("{} {} {foreign}", m.spec(), tls_options()), limit);
    assert_connection_error(&e, "client");
    println!("foreign client certificate: {e}");
}

#[test]
fn plaintext_and_tls_mismatches_fail_within_the_timeouts() {
    let tls = tls_memcached("server", ClientCerts::None, &[]);
    let plain = Memcached::start();
    let limit = Duration::from_millis(1500);
    let timeouts = "connect_timeout_ms=500 io_timeout_ms=500";
    let e = first_error(&format!("{} {timeouts}", tls.spec()), limit);
    assert_connection_error(&e, "set tls=true");
    println!("plaintext client, TLS server: {e}");
    let e = first_error(&format!("{} tls=true tls_ca={} {timeouts}", plain.spec(), ca()), limit);
    match &e {
        Error::Connection { message, .. } => assert!(message.starts_with("TLS:"), "{message}"),
        Error::Timeout { during, .. } => assert_eq!(*during, "TLS handshake"),
        other => panic!("{other:?}"),
    }
    println!("TLS client, plaintext server: {e}");
}

#[test]
fn a_wrong_password_is_auth_failed_and_not_retried_in_a_loop() {
    let auth = authfile("app", SECRET);
    let auth = auth.display().to_string();
    for m in [
        tls_memcached("server", ClientCerts::None, &["-Y", &auth]),
        Memcached::start_with(&["-Y", &auth]),
    ] {
        let tls = if m.has_arg("-Z") { tls_options() } else { String::new() };
        let c = client(&format!(
            "{} {tls} username=app password=wrong-one retry_timeout_ms=60000 failure_limit=1",
            m.spec()
        ));
        let e = c.get("k").expect_err("a wrong password must fail");
        assert!(matches!(e, Error::AuthFailed { .. }), "{e:?}");
        println!("wrong password: {e}");
        let connects = c.stats().total.connects;
        for _ in 0..20 {
            assert!(matches!(c.set("k", b"v", 0, 0), Err(Error::AuthFailed { .. })));
        }
        assert_eq!(c.stats().total.connects, connects, "no new connection per request");
        assert!(c.alive()[0].1, "a refused login does not mark the server dead");
        // Without credentials: the server asks for a login.
        let none = client(&format!("{} {tls}", m.spec()));
        let e = none.get("k").expect_err("no login must fail");
        match &e {
            Error::AuthFailed { message, .. } => assert!(message.contains("requires a login")),
            other => panic!("{other:?}"),
        }
        println!("no credentials: {e}");
    }
}

#[test]
fn failover_works_the_same_over_tls() {
    let mut servers: Vec<Memcached> =
        (0..3).map(|_| tls_memcached("server", ClientCerts::None, &[])).collect();
    let names: Vec<String> = servers.iter().map(|m| m.spec()).collect();
    let c = client(&format!(
        "{} tls=true tls_ca={} failover=next failure_limit=1 retry_timeout_ms=60000 \
         connect_timeout_ms=300 io_timeout_ms=300",
        names.join(" "),
        ca()
    ));
    let keys: Vec<String> = (0..200).map(|i| format!("fo{i}")).collect();
    for k in &keys {
        assert_eq!(c.set(k, b"1", 0, 0).unwrap(), Status::Done);
    }
    servers[1].kill();
    let mut elsewhere = 0;
    for k in &keys {
        match c.set(k, b"2", 0, 0) {
            Ok(Status::Done) => {}
            Ok(Status::StoredElsewhere) => elsewhere += 1,
            // The write that found the server dead.
            Err(Error::Connection { .. } | Error::Timeout { .. }) => {}
            other => panic!("{k}: {other:?}"),
        }
    }
    assert!(elsewhere > 0, "the dead server's keys went to the next server");
    assert!(!c.alive()[1].1);
    for k in &keys {
        assert_eq!(c.get(k).unwrap().map(|i| i.value), Some(b"2".to_vec()), "{k}");
    }
}

#[test]
fn a_forked_child_never_uses_the_parents_tls_connection() {
    let m = tls_memcached("server", ClientCerts::None, &[]);
    let c = client(&format!("{} {}", m.spec(), tls_options()));
    c.set("fork", b"parent", 0, 0).unwrap();
    // SAFETY: the child only uses the client and exits with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = c.get("fork").ok().flatten().map(|i| i.value) == Some(b"parent".to_vec())
            && c.set("fork", b"child", 0, 0).is_ok()
            // Its own connection, not the parent's.
            && c.stats().total.connects == 2;
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed");
    // The parent's connection is intact: its TLS stream was not touched.
    assert_eq!(c.get("fork").unwrap().unwrap().value, b"child");
    assert_eq!(c.stats().total.connects, 1);
}

#[test]
fn secrets_appear_in_no_error_stats_or_debug_output() {
    let auth = authfile("app", SECRET);
    let auth = auth.display().to_string();
    let m = Memcached::start_with(&["-Y", &auth]);
    let mut seen: Vec<String> = Vec::new();
    // Config errors about the password and everything else near it.
    for bad in [
        format!("{} password={SECRET}", m.spec()),
        format!("{} username=app password={SECRET} bogus=1", m.spec()),
        format!("{} password={SECRET}x{SECRET}\u{7f}", m.spec()),
        format!("{} username=app password={SECRET} tls_ca=/none", m.spec()),
    ] {
        let e = Client::from_config_str(&bad).expect_err(&bad);
        seen.push(e.to_string());
        seen.push(format!("{e:?}"));
    }
    let mut wrong =
        Config::parse(&format!("{} username=app password={SECRET}x", m.spec())).unwrap();
    seen.push(format!("{wrong:?}"));
    for name in mcring::config::OPTION_NAMES {
        seen.push(format!("{name}={:?}", wrong.option_text(name)));
    }
    wrong.io_timeout_ms = 300;
    let c = Client::new(wrong).unwrap();
    seen.push(format!("{c:?}"));
    let e = c.get("k").unwrap_err();
    seen.push(e.to_string());
    seen.push(format!("{e:?}"));
    seen.push(c.stats().prometheus());
    seen.push(format!("{:?}", c.health()));
    let right = client(&format!("{} username=app password={SECRET}", m.spec()));
    right.set("k", b"v", 0, 0).unwrap();
    seen.push(format!("{right:?} {:?}", right.config()));
    seen.push(right.stats().prometheus());
    for (s, st) in right.server_stats(None) {
        seen.push(format!("{s} {st:?}"));
    }
    for text in &seen {
        assert!(!text.contains(SECRET), "the password leaked: {text}");
    }
    assert!(seen.iter().any(|t| t.contains("<redacted>")));
}

#[test]
fn the_cli_takes_the_same_options_and_never_prints_the_password() {
    let auth = authfile("app", SECRET);
    let auth = auth.display().to_string();
    let m = tls_memcached("server", ClientCerts::None, &["-Y", &auth]);
    let bin = mcring_tests::mcring_binary();
    let run = |servers: &str, args: &[&str]| {
        let out = std::process::Command::new(&bin)
            .arg("--servers")
            .arg(servers)
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(SECRET), "the CLI printed the password: {text}");
        (out.status.success(), text)
    };
    let good =
        format!("{} {} username=app password_file={}", m.spec(), tls_options(), password_file());
    assert!(run(&good, &["set", "cli", "hello"]).0);
    let (ok, text) = run(&good, &["get", "cli"]);
    assert!(ok && text.contains("hello"), "{text}");
    for args in [&["health"][..], &["version"], &["stats"], &["--json", "get", "cli"]] {
        assert!(run(&good, args).0, "{args:?}");
    }
    let (ok, text) = run(
        &format!("{} {} username=app password=x{SECRET}", m.spec(), tls_options()),
        &["get", "cli"],
    );
    assert!(!ok && text.contains("authentication failed"), "{text}");
    let (ok, text) = run(&format!("{} password={SECRET} bogus=1", m.spec()), &["get", "cli"]);
    assert!(!ok && text.contains("bogus"), "{text}");
    let (ok, text) = run(&format!("{} password={SECRET}", m.spec()), &["get", "cli"]);
    assert!(!ok && text.contains("needs username"), "{text}");
    let (_, text) =
        run(&format!("{} {} username=app password={SECRET}", m.spec(), tls_options()), &["health"]);
    assert!(!text.is_empty());
}
