//! Client-side counters per server, readable from every binding.
//!
//! Counters are relaxed atomics: cheap on the hot path, safe to read from any
//! thread, and meaningful after `fork()` (the child starts from the parent's
//! values and counts its own requests on top).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Declares the counters once: the live atomics ([`Counters`]), their names
/// ([`Counter`]), a copy of their values ([`Snapshot`], one field each) and
/// the exported names, all in one order.
macro_rules! counters {
    ($($(#[doc = $doc:literal])* $field:ident => $variant:ident,)*) => {
        /// Live counters of one server.
        #[derive(Debug, Default)]
        pub struct Counters {
            $($field: AtomicU64,)*
        }

        /// Names one counter, for [`Counters::add`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Counter {
            $($(#[doc = $doc])* $variant,)*
        }

        /// Counter values at one moment; see [`Counter`] for their meaning.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub struct Snapshot {
            $(pub $field: u64,)*
        }

        /// How many counters there are.
        pub const COUNTER_COUNT: usize = [$(stringify!($field)),*].len();

        impl Counters {
            /// Adds `n` to a counter.
            #[inline]
            pub fn add(&self, counter: Counter, n: u64) {
                let c = match counter {
                    $(Counter::$variant => &self.$field,)*
                };
                c.fetch_add(n, Ordering::Relaxed);
            }

            /// A consistent-enough copy of the counters.
            pub fn snapshot(&self) -> Snapshot {
                Snapshot { $($field: self.$field.load(Ordering::Relaxed),)* }
            }
        }

        impl Snapshot {
            /// Every counter as (name, value), in a fixed order: the names
            /// bindings export (Python dict keys, PHP array keys, C fields,
            /// Prometheus).
            pub fn fields(&self) -> [(&'static str, u64); COUNTER_COUNT] {
                [$((stringify!($field), self.$field),)*]
            }

            /// The field-wise sum of two snapshots.
            pub fn plus(&self, o: &Snapshot) -> Snapshot {
                Snapshot { $($field: self.$field + o.$field,)* }
            }

            /// One counter's value.
            pub fn get(&self, counter: Counter) -> u64 {
                match counter {
                    $(Counter::$variant => self.$field,)*
                }
            }
        }
    };
}

counters! {
    /// Keys asked for (a `get_multi` of 10 keys counts 10).
    gets => Gets,
    /// Keys found.
    hits => Hits,
    /// Keys not found.
    misses => Misses,
    /// Store commands (set, add, replace, append, prepend, cas, incr, decr, touch).
    sets => Sets,
    /// Deletes.
    deletes => Deletes,
    /// Requests that failed with an error (including timeouts).
    errors => Errors,
    /// Requests that timed out.
    timeouts => Timeouts,
    /// Bytes received.
    bytes_read => BytesRead,
    /// Bytes sent.
    bytes_written => BytesWritten,
    /// Connections opened.
    connects => Connects,
    /// Copies of a write that failed while the write as a whole succeeded.
    replica_write_failures => ReplicaWriteFailures,
    /// Requests served by another server because this one was down.
    failovers => Failovers,
    /// Values written back to this server after it missed them.
    read_repairs => ReadRepairs,
    /// Quiet (noreply) writes the server answered with an error.
    noreply_errors => NoreplyErrors,
    /// Writes and deletes of this server's keys that took effect only on a
    /// failover target (their result says so: `StoredElsewhere`).
    stored_elsewhere => StoredElsewhere,
    /// Keys queued to be deleted on this server before it serves again
    /// (their write missed it).
    invalidations => Invalidations,
    /// Keys that could not be queued (the invalidation log was full): this
    /// server may serve an older value of them until their TTL ends.
    invalidations_dropped => InvalidationsDropped,
    /// Flushes after an overflowed invalidation log that the server refused
    /// (`flush_all` disabled with `-F`): a warning, never retried.
    flush_refused => FlushRefused,
    /// Idle pooled connections the server had closed (a restart, its
    /// `idle_timeout`), replaced by fresh ones without an error.
    reconnects => Reconnects,
}

impl Counters {
    /// Adds one to a counter.
    #[inline]
    pub fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }
}

/// Counters of every server of a client, plus their sum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// (server name, counters), in configuration order.
    pub servers: Vec<(String, Snapshot)>,
    /// The sum over all servers.
    pub total: Snapshot,
}

impl ClientStats {
    /// The counters in Prometheus text exposition format.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let names = Snapshot::default().fields();
        for (i, (name, _)) in names.iter().enumerate() {
            let _ = writeln!(out, "# TYPE mcring_{name}_total counter");
            for (server, snap) in &self.servers {
                let value = snap.fields()[i].1;
                let _ = writeln!(
                    out,
                    "mcring_{name}_total{{server=\"{}\"}} {value}",
                    server.replace('\\', "\\\\").replace('"', "\\\"")
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sums() {
        let c = Counters::default();
        c.incr(Counter::Gets);
        c.add(Counter::BytesRead, 10);
        let s = c.snapshot();
        assert_eq!(s.gets, 1);
        assert_eq!(s.bytes_read, 10);
        assert_eq!(s.plus(&s).bytes_read, 20);
        let stats = ClientStats { servers: vec![("a:1".into(), s)], total: s };
        assert!(stats.prometheus().contains("mcring_gets_total{server=\"a:1\"} 1"));
    }
}
