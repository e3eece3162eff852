"""The gate's decision: pure functions from two loaded runs and the rules to a verdict (no I/O).

Every check is a one-sided test of "the candidate is worse than allowed", and all of them form one
Holm family at the rules' `alpha`, so a change that makes nothing worse fails with probability at
most `alpha` whatever the number of checks:

- a margin (per metric): H1 "candidate < baseline - margin", a paired test on the items both runs
  scored (d_i = cand_i - base_i + margin, `p_one_sided_less`);
- a floor: H1 "the candidate's true mean is below the floor", the same test of the candidate's own
  scored items against the constant floor (d_i = cand_i - floor); a ceiling: "above the ceiling"
  (d_i = ceiling - cand_i).

Signs are flipped for lower-is-better metrics. A check fails when its Holm-adjusted p is at most
`alpha` and its point estimate is past the margin or limit; a limit the baseline misses too fails
only when the candidate is also significantly worse than the baseline (`baseline_violations`).
`decide` is what `run_gate` calls once the runs are loaded; a benchmark can call it on runs built
in memory (`runs.build_run`). docs/gate.md explains the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from harness.report.gate.errors import GateUsageError
from harness.report.gate.pairing import (
    CONFIDENCE,
    check_shared_items,
    comparability_warnings,
    mean_ci,
    paired_values,
)
from harness.report.gate.rules import GateRules
from harness.report.gate.runs import Run, RunInfo
from harness.report.stats import Interval, PairedResult, holm, paired_difference


@dataclass(frozen=True)
class MetricGate:
    """One gated metric. `baseline` / `candidate`: means over the `n_common` paired items with 95%
    intervals; `diff` = candidate - baseline with its paired interval; `p_one_sided`: p for H1
    "candidate worse than baseline by more than `margin`"; `p_adjusted`: Holm over every margin,
    floor and ceiling test."""

    metric: str
    higher_is_better: bool
    margin: float
    baseline: Interval
    candidate: Interval
    diff: float | None
    diff_low: float | None
    diff_high: float | None
    p_one_sided: float | None
    p_adjusted: float | None
    n_common: int
    n_only_baseline: int
    n_only_candidate: int
    n_excluded: int
    regression: bool

    @property
    def allowed_change(self) -> float:
        """The worst change still allowed (signed): -margin, or +margin when lower is better."""
        return -self.margin if self.higher_is_better else self.margin


@dataclass(frozen=True)
class LimitCheck:
    """A floor (minimum) or ceiling (maximum) on the candidate's mean over its own scored items.

    `violated`: the candidate's mean is past the limit. `p_one_sided`: one-sided p of H1 "the
    candidate's true mean is past the limit" (the rules' test on d_i = cand_i - floor, or
    ceiling - cand_i); `p_adjusted`: Holm-adjusted with the margins' tests; `significant`: the
    adjusted p is at most alpha and the mean is past the limit. `baseline_violated`: the baseline's
    mean is past the limit too. `p_worse`: one-sided paired p of "candidate worse than baseline"
    (computed when both means are past the limit). `failed`: whether this check fails the gate:
    significant, and, when the baseline is past the limit too, see GateRules.baseline_violations."""

    metric: str
    kind: str  # "floor" | "ceiling"
    limit: float
    candidate: Interval
    baseline_mean: float | None
    violated: bool
    baseline_violated: bool = False
    p_worse: float | None = None
    failed: bool = False
    significantly_worse: bool = False
    p_one_sided: float | None = None
    p_adjusted: float | None = None
    significant: bool = False

    @property
    def higher_is_better(self) -> bool:
        """A floor guards a higher-is-better mean, a ceiling a lower-is-better one."""
        return self.kind == "floor"


@dataclass(frozen=True)
class GateResult:
    baseline: RunInfo
    candidate: RunInfo
    rules: GateRules
    metrics: tuple[MetricGate, ...]
    limits: tuple[LimitCheck, ...]
    not_evaluated: tuple[tuple[str, str], ...]  # (metric, why)
    warnings: tuple[str, ...]
    n_common_items: int
    n_only_baseline_items: int
    n_only_candidate_items: int

    @property
    def failed(self) -> list[str]:
        """Metrics that failed: regressions, then floor/ceiling violations."""
        out = [m.metric for m in self.metrics if m.regression]
        return out + [c.metric for c in self.limits if c.failed and c.metric not in out]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def metric(self, name: str) -> MetricGate:
        return next(m for m in self.metrics if m.metric == name)


def worse_than(
    cand: tuple[list[str], list[float | None]],
    ref: tuple[list[str], list[float | None]],
    *,
    higher: bool,
    margin: float,
    rules: GateRules,
) -> PairedResult:
    """The one-sided test every check uses: H1 "candidate worse than `ref` by more than `margin`".

    `cand` and `ref` are (item ids, values) paired by id; with s = +1 (higher is better) or -1,
    d_i = s * (cand_i - ref_i) + margin and the test (the rules' `test`, `n_resamples`, `seed`)
    asks whether mean(d) < 0: `p_one_sided_less`. `diff` < 0 means the point estimate is past the
    margin. A limit is `ref` = the limit on every item of the candidate, with margin 0.
    """
    s = 1.0 if higher else -1.0
    return paired_difference(
        [None if v is None else s * v + margin for v in cand[1]],
        [None if v is None else s * v for v in ref[1]],
        ids_a=cand[0],
        ids_b=ref[0],
        n_resamples=rules.n_resamples,
        confidence=CONFIDENCE,
        seed=rules.seed,
        test=rules.test,
    )


def gate_metric(
    base: Run, cand: Run, metric: str, margin: float, higher: bool, rules: GateRules
) -> tuple[MetricGate, PairedResult]:
    """One margin: the metric's table row (p_adjusted and regression still unset) and its test."""
    ids_b, vb = base.values(metric)
    ids_c, vc = cand.values(metric)
    kw = {"n_resamples": rules.n_resamples, "confidence": CONFIDENCE, "seed": rules.seed, "test": rules.test}
    shown = paired_difference(vc, vb, ids_a=ids_c, ids_b=ids_b, **kw)
    if shown.n_common < 2:
        raise GateUsageError(
            f"{rules.source}: margins.{metric}: only {shown.n_common} item(s) have a {metric} score in both "
            f"runs ({shown.n_excluded} shared items excluded as failed or unscored); a paired test needs 2"
        )
    shifted = worse_than((ids_c, vc), (ids_b, vb), higher=higher, margin=margin, rules=rules)
    xc, xb = paired_values(ids_c, vc, ids_b, vb)
    gate = MetricGate(
        metric=metric,
        higher_is_better=higher,
        margin=margin,
        baseline=mean_ci(xb, rules.seed, rules.n_resamples),
        candidate=mean_ci(xc, rules.seed, rules.n_resamples),
        diff=shown.diff,
        diff_low=shown.low,
        diff_high=shown.high,
        p_one_sided=shifted.p_one_sided_less,
        p_adjusted=None,
        n_common=shown.n_common,
        n_only_baseline=shown.n_only_b,
        n_only_candidate=shown.n_only_a,
        n_excluded=shown.n_excluded,
        regression=False,
    )
    return gate, shifted


def limit_check(base: Run, cand: Run, metric: str, kind: str, limit: float, rules: GateRules) -> LimitCheck:
    """One floor or ceiling: the candidate's mean with its interval and the test of "past the limit"
    (`significant` and `failed` are set by `decide`, after Holm); the baseline's mean, and when both
    means are past the limit, the paired test of "candidate worse than baseline" (`p_worse`)."""
    higher = kind == "floor"
    ids_c, vc = cand.values(metric)
    present = _present(vc)
    if len(present) < 2:
        raise GateUsageError(
            f"{rules.source}: {kind}s.{metric}: only {len(present)} item(s) of the candidate have a {metric} "
            "score; a test needs 2"
        )
    test = worse_than((ids_c, vc), (ids_c, [limit] * len(ids_c)), higher=higher, margin=0.0, rules=rules)
    iv = mean_ci(present, rules.seed, rules.n_resamples)
    base_values = _present(base.values(metric)[1])
    base_mean = sum(base_values) / len(base_values) if base_values else None
    violated = iv.mean is not None and (iv.mean < limit if higher else iv.mean > limit)
    base_violated = base_mean is not None and (base_mean < limit if higher else base_mean > limit)
    p_worse, worse = None, False
    if violated and base_violated:
        paired = worse_than(cand.values(metric), base.values(metric), higher=higher, margin=0.0, rules=rules)
        p_worse = paired.p_one_sided_less
        # Under 2 paired items "not worse" cannot be shown: counted as worse.
        worse = p_worse is None or (p_worse <= rules.alpha and paired.diff is not None and paired.diff < 0)
    return LimitCheck(
        metric=metric,
        kind=kind,
        limit=limit,
        candidate=iv,
        baseline_mean=base_mean,
        violated=violated,
        baseline_violated=base_violated,
        p_worse=p_worse,
        significantly_worse=worse,
        p_one_sided=test.p_one_sided_less,
    )


def decide(base: Run, cand: Run, rules: GateRules) -> GateResult:
    """The gate's verdict on two loaded runs under `rules` (pure: no file I/O).

    Raises `GateUsageError` (exit code 2) when the runs share no item, when a metric the rules name
    is scored in one run only, or when nothing the rules name is scored at all.
    """
    n_items = check_shared_items(base, cand, "--baseline/--candidate")
    in_base, in_cand = base.metrics(), cand.metrics()

    not_evaluated: list[tuple[str, str]] = []
    evaluated: set[str] = set()
    for metric, where in rules.rule_metrics().items():
        if metric in in_base and metric in in_cand:
            evaluated.add(metric)
        elif metric not in in_base and metric not in in_cand:
            why = base.why_missing(metric) or cand.why_missing(metric)
            not_evaluated.append((metric, f"not scored in either run{why}"))
        else:
            has, lacks = ("baseline", "candidate") if metric in in_base else ("candidate", "baseline")
            lacking = cand if lacks == "candidate" else base
            raise GateUsageError(
                f"{rules.source}: field '{where}.{metric}': {metric} is scored in the {has} run but not in "
                f"the {lacks} run ({lacking.info.dir}){lacking.why_missing(metric)}; score it in both runs "
                "or remove it from the rules"
            )

    if not evaluated:
        raise GateUsageError(
            f"{rules.source}: none of the metrics in the rules is scored in either run "
            f"({', '.join(name for name, _ in not_evaluated)}): the gate would check nothing"
        )
    gated: list[tuple[MetricGate, PairedResult]] = [
        gate_metric(base, cand, metric, margin, rules.is_higher_better(metric), rules)
        for metric, margin in rules.margins.items()
        if metric in evaluated
    ]
    checks = [
        limit_check(base, cand, metric, kind, limit, rules)
        for kind, table in (("floor", rules.floors), ("ceiling", rules.ceilings))
        for metric, limit in table.items()
        if metric in evaluated
    ]
    # One Holm family: every margin, floor and ceiling test (keys as the rules' fields name them).
    family = {f"margins.{g.metric}": g.p_one_sided for g, _ in gated}
    family.update({f"{c.kind}s.{c.metric}": c.p_one_sided for c in checks})
    adjusted = holm(family, rules.alpha)
    metrics = []
    for g, shifted in gated:
        h = adjusted[f"margins.{g.metric}"]
        beyond = shifted.diff is not None and shifted.diff < 0  # the point estimate is past the margin
        metrics.append(replace(g, p_adjusted=h.adjusted_p, regression=bool(h.reject and beyond)))
    limits = []
    for c in checks:
        h = adjusted[f"{c.kind}s.{c.metric}"]
        significant = bool(h.reject and c.violated)
        tolerate = rules.baseline_violations == "tolerate"
        excused = c.baseline_violated and tolerate and not c.significantly_worse
        limits.append(
            replace(c, p_adjusted=h.adjusted_p, significant=significant, failed=significant and not excused)
        )

    return GateResult(
        baseline=base.info,
        candidate=cand.info,
        rules=rules,
        metrics=tuple(metrics),
        limits=tuple(limits),
        not_evaluated=tuple(not_evaluated),
        warnings=tuple(comparability_warnings(base, cand, ("baseline", "candidate"), n_items)),
        n_common_items=n_items[0],
        n_only_baseline_items=n_items[1],
        n_only_candidate_items=n_items[2],
    )


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]
