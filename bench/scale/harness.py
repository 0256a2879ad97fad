"""What the scale benchmarks share: building the clients, memcached
processes on loopback, running one client pinned, medians, and the table
each benchmark prints and saves.

Every client speaks the protocol of bench/c/kv_common.h:

    <client command> <op> <ops> <host:port>...   ->   <ops/s> [<p50_us> <p99_us>]

with the workload in KV_* environment variables, so one benchmark runs the
floor, libmemcached, the engine, libmcring, Python and PHP clients alike.
Only the standard library is used here (system python3).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# BENCH_OUT: where the C clients and the Python venv go (bench/smoke.sh uses
# its own, so it can run beside a real run).
OUT = os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(ROOT, "target", "bench")))
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(ROOT, "bench", "results"))
SMOKE = os.environ.get("BENCH_SMOKE", "") == "1"
# BENCH_BUILT=1: the clients are built already (`harness.py build`, as
# bench/smoke.sh does once for all benchmarks); nothing is rebuilt.
BUILT = os.environ.get("BENCH_BUILT", "") == "1"
# The machine's load when the benchmark started, for the saved result (the
# development machine is shared: a result is read with the load it ran at).
LOAD_AT_START = os.getloadavg()


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ---- building ------------------------------------------------------------------


def build_c():
    """The engine (Rust), libmcring and the C clients into target/bench."""
    if BUILT:
        return
    sh(["cargo", "build", "--release", "--quiet", "-p", "mcring-bench", "-p", "mcring-ffi"], cwd=ROOT)
    os.makedirs(OUT, exist_ok=True)
    c = os.path.join(ROOT, "bench", "c")
    rel = os.path.join(ROOT, "target", "release")
    flags = ["cc", "-O2", "-g", "-Wall", "-Wextra", "-Werror"]
    sh(flags + ["-o", f"{OUT}/kv_floor", f"{c}/kv_floor.c", "-lpthread"])
    sh(flags + ["-o", f"{OUT}/kv_libmemcached", f"{c}/kv_libmemcached.c", "-lmemcached", "-lpthread"])
    sh(flags + ["-I", f"{ROOT}/include", "-o", f"{OUT}/kv_mcring", f"{c}/kv_mcring.c",
                f"-L{rel}", "-lmcring", "-lpthread", f"-Wl,-rpath,{rel}"])


def venv_python():
    """A private venv with the release wheel, pylibmc and pymemcache (the
    shared .venv is left alone). BENCH_PYTHON: a python that has them
    already (scripts/test.sh passes its test venv)."""
    if os.environ.get("BENCH_PYTHON"):
        return os.environ["BENCH_PYTHON"]
    venv = os.path.join(OUT, "venv")
    py = os.path.join(venv, "bin", "python")
    if BUILT and os.path.exists(py):
        return py
    if not os.path.exists(py):
        sh([sys.executable, "-m", "venv", venv])
        sh([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "pylibmc", "pymemcache"])
    maturin = os.path.join(ROOT, ".venv", "bin", "maturin")
    wheels = os.path.join(OUT, "wheels")
    sh(["rm", "-rf", wheels])
    sh([maturin, "build", "--release", "--quiet", "-m", "python/Cargo.toml", "-o", wheels], cwd=ROOT,
       stdout=subprocess.DEVNULL)
    wheel = [os.path.join(wheels, w) for w in os.listdir(wheels) if w.endswith(".whl")]
    sh([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--force-reinstall", "--no-deps"] + wheel)
    return py


def php_command():
    """`php -n` with igbinary, msgpack, php-memcached and the mcring
    extension (built by php-ext/build.sh, or BENCH_PHP_EXT's)."""
    ext = os.environ.get("BENCH_PHP_EXT")
    if not ext:
        ext = subprocess.run([os.path.join(ROOT, "php-ext", "build.sh")], check=True, capture_output=True,
                             text=True).stdout.strip()
    # Every client run starts a new php that loads the extension again: it
    # loads a copy of its own, so that php-ext/build.sh run meanwhile (a
    # test run in the same checkout deletes and rebuilds target/php-ext/)
    # cannot fail a benchmark half-way.
    os.makedirs(OUT, exist_ok=True)
    copy = os.path.join(OUT, "mcring-php-%d.so" % os.getpid())
    shutil.copyfile(ext, copy)
    atexit.register(lambda: os.path.exists(copy) and os.remove(copy))
    ext = copy
    ext_dir = subprocess.run(["php-config", "--extension-dir"], check=True, capture_output=True,
                             text=True).stdout.strip()
    cmd = ["php", "-n"]
    for e in ["igbinary", "msgpack", "memcached"]:
        cmd += ["-d", f"extension={ext_dir}/{e}.so"]
    return cmd + ["-d", f"extension={ext}"]


def clients(python=None, php=None):
    """Command prefixes of every client, by name."""
    c = {
        "floor": [f"{OUT}/kv_floor"],
        "libmemcached": [f"{OUT}/kv_libmemcached"],
        "engine": [os.path.join(ROOT, "target", "release", "kv")],
        "libmcring": [f"{OUT}/kv_mcring"],
    }
    if python:
        script = os.path.join(ROOT, "bench", "python", "kv_client.py")
        for name in ["mcring", "pylibmc", "pymemcache"]:
            c[f"py-{name}"] = [python, script, name]
    if php:
        script = os.path.join(ROOT, "bench", "php", "kv_client.php")
        for name in ["mcring", "php-memcached"]:
            c[f"php-{name}"] = php + [script, name]
    return c


# ---- memcached -------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Servers go when the benchmark goes, even if it is killed.
    try:
        ctypes.CDLL("libc.so.6").prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"version\r\n")
            return s.recv(100).startswith(b"VERSION")
    except OSError:
        return False


class Servers:
    """`count` memcached servers on 127.0.0.1, spread over `processes`
    memcached processes (one `-l host:port,...` list each), pinned with
    taskset to `cpus`."""

    def __init__(self, count, processes=None, cpus="0", memory_mb=64, threads=1, item_size="2m",
                 max_conns=4096):
        self.procs = []
        processes = min(count, processes or count)
        for attempt in range(5):
            ports = free_ports(count)
            groups = [ports[i::processes] for i in range(processes)]
            started = []
            for group in groups:
                cmd = ["taskset", "-c", cpus, "memcached", "-U", "0", "-t", str(threads), "-m", str(memory_mb),
                       "-I", item_size, "-c", str(max_conns),
                       "-l", ",".join(f"127.0.0.1:{p}" for p in group)]
                if os.geteuid() == 0:
                    cmd += ["-u", "root"]
                started.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                preexec_fn=_die_with_parent))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(answers(p) for p in ports):
                if any(p.poll() is not None for p in started):
                    break
                time.sleep(0.05)
            if all(answers(p) for p in ports):
                self.procs = started
                self.ports = ports
                # The process serving each port, for per-process stats.
                self.owner = {p: started[i % processes] for i, p in enumerate(ports)}
                atexit.register(self.stop)
                return
            for p in started:
                p.kill()
                p.wait()
        raise SystemExit("could not start memcached")

    @property
    def names(self):
        return [f"127.0.0.1:{p}" for p in self.ports]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.procs = []


def server_stats(port):
    """memcached's `stats` of the process listening on `port`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    out = {}
    for line in data.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "STAT":
            out[parts[1]] = parts[2]
    return out


def established(ports):
    """Established client connections to each of `ports` (from ss)."""
    out = subprocess.run(["ss", "-Htn", "state", "established"], capture_output=True, text=True).stdout
    counts = {p: 0 for p in ports}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        local = fields[2]
        port = int(local.rsplit(":", 1)[1])
        if port in counts:
            counts[port] += 1
    return counts


# ---- running clients -------------------------------------------------------------


# mcring's I/O timeouts in every benchmark client: libmemcached's defaults
# (5 s poll, 4 s connect), instead of mcring's 1 s, so that a stall on a busy
# shared machine costs time rather than a failed run (a timed-out read goes
# to the failover target, where it misses). The fast path is the same.
MCRING_TIMEOUTS = "io_timeout_ms=5000 connect_timeout_ms=4000"


def client_env(env=None):
    full_env = dict(os.environ)
    full_env.update({k: str(v) for k, v in (env or {}).items()})
    full_env["KV_MCRING_OPTIONS"] = (MCRING_TIMEOUTS + " " + full_env.get("KV_MCRING_OPTIONS", "")).strip()
    return full_env


def run(cmd, op, ops, servers, env=None, cpus="0", timeout=900):
    """One run of one client, pinned to `cpus`; the numbers it printed last."""
    full_env = client_env(env)
    argv = ["taskset", "-c", cpus] + cmd + [op, str(ops)] + list(servers)
    out = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout)
    if out.returncode != 0:
        raise SystemExit("failed: %s\n%s%s" % (shlex.join(argv[:6]) + " ...", out.stdout, out.stderr))
    return [float(x) for x in out.stdout.strip().splitlines()[-1].split()]


def median_runs(rounds, jobs):
    """Runs every job once per round, in turn (a passing load on the shared
    machine touches all of them alike); the median of each number of each
    job. `jobs` maps a label to a function returning a list of numbers."""
    samples = {label: [] for label in jobs}
    for r in range(rounds):
        for label, job in jobs.items():
            got = job()
            samples[label].append(got)
            log("round %d %-40s %s" % (r, label, " ".join("%.1f" % g for g in got)))
    def median(col):
        # A job may report NaN for a round it could not finish.
        done = [x for x in col if x == x]
        return statistics.median(done) if done else float("nan")

    return {label: [median(col) for col in zip(*runs)] for label, runs in samples.items()}


# ---- output ------------------------------------------------------------------------


def machine():
    libmc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libmemcached11"], capture_output=True,
                           text=True).stdout
    mc = subprocess.run(["memcached", "-V"], capture_output=True, text=True).stdout.strip()
    return "%s, %d CPUs, %s, libmemcached %s, kernel %s" % (
        platform.processor() or platform.machine(), os.cpu_count(), mc, libmc, platform.release())


def table(header, rows, align=None):
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def save(name, title, how, body):
    """Prints the result and writes it to bench/results/<name>.md."""
    load = "load average (1, 5, 15 min) %s at the start, %s at the end" % (
        " / ".join("%.2f" % x for x in LOAD_AT_START), " / ".join("%.2f" % x for x in os.getloadavg()))
    text = "## %s\n\n%s\n\n%s\n\n(%s; %s; %s)\n" % (title, how, body, time.strftime("%Y-%m-%d %H:%M"),
                                                   machine(), load)
    print(text)
    if SMOKE:
        return
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, name + ".md"), "w") as f:
        f.write(text)
    log("saved %s" % os.path.join(RESULTS, name + ".md"))


def ratio(x, base):
    return "%.2f×" % (x / base) if base else "-"


if __name__ == "__main__":
    # `harness.py build`: builds every client once (bench/smoke.sh).
    if sys.argv[1:] != ["build"]:
        raise SystemExit("usage: harness.py build")
    build_c()
    venv_python()
    php_command()
