"""Django test settings: Django's own (tests/test_sqlite.py) plus one cache
per memcached backend, all on the memcached of MCRING_TEST_MEMCACHED.
Django's PyLibMCCache and PyMemcacheCache backends import pylibmc and
pymemcache by name: those names are mcring's compat modules here."""

import os

import mcring.pylibmc
import mcring.pymemcache

mcring.pylibmc.alias()
mcring.pymemcache.alias()

LOCATION = os.environ["MCRING_TEST_MEMCACHED"]

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3"},
    "other": {"ENGINE": "django.db.backends.sqlite3"},
}
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False

# Django's cache tests find each memcached backend's settings by BACKEND.
CACHES = {
    "default": {"BACKEND": "mcring.django.MemcachedCache", "LOCATION": LOCATION},
    "pylibmc": {
        "BACKEND": "django.core.cache.backends.memcached.PyLibMCCache",
        "LOCATION": LOCATION,
    },
    "pymemcache": {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": LOCATION,
    },
}
