"""pytest plugin for cachelib's own tests: cachelib.MemcachedCache is
mcring's (mcring.flask.CachelibMemcachedCache), on the memcached this run
started (the tests name 127.0.0.1:11212)."""

import os

import cachelib
import cachelib.memcached

import mcring.flask

ADDRESS = os.environ["MCRING_TEST_MEMCACHED"]


class MemcachedCache(mcring.flask.CachelibMemcachedCache):
    def __init__(self, servers=None, *args, **kwargs):
        if servers is not None and not hasattr(servers, "get"):
            servers = [ADDRESS if s == "127.0.0.1:11212" else s for s in servers]
        super().__init__(servers, *args, **kwargs)


cachelib.MemcachedCache = MemcachedCache
cachelib.memcached.MemcachedCache = MemcachedCache
