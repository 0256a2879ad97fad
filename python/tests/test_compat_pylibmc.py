"""mcring.pylibmc side by side with the real pylibmc 1.6, through real
memcached: every scenario runs on both, and both must return the same value
or raise the same exception; both store the same bytes and flags; keys land
on the same servers for every behavior that places them. pylibmc is a test
dependency: without it this module fails."""

import pickle

import pylibmc
import pytest

import mcring
import mcring.pylibmc


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (other.x, other.y) == (self.x, self.y)


def outcome(call, mc):
    try:
        return ("ok", call(mc))
    except Exception as e:  # noqa: BLE001 (the exception is the outcome)
        return ("raised", e)


def same(theirs, ours):
    """Equal results, or exceptions of the same pylibmc class (ours may be a
    subclass of a builtin that pylibmc raises, e.g. BadKeyError of ValueError)."""
    if theirs[0] == "ok" or ours[0] == "ok":
        return theirs == ours
    t, o = type(theirs[1]), type(ours[1])
    if t.__module__ == "builtins":
        return isinstance(ours[1], t)
    return t.__name__ == o.__name__


SCENARIOS = {
    "get miss": lambda mc: mc.get("zz"),
    "get default": lambda mc: mc.get("zz", 7),
    "get empty key": lambda mc: mc.get(""),
    "set get str": lambda mc: (mc.set("k", "héllo"), mc.get("k")),
    "set get bytes": lambda mc: (mc.set(b"k", b"\x00\xff"), mc.get("k")),
    "set get int": lambda mc: (mc.set("k", -5), mc.get("k")),
    "set get bigint": lambda mc: (mc.set("k", 2**100), mc.get("k")),
    "set get bool": lambda mc: (mc.set("k", True), mc.get("k")),
    "set get float": lambda mc: (mc.set("k", 1.5), mc.get("k")),
    "set get dict": lambda mc: (mc.set("k", {"a": [1, (2, 3)]}), mc.get("k")),
    "set get object": lambda mc: (mc.set("k", Point(1, 2)), mc.get("k")),
    "set get none": lambda mc: (mc.set("k", None), mc.get("k")),
    "set time": lambda mc: (mc.set("k", 1, time=100), mc.get("k")),
    "set negative time": lambda mc: (mc.set("k", 1, time=-1), mc.get("k")),
    "set unicode key": lambda mc: (mc.set("ключ", "знач"), mc.get("ключ")),
    "set too big": lambda mc: (mc.set("k", 1), mc.set("k", "a" * (2**20 + 1))),
    "set long key": lambda mc: mc.set("k" * 251, 1),
    "set unpicklable": lambda mc: mc.set("k", lambda: 1),
    "add": lambda mc: (mc.add("k", 1), mc.add("k", 2), mc.get("k")),
    "replace": lambda mc: (mc.replace("k", 1), mc.set("k", 1), mc.replace("k", 2), mc.get("k")),
    "append prepend": lambda mc: (
        mc.append("k", b"x"),
        mc.set("k", b"m"),
        mc.append("k", b"y"),
        mc.prepend("k", b"w"),
        mc.get("k"),
    ),
    "append str": lambda mc: (mc.set("k", "x"), mc.append("k", "y"), mc.get("k")),
    "delete": lambda mc: (mc.delete("k"), mc.set("k", 1), mc.delete("k"), mc.get("k")),
    "incr decr": lambda mc: (mc.set("n", 5), mc.incr("n"), mc.incr("n", 4), mc.decr("n", 20)),
    "incr missing": lambda mc: mc.incr("zz"),
    "decr missing": lambda mc: mc.decr("zz"),
    "incr text": lambda mc: (mc.set("s", "abc"), mc.incr("s")),
    "incr negative": lambda mc: (mc.set("n", 1), mc.incr("n", -1)),
    "touch": lambda mc: (mc.touch("k", 10), mc.set("k", 1), mc.touch("k", 10)),
    "gets without cas": lambda mc: mc.gets("k"),
    "cas without cas": lambda mc: mc.cas("k", 1, 1),
    "get_multi": lambda mc: (mc.set("a", 1), mc.set(b"b", "2"), mc.get_multi(["a", b"b", "c"])),
    "get_multi empty": lambda mc: mc.get_multi([]),
    "prefix": lambda mc: (
        mc.set_multi({"a": 1, "b": 2}, key_prefix="p_"),
        mc.get_multi(["a", "b", "zz"], key_prefix="p_"),
        mc.get("p_a"),
        mc.delete_multi(["a", "b"], key_prefix="p_"),
        mc.get("p_a"),
    ),
    "set_multi time": lambda mc: (mc.set_multi({"a": 1, "b": [1]}, time=100), mc.get("b")),
    "add_multi": lambda mc: (mc.set("s", 0), mc.add_multi({"a": 1, "s": 2}), mc.get_multi(["a", "s"])),
    "delete_multi": lambda mc: (mc.set("a", 1), mc.delete_multi(["a", "zz"]), mc.delete_multi([])),
    "incr_multi": lambda mc: (mc.set("n", 5), mc.incr_multi(["n"], delta=3), mc.get("n")),
    "incr_multi missing": lambda mc: (mc.set("n", 5), mc.incr_multi(["n", "m"])),
    "mapping": lambda mc: (mc.__setitem__("a", 1), "a" in mc, "b" in mc, mc["a"]),
    "getitem miss": lambda mc: mc["zz"],
    "delitem miss": lambda mc: mc.__delitem__("zz"),
    "flush_all": lambda mc: (mc.set("a", 1), mc.flush_all(), mc.get("a")),
    "key of wrong type": lambda mc: mc.get(5),
    "ttl of wrong type": lambda mc: mc.set("k", 1, time="x"),
}

CAS_SCENARIOS = {
    "gets miss": lambda mc: mc.gets("zz"),
    "gets": lambda mc: (mc.set("k", "v"), mc.gets("k")[0]),
    "cas ok": lambda mc: (mc.set("k", 1), mc.cas("k", 2, mc.gets("k")[1]), mc.get("k")),
    "cas stale": lambda mc: (mc.set("k", 1), mc.cas("k", 2, mc.gets("k")[1] + 1), mc.get("k")),
    "cas missing": lambda mc: mc.cas("zz", 1, 12345),
}


@pytest.fixture
def pair(start_memcached):
    """A real pylibmc client and an mcring.pylibmc client, each on a server
    of its own."""
    theirs_server, ours_server = start_memcached(), start_memcached()

    def make(behaviors=None):
        theirs = pylibmc.Client([theirs_server.addr], behaviors=behaviors)
        ours = mcring.pylibmc.Client([ours_server.addr], behaviors=behaviors)
        theirs.flush_all()
        ours.flush_all()
        return theirs, ours

    make.servers = (theirs_server, ours_server)
    return make


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_outcome(pair, name):
    theirs, ours = pair()
    a, b = outcome(SCENARIOS[name], theirs), outcome(SCENARIOS[name], ours)
    assert same(a, b), (a, b)


@pytest.mark.parametrize("name", sorted(CAS_SCENARIOS))
def test_same_outcome_with_cas(pair, name):
    theirs, ours = pair({"cas": True})
    a, b = outcome(CAS_SCENARIOS[name], theirs), outcome(CAS_SCENARIOS[name], ours)
    assert same(a, b), (a, b)


STORED = {
    "bytes": b"\x00\xffraw",
    "str": "héllo ✓",
    "int": -7,
    "bool": True,
    "float": 2.5,
    "list": [1, "x"],
    "object": Point(1, 2),
}


def test_same_bytes_and_flags_on_the_server(pair):
    theirs, ours = pair()
    theirs_server, ours_server = pair.servers
    for key, value in STORED.items():
        assert theirs.set(key, value) and ours.set(key, value)
        t, o = theirs_server.raw_get(key), ours_server.raw_get(key)
        if key == "float":
            # The engine pickles floats itself, with protocol 2 (pylibmc: 5):
            # the same flags and the same float, other framing bytes.
            assert t[0] == o[0] == 1 and pickle.loads(t[1]) == pickle.loads(o[1])
            continue
        assert t == o, key


def test_each_reads_the_others_values(pair, start_memcached):
    server = start_memcached()
    theirs = pylibmc.Client([server.addr])
    ours = mcring.pylibmc.Client([server.addr])
    for key, value in STORED.items():
        theirs.set("t:" + key, value)
        ours.set("o:" + key, value)
    for key, value in STORED.items():
        assert ours.get("t:" + key) == theirs.get("t:" + key), key
        assert theirs.get("o:" + key) == ours.get("o:" + key), key
    assert ours.get_multi(["t:" + k for k in STORED]) == theirs.get_multi(["t:" + k for k in STORED])


PLACEMENTS = [
    None,
    {"ketama": True},
    {"ketama_weighted": True},
    {"distribution": "consistent"},
    {"hash": "crc", "ketama": True},
    {"hash": "fnv1a_32"},
    {"hash": "fnv1a_32", "ketama": True},
    {"ketama_weighted": True},
]


@pytest.mark.parametrize("behaviors", PLACEMENTS, ids=repr)
def test_same_placement(start_memcached, behaviors):
    servers = [start_memcached() for _ in range(3)]
    specs = [servers[0].addr, servers[1].addr + ":2", servers[2].addr]
    keys = ["key:%d" % i for i in range(120)]
    where = {}
    for name, module in [("theirs", pylibmc), ("ours", mcring.pylibmc)]:
        mc = module.Client(specs, behaviors=behaviors)
        mc.flush_all()
        for key in keys:
            assert mc.set(key, key)
        where[name] = [[i for i, s in enumerate(servers) if s.raw_get(key)] for key in keys]
    assert where["theirs"] == where["ours"]
    if (behaviors or {}).get("hash") != "crc":  # libhashkit's crc is 15 bits: one server
        assert len({tuple(w) for w in where["ours"]}) > 1, "keys spread over servers"


def test_replicas_land_where_libmemcached_puts_them(start_memcached):
    """num_replicas with ketama_weighted: the copies are on the servers the
    real pylibmc (binary protocol, as libmemcached's replication needs) puts
    them on."""
    servers = [start_memcached() for _ in range(4)]
    specs = [s.addr for s in servers]
    behaviors = {"ketama_weighted": True, "num_replicas": 1}
    keys = ["r:%d" % i for i in range(80)]
    where = {}
    for name, module in [("theirs", pylibmc), ("ours", mcring.pylibmc)]:
        mc = module.Client(specs, binary=True, behaviors=behaviors)
        mc.flush_all()
        for key in keys:
            assert mc.set(key, key)
        # libmemcached sends replica writes quiet and buffered: a read
        # of every key pushes them out.
        assert len(mc.get_multi(keys)) == len(keys)
        where[name] = [[i for i, s in enumerate(servers) if s.raw_get(key)] for key in keys]
    assert where["theirs"] == where["ours"]
    assert all(len(w) == 2 for w in where["ours"])


def test_behaviors_read_and_written(memcached):
    mc = mcring.pylibmc.Client([memcached.addr])
    theirs = pylibmc.Client([memcached.addr])
    assert set(mc.behaviors) == set(theirs.behaviors)
    mc.behaviors = {"ketama_weighted": True, "tcp_nodelay": True}
    theirs.behaviors = {"ketama_weighted": True, "tcp_nodelay": True}
    for name in ["hash", "ketama", "ketama_weighted", "distribution", "tcp_nodelay"]:
        assert mc.behaviors[name] == theirs.behaviors[name], name
    mc.behaviors["remove_failed"] = 3
    assert mc.behaviors["remove_failed"] == 3 and mc.behaviors["auto_eject"] == 1
    with pytest.raises(ValueError, match="unknown behavior"):
        mc.behaviors = {"no_such_thing": 1}
    with pytest.raises(mcring.pylibmc.NotSupportedError):
        mc.behaviors = {"distribution": "random"}
    assert mc.set("still", "works") and mc.get("still") == "works"


def test_behaviors_reach_the_engine(start_memcached, black_hole):
    import time

    up = start_memcached()
    keys = ["k%d" % i for i in range(40)]
    # receive_timeout is libmemcached's microseconds: 300 ms per request.
    timeouts = {"connect_timeout": 200, "receive_timeout": 300_000, "retry_timeout": 60}
    plain = mcring.pylibmc.Client([black_hole, up.addr], behaviors=timeouts)
    assert plain.behaviors["connect_timeout"] == 200
    start = time.monotonic()
    with pytest.raises(mcring.pylibmc.TimeoutError) as e:
        for key in keys:
            plain.set(key, 1)
    assert time.monotonic() - start < 2.5, "one timeout of about 300 ms"
    assert isinstance(e.value, TimeoutError) and isinstance(e.value, mcring.pylibmc.Error)
    # Without auto-ejection (libmemcached's default) a dead server's keys fail.
    with pytest.raises(mcring.pylibmc.Error):
        for key in keys:
            plain.set(key, 1)
    # remove_failed=1: the black hole is ejected after one failure, and its
    # keys move to the server that is up.
    ejecting = mcring.pylibmc.Client(
        [black_hole, up.addr], behaviors=dict(timeouts, remove_failed=1)
    )
    assert all(ejecting.set(key, 1) for key in keys)
    assert all(up.raw_get(key) for key in keys)


def test_module_layout_and_aliasing(memcached, monkeypatch):
    import importlib
    import sys

    for name in ["Client", "ClientPool", "ThreadMappedPool", "Error", "NotFound", "ServerDown",
                 "ServerDead", "SomeErrors", "TooBig", "CacheMiss", "ClientError",
                 "hashers", "distributions", "build_info", "client", "pools", "consts"]:
        assert hasattr(mcring.pylibmc, name), name
    for name in dir(pylibmc):
        if isinstance(getattr(pylibmc, name), type) and issubclass(getattr(pylibmc, name), Exception):
            assert issubclass(getattr(mcring.pylibmc, name), mcring.pylibmc.Error), name
    assert issubclass(mcring.pylibmc.Error, mcring.Error)
    assert issubclass(mcring.pylibmc.ConnectionError, ConnectionError)
    monkeypatch.setitem(sys.modules, "pylibmc", mcring.pylibmc)
    aliased = importlib.import_module("pylibmc")
    assert aliased.Client is mcring.pylibmc.Client
    from pylibmc import ClientPool  # noqa: F401 (as code written for pylibmc does)


def test_pools(memcached):
    mc = mcring.pylibmc.Client([memcached.addr])
    pool = mcring.pylibmc.ClientPool(mc, 2)
    with pool.reserve() as a:
        with pool.reserve() as b:
            assert a is not b and a.set("p", 1) and b.get("p") == 1
    mapped = mcring.pylibmc.ThreadMappedPool(mc)
    with mapped.reserve() as c:
        assert c.get("p") == 1
    assert mapped.relinquish() is c


def test_serialize_override(memcached):
    class Upper(mcring.pylibmc.Client):
        def serialize(self, value):
            return value.upper().encode(), 42

        def deserialize(self, data, flags):
            if data == b"MISS":
                raise mcring.pylibmc.CacheMiss
            return (data.decode(), flags)

    mc = Upper([memcached.addr])
    assert mc.set("k", "abc")
    assert memcached.raw_get("k") == (42, b"ABC")
    assert mc.get("k") == ("ABC", 42)
    mc.set("m", "miss")
    assert mc.get("m", "dflt") == "dflt"
    assert mc.get_multi(["k", "m"]) == {"k": ("ABC", 42)}


def test_get_stats_shape(memcached):
    ours = mcring.pylibmc.Client([memcached.addr]).get_stats()
    theirs = pylibmc.Client([memcached.addr]).get_stats()
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    assert set(theirs[0][1]) <= set(ours[0][1])
    assert ours[0][1]["pid"] == theirs[0][1]["pid"]


def test_servers_down(start_memcached):
    dead = start_memcached()
    addr = dead.addr
    dead.kill()
    for module in (pylibmc, mcring.pylibmc):
        mc = module.Client([addr])
        with pytest.raises(module.Error):
            mc.set("k", 1)
    ours = mcring.pylibmc.Client([addr])
    with pytest.raises(mcring.pylibmc.ConnectionError) as e:
        ours.get("k")
    assert isinstance(e.value, ConnectionError) and isinstance(e.value, mcring.Error)


USER_CODE = '''
import {module} as pylibmc

mc = pylibmc.Client(SERVERS, binary=True,
                    behaviors={{"ketama_weighted": True, "num_replicas": 1, "tcp_nodelay": True}})

def save_session(sid, data):
    return mc.set("session:" + sid, data, time=3600)

def load_session(sid):
    return mc.get("session:" + sid)

def count_visit(page):
    try:
        return mc.incr("visits:" + page)
    except pylibmc.NotFound:
        mc.add("visits:" + page, 1)
        return 1

def load_many(sids):
    return mc.get_multi(sids, key_prefix="session:")
'''


def test_users_pylibmc_code_runs_with_the_import_changed(start_memcached):
    """Our users' pylibmc code (ketama_weighted, num_replicas, binary) once
    on pylibmc and once with only the import changed: same results, same
    servers holding each key and its copy."""
    servers = [start_memcached() for _ in range(4)]
    results = {}
    for module in ("pylibmc", "mcring.pylibmc"):
        for s in servers:
            s.raw(b"flush_all\r\n")
        scope = {"SERVERS": [s.addr for s in servers]}
        exec(USER_CODE.format(module=module), scope)
        sids = ["s%d" % i for i in range(40)]
        saved = [scope["save_session"](sid, {"user": sid, "n": i}) for i, sid in enumerate(sids)]
        loaded = [scope["load_session"](sid) for sid in sids]
        visits = [scope["count_visit"]("home") for _ in range(5)]
        many = scope["load_many"](sids[:10] + ["nope"])
        scope["mc"].get_multi(["session:" + s for s in sids])  # pushes pylibmc's quiet replica writes
        where = [[i for i, s in enumerate(servers) if s.raw_get("session:" + sid)] for sid in sids]
        results[module] = (saved, loaded, visits, many, where)
    assert results["pylibmc"] == results["mcring.pylibmc"]
    assert all(len(w) == 2 for w in results["mcring.pylibmc"][4]), "each session has one copy"
    # With mcring a session survives its primary server.
    ours = {"SERVERS": [s.addr for s in servers]}
    exec(USER_CODE.format(module="mcring.pylibmc"), ours)
    owner = results["mcring.pylibmc"][4][0][0]
    servers[owner].kill()
    assert ours["load_session"]("s0") == {"user": "s0", "n": 0}


def test_noreply_behavior(memcached):
    mc = mcring.pylibmc.Client([memcached.addr], behaviors={"_noreply": True})
    assert mc.behaviors["_noreply"] == 1
    assert mc.add("k", 1) is True and mc.add("k", 2) is True, "not waited for"
    assert mc.get("k") == 1
    assert mc.delete("nope") is True
    assert mc.set_multi({"a": 1}) == [] and mc.get("a") == 1
