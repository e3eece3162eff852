"""Means over result rows (pure functions): one place that decides what a mean covers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from harness.errors import UsageError
from harness.score import registry


class LeaderboardError(UsageError, ValueError):
    """The leaderboard cannot be built as asked (e.g. ranking by a column no run has)."""


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """n, failures and the mean of every score over the rows that have it.

    Failed items (no generation) are excluded from every mean and counted in `n_failed`; items whose
    judge calls failed in `n_judge_failed`; a metric that was unavailable has no mean (None), never 0.
    """
    rows = list(rows)
    ok = [r for r in rows if not r.get("error")]
    keys: list[str] = []
    for row in ok:
        for key in row.get("scores", {}):
            if key not in keys:
                keys.append(key)
    means: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for key in keys:
        values = [r["scores"][key] for r in ok if isinstance(r.get("scores", {}).get(key), (int, float))]
        values = [v for v in values if not math.isnan(v)]
        means[key] = sum(values) / len(values) if values else None
        counts[key] = len(values)
    unavailable: dict[str, str] = {}
    for row in rows:
        unavailable.update(row.get("unavailable", {}))
    flags: dict[str, int] = {}
    for row in rows:
        for flag in row.get("flags", []):
            flags[flag] = flags.get(flag, 0) + 1
    if ok and flags.get("judge_failed", 0) >= len(ok) and "judge" not in unavailable:
        # A judge that failed on every item has no number: say so, do not drop its columns.
        first = next(
            (
                str(e)
                for r in ok
                for e in ((r.get("evidence") or {}).get("judge", {}).get("errors") or {}).values()
            ),
            "",
        )
        unavailable["judge"] = (
            f"the judge failed on all {len(ok)} scored items{': ' + first if first else ''}"
        )
    errors: dict[str, int] = {}
    for row in rows:
        if row.get("error"):
            errors[row["error"]["type"]] = errors.get(row["error"]["type"], 0) + 1
    errors_by_class: dict[str, int] = {}
    for row in rows:
        if row.get("error"):
            cls = row["error"].get("class") or row["error"]["type"]
            errors_by_class[cls] = errors_by_class.get(cls, 0) + 1
    return {
        "n_items": len(rows),
        "n_scored": len(ok),
        "n_failed": len(rows) - len(ok),
        # Scored items whose judge call failed (no judge values) / whose article was cut to fit
        # the judge's context: a run with a failing judge never reads as "0 failed".
        "n_judge_failed": flags.get("judge_failed", 0),
        "n_judge_input_truncated": flags.get("judge_input_truncated", 0),
        "means": means,
        "counts": counts,
        "unavailable": unavailable,
        "flags": flags,
        "errors": errors,
        "errors_by_class": errors_by_class,
        "generation": call_stats([r.get("generation") or {} for r in ok]),
        "judge": judge_stats(rows),
    }


def judge_stats(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Cost, tokens and latency of the judge's calls per item (None when no judge ran)."""
    usages = [((r.get("evidence") or {}).get("judge") or {}).get("usage") for r in rows]
    usages = [u for u in usages if u]
    return call_stats(usages) if usages else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    # Linear interpolation between closest ranks (numpy's default), without importing numpy.
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def call_stats(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Cost, tokens and latency of successful calls (the model's figures: a cached reply keeps the
    cost and latency it had when it was made). Cost per 100 is None when any price is unknown."""
    costs = [c.get("cost_usd") for c in calls]
    known = [c for c in costs if isinstance(c, (int, float))]
    latencies = [c["latency_s"] for c in calls if isinstance(c.get("latency_s"), (int, float))]
    prompt = [c["prompt_tokens"] for c in calls if isinstance(c.get("prompt_tokens"), int)]
    completion = [c["completion_tokens"] for c in calls if isinstance(c.get("completion_tokens"), int)]
    n = len(calls)
    return {
        "n_calls": n,
        "cost_usd_total": sum(known) if known and len(known) == n else None,
        "cost_per_100_items_usd": 100 * sum(known) / n if n and len(known) == n else None,
        "latency_p50_s": _percentile(latencies, 50),
        "latency_p95_s": _percentile(latencies, 95),
        "prompt_tokens_mean": sum(prompt) / len(prompt) if prompt else None,
        "completion_tokens_mean": sum(completion) / len(completion) if completion else None,
        "cache_hits": sum(1 for c in calls if c.get("cache_hit")),
    }


def ordered_score_keys(keys: Iterable[str]) -> list[str]:
    """Headline metrics first (their declaration order), then the rest alphabetically."""
    return registry.ordered_keys(keys)


def headline_keys() -> list[str]:
    """The leaderboard's metric columns, from the metric declarations."""
    return [c.key for c in registry.columns(headline_only=True)]
