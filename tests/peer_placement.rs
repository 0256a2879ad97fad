//! php-memcached (`OPT_LIBKETAMA_COMPATIBLE`, `addServers`,
//! `getServerByKey`) and pylibmc (`{"ketama_weighted": True}`,
//! `Client.hash`) put keys where mcring does, for every distribution and
//! hash they offer, and neither dials a server to say so.
//!
//! php-memcached links the system libmemcached 1.1.4; pylibmc 1.6.3's wheel
//! bundles libmemcached 1.0.16. Both run under the no-dial guard (any connect
//! or name lookup is refused and recorded); a second test lets them loose on
//! 127.0.0.1 listeners and checks that no connection arrives.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::Command;

use mcring::key::{check_key, display_key};
use mcring::{Config, Ring};
use mcring_tests::oracle::{Answers, LmServer, Outcome, Script};
use mcring_tests::peers::{self, DialLog};
use mcring_tests::placement_inputs::{
    self as inputs, config_string, lm_servers, HostKinds, ListShape, Rng, TestServer, Weights,
};

const SEED: u64 = 0x7065_6572_7301;
const KEYS: usize = 2000;
const DISTRIBUTIONS: [&str; 3] = ["ketama-weighted", "ketama", "modula"];
const HASHES: [&str; 12] = [
    "default",
    "one_at_a_time",
    "md5",
    "crc",
    "fnv1_64",
    "fnv1a_64",
    "fnv1_32",
    "fnv1a_32",
    "hsieh",
    "murmur",
    "jenkins",
    "murmur3",
];

fn weight(server: &TestServer) -> u32 {
    match server.lm {
        LmServer::Tcp { weight, .. } | LmServer::Unix { weight, .. } => weight,
    }
}

/// The server lists: 10.x addresses and names (3 to 100 servers, every kind
/// of weights), one with IPv6 addresses, one of unix sockets.
fn lists() -> Vec<Vec<TestServer>> {
    let mut rng = Rng::new(SEED);
    let mut lists = Vec::new();
    for (size, weights) in [
        (3, Weights::Random),
        (17, Weights::AllOne),
        (60, Weights::RandomWithZero),
        (100, Weights::Random),
    ] {
        let shape = ListShape { size, hosts: HostKinds::Ipv4AndNames, weights, duplicates: false };
        lists.push(inputs::server_list(&mut rng, shape));
    }
    let shape =
        ListShape { size: 25, hosts: HostKinds::Tcp, weights: Weights::Random, duplicates: false };
    lists.push(inputs::server_list(&mut rng, shape));
    // pylibmc cannot weight unix sockets nor mix them with TCP servers.
    lists.push((0..8).map(|i| socket(&format!("/tmp/mc-peer-{i}.sock"))).collect());
    for list in &mut lists {
        // pylibmc's libmemcached 1.0.16 overflows its continuum when a
        // weight > 1 follows a first server of weight 1 (see
        // tests/peers/pylibmc_placement.py); a weighted server goes first.
        if let Some(i) = list.iter().position(|s| weight(s) > 1) {
            list.swap(0, i);
        }
    }
    lists
}

fn socket(path: &str) -> TestServer {
    TestServer { token: path.to_string(), lm: LmServer::Unix { path: path.to_string(), weight: 1 } }
}

fn ring(servers: &[TestServer], distribution: &str, hash: &str) -> Ring {
    let mut options = vec![format!("distribution={distribution}")];
    if hash != "default" {
        options.push(format!("hash={hash}"));
    }
    let config = Config::parse(&config_string(servers, &options)).unwrap();
    Ring::new(&config.servers, config.distribution, config.key_hash())
}

/// Asks `answers` about every distribution and hash of every list and
/// compares with mcring. Returns (combinations compared, combinations the
/// peer refused with its reason, disagreements).
fn compare(
    peer: &str,
    mut answers: Answers,
    lists: &[Vec<TestServer>],
    keys: &[Vec<u8>],
    peer_checks_keys: bool,
) -> (usize, Vec<String>, Vec<String>) {
    let mut compared = 0;
    let mut refused = Vec::new();
    let mut problems = Vec::new();
    for (n, servers) in lists.iter().enumerate() {
        answers.ok();
        answers.ok();
        for _ in 0..DISTRIBUTIONS.len() * HASHES.len() {
            let p = answers.placement();
            let owners = match &p.outcome {
                Outcome::Placed(owners) => owners,
                Outcome::Unsupported(reason) => {
                    refused.push(format!("{} {}: {reason}", p.distribution, p.hash));
                    continue;
                }
                other => panic!("{peer} on list {n} {} {}: {other:?}", p.distribution, p.hash),
            };
            let ring = ring(servers, &p.distribution, &p.hash);
            compared += 1;
            for (key, owner) in keys.iter().zip(owners) {
                let mcring_refuses = peer_checks_keys && check_key(key, 0).is_err();
                let ours = if mcring_refuses { None } else { ring.server_for(key) };
                let agree = match (owner, ours) {
                    (Ok(theirs), Some(ours)) => *theirs == ours,
                    (Err(_), None) => mcring_refuses,
                    _ => false,
                };
                if !agree && problems.len() < 20 {
                    let name = |i: &usize| {
                        servers
                            .get(*i)
                            .map_or_else(|| format!("#{i} (no such server)"), |s| s.token.clone())
                    };
                    problems.push(format!(
                        "{peer} list {n} ({} servers) {} {}: key \"{}\": {peer} {:?}, mcring {:?}",
                        servers.len(),
                        p.distribution,
                        p.hash,
                        display_key(key),
                        owner.as_ref().map(name),
                        ours.as_ref().map(name)
                    ));
                }
            }
        }
    }
    answers.finish();
    refused.sort();
    refused.dedup();
    (compared, refused, problems)
}

fn script(lists: &[Vec<TestServer>], keys: &[Vec<u8>]) -> Script {
    let mut script = Script::new();
    for servers in lists {
        script.servers(&lm_servers(servers)).keys(keys);
        for d in DISTRIBUTIONS {
            for h in HASHES {
                script.place(d, h);
            }
        }
    }
    script
}

#[test]
fn php_memcached_and_pylibmc_place_keys_like_mcring() {
    let lists = lists();
    let mut rng = Rng::new(SEED ^ 0x6b);
    let mut keys = inputs::keys(&mut rng, KEYS);
    keys.extend(inputs::refused_keys());

    let php_log = DialLog::new();
    let php = peers::php_memcached(script(&lists, &keys), &php_log);
    let py_log = DialLog::new();
    let py = peers::pylibmc(script(&lists, &keys), &py_log);
    let (php_compared, php_refused, mut problems) =
        compare("php-memcached", php, &lists, &keys, true);
    // pylibmc's Client.hash does not check keys.
    let (py_compared, py_refused, py_problems) = compare("pylibmc", py, &lists, &keys, false);
    problems.extend(py_problems);

    let (pylibmc_version, bundled) = peers::pylibmc_versions();
    println!(
        "php-memcached {}: {php_compared} combinations over {} lists x {} keys, refused: \
         {php_refused:?}",
        peers::php_memcached_version(),
        lists.len(),
        keys.len()
    );
    println!(
        "pylibmc {pylibmc_version} (libmemcached {bundled}): {py_compared} combinations, \
         refused: {py_refused:?}"
    );
    assert_eq!(php_log.attempts(), Vec::<String>::new(), "php-memcached tried to dial");
    assert_eq!(py_log.attempts(), Vec::<String>::new(), "pylibmc tried to dial");
    assert!(problems.is_empty(), "peers disagree with mcring:\n{}", problems.join("\n"));

    // What each peer cannot do, exactly: the system libmemcached has no
    // hsieh; pylibmc has no murmur3 and its libmemcached no hsieh.
    let per_list = DISTRIBUTIONS.len() * HASHES.len();
    assert_eq!(php_compared, lists.len() * (per_list - DISTRIBUTIONS.len()));
    assert!(php_refused.iter().all(|r| r.contains(" hsieh: ")), "{php_refused:?}");
    assert_eq!(py_compared, lists.len() * (per_list - 2 * DISTRIBUTIONS.len()));
    assert!(
        py_refused.iter().all(|r| r.contains(" hsieh: ") || r.contains(" murmur3: ")),
        "{py_refused:?}"
    );
}

/// Whether anything connected to `listener` (which is non-blocking).
fn connection_arrived(listener: &TcpListener) -> bool {
    match listener.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("accept: {e}"),
    }
}

#[test]
fn peers_do_not_connect_to_listening_servers() {
    // Real listeners on 127.0.0.1, without the guard: a connection attempt
    // would arrive in the accept queue.
    let listeners: Vec<TcpListener> = (0..6)
        .map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.set_nonblocking(true).unwrap();
            l
        })
        .collect();
    let servers: Vec<TestServer> = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let port = l.local_addr().unwrap().port();
            let weight = 1 + i as u32 * 7;
            TestServer {
                token: format!("127.0.0.1:{port}:{weight}"),
                lm: LmServer::Tcp { host: "127.0.0.1".into(), port, weight },
            }
        })
        .collect();
    let lists = vec![servers];
    let mut rng = Rng::new(SEED ^ 0x11);
    let keys = inputs::keys(&mut rng, 1000);
    let php = Answers::spawn(peers::php_command(), "php-memcached", script(&lists, &keys));
    let (php_compared, _, mut problems) = compare("php-memcached", php, &lists, &keys, true);
    let py = Answers::spawn(peers::pylibmc_command(), "pylibmc", script(&lists, &keys));
    let (py_compared, _, py_problems) = compare("pylibmc", py, &lists, &keys, false);
    problems.extend(py_problems);
    assert!(php_compared > 0 && py_compared > 0);
    assert!(problems.is_empty(), "peers disagree with mcring:\n{}", problems.join("\n"));
    for (i, l) in listeners.iter().enumerate() {
        assert!(!connection_arrived(l), "a peer connected to listener {i}");
    }

    // The check can fail: a php connection does arrive.
    let port = listeners[0].local_addr().unwrap().port();
    let status = Command::new(peers::php())
        .args(["-r", &format!("$s = fsockopen('127.0.0.1', {port}); exit($s ? 0 : 1);")])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(connection_arrived(&listeners[0]), "fsockopen's connection was not seen");
}

#[test]
fn no_dial_guard_refuses_and_records() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();

    // php resolves even a numeric host first; the guard refuses the lookup.
    let php_log = DialLog::new();
    let mut php = Command::new(peers::php());
    php.args([
        "-r",
        &format!(
            "$s = @fsockopen('127.0.0.1', {port}); $h = gethostbyname('cache.example.invalid'); \
             exit($s ? 1 : 0);"
        ),
    ]);
    php_log.guard(&mut php);
    assert!(php.status().unwrap().success(), "the guard let php connect");
    let attempts = php_log.attempts();
    assert!(attempts.iter().any(|a| a.contains("127.0.0.1")), "{attempts:?}");
    assert!(attempts.iter().any(|a| a.contains("cache.example.invalid")), "{attempts:?}");

    // python connects to a numeric address directly; the guard refuses connect().
    let py_log = DialLog::new();
    let mut python = Command::new(peers::venv_python());
    python.args([
        "-c",
        &format!(
            "import socket, sys\n\
             try:\n    socket.socket().connect(('127.0.0.1', {port}))\n    sys.exit(1)\n\
             except OSError:\n    pass\n\
             try:\n    socket.getaddrinfo('mc.example.invalid', 11211)\n    sys.exit(1)\n\
             except OSError:\n    pass\n"
        ),
    ]);
    py_log.guard(&mut python);
    assert!(python.status().unwrap().success(), "the guard let python connect or resolve");
    let attempts = py_log.attempts();
    assert!(attempts.contains(&format!("connect 127.0.0.1:{port}")), "{attempts:?}");
    assert!(attempts.iter().any(|a| a.contains("mc.example.invalid")), "{attempts:?}");

    assert!(!connection_arrived(&listener), "a guarded connection reached the listener");
}
