"""A Django cache backend on mcring::

    CACHES = {
        "default": {
            "BACKEND": "mcring.django.MemcachedCache",
            "LOCATION": ["10.0.0.1:11211", "10.0.0.2:11211"],   # or "a:11211;b:11211"
            "OPTIONS": {"replicas": 1, "io_timeout_ms": 250},  # mcring.Client options
        }
    }

Django's memcached semantics (``BaseMemcachedCache``): ``make_key`` and
memcached's key rules (an invalid key raises ``InvalidCacheKey``), timeouts
(``None`` never expires, ``0`` expires at once, over 30 days an absolute
time), ``get_many``/``set_many`` (the keys not stored), ``incr``/``decr``
raising ``ValueError`` for a missing key and ``TypeError`` for a value that
is not a number, ``touch``, ``delete_many``, ``clear``. Values are pickled
unless they are str, bytes, int, float or bool, so any picklable object
round-trips. ``close()`` does nothing: the engine keeps its connections
(and their health) across requests. Placement, replication and failover
are the engine's (the ``OPTIONS``).
"""

import pickle

import mcring
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.utils.functional import cached_property

# memcached reads an expiration time over 30 days as a Unix time; one in
# 1970 has passed, so the item expires at once (Django's timeout=0).
_EXPIRED = 30 * 24 * 3600 + 1


class _NeverRaised(Exception):
    """mcring's incr returns None for a missing key instead of raising."""


def _unpicklable(e):
    """Django's callers expect pickle's own exception for a value that cannot
    be pickled; mcring keeps it as the cause of its BadValueError."""
    cause = e.__cause__
    if isinstance(cause, pickle.PickleError) or isinstance(cause, (TypeError, AttributeError)):
        return cause
    return e


class Client(mcring.Client):
    """``mcring.Client`` with the names ``BaseMemcachedCache`` uses."""

    def add(self, key, value, ttl=0):
        try:
            return super().add(key, value, ttl)
        except mcring.BadValueError as e:
            raise _unpicklable(e) from None

    def disconnect_all(self):
        self.close()


class _Library:
    """What ``BaseMemcachedCache`` takes as its client library."""

    Client = Client


class MemcachedCache(BaseMemcachedCache):
    """Django's memcached backend over ``mcring.Client``."""

    def __init__(self, server, params):
        super().__init__(server, params, library=_Library, value_not_found_exception=_NeverRaised)

    @cached_property
    def _cache(self):
        options = {"serializer": "pickle", **self._options}
        return self._class(list(self.client_servers), **options)

    def get_backend_timeout(self, timeout=DEFAULT_TIMEOUT):
        timeout = super().get_backend_timeout(timeout)
        return _EXPIRED if timeout < 0 else timeout

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        try:
            stored = self._cache.set(key, value, self.get_backend_timeout(timeout))
        except mcring.BadValueError as e:
            # A value refused (too large, not picklable) must not leave the
            # key's old value behind: memcached drops it on a failed set too.
            self._cache.delete(key)
            raise _unpicklable(e) from None
        if not stored:
            self._cache.delete(key)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except mcring.ServerError as e:
            if "non-numeric" in str(e):
                raise TypeError("cache value of %r is not an integer" % key) from e
            raise

    def close(self, **kwargs):
        # The engine keeps its connections and server health across requests.
        pass
