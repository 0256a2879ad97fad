//! Key distributions, bit-exact with libmemcached 1.1 (`hosts.cc`
//! `update_continuum`, `hash.cc` `dispatch_host`).
//!
//! * `ketama-weighted` = `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED` = php-memcached
//!   `OPT_LIBKETAMA_COMPATIBLE` = pylibmc `ketama_weighted`: key hash MD5;
//!   each server gets `floor(w/Σw · 160/4 · n) · 4` points (f32 arithmetic,
//!   as in C); every MD5 digest of `"host-i"` (`"host:port-i"` when the port
//!   is not 11211) yields four points.
//! * `ketama` = `MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA` as pylibmc's
//!   `ketama` and php-memcached's consistent mode set it up (distribution
//!   first, then servers): 100 points per server, each the *key* hash
//!   (one-at-a-time by default) of `"host-i"`. As in libmemcached, adding a
//!   server with weight > 1 switches the continuum to the weighted layout.
//! * `modula`: `hash(key) % n` over all servers.
//!
//! The continuum is sorted by point value, ties by server index; a key goes to
//! the first point >= its hash, wrapping to the first point. With one server
//! no hash is computed at all.

use std::fmt;
use std::str::FromStr;

use crate::config::{ServerSpec, DEFAULT_PORT};
use crate::hash::{md5_digest, HashKind};

/// How keys are spread over servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// libketama-compatible weighted consistent hashing (the default).
    KetamaWeighted,
    /// Unweighted consistent hashing, 100 points per server.
    Ketama,
    /// `hash % server_count`.
    Modula,
}

impl Distribution {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Distribution::KetamaWeighted => "ketama-weighted",
            Distribution::Ketama => "ketama",
            Distribution::Modula => "modula",
        }
    }

    /// libmemcached's key hash for this distribution when none is given:
    /// `KETAMA_WEIGHTED` sets MD5; the others keep one-at-a-time.
    pub fn default_hash(self) -> HashKind {
        match self {
            Distribution::KetamaWeighted => HashKind::Md5,
            Distribution::Ketama | Distribution::Modula => HashKind::OneAtATime,
        }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Distribution {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "ketama-weighted" => Ok(Distribution::KetamaWeighted),
            "ketama" => Ok(Distribution::Ketama),
            "modula" => Ok(Distribution::Modula),
            _ => Err(format!("unknown distribution {s:?}")),
        }
    }
}

/// libmemcached's base points per server (`MEMCACHED_POINTS_PER_SERVER_KETAMA`).
const POINTS_PER_SERVER_WEIGHTED: u32 = 160;
/// libmemcached's points per server when unweighted (`MEMCACHED_POINTS_PER_SERVER`).
const POINTS_PER_SERVER: u32 = 100;

/// A built key distribution over a fixed server list.
///
/// Server indices refer to the list the ring was built from; servers left
/// out (ejected) keep their index and simply own no points.
#[derive(Clone, Debug)]
pub struct Ring {
    distribution: Distribution,
    hash: HashKind,
    /// Servers in the list, including ones left out.
    server_count: usize,
    /// Sorted point values of the continuum (empty for modula).
    values: Vec<u32>,
    /// Owner of each point, parallel to `values`.
    owners: Vec<u32>,
    /// For modula: the servers taking part, in list order.
    live: Vec<u32>,
}

impl Ring {
    /// Builds the ring over every server.
    pub fn new(servers: &[ServerSpec], distribution: Distribution, hash: HashKind) -> Ring {
        let all = vec![true; servers.len()];
        Ring::with_live(servers, distribution, hash, &all)
    }

    /// Builds the ring over the servers whose `live` flag is set, as
    /// libmemcached's `update_continuum` does with auto-eject: weights and
    /// point counts are computed over live servers only.
    ///
    /// For modula, left-out servers are skipped (the modulus is the live count).
    pub fn with_live(
        servers: &[ServerSpec],
        distribution: Distribution,
        hash: HashKind,
        live: &[bool],
    ) -> Ring {
        let mut ring = Ring {
            distribution,
            hash,
            server_count: servers.len(),
            values: Vec::new(),
            owners: Vec::new(),
            live: Vec::new(),
        };
        let is_live = |i: usize| live.get(i).copied().unwrap_or(true);
        ring.live = (0..servers.len()).filter(|&i| is_live(i)).map(|i| i as u32).collect();
        if distribution == Distribution::Modula {
            return ring;
        }
        let weighted =
            distribution == Distribution::KetamaWeighted || servers.iter().any(|s| s.weight > 1);
        let live_count = ring.live.len();
        let total_weight: u64 = ring.live.iter().map(|&i| servers[i as usize].weight as u64).sum();

        let mut points: Vec<(u32, u32)> = Vec::new();
        let mut label = Vec::with_capacity(64);
        for &index in &ring.live {
            let server = &servers[index as usize];
            if weighted {
                // Reproduce the C expression in single precision:
                // floor((float)(pct * 160 / 4 * (float)live + 1e-10F)) * 4
                let pct = server.weight as f32 / total_weight as f32;
                let v = pct * POINTS_PER_SERVER_WEIGHTED as f32 / 4.0f32 * live_count as f32
                    + 0.000_000_000_1f32;
                let digests = (v as f64).floor() as u32;
                for i in 0..digests {
                    point_label(&mut label, server, i);
                    let d = md5_digest(&label);
                    for a in 0..4 {
                        let value = u32::from_le_bytes([
                            d[a * 4],
                            d[a * 4 + 1],
                            d[a * 4 + 2],
                            d[a * 4 + 3],
                        ]);
                        points.push((value, index));
                    }
                }
            } else {
                for i in 0..POINTS_PER_SERVER {
                    point_label(&mut label, server, i);
                    points.push((hash.hash(&label), index));
                }
            }
        }
        points.sort_unstable();
        ring.values = points.iter().map(|p| p.0).collect();
        ring.owners = points.iter().map(|p| p.1).collect();
        ring
    }

    /// The distribution this ring implements.
    pub fn distribution(&self) -> Distribution {
        self.distribution
    }

    /// The key hash.
    pub fn hash_kind(&self) -> HashKind {
        self.hash
    }

    /// Number of servers in the list the ring was built from.
    pub fn server_count(&self) -> usize {
        self.server_count
    }

    /// Number of servers that own keys.
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// The continuum as (point value, server index), sorted.
    pub fn points(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.values.iter().zip(self.owners.iter()).map(|(&v, &o)| (v, o as usize))
    }

    /// The share of the 32-bit hash space each server owns (indexed like the
    /// server list; 0 for servers left out), computed from the continuum:
    /// a point owns the hashes after the previous point up to itself, the
    /// first point also those past the last. With modula, each live server
    /// owns the hashes `h % live == its position`. With one server it owns
    /// everything (no hash is computed).
    pub fn owned_fractions(&self) -> Vec<f64> {
        const SPACE: f64 = 4_294_967_296.0;
        let mut owned = vec![0u64; self.server_count];
        if self.server_count == 1 && !self.live.is_empty() {
            owned[0] = 1 << 32;
        } else if self.distribution == Distribution::Modula {
            let n = self.live.len() as u64;
            for (k, &s) in self.live.iter().enumerate() {
                // Hashes h in [0, 2^32) with h % n == k.
                owned[s as usize] = ((1u64 << 32) - 1 - k as u64) / n + 1;
            }
        } else if let (Some(&first), Some(&last)) = (self.values.first(), self.values.last()) {
            owned[self.owners[0] as usize] += (1u64 << 32) - last as u64 + first as u64;
            for i in 1..self.values.len() {
                owned[self.owners[i] as usize] += (self.values[i] - self.values[i - 1]) as u64;
            }
        }
        owned.into_iter().map(|o| o as f64 / SPACE).collect()
    }

    /// The hash libmemcached computes for `key` (no hashing with one server).
    #[inline]
    pub fn key_hash(&self, key: &[u8]) -> u32 {
        if self.server_count == 1 {
            0
        } else {
            self.hash.hash(key)
        }
    }

    /// The index of the server that owns `key`, or `None` when no server is
    /// live.
    #[inline]
    pub fn server_for(&self, key: &[u8]) -> Option<usize> {
        self.server_for_hash(self.key_hash(key))
    }

    /// The index of the server owning hash value `h`.
    #[inline]
    pub fn server_for_hash(&self, h: u32) -> Option<usize> {
        match self.distribution {
            Distribution::Modula => {
                if self.live.is_empty() {
                    None
                } else {
                    Some(self.live[h as usize % self.live.len()] as usize)
                }
            }
            _ => {
                if self.values.is_empty() {
                    return None;
                }
                let i = self.point_index(h);
                Some(self.owners[i] as usize)
            }
        }
    }

    /// The index of the first continuum point >= `h`, wrapping to 0.
    #[inline]
    fn point_index(&self, h: u32) -> usize {
        let i = self.values.partition_point(|&v| v < h);
        if i == self.values.len() {
            0
        } else {
            i
        }
    }

    /// Distinct servers in ring order starting at `key`'s owner: the owner,
    /// then the next different server clockwise, and so on (for modula, the
    /// following live indices). Used for ring replicas and `failover=next`.
    pub fn successors(&self, key: &[u8]) -> Successors<'_> {
        self.successors_of_hash(self.key_hash(key))
    }

    /// [`Ring::successors`] starting from a hash value.
    pub fn successors_of_hash(&self, h: u32) -> Successors<'_> {
        let start = match self.distribution {
            Distribution::Modula if !self.live.is_empty() => h as usize % self.live.len(),
            Distribution::Modula => 0,
            _ if self.values.is_empty() => 0,
            _ => self.point_index(h),
        };
        Successors { ring: self, start, step: 0, seen: Vec::new() }
    }
}

/// Iterator over distinct servers in ring order; see [`Ring::successors`].
pub struct Successors<'a> {
    ring: &'a Ring,
    start: usize,
    step: usize,
    seen: Vec<usize>,
}

impl Iterator for Successors<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let ring = self.ring;
        if self.seen.len() >= ring.live.len() {
            return None;
        }
        match ring.distribution {
            Distribution::Modula => {
                let n = ring.live.len();
                let s = ring.live[(self.start + self.step) % n] as usize;
                self.step += 1;
                self.seen.push(s);
                Some(s)
            }
            _ => {
                let n = ring.values.len();
                while self.step < n {
                    let s = ring.owners[(self.start + self.step) % n] as usize;
                    self.step += 1;
                    if !self.seen.contains(&s) {
                        self.seen.push(s);
                        return Some(s);
                    }
                }
                None
            }
        }
    }
}

/// Writes the string libmemcached hashes for point `i` of `server`:
/// `host-i` on the default port, `host:port-i` otherwise. The host is the
/// name as added (an IPv6 address without brackets, a socket path with port 0).
fn point_label(buf: &mut Vec<u8>, server: &ServerSpec, i: u32) {
    use std::io::Write;
    buf.clear();
    buf.extend_from_slice(server.host.as_bytes());
    if server.port != DEFAULT_PORT {
        let _ = write!(buf, ":{}", server.port);
    }
    let _ = write!(buf, "-{i}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn ring(config: &str) -> (Config, Ring) {
        let c = Config::parse(config).unwrap();
        let r = Ring::new(&c.servers, c.distribution, c.key_hash());
        (c, r)
    }

    fn owner(c: &Config, r: &Ring, key: &str) -> String {
        c.servers[r.server_for(key.as_bytes()).unwrap()].name()
    }

    /// libmemcached's `test/fixtures/ketama.hpp` pool (weighted, MD5).
    const FIXTURE_POOL: &str = "10.0.1.1:11211:600 10.0.1.2:11211:300 10.0.1.3:11211:200 \
        10.0.1.4:11211:350 10.0.1.5:11211:1000 10.0.1.6:11211:800 10.0.1.7:11211:950 \
        10.0.1.8:11211:100";

    #[test]
    fn weighted_point_counts_match_libmemcached_fixture() {
        let (_, r) = ring(FIXTURE_POOL);
        let mut counts = [0usize; 8];
        for (_, s) in r.points() {
            counts[s] += 1;
        }
        assert_eq!(counts, [176, 88, 56, 104, 296, 236, 280, 28]);
        assert_eq!(r.points().count(), 1264);
    }

    #[test]
    fn weighted_wraps_around() {
        // md5("VDEAAAAA") = 0xfffcd1b5 lies past the last point: continuum[0].
        let (c, r) = ring(FIXTURE_POOL);
        assert_eq!(r.key_hash(b"VDEAAAAA"), 0xfffcd1b5);
        assert_eq!(owner(&c, &r, "VDEAAAAA"), "10.0.1.3:11211");
    }

    #[test]
    fn f32_rounding_is_reproduced() {
        // weights (1,1,1,10,12): 0.04f*160/4*5 = 7.9999998 -> 7 digests -> 28 points.
        let (_, r) = ring("a:1 b:1 c:1 d:1:10 e:1:12");
        let first = r.points().filter(|&(_, s)| s == 0).count();
        assert_eq!(first, 28);
    }

    #[test]
    fn unweighted_regression_vector() {
        // libmemcached regression test lp:996813: 17 servers, one_at_a_time.
        let servers: Vec<String> = (11211..11228).map(|p| format!("10.2.3.4:{p}")).collect();
        let (c, r) = ring(&format!("distribution=ketama {}", servers.join(" ")));
        assert_eq!(r.points().count(), 1700);
        let idx = |k: &str| c.servers.iter().position(|s| s.name() == owner(&c, &r, k)).unwrap();
        assert_eq!(idx("SZ6hu0SHweFmpwpc0w2R"), 6);
        assert_eq!(idx("SQCK9eiCf53YxHWnYA.o"), 1);
        assert_eq!(idx("SUSDkGXuuZC9t9VhMwa."), 9);
        assert_eq!(idx("SnnqnJARfaCNT679iAF_"), 0);
    }

    #[test]
    fn one_server_owns_everything() {
        let (_, r) = ring("only:11211");
        assert_eq!(r.server_for(b"anything"), Some(0));
        assert_eq!(r.key_hash(b"anything"), 0);
    }

    #[test]
    fn successors_are_distinct_and_complete() {
        let (_, r) = ring("a:1 b:1 c:1 d:1");
        let s: Vec<usize> = r.successors(b"k").collect();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0], r.server_for(b"k").unwrap());
        let mut sorted = s.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3]);
    }

    #[test]
    fn owned_fractions_match_where_keys_land() {
        for config in [
            FIXTURE_POOL,
            "a:1 b:1 c:1 distribution=ketama",
            "a:1 b:1 c:1 distribution=modula",
            "only:1",
        ] {
            let (c, r) = ring(config);
            let fractions = r.owned_fractions();
            assert!((fractions.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{config}");
            let n = 200_000;
            let mut landed = vec![0usize; c.servers.len()];
            for i in 0..n {
                landed[r.server_for(format!("key:{i}").as_bytes()).unwrap()] += 1;
            }
            for (s, (&f, &l)) in fractions.iter().zip(&landed).enumerate() {
                let seen = l as f64 / n as f64;
                assert!(
                    (f - seen).abs() < 0.01,
                    "{config}: server {s} owns {f}, got {seen} of keys"
                );
            }
        }
        let c = Config::parse("a:1 b:1 c:1").unwrap();
        let r = Ring::with_live(&c.servers, c.distribution, c.key_hash(), &[true, false, true]);
        let f = r.owned_fractions();
        assert_eq!(f[1], 0.0);
        assert!((f[0] + f[2] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ejected_servers_own_nothing() {
        let c = Config::parse("a:1 b:1 c:1").unwrap();
        let r = Ring::with_live(&c.servers, c.distribution, c.key_hash(), &[true, false, true]);
        for i in 0..1000 {
            let s = r.server_for(format!("k{i}").as_bytes()).unwrap();
            assert_ne!(s, 1);
        }
        let none = Ring::with_live(&c.servers, c.distribution, c.key_hash(), &[false; 3]);
        assert_eq!(none.server_for(b"k"), None);
    }
}
