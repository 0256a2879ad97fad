//! Multi-server fan-out: every server's batch is written first, then all
//! replies are read in one `poll` loop, so a request over N servers costs
//! about one round trip, not N.
//!
//! Jobs are (server, key, command). Retrieval jobs for one server share
//! `get k1 k2 ...` lines; every other job is one command with one reply.
//! Replies come back in request order per server, which is how they are
//! matched to jobs. Connections that must be opened are opened without
//! blocking and completed inside the same loop, so a black-holed server
//! costs its connect timeout once, in parallel with everything else.

use std::collections::VecDeque;

use crate::conn::{poll_many, Conn, Deadline, IoFailure};
use crate::error::{Error, Result};
use crate::invalidation::Forget;
use crate::protocol::meta::{self, MetaFlag, MetaReply};
use crate::protocol::text::{self, Arith, Retrieval, Storage, TextReply};
use crate::reply::{is_prefixed, meta_unexpected, status_reply, unexpected, ItemRef, Status};
use crate::server_set::ServerSet;
use crate::stats::Counter;

/// Keys per `get` line: keeps lines short while batching well.
const KEYS_PER_LINE: usize = 100;

/// What a job asks of its server.
#[derive(Clone, Copy, Debug)]
pub(crate) enum JobKind<'a> {
    /// A text-protocol retrieval.
    Get(Retrieval),
    /// `mg <key> v f t`: a value with its remaining TTL (for read repair).
    MetaGet,
    Store {
        cmd: Storage,
        value: &'a [u8],
        flags: u32,
        ttl: u32,
    },
    Delete,
    Touch(u32),
    Arith(Arith, u64),
}

impl JobKind<'_> {
    /// The counter a job of this kind counts towards.
    pub(crate) fn counter(&self) -> Counter {
        match self {
            JobKind::Get(_) | JobKind::MetaGet => Counter::Gets,
            JobKind::Delete => Counter::Deletes,
            _ => Counter::Sets,
        }
    }
}

/// One key's command on one server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job<'a> {
    pub server: usize,
    pub key: &'a [u8],
    pub kind: JobKind<'a>,
}

/// A job's result. Values found are handed to the caller's sink as they are
/// parsed, straight from the receive buffer, so bindings build their own
/// objects without an intermediate copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Hit,
    Miss,
    Status(Status),
    /// incr/decr: the new value, or `None` when the key does not exist.
    Number(Option<u64>),
}

/// Receives each value found: (job index, the value as it lies in the
/// receive buffer, its remaining TTL in seconds when known, -1 = never).
pub(crate) type ValueSink<'s> = dyn FnMut(usize, ItemRef<'_>, Option<i64>) + 's;

/// Encodes one non-retrieval job.
pub(crate) fn encode_job(out: &mut Vec<u8>, prefix: &[u8], job: &Job<'_>) {
    match job.kind {
        JobKind::Get(cmd) => text::encode_retrieval(out, cmd, prefix, [job.key]),
        JobKind::MetaGet => meta::encode_mg(
            out,
            prefix,
            job.key,
            &[MetaFlag::ReturnValue, MetaFlag::ReturnFlags, MetaFlag::ReturnTtl],
        ),
        JobKind::Store { cmd, value, flags, ttl } => {
            text::encode_storage(out, cmd, prefix, job.key, flags, ttl, value, false)
        }
        JobKind::Delete => text::encode_delete(out, prefix, job.key, false),
        JobKind::Touch(ttl) => text::encode_touch(out, prefix, job.key, ttl, false),
        JobKind::Arith(cmd, delta) => text::encode_arith(out, cmd, prefix, job.key, delta, false),
    }
}

/// The answer a one-reply text job's reply carries. `Error::Server` is a
/// reply-level error (the connection stays usable); any other error means
/// the stream is out of step.
pub(crate) fn text_answer(
    server: &str,
    kind: &JobKind<'_>,
    reply: TextReply<'_>,
) -> Result<Answer> {
    match kind {
        JobKind::Arith(..) => match reply {
            TextReply::Number(n) => Ok(Answer::Number(Some(n))),
            TextReply::NotFound => Ok(Answer::Number(None)),
            other => Err(unexpected(server, other)),
        },
        _ => status_reply(server, reply).map(Answer::Status),
    }
}

/// The replies a server still owes, in order.
enum Expect {
    /// A `get` line: zero or more `VALUE`s for these jobs, then `END`.
    Retrieval { jobs: Vec<usize>, cursor: usize },
    /// One text reply for one job.
    One(usize),
    /// One meta reply (`VA` or `EN`) for one `mg` job.
    Meta(usize),
    /// Replies to the server's pending invalidations (deletes, or a flush),
    /// sent ahead of the batch.
    Forget(usize),
}

struct Batch {
    server: usize,
    conn: Option<Conn>,
    expects: VecDeque<Expect>,
    jobs: Vec<usize>,
    /// The connect deadline while connecting, then the I/O deadline.
    deadline: Deadline,
    bytes: (u64, u64),
    /// Invalidations sent ahead of the batch, put back if it fails.
    forget: Option<Forget>,
}

/// Runs `jobs` and returns one result per job, in order. Servers must have
/// been admitted by the caller (routing checked their health).
pub(crate) fn run(
    set: &ServerSet,
    jobs: &[Job<'_>],
    sink: &mut ValueSink<'_>,
) -> Vec<Result<Answer>> {
    let servers = set.all();
    let prefix = &set.io.prefix[..];
    let mut answers: Vec<Option<Result<Answer>>> = (0..jobs.len()).map(|_| None).collect();

    // Group by server, keeping each server's jobs in request order.
    let mut by_server: Vec<Vec<usize>> = vec![Vec::new(); servers.len()];
    let mut order = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        match by_server.get_mut(job.server) {
            Some(list) => {
                if list.is_empty() {
                    order.push(job.server);
                }
                list.push(i);
            }
            None => answers[i] = Some(Err(Error::NoServers)),
        }
    }

    let mut batches: Vec<Batch> = Vec::with_capacity(order.len());
    for server in order {
        let list = std::mem::take(&mut by_server[server]);
        let s = &servers[server];
        // One atomic add per counter and batch, not per key.
        for counter in [Counter::Gets, Counter::Deletes, Counter::Sets] {
            let n = list.iter().filter(|&&j| jobs[j].kind.counter() == counter).count();
            if n > 0 {
                s.counters.add(counter, n as u64);
            }
        }
        match set.checkout_for_fanout(server) {
            Ok(mut conn) => {
                // A server forgets what it missed before it serves this batch.
                let forget = if s.must_forget() { s.take_forget() } else { None };
                let mut expects = VecDeque::new();
                if let Some(f) = &forget {
                    expects.push_back(Expect::Forget(encode_forget(&mut conn.out, prefix, f)));
                }
                expects.extend(encode_batch(&mut conn.out, prefix, jobs, &list));
                let bytes = (conn.bytes_read, conn.bytes_written);
                let deadline = if conn.is_connecting() {
                    Deadline::after(set.io.connect_timeout)
                } else {
                    Deadline::after(set.io.io_timeout)
                };
                batches.push(Batch {
                    server,
                    conn: Some(conn),
                    expects,
                    jobs: list,
                    deadline,
                    bytes,
                    forget,
                });
            }
            Err(e) => {
                for &j in &list {
                    answers[j] = Some(Err(e.clone()));
                }
            }
        }
    }

    drive(set, jobs, &mut batches, &mut answers, sink);

    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(Error::protocol("", "job left unanswered"))))
        .collect()
}

/// Encodes a server's pending invalidations; returns how many replies they
/// produce.
fn encode_forget(out: &mut Vec<u8>, prefix: &[u8], forget: &Forget) -> usize {
    match forget {
        Forget::All => {
            text::encode_flush_all(out, 0, false);
            1
        }
        Forget::Keys(keys) => {
            for key in keys {
                text::encode_delete(out, prefix, key, false);
            }
            keys.len()
        }
    }
}

/// Encodes a server's jobs and lists the replies they will produce.
fn encode_batch(
    out: &mut Vec<u8>,
    prefix: &[u8],
    jobs: &[Job<'_>],
    list: &[usize],
) -> VecDeque<Expect> {
    let mut expects = VecDeque::new();
    let mut i = 0;
    while i < list.len() {
        let job = &jobs[list[i]];
        match job.kind {
            JobKind::Get(cmd) => {
                // A run of retrievals with the same command shares lines.
                let mut run = Vec::new();
                while i < list.len() && run.len() < KEYS_PER_LINE {
                    match jobs[list[i]].kind {
                        JobKind::Get(c) if c == cmd => run.push(list[i]),
                        _ => break,
                    }
                    i += 1;
                }
                text::encode_retrieval(out, cmd, prefix, run.iter().map(|&j| jobs[j].key));
                expects.push_back(Expect::Retrieval { jobs: run, cursor: 0 });
                continue;
            }
            JobKind::MetaGet => {
                encode_job(out, prefix, job);
                expects.push_back(Expect::Meta(list[i]));
            }
            _ => {
                encode_job(out, prefix, job);
                expects.push_back(Expect::One(list[i]));
            }
        }
        i += 1;
    }
    expects
}

/// The poll loop: completes connects, writes pending requests, reads and
/// dispatches replies, until every batch is done or failed.
fn drive(
    set: &ServerSet,
    jobs: &[Job<'_>],
    batches: &mut [Batch],
    answers: &mut [Option<Result<Answer>>],
    sink: &mut ValueSink<'_>,
) {
    let servers = set.all();
    // Optimistic first write: small batches go out without a poll.
    for b in batches.iter_mut() {
        if let Some(conn) = b.conn.as_mut() {
            if conn.is_connecting() {
                continue;
            }
            if let Err(f) = conn.try_flush() {
                let e = Error::io(&servers[b.server].name, f);
                fail_batch(set, b, answers, e);
            }
        }
    }
    // Every request is out and every connection open (the usual case):
    // read each server's replies in turn with plain blocking reads, as a
    // hand-written client would. Replies of later servers wait in their
    // sockets meanwhile, so this costs the slowest server, not the sum.
    let all_sent = batches
        .iter()
        .all(|b| b.conn.as_ref().is_none_or(|c| !c.is_connecting() && !c.has_unwritten()));
    if all_sent {
        for b in batches.iter_mut() {
            loop {
                if let Err(e) = dispatch(set, jobs, b, answers, sink) {
                    fail_batch(set, b, answers, e);
                    break;
                }
                let Some(conn) = b.conn.as_mut() else { break };
                if let Err(f) = conn.fill(&b.deadline) {
                    let e = Error::io(&servers[b.server].name, f);
                    fail_batch(set, b, answers, e);
                    break;
                }
            }
        }
        return;
    }
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(batches.len());
    let mut active: Vec<usize> = Vec::with_capacity(batches.len());
    loop {
        fds.clear();
        active.clear();
        let mut earliest: Option<Deadline> = None;
        for (i, b) in batches.iter().enumerate() {
            if let Some(conn) = &b.conn {
                let events = if conn.is_connecting() {
                    libc::POLLOUT
                } else if conn.has_unwritten() {
                    libc::POLLIN | libc::POLLOUT
                } else {
                    libc::POLLIN
                };
                fds.push(libc::pollfd { fd: conn.fd(), events, revents: 0 });
                active.push(i);
                earliest = Some(earliest.map_or(b.deadline, |d| d.min(b.deadline)));
            }
        }
        let Some(earliest) = earliest else { return };
        if let Err(e) = poll_many(&mut fds, &earliest) {
            let interrupted = e.kind() == std::io::ErrorKind::Interrupted;
            for &i in &active {
                let b = &mut batches[i];
                let err = if interrupted {
                    Error::Interrupted
                } else {
                    Error::Connection {
                        server: servers[b.server].name.clone(),
                        message: format!("poll: {e}"),
                    }
                };
                fail_batch(set, b, answers, err);
            }
            return;
        }
        for (k, &i) in active.iter().enumerate() {
            let b = &mut batches[i];
            let mut revents = fds[k].revents;
            if revents == 0 && b.deadline.passed() {
                // Before giving up, take whatever has arrived meanwhile.
                revents = if b.conn.as_ref().is_some_and(|c| c.is_connecting()) {
                    0
                } else {
                    libc::POLLIN
                };
            }
            if revents != 0 {
                if let Err(e) = service(set, jobs, b, answers, sink, revents) {
                    fail_batch(set, b, answers, e);
                    continue;
                }
            }
            if let Some(conn) = &b.conn {
                if b.deadline.passed() {
                    let during = if conn.is_connecting() {
                        "connect"
                    } else if conn.has_unwritten() {
                        "write"
                    } else {
                        "read"
                    };
                    let e = Error::io(&servers[b.server].name, IoFailure::Timeout(during));
                    fail_batch(set, b, answers, e);
                }
            }
        }
    }
}

/// Handles readiness of one batch's connection. Returns a connection-level
/// error; reply-level errors are stored as the jobs' answers.
fn service(
    set: &ServerSet,
    jobs: &[Job<'_>],
    b: &mut Batch,
    answers: &mut [Option<Result<Answer>>],
    sink: &mut ValueSink<'_>,
    revents: libc::c_short,
) -> Result<()> {
    let s = &set.all()[b.server];
    let Some(conn) = b.conn.as_mut() else { return Ok(()) };
    if conn.is_connecting() {
        conn.finish_connect().map_err(|f| Error::io(&s.name, f))?;
        s.counters.incr(Counter::Connects);
        // Connected: the I/O budget starts now.
        b.deadline = Deadline::after(set.io.io_timeout);
        conn.try_flush().map_err(|f| Error::io(&s.name, f))?;
        return Ok(());
    }
    if revents & libc::POLLOUT != 0 {
        conn.try_flush().map_err(|f| Error::io(&s.name, f))?;
    }
    if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
        conn.try_fill().map_err(|f| Error::io(&s.name, f))?;
    }
    dispatch(set, jobs, b, answers, sink)
}

/// Matches the replies buffered on a batch's connection to its jobs, and
/// returns the connection to the pool once every reply is in.
fn dispatch(
    set: &ServerSet,
    jobs: &[Job<'_>],
    b: &mut Batch,
    answers: &mut [Option<Result<Answer>>],
    sink: &mut ValueSink<'_>,
) -> Result<()> {
    let s = &set.all()[b.server];
    let Some(conn) = b.conn.as_mut() else { return Ok(()) };
    let prefix = &set.io.prefix[..];
    let limits = &set.io.limits;
    while let Some(expect) = b.expects.front_mut() {
        let (finished, used) = match expect {
            Expect::Retrieval { jobs: run, cursor } => {
                let (reply, used) = match text::parse_text_reply(conn.buffered(), limits) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Err(Error::parse(&s.name, &e)),
                };
                let finished = match reply {
                    TextReply::Value { key, flags, data, cas } => {
                        // Hits come in request order: usually the very next key.
                        let next = run.get(*cursor).copied();
                        let pos = if next.is_some_and(|j| is_prefixed(key, prefix, jobs[j].key)) {
                            0
                        } else {
                            run[*cursor..]
                                .iter()
                                .position(|&j| is_prefixed(key, prefix, jobs[j].key))
                                .ok_or_else(|| {
                                    Error::protocol(
                                        &s.name,
                                        "reply for a key that was not asked for",
                                    )
                                })?
                        };
                        let j = run[*cursor + pos];
                        *cursor += pos + 1;
                        sink(j, ItemRef { value: data, flags, cas }, None);
                        answers[j] = Some(Ok(Answer::Hit));
                        false
                    }
                    TextReply::End => {
                        let mut misses = 0;
                        for &j in run.iter() {
                            if answers[j].is_none() {
                                answers[j] = Some(Ok(Answer::Miss));
                                misses += 1;
                            }
                        }
                        // The run's counts, once it is complete.
                        s.counters.add(Counter::Misses, misses);
                        s.counters.add(Counter::Hits, run.len() as u64 - misses);
                        true
                    }
                    other => {
                        let e = unexpected(&s.name, other);
                        if !matches!(e, Error::Server { .. }) {
                            return Err(e);
                        }
                        for &j in run.iter() {
                            if answers[j].is_none() {
                                answers[j] = Some(Err(e.clone()));
                            }
                        }
                        s.counters.incr(Counter::Errors);
                        true
                    }
                };
                (finished, used)
            }
            Expect::One(j) => {
                let j = *j;
                let (reply, used) = match text::parse_text_reply(conn.buffered(), limits) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Err(Error::parse(&s.name, &e)),
                };
                match text_answer(&s.name, &jobs[j].kind, reply) {
                    Err(e) if !matches!(e, Error::Server { .. }) => return Err(e),
                    Err(e) => {
                        s.counters.incr(Counter::Errors);
                        answers[j] = Some(Err(e));
                    }
                    Ok(a) => answers[j] = Some(Ok(a)),
                }
                (true, used)
            }
            Expect::Forget(left) => {
                let (reply, used) = match text::parse_text_reply(conn.buffered(), limits) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Err(Error::parse(&s.name, &e)),
                };
                match reply {
                    TextReply::Deleted | TextReply::NotFound | TextReply::Ok => {}
                    other => return Err(unexpected(&s.name, other)),
                }
                *left -= 1;
                (*left == 0, used)
            }
            Expect::Meta(j) => {
                let j = *j;
                let (reply, used) = match meta::parse_meta_reply(conn.buffered(), limits) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Err(Error::parse(&s.name, &e)),
                };
                match reply {
                    MetaReply::Value { data, flags } => {
                        let item = ItemRef {
                            value: data,
                            flags: flags.client_flags().unwrap_or(0),
                            cas: None,
                        };
                        sink(j, item, flags.ttl());
                        answers[j] = Some(Ok(Answer::Hit));
                        s.counters.incr(Counter::Hits);
                    }
                    MetaReply::Miss(_) => {
                        answers[j] = Some(Ok(Answer::Miss));
                        s.counters.incr(Counter::Misses);
                    }
                    other => match meta_unexpected(&s.name, other) {
                        e @ Error::Server { .. } => {
                            s.counters.incr(Counter::Errors);
                            answers[j] = Some(Err(e));
                        }
                        e => return Err(e),
                    },
                }
                (true, used)
            }
        };
        conn.consume(used);
        if finished {
            b.expects.pop_front();
        }
    }
    if b.expects.is_empty() && !conn.has_unwritten() {
        // Every reply is in: the connection goes back to the pool.
        b.forget = None;
        if let Some(conn) = b.conn.take() {
            account_bytes(set, b.server, &conn, b.bytes);
            set.server_ok(b.server);
            set.return_conn(b.server, conn);
        }
    }
    Ok(())
}

fn account_bytes(set: &ServerSet, server: usize, conn: &Conn, before: (u64, u64)) {
    let s = &set.all()[server];
    s.counters.add(Counter::BytesRead, conn.bytes_read - before.0);
    s.counters.add(Counter::BytesWritten, conn.bytes_written - before.1);
}

/// A batch's connection failed: its unanswered jobs get the error, the
/// connection is closed and the failure counts against the server.
fn fail_batch(set: &ServerSet, b: &mut Batch, answers: &mut [Option<Result<Answer>>], e: Error) {
    if let Some(conn) = b.conn.take() {
        account_bytes(set, b.server, &conn, b.bytes);
    }
    if let Some(forget) = b.forget.take() {
        if let Some(s) = set.get(b.server) {
            s.restore_forget(forget);
        }
    }
    b.expects.clear();
    for &j in &b.jobs {
        if answers[j].is_none() {
            answers[j] = Some(Err(e.clone()));
        }
    }
    set.server_failed(b.server, &e);
}
