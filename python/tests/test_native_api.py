"""mcring.Client's own API beyond the basic commands: user flags, noreply,
get_and_touch, gets_multi, key_prefix, incr with an initial value, the raw
value format, argument errors, exception classes, flush_all's result."""

import builtins
import time

import pytest

import mcring


@pytest.fixture
def mc(memcached):
    return mcring.Client([memcached.addr])


def test_user_flags_written_and_read(mc, memcached):
    assert mc.set("k", "v", flags=0xABCD)
    stored_flags, data = memcached.raw_get("k")
    assert stored_flags >> 16 == 0xABCD and stored_flags & 0xFFFF == 0 and data == b"v"
    assert mc.get("k", with_flags=True) == ("v", 0xABCD)
    assert mc.get("k") == "v"
    mc.set("n", 5, flags=7)
    assert mc.get("n", with_flags=True) == (5, 7)
    assert mc.incr("n") == 6 and mc.get("n", with_flags=True) == (6, 7)
    value, flags, cas = mc.gets("n", with_flags=True)
    assert (value, flags) == (6, 7) and isinstance(cas, int)
    assert mc.get("missing", "dflt", with_flags=True) == "dflt"
    assert mc.gets("missing", with_flags=True) == (None, None, None)
    with pytest.raises(mcring.BadValueError, match="65535"):
        mc.set("k", "v", flags=0x10000)
    mc.set_multi({"a": 1, "b": "x"}, flags=3)
    assert mc.get_multi(["a", "b"], with_flags=True) == {"a": (1, 3), "b": ("x", 3)}


def test_php_reads_user_flags_where_php_memcached_keeps_them(mc, memcached):
    """Bits 16-31, php-memcached's OPT_USER_FLAGS; the type bits are the codec's."""
    memcached.raw_set("php", (9 << 16) | 1, b"12")  # a PHP int with user flags 9
    assert mc.get("php", with_flags=True) == (12, 9)


def test_noreply_writes(mc, memcached):
    assert mc.set("k", "v", noreply=True) is True
    assert mc.add("k", "w", noreply=True) is True, "not waited for"
    assert mc.replace("nope", "w", noreply=True) is True
    assert mc.delete("nope", noreply=True) is True
    assert mc.touch("k", 100, noreply=True) is True
    assert mc.incr("n", 1, noreply=True) is None
    assert mc.set_multi({"a": 1, "b": 2}, noreply=True) == []
    # Replies of the quiet writes never land on later requests.
    for _ in range(3):
        assert mc.get("k") == "v"
        assert mc.get_multi(["a", "b"]) == {"a": 1, "b": 2}
    assert mc.delete_multi(["a", "b"], noreply=True) is True
    assert mc.get_multi(["a", "b"]) == {}


def test_noreply_is_not_waited_for(memcached):
    """A stopped server never answers: a noreply write still returns at
    once (it only has to be sent), where a waited-for one times out."""
    mc = mcring.Client([memcached.addr], io_timeout_ms=300)
    assert mc.set("warm", 1)
    memcached.pause()
    try:
        start = time.monotonic()
        for i in range(20):
            assert mc.set("k%d" % i, "v", noreply=True) is True
        assert time.monotonic() - start < 0.25, "20 sends, no reply awaited"
        with pytest.raises(mcring.TimeoutError):
            mc.set("waited", "v")
    finally:
        memcached.resume()


def test_noreply_errors_are_counted_not_misread(mc, memcached):
    mc.set("s", "text")
    assert mc.incr("s", 1, noreply=True) is None  # the server refuses: not a number
    assert mc.get("s") == "text", "the refusal is not read as this reply"
    assert mc.stats()[memcached.addr]["noreply_errors"] == 1


def test_get_and_touch(mc, memcached):
    assert mc.get_and_touch("k", 100) is None
    assert mc.get_and_touch("k", 100, "dflt") == "dflt"
    assert mc.gets_and_touch("k", 100) == (None, None)
    mc.set("k", {"a": 1}, ttl=1, flags=5)
    assert mc.get_and_touch("k", 1000) == {"a": 1}
    assert mc.get_and_touch("k", 1000, with_flags=True) == ({"a": 1}, 5)
    value, cas = mc.gets_and_touch("k", 1000)
    assert value == {"a": 1} and cas == mc.gets("k")[1]
    time.sleep(2.1)
    assert mc.get("k") == {"a": 1}, "the TTL of 1 s was replaced"


def test_gets_multi(mc):
    mc.set("a", 1)
    mc.set("b", "x")
    found = mc.gets_multi(["a", "b", "c"])
    assert set(found) == {"a", "b"}
    assert found["a"][0] == 1 and found["a"][1] == mc.gets("a")[1]
    assert mc.cas("a", 2, found["a"][1]) is True
    assert mc.cas("b", "y", found["b"][1] + 1) is False
    assert mc.gets_multi(["a"], with_flags=True)["a"][:2] == (2, 0)


def test_key_prefix_of_multi_key_calls(mc, memcached):
    assert mc.set_multi({"a": 1, b"b": 2}, key_prefix="p:") == []
    assert memcached.raw_get("p:a") is not None
    assert mc.get_multi(["a", b"b", "c"], key_prefix=b"p:") == {"a": 1, b"b": 2}
    assert mc.gets_multi(["a"], key_prefix="p:")["a"][0] == 1
    assert mc.delete_multi(["a", b"b"], key_prefix="p:") is True
    assert mc.get_multi(["p:a", "p:b"]) == {}
    with pytest.raises(mcring.BadKeyError):
        mc.get_multi(["a"], key_prefix="bad prefix ")


def test_incr_with_initial_value(mc):
    assert mc.incr("n", 5, initial=10) == 10, "created with the initial value"
    assert mc.incr("n", 5, initial=10) == 15
    assert mc.decr("m", 1, initial=3, ttl=100) == 3
    assert mc.decr("m", 1, initial=3) == 2
    # memcached creates the counter with flags 0 (meta ma has no flags),
    # as libmemcached's increment_with_initial does: a string of digits,
    # for PHP as for Python.
    assert mc.get("n") == "15" and mc.get("m") == "2"
    assert mc.incr("x", 1, initial=0, ttl=1) == 0
    time.sleep(2.1)
    assert mc.get("x") is None, "the initial value has the TTL given"


def test_raw_value_format(memcached):
    mc = mcring.Client([memcached.addr], value_format="raw")
    assert mc.set("k", b"\x00\x01", flags=0xDEADBEEF)
    assert memcached.raw_get("k") == (0xDEADBEEF, b"\x00\x01")
    assert mc.get("k", with_flags=True) == (b"\x00\x01", 0xDEADBEEF)
    memcached.raw_set("php", 1, b"12")
    assert mc.get("php") == b"12", "no codec: bytes as stored"
    assert mc.get_multi(["k", "php"], with_flags=True) == {
        "k": (b"\x00\x01", 0xDEADBEEF),
        "php": (b"12", 1),
    }
    mc.set("t", "text")
    assert memcached.raw_get("t") == (0, b"text")
    assert mc.append("t", b"!") and memcached.raw_get("t") == (0, b"text!")
    for value in [1, 1.5, None, [1], {"a": 1}]:
        with pytest.raises(mcring.BadValueError, match="raw"):
            mc.set("k", value)


@pytest.mark.parametrize("ttl", [-1, 2**32, 1.5, "60", None, True])
def test_bad_ttls_are_bad_values(mc, memcached, ttl):
    for call in [
        lambda: mc.set("k", 1, ttl),
        lambda: mc.add("k", 1, ttl),
        lambda: mc.touch("k", ttl),
        lambda: mc.set_multi({"k": 1}, ttl),
        lambda: mc.get_and_touch("k", ttl),
    ]:
        with pytest.raises(mcring.BadValueError, match="ttl") as e:
            call()
        assert not isinstance(e.value, (TypeError, OverflowError))
    assert memcached.raw_get("k") is None


@pytest.mark.parametrize("value", [object(), (1, 2), {1, 2}, 2**64, {"a": object()}])
def test_unsupported_values_are_bad_values(mc, value):
    with pytest.raises(mcring.BadValueError) as e:
        mc.set("k", value)
    assert not isinstance(e.value, (TypeError, OverflowError))


def test_bad_numbers_are_bad_values(mc):
    mc.set("n", 1)
    for call in [
        lambda: mc.incr("n", -1),
        lambda: mc.incr("n", 2**64),
        lambda: mc.incr("n", "1"),
        lambda: mc.cas("n", 1, -5),
        lambda: mc.set("n", 1, flags=-1),
        lambda: mc.flush_all(-1),
    ]:
        with pytest.raises(mcring.BadValueError):
            call()


def test_exceptions_are_also_the_builtins(start_memcached, black_hole):
    assert issubclass(mcring.ConnectionError, builtins.ConnectionError)
    assert issubclass(mcring.ConnectionError, OSError)
    assert issubclass(mcring.ServerDownError, builtins.ConnectionError)
    assert issubclass(mcring.TimeoutError, builtins.TimeoutError)
    assert issubclass(mcring.TimeoutError, OSError)
    assert issubclass(mcring.InterruptedError, builtins.InterruptedError)
    for cls in (mcring.ConnectionError, mcring.TimeoutError, mcring.BadValueError):
        assert issubclass(cls, mcring.Error)
    dead = start_memcached()
    addr = dead.addr
    dead.kill()
    with pytest.raises(ConnectionError) as e:
        mcring.Client([addr]).get("k")
    assert isinstance(e.value, mcring.Error) and e.value.server == addr
    with pytest.raises(TimeoutError) as e:
        mcring.Client([black_hole], io_timeout_ms=100).get("k")
    assert isinstance(e.value, mcring.TimeoutError) and isinstance(e.value, OSError)
    assert str(e.value).startswith(black_hole)


def test_shared_health_can_be_called_again():
    assert mcring.shared_health() is None
    assert mcring.shared_health() is None


def test_subclass(memcached):
    class Mine(mcring.Client):
        def disconnect_all(self):
            self.close()

    mc = Mine([memcached.addr], io_timeout_ms=500)
    assert mc.set("k", 1) and mc.get("k") == 1
    mc.disconnect_all()
    assert mc.get("k") == 1


def test_server_key_places_keys_together(start_memcached):
    servers = [start_memcached() for _ in range(3)]
    mc = mcring.Client([s.addr for s in servers])
    keys = ["item:%d" % i for i in range(30)]
    assert mc.set_multi({k: 1 for k in keys}, server_key="cart:7") == []
    owner = next(s for s in servers if s.addr == mc.server_for("cart:7"))
    assert all(owner.raw_get(k) for k in keys), "all on the server key's server"
    assert mc.get_multi(keys, server_key="cart:7") == {k: 1 for k in keys}
    assert mc.get("item:1", server_key=b"cart:7") == 1
    assert mc.incr("n", 1, initial=5, server_key="cart:7") == 5 and owner.raw_get("n")
    assert mc.delete("item:1", server_key="cart:7") is True
    assert mc.delete_multi(keys[2:], server_key="cart:7") is True
    assert mc.delete_multi(keys[:2], server_key="cart:7") is False, "item:1 was gone"
    assert mc.get_multi(keys, server_key="cart:7") == {}
    with pytest.raises(mcring.BadKeyError):
        mc.get("k", server_key="bad key")
