"""Where a request's time goes: the known gaps (single get on 1 and 3
servers, 100-key multi-get on 1 and 3 servers; with --workloads also the
1,000-key fan-out over 10, 50 and 200 servers, and a 1,000-key set_multi
on 3 servers), per client.

Per client and workload:

* ops/s: a run pinned with the servers to CPU 0 (as bench/kv.sh), under
  `perf record -e cpu-clock` of the client process: the client's own CPU
  time per operation, in user space and in the kernel, and the user-space
  functions that take it (sampled time, so other load on the machine does
  not count; it can still slow the client down through the caches);
* server CPU µs/op: the memcached processes' run time over that run
  (schedstat);
* syscalls/op: strace -f -c, runs of N and 2N operations differenced (so
  start-up and preload drop out), as the next two;
* instructions/op: user-space instructions, valgrind --tool=callgrind;
* heap allocations and bytes per op: valgrind --tool=dhat;
* target/prof/<client>.<workload>.txt: perf's time per user-space
  function per operation, and where a client's operation is one function,
  callgrind's inclusive instructions per function of the operation alone
  (--toggle-collect). Python mcring runs an unstripped build of the
  extension for this (cargo build -p mcring-python), the same code as the
  wheel.

    bench/profile.sh [--ops 100000] [--workloads get1,get3,mget1,mget3,fan10,fan50,fan200,mset3]
                     [--clients floor,engine,...] [--name profile]
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess

import harness as h

PROF = os.path.join(h.ROOT, "target", "prof")
# name: (op, servers, keys per call, keys in all)
WORKLOADS = {
    "get1": ("get", 1, 1, 1000), "get3": ("get", 3, 1, 1000),
    "mget1": ("mget", 1, 100, 1000), "mget3": ("mget", 3, 100, 1000),
    "fan10": ("mget", 10, 1000, 1000), "fan50": ("mget", 50, 1000, 1000), "fan200": ("mget", 200, 1000, 1000),
    "mset3": ("mset", 3, 1000, 1000),
}
CLIENTS = ["floor", "libmemcached", "engine", "libmcring", "py-mcring", "py-pylibmc"]
# The function that runs one operation, per client and op, for callgrind's
# --toggle-collect.
TOGGLE = {
    ("floor", "get"): "floor_get", ("floor", "mget"): "floor_mget",
    ("libmemcached", "get"): "lmc_get", ("libmemcached", "mget"): "lmc_mget",
    ("engine", "get"): "kv::get", ("engine", "mget"): "kv::count", ("engine", "mset"): "kv::mset",
    ("libmcring", "mset"): "mc_mset", ("floor", "mset"): "floor_mset", ("libmemcached", "mset"): "lmc_mset",
    ("libmcring", "get"): "mc_get", ("libmcring", "mget"): "mc_mget",
    ("py-mcring", "get"): "_mcring::client::Client::__pymethod_get__",
    ("py-mcring", "mget"): "_mcring::client::Client::__pymethod_get_multi__",
}
PERF_HZ = 10000


def unstripped_python_module():
    """A copy of the mcring package whose extension keeps its symbols."""
    h.sh(["cargo", "build", "--release", "--quiet", "-p", "mcring-python"], cwd=h.ROOT)
    pkg = os.path.join(PROF, "pymod", "mcring")
    os.makedirs(pkg, exist_ok=True)
    src = os.path.join(h.ROOT, "python", "mcring")
    for name in os.listdir(src):
        if name.endswith((".py", ".pyi")) or name == "py.typed":
            shutil.copy(os.path.join(src, name), pkg)
    shutil.copy(os.path.join(h.ROOT, "target", "release", "lib_mcring.so"), os.path.join(pkg, "_mcring.abi3.so"))
    return os.path.dirname(pkg)


def environ(env):
    return h.client_env(env)


def schedstat_ns(pids):
    total = 0
    for pid in pids:
        for path in glob.glob("/proc/%d/task/*/schedstat" % pid):
            with open(path) as f:
                total += int(f.read().split()[0])
    return total


def sampled(cmd, op, ops, servers, env, path):
    """One pinned run under perf: (ops/s, client user µs/op, client kernel
    µs/op, server CPU µs/op, [(µs/op, symbol)] of user-space functions)."""
    data = path + ".perf"
    server0 = schedstat_ns(p.pid for p in servers.procs)
    out = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(PERF_HZ), "-o", data, "--",
                          "taskset", "-c", "0"] + cmd + [op, str(ops)] + servers.names,
                         env=environ(env), capture_output=True, text=True)
    server1 = schedstat_ns(p.pid for p in servers.procs)
    if out.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), out.stderr))
    rate = float(out.stdout.strip().splitlines()[-1].split()[0])
    # perf recorded the client process alone.
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "-q", "-F", "sample,dso,sym"],
                         capture_output=True, text=True).stdout
    user = kernel = 0
    funcs = []
    for line in rep.splitlines():
        m = re.match(r"\s*(\d+)\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        n, dso, kind, sym = int(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        if kind == "k":
            kernel += n
        else:
            user += n
            funcs.append((n, "%s (%s)" % (sym, dso)))
    per = 1e6 / PERF_HZ / ops
    funcs = [(n * per, s) for n, s in sorted(funcs, reverse=True)]
    return rate, user * per, kernel * per, (server1 - server0) / 1e3 / ops, funcs


def syscalls(cmd, op, ops, servers, env):
    out = os.path.join(PROF, "strace.out")
    subprocess.run(["strace", "-f", "-c", "-o", out] + cmd + [op, str(ops)] + servers.names, env=environ(env),
                   check=True, capture_output=True)
    with open(out) as f:
        for line in f:
            if line.strip().endswith("total"):
                # % time, seconds, usecs/call, calls, [errors,] total
                return int(line.split()[3])
    return 0


def instructions(cmd, op, ops, servers, env):
    out = os.path.join(PROF, "callgrind.tmp")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd + [op, str(ops)]
                   + servers.names, env=environ(env), check=True, capture_output=True)
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit("no callgrind totals in " + out)


def allocations(cmd, op, ops, servers, env):
    """(heap blocks, heap bytes) allocated over a run, from valgrind's DHAT."""
    out = subprocess.run(["valgrind", "--tool=dhat", "--dhat-out-file=/dev/null"] + cmd + [op, str(ops)]
                         + servers.names, env=environ(env), check=True, capture_output=True, text=True)
    m = re.search(r"Total:\s+([\d,]+) bytes in ([\d,]+) blocks", out.stderr)
    if not m:
        raise SystemExit("no DHAT totals")
    return int(m.group(2).replace(",", "")), int(m.group(1).replace(",", ""))


def callgrind_breakdown(cmd, op, ops, servers, env, toggle, top=40):
    """callgrind's inclusive instructions per call of `toggle` and of what
    it calls, as text lines."""
    out = os.path.join(PROF, "callgrind.toggle")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--collect-atstart=no",
                    "--toggle-collect=" + toggle] + cmd + [op, str(ops)] + servers.names, env=environ(env),
                   check=True, capture_output=True)
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--auto=no", out], capture_output=True,
                         text=True).stdout
    total = 0
    lines = []
    for line in ann.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)", line)
        if not m:
            continue
        cost = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in m.group(3):
            total = cost
        # Callers of the toggled function show its whole cost: left out.
        elif float(m.group(2)) < 99.95 and len(lines) < top:
            lines.append("%10.0f  %5s%%  %s" % (cost / ops, m.group(2), m.group(3)[:170]))
    return ["callgrind: inclusive user instructions per operation, of %s (%d operations)" % (toggle, ops),
            "%10.0f  100.0%%  the whole operation" % (total / ops)] + lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ops", type=int, default=100000, help="single-key operations per sampled run")
    p.add_argument("--workloads", default="get1,get3,mget1,mget3")
    p.add_argument("--clients", default=",".join(CLIENTS))
    p.add_argument("--name", default="profile", help="bench/results/<name>.md")
    args = p.parse_args()
    n = args.ops
    names = args.clients.split(",")
    workloads = args.workloads.split(",")
    if h.SMOKE:
        # Each client and workload is 7 runs, 6 under valgrind: one of each.
        n, names, workloads = 400, ["engine"], ["mget1"]
    os.makedirs(PROF, exist_ok=True)
    h.build_c()
    cmds = h.clients(python=h.venv_python())
    if "py-mcring" in names and not h.SMOKE:
        os.environ["PYTHONPATH"] = unstripped_python_module()
    sections = []
    started = {}
    for wl in workloads:
        op, width, multi, keys = WORKLOADS[wl]
        if width not in started:
            for s in started.values():
                s.stop()
            # One process per server up to 3 (as bench/kv.sh), else 8.
            started = {width: h.Servers(width, processes=width if width <= 3 else 8)}
        servers = started[width]
        env = {"KV_MULTI": multi, "KV_KEYS": keys}
        if width > 100:
            env["KV_LMC_DIST"] = "modula"
        if op == "mset":
            # libmemcached's buffered writes (see bench/scale/multi_write.py).
            env.update(KV_LMC_BUFFER=1, KV_LMC_FLUSH_EVERY=50)
        rows = []
        floor_rate = None
        for name in names:
            cmd = cmds[name]
            # About the same number of keys per run whatever the batch size.
            ops = max(n // multi * (10 if multi > 1 else 1) // (2 if name.startswith("py-") else 1), 20)
            path = os.path.join(PROF, "%s.%s" % (name, wl))
            rate, user, kernel, server, funcs = sampled(cmd, op, ops, servers, env, path)
            few = max(ops // 50, 10)
            instr = (instructions(cmd, op, 2 * few, servers, env) - instructions(cmd, op, few, servers, env)) / few
            calls = (syscalls(cmd, op, 2 * few, servers, env) - syscalls(cmd, op, few, servers, env)) / few
            a1, a2 = allocations(cmd, op, few, servers, env), allocations(cmd, op, 2 * few, servers, env)
            blocks, nbytes = (a2[0] - a1[0]) / few, (a2[1] - a1[1]) / few
            text = ["%s, %s: %.0f ops/s; client user %.2f µs/op, kernel %.2f µs/op; server %.2f µs/op; "
                    "%.1f syscalls/op; %.0f instructions/op; %.1f allocations, %.0f bytes/op"
                    % (wl, name, rate, user, kernel, server, calls, instr, blocks, nbytes),
                    "", "perf: user-space CPU µs per operation, by function (self)"]
            text += ["%10.3f  %s" % (t, s) for t, s in funcs[:30]]
            if (name, op) in TOGGLE:
                text += [""] + callgrind_breakdown(cmd, op, few, servers, env, TOGGLE[name, op])
            with open(path + ".txt", "w") as f:
                f.write("\n".join(text) + "\n")
            floor_rate = floor_rate or rate
            rows.append([name, "%.0f (%s)" % (rate, h.ratio(rate, floor_rate)), "%.2f" % user, "%.2f" % kernel,
                         "%.2f" % (user + kernel), "%.2f" % server, "%.1f" % calls, "%.0f" % instr,
                         "%.1f / %.0f" % (blocks, nbytes)])
            h.log("%s %s: %r" % (wl, name, rows[-1]))
        title = "%s, %d server%s%s" % (op, width, "s" if width > 1 else "", ", %d keys" % multi if multi > 1 else "")
        header = ["client", "ops/s (× floor)", "client user µs/op", "client kernel µs/op", "client CPU µs/op",
                  "server CPU µs/op", "syscalls/op", "user instructions/op", "heap allocations / bytes per op"]
        sections.append("**%s**\n\n%s" % (title, h.table(header, rows)))
    for s in started.values():
        s.stop()
    how = ("`bench/profile.sh --ops %d --workloads %s`: client CPU per operation from perf's cpu-clock "
           "samples of the client process (user space and kernel), ops/s of that run (pinned with "
           "the servers to CPU 0); server CPU from the memcached processes' schedstat over the run; "
           "syscalls (strace -f -c), user-space instructions (callgrind) and heap allocations (DHAT) "
           "from runs of N and 2N operations, differenced. Per-function breakdowns in target/prof/."
           % (n, ",".join(workloads)))
    h.save(args.name, "Where the time goes", how, "\n\n".join(sections))


if __name__ == "__main__":
    main()
