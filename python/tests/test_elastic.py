"""Servers added and removed at run time: after every change, server_for
equals the system libmemcached's placement for the new list (libmemcached
through ctypes, computing only), and a real pool keeps its values through
a resize with migration."""

import pytest

import mcring
from test_placement import BEHAVIOR_KETAMA_WEIGHTED, libmemcached_owners

KEYS = [f"py-elastic:{i}".encode() for i in range(1500)]


def parsed(names):
    out = []
    for name in names:
        host, port = name.rsplit(":", 1)
        out.append((host, int(port), 1))
    return out


def assert_libmemcached_placement(client):
    want = libmemcached_owners(parsed(client.servers), KEYS, BEHAVIOR_KETAMA_WEIGHTED)
    got = [client.server_for(k) for k in KEYS]
    assert got == want


def test_every_change_places_keys_as_libmemcached():
    # Never dialed.
    client = mcring.Client(["127.3.0.1:11211", "127.3.0.2:11211", "127.3.0.3:11212"])
    assert_libmemcached_placement(client)
    client.add_server("127.3.0.4:11211")
    assert client.servers[-1] == "127.3.0.4:11211"
    assert_libmemcached_placement(client)
    client.remove_server("127.3.0.2:11211")
    assert "127.3.0.2:11211" not in client.servers
    assert_libmemcached_placement(client)
    client.set_servers(["127.3.0.9:11300", "127.3.0.3:11212"])
    assert client.servers == ["127.3.0.9:11300", "127.3.0.3:11212"]
    assert_libmemcached_placement(client)
    client.set_servers("127.3.0.1:11211 127.3.0.5:11211")
    assert_libmemcached_placement(client)
    with pytest.raises(mcring.ConfigError):
        client.add_server("127.3.0.1:0")
    with pytest.raises(mcring.ConfigError):
        client.remove_server("127.3.0.77:11211")
    with pytest.raises(mcring.ConfigError, match="nonsense:port"):
        client.set_servers(["127.3.0.6:11211", "nonsense:port"])
    with pytest.raises(TypeError):
        client.set_servers(5)
    assert client.servers == ["127.3.0.1:11211", "127.3.0.5:11211"]
    client.set_servers([])
    assert client.servers == []
    with pytest.raises(mcring.ConnectionError, match="no server available"):
        client.server_for("k")
    client.add_server("127.3.0.7:11211")
    assert client.server_for("k") == "127.3.0.7:11211"


def test_a_resize_keeps_values_with_migration(start_memcached):
    servers = [start_memcached() for _ in range(4)]
    client = mcring.Client([m.addr for m in servers[:3]])
    keys = [f"resize:{i}" for i in range(3000)]
    client.set_multi({k: k for k in keys})
    client.add_server(servers[3].addr)
    got = client.get_multi(keys)
    assert len(got) == len(keys), f"{len(keys) - len(got)} keys missed after the resize"
    assert all(got[k] == k for k in keys)
    moved = sum(s["migrated_keys"] for s in client.stats().values())
    assert moved > 300
    client.remove_server(servers[0].addr, drain=True)
    assert len(client.get_multi(keys)) == len(keys)


def test_dns_stats_without_sources():
    client = mcring.Client(["127.3.0.1:11211"])
    client.refresh_dns()
    assert client.discovery_stats() == {
        "resolutions": 0,
        "failures": 0,
        "empty_answers": 0,
        "changes": 0,
        "last_error": None,
    }
