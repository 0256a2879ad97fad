//! mcring: a memcached client engine with libmemcached-exact key placement.
//!
//! The engine is synchronous and owns no threads. Modules, from the bottom up:
//! [`hash`] (libhashkit's functions), [`ring`] (distributions), [`config`]
//! (the one option set), [`key`] (what a key may contain), [`value`] (the
//! value codec every binding shares) over [`compress`] (zlib and FastLZ).

#![deny(unsafe_op_in_unsafe_fn)]

pub mod compress;
pub mod config;
pub mod hash;
pub mod key;
pub mod ring;
pub mod value;

pub use config::{Config, ConfigError, ServerSpec};
pub use hash::HashKind;
pub use ring::{Distribution, Ring};

/// The engine's version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
