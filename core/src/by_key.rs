//! The key commands of a [`Client`], over one placement: each key placed by
//! itself (what `Client`'s own methods do), or every key placed by one
//! server key (libmemcached's `*_by_key`; see [`Client::by_key`]).
//!
//! Keys are checked before anything is sent; a bad key fails the whole call
//! and no byte of it reaches a server.

use std::sync::Arc;

use crate::client::{Client, SetItem, StoreMode};
use crate::cluster::Placement;
use crate::error::{Error, Result};
use crate::hot_keys::{hash_key, HotPath};
use crate::job::{Answer, JobKind, Writes};
use crate::lease::{ComputeError, Fetched, LeaseOptions, LeaseToken, Leased};
use crate::membership::Snapshot;
use crate::protocol::text::{Arith, Retrieval, Storage};
use crate::reply::{Item, ItemRef, Status};
use crate::stats::Counter;
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
    #[inline]
    pub fn get_with<T>(
        &self,
        key: impl AsRef<[u8]>,
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        if let Some(hot) = self.client.hot_path() {
            return self.get_counted(hot, key.as_ref(), cmd, f);
        }
        self.client.snapshot().read(key.as_ref(), self.at, cmd, f)
    }

    /// [`ByKey::get_with`] with hot-key counting on: the read is counted;
    /// a hot key is served from the near cache (plain `get`s only) or read
    /// from a random copy first (`read_policy=hot_random`).
    fn get_counted<T>(
        &self,
        hot: &HotPath,
        key: &[u8],
        cmd: Retrieval,
        f: impl FnOnce(ItemRef<'_>) -> T,
    ) -> Result<Option<T>> {
        let server_key = self.server_key_hash();
        let is_hot = hot.sketch.record(key, server_key) >= hot.rate;
        let snapshot = self.client.snapshot();
        let cluster = &snapshot.cluster;
        let near = hot.near.as_ref().filter(|_| is_hot && cmd == Retrieval::Get);
        let Some(near) = near else {
            if !(is_hot && hot.spread) {
                // An ordinary read, with migration's look at earlier rings.
                return snapshot.read(key, self.at, cmd, f);
            }
            return cluster.read_spread(key, self.at, cmd, true, f);
        };
        let h = hash_key(key, server_key);
        let mut f = Some(f);
        if let Some((Some(v), server)) = near.get(h, key, |item| f.take().map(|f| f(item))) {
            cluster.servers.count(server, Counter::NearCacheHits);
            return Ok(Some(v));
        }
        let Some(f) = f else { return Ok(None) };
        let version = near.version(h);
        let mut kept = None;
        let found = cluster.read_spread(key, self.at, cmd, hot.spread, |item| {
            kept = Some((item.value.to_vec(), item.flags));
            f(item)
        })?;
        if let Some((value, flags)) = kept {
            let server = cluster.route(key, self.at).ok().and_then(|(_, r)| r.home.first());
            near.put(h, key, &value, flags, server.unwrap_or(0), version);
        }
        Ok(found)
    }

    /// The placement hash of the server key, when one places the keys.
    fn server_key_hash(&self) -> Option<u32> {
        match self.at {
            Placement::ServerKey(sk) if !sk.is_empty() => {
                Some(self.client.snapshot().cluster.router.key_hash(sk))
            }
            _ => None,
        }
    }

    /// Notes a write of `key` by this client: the near cache drops it.
    #[inline]
    fn wrote(&self, key: &[u8]) {
        if let Some(near) = self.client.hot_path().and_then(|h| h.near.as_ref()) {
            near.forget(hash_key(key, self.server_key_hash()));
        }
    }

    /// Counts a read of `key` in the hot-key sketch, if counting is on.
    #[inline]
    fn count_read(&self, key: &[u8]) {
        if let Some(hot) = self.client.hot_path() {
            hot.sketch.record(key, self.server_key_hash());
        }
    }

    // ---- stampedes ---------------------------------------------------------

    /// Reads `key` through a lease; see [`Client::get_or_lease`].
    pub fn get_or_lease(&self, key: impl AsRef<[u8]>, opts: &LeaseOptions) -> Result<Leased> {
        let key = key.as_ref();
        self.count_read(key);
        crate::lease::get_or_lease(
            &self.client.snapshot().cluster,
            self.client.flights(),
            key,
            self.at,
            opts,
        )
    }

    /// Reads `key`, computing and storing it under a lease when this caller
    /// must; see [`Client::get_or_compute`].
    pub fn get_or_compute<T, E>(
        &self,
        key: impl AsRef<[u8]>,
        ttl: u32,
        opts: &LeaseOptions,
        compute: impl FnOnce() -> std::result::Result<(T, Vec<u8>, u32), E>,
    ) -> std::result::Result<Fetched<T>, ComputeError<E>> {
        match self.get_or_lease(key, opts).map_err(ComputeError::Cache)? {
            Leased::Hit(item) => Ok(Fetched::Cached(item)),
            Leased::Stale(item) => Ok(Fetched::Stale(item)),
            Leased::Compute(token) => {
                // Given back if `compute` fails, or panics.
                let mut held = Held { client: self.client, token: Some(token) };
                match compute() {
                    Ok((out, value, flags)) => {
                        if let Some(token) = held.token.take() {
                            let _ = fill(self.client, token, &value, flags, ttl);
                        }
                        Ok(Fetched::Computed(out))
                    }
                    Err(e) => {
                        if let Some(token) = held.token.take() {
                            let _ = release(self.client, token);
                        }
                        Err(ComputeError::Compute(e))
                    }
                }
            }
        }
    }

    /// Marks `key` stale on every copy for `stale_ttl` seconds; see
    /// [`Client::invalidate`].
    pub fn invalidate(&self, key: impl AsRef<[u8]>, stale_ttl: u32) -> Result<Status> {
        let key = key.as_ref();
        let status = self.client.snapshot().cluster.invalidate(key, self.at, stale_ttl);
        self.wrote(key);
        status
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
        let status = self.client.snapshot().write(key, self.at, kind);
        self.wrote(key);
        status_of(status?)
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
            let Some(item) = self.client.snapshot().read_for_update(key, self.at)? else {
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
        let status = self.client.snapshot().write(key.as_ref(), self.at, JobKind::Delete);
        self.wrote(key.as_ref());
        status_of(status?)
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
        let number = self.client.snapshot().write(key, self.at, kind);
        self.wrote(key);
        number_of(number?)
    }

    fn arith_or_init(&self, key: &[u8], kind: JobKind<'_>) -> Result<u64> {
        self.arith(key, kind)?.ok_or_else(|| {
            Error::protocol("", "ma with autovivify answered that the key does not exist")
        })
    }

    /// Sets a key's TTL. `Status::NotFound` if it does not exist.
    pub fn touch(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<Status> {
        status_of(self.client.snapshot().write(key.as_ref(), self.at, JobKind::Touch(ttl))?)
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
        self.wrote(key);
        self.client.snapshot().write_quiet(key, self.at, kind)
    }

    /// Deletes a key without waiting for the reply.
    pub fn delete_noreply(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.wrote(key.as_ref());
        self.client.snapshot().write_quiet(key.as_ref(), self.at, JobKind::Delete)
    }

    /// Sets a key's TTL without waiting for the reply.
    pub fn touch_noreply(&self, key: impl AsRef<[u8]>, ttl: u32) -> Result<()> {
        self.client.snapshot().write_quiet(key.as_ref(), self.at, JobKind::Touch(ttl))
    }

    /// `incr` without waiting for the reply.
    pub fn incr_noreply(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<()> {
        let kind = JobKind::Arith(Arith::Incr, delta);
        self.wrote(key.as_ref());
        self.client.snapshot().write_quiet(key.as_ref(), self.at, kind)
    }

    /// `decr` without waiting for the reply.
    pub fn decr_noreply(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<()> {
        let kind = JobKind::Arith(Arith::Decr, delta);
        self.wrote(key.as_ref());
        self.client.snapshot().write_quiet(key.as_ref(), self.at, kind)
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
        let snapshot = self.client.snapshot();
        let hashes = snapshot.cluster.hashes(&keys, self.at)?;
        for key in &keys {
            self.count_read(key);
        }
        snapshot.read_multi(&keys, &hashes, self.at, cmd, on_hit)
    }

    /// Stores many values in one fan-out. One result per item, in order.
    pub fn set_multi(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<Status>>> {
        let snapshot = self.client.snapshot();
        let (writes, hashes) = self.set_writes(&snapshot, items, ttl)?;
        let results = snapshot.write_multi(&writes, &hashes);
        for item in items {
            self.wrote(item.key);
        }
        Ok(results.into_iter().map(|r| r.and_then(status_of)).collect())
    }

    /// Stores many values in one pipelined fan-out of quiet meta commands,
    /// without waiting for replies (noreply). `Err` only if nothing could be
    /// sent (a bad key or value fails the whole call first); items whose
    /// server could not be reached are in the per-item results.
    pub fn set_multi_noreply(&self, items: &[SetItem<'_>], ttl: u32) -> Result<Vec<Result<()>>> {
        let snapshot = self.client.snapshot();
        let (writes, hashes) = self.set_writes(&snapshot, items, ttl)?;
        for item in items {
            self.wrote(item.key);
        }
        Ok(snapshot.write_multi_quiet(&writes, &hashes))
    }

    fn set_writes<'i>(
        &self,
        snapshot: &Snapshot,
        items: &[SetItem<'i>],
        ttl: u32,
    ) -> Result<(Writes<'i>, Vec<u32>)> {
        let mut writes = Vec::with_capacity(items.len());
        for item in items {
            self.client.check_value(item.value)?;
            let kind =
                JobKind::Store { cmd: Storage::Set, value: item.value, flags: item.flags, ttl };
            writes.push((item.key, kind));
        }
        let keys: Vec<&[u8]> = items.iter().map(|i| i.key).collect();
        let hashes = snapshot.cluster.hashes(&keys, self.at)?;
        Ok((writes, hashes))
    }

    /// Deletes many keys without waiting for replies, in one fan-out (quiet
    /// meta deletes, `md <key> q`, and one `mn` per server: memcached
    /// answers only a delete that failed, so a batch costs one round trip
    /// however many keys it holds). One result per key, in order: `Ok` once
    /// sent; a missing key is not an error. A delete memcached refused later
    /// is counted (`noreply_errors`).
    pub fn delete_multi_noreply<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<()>>> {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
        let snapshot = self.client.snapshot();
        let hashes = snapshot.cluster.hashes(&keys, self.at)?;
        let writes: Vec<(&[u8], JobKind<'_>)> =
            keys.iter().map(|k| (*k, JobKind::Delete)).collect();
        for key in &keys {
            self.wrote(key);
        }
        Ok(snapshot.write_multi_quiet(&writes, &hashes))
    }

    /// Deletes many keys in one fan-out. One result per key, in order.
    pub fn delete_multi<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Result<Status>>> {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
        let snapshot = self.client.snapshot();
        let hashes = snapshot.cluster.hashes(&keys, self.at)?;
        let writes: Vec<(&[u8], JobKind<'_>)> =
            keys.iter().map(|k| (*k, JobKind::Delete)).collect();
        for key in &keys {
            self.wrote(key);
        }
        Ok(snapshot
            .write_multi(&writes, &hashes)
            .into_iter()
            .map(|r| r.and_then(status_of))
            .collect())
    }
}

/// A lease being computed: given back if dropped unfilled (a panic in
/// `compute`).
struct Held<'a> {
    client: &'a Client,
    token: Option<LeaseToken>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            let _ = release(self.client, token);
        }
    }
}

/// Checks that `token` was handed out by `client`.
fn own_token(client: &Client, token: &LeaseToken) -> Result<()> {
    if Arc::ptr_eq(&token.flights, client.flights()) {
        Ok(())
    } else {
        Err(Error::BadValue("the lease was handed out by another client".into()))
    }
}

/// Fills a lease; see [`Client::lease_fill`].
pub(crate) fn fill(
    client: &Client,
    mut token: LeaseToken,
    value: &[u8],
    flags: u32,
    ttl: u32,
) -> Result<Status> {
    own_token(client, &token)?;
    let keys = ByKey { client, at: token.placement() };
    if let Err(e) = client.check_value(value) {
        // Nothing will be stored: the next caller may win at once.
        let _ = client.snapshot().cluster.lease_release(&token);
        return Err(e);
    }
    let ttl = crate::lease::fill_ttl(ttl, client.config().ttl_jitter, token.stale_ttl);
    let result = client.snapshot().cluster.lease_fill(&token, value, flags, ttl);
    keys.wrote(&token.key);
    let stored = matches!(result, Ok(s) if s.is_done());
    client
        .snapshot()
        .cluster
        .servers
        .count(token.server, if stored { Counter::LeaseFills } else { Counter::LeaseFillsLost });
    if let Some(ticket) = token.ticket.take() {
        // Callers of this process waiting for the key get the value its
        // winner returns: when it was stored, and when the lease copy failed
        // (its server is down). Not when a newer write or a delete came
        // first: they read that instead.
        let hand = stored || result.is_err();
        let handed = hand.then(|| Arc::new(Item { value: value.to_vec(), flags, cas: None }));
        ticket.end(handed);
    }
    result
}

/// Gives a lease back; see [`Client::lease_release`].
pub(crate) fn release(client: &Client, token: LeaseToken) -> Result<()> {
    own_token(client, &token)?;
    client.snapshot().cluster.servers.count(token.server, Counter::LeaseReleases);
    // Dropping the token after this ends its flight: followers read again.
    client.snapshot().cluster.lease_release(&token)
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
