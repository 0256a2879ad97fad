"""Stampede benchmark: the add("lock:"+key) / sleep(0.1) / retry pattern of
cache-aside code versus mcring's get_or_set, on one hot key that expires
every TTL seconds, read by many concurrent callers (processes x threads);
then the near cache's effect on reads/s of one hot key.

    python bench/stampede/run.py [--seconds 30] [--procs 8] [--threads 8]
                                 [--ttl 2] [--compute-ms 200]

Starts its own memcached on a free 127.0.0.1 port (stopped by pid at the
end) and prints, for each pattern: database computes (and per expiry),
memcached requests (the server's cmd_get + cmd_set + deletes + touches),
and caller latency p50/p99/max. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_memcached() -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "2", "-m", "64", "-c", "4096"]
    if os.geteuid() == 0:
        args += ["-u", "root"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("memcached did not start")


def server_requests(addr: str) -> int:
    host, port = addr.split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            data += s.recv(65536)
    stats = {}
    for line in data.decode().split("\r\n"):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "STAT":
            stats[parts[1]] = parts[2]
    names = ["cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses"]
    return sum(int(stats.get(n, 0)) for n in names)


# ---- the callers ----------------------------------------------------------------


def lock_pattern_get(mc, key, compute, ttl):
    """The cache-aside code the issue quotes: get; on a miss add a lock key,
    compute and set, or sleep 100 ms and retry."""
    while True:
        value = mc.get(key)
        if value is not None:
            return value
        if mc.add("lock:" + key, "1", 10):
            value = compute()
            mc.set(key, value, ttl)
            mc.delete("lock:" + key)
            return value
        time.sleep(0.1)


def worker(pattern, addr, key, log, seconds, threads, ttl, compute_ms, start_at, out, dies_at):
    import mcring

    mc = mcring.Client([addr])

    def compute():
        with open(log, "a") as f:
            f.write(f"{time.time():.3f}\n")
        if dies_at and time.time() >= dies_at:
            # The first compute after dies_at, in whichever process: the
            # holder dies mid-compute (a deploy, an OOM kill...).
            try:
                os.close(os.open(log + ".died", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                os.kill(os.getpid(), signal.SIGKILL)
            except FileExistsError:
                pass
        time.sleep(compute_ms / 1000.0)
        return "x" * 100

    latencies = []
    lock = threading.Lock()

    def caller():
        mine = []
        time.sleep(max(0.0, start_at - time.time()))
        end = start_at + seconds
        while time.time() < end:
            t0 = time.perf_counter()
            if pattern == "lock":
                lock_pattern_get(mc, key, compute, ttl)
            else:
                mc.get_or_set(key, compute, ttl)
            mine.append(time.perf_counter() - t0)
            time.sleep(0.005)  # the rest of the request
        with lock:
            latencies.extend(mine)

    ts = [threading.Thread(target=caller) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put(latencies)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[i]


def run_pattern(pattern, args, holder_dies=False):
    proc, addr = start_memcached()
    try:
        log = tempfile.NamedTemporaryFile(delete=False, prefix="mcring-stampede-").name
        before = server_requests(addr)
        out = mp.Queue()
        start_at = time.time() + 2.0
        # With holder_dies, the first compute after a third of the run
        # kills its process.
        dies_at = start_at + args.seconds / 3 if holder_dies else 0
        procs = [
            mp.Process(
                target=worker,
                args=(pattern, addr, "hot:key", log, args.seconds, args.threads, args.ttl, args.compute_ms,
                      start_at, out, dies_at),
            )
            for _ in range(args.procs)
        ]
        for p in procs:
            p.start()
        latencies = []
        # Drain before joining (a process exits only once its results are
        # read); a killed process sends none.
        received = 0
        while received < len(procs):
            try:
                latencies.extend(out.get(timeout=0.5))
                received += 1
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and out.empty():
                    break
        for p in procs:
            p.join()
        requests = server_requests(addr) - before
        with open(log) as f:
            computes = len(f.read().split())
        died = os.path.exists(log + ".died")
        os.unlink(log)
        if died:
            os.unlink(log + ".died")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    latencies.sort()
    expiries = args.seconds / args.ttl
    # The calls that waited for a refill (the rest were plain hits).
    waited = [x for x in latencies if x >= args.compute_ms / 2000.0]
    return {
        "died": died,
        "waited": len(waited),
        "w50": percentile(waited, 50) * 1000,
        "w99": percentile(waited, 99) * 1000,
        "wmax": waited[-1] * 1000 if waited else float("nan"),
        # Every call that did not wait is a plain hit: one request. The rest
        # of the requests are the refills' (a late caller of the lease
        # pattern that waited less than compute/2 counts as a hit, which
        # only adds to the lease's figure).
        "extra": (requests - (len(latencies) - len(waited))) / expiries,
        "computes": computes,
        "per_expiry": computes / expiries,
        "requests": requests,
        "calls": len(latencies),
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "p999": percentile(latencies, 99.9) * 1000,
        "max": latencies[-1] * 1000 if latencies else float("nan"),
    }


def near_cache_reads(addr, seconds, near_cache_ms):
    import mcring

    opts = {"near_cache_ms": near_cache_ms, "hot_key_rate": 10} if near_cache_ms else {}
    mc = mcring.Client([addr], **opts)
    mc.set("near:hot", "v" * 100, 0)
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            mc.get("near:hot")
        n += 100
    return n / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--ttl", type=int, default=2)
    ap.add_argument("--compute-ms", type=int, default=200)
    ap.add_argument("--near-seconds", type=float, default=3)
    ap.add_argument("--holder-dies", action="store_true",
                    help="also run both patterns with one process killed mid-compute")
    args = ap.parse_args()
    if shutil.which("memcached") is None:
        sys.exit("memcached is not installed")
    import mcring

    print(
        f"mcring {mcring.__version__}; {args.procs} processes x {args.threads} threads = "
        f"{args.procs * args.threads} callers, one key with ttl={args.ttl}s, "
        f"compute {args.compute_ms} ms, {args.seconds:.0f} s per pattern"
    )
    results = {name: run_pattern(name, args) for name in ["lock", "lease"]}
    print()
    print(f"{'pattern':<26}{'computes':>9}{'/expiry':>9}{'mc requests':>13}{'calls':>8}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'max ms':>9}")
    names = {"lock": "add-lock + sleep(0.1)", "lease": "get_or_set (leases)"}
    for name, r in results.items():
        print(f"{names[name]:<26}{r['computes']:>9}{r['per_expiry']:>9.2f}{r['requests']:>13}{r['calls']:>8}"
              f"{r['p50']:>9.2f}{r['p99']:>9.1f}{r['p999']:>10.1f}{r['max']:>9.1f}")
    print(f"\n{'calls that waited for a refill':<34}{'calls':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'their memcached requests, per expiry':>40}")
    for name, r in results.items():
        print(f"{names[name]:<34}{r['waited']:>8}{r['w50']:>9.1f}{r['w99']:>9.1f}{r['wmax']:>9.1f}{r['extra']:>40.1f}")
    lock, lease = results["lock"], results["lease"]
    print(f"\nrefill requests: lock/lease = {lock['extra'] / max(1e-9, lease['extra']):.1f}x; "
          f"computes per expiry: lock {lock['per_expiry']:.2f}, lease {lease['per_expiry']:.2f}")

    if args.holder_dies:
        print("\nthe same, the first compute after a third of the run SIGKILLs its process (8 callers):")
        for name in ["lock", "lease"]:
            r = run_pattern(name, args, holder_dies=True)
            print(f"{names[name]:<26} {'a holder died' if r['died'] else 'NO HOLDER DIED'}: computes {r['computes']} ({r['per_expiry']:.2f}/expiry), "
                  f"refill waits p99 {r['w99']:.0f} ms, max {r['wmax']:.0f} ms, "
                  f"refill requests {r['extra']:.0f}/expiry")

    proc, addr = start_memcached()
    try:
        without = near_cache_reads(addr, args.near_seconds, 0)
        with_nc = near_cache_reads(addr, args.near_seconds, 100)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    print(f"\nnear cache, one thread reading one hot key: without {without:,.0f} reads/s, "
          f"near_cache_ms=100 {with_nc:,.0f} reads/s ({with_nc / without:.1f}x)")


if __name__ == "__main__":
    main()
