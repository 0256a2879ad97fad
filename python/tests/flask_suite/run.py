"""Runs cachelib's own MemcachedCache tests (tests/test_memcached_cache.py
of the pinned cachelib sdist, downloaded at test time into target/.cache/,
never committed) on mcring.flask.CachelibMemcachedCache, the backend under
mcring.flask.MemcachedCache, against a real memcached on a free port.
Arguments go to pytest."""

import os
import socket
import subprocess
import sys
import tarfile
import time

CACHELIB_VERSION = "0.17.0"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CACHE = os.path.join(ROOT, "target", ".cache", "cachelib-%s" % CACHELIB_VERSION)


def cachelib_tests():
    tests = os.path.join(CACHE, "tests")
    if os.path.exists(os.path.join(tests, "test_memcached_cache.py")):
        return tests
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
         "--no-deps", "--no-binary", ":all:", "-d", CACHE, "cachelib==%s" % CACHELIB_VERSION],
        check=True,
    )
    archive = os.path.join(CACHE, "cachelib-%s.tar.gz" % CACHELIB_VERSION)
    top = "cachelib-%s/" % CACHELIB_VERSION
    with tarfile.open(archive) as tar:
        members = []
        for m in tar.getmembers():
            if m.name.startswith(top + "tests/") and m.isfile() and ".." not in m.name:
                m.name = m.name[len(top):]
                members.append(m)
        tar.extractall(CACHE, members=members)
    os.remove(archive)
    return tests


def main():
    tests = cachelib_tests()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "1"]
    if os.geteuid() == 0:
        args += ["-u", "root"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("memcached did not start")
                time.sleep(0.02)
        # CI=true: cachelib's fixture uses the running server instead of
        # starting one on a fixed port.
        env = dict(os.environ, CI="true", MCRING_TEST_MEMCACHED="127.0.0.1:%d" % port,
                   PYTHONPATH=os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))
        run = subprocess.run(
            # The python-memcached variants are deselected (another client
            # library, not installed); the pylibmc ones run on mcring.
            [sys.executable, "-m", "pytest", "-p", "plugin", "-o", "cache_dir=" + CACHE + "/.pytest",
             "-rs", "-v", "-k", "not python-memcached", "test_memcached_cache.py"] + sys.argv[1:],
            cwd=tests, env=env,
        )
    finally:
        proc.kill()
        proc.wait()
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
