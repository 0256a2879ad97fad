//! Client-side counters per server, readable from every binding.
//!
//! Counters are relaxed atomics: cheap on the hot path, safe to read from any
//! thread, and meaningful after `fork()` (the child starts from the parent's
//! values and counts its own requests on top).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::metrics::Exposition;

/// Live counters of one server.
#[derive(Debug, Default)]
pub struct Counters {
    gets: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    sets: AtomicU64,
    deletes: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    connects: AtomicU64,
    replica_write_failures: AtomicU64,
    failovers: AtomicU64,
    read_repairs: AtomicU64,
}

/// Names one counter, for [`Counters::add`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Keys asked for (a `get_multi` of 10 keys counts 10).
    Gets,
    /// Keys found.
    Hits,
    /// Keys not found.
    Misses,
    /// Store commands (set, add, replace, append, prepend, cas, incr, decr, touch).
    Sets,
    /// Deletes.
    Deletes,
    /// Requests that failed with an error (including timeouts).
    Errors,
    /// Requests that timed out.
    Timeouts,
    /// Bytes received.
    BytesRead,
    /// Bytes sent.
    BytesWritten,
    /// Connections opened.
    Connects,
    /// Copies of a write that failed while the write as a whole succeeded.
    ReplicaWriteFailures,
    /// Requests served by another server because this one was down.
    Failovers,
    /// Values written back to this server after it missed them.
    ReadRepairs,
}

impl Counters {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(&self, counter: Counter, n: u64) {
        let c = match counter {
            Counter::Gets => &self.gets,
            Counter::Hits => &self.hits,
            Counter::Misses => &self.misses,
            Counter::Sets => &self.sets,
            Counter::Deletes => &self.deletes,
            Counter::Errors => &self.errors,
            Counter::Timeouts => &self.timeouts,
            Counter::BytesRead => &self.bytes_read,
            Counter::BytesWritten => &self.bytes_written,
            Counter::Connects => &self.connects,
            Counter::ReplicaWriteFailures => &self.replica_write_failures,
            Counter::Failovers => &self.failovers,
            Counter::ReadRepairs => &self.read_repairs,
        };
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one to a counter.
    #[inline]
    pub fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// A consistent-enough copy of the counters.
    pub fn snapshot(&self) -> Snapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            gets: l(&self.gets),
            hits: l(&self.hits),
            misses: l(&self.misses),
            sets: l(&self.sets),
            deletes: l(&self.deletes),
            errors: l(&self.errors),
            timeouts: l(&self.timeouts),
            bytes_read: l(&self.bytes_read),
            bytes_written: l(&self.bytes_written),
            connects: l(&self.connects),
            replica_write_failures: l(&self.replica_write_failures),
            failovers: l(&self.failovers),
            read_repairs: l(&self.read_repairs),
        }
    }
}

/// Counter values at one moment; see [`Counter`] for their meaning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Snapshot {
    pub gets: u64,
    pub hits: u64,
    pub misses: u64,
    pub sets: u64,
    pub deletes: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub connects: u64,
    pub replica_write_failures: u64,
    pub failovers: u64,
    pub read_repairs: u64,
}

impl Snapshot {
    /// Every counter as (name, value), in a fixed order: the names bindings
    /// export (Python dict keys, PHP array keys, C fields, Prometheus).
    pub fn fields(&self) -> [(&'static str, u64); 13] {
        [
            ("gets", self.gets),
            ("hits", self.hits),
            ("misses", self.misses),
            ("sets", self.sets),
            ("deletes", self.deletes),
            ("errors", self.errors),
            ("timeouts", self.timeouts),
            ("bytes_read", self.bytes_read),
            ("bytes_written", self.bytes_written),
            ("connects", self.connects),
            ("replica_write_failures", self.replica_write_failures),
            ("failovers", self.failovers),
            ("read_repairs", self.read_repairs),
        ]
    }

    /// The field-wise sum of two snapshots.
    pub fn plus(&self, o: &Snapshot) -> Snapshot {
        Snapshot {
            gets: self.gets + o.gets,
            hits: self.hits + o.hits,
            misses: self.misses + o.misses,
            sets: self.sets + o.sets,
            deletes: self.deletes + o.deletes,
            errors: self.errors + o.errors,
            timeouts: self.timeouts + o.timeouts,
            bytes_read: self.bytes_read + o.bytes_read,
            bytes_written: self.bytes_written + o.bytes_written,
            connects: self.connects + o.connects,
            replica_write_failures: self.replica_write_failures + o.replica_write_failures,
            failovers: self.failovers + o.failovers,
            read_repairs: self.read_repairs + o.read_repairs,
        }
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

/// The Prometheus family of each counter: (field, metric name, help).
/// The names are shared by every exporter of client metrics (bindings, the
/// `mcring exporter` command), so dashboards see one set of series.
pub const CLIENT_METRICS: [(&str, &str, &str); 13] = [
    ("gets", "mcring_client_gets_total", "Keys the client asked the server for."),
    ("hits", "mcring_client_hits_total", "Keys found."),
    ("misses", "mcring_client_misses_total", "Keys not found."),
    ("sets", "mcring_client_sets_total", "Store commands sent."),
    ("deletes", "mcring_client_deletes_total", "Deletes sent."),
    (
        "errors",
        "mcring_client_errors_total",
        "Requests that failed with an error (timeouts included).",
    ),
    ("timeouts", "mcring_client_timeouts_total", "Requests that timed out."),
    ("bytes_read", "mcring_client_read_bytes_total", "Bytes received from the server."),
    ("bytes_written", "mcring_client_written_bytes_total", "Bytes sent to the server."),
    ("connects", "mcring_client_connections_total", "Connections opened to the server."),
    (
        "replica_write_failures",
        "mcring_client_replica_write_failures_total",
        "Copies of a successful write that failed on this server.",
    ),
    (
        "failovers",
        "mcring_client_failovers_total",
        "Requests served by another server because this one was down.",
    ),
    (
        "read_repairs",
        "mcring_client_read_repairs_total",
        "Values written back to this server after it missed them.",
    ),
];

impl ClientStats {
    /// Adds the counters to an exposition, one family per counter with a
    /// `server` label.
    pub fn add_to(&self, e: &mut Exposition) {
        for (i, (_, metric, help)) in CLIENT_METRICS.iter().enumerate() {
            for (server, snap) in &self.servers {
                e.counter(metric, help, &[("server", server)], snap.fields()[i].1);
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
        assert_eq!(text.matches("# TYPE ").count(), 13);
    }
}
