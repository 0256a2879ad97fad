"""Threads, fork, Ctrl-C and failover, through the Python API."""

import os
import platform
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import mcring


def listener():
    """A listening socket nobody serves: connections complete in the
    kernel's backlog, requests are never answered."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s, "127.0.0.1:%d" % s.getsockname()[1]


# ---- threads ------------------------------------------------------------------


def test_gil_is_released_while_a_request_waits():
    sock, addr = listener()
    sock.settimeout(10)
    mc = mcring.Client([addr], io_timeout_ms=3000)
    outcome = []

    def blocked_get():
        try:
            mc.get("k")
        except mcring.Error as e:
            outcome.append(type(e))

    t = threading.Thread(target=blocked_get)
    t.start()
    try:
        # Returns once the other thread's request has connected: from then
        # on it waits in the engine for a reply that never comes.
        conn, _ = sock.accept()
        # This thread runs Python code meanwhile: only possible when the
        # waiting thread does not hold the GIL.
        total = sum(i for i in range(100000))
        assert total == 4999950000
        assert t.is_alive(), "the request is still waiting"
    finally:
        t.join(10)
        sock.close()
    conn.close()
    assert outcome == [mcring.TimeoutError]


def test_threads_overlap_their_waits():
    """Four threads wait on a silent server at once: together they take about
    one io timeout, not four (an upper bound, generous)."""
    sock, addr = listener()
    mc = mcring.Client([addr], io_timeout_ms=1000)
    errors = []

    def get():
        try:
            mc.get("k")
        except mcring.TimeoutError:
            errors.append("timeout")

    threads = [threading.Thread(target=get) for _ in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - start
    sock.close()
    assert errors == ["timeout"] * 4
    assert elapsed < 3.0, "requests ran one after another (%.2fs)" % elapsed


def test_threads_share_a_client(start_memcached):
    servers = [start_memcached() for _ in range(3)]
    mc = mcring.Client([s.addr for s in servers])
    failures = []

    def work(n):
        try:
            for i in range(300):
                key = "t%d-%d" % (n, i)
                mc.set(key, [n, i])
                if mc.get(key) != [n, i]:
                    failures.append(key)
            got = mc.get_multi(["t%d-%d" % (n, i) for i in range(300)])
            if got != {"t%d-%d" % (n, i): [n, i] for i in range(300)}:
                failures.append("multi %d" % n)
        except Exception as e:  # reported below, with the thread's number
            failures.append("%d: %r" % (n, e))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []


# ---- fork ---------------------------------------------------------------------


def test_fork_child_opens_its_own_connections(memcached):
    mc = mcring.Client([memcached.addr])
    mc.set("k", "parent")  # the parent now has a pooled connection
    before = memcached.stat("total_connections")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        try:
            ok = mc.get("k") == "parent" and mc.set("child", 1) and mc.get("child") == 1
            connects = mc.stats()[memcached.addr]["connects"]
            os.write(write_end, b"%d %d" % (ok, connects))
        finally:
            os._exit(0)
    os.close(write_end)
    report = os.read(read_end, 100)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    # The child used the client and connected once (counters are copied at
    # fork: the parent's one connect, plus the child's own).
    assert report == b"1 2"
    # memcached saw the child's connection (and the stats query's own).
    assert memcached.stat("total_connections") - before == 2
    # The parent's connection is intact and still its own.
    assert mc.get("child") == 1 and mc.get("k") == "parent"
    assert mc.stats()[memcached.addr]["connects"] == 1


def test_fork_parent_and_child_work_at_once(start_memcached):
    servers = [start_memcached() for _ in range(2)]
    mc = mcring.Client([s.addr for s in servers])
    mc.set_multi({"k%d" % i: i for i in range(50)})
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for round_ in range(200):
                if mc.get_multi(["k%d" % i for i in range(50)]) != {"k%d" % i: i for i in range(50)}:
                    code = 1
                mc.set("child%d" % round_, round_)
        except BaseException:
            code = 2
        os._exit(code)
    for round_ in range(200):
        assert mc.get("k%d" % (round_ % 50)) == round_ % 50
        mc.set("parent%d" % round_, round_)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert mc.get("child199") == 199 and mc.get("parent199") == 199


# ---- Ctrl-C -------------------------------------------------------------------

BLOCKED = textwrap.dedent(
    """
    import signal, sys, time
    import mcring
    mc = mcring.Client(sys.argv[1], io_timeout_ms=int(sys.argv[3]), connect_timeout_ms=20000)
    calls = {
        "get": lambda: mc.get("k"),
        "get_multi": lambda: mc.get_multi(["a", "b", "c"]),
        "set": lambda: mc.set("k", "v"),
        "health": lambda: mc.health(),
        "server_stats": lambda: mc.server_stats(),
    }
    handled = []
    if sys.argv[4] == "quiet":
        signal.signal(signal.SIGUSR1, lambda *_: handled.append(1))
    print("ready", flush=True)
    start = time.monotonic()
    try:
        calls[sys.argv[2]]()
        print("returned")
    except KeyboardInterrupt:
        print("interrupted %.3f" % (time.monotonic() - start))
    except mcring.TimeoutError:
        print("timeout %.3f handled=%d" % (time.monotonic() - start, len(handled)))
    """
)

# x86_64 syscall numbers of the waits the engine blocks in.
WAITING_SYSCALLS = {"45", "7", "271"}  # recvfrom, poll, ppoll


def wait_until_blocked(pid):
    """Until the process sits in a blocking wait (read from /proc), so the
    signal lands in the engine rather than before the call."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split(" ", 1)[0] in WAITING_SYSCALLS:
                    time.sleep(0.05)
                    return
        except OSError:
            pass
        time.sleep(0.02)
    if platform.machine() == "x86_64":
        pytest.fail("the child never blocked in recv/poll")


@pytest.mark.parametrize("call", ["get", "get_multi", "set", "health", "server_stats"])
def test_ctrl_c_stops_a_blocked_call(call):
    """Also for calls that ask every server in turn: the servers after the
    interrupted one are not waited for."""
    sock, addr = listener()
    other, addr2 = listener()
    child = subprocess.Popen(
        [sys.executable, "-c", BLOCKED, addr + " " + addr2, call, "20000", "loud"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "ready\n"
        wait_until_blocked(child.pid)
        os.kill(child.pid, signal.SIGINT)
        out, _ = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        sock.close()
        other.close()
    assert out.startswith("interrupted"), out
    assert float(out.split()[1]) < 10, "Ctrl-C waited for the 20 s io timeout"


def test_signal_whose_handler_returns_does_not_stop_the_call():
    sock, addr = listener()
    child = subprocess.Popen(
        [sys.executable, "-c", BLOCKED, addr, "get", "1500", "quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "ready\n"
        wait_until_blocked(child.pid)
        os.kill(child.pid, signal.SIGUSR1)
        out, _ = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        sock.close()
    assert out.startswith("timeout") and out.strip().endswith("handled=1"), out


# ---- failover -----------------------------------------------------------------


def test_replica_serves_keys_of_a_killed_server(start_memcached):
    servers = [start_memcached() for _ in range(3)]
    mc = mcring.Client([s.addr for s in servers], replicas=1, connect_timeout_ms=500)
    values = {"key%d" % i: i for i in range(100)}
    assert mc.set_multi(values) == []
    victim = servers[1]
    victim.kill()
    lost = [k for k in values if victim.addr in mc.copies_for(k)]
    assert lost, "some keys had a copy on the killed server"
    for key in lost:
        assert mc.get(key) == values[key]
    assert mc.get_multi(list(values)) == values
    # Writes still reach the live copy and read back.
    for key in lost[:10]:
        assert mc.set(key, "new")
        assert mc.get(key) == "new"
    assert mc.stats()[victim.addr]["errors"] >= 1


def test_failover_next_without_replicas(start_memcached):
    servers = [start_memcached() for _ in range(3)]
    mc = mcring.Client(
        [s.addr for s in servers], failover="next", failure_limit=1, retry_timeout_ms=60000
    )
    victim = servers[0]
    key = next(k for k in ("k%d" % i for i in range(1000)) if mc.server_for(k) == victim.addr)
    mc.set(key, "before")
    victim.kill()
    # The failure marks it dead (failure_limit=1), and the same call goes on
    # to the next live server on the ring: a miss there, not an error.
    assert mc.get(key) is None
    assert mc.set(key, "after")
    assert mc.get(key) == "after"
    assert mc.server_for(key) == victim.addr, "placement with every server alive is unchanged"
    assert mc.stats()[victim.addr]["errors"] == 1
