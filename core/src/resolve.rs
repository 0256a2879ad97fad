//! A server's addresses, resolved off the request path.
//!
//! Placement hashes names as written; connecting needs addresses. IP
//! literals and unix sockets need no resolution. A host name is resolved
//! once, on first use, by a short-lived thread that the request waits for
//! at most `connect_timeout` (the system resolver has no timeout of its
//! own); the answer is cached. When a connect to the cached addresses fails,
//! the name is resolved again in the background and the next connect uses
//! the new answer, so a server that moved is followed without a resolver
//! call on every connect. A resolution that fails keeps the last good
//! answer.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::config::{ServerSpec, Transport};
use crate::conn::{fork_generation, IoFailure, Target};

/// How a server's addresses are found.
pub(crate) enum Addresses {
    /// An IP literal or a unix socket: known from the config.
    Fixed(Arc<Target>),
    /// A host name, resolved as needed.
    Named(Arc<Named>),
}

pub(crate) struct Named {
    host: String,
    port: u16,
    cached: ArcSwapOption<Target>,
    /// Fork generation + 1 of the process whose resolver thread is running,
    /// 0 when none is: a thread that was running in the parent at `fork()`
    /// does not exist in the child, which must not wait for it.
    resolving: AtomicU64,
}

impl Addresses {
    pub(crate) fn of(spec: &ServerSpec) -> Addresses {
        match spec.transport {
            Transport::Unix => Addresses::Fixed(Arc::new(Target::Unix(spec.host.clone()))),
            Transport::Tcp => match spec.host.parse::<IpAddr>() {
                Ok(ip) => {
                    Addresses::Fixed(Arc::new(Target::Tcp(vec![SocketAddr::new(ip, spec.port)])))
                }
                Err(_) => Addresses::Named(Arc::new(Named {
                    host: spec.host.clone(),
                    port: spec.port,
                    cached: ArcSwapOption::empty(),
                    resolving: AtomicU64::new(0),
                })),
            },
        }
    }

    /// The addresses to connect to: cached, or resolved now within
    /// `timeout` on first use.
    pub(crate) fn target(&self, timeout: Duration) -> Result<Arc<Target>, IoFailure> {
        match self {
            Addresses::Fixed(t) => Ok(t.clone()),
            Addresses::Named(named) => {
                if let Some(t) = named.cached.load_full() {
                    return Ok(t);
                }
                named.resolve_within(timeout)
            }
        }
    }

    /// Sets the addresses of a host name, as found by the pool's own DNS
    /// discovery (SRV targets): connects use them from now on.
    pub(crate) fn seed(&self, addrs: Vec<SocketAddr>) {
        if let (Addresses::Named(named), false) = (self, addrs.is_empty()) {
            let known = named.cached.load();
            if !matches!(known.as_deref(), Some(Target::Tcp(a)) if *a == addrs) {
                named.cached.store(Some(Arc::new(Target::Tcp(addrs))));
            }
        }
    }

    /// A connect to the cached addresses failed: resolve the name again in
    /// the background.
    pub(crate) fn refresh(&self) {
        if let Addresses::Named(named) = self {
            let _ = Named::spawn(named);
        }
    }
}

impl Named {
    /// Resolves now, waiting at most `timeout` for the answer.
    fn resolve_within(self: &Arc<Named>, timeout: Duration) -> Result<Arc<Target>, IoFailure> {
        match Named::spawn(self) {
            Some(done) => match done.recv_timeout(timeout) {
                Ok(Ok(t)) => Ok(t),
                Ok(Err(e)) => Err(IoFailure::Os(e)),
                Err(_) => Err(IoFailure::Timeout("name resolution")),
            },
            // A resolution is under way already (or no thread could be
            // started): wait for its answer within the timeout.
            None => {
                let deadline = std::time::Instant::now() + timeout;
                loop {
                    if let Some(t) = self.cached.load_full() {
                        return Ok(t);
                    }
                    if !self.is_resolving() {
                        return self.resolve_here();
                    }
                    if std::time::Instant::now() >= deadline {
                        return Err(IoFailure::Timeout("name resolution"));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }

    fn is_resolving(&self) -> bool {
        self.resolving.load(Ordering::Acquire) == fork_generation() + 1
    }

    /// Starts a resolver thread unless one is running; its answer is cached
    /// and also sent on the returned channel.
    fn spawn(self: &Arc<Named>) -> Option<std::sync::mpsc::Receiver<std::io::Result<Arc<Target>>>> {
        let mine = fork_generation() + 1;
        let current = self.resolving.load(Ordering::Acquire);
        if current == mine
            || self
                .resolving
                .compare_exchange(current, mine, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return None;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let named = self.clone();
        let spawned = std::thread::Builder::new().name("mcring-resolve".into()).spawn(move || {
            let answer = named.lookup();
            let _ = tx.send(answer);
            named.resolving.store(0, Ordering::Release);
        });
        match spawned {
            Ok(_) => Some(rx),
            Err(_) => {
                self.resolving.store(0, Ordering::Release);
                None
            }
        }
    }

    /// Resolves on the calling thread.
    fn resolve_here(&self) -> Result<Arc<Target>, IoFailure> {
        self.lookup().map_err(IoFailure::Os)
    }

    /// Asks the system resolver and caches a non-empty answer (an empty or
    /// failed one keeps the last good answer).
    fn lookup(&self) -> std::io::Result<Arc<Target>> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port).to_socket_addrs()?.collect();
        if addrs.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} resolved to no address", self.host),
            ));
        }
        let target = Arc::new(Target::Tcp(addrs));
        self.cached.store(Some(target.clone()));
        Ok(target)
    }
}
