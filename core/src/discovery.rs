//! Servers found in DNS: `dns+NAME:PORT` (one server per A and AAAA
//! address, named and placed as `ADDRESS:PORT`, as libmemcached hashes an
//! address it is given) and `srv+NAME` (one server per SRV record of the
//! lowest priority: the record's target and port, its weight; the targets'
//! addresses are resolved by the same resolver and used to connect).
//!
//! Names are resolved by hickory-resolver, from the system's configuration
//! (`/etc/resolv.conf`, search domains), or asking `dns_server=IP:PORT`
//! directly. Its async runtime never runs on the request path:
//!
//! * the client's first resolution is done by its constructor, bounded by
//!   `connect_timeout_ms` per attempt;
//! * after that, the first request that finds the list older than
//!   `dns_refresh_s` starts one short-lived thread (`mcring-discover`) that
//!   resolves every source and applies the new list as a run-time change
//!   (see `membership`), and goes on without waiting for it. An idle client
//!   asks nothing; a busy one follows DNS within `dns_refresh_s` plus one
//!   resolution.
//!
//! Fork-safe: the thread is marked running with this process's fork
//! generation, so a child forked while the parent's thread ran (and which
//! does not have that thread) starts its own.
//!
//! A source whose resolution fails keeps the servers of its last good
//! answer, and an empty answer (no records, NXDOMAIN) is never applied: a
//! DNS hiccup does not wipe a pool. Both are counted
//! ([`DiscoveryStats`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};

use crate::config::{Config, Discovery, ServerSpec};
use crate::conn::fork_generation;
use crate::health::monotonic_ms;
use crate::membership::{Addresses, Members, Membership};

/// How soon a source that has never resolved is tried again.
const RETRY_UNRESOLVED_MS: u64 = 1000;

/// What one resolution of one source came to.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The servers, and addresses to connect to for host names (SRV).
    Servers(Vec<ServerSpec>, Addresses),
    /// No records: not applied.
    Empty,
    /// The resolver failed: the last good list is kept.
    Failed(String),
}

/// DNS discovery's counters; see [`crate::Client::discovery_stats`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoveryStats {
    /// Resolutions of a source that gave servers.
    pub resolutions: u64,
    /// Resolutions that failed (the last good list was kept).
    pub failures: u64,
    /// Resolutions that found no records (not applied).
    pub empty_answers: u64,
    /// Changes of the server list that DNS made.
    pub changes: u64,
    /// The latest failure, with the source it concerns.
    pub last_error: Option<String>,
}

/// One client's DNS discovery.
pub(crate) struct Discoverer {
    dns_server: Option<SocketAddr>,
    refresh_ms: u64,
    timeout: Duration,
    /// Monotonic ms at which the next refresh is due.
    next_ms: AtomicU64,
    /// Fork generation + 1 of the process whose refresh thread runs; 0 when
    /// none does.
    running: AtomicU64,
    resolutions: AtomicU64,
    failures: AtomicU64,
    empty_answers: AtomicU64,
    changes: AtomicU64,
    /// Only ever locked with `try_lock` (a failure is not recorded rather
    /// than waited for), so a fork cannot leave a child waiting on it.
    last_error: Mutex<Option<String>>,
}

impl Discoverer {
    pub(crate) fn new(config: &Config) -> Discoverer {
        Discoverer {
            dns_server: config.dns_server,
            refresh_ms: u64::from(config.dns_refresh_s) * 1000,
            timeout: Duration::from_millis(config.connect_timeout_ms),
            next_ms: AtomicU64::new(0),
            running: AtomicU64::new(0),
            resolutions: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            empty_answers: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// Resolves every source of `members` on this thread and fills in what
    /// they found (a client's first resolution).
    pub(crate) fn resolve_now(&self, members: &mut Members) -> Addresses {
        let sources: Vec<Discovery> = members.found.iter().map(|(d, _)| d.clone()).collect();
        let answers = self.resolve(&sources);
        let mut addresses = Addresses::new();
        for (_, answer) in &answers {
            if let Answer::Servers(_, addrs) = answer {
                addresses.extend(addrs.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        apply(members, &answers);
        self.count(&answers);
        self.schedule(members);
        addresses
    }

    /// Called by every request of a client with DNS sources: starts a
    /// refresh in the background when one is due.
    #[inline]
    pub(crate) fn tick(self: &Arc<Self>, membership: &Arc<Membership>) {
        if monotonic_ms() < self.next_ms.load(Ordering::Relaxed) {
            return;
        }
        self.start_refresh(membership);
    }

    fn start_refresh(self: &Arc<Self>, membership: &Arc<Membership>) {
        let mine = fork_generation() + 1;
        let running = self.running.load(Ordering::Acquire);
        if running == mine
            || self
                .running
                .compare_exchange(running, mine, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return;
        }
        let (me, membership) = (self.clone(), membership.clone());
        let spawned = std::thread::Builder::new().name("mcring-discover".into()).spawn(move || {
            me.refresh(&membership);
            me.running.store(0, Ordering::Release);
        });
        if spawned.is_err() {
            // No thread now: the next request tries again after a while.
            self.next_ms.store(monotonic_ms() + RETRY_UNRESOLVED_MS, Ordering::Relaxed);
            self.running.store(0, Ordering::Release);
        }
    }

    /// Resolves every source and applies the new list as a run-time change
    /// (servers found by SRV get their addresses before the new ring is in).
    pub(crate) fn refresh(&self, membership: &Membership) {
        let sources: Vec<Discovery> =
            membership.load().members.found.iter().map(|(d, _)| d.clone()).collect();
        let answers = self.resolve(&sources);
        let mut addresses = Addresses::new();
        for (_, answer) in &answers {
            if let Answer::Servers(_, addrs) = answer {
                addresses.extend(addrs.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut after = None;
        let changed = membership.change_seeded(false, &addresses, |m| {
            let mut m = m.clone();
            apply(&mut m, &answers);
            after = Some(m.clone());
            Ok(m)
        });
        self.count(&answers);
        if matches!(changed, Ok(ref change) if !change.is_empty()) {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(m) = after {
            self.schedule(&m);
        }
    }

    /// When the next refresh is due: `dns_refresh_s` from now, or sooner
    /// while a source has never resolved.
    fn schedule(&self, members: &Members) {
        let unresolved = members.found.iter().any(|(_, list)| list.is_empty());
        let wait =
            if unresolved { RETRY_UNRESOLVED_MS.min(self.refresh_ms) } else { self.refresh_ms };
        self.next_ms.store(monotonic_ms() + wait, Ordering::Relaxed);
    }

    fn count(&self, answers: &[(Discovery, Answer)]) {
        for (source, answer) in answers {
            match answer {
                Answer::Servers(..) => self.resolutions.fetch_add(1, Ordering::Relaxed),
                Answer::Empty => self.empty_answers.fetch_add(1, Ordering::Relaxed),
                Answer::Failed(e) => {
                    if let Ok(mut last) = self.last_error.try_lock() {
                        *last = Some(format!("{source}: {e}"));
                    }
                    self.failures.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
    }

    pub(crate) fn stats(&self) -> DiscoveryStats {
        DiscoveryStats {
            resolutions: self.resolutions.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            empty_answers: self.empty_answers.load(Ordering::Relaxed),
            changes: self.changes.load(Ordering::Relaxed),
            last_error: self.last_error.try_lock().ok().and_then(|e| e.clone()),
        }
    }

    /// Resolves every source, on a runtime of this thread's own.
    fn resolve(&self, sources: &[Discovery]) -> Vec<(Discovery, Answer)> {
        let failed_all = |e: String| {
            sources.iter().map(|d| (d.clone(), Answer::Failed(e.clone()))).collect::<Vec<_>>()
        };
        if sources.is_empty() {
            return Vec::new();
        }
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => return failed_all(format!("no DNS runtime: {e}")),
        };
        runtime.block_on(async {
            let resolver = match self.resolver() {
                Ok(r) => r,
                Err(e) => return failed_all(e),
            };
            let mut answers = Vec::with_capacity(sources.len());
            for source in sources {
                let answer = match source {
                    Discovery::Addresses { name, port, weight } => {
                        addresses_of(&resolver, name, *port, *weight).await
                    }
                    Discovery::Srv { name } => srv_of(&resolver, name).await,
                };
                answers.push((source.clone(), answer));
            }
            answers
        })
    }

    /// A resolver asking `dns_server`, or configured as the system is.
    fn resolver(&self) -> Result<TokioResolver, String> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match self.dns_server {
            Some(server) => {
                let mut ns = NameServerConfig::udp_and_tcp(server.ip());
                for c in &mut ns.connections {
                    c.port = server.port();
                }
                let config = ResolverConfig::from_parts(None, Vec::new(), vec![ns]);
                let mut b = Resolver::builder_with_config(config, provider);
                b.options_mut().use_hosts_file = ResolveHosts::Never;
                b
            }
            None => Resolver::builder(provider)
                .map_err(|e| format!("cannot read the system's resolver configuration: {e}"))?,
        };
        let options = builder.options_mut();
        options.timeout = self.timeout;
        options.attempts = 2;
        // Every refresh asks again: nothing is cached between them.
        options.cache_size = 0;
        options.ip_strategy = hickory_resolver::config::LookupIpStrategy::Ipv4AndIpv6;
        builder.build().map_err(|e| format!("cannot build a resolver: {e}"))
    }
}

/// Puts each source's answer into `members`: a failed or empty answer keeps
/// what the source had.
fn apply(members: &mut Members, answers: &[(Discovery, Answer)]) {
    for (source, found) in &mut members.found {
        if let Some((_, Answer::Servers(servers, _))) = answers.iter().find(|(d, _)| d == source) {
            found.clone_from(servers);
        }
    }
}

/// An error of a lookup: no records, or a failure.
fn lookup_failure(e: &hickory_resolver::net::NetError) -> Answer {
    if e.is_no_records_found() || e.is_nx_domain() {
        Answer::Empty
    } else {
        Answer::Failed(e.to_string())
    }
}

/// The addresses of `name`, sorted (DNS rotates them; the ring must not).
async fn ips_of(resolver: &TokioResolver, name: &str) -> Result<Vec<IpAddr>, Answer> {
    let found = resolver.lookup_ip(name).await.map_err(|e| lookup_failure(&e))?;
    let mut ips: Vec<IpAddr> = found.iter().collect();
    ips.sort();
    ips.dedup();
    if ips.is_empty() {
        return Err(Answer::Empty);
    }
    Ok(ips)
}

async fn addresses_of(resolver: &TokioResolver, name: &str, port: u16, weight: u32) -> Answer {
    match ips_of(resolver, name).await {
        Ok(ips) => Answer::Servers(
            ips.into_iter()
                .map(|ip| ServerSpec::tcp(ip.to_string(), port).with_weight(weight))
                .collect(),
            Addresses::new(),
        ),
        Err(a) => a,
    }
}

async fn srv_of(resolver: &TokioResolver, name: &str) -> Answer {
    let found = match resolver.srv_lookup(name).await {
        Ok(f) => f,
        Err(e) => return lookup_failure(&e),
    };
    let records: Vec<(u16, u16, u16, String)> = found
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(srv) => Some((
                srv.priority,
                srv.weight,
                srv.port,
                srv.target.to_string().trim_end_matches('.').to_string(),
            )),
            _ => None,
        })
        // A target of "." means: no service here.
        .filter(|(_, _, _, target)| !target.is_empty())
        .collect();
    let Some(best) = records.iter().map(|r| r.0).min() else { return Answer::Empty };
    let mut servers: Vec<ServerSpec> = records
        .iter()
        .filter(|r| r.0 == best)
        .map(|(_, weight, port, target)| {
            ServerSpec::tcp(target.clone(), *port).with_weight(u32::from(*weight))
        })
        .collect();
    servers.sort_by_key(|s| s.name());
    servers.dedup_by_key(|s| s.name());
    let mut addresses = Addresses::new();
    for s in &servers {
        match ips_of(resolver, &s.host).await {
            Ok(ips) => {
                addresses.insert(
                    s.name(),
                    ips.into_iter().map(|ip| SocketAddr::new(ip, s.port)).collect(),
                );
            }
            Err(Answer::Failed(e)) => return Answer::Failed(format!("SRV target {}: {e}", s.host)),
            // A target without addresses is left to the system resolver.
            Err(_) => {}
        }
    }
    Answer::Servers(servers, addresses)
}
