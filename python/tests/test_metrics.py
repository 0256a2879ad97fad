"""Client.metrics(), Client.prometheus() and mcring.prometheus.Collector
against real memcached: the counts and latency histograms of traffic the
test made, through the official prometheus_client package."""

import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import mcring
from mcring.prometheus import Collector

CLASSES = ["get", "get_multi", "store", "delete", "arith", "touch", "meta"]


def traffic(mc):
    """10 sets, 1 add that is not stored, 6 gets (4 hits), a 20-key
    get_multi, 2 deletes, 3 incrs, 1 touch."""
    for i in range(10):
        assert mc.set(f"k{i}", i)
    assert mc.add("k0", "again") is False
    for i in range(6):
        mc.get(f"k{i}" if i < 4 else f"absent{i}")
    mc.get_multi([f"k{i}" for i in range(10)] + [f"none{i}" for i in range(10)])
    mc.delete("k8")
    mc.delete("k9")
    mc.set("n", "1")
    for _ in range(3):
        mc.incr("n")
    mc.touch("k1", 60)


def test_metrics_count_outcomes_and_latencies(start_memcached):
    servers = [start_memcached(), start_memcached()]
    with mcring.Client([m.addr for m in servers]) as mc:
        traffic(mc)
        m = mc.metrics()
    assert set(m) == {"servers", "total", "hot_keys"}
    assert m["hot_keys"] == {}  # no key was read often enough to be hot
    assert set(m["servers"]) == {s.addr for s in servers}
    total = m["total"]
    assert total["stored"] == 11  # 10 sets and "n"
    assert total["not_stored"] == 1
    assert total["hits"] == 4 + 10 and total["misses"] == 2 + 10
    assert total["errors"] == 0

    def classes(name):
        return sum(s["latency"][name]["count"] for s in m["servers"].values())

    assert classes("store") == 12
    assert classes("get") == 6
    # One observation per server the multi-get asked.
    assert 1 <= classes("get_multi") <= len(servers)
    assert classes("delete") == 2
    assert classes("arith") == 3
    assert classes("touch") == 1
    assert classes("meta") == 0
    for server in m["servers"].values():
        assert set(server["latency"]) == set(CLASSES)
        assert server["counters"].keys() == total.keys()
        for h in server["latency"].values():
            buckets = h["buckets"]
            assert len(buckets) == 20
            assert buckets[0][0] == pytest.approx(0.00001) and buckets[-2][0] == 10.0
            assert math.isinf(buckets[-1][0])
            counts = [c for _, c in buckets]
            assert counts == sorted(counts), "cumulative"
            assert counts[-1] == h["count"]
            assert (h["sum"] > 0) == (h["count"] > 0)
            # Loopback requests take well under a second.
            assert h["sum"] < max(1, h["count"])


def test_prometheus_text_is_the_engines(memcached):
    with mcring.Client([memcached.addr]) as mc:
        mc.set("k", "v")
        mc.get("k")
        text = mc.prometheus()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["mcring_client_hits"].type == "counter"
    assert families["mcring_client_request_duration_seconds"].type == "histogram"
    commands = {
        s.labels["command"]
        for s in families["mcring_client_request_duration_seconds"].samples
        if s.name.endswith("_count")
    }
    assert commands == {"get", "store"}, "classes without requests are left out"
    assert f'mcring_client_hits_total{{server="{memcached.addr}"}} 1\n' in text


def test_collector_registers_with_prometheus_client(start_memcached):
    servers = [start_memcached(), start_memcached()]
    with mcring.Client([m.addr for m in servers]) as mc:
        registry = CollectorRegistry(auto_describe=True)  # as prometheus_client.REGISTRY
        registry.register(Collector(mc))
        for i in range(40):
            mc.set(f"user:{i}", i)
        for i in range(40):
            mc.get(f"user:{i}" if i < 30 else f"gone:{i}")

        def value(name, **labels):
            return sum(
                registry.get_sample_value(name, {"server": s.addr, **labels}) or 0 for s in servers
            )

        assert value("mcring_client_hits_total") == 30
        assert value("mcring_client_misses_total") == 10
        assert value("mcring_client_stored_total") == 40
        assert value("mcring_client_request_duration_seconds_count", command="get") == 40
        assert value("mcring_client_request_duration_seconds_bucket", command="store", le="+Inf") == 40
        # Every scrape reads the client anew.
        mc.get("user:0")
        assert value("mcring_client_hits_total") == 31

        exposition = generate_latest(registry).decode()
        assert "# TYPE mcring_client_request_duration_seconds histogram" in exposition
        assert 'command="get"' in exposition and 'le="0.00001"' in exposition

        # Two collectors of one client would export the same series twice.
        with pytest.raises(ValueError):
            registry.register(Collector(mc))
    with pytest.raises(TypeError):
        Collector("not a client")
