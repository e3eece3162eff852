"""Compression as a digest states it: how much reading the digest saves.

Per item: `compression` = source characters ÷ digest characters (whitespace not counted, as the
format metric counts bullet length), e.g. 13.0 for a 2,600-character article read as a
200-character digest. The weekly 要点解析 digests state the same figure in their header (original
length ÷ digest length). Not a quality score: read it next to ROUGE, BERTScore and the judge. The
leaderboard shows the mean of per-item ratios; `evidence` keeps both lengths.

A digest with no characters has no ratio: the value is left out (not 0, not infinite) and the row
carries the flag "empty_output". No reference needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.data.schema import Item
from harness.score.base import MetricResult, score_each
from harness.score.registry import Column, Metric, register
from harness.text import char_count

METRIC_VERSION = "compression/1"
VALUE_KEYS = ("compression",)


class CompressionScorer:
    """Source characters ÷ digest characters."""

    name = "compression"
    cache_inputs = ("source",)  # Item fields the numbers depend on (score cache)

    def meta(self) -> dict[str, Any]:
        return {
            "compression": "source characters / digest characters (all bullets), whitespace not counted",
            "aggregation": "mean of per-item ratios",
            "empty_output": "no value, flag empty_output",
            "metric_version": METRIC_VERSION,
        }

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        return score_each(items, candidates, self._score_one)

    def _score_one(self, item: Item, bullets: Sequence[str]) -> MetricResult:
        source = char_count(item.source)
        digest = sum(char_count(b) for b in bullets)
        evidence = {"source_chars": source, "digest_chars": digest}
        if digest == 0:
            return MetricResult(values={}, flags=["empty_output"], evidence=evidence)
        return MetricResult(values={"compression": source / digest}, evidence=evidence)


def _build(options: Any) -> CompressionScorer | None:
    return CompressionScorer() if options.enabled else None


METRIC = register(
    Metric(
        name="compression",
        description="reading saved: source characters ÷ digest characters (not a quality score)",
        needs_reference=False,
        order=55,
        version=METRIC_VERSION,
        build=_build,
        columns=(
            Column(
                "compression",
                "compression ×",
                higher_is_better=True,
                headline=True,
                description="source characters ÷ digest characters, mean over items; read next to quality",
            ),
        ),
    )
)
