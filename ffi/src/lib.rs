//! libmcring: the C ABI over the mcring engine.
//!
//! Conventions, the same for every function (see `include/libmcring.h`):
//! - Objects are opaque handles (`mcring_client`, `mcring_value`, ...) that
//!   the caller owns once a function hands one out, and frees with the
//!   matching `*_free` function (NULL is a no-op).
//! - Functions that can fail return an `mcring_status`; the message of the
//!   last failure on the calling thread is `mcring_last_error()`.
//! - Every pointer argument is checked for NULL (`MCRING_INVALID_ARGUMENT`),
//!   except a value pointer with length 0, which is an empty value.
//! - Keys and values are (pointer, length): any bytes.
//! - No panic ever unwinds into C: each function runs inside
//!   [`boundary`], which turns one into `MCRING_INTERNAL_ERROR`.
//!
//! One module per family of functions; the header is generated from these
//! by cbindgen (`ffi/cbindgen.toml`) and checked in.

#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

// In the order the header presents them.
pub mod by_key;
pub mod client;
pub mod codec;
pub mod commands;
pub mod config;
pub mod hot_keys;
pub mod last_error;
pub mod lease;
pub mod membership;
pub mod metrics;
pub mod multi;
pub mod servers;
pub mod shared_health;
pub mod stats;
pub mod status;
pub mod value;
pub mod version;

mod args;
mod boundary;
