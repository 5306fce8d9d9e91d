"""Prometheus metrics: requests by route, latency, and what the data layer went through.

Each worker process keeps its own registry (no shared multiprocess directory): scrape each
app process, or read the per-process figures as what they are.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from aloft.storage.database import Database

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _DatabaseCollector(Collector):
    """Reads the data layer's counters at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self):
        stats = self.db.stats
        with stats.lock:
            retries = dict(stats.retries)
            unavailable, failovers = stats.unavailable, stats.failovers
        family = CounterMetricFamily(
            "aloft_db_retries", "Database attempts retried, by reason", labels=["reason"]
        )
        for reason, count in sorted(retries.items()):
            family.add_metric([reason], count)
        yield family
        yield CounterMetricFamily(
            "aloft_db_unavailable",
            "Operations given up after the deadline (503)",
            value=unavailable,
        )
        yield CounterMetricFamily(
            "aloft_db_failovers", "Times writes moved to another database server", value=failovers
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aloft_http_requests",
            "API requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aloft_http_request_duration_seconds",
            "API request latency by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def watch(self, db: Database) -> None:
        self.registry.register(_DatabaseCollector(db))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
