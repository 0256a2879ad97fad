"""``mcring.pylibmc.Client``: pylibmc's client on the mcring engine.

Names, arguments, return values and exceptions are pylibmc 1.6's; the
requests, placement (libmemcached's, bit for bit), failover and the value
format (pylibmc's flags, so pylibmc and this client read each other's
values) are the engine's. Behaviors are translated into engine options once,
when they are set; every command is one call into the engine.
"""

import threading

import mcring

from . import errors
from .errors import NotFound, NotSupportedError, translate

# Behaviors in the order libmemcached applies them (pylibmc's table order),
# with the value pylibmc reports for each before it is set. Timeouts are
# the engine's defaults, not libmemcached's, since they are the ones in force.
DEFAULT_BEHAVIORS = {
    "no_block": 0,
    "tcp_nodelay": 0,
    "tcp_keepalive": 0,
    "hash": "default",
    "ketama_hash": 0,
    "ketama": 0,
    "ketama_weighted": 0,
    "distribution": "modula",
    "cas": 0,
    "buffer_requests": 0,
    "verify_keys": 0,
    "connect_timeout": 1000,
    "send_timeout": 0,
    "receive_timeout": 0,
    "num_replicas": 0,
    "auto_eject": 0,
    "retry_timeout": 1,
    "remove_failed": 0,
    "failure_limit": 2,
    "_io_msg_watermark": 500,
    "_io_bytes_watermark": 66560,
    "_io_key_prefetch": 0,
    "_hash_with_prefix_key": 0,
    "_noreply": 0,
    "_sort_hosts": 0,
    "_poll_timeout": 1000,
    "_socket_send_size": 0,
    "_socket_recv_size": 0,
    "dead_timeout": 0,
    "pickle_protocol": -1,
}
all_behaviors = list(DEFAULT_BEHAVIORS)
all_callbacks = ["namespace"]

#: pylibmc's hash names (libhashkit's) and the engine's.
hashers = {
    "default": "one_at_a_time",
    "md5": "md5",
    "crc": "crc",
    "fnv1_64": "fnv1_64",
    "fnv1a_64": "fnv1a_64",
    "fnv1_32": "fnv1_32",
    "fnv1a_32": "fnv1a_32",
    "hsieh": "hsieh",
    "murmur": "murmur",
    "jenkins": "jenkins",
}
#: pylibmc's distribution names and the engine's; the others (random,
#: spymemcached's ketama, virtual buckets) are not supported.
distributions = {
    "modula": "modula",
    "consistent": "ketama",
    "consistent ketama": "ketama",
    "consistent weighted": "ketama-weighted",
}
_HASH_NUMBERS = {name: i for i, name in enumerate(
    ["default", "md5", "crc", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur",
     "jenkins"]
)}

# memcached reads an expiration time over 30 days as a Unix time; one in
# 1970 has passed, so the item expires at once (what a negative TTL means
# to memcached and to pylibmc's callers).
_EXPIRED = 30 * 24 * 3600 + 1
_MISS = object()


def _ttl(time):
    if time is None:
        return 0
    if isinstance(time, int) and time < 0:
        return _EXPIRED
    return time


def _server(spec):
    """An engine server string for one of pylibmc's server specs."""
    if isinstance(spec, tuple):
        kind, host, port = spec[:3]
        weight = spec[3] if len(spec) > 3 else 1
        if kind == 4:  # server_type_unix
            return host
        if kind != 1:
            raise NotSupportedError("UDP servers are not supported")
        host = "[%s]" % host if ":" in host else host
        return "%s:%d:%d" % (host, port, weight)
    if not isinstance(spec, str):
        raise TypeError("server spec must be str or tuple, not %s" % type(spec).__name__)
    if spec.startswith("udp:"):
        raise NotSupportedError("UDP servers are not supported: %r" % spec)
    return spec


def options_of(behaviors, explicit=()):
    """The engine options for pylibmc behaviors (merged with the defaults;
    ``explicit`` names the ones a caller set), applied in libmemcached's
    order: ``ketama_weighted`` sets the MD5 hash after ``hash``;
    ``distribution`` comes last."""
    b = behaviors
    unknown = set(b) - set(DEFAULT_BEHAVIORS) - set(all_callbacks)
    if unknown:
        raise ValueError("unknown behavior names: %s" % ", ".join(sorted(map(str, unknown))))
    hash_name = b["hash"]
    if hash_name not in hashers:
        raise NotSupportedError("unknown hash %r" % (hash_name,))
    key_hash = hashers[hash_name]
    distribution = "modula"
    if b["ketama"]:
        distribution = "ketama"
    if b["ketama_weighted"]:
        distribution = "ketama-weighted"
        key_hash = "md5"
    if b["distribution"] != "modula" or "distribution" in explicit:
        if b["distribution"] not in distributions:
            raise NotSupportedError("distribution %r is not supported" % (b["distribution"],))
        distribution = distributions[b["distribution"]]
    if b["_sort_hosts"]:
        raise NotSupportedError("_sort_hosts is not supported (it defeats consistent hashing)")
    if b["ketama_hash"] not in (0, 1, "default", "md5", _HASH_NUMBERS.get(hash_name)):
        raise NotSupportedError("the continuum is always hashed as libmemcached's ketama does")
    options = {
        "value_format": "pylibmc",
        "compress_threshold": 0,
        "distribution": distribution,
        "hash": key_hash,
        "connect_timeout_ms": max(1, int(b["connect_timeout"])),
        "failure_limit": max(1, int(b["failure_limit"])),
        "retry_timeout_ms": max(0, int(b["retry_timeout"])) * 1000,
        # libmemcached without auto-ejection fails the requests of a dead
        # server rather than moving its keys.
        "failover": "none",
    }
    io_ms = [int(b["_poll_timeout"])]
    io_ms += [int(b[name]) // 1000 for name in ("send_timeout", "receive_timeout") if b[name]]
    options["io_timeout_ms"] = max(1, max(io_ms))
    if b["remove_failed"]:
        options["failover"] = "eject"
        options["failure_limit"] = int(b["remove_failed"])
    if b["auto_eject"]:
        options["failover"] = "eject"
    if b["num_replicas"]:
        options["replicas"] = int(b["num_replicas"])
        options["replica_placement"] = "libmemcached"
    if b.get("namespace"):
        options["prefix"] = b["namespace"]
    if b["_hash_with_prefix_key"]:
        options["hash_with_prefix"] = True
    return options


class BehaviorDict(dict):
    """The behaviors of a client; setting one sets it on the client."""

    def __init__(self, client, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client

    def __setitem__(self, name, value):
        super().__setitem__(name, value)
        self.client.set_behaviors({name: value})

    def update(self, d):
        super().update(d)
        self.client.set_behaviors(dict(d))


class Client:
    """A memcached client with pylibmc's interface, over mcring.

    ``servers`` are pylibmc's specs (``"host"``, ``"host:port"``,
    ``"host:port:weight"``, ``"[v6]:port"``, ``"/path.sock"``); ``binary`` is
    accepted and reported (mcring speaks the text and meta protocols);
    ``username``/``password`` log in with memcached's ASCII authentication
    (``memcached -Y``) rather than binary-protocol SASL, and a refused login
    raises ``AuthError`` (also an ``mcring.AuthError``). Thread-safe, unlike
    pylibmc's: the pools below are there for code that uses them.
    """

    def __init__(self, servers, behaviors=None, binary=False, username=None, password=None):
        if (username is None) != (password is None):
            raise TypeError("username and password go together")
        # Kept out of repr() and every message.
        self._login = {} if username is None else {"username": username, "password": password}
        self.binary = binary
        self.addresses = list(servers)
        self._servers = [_server(s) for s in self.addresses]
        self._behaviors = dict(DEFAULT_BEHAVIORS)
        self._explicit = set()
        self._hooks = (
            type(self).serialize is not Client.serialize
            or type(self).deserialize is not Client.deserialize
        )
        self._lock = threading.Lock()
        self._connect(behaviors or {})

    def _connect(self, behaviors):
        merged = dict(self._behaviors)
        explicit = set(self._explicit)
        for name, value in behaviors.items():
            if name == "_retry_timeout":
                name = "retry_timeout"
            merged[name] = value
            explicit.add(name)
        options = options_of(merged, explicit)
        if self._hooks:
            # Subclasses that serialize for themselves get bytes and flags.
            options["value_format"] = "raw"
        try:
            mc = mcring.Client(self._servers, **options, **self._login)
        except mcring.ConfigError as e:
            raise NotSupportedError(str(e)) from None
        self._behaviors = merged
        self._explicit = explicit
        # libmemcached's NOREPLY: writes are sent without waiting for replies.
        self._noreply = bool(merged["_noreply"])
        self._mc = mc

    def __repr__(self):
        return "%s(%r, binary=%r)" % (type(self).__name__, self.addresses, self.binary)

    def __str__(self):
        return "<%s for %s, binary=%r>" % (
            type(self).__name__,
            ", ".join(map(str, self.addresses)),
            self.binary,
        )

    # ---- serialization hooks ------------------------------------------------

    def serialize(self, value):
        """``(bytes, flags)`` of a value, as pylibmc stores it. Override it
        (with ``deserialize``) to store values your own way."""
        raise NotImplementedError("the engine serializes unless a subclass overrides this")

    def deserialize(self, value, flags):
        """The value of stored bytes and flags; raise ``CacheMiss`` to read
        it as a miss. Override it with ``serialize``."""
        raise NotImplementedError("the engine deserializes unless a subclass overrides this")

    def _store_args(self, value):
        if not self._hooks:
            return value, 0
        data, flags = self.serialize(value)
        if not isinstance(data, bytes):
            raise ValueError("serialize() must return (bytes, flags)")
        return data, flags

    def _loaded(self, pair, default):
        try:
            return self.deserialize(*pair)
        except errors.CacheMiss:
            return default

    # ---- single keys ----------------------------------------------------------

    def get(self, key, default=None):
        """The value of ``key``, or ``default`` on a miss."""
        try:
            if self._hooks:
                found = self._mc.get(key, _MISS, with_flags=True)
                return default if found is _MISS else self._loaded(found, default)
            return self._mc.get(key, default)
        except mcring.Error as e:
            if not key:
                return default
            raise translate(e) from None

    def _need_cas(self, what):
        if not self._behaviors["cas"]:
            raise ValueError("%s without cas behavior" % what)

    def gets(self, key):
        """``(value, cas)``, or ``(None, None)`` on a miss (with the ``cas``
        behavior, as in pylibmc)."""
        self._need_cas("gets")
        try:
            if self._hooks:
                value, flags, cas = self._mc.gets(key, with_flags=True)
                if cas is None:
                    return None, None
                return self._loaded((value, flags), None), cas
            return self._mc.gets(key)
        except mcring.Error as e:
            raise translate(e) from None

    def _store(self, op, key, value, time, min_compress_len, compress_level):
        data, flags = self._store_args(value)
        try:
            return op(key, data, _ttl(time), flags=flags, noreply=self._noreply)
        except mcring.Error as e:
            raise translate(e) from None

    def set(self, key, val, time=0, min_compress_len=0, compress_level=-1):
        """Stores ``val``; True when stored. A value too large (``TooBig``)
        also removes the key's old value, as memcached does on a failed set."""
        try:
            return self._store(self._mc.set, key, val, time, min_compress_len, compress_level)
        except errors.TooBig:
            self._mc.delete(key)
            raise

    def add(self, key, val, time=0, min_compress_len=0, compress_level=-1):
        """Stores ``val`` if ``key`` does not exist; True when stored."""
        return self._store(self._mc.add, key, val, time, min_compress_len, compress_level)

    def replace(self, key, val, time=0, min_compress_len=0, compress_level=-1):
        """Stores ``val`` if ``key`` exists; True when stored."""
        return self._store(self._mc.replace, key, val, time, min_compress_len, compress_level)

    def append(self, key, val, time=0, min_compress_len=0, compress_level=-1):
        """Appends bytes to an existing value; True when stored."""
        try:
            return self._mc.append(key, val, noreply=self._noreply)
        except mcring.Error as e:
            raise translate(e) from None

    def prepend(self, key, val, time=0, min_compress_len=0, compress_level=-1):
        """Prepends bytes to an existing value; True when stored."""
        try:
            return self._mc.prepend(key, val, noreply=self._noreply)
        except mcring.Error as e:
            raise translate(e) from None

    def cas(self, key, val, cas, time=0):
        """Stores ``val`` if ``key`` still has CAS token ``cas``; True when
        stored, False if it changed; ``NotFound`` if it is gone (with the
        ``cas`` behavior, as in pylibmc)."""
        self._need_cas("cas")
        data, flags = self._store_args(val)
        try:
            if self._mc.cas(key, data, cas, _ttl(time), flags=flags):
                return True
            if self._mc.get(key, _MISS) is _MISS:
                raise NotFound("error 16 from memcached_cas(%s): NOT FOUND" % (key,))
            return False
        except mcring.Error as e:
            raise translate(e) from None

    def delete(self, key):
        """Deletes ``key``; True if it existed."""
        try:
            return self._mc.delete(key, noreply=self._noreply)
        except mcring.Error as e:
            raise translate(e) from None

    def incr(self, key, delta=1):
        """Adds ``delta``; the new value. ``NotFound`` for a missing key."""
        try:
            n = self._mc.incr(key, delta)
        except mcring.Error as e:
            raise translate(e) from None
        if n is None:
            raise NotFound("error 16 from memcached_increment(%s): NOT FOUND" % (key,))
        return n

    def decr(self, key, delta=1):
        """Subtracts ``delta`` (stopping at 0); the new value. ``NotFound``
        for a missing key."""
        try:
            n = self._mc.decr(key, delta)
        except mcring.Error as e:
            raise translate(e) from None
        if n is None:
            raise NotFound("error 16 from memcached_decrement(%s): NOT FOUND" % (key,))
        return n

    def touch(self, key, seconds):
        """Sets the TTL of ``key``; True if it exists."""
        try:
            return self._mc.touch(key, _ttl(seconds), noreply=self._noreply)
        except mcring.Error as e:
            raise translate(e) from None

    # ---- many keys ------------------------------------------------------------

    def get_multi(self, keys, key_prefix=None):
        """A dict of the keys found (without ``key_prefix``)."""
        try:
            if self._hooks:
                found = self._mc.get_multi(keys, key_prefix or None, with_flags=True)
                out = {}
                for key, pair in found.items():
                    value = self._loaded(pair, _MISS)
                    if value is not _MISS:
                        out[key] = value
                return out
            return self._mc.get_multi(keys, key_prefix or None)
        except mcring.Error as e:
            raise translate(e) from None

    def set_multi(self, keys, time=0, key_prefix=None, min_compress_len=0, compress_level=-1):
        """Stores every item of the mapping ``keys``; the keys not stored."""
        try:
            if self._hooks:
                return self._store_each(self._mc.set, keys, time, key_prefix)
            return self._mc.set_multi(keys, _ttl(time), key_prefix or None, noreply=self._noreply)
        except mcring.Error as e:
            raise translate(e) from None

    def add_multi(self, keys, time=0, key_prefix=None, min_compress_len=0, compress_level=-1):
        """Adds every item of the mapping ``keys``; the keys not stored."""
        try:
            return self._store_each(self._mc.add, keys, time, key_prefix)
        except mcring.Error as e:
            raise translate(e) from None

    def _store_each(self, op, mapping, time, key_prefix):
        failed = []
        ttl = _ttl(time)
        prefix = _key_bytes(key_prefix) if key_prefix else b""
        for key, value in mapping.items():
            data, flags = self._store_args(value)
            full = prefix + _key_bytes(key) if prefix else key
            if not op(full, data, ttl, flags=flags, noreply=self._noreply):
                failed.append(key)
        return failed

    def delete_multi(self, keys, key_prefix=None):
        """Deletes every key; True if every one existed."""
        try:
            return self._mc.delete_multi(keys, key_prefix or None, noreply=self._noreply)
        except mcring.Error as e:
            raise translate(e) from None

    def incr_multi(self, keys, key_prefix=None, delta=1):
        """Adds ``delta`` to every key; None. ``NotFound`` if one was missing
        (after the others were incremented)."""
        prefix = _key_bytes(key_prefix) if key_prefix else b""
        missing = None
        try:
            for key in keys:
                if self._mc.incr(prefix + _key_bytes(key) if prefix else key, delta) is None:
                    missing = key
        except mcring.Error as e:
            raise translate(e) from None
        if missing is not None:
            raise NotFound("error 16 from memcached_increment(%s): NOT FOUND" % (missing,))

    # ---- servers ----------------------------------------------------------------

    def get_stats(self, args=None):
        """Every server's statistics: a list of ``(b"host:port (i)", {name:
        bytes})``, as pylibmc returns them."""
        try:
            stats = self._mc.server_stats(args)
        except mcring.Error as e:
            raise translate(e) from None
        out = []
        for i, name in enumerate(self._mc.servers):
            if name in stats:
                values = {k: v.encode() for k, v in stats[name].items()}
                out.append((("%s (%d)" % (name, i)).encode(), values))
        return out

    def flush_all(self, time=None):
        """Invalidates every item (after ``time`` seconds); True."""
        try:
            if self._mc.flush_all(max(0, time or 0)):
                return True
        except mcring.Error as e:
            raise translate(e) from None
        raise errors.SomeErrors("flush_all: some servers could not be flushed")

    def disconnect_all(self):
        """Closes idle connections; they reopen on demand."""
        self._mc.close()

    def clone(self):
        """Another client with the same servers and behaviors (mcring clients
        are thread-safe; this one shares nothing with the original)."""
        other = type(self).__new__(type(self))
        other.binary = self.binary
        other.addresses = list(self.addresses)
        other._servers = list(self._servers)
        other._behaviors = dict(self._behaviors)
        other._explicit = set(self._explicit)
        other._hooks = self._hooks
        other._login = dict(self._login)
        other._lock = threading.Lock()
        other._connect({})
        return other

    # ---- behaviors ---------------------------------------------------------------

    def get_behaviors(self):
        """The behaviors in effect, as pylibmc reports them."""
        reported = {k: v for k, v in self._behaviors.items() if k in DEFAULT_BEHAVIORS}
        for name, value in reported.items():
            if isinstance(value, bool):
                reported[name] = int(value)
        if reported["ketama_weighted"]:
            reported["hash"] = "md5"
            reported["ketama"] = 1
            if reported["distribution"] == "modula":
                reported["distribution"] = "consistent weighted"
        elif reported["ketama"] and reported["distribution"] == "modula":
            reported["distribution"] = "consistent ketama"
        elif reported["distribution"] in ("consistent", "consistent ketama"):
            reported["ketama"] = 1
        if reported["remove_failed"]:
            reported["failure_limit"] = reported["remove_failed"]
            reported["auto_eject"] = 1
        return BehaviorDict(self, reported)

    def set_behaviors(self, behaviors):
        """Sets behaviors (a dict of pylibmc's names); the engine options they
        map to take effect for the requests that follow."""
        with self._lock:
            self._connect(behaviors)

    behaviors = property(get_behaviors, set_behaviors)

    # ---- mapping interface ---------------------------------------------------------

    def __getitem__(self, key):
        value = self.get(key, _MISS)
        if value is _MISS:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        if not self.set(key, value):
            raise KeyError("failed setting %r" % (key,))

    def __delitem__(self, key):
        if not self.delete(key):
            raise KeyError(key)

    def __contains__(self, key):
        return self.get(key, _MISS) is not _MISS


def _key_bytes(key):
    return key.encode() if isinstance(key, str) else key
