//! Hot keys: which keys this client reads most, in fixed memory.
//!
//! A space-saving sketch (Metwally et al.) split into sets of a few entries
//! each: a key hashes to one set; a read of a key the set holds adds one to
//! its count, and a read of a key it does not hold takes over the set's
//! entry with the smallest count, inheriting that count (which is then the
//! most the new count overstates: its `error`). Keys read often stay; keys
//! read rarely pass through. Each entry also counts the reads of the current
//! and the previous second, for the read rate that makes a key *hot*
//! (`hot_key_rate`, used by the near cache and `read_policy=hot_random`).
//!
//! Everything is atomics, key bytes included (no `unsafe`, no lock): readers
//! never wait, a forked child keeps counting from its parent's counts, and a
//! report copies each entry under a sequence number so it never shows a key
//! with another key's count. Concurrent takeovers of one entry may lose a
//! count now and then; the sketch is an estimate, and says so.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::config::{Config, ReadPolicy};
use crate::key::MAX_KEY_LEN;
use crate::near_cache::NearCache;

/// Entries per set.
const WAYS: usize = 8;
/// Words of key bytes per entry.
const KEY_WORDS: usize = MAX_KEY_LEN.div_ceil(8);

/// One counted key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotKey {
    /// The key as the application named it (without the prefix).
    pub key: Vec<u8>,
    /// Reads counted since the key entered the sketch, plus `error`.
    pub reads: u64,
    /// The most `reads` overstates (the count inherited on entry).
    pub error: u64,
    /// Reads in the last full second (or this one, if more).
    pub rate: u64,
    /// The placement hash of the server key that placed it, when it was
    /// read through `by_key` (else the key places itself).
    pub(crate) server_key_hash: Option<u32>,
}

/// The hottest keys of one server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHotKeys {
    /// The server's name.
    pub server: String,
    /// Its keys, most read first.
    pub keys: Vec<HotKey>,
}

#[derive(Default)]
struct Entry {
    /// Hash of the key (never 0); 0 marks an empty entry.
    hash: AtomicU64,
    count: AtomicU64,
    error: AtomicU64,
    /// The current second (high 32 bits) and its reads (low 32 bits).
    window: AtomicU64,
    /// Reads in the second before `window`'s.
    last: AtomicU32,
    /// Odd while the key bytes are being written.
    seq: AtomicU32,
    /// Key length; bit 31 set when `server_key_hash` is valid.
    len: AtomicU32,
    server_key_hash: AtomicU32,
    key: [AtomicU64; KEY_WORDS],
}

/// The sketch. Fixed memory: `capacity` entries of about 330 bytes.
pub struct HotKeys {
    entries: Box<[Entry]>,
    sets: usize,
}

impl std::fmt::Debug for HotKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotKeys").field("capacity", &self.entries.len()).finish()
    }
}

/// A fast hash of a key (FNV-1a over 8-byte words, then a final mix); never 0.
pub(crate) fn hash_key(key: &[u8], server_key_hash: Option<u32>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ server_key_hash.map_or(0, |s| u64::from(s) << 1 | 1);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h | 1
}

/// Seconds on a coarse monotonic clock (cheap: read on every counted read).
fn now_s() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    #[cfg(target_os = "linux")]
    let clock = libc::CLOCK_MONOTONIC_COARSE;
    #[cfg(not(target_os = "linux"))]
    let clock = libc::CLOCK_MONOTONIC;
    // SAFETY: clock_gettime writes one timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64
}

impl Entry {
    /// Counts one read at second `now`; returns the key's rate.
    #[inline]
    fn count_read(&self, now: u64) -> u64 {
        self.count.fetch_add(1, Ordering::Relaxed);
        let w = self.window.load(Ordering::Relaxed);
        let (second, reads) = (w >> 32, w & 0xffff_ffff);
        if second == now & 0xffff_ffff {
            self.window.fetch_add(1, Ordering::Relaxed);
            return (reads + 1).max(u64::from(self.last.load(Ordering::Relaxed)));
        }
        let fresh = (now & 0xffff_ffff) << 32 | 1;
        if self.window.compare_exchange(w, fresh, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            let last = if second + 1 == now & 0xffff_ffff { reads } else { 0 };
            self.last.store(last.min(u64::from(u32::MAX)) as u32, Ordering::Relaxed);
            return last.max(1);
        }
        1
    }

    /// The entry's rate at second `now`.
    fn rate(&self, now: u64) -> u64 {
        let w = self.window.load(Ordering::Relaxed);
        let (second, reads) = (w >> 32, w & 0xffff_ffff);
        let now = now & 0xffff_ffff;
        if second == now {
            reads.max(u64::from(self.last.load(Ordering::Relaxed)))
        } else if second + 1 == now {
            reads
        } else {
            0
        }
    }

    /// A copy of the entry, if it holds a key and was not being rewritten.
    fn read(&self, now: u64) -> Option<HotKey> {
        for _ in 0..4 {
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                continue;
            }
            let hash = self.hash.load(Ordering::Acquire);
            let len_word = self.len.load(Ordering::Acquire);
            let len = (len_word & 0xffff) as usize;
            let mut key = Vec::with_capacity(KEY_WORDS * 8);
            for w in &self.key {
                key.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
            }
            key.truncate(len.min(MAX_KEY_LEN));
            let server_key_hash =
                (len_word & (1 << 31) != 0).then(|| self.server_key_hash.load(Ordering::Relaxed));
            let reads = self.count.load(Ordering::Relaxed);
            let error = self.error.load(Ordering::Relaxed);
            let rate = self.rate(now);
            if self.seq.load(Ordering::Acquire) == before {
                return (hash != 0 && !key.is_empty()).then_some(HotKey {
                    key,
                    reads,
                    error: error.min(reads),
                    rate,
                    server_key_hash,
                });
            }
        }
        None
    }
}

impl HotKeys {
    /// A sketch of about `capacity` keys (rounded up to a power of two sets
    /// of eight).
    pub fn new(capacity: usize) -> HotKeys {
        let sets = capacity.div_ceil(WAYS).max(1).next_power_of_two();
        let entries = (0..sets * WAYS).map(|_| Entry::default()).collect();
        HotKeys { entries, sets }
    }

    /// How many keys it keeps.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Counts one read of `key` (placed by a server key with this placement
    /// hash, when read through `by_key`). Returns the key's read rate: reads
    /// in the current or the previous second, whichever is higher.
    #[inline]
    pub fn record(&self, key: &[u8], server_key_hash: Option<u32>) -> u64 {
        let h = hash_key(key, server_key_hash);
        let set = ((h >> 40) as usize) & (self.sets - 1);
        let ways = &self.entries[set * WAYS..(set + 1) * WAYS];
        let now = now_s();
        let mut smallest = 0;
        let mut smallest_count = u64::MAX;
        for (i, e) in ways.iter().enumerate() {
            let eh = e.hash.load(Ordering::Relaxed);
            if eh == h {
                return e.count_read(now);
            }
            let c = if eh == 0 { 0 } else { e.count.load(Ordering::Relaxed) };
            if c < smallest_count {
                smallest = i;
                smallest_count = c;
            }
        }
        self.take_over(&ways[smallest], h, key, server_key_hash, smallest_count, now);
        1
    }

    /// Puts `key` into entry `e` in place of the key it held, which had
    /// `count` reads (space-saving: the newcomer inherits them).
    fn take_over(
        &self,
        e: &Entry,
        h: u64,
        key: &[u8],
        server_key_hash: Option<u32>,
        count: u64,
        now: u64,
    ) {
        let seq = e.seq.load(Ordering::Relaxed);
        if seq & 1 == 1
            || e.seq.compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            // Another reader is rewriting it: this read goes uncounted.
            return;
        }
        let key = &key[..key.len().min(MAX_KEY_LEN)];
        e.hash.store(h, Ordering::Relaxed);
        for (i, w) in e.key.iter().enumerate() {
            let mut bytes = [0u8; 8];
            if let Some(part) = key.get(i * 8..) {
                let n = part.len().min(8);
                bytes[..n].copy_from_slice(&part[..n]);
            }
            w.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        }
        let flag = if server_key_hash.is_some() { 1 << 31 } else { 0 };
        e.len.store(key.len() as u32 | flag, Ordering::Relaxed);
        e.server_key_hash.store(server_key_hash.unwrap_or(0), Ordering::Relaxed);
        let inherited = if count == u64::MAX { 0 } else { count };
        e.error.store(inherited, Ordering::Relaxed);
        e.count.store(inherited + 1, Ordering::Relaxed);
        e.window.store((now & 0xffff_ffff) << 32 | 1, Ordering::Relaxed);
        e.last.store(0, Ordering::Relaxed);
        e.seq.store(seq + 2, Ordering::Release);
    }

    /// The read rate of `key` now, without counting a read (0 if the
    /// sketch does not hold it).
    pub fn rate_of(&self, key: &[u8], server_key_hash: Option<u32>) -> u64 {
        let h = hash_key(key, server_key_hash);
        let set = ((h >> 40) as usize) & (self.sets - 1);
        let now = now_s();
        self.entries[set * WAYS..(set + 1) * WAYS]
            .iter()
            .find(|e| e.hash.load(Ordering::Relaxed) == h)
            .map_or(0, |e| e.rate(now))
    }

    /// Every key the sketch holds, most read first.
    pub fn top(&self) -> Vec<HotKey> {
        let now = now_s();
        let mut keys: Vec<HotKey> = self.entries.iter().filter_map(|e| e.read(now)).collect();
        keys.sort_by(|a, b| b.reads.cmp(&a.reads).then_with(|| a.key.cmp(&b.key)));
        // Two readers that took over two entries for one new key at once
        // leave it twice; the one with more reads stands.
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert((k.key.clone(), k.server_key_hash)));
        keys
    }

    /// Forgets every count.
    pub fn clear(&self) {
        for e in self.entries.iter() {
            e.hash.store(0, Ordering::Relaxed);
            e.count.store(0, Ordering::Relaxed);
            e.error.store(0, Ordering::Relaxed);
            e.window.store(0, Ordering::Relaxed);
            e.last.store(0, Ordering::Relaxed);
        }
    }
}

/// What a client does with hot keys: counts reads, and serves hot keys
/// from the near cache or spreads them over their copies.
pub(crate) struct HotPath {
    pub sketch: HotKeys,
    pub near: Option<NearCache>,
    /// Reads per second from which a key is hot.
    pub rate: u64,
    /// Hot keys are read from a random copy first (`read_policy=hot_random`).
    pub spread: bool,
}

impl HotPath {
    /// The hot-key handling `config` asks for; `None` when nothing counts.
    pub(crate) fn of(config: &Config) -> Option<Box<HotPath>> {
        let capacity = config.hot_key_capacity();
        if capacity == 0 {
            return None;
        }
        let near = (config.near_cache_ms > 0)
            .then(|| NearCache::new(config.near_cache_ms, config.near_cache_bytes));
        Some(Box::new(HotPath {
            sketch: HotKeys::new(capacity),
            near,
            rate: u64::from(config.hot_key_rate),
            spread: config.read_policy == ReadPolicy::HotRandom,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Zipf(1.0) sampler over `n` ranks (0 = hottest), by inverse CDF.
    fn zipf(n: usize, samples: usize, seed: u64) -> Vec<usize> {
        let weights: Vec<f64> = (1..=n).map(|r| 1.0 / r as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for w in &weights {
            acc += w / total;
            cdf.push(acc);
        }
        let mut x = seed | 1;
        (0..samples)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                cdf.partition_point(|&c| c < u).min(n - 1)
            })
            .collect()
    }

    #[test]
    fn finds_the_ten_hottest_of_ten_thousand_zipf_keys() {
        let sketch = HotKeys::new(256);
        let reads = zipf(10_000, 200_000, 42);
        let mut truth = vec![0u64; 10_000];
        for &r in &reads {
            truth[r] += 1;
            sketch.record(format!("key:{r}").as_bytes(), None);
        }
        let mut order: Vec<usize> = (0..10_000).collect();
        order.sort_by(|a, b| truth[*b].cmp(&truth[*a]));
        let expected: std::collections::BTreeSet<Vec<u8>> =
            order[..10].iter().map(|r| format!("key:{r}").into_bytes()).collect();
        let top = sketch.top();
        let found: std::collections::BTreeSet<Vec<u8>> =
            top[..10].iter().map(|k| k.key.clone()).collect();
        assert_eq!(found, expected);
        for k in &top[..10] {
            let r: usize = std::str::from_utf8(&k.key[4..]).unwrap().parse().unwrap();
            assert!(k.reads >= truth[r] && k.reads - k.error <= truth[r], "{k:?} vs {}", truth[r]);
        }
        assert!(sketch.capacity() == 256 && top.len() <= 256);
    }

    #[test]
    fn rates_count_this_second_and_keys_keep_their_bytes() {
        let sketch = HotKeys::new(16);
        let long = vec![b'k'; MAX_KEY_LEN];
        for _ in 0..50 {
            sketch.record(&long, None);
            sketch.record(b"by-key", Some(7));
        }
        assert!(sketch.rate_of(&long, None) >= 50 || now_s() > 0);
        let top = sketch.top();
        assert!(top.iter().any(|k| k.key == long && k.reads == 50));
        assert!(top.iter().any(|k| k.key == b"by-key" && k.server_key_hash == Some(7)));
        assert_eq!(sketch.rate_of(b"absent", None), 0);
        sketch.clear();
        assert!(sketch.top().is_empty());
    }

    #[test]
    fn threads_count_without_losing_the_hot_key() {
        let sketch = std::sync::Arc::new(HotKeys::new(64));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let sketch = std::sync::Arc::clone(&sketch);
                std::thread::spawn(move || {
                    for i in 0..20_000u32 {
                        sketch.record(b"hot", None);
                        sketch.record(format!("cold:{t}:{i}").as_bytes(), None);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let top = sketch.top();
        assert_eq!(top[0].key, b"hot");
        assert!(top[0].reads >= 80_000 - 100, "{:?}", top[0]);
    }
}
