"""A few Prometheus metrics, kept by hand: counters, gauges and histograms with labels.

The generator service and its HTTP server update these from the event loop thread only, so no
locks. `render()` writes the Prometheus text exposition format (version 0.0.4).
"""
from __future__ import annotations

import bisect
import math
from typing import Callable, Iterable

Labels = tuple[tuple[str, str], ...]

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _labels(labels: dict[str, str]) -> Labels:
    return tuple(sorted((key, str(value)) for key, value in labels.items()))


def _format_labels(labels: Labels, extra: tuple[str, str] | None = None) -> str:
    pairs = list(labels) + ([extra] if extra else [])
    if not pairs:
        return ""
    escaped = (f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
               for key, value in pairs)
    return "{" + ",".join(escaped) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    kind = "counter"

    def __init__(self, name: str, help: str) -> None:
        self.name, self.help = name, help
        self.values: dict[Labels, float] = {}

    def inc(self, amount: float = 1, **labels: str) -> None:
        key = _labels(labels)
        self.values[key] = self.values.get(key, 0) + amount

    def get(self, **labels: str) -> float:
        return self.values.get(_labels(labels), 0)

    def lines(self) -> Iterable[str]:
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_format_labels(labels)} {_number(value)}"


class Gauge:
    """A value set by hand, or read from a callback when the metrics are rendered."""

    kind = "gauge"

    def __init__(self, name: str, help: str, read: Callable[[], dict[Labels, float]] | None = None) -> None:
        self.name, self.help = name, help
        self.values: dict[Labels, float] = {}
        self.read = read

    def set(self, value: float, **labels: str) -> None:
        self.values[_labels(labels)] = value

    def lines(self) -> Iterable[str]:
        values = self.read() if self.read else self.values
        for labels, value in sorted(values.items()):
            yield f"{self.name}{_format_labels(labels)} {_number(value)}"


class Histogram:
    kind = "histogram"

    def __init__(self, name: str, help: str, buckets: Iterable[float]) -> None:
        self.name, self.help = name, help
        self.buckets = tuple(sorted(buckets))
        self.series: dict[Labels, list[float]] = {}  # per-bucket counts, then +Inf count, then sum

    def observe(self, value: float, **labels: str) -> None:
        key = _labels(labels)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = [0.0] * (len(self.buckets) + 2)
        series[bisect.bisect_left(self.buckets, value)] += 1  # the first bucket with bound >= value
        series[-1] += value

    def count(self, **labels: str) -> int:
        series = self.series.get(_labels(labels))
        return int(sum(series[:-1])) if series else 0

    def lines(self) -> Iterable[str]:
        for labels, series in sorted(self.series.items()):
            running = 0.0
            for bound, count in zip(self.buckets + (math.inf,), series[:-1]):
                running += count
                yield f"{self.name}_bucket{_format_labels(labels, ('le', _number(bound)))} {_number(running)}"
            yield f"{self.name}_sum{_format_labels(labels)} {_number(series[-1])}"
            yield f"{self.name}_count{_format_labels(labels)} {_number(running)}"


class Registry:
    def __init__(self) -> None:
        self.metrics: list[Counter | Gauge | Histogram] = []

    def add(self, metric):  # type: ignore[no-untyped-def]
        self.metrics.append(metric)
        return metric

    def render(self) -> str:
        out: list[str] = []
        for metric in self.metrics:
            out.append(f"# HELP {metric.name} {metric.help}")
            out.append(f"# TYPE {metric.name} {metric.kind}")
            out.extend(metric.lines())
        return "\n".join(out) + "\n"
