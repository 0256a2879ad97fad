//! Jobs: what one request asks of one server for one key, how it is
//! encoded, and what its reply means. [`crate::fanout`] runs them.

use crate::error::{Error, Result};
use crate::histogram::CommandClass;
use crate::protocol::meta::{self, MetaFlag, MetaReply};
use crate::protocol::text::{self, Arith, Retrieval, Storage, TextReply};
use crate::reply::{meta_unexpected, status_reply, unexpected, ItemRef, Status};
use crate::stats::{Counter, Counters};

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
    /// Meta `ma` with autovivify: a missing key is created with `initial`
    /// and TTL `ttl`; the answer is the number after the command.
    ArithOrInit {
        arith: Arith,
        delta: u64,
        initial: u64,
        ttl: u32,
    },
}

impl JobKind<'_> {
    /// Whether doing the job twice leaves the same result as doing it once:
    /// only such jobs are sent again on a fresh connection when a pooled one
    /// turns out closed after they were written; the others are sent on a
    /// pooled connection only after checking that it is still open.
    pub(crate) fn is_idempotent(&self) -> bool {
        match self {
            JobKind::Get(_) | JobKind::MetaGet | JobKind::Delete | JobKind::Touch(_) => true,
            JobKind::Store { cmd, .. } => matches!(cmd, Storage::Set),
            JobKind::Arith(..) | JobKind::ArithOrInit { .. } => false,
        }
    }

    /// Whether the job's reply is a meta-protocol reply.
    pub(crate) fn is_meta(&self) -> bool {
        matches!(self, JobKind::MetaGet | JobKind::ArithOrInit { .. })
    }

    /// The class a one-key request of this kind keeps its latency under.
    pub(crate) fn class(&self) -> CommandClass {
        match self {
            JobKind::Get(_) | JobKind::MetaGet => CommandClass::Get,
            JobKind::Store { .. } => CommandClass::Store,
            JobKind::Delete => CommandClass::Delete,
            JobKind::Touch(_) => CommandClass::Touch,
            JobKind::Arith(..) => CommandClass::Arith,
            JobKind::ArithOrInit { .. } => CommandClass::Meta,
        }
    }

    /// The counter a job of this kind counts towards.
    pub(crate) fn counter(&self) -> Counter {
        match self {
            JobKind::Get(_) | JobKind::MetaGet => Counter::Gets,
            JobKind::Delete => Counter::Deletes,
            _ => Counter::Sets,
        }
    }
}

/// Writes of many keys: each key with what to write.
pub(crate) type Writes<'a> = Vec<(&'a [u8], JobKind<'a>)>;

/// One key's command on one server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job<'a> {
    pub server: usize,
    pub key: &'a [u8],
    pub kind: JobKind<'a>,
    /// Sent as a quiet meta command whose reply is not waited for (noreply):
    /// its answer is [`Answer::Sent`] once it is written.
    pub quiet: bool,
}

impl<'a> Job<'a> {
    /// A job whose reply is awaited.
    pub(crate) fn new(server: usize, key: &'a [u8], kind: JobKind<'a>) -> Job<'a> {
        Job { server, key, kind, quiet: false }
    }

    /// A write whose reply is not waited for.
    pub(crate) fn quiet(server: usize, key: &'a [u8], kind: JobKind<'a>) -> Job<'a> {
        Job { server, key, kind, quiet: true }
    }
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
    /// A quiet job was written; its outcome is not known.
    Sent,
}

/// Receives each value found: (job index, the value as it lies in the
/// receive buffer, its remaining TTL in seconds when known, -1 = never).
pub(crate) type ValueSink<'s> = dyn FnMut(usize, ItemRef<'_>, Option<i64>) + 's;

/// Encodes one non-retrieval job.
pub(crate) fn encode_job(out: &mut Vec<u8>, prefix: &[u8], job: &Job<'_>) {
    if job.quiet {
        return encode_quiet(out, prefix, job);
    }
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
        JobKind::ArithOrInit { arith, delta, initial, ttl } => meta::encode_ma(
            out,
            prefix,
            job.key,
            &[
                MetaFlag::Vivify(ttl),
                MetaFlag::Initial(initial),
                MetaFlag::Delta(delta),
                MetaFlag::Mode(arith_mode(arith)),
                MetaFlag::ReturnValue,
            ],
        ),
    }
}

/// Encodes a write as a quiet meta command: memcached answers it only if it
/// fails, and the `mn` that ends the batch tells when all have answered.
fn encode_quiet(out: &mut Vec<u8>, prefix: &[u8], job: &Job<'_>) {
    let key = job.key;
    match job.kind {
        JobKind::Store { cmd, value, flags, ttl } => {
            let (mode, cas) = match cmd {
                Storage::Set => (b'S', None),
                Storage::Add => (b'E', None),
                Storage::Replace => (b'R', None),
                Storage::Append => (b'A', None),
                Storage::Prepend => (b'P', None),
                Storage::Cas { cas } => (b'S', Some(cas)),
            };
            let mut flags_out = [MetaFlag::Quiet; 5];
            flags_out[0] = MetaFlag::Ttl(ttl);
            flags_out[1] = MetaFlag::ClientFlags(flags);
            flags_out[2] = MetaFlag::Mode(mode);
            let n = match cas {
                Some(c) => {
                    flags_out[3] = MetaFlag::CompareCas(c);
                    5
                }
                None => 4,
            };
            meta::encode_ms(out, prefix, key, value, &flags_out[..n]);
        }
        JobKind::Delete => meta::encode_md(out, prefix, key, &[MetaFlag::Quiet]),
        JobKind::Touch(ttl) => {
            meta::encode_mg(out, prefix, key, &[MetaFlag::Ttl(ttl), MetaFlag::Quiet])
        }
        JobKind::Arith(arith, delta) => meta::encode_ma(
            out,
            prefix,
            key,
            &[MetaFlag::Delta(delta), MetaFlag::Mode(arith_mode(arith)), MetaFlag::Quiet],
        ),
        JobKind::ArithOrInit { arith, delta, initial, ttl } => meta::encode_ma(
            out,
            prefix,
            key,
            &[
                MetaFlag::Vivify(ttl),
                MetaFlag::Initial(initial),
                MetaFlag::Delta(delta),
                MetaFlag::Mode(arith_mode(arith)),
                MetaFlag::Quiet,
            ],
        ),
        // Reads always wait for their reply.
        JobKind::Get(_) | JobKind::MetaGet => {
            encode_job(out, prefix, &Job { quiet: false, ..*job })
        }
    }
}

fn arith_mode(arith: Arith) -> u8 {
    if arith == Arith::Incr {
        b'I'
    } else {
        b'D'
    }
}

/// Counts the outcome a store's answer carries (`stored`, `not_stored`) on
/// the server that gave it. (Hits and misses are counted where retrievals
/// are read, errors where they happen.)
#[inline]
pub(crate) fn count_answer(counters: &Counters, kind: &JobKind<'_>, answer: &Answer) {
    if let JobKind::Store { .. } = kind {
        match answer {
            Answer::Status(Status::Done) => counters.incr(Counter::Stored),
            Answer::Status(Status::NotStored | Status::Exists) => counters.incr(Counter::NotStored),
            _ => {}
        }
    }
}

/// The answer a meta job's reply carries (`ArithOrInit`: the number).
/// `Error::Server` is a reply-level error; any other error means the stream
/// is out of step.
pub(crate) fn meta_answer(server: &str, reply: MetaReply<'_>) -> Result<Answer> {
    match reply {
        MetaReply::Value { data, .. } => std::str::from_utf8(data)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .map(|n| Answer::Number(Some(n)))
            .ok_or_else(|| Error::protocol(server, "ma returned a value that is not a number")),
        MetaReply::NotFound(_) => Ok(Answer::Number(None)),
        other => Err(meta_unexpected(server, other)),
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
