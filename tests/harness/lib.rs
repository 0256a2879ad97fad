//! Test harness shared by mcring's integration tests: real memcached
//! processes on free loopback ports (stopped by pid), and later the
//! libmemcached placement oracle and fault-injecting proxies; the `mcring`
//! binary, its exporter, and a real Prometheus in front of it.

pub mod c_build;
pub mod cli;
pub mod dnsmasq;
pub mod exporter;
pub mod http;
pub mod memcached;
pub mod oracle;
pub mod peers;
pub mod placement_inputs;
pub mod prometheus;
pub mod proxy;
pub mod tls;

pub use cli::mcring_binary;
pub use memcached::Memcached;
pub use proxy::{closed_port, Fault, FaultProxy};
