"""Each exception class, raised by the situation it names."""

import socket
import threading

import pytest

import mcring
from conftest import free_port


def test_hierarchy():
    for name in [
        "BadKeyError",
        "BadValueError",
        "UnreadableValueError",
        "ConfigError",
        "ConnectionError",
        "TimeoutError",
        "ServerError",
        "InterruptedError",
    ]:
        assert issubclass(getattr(mcring, name), mcring.Error)
        assert getattr(mcring, name).__module__ == "mcring"
    assert issubclass(mcring.Error, Exception)
    for name in ["BadKeyError", "BadValueError", "UnreadableValueError"]:
        assert issubclass(getattr(mcring, name), ValueError)
    assert issubclass(mcring.ServerDownError, mcring.ConnectionError)
    assert issubclass(mcring.ProtocolError, mcring.ServerError)


BAD_KEYS = ["", "a b", "tab\there", "new\nline", "x" * 251, b"\x00", b"del\x7f"]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_bad_keys(memcached, key):
    mc = mcring.Client([memcached.addr])
    before = memcached.stat("cmd_get") + memcached.stat("cmd_set")
    for call in [
        lambda: mc.get(key),
        lambda: mc.set(key, 1),
        lambda: mc.delete(key),
        lambda: mc.incr(key),
        lambda: mc.touch(key, 1),
        lambda: mc.gets(key),
        lambda: mc.server_for(key),
        lambda: mc.get_multi(["fine", key]),
        lambda: mc.set_multi({"fine": 1, key: 1}),
        lambda: mc.delete_multi(["fine", key]),
        lambda: key in mc,
    ]:
        with pytest.raises(mcring.BadKeyError) as e:
            call()
        assert isinstance(e.value, ValueError)
        assert e.value.key == (key.encode() if isinstance(key, str) else key)
    assert memcached.stat("cmd_get") + memcached.stat("cmd_set") == before, "nothing was sent"


def test_long_key_limit_is_memcached_s(memcached):
    mc = mcring.Client([memcached.addr])
    assert mc.set("x" * 250, 1)
    with pytest.raises(mcring.BadKeyError, match="250"):
        mc.set("x" * 251, 1)


def test_key_of_wrong_type(memcached):
    mc = mcring.Client([memcached.addr])
    for key in [1, None, 1.5, ("a",)]:
        with pytest.raises(mcring.BadKeyError, match="str or bytes") as e:
            mc.get(key)
        assert e.value.key is key


@pytest.mark.parametrize(
    "servers,options",
    [
        (["127.0.0.1:0"], {}),
        (["127.0.0.1:70000"], {}),
        (["host:1:x"], {}),
        (["::1:11211"], {}),
        (["a:1 b:2"], {}),
        (["a:1", "replicas=1"], {}),
        ([""], {}),
        ([5], {}),
        (5, {}),
        ("a:1 bogus=1", {}),
        (["a:1"], {"bogus": 1}),
        (["a:1"], {"replicas": "x"}),
        (["a:1"], {"replicas": 99}),
        (["a:1"], {"distribution": "random"}),
        (["a:1"], {"io_timeout_ms": 1.5}),
        (["a:1"], {"failover": "gutter"}),
        (["a:1"], {"serializer": "php"}),
        (["a:1"], {"value_format": "msgpack"}),
        (["a:1"], {"prefix": "has space"}),
    ],
    ids=repr,
)
def test_bad_config(servers, options):
    with pytest.raises(mcring.ConfigError):
        mcring.Client(servers, **options)


def test_good_config_options():
    # None leaves an option at its default; unknown names are still refused.
    mc = mcring.Client(["a:1"], replicas=None)
    assert mc.servers == ["a:1"]
    mc = mcring.Client(
        ["a:1", "b:2:3", "[::1]:11213", "/tmp/mc.sock"],
        distribution="ketama",
        hash="md5",
        prefix="p:",
        hash_with_prefix=True,
        connect_timeout_ms=10,
        io_timeout_ms=10,
        max_value_bytes=1000,
        pool_size=2,
        replicas=1,
        read_policy="random",
        replica_placement="libmemcached",
        failure_limit=3,
        retry_timeout_ms=0,
        failover="gutter",
        gutter=["g:1", "h:2"],
        gutter_ttl=5,
        read_repair=False,
        value_format="pylibmc",
        serializer="pickle",
        compress_threshold=0,
    )
    assert mc.servers == ["a:1", "b:2", "[::1]:11213", "/tmp/mc.sock"]


def test_connection_refused():
    port = free_port()  # nothing listens there
    mc = mcring.Client(["127.0.0.1:%d" % port], connect_timeout_ms=1000)
    with pytest.raises(mcring.ConnectionError) as e:
        mc.get("k")
    assert e.value.server == "127.0.0.1:%d" % port
    assert "refused" in str(e.value).lower()


def test_no_servers():
    with pytest.raises(mcring.ConnectionError, match="no server"):
        mcring.Client([]).get("k")


def test_server_down_after_repeated_failures():
    port = free_port()
    name = "127.0.0.1:%d" % port
    mc = mcring.Client([name], failure_limit=2, retry_timeout_ms=60000)
    for _ in range(2):
        with pytest.raises(mcring.ConnectionError) as e:
            mc.get("k")
        assert type(e.value) is mcring.ConnectionError
    for call in [lambda: mc.get("k"), lambda: mc.set("k", 1)]:
        with pytest.raises(mcring.ServerDownError) as e:
            call()
        assert e.value.server == name
    assert mc.stats()[name]["errors"] == 2, "a dead server is not tried"


def test_failover_none_reads_miss_writes_fail():
    name = "127.0.0.1:%d" % free_port()
    mc = mcring.Client([name], failure_limit=1, retry_timeout_ms=60000, failover="none")
    with pytest.raises(mcring.ConnectionError):
        mc.get("k")
    assert mc.get("k") is None
    with pytest.raises(mcring.ServerDownError):
        mc.set("k", 1)


def test_timeout(black_hole):
    mc = mcring.Client([black_hole], io_timeout_ms=200)
    with pytest.raises(mcring.TimeoutError) as e:
        mc.get("k")
    assert e.value.server == black_hole
    assert mc.stats()[black_hole]["timeouts"] == 1


def test_server_error(memcached):
    mc = mcring.Client([memcached.addr])
    mc.set("k", "not a number")
    with pytest.raises(mcring.ServerError) as e:
        mc.incr("k")
    assert "non-numeric" in str(e.value)
    assert e.value.server == memcached.addr
    assert mc.get("k") == "not a number", "the connection is still usable"


def test_protocol_error():
    """A listener that answers every request with a line memcached never sends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    addr = "127.0.0.1:%d" % listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"BOGUS REPLY\r\n")
            conn.recv(1024)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        mc = mcring.Client([addr], io_timeout_ms=2000)
        with pytest.raises(mcring.ProtocolError) as e:
            mc.get("k")
        assert isinstance(e.value, mcring.ServerError)
        assert e.value.server == addr
    finally:
        listener.close()
        t.join(5)
