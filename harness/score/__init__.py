"""Metrics: one file per metric, each declaring itself (`registry.register`); `build_scorers` turns
the metrics config into scorer objects in declaration order."""

from __future__ import annotations

from typing import Any

from harness.config import MetricsConfig
from harness.score.base import MetricResult, MetricUnavailable, Scorer

__all__ = ["MetricResult", "MetricUnavailable", "Scorer", "build_scorers", "metric_options"]


def metric_options(cfg: MetricsConfig, name: str) -> Any:
    """A metric's options: its typed section of MetricsConfig, else `metrics.extra.<name>` (a dict
    read as attributes; a metric listed there is on unless it says `enabled: false`)."""
    typed = getattr(cfg, name, None)
    if typed is not None and hasattr(typed, "enabled"):
        return typed
    from types import SimpleNamespace

    raw = dict((cfg.extra or {}).get(name) or {})
    if name not in (cfg.extra or {}):
        raw["enabled"] = False
    raw.setdefault("enabled", True)
    return SimpleNamespace(**raw)


def build_scorers(cfg: MetricsConfig, judge: Any = None) -> list[Scorer]:
    """The enabled scorers, in declaration order. Construction is cheap; models load on first use.

    `judge`: a ready JudgeScorer (it needs a model client, built by the pipeline), or None."""
    from harness.score import registry

    scorers: list[Scorer] = []
    for metric in registry.metrics():
        if metric.built_by_pipeline:
            if metric.name == "judge" and judge is not None:
                scorers.append(judge)
            continue
        if metric.build is None:
            continue
        scorer = metric.build(metric_options(cfg, metric.name))
        if scorer is not None:
            scorers.append(scorer)
    return scorers
