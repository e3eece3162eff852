"""Means over result rows (pure functions): one place that decides what a mean covers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

# Headline columns, in display order; any other score key found in rows follows them.
HEADLINE = ("rouge1_f", "rouge2_f", "rougeL_f", "rougeLsum_f", "bertscore_f1")

LABELS = {
    "rouge1_f": "ROUGE-1 F",
    "rouge2_f": "ROUGE-2 F",
    "rougeL_f": "ROUGE-L F",
    "rougeLsum_f": "ROUGE-Lsum F",
    "bertscore_f1": "BERTScore F1",
}


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """n, failures and the mean of every score over the rows that have it.

    Failed items (no generation) are excluded from every mean and counted in `n_failed`; a metric
    that was unavailable has no mean (None), never 0.
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
    errors: dict[str, int] = {}
    for row in rows:
        if row.get("error"):
            errors[row["error"]["type"]] = errors.get(row["error"]["type"], 0) + 1
    return {
        "n_items": len(rows),
        "n_scored": len(ok),
        "n_failed": len(rows) - len(ok),
        "means": means,
        "counts": counts,
        "unavailable": unavailable,
        "flags": flags,
        "errors": errors,
    }


def ordered_score_keys(keys: Iterable[str]) -> list[str]:
    """Headline metrics first, then the rest alphabetically."""
    keys = set(keys)
    return [k for k in HEADLINE if k in keys] + sorted(keys - set(HEADLINE))
