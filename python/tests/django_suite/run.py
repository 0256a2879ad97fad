"""Runs Django's own memcached cache tests on mcring, against real memcached.

Django's test suite is not part of the Django wheel: the sdist of the pinned
release is downloaded from PyPI at test time (pip download) into the
checkout's target/.cache/, never committed. Its tests/ run with Django's own
runner (runtests.py) and these settings (settings.py here):

- cache.tests.PyLibMCCacheTests and cache.tests.PyMemcacheCacheTests, with
  the names ``pylibmc`` and ``pymemcache`` aliased to mcring.pylibmc and
  mcring.pymemcache, so Django's PyLibMCCache and PyMemcacheCache backends
  run on mcring;
- mcring_cache (this directory): Django's BaseMemcachedTests with the
  backend swapped for mcring.django.MemcachedCache.

    python run.py            # exit status 0 when every test passed
"""

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time

DJANGO_VERSION = "5.2.19"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CACHE = os.path.join(ROOT, "target", ".cache", "django-%s" % DJANGO_VERSION)
LABELS = ["cache.tests.PyLibMCCacheTests", "cache.tests.PyMemcacheCacheTests", "mcring_cache"]


def django_tests():
    """Django's tests/ directory of the pinned release, downloaded once."""
    tests = os.path.join(CACHE, "tests")
    if os.path.exists(os.path.join(tests, "runtests.py")):
        return tests
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
         "--no-deps", "--no-binary", ":all:", "-d", CACHE, "django==%s" % DJANGO_VERSION],
        check=True,
    )
    archive = os.path.join(CACHE, "django-%s.tar.gz" % DJANGO_VERSION)
    top = "django-%s/tests/" % DJANGO_VERSION
    with tarfile.open(archive) as tar:
        members = []
        for m in tar.getmembers():
            if m.name.startswith(top) and (m.isfile() or m.isdir()) and ".." not in m.name:
                m.name = m.name[len("django-%s/" % DJANGO_VERSION):]
                members.append(m)
        tar.extractall(CACHE, members=members)
    os.remove(archive)
    return tests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_memcached():
    port = free_port()
    args = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "2", "-m", "64"]
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


def main():
    import django

    if django.__version__ != DJANGO_VERSION:
        raise SystemExit("Django %s is installed; these tests pin %s"
                         % (django.__version__, DJANGO_VERSION))
    tests = django_tests()
    # Our test app and settings go beside Django's test apps.
    app = os.path.join(tests, "mcring_cache")
    shutil.rmtree(app, ignore_errors=True)
    shutil.copytree(os.path.join(HERE, "mcring_cache"), app)
    shutil.copy(os.path.join(HERE, "settings.py"), os.path.join(tests, "mcring_settings.py"))
    proc, addr = start_memcached()
    try:
        env = dict(os.environ, MCRING_TEST_MEMCACHED=addr, PYTHONDONTWRITEBYTECODE="1")
        run = subprocess.run(
            [sys.executable, "runtests.py", "--settings=mcring_settings", "--parallel=1",
             "--noinput", "-v", "2"] + LABELS + sys.argv[1:],
            cwd=tests, env=env,
        )
    finally:
        proc.kill()
        proc.wait()
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
