//! mcring: a memcached client engine with libmemcached-exact key placement.
//!
//! The engine is synchronous and owns no threads. Modules, from the bottom up:
//! [`hash`] (libhashkit's functions), [`ring`] (distributions), [`config`]
//! (the one option set), [`key`] (what a key may contain), [`protocol`]
//! (memcached's text and meta protocols, without I/O), [`router`] (key ->
//! server), [`value`] (the value codec every binding shares) over
//! [`compress`] (zlib and FastLZ).

#![deny(unsafe_op_in_unsafe_fn)]

pub mod client;
pub mod compress;
pub mod config;
pub mod conn;
pub mod error;
mod failover;
mod fanout;
pub mod hash;
pub mod key;
mod md5x4;
pub mod protocol;
pub mod ring;
pub mod router;
pub mod server;
pub mod shared_health;
pub mod stats;
pub mod value;

pub use client::{Client, Item, ItemRef, Retrieval, ServerHealth, SetItem, Status, StoreMode};
pub use config::{Config, ConfigError, ServerSpec};
pub use error::{Error, Result};
pub use hash::HashKind;
pub use ring::{Distribution, Ring};
pub use router::Router;

/// The engine's version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
