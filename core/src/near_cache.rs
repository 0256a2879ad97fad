//! The near cache: values of hot keys kept in this process for
//! `near_cache_ms`, so the hottest reads cost no round trip.
//!
//! Only keys read more than `hot_key_rate` times a second by this client go
//! in (see `hot_keys`), and only plain `get`s are served from it. Staleness
//! is bounded: a value is served at most `near_cache_ms` after it was read
//! from memcached. This client's own writes of a key (set, delete, incr,
//! invalidate, lease fills, ...) void its entry at once, so a process reads
//! its own writes; writes by other clients and processes are seen once the
//! entry expires, at most `near_cache_ms` later. Memory is bounded by
//! `near_cache_bytes` (value bytes plus key bytes).
//!
//! A fixed array of slots, each an entry behind a read-write lock that is
//! only ever tried, never waited for: a slot that is busy (or locked by a
//! thread that vanished in a `fork()`) is a miss, and the read goes to
//! memcached. Voiding an entry is one atomic add on its slot's version, so
//! writes never wait either; an entry read from memcached before a write
//! voided its slot is not stored.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::health::monotonic_ms;
use crate::reply::ItemRef;

/// Slots: hot keys a process serves from memory at once.
const SLOTS: usize = 256;

struct Entry {
    hash: u64,
    key: Box<[u8]>,
    value: Box<[u8]>,
    flags: u32,
    /// The server the value was read from (its counters count the hits).
    server: usize,
    expires_ms: u64,
    /// The slot's version when the value was read from memcached.
    version: u64,
}

impl Entry {
    fn size(&self) -> usize {
        self.key.len() + self.value.len()
    }
}

#[derive(Default)]
struct Slot {
    /// Bumped by every write of a key of this slot: older entries are void.
    version: AtomicU64,
    entry: RwLock<Option<Entry>>,
}

/// A near cache.
pub(crate) struct NearCache {
    slots: Box<[Slot]>,
    ttl_ms: u64,
    limit: usize,
    bytes: AtomicUsize,
}

impl NearCache {
    pub(crate) fn new(ttl_ms: u64, limit: usize) -> NearCache {
        let slots = (0..SLOTS).map(|_| Slot::default()).collect();
        NearCache { slots, ttl_ms, limit, bytes: AtomicUsize::new(0) }
    }

    fn slot(&self, hash: u64) -> &Slot {
        &self.slots[(hash >> 48) as usize % SLOTS]
    }

    /// The version of `hash`'s slot, read before the memcached read whose
    /// value may be stored with [`NearCache::put`].
    #[inline]
    pub(crate) fn version(&self, hash: u64) -> u64 {
        self.slot(hash).version.load(Ordering::Acquire)
    }

    /// Hands the value of `key` to `f` if the cache holds a live one;
    /// returns what `f` returned and the server the value came from.
    #[inline]
    pub(crate) fn get<T>(
        &self,
        hash: u64,
        key: &[u8],
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Option<(T, usize)> {
        let slot = self.slot(hash);
        let guard = slot.entry.try_read().ok()?;
        let e = guard.as_ref()?;
        let live = e.hash == hash
            && *e.key == *key
            && e.version == slot.version.load(Ordering::Acquire)
            && e.expires_ms > monotonic_ms();
        if !live {
            return None;
        }
        Some((f(ItemRef { value: &e.value, flags: e.flags, cas: None }), e.server))
    }

    /// Keeps a value read from `server` when the slot's version is still
    /// `version` (no write of the slot's keys since the read), it fits, and
    /// nobody else is using the slot this moment.
    pub(crate) fn put(
        &self,
        hash: u64,
        key: &[u8],
        value: &[u8],
        flags: u32,
        server: usize,
        version: u64,
    ) {
        let size = key.len() + value.len();
        if size > self.limit {
            return;
        }
        let slot = self.slot(hash);
        let Ok(mut guard) = slot.entry.try_write() else { return };
        if slot.version.load(Ordering::Acquire) != version {
            return;
        }
        let old = guard.as_ref().map_or(0, Entry::size);
        // Reserve the room first, so the bound holds under concurrent puts.
        let reserved = self.bytes.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
            let after = now.saturating_sub(old) + size;
            (after <= self.limit).then_some(after)
        });
        if reserved.is_err() {
            return;
        }
        *guard = Some(Entry {
            hash,
            key: key.into(),
            value: value.into(),
            flags,
            server,
            expires_ms: monotonic_ms() + self.ttl_ms,
            version,
        });
    }

    /// Voids the entry of `hash`'s slot (a write of one of its keys).
    #[inline]
    pub(crate) fn forget(&self, hash: u64) {
        self.slot(hash).version.fetch_add(1, Ordering::AcqRel);
    }

    /// Voids every entry.
    pub(crate) fn clear(&self) {
        for s in self.slots.iter() {
            s.version.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Value and key bytes held now.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(c: &NearCache, h: u64, key: &[u8]) -> Option<Vec<u8>> {
        c.get(h, key, |i| i.value.to_vec()).map(|(v, _)| v)
    }

    #[test]
    fn serves_until_expiry_or_a_write() {
        let c = NearCache::new(50, 1000);
        let v = c.version(1);
        c.put(1, b"k", b"value", 3, 0, v);
        assert_eq!(get(&c, 1, b"k").as_deref(), Some(&b"value"[..]));
        assert_eq!(get(&c, 1, b"other"), None, "another key of the same slot");
        c.forget(1);
        assert_eq!(get(&c, 1, b"k"), None, "a write voids it at once");
        // A value read before a write is not kept.
        let before = c.version(1);
        c.forget(1);
        c.put(1, b"k", b"old", 0, 0, before);
        assert_eq!(get(&c, 1, b"k"), None);
        let v = c.version(1);
        c.put(1, b"k", b"new", 0, 0, v);
        assert_eq!(get(&c, 1, b"k").as_deref(), Some(&b"new"[..]));
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert_eq!(get(&c, 1, b"k"), None, "at most near_cache_ms old");
    }

    #[test]
    fn memory_is_bounded() {
        let c = NearCache::new(1000, 100);
        let big = vec![0u8; 101];
        c.put(1, b"k", &big, 0, 0, c.version(1));
        assert_eq!(get(&c, 1, b"k"), None);
        for h in 0..SLOTS as u64 {
            let h = h << 48;
            c.put(h, b"k", &[1u8; 30], 0, 0, c.version(h));
        }
        assert!(c.bytes() <= 100, "{}", c.bytes());
        c.clear();
        assert_eq!(get(&c, 0, b"k"), None);
    }
}
