//! The key commands of a [`Client`], over one placement: each key placed by
//! itself (what `Client`'s own methods do), or every key placed by one
//! server key (libmemcached's `*_by_key`; see [`Client::by_key`]).
//!
//! Keys are checked before anything is sent; a bad key fails the whole call
//! and no byte of it reaches a server.

use crate::client::{Client, SetItem, StoreMode};
use crate::cluster::Placement;
use crate::error::{Error, Result};
use crate::job::{Answer, JobKind, Writes};
use crate::protocol::text::{Arith, Retrieval, Storage};
use crate::reply::{Item, ItemRef, Status};
use crate::value::CodecOptions;

/// The key commands of a client with one placement: see [`Client::by_key`].
#[derive(Clone, Copy)]
pub struct ByKey<'a> {
    client: &'a Client,
    at: Placement<'a>,
}

impl<'a> ByKey<'a> {
    pub(crate) fn new(client: &'a Client, server_key: Option<&'a [u8]>) -> ByKey<'a> {
        let at = match server_key {
            Some(server_key) => Placement::ServerKey(server_key),
            None => Placement::OwnKey,
        };
        ByKey { client, at }
    }

    /// Fetches one key. A miss is `Ok(None)`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.get_with(key, Retrieval::Get, |item| item.to_item())
    }

    /// Fetches one key with its CAS token.
    pub fn gets(&self, key: impl AsRef<[u8]>) -> Result<Option<Item>> {
        self.get_with(key, Retrieval::Gets, |item| item.to_item())
    }

    /// Fetches one key and sets its TTL (memcached `gats`), with CAS token.
    pub fn get_and_touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Option<Item>> {
        self.get_with(key, Retrieval::Gats { exptime: ttl }, |item| item.to_item())
    }

    /// Fetches one key and hands the value, borrowed from the receive
    /// buffer, to `f`. A miss is `Ok(None)`.
    pub fn get_with<T>(
        &self,
        key: impl AsRef<[u8]>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        self.client.cluster().read(key.as_ref(), self.at, cmd, f)
    }

    /// Stores a value unconditionally.
    pub fn set(&self, key: impl AsRef<[u8]>, value: &[u8], flags: u32, ttl: u32) -> Result<Status> {
        self.store(StoreMode::Set, key.as_ref(), value, flags, ttl)
    }

    /// Stores a value if the key does not exist.
    pub fn add(&self, key: impl AsRef<[u8]>, value: &[u8], flags: u32, ttl: u32) -> Result<Status> {
        self.store(StoreMode::Add, key.as_ref(), value, flags, ttl)
    }

    /// Stores a value if the key exists.
    pub fn replace(
        &self,
        key: impl AsRef<[u8]>,
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<Status> {
        self.store(StoreMode::Replace, key.as_ref(), value, flags, ttl)
    }

    /// Appends raw bytes to an existing value (flags and TTL are left as
    /// they were). See [`ByKey::append_value`] for values written through
    /// the codec.
    pub fn append(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<Status> {
        self.store(StoreMode::Append, key.as_ref(), value, 0, 0)
    }

    /// Prepends raw bytes to an existing value.
    pub fn prepend(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<Status> {
        self.store(StoreMode::Prepend, key.as_ref(), value, 0, 0)
    }

    /// Stores a value only if its CAS token is still `cas`.
    pub fn cas(
        &self,
        key: impl AsRef<[u8]>,
        value: &[u8],
        flags: u32,
        ttl: u32,
        cas: u64,
    ) -> Result<Status> {
        self.store(StoreMode::Cas(cas), key.as_ref(), value, flags, ttl)
    }

    /// Any storage command.
    pub fn store(
        &self,
        mode: StoreMode,
        key: &[u8],
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<Status> {
        self.client.check_value(value)?;
        let kind = JobKind::Store { cmd: mode.storage(), value, flags, ttl };
        status_of(self.client.cluster().write(key, self.at, kind)?)
    }

    /// Appends (or with `prepend`, prepends) `piece` to the value of `key`
    /// as the value codec sees it: a value stored compressed — by mcring or
    /// by php-memcached — is inflated, extended and stored again, where a raw
    /// [`ByKey::append`] would corrupt it. Reads the value with its flags,
    /// CAS token and remaining TTL (meta `mg`, memcached 1.6) and writes it
    /// back with `cas` and the same expiry (an absolute time beyond 30
    /// days), retrying a few times if another client changed it meanwhile
    /// (then `Status::Exists`). `Status::NotStored` if the key does not exist.
    pub fn append_value(
        &self,
        key: impl AsRef<[u8]>,
        piece: &[u8],
        prepend: bool,
    ) -> Result<Status> {
        let key = key.as_ref();
        let opts = CodecOptions::of(self.client.config());
        for _ in 0..10 {
            let Some(item) = self.client.cluster().read_for_update(key, self.at)? else {
                return Ok(Status::NotStored);
            };
            let joined = crate::value::concat(&item.value, item.flags, piece, prepend, &opts)
                .map_err(|e| Error::BadValue(e.to_string()))?;
            self.client.check_value(&joined.data)?;
            // The item keeps its remaining lifetime, as memcached's append does.
            let ttl = crate::protocol::exptime_for_remaining(item.ttl);
            match self.cas(key, &joined.data, joined.flags, ttl, item.cas)? {
                Status::Exists => continue,
                Status::NotFound => return Ok(Status::NotStored),
                other => return Ok(other),
            }
        }
        Ok(Status::Exists)
    }

    /// Deletes a key. `Status::NotFound` if it did not exist.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<Status> {
        status_of(self.client.cluster().write(key.as_ref(), self.at, JobKind::Delete)?)
    }

    /// Adds `delta` to a decimal value; `None` if the key does not exist.
    /// memcached wraps at 2^64.
    pub fn incr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        self.arith(key.as_ref(), JobKind::Arith(Arith::Incr, delta))
    }

    /// Subtracts `delta` from a decimal value, stopping at 0; `None` if the
    /// key does not exist.
    pub fn decr(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<Option<u64>> {
        self.arith(key.as_ref(), JobKind::Arith(Arith::Decr, delta))
    }

    /// Adds `delta` to a decimal value, or, when the key does not exist,
    /// creates it with the value `initial` (not `initial + delta`) and TTL
    /// `ttl`, atomically on the server (meta `ma` with autovivify, memcached
    /// 1.6). Returns the value after the command: php-memcached's
    /// `increment($key, $offset, $initial_value, $expiry)`.
    pub fn incr_or_init(
        &self,
        key: impl AsRef<[u8]>,
        delta: u64,
        initial: u64,
        ttl: u32,
    ) -> Result<u64> {
        let kind = JobKind::ArithOrInit { arith: Arith::Incr, delta, initial, ttl };
        self.arith_or_init(key.as_ref(), kind)
    }

    /// Like [`ByKey::incr_or_init`], subtracting (stopping at 0).
    pub fn decr_or_init(
        &self,
        key: impl AsRef<[u8]>,
        delta: u64,
        initial: u64,
        ttl: u32,
    ) -> Result<u64> {
        let kind = JobKind::ArithOrInit { arith: Arith::Decr, delta, initial, ttl };
        self.arith_or_init(key.as_ref(), kind)
    }

    fn arith(&self, key: &[u8], kind: JobKind<'_>) -> Result<Option<u64>> {
        number_of(self.client.cluster().write(key, self.at, kind)?)
    }

    fn arith_or_init(&self, key: &[u8], kind: JobKind<'_>) -> Result<u64> {
        self.arith(key, kind)?.ok_or_else(|| {
            Error::protocol("", "ma with autovivify answered that the key does not exist")
        })
    }

    /// Sets a key's TTL. `Status::NotFound` if it does not exist.
    pub fn touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Status> {
        status_of(self.client.cluster().write(key.as_ref(), self.at, JobKind::Touch(ttl))?)
    }

    // ---- noreply -------------------------------------------------------------

    /// Any storage command, sent as a quiet meta command and not waited for
    /// (noreply). `Err` only when it could not be sent at all (bad key or
    /// value, no server, a connection that failed). An error the server
    /// sends back later is counted (`noreply_errors`), never taken for the
    /// reply of another request.
    pub fn store_noreply(
        &self,
        mode: StoreMode,
        key: &[u8],
        value: &[u8],
        flags: u32,
        ttl: u32,
    ) -> Result<()> {
        self.client.check_value(value)?;
        let kind = JobKind::Store { cmd: mode.storage(), value, flags, ttl };
        self.client.cluster().write_quiet(key, self.at, kind)
    }

    /// Deletes a key without waiting for the reply.
    pub fn delete_noreply(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.client.cluster().write_quiet(key.as_ref(), self.at, JobKind::Delete)
    }

    /// Sets a key's TTL without waiting for the reply.
    pub fn touch_noreply(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<()> {
        self.client.cluster().write_quiet(key.as_ref(), self.at, JobKind::Touch(ttl))
    }

    /// `incr` without waiting for the reply.
    pub fn incr_noreply(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<()> {
        let kind = JobKind::Arith(Arith::Incr, delta);
        self.client.cluster().write_quiet(key.as_ref(), self.at, kind)
    }

    /// `decr` without waiting for the reply.
    pub fn decr_noreply(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<()> {
        let kind = JobKind::Arith(Arith::Decr, delta);
        self.client.cluster().write_quiet(key.as_ref(), self.at, kind)
    }

    // ---- many keys -----------------------------------------------------------

    /// Fetches many keys in one fan-out. The result has one entry per key,
    /// in order: `Ok(Some(item))` for a hit, `Ok(None)` for a miss, `Err` if
    /// no copy of the key could be read. A bad key fails the whole call
    /// before anything is sent.
    pub fn get_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Option<Item>>>> {
        self.collect_multi(keys, Retrieval::Get)
    }

    /// Like [`ByKey::get_multi`], with CAS tokens.
    pub fn gets_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Option<Item>>>> {
        self.collect_multi(keys, Retrieval::Gets)
    }

    fn collect_multi<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        cmd: Retrieval,
    ) -> Result<Vec<Result<Option<Item>>>> {
        let mut items: Vec<Option<Item>> = (0..keys.len()).map(|_| None).collect();
        let found = self.get_multi_with(keys, cmd, |i, item| {
            if let Some(slot) = items.get_mut(i) {
                *slot = Some(item.to_item());
            }
        })?;
        Ok(found.into_iter().zip(items).map(|(r, item)| r.map(|_| item)).collect())
    }

    /// Fetches many keys in one fan-out and hands each value found to
    /// `on_hit(key_index, item)` as it arrives, borrowed from the receive
    /// buffer. Returns one entry per key: `Ok(true)` hit, `Ok(false)` miss,
    /// `Err` if no copy could be read (or the value is over
    /// `max_value_bytes`: that key alone fails).
    pub fn get_multi_with<K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        cmd: Retrieval,
        on_hit: impl FnMut(usize, ItemRef<'_>),
    ) -> Result<Vec<Result<bool>>> {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
        let cluster = self.client.cluster();
        let hashes = cluster.hashes(&keys, self.at)?;
        cluster.read_multi(&keys, &hashes, cmd, on_hit)
    }

    /// Stores many values in one fan-out. One result per item, in order.
    pub fn set_multi(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<Status>>> {
        let (writes, hashes) = self.set_writes(items, ttl)?;
        let results = self.client.cluster().write_multi(&writes, &hashes);
        Ok(results.into_iter().map(|r| r.and_then(status_of)).collect())
    }

    /// Stores many values in one pipelined fan-out of quiet meta commands,
    /// without waiting for replies (noreply). `Err` only if nothing could be
    /// sent (a bad key or value fails the whole call first); items whose
    /// server could not be reached are in the per-item results.
    pub fn set_multi_noreply(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<()>>> {
        let (writes, hashes) = self.set_writes(items, ttl)?;
        Ok(self.client.cluster().write_multi_quiet(&writes, &hashes))
    }

    fn set_writes<'i>(&self, items: &[SetItem<'i>], ttl: u32) -> Result<(Writes<'i>, Vec<u32>)> {
        let mut writes = Vec::with_capacity(items.len());
        for item in items {
            self.client.check_value(item.value)?;
            let kind =
                JobKind::Store { cmd: Storage::Set, value: item.value, flags: item.flags, ttl };
            writes.push((item.key, kind));
        }
        let keys: Vec<&[u8]> = items.iter().map(|i| i.key).collect();
        let hashes = self.client.cluster().hashes(&keys, self.at)?;
        Ok((writes, hashes))
    }

    /// Deletes many keys in one fan-out. One result per key, in order.
    pub fn delete_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Status>>> {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
        let cluster = self.client.cluster();
        let hashes = cluster.hashes(&keys, self.at)?;
        let writes: Vec<(&[u8], JobKind<'_>)> =
            keys.iter().map(|k| (*k, JobKind::Delete)).collect();
        Ok(cluster
            .write_multi(&writes, &hashes)
            .into_iter()
            .map(|r| r.and_then(status_of))
            .collect())
    }
}

fn status_of(a: Answer) -> Result<Status> {
    match a {
        Answer::Status(s) => Ok(s),
        other => Err(Error::protocol("", &format!("unexpected answer {other:?}"))),
    }
}

fn number_of(a: Answer) -> Result<Option<u64>> {
    match a {
        Answer::Number(n) => Ok(n),
        other => Err(Error::protocol("", &format!("unexpected answer {other:?}"))),
    }
}
