"""Paired comparison of two runs (`harness compare`): per score column, both means over the items
both runs scored with their intervals, the paired difference B - A with its interval and a
two-sided paired test. Rendering is in `markdown`, the command in `commands`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.report.aggregate import ordered_score_keys
from harness.report.gate.errors import GateUsageError
from harness.report.gate.pairing import (
    CONFIDENCE,
    check_shared_items,
    comparability_warnings,
    mean_ci,
    paired_values,
)
from harness.report.gate.rules import check_test_settings
from harness.report.gate.runs import RunInfo, read_run
from harness.report.stats import Interval, PairedResult, paired_difference


@dataclass(frozen=True)
class MetricComparison:
    """One score column of A and B on the items both scored.

    `mean_a` / `mean_b`: means over the `n_common` paired items with 95% bootstrap intervals;
    `diff` = mean of B - A with its paired bootstrap interval [`low`, `high`]; `p_value`: two-sided
    paired test; `p_b_lower`: one-sided p for "B scores lower than A". `paired` is the raw
    `paired_difference(B, A)` result.
    """

    metric: str
    mean_a: Interval
    mean_b: Interval
    diff: float | None
    low: float | None
    high: float | None
    p_value: float | None
    p_b_lower: float | None
    n_common: int
    n_only_a: int
    n_only_b: int
    n_excluded: int
    paired: PairedResult


@dataclass(frozen=True)
class Comparison:
    a: RunInfo
    b: RunInfo
    metrics: tuple[MetricComparison, ...]
    warnings: tuple[str, ...]
    n_common_items: int
    n_only_a_items: int
    n_only_b_items: int
    metrics_only_a: tuple[str, ...]
    metrics_only_b: tuple[str, ...]
    test: str
    n_resamples: int
    seed: int
    confidence: float = CONFIDENCE

    @property
    def same_dataset(self) -> bool:
        return self.a.fingerprint == self.b.fingerprint

    def metric(self, name: str) -> MetricComparison:
        return next(m for m in self.metrics if m.metric == name)


def compare_runs(
    run_a: Path,
    run_b: Path,
    metrics: list[str] | None = None,
    *,
    seed: int = 0,
    n_resamples: int = 2000,
    test: str = "randomization",
) -> Comparison:
    """Paired comparison of two run directories, per score column present in both (or `metrics`).

    Raises `GateUsageError` for an unreadable or unfinished run, a run without rows, runs sharing no
    item id, or a requested metric missing from either run (message names `--metrics`).
    """
    check_test_settings(test, n_resamples, seed, "compare")
    a = read_run(Path(run_a), "run A")
    b = read_run(Path(run_b), "run B")
    n_items = check_shared_items(a, b, "compare")
    in_a, in_b = a.metrics(), b.metrics()
    if metrics is None:
        names = ordered_score_keys(in_a & in_b)
        if not names:
            raise GateUsageError(
                f"compare: no score column is present in both runs ({a.info.dir}, {b.info.dir})"
            )
    else:
        names = list(dict.fromkeys(metrics))
        for name in names:
            missing = [label for label, found in (("run A", in_a), ("run B", in_b)) if name not in found]
            if missing:
                both = ", ".join(ordered_score_keys(in_a & in_b)) or "none"
                raise GateUsageError(
                    f"--metrics: {name!r} is not scored in {' or '.join(missing)}; scores in both: {both}"
                )
    rows = []
    for name in names:
        ids_a, va = a.values(name)
        ids_b, vb = b.values(name)
        paired = paired_difference(
            vb,
            va,
            ids_a=ids_b,
            ids_b=ids_a,
            n_resamples=n_resamples,
            confidence=CONFIDENCE,
            seed=seed,
            test=test,
        )
        xa, xb = paired_values(ids_a, va, ids_b, vb)
        rows.append(
            MetricComparison(
                metric=name,
                mean_a=mean_ci(xa, seed, n_resamples),
                mean_b=mean_ci(xb, seed, n_resamples),
                diff=paired.diff,
                low=paired.low,
                high=paired.high,
                p_value=paired.p_value,
                p_b_lower=paired.p_one_sided_less,
                n_common=paired.n_common,
                n_only_a=paired.n_only_b,  # paired_difference(B, A): its "a" is run B
                n_only_b=paired.n_only_a,
                n_excluded=paired.n_excluded,
                paired=paired,
            )
        )
    return Comparison(
        a=a.info,
        b=b.info,
        metrics=tuple(rows),
        warnings=tuple(comparability_warnings(a, b, ("run A", "run B"), n_items)),
        n_common_items=n_items[0],
        n_only_a_items=n_items[1],
        n_only_b_items=n_items[2],
        metrics_only_a=tuple(ordered_score_keys(in_a - in_b)),
        metrics_only_b=tuple(ordered_score_keys(in_b - in_a)),
        test=test,
        n_resamples=n_resamples,
        seed=seed,
    )
