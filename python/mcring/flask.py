"""Flask-Caching and cachelib memcached backends on mcring::

    app.config["CACHE_TYPE"] = "mcring.flask.MemcachedCache"
    app.config["CACHE_MEMCACHED_SERVERS"] = ["10.0.0.1:11211", "10.0.0.2:11211"]

or, with cachelib alone, ``mcring.flask.CachelibMemcachedCache(servers)``.
They are Flask-Caching's and cachelib's own ``MemcachedCache`` (timeouts,
key prefixes, ``has``, ``inc``/``dec``, ``clear`` returning a bool, the
connection pool with ``pool_size``/``pool_blocking``) with the client they
would make from pylibmc made from ``mcring.pylibmc`` instead: placement,
failover and the value format are the engine's, and values are pylibmc's
(pickled objects), as with pylibmc. cachelib and (for ``MemcachedCache``)
Flask-Caching must be installed.
"""

from functools import partial

from cachelib.memcached import MemcachedCache as _CachelibMemcachedCache

import mcring.pylibmc


class _OnMcring:
    """The client cachelib makes from a server list: an mcring.pylibmc
    client in a pool of ``pool_size`` (cachelib's pylibmc set-up)."""

    def import_preferred_memcache_lib(self, servers, pool_size, pool_blocking=True,
                                      memcache_client_lib=None):
        client = mcring.pylibmc.Client(list(servers))
        if getattr(self, "check_connection", False):
            try:
                client.get_stats()
            except mcring.Error as err:
                raise RuntimeError("could not connect to memcached server(s): %s" % err) from err
        pool = mcring.pylibmc.ClientPool(client, pool_size)
        return pool, partial(pool.reserve, block=pool_blocking)


class CachelibMemcachedCache(_OnMcring, _CachelibMemcachedCache):
    """cachelib's ``MemcachedCache`` on mcring (same arguments)."""


try:
    from flask_caching.backends.memcache import MemcachedCache as _FlaskMemcachedCache
except ImportError:  # cachelib alone
    _FlaskMemcachedCache = None

if _FlaskMemcachedCache is not None:

    class MemcachedCache(_OnMcring, _FlaskMemcachedCache):
        """Flask-Caching's ``MemcachedCache`` on mcring: ``CACHE_TYPE =
        "mcring.flask.MemcachedCache"`` with ``CACHE_MEMCACHED_SERVERS``."""
