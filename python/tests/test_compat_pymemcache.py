"""mcring.pymemcache side by side with the real pymemcache 4, through real
memcached: every scenario runs on both, with and without a serde, and both
must return the same value or raise the same exception; both store the same
bytes and flags. pymemcache is a test dependency: without it this module
fails."""

import json
import sys

import pymemcache
import pymemcache.client.hash
import pymemcache.serde
import pytest

import mcring
import mcring.pymemcache
import mcring.pymemcache.client.hash
import mcring.pymemcache.serde


def outcome(call, mc):
    try:
        return ("ok", call(mc))
    except Exception as e:  # noqa: BLE001 (the exception is the outcome)
        return ("raised", e)


def same(theirs, ours):
    if theirs[0] == "ok" or ours[0] == "ok":
        return theirs == ours
    t, o = type(theirs[1]), type(ours[1])
    if t.__module__ in ("builtins", "socket"):
        return isinstance(ours[1], t)
    return t.__name__ == o.__name__


def cas_of(mc, key):
    return mc.gets(key)[1]


SCENARIOS = {
    "get miss": lambda mc: mc.get("zz"),
    "get default": lambda mc: mc.get("zz", 7),
    "set get": lambda mc: (mc.set("k", b"v"), mc.get("k")),
    "set str": lambda mc: (mc.set("k", "text"), mc.get("k")),
    "set int": lambda mc: (mc.set("k", 42), mc.get("k")),
    "set non-ascii str": lambda mc: (mc.set("k", "héllo"), mc.get("k")),
    "set expire": lambda mc: (mc.set("k", b"v", expire=300), mc.get("k")),
    "set negative expire": lambda mc: (mc.set("k", b"v", expire=-1), mc.get("k")),
    "set bad expire": lambda mc: mc.set("k", b"v", expire="x"),
    "set noreply": lambda mc: (mc.set("k", b"v", noreply=True), mc.get("k")),
    "set wait": lambda mc: mc.set("k", b"v", noreply=False),
    "set flags": lambda mc: (mc.set("k", b"v", flags=7), mc.get("k")),
    "set too big": lambda mc: mc.set("k", b"a" * (2**20 + 1), noreply=False),
    "non-ascii key": lambda mc: mc.set("ключ", b"v"),
    "key with space": lambda mc: mc.set("a b", b"v"),
    "key too long": lambda mc: mc.set("k" * 251, b"v"),
    "add": lambda mc: (mc.add("k", b"1", noreply=False), mc.add("k", b"2", noreply=False), mc.get("k")),
    "add noreply": lambda mc: (mc.add("k", b"1"), mc.add("k", b"2"), mc.get("k")),
    "replace": lambda mc: (
        mc.replace("k", b"1", noreply=False),
        mc.set("k", b"0"),
        mc.replace("k", b"2", noreply=False),
        mc.get("k"),
    ),
    "append prepend": lambda mc: (
        mc.append("k", b"x", noreply=False),
        mc.set("k", b"m"),
        mc.append("k", b"y", noreply=False),
        mc.prepend("k", b"w", noreply=False),
        mc.get("k"),
    ),
    "delete": lambda mc: (
        mc.delete("k", noreply=False),
        mc.set("k", b"v"),
        mc.delete("k", noreply=False),
        mc.delete("k"),
    ),
    "incr decr": lambda mc: (
        mc.incr("n", 1),
        mc.set("n", b"5"),
        mc.incr("n", 3),
        mc.decr("n", 10),
        mc.incr("n", 1, noreply=True),
        mc.get("n"),
    ),
    "incr text": lambda mc: (mc.set("s", b"abc"), mc.incr("s", 1)),
    "incr bad delta": lambda mc: mc.incr("s", "x"),
    "touch": lambda mc: (mc.touch("k", 10, noreply=False), mc.set("k", b"v"), mc.touch("k", 10, noreply=False)),
    "gets cas": lambda mc: (
        mc.gets("k"),
        mc.set("k", b"1"),
        mc.cas("k", b"2", cas_of(mc, "k")),
        mc.cas("k", b"3", b"1"),
        mc.cas("zz", b"3", b"1"),
        mc.get("k"),
    ),
    "gets default": lambda mc: mc.gets("zz", default=1, cas_default=2),
    "get_many": lambda mc: (mc.set("a", b"1"), mc.set("b", b"2"), mc.get_many(["a", "b", "c"])),
    "get_many empty": lambda mc: mc.get_many([]),
    "get_many non-ascii": lambda mc: mc.get_many(["ключ"]),
    "set_many": lambda mc: (mc.set_many({"a": b"1", "b": 2}, noreply=False), mc.get_multi(["a", "b"])),
    "gets_many": lambda mc: (
        mc.set("a", b"1"),
        {k: v for k, (v, cas) in mc.gets_many(["a", "zz"]).items()},
    ),
    "delete_many": lambda mc: (mc.set("a", b"1"), mc.delete_many(["a", "zz"]), mc.get("a")),
    "flush_all": lambda mc: (mc.set("a", b"1"), mc.flush_all(), mc.get("a")),
    "stats types": lambda mc: sorted(
        (k, type(v).__name__) for k, v in mc.stats().items()
        if k in (b"pid", b"version", b"rusage_user", b"curr_items", b"libevent")
    ),
    "version": lambda mc: mc.version().count(b"."),
}

PICKLE_SCENARIOS = {
    "values": lambda mc: [
        (mc.set(k, v), mc.get(k))
        for k, v in {"b": b"x", "s": "héllo", "i": 7, "f": 1.5, "d": {"a": [1]}, "t": (1, 2),
                     "n": None, "bool": True, "big": 2**100}.items()
    ],
    "get_many": lambda mc: (mc.set_many({"a": [1], "b": "2"}), mc.get_many(["a", "b", "c"])),
    "incr": lambda mc: (mc.set("n", 5), mc.incr("n", 2), mc.get("n")),
    "gets cas": lambda mc: (mc.set("k", {"v": 1}), mc.cas("k", {"v": 2}, cas_of(mc, "k")), mc.get("k")),
}


@pytest.fixture
def pair(start_memcached):
    """A real pymemcache client and an mcring.pymemcache one, each on a
    server of its own."""
    theirs_server, ours_server = start_memcached(), start_memcached()

    def make(kind="Client", **kwargs):
        if kind == "Client":
            theirs = pymemcache.Client(("127.0.0.1", theirs_server.port), **kwargs)
            ours = mcring.pymemcache.Client(("127.0.0.1", ours_server.port), **kwargs)
        else:
            theirs = pymemcache.HashClient([("127.0.0.1", theirs_server.port)], **kwargs)
            ours = mcring.pymemcache.HashClient([("127.0.0.1", ours_server.port)], **kwargs)
        theirs_server.raw(b"flush_all\r\n")
        ours_server.raw(b"flush_all\r\n")
        return theirs, ours

    make.servers = (theirs_server, ours_server)
    return make


@pytest.mark.parametrize("kind", ["Client", "HashClient"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_outcome(pair, kind, name):
    theirs, ours = pair(kind)
    a, b = outcome(SCENARIOS[name], theirs), outcome(SCENARIOS[name], ours)
    assert same(a, b), (a, b)


@pytest.mark.parametrize("kind", ["Client", "HashClient"])
@pytest.mark.parametrize("name", sorted(PICKLE_SCENARIOS))
def test_same_outcome_with_pickle_serde(pair, kind, name):
    theirs, ours = pair(kind, serde=pymemcache.serde.pickle_serde)
    a = outcome(PICKLE_SCENARIOS[name], theirs)
    ours.serde = mcring.pymemcache.serde.pickle_serde
    b = outcome(PICKLE_SCENARIOS[name], ours)
    assert same(a, b), (a, b)


def test_gat_gats(memcached):
    """gat/gats (pymemcache after 4.0): value and TTL in one round trip."""
    mc = mcring.pymemcache.Client(("127.0.0.1", memcached.port))
    assert mc.gat("k", 10) is None and mc.gats("k", 10) == (None, None)
    mc.set("k", b"v", expire=5)
    assert mc.gat("k", 1000) == b"v"
    value, cas = mc.gats("k", 1000)
    assert value == b"v" and cas == mc.gets("k")[1]
    mc.touch("k", 1)  # the TTL set by gats is replaced, as the item exists


def test_same_outcome_with_options(pair):
    options = dict(key_prefix=b"app:", allow_unicode_keys=True, default_noreply=False)
    theirs, ours = pair("HashClient", **options)
    scenario = lambda mc: (  # noqa: E731
        mc.set("ключ", b"v"),
        mc.get("ключ"),
        mc.get_many(["ключ", "x"]),
        mc.add("ключ", b"w"),
        mc.delete("ключ"),
        mc.delete("ключ"),
    )
    a, b = outcome(scenario, theirs), outcome(scenario, ours)
    assert same(a, b), (a, b)
    theirs_server, ours_server = pair.servers
    theirs.set("p", b"1")
    ours.set("p", b"1")
    assert theirs_server.raw_get("app:p") == ours_server.raw_get("app:p") == (0, b"1")


@pytest.mark.parametrize(
    "serde",
    ["pickle_serde", "compressed_serde", None],
)
def test_same_bytes_and_flags_on_the_server(pair, serde):
    kwargs = {}
    if serde:
        kwargs["serde"] = getattr(pymemcache.serde, serde)
    theirs, ours = pair("HashClient", **kwargs)
    if serde:
        ours.serde = getattr(mcring.pymemcache.serde, serde)
        ours._ready()
    theirs_server, ours_server = pair.servers
    values = {"b": b"\x00\xff", "s": "text", "i": 12, "long": b"z" * 2000}
    if serde:
        values.update({"list": [1, "x"], "u": "héllo ✓", "big": "y" * 5000})
    for key, value in values.items():
        theirs.set(key, value, noreply=False)
        ours.set(key, value, noreply=False)
        assert theirs_server.raw_get(key) == ours_server.raw_get(key), key


def test_serde_hook_called_as_pymemcache_calls_it(memcached):
    calls = []

    class JsonSerde:
        def serialize(self, key, value):
            calls.append(("serialize", key, value))
            return json.dumps(value).encode(), 3

        def deserialize(self, key, value, flags):
            calls.append(("deserialize", key, value, flags))
            return json.loads(value)

    for module in (pymemcache, mcring.pymemcache):
        mc = module.HashClient([("127.0.0.1", memcached.port)], serde=JsonSerde(), key_prefix=b"p:")
        mc.set("k", {"a": 1})
        assert mc.get("k") == {"a": 1}
        assert mc.get_many(["k"]) == {"k": {"a": 1}}
        assert memcached.raw_get("p:k") == (3, b'{"a": 1}')
    half = len(calls) // 2
    assert calls[:half] == calls[half:], "the same calls with the same arguments"
    assert calls[0] == ("serialize", b"p:k", {"a": 1})


class UserCacheTheirs:
    pass


def test_users_cache_aside_code_runs_with_the_import_changed(start_memcached):
    """Our users' pymemcache code: a HashClient cache-aside get_user /
    update_user with JSON values and expire=300, run once against pymemcache
    and once with only the import changed."""
    servers = [start_memcached() for _ in range(3)]
    source = '''
import json
from {module}.client.hash import HashClient

class JsonSerde:
    def serialize(self, key, value):
        return json.dumps(value).encode("utf-8"), 2 if isinstance(value, int) else 1
    def deserialize(self, key, value, flags):
        return json.loads(value.decode("utf-8"))

DB = {{}}
loads = []
cache = HashClient(SERVERS, serde=JsonSerde(), connect_timeout=1, timeout=1,
                   no_delay=True, ignore_exc=True, key_prefix=b"users:")

def load_user(user_id):
    loads.append(user_id)
    return DB.get(user_id)

def get_user(user_id):
    user = cache.get(str(user_id))
    if user is None:
        user = load_user(user_id)
        if user is not None:
            cache.set(str(user_id), user, expire=300)
    return user

def update_user(user_id, **fields):
    user = dict(DB.get(user_id, {{"id": user_id}}), **fields)
    DB[user_id] = user
    cache.set(str(user_id), user, expire=300)
    return user
'''
    results = {}
    for module in ("pymemcache", "mcring.pymemcache"):
        for s in servers:
            s.raw(b"flush_all\r\n")
        scope = {"SERVERS": [("127.0.0.1", s.port) for s in servers]}
        exec(source.format(module=module), scope)
        for i in range(30):
            scope["DB"][i] = {"id": i, "name": "user %d" % i}
        seen = [scope["get_user"](i) for i in range(30)]
        again = [scope["get_user"](i) for i in range(30)]
        scope["update_user"](3, name="Ada")
        updated = scope["get_user"](3)
        missing = scope["get_user"](999)
        cached = sorted(
            (s.raw_get("users:%d" % i) or (None, None))[1] is not None
            for s in servers for i in range(30)
        ).count(True)
        results[module] = (seen, again, updated, missing, list(scope["loads"]), cached)
    assert results["pymemcache"] == results["mcring.pymemcache"]
    seen, again, updated, missing, loads, cached = results["mcring.pymemcache"]
    assert seen == again and updated["name"] == "Ada" and missing is None
    assert loads == list(range(30)) + [999], "the second round came from the cache"
    assert cached == 30


def test_module_layout_and_aliasing(memcached, monkeypatch):
    import importlib

    for name in ["Client", "HashClient", "PooledClient", "KeepaliveOpts", "MemcacheError",
                 "MemcacheClientError", "MemcacheServerError", "MemcacheIllegalInputError",
                 "MemcacheUnknownCommandError", "MemcacheUnknownError",
                 "MemcacheUnexpectedCloseError"]:
        assert hasattr(mcring.pymemcache, name), name
    for name in ["pickle_serde", "PickleSerde", "CompressedSerde", "compressed_serde",
                 "LegacyWrappingSerde", "python_memcache_serializer",
                 "python_memcache_deserializer", "get_python_memcache_serializer",
                 "FLAG_PICKLE", "FLAG_TEXT"]:
        assert hasattr(mcring.pymemcache.serde, name), name
    assert issubclass(mcring.pymemcache.MemcacheError, mcring.Error)
    for name in list(sys.modules):
        if name == "pymemcache" or name.startswith("pymemcache."):
            monkeypatch.delitem(sys.modules, name)
    saved = {k: v for k, v in sys.modules.items() if k.startswith("mcring.pymemcache")}
    mcring.pymemcache.alias()
    try:
        hash_module = importlib.import_module("pymemcache.client.hash")
        assert hash_module.HashClient is mcring.pymemcache.HashClient
        assert importlib.import_module("pymemcache.serde").pickle_serde is (
            mcring.pymemcache.serde.pickle_serde
        )
    finally:
        for name in list(sys.modules):
            if name == "pymemcache" or name.startswith("pymemcache."):
                del sys.modules[name]
        sys.modules.update(saved)


def test_hash_client_fails_over_like_pymemcache(start_memcached):
    up, down = start_memcached(), start_memcached()
    addr = ("127.0.0.1", down.port)
    down.kill()
    mc = mcring.pymemcache.HashClient(
        [("127.0.0.1", up.port), addr], retry_attempts=1, dead_timeout=60,
        connect_timeout=0.5, timeout=0.5, default_noreply=False,
    )
    keys = ["k%d" % i for i in range(40)]
    failures = 0
    for key in keys:
        try:
            mc.set(key, b"v")
        except OSError:
            failures += 1
    assert failures <= 1, "the dead server leaves the ring after retry_attempts failures"
    assert all(mc.set(key, b"v") for key in keys)
    assert mc.get_many(keys) == {k: b"v" for k in keys}
    quiet = mcring.pymemcache.HashClient([addr], ignore_exc=True, connect_timeout=0.5)
    assert quiet.get("k", "dflt") == "dflt"
    assert quiet.get_many(["k"]) == {}
    with pytest.raises(OSError):
        mcring.pymemcache.HashClient([addr], connect_timeout=0.5).get("k")


def test_server_key_tuples(start_memcached):
    """HashClient's (server_key, key) tuples: placed by the server key, as
    libmemcached's *_by_key. (pymemcache 4.0.0's own HashClient fails on
    them with a TypeError, so there is no side-by-side run.)"""
    servers = [start_memcached() for _ in range(3)]
    hosts = [("127.0.0.1", s.port) for s in servers]
    broken = pymemcache.HashClient(hosts)
    with pytest.raises(TypeError):
        broken.set(("user:1", "user:1:name"), b"Ada")
    mc = mcring.pymemcache.HashClient(hosts, default_noreply=False)
    assert mc.set(("user:1", "user:1:name"), b"Ada") is True
    assert mc.set(("user:1", "user:1:mail"), b"ada@example.org") is True
    assert mc.get(("user:1", "user:1:name")) == b"Ada"
    assert mc.get_many([("user:1", "user:1:name"), ("user:1", "user:1:mail"), "nope"]) == {
        "user:1:name": b"Ada", "user:1:mail": b"ada@example.org"}
    assert mc.incr(("user:1", "n"), 1) is None
    assert mc.add(("user:1", "n"), b"5") is True
    assert mc.incr(("user:1", "n"), 1) == 6
    assert mc.gets(("user:1", "n"))[0] == b"6"
    assert mc.delete(("user:1", "n")) is True
    assert mc.touch(("user:1", "user:1:name"), 100) is True
    mc = mcring.pymemcache.HashClient(hosts)
    mc.set_many({("group", "g%d" % i): b"v" for i in range(30)}, noreply=False)
    holders = {i for i, s in enumerate(servers) for k in range(30) if s.raw_get("g%d" % k)}
    assert len(holders) == 1, "every key of the group on one server"
    owner = servers[holders.pop()]
    assert mc._mc.server_for("group") == owner.addr
    assert mc.get_many([("group", "g1"), ("group", "g2")]) == {"g1": b"v", "g2": b"v"}
    mc.delete_many([("group", "g1")])
    assert owner.raw_get("g1") is None and owner.raw_get("g2") is not None
