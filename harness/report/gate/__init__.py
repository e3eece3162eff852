"""Paired comparison of two runs (`harness compare`) and the regression gate (`harness gate`).

Both read run directories (run.json + rows.jsonl, see README.md) and pair items by `item_id`.
Failed items (rows with an `error`) and missing scores are excluded from every statistic and
counted, never read as 0. All statistics come from `harness.report.stats`. How the gate decides:
docs/gate.md. Exit code 0: pass, 1: a metric significantly worse than its margin allows or a mean
significantly past a floor/ceiling, 2: usage or configuration error (`GateUsageError`, whose message
names the flag or the rules file and field).

One concern per module:

- `runs`: run lookup (a run directory, run id or leaderboard row -> a loaded `Run` with its rows);
- `pairing`: what the comparison and the gate share (paired items, intervals, warnings);
- `compare`: `compare_runs(a, b)`, the paired comparison of every shared score column;
- `rules`: `GateRules`, `load_rules`;
- `decision`: `decide(base, cand, rules)`, the verdict as pure functions (no I/O);
- `markdown`: `render_gate_markdown`, `render_comparison_markdown`;
- `commands`: `run_gate` (load, then decide), `gate_command`, `compare_command` (what the CLI calls).

The names below are the package's public interface.
"""

from harness.report.gate.commands import compare_command, gate_command, run_gate
from harness.report.gate.compare import Comparison, MetricComparison, compare_runs
from harness.report.gate.decision import GateResult, LimitCheck, MetricGate, decide
from harness.report.gate.errors import GateUsageError
from harness.report.gate.markdown import REPORT_MARKER, render_comparison_markdown, render_gate_markdown
from harness.report.gate.rules import DEFAULT_RULES_FILE, GateRules, load_rules
from harness.report.gate.runs import Run, RunInfo, load_run, resolve_run

__all__ = [
    "DEFAULT_RULES_FILE",
    "REPORT_MARKER",
    "Comparison",
    "GateResult",
    "GateRules",
    "GateUsageError",
    "LimitCheck",
    "MetricComparison",
    "MetricGate",
    "Run",
    "RunInfo",
    "compare_command",
    "compare_runs",
    "decide",
    "gate_command",
    "load_rules",
    "load_run",
    "render_comparison_markdown",
    "render_gate_markdown",
    "resolve_run",
    "run_gate",
]
