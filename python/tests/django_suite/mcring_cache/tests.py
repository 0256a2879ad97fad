"""Django's BaseMemcachedTests (every test of BaseCacheTests and the
memcached ones) with mcring.django.MemcachedCache as the backend."""

from cache.tests import (  # Django's tests/cache/tests.py
    BaseMemcachedTests,
    caches_setting_for_tests,
    configured_caches,
    memcached_excluded_caches,
)
from django.test import TestCase, override_settings

McringCache_params = configured_caches["mcring.django.MemcachedCache"]


@override_settings(
    CACHES=caches_setting_for_tests(base=McringCache_params, exclude=memcached_excluded_caches)
)
class McringMemcachedCacheTests(BaseMemcachedTests, TestCase):
    base_params = McringCache_params
    # The engine keeps its connections across requests: close() does nothing.
    should_disconnect_on_close = False
