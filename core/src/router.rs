//! Key -> servers: which server owns a key, with the prefix rules of
//! libmemcached's namespace.
//!
//! The router never touches sockets or bytes on the wire; it answers "where"
//! and the client does the rest.

use crate::config::{Config, ServerSpec};
use crate::error::{Error, Result};
use crate::key::{check_key, MAX_KEY_LEN};
use crate::ring::Ring;

/// Placement of keys on the configured servers.
#[derive(Clone, Debug)]
pub struct Router {
    servers: Vec<ServerSpec>,
    ring: Ring,
    prefix: Vec<u8>,
    hash_with_prefix: bool,
}

impl Router {
    /// Builds the ring for `config`.
    pub fn new(config: &Config) -> Router {
        Router {
            servers: config.servers.clone(),
            ring: Ring::new(&config.servers, config.distribution, config.key_hash()),
            prefix: config.prefix.as_bytes().to_vec(),
            hash_with_prefix: config.hash_with_prefix,
        }
    }

    /// The configured servers, in order.
    pub fn servers(&self) -> &[ServerSpec] {
        &self.servers
    }

    /// The ring over all servers.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The prefix written before every key.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Refuses keys that must never reach a server (see [`crate::key`]).
    #[inline]
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        check_key(key, self.prefix.len())
            .map_err(|problem| Error::BadKey { key: key.to_vec(), problem })
    }

    /// The hash that places `key`: of the key alone, as libmemcached does by
    /// default, or of prefix + key with `hash_with_prefix`.
    #[inline]
    pub fn key_hash(&self, key: &[u8]) -> u32 {
        if self.hash_with_prefix && !self.prefix.is_empty() {
            let mut buf = [0u8; MAX_KEY_LEN];
            let len = self.prefix.len() + key.len();
            if len > MAX_KEY_LEN {
                // libmemcached hashes nothing (0) for an over-long namespaced key.
                return 0;
            }
            buf[..self.prefix.len()].copy_from_slice(&self.prefix);
            buf[self.prefix.len()..len].copy_from_slice(key);
            self.ring.key_hash(&buf[..len])
        } else {
            self.ring.key_hash(key)
        }
    }

    /// The index of the server that owns `key` on the full ring, after
    /// checking the key.
    #[inline]
    pub fn primary(&self, key: &[u8]) -> Result<usize> {
        self.check_key(key)?;
        self.ring.server_for_hash(self.key_hash(key)).ok_or(Error::NoServers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_not_hashed_by_default() {
        let plain = Router::new(&Config::parse("a:1 b:2 c:3").unwrap());
        let prefixed = Router::new(&Config::parse("a:1 b:2 c:3 prefix=app:").unwrap());
        for i in 0..200 {
            let k = format!("key{i}");
            assert_eq!(plain.primary(k.as_bytes()), prefixed.primary(k.as_bytes()));
        }
    }

    #[test]
    fn hash_with_prefix_hashes_both() {
        let r =
            Router::new(&Config::parse("a:1 b:2 c:3 prefix=app: hash_with_prefix=true").unwrap());
        let plain = Router::new(&Config::parse("a:1 b:2 c:3").unwrap());
        for i in 0..200 {
            let k = format!("key{i}");
            let full = format!("app:{k}");
            assert_eq!(r.primary(k.as_bytes()).unwrap(), plain.primary(full.as_bytes()).unwrap());
        }
    }

    #[test]
    fn prefix_counts_towards_the_key_limit() {
        let r = Router::new(&Config::parse("a:1 prefix=12345").unwrap());
        assert!(r.primary(&[b'k'; 245]).is_ok());
        assert!(matches!(r.primary(&[b'k'; 246]), Err(Error::BadKey { .. })));
    }

    #[test]
    fn no_servers() {
        let r = Router::new(&Config::parse("").unwrap());
        assert_eq!(r.primary(b"k"), Err(Error::NoServers));
    }
}
