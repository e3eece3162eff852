"""Entry points: `run_gate` (load two runs, then `decision.decide`), and `gate_command` /
`compare_command`, which the CLI calls (no argv: the CLI parses flags)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from harness.report.gate.compare import compare_runs
from harness.report.gate.decision import GateResult, decide
from harness.report.gate.errors import GateUsageError
from harness.report.gate.markdown import render_comparison_markdown, render_gate_markdown
from harness.report.gate.rules import DEFAULT_RULES_FILE, GateRules, load_rules
from harness.report.gate.runs import load_run, resolve_run
from harness.results.store import write_text_atomic


def run_gate(baseline: str, candidate: str, rules: GateRules, *, results_dir: Path) -> GateResult:
    """Gate the candidate run against the baseline under `rules` (see `decision`).

    `baseline`: run directory, run id (relative to `results_dir/runs`) or leaderboard row
    `[dataset:]model@prompt_id`; `candidate`: run directory or run id. Raises `GateUsageError`
    (exit code 2) for anything that cannot be resolved or compared.
    """
    results_dir = Path(results_dir)
    base = load_run(baseline, results_dir=results_dir, flag="--baseline", leaderboard=True)
    cand = load_run(candidate, results_dir=results_dir, flag="--candidate", leaderboard=False)
    return decide(base, cand, rules)


def gate_command(
    baseline: str,
    candidate: str,
    *,
    rules_path: Path | str = DEFAULT_RULES_FILE,
    results_dir: Path | str = "results",
    report_path: Path | str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """`harness gate`: print (and write to `report_path`) the report; return the exit code 0/1/2."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        rules = load_rules(rules_path)
        result = run_gate(baseline, candidate, rules, results_dir=Path(results_dir))
    except GateUsageError as exc:
        print(f"harness gate: {exc.message}", file=err)
        return exc.exit_code
    text = render_gate_markdown(result)
    if report_path is not None:
        write_text_atomic(Path(report_path), text)
    out.write(text)
    verdict = "pass" if result.passed else f"regression: {', '.join(result.failed)}"
    print(f"harness gate: {verdict} (exit {result.exit_code})", file=err)
    return result.exit_code


def compare_command(
    run_a: str,
    run_b: str,
    *,
    metrics: Sequence[str] | str | None = None,
    results_dir: Path | str = "results",
    report_path: Path | str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """`harness compare A B [--metrics m1,m2]`: A and B are run directories, run ids or leaderboard
    rows; `metrics` a list or the comma-separated flag value. Returns the exit code 0 or 2."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        dir_a = resolve_run(run_a, results_dir=Path(results_dir), flag="A", leaderboard=True)
        dir_b = resolve_run(run_b, results_dir=Path(results_dir), flag="B", leaderboard=True)
        if isinstance(metrics, str):
            metrics = [m.strip() for m in metrics.split(",") if m.strip()]
        comparison = compare_runs(dir_a, dir_b, list(metrics) if metrics else None)
    except GateUsageError as exc:
        print(f"harness compare: {exc.message}", file=err)
        return exc.exit_code
    text = render_comparison_markdown(comparison)
    if report_path is not None:
        write_text_atomic(Path(report_path), text)
    out.write(text)
    return 0
