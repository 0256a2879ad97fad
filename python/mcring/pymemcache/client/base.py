"""pymemcache's ``Client`` (one server) and ``PooledClient``, over mcring."""

import socket

import mcring

from .._commands import Commands, engine_options, prefix_bytes, server_name, typed_stats
from ..exceptions import MemcacheUnknownError, translate
from ..serde import LegacyWrappingSerde


class KeepaliveOpts:
    """TCP keepalive settings (accepted; the engine's sockets keep their own)."""

    def __init__(self, idle=1, intvl=1, cnt=5):
        for name, value in (("idle", idle), ("intvl", intvl), ("cnt", cnt)):
            if value < 1:
                raise ValueError("The %s parameter must be greater or equal to 1." % name)
        self.idle, self.intvl, self.cnt = idle, intvl, cnt


class Client(Commands):
    """A client of one memcached server, with pymemcache 4's arguments.

    ``server`` is ``(host, port)``, ``"host:port"`` or a socket path.
    ``connect_timeout``/``timeout`` are seconds (``None`` keeps the engine's
    bounds: no call blocks forever); ``no_delay``, ``socket_module``,
    ``socket_keepalive`` are accepted (the engine's sockets always set
    TCP_NODELAY); ``tls_context`` (an ``ssl.SSLContext``) turns TLS on with
    the context's CAs (see ``mcring.pymemcache._tls``). Thread-safe.
    """

    def __init__(self, server, serde=None, serializer=None, deserializer=None,
                 connect_timeout=None, timeout=None, no_delay=False, ignore_exc=False,
                 socket_module=socket, socket_keepalive=None, key_prefix=b"",
                 default_noreply=True, allow_unicode_keys=False, encoding="ascii",
                 tls_context=None, _engine=None):
        if socket_keepalive is not None and not isinstance(socket_keepalive, KeepaliveOpts):
            raise ValueError("Unsupported keepalive options: pass a KeepaliveOpts")
        self.server = server
        self.serde = serde or LegacyWrappingSerde(serializer, deserializer)
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.no_delay = no_delay
        self.ignore_exc = ignore_exc
        self.socket_module = socket_module
        self.socket_keepalive = socket_keepalive
        self.key_prefix = prefix_bytes(key_prefix)
        self.default_noreply = default_noreply
        self.allow_unicode_keys = allow_unicode_keys
        self.encoding = encoding
        self.tls_context = tls_context
        self._mc = _engine or mcring.Client(
            [server_name(server)],
            **engine_options(connect_timeout, timeout, self.key_prefix, tls_context),
        )
        self._ready()

    def check_key(self, key, key_prefix):
        """The key as sent: ``key_prefix`` + the key's bytes."""
        key = self._check(key)
        return key_prefix + (key.encode("utf8") if isinstance(key, str) else key)

    def stats(self, *args):
        """The server's statistics (``stats [args]``), bytes names to typed values."""
        try:
            stats = self._mc.server_stats(" ".join(args) if args else None)
        except mcring.Error as e:
            raise translate(e) from None
        return typed_stats(next(iter(stats.values()), {}))

    def version(self):
        """The server's version, as bytes."""
        try:
            versions = self._mc.version()
        except mcring.Error as e:
            raise translate(e) from None
        if not versions:
            raise MemcacheUnknownError("no version")
        return next(iter(versions.values())).encode()

    def flush_all(self, delay=0, noreply=None):
        """Invalidates every item; True."""
        try:
            self._mc.flush_all(delay)
        except mcring.Error as e:
            raise translate(e) from None
        return True

    def close(self):
        """Closes idle connections (they reopen on demand)."""
        self._mc.close()

    def quit(self):
        """Closes idle connections."""
        self._mc.close()

    disconnect_all = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class PooledClient(Client):
    """pymemcache's pooled client: the same client (mcring pools connections
    per server itself); ``max_pool_size``, ``pool_idle_timeout`` and
    ``lock_generator`` are accepted."""

    def __init__(self, server, max_pool_size=None, pool_idle_timeout=0, lock_generator=None,
                 **kwargs):
        self.max_pool_size = max_pool_size
        self.pool_idle_timeout = pool_idle_timeout
        super().__init__(server, **kwargs)
