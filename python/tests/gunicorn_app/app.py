"""A WSGI app for the gunicorn test: each request reads one key through a
client made in the worker (after the fork) and answers with the worker's
pid, how long the read took and how it ended."""

import json
import os
import time

import mcring

_client = None


def client():
    global _client
    if _client is None:
        _client = mcring.Client(
            os.environ["MCRING_TEST_SERVERS"].split(),
            connect_timeout_ms=300,
            io_timeout_ms=300,
            failure_limit=2,
            retry_timeout_ms=60000,
            failover="next",
        )
    return _client


def application(environ, start_response):
    key = environ.get("QUERY_STRING", "") or "k"
    start = time.monotonic()
    try:
        value = client().get(key)
        outcome = "hit" if value is not None else "miss"
    except mcring.Error as e:
        outcome = type(e).__name__
    body = json.dumps(
        {"pid": os.getpid(), "ms": (time.monotonic() - start) * 1000, "outcome": outcome}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
