"""Single-thread key-value benchmark of the Python clients against the C floor.

Three memcached servers on free 127.0.0.1 ports; every client and server is
pinned to one core (taskset -c 0), so each request costs the same context
switches for every client. Workloads, as bench/c/kv_common.h defines them:
get and set of one key (1000 keys, 100-byte values) and get_multi of 100 keys
spread over the 3 servers. Clients, each in its own process, in the same run:

    floor              bench/c/kv_floor.c: raw blocking sockets, no placement, no parsing
    mcring             mcring.Client (ketama-weighted)
    mcring.pylibmc     mcring.pylibmc.Client with pylibmc's arguments (below)
    mcring.pymemcache  mcring.pymemcache HashClient with pymemcache's arguments (below)
    pylibmc            pylibmc.Client, ketama_weighted, binary=False, tcp_nodelay
    pymemcache         pymemcache HashClient (no_delay; its sets are noreply by default)

and set_noreply: sets not waited for, mcring.Client's set(noreply=True)
beside the two HashClients' default sets (pylibmc and the floor do not take
part).

Each figure is the best of --repeat rounds (the machine may be shared).

    bench/python/run.sh                # builds the release wheel and runs this
    python bench/python/kv_bench.py    # with mcring, pylibmc, pymemcache installed
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = 1000
VALUE = b"x" * 100
MULTI = 100
CLIENTS = ["floor", "mcring", "mcring.pylibmc", "mcring.pymemcache", "pylibmc", "pymemcache"]
WORKLOADS = {"get": 50000, "set": 50000, "mget": 5000, "set_noreply": 50000}
# Clients that send sets without waiting for the reply.
NOREPLY_CLIENTS = ["mcring", "mcring.pymemcache", "pymemcache"]


# ---- one client, in its own pinned process ----------------------------------


def make_client(name, servers):
    if name == "mcring":
        import mcring

        return mcring.Client(servers)
    if name in ("pylibmc", "mcring.pylibmc"):
        if name == "pylibmc":
            import pylibmc
        else:
            import mcring.pylibmc as pylibmc

        return pylibmc.Client(
            servers, binary=False, behaviors={"ketama_weighted": True, "tcp_nodelay": True}
        )
    if name in ("pymemcache", "mcring.pymemcache"):
        if name == "pymemcache":
            from pymemcache.client.hash import HashClient
        else:
            from mcring.pymemcache.client.hash import HashClient

        hosts = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in servers]
        return HashClient(hosts, no_delay=True)
    raise SystemExit("unknown client " + name)


def run_client(name, op, ops, servers):
    """Preloads the keys, runs `ops` operations and prints ops per second."""
    mc = make_client(name, servers)
    keys = ["%s:%d" % (name.replace(".", "-"), i) for i in range(KEYS)]
    for key in keys:
        mc.set(key, VALUE)
    assert mc.get(keys[0]) == VALUE
    batches = [[keys[(b * MULTI + k) % KEYS] for k in range(MULTI)] for b in range(KEYS // MULTI)]
    assert len(mc.get_multi(batches[0])) == MULTI
    get, set_, get_multi = mc.get, mc.set, mc.get_multi
    start = time.perf_counter()
    if op == "get":
        for i in range(ops):
            get(keys[i % KEYS])
    elif op == "set":
        for i in range(ops):
            set_(keys[i % KEYS], VALUE)
    elif op == "mget":
        nb = len(batches)
        for i in range(ops):
            get_multi(batches[i % nb])
    elif op == "set_noreply":
        if name == "mcring":
            for i in range(ops):
                set_(keys[i % KEYS], VALUE, noreply=True)
        else:  # the HashClients: noreply is their default
            for i in range(ops):
                set_(keys[i % KEYS], VALUE)
        # Every set was sent; one read waits for the server to have them.
        assert mc.get(keys[(ops - 1) % KEYS]) == VALUE
    else:
        raise SystemExit("unknown op " + op)
    elapsed = time.perf_counter() - start
    print("%.0f" % (ops / elapsed))


# ---- the run ------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_memcached():
    port = free_port()
    args = ["taskset", "-c", "0", "memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "1"]
    if os.geteuid() == 0:
        args += ["-u", "root"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, "127.0.0.1:%d" % port
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit("memcached did not start")


def build_floor():
    out_dir = os.path.join(ROOT, "target", "bench")
    os.makedirs(out_dir, exist_ok=True)
    binary = os.path.join(out_dir, "kv_floor")
    source = os.path.join(ROOT, "bench", "c", "kv_floor.c")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(source):
        subprocess.run(["cc", "-O2", "-o", binary, source], check=True)
    return binary


def measure(client, op, ops, servers, floor):
    if client == "floor":
        cmd = [floor, op, str(ops)] + servers
    else:
        cmd = [sys.executable, os.path.abspath(__file__), "--client", client, op, str(ops)] + servers
    out = subprocess.run(["taskset", "-c", "0"] + cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit("%s %s failed:\n%s%s" % (client, op, out.stdout, out.stderr))
    return float(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        op, ops, *servers = args.rest
        run_client(args.client, op, int(ops), servers)
        return
    if shutil.which("taskset") is None or shutil.which("memcached") is None:
        raise SystemExit("needs taskset and memcached")
    floor = build_floor()
    procs = []
    try:
        servers = []
        for _ in range(3):
            proc, addr = start_memcached()
            procs.append(proc)
            servers.append(addr)
        # Rounds take every client in turn, so a passing load on the shared
        # machine touches all of them alike; each keeps its best round.
        results = {}
        for round_ in range(args.repeat):
            for op, ops in WORKLOADS.items():
                for client in CLIENTS:
                    if op == "set_noreply" and client not in NOREPLY_CLIENTS:
                        continue
                    got = measure(client, op, ops, servers, floor)
                    results[op, client] = max(got, results.get((op, client), 0.0))
                    print("round %d %-5s %-10s %10.0f ops/s" % (round_, op, client, got), file=sys.stderr)
    finally:
        for proc in procs:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    print_table(results)


def print_table(results):
    names = {"get": "get", "set": "set", "mget": "get_multi (100 keys)",
             "set_noreply": "set, noreply"}
    print()
    print("| workload | floor ops/s | " + " | ".join(CLIENTS[1:]) + " |")
    print("| --- | ---: |" + " ---: |" * (len(CLIENTS) - 1))
    for op in WORKLOADS:
        if op == "set_noreply":
            continue
        floor = results[op, "floor"]
        cells = ["%.2f×" % (results[op, c] / floor) for c in CLIENTS[1:]]
        print("| %s | %.0f | %s |" % (names[op], floor, " | ".join(cells)))
    print()
    print("| workload | mcring.pylibmc / mcring | mcring.pymemcache / mcring "
          "| mcring.pylibmc / pylibmc | mcring.pymemcache / pymemcache | mcring / pylibmc "
          "| mcring / pymemcache |")
    print("| --- |" + " ---: |" * 6)
    for op in WORKLOADS:
        if op == "set_noreply":
            continue
        r = {c: results[op, c] for c in CLIENTS}
        print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            names[op],
            r["mcring.pylibmc"] / r["mcring"],
            r["mcring.pymemcache"] / r["mcring"],
            r["mcring.pylibmc"] / r["pylibmc"],
            r["mcring.pymemcache"] / r["pymemcache"],
            r["mcring"] / r["pylibmc"],
            r["mcring"] / r["pymemcache"],
        ))
    print()
    print("| sets not waited for | ops/s | / pymemcache |")
    print("| --- | ---: | ---: |")
    for client in NOREPLY_CLIENTS:
        ops = results["set_noreply", client]
        label = "mcring set(noreply=True)" if client == "mcring" else client + " set (default)"
        print("| %s | %.0f | %.2f |" % (label, ops, ops / results["set_noreply", "pymemcache"]))


if __name__ == "__main__":
    main()
