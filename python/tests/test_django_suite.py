"""Django's own memcached cache tests (the BaseMemcachedTests-based classes
of the pinned release's tests/cache/tests.py) on mcring: Django's
PyLibMCCache and PyMemcacheCache backends with pylibmc and pymemcache
aliased to mcring's compat modules, and mcring.django.MemcachedCache. See
django_suite/run.py; Django must be installed at the pinned version."""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def test_djangos_memcached_cache_tests_pass():
    run = subprocess.run(
        [sys.executable, os.path.join(HERE, "django_suite", "run.py")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    ran = re.search(r"^Ran (\d+) tests", out, re.M)
    assert ran and int(ran.group(1)) >= 150, out[-3000:]
    assert re.search(r"^OK \(skipped=\d+\)$|^OK$", out, re.M), out[-3000:]
    # Each class ran: Django's two backends on the compat modules, and ours.
    for cls in ["PyLibMCCacheTests", "PyMemcacheCacheTests", "McringMemcachedCacheTests"]:
        passed = re.findall(r"^test_\w+ \(\S+\.%s\.test_\w+\)(?: \.\.\.)? ok$" % cls, out, re.M)
        assert len(passed) >= 45, (cls, len(passed))
    # The only skips are Django's own for culling, which memcached lacks.
    skips = re.findall(r"skipped '(.*)'|skipped \"(.*)\"", out)
    assert all("Culling" in (a or b) for a, b in skips), skips
