"""Shared server health in a pre-fork server: a real gunicorn (4 sync
workers, on a free loopback port) whose master calls mcring.shared_health()
before forking. With a memcached stopped (SIGSTOP), the whole pool pays about
failure_limit timeouts; without sharing, each worker pays its own."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

import mcring
from conftest import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
FAILURE_LIMIT = 2
REQUESTS = 120


def start_gunicorn(servers, shared):
    port = free_port()
    env = dict(
        os.environ,
        MCRING_TEST_SERVERS=" ".join(servers),
        MCRING_TEST_SHARED="1" if shared else "0",
        PYTHONPATH=os.pathsep.join([os.path.join(HERE, "gunicorn_app"),
                                    os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", os.path.join(HERE, "gunicorn_app",
         "gunicorn_conf.py"), "-b", "127.0.0.1:%d" % port, "app:application"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            request(port, "warmup")
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited: %s" % proc.stderr.read().decode())
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError("gunicorn did not start")


def stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def request(port, key):
    with urllib.request.urlopen("http://127.0.0.1:%d/?%s" % (port, key), timeout=10) as r:
        return json.loads(r.read())


def run_pool(servers, stopped, shared):
    """Requests for keys of the stopped server, one after the other; how
    many paid a timeout, and how many workers answered."""
    keys = [k for k in ("key%d" % i for i in range(2000))
            if mcring.Client(servers).server_for(k) == stopped.addr][:REQUESTS]
    proc, port = start_gunicorn(servers, shared)
    try:
        # Every worker makes its client while all servers are up.
        for i in range(40):
            request(port, "warm%d" % i)
        stopped.pause()
        try:
            answers = [request(port, key) for key in keys]
        finally:
            stopped.resume()
    finally:
        stop(proc)
    slow = [a for a in answers if a["ms"] >= 250]
    assert all(a["ms"] < 2000 for a in answers), "no request waits past its timeouts"
    return len(slow), {a["pid"] for a in answers}, {a["pid"] for a in slow}


def test_a_stopped_server_costs_the_pool_failure_limit_timeouts(start_memcached):
    servers = [start_memcached() for _ in range(3)]
    names = [s.addr for s in servers]
    shared_slow, shared_workers, _ = run_pool(names, servers[1], shared=True)
    private_slow, private_workers, private_payers = run_pool(names, servers[1], shared=False)
    print("shared: %d timeouts over %d workers; private: %d timeouts over %d workers"
          % (shared_slow, len(shared_workers), private_slow, len(private_workers)))
    assert len(shared_workers) >= 3 and len(private_workers) >= 3, "requests spread over workers"
    assert shared_slow <= FAILURE_LIMIT + 1, "about failure_limit timeouts for the whole pool"
    # Without sharing, every worker that met the stopped server paid its own.
    assert private_slow == FAILURE_LIMIT * len(private_payers)
    assert private_slow > shared_slow
