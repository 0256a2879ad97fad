"""mcring's client metrics for the official ``prometheus_client`` package.

    import mcring
    from mcring.prometheus import Collector
    from prometheus_client import REGISTRY, start_http_server

    mc = mcring.Client(["10.0.0.1:11211", "10.0.0.2:11211"])
    REGISTRY.register(Collector(mc))
    start_http_server(9100)

Every scrape reads the client's counters and latency histograms: the
families are the engine's own rendering (``Client.prometheus()``), so they
carry the names, help and labels every mcring binding and
``mcring exporter --shm`` use (``mcring_client_hits_total{server}``,
``mcring_client_request_duration_seconds_bucket{server,command,le}``, ...)
and the dashboard and alerts in ``deploy/`` work unchanged. Register one
collector per client; two clients of the same servers would export the same
series (the registry refuses that).

Needs ``prometheus_client`` (``pip install mcring[prometheus]``).
"""

from __future__ import annotations

from typing import Iterator

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from ._mcring import Client

__all__ = ["Collector"]


class Collector:
    """A ``prometheus_client`` collector of one client's metrics."""

    def __init__(self, client: Client) -> None:
        if not isinstance(client, Client):
            raise TypeError(f"Collector needs an mcring.Client, not {type(client).__name__}")
        self.client = client

    def collect(self) -> Iterator[Metric]:
        """The client's metric families, as of now."""
        yield from text_string_to_metric_families(self.client.prometheus())
