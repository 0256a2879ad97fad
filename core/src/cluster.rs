//! One pool as requests see it: the placement of keys ([`Router`]), the
//! servers with their health ([`ServerSet`]), and the options of the copy
//! policy. [`crate::failover`] implements reads and writes over it.
//!
//! Routing decides, per key and per request, which servers to use now:
//! the key's live home copies, or its failover target while they are dead.

use std::cell::RefCell;

use crate::config::{Config, Failover, ReadPolicy};
use crate::error::{Error, Result};
use crate::health::{monotonic_ms, Availability};
use crate::router::{Copies, Route, Router};
use crate::server_set::ServerSet;

/// The options the copy policy acts on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub replicas: usize,
    pub read_policy: ReadPolicy,
    pub read_repair: bool,
    pub failover: Failover,
    pub gutter_ttl: u32,
}

impl Policy {
    fn of(config: &Config) -> Policy {
        Policy {
            replicas: config.replicas,
            read_policy: config.read_policy,
            read_repair: config.read_repair,
            failover: config.failover,
            gutter_ttl: config.gutter_ttl,
        }
    }
}

/// Which bytes place a request's keys.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Placement<'a> {
    /// Each key itself.
    #[default]
    OwnKey,
    /// One server key for every key of the request, as libmemcached's
    /// `*_by_key` functions do (an empty server key means the key itself).
    ServerKey(&'a [u8]),
}

/// The dead servers one call has claimed to probe: every key of the call may
/// use them.
#[derive(Default)]
pub(crate) struct Probes(RefCell<Copies>);

/// A pool: placement, servers and copy policy.
pub(crate) struct Cluster {
    pub router: Router,
    pub servers: ServerSet,
    pub policy: Policy,
}

impl Cluster {
    pub(crate) fn new(config: &Config) -> Cluster {
        Cluster {
            router: Router::new(config),
            servers: ServerSet::new(config),
            policy: Policy::of(config),
        }
    }

    /// The prefix written before every key.
    #[inline]
    pub(crate) fn prefix(&self) -> &[u8] {
        self.router.prefix()
    }

    /// Checks `key` (and the server key placing it) and returns the hash
    /// that places it.
    #[inline]
    pub(crate) fn place(&self, key: &[u8], at: Placement<'_>) -> Result<u32> {
        self.router.check_key(key)?;
        match at {
            Placement::ServerKey(server_key) if !server_key.is_empty() => {
                self.router.check_key(server_key)?;
                Ok(self.router.key_hash(server_key))
            }
            _ => Ok(self.router.key_hash(key)),
        }
    }

    /// Checks `key` and works out where its requests go now.
    #[inline]
    pub(crate) fn route(&self, key: &[u8], at: Placement<'_>) -> Result<(u32, Route)> {
        self.route_in(key, at, &Probes::default())
    }

    /// [`Cluster::route`] for one key of a multi-key call: a server probed
    /// for one key of the call is usable for all of them.
    #[inline]
    pub(crate) fn route_in(
        &self,
        key: &[u8],
        at: Placement<'_>,
        probes: &Probes,
    ) -> Result<(u32, Route)> {
        let h = self.place(key, at)?;
        Ok((h, self.route_hash(h, probes)?))
    }

    /// Where requests for keys placed by hash `h` go now.
    #[inline]
    pub(crate) fn route_hash(&self, h: u32, probes: &Probes) -> Result<Route> {
        if self.is_simple() {
            // Every server alive, one copy: the owner on the full ring.
            let home = self.router.home(h);
            if home.is_empty() {
                return Err(Error::NoServers);
            }
            return Ok(Route { home, targets: home, rerouted: false });
        }
        Ok(self.route_excluding(h, &Copies::new(), probes))
    }

    /// Whether every server is alive and keys have one copy: requests go
    /// straight to the key's owner.
    #[inline]
    pub(crate) fn is_simple(&self) -> bool {
        self.policy.replicas == 0 && self.servers.dead_count() == 0
    }

    /// The placement hashes of many keys, after checking every key (short
    /// keys of their own placement are hashed in batches).
    pub(crate) fn hashes(&self, keys: &[&[u8]], at: Placement<'_>) -> Result<Vec<u32>> {
        for key in keys {
            self.router.check_key(key)?;
        }
        let mut hashes = Vec::new();
        match at {
            Placement::ServerKey(server_key) if !server_key.is_empty() => {
                self.router.check_key(server_key)?;
                hashes.resize(keys.len(), self.router.key_hash(server_key));
            }
            _ => self.router.key_hashes(keys, &mut hashes),
        }
        Ok(hashes)
    }

    /// The owner of each hash on the full ring.
    pub(crate) fn owners(&self, hashes: &[u32]) -> Result<Vec<usize>> {
        let ring = self.router.ring();
        hashes.iter().map(|&h| ring.server_for_hash(h).ok_or(Error::NoServers)).collect()
    }

    /// Where a key's requests go, not counting the servers in `exclude`
    /// (ones that just failed this request).
    pub(crate) fn route_excluding(&self, h: u32, exclude: &Copies, probes: &Probes) -> Route {
        let now = monotonic_ms();
        let usable = |s: usize| !exclude.contains(s) && self.usable_in(s, now, probes);
        let alive = |s: usize| self.servers.is_alive(s);
        let due = |s: usize| !exclude.contains(s) && self.servers.is_due(s, now);
        let any_dead = self.servers.dead_count() > 0;
        self.router.route(h, &usable, &alive, &due, any_dead)
    }

    fn usable_in(&self, s: usize, now: u64, probes: &Probes) -> bool {
        if self.servers.is_alive(s) || probes.0.borrow().contains(s) {
            return true;
        }
        match self.servers.availability(s, now) {
            Availability::Up => true,
            Availability::Probe => {
                probes.0.borrow_mut().push(s);
                true
            }
            Availability::Down => false,
        }
    }

    /// The order in which a read tries a route's targets.
    pub(crate) fn read_order(&self, route: &Route) -> Copies {
        let mut order = route.targets;
        if self.policy.read_policy == ReadPolicy::Random && order.len() > 1 {
            order.rotate_to_front(random_below(order.len()));
        }
        order
    }

    /// The order in which a read of a hot key tries a route's targets: a
    /// random one first under `read_policy=random` or `hot_random`.
    pub(crate) fn read_order_hot(&self, route: &Route) -> Copies {
        let mut order = route.targets;
        let spread = matches!(self.policy.read_policy, ReadPolicy::Random | ReadPolicy::HotRandom);
        if spread && order.len() > 1 {
            order.rotate_to_front(random_below(order.len()));
        }
        order
    }

    /// The route to try after the servers in `failed` failed this request,
    /// if it offers servers not tried yet.
    pub(crate) fn fallback(&self, h: u32, route: &Route, failed: &Copies) -> Option<Route> {
        self.fallback_in(h, route, failed, &Probes::default())
    }

    pub(crate) fn fallback_in(
        &self,
        h: u32,
        route: &Route,
        failed: &Copies,
        probes: &Probes,
    ) -> Option<Route> {
        if failed.is_empty() && !route.targets.is_empty() {
            return None;
        }
        let again = self.route_excluding(h, failed, probes);
        let new = again.targets.iter().any(|s| !route.targets.contains(s));
        new.then_some(again)
    }

    /// The error for a key none of whose servers may be used.
    pub(crate) fn down_error(&self, route: &Route) -> Error {
        match route.home.first().and_then(|s| self.servers.get(s)) {
            Some(s) => Error::ServerDown { server: s.name.clone() },
            None => Error::NoServers,
        }
    }
}

/// A cheap per-thread random number below `n` (for `read_policy=random`).
pub(crate) fn random_below(n: usize) -> usize {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            // Seed from the clock and the thread's stack address.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            x = t ^ (&x as *const u64 as u64) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x % n as u64) as usize
    })
}
