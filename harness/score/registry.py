"""Metric declarations: the one place that says what a metric's columns are and how to read them.

A metric is one module in `harness/score/` that calls `register(Metric(...))` at import time. The
declaration states the metric's name (the key of its options in `conf/metrics/*.yaml` and of its
entry in a row's `unavailable`), its columns with label and direction, how they aggregate, whether it
needs the reference, and how to build its scorer from its options. The leaderboard (md/csv/json),
the site, the plots, the gate's defaults and `--rank-by` all read these declarations.

Modules are discovered by name (every top-level module of `harness.score`), so adding a metric is
adding a file. Declarations must stay cheap to import: load models inside the scorer, not at import.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

# Modules of harness.score that are infrastructure, not metrics.
_NOT_METRICS = {"base", "registry", "cache", "runner"}


@dataclass(frozen=True)
class Column:
    """One number a metric writes into every scored row (`row.scores[key]`)."""

    key: str
    label: str
    higher_is_better: bool = True
    # Shown in the compact leaderboard view (md, site's default view); others are one click away.
    compact: bool = False
    # A leaderboard column (md, site, plots, gate defaults); the others (precision/recall parts,
    # counts) are in the csv and json only.
    headline: bool = False
    description: str = ""

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"


@dataclass(frozen=True)
class Metric:
    """What a metric is. `build(options)` returns its scorer, or None when it is off; `options` is the
    typed section of MetricsConfig with the metric's name, or the dict in `metrics.extra.<name>`."""

    name: str
    columns: tuple[Column, ...]
    needs_reference: bool
    description: str
    build: Callable[[Any], Any] | None = None
    # Display order among metrics (lower first); columns keep their declared order within a metric.
    order: int = 100
    # How per-item values become a row's number: the mean over scored items (failed items excluded).
    aggregation: str = "mean"
    # Built by the pipeline from other config (the judge needs a model client), not from options.
    built_by_pipeline: bool = False
    version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("build")
        data["columns"] = [{**asdict(c), "direction": c.direction} for c in self.columns]
        return data


_REGISTRY: dict[str, Metric] = {}
_discovered = False


def register(metric: Metric) -> Metric:
    """Declare a metric (called at import time by its module). Column keys are unique across metrics."""
    if metric.aggregation != "mean":
        raise ValueError(f"metric {metric.name}: aggregation {metric.aggregation!r} is not supported (mean)")
    for other in _REGISTRY.values():
        if other.name == metric.name:
            continue
        clash = {c.key for c in other.columns} & {c.key for c in metric.columns}
        if clash:
            raise ValueError(f"metric {metric.name}: columns {sorted(clash)} already belong to {other.name}")
    _REGISTRY[metric.name] = metric
    return metric


def unregister(name: str) -> None:
    """Remove a declaration (tests that add a toy metric clean up with this)."""
    _REGISTRY.pop(name, None)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    import harness.score as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg and info.name not in _NOT_METRICS and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _discovered = True


def metrics() -> list[Metric]:
    """Every declared metric, in display order."""
    _discover()
    return sorted(_REGISTRY.values(), key=lambda m: (m.order, m.name))


def metric(name: str) -> Metric | None:
    _discover()
    return _REGISTRY.get(name)


def columns(*, headline_only: bool = False) -> list[Column]:
    """Every declared column, in display order."""
    return [c for m in metrics() for c in m.columns if c.headline or not headline_only]


def column(key: str) -> Column | None:
    return next((c for c in columns() if c.key == key), None)


def metric_of(key: str) -> Metric | None:
    """The metric a column belongs to (None for a column no metric declares)."""
    return next((m for m in metrics() if any(c.key == key for c in m.columns)), None)


def label(key: str) -> str:
    col = column(key)
    return col.label if col else key


def higher_is_better(key: str) -> bool:
    """Direction of a column; an undeclared column is read as higher-is-better."""
    col = column(key)
    return True if col is None else col.higher_is_better


def lower_is_better(key: str) -> bool:
    return not higher_is_better(key)


def ordered_keys(keys: Iterable[str]) -> list[str]:
    """Headline columns first in declaration order, then any other key alphabetically."""
    keys = set(keys)
    headline = [c.key for c in columns(headline_only=True)]
    return [k for k in headline if k in keys] + sorted(keys - set(headline))


def to_json() -> list[dict[str, Any]]:
    """The declarations as data (the site and leaderboard.json carry them)."""
    return [m.to_json() for m in metrics()]
