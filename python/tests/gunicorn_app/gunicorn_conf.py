"""gunicorn settings for the shared-health test: 4 sync workers; the
master makes server health shared before it forks them (unless the test
turns that off to compare)."""

import os

import mcring

workers = 4
worker_class = "sync"
timeout = 30
graceful_timeout = 5
accesslog = None
loglevel = "warning"


def on_starting(server):
    if os.environ.get("MCRING_TEST_SHARED") == "1":
        mcring.shared_health()
