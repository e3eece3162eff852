"""The gate's decision on runs built in memory (`decide`, no files): the branches and boundaries the
end-to-end gate tests do not visit, with expected values from scipy or written out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.report.gate import GateRules, GateUsageError, decide, render_gate_markdown
from harness.report.gate.runs import build_run, run_from_scores
from tests.scipy_reference import bootstrap_null_p_less, scipy_bootstrap

FLOOR = {"floors": {"format_ok": 0.95}}


def ones(n: int, zeros: int = 0, at: int = 0) -> list[float]:
    """n 0/1 values: `zeros` zeros starting at item `at`, ones elsewhere."""
    return [0.0 if at <= i < at + zeros else 1.0 for i in range(n)]


def gate(base: dict, cand: dict, **rules):
    return decide(run_from_scores("base", base), run_from_scores("cand", cand), GateRules(**rules))


# -- limits --------------------------------------------------------------------------------------


def test_a_mean_exactly_on_the_floor_or_ceiling_is_not_past_it() -> None:
    # 57 of 60 = 0.95 exactly (a realistic 0/1 case); the baseline on the floor too.
    on = gate({"format_ok": ones(60, 3)}, {"format_ok": ones(60, 3, at=10)}, **FLOOR)
    (floor,) = on.limits
    assert floor.candidate.mean == 0.95 and not floor.violated and not floor.baseline_violated
    assert on.passed and floor.p_worse is None
    # 3 of 60 = 0.05 on a 0.05 ceiling.
    rate = [1.0 - v for v in ones(60, 3)]
    up = gate(
        {"judge_contradiction_rate": rate},
        {"judge_contradiction_rate": rate},
        ceilings={"judge_contradiction_rate": 0.05},
    )
    assert up.limits[0].candidate.mean == 0.05 and not up.limits[0].violated and up.passed
    assert up.limits[0].baseline_mean == 0.05 and not up.limits[0].baseline_violated


def test_a_baseline_below_the_floor_does_not_fail_a_candidate_above_it() -> None:
    result = gate({"format_ok": ones(60, 30)}, {"format_ok": ones(60)}, baseline_violations="fail", **FLOOR)
    (floor,) = result.limits
    assert floor.baseline_violated and not floor.violated and floor.p_worse is None
    assert result.passed and not floor.significantly_worse


def test_both_below_the_floor_and_the_candidate_insignificantly_worse_is_tolerated() -> None:
    # Baseline 180/200 = 0.90, candidate 176/200 = 0.88: both significantly below 0.95, the candidate
    # worse by 0.02 on scattered items, far from significant.
    base = ones(200, 20)
    cand = ones(200, 24, at=10)
    result = gate({"format_ok": base}, {"format_ok": cand}, **FLOOR)
    (floor,) = result.limits
    assert floor.significant and floor.baseline_violated
    assert floor.p_worse > 0.05 and not floor.significantly_worse and not floor.failed and result.passed
    assert "⚠️ below floor, as the baseline; not significantly worse" in render_gate_markdown(result)
    strict = gate({"format_ok": base}, {"format_ok": cand}, baseline_violations="fail", **FLOOR)
    assert strict.failed == ["format_ok"]


def test_under_two_paired_items_a_floor_both_miss_counts_as_worse() -> None:
    # The candidate scored items 0-9 (all 0), the baseline items 9-19 (all 0): one item in common,
    # so "not worse than the baseline" cannot be shown.
    cand = [0.0] * 10 + [None] * 10
    base = [None] * 9 + [0.0] * 11
    result = gate({"format_ok": base}, {"format_ok": cand}, **FLOOR)
    (floor,) = result.limits
    assert floor.violated and floor.baseline_violated and floor.p_worse is None
    assert floor.significantly_worse and floor.failed and result.failed == ["format_ok"]


def test_both_above_a_ceiling_fails_only_when_the_candidate_is_significantly_higher() -> None:
    metric = "judge_contradiction_rate"
    base = [1.0 - v for v in ones(100, 80)]  # 0.80 of items contradicted vs a 0.10 ceiling
    same = gate({metric: base}, {metric: base}, ceilings={metric: 0.10})
    assert same.limits[0].significant and same.limits[0].baseline_violated and same.passed
    worse = [1.0] * 100
    risen = gate({metric: base}, {metric: worse}, ceilings={metric: 0.10})
    (ceiling,) = risen.limits
    assert ceiling.p_worse < 0.001 and ceiling.significantly_worse and risen.failed == [metric]
    # ... and an improvement (0.80 -> 0.60, still above) is never "worse".
    better = gate({metric: base}, {metric: [1.0 - v for v in ones(100, 60)]}, ceilings={metric: 0.10})
    assert better.limits[0].p_worse > 0.99 and better.passed


def test_a_floor_after_one_that_is_not_evaluated_is_still_checked() -> None:
    result = gate(
        {"format_ok": ones(60)},
        {"format_ok": ones(60, 30)},
        floors={"judge_factual_precision": 0.5, "format_ok": 0.95},
    )
    assert [m for m, _ in result.not_evaluated] == ["judge_factual_precision"]
    assert result.failed == ["format_ok"]


# -- margins -------------------------------------------------------------------------------------


def test_lower_is_better_rise_inside_its_margin_passes() -> None:
    rng = np.random.default_rng(3)
    base = rng.uniform(0.0, 0.3, 60)
    cand = base + 0.013 + rng.normal(0, 0.002, 60)  # up 0.013 with a margin of 0.02
    result = gate(
        {"judge_contradiction_rate": base},
        {"judge_contradiction_rate": cand},
        margins={"judge_contradiction_rate": 0.02},
    )
    m = result.metrics[0]
    assert not m.higher_is_better and m.allowed_change == 0.02
    assert m.diff == pytest.approx(0.013, abs=0.001) and m.p_one_sided > 0.99 and result.passed
    # Up 0.03: past the margin, significantly.
    far = gate(
        {"judge_contradiction_rate": base},
        {"judge_contradiction_rate": base + 0.03},
        margins={"judge_contradiction_rate": 0.02},
    )
    assert far.failed == ["judge_contradiction_rate"]


@pytest.mark.parametrize("metric", ["judge_contradiction_rate", "facts_number_unsupported_rate"])
def test_rules_without_higher_is_better_know_lower_is_better_metrics(metric: str) -> None:
    assert GateRules(margins={metric: 0.02}).is_higher_better(metric) is False
    assert GateRules(margins={"rougeL_f": 0.01}).is_higher_better("rougeL_f") is True
    assert GateRules(margins={metric: 0.02}, higher_is_better={metric: True}).is_higher_better(metric)


def test_exactly_two_common_items_are_enough_for_a_margin() -> None:
    result = gate({"rougeL_f": [0.3, 0.4]}, {"rougeL_f": [0.3, 0.4]}, margins={"rougeL_f": 0.01})
    assert result.metrics[0].n_common == 2 and result.passed
    with pytest.raises(GateUsageError, match="only 1 item"):
        gate({"rougeL_f": [0.3, None]}, {"rougeL_f": [0.3, 0.4]}, margins={"rougeL_f": 0.01})


def _row(i: int, score: float, error: str | None = None) -> dict:
    row = {"item_id": f"item-{i:03d}", "scores": {"rougeL_f": score}}
    return row | ({"error": error} if error else {})


def test_failed_items_in_the_baseline_are_excluded_even_when_they_carry_scores() -> None:
    manifest = {"status": "finished", "dataset": {"name": "d", "fingerprint": "f"}}
    values = [0.30, 0.42, 0.35, 0.38, 0.31, 0.44, 0.29, 0.40]
    # Items 0 and 1 of the baseline failed, yet their rows carry a (meaningless) score of 0.
    base_rows = [_row(i, 0.0 if i < 2 else v, "timeout" if i < 2 else None) for i, v in enumerate(values)]
    cand_rows = [_row(i, v) for i, v in enumerate(values)] + [_row(99, 0.5)]
    base = build_run(manifest, base_rows, run_dir=Path("b"), who="b")
    cand = build_run(manifest, cand_rows, run_dir=Path("c"), who="c")
    assert "rougeL_f" in base.metrics() and base.values("rougeL_f")[1][:2] == [None, None]
    result = decide(base, cand, GateRules(margins={"rougeL_f": 0.01}))
    m = result.metrics[0]
    assert (m.n_common, m.n_excluded, m.n_only_baseline, m.n_only_candidate) == (6, 2, 0, 1)
    assert m.diff == 0.0 and m.baseline.mean == pytest.approx(sum(values[2:]) / 6) and result.passed
    assert (result.n_common_items, result.n_only_baseline_items, result.n_only_candidate_items) == (8, 0, 1)
    assert result.warnings == (
        "The runs do not have the same items: 8 in both, 0 only in baseline, 1 only in candidate; "
        "only the common ones are compared.",
        "baseline: 2 failed item(s), excluded from every statistic.",
    )
    md = render_gate_markdown(result)
    assert "on 8 common items" in md and "Items: 8 in both, 0 only in the baseline, 1 only in" in md
    only_failed = build_run(manifest, [_row(0, 0.5, "boom")], run_dir=Path("f"), who="f")
    assert only_failed.metrics() == set()


# -- the numbers printed: settings reach every interval and test ---------------------------------


def test_printed_intervals_and_p_follow_the_rules_settings() -> None:
    # Non-default test, seed and resamples: every interval is a 95% percentile bootstrap interval
    # with the rules' seed and resamples (as scipy computes it), and the one-sided p is the
    # bootstrap test's on the shifted differences.
    rng = np.random.default_rng(12)
    base = rng.uniform(0.2, 0.5, 40)
    cand = base - 0.005 + rng.normal(0, 0.03, 40)
    margin, seed, r = 0.01, 7, 600
    result = gate(
        {"rougeL_f": base},
        {"rougeL_f": cand},
        margins={"rougeL_f": margin},
        test="bootstrap",
        seed=seed,
        n_resamples=r,
    )
    m = result.metrics[0]
    for shown, values in ((m.baseline, base), (m.candidate, cand)):
        ci = scipy_bootstrap(values, r, seed).confidence_interval
        assert (shown.low, shown.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
        assert (shown.confidence, shown.method, shown.seed, shown.n_resamples) == (
            0.95,
            "percentile",
            seed,
            r,
        )
    d = cand - base
    ci = scipy_bootstrap(d, r, seed).confidence_interval
    assert (m.diff_low, m.diff_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert m.p_one_sided == pytest.approx(bootstrap_null_p_less(d + margin, r, seed))
    assert m.p_adjusted == m.p_one_sided  # a family of one
    # The floor's test uses the same settings: candidate - floor under the bootstrap null.
    fmt = ones(40, 4)
    floor = gate({"format_ok": fmt}, {"format_ok": fmt}, test="bootstrap", seed=seed, n_resamples=r, **FLOOR)
    expected = bootstrap_null_p_less(np.array(fmt) - 0.95, r, seed)
    assert floor.limits[0].p_one_sided == pytest.approx(expected)


# -- boundaries and messages found by the mutation run ---------------------------------------------


def test_a_floor_needs_two_scored_candidate_items_and_says_so() -> None:
    two = gate({"format_ok": [1.0, 1.0, None]}, {"format_ok": [1.0, None, 1.0]}, **FLOOR)
    assert two.limits[0].candidate.n == 2 and two.passed
    with pytest.raises(GateUsageError) as err:
        gate({"format_ok": [1.0, 1.0]}, {"format_ok": [1.0, None]}, **FLOOR)
    assert err.value.message == (
        "gate rules: floors.format_ok: only 1 item(s) of the candidate have a format_ok score; a test needs 2"
    )


def test_a_p_worse_exactly_at_alpha_is_significantly_worse() -> None:
    # Both below the 0.95 floor; the candidate 0.1 lower on every item. With 19 resamples no centred
    # bootstrap mean reaches the constant difference: p_worse = 1 / 20 = 0.05 = alpha, which is
    # significant ("at most alpha"), so the tolerated baseline miss does not excuse the candidate.
    rules = {"test": "bootstrap", "n_resamples": 19, **FLOOR}
    result = gate({"format_ok": [0.75] * 8}, {"format_ok": [0.625] * 8}, **rules)
    (floor,) = result.limits
    assert floor.p_worse == 0.05 and floor.p_one_sided == 0.05
    assert floor.significantly_worse and floor.failed and result.failed == ["format_ok"]


def test_a_difference_exactly_on_the_margin_or_the_baseline_is_not_past_it() -> None:
    # Differences of exactly +-0.25 (exact in binary) averaging exactly 0: at a permissive alpha of
    # 0.9 the one-sided p (11/16 of the sign patterns have a mean <= 0) is "significant", but a point
    # estimate exactly on the margin is not past it, and a candidate exactly level with a baseline
    # that misses the floor too is not worse than it.
    base = [0.5, 0.5, 0.5, 0.5]
    cand = [0.75, 0.25, 0.75, 0.25]  # candidate - baseline = 0 on average, margin 0
    rules = {"alpha": 0.9, "test": "randomization", "n_resamples": 4000}
    margin = gate({"rougeL_f": base}, {"rougeL_f": cand}, margins={"rougeL_f": 0.0}, **rules)
    m = margin.metrics[0]
    assert m.diff == 0.0 and m.p_one_sided == pytest.approx(11 / 16, abs=0.03)
    assert not m.regression and margin.passed
    floor = gate({"format_ok": base}, {"format_ok": cand}, **FLOOR, **rules)
    (check,) = floor.limits
    assert check.violated and check.baseline_violated and check.significant
    assert check.p_worse == pytest.approx(11 / 16, abs=0.03)
    assert not check.significantly_worse and floor.passed


def test_usage_errors_name_the_run_that_lacks_a_metric() -> None:
    with pytest.raises(GateUsageError) as err:
        gate({"rougeL_f": [0.3, 0.4], "format_ok": [1.0, 1.0]}, {"rougeL_f": [0.3, 0.4]}, **FLOOR)
    assert err.value.message == (
        "gate rules: field 'floors.format_ok': format_ok is scored in the baseline run "
        "but not in the candidate run (cand); score it in both runs or remove it from the rules"
    )
    with pytest.raises(GateUsageError) as err:
        gate({"rougeL_f": [0.3, 0.4]}, {"rougeL_f": [0.3, 0.4], "format_ok": [1.0, 1.0]}, **FLOOR)
    assert err.value.message == (
        "gate rules: field 'floors.format_ok': format_ok is scored in the candidate run "
        "but not in the baseline run (base); score it in both runs or remove it from the rules"
    )


def test_nothing_to_evaluate_lists_every_metric_and_no_shared_item_names_the_flags() -> None:
    with pytest.raises(
        GateUsageError,
        match=r"none of the metrics in the rules is scored in either run \(rougeL_f, format_ok\)",
    ):
        gate({"bleu": [0.3, 0.4]}, {"bleu": [0.3, 0.4]}, margins={"rougeL_f": 0.01}, **FLOOR)
    other = build_run(
        {"status": "finished"}, [{"item_id": "x", "scores": {"rougeL_f": 0.3}}], run_dir=Path("o"), who="o"
    )
    with pytest.raises(GateUsageError, match=r"^--baseline/--candidate: the two runs share no item id"):
        decide(
            run_from_scores("base", {"rougeL_f": [0.3, 0.4]}), other, GateRules(margins={"rougeL_f": 0.01})
        )


def test_a_metric_unavailable_in_the_candidate_only_says_why_it_is_not_evaluated() -> None:
    manifest = {"status": "finished", "dataset": {"name": "d", "fingerprint": "f"}}
    rows = [_row(i, 0.3 + i / 100) for i in range(4)]
    base = build_run(manifest, rows, run_dir=Path("b"), who="b")
    cand_rows = [r | {"unavailable": {"bertscore": "no GPU"}} for r in rows]
    cand = build_run(manifest, cand_rows, run_dir=Path("c"), who="c")
    result = decide(base, cand, GateRules(margins={"rougeL_f": 0.01, "bertscore_f1": 0.01}))
    assert result.not_evaluated == (
        ("bertscore_f1", "not scored in either run (bertscore unavailable: no GPU)"),
    )
    # Unavailable in both: the baseline's reason.
    base = build_run(
        manifest, [r | {"unavailable": {"bertscore": "no model"}} for r in rows], run_dir=Path("b"), who="b"
    )
    result = decide(base, cand, GateRules(margins={"rougeL_f": 0.01, "bertscore_f1": 0.01}))
    assert result.not_evaluated[0][1] == "not scored in either run (bertscore unavailable: no model)"


def test_the_default_randomization_test_reaches_the_margin_p() -> None:
    # Rules without `test`: the sign-flip test on d_i = cand_i - base_i + margin = seven 0.06 and one
    # -0.49 (mean -0.00875). A sign pattern has a mean <= that exactly when the -0.49 keeps its sign
    # (7 x 0.06 < 0.49), so the exact one-sided p is 1/2; the centred bootstrap null gives about 0.26.
    base = [0.5] * 8
    cand = [0.55] * 7 + [0.0]
    result = gate({"rougeL_f": base}, {"rougeL_f": cand}, margins={"rougeL_f": 0.01}, n_resamples=4000)
    assert result.rules.test == "randomization"
    assert result.metrics[0].p_one_sided == pytest.approx(0.5, abs=0.03)
    d = np.array(cand) - np.array(base) + 0.01
    assert bootstrap_null_p_less(d, 4000, 0) < 0.3
