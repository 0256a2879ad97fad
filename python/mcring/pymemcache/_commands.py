"""pymemcache's commands over one mcring client: what ``Client`` and
``HashClient`` share.

The engine client runs with raw values (bytes and the caller's flags): the
``serde`` object is pymemcache's hook and is called exactly as pymemcache
calls it. Without one (pymemcache's default) values are stored as they are
and read back as bytes, straight from the engine.
"""

import mcring

from ._tls import tls_options
from .exceptions import MemcacheIllegalInputError, MemcacheServerError, translate
from .serde import LegacyWrappingSerde

_MISS = object()


def server_name(server):
    """``"host:port"`` (or a socket path) for a pymemcache server spec: a
    ``(host, port)`` tuple, ``"host:port"``, ``"host"``, ``"unix:/path"``."""
    if isinstance(server, (tuple, list)) and len(server) == 2:
        host, port = server
        if ":" in host and not host.startswith("["):
            host = "[%s]" % host
        return "%s:%d" % (host, int(port))
    if not isinstance(server, str):
        raise ValueError("Unsupported server specification: %r" % (server,))
    if server.startswith("unix:"):
        return server[5:]
    return server


def engine_options(connect_timeout, timeout, key_prefix, tls_context=None):
    """Engine options for pymemcache's timeouts (seconds), key prefix and
    ``tls_context``. pymemcache's default ``None`` (wait forever) keeps the
    engine's bounds."""
    options = {"value_format": "raw", "compress_threshold": 0}
    options.update(tls_options(tls_context))
    if connect_timeout is not None:
        options["connect_timeout_ms"] = max(1, int(connect_timeout * 1000))
    if timeout is not None:
        options["io_timeout_ms"] = max(1, int(timeout * 1000))
    if key_prefix:
        options["prefix"] = key_prefix.decode("ascii")
    return options


def prefix_bytes(key_prefix):
    if isinstance(key_prefix, str):
        key_prefix = key_prefix.encode("ascii")
    if not isinstance(key_prefix, bytes):
        raise TypeError("key_prefix should be bytes.")
    return key_prefix


def _cas_int(cas):
    """pymemcache takes a CAS token as int, str or bytes of digits."""
    if isinstance(cas, bytes):
        cas = cas.decode("ascii", "replace")
    try:
        return int(cas)
    except (TypeError, ValueError):
        raise MemcacheIllegalInputError("cas must be integer, string, or bytes: %r" % (cas,))


class Commands:
    """The command methods. A subclass sets ``_mc`` (the engine client),
    ``serde``, ``key_prefix``, ``default_noreply``, ``allow_unicode_keys``,
    ``encoding`` and ``ignore_exc``, then calls ``_ready()``."""

    def _ready(self):
        serde = self.serde
        self._plain = (
            isinstance(serde, LegacyWrappingSerde)
            and serde.serialize == serde._default_serialize
            and serde.deserialize == serde._default_deserialize
        )

    # ---- keys and values -------------------------------------------------------

    def _check(self, key):
        """pymemcache refuses str keys that are not ASCII unless
        ``allow_unicode_keys``; the engine checks the rest."""
        if type(key) is str and not self.allow_unicode_keys and not key.isascii():
            raise MemcacheIllegalInputError("Non-ASCII key: %r" % key)
        return key

    def _split(self, key):
        """``(key, server_key)``: HashClient places a ``(server_key, key)``
        tuple by its server key (libmemcached's ``*_by_key``)."""
        if type(key) is tuple and len(key) == 2:
            server_key, key = key
            return self._check(key), self._check(server_key)
        return self._check(key), None

    def _by_server_key(self, keys):
        """Keys grouped by server key (None for plain keys), in order."""
        groups = {}
        for key in keys:
            key, server_key = self._split(key)
            groups.setdefault(server_key, []).append(key)
        return groups

    def _checked(self, keys):
        """``(keys as a list, whether any is a (server_key, key) tuple)``,
        with ``_check`` applied; at C speed for the usual lists of str (all
        ASCII) or of bytes (anything goes)."""
        if not isinstance(keys, (list, tuple)):
            keys = list(keys)
        try:
            joined = "".join(keys)  # all str, so no tuples
            if self.allow_unicode_keys or joined.isascii():
                return keys, False
        except TypeError:  # not all str
            try:
                b"".join(keys)
                return keys, False
            except TypeError:  # a mix, or tuples
                pass
        for key in keys:
            self._split(key)
        return keys, tuple in map(type, keys)

    def _full_key(self, key):
        key = self._check(key)
        if isinstance(key, str):
            key = key.encode("utf8")
        return self.key_prefix + key

    def _data(self, key, value, flags):
        """``(bytes, flags)`` to store, as pymemcache makes them."""
        if self._plain:
            data, made = value, 0
        else:
            data, made = self.serde.serialize(self._full_key(key), value)
        if flags is not None:
            made = flags
        if not isinstance(data, bytes):
            try:
                data = str(data).encode(self.encoding)
            except UnicodeEncodeError as e:
                raise MemcacheIllegalInputError("Data values must be binary-safe: %s" % e)
        return data, made

    def _value(self, key, found):
        data, flags = found
        return self.serde.deserialize(key, data, flags)

    @staticmethod
    def _expire(expire):
        if not isinstance(expire, int) or isinstance(expire, bool):
            raise MemcacheIllegalInputError("expire must be integer, got bad value: %r" % expire)
        # memcached reads a negative TTL as "expired"; one in 1970 is that too.
        return expire if expire >= 0 else 30 * 24 * 3600 + 1

    def _noreply(self, noreply):
        return self.default_noreply if noreply is None else noreply

    def _failed(self, e, default):
        """The result of a failed read: ``default`` with ``ignore_exc``."""
        if self.ignore_exc:
            return default
        raise translate(e) from None

    # ---- reads -------------------------------------------------------------------

    def get(self, key, default=None):
        """The value of ``key``, or ``default``."""
        try:
            if type(key) is tuple:
                key, sk = self._split(key)
                found = self._mc.get(key, _MISS, with_flags=True, server_key=sk)
            elif self._plain:
                if type(key) is str and not key.isascii() and not self.allow_unicode_keys:
                    self._check(key)  # raises
                return self._mc.get(key, default)
            else:
                found = self._mc.get(self._check(key), _MISS, with_flags=True)
        except mcring.Error as e:
            return self._failed(e, default)
        if found is _MISS:
            return default
        return found[0] if self._plain else self._value(key, found)

    def get_many(self, keys):
        """A dict of the keys found."""
        if not keys:
            return {}
        keys, tuples = self._checked(keys)
        try:
            if tuples:
                found = {}
                for sk, group in self._by_server_key(keys).items():
                    found.update(self._mc.get_multi(group, with_flags=not self._plain,
                                                    server_key=sk))
            else:
                found = self._mc.get_multi(keys, with_flags=not self._plain)
        except mcring.Error as e:
            return self._failed(e, {})
        if self._plain:
            return found
        return {key: self._value(key, pair) for key, pair in found.items()}

    get_multi = get_many

    def gets(self, key, default=None, cas_default=None):
        """``(value, cas)`` (the token as bytes), or ``(default, cas_default)``."""
        key, sk = self._split(key)
        try:
            value, flags, cas = self._mc.gets(key, with_flags=True, server_key=sk)
        except mcring.Error as e:
            return self._failed(e, (default, cas_default))
        if cas is None:
            return default, cas_default
        return self._value(key, (value, flags)), b"%d" % cas

    def gets_many(self, keys):
        """A dict of the keys found to ``(value, cas)``."""
        if not keys:
            return {}
        try:
            found = {}
            for sk, group in self._by_server_key(self._checked(keys)[0]).items():
                found.update(self._mc.gets_multi(group, with_flags=True, server_key=sk))
        except mcring.Error as e:
            return self._failed(e, {})
        return {k: (self._value(k, (v, f)), b"%d" % cas) for k, (v, f, cas) in found.items()}

    gets_multi = gets_many

    def gat(self, key, expire=0, default=None):
        """The value of ``key``, setting its TTL; ``default`` on a miss."""
        key, sk = self._split(key)
        try:
            found = self._mc.get_and_touch(
                key, self._expire(expire), _MISS, with_flags=True, server_key=sk
            )
        except mcring.Error as e:
            return self._failed(e, default)
        return default if found is _MISS else self._value(key, found)

    def gats(self, key, expire=0, default=None, cas_default=None):
        """``(value, cas)`` of ``key``, setting its TTL."""
        key, sk = self._split(key)
        try:
            value, flags, cas = self._mc.gets_and_touch(
                key, self._expire(expire), with_flags=True, server_key=sk
            )
        except mcring.Error as e:
            return self._failed(e, (default, cas_default))
        if cas is None:
            return default, cas_default
        return self._value(key, (value, flags)), b"%d" % cas

    # ---- writes --------------------------------------------------------------------

    def _store(self, op, key, value, expire, noreply, flags):
        key, sk = self._split(key)
        data, made = self._data(key, value, flags)
        noreply = self._noreply(noreply)
        try:
            return op(key, data, self._expire(expire), flags=made, noreply=noreply, server_key=sk)
        except mcring.Error as e:
            raise translate(e) from None

    def set(self, key, value, expire=0, noreply=None, flags=None):
        """Stores ``value``; True (with noreply, always). A value too large
        also removes the key's old value, as memcached does on a failed set."""
        try:
            return self._store(self._mc.set, key, value, expire, noreply, flags)
        except MemcacheServerError:
            key, sk = self._split(key)
            self._mc.delete(key, server_key=sk)
            raise

    def add(self, key, value, expire=0, noreply=None, flags=None):
        """Stores ``value`` if ``key`` does not exist."""
        return self._store(self._mc.add, key, value, expire, noreply, flags)

    def replace(self, key, value, expire=0, noreply=None, flags=None):
        """Stores ``value`` if ``key`` exists."""
        return self._store(self._mc.replace, key, value, expire, noreply, flags)

    def _concat(self, op, key, value, noreply):
        key, sk = self._split(key)
        data, _ = self._data(key, value, None)
        try:
            return op(key, data, noreply=self._noreply(noreply), server_key=sk)
        except mcring.Error as e:
            raise translate(e) from None

    def append(self, key, value, expire=0, noreply=None, flags=None):
        """Appends bytes to the stored value."""
        return self._concat(self._mc.append, key, value, noreply)

    def prepend(self, key, value, expire=0, noreply=None, flags=None):
        """Prepends bytes to the stored value."""
        return self._concat(self._mc.prepend, key, value, noreply)

    def cas(self, key, value, cas, expire=0, noreply=False, flags=None):
        """Stores ``value`` if ``key`` still has CAS token ``cas``: True,
        False if it changed, None if it does not exist."""
        key, sk = self._split(key)
        data, made = self._data(key, value, flags)
        token = _cas_int(cas)
        try:
            ttl = self._expire(expire)
            if self._mc.cas(key, data, token, ttl, flags=made, noreply=noreply, server_key=sk):
                return True
            return None if self._mc.get(key, _MISS, server_key=sk) is _MISS else False
        except mcring.Error as e:
            raise translate(e) from None

    def set_many(self, values, expire=0, noreply=None, flags=None):
        """Stores every item; the keys that were not stored."""
        noreply = self._noreply(noreply)
        try:
            if self._plain and flags is None and tuple not in map(type, values):
                mapping = {
                    self._check(k): v if type(v) is bytes else self._data(k, v, None)[0]
                    for k, v in values.items()
                }
                return self._mc.set_multi(mapping, self._expire(expire), noreply=noreply)
            failed = []
            for key, value in values.items():
                inner, sk = self._split(key)
                data, made = self._data(inner, value, flags)
                stored = self._mc.set(
                    inner, data, self._expire(expire), flags=made, noreply=noreply, server_key=sk
                )
                if not stored:
                    failed.append(key)
            return failed
        except mcring.Error as e:
            raise translate(e) from None

    set_multi = set_many

    def delete(self, key, noreply=None):
        """Deletes ``key``: True if it existed (with noreply, always)."""
        try:
            key, sk = self._split(key)
            return self._mc.delete(key, noreply=self._noreply(noreply), server_key=sk)
        except mcring.Error as e:
            raise translate(e) from None

    def delete_many(self, keys, noreply=None):
        """Deletes every key; True."""
        if not keys:
            return True
        try:
            for sk, group in self._by_server_key(self._checked(keys)[0]).items():
                self._mc.delete_multi(group, noreply=self._noreply(noreply), server_key=sk)
        except mcring.Error as e:
            raise translate(e) from None
        return True

    delete_multi = delete_many

    def _arith(self, op, key, value, noreply):
        if not isinstance(value, int) or isinstance(value, bool):
            raise MemcacheIllegalInputError("value must be integer, got bad value: %r" % (value,))
        key, sk = self._split(key)
        try:
            result = op(key, value, noreply=noreply, server_key=sk)
        except mcring.Error as e:
            raise translate(e) from None
        return None if noreply else result

    def incr(self, key, value, noreply=False):
        """Adds ``value``: the new value, or None if ``key`` does not exist."""
        return self._arith(self._mc.incr, key, value, noreply)

    def decr(self, key, value, noreply=False):
        """Subtracts ``value`` (stopping at 0): the new value, or None."""
        return self._arith(self._mc.decr, key, value, noreply)

    def touch(self, key, expire=0, noreply=None):
        """Sets the TTL of ``key``: True if it exists (with noreply, always)."""
        key, sk = self._split(key)
        try:
            return self._mc.touch(
                key, self._expire(expire), noreply=self._noreply(noreply), server_key=sk
            )
        except mcring.Error as e:
            raise translate(e) from None


def typed_stats(stats):
    """memcached's statistics with pymemcache's types: bytes names, ints
    where they parse, floats for the rusage times, bytes otherwise."""
    out = {}
    for name, value in stats.items():
        raw = value.encode()
        if name in ("rusage_user", "rusage_system"):
            out[name.encode()] = float(value.replace(":", "."))
            continue
        if name in ("version", "inter", "stat_key_prefix"):
            out[name.encode()] = raw
            continue
        if name == "growth_factor":
            out[name.encode()] = float(value)
            continue
        if name == "umask":
            out[name.encode()] = int(value, 16)
            continue
        try:
            out[name.encode()] = int(value)
        except ValueError:
            out[name.encode()] = {"yes": True, "no": False}.get(value, raw)
    return out
