"""Values of every type through real memcached: round trips, the flags and
bytes actually stored (php-memcached's and pylibmc's conventions), and what
the client refuses to read or write."""

import math
import pickle
import zlib

import pytest

import mcring

# php-memcached's flags, and mcring's bit 15 for Python bytes and pickles.
PHP_STRING, PHP_LONG, PHP_DOUBLE, PHP_BOOL, PHP_SERIALIZED = 0, 1, 2, 3, 4
PHP_IGBINARY, PHP_JSON, PHP_MSGPACK = 5, 6, 7
PHP_COMPRESSED_ZLIB = 0x10 | 0x20
MCRING_BYTES, MCRING_PICKLE = 0x8000, 0x800F

# pylibmc's flags.
PYLIBMC_BYTES, PYLIBMC_PICKLE, PYLIBMC_INTEGER, PYLIBMC_LONG, PYLIBMC_ZLIB, PYLIBMC_TEXT = (
    0,
    1,
    2,
    4,
    8,
    16,
)


class Custom:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return isinstance(other, Custom) and other.x == self.x


PHP_VALUES = [
    # (value, flags stored, bytes stored)
    (b"", MCRING_BYTES, b""),
    (b"\x00\xff bin", MCRING_BYTES, b"\x00\xff bin"),
    ("", PHP_STRING, b""),
    ("héllo ✓", PHP_STRING, "héllo ✓".encode()),
    (0, PHP_LONG, b"0"),
    (-42, PHP_LONG, b"-42"),
    (2**63 - 1, PHP_LONG, b"9223372036854775807"),
    (-(2**63), PHP_LONG, b"-9223372036854775808"),
    (1.5, PHP_DOUBLE, b"1.5"),
    (0.5, PHP_DOUBLE, b".5"),
    (-0.25, PHP_DOUBLE, b"-.25"),
    (1e20, PHP_DOUBLE, b"1e+20"),
    (0.1 + 0.2, PHP_DOUBLE, b".30000000000000004"),
    (math.inf, PHP_DOUBLE, b"Infinity"),
    (True, PHP_BOOL, b"1"),
    (False, PHP_BOOL, b""),
    (None, PHP_JSON, b"null"),
    ({"a": [1, 2.5, None, True], "b": {"c": "é"}}, PHP_JSON, b'{"a":[1,2.5,null,true],"b":{"c":"\\u00e9"}}'),
    ([], PHP_JSON, b"[]"),
    ([1, "x", [2]], PHP_JSON, b'[1,"x",[2]]'),
]


@pytest.mark.parametrize("value,flags,data", PHP_VALUES, ids=lambda v: repr(v)[:30])
def test_php_format_round_trip_and_stored_form(memcached, value, flags, data):
    mc = mcring.Client([memcached.addr])
    assert mc.set("k", value)
    assert memcached.raw_get("k") == (flags, data)
    got = mc.get("k")
    assert type(got) is type(value)
    assert got == value


def test_nan_round_trips(memcached):
    mc = mcring.Client([memcached.addr])
    mc.set("k", math.nan)
    assert memcached.raw_get("k") == (PHP_DOUBLE, b"NaN")
    assert math.isnan(mc.get("k"))


def test_tuple_and_objects_need_pickle(memcached):
    mc = mcring.Client([memcached.addr])
    for value in [(1, 2), {1, 2}, Custom(1), object()]:
        with pytest.raises(mcring.BadValueError, match="serializer"):
            mc.set("k", value)
    with pytest.raises(mcring.BadValueError, match="JSON"):
        mc.set("k", {"a": object()})
    with pytest.raises(mcring.BadValueError, match="64 bits"):
        mc.set("k", 2**64)
    assert memcached.raw_get("k") is None, "nothing was stored"


def test_php_string_that_is_not_utf8_reads_as_bytes(memcached):
    memcached.raw_set("k", PHP_STRING, b"\xff\xfe")
    assert mcring.Client([memcached.addr]).get("k") == b"\xff\xfe"


def test_large_values_are_zlib_compressed_php_style(memcached):
    mc = mcring.Client([memcached.addr])
    text = "compressible " * 1000
    mc.set("k", text)
    flags, data = memcached.raw_get("k")
    assert flags == PHP_STRING | PHP_COMPRESSED_ZLIB
    assert int.from_bytes(data[:4], "little") == len(text)
    assert zlib.decompress(data[4:]) == text.encode()
    assert mc.get("k") == text
    structure = {"items": list(range(2000))}
    mc.set("j", structure)
    assert memcached.raw_get("j")[0] == PHP_JSON | PHP_COMPRESSED_ZLIB
    assert mc.get("j") == structure
    plain = mcring.Client([memcached.addr], compress_threshold=0)
    plain.set("k", text)
    assert memcached.raw_get("k") == (PHP_STRING, text.encode())


def test_serializer_pickle(memcached):
    mc = mcring.Client([memcached.addr], serializer="pickle")
    for value in [(1, 2), {1, 2}, Custom([1]), {"a": (1,)}, [1, 2], None, 2**100, -(2**70)]:
        assert mc.set("k", value)
        flags, data = memcached.raw_get("k")
        assert flags == MCRING_PICKLE
        assert pickle.loads(data) == value
        assert mc.get("k") == value
    # Scalars keep php-memcached's flags, so PHP still reads them.
    mc.set("k", 5)
    assert memcached.raw_get("k") == (PHP_LONG, b"5")


def test_pickles_are_not_loaded_unless_asked(memcached):
    writer = mcring.Client([memcached.addr], serializer="pickle")
    writer.set("k", Custom(1))
    with pytest.raises(mcring.UnreadableValueError, match="pickle"):
        mcring.Client([memcached.addr]).get("k")


@pytest.mark.parametrize(
    "flags,what",
    [(PHP_SERIALIZED, "serialize"), (PHP_IGBINARY, "igbinary"), (PHP_MSGPACK, "msgpack")],
)
def test_php_only_serializers_are_refused_clearly(memcached, flags, what):
    memcached.raw_set("k", flags, b"a:0:{}")
    mc = mcring.Client([memcached.addr])
    with pytest.raises(mcring.UnreadableValueError, match=what) as e:
        mc.get("k")
    assert isinstance(e.value, ValueError)
    with pytest.raises(mcring.UnreadableValueError):
        mc.get_multi(["k"])


def test_corrupt_values_are_refused(memcached):
    mc = mcring.Client([memcached.addr])
    memcached.raw_set("type", 9, b"x")
    memcached.raw_set("int", PHP_LONG, b"12a")
    memcached.raw_set("zlib", PHP_STRING | PHP_COMPRESSED_ZLIB, b"\x10\x00\x00\x00garbage")
    memcached.raw_set("short", PHP_STRING | PHP_COMPRESSED_ZLIB, b"\x01")
    memcached.raw_set("json", PHP_JSON, b"{not json")
    for key in ["type", "int", "zlib", "short"]:
        with pytest.raises(mcring.UnreadableValueError):
            mc.get(key)
    with pytest.raises(ValueError):
        mc.get("json")


def test_value_over_max_value_bytes(memcached):
    mc = mcring.Client([memcached.addr], max_value_bytes=100, compress_threshold=0)
    with pytest.raises(mcring.BadValueError) as e:
        mc.set("k", b"x" * 101)
    assert isinstance(e.value, ValueError)
    with pytest.raises(mcring.BadValueError):
        mc.set_multi({"a": b"x", "k": b"x" * 101})
    assert memcached.raw_get("a") is None, "a bad value fails the whole call before sending"
    assert mc.set("k", b"x" * 100)


def test_size_limit_is_on_the_uncompressed_value(memcached):
    # A value that compresses under the limit but is over it uncompressed
    # would be stored and then be unreadable: it is refused at set.
    mc = mcring.Client([memcached.addr], max_value_bytes=1_000_000)
    big = "x" * 1_500_000
    with pytest.raises(mcring.BadValueError, match="max_value_bytes"):
        mc.set("big", big)
    assert memcached.raw_get("big") is None
    mc.set("fits", "x" * 1_000_000)
    assert mc.get("fits") == "x" * 1_000_000


def test_inflating_is_bounded_by_max_value_bytes(memcached):
    # A zlib bomb (php layout: 4-byte length, then zlib) that claims a small
    # size but inflates far past it, and one that claims a huge size.
    mc = mcring.Client([memcached.addr], max_value_bytes=10_000)
    bomb = zlib.compress(b"\0" * 5_000_000)
    memcached.raw_set("liar", PHP_STRING | PHP_COMPRESSED_ZLIB, (100).to_bytes(4, "little") + bomb)
    memcached.raw_set("huge", PHP_STRING | PHP_COMPRESSED_ZLIB, (10**9).to_bytes(4, "little") + bomb)
    for key in ["liar", "huge"]:
        with pytest.raises(mcring.UnreadableValueError):
            mc.get(key)
    assert mc.set("after", "ok") and mc.get("after") == "ok"


PYLIBMC_VALUES = [
    (b"raw", PYLIBMC_BYTES, b"raw"),
    ("text ✓", PYLIBMC_TEXT, "text ✓".encode()),
    (7, PYLIBMC_LONG, b"7"),
    (-(2**63), PYLIBMC_LONG, b"-9223372036854775808"),
]


@pytest.mark.parametrize("value,flags,data", PYLIBMC_VALUES, ids=repr)
def test_pylibmc_format_stored_form(memcached, value, flags, data):
    mc = mcring.Client([memcached.addr], value_format="pylibmc")
    mc.set("k", value)
    assert memcached.raw_get("k") == (flags, data)
    assert mc.get("k") == value and type(mc.get("k")) is type(value)


def test_pylibmc_format_pickles_the_rest(memcached):
    mc = mcring.Client([memcached.addr], value_format="pylibmc")
    for value in [1.5, {"a": 1}, [1], (1, 2), None, Custom(2), 2**80]:
        mc.set("k", value)
        flags, data = memcached.raw_get("k")
        assert flags == PYLIBMC_PICKLE
        assert pickle.loads(data) == value
        assert mc.get("k") == value
    mc.set("k", True)
    assert memcached.raw_get("k") == (PYLIBMC_INTEGER, b"1")
    assert mc.get("k") == 1, "pylibmc reads booleans back as int"
    text = "z" * 5000
    mc.set("k", text)
    flags, data = memcached.raw_get("k")
    assert flags == PYLIBMC_TEXT | PYLIBMC_ZLIB and zlib.decompress(data) == text.encode()
    assert mc.get("k") == text


def test_incr_works_on_stored_ints(memcached):
    for fmt in ["php", "pylibmc"]:
        mc = mcring.Client([memcached.addr], value_format=fmt)
        mc.set("n", 41)
        assert mc.incr("n") == 42
        assert mc.get("n") == 42
