//! Client-side counters per server, readable from every binding.
//!
//! Counters are relaxed atomics: cheap on the hot path, safe to read from any
//! thread, and meaningful after `fork()` (the child starts from the parent's
//! values and counts its own requests on top). With a shared metrics area
//! (see [`crate::shared_metrics`]) every count is also added to the server's
//! slot there, where the counts of every process of the pool add up.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;
use crate::histogram::{CommandClass, LatencySnapshot};
use crate::metrics::Exposition;

/// The counters of one server in the shared metrics area, indexed by
/// [`Counter`].
pub type SharedCounters = [AtomicU64; COUNTER_COUNT];

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
            /// The server's counters in the shared metrics area, if any.
            shared: Option<&'static SharedCounters>,
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
            /// Adds `n` to a counter (and to its shared copy).
            #[inline]
            pub fn add(&self, counter: Counter, n: u64) {
                let c = match counter {
                    $(Counter::$variant => &self.$field,)*
                };
                c.fetch_add(n, Ordering::Relaxed);
                if let Some(shared) = self.shared {
                    shared[counter as usize].fetch_add(n, Ordering::Relaxed);
                }
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

            /// A snapshot from values in [`Counter`] order (the shared
            /// metrics area's layout).
            pub fn from_values(v: &[u64; COUNTER_COUNT]) -> Snapshot {
                Snapshot { $($field: v[Counter::$variant as usize],)* }
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
    /// Requests this server served in place of a down one: reads and
    /// writes of keys whose home copies could not be used (the down
    /// server's side of it: `errors`, `stored_elsewhere`).
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
    /// Leases won: a caller was told to compute a missing, stale or
    /// expiring value (counted on the lease's server).
    lease_wins => LeaseWins as "mcring_client_lease_wins_total",
    /// Callers that waited for another caller's lease (once per call, not
    /// per poll).
    lease_waits => LeaseWaits as "mcring_client_lease_waits_total",
    /// Stale values served while another caller recomputes them.
    stale_hits => StaleHits as "mcring_client_stale_hits_total",
    /// Computed values stored under their lease.
    lease_fills => LeaseFills as "mcring_client_lease_fills_total",
    /// Computed values not stored: a newer write, a delete or the lease's
    /// expiry came first.
    lease_fills_lost => LeaseFillsLost as "mcring_client_lease_fills_lost_total",
    /// Leases given back after their compute failed.
    lease_releases => LeaseReleases as "mcring_client_lease_releases_total",
    /// Reads of hot keys served from the near cache, without a request
    /// (counted on the server the value came from).
    near_cache_hits => NearCacheHits as "mcring_client_near_cache_hits_total",
    /// TLS connections opened with a full handshake.
    tls_handshakes => TlsHandshakes as "mcring_client_tls_handshakes_total",
    /// TLS connections opened by resuming an earlier session (no full
    /// handshake).
    tls_resumptions => TlsResumptions as "mcring_client_tls_resumptions_total",
    /// Store commands the server applied (`STORED`).
    stored => Stored as "mcring_client_stored_total",
    /// Store commands whose condition failed: `NOT_STORED` (add of an
    /// existing key, replace, append or prepend of a missing one) and
    /// `EXISTS` (cas of an item changed since it was read).
    not_stored => NotStored as "mcring_client_not_stored_total",
    /// Errors that were a connection failing to open or breaking (refused,
    /// reset, closed by the server).
    connection_errors => ConnectionErrors as "mcring_client_connection_errors_total",
    /// Errors that were bytes which are not a memcached reply (the
    /// connection is closed).
    protocol_errors => ProtocolErrors as "mcring_client_protocol_errors_total",
    /// Errors that were error replies (`SERVER_ERROR`, `CLIENT_ERROR`,
    /// `ERROR`); the connection stays usable.
    server_errors => ServerErrors as "mcring_client_server_errors_total",
    /// Errors that were values over this client's `max_value_bytes`,
    /// skipped unread.
    too_large => TooLarge as "mcring_client_too_large_total",
    /// Keys copied to this server from their owner on the previous ring
    /// after a change of the server list (migration).
    migrated_keys => MigratedKeys as "mcring_client_migrated_keys_total",
    /// Misses of this server found in the warm pool (`warmup=`) and copied
    /// here.
    warmup_hits => WarmupHits as "mcring_client_warmup_hits_total",
}

impl Counters {
    /// Counters of the server named `name`, also added to its slot in the
    /// shared metrics area when this process has one.
    pub fn for_server(name: &str) -> Counters {
        Counters {
            shared: crate::shared_metrics::slot(name).map(|s| &s.counters),
            ..Counters::default()
        }
    }

    /// Adds one to a counter.
    #[inline]
    pub fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Counts a failed request: `errors`, and the counter of its kind
    /// (`timeouts`, `connection_errors`, `protocol_errors`,
    /// `server_errors`, `too_large`).
    pub fn count_error(&self, e: &Error) {
        self.incr(Counter::Errors);
        let kind = match e {
            Error::Timeout { .. } => Counter::Timeouts,
            Error::Connection { .. } => Counter::ConnectionErrors,
            Error::Protocol { .. } => Counter::ProtocolErrors,
            Error::Server { .. } => Counter::ServerErrors,
            Error::TooLarge { .. } => Counter::TooLarge,
            _ => return,
        };
        self.incr(kind);
    }
}

/// Counters and latency histograms of every server of a client (or of a
/// shared metrics area), plus the counters' sum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// (server name, counters), in configuration order.
    pub servers: Vec<(String, Snapshot)>,
    /// The sum over all servers.
    pub total: Snapshot,
    /// The keys this client reads most, per configured server (empty when
    /// hot-key counting is off); see `Client::hot_keys`.
    pub hot_keys: Vec<crate::hot_keys::ServerHotKeys>,
    /// Each server's latency histograms, in the order of `servers`.
    pub latencies: Vec<LatencySnapshot>,
}

/// Hot keys per server in the Prometheus exposition: the top ones only,
/// to keep the series few.
pub const HOT_KEYS_EXPORTED: usize = 10;

impl ClientStats {
    /// Adds one server's counters and latencies.
    pub fn push(&mut self, name: String, counters: Snapshot, latencies: LatencySnapshot) {
        self.total = self.total.plus(&counters);
        self.servers.push((name, counters));
        self.latencies.push(latencies);
    }

    /// The latency histograms of server `index`, one per command class
    /// (empty ones when there are none).
    pub fn latencies_of(&self, index: usize) -> LatencySnapshot {
        self.latencies.get(index).copied().unwrap_or_default()
    }

    /// Adds the counters to an exposition, one family per counter with a
    /// `server` label, then the latency histograms
    /// ([`crate::histogram::REQUEST_DURATION`], labels `server` and
    /// `command`; classes no request of used yet are left out).
    pub fn add_to(&self, e: &mut Exposition) {
        for (i, (_, metric, help)) in CLIENT_METRICS.iter().enumerate() {
            for (server, snap) in &self.servers {
                e.counter(metric, help.trim(), &[("server", server)], snap.fields()[i].1);
            }
        }
        for group in &self.hot_keys {
            for k in group.keys.iter().take(HOT_KEYS_EXPORTED) {
                let key = String::from_utf8_lossy(&k.key);
                let labels = [("server", group.server.as_str()), ("key", &*key)];
                e.gauge(
                    "mcring_client_hot_key_reads",
                    "Reads of one of the keys this client reads most (an estimate: at most error more than true).",
                    &labels,
                    k.reads,
                );
                e.gauge(
                    "mcring_client_hot_key_reads_per_second",
                    "Reads per second of one of the keys this client reads most (the last full second).",
                    &labels,
                    k.rate,
                );
            }
        }
        for (i, (server, _)) in self.servers.iter().enumerate() {
            let latencies = self.latencies_of(i);
            for class in CommandClass::ALL {
                let h = &latencies[class as usize];
                if h.count() > 0 {
                    crate::histogram::add_request_duration(e, server, class, h);
                }
            }
        }
    }

    /// The counters and latencies in Prometheus text exposition format:
    /// what every binding's metrics export is rendered from.
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
        let mut stats = ClientStats::default();
        stats.push("a:1".into(), s, LatencySnapshot::default());
        assert_eq!(stats.total, s);
        let text = stats.prometheus();
        assert!(text.contains("mcring_client_gets_total{server=\"a:1\"} 1\n"), "{text}");
        assert!(text.contains("mcring_client_read_bytes_total{server=\"a:1\"} 10\n"), "{text}");
        assert_eq!(text.matches("# TYPE ").count(), COUNTER_COUNT, "no latency family while empty");

        let mut latencies = LatencySnapshot::default();
        latencies[CommandClass::Store as usize].counts[2] = 3;
        stats.latencies[0] = latencies;
        let text = stats.prometheus();
        assert_eq!(text.matches("# TYPE ").count(), COUNTER_COUNT + 1);
        assert!(text.contains(
            "mcring_client_request_duration_seconds_count{server=\"a:1\",command=\"store\"} 3\n"
        ), "{text}");
        assert!(!text.contains("command=\"get\""), "{text}");
    }

    #[test]
    fn errors_are_counted_by_kind() {
        let c = Counters::default();
        let server = "a:1".to_string();
        c.count_error(&Error::Timeout { server: server.clone(), during: "read" });
        c.count_error(&Error::Connection { server: server.clone(), message: "reset".into() });
        c.count_error(&Error::Protocol { server: server.clone(), message: "junk".into() });
        c.count_error(&Error::Server { server: server.clone(), message: "out of memory".into() });
        c.count_error(&Error::TooLarge { server, message: "big".into() });
        c.count_error(&Error::Interrupted);
        let s = c.snapshot();
        assert_eq!(s.errors, 6);
        assert_eq!(
            (s.timeouts, s.connection_errors, s.protocol_errors, s.server_errors, s.too_large),
            (1, 1, 1, 1, 1)
        );
    }
}
