//! Client-side counters per server, readable from every binding.
//!
//! Counters are relaxed atomics: cheap on the hot path, safe to read from any
//! thread, and meaningful after `fork()` (the child starts from the parent's
//! values and counts its own requests on top).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::metrics::Exposition;

/// Declares the counters once: the live atomics ([`Counters`]), their names
/// ([`Counter`]), a copy of their values ([`Snapshot`], one field each) and
/// the exported names ([`CLIENT_METRICS`], the doc comment as help), all in
/// one order.
macro_rules! counters {
    ($($(#[doc = $doc:literal])* $field:ident => $variant:ident as $metric:literal,)*) => {
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

        /// The Prometheus family of each counter: (field, metric name,
        /// help). The names are shared by every exporter of client metrics
        /// (bindings, the `mcring exporter` command), so dashboards see one
        /// set of series.
        pub const CLIENT_METRICS: [(&str, &str, &str); COUNTER_COUNT] =
            [$((stringify!($field), $metric, concat!($($doc),*)),)*];

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
    gets => Gets as "mcring_client_gets_total",
    /// Keys found.
    hits => Hits as "mcring_client_hits_total",
    /// Keys not found.
    misses => Misses as "mcring_client_misses_total",
    /// Store commands (set, add, replace, append, prepend, cas, incr, decr, touch).
    sets => Sets as "mcring_client_sets_total",
    /// Deletes.
    deletes => Deletes as "mcring_client_deletes_total",
    /// Requests that failed with an error (including timeouts).
    errors => Errors as "mcring_client_errors_total",
    /// Requests that timed out.
    timeouts => Timeouts as "mcring_client_timeouts_total",
    /// Bytes received.
    bytes_read => BytesRead as "mcring_client_read_bytes_total",
    /// Bytes sent.
    bytes_written => BytesWritten as "mcring_client_written_bytes_total",
    /// Connections opened.
    connects => Connects as "mcring_client_connections_total",
    /// Copies of a write that failed while the write as a whole succeeded.
    replica_write_failures => ReplicaWriteFailures as "mcring_client_replica_write_failures_total",
    /// Requests served by another server because this one was down.
    failovers => Failovers as "mcring_client_failovers_total",
    /// Values written back to this server after it missed them.
    read_repairs => ReadRepairs as "mcring_client_read_repairs_total",
    /// Quiet (noreply) writes the server answered with an error.
    noreply_errors => NoreplyErrors as "mcring_client_noreply_errors_total",
    /// Writes and deletes of this server's keys that took effect only on a
    /// failover target (their result says so: `StoredElsewhere`).
    stored_elsewhere => StoredElsewhere as "mcring_client_stored_elsewhere_total",
    /// Keys queued to be deleted on this server before it serves again
    /// (their write missed it).
    invalidations => Invalidations as "mcring_client_invalidations_total",
    /// Keys that could not be queued (the invalidation log was full): this
    /// server may serve an older value of them until their TTL ends.
    invalidations_dropped => InvalidationsDropped as "mcring_client_invalidations_dropped_total",
    /// Flushes after an overflowed invalidation log that the server refused
    /// (`flush_all` disabled with `-F`): a warning, never retried.
    flush_refused => FlushRefused as "mcring_client_flush_refused_total",
    /// Idle pooled connections the server had closed (a restart, its
    /// `idle_timeout`), replaced by fresh ones without an error.
    reconnects => Reconnects as "mcring_client_reconnects_total",
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
    /// Adds the counters to an exposition, one family per counter with a
    /// `server` label.
    pub fn add_to(&self, e: &mut Exposition) {
        for (i, (_, metric, help)) in CLIENT_METRICS.iter().enumerate() {
            for (server, snap) in &self.servers {
                e.counter(metric, help.trim(), &[("server", server)], snap.fields()[i].1);
            }
        }
    }

    /// The counters in Prometheus text exposition format.
    pub fn prometheus(&self) -> String {
        let mut e = Exposition::new();
        self.add_to(&mut e);
        e.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_a_metric_in_field_order() {
        let fields = Snapshot::default().fields();
        for ((field, _), (named, metric, _)) in fields.iter().zip(CLIENT_METRICS) {
            assert_eq!(field, &named);
            assert!(metric.starts_with("mcring_client_") && metric.ends_with("_total"));
        }
    }

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
        let text = stats.prometheus();
        assert!(text.contains("mcring_client_gets_total{server=\"a:1\"} 1\n"), "{text}");
        assert!(text.contains("mcring_client_read_bytes_total{server=\"a:1\"} 10\n"), "{text}");
        assert_eq!(text.matches("# TYPE ").count(), COUNTER_COUNT);
    }
}
