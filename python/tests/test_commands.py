"""Every method of mcring.Client against real memcached."""

import pytest

import mcring


@pytest.fixture
def mc(memcached):
    with mcring.Client([memcached.addr]) as client:
        yield client


def test_module_surface():
    assert isinstance(mcring.__version__, str) and mcring.__version__.count(".") == 2
    for name in mcring.__all__:
        assert getattr(mcring, name).__doc__, name
    for name in dir(mcring.Client):
        if not name.startswith("_"):
            assert getattr(mcring.Client, name).__doc__, name
    assert mcring.Client.__module__ == "mcring"


def test_get_set_default(mc):
    assert mc.get("missing") is None
    assert mc.get("missing", 7) == 7
    assert mc.set("k", "v") is True
    assert mc.get("k") == "v"
    assert mc.get("k", 7) == "v"


def test_str_and_bytes_keys_are_the_same_key(mc):
    mc.set("clé", 1)
    assert mc.get("clé".encode()) == 1
    assert mc.get_multi([b"cl\xc3\xa9"]) == {b"cl\xc3\xa9": 1}


def test_add_replace(mc):
    assert mc.replace("k", 1) is False
    assert mc.add("k", 1) is True
    assert mc.add("k", 2) is False
    assert mc.get("k") == 1
    assert mc.replace("k", 3) is True
    assert mc.get("k") == 3


def test_append_prepend(mc, memcached):
    assert mc.append("k", "x") is False
    assert mc.prepend("k", b"x") is False
    mc.set("k", "mid")
    assert mc.append("k", "-end") is True
    assert mc.prepend("k", b"start-") is True
    assert mc.get("k") == "start-mid-end"
    with pytest.raises(mcring.BadValueError):
        mc.append("k", 5)


def test_append_to_a_compressed_value(mc):
    # A long string is stored zlib-compressed; appending keeps it whole.
    long = "abcdefgh" * 1000
    mc.set("big", long, ttl=300)
    assert mc.append("big", "|tail") is True
    assert mc.prepend("big", "head|") is True
    assert mc.get("big") == "head|" + long + "|tail"


def test_delete(mc):
    assert mc.delete("k") is False
    mc.set("k", 1)
    assert mc.delete("k") is True
    assert mc.get("k") is None


def test_incr_decr(mc):
    assert mc.incr("n") is None
    assert mc.decr("n") is None
    mc.set("n", 10)
    assert mc.incr("n") == 11
    assert mc.incr("n", 5) == 16
    assert mc.decr("n", 6) == 10
    assert mc.decr("n", 100) == 0, "memcached stops at 0"
    assert mc.get("n") == 0
    with pytest.raises(mcring.BadValueError, match="delta"):
        mc.incr("n", -1)


def test_incr_past_i64_reads_back_as_int(mc):
    mc.set("n", 2**63 - 1)
    assert mc.incr("n") == 2**63
    assert mc.get("n") == 2**63


def test_touch(mc, memcached):
    assert mc.touch("k", 100) is False
    mc.set("k", 1)
    assert mc.touch("k", 100) is True
    assert mc.get("k") == 1


def test_ttl_expires(mc):
    import time

    mc.set("k", 1, ttl=1)
    assert mc.get("k") == 1
    deadline = time.monotonic() + 5
    while mc.get("k") is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert mc.get("k") is None


def test_gets_cas(mc):
    assert mc.gets("k") == (None, None)
    mc.set("k", "a")
    value, token = mc.gets("k")
    assert value == "a" and isinstance(token, int)
    assert mc.cas("k", "b", token) is True
    assert mc.get("k") == "b"
    assert mc.cas("k", "c", token) is False, "the token is stale"
    assert mc.get("k") == "b"
    assert mc.cas("missing", "c", token) is False


def test_get_multi(mc):
    assert mc.get_multi([]) == {}
    mc.set("a", 1)
    mc.set(b"b", "two")
    assert mc.get_multi(["a", b"b", "c"]) == {"a": 1, b"b": "two"}
    assert mc.get_multi(iter(["a"])) == {"a": 1}
    with pytest.raises(TypeError):
        mc.get_multi("abc")


def test_set_multi_delete_multi(mc):
    assert mc.set_multi({"a": 1, "b": [1, 2], b"c": b"\x00"}) == []
    assert mc.get_multi(["a", "b", b"c"]) == {"a": 1, "b": [1, 2], b"c": b"\x00"}
    assert mc.delete_multi(["a", "b"]) is True
    assert mc.delete_multi(["a", b"c"]) is False, "a was already gone"
    assert mc.get_multi(["a", "b", b"c"]) == {}
    # noreply: quiet deletes in one round trip per server; nothing to report.
    assert mc.set_multi({"d": 1, "e": 2, "f": 3}) == []
    assert mc.delete_multi(["d", "e", "never-stored"], noreply=True) is True
    assert mc.get_multi(["d", "e", "f"]) == {"f": 3}


def test_set_multi_ttl_and_items_mapping(mc):
    class Pairs:
        def items(self):
            return [("x", 1), ("y", 2)]

    assert mc.set_multi(Pairs(), ttl=100) == []
    assert mc.get_multi(["x", "y"]) == {"x": 1, "y": 2}


def test_set_multi_reports_failed_keys(start_memcached):
    up, down = start_memcached(), start_memcached()
    mc = mcring.Client([up.addr, down.addr], failover="none", connect_timeout_ms=500)
    down.kill()
    keys = ["k%d" % i for i in range(40)]
    failed = mc.set_multi({k: 1 for k in keys})
    on_down = [k for k in keys if mc.server_for(k) == down.addr]
    assert on_down and sorted(failed) == sorted(on_down)


def test_flush_all(mc):
    mc.set("a", 1)
    assert mc.flush_all() is True
    assert mc.get("a") is None


def test_stats_count_requests(mc, memcached):
    mc.set("a", 1)
    mc.get("a")
    mc.get("b")
    s = mc.stats()
    assert list(s) == [memcached.addr]
    counters = s[memcached.addr]
    assert counters["sets"] == 1
    assert counters["gets"] == 2
    assert counters["hits"] == 1 and counters["misses"] == 1
    assert counters["connects"] == 1
    assert set(counters) >= {"errors", "timeouts", "bytes_read", "bytes_written", "failovers"}


def test_server_stats_version_health(mc, memcached):
    stats = mc.server_stats()
    assert stats[memcached.addr]["pid"] == str(memcached.pid)
    settings = mc.server_stats("settings")
    assert settings[memcached.addr]["tcpport"] == str(memcached.port)
    assert mc.version()[memcached.addr].count(".") >= 2
    health = mc.health()[memcached.addr]
    assert health["up"] is True and health["error"] is None and health["latency_ms"] >= 0


def test_server_stats_leave_out_dead_servers(start_memcached):
    up, down = start_memcached(), start_memcached()
    mc = mcring.Client([up.addr, down.addr], connect_timeout_ms=500)
    down.kill()
    assert list(mc.server_stats()) == [up.addr]
    assert mc.health()[down.addr]["up"] is False
    with pytest.raises(mcring.ConnectionError):
        mcring.Client([down.addr], connect_timeout_ms=500).server_stats()
    assert mc.flush_all() is False, "one server flushed, one not"
    with pytest.raises(mcring.ConnectionError):
        mcring.Client([down.addr], connect_timeout_ms=500).flush_all()


def test_server_for_copies_for_servers(start_memcached):
    a, b, c = start_memcached(), start_memcached(), start_memcached()
    mc = mcring.Client([a.addr, b.addr, c.addr + ":2"], replicas=1)
    assert mc.servers == [a.addr, b.addr, c.addr]
    owners = {mc.server_for("key%d" % i) for i in range(100)}
    assert owners == {a.addr, b.addr, c.addr}
    copies = mc.copies_for("key1")
    assert copies[0] == mc.server_for("key1") and len(copies) == 2 and len(set(copies)) == 2
    # The copies really hold the value.
    mc.set("key1", "v")
    for server in (a, b, c):
        assert (server.raw_get("key1") is not None) == (server.addr in copies)


def test_mapping_protocol(mc):
    mc["k"] = {"a": 1}
    assert mc["k"] == {"a": 1}
    assert "k" in mc
    assert "nope" not in mc
    del mc["k"]
    assert "k" not in mc
    with pytest.raises(KeyError):
        mc["k"]
    with pytest.raises(KeyError):
        del mc["k"]


def test_context_manager_and_close(memcached):
    with mcring.Client([memcached.addr]) as mc:
        mc.set("k", 1)
    # Closed connections reopen on demand.
    assert mc.get("k") == 1
    mc.close()
    assert mc.get("k") == 1
    assert mc.stats()[memcached.addr]["connects"] == 3


def test_repr(memcached):
    assert repr(mcring.Client([memcached.addr])) == 'mcring.Client(["%s"])' % memcached.addr


def test_config_string_and_options(start_memcached):
    a, b = start_memcached(), start_memcached()
    mc = mcring.Client("%s %s:3 prefix=app: replicas=1" % (a.addr, b.addr), io_timeout_ms=2000)
    assert mc.servers == [a.addr, b.addr]
    mc.set("k", 1)
    assert a.raw_get("app:k") is not None and b.raw_get("app:k") is not None
    assert mc.get("k") == 1


def test_get_multi_leaves_out_keys_it_cannot_read(start_memcached):
    up, down = start_memcached(), start_memcached()
    mc = mcring.Client(
        [up.addr, down.addr], failover="none", failure_limit=1000, connect_timeout_ms=500
    )
    values = {"k%d" % i: i for i in range(40)}
    assert mc.set_multi(values) == []
    down.kill()
    on_up = {k: v for k, v in values.items() if mc.server_for(k) == up.addr}
    assert 0 < len(on_up) < len(values)
    assert mc.get_multi(list(values)) == on_up
    only_down = [k for k in values if k not in on_up]
    with pytest.raises(mcring.ConnectionError):
        mc.get_multi(only_down)
    with pytest.raises(mcring.ConnectionError):
        mc.delete_multi(list(values))
