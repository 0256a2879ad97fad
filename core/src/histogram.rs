//! Fixed-bucket latency histograms: cheap enough for every request.
//!
//! Buckets are log-spaced, 1-2-5 per decade from 10 µs to 10 s (19 upper
//! bounds, then +Inf), the same for every server and command so histograms
//! of different processes and servers add up. Recording is one bucket
//! search over a constant table and two relaxed atomic adds: no lock, no
//! allocation. Like the counters in [`crate::stats`], values survive
//! `fork()` (the child starts from the parent's counts), and with a shared
//! metrics area (see [`crate::shared_metrics`]) every observation is also
//! added to the server's slot there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the finite buckets, in nanoseconds.
pub const BOUNDS_NS: [u64; 19] = [
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    100_000_000,
    200_000_000,
    500_000_000,
    1_000_000_000,
    2_000_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Number of buckets: the finite ones and +Inf.
pub const BUCKETS: usize = BOUNDS_NS.len() + 1;

pub use crate::clock::now_ns;

/// The bucket a duration falls in: the first whose bound is >= it.
///
/// Bounds are at least twice apart, so the range [2^k, 2^(k+1)) holds at
/// most one of them: the bucket is `FIRST_AT_LOG2[k]` (the first bucket
/// whose bound is >= 2^k), or the next one when `ns` is past that bound.
/// One table read and one comparison, where a search over the bounds
/// costs several (this runs on every request).
#[inline]
pub fn bucket_of(ns: u64) -> usize {
    let log2 = 63 - (ns | 1).leading_zeros() as usize;
    let first = FIRST_AT_LOG2[log2] as usize;
    first + usize::from(ns > BOUND_OR_MAX[first])
}

/// `BOUNDS_NS` with `u64::MAX` for the +Inf bucket.
const BOUND_OR_MAX: [u64; BUCKETS] = {
    let mut t = [u64::MAX; BUCKETS];
    let mut i = 0;
    while i < BOUNDS_NS.len() {
        t[i] = BOUNDS_NS[i];
        i += 1;
    }
    t
};

/// For each k, the first bucket whose bound is >= 2^k.
const FIRST_AT_LOG2: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        let mut b = 0;
        while b < BOUNDS_NS.len() && BOUNDS_NS[b] < 1u64 << k {
            b += 1;
        }
        t[k] = b as u8;
        k += 1;
    }
    t
};

/// A live histogram, shared by threads (and, in the shared metrics area, by
/// processes: hence the fixed layout).
#[derive(Debug)]
#[repr(C)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS],
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub const fn new() -> Histogram {
        #[allow(clippy::declare_interior_mutable_const)]
        const ZERO: AtomicU64 = AtomicU64::new(0);
        Histogram { counts: [ZERO; BUCKETS], sum_ns: AtomicU64::new(0) }
    }

    /// Counts one observation.
    #[inline]
    pub fn record(&self, d: Duration) {
        self.record_ns(d.as_nanos().min(u64::MAX as u128) as u64);
    }

    /// Counts one observation given in nanoseconds.
    #[inline]
    pub fn record_ns(&self, ns: u64) {
        self.counts[bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// A copy of the counts (each bucket read once; concurrent records may
    /// land in some buckets and not yet in others, as in any Prometheus
    /// client).
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = [0u64; BUCKETS];
        for (c, a) in counts.iter_mut().zip(&self.counts) {
            *c = a.load(Ordering::Relaxed);
        }
        HistogramSnapshot { counts, sum_ns: self.sum_ns.load(Ordering::Relaxed) }
    }
}

/// Histogram counts at one moment: per bucket (not cumulative) and the sum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Observations per bucket; the last is +Inf.
    pub counts: [u64; BUCKETS],
    /// Sum of all observations, in nanoseconds.
    pub sum_ns: u64,
}

impl HistogramSnapshot {
    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Sum of all observations, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_ns as f64 / 1e9
    }

    /// (Prometheus `le` label, observations in that bucket), +Inf last.
    pub fn buckets(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        BOUNDS_NS
            .iter()
            .map(|&b| crate::metrics::le_label(b as f64 / 1e9))
            .chain(std::iter::once(crate::metrics::le_label(f64::INFINITY)))
            .zip(self.counts.iter().copied())
    }

    /// The field-wise sum (histograms of several processes or servers).
    pub fn plus(&self, o: &HistogramSnapshot) -> HistogramSnapshot {
        let mut counts = self.counts;
        for (c, x) in counts.iter_mut().zip(o.counts) {
            *c += x;
        }
        HistogramSnapshot { counts, sum_ns: self.sum_ns + o.sum_ns }
    }

    /// The upper bound (seconds) of the bucket holding quantile `q` (0..=1),
    /// as Prometheus' `histogram_quantile` would bound it; `None` when
    /// empty, +Inf when it lies past the last finite bound.
    pub fn quantile_upper_bound(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(BOUNDS_NS.get(i).map_or(f64::INFINITY, |&b| b as f64 / 1e9));
            }
        }
        Some(f64::INFINITY)
    }
}

/// The command classes latencies are kept for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandClass {
    /// One-key retrievals (get, gets, gat, gats).
    Get,
    /// Multi-key retrievals (one observation per server batch; read
    /// repair's `mg` in a multi-key read counts here too).
    MultiGet,
    /// Storage commands (set, add, replace, append, prepend, cas).
    Store,
    /// Deletes.
    Delete,
    /// incr and decr.
    Arith,
    /// touch.
    Touch,
    /// Other meta commands: reads with CAS and TTL for read-modify-write
    /// (`append_value`), incr/decr with an initial value.
    Meta,
}

impl CommandClass {
    /// Every class, in label order.
    pub const ALL: [CommandClass; 7] = [
        CommandClass::Get,
        CommandClass::MultiGet,
        CommandClass::Store,
        CommandClass::Delete,
        CommandClass::Arith,
        CommandClass::Touch,
        CommandClass::Meta,
    ];

    /// The `command` label value.
    pub fn label(self) -> &'static str {
        match self {
            CommandClass::Get => "get",
            CommandClass::MultiGet => "get_multi",
            CommandClass::Store => "store",
            CommandClass::Delete => "delete",
            CommandClass::Arith => "arith",
            CommandClass::Touch => "touch",
            CommandClass::Meta => "meta",
        }
    }
}

/// The family of client request latencies: per `server` and `command`
/// (a [`CommandClass`] label), in seconds. Dashboards and alerts query it
/// (`histogram_quantile(0.99, ...)`).
pub const REQUEST_DURATION: &str = "mcring_client_request_duration_seconds";

const REQUEST_DURATION_HELP: &str = "Time one request took on one server as the client saw it, \
     from taking a connection to its last reply byte (connecting included); a multi-key request \
     counts once per server.";

/// Adds one server's histogram of one class to an exposition as
/// [`REQUEST_DURATION`], labels `server` and `command`.
pub fn add_request_duration(
    e: &mut crate::metrics::Exposition,
    server: &str,
    class: CommandClass,
    h: &HistogramSnapshot,
) {
    e.histogram(
        REQUEST_DURATION,
        REQUEST_DURATION_HELP,
        &[("server", server), ("command", class.label())],
        h,
    );
}

/// The histograms of one server, indexed by `CommandClass as usize`.
pub type LatencySnapshot = [HistogramSnapshot; CommandClass::ALL.len()];

/// One server's histograms in the shared metrics area.
pub type SharedLatencies = [Histogram; CommandClass::ALL.len()];

/// One server's latency histograms, one per command class.
#[derive(Debug, Default)]
pub struct Latencies {
    by_class: [Histogram; CommandClass::ALL.len()],
    /// The server's histograms in the shared metrics area, if any.
    shared: Option<&'static SharedLatencies>,
}

impl Latencies {
    /// Histograms of the server named `name`, also added to its slot in the
    /// shared metrics area when this process has one.
    pub fn for_server(name: &str) -> Latencies {
        Latencies {
            shared: crate::shared_metrics::slot(name).map(|s| &s.latencies),
            ..Latencies::default()
        }
    }

    /// The histogram of one class.
    #[inline]
    pub fn of(&self, class: CommandClass) -> &Histogram {
        &self.by_class[class as usize]
    }

    /// Counts one request of `class` that took `d`.
    #[inline]
    pub fn record(&self, class: CommandClass, d: Duration) {
        self.record_ns(class, d.as_nanos().min(u64::MAX as u128) as u64);
    }

    /// Counts one request of `class` that took `ns` nanoseconds.
    #[inline]
    pub fn record_ns(&self, class: CommandClass, ns: u64) {
        self.by_class[class as usize].record_ns(ns);
        if let Some(shared) = self.shared {
            shared[class as usize].record_ns(ns);
        }
    }

    /// Counts one request of `class` that started at `started_ns` (a
    /// [`now_ns`] reading) and ends now.
    #[inline]
    pub fn record_since(&self, class: CommandClass, started_ns: u64) {
        self.record_ns(class, now_ns().saturating_sub(started_ns));
    }

    /// Adds every class's histogram to an exposition as [`REQUEST_DURATION`]
    /// with labels `server` and `command`.
    pub fn add_to(&self, e: &mut crate::metrics::Exposition, server: &str) {
        for (class, snap) in CommandClass::ALL.iter().zip(self.snapshot()) {
            add_request_duration(e, server, *class, &snap);
        }
    }

    /// Snapshots of every class, indexed by `CommandClass as usize`.
    pub fn snapshot(&self) -> LatencySnapshot {
        CommandClass::ALL.map(|c| self.of(c).snapshot())
    }
}

/// Snapshots of shared histograms.
pub fn snapshot_shared(h: &SharedLatencies) -> LatencySnapshot {
    CommandClass::ALL.map(|c| h[c as usize].snapshot())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_1_2_5_from_10us_to_10s() {
        assert_eq!(BOUNDS_NS[0], 10_000);
        assert_eq!(*BOUNDS_NS.last().unwrap(), 10_000_000_000);
        for w in BOUNDS_NS.windows(2) {
            let ratio = w[1] as f64 / w[0] as f64;
            assert!(ratio == 2.0 || ratio == 2.5, "{w:?}");
        }
        let labels: Vec<String> = HistogramSnapshot::default().buckets().map(|b| b.0).collect();
        assert_eq!(labels[0], "0.00001");
        assert_eq!(labels[6], "0.001");
        assert_eq!(labels[18], "10");
        assert_eq!(labels[19], "+Inf");
    }

    #[test]
    fn bucket_edges_are_inclusive_upper_bounds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(10_000), 0);
        assert_eq!(bucket_of(10_001), 1);
        assert_eq!(bucket_of(10_000_000_000), 18);
        assert_eq!(bucket_of(10_000_000_001), 19);
        assert_eq!(bucket_of(u64::MAX), 19);
        // The table lookup agrees with a search over the bounds everywhere
        // near a bound or a power of two, and at random points.
        let search = |ns: u64| BOUNDS_NS.partition_point(|&b| b < ns);
        let mut points: Vec<u64> = (0..64).map(|k| 1u64 << k).collect();
        points.extend(BOUNDS_NS);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            points.push(x >> (x % 64));
        }
        for p in points {
            for ns in [p.saturating_sub(1), p, p.saturating_add(1)] {
                assert_eq!(bucket_of(ns), search(ns), "{ns} ns");
            }
        }
    }

    #[test]
    fn records_counts_sums_and_quantiles() {
        let h = Histogram::new();
        assert_eq!(h.snapshot().quantile_upper_bound(0.99), None);
        for _ in 0..99 {
            h.record(Duration::from_micros(150));
        }
        h.record(Duration::from_millis(30));
        let s = h.snapshot();
        assert_eq!(s.count(), 100);
        assert_eq!(s.counts[bucket_of(150_000)], 99);
        assert_eq!(s.sum_ns, 99 * 150_000 + 30_000_000);
        assert_eq!(s.quantile_upper_bound(0.5), Some(0.0002));
        assert_eq!(s.quantile_upper_bound(0.99), Some(0.0002));
        assert_eq!(s.quantile_upper_bound(1.0), Some(0.05));
        assert_eq!(s.plus(&s).count(), 200);
    }

    #[test]
    fn threads_lose_no_observation() {
        let h = std::sync::Arc::new(Histogram::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        h.record_ns(i * 1000 + t);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(h.snapshot().count(), 40_000);
    }

    #[test]
    fn latencies_keep_classes_apart() {
        let l = Latencies::default();
        l.record(CommandClass::Store, Duration::from_micros(40));
        let snaps = l.snapshot();
        assert_eq!(CommandClass::ALL[2], CommandClass::Store);
        assert_eq!(snaps[CommandClass::Store as usize].count(), 1);
        assert_eq!(snaps.iter().map(|s| s.count()).sum::<u64>(), 1);
        let mut e = crate::metrics::Exposition::new();
        l.add_to(&mut e, "a:1");
        let text = e.render();
        assert!(text.contains(
            "mcring_client_request_duration_seconds_bucket{server=\"a:1\",command=\"store\",le=\"0.00005\"} 1\n"
        ), "{text}");
        assert_eq!(text.matches("_count{").count(), 7);
    }
}
