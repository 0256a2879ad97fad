"""Memory: the resident set of a client process over 10 million mixed
operations on 3 servers, sampled every tenth of the run (does it grow?).

The mix (bench/c/kv_common.h, kv_mixed; the same in bench/src/kv.rs and
bench/python/kv_client.py), per 100 operations: 60 gets, 5 gets of
missing keys, 20 sets, 5 single-key delete_multi calls, 5 multi-gets and
4 multi-sets of 10 keys, and one set and get of a 200 KB value (which
grows the receive buffer; it must shrink again). 1,000 keys of 100 bytes.

Clients: libmcring from C for --ops (10 million), and for --short-ops (1
million: on this shared machine a run does about 10,000 operations a
second) the mcring engine (Rust), Python mcring, and for reference
libmemcached and pylibmc. The client runs on CPU 0, the servers on CPU 1.

    bench/memory.sh [--ops 10000000] [--short-ops 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess

import harness as h


def run_mixed(cmd, ops, every, servers):
    env = h.client_env({"KV_RSS_EVERY": every, "KV_MULTI": 10})
    argv = ["taskset", "-c", "0"] + cmd + ["mixed", str(ops)] + servers
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(argv[:6]), out.stderr))
    samples = []
    rate = 0.0
    for line in out.stdout.splitlines():
        parts = line.split()
        if parts[0] == "rss":
            samples.append((int(parts[1]), int(parts[2])))
        else:
            rate = float(parts[0])
    return samples, rate


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ops", type=int, default=10_000_000)
    p.add_argument("--short-ops", type=int, default=1_000_000)
    args = p.parse_args()
    ops, short = args.ops, args.short_ops
    if h.SMOKE:
        ops, short = 2000, 2000
    h.build_c()
    cmds = h.clients(python=h.venv_python())
    servers = h.Servers(3, cpus="1", memory_mb=256, threads=1)
    rows = []
    for label, name, n in [("libmcring (C)", "libmcring", ops), ("mcring engine", "engine", short),
                           ("Python mcring", "py-mcring", short), ("libmemcached", "libmemcached", short),
                           ("pylibmc", "py-pylibmc", short)]:
        every = max(n // 10, 1)
        samples, rate = run_mixed(cmds[name], n, every, servers.names)
        h.log(label, samples, rate)
        start = samples[0][1]
        first = samples[1][1] if len(samples) > 1 else start
        last = samples[-1][1]
        trail = " → ".join("%d" % kib for _, kib in samples[1:])
        rows.append([label, "{:,}".format(n), "%.0f" % rate, start, trail, "%+d" % (last - first)])
    servers.stop()
    how = ("`bench/memory.sh --ops %d --short-ops %d`: VmRSS in KiB of the client process after "
           "connecting and preloading, then after each tenth of the run; growth = last sample minus "
           "the first tenth's. Client on CPU 0, 3 servers on CPU 1." % (ops, short))
    header = ["client", "operations", "ops/s", "RSS at start", "RSS after each tenth of the run",
              "growth after the first tenth"]
    h.save("memory", "Memory over millions of mixed operations", how, h.table(header, rows))


if __name__ == "__main__":
    main()
