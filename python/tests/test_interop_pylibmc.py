"""pylibmc 1.6 (its bundled libmemcached, ketama_weighted) and mcring with
value_format="pylibmc" read each other's values and place keys alike, through
real memcached. pylibmc is a test dependency: without it this module fails."""

import pylibmc
import pytest

import mcring


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (other.x, other.y) == (self.x, self.y)


VALUES = {
    "bytes": b"\x00\xffraw",
    "str": "héllo ✓",
    "empty": "",
    "int": -7,
    "long": 2**100,
    "float": 2.5,
    "dict": {"a": [1, 2], "b": None},
    "tuple": (1, "x"),
    "object": Point(1, 2),
    "none": None,
    "zipped": "compress me " * 1000,
    "zipped_bytes": b"\x01\x02" * 5000,
}


def pylibmc_client(servers):
    return pylibmc.Client(
        [s.addr for s in servers],
        binary=False,
        behaviors={"ketama_weighted": True, "tcp_nodelay": True},
    )


@pytest.fixture
def servers(start_memcached):
    return [start_memcached() for _ in range(3)]


def test_pylibmc_writes_mcring_reads(servers):
    theirs = pylibmc_client(servers)
    for key, value in VALUES.items():
        assert theirs.set(key, value, min_compress_len=1000)
    assert theirs.set("bool", True)
    ours = mcring.Client([s.addr for s in servers], value_format="pylibmc")
    for key, value in VALUES.items():
        got = ours.get(key)
        assert type(got) is type(value) and got == value, key
    assert ours.get("bool") == theirs.get("bool")
    assert ours.get_multi(list(VALUES)) == VALUES


def test_mcring_writes_pylibmc_reads(servers):
    ours = mcring.Client([s.addr for s in servers], value_format="pylibmc", compress_threshold=1000)
    for key, value in VALUES.items():
        assert ours.set(key, value)
    ours.set("bool", False)
    theirs = pylibmc_client(servers)
    for key, value in VALUES.items():
        got = theirs.get(key)
        assert type(got) is type(value) and got == value, key
    assert theirs.get("bool") == 0
    # Compressed the way pylibmc compresses (its zlib flag).
    owner = next(s for s in servers if s.addr == ours.server_for("zipped"))
    assert owner.raw_get("zipped")[0] == 16 | 8


def test_same_placement_both_ways(servers):
    theirs = pylibmc_client(servers)
    ours = mcring.Client([s.addr for s in servers], value_format="pylibmc")
    theirs.set_multi({"p%d" % i: i for i in range(300)})
    assert ours.get_multi(["p%d" % i for i in range(300)]) == {"p%d" % i: i for i in range(300)}
    ours.set_multi({"m%d" % i: i for i in range(300)})
    assert theirs.get_multi(["m%d" % i for i in range(300)]) == {"m%d" % i: i for i in range(300)}
    for i in range(50):
        key = "p%d" % i
        owner = next(s for s in servers if s.addr == ours.server_for(key))
        assert owner.raw_get(key) is not None, key


def test_incr_interop(servers):
    theirs = pylibmc_client(servers)
    ours = mcring.Client([s.addr for s in servers], value_format="pylibmc")
    theirs.set("n", 10)
    assert ours.incr("n", 5) == 15
    assert theirs.get("n") == 15
    ours.set("m", 1)
    assert theirs.incr("m") == 2
