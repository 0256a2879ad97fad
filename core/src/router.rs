//! Key -> servers: the owner of a key, its replicas, and where its requests
//! go while servers are dead (`failover=eject|next|gutter|none`).
//!
//! The router never touches sockets or bytes on the wire, and does not keep
//! health itself: callers pass what they know of each server's liveness.
//!
//! Server indices: `0..n` are the configured servers; the gutter pool, if
//! any, follows at `n..n + gutter.len()`.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{Config, Failover, ReplicaPlacement, ServerSpec};
use crate::error::{Error, Result};
use crate::key::{check_key, MAX_KEY_LEN};
use crate::ring::{Distribution, Ring};

/// At most this many copies of a key (the primary and 16 replicas).
pub const MAX_COPIES: usize = 17;

/// A short list of distinct server indices, kept inline (no allocation).
/// Indices are stored as `u32` so that a list (and a [`Route`] of two) is
/// small enough to be moved with a few register stores instead of a
/// `memcpy` call on every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copies {
    len: u32,
    items: [u32; MAX_COPIES],
}

impl Copies {
    /// No servers.
    pub const fn new() -> Copies {
        Copies { len: 0, items: [0; MAX_COPIES] }
    }

    /// One server.
    pub fn one(s: usize) -> Copies {
        let mut c = Copies::new();
        c.push(s);
        c
    }

    /// Adds `s` unless present or full (server lists are far below
    /// `u32::MAX` entries; the config refuses more).
    pub fn push(&mut self, s: usize) {
        let Ok(s32) = u32::try_from(s) else { return };
        if (self.len as usize) < MAX_COPIES && !self.contains(s) {
            self.items[self.len as usize] = s32;
            self.len += 1;
        }
    }

    /// Whether `s` is in the list.
    pub fn contains(&self, s: usize) -> bool {
        self.iter().any(|x| x == s)
    }

    /// The servers, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.items[..self.len as usize].iter().map(|&s| s as usize)
    }

    /// The server at position `i`, if there is one.
    pub fn at(&self, i: usize) -> Option<usize> {
        self.items[..self.len as usize].get(i).map(|&s| s as usize)
    }

    /// The first `n` servers (all of them if there are fewer).
    pub fn prefix(&self, n: usize) -> Copies {
        let mut c = *self;
        c.len = c.len.min(n as u32);
        c
    }

    /// The servers, in order, as a slice of `out` (for code that slices).
    pub fn as_usize<'a>(&self, out: &'a mut [usize; MAX_COPIES]) -> &'a [usize] {
        for (o, &s) in out.iter_mut().zip(&self.items[..self.len as usize]) {
            *o = s as usize;
        }
        &out[..self.len as usize]
    }

    /// The servers, in order, as a vector.
    pub fn to_vec(&self) -> Vec<usize> {
        self.iter().collect()
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first server.
    pub fn first(&self) -> Option<usize> {
        self.at(0)
    }

    /// Moves the element at `i` to the front, keeping the others in order.
    pub fn rotate_to_front(&mut self, i: usize) {
        if i < self.len as usize {
            self.items[..=i].rotate_right(1);
        }
    }
}

impl Default for Copies {
    fn default() -> Copies {
        Copies::new()
    }
}

/// Where one key's requests go right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The key's copies when every server is alive: primary first.
    pub home: Copies,
    /// The servers to use, in order: live home copies, or, when none is
    /// live, the failover target.
    pub targets: Copies,
    /// Whether `targets` are not the key's home (writes there get a short
    /// TTL, and the home copies must be invalidated when they return).
    pub rerouted: bool,
}

impl Route {
    /// Home copies that are not targets: dead (or ejected) copies that a
    /// write does not reach and that must forget the key on recovery.
    pub fn missed_home(&self) -> impl Iterator<Item = usize> + '_ {
        self.home.iter().filter(|s| !self.targets.contains(*s))
    }
}

/// Placement of keys on the configured servers.
#[derive(Debug)]
pub struct Router {
    servers: Vec<ServerSpec>,
    ring: Ring,
    gutter: Option<Ring>,
    prefix: Vec<u8>,
    hash_with_prefix: bool,
    replicas: usize,
    placement: ReplicaPlacement,
    failover: Failover,
    /// Rings without dead servers (`failover=eject`), by the set of
    /// servers they hold: the few most recent. Lock-free, so a forked child
    /// never waits for a thread its parent had.
    ejected: ArcSwap<Vec<(Vec<bool>, Arc<Ring>)>>,
}

impl Router {
    /// Builds the rings for `config`.
    pub fn new(config: &Config) -> Router {
        let gutter = if config.gutter.is_empty() {
            None
        } else {
            Some(Ring::new(&config.gutter, Distribution::KetamaWeighted, config.key_hash()))
        };
        Router {
            servers: config.servers.clone(),
            ring: Ring::new(&config.servers, config.distribution, config.key_hash()),
            gutter,
            prefix: config.prefix.as_bytes().to_vec(),
            hash_with_prefix: config.hash_with_prefix,
            replicas: config.replicas.min(MAX_COPIES - 1),
            placement: config.replica_placement,
            failover: config.failover,
            ejected: ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// The configured servers, in order (without the gutter pool).
    pub fn servers(&self) -> &[ServerSpec] {
        &self.servers
    }

    /// The ring over all servers.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The prefix written before every key.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Refuses keys that must never reach a server (see [`crate::key`]).
    #[inline]
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        check_key(key, self.prefix.len())
            .map_err(|problem| Error::BadKey { key: key.to_vec(), problem })
    }

    /// The hash that places `key`: of the key alone, as libmemcached does by
    /// default, or of prefix + key with `hash_with_prefix`.
    #[inline]
    pub fn key_hash(&self, key: &[u8]) -> u32 {
        if self.hash_with_prefix && !self.prefix.is_empty() {
            let mut buf = [0u8; MAX_KEY_LEN];
            let len = self.prefix.len() + key.len();
            if len > MAX_KEY_LEN {
                // libmemcached hashes nothing (0) for an over-long namespaced key.
                return 0;
            }
            buf[..self.prefix.len()].copy_from_slice(&self.prefix);
            buf[self.prefix.len()..len].copy_from_slice(key);
            self.ring.key_hash(&buf[..len])
        } else {
            self.ring.key_hash(key)
        }
    }

    /// The placement hashes of many keys (already checked), into `out`. With
    /// MD5 (the `ketama-weighted` default) short keys are hashed four at a
    /// time, which is several times faster than one by one.
    pub fn key_hashes(&self, keys: &[&[u8]], out: &mut Vec<u32>) {
        out.clear();
        out.reserve(keys.len());
        let prefix_hashed = self.hash_with_prefix && !self.prefix.is_empty();
        let batched = self.ring.hash_kind() == crate::hash::HashKind::Md5
            && self.ring.server_count() > 1
            && !prefix_hashed;
        if !batched {
            out.extend(keys.iter().map(|k| self.key_hash(k)));
            return;
        }
        let short = |k: &[u8]| k.len() <= crate::md5x4::MAX_ONE_BLOCK;
        let mut i = 0;
        while i < keys.len() {
            if i + 4 <= keys.len() && keys[i..i + 4].iter().all(|k| short(k)) {
                let h = crate::md5x4::md5_x4([keys[i], keys[i + 1], keys[i + 2], keys[i + 3]]);
                out.extend_from_slice(&h);
                i += 4;
            } else {
                out.push(self.key_hash(keys[i]));
                i += 1;
            }
        }
    }

    /// The index of the server that owns `key` on the full ring, after
    /// checking the key.
    #[inline]
    pub fn primary(&self, key: &[u8]) -> Result<usize> {
        self.check_key(key)?;
        self.ring.server_for_hash(self.key_hash(key)).ok_or(Error::NoServers)
    }

    /// The key's copies on `ring`: its owner, then `replicas` more — the
    /// next distinct servers clockwise, or (`replica_placement=libmemcached`)
    /// the next indices in the server list, as `NUMBER_OF_REPLICAS` does.
    fn copies_on(&self, ring: &Ring, h: u32, skip: &dyn Fn(usize) -> bool) -> Copies {
        let mut copies = Copies::new();
        let Some(primary) = ring.server_for_hash(h) else { return copies };
        copies.push(primary);
        if self.replicas == 0 {
            return copies;
        }
        match self.placement {
            ReplicaPlacement::Ring => {
                for s in ring.successors_of_hash(h).skip(1) {
                    if copies.len() > self.replicas {
                        break;
                    }
                    copies.push(s);
                }
            }
            ReplicaPlacement::Libmemcached => {
                let n = self.servers.len();
                let mut s = primary;
                for _ in 0..self.replicas.min(n.saturating_sub(1)) {
                    s = (s + 1) % n;
                    // libmemcached sends to dead indices too (and fails);
                    // an ejected server is simply not written.
                    if !skip(s) {
                        copies.push(s);
                    }
                }
            }
        }
        copies
    }

    /// The key's home copies: primary and replicas with every server alive.
    #[inline]
    pub fn home(&self, key_hash: u32) -> Copies {
        if self.replicas == 0 {
            return match self.ring.server_for_hash(key_hash) {
                Some(s) => Copies::one(s),
                None => Copies::new(),
            };
        }
        self.copies_on(&self.ring, key_hash, &|_| false)
    }

    /// Where a key's requests go. `usable(s)` says whether server `s` may be
    /// used now (alive, or due for a probe this request will make, which it
    /// claims); `alive(s)` whether it is alive; `due(s)` whether it is dead
    /// with its retry time come and no probe under way (`failover=eject`
    /// puts it back on the ring then); `any_dead` whether some server is
    /// dead now.
    ///
    /// With `failover=eject`, while any server is dead every key is placed on
    /// the ring rebuilt without the dead servers, as libmemcached does: with
    /// weights the live servers' point counts change too, so a few keys of
    /// live servers move as well. Once a dead server's retry time has come
    /// it is on the ring again, as in libmemcached; the one request that
    /// claims its probe tries it (and on success the full ring is back),
    /// while the others keep placing keys without it.
    pub fn route(
        &self,
        key_hash: u32,
        usable: &dyn Fn(usize) -> bool,
        alive: &dyn Fn(usize) -> bool,
        due: &dyn Fn(usize) -> bool,
        any_dead: bool,
    ) -> Route {
        let home = self.home(key_hash);
        let mut targets = Copies::new();
        let eject = self.failover == Failover::Eject && any_dead;
        if !eject {
            for s in home.iter() {
                if usable(s) {
                    targets.push(s);
                }
            }
            if targets.len() == home.len() {
                return Route { home, targets, rerouted: false };
            }
        }
        match self.failover {
            Failover::Eject => {
                let with_due = |s: usize| alive(s) || due(s);
                let mut t = self.ejected_targets(key_hash, &with_due, alive, usable);
                if t.is_none() {
                    // A due server's probe is someone else's: place without it.
                    t = self.ejected_targets(key_hash, alive, alive, usable);
                }
                let t = t.unwrap_or_default();
                let rerouted = t.iter().any(|s| !home.contains(s));
                Route { home, targets: t, rerouted }
            }
            _ if !targets.is_empty() => Route { home, targets, rerouted: false },
            Failover::Next => {
                let next = self
                    .ring
                    .successors_of_hash(key_hash)
                    .find(|&s| !home.contains(s) && usable(s));
                match next {
                    Some(s) => Route { home, targets: Copies::one(s), rerouted: true },
                    None => Route { home, targets, rerouted: false },
                }
            }
            Failover::Gutter => match self.gutter_target(key_hash) {
                Some(g) if usable(g) => Route { home, targets: Copies::one(g), rerouted: true },
                _ => Route { home, targets, rerouted: false },
            },
            Failover::None => Route { home, targets, rerouted: false },
        }
    }

    /// The key's copies on the ring of the servers `in_ring` holds that may
    /// be used now (`usable`); `None` when one of them is a dead server this
    /// request may not probe (another request claimed the probe).
    fn ejected_targets(
        &self,
        key_hash: u32,
        in_ring: &dyn Fn(usize) -> bool,
        alive: &dyn Fn(usize) -> bool,
        usable: &dyn Fn(usize) -> bool,
    ) -> Option<Copies> {
        let live: Vec<bool> = (0..self.servers.len()).map(in_ring).collect();
        let ring = self.ejected_ring(live);
        let copies = self.copies_on(&ring, key_hash, &|s| !in_ring(s));
        let mut targets = Copies::new();
        for s in copies.iter() {
            if usable(s) {
                targets.push(s);
            } else if !alive(s) {
                return None;
            }
        }
        Some(targets)
    }

    /// The gutter server for a key (an index past the configured servers).
    pub fn gutter_target(&self, key_hash: u32) -> Option<usize> {
        let g = self.gutter.as_ref()?.server_for_hash(key_hash)?;
        Some(self.servers.len() + g)
    }

    /// The ring of the servers marked in `live`, built on first use and
    /// kept among the few most recent.
    fn ejected_ring(&self, live: Vec<bool>) -> Arc<Ring> {
        if let Some((_, ring)) = self.ejected.load().iter().find(|(l, _)| *l == live) {
            return ring.clone();
        }
        let ring = Arc::new(Ring::with_live(
            &self.servers,
            self.ring.distribution(),
            self.ring.hash_kind(),
            &live,
        ));
        let entry = (live, ring.clone());
        self.ejected.rcu(|rings| {
            let mut rings: Vec<_> = rings.iter().take(3).cloned().collect();
            rings.insert(0, entry.clone());
            rings
        });
        ring
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(config: &str) -> Router {
        Router::new(&Config::parse(config).unwrap())
    }

    #[test]
    fn prefix_is_not_hashed_by_default() {
        let plain = router("a:1 b:2 c:3");
        let prefixed = router("a:1 b:2 c:3 prefix=app:");
        for i in 0..200 {
            let k = format!("key{i}");
            assert_eq!(plain.primary(k.as_bytes()), prefixed.primary(k.as_bytes()));
        }
    }

    #[test]
    fn hash_with_prefix_hashes_both() {
        let r = router("a:1 b:2 c:3 prefix=app: hash_with_prefix=true");
        let plain = router("a:1 b:2 c:3");
        for i in 0..200 {
            let k = format!("key{i}");
            let full = format!("app:{k}");
            assert_eq!(r.primary(k.as_bytes()).unwrap(), plain.primary(full.as_bytes()).unwrap());
        }
    }

    #[test]
    fn prefix_counts_towards_the_key_limit() {
        let r = router("a:1 prefix=12345");
        assert!(r.primary(&[b'k'; 245]).is_ok());
        assert!(matches!(r.primary(&[b'k'; 246]), Err(Error::BadKey { .. })));
    }

    #[test]
    fn no_servers() {
        let r = router("");
        assert_eq!(r.primary(b"k"), Err(Error::NoServers));
    }

    #[test]
    fn batched_hashes_equal_one_by_one() {
        for config in
            ["a:1 b:2 c:3", "a:1 b:2 prefix=p: hash_with_prefix=true", "a:1", "a:1 b:1 hash=crc"]
        {
            let r = router(config);
            let keys: Vec<Vec<u8>> = (0..300).map(|i| vec![b'k'; 1 + (i * 7) % 120]).collect();
            let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
            let mut batched = Vec::new();
            r.key_hashes(&refs, &mut batched);
            let single: Vec<u32> = refs.iter().map(|k| r.key_hash(k)).collect();
            assert_eq!(batched, single, "{config}");
        }
    }

    #[test]
    fn ring_replicas_are_the_next_distinct_servers() {
        let r = router("a:1 b:1 c:1 d:1 replicas=2");
        for i in 0..100 {
            let h = r.key_hash(format!("k{i}").as_bytes());
            let home = r.home(h);
            let order: Vec<usize> = r.ring().successors_of_hash(h).take(3).collect();
            assert_eq!(home.to_vec(), order);
        }
    }

    #[test]
    fn libmemcached_replicas_are_the_next_indices() {
        let r = router("a:1 b:1 c:1 d:1 replicas=2 replica_placement=libmemcached");
        for i in 0..100 {
            let h = r.key_hash(format!("k{i}").as_bytes());
            let home = r.home(h);
            let p = home.at(0).unwrap_or(0);
            assert_eq!(home.to_vec(), [p, (p + 1) % 4, (p + 2) % 4]);
        }
    }

    #[test]
    fn next_moves_only_the_dead_servers_keys() {
        let r = router("a:1 b:1 c:1 d:1 failover=next");
        let dead = 2;
        for i in 0..500 {
            let h = r.key_hash(format!("k{i}").as_bytes());
            let route = r.route(h, &|s| s != dead, &|s| s != dead, &|_| false, true);
            let home = r.home(h).to_vec()[0];
            if home == dead {
                assert!(route.rerouted);
                let expected = r.ring().successors_of_hash(h).nth(1).unwrap();
                assert_eq!(route.targets.to_vec(), [expected]);
            } else {
                assert!(!route.rerouted);
                assert_eq!(route.targets.to_vec(), [home]);
            }
        }
    }

    #[test]
    fn eject_uses_the_ring_without_the_dead_server() {
        // Unequal weights: live servers' point counts change too.
        let r = router("a:1:3 b:1 c:1:2 d:1:5 failover=eject");
        let c = Config::parse("a:1:3 b:1 d:1:5").unwrap();
        let without = Ring::new(&c.servers, c.distribution, c.key_hash());
        let map = [0usize, 1, 3];
        for i in 0..500 {
            let key = format!("k{i}");
            let h = r.key_hash(key.as_bytes());
            let route = r.route(h, &|s| s != 2, &|s| s != 2, &|_| false, true);
            assert_eq!(route.targets.to_vec(), &[map[without.server_for(key.as_bytes()).unwrap()]]);
        }
    }

    #[test]
    fn gutter_and_none() {
        let g = router("a:1 b:1 failover=gutter gutter=g1:1,g2:1");
        let n = router("a:1 b:1 failover=none");
        for i in 0..100 {
            let h = g.key_hash(format!("k{i}").as_bytes());
            let route = g.route(h, &|s| s >= 2, &|s| s >= 2, &|_| false, true);
            assert!(route.rerouted);
            assert!(route.targets.at(0).unwrap_or(0) >= 2);
            let none = n.route(h, &|_| false, &|_| false, &|_| false, true);
            assert!(none.targets.is_empty());
        }
    }

    #[test]
    fn live_replicas_serve_while_the_primary_is_dead() {
        let r = router("a:1 b:1 c:1 replicas=1");
        for i in 0..100 {
            let h = r.key_hash(format!("k{i}").as_bytes());
            let home = r.home(h);
            let dead = home.at(0).unwrap_or(0);
            let route = r.route(h, &|s| s != dead, &|s| s != dead, &|_| false, true);
            assert_eq!(route.targets.to_vec(), [home.to_vec()[1]]);
            assert!(!route.rerouted);
            assert_eq!(route.missed_home().collect::<Vec<_>>(), vec![dead]);
        }
    }
}
