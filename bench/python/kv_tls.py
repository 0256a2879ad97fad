"""Python clients over TLS, single thread, pinned: mcring.Client with tls=true
against pymemcache with an ssl.SSLContext (the one Python peer with TLS),
on the TLS servers bench/kv.sh started. Workloads as in kv_bench.py: get and
set of one key (1000 keys, 100-byte values), get_multi of 100 keys over all
servers. Prints one line per (workload, client): ops/s, best of --repeat.

    python bench/python/kv_tls.py --ca CA.pem host:port...
"""

from __future__ import annotations

import argparse
import os
import ssl
import subprocess
import sys
import time

KEYS = 1000
VALUE = b"x" * 100
MULTI = 100
WORKLOADS = {"get": 30000, "set": 30000, "mget": 3000}


def make_client(name, servers, ca):
    if name == "mcring":
        import mcring

        return mcring.Client(servers, tls=True, tls_ca=ca)
    if name == "pymemcache":
        from pymemcache.client.hash import HashClient

        context = ssl.create_default_context(cafile=ca)
        hosts = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in servers]
        return HashClient(hosts, no_delay=True, tls_context=context)
    raise SystemExit("unknown client " + name)


def run_client(name, op, ops, servers, ca):
    mc = make_client(name, servers, ca)
    keys = ["%s:%d" % (name, i) for i in range(KEYS)]
    for key in keys:
        mc.set(key, VALUE)
    batches = [[keys[(b * MULTI + k) % KEYS] for k in range(MULTI)] for b in range(KEYS // MULTI)]
    get_multi = mc.get_multi if name == "mcring" else mc.get_many
    assert len(get_multi(batches[0])) == MULTI
    get, set_ = mc.get, mc.set
    start = time.perf_counter()
    if op == "get":
        for i in range(ops):
            get(keys[i % KEYS])
    elif op == "set":
        for i in range(ops):
            set_(keys[i % KEYS], VALUE)
    else:
        nb = len(batches)
        for i in range(ops):
            get_multi(batches[i % nb])
    print("%.0f" % (ops / (time.perf_counter() - start)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    if args.client:
        op, ops, *servers = args.rest
        run_client(args.client, op, int(ops), servers, args.ca)
        return
    servers = args.rest
    best = {}
    for _ in range(args.repeat):
        for op, ops in WORKLOADS.items():
            for client in ("mcring", "pymemcache"):
                targets = servers[:1] if op != "mget" else servers
                cmd = [sys.executable, os.path.abspath(__file__), "--client", client, "--ca", args.ca]
                out = subprocess.run(
                    ["taskset", "-c", "0"] + cmd + [op, str(ops)] + targets,
                    capture_output=True, text=True, timeout=600,
                )
                if out.returncode != 0:
                    raise SystemExit("%s %s failed:\n%s%s" % (client, op, out.stdout, out.stderr))
                got = float(out.stdout.strip().splitlines()[-1])
                best[op, client] = max(got, best.get((op, client), 0.0))
    for op in WORKLOADS:
        print("%s %.0f %.0f" % (op, best[op, "mcring"], best[op, "pymemcache"]))


if __name__ == "__main__":
    main()
