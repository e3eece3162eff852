"""Metrics: one file per metric; `build_scorers` turns the metrics config into scorer objects."""

from __future__ import annotations

from harness.config import MetricsConfig
from harness.score.base import MetricResult, MetricUnavailable, Scorer

__all__ = ["MetricResult", "MetricUnavailable", "Scorer", "build_scorers"]


def build_scorers(cfg: MetricsConfig) -> list[Scorer]:
    """The enabled scorers, in a fixed order. Construction is cheap; models load on first use."""
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
    return scorers
