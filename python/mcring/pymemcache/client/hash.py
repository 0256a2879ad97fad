"""pymemcache's ``HashClient`` over mcring: one engine client for all the
servers, with libmemcached's ketama placement (pymemcache's own HashClient
uses rendezvous hashing, which no other client shares, so keys move once
when a service switches to mcring)."""

import socket

import mcring

from .._commands import Commands, engine_options, prefix_bytes, server_name
from ..exceptions import translate
from ..serde import LegacyWrappingSerde
from .base import Client


class HashClient(Commands):
    """A client of many servers, with pymemcache 4's arguments.

    A server that fails ``retry_attempts`` times in a row is taken out of
    the ring (its keys move to the others, as pymemcache's do) until
    ``dead_timeout`` seconds have passed; ``ignore_exc`` turns failed reads
    into misses. ``hasher`` and ``retry_timeout`` are accepted: placement and
    retries are the engine's.
    """

    client_class = Client

    def __init__(self, servers, hasher=None, serde=None, serializer=None, deserializer=None,
                 connect_timeout=None, timeout=None, no_delay=False, socket_module=socket,
                 socket_keepalive=None, key_prefix=b"", max_pool_size=None,
                 pool_idle_timeout=0, lock_generator=None, retry_attempts=2, retry_timeout=1,
                 dead_timeout=60, use_pooling=False, ignore_exc=False,
                 allow_unicode_keys=False, default_noreply=True, encoding="ascii",
                 tls_context=None):
        self.retry_attempts = retry_attempts
        self.retry_timeout = retry_timeout
        self.dead_timeout = dead_timeout
        self.use_pooling = use_pooling
        self.key_prefix = prefix_bytes(key_prefix)
        self.ignore_exc = ignore_exc
        self.allow_unicode_keys = allow_unicode_keys
        self.default_noreply = default_noreply
        self.encoding = encoding
        self.tls_context = tls_context
        self.hasher = hasher
        self.serde = serde or LegacyWrappingSerde(serializer, deserializer)
        self.default_kwargs = {
            "connect_timeout": connect_timeout,
            "timeout": timeout,
            "no_delay": no_delay,
            "socket_module": socket_module,
            "socket_keepalive": socket_keepalive,
            "key_prefix": key_prefix,
            "serde": serde,
            "serializer": serializer,
            "deserializer": deserializer,
            "allow_unicode_keys": allow_unicode_keys,
            "default_noreply": default_noreply,
            "encoding": encoding,
            "tls_context": tls_context,
        }
        if use_pooling:
            self.default_kwargs.update(
                max_pool_size=max_pool_size,
                pool_idle_timeout=pool_idle_timeout,
                lock_generator=lock_generator,
            )
        self.clients = {}
        self._names = []
        for server in servers:
            self._add(server)
        self._connect()

    def _add(self, server):
        name = server_name(server)
        if name not in self.clients:
            self._names.append(name)
            # One client per server, as pymemcache keeps them (stats, serde);
            # commands go through the ring of all of them.
            self.clients[name] = self.client_class(server, **self._client_kwargs())

    def _client_kwargs(self):
        return {k: v for k, v in self.default_kwargs.items()
                if k not in ("max_pool_size", "pool_idle_timeout", "lock_generator")}

    def _connect(self):
        options = engine_options(
            self.default_kwargs["connect_timeout"],
            self.default_kwargs["timeout"],
            self.key_prefix,
            self.tls_context,
        )
        options.update(
            failover="eject",
            failure_limit=max(1, int(self.retry_attempts)),
            retry_timeout_ms=max(0, int(self.dead_timeout * 1000)),
        )
        self._mc = mcring.Client(list(self._names), **options)
        self._ready()

    def add_server(self, server, port=None):
        """Adds a server to the ring."""
        self._add((server, port) if port is not None else server)
        self._connect()

    def remove_server(self, server, port=None):
        """Takes a server out of the ring."""
        name = server_name((server, port) if port is not None else server)
        if name in self.clients:
            del self.clients[name]
            self._names.remove(name)
            self._connect()

    def stats(self, *args):
        """``[("host:port", stats), ...]``, False for a server that failed."""
        return [
            (name, self._safely(client.stats, False, *args))
            for name, client in self.clients.items()
        ]

    def _safely(self, call, default, *args):
        try:
            return call(*args)
        except (mcring.Error, OSError):
            if not self.ignore_exc:
                raise
            return default

    def flush_all(self, delay=0, noreply=None):
        """Invalidates every item on every server."""
        try:
            self._mc.flush_all(delay)
        except mcring.Error as e:
            if not self.ignore_exc:
                raise translate(e) from None

    def close(self):
        """Closes idle connections (they reopen on demand)."""
        self._mc.close()

    def quit(self):
        """Closes idle connections."""
        self._mc.close()

    disconnect_all = close
