//! Test harness shared by mcring's integration tests: real memcached
//! processes on free loopback ports (stopped by pid), and later the
//! libmemcached placement oracle and fault-injecting proxies.

pub mod c_build;
pub mod cli;
pub mod memcached;
pub mod oracle;
pub mod peers;
pub mod placement_inputs;
pub mod proxy;

pub use cli::mcring_binary;
pub use memcached::Memcached;
pub use proxy::{closed_port, Fault, FaultProxy};
