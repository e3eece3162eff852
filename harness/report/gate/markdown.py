"""Markdown reports: the gate's (a pull-request comment) and the comparison's table."""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.gate.compare import Comparison
from harness.report.gate.decision import GateResult, LimitCheck
from harness.report.gate.pairing import CI_METHOD, CONFIDENCE
from harness.report.gate.rules import GateRules
from harness.report.gate.runs import RunInfo
from harness.report.stats import Interval

# Marker on the first line of the gate report, so a bot can find (and update) its own comment.
REPORT_MARKER = "<!-- harness-prompt-gate -->"


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.4f}"


def _with_ci(iv: Interval) -> str:
    if iv.mean is None:
        return "–"
    if iv.low is None or iv.high is None:
        return f"{iv.mean:.4f}"
    return f"{iv.mean:.4f} [{iv.low:.4f}, {iv.high:.4f}]"


def _diff_ci(diff: float | None, low: float | None, high: float | None) -> str:
    if diff is None:
        return "–"
    if low is None or high is None:
        return _signed(diff)
    return f"{diff:+.4f} [{low:+.4f}, {high:+.4f}]"


def _runs_table(infos: Sequence[RunInfo], names: Sequence[str]) -> list[str]:
    out = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]

    def row(label: str, cells: Sequence[str]) -> None:
        out.append(f"| {label} | " + " | ".join(cells) + " |")

    row("run", [f"`{i.run_id}`" for i in infos])
    row("model", [f"{i.model} (`{i.litellm_model}`)" for i in infos])
    row("prompt", [f"{i.prompt} `{i.prompt_hash}`" for i in infos])
    row("dataset", [f"{i.dataset} `{i.fingerprint}`" for i in infos])
    row("items (failed)", [f"{i.n_items} ({i.n_failed})" for i in infos])
    return out


def _test_name(test: str) -> str:
    return "paired approximate randomization" if test == "randomization" else "paired bootstrap"


def render_comparison_markdown(comparison: Comparison) -> str:
    c = comparison
    pct = f"{c.confidence:.0%}"
    out = [f"# Comparison: {c.a.model} {c.a.prompt} (A) vs {c.b.model} {c.b.prompt} (B)", ""]
    for warning in c.warnings:
        out += [f"> ⚠️ **{warning}**" if warning.startswith("DIFFERENT DATASETS") else f"> ⚠️ {warning}", ""]
    out += _runs_table([c.a, c.b], ["run A", "run B"])
    out += [
        "",
        f"Items: {c.n_common_items} in both runs, {c.n_only_a_items} only in A, "
        f"{c.n_only_b_items} only in B. "
        f"Means and intervals are over the items both runs scored (failed items and missing scores are "
        f"excluded and counted); diff = B − A. Intervals: {pct} {CI_METHOD} bootstrap; p: two-sided "
        f"{_test_name(c.test)} test; {c.n_resamples} resamples, seed {c.seed}.",
        "",
        f"| metric | mean A [{pct} CI] | mean B [{pct} CI] | diff B − A [{pct} CI] | p | n common "
        "| n only A / B | excluded |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in c.metrics:
        out.append(
            f"| {m.metric} | {_with_ci(m.mean_a)} | {_with_ci(m.mean_b)} | {_diff_ci(m.diff, m.low, m.high)} "
            f"| {_fmt(m.p_value)} | {m.n_common} | {m.n_only_a} / {m.n_only_b} | {m.n_excluded} |"
        )
    if c.metrics_only_a or c.metrics_only_b:
        out.append("")
        if c.metrics_only_a:
            out.append(f"Scored in A only (not compared): {', '.join(c.metrics_only_a)}.")
        if c.metrics_only_b:
            out.append(f"Scored in B only (not compared): {', '.join(c.metrics_only_b)}.")
    return "\n".join(out) + "\n"


def _arrow(higher: bool) -> str:
    return "↑" if higher else "↓"


def _limit_verdict(c: LimitCheck, rules: GateRules) -> str:
    past = "below floor" if c.kind == "floor" else "above ceiling"
    if not c.violated:
        return "✅ pass"
    if not c.significant:
        return f"⚠️ {past}, not significantly (Holm p {_fmt(c.p_adjusted)} > α {rules.alpha:g}): pass"
    if not c.baseline_violated:
        return f"❌ {past}"
    if c.failed and rules.baseline_violations == "fail":
        return f"❌ {past} (the baseline too; baseline_violations: fail)"
    if c.failed:
        return f"❌ {past}, and worse than the baseline (one-sided p {_fmt(c.p_worse)})"
    return (
        f"⚠️ {past}, as the baseline; not significantly worse (one-sided p {_fmt(c.p_worse)}): "
        "tolerated (baseline_violations: tolerate)"
    )


def render_gate_markdown(result: GateResult) -> str:
    """The gate report as Markdown, fit for a pull-request comment."""
    r = result
    rules = r.rules
    pct = f"{CONFIDENCE:.0%}"
    failed = r.failed
    if failed:
        head = f"## ❌ Prompt gate: regression in {', '.join(f'`{m}`' for m in failed)}"
    else:
        head = "## ✅ Prompt gate: pass"
    out = [REPORT_MARKER, head, ""]
    out.append(
        f"Candidate {r.candidate.model} {r.candidate.prompt} `{r.candidate.prompt_hash}` vs baseline "
        f"{r.baseline.model} {r.baseline.prompt} `{r.baseline.prompt_hash}` "
        f"on {r.n_common_items} common items."
    )
    out.append("")
    for warning in r.warnings:
        out += [f"> ⚠️ **{warning}**" if warning.startswith("DIFFERENT DATASETS") else f"> ⚠️ {warning}", ""]

    if r.metrics:
        out += [
            "### Metrics",
            "",
            f"| metric | baseline mean [{pct} CI] | candidate mean [{pct} CI] | diff [{pct} CI] | margin "
            "| p (one-sided) | Holm p | verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in r.metrics:
            verdict = "❌ regression" if m.regression else "✅ pass"
            out.append(
                f"| {m.metric} {_arrow(m.higher_is_better)} | {_with_ci(m.baseline)} "
                f"| {_with_ci(m.candidate)} "
                f"| {_diff_ci(m.diff, m.diff_low, m.diff_high)} | {m.allowed_change:+.4f} "
                f"| {_fmt(m.p_one_sided)} | {_fmt(m.p_adjusted)} | {verdict} |"
            )
        out += [
            "",
            f"diff = candidate − baseline over the items both scored; margin = the worst change allowed "
            f'(↑ higher is better, ↓ lower is better). p: one-sided test of "candidate worse than baseline '
            f'by more than the margin"; a metric fails when its Holm-adjusted p ≤ α = {rules.alpha:g} '
            "(Holm over every margin, floor and ceiling test).",
            "",
        ]
    if r.limits:
        out += [
            "### Floors and ceilings",
            "",
            f"| metric | candidate mean [{pct} CI] | baseline mean | limit | p (one-sided) | Holm p "
            "| verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in r.limits:
            sign = "≥" if c.kind == "floor" else "≤"
            out.append(
                f"| {c.metric} | {_with_ci(c.candidate)} | {_fmt(c.baseline_mean)} | {sign} {c.limit:g} "
                f"| {_fmt(c.p_one_sided)} | {_fmt(c.p_adjusted)} | {_limit_verdict(c, rules)} |"
            )
        out += [
            "",
            "Mean over the candidate's own scored items. p: one-sided test of \"the candidate's true mean is "
            'past the limit"; a limit fails only when its Holm-adjusted p (one family with the margins) '
            f"≤ α = {rules.alpha:g}: a mean past the limit by no more than the noise passes, marked ⚠️.",
            "",
        ]
    if r.not_evaluated:
        out += ["### Not evaluated", ""]
        out += [f"- `{metric}`: {why}" for metric, why in r.not_evaluated]
        out.append("")
    if failed:
        out += ["### Failed", ""]
        for m in r.metrics:
            if m.regression:
                out.append(
                    f"- **{m.metric}**: candidate {_with_ci(m.candidate)} "
                    f"vs baseline {_with_ci(m.baseline)}; "
                    f"diff {_diff_ci(m.diff, m.diff_low, m.diff_high)} is worse than the allowed "
                    f"{m.allowed_change:+.4f} (one-sided p {_fmt(m.p_one_sided)}, Holm {_fmt(m.p_adjusted)} "
                    f"≤ α {rules.alpha:g})"
                )
        for c in r.limits:
            if c.failed:
                rel = "below the floor" if c.kind == "floor" else "above the ceiling"
                out.append(
                    f"- **{c.metric}**: candidate mean {_with_ci(c.candidate)} is {rel} {c.limit:g} "
                    f"(one-sided p {_fmt(c.p_one_sided)}, Holm {_fmt(c.p_adjusted)} ≤ α {rules.alpha:g})"
                )
        out.append("")
    out += ["### Runs", ""]
    out += _runs_table([r.baseline, r.candidate], ["baseline", "candidate"])
    out += [
        "",
        f"Items: {r.n_common_items} in both, {r.n_only_baseline_items} only in the baseline, "
        f"{r.n_only_candidate_items} only in the candidate.",
        "",
        "### Statistics",
        "",
        f"{_test_name(rules.test)} test (`{rules.test}`), {rules.n_resamples} resamples, seed {rules.seed}; "
        f"{pct} {CI_METHOD} bootstrap intervals; Holm correction over {len(r.metrics) + len(r.limits)} "
        f"test(s) (margins, floors, ceilings) at α = {rules.alpha:g}. Rules: `{rules.source}`.",
        "",
    ]
    return "\n".join(out)
