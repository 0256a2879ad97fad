//! Multi-server I/O: every server's batch is written first, then all
//! replies are read as they arrive in one `poll` loop, so a request over N
//! servers costs about one round trip, not N.
//!
//! Each server is judged against its own deadline: a stopped server times
//! out alone, and never uses up the time of the healthy servers beside it
//! (their replies are read while it is silent). With one server left the
//! loop reads with a plain blocking `recv`, which is what a single-server
//! request costs in a hand-written client. A signal that the interrupt check
//! turns into a stop ends the loop between any two waits.
//!
//! Retrieval jobs for one server share `get k1 k2 ...` lines; every other
//! job is one command with one reply; quiet (noreply) jobs follow the rest
//! of their batch with a closing `mn`, whose reply the next request on the
//! connection reads. Replies come back in request order per server, which is
//! how they are matched to jobs. Connections that must be opened are opened
//! without blocking and completed inside the same loop. A pooled connection
//! that the server had closed (a restart, its idle timeout) is found out
//! before any reply byte arrives; the batch is then sent once more on a
//! fresh connection, and the server is not blamed.
//!
//! `fanout_window=N` caps the keys awaiting replies in one fan-out, as
//! Facebook's memcache client does against incast: hundreds of servers
//! answering one multi-get at the same moment can overflow the buffer of
//! the switch port in front of the client, and the dropped packets cost
//! TCP retransmission timeouts. With a window, servers' batches are started
//! in turn while their keys fit, and the next ones as earlier batches
//! complete; each batch keeps the deadline rule above from the moment it is
//! started. A stopped server's batch holds its keys in the window until
//! its deadline passes; the batches behind it then start with their whole
//! budgets, so they lose no reply, and the call takes up to one
//! `io_timeout_ms` longer than without a window. The window costs round
//! trips (fewer servers answer at once), so it is off by default, and the
//! loop is then exactly the one described above.

use std::collections::VecDeque;

use crate::conn::{poll_many, Conn, Deadline, IoFailure};
use crate::error::{Error, Result};
use crate::histogram::{now_ns, CommandClass};
use crate::invalidation::Forget;
use crate::job::{
    count_answer, encode_job, meta_answer, text_answer, Answer, Job, JobKind, ValueSink,
};
use crate::placeholder::{is_placeholder, may_be_placeholder};
use crate::protocol::meta::{self, MetaReply};
use crate::protocol::text::{self, TextReply};
use crate::reply::{is_prefixed, meta_unexpected, unexpected, ItemRef};
use crate::server::PooledConn;
use crate::server_set::{skip_owed, Checkout, ServerSet};
use crate::stats::Counter;

/// Keys per `get` line: keeps lines short while batching well.
const KEYS_PER_LINE: usize = 100;

/// Quiet batches whose closing replies a connection may owe before the next
/// batch reads them anyway (noreply writes in a loop would otherwise fill
/// the socket's receive buffer).
const MAX_OWED: u32 = 64;

/// The replies a server still owes, in order.
enum Expect {
    /// A `get` line: zero or more `VALUE`s for these jobs, then `END`.
    Retrieval { jobs: Vec<usize>, cursor: usize },
    /// One text reply for one job.
    One(usize),
    /// One meta reply (`VA` or `EN`) for one `mg` job.
    Meta(usize),
    /// One meta reply carrying a number (`ma`).
    MetaNumber(usize),
    /// Replies to the server's pending invalidations (deletes), sent ahead
    /// of the batch.
    Forget(usize),
}

/// One server's part of a fan-out.
struct Batch {
    server: usize,
    conn: Option<PooledConn>,
    /// Replies the connection owed for earlier quiet batches: read and
    /// dropped before this batch's own.
    skip: u32,
    expects: VecDeque<Expect>,
    /// Every job of the batch.
    jobs: Vec<usize>,
    /// Whether the batch ends with quiet jobs (and their `mn`).
    quiet: bool,
    /// The connect deadline while connecting, then the I/O deadline.
    deadline: Deadline,
    bytes: (u64, u64),
    /// Invalidations sent ahead of the batch, put back if it fails.
    forget: Option<Forget>,
    /// The connection came from the pool (and may have been closed by the
    /// server meanwhile).
    reused: bool,
    /// Whether this batch was already sent again on a fresh connection.
    retried: bool,
    /// When the batch began (before its connection was taken), in
    /// [`now_ns`] nanoseconds.
    started: u64,
    /// The class its latency is recorded under, until it is recorded;
    /// `None` for a batch of quiet jobs only (no reply to time).
    class: Option<CommandClass>,
}

impl Batch {
    /// Whether any reply byte has arrived for this batch.
    fn replied(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.bytes_read > self.bytes.0)
    }
}

/// Runs `jobs` and returns one result per job, in order. Servers must have
/// been admitted by the caller (routing checked their health).
pub(crate) fn run(
    set: &ServerSet,
    jobs: &[Job<'_>],
    sink: &mut ValueSink<'_>,
) -> Vec<Result<Answer>> {
    let servers = set.all();
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

    let mut queue = Queue { by_server, order, next: 0 };
    let mut batches: Vec<Batch> = Vec::with_capacity(queue.order.len());
    start(set, jobs, &mut queue, &mut batches, &mut answers, 0);

    // Empty flag-0 values of plain gets may be lease placeholders: they are
    // checked once the batch is done (rare among real values), and handed
    // on only if they are not.
    let mut suspects: Vec<(usize, Option<u64>)> = Vec::new();
    drive(set, jobs, &mut queue, &mut batches, &mut answers, &mut |j, item, ttl| {
        if matches!(jobs[j].kind, JobKind::Get(_)) && may_be_placeholder(item.value, item.flags) {
            suspects.push((j, item.cas));
        } else {
            sink(j, item, ttl);
        }
    });
    for (j, cas) in suspects {
        if !matches!(answers[j], Some(Ok(Answer::Hit))) {
            continue;
        }
        match set.is_placeholder_now(jobs[j].server, jobs[j].key) {
            Ok(true) => answers[j] = Some(Ok(Answer::Miss)),
            Ok(false) => sink(j, ItemRef { value: &[], flags: 0, cas }, None),
            Err(e) => answers[j] = Some(Err(e)),
        }
    }

    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(Error::protocol("", "job left unanswered"))))
        .collect()
}

/// The servers' job lists in the order of their first jobs, and how many
/// of them have been started.
struct Queue {
    by_server: Vec<Vec<usize>>,
    order: Vec<usize>,
    next: usize,
}

/// Starts servers' batches from `queue`: every one without a window
/// (`fanout_window=0`). With a window, the next batch starts only if its
/// keys fit beside the `outstanding` ones already awaiting replies, or if
/// nothing is outstanding, so that a batch larger than the window goes out
/// alone instead of never. Batches start in queue order (none overtakes a
/// larger one waiting), each whole: a server's batch is never split, so
/// its replies stay one pipelined exchange. A batch's keys are its jobs;
/// the invalidations a server missed, sent ahead of them, are not counted
/// (few, with one-line replies). Returns where the started batches begin
/// in `batches`.
fn start(
    set: &ServerSet,
    jobs: &[Job<'_>],
    queue: &mut Queue,
    batches: &mut Vec<Batch>,
    answers: &mut [Option<Result<Answer>>],
    mut outstanding: usize,
) -> usize {
    let window = set.io.fanout_window;
    let first = batches.len();
    while let Some(&server) = queue.order.get(queue.next) {
        let keys = queue.by_server[server].len();
        if window > 0 && outstanding > 0 && outstanding + keys > window {
            break;
        }
        queue.next += 1;
        let list = std::mem::take(&mut queue.by_server[server]);
        outstanding += open(set, jobs, server, list, batches, answers);
    }
    first
}

/// Opens one server's batch onto `batches`: counts its commands, sends the
/// invalidations the server missed, takes a connection and puts the request
/// on it (the I/O deadline starts here, so a batch the window held back has
/// its full budget). Returns its keys (what it holds of the window); 0
/// when that failed and the jobs have their error.
fn open(
    set: &ServerSet,
    jobs: &[Job<'_>],
    server: usize,
    list: Vec<usize>,
    batches: &mut Vec<Batch>,
    answers: &mut [Option<Result<Answer>>],
) -> usize {
    let s = &set.all()[server];
    // One atomic add per counter and batch, not per key.
    for counter in [Counter::Gets, Counter::Deletes, Counter::Sets] {
        let n = list.iter().filter(|&&j| jobs[j].kind.counter() == counter).count();
        if n > 0 {
            s.counters.add(counter, n as u64);
        }
    }
    let conditional = list.iter().any(|&j| !jobs[j].kind.is_idempotent());
    let started = now_ns();
    let class = batch_class(jobs, &list);
    let forget = if s.must_forget() {
        set.forget_for_fanout(server, &Deadline::after(set.io.io_timeout))
    } else {
        Ok(None)
    };
    let checkout = forget.and_then(|f| Ok((f, set.checkout_for_fanout(server, conditional)?)));
    match checkout {
        Ok((forget, Checkout { conn, reused })) => {
            let mut b = Batch {
                server,
                conn: None,
                skip: 0,
                expects: VecDeque::new(),
                jobs: list,
                quiet: false,
                deadline: Deadline::after(set.io.io_timeout),
                bytes: (0, 0),
                forget,
                reused,
                retried: false,
                started,
                class,
            };
            load(set, jobs, &mut b, conn);
            let keys = b.jobs.len();
            batches.push(b);
            keys
        }
        Err(e) => {
            if let Some(class) = class {
                s.latencies.record_since(class, started);
            }
            for &j in &list {
                answers[j] = Some(Err(e.clone()));
            }
            0
        }
    }
}

/// The class a server's batch of `list` keeps its latency under: that of
/// its first job awaiting a reply, retrievals as multi-key ones (one-key
/// reads do not come here); `None` when every job is quiet.
fn batch_class(jobs: &[Job<'_>], list: &[usize]) -> Option<CommandClass> {
    let job = list.iter().map(|&j| &jobs[j]).find(|j| !j.quiet)?;
    Some(match job.kind {
        JobKind::Get(_) | JobKind::MetaGet => CommandClass::MultiGet,
        kind => kind.class(),
    })
}

/// Records batch `b`'s latency, once.
#[inline]
fn record_latency(set: &ServerSet, b: &mut Batch) {
    if let (Some(class), Some(s)) = (b.class.take(), set.get(b.server)) {
        s.latencies.record_since(class, b.started);
    }
}

/// Puts batch `b`'s request on `conn`: the server's pending invalidations
/// first (a server forgets what it missed before it serves this batch),
/// then the jobs that await replies, then the quiet ones and their `mn`.
fn load(set: &ServerSet, jobs: &[Job<'_>], b: &mut Batch, mut conn: PooledConn) {
    let prefix = &set.io.prefix[..];
    b.skip = std::mem::take(&mut conn.owed);
    b.expects.clear();
    if let Some(f) = b.forget.as_ref().filter(|f| !f.keys.is_empty()) {
        b.expects.push_back(Expect::Forget(encode_forget(&mut conn.out, f)));
    }
    encode_batch(&mut conn.out, prefix, jobs, &b.jobs, &mut b.expects);
    b.quiet = false;
    for &j in &b.jobs {
        if jobs[j].quiet {
            encode_job(&mut conn.out, prefix, &jobs[j]);
            b.quiet = true;
        }
    }
    if b.quiet {
        meta::encode_mn(&mut conn.out);
    }
    b.bytes = (conn.bytes_read, conn.bytes_written);
    b.deadline = if conn.is_connecting() {
        Deadline::after(set.io.connect_timeout)
    } else {
        Deadline::after(set.io.io_timeout)
    };
    b.conn = Some(conn);
}

/// Encodes a server's pending invalidations (keys as on the wire); returns
/// how many replies they produce.
fn encode_forget(out: &mut Vec<u8>, forget: &Forget) -> usize {
    for key in &forget.keys {
        text::encode_delete(out, b"", key, false);
    }
    forget.keys.len()
}

/// Encodes a server's jobs that await replies and lists the replies they
/// will produce.
fn encode_batch(
    out: &mut Vec<u8>,
    prefix: &[u8],
    jobs: &[Job<'_>],
    list: &[usize],
    expects: &mut VecDeque<Expect>,
) {
    let mut i = 0;
    while i < list.len() {
        let job = &jobs[list[i]];
        if job.quiet {
            i += 1;
            continue;
        }
        match job.kind {
            JobKind::Get(cmd) => {
                // A run of retrievals with the same command shares lines.
                let mut run = Vec::new();
                while i < list.len() && run.len() < KEYS_PER_LINE {
                    let next = &jobs[list[i]];
                    match next.kind {
                        JobKind::Get(c) if c == cmd && !next.quiet => run.push(list[i]),
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
            JobKind::ArithOrInit { .. } => {
                encode_job(out, prefix, job);
                expects.push_back(Expect::MetaNumber(list[i]));
            }
            _ => {
                encode_job(out, prefix, job);
                expects.push_back(Expect::One(list[i]));
            }
        }
        i += 1;
    }
}

/// The poll loop: completes connects, writes pending requests, reads and
/// dispatches replies, until every batch is done or failed. With a window,
/// it also starts the queue's next batches as earlier ones complete (a
/// batch's keys count until all its replies are in or it failed).
fn drive(
    set: &ServerSet,
    jobs: &[Job<'_>],
    queue: &mut Queue,
    batches: &mut Vec<Batch>,
    answers: &mut [Option<Result<Answer>>],
    sink: &mut ValueSink<'_>,
) {
    for b in batches.iter_mut() {
        first_write(set, jobs, b, answers, sink);
    }
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(batches.len());
    let mut active: Vec<usize> = Vec::with_capacity(batches.len());
    loop {
        // Only a window leaves batches unstarted.
        if queue.next < queue.order.len() {
            let outstanding =
                batches.iter().filter(|b| b.conn.is_some()).map(|b| b.jobs.len()).sum();
            let first = start(set, jobs, queue, batches, answers, outstanding);
            for b in &mut batches[first..] {
                first_write(set, jobs, b, answers, sink);
            }
        }
        active.clear();
        active.extend((0..batches.len()).filter(|&i| batches[i].conn.is_some()));
        match active.as_slice() {
            [] if queue.next == queue.order.len() => return,
            // Everything started was done at its first write (quiet
            // batches): the next ones start.
            [] => continue,
            // One server left with its request written: a plain blocking
            // read, bounded by its deadline. (With a window nothing waiting
            // could start before it is done.)
            &[i] if batches[i].conn.as_ref().is_some_and(|c| c.is_sending_done()) => {
                let b = &mut batches[i];
                let step = match b.conn.as_mut() {
                    Some(conn) => {
                        conn.fill(&b.deadline).map_err(|f| Error::io(set.name(b.server), f))
                    }
                    None => Ok(()),
                };
                let step = step.and_then(|()| dispatch(set, jobs, b, answers, sink));
                if let Err(e) = step {
                    let stop = matches!(e, Error::Interrupted);
                    failed(set, jobs, b, answers, e);
                    if stop {
                        abandon(queue, answers, |_| Error::Interrupted);
                    }
                }
                continue;
            }
            _ => {}
        }
        fds.clear();
        let mut earliest: Option<Deadline> = None;
        for &i in &active {
            let b = &batches[i];
            let Some(conn) = &b.conn else { continue };
            // Writability while connecting, what a TLS handshake needs, then
            // readability (and writability while the request is unwritten).
            fds.push(libc::pollfd { fd: conn.fd(), events: conn.poll_events(), revents: 0 });
            earliest = Some(earliest.map_or(b.deadline, |d| d.min(b.deadline)));
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
                        server: set.name(b.server).to_string(),
                        message: format!("poll: {e}"),
                    }
                };
                fail_batch(set, b, answers, err);
            }
            abandon(queue, answers, |server| {
                if interrupted {
                    Error::Interrupted
                } else {
                    Error::Connection {
                        server: set.name(server).to_string(),
                        message: format!("poll: {e}"),
                    }
                }
            });
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
                    failed(set, jobs, b, answers, e);
                    continue;
                }
            }
            if let Some(conn) = &b.conn {
                if b.deadline.passed() {
                    let during = conn.waiting_for();
                    let e = Error::io(set.name(b.server), IoFailure::Timeout(during));
                    failed(set, jobs, b, answers, e);
                }
            }
        }
    }
}

/// The call stops before the batches the window still holds back are
/// sent: their jobs get the error `e` gives for their server.
fn abandon(queue: &mut Queue, answers: &mut [Option<Result<Answer>>], e: impl Fn(usize) -> Error) {
    for &server in &queue.order[queue.next..] {
        for &j in &queue.by_server[server] {
            answers[j] = Some(Err(e(server)));
        }
    }
    queue.next = queue.order.len();
}

/// The optimistic first write of a batch just started: a small request
/// goes out without a poll.
fn first_write(
    set: &ServerSet,
    jobs: &[Job<'_>],
    b: &mut Batch,
    answers: &mut [Option<Result<Answer>>],
    sink: &mut ValueSink<'_>,
) {
    let flushed = match b.conn.as_mut() {
        Some(conn) if !conn.is_connecting() => conn.try_flush().map(|_| ()),
        _ => Ok(()),
    };
    let step = flushed
        .map_err(|f| Error::io(set.name(b.server), f))
        .and_then(|()| dispatch(set, jobs, b, answers, sink));
    if let Err(e) = step {
        failed(set, jobs, b, answers, e);
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
    let Some(s) = set.get(b.server) else { return Ok(()) };
    let Some(conn) = b.conn.as_mut() else { return Ok(()) };
    let io = |f| Error::io(&s.name, f);
    if conn.is_connecting() {
        conn.finish_connect().map_err(io)?;
        if conn.is_connecting() {
            // That address failed; the next one is being tried.
            return Ok(());
        }
        set.count_connect(b.server, conn);
        // Connected: the I/O budget starts now.
        b.deadline = Deadline::after(set.io.io_timeout);
        conn.try_flush().map_err(io)?;
        return dispatch(set, jobs, b, answers, sink);
    }
    if revents & libc::POLLOUT != 0 {
        conn.try_flush().map_err(io)?;
    }
    if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
        conn.try_fill().map_err(io)?;
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
    let Some(s) = set.get(b.server) else { return Ok(()) };
    let Some(conn) = b.conn.as_mut() else { return Ok(()) };
    if conn.is_connecting() {
        return Ok(());
    }
    let prefix = &set.io.prefix[..];
    let limits = &set.io.limits;
    // A quiet-only batch need not read what earlier quiet batches are owed,
    // unless that has grown long.
    let must_read = !b.expects.is_empty() || b.skip + u32::from(b.quiet) > MAX_OWED;
    if must_read
        && b.skip > 0
        && !skip_owed(conn, &mut b.skip, limits, &s.counters)
            .map_err(|e| Error::parse(&s.name, &e))?
    {
        return Ok(());
    }
    while let Some(expect) = b.expects.front_mut() {
        // Bytes of an oversized value to drop after its header.
        let mut skip = 0;
        let (finished, used) = match expect {
            Expect::Retrieval { jobs: run, cursor } => {
                let (reply, used) = match text::parse_text_reply(conn.buffered(), limits) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Err(Error::parse(&s.name, &e)),
                };
                let finished = match reply {
                    TextReply::Value { key, .. } | TextReply::Oversized { key, .. } => {
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
                        match reply {
                            TextReply::Value { flags, data, cas, .. } => {
                                sink(j, ItemRef { value: data, flags, cas }, None);
                                answers[j] = Some(Ok(Answer::Hit));
                            }
                            TextReply::Oversized { len, .. } => {
                                let e = too_large(&s.name, len, limits.max_value_len);
                                s.counters.count_error(&e);
                                answers[j] = Some(Err(e));
                                skip = len + 2;
                            }
                            _ => {}
                        }
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
                        s.counters.count_error(&e);
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
                        s.counters.count_error(&e);
                        answers[j] = Some(Err(e));
                    }
                    Ok(a) => {
                        count_answer(&s.counters, &jobs[j].kind, &a);
                        answers[j] = Some(Ok(a));
                    }
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
                    TextReply::Deleted | TextReply::NotFound => {}
                    other => return Err(unexpected(&s.name, other)),
                }
                *left -= 1;
                (*left == 0, used)
            }
            Expect::MetaNumber(j) => {
                let j = *j;
                let (reply, used) = match meta::parse_meta_reply(conn.buffered(), limits) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Err(Error::parse(&s.name, &e)),
                };
                if let MetaReply::Oversized { .. } = reply {
                    return Err(Error::protocol(&s.name, "ma returned an oversized value"));
                }
                match meta_answer(&s.name, reply) {
                    Err(e) if !matches!(e, Error::Server { .. }) => return Err(e),
                    Err(e) => {
                        s.counters.count_error(&e);
                        answers[j] = Some(Err(e));
                    }
                    Ok(a) => answers[j] = Some(Ok(a)),
                }
                (true, used)
            }
            Expect::Meta(j) => {
                let j = *j;
                let (reply, used) = match meta::parse_meta_reply(conn.buffered(), limits) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Err(Error::parse(&s.name, &e)),
                };
                match reply {
                    MetaReply::Value { data, flags } if is_placeholder(data, &flags) => {
                        answers[j] = Some(Ok(Answer::Miss));
                        s.counters.incr(Counter::Misses);
                    }
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
                    MetaReply::Oversized { len, .. } => {
                        let e = too_large(&s.name, len, limits.max_value_len);
                        s.counters.count_error(&e);
                        answers[j] = Some(Err(e));
                        skip = len + 2;
                    }
                    MetaReply::Miss(_) => {
                        answers[j] = Some(Ok(Answer::Miss));
                        s.counters.incr(Counter::Misses);
                    }
                    other => match meta_unexpected(&s.name, other) {
                        e @ Error::Server { .. } => {
                            s.counters.count_error(&e);
                            answers[j] = Some(Err(e));
                        }
                        e => return Err(e),
                    },
                }
                (true, used)
            }
        };
        conn.consume(used);
        if skip > 0 {
            conn.skip(skip);
        }
        if finished {
            b.expects.pop_front();
        }
    }
    if b.expects.is_empty()
        && !conn.has_unwritten()
        && (b.skip == 0 || !must_read)
        && conn.is_skip_done()
    {
        // Every reply is in (quiet jobs are done once written): the
        // connection goes back to the pool, owing what was not read.
        for &j in &b.jobs {
            if jobs[j].quiet {
                answers[j] = Some(Ok(Answer::Sent));
            }
        }
        if let Some(forget) = b.forget.take() {
            s.invalidations.done(forget, set.linger_ms());
        }
        if let Some(mut conn) = b.conn.take() {
            conn.owed = b.skip + u32::from(b.quiet);
            account_bytes(set, b.server, &conn, b.bytes);
            record_latency(set, b);
            set.server_ok(b.server);
            set.return_conn(b.server, conn);
        }
    }
    Ok(())
}

/// The error for a value over this client's `max_value_bytes`: that key
/// alone fails, the stream stays in step.
fn too_large(server: &str, len: u64, limit: usize) -> Error {
    Error::TooLarge {
        server: server.to_string(),
        message: format!("value of {len} bytes is over max_value_bytes {limit}"),
    }
}

fn account_bytes(set: &ServerSet, server: usize, conn: &Conn, before: (u64, u64)) {
    if let Some(s) = set.get(server) {
        s.counters.add(Counter::BytesRead, conn.bytes_read - before.0);
        s.counters.add(Counter::BytesWritten, conn.bytes_written - before.1);
    }
}

/// A batch's connection failed. A pooled connection that turns out closed
/// by the server before any reply byte arrived (a restart, its idle timeout)
/// is replaced once by a fresh connection, without blaming the server;
/// otherwise the batch fails.
fn failed(
    set: &ServerSet,
    jobs: &[Job<'_>],
    b: &mut Batch,
    answers: &mut [Option<Result<Answer>>],
    e: Error,
) {
    let stale = b.reused && !b.retried && !b.replied() && matches!(e, Error::Connection { .. });
    if stale {
        if let Some(s) = set.get(b.server) {
            s.counters.incr(Counter::Reconnects);
        }
        if let Some(conn) = b.conn.take() {
            account_bytes(set, b.server, &conn, b.bytes);
        }
        b.retried = true;
        b.reused = false;
        match set.connect_for_fanout(b.server) {
            Ok(conn) => {
                load(set, jobs, b, conn);
                if let Some(conn) = b.conn.as_mut() {
                    if !conn.is_connecting() {
                        if let Err(f) = conn.try_flush() {
                            let e = Error::io(set.name(b.server), f);
                            return fail_batch(set, b, answers, e);
                        }
                    }
                }
                return;
            }
            Err(e) => return fail_batch(set, b, answers, e),
        }
    }
    fail_batch(set, b, answers, e);
}

/// A batch failed: its unanswered jobs get the error, the connection is
/// closed and the failure counts against the server.
fn fail_batch(set: &ServerSet, b: &mut Batch, answers: &mut [Option<Result<Answer>>], e: Error) {
    if let Some(conn) = b.conn.take() {
        account_bytes(set, b.server, &conn, b.bytes);
    }
    record_latency(set, b);
    if let Some(forget) = b.forget.take() {
        if let Some(s) = set.get(b.server) {
            s.invalidations.restore(forget);
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
