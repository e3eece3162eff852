"""What every scorer returns, and how a scorer says it cannot run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.data.schema import Item


class MetricUnavailable(Exception):
    """The metric cannot be computed in this environment (e.g. its model is not available).

    The message must say why and how to fix it; the run goes on and the metric is shown as
    unavailable, never as 0.
    """


@dataclass
class MetricResult:
    """Scores of one metric for one item.

    values: named numbers, e.g. {"rouge1_f": 0.41, ...}; keys are leaderboard columns.
    flags: short machine-readable notes, e.g. "empty_output", "bertscore_truncated".
    evidence: anything worth keeping for inspection (never needed to rebuild the means).
    """

    values: dict[str, float]
    flags: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


class Scorer(Protocol):
    """A metric: scores generated bullets against an item. No file or network access."""

    name: str

    def meta(self) -> dict[str, Any]:
        """Everything that determines the numbers: library versions, tokenizer, variants."""
        ...

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        """Score each candidate (a list of generated bullets) against its item, in order."""
        ...


def score_each(
    items: Sequence[Item],
    candidates: Sequence[Sequence[str]],
    score_one: Callable[[Item, Sequence[str]], MetricResult],
) -> list[MetricResult]:
    """Score candidates[i] against items[i] one by one, after checking the pairing.

    A bare string as a candidate is refused: it would be scored as one bullet per character."""
    if len(items) != len(candidates):
        raise ValueError(f"{len(items)} items but {len(candidates)} candidates")
    results = []
    for item, bullets in zip(items, candidates, strict=True):
        if isinstance(bullets, str):
            raise TypeError(f"item {item.id}: candidate must be a list of bullet strings, not a str")
        results.append(score_one(item, bullets))
    return results
