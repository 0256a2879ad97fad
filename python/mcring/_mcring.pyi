"""Type stubs of the native module ``mcring._mcring`` (re-exported by ``mcring``)."""

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Dict, List, Optional, Tuple, Union

__version__: str

Key = Union[str, bytes]
"""A key: ``str`` (stored as UTF-8) or ``bytes``."""


class Error(Exception):
    """Base class of every error mcring raises. A miss is never an error."""

class BadKeyError(Error, ValueError):
    """A key was refused before anything was sent: empty, too long, with
    spaces or control characters, or not str/bytes.

    ``key`` holds the key (as bytes, or the object given when it was neither
    str nor bytes).
    """

    key: Any

class BadValueError(Error, ValueError):
    """A value was refused before anything was sent (e.g. over ``max_value_bytes``)."""

class UnreadableValueError(Error, ValueError):
    """A stored value cannot be turned into a Python value with this client's
    options: unknown flags, corrupt compressed data, PHP-serialized, igbinary
    or msgpack data, or a pickle while pickles are not allowed."""

class ConfigError(Error):
    """The server list or an option is invalid."""

class ConnectionError(Error, builtins.ConnectionError):
    """A server could not be reached, or the connection broke, or no server is
    configured. ``server`` names the server (``"host:port"``) when known.
    Also a builtin ``ConnectionError`` (so an ``OSError``)."""

    server: str

class ServerDownError(ConnectionError):
    """The server is marked dead after repeated failures and was not tried; it
    is probed again after ``retry_timeout_ms``."""

class TimeoutError(Error, builtins.TimeoutError):
    """A server did not answer within ``connect_timeout_ms`` or ``io_timeout_ms``.
    Also a builtin ``TimeoutError`` (so an ``OSError``)."""

    server: str

class ServerError(Error):
    """A server answered with an error (``SERVER_ERROR``, ``CLIENT_ERROR`` or ``ERROR``)."""

    server: str

class ProtocolError(ServerError):
    """A server sent bytes that are not a valid memcached reply."""

class InterruptedError(Error, builtins.InterruptedError):
    """A signal stopped a request and its handler raised no exception."""

class AuthError(Error):
    """The server refused the login (memcached ``-Y``: wrong username or
    password), or requires one and none is configured. The server is not
    marked dead; it is not tried again for ``retry_timeout_ms``. The message
    never holds the password."""

    server: str

def shared_health() -> None:
    """Makes server health shared by this process and every process forked from
    it afterwards. Call it in a pre-fork server's master before the workers
    start (gunicorn's ``on_starting``/``when_ready``, uWSGI's master): when one
    worker finds a server dead, the others skip it without paying their own
    timeouts. Calling it again does nothing."""

class Client:
    """A memcached client over a pool of servers, with libmemcached's key
    placement.

    ``servers`` is a list of ``"host:port[:weight]"`` strings (also
    ``"[v6addr]:port"`` and ``"/path/to.sock"``) or a config string such as
    ``"cache1:11211 cache2:11211 replicas=1"``. Keyword arguments are the
    config string's options: ``distribution`` (``"ketama-weighted"``,
    ``"ketama"``, ``"modula"``), ``hash``, ``prefix``, ``hash_with_prefix``,
    ``connect_timeout_ms``, ``io_timeout_ms``, ``max_value_bytes``,
    ``pool_size``, ``fanout_window``, ``replicas``, ``read_policy``,
    ``replica_placement``, ``failure_limit``, ``retry_timeout_ms``,
    ``failover`` (``"next"``, ``"eject"``, ``"gutter"``, ``"none"``),
    ``gutter``, ``gutter_ttl``, ``read_repair``, ``value_format`` (``"php"``
    or ``"pylibmc"``),
    ``serializer`` (``"json"`` or ``"pickle"``), ``compress_threshold``,
    ``tls``, ``tls_ca``, ``tls_cert``, ``tls_key``, ``tls_server_name``,
    ``username``, ``password``, ``password_file``. A TLS or login failure
    raises ``ConnectionError`` (its message names the reason) or
    ``AuthError``; the password never appears in a message or ``repr()``.

    Every key command takes ``server_key=``: the keys are then placed by
    that key instead of their own, exactly as libmemcached's ``*_by_key``
    functions (and php-memcached's ``getByKey``, ``setByKey``...) place them,
    so related keys share a server.

    Safe to share between threads (the GIL is released during network I/O);
    after ``os.fork()`` the child opens its own connections. No connection is
    opened until a request needs one. Raises ``ConfigError`` for a bad
    server or option.
    """

    def __init__(self, servers: Union[str, Iterable[str]], **options: Any) -> None: ...
    @property
    def servers(self) -> List[str]:
        """The servers now as ``"host:port"``, in ring order (DNS sources as the servers found)."""
    def get(
        self,
        key: Key,
        default: Any = None,
        *,
        with_flags: bool = False,
        server_key: Optional[Key] = None,
    ) -> Any:
        """The value of ``key``, or ``default`` on a miss; with ``with_flags``,
        ``(value, flags)``."""
    def gets(
        self,
        key: Key,
        *,
        with_flags: bool = False,
        server_key: Optional[Key] = None,
    ) -> Tuple[Any, ...]:
        """``(value, cas)`` of ``key``, or ``(None, None)`` on a miss; with
        ``with_flags``, ``(value, flags, cas)``."""
    def get_and_touch(
        self, key: Key, ttl: int, default: Any = None, *, with_flags: bool = False,
        server_key: Optional[Key] = None,
    ) -> Any:
        """The value of ``key``, setting its TTL (memcached ``gat``), or
        ``default`` on a miss; with ``with_flags``, ``(value, flags)``."""
    def gets_and_touch(
        self,
        key: Key,
        ttl: int,
        *,
        with_flags: bool = False,
        server_key: Optional[Key] = None,
    ) -> Tuple[Any, ...]:
        """``(value, cas)`` of ``key``, setting its TTL (memcached ``gats``), or
        ``(None, None)`` on a miss; with ``with_flags``, ``(value, flags, cas)``."""
    def set(
        self, key: Key, value: Any, ttl: int = 0, *, flags: int = 0, noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> bool:
        """Stores ``value`` under ``key``. True when stored (with ``noreply``,
        when sent: the server's answer is not waited for). ``flags`` are the
        application's own, 0-65535 (all 32 bits with ``value_format="raw"``).
        A TTL over 30 days is a Unix time, as memcached reads it; a negative or
        non-int TTL, or a value of a type the format cannot store, raises
        ``BadValueError``."""
    def add(
        self, key: Key, value: Any, ttl: int = 0, *, flags: int = 0, noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> bool:
        """Stores ``value`` only if ``key`` does not exist. True when stored."""
    def replace(
        self, key: Key, value: Any, ttl: int = 0, *, flags: int = 0, noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> bool:
        """Stores ``value`` only if ``key`` exists. True when stored."""
    def append(
        self,
        key: Key,
        value: Union[str, bytes],
        *,
        noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> bool:
        """Appends ``value`` to the stored value of an existing key (a value stored
        compressed is inflated, extended and stored again). True when stored."""
    def prepend(
        self,
        key: Key,
        value: Union[str, bytes],
        *,
        noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> bool:
        """Prepends ``value`` to the stored value of an existing key (as ``append``)."""
    def cas(
        self,
        key: Key,
        value: Any,
        cas: int,
        ttl: int = 0,
        *,
        flags: int = 0,
        noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> bool:
        """Stores ``value`` only if ``key`` still has CAS token ``cas`` (from ``gets``)."""
    def delete(self, key: Key, *, noreply: bool = False, server_key: Optional[Key] = None) -> bool:
        """Deletes ``key``. True if it existed."""
    def incr(
        self,
        key: Key,
        delta: int = 1,
        initial: Optional[int] = None,
        ttl: int = 0,
        *,
        noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> Optional[int]:
        """Adds ``delta`` to a stored integer; the new value, or None if ``key``
        does not exist. With ``initial``, a missing key is created atomically
        with the value ``initial`` (not ``initial + delta``) and TTL ``ttl``,
        and ``initial`` is returned; memcached stores it as digits with flags
        0, so ``get`` reads it as a str. With ``noreply``, None."""
    def decr(
        self,
        key: Key,
        delta: int = 1,
        initial: Optional[int] = None,
        ttl: int = 0,
        *,
        noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> Optional[int]:
        """Subtracts ``delta`` from a stored integer, stopping at 0; the new
        value, or None if ``key`` does not exist (``initial`` as for ``incr``)."""
    def touch(
        self,
        key: Key,
        ttl: int,
        *,
        noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> bool:
        """Sets the TTL of ``key``. True if it exists."""
    def get_multi(
        self, keys: Iterable[Key], key_prefix: Optional[Key] = None, *, with_flags: bool = False,
        server_key: Optional[Key] = None,
    ) -> Dict[Key, Any]:
        """A dict of the keys found, in one round trip per server. A key whose
        servers cannot be read is left out like a miss; the call fails only if
        no key could be read. ``key_prefix`` is written before every key (the
        dict keeps the keys as given); with ``with_flags`` each value is
        ``(value, flags)``."""
    def gets_multi(
        self, keys: Iterable[Key], key_prefix: Optional[Key] = None, *, with_flags: bool = False,
        server_key: Optional[Key] = None,
    ) -> Dict[Key, Tuple[Any, ...]]:
        """Like ``get_multi``, each value as ``(value, cas)`` (with ``with_flags``,
        ``(value, flags, cas)``)."""
    def set_multi(
        self,
        mapping: Mapping[Key, Any],
        ttl: int = 0,
        key_prefix: Optional[Key] = None,
        *,
        flags: int = 0,
        noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> List[Key]:
        """Stores every item in one round trip per server; the list of keys
        that were not stored."""
    def delete_multi(
        self, keys: Iterable[Key], key_prefix: Optional[Key] = None, *, noreply: bool = False,
        server_key: Optional[Key] = None,
    ) -> bool:
        """Deletes every key in one round trip per server. True if every key
        existed."""
    def flush_all(self, delay: int = 0) -> bool:
        """Invalidates every item on every server (after ``delay`` seconds). True
        when every server was flushed, False when some could not be; an error
        when none could."""
    def get_or_set(
        self,
        key: Key,
        compute: Callable[[], Any],
        ttl: int = 0,
        *,
        lease_ttl: Optional[float] = None,
        recache_s: Optional[int] = None,
        stale_ttl: Optional[int] = None,
    ) -> Any:
        """The value of ``key``; when it is missing (or invalidated, or due for
        early recache with ``recache_s``) one caller of the whole pool runs
        ``compute()`` and stores its value with ``ttl``, while the others wait
        for it (or get the stale value). ``lease_ttl`` (seconds, default the
        client's ``lease_ttl``, 3): how long a caller that never stores holds
        the others back. ``stale_ttl``: values stay this long past ``ttl``,
        served stale while one caller recomputes. An exception of ``compute``
        gives the lease back and propagates to its caller only."""
    def invalidate(self, key: Key, stale_ttl: int = 30) -> bool:
        """Marks ``key`` stale for ``stale_ttl`` seconds instead of deleting it
        (``get_or_set`` callers get the old value while one recomputes).
        ``stale_ttl=0`` deletes. True if a copy held the key."""
    def cached(
        self,
        ttl: int = 0,
        key: Union[str, Callable[..., Key], None] = None,
        *,
        lease_ttl: Optional[float] = None,
        recache_s: Optional[int] = None,
        stale_ttl: Optional[int] = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A decorator caching a function's results through ``get_or_set``.
        ``key``: a ``str.format`` template over the call's arguments, a
        callable taking them, or None (the function's name and a digest of
        the arguments' ``repr``). The wrapper's ``cache_key(*args, **kwargs)``
        gives the key."""
    def hot_keys(self) -> Dict[str, List[Dict[str, Any]]]:
        """The keys this client reads most, per server (``hot_keys=N``):
        ``{server: [{"key", "reads", "error", "rate"}, ...]}``, most read
        first; ``reads`` overstates by at most ``error``."""
    def stats(self) -> Dict[str, Dict[str, int]]:
        """This client's own counters per server (gets, hits, misses, sets, ...);
        nothing is sent. What the servers count is ``server_stats``."""
    def metrics(self) -> Dict[str, Any]:
        """The client's counters and latency histograms per server, and the
        counters' sum::

            {"servers": {"host:port": {
                "counters": {"gets": int, "hits": int, ...},
                "latency": {"get": {"count": int, "sum": float,
                                    "buckets": [(0.00001, int), ..., (inf, int)]},
                            "get_multi": {...}, "store": {...}, "delete": {...},
                            "arith": {...}, "touch": {...}, "meta": {...}}}},
             "total": {"gets": int, ...},
             "hot_keys": {"host:port": [{"key": ..., "reads": int, ...}]}}

        A request is timed from taking a connection to its last reply byte
        (a multi-key request once per server); ``sum`` is in seconds and the
        buckets are cumulative, as Prometheus' ``le`` buckets (upper bounds in
        seconds, 1-2-5 per decade from 10 µs to 10 s, then infinity).
        ``hot_keys`` is what ``hot_keys()`` returns ({} unless ``hot_keys=N``
        counts reads)."""
    def prometheus(self) -> str:
        """The client's metrics in Prometheus text format, rendered by the
        engine: ``mcring_client_*_total{server}`` and
        ``mcring_client_request_duration_seconds{server,command}``, the
        families every mcring binding and ``mcring exporter --shm`` export.
        See ``mcring.prometheus.Collector`` for ``prometheus_client``."""
    def server_stats(self, group: Optional[str] = None) -> Dict[str, Dict[str, str]]:
        """Every server's own statistics (memcached ``stats [group]``): pylibmc's
        ``get_stats``, pymemcache's ``stats``. This client's counters are ``stats``."""
    def version(self) -> Dict[str, str]:
        """Every server's version string."""
    def health(self) -> Dict[str, Dict[str, Any]]:
        """Probes every server: ``{"up": bool, "latency_ms": float, "error": str | None}``."""
    def server_for(self, key: Key) -> str:
        """The server that owns ``key`` when every server is alive, as ``"host:port"``."""
    def copies_for(self, key: Key) -> List[str]:
        """Every server that holds a copy of ``key``, primary first."""
    def add_server(self, server: str) -> None:
        """Adds a server (``"host:port[:weight]"``) or DNS source (``"dns+NAME:PORT"``, ``"srv+NAME"``) at run time; keys that move are migrated on first read."""
    def remove_server(self, server: str, drain: bool = False) -> None:
        """Removes a server (``"host:port"``) or DNS source; with ``drain`` its keys are still read and moved until ``migration_s`` has passed."""
    def set_servers(self, servers: Union[str, Sequence[str]], drain: bool = False) -> None:
        """Replaces the server list; servers in both lists keep their connections and counters."""
    def refresh_dns(self) -> None:
        """Resolves the DNS sources now and applies what they found."""
    def discovery_stats(self) -> Dict[str, Any]:
        """DNS discovery's counters: resolutions, failures, empty_answers, changes, last_error."""
    def close(self) -> None:
        """Closes idle connections; the client stays usable and reconnects on demand."""
    def __getitem__(self, key: Key) -> Any:
        """The value of ``key``; ``KeyError`` on a miss."""
    def __setitem__(self, key: Key, value: Any) -> None:
        """Stores ``value`` under ``key`` without a TTL."""
    def __delitem__(self, key: Key) -> None:
        """Deletes ``key``; ``KeyError`` if it did not exist."""
    def __contains__(self, key: Key) -> bool:
        """Whether ``key`` is stored."""
    def __enter__(self) -> "Client": ...
    def __exit__(
        self,
        exc_type: Optional[type[builtins.BaseException]],
        exc: Optional[builtins.BaseException],
        traceback: Optional[TracebackType],
    ) -> bool:
        """Closes idle connections."""
