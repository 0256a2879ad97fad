//! The server list of a client, changed at run time.
//!
//! Requests see the pool as a [`Snapshot`]: the [`Cluster`] (placement,
//! servers, copy policy) of one server list, the rings that came before it
//! for `migration_s` (see `migration`), and the warm pool. A request loads
//! the snapshot once and keeps it to the end, so a request in flight
//! finishes on the ring it started with.
//!
//! A change ([`Membership::change`]) builds the next snapshot aside — a new
//! ring over the new list — and swaps it in with one compare-and-swap;
//! concurrent changes retry on the list the other one made. Servers that
//! stay keep their [`Server`] (health, pooled connections, counters,
//! invalidation log); servers that leave are retired (their connections
//! are closed), at once, or, when removed with `drain`, once the window in
//! which migration reads them has passed. Nothing here takes a lock, so a
//! process forked while another thread changed the list never waits for
//! that thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::cluster::Cluster;
use crate::config::{Config, ConfigError, Discovery, Failover, ServerSpec};
use crate::error::{Error, Result};
use crate::health::monotonic_ms;
use crate::router::Router;
use crate::server::Server;
use crate::server_set::ServerSet;

/// Addresses to connect to, by server name (`host:port`).
pub(crate) type Addresses = HashMap<String, Vec<std::net::SocketAddr>>;

/// At most this many earlier rings are kept for migration reads.
const MAX_PREVIOUS: usize = 3;

/// Where a server list comes from: servers named directly, and DNS sources
/// with the servers they resolved to last.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members {
    /// Servers named in the config or by `add_server`/`set_servers`.
    pub named: Vec<ServerSpec>,
    /// Each DNS source with the servers of its latest good answer (none
    /// before its first).
    pub found: Vec<(Discovery, Vec<ServerSpec>)>,
}

impl Members {
    /// The servers of `config`: its servers, and its DNS sources, not
    /// resolved yet.
    pub fn of(config: &Config) -> Members {
        Members {
            named: config.servers.clone(),
            found: config.discover.iter().map(|d| (d.clone(), Vec::new())).collect(),
        }
    }

    /// The server list, in ring order: named servers, then each source's.
    pub fn list(&self) -> Vec<ServerSpec> {
        let mut list = self.named.clone();
        for (_, servers) in &self.found {
            list.extend(servers.iter().cloned());
        }
        list
    }

    /// Parses server tokens (`host:port[:weight]`, `/path.sock`, `dns+...`,
    /// `srv+...`) into a list of named servers and DNS sources.
    pub fn parse(tokens: &[&str]) -> Result<Members> {
        let mut m = Members::default();
        for token in tokens.iter().flat_map(|t| t.split_whitespace()) {
            m.add(token)?;
        }
        Ok(m)
    }

    /// Adds one server token.
    pub fn add(&mut self, token: &str) -> Result<()> {
        if token.contains('=') {
            return Err(Error::Config(ConfigError::new(token, "expected a server, not an option")));
        }
        match Discovery::parse(token) {
            Some(source) => {
                let source = source.map_err(Error::Config)?;
                if !self.found.iter().any(|(d, _)| *d == source) {
                    self.found.push((source, Vec::new()));
                }
            }
            None => self.named.push(ServerSpec::parse(token).map_err(Error::Config)?),
        }
        Ok(())
    }

    /// Removes the server or DNS source `token` names (`host:port`, as
    /// servers are named, or the `dns+`/`srv+` token).
    pub fn remove(&mut self, token: &str) -> Result<()> {
        let not_found = |reason: String| Error::Config(ConfigError::new(token, reason));
        if let Some(source) = Discovery::parse(token) {
            let source = source.map_err(Error::Config)?;
            let before = self.found.len();
            self.found.retain(|(d, _)| *d != source);
            return if self.found.len() < before {
                Ok(())
            } else {
                Err(not_found("no such DNS source in the server list".into()))
            };
        }
        let name = ServerSpec::parse(token).map_err(Error::Config)?.name();
        if let Some(i) = self.named.iter().position(|s| s.name() == name) {
            self.named.remove(i);
            return Ok(());
        }
        match self.found.iter().find(|(_, list)| list.iter().any(|s| s.name() == name)) {
            Some((source, _)) => Err(not_found(format!(
                "this server was found in DNS by {source}: remove that source, or the record"
            ))),
            None => Err(not_found("no such server in the server list".into())),
        }
    }
}

/// An earlier ring, readable by migration until `until_ms`.
pub(crate) struct Previous {
    pub cluster: Arc<Cluster>,
    /// Monotonic ms after which it is no longer read.
    pub until_ms: u64,
    /// Per server of `cluster`: whether migration may read it (it is still
    /// in the pool, or it was removed with `drain`).
    pub readable: Vec<bool>,
    /// Servers removed with `drain`: retired once no ring keeps them.
    pub draining: Vec<Arc<Server>>,
}

/// The pool as one request sees it.
pub(crate) struct Snapshot {
    pub cluster: Arc<Cluster>,
    pub members: Members,
    /// Earlier rings within their migration window, newest first.
    pub previous: Vec<Previous>,
    /// The warm pool (`warmup=`), the same in every snapshot.
    pub warm: Option<Arc<Cluster>>,
}

impl Snapshot {
    /// Whether a miss may be found elsewhere (an earlier ring, the warm
    /// pool): the only case in which a request does more than its cluster's
    /// work.
    #[inline]
    pub(crate) fn has_sources(&self) -> bool {
        !self.previous.is_empty() || self.warm.is_some()
    }

    /// Every server this snapshot keeps: current, then draining ones.
    fn kept(&self) -> Vec<Arc<Server>> {
        let mut kept: Vec<Arc<Server>> = self.cluster.servers.configured().to_vec();
        for p in &self.previous {
            kept.extend(p.draining.iter().cloned());
        }
        kept
    }
}

/// What a change did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// Servers that joined the ring.
    pub added: Vec<String>,
    /// Servers that left it.
    pub removed: Vec<String>,
}

impl Change {
    /// Whether the list stayed as it was.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// A client's server list: the current snapshot, swapped atomically.
pub(crate) struct Membership {
    /// The options every ring is built with (`servers` unused).
    config: Config,
    current: ArcSwap<Snapshot>,
    /// The first snapshot, and whether `current` was ever swapped since.
    /// Most pools never change, and their requests then borrow the first
    /// snapshot instead of loading `current` (measured: 47 fewer
    /// instructions per get, of about 2,800). The first snapshot is kept
    /// for the client's life; servers it alone keeps are retired (their
    /// connections closed) all the same.
    first: Arc<Snapshot>,
    changed: AtomicBool,
}

/// A snapshot held for one request (see [`Membership::load`]).
pub(crate) enum Loaded<'a> {
    /// The first snapshot, never swapped out.
    First(&'a Arc<Snapshot>),
    /// A later one.
    Swapped(arc_swap::Guard<Arc<Snapshot>>),
}

impl std::ops::Deref for Loaded<'_> {
    type Target = Arc<Snapshot>;

    #[inline]
    fn deref(&self) -> &Arc<Snapshot> {
        match self {
            Loaded::First(s) => s,
            Loaded::Swapped(g) => g,
        }
    }
}

impl Membership {
    /// The membership of a client of `config` whose servers are `members`.
    pub(crate) fn new(config: &Config, members: Members) -> Membership {
        let mut options = config.clone();
        options.servers = members.list();
        let cluster = Arc::new(Cluster::new(&options));
        let warm = (!config.warmup.is_empty()).then(|| Arc::new(warm_cluster(config)));
        let snapshot = Snapshot { cluster, members, previous: Vec::new(), warm };
        let first = Arc::new(snapshot);
        Membership {
            config: options,
            current: ArcSwap::new(Arc::clone(&first)),
            first,
            changed: AtomicBool::new(false),
        }
    }

    /// Gives the servers named in `addresses` those addresses to connect to.
    pub(crate) fn seed(&self, addresses: &Addresses) {
        for s in self.current.load().cluster.servers.configured() {
            if let Some(addrs) = addresses.get(&s.name) {
                s.addresses.seed(addrs.clone());
            }
        }
    }

    /// The current snapshot. A request that reads `changed` as false
    /// while a swap happens uses the snapshot from just before it, as it
    /// would had it loaded `current` a moment earlier.
    #[inline]
    pub(crate) fn load(&self) -> Loaded<'_> {
        if self.changed.load(Ordering::Acquire) {
            Loaded::Swapped(self.current.load())
        } else {
            Loaded::First(&self.first)
        }
    }

    /// The current snapshot, owned.
    pub(crate) fn load_full(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Changes the server list: `edit` makes the new members from the
    /// current ones (it may run more than once when changes race). Servers
    /// that leave are read by migration until the window ends when `drain`,
    /// else retired at once.
    pub(crate) fn change(
        &self,
        drain: bool,
        edit: impl FnMut(&Members) -> Result<Members>,
    ) -> Result<Change> {
        self.change_seeded(drain, &Addresses::new(), edit)
    }

    /// [`Membership::change`], giving the servers named in `addresses`
    /// (host names found by SRV discovery) those addresses to connect to.
    pub(crate) fn change_seeded(
        &self,
        drain: bool,
        addresses: &Addresses,
        mut edit: impl FnMut(&Members) -> Result<Members>,
    ) -> Result<Change> {
        loop {
            let current = self.current.load_full();
            let members = edit(&current.members)?;
            for s in current.cluster.servers.configured() {
                if let Some(addrs) = addresses.get(&s.name) {
                    s.addresses.seed(addrs.clone());
                }
            }
            if members == current.members {
                return Ok(Change::default());
            }
            let (next, change) = self.build(&current, members, drain, addresses);
            let next = Arc::new(next);
            let before = self.current.compare_and_swap(&current, next.clone());
            self.changed.store(true, Ordering::Release);
            if Arc::ptr_eq(&before, &current) {
                retire_dropped(&current, &next);
                return Ok(change);
            }
        }
    }

    /// Drops the earlier rings whose window has passed (retiring the
    /// servers only they kept). Cheap when there is nothing to drop.
    pub(crate) fn prune(&self, now: u64) {
        loop {
            let current = self.current.load_full();
            if current.previous.iter().all(|p| now < p.until_ms) {
                return;
            }
            let previous: Vec<Previous> = current
                .previous
                .iter()
                .filter(|p| now < p.until_ms)
                .map(|p| Previous {
                    cluster: p.cluster.clone(),
                    until_ms: p.until_ms,
                    readable: p.readable.clone(),
                    draining: p.draining.clone(),
                })
                .collect();
            let next = Arc::new(Snapshot {
                cluster: current.cluster.clone(),
                members: current.members.clone(),
                previous,
                warm: current.warm.clone(),
            });
            let before = self.current.compare_and_swap(&current, next.clone());
            self.changed.store(true, Ordering::Release);
            if Arc::ptr_eq(&before, &current) {
                retire_dropped(&current, &next);
                return;
            }
        }
    }

    /// The snapshot for `members`, built from `current`.
    fn build(
        &self,
        current: &Snapshot,
        members: Members,
        drain: bool,
        addresses: &Addresses,
    ) -> (Snapshot, Change) {
        let list = members.list();
        let cluster = Arc::new(self.cluster_for(&list, current, addresses));
        let now = monotonic_ms();
        let stays =
            |s: &Arc<Server>| cluster.servers.configured().iter().any(|n| Arc::ptr_eq(n, s));
        let removed: Vec<Arc<Server>> =
            current.cluster.servers.configured().iter().filter(|s| !stays(s)).cloned().collect();
        let change = Change {
            added: cluster
                .servers
                .configured()
                .iter()
                .filter(|s| !current.cluster.servers.configured().iter().any(|o| Arc::ptr_eq(o, s)))
                .map(|s| s.name.clone())
                .collect(),
            removed: removed.iter().map(|s| s.name.clone()).collect(),
        };

        let mut previous = Vec::new();
        // An empty ring has nothing to migrate from.
        let migrating = self.config.migration
            && self.config.migration_s > 0
            && !current.cluster.servers.configured().is_empty();
        if migrating {
            let until_ms = now + u64::from(self.config.migration_s) * 1000;
            let draining = if drain { removed } else { Vec::new() };
            previous.push(Previous {
                cluster: current.cluster.clone(),
                until_ms,
                readable: Vec::new(),
                draining,
            });
            for p in current.previous.iter().filter(|p| now < p.until_ms) {
                if previous.len() == MAX_PREVIOUS {
                    break;
                }
                previous.push(Previous {
                    cluster: p.cluster.clone(),
                    until_ms: p.until_ms,
                    readable: Vec::new(),
                    draining: p.draining.clone(),
                });
            }
            // A server of an earlier ring is read while it is in the pool
            // or draining.
            let draining: Vec<Arc<Server>> =
                previous.iter().flat_map(|p| p.draining.iter().cloned()).collect();
            for p in &mut previous {
                p.readable = p
                    .cluster
                    .servers
                    .configured()
                    .iter()
                    .map(|s| stays(s) || draining.iter().any(|d| Arc::ptr_eq(d, s)))
                    .collect();
            }
        }
        let snapshot = Snapshot { cluster, members, previous, warm: current.warm.clone() };
        (snapshot, change)
    }

    /// A cluster over `list` that reuses the servers of `current` (the
    /// current ring's and draining ones) with the same names.
    fn cluster_for(
        &self,
        list: &[ServerSpec],
        current: &Snapshot,
        addresses: &Addresses,
    ) -> Cluster {
        let mut reusable: HashMap<String, Vec<Arc<Server>>> = HashMap::new();
        for s in current.kept().into_iter().rev() {
            reusable.entry(s.name.clone()).or_default().push(s);
        }
        let mut servers: Vec<Arc<Server>> = list
            .iter()
            .map(|spec| {
                reusable.get_mut(&spec.name()).and_then(|v| v.pop()).unwrap_or_else(|| {
                    let server = Server::new(spec.clone());
                    if let Some(addrs) = addresses.get(&server.name) {
                        server.addresses.seed(addrs.clone());
                    }
                    Arc::new(server)
                })
            })
            .collect();
        let before = &current.cluster.servers;
        servers.extend(before.all()[before.configured().len()..].iter().cloned());
        let mut config = self.config.clone();
        config.servers = list.to_vec();
        Cluster {
            router: Router::new(&config),
            servers: ServerSet::with_servers(servers, list.len(), before, &config),
            policy: current.cluster.policy,
        }
    }
}

/// Retires the servers `before` kept and `after` does not.
fn retire_dropped(before: &Snapshot, after: &Snapshot) {
    let kept = after.kept();
    for s in before.kept() {
        if !kept.iter().any(|k| Arc::ptr_eq(k, &s)) && !s.is_retired() {
            after.cluster.servers.retire(&s);
        }
    }
}

/// The warm pool of `config`: its own ring over the `warmup` servers, with
/// the same options.
fn warm_cluster(config: &Config) -> Cluster {
    let mut warm = config.clone();
    warm.servers = config.warmup.clone();
    warm.gutter.clear();
    if warm.failover == Failover::Gutter {
        warm.failover = Failover::Next;
    }
    Cluster::new(&warm)
}
