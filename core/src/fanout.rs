//! Multi-key fan-out: every server's batch is written first, then all
//! replies are read in one `poll` loop, so a request over N servers costs
//! about one round trip, not N.
//!
//! Jobs are (server, key, command). Retrieval jobs for one server share
//! `get k1 k2 ...` lines; every other job is one command with one reply.
//! Replies come back in request order per server, which is how they are
//! matched to jobs.

use std::collections::VecDeque;

use crate::client::{
    io_error, is_prefixed, protocol, status_reply, unexpected, Client, ItemRef, Status,
};
use crate::conn::{poll_many, Conn, Deadline, IoFailure};
use crate::error::{Error, Result};
use crate::protocol::text::{self, Retrieval, Storage, TextReply};
use crate::stats::Counter;

/// Keys per `get` line: keeps lines short while batching well.
const KEYS_PER_LINE: usize = 100;

/// What a job asks of its server.
#[derive(Clone, Copy, Debug)]
pub(crate) enum JobKind<'a> {
    Get(Retrieval),
    Store { cmd: Storage, value: &'a [u8], flags: u32, ttl: u32 },
    Delete,
}

/// One key's command on one server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job<'a> {
    pub server: usize,
    pub key: &'a [u8],
    pub kind: JobKind<'a>,
}

/// A job's result. Values found are handed to the caller's sink as they
/// are parsed, straight from the receive buffer, so bindings build their own
/// objects without an intermediate copy.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Hit,
    Miss,
    Status(Status),
}

/// Receives each value found: (job index, the value as it lies in the
/// receive buffer).
pub(crate) type ValueSink<'s> = dyn FnMut(usize, ItemRef<'_>) + 's;

/// The replies a server still owes, in order.
enum Expect {
    /// A `get` line: zero or more `VALUE`s for these jobs, then `END`.
    Retrieval { jobs: Vec<usize>, cursor: usize },
    /// One reply for one job.
    One(usize),
}

struct Batch {
    server: usize,
    conn: Option<Conn>,
    expects: VecDeque<Expect>,
    jobs: Vec<usize>,
    bytes: (u64, u64),
}

/// Runs `jobs` and returns one result per job, in order.
pub(crate) fn run(
    client: &Client,
    jobs: &[Job<'_>],
    sink: &mut ValueSink<'_>,
) -> Vec<Result<Answer>> {
    let servers = client.server_list();
    let prefix = client.prefix();
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
        for &j in &list {
            let counter = match jobs[j].kind {
                JobKind::Get(_) => Counter::Gets,
                JobKind::Delete => Counter::Deletes,
                _ => Counter::Sets,
            };
            s.counters.incr(counter);
        }
        match client.checkout(s) {
            Ok(mut conn) => {
                let expects = encode_batch(&mut conn.out, prefix, jobs, &list);
                let bytes = (conn.bytes_read, conn.bytes_written);
                batches.push(Batch { server, conn: Some(conn), expects, jobs: list, bytes });
            }
            Err(e) => {
                for &j in &list {
                    answers[j] = Some(Err(e.clone()));
                }
            }
        }
    }

    let deadline = Deadline::after(client.io_timeout());
    drive(client, jobs, &mut batches, &mut answers, sink, &deadline);

    answers
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                Err(Error::Protocol {
                    server: String::new(),
                    message: "job left unanswered".into(),
                })
            })
        })
        .collect()
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
            JobKind::Store { cmd, value, flags, ttl } => {
                text::encode_storage(out, cmd, prefix, job.key, flags, ttl, value, false)
            }
            JobKind::Delete => text::encode_delete(out, prefix, job.key, false),
        }
        expects.push_back(Expect::One(list[i]));
        i += 1;
    }
    expects
}

/// The poll loop: writes pending requests, reads and dispatches replies,
/// until every batch is done, failed, or the deadline passes.
fn drive(
    client: &Client,
    jobs: &[Job<'_>],
    batches: &mut [Batch],
    answers: &mut [Option<Result<Answer>>],
    sink: &mut ValueSink<'_>,
    deadline: &Deadline,
) {
    let servers = client.server_list();
    // Optimistic first write: small batches go out without a poll.
    for b in batches.iter_mut() {
        if let Some(conn) = b.conn.as_mut() {
            if let Err(f) = conn.try_flush() {
                let e = io_error(&servers[b.server].name, f);
                fail_batch(client, b, answers, e);
            }
        }
    }
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(batches.len());
    let mut active: Vec<usize> = Vec::with_capacity(batches.len());
    loop {
        fds.clear();
        active.clear();
        for (i, b) in batches.iter().enumerate() {
            if let Some(conn) = &b.conn {
                let mut events = libc::POLLIN;
                if conn.has_unwritten() {
                    events |= libc::POLLOUT;
                }
                fds.push(libc::pollfd { fd: conn.fd(), events, revents: 0 });
                active.push(i);
            }
        }
        if active.is_empty() {
            return;
        }
        match poll_many(&mut fds, deadline) {
            Ok(0) => {
                for &i in &active {
                    let b = &mut batches[i];
                    let during = match &b.conn {
                        Some(c) if c.has_unwritten() => "write",
                        _ => "read",
                    };
                    let e = io_error(&servers[b.server].name, IoFailure::Timeout(during));
                    fail_batch(client, b, answers, e);
                }
                return;
            }
            Ok(_) => {}
            Err(e) => {
                for &i in &active {
                    let b = &mut batches[i];
                    let err = Error::Connection {
                        server: servers[b.server].name.clone(),
                        message: format!("poll: {e}"),
                    };
                    fail_batch(client, b, answers, err);
                }
                return;
            }
        }
        for (k, &i) in active.iter().enumerate() {
            let revents = fds[k].revents;
            if revents == 0 {
                continue;
            }
            let b = &mut batches[i];
            if let Err(e) = service(client, jobs, b, answers, sink, revents) {
                fail_batch(client, b, answers, e);
            }
        }
    }
}

/// Handles readiness of one batch's connection. Returns a connection-level
/// error; reply-level errors are stored as the jobs' answers.
fn service(
    client: &Client,
    jobs: &[Job<'_>],
    b: &mut Batch,
    answers: &mut [Option<Result<Answer>>],
    sink: &mut ValueSink<'_>,
    revents: libc::c_short,
) -> Result<()> {
    let s = &client.server_list()[b.server];
    let Some(conn) = b.conn.as_mut() else { return Ok(()) };
    if revents & libc::POLLOUT != 0 {
        conn.try_flush().map_err(|f| io_error(&s.name, f))?;
    }
    if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
        conn.try_fill().map_err(|f| io_error(&s.name, f))?;
    }
    let prefix = client.prefix();
    while let Some(expect) = b.expects.front_mut() {
        let (reply, used) = match text::parse_text_reply(conn.buffered(), client.limits()) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => return Err(protocol(&s.name, &e.to_string())),
        };
        let finished = match expect {
            Expect::Retrieval { jobs: run, cursor } => match reply {
                TextReply::Value { key, flags, data, cas } => {
                    let pos = run[*cursor..]
                        .iter()
                        .position(|&j| is_prefixed(key, prefix, jobs[j].key))
                        .ok_or_else(|| {
                            protocol(&s.name, "reply for a key that was not asked for")
                        })?;
                    let j = run[*cursor + pos];
                    *cursor += pos + 1;
                    sink(j, ItemRef { value: data, flags, cas });
                    answers[j] = Some(Ok(Answer::Hit));
                    s.counters.incr(Counter::Hits);
                    false
                }
                TextReply::End => {
                    for &j in run.iter() {
                        if answers[j].is_none() {
                            answers[j] = Some(Ok(Answer::Miss));
                            s.counters.incr(Counter::Misses);
                        }
                    }
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
            },
            Expect::One(j) => {
                let j = *j;
                let answer = status_reply(&s.name, reply).map(Answer::Status);
                match answer {
                    Err(e) if !matches!(e, Error::Server { .. }) => return Err(e),
                    Err(e) => {
                        s.counters.incr(Counter::Errors);
                        answers[j] = Some(Err(e));
                    }
                    Ok(a) => answers[j] = Some(Ok(a)),
                }
                true
            }
        };
        conn.consume(used);
        if finished {
            b.expects.pop_front();
        }
    }
    if b.expects.is_empty() && !conn.has_unwritten() {
        // Every reply is in: the connection goes back to the pool.
        if let Some(conn) = b.conn.take() {
            account_bytes(client, b.server, &conn, b.bytes);
            s.health.record_success();
            s.put_idle(conn, client.config().pool_size);
        }
    }
    Ok(())
}

fn account_bytes(client: &Client, server: usize, conn: &Conn, before: (u64, u64)) {
    let s = &client.server_list()[server];
    s.counters.add(Counter::BytesRead, conn.bytes_read - before.0);
    s.counters.add(Counter::BytesWritten, conn.bytes_written - before.1);
}

/// A batch's connection failed: its unanswered jobs get the error, the
/// connection is closed and the failure counts against the server.
fn fail_batch(client: &Client, b: &mut Batch, answers: &mut [Option<Result<Answer>>], e: Error) {
    if let Some(conn) = b.conn.take() {
        account_bytes(client, b.server, &conn, b.bytes);
    }
    b.expects.clear();
    for &j in &b.jobs {
        if answers[j].is_none() {
            answers[j] = Some(Err(e.clone()));
        }
    }
    client.server_failed(&client.server_list()[b.server], &e);
}
