"""Tests for harness.report.gate: the paired comparison of two runs and the regression gate.

Run directories are written directly (run.json + rows.jsonl, as the pipeline writes them) with
synthetic per-item scores on 60 items, except the last test, which runs the real pipeline on the
sample dataset and degrades the candidate by truncating its bullets.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.report.gate import (
    DEFAULT_RULES_FILE,
    GateRules,
    GateUsageError,
    compare_command,
    compare_runs,
    decide,
    gate_command,
    load_rules,
    render_comparison_markdown,
    render_gate_markdown,
    run_gate,
)
from harness.report.gate.runs import run_from_scores

N = 60
IDS = [f"item-{i:03d}" for i in range(N)]
FP = "fp0000000001"


def base_scores(seed: int = 1, mean: float = 0.35, sd: float = 0.08) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).normal(mean, sd, N), 0.0, 1.0)


def noise(seed: int, sd: float = 0.01) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sd, N)


def write_run(
    root: Path,
    run_id: str,
    scores: dict[str, Any],
    *,
    model: str = "lead",
    prompt: str = "yaodian_v1",
    version: str = "1",
    dataset: str = "sample_ai_news",
    fingerprint: str = FP,
    status: str = "finished",
    ids: list[str] | None = None,
    failed: set[str] = frozenset(),
    finished_at: str = "2026-01-01T00:00:00+00:00",
    unavailable: dict[str, str] | None = None,
) -> Path:
    """A run directory `root/runs/<run_id>` with one row per item; `scores` maps metric -> values."""
    ids = IDS if ids is None else ids
    run_dir = root / "runs" / run_id
    run_dir.mkdir(parents=True)
    head = {
        "schema_version": 1,
        "run_id": run_id,
        "dataset": {"name": dataset, "fingerprint": fingerprint, "split": "train"},
        "model": {
            "name": model,
            "litellm_model": f"harness/{model}",
            "api_base": None,
            "params": {"temperature": 0.0, "max_tokens": 1024},
            "uses_reference": False,
        },
        "prompt": {"id": prompt, "version": version, "hash": f"{prompt}-hash"[:12]},
        "seed": 0,
    }
    manifest = {
        **head,
        "status": status,
        "n_items": len(ids),
        "metrics": {"rouge": {"tokenizer": "char-v1", "metric_version": "rouge/1"}},
        "unavailable": unavailable or {},
        "finished_at": finished_at,
    }
    (run_dir / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    with (run_dir / "rows.jsonl").open("w", encoding="utf-8") as fh:
        for i, item_id in enumerate(ids):
            bad = item_id in failed
            row = {
                **head,
                "item_id": item_id,
                "generation": None if bad else {"raw": "- 要点", "bullets": ["要点"], "latency_s": 0.1},
                "error": {"type": "APIError", "message": "boom"} if bad else None,
                "scores": {} if bad else {k: float(v[i]) for k, v in scores.items() if v[i] is not None},
                "flags": [],
                "unavailable": unavailable or {},
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return run_dir


ROUGE_RULES = GateRules(margins={"rougeL_f": 0.01})


# --------------------------------------------------------------------------------------------------
# Gate decisions


def test_identical_candidate_passes_with_p_near_one(tmp_path: Path) -> None:
    s = {"rougeL_f": base_scores(), "rougeLsum_f": base_scores(2)}
    base = write_run(tmp_path, "s/0-base", s)
    cand = write_run(tmp_path, "s/1-cand", s)
    rules = GateRules(margins={"rougeL_f": 0.01, "rougeLsum_f": 0.01})
    result = run_gate(str(base), str(cand), rules, results_dir=tmp_path)
    assert result.exit_code == 0 and result.passed and result.failed == []
    for m in result.metrics:
        assert m.diff == pytest.approx(0.0, abs=1e-12)
        assert m.p_one_sided == pytest.approx(1.0)
        assert m.p_adjusted == pytest.approx(1.0)
        assert m.n_common == N and not m.regression
    assert render_gate_markdown(result).splitlines()[1].startswith("## ✅ Prompt gate: pass")


def test_drop_beyond_margin_fails_and_report_names_metric_with_intervals(tmp_path: Path) -> None:
    b = base_scores()
    base = write_run(tmp_path, "s/0-base", {"rougeL_f": b})
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": b - 0.05 + noise(3)})
    result = run_gate(str(base), str(cand), ROUGE_RULES, results_dir=tmp_path)
    assert result.exit_code == 1 and result.failed == ["rougeL_f"]
    m = result.metric("rougeL_f")
    assert m.regression and m.diff == pytest.approx(-0.05, abs=0.005)
    assert m.diff_low < m.diff < m.diff_high < -0.01
    assert m.p_one_sided < 0.001 and m.p_adjusted <= 0.05
    md = render_gate_markdown(result)
    assert "❌ Prompt gate: regression in `rougeL_f`" in md
    failed = md.split("### Failed")[1].split("###")[0]
    assert "rougeL_f" in failed
    # Candidate and baseline means with their intervals, and the diff interval, are in the report.
    for iv in (m.candidate, m.baseline):
        assert f"{iv.mean:.4f} [{iv.low:.4f}, {iv.high:.4f}]" in failed
    assert f"{m.diff:+.4f} [{m.diff_low:+.4f}, {m.diff_high:+.4f}]" in failed
    assert "| rougeL_f ↑ |" in md and "❌ regression" in md
    assert "2000 resamples, seed 0" in md and "`randomization`" in md
    assert result.baseline.run_id in md and result.candidate.prompt_hash in md and FP in md


def test_drop_within_margin_passes(tmp_path: Path) -> None:
    b = base_scores()
    base = write_run(tmp_path, "s/0-base", {"rougeL_f": b})
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": b - 0.005 + noise(3)})
    result = run_gate(str(base), str(cand), ROUGE_RULES, results_dir=tmp_path)
    m = result.metric("rougeL_f")
    assert m.diff < 0  # worse, but by less than the margin
    assert result.exit_code == 0 and not m.regression and m.p_one_sided > 0.5
    # Without a margin the same drop is a significant regression: the margin is what lets it pass.
    strict = run_gate(str(base), str(cand), GateRules(margins={"rougeL_f": 0.0}), results_dir=tmp_path)
    assert strict.exit_code == 1


def test_lower_is_better_metric_fails_on_a_rise_not_on_a_fall(tmp_path: Path) -> None:
    b = base_scores(mean=0.10, sd=0.04)
    base = write_run(tmp_path, "s/0-base", {"judge_contradiction_rate": b})
    up = write_run(tmp_path, "s/1-up", {"judge_contradiction_rate": b + 0.06 + noise(4)})
    down = write_run(tmp_path, "s/2-down", {"judge_contradiction_rate": b - 0.06 + noise(4)})
    rules = load_rules(DEFAULT_RULES_FILE)
    assert not rules.is_higher_better("judge_contradiction_rate")
    worse = run_gate(str(base), str(up), rules, results_dir=tmp_path)
    assert worse.exit_code == 1 and worse.failed == ["judge_contradiction_rate"]
    assert worse.metric("judge_contradiction_rate").allowed_change == pytest.approx(0.02)
    better = run_gate(str(base), str(down), rules, results_dir=tmp_path)
    assert better.exit_code == 0 and better.metric("judge_contradiction_rate").p_one_sided > 0.9
    # Declared higher-is-better instead, the same fall is the regression.
    flipped = dataclasses.replace(rules, higher_is_better={"judge_contradiction_rate": True})
    assert run_gate(str(base), str(down), flipped, results_dir=tmp_path).exit_code == 1


def test_floor_violated_significantly_fails(tmp_path: Path) -> None:
    b = base_scores()
    ok = np.ones(N)
    some_bad = np.ones(N)
    some_bad[:12] = 0.0  # 80% < 95%, by far more than the noise of 60 items
    base = write_run(tmp_path, "s/0-base", {"rougeL_f": b, "format_ok": ok})
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": b, "format_ok": some_bad})
    good = write_run(tmp_path, "s/2-good", {"rougeL_f": b, "format_ok": ok})
    rules = GateRules(margins={"rougeL_f": 0.01}, floors={"format_ok": 0.95})
    result = run_gate(str(base), str(cand), rules, results_dir=tmp_path)
    assert result.exit_code == 1 and result.failed == ["format_ok"]
    (floor,) = result.limits
    assert floor.violated and floor.candidate.mean == pytest.approx(0.8) and floor.baseline_mean == 1.0
    assert floor.significant and floor.p_one_sided < 0.01 and floor.p_adjusted <= 0.05
    md = render_gate_markdown(result)
    assert "❌ below floor |" in md and "**format_ok**" in md
    assert run_gate(str(base), str(good), rules, results_dir=tmp_path).exit_code == 0
    # A floor the baseline misses as well: tolerated (reported) when the candidate is no worse ...
    both = run_gate(str(cand), str(cand), rules, results_dir=tmp_path)
    (floor,) = both.limits
    assert both.exit_code == 0 and floor.violated and floor.baseline_violated and not floor.failed
    assert floor.p_worse == pytest.approx(1.0)
    assert "⚠️ below floor, as the baseline; not significantly worse" in render_gate_markdown(both)
    # ... and fails with baseline_violations: fail.
    strict = dataclasses.replace(rules, baseline_violations="fail")
    both_strict = run_gate(str(cand), str(cand), strict, results_dir=tmp_path)
    assert both_strict.exit_code == 1 and both_strict.failed == ["format_ok"]
    assert "❌ below floor (the baseline too; baseline_violations: fail)" in render_gate_markdown(both_strict)


def test_floor_missed_by_both_fails_when_the_candidate_is_significantly_worse(tmp_path: Path) -> None:
    b = base_scores()
    bad = np.ones(N)
    bad[:6] = 0.0  # 90%: below the 95% floor
    worse = np.ones(N)
    worse[:30] = 0.0  # 50%: the same 6 items and 24 more fail
    base = write_run(tmp_path, "s/0-base", {"rougeL_f": b, "format_ok": bad})
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": b, "format_ok": worse})
    rules = GateRules(margins={"rougeL_f": 0.01}, floors={"format_ok": 0.95})
    result = run_gate(str(base), str(cand), rules, results_dir=tmp_path)
    (floor,) = result.limits
    assert result.exit_code == 1 and result.failed == ["format_ok"]
    assert floor.baseline_violated and floor.p_worse < 0.01
    assert "❌ below floor, and worse than the baseline" in render_gate_markdown(result)


def test_noop_change_with_a_stochastic_format_passes_the_floor(tmp_path: Path) -> None:
    # The same prompt twice, each digest in the expected format with probability 0.97, 32 items: the
    # candidate's mean falls below the 0.95 floor by chance about one time in four.
    rules = load_rules(DEFAULT_RULES_FILE)
    rng = np.random.default_rng(2026)
    failures = below = 0
    for i in range(100):
        base, cand = ((rng.random(32) < 0.97).astype(float) for _ in range(2))
        result = decide(
            run_from_scores(f"base-{i}", {"format_ok": base}),
            run_from_scores(f"cand-{i}", {"format_ok": cand}),
            rules,
        )
        failures += result.exit_code
        below += result.limits[0].violated
    assert below >= 15  # the precondition: what a floor applied to the mean alone would fail
    assert failures <= 5  # a no-op change passes at least 1 - alpha of the time
    # One such pair through the command path: 30 of 32 (0.9375) after 32 of 32 passes, marked ⚠️.
    ids = IDS[:32]
    cand_values = np.ones(32)
    cand_values[[3, 17]] = 0.0
    base = write_run(tmp_path, "s/0-base", {"format_ok": np.ones(32)}, ids=ids)
    cand = write_run(tmp_path, "s/1-cand", {"format_ok": cand_values}, ids=ids)
    result = run_gate(str(base), str(cand), rules, results_dir=tmp_path)
    (floor,) = result.limits
    assert result.exit_code == 0 and floor.violated and not floor.significant and not floor.failed
    assert floor.candidate.mean == pytest.approx(0.9375) and floor.p_one_sided > 0.2
    assert "⚠️ below floor, not significantly (Holm p" in render_gate_markdown(result)


def test_large_drop_below_the_floor_fails(tmp_path: Path) -> None:
    ids = IDS[:32]
    worse = np.ones(32)
    worse[:10] = 0.0  # 0.6875: far below 0.95 for 32 items
    base = write_run(
        tmp_path, "s/0-base", {"rougeL_f": base_scores()[:32], "format_ok": np.ones(32)}, ids=ids
    )
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": base_scores()[:32], "format_ok": worse}, ids=ids)
    result = run_gate(str(base), str(cand), load_rules(DEFAULT_RULES_FILE), results_dir=tmp_path)
    (floor,) = result.limits
    assert result.exit_code == 1 and result.failed == ["format_ok"]
    assert floor.significant and floor.failed and floor.p_one_sided < 0.005
    # Holm over the family: the rougeL_f and rougeLsum_f margins are absent, so rougeL_f and the floor.
    assert floor.p_adjusted == pytest.approx(2 * floor.p_one_sided)
    md = render_gate_markdown(result)
    assert "| ❌ below floor |" in md and "Holm correction over 2 test(s)" in md
    assert "**format_ok**: candidate mean 0.6875" in md.split("### Failed")[1]


def test_ceiling_is_tested_like_a_floor(tmp_path: Path) -> None:
    # judge_contradiction_rate is lower-is-better: the ceiling is a maximum on the candidate's mean.
    rules = GateRules(ceilings={"judge_contradiction_rate": 0.10})
    base = base_scores(seed=5, mean=0.09, sd=0.08)
    noisy = base_scores(seed=30, mean=0.10, sd=0.08)  # 0.1087: above 0.10 by about one standard error
    risen = base_scores(seed=7, mean=0.20, sd=0.08)
    b = write_run(tmp_path, "s/0-base", {"judge_contradiction_rate": base})
    within = run_gate(
        str(b),
        str(write_run(tmp_path, "s/1-noisy", {"judge_contradiction_rate": noisy})),
        rules,
        results_dir=tmp_path,
    )
    (ceiling,) = within.limits
    assert ceiling.violated and not ceiling.baseline_violated and ceiling.candidate.mean > 0.10
    assert within.exit_code == 0 and 0.05 < ceiling.p_one_sided < 0.5
    assert ceiling.kind == "ceiling" and not ceiling.higher_is_better
    assert "⚠️ above ceiling, not significantly" in render_gate_markdown(within)
    above = run_gate(
        str(b),
        str(write_run(tmp_path, "s/2-risen", {"judge_contradiction_rate": risen})),
        rules,
        results_dir=tmp_path,
    )
    assert above.exit_code == 1 and above.failed == ["judge_contradiction_rate"]
    assert above.limits[0].p_one_sided < 0.001 and "| ❌ above ceiling |" in render_gate_markdown(above)
    # Far below the ceiling: the test's p is near 1 (the direction is not that of a floor).
    assert run_gate(str(b), str(b), rules, results_dir=tmp_path).limits[0].p_one_sided > 0.99


def test_alpha_decides_a_borderline_floor_and_margin(tmp_path: Path) -> None:
    fmt = np.ones(N)
    fmt[:9] = 0.0  # 0.85 on 60 items: one-sided p about 0.02 against the 0.95 floor
    b = base_scores()
    wobble = noise(11, sd=0.03)
    wobble -= wobble.mean()
    base = write_run(tmp_path, "s/0-base", {"format_ok": np.ones(N), "rougeL_f": b})
    cand = write_run(tmp_path, "s/1-cand", {"format_ok": fmt, "rougeL_f": b - 0.016 + wobble})
    for metric, field in (("format_ok", "floors"), ("rougeL_f", "margins")):
        limits = {field: {metric: 0.95 if field == "floors" else 0.01}}
        loose = run_gate(str(base), str(cand), GateRules(alpha=0.05, **limits), results_dir=tmp_path)
        strict = run_gate(str(base), str(cand), GateRules(alpha=0.01, **limits), results_dir=tmp_path)
        assert loose.failed == [metric] and strict.passed, metric
        p = (loose.limits or loose.metrics)[0].p_adjusted
        assert 0.01 < p < 0.05, (metric, p)  # borderline: alpha 0.05 rejects, alpha 0.01 does not
        assert "α = 0.01" in render_gate_markdown(strict)


def test_baseline_violations_rule_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("floors: {format_ok: 0.95}\nbaseline_violations: ignore\n", encoding="utf-8")
    with pytest.raises(GateUsageError, match="baseline_violations.*tolerate, fail"):
        load_rules(path)


def test_failed_items_are_excluded_and_counted(tmp_path: Path) -> None:
    b = base_scores()
    base = write_run(tmp_path, "s/0-base", {"rougeL_f": b})
    # The failed items would be a disaster if read as 0; they must not count at all.
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": b}, failed={IDS[0], IDS[1], IDS[2]})
    result = run_gate(str(base), str(cand), ROUGE_RULES, results_dir=tmp_path)
    m = result.metric("rougeL_f")
    assert result.exit_code == 0 and m.n_common == N - 3 and m.n_excluded == 3
    assert m.diff == pytest.approx(0.0, abs=1e-12)
    assert any("3 failed item(s)" in w for w in result.warnings)


def test_holm_correction_lets_a_borderline_metric_pass(tmp_path: Path) -> None:
    # Four gated metrics: two clearly worse, one borderline (raw one-sided p < alpha, but not after
    # Holm, which multiplies the third-smallest p by 2), one unchanged.
    b = base_scores()
    margin = 0.01
    wobble = noise(11, sd=0.03)
    wobble -= wobble.mean()
    # Borderline: mean shifted difference d = -0.006, sd about 0.026 over 60 items: one-sided p ~ 0.04.
    borderline = b - margin - 0.006 + wobble
    scores_b = {"rouge1_f": b, "rouge2_f": b, "rougeL_f": b, "rougeLsum_f": b}
    scores_c = {
        "rouge1_f": b - 0.06 + noise(5),
        "rouge2_f": b - 0.06 + noise(6),
        "rougeL_f": borderline,
        "rougeLsum_f": b + noise(7),
    }
    base = write_run(tmp_path, "s/0-base", scores_b)
    cand = write_run(tmp_path, "s/1-cand", scores_c)
    rules = GateRules(margins=dict.fromkeys(scores_b, margin))
    result = run_gate(str(base), str(cand), rules, results_dir=tmp_path)
    m = {g.metric: g for g in result.metrics}
    assert m["rouge1_f"].regression and m["rouge2_f"].regression
    assert m["rougeL_f"].p_one_sided < rules.alpha < m["rougeL_f"].p_adjusted  # the precondition
    assert m["rougeL_f"].p_adjusted == pytest.approx(2 * m["rougeL_f"].p_one_sided)
    assert not m["rougeL_f"].regression and not m["rougeLsum_f"].regression
    assert result.failed == ["rouge1_f", "rouge2_f"] and result.exit_code == 1
    # Gated on its own, the borderline metric fails: the correction is what saves it.
    alone = run_gate(str(base), str(cand), GateRules(margins={"rougeL_f": margin}), results_dir=tmp_path)
    assert alone.failed == ["rougeL_f"]


# --------------------------------------------------------------------------------------------------
# Resolution and usage errors (exit code 2)


def test_baseline_resolved_from_a_leaderboard_row(tmp_path: Path) -> None:
    b = base_scores()
    write_run(tmp_path, "s1/0-lead-v1", {"rougeL_f": b - 0.2}, finished_at="2026-01-01T00:00:00+00:00")
    newest = write_run(tmp_path, "s2/0-lead-v1", {"rougeL_f": b}, finished_at="2026-01-02T00:00:00+00:00")
    write_run(tmp_path, "s2/1-textrank-v1", {"rougeL_f": b - 0.2}, model="textrank")
    cand = write_run(tmp_path, "s3/0-lead-v2", {"rougeL_f": b - 0.05 + noise(3)}, prompt="yaodian_v2")
    for spec in ("lead@yaodian_v1", "sample_ai_news:lead@yaodian_v1", "lead@yaodian_v1@1"):
        result = run_gate(spec, "s3/0-lead-v2", ROUGE_RULES, results_dir=tmp_path)
        assert result.baseline.dir == newest and result.candidate.dir == cand
        assert result.exit_code == 1  # against the latest v1 run; the older, worse one would pass
    with pytest.raises(GateUsageError, match="(?s)--baseline 'lead@yaodian_v9'.*lead@yaodian_v1"):
        run_gate("lead@yaodian_v9", "s3/0-lead-v2", ROUGE_RULES, results_dir=tmp_path)


def test_missing_baseline_is_a_usage_error_naming_the_flag(tmp_path: Path) -> None:
    b = base_scores()
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": b})
    with pytest.raises(GateUsageError, match="--baseline 'nope/0-lead'.*no such run directory") as err:
        run_gate("nope/0-lead", str(cand), ROUGE_RULES, results_dir=tmp_path)
    assert err.value.exit_code == 2
    with pytest.raises(GateUsageError, match="--candidate"):
        run_gate(str(cand), str(tmp_path / "missing"), ROUGE_RULES, results_dir=tmp_path)
    # Through the command entry point: exit 2, the message on stderr, nothing on stdout.
    out, err_lines = _Buffer(), _Buffer()
    code = gate_command(
        str(tmp_path / "gone"),
        str(cand),
        results_dir=tmp_path,
        out=out,
        err=err_lines,
        rules_path=DEFAULT_RULES_FILE,
    )
    assert code == 2 and "--baseline" in err_lines.text and out.text == ""


@pytest.mark.parametrize("problem", ["unfinished", "no rows", "no shared items", "two runs"])
def test_unusable_baseline_is_a_usage_error(tmp_path: Path, problem: str) -> None:
    b = base_scores()
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": b})
    if problem == "unfinished":
        base = write_run(tmp_path, "s/0-base", {"rougeL_f": b}, status="interrupted")
        expected = "not finished"
    elif problem == "no rows":
        base = write_run(tmp_path, "s/0-base", {"rougeL_f": b})
        (base / "rows.jsonl").write_text("", encoding="utf-8")
        expected = "no rows"
    elif problem == "no shared items":
        base = write_run(tmp_path, "s/0-base", {"rougeL_f": b}, ids=[f"other-{i}" for i in range(N)])
        expected = "share no item id"
    else:
        write_run(tmp_path, "t/0-a", {"rougeL_f": b})
        write_run(tmp_path, "t/1-b", {"rougeL_f": b})
        base = tmp_path / "runs" / "t"
        expected = "2 finished runs"
    with pytest.raises(GateUsageError, match=expected) as err:
        run_gate(str(base), str(cand), ROUGE_RULES, results_dir=tmp_path)
    assert "--baseline" in err.value.message


def test_rule_metric_missing_from_one_run_is_a_usage_error_naming_the_rules_file(tmp_path: Path) -> None:
    b = base_scores()
    base = write_run(tmp_path, "s/0-base", {"rougeL_f": b, "bertscore_f1": b})
    cand = write_run(
        tmp_path, "s/1-cand", {"rougeL_f": b}, unavailable={"bertscore": "cannot load bert-base-chinese"}
    )
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("margins:\n  rougeL_f: 0.01\n  bertscore_f1: 0.01\n", encoding="utf-8")
    rules = load_rules(rules_file)
    with pytest.raises(GateUsageError) as err:
        run_gate(str(base), str(cand), rules, results_dir=tmp_path)
    msg = err.value.message
    assert str(rules_file) in msg and "margins.bertscore_f1" in msg and "candidate" in msg
    assert "cannot load bert-base-chinese" in msg and err.value.exit_code == 2


def test_rule_metrics_missing_from_both_runs_are_not_evaluated(tmp_path: Path) -> None:
    b = base_scores()
    base = write_run(tmp_path, "s/0-base", {"rougeL_f": b, "rougeLsum_f": b})
    cand = write_run(tmp_path, "s/1-cand", {"rougeL_f": b, "rougeLsum_f": b})
    result = run_gate(str(base), str(cand), load_rules(DEFAULT_RULES_FILE), results_dir=tmp_path)
    assert result.exit_code == 0
    assert [m.metric for m in result.metrics] == ["rougeL_f", "rougeLsum_f"]
    skipped = [name for name, _ in result.not_evaluated]
    assert set(skipped) == {
        "bertscore_f1",
        "judge_factual_precision",
        "judge_keypoint_recall",
        "judge_contradiction_rate",
        "format_ok",
    }
    md = render_gate_markdown(result)
    assert "### Not evaluated" in md and "`judge_factual_precision`: not scored in either run" in md
    # Rules of which nothing can be evaluated would pass without checking anything: exit 2 instead.
    judge_only = GateRules(margins={"judge_factual_precision": 0.02}, source="judge.yaml")
    with pytest.raises(GateUsageError, match="judge.yaml: none of the metrics .* would check nothing"):
        run_gate(str(base), str(cand), judge_only, results_dir=tmp_path)


def test_load_rules_defaults_and_errors_name_file_and_field(tmp_path: Path) -> None:
    rules = load_rules(DEFAULT_RULES_FILE)
    assert rules.alpha == 0.05 and rules.test == "randomization" and rules.n_resamples == 2000
    assert rules.margins["rougeL_f"] == 0.01 and rules.margins["judge_keypoint_recall"] == 0.03
    assert rules.floors == {"format_ok": 0.95}
    assert rules.higher_is_better["facts_number_unsupported_rate"] is False
    cases = {
        "alpha: 1.5\nmargins: {rougeL_f: 0.01}\n": "field 'alpha'",
        "test: ttest\nmargins: {rougeL_f: 0.01}\n": "field 'test'",
        "margins: {rougeL_f: -0.01}\n": "field 'margins.rougeL_f'",
        "margins: {rougeL_f: 1e-2}\n": "field 'margins.rougeL_f'.*0.01",
        "margins: {rougeL_f: 0.01}\nhigher_is_better: {rougeL_f: maybe}\n": "'higher_is_better.rougeL_f'",
        "margin: {rougeL_f: 0.01}\n": "field 'margin': unknown",
        "seed: 0\n": "nothing to gate",
        "margins: [rougeL_f]\n": "field 'margins'",
        "margins: {rougeL_f: 0.01\n": "invalid YAML",
    }
    for i, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"rules{i}.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(GateUsageError, match=expected) as err:
            load_rules(path)
        assert str(path) in err.value.message
    with pytest.raises(GateUsageError, match="--rules"):
        load_rules(tmp_path / "absent.yaml")


# --------------------------------------------------------------------------------------------------
# Comparison


def test_compare_runs_table(tmp_path: Path) -> None:
    b = base_scores()
    a_dir = write_run(tmp_path, "s/0-a", {"rougeL_f": b, "rouge1_f": b + 0.1, "only_a": b}, failed={IDS[0]})
    b_dir = write_run(
        tmp_path,
        "s/1-b",
        {"rougeL_f": b - 0.05 + noise(3), "rouge1_f": b + 0.1, "only_b": b},
        ids=IDS[:55] + [f"extra-{i}" for i in range(3)],
        model="textrank",
    )
    c = compare_runs(a_dir, b_dir)
    assert [m.metric for m in c.metrics] == ["rouge1_f", "rougeL_f"]  # headline order, shared only
    assert c.metrics_only_a == ("only_a",) and c.metrics_only_b == ("only_b",)
    assert (c.n_common_items, c.n_only_a_items, c.n_only_b_items) == (55, 5, 3)
    m = c.metric("rougeL_f")
    assert (m.n_common, m.n_only_a, m.n_only_b, m.n_excluded) == (54, 5, 3, 1)
    assert m.diff == pytest.approx(-0.05, abs=0.005) and m.low < m.diff < m.high < 0  # diff is B - A
    assert m.mean_b.mean - m.mean_a.mean == pytest.approx(m.diff)
    assert m.p_value < 0.01 and m.p_b_lower < 0.01
    same = c.metric("rouge1_f")
    assert same.diff == pytest.approx(0.0, abs=1e-12) and same.p_value == pytest.approx(1.0)
    md = render_comparison_markdown(c)
    row = next(line for line in md.splitlines() if line.startswith("| rougeL_f |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells == [
        "rougeL_f",
        f"{m.mean_a.mean:.4f} [{m.mean_a.low:.4f}, {m.mean_a.high:.4f}]",
        f"{m.mean_b.mean:.4f} [{m.mean_b.low:.4f}, {m.mean_b.high:.4f}]",
        f"{m.diff:+.4f} [{m.low:+.4f}, {m.high:+.4f}]",
        f"{m.p_value:.4f}",
        "54",
        "5 / 3",
        "1",
    ]
    assert "lead (`harness/lead`)" in md and "textrank (`harness/textrank`)" in md
    assert "Scored in A only (not compared): only_a." in md
    assert not any(w.startswith("DIFFERENT DATASETS") for w in c.warnings)
    assert any("do not have the same items" in w for w in c.warnings)
    with pytest.raises(GateUsageError, match="--metrics: 'only_a' is not scored in run B"):
        compare_runs(a_dir, b_dir, ["rougeL_f", "only_a"])
    assert [m.metric for m in compare_runs(a_dir, b_dir, ["rougeL_f"]).metrics] == ["rougeL_f"]
    # The command entry point takes run ids and the comma-separated flag value.
    out = _Buffer()
    assert compare_command("s/0-a", "s/1-b", metrics="rougeL_f", results_dir=tmp_path, out=out) == 0
    assert "| rougeL_f |" in out.text and "| rouge1_f |" not in out.text


def test_different_fingerprints_are_warned_loudly(tmp_path: Path) -> None:
    b = base_scores()
    a_dir = write_run(tmp_path, "s/0-a", {"rougeL_f": b})
    b_dir = write_run(
        tmp_path, "s/1-b", {"rougeL_f": b[:40]}, ids=IDS[:40], fingerprint="fp0000000002", dataset="sample_v2"
    )
    c = compare_runs(a_dir, b_dir)
    assert not c.same_dataset
    (warning,) = [w for w in c.warnings if w.startswith("DIFFERENT DATASETS")]
    assert "fp0000000001" in warning and "fp0000000002" in warning and "40 item ids" in warning
    md = render_comparison_markdown(c)
    assert "> ⚠️ **DIFFERENT DATASETS" in md
    assert c.metric("rougeL_f").n_common == 40
    gate = run_gate(str(a_dir), str(b_dir), ROUGE_RULES, results_dir=tmp_path)
    assert gate.exit_code == 0 and "> ⚠️ **DIFFERENT DATASETS" in render_gate_markdown(gate)
    # Same fingerprint: no such warning.
    same = write_run(tmp_path, "s/2-c", {"rougeL_f": b})
    assert not any(w.startswith("DIFFERENT") for w in compare_runs(a_dir, same).warnings)


class _Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


# --------------------------------------------------------------------------------------------------
# End to end on the sample dataset


def test_gate_on_real_runs_catches_truncated_digests(tmp_path: Path) -> None:
    from hydra import compose, initialize_config_dir

    from harness.config import CONF_DIR, register_resolvers, register_schema, to_typed
    from harness.data.load import load_items
    from harness.jobs import run_job
    from harness.results.reader import read_jsonl
    from harness.score.rouge import RougeScorer

    register_resolvers()
    register_schema()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(
            config_name="config",
            overrides=[
                f"results_dir={tmp_path}",
                "model=lead",
                "dataset.limit=24",
                "metrics.bertscore.enabled=false",
                "cache.mode=off",
                "update_leaderboard=false",
            ],
        )
    base = tmp_path / "runs" / "sweep" / "0-lead-yaodian_v1"
    run_job(cfg, base)

    # The worse candidate: the same run with every generated bullet cut to its first half, re-scored.
    worse = tmp_path / "runs" / "sweep" / "1-lead-truncated"
    shutil.copytree(base, worse)
    items = {item.id: item for item in load_items(to_typed(cfg).dataset)}
    rows = read_jsonl(base / "rows.jsonl")
    assert len(rows) == 24 and not any(r["error"] for r in rows)
    cut = [[b[: len(b) // 2] for b in r["generation"]["bullets"]] for r in rows]
    rescored = RougeScorer("char").score([items[r["item_id"]] for r in rows], cut)
    with (worse / "rows.jsonl").open("w", encoding="utf-8") as fh:
        for row, bullets, res in zip(rows, cut, rescored, strict=True):
            row["generation"]["bullets"] = bullets
            row["scores"].update(res.values)
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    # Real data has no format_ok / judge scores unless those metrics ran: keep the margins only.
    rules = dataclasses.replace(load_rules(DEFAULT_RULES_FILE), floors={})
    result = run_gate(str(base), str(worse), rules, results_dir=tmp_path)
    assert result.exit_code == 1 and "rougeL_f" in result.failed
    assert result.metric("rougeL_f").diff < -0.01 and result.metric("rougeL_f").n_common == 24
    same = run_gate("sweep/0-lead-yaodian_v1", "sweep/0-lead-yaodian_v1", rules, results_dir=tmp_path)
    assert same.exit_code == 0 and all(m.p_one_sided == pytest.approx(1.0) for m in same.metrics)


def test_gate_cli_on_the_sample_dataset_with_a_worse_candidate_prompt(tmp_path: Path) -> None:
    """End to end: two prompts sent over HTTP to a scripted model on the sample dataset. The model
    answers yaodian_v2 with digests cut to a third; `harness gate` exits 1 naming rougeL_f, 0 on
    the identical candidate, 2 on a missing baseline."""
    import re
    import subprocess
    import sys

    from tests.fake_openai import FakeOpenAI, Reply, user_text

    root = Path(__file__).parents[1]

    def script(body: dict) -> Reply:
        text = user_text(body)
        article = text.split("<<<原文开始>>>", 1)[1].split("<<<原文结束>>>", 1)[0].strip()
        sentences = [s for s in re.split(r"(?<=[。！？])", article) if s.strip()][:3]
        if "按格式输出" in text:  # yaodian_v2: the worse digests
            sentences = [s[: max(8, len(s) // 3)] for s in sentences]
        return Reply("\n".join(f"- {s.strip()}" for s in sentences))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "harness.cli", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
        )

    with FakeOpenAI(script) as server:
        proc = cli(
            "run",
            "-m",
            "model=local",
            f"model.api_base={server.api_base}",
            "model.name=scripted",
            "prompt=yaodian_v1,yaodian_v2",
            "metrics.bertscore.enabled=false",
            "cache.mode=off",
            "progress=false",
            f"results_dir={tmp_path}",
        )
    assert proc.returncode == 0, proc.stderr
    runs = sorted(p.parent for p in (tmp_path / "runs").rglob("summary.json"))
    base, cand = (str(p.relative_to(tmp_path / "runs")) for p in runs)
    assert base.endswith("scripted-yaodian_v1") and cand.endswith("scripted-yaodian_v2")
    report = tmp_path / "gate.md"
    worse = cli(
        "gate",
        "--baseline",
        base,
        "--candidate",
        cand,
        "--results-dir",
        str(tmp_path),
        "--report",
        str(report),
    )
    assert worse.returncode == 1, worse.stdout + worse.stderr
    text = report.read_text(encoding="utf-8")
    assert "regression" in text and "**rougeL_f**" in text and re.search(r"\[0\.\d{4}, 0\.\d{4}\]", text)
    # the leaderboard-row form of the baseline resolves to the same run
    same = cli(
        "gate", "--baseline", "scripted@yaodian_v1", "--candidate", base, "--results-dir", str(tmp_path)
    )
    assert same.returncode == 0, same.stdout + same.stderr
    missing = cli(
        "gate", "--baseline", "nosuch@yaodian_v1", "--candidate", cand, "--results-dir", str(tmp_path)
    )
    assert missing.returncode == 2 and "--baseline" in missing.stderr
