"""Metrics: one file per metric; `build_scorers` turns the metrics config into scorer objects."""

from __future__ import annotations

from typing import Any

from harness.config import MetricsConfig
from harness.score.base import MetricResult, MetricUnavailable, Scorer

__all__ = ["MetricResult", "MetricUnavailable", "Scorer", "build_scorers"]


def build_scorers(cfg: MetricsConfig, judge: Any = None) -> list[Scorer]:
    """The enabled scorers, in a fixed order. Construction is cheap; models load on first use.

    `judge`: a ready JudgeScorer (it needs a Provider, built by the pipeline), or None."""
    scorers: list[Scorer] = []
    if cfg.rouge.enabled:
        from harness.score.rouge import RougeScorer

        scorers.append(RougeScorer(tokenizer=cfg.rouge.tokenizer))
    if cfg.bertscore.enabled:
        from harness.score.bertscore import BertScoreScorer

        b = cfg.bertscore
        scorers.append(
            BertScoreScorer(
                model=b.model,
                num_layers=b.num_layers,
                batch_size=b.batch_size,
                rescale_with_baseline=b.rescale_with_baseline,
                baseline_path=b.baseline_path,
                device=b.device,
                idf=b.idf,
            )
        )
    if cfg.facts.enabled:
        from harness.score.facts import FactsScorer

        scorers.append(FactsScorer())
    if cfg.format.enabled:
        from harness.score.format import FormatScorer

        f = cfg.format
        scorers.append(FormatScorer(n_bullets=f.n_bullets, min_chars=f.min_chars, max_chars=f.max_chars,
                                    min_chinese_share=f.min_chinese_share))  # fmt: skip
    if judge is not None:
        scorers.append(judge)
    return scorers
