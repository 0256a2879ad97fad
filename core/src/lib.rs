//! mcring: a memcached client engine with libmemcached-exact key placement.
//!
//! The engine is synchronous and owns no threads. A request goes down the
//! layers in one direction, and no layer imports one above it:
//!
//! * [`client`]: the public [`Client`], argument checks;
//! * `failover` over `cluster`: the copy policy (which copies a request
//!   uses, failover targets, read repair) and routing;
//! * `fanout`: multi-server I/O in one poll loop;
//! * `server_set` and `server`: server state (health in [`health`], idle
//!   connections, pending invalidations, counters) and one-server exchanges;
//! * [`conn`]: one socket with deadlines, plain or TLS (`tls`), with the
//!   login of [`auth`];
//! * [`protocol`]: memcached's text and meta protocols, pure bytes.
//!
//! Beside them: [`hash`] (libhashkit's functions), [`ring`] (distributions),
//! [`router`] (key -> servers), [`config`] (the one option set), [`key`]
//! (what a key may contain), [`value`] (the value codec every binding
//! shares) over [`compress`], [`stats`] and [`shared_health`].
//!
//! Observability: [`metrics`] (the one Prometheus text renderer) over
//! [`stats`] (client counters), [`histogram`] (latency buckets) and
//! [`server_metrics`] (memcached's own `stats`, memcached-exporter names);
//! [`watch`] reads memcached's fetch log for the hottest keys.
//!
//! Stampedes and hot keys: [`lease`] (one caller computes a missing or
//! stale value, the others wait or are served the stale one; meta `mg N/R`,
//! `md I`) over `flight` (callers of one process share one wait);
//! [`hot_keys`] (a fixed-memory sketch of the keys read most) and
//! `near_cache` (hot keys' values kept in memory for `near_cache_ms`).
//! [`stats`] (client counters), [`histogram`] (latency buckets, recorded
//! once per request and server) and [`server_metrics`] (memcached's own
//! `stats`, memcached-exporter names); [`shared_metrics`] adds the client
//! metrics of every process of a pool up in one file; [`watch`] reads
//! memcached's fetch log for the hottest keys.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod auth;
mod by_key;
pub mod client;
mod clock;
mod cluster;
pub mod compress;
pub mod config;
pub mod conn;
pub mod discovery;
pub mod error;
mod failover;
mod fanout;
mod flight;
pub mod hash;
pub mod health;
pub mod histogram;
pub mod hot_keys;
mod invalidation;
mod job;
pub mod key;
pub mod lease;
mod md5x4;
pub mod membership;
pub mod metrics;
mod migration;
mod near_cache;
mod placeholder;
pub mod protocol;
pub mod reply;
mod resolve;
pub mod ring;
pub mod router;
mod server;
pub mod server_metrics;
mod server_set;
pub mod shared_health;
pub mod shared_metrics;
pub mod stats;
mod tls;
pub mod value;
mod wait_times;
pub mod watch;

pub use client::{
    ByKey, Client, DumpedKey, Item, ItemRef, Retrieval, ServerHealth, SetItem, Status, StoreMode,
};
pub use config::{Config, ConfigError, Discovery, ServerSpec};
pub use discovery::DiscoveryStats;
pub use error::{Error, Result};
pub use hash::HashKind;
pub use hot_keys::{HotKey, ServerHotKeys};
pub use lease::{ComputeError, Fetched, LeaseKind, LeaseOptions, LeaseToken, Leased};
pub use membership::{Change, Members};
pub use ring::{Distribution, Ring};
pub use router::Router;

/// The engine's version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
