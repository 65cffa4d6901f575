"""Prometheus metrics of the generator, on prometheus-client.

Each service (and each HTTP app) keeps its own CollectorRegistry rather than the library's global
one: a process may hold several services (tests do, a bot with an in-process generator holds one
next to its own metrics), and names registered twice in one registry would collide.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

# The Prometheus text format that generate_latest writes (newer prometheus-client versions name
# a later one CONTENT_TYPE_LATEST; Prometheus reads this one everywhere).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """One sample's current value (a counter's `..._total`, a histogram's `..._count`); 0 if absent."""
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


class Merged(Collector):
    """Several registries read as one (a collector for generate_latest): one page, one scrape."""

    def __init__(self, registries: Iterable[CollectorRegistry] = ()) -> None:
        self.registries = list(registries)

    def add(self, registry: CollectorRegistry) -> None:
        self.registries.append(registry)

    def collect(self) -> Iterator[Metric]:
        for registry in self.registries:
            yield from registry.collect()


def exposition(*registries: CollectorRegistry) -> bytes:
    """The Prometheus text of these registries, in order."""
    return generate_latest(Merged(registries))


def scraped(text: str, name: str, **labels: str) -> float:
    """From a scraped page: the sum of the samples called `name` whose labels include `labels`
    (none given: all of them); 0 when there are none."""
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()))
