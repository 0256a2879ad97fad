//! mcring places keys exactly where libmemcached does.
//!
//! Random server lists (IPv4, IPv6, host names, unix sockets, mixed ports,
//! weights, 1 to 200 servers) and random keys (printable ASCII and UTF-8, 1
//! to 250 bytes) are placed by mcring's `Ring` and by the system libmemcached
//! (the oracle, tests/oracle/oracle.c) for every distribution and every hash
//! the library has, and must agree on every key. Hash functions are compared
//! with libhashkit on arbitrary bytes.
//!
//! The system libmemcached 1.1.4 of Debian aborts on an assertion when a
//! consistent continuum has more than 100 servers (hosts.cc,
//! `MEMCACHED_CONTINUUM_SIZE`). For those lists the consistent
//! distributions are checked against pylibmc's bundled libmemcached instead.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};

use mcring::key::{check_key, display_key};
use mcring::{Config, HashKind, Ring};
use mcring_tests::mcring_binary;
use mcring_tests::oracle::{self, AddMode, LmServer, Outcome, Placement, Script};
use mcring_tests::peers::{self, DialLog};
use mcring_tests::placement_inputs::{
    self as inputs, config_string, lm_servers, HostKinds, ListShape, Rng, TestServer, Weights,
};

const SEED: u64 = 0x6d63_7269_6e67_0001;
const LISTS: usize = 32;
const KEYS_PER_LIST: usize = 10_000;

/// libmemcached's limit for consistent distributions on this system.
const CONTINUUM_SERVER_LIMIT: usize = 100;

/// The list shapes: chosen sizes at the edges (1, 2, 100, 101, 200) and
/// random sizes, every kind of weights, duplicates in some lists.
fn shapes(rng: &mut Rng) -> Vec<ListShape> {
    let fixed = [1, 2, 3, 4, 5, 8, 13, 21, 50, 99, 100, 101, 160, 200];
    let mut sizes: Vec<usize> = fixed.to_vec();
    while sizes.len() < LISTS {
        sizes.push(rng.range(1, 100) as usize);
    }
    sizes
        .into_iter()
        .enumerate()
        .map(|(i, size)| ListShape {
            size,
            // Over 100 servers only pylibmc can answer, and it cannot mix
            // unix sockets with TCP servers.
            hosts: if size > CONTINUUM_SERVER_LIMIT { HostKinds::Tcp } else { HostKinds::All },
            weights: match i % 3 {
                0 => Weights::AllOne,
                1 => Weights::Random,
                _ => Weights::RandomWithZero,
            },
            duplicates: i % 4 == 3,
        })
        .collect()
}

/// One list with its keys.
struct Case {
    number: usize,
    servers: Vec<TestServer>,
    keys: Vec<Vec<u8>>,
}

/// The lists and keys, generated once per test process.
fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(generate_cases)
}

fn generate_cases() -> Vec<Case> {
    let mut rng = Rng::new(SEED);
    let shapes = shapes(&mut rng);
    shapes
        .into_iter()
        .enumerate()
        .map(|(number, shape)| {
            let mut servers = inputs::server_list(&mut rng, shape);
            if shape.size > CONTINUUM_SERVER_LIMIT {
                // pylibmc's libmemcached 1.0.16 overflows its continuum when
                // a weight > 1 follows a first server of weight 1 (see
                // tests/peers/pylibmc_placement.py); put a weighted server
                // first so that it can answer.
                if let Some(i) = servers.iter().position(|s| lm_weight(s) > 1) {
                    servers.swap(0, i);
                }
            }
            let mut keys = inputs::keys(&mut rng, KEYS_PER_LIST);
            keys.extend(inputs::refused_keys());
            Case { number, servers, keys }
        })
        .collect()
}

fn lm_weight(server: &TestServer) -> u32 {
    match server.lm {
        LmServer::Tcp { weight, .. } | LmServer::Unix { weight, .. } => weight,
    }
}

/// mcring's config and ring for a list, built from the config string a
/// user would write.
fn mcring_ring(servers: &[TestServer], distribution: &str, hash: &str) -> (Config, Ring) {
    let mut options = vec![format!("distribution={distribution}")];
    if hash != "default" {
        options.push(format!("hash={hash}"));
    }
    let text = config_string(servers, &options);
    let config = Config::parse(&text).unwrap_or_else(|e| panic!("mcring refused {text:?}: {e}"));
    assert_eq!(config.servers.len(), servers.len());
    let ring = Ring::new(&config.servers, config.distribution, config.key_hash());
    (config, ring)
}

/// Compares mcring with `owners` (one answer per key) and returns a
/// description of every disagreement, at most 10. `refused[i]` says whether
/// mcring refuses key `i`; `None` when the answerer does not check keys.
fn disagreements(
    case: &Case,
    placement: &Placement,
    owners: &[Result<usize, String>],
    refused: Option<&[bool]>,
    source: &str,
) -> Vec<String> {
    let (_, ring) = mcring_ring(&case.servers, &placement.distribution, &placement.hash);
    let mut out = Vec::new();
    assert_eq!(owners.len(), case.keys.len(), "{source} answered for every key");
    for (i, (key, owner)) in case.keys.iter().zip(owners).enumerate() {
        let refused = refused.is_some_and(|r| r[i]);
        let ours = if refused { None } else { ring.server_for(key) };
        let agree = match (owner, ours) {
            (Ok(theirs), Some(ours)) => *theirs == ours,
            (Err(_), None) => refused,
            _ => false,
        };
        if !agree && out.len() < 10 {
            let name = |i: &usize| {
                case.servers
                    .get(*i)
                    .map_or_else(|| format!("#{i} (no such server)"), |s| s.token.clone())
            };
            out.push(format!(
                "list {} ({} servers) {} hash={}: key \"{}\": {source} {:?}, mcring {:?}",
                case.number,
                case.servers.len(),
                placement.distribution,
                placement.hash,
                display_key(key),
                owner.as_ref().map(name),
                ours.as_ref().map(name),
            ));
        }
    }
    out
}

/// Whether mcring refuses each key of a case (it checks keys before placing).
fn refused_keys(case: &Case) -> Vec<bool> {
    case.keys.iter().map(|k| check_key(k, 0).is_err()).collect()
}

/// The algorithms the system libhashkit has, by name.
fn system_algorithms() -> Vec<(String, bool)> {
    let mut script = Script::new();
    script.algorithms();
    let mut answers = oracle::oracle(script);
    let algorithms = answers.algorithms();
    answers.finish();
    for (name, _) in &algorithms {
        name.parse::<HashKind>()
            .unwrap_or_else(|_| panic!("mcring has no hash named {name:?} (libhashkit has)"));
    }
    assert_eq!(algorithms.len(), HashKind::ALL.len(), "libhashkit and mcring know the same hashes");
    algorithms
}

/// What one answerer's comparisons came to.
#[derive(Default)]
struct Tally {
    problems: Vec<String>,
    /// (list, distribution, hash) compared.
    compared: BTreeSet<(usize, String, String)>,
    keys_compared: usize,
}

impl Tally {
    fn add(&mut self, case: &Case, placement: &Placement, problems: Vec<String>) {
        self.problems.extend(problems);
        self.compared.insert((case.number, placement.distribution.clone(), placement.hash.clone()));
        self.keys_compared += case.keys.len();
    }
}

/// Compares placements as they arrive, on two threads.
fn compare_in_parallel(
    cases: &[Case],
    refused: &[Vec<bool>],
    placements: impl Iterator<Item = (usize, Placement)>,
    source: &str,
) -> Tally {
    let (send, receive) = mpsc::sync_channel::<(usize, Placement)>(8);
    let receive = Mutex::new(receive);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut tally = Tally::default();
                    loop {
                        let next = receive.lock().unwrap().recv();
                        let Ok((number, placement)) = next else { return tally };
                        let case = &cases[number];
                        let Outcome::Placed(owners) = &placement.outcome else {
                            unreachable!("only placed answers are compared")
                        };
                        let problems =
                            disagreements(case, &placement, owners, Some(&refused[number]), source);
                        tally.add(case, &placement, problems);
                    }
                })
            })
            .collect();
        for item in placements {
            send.send(item).unwrap();
        }
        drop(send);
        let mut total = Tally::default();
        for w in workers {
            let t = w.join().unwrap();
            total.problems.extend(t.problems);
            total.compared.extend(t.compared);
            total.keys_compared += t.keys_compared;
        }
        total
    })
}

#[test]
fn ring_matches_libmemcached_on_random_lists() {
    let algorithms = system_algorithms();
    let supported: Vec<&str> =
        algorithms.iter().filter(|(_, has)| *has).map(|(n, _)| n.as_str()).collect();
    let hashes: Vec<&str> = std::iter::once("default").chain(supported.iter().copied()).collect();
    let cases = cases();
    let refused: Vec<Vec<bool>> = cases.iter().map(refused_keys).collect();

    // The system libmemcached cannot build a continuum over more than 100
    // servers; pylibmc's bundled library answers for those lists. It is the
    // slowest answerer (it rebuilds the continuum after every added server),
    // so it starts first and runs alongside.
    let big: Vec<&Case> =
        cases.iter().filter(|c| c.servers.len() > CONTINUUM_SERVER_LIMIT).collect();
    let log = DialLog::new();
    let mut script = Script::new();
    for case in &big {
        script.servers(&lm_servers(&case.servers)).keys(&case.keys);
        for distribution in ["ketama-weighted", "ketama"] {
            for hash in &hashes {
                script.place(distribution, hash);
            }
        }
    }
    let pylibmc = peers::pylibmc(script, &log);

    let mut script = Script::new();
    // Pushing the list at once builds the continuum once; adding servers one
    // by one gives the same continuum (`one_by_one_equals_push` below) but
    // rebuilds it after every server.
    script.mode(AddMode::Push);
    for case in cases {
        script.servers(&lm_servers(&case.servers)).keys(&case.keys).place_all();
    }
    let mut answers = oracle::oracle(script);

    let (system, crashed, (peer, peer_unanswered)) = std::thread::scope(|scope| {
        let peer_thread = scope.spawn(|| {
            let mut pylibmc = pylibmc;
            let mut tally = Tally::default();
            let mut unanswered = BTreeMap::new();
            for case in &big {
                pylibmc.ok();
                pylibmc.ok();
                for _ in 0..2 * hashes.len() {
                    let placement = pylibmc.placement();
                    let combo =
                        (case.number, placement.distribution.clone(), placement.hash.clone());
                    match &placement.outcome {
                        // pylibmc's Client.hash does not check keys.
                        Outcome::Placed(owners) => {
                            let p = disagreements(case, &placement, owners, None, "pylibmc");
                            tally.add(case, &placement, p);
                        }
                        Outcome::Unsupported(reason) | Outcome::Failed(reason) => {
                            unanswered.insert(combo, reason.clone());
                        }
                        Outcome::Crashed(reason) => panic!("pylibmc crashed: {reason}"),
                    }
                }
            }
            pylibmc.finish();
            (tally, unanswered)
        });

        answers.ok();
        let mut crashed = BTreeSet::new();
        let mut next_case = 0;
        let mut queue = std::collections::VecDeque::new();
        // The oracle's placed answers, read as the comparisons take them.
        let placed = std::iter::from_fn(|| loop {
            if let Some(item) = queue.pop_front() {
                return Some(item);
            }
            let case: &Case = cases.get(next_case)?;
            next_case += 1;
            answers.ok();
            answers.ok();
            let placements = answers.place_all();
            assert_eq!(placements.len(), 3 * (1 + algorithms.len()));
            for placement in placements {
                let supported_hash = hashes.contains(&placement.hash.as_str());
                let combo = (case.number, placement.distribution.clone(), placement.hash.clone());
                match &placement.outcome {
                    Outcome::Placed(_) => {
                        assert!(supported_hash, "placed with unsupported {}", placement.hash);
                        queue.push_back((case.number, placement));
                    }
                    Outcome::Unsupported(reason) => {
                        assert!(
                            !supported_hash,
                            "libmemcached refused {}: {reason}",
                            placement.hash
                        )
                    }
                    Outcome::Crashed(reason) => {
                        assert!(
                            case.servers.len() > CONTINUUM_SERVER_LIMIT
                                && placement.distribution != "modula"
                                && reason.contains("MEMCACHED_CONTINUUM_SIZE"),
                            "libmemcached crashed on list {} ({} servers) {} {}: {reason}",
                            case.number,
                            case.servers.len(),
                            placement.distribution,
                            placement.hash
                        );
                        crashed.insert(combo);
                    }
                    Outcome::Failed(reason) => panic!(
                        "oracle failed on list {} {} {}: {reason}",
                        case.number, placement.distribution, placement.hash
                    ),
                }
            }
        });
        let system = compare_in_parallel(cases, &refused, placed, "libmemcached");
        answers.finish();
        (system, crashed, peer_thread.join().unwrap())
    });
    assert_eq!(log.attempts(), Vec::<String>::new(), "pylibmc tried to dial");

    // Every combination libmemcached could not compute was answered by
    // pylibmc, or is listed as unanswerable here.
    let mut unverifiable = Vec::new();
    for combo in &crashed {
        if !peer.compared.contains(combo) {
            let reason = peer_unanswered.get(combo).cloned().unwrap_or_default();
            unverifiable.push(format!("list {} {} {}: {reason}", combo.0, combo.1, combo.2));
        }
    }
    let expected = cases.len() * 3 * hashes.len();
    let covered = system.compared.len() + crashed.len();
    assert_eq!(covered, expected, "every list, distribution and supported hash was placed");

    println!(
        "{} lists x {} keys (+{} refused keys); {} combinations compared with the system \
         libmemcached, {} with pylibmc (of {} the system library crashed on); {} key placements \
         compared; hashes the system library lacks: {:?}; combinations no library here can \
         answer: {unverifiable:?}",
        cases.len(),
        KEYS_PER_LIST,
        inputs::refused_keys().len(),
        system.compared.len(),
        crashed.iter().filter(|c| peer.compared.contains(*c)).count(),
        crashed.len(),
        system.keys_compared + peer.keys_compared,
        algorithms.iter().filter(|(_, has)| !has).map(|(n, _)| n).collect::<Vec<_>>(),
    );
    let mut problems = system.problems;
    problems.extend(peer.problems);
    assert!(problems.is_empty(), "mcring disagrees:\n{}", problems.join("\n"));
}

#[test]
fn one_by_one_equals_push() {
    // libmemcached rebuilds the continuum after every added server; the
    // last rebuild sees the whole list, as a single push does.
    let mut rng = Rng::new(SEED ^ 0xadd);
    let mut cases = Vec::new();
    for (number, size) in [1, 2, 7, 30, 64].into_iter().enumerate() {
        let shape = ListShape {
            size,
            hosts: HostKinds::All,
            weights: if number % 2 == 0 { Weights::AllOne } else { Weights::RandomWithZero },
            duplicates: true,
        };
        let servers = inputs::server_list(&mut rng, shape);
        let mut keys = inputs::keys(&mut rng, 500);
        keys.extend(inputs::refused_keys());
        cases.push(Case { number, servers, keys });
    }
    let mut script = Script::new();
    for case in &cases {
        script.servers(&lm_servers(&case.servers)).keys(&case.keys);
        script.mode(AddMode::OneByOne).place_all();
        script.mode(AddMode::Push).place_all();
    }
    let mut answers = oracle::oracle(script);
    let mut problems = Vec::new();
    for case in &cases {
        answers.ok();
        answers.ok();
        answers.ok();
        let one_by_one = answers.place_all();
        answers.ok();
        let pushed = answers.place_all();
        assert_eq!(one_by_one, pushed, "list {}: add and push differ", case.number);
        for p in &one_by_one {
            if let Outcome::Placed(owners) = &p.outcome {
                problems.extend(disagreements(
                    case,
                    p,
                    owners,
                    Some(&refused_keys(case)),
                    "libmemcached",
                ));
            }
        }
    }
    answers.finish();
    assert!(problems.is_empty(), "mcring disagrees:\n{}", problems.join("\n"));
}

#[test]
fn hash_functions_match_libhashkit() {
    let mut rng = Rng::new(SEED ^ 0x4a54);
    let mut keys: Vec<Vec<u8>> = Vec::new();
    keys.push(Vec::new());
    keys.extend((0..=255u8).map(|b| vec![b]));
    // Every tail length, with bytes that are negative as C chars.
    keys.extend((1..=40).map(|n| vec![0xff; n]));
    keys.extend((1..=40).map(|n| (0..n).map(|i| 0x80 + i as u8).collect()));
    keys.extend((0..5000).map(|_| inputs::byte_string(&mut rng)));
    keys.extend(inputs::keys(&mut rng, 2000));

    let mut script = Script::new();
    script.algorithms().keys(&keys).digest();
    let mut answers = oracle::oracle(script);
    let algorithms = answers.algorithms();
    answers.ok();
    let digests = answers.digests();
    answers.finish();
    assert_eq!(digests.len(), keys.len());

    let mut problems = Vec::new();
    let mut checked = Vec::new();
    for (a, (name, supported)) in algorithms.iter().enumerate() {
        let kind: HashKind = name.parse().expect("mcring knows every libhashkit hash");
        if !supported {
            assert!(digests.iter().all(|d| d[a].is_none()));
            continue;
        }
        checked.push(name.as_str());
        for (key, digest) in keys.iter().zip(&digests) {
            let theirs = digest[a].expect("supported algorithm has a value");
            let ours = kind.hash(key);
            if ours != theirs && problems.len() < 20 {
                problems.push(format!(
                    "{name}(\"{}\"): libhashkit {theirs}, mcring {ours}",
                    display_key(key)
                ));
            }
        }
    }
    println!("{} keys hashed with {checked:?}", keys.len());
    assert!(!checked.is_empty(), "libhashkit has no algorithm?");
    assert!(problems.is_empty(), "mcring's hashes disagree:\n{}", problems.join("\n"));
}

/// The output `mcring locate` must print for `keys`, given the oracle's
/// answers: each owner's name, `ERR <reason>` for refused keys.
fn expected_locate_output(
    case: &Case,
    keys: &[Vec<u8>],
    owners: &[Result<usize, String>],
    what: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, owner) in keys.iter().zip(owners) {
        match (owner, check_key(key, 0)) {
            (Ok(i), _) => out.extend_from_slice(case.servers[*i].name().as_bytes()),
            (Err(_), Err(problem)) => out.extend_from_slice(format!("ERR {problem}").as_bytes()),
            (Err(e), Ok(())) => {
                panic!("{what}: libmemcached refuses \"{}\" ({e}), mcring not", display_key(key))
            }
        }
        out.push(b'\n');
    }
    out
}

/// Runs `mcring locate` and returns (stdout, exit code); stderr must be empty.
fn run_locate(case: &Case, distribution: &str, hash: &str, input: &[u8]) -> (Vec<u8>, i32) {
    let mut command = Command::new(mcring_binary());
    command.args(["locate", "--distribution", distribution]);
    if hash != "default" {
        command.args(["--hash", hash]);
    }
    command.args(case.servers.iter().map(|s| s.token.as_str()));
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mcring locate");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("mcring locate output");
    writer.join().unwrap().expect("write keys to mcring locate");
    assert!(
        output.stderr.is_empty(),
        "mcring locate wrote to stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output.stdout, output.status.code().unwrap_or(-1))
}

/// The first line where two outputs differ, for a readable failure.
fn first_difference(keys: &[Vec<u8>], expected: &[u8], got: &[u8]) -> String {
    let e: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
    let g: Vec<&[u8]> = got.split(|&b| b == b'\n').collect();
    for i in 0..e.len().max(g.len()) {
        let (a, b) = (e.get(i), g.get(i));
        if a != b {
            return format!(
                "line {} (key \"{}\"): expected {:?}, got {:?}",
                i + 1,
                keys.get(i).map(|k| display_key(k)).unwrap_or_default(),
                a.map(|l| String::from_utf8_lossy(l)),
                b.map(|l| String::from_utf8_lossy(l)),
            );
        }
    }
    "no difference".to_string()
}

#[test]
fn cli_locate_prints_libmemcached_placement() {
    const CLI_LISTS: usize = 10;
    const CLI_KEYS: usize = 4000;
    let algorithms = system_algorithms();
    let hashes: Vec<String> = std::iter::once("default".to_string())
        .chain(algorithms.iter().filter(|(_, has)| *has).map(|(n, _)| n.clone()))
        .collect();
    // Lists the system library can answer for, spread over the sizes.
    let small: Vec<&Case> =
        cases().iter().filter(|c| c.servers.len() <= CONTINUUM_SERVER_LIMIT).collect();
    let step = small.len().div_ceil(CLI_LISTS);
    let chosen: Vec<&Case> = small.into_iter().step_by(step).collect();
    assert!(chosen.len() >= CLI_LISTS - 1);

    // The list's first keys (the ring itself is proven on all of them
    // above), an empty line, and the refused keys.
    let cli_keys = |case: &Case| {
        let mut keys = case.keys[..CLI_KEYS].to_vec();
        keys.insert(keys.len() / 2, Vec::new());
        keys.extend(inputs::refused_keys());
        keys
    };
    let mut script = Script::new();
    script.mode(AddMode::Push);
    for case in &chosen {
        script.servers(&lm_servers(&case.servers)).keys(&cli_keys(case)).place_all();
    }
    let mut answers = oracle::oracle(script);
    answers.ok();
    // (case, distribution, hash, keys, expected output)
    let mut runs = Vec::new();
    for case in &chosen {
        answers.ok();
        answers.ok();
        let keys = cli_keys(case);
        for placement in answers.place_all() {
            if !hashes.contains(&placement.hash) {
                continue;
            }
            let Outcome::Placed(owners) = &placement.outcome else {
                panic!("oracle on list {}: {:?}", case.number, placement.outcome)
            };
            let what =
                format!("list {} {} {}", case.number, placement.distribution, placement.hash);
            let expected = expected_locate_output(case, &keys, owners, &what);
            runs.push((*case, placement.distribution, placement.hash, expected));
        }
    }
    answers.finish();
    assert_eq!(runs.len(), chosen.len() * 3 * hashes.len());

    let next = Mutex::new(runs.iter());
    let problems = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let Some((case, distribution, hash, expected)) = next.lock().unwrap().next() else {
                    return;
                };
                let keys = cli_keys(case);
                let mut input = Vec::new();
                for k in &keys {
                    input.extend_from_slice(k);
                    input.push(b'\n');
                }
                let (stdout, code) = run_locate(case, distribution, hash, &input);
                let what = format!("list {} {distribution} {hash}", case.number);
                if &stdout != expected {
                    let diff = first_difference(&keys, expected, &stdout);
                    problems.lock().unwrap().push(format!("{what}: {diff}"));
                } else if code != 1 {
                    problems.lock().unwrap().push(format!("{what}: exit {code}, expected 1"));
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap();
    assert!(problems.is_empty(), "mcring locate disagrees:\n{}", problems.join("\n"));

    // Without refused keys the exit status is 0.
    let (case, distribution, hash, expected) = &runs[runs.len() / 2];
    let keys = cli_keys(case);
    let mut input = Vec::new();
    let mut want = Vec::new();
    for (k, line) in keys.iter().zip(expected.split(|&b| b == b'\n')) {
        if check_key(k, 0).is_ok() {
            input.extend_from_slice(k);
            input.push(b'\n');
            want.extend_from_slice(line);
            want.push(b'\n');
        }
    }
    let (stdout, code) = run_locate(case, distribution, hash, &input);
    assert_eq!(code, 0);
    assert!(stdout == want, "{}", first_difference(&keys, &want, &stdout));
    println!(
        "mcring locate: {} lists x {} keys x {} combinations byte-identical",
        chosen.len(),
        keys.len(),
        3 * hashes.len()
    );
}
