"""mcring.flask.MemcachedCache in a Flask app (Flask-Caching's CACHE_TYPE),
through real memcached; and cachelib's own MemcachedCache tests on it
(flask_suite/run.py)."""

import os
import re
import subprocess
import sys

import flask
import flask_caching
import pytest

import mcring.flask
import mcring.pylibmc

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def app_and_cache(memcached):
    app = flask.Flask(__name__)
    app.config.update(
        CACHE_TYPE="mcring.flask.MemcachedCache",
        CACHE_MEMCACHED_SERVERS=[memcached.addr],
        CACHE_KEY_PREFIX="app:",
        CACHE_DEFAULT_TIMEOUT=300,
    )
    cache = flask_caching.Cache(app)
    return app, cache


def test_cache_type_is_mcring(app_and_cache, memcached):
    app, cache = app_and_cache
    with app.app_context():
        backend = cache.cache
        assert isinstance(backend, mcring.flask.MemcachedCache)
        with backend._client_context() as client:
            assert isinstance(client, mcring.pylibmc.Client)
        assert cache.set("k", {"a": [1, 2]})
        assert cache.get("k") == {"a": [1, 2]}
        # pylibmc's format on the server: a pickle, under the prefix.
        flags, _ = memcached.raw_get("app:k")
        assert flags == 1
        assert cache.has("k") and not cache.has("nope")
        assert cache.clear() is True
        assert cache.get("k") is None


def test_views_and_memoize(app_and_cache):
    app, cache = app_and_cache
    calls = []

    @app.route("/hello/<name>")
    @cache.cached(timeout=60)
    def hello(name):
        calls.append(name)
        return "hello %s %d" % (name, len(calls))

    @cache.memoize(60)
    def square(x):
        calls.append(x)
        return x * x

    client = app.test_client()
    first = client.get("/hello/ada").data
    assert client.get("/hello/ada").data == first
    assert client.get("/hello/bob").data != first
    with app.app_context():
        assert square(4) == 16 and square(4) == 16
        cache.delete_memoized(square, 4)
        assert square(4) == 16
    assert calls == ["ada", "bob", 4, 4]


def test_cachelib_alone(memcached):
    cache = mcring.flask.CachelibMemcachedCache([memcached.addr], key_prefix="lib:")
    assert cache.set("n", 1) and cache.inc("n") == 2 and cache.dec("n", 5) == -3
    assert cache.set_many({"a": 1, "b": "x"}) == ["a", "b"]
    assert cache.get_many("a", "b", "c") == [1, "x", None]
    assert cache.delete_many("a", "c") == ["a", "c"]
    assert cache.add("b", "y") is False


def test_cachelibs_own_memcached_tests_pass():
    run = subprocess.run(
        [sys.executable, os.path.join(HERE, "flask_suite", "run.py")],
        capture_output=True, text=True, timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-5000:]
    summary = re.search(r"=+ (\d+) passed(.*) in [\d.]+s", out)
    assert summary and int(summary.group(1)) >= 35, out[-3000:]
    assert "failed" not in summary.group(2) and "skipped" not in summary.group(2), summary.group(0)
