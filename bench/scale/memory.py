"""Memory: the resident set of a client process over 10 million mixed
operations on 3 servers, sampled every tenth of the run (does it grow?).

An operation is one key read, written or deleted: a single-key get, set
or delete counts one, a multi-get or multi-set of 100 keys a hundred. The
mix (bench/c/kv_common.h, kv_mixed; the same in bench/src/kv.rs and
bench/python/kv_client.py), per 100 calls: 60 gets, 5 gets of missing
keys, 20 sets, 5 single-key delete_multi calls, 5 multi-gets and 4
multi-sets of --multi keys (100), and one set and get of a 200 KB value
(which grows the receive buffer; it must shrink again); 1,000 keys of 100
bytes. At 100 keys a multi-key call, 100 calls are 992 operations, so 10
million operations are about 1.01 million calls (a call is a round trip;
at the few thousand calls a second of this shared machine, 10 million
single-key calls would take most of an hour).

Clients: --ops (10 million) for libmcring from C, the mcring engine (Rust)
and Python mcring; --short-ops (1 million) for libmemcached and pylibmc,
for reference. The client runs on CPU 0, the servers on CPU 1.

    bench/memory.sh [--ops 10000000] [--short-ops 1000000] [--multi 100]
"""

from __future__ import annotations

import argparse
import subprocess

import harness as h


def run_mixed(cmd, calls, every, multi, servers):
    env = h.client_env({"KV_RSS_EVERY": every, "KV_MULTI": multi})
    argv = ["taskset", "-c", "0"] + cmd + ["mixed", str(calls)] + servers
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


def operations_per_100_calls(multi):
    # 60 + 5 + 20 + 5 single-key calls, 5 multi-gets and 4 multi-sets of
    # `multi` keys, one set and one get of the large value.
    return 90 + 9 * multi + 2


def operations_of(calls, multi):
    """The operations of the mix's first `calls` calls."""
    tail = sum(1 if r < 90 else multi if r < 99 else 2 for r in range(calls % 100))
    return calls // 100 * operations_per_100_calls(multi) + tail


def calls_for(ops, multi):
    """The fewest calls of the mix that make at least `ops` operations."""
    calls = ops * 100 // operations_per_100_calls(multi)
    while operations_of(calls, multi) < ops:
        calls += 1
    return calls


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ops", type=int, default=10_000_000)
    p.add_argument("--short-ops", type=int, default=1_000_000)
    p.add_argument("--multi", type=int, default=100)
    args = p.parse_args()
    ops, short, multi = args.ops, args.short_ops, args.multi
    if h.SMOKE:
        ops, short = 2000, 2000
    per100 = operations_per_100_calls(multi)
    h.build_c()
    cmds = h.clients(python=h.venv_python())
    servers = h.Servers(3, cpus="1", memory_mb=256, threads=1)
    rows = []
    for label, name, n in [("libmcring (C)", "libmcring", ops), ("mcring engine", "engine", ops),
                           ("Python mcring", "py-mcring", ops), ("libmemcached", "libmemcached", short),
                           ("pylibmc", "py-pylibmc", short)]:
        calls = calls_for(n, multi)
        done = operations_of(calls, multi)
        every = max(calls // 10, 1)
        samples, rate = run_mixed(cmds[name], calls, every, multi, servers.names)
        h.log(label, samples, rate)
        start = samples[0][1]
        first = samples[1][1] if len(samples) > 1 else start
        last = samples[-1][1]
        trail = " → ".join("%d" % kib for _, kib in samples[1:])
        rows.append([label, "{:,}".format(done), "{:,}".format(calls), "%.0f" % rate,
                     "%.0f" % (rate * per100 / 100), start, trail, "%+d" % (last - first)])
    servers.stop()
    how = ("`bench/memory.sh --ops %d --short-ops %d --multi %d`: an operation is one key read, "
           "written or deleted (a multi-key call of %d keys counts %d); %d operations per 100 calls. "
           "VmRSS in KiB of the client process after connecting and preloading, then after each "
           "tenth of the run; growth = last sample minus the first tenth's. Client on CPU 0, "
           "3 servers on CPU 1." % (ops, short, multi, multi, multi, per100))
    header = ["client", "operations", "calls", "calls/s", "operations/s", "RSS at start",
              "RSS after each tenth of the run", "growth after the first tenth"]
    h.save("memory", "Memory over millions of mixed operations", how, h.table(header, rows))


if __name__ == "__main__":
    main()
