"""Stampede protection through the Python API against real memcached (meta
protocol): get_or_set computes once per expiry across threads and processes,
invalidate serves the stale value while one caller recomputes, a killed
winner's lease ends after lease_ttl, early recache, the cached decorator,
and hot keys."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import mcring

# How long a caller may take at most before a test calls it a hang: proves
# "no hang", not speed (the machine is shared).
HANG = 20.0


def herd(n, call):
    """Runs `call(i)` in `n` threads started together; returns their results
    (or exceptions) and each caller's time."""
    barrier = threading.Barrier(n)
    results = [None] * n
    times = [None] * n

    def run(i):
        barrier.wait()
        t0 = time.monotonic()
        try:
            results[i] = call(i)
        except BaseException as e:  # noqa: BLE001 - kept for the test to look at
            results[i] = e
        times[i] = time.monotonic() - t0

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG)
        assert not t.is_alive(), "a get_or_set caller hung"
    return results, times


class Counter:
    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def bump(self):
        with self.lock:
            self.n += 1
            return self.n


def test_get_or_set_computes_a_missing_value_once_and_then_reads_it(memcached):
    mc = mcring.Client([memcached.addr])
    computes = Counter()

    def compute():
        computes.bump()
        return {"answer": 42}

    assert mc.get_or_set("gos:plain", compute, 60) == {"answer": 42}
    assert mc.get_or_set("gos:plain", compute, 60) == {"answer": 42}
    assert mc.get("gos:plain") == {"answer": 42}
    assert computes.n == 1
    # A value stored by an ordinary set is a hit too.
    mc.set("gos:set", b"bytes", 60)
    assert mc.get_or_set("gos:set", compute, 60) == b"bytes"
    assert computes.n == 1


@pytest.mark.parametrize("shared_client", [True, False], ids=["one client", "a client each"])
def test_a_herd_of_threads_on_one_missing_key_computes_once(memcached, shared_client):
    clients = [mcring.Client([memcached.addr]) for _ in range(1 if shared_client else 16)]
    computes = Counter()

    def compute():
        computes.bump()
        time.sleep(0.2)
        return "computed once"

    results, times = herd(16, lambda i: clients[i % len(clients)].get_or_set("gos:herd", compute, 60))
    assert results == ["computed once"] * 16
    assert computes.n == 1
    print(f"16 threads: slowest caller {max(times) * 1000:.0f} ms for a 200 ms compute")


WORKER = textwrap.dedent(
    """
    import os, sys, time
    import mcring
    addr, key, log, start_at, sleep_s, lease_ttl = sys.argv[1:7]
    mc = mcring.Client([addr])
    def compute():
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\\n")
        time.sleep(float(sleep_s))
        return f"from {os.getpid()}"
    time.sleep(max(0.0, float(start_at) - time.time()))
    t0 = time.monotonic()
    value = mc.get_or_set(key, compute, 60, lease_ttl=float(lease_ttl))
    print(value, time.monotonic() - t0, flush=True)
    """
)


def spawn_worker(tmp_path, memcached, key, log, start_at, sleep_s=0.2, lease_ttl=3.0):
    script = tmp_path / "worker.py"
    # Written once: rewriting it while an earlier worker's interpreter reads
    # it hands that worker an empty script (it exits 0 having done nothing).
    if not script.exists():
        partial = tmp_path / "worker.py.partial"
        partial.write_text(WORKER)
        partial.rename(script)
    return subprocess.Popen(
        [sys.executable, str(script), memcached.addr, key, str(log), str(start_at), str(sleep_s), str(lease_ttl)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_processes_and_threads_on_one_missing_key_compute_once(memcached, tmp_path):
    log = tmp_path / "computes.log"
    log.touch()
    start_at = time.time() + 2.0  # after every interpreter has started
    workers = [spawn_worker(tmp_path, memcached, "gos:procs", log, start_at) for _ in range(8)]
    mc = mcring.Client([memcached.addr])

    def compute():
        with open(log, "a") as f:
            f.write("thread\n")
        time.sleep(0.2)
        return "from a thread"

    def call(i):
        time.sleep(max(0.0, start_at - time.time()))
        return mc.get_or_set("gos:procs", compute, 60)

    results, _ = herd(8, call)
    outputs = []
    for w in workers:
        out, _ = w.communicate(timeout=HANG)
        assert w.returncode == 0
        outputs.append(out.rsplit(" ", 1)[0])
    computed = log.read_text().split()
    assert len(computed) == 1, computed
    values = set(results) | set(outputs)
    assert len(values) == 1, values


def test_a_failing_compute_raises_in_its_caller_only_and_the_next_caller_wins_at_once(memcached):
    mc = mcring.Client([memcached.addr])
    calls = Counter()

    def compute():
        if calls.bump() == 1:
            time.sleep(0.1)
            raise ValueError("database down")
        return "second try"

    # lease_ttl is long: a released lease must not be waited out.
    results, times = herd(6, lambda i: mc.get_or_set("gos:fail", compute, 60, lease_ttl=30.0))
    errors = [r for r in results if isinstance(r, ValueError)]
    assert len(errors) == 1 and str(errors[0]) == "database down"
    assert [r for r in results if not isinstance(r, BaseException)] == ["second try"] * 5
    assert calls.n == 2
    assert max(times) < 15.0, "the failed compute's lease was waited out instead of released"


def test_after_invalidate_callers_get_the_stale_value_while_one_recomputes(memcached):
    mc = mcring.Client([memcached.addr])
    assert mc.get_or_set("gos:inv", lambda: "v1", 60) == "v1"
    assert mc.invalidate("gos:inv", stale_ttl=30) is True
    computes = Counter()

    def compute():
        computes.bump()
        time.sleep(0.3)
        return "v2"

    results, times = herd(8, lambda i: mc.get_or_set("gos:inv", compute, 60))
    assert computes.n == 1
    assert sorted(results) == ["v1"] * 7 + ["v2"]
    # The stale readers did not wait for the recompute.
    assert sorted(times)[6] < 0.3
    assert mc.get_or_set("gos:inv", compute, 60) == "v2"
    assert computes.n == 1
    # A missing key: nothing to invalidate; stale_ttl=0 deletes.
    assert mc.invalidate("gos:none") is False
    assert mc.invalidate("gos:inv", stale_ttl=0) is True
    assert mc.get("gos:inv") is None


def test_a_winner_killed_mid_compute_is_replaced_after_lease_ttl(memcached, tmp_path):
    log = tmp_path / "computes.log"
    log.touch()
    winner = spawn_worker(tmp_path, memcached, "gos:killed", log, 0, sleep_s=60, lease_ttl=1.0)
    deadline = time.monotonic() + HANG
    while not log.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.read_text(), "the worker never started computing"
    os.kill(winner.pid, signal.SIGKILL)
    winner.wait()
    mc = mcring.Client([memcached.addr])
    computes = Counter()

    def compute():
        computes.bump()
        return "after the dead winner"

    t0 = time.monotonic()
    results, _ = herd(4, lambda i: mc.get_or_set("gos:killed", compute, 60, lease_ttl=1.0))
    waited = time.monotonic() - t0
    assert results == ["after the dead winner"] * 4
    assert computes.n == 1
    assert waited < HANG


def test_early_recache_lets_one_caller_recompute_while_the_others_read(memcached):
    mc = mcring.Client([memcached.addr])
    assert mc.get_or_set("gos:early", lambda: "old", 10, recache_s=2) == "old"
    # Remaining TTL 10 s: above recache_s, a plain hit.
    assert mc.get_or_set("gos:early", lambda: pytest.fail("recomputed too early"), 10, recache_s=2) == "old"
    # Below recache_s=30 (memcached counts whole seconds, so no sleep is
    # needed to be inside the window).
    computes = Counter()

    def compute():
        computes.bump()
        time.sleep(0.2)
        return "new"

    results, _ = herd(6, lambda i: mc.get_or_set("gos:early", compute, 60, recache_s=30))
    assert computes.n == 1
    assert sorted(results) == ["new"] + ["old"] * 5
    assert mc.get("gos:early") == "new"


def test_stale_ttl_serves_an_expired_value_while_one_recomputes(memcached):
    mc = mcring.Client([memcached.addr])
    assert mc.get_or_set("gos:swr", lambda: "old", 1, stale_ttl=30) == "old"
    time.sleep(2.1)  # past its TTL (memcached's clock ticks in whole seconds), inside its stale time
    computes = Counter()

    def compute():
        computes.bump()
        time.sleep(0.2)
        return "new"

    results, _ = herd(6, lambda i: mc.get_or_set("gos:swr", compute, 60, stale_ttl=30))
    assert computes.n == 1
    assert sorted(results) == ["new"] + ["old"] * 5


def test_bad_arguments_and_values_raise_and_release_the_lease(memcached):
    mc = mcring.Client([memcached.addr])
    with pytest.raises(mcring.BadValueError, match="callable"):
        mc.get_or_set("gos:bad", "not callable", 60)
    with pytest.raises(mcring.BadValueError, match="lease_ttl"):
        mc.get_or_set("gos:bad", lambda: 1, 60, lease_ttl=-1.0)
    with pytest.raises(mcring.BadValueError, match="ttl"):
        mc.get_or_set("gos:bad", lambda: 1, -5)
    with pytest.raises(mcring.BadKeyError):
        mc.get_or_set("has space", lambda: 1, 60)
    # A value the codec cannot store raises; its lease is given back, so the
    # next caller computes at once (lease_ttl is long).
    with pytest.raises(mcring.BadValueError, match="cannot store"):
        mc.get_or_set("gos:bad", lambda: object(), 60, lease_ttl=30.0)
    t0 = time.monotonic()
    assert mc.get_or_set("gos:bad", lambda: "fine", 60, lease_ttl=30.0) == "fine"
    assert time.monotonic() - t0 < 15.0
    assert mc.get("gos:bad") == "fine"


def test_cached_decorator(memcached):
    mc = mcring.Client([memcached.addr])
    calls = []

    @mc.cached(ttl=60, key="user:{0}")
    def load_user(user_id):
        calls.append(user_id)
        time.sleep(0.1)
        return {"id": user_id}

    assert load_user.__name__ == "load_user"
    results, _ = herd(8, lambda i: load_user(7))
    assert results == [{"id": 7}] * 8
    assert calls == [7]
    assert load_user.cache_key(7) == "user:7"
    assert mc.get("user:7") == {"id": 7}
    assert load_user(8) == {"id": 8} and calls == [7, 8]

    @mc.cached(ttl=60)
    def square(x, power=2):
        calls.append(("square", x))
        return x**power

    assert square(3) == 9 and square(3) == 9
    assert square(3, power=3) == 27
    assert calls.count(("square", 3)) == 2
    assert square.cache_key(3).startswith(f"{__name__}.test_cached_decorator.<locals>.square:")
    assert mc.invalidate(square.cache_key(3)) is True

    @mc.cached(ttl=60, key=lambda a, b: f"sum:{a}:{b}")
    def add(a, b):
        return a + b

    assert add(1, 2) == 3 and mc.get("sum:1:2") == 3
    with pytest.raises(TypeError):
        mc.cached(ttl=60, key=5)
    with pytest.raises(mcring.BadValueError):
        mc.cached(ttl=60, lease_ttl=0.0)


def test_hot_keys_are_counted_per_server(start_memcached):
    servers = [start_memcached(), start_memcached()]
    mc = mcring.Client([s.addr for s in servers], hot_keys=32)
    assert mcring.Client([servers[0].addr]).hot_keys() == {servers[0].addr: []}
    mc.set("hot", "x", 60)
    for _ in range(100):
        mc.get("hot")
    for i in range(20):
        mc.get(f"cold:{i}")
    groups = mc.hot_keys()
    assert list(groups) == [s.addr for s in servers]
    home = mc.server_for("hot")
    top = groups[home][0]
    assert top["key"] == "hot" and top["reads"] - top["error"] <= 100 <= top["reads"]
    assert top["rate"] >= 1
    assert all(k["key"] != "hot" for s, keys in groups.items() if s != home for k in keys)
    # The same sketch in the client's stats.
    in_stats = mc.metrics()["hot_keys"]
    assert list(in_stats) == list(groups)
    assert in_stats[home][0]["key"] == "hot" and in_stats[home][0]["reads"] == top["reads"]
    assert mcring.Client([servers[0].addr]).metrics()["hot_keys"] == {}, "nothing counted, nothing shown"
