"""Paired comparison of two runs (`harness compare`) and the regression gate (`harness gate`).

Both read run directories (run.json + rows.jsonl, see README.md) and pair items by `item_id`.
Failed items (rows with an `error`) and missing scores are excluded from every statistic and
counted, never read as 0. All statistics come from `harness.report.stats`.

- `compare_runs(a, b)`: per score column, means of both runs over the items both scored, each with a
  95% bootstrap interval, the paired difference B - A with its interval and a two-sided paired test.
- `run_gate(baseline, candidate, rules)`: per metric with a margin, the candidate fails when it is
  worse than the baseline by more than the margin AND significantly so: a one-sided paired test of
  H1 "candidate < baseline - margin" (differences d_i = cand_i - base_i + margin, `p_one_sided_less`;
  signs flipped for lower-is-better metrics), Holm-corrected over the gated metrics at `alpha`.
  Floors (ceilings) fail when the candidate's mean is below (above) them, with no test.
  Exit code 0: pass, 1: regression or floor/ceiling violated, 2: usage or configuration error
  (`GateUsageError`, whose message names the flag or the rules file and field).

The functions take no argv: `gate_command` and `compare_command` are what the CLI calls.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from harness.config import CONF_DIR
from harness.errors import UsageError
from harness.report.aggregate import ordered_score_keys
from harness.report.stats import TESTS, Interval, PairedResult, bootstrap_ci, holm, paired_difference
from harness.report.store import ROWS_FILE, RUN_FILE, read_jsonl, write_text_atomic
from harness.score import registry

DEFAULT_RULES_FILE = CONF_DIR / "gate" / "default.yaml"

# Every interval the gate and the comparison show is a 95% percentile bootstrap interval.
CONFIDENCE = 0.95
CI_METHOD = "percentile"

RULE_FIELDS = (
    "alpha",
    "test",
    "n_resamples",
    "seed",
    "margins",
    "floors",
    "ceilings",
    "baseline_violations",
    "higher_is_better",
)
BASELINE_VIOLATIONS = ("tolerate", "fail")

# Marker on the first line of the gate report, so a bot can find (and update) its own comment.
REPORT_MARKER = "<!-- harness-prompt-gate -->"


class GateUsageError(UsageError):
    """A usage or configuration problem (exit code 2); the message names the flag or file and field."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class RunInfo:
    """What a run is (from run.json) and how many of its rows are usable."""

    dir: Path
    run_id: str
    status: str
    model: str
    litellm_model: str
    prompt_id: str
    prompt_version: str
    prompt_hash: str
    dataset: str
    fingerprint: str
    metric_settings: Mapping[str, Any]
    n_items: int
    n_failed: int
    n_duplicates: int

    @property
    def prompt(self) -> str:
        return f"{self.prompt_id}@{self.prompt_version}"


@dataclass(frozen=True)
class _Run:
    info: RunInfo
    rows: dict[str, dict[str, Any]]  # item id -> row (the last row of an id wins)
    unavailable: dict[str, str]  # metric name -> reason, from the rows

    def values(self, metric: str) -> tuple[list[str], list[float | None]]:
        """Item ids (sorted: intervals must not depend on the order rows were written) and this
        metric's values; None for failed items and missing scores."""
        ids, values = [], []
        for item_id, row in sorted(self.rows.items()):
            ids.append(item_id)
            values.append(None if row.get("error") else _number(row.get("scores", {}).get(metric)))
        return ids, values

    def metrics(self) -> set[str]:
        """Score columns with at least one value on an item that did not fail."""
        found: set[str] = set()
        for row in self.rows.values():
            if not row.get("error"):
                found.update(k for k, v in (row.get("scores") or {}).items() if _number(v) is not None)
        return found

    def why_missing(self, metric: str) -> str:
        name = next((n for n in self.unavailable if metric.startswith(n)), None)
        if name is None:
            return ""
        reason = self.unavailable[name].splitlines()[0] if self.unavailable[name] else "no reason recorded"
        if len(reason) > 160:
            reason = reason[:159] + "…"
        return f" ({name} unavailable: {reason})"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _load_run(run_dir: Path, who: str) -> _Run:
    manifest_path = run_dir / RUN_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GateUsageError(f"{who}: cannot read {manifest_path}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise GateUsageError(f"{who}: {manifest_path} is not a run manifest (a JSON object)")
    status = str(manifest.get("status", "?"))
    if status != "finished":
        raise GateUsageError(
            f"{who}: the run in {run_dir} is not finished (status {status!r}); "
            "finish it (run the same `harness run` command again) or pick a finished run"
        )
    raw = read_jsonl(run_dir / ROWS_FILE)
    if not raw:
        raise GateUsageError(
            f"{who}: the run in {run_dir} has no rows ({run_dir / ROWS_FILE} is missing or empty)"
        )
    rows: dict[str, dict[str, Any]] = {}
    unavailable: dict[str, str] = {}
    for line, row in enumerate(raw, start=1):
        if not isinstance(row, dict) or not isinstance(row.get("item_id"), str):
            raise GateUsageError(f"{who}: {run_dir / ROWS_FILE} line {line}: no item_id")
        for metric, value in (row.get("scores") or {}).items():
            if isinstance(value, (int, float)) and math.isinf(value):
                raise GateUsageError(
                    f"{who}: {run_dir / ROWS_FILE} line {line}: score {metric} is {value} (scores are finite)"
                )
        rows[row["item_id"]] = row
        unavailable.update(row.get("unavailable") or {})
    model = manifest.get("model") or {}
    prompt = manifest.get("prompt") or {}
    dataset = manifest.get("dataset") or {}
    info = RunInfo(
        dir=run_dir,
        run_id=str(manifest.get("run_id") or run_dir.name),
        status=status,
        model=str(model.get("name", "?")),
        litellm_model=str(model.get("litellm_model", "?")),
        prompt_id=str(prompt.get("id", "?")),
        prompt_version=str(prompt.get("version", "?")),
        prompt_hash=str(prompt.get("hash", "?")),
        dataset=str(dataset.get("name", "?")),
        fingerprint=str(dataset.get("fingerprint", "?")),
        metric_settings=manifest.get("metrics") or {},
        n_items=len(rows),
        n_failed=sum(1 for r in rows.values() if r.get("error")),
        n_duplicates=len(raw) - len(rows),
    )
    return _Run(info, rows, unavailable)


def _finished_runs_under(path: Path) -> tuple[list[Path], list[str]]:
    """Finished run directories at or under `path`, and a description of the unfinished ones."""
    finished, other = [], []
    for manifest_path in sorted(path.glob(f"**/{RUN_FILE}")):
        try:
            status = json.loads(manifest_path.read_text(encoding="utf-8")).get("status")
        except (OSError, json.JSONDecodeError, AttributeError):
            status = "unreadable"
        if status == "finished":
            finished.append(manifest_path.parent)
        else:
            other.append(f"{manifest_path.parent} ({status})")
    return finished, other


def _run_dir_at(path: Path, flag: str, spec: str) -> Path:
    """The run directory `path` names: itself, or the one finished run under it."""
    if path.is_file() and path.name in (RUN_FILE, ROWS_FILE):
        path = path.parent
    if (path / RUN_FILE).is_file():
        return path
    finished, other = _finished_runs_under(path)
    if len(finished) == 1:
        return finished[0]
    if not finished:
        detail = f"; unfinished: {', '.join(other[:5])}" if other else ""
        raise GateUsageError(f"{flag} {spec!r}: no finished run under {path}{detail}")
    shown = "\n  ".join(str(p) for p in finished[:10])
    more = f"\n  ... and {len(finished) - 10} more" if len(finished) > 10 else ""
    raise GateUsageError(
        f"{flag} {spec!r}: {len(finished)} finished runs under {path}; name one of them:\n  {shown}{more}"
    )


def _row_name(entry: Mapping[str, Any]) -> str:
    m = entry["manifest"]
    return f"{m['dataset']['name']}:{m['model']['name']}@{m['prompt']['id']}@{m['prompt']['version']}"


def _from_leaderboard(spec: str, results_dir: Path, flag: str) -> Path:
    from harness.report.leaderboard import collect

    if not (results_dir / "runs").is_dir():
        raise GateUsageError(
            f"{flag} {spec!r}: not a run directory, and there is no leaderboard to look it up in "
            f"(no {results_dir / 'runs'}; flag --results-dir)"
        )
    entries = collect(results_dir)
    datasets = {e["manifest"]["dataset"]["name"] for e in entries}
    head, sep, tail = spec.partition(":")
    dataset, rest = (head, tail) if sep and "@" not in head and head in datasets else (None, spec)
    model, _, prompt = rest.partition("@")
    prompt, _, version = prompt.partition("@")
    matches = [
        e
        for e in entries
        if e["manifest"]["model"]["name"] == model
        and e["manifest"]["prompt"]["id"] == prompt
        and (not version or str(e["manifest"]["prompt"]["version"]) == version)
        and (dataset is None or e["manifest"]["dataset"]["name"] == dataset)
    ]
    if len(matches) == 1:
        return Path(matches[0]["dir"])
    if not matches:
        rows = sorted(_row_name(e) for e in entries)
        listing = ("\n  " + "\n  ".join(rows[:20])) if rows else " (none)"
        raise GateUsageError(
            f"{flag} {spec!r}: no such run directory or run id, and no finished leaderboard row "
            f"matches model@prompt_id under {results_dir} (flag --results-dir). Rows:{listing}"
        )
    listing = "\n  ".join(f"{_row_name(e)}  run {e['manifest'].get('run_id')}" for e in matches)
    raise GateUsageError(
        f"{flag} {spec!r} matches {len(matches)} leaderboard rows; write dataset:model@prompt_id"
        f"[@version] or pass the run id:\n  {listing}"
    )


def resolve_run(
    spec: str | Path, *, results_dir: Path, flag: str = "--baseline", leaderboard: bool = True
) -> Path:
    """The run directory `spec` names, else `GateUsageError` naming `flag`.

    `spec` is, in this order: a path (a run directory, or a directory holding exactly one finished
    run, such as a sweep or a results directory), a run id (a path relative to `results_dir/runs`,
    as in run.json's `run_id`), or, when `leaderboard` is true, a leaderboard row `model@prompt_id`,
    `model@prompt_id@version` or `dataset:model@prompt_id`, resolved to its latest finished run
    through `leaderboard.collect(results_dir)`.
    """
    text = str(spec).strip()
    if not text:
        raise GateUsageError(f"{flag}: empty; pass a run directory, a run id or model@prompt_id")
    path = Path(text).expanduser()
    looked = [path]
    if not path.is_absolute():
        looked.append(Path(results_dir) / "runs" / text)
    for candidate in looked:
        if candidate.exists():
            return _run_dir_at(candidate, flag, text)
    if leaderboard and "@" in text:
        return _from_leaderboard(text, Path(results_dir), flag)
    where = " or ".join(str(p) for p in looked)
    also = (
        ", and it is not a leaderboard row (write model@prompt_id)"
        if leaderboard
        else " (a leaderboard row model@prompt_id is accepted for --baseline only)"
    )
    raise GateUsageError(f"{flag} {text!r}: no such run directory or run id (looked for {where}){also}")


# --------------------------------------------------------------------------------------------------
# Shared pieces


def _pairs(
    ids_a: list[str], va: list[float | None], ids_b: list[str], vb: list[float | None]
) -> tuple[list[float], list[float]]:
    """Values of a and b on the items both scored, in sorted-id order (as stats pairs them)."""
    a = dict(zip(ids_a, va, strict=True))
    b = dict(zip(ids_b, vb, strict=True))
    common = sorted(i for i in a.keys() & b.keys() if a[i] is not None and b[i] is not None)
    return [a[i] for i in common], [b[i] for i in common]  # type: ignore[misc]


def _ci(values: Sequence[float], seed: int, n_resamples: int) -> Interval:
    return bootstrap_ci(values, n_resamples=n_resamples, confidence=CONFIDENCE, seed=seed, method=CI_METHOD)


def _check_shared_items(a: _Run, b: _Run, who: str) -> tuple[int, int, int]:
    ids_a, ids_b = set(a.rows), set(b.rows)
    common = ids_a & ids_b
    if not common:
        raise GateUsageError(
            f"{who}: the two runs share no item id ({a.info.dir}: {a.info.dataset} `{a.info.fingerprint}`, "
            f"{b.info.dir}: {b.info.dataset} `{b.info.fingerprint}`); nothing can be paired"
        )
    return len(common), len(ids_a - ids_b), len(ids_b - ids_a)


def _warnings(a: _Run, b: _Run, names: tuple[str, str], n_items: tuple[int, int, int]) -> list[str]:
    """Everything that makes the comparison less than like-for-like, said loudly."""
    out = []
    n_common, only_a, only_b = n_items
    ia, ib = a.info, b.info
    if ia.fingerprint != ib.fingerprint:
        out.append(
            f"DIFFERENT DATASETS: {names[0]} is on {ia.dataset} `{ia.fingerprint}`, {names[1]} on "
            f"{ib.dataset} `{ib.fingerprint}`. Only the {n_common} item ids both runs have are compared "
            f"({only_a} only in {names[0]}, {only_b} only in {names[1]}), and an item with the same id "
            "may not have the same content."
        )
    elif only_a or only_b:
        out.append(
            f"The runs do not have the same items: {n_common} in both, {only_a} only in {names[0]}, "
            f"{only_b} only in {names[1]}; only the common ones are compared."
        )
    for family in sorted(set(ia.metric_settings) & set(ib.metric_settings)):
        sa, sb = ia.metric_settings[family], ib.metric_settings[family]
        if sa != sb:
            if isinstance(sa, dict) and isinstance(sb, dict):
                keys = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
                detail = "; ".join(f"{k}: {sa.get(k)!r} vs {sb.get(k)!r}" for k in keys[:3])
            else:
                detail = f"{sa!r} vs {sb!r}"
            out.append(f"Metric settings differ for {family} ({detail}): its scores may not be comparable.")
    for name, info in zip(names, (ia, ib), strict=True):
        if info.n_failed:
            out.append(f"{name}: {info.n_failed} failed item(s), excluded from every statistic.")
        if info.n_duplicates:
            out.append(
                f"{name}: {ROWS_FILE} has {info.n_duplicates} repeated item id(s); "
                "the last row of each is used."
            )
    return out


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


def _check_test_settings(test: str, n_resamples: int, seed: int, who: str) -> None:
    if test not in TESTS:
        raise GateUsageError(f"{who}: field 'test': must be one of {', '.join(TESTS)}, got {test!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise GateUsageError(f"{who}: field 'n_resamples': must be a positive integer, got {n_resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GateUsageError(f"{who}: field 'seed': must be a non-negative integer, got {seed!r}")


# --------------------------------------------------------------------------------------------------
# Comparison


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
    _check_test_settings(test, n_resamples, seed, "compare")
    a = _load_run(Path(run_a), "run A")
    b = _load_run(Path(run_b), "run B")
    n_items = _check_shared_items(a, b, "compare")
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
        xa, xb = _pairs(ids_a, va, ids_b, vb)
        rows.append(
            MetricComparison(
                metric=name,
                mean_a=_ci(xa, seed, n_resamples),
                mean_b=_ci(xb, seed, n_resamples),
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
        warnings=tuple(_warnings(a, b, ("run A", "run B"), n_items)),
        n_common_items=n_items[0],
        n_only_a_items=n_items[1],
        n_only_b_items=n_items[2],
        metrics_only_a=tuple(ordered_score_keys(in_a - in_b)),
        metrics_only_b=tuple(ordered_score_keys(in_b - in_a)),
        test=test,
        n_resamples=n_resamples,
        seed=seed,
    )


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


# --------------------------------------------------------------------------------------------------
# Gate rules


def _rule_error(source: str, name: str, problem: str) -> GateUsageError:
    return GateUsageError(f"{source}: field '{name}': {problem}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _metric_map(source: str, name: str, value: Any, check: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _rule_error(source, name, f"must be a mapping of metric name to value, got {value!r}")
    out: dict[str, Any] = {}
    for metric, v in value.items():
        where = f"{name}.{metric}"
        if not isinstance(metric, str) or not metric:
            raise _rule_error(source, where, "metric names must be non-empty strings")
        if check == "bool":
            if not isinstance(v, bool):
                raise _rule_error(source, where, f"must be true or false, got {v!r}")
            out[metric] = v
            continue
        if not _is_number(v):
            hint = " (YAML reads 1e-2 as text: write 0.01)" if isinstance(v, str) else ""
            raise _rule_error(source, where, f"must be a finite number, got {v!r}{hint}")
        if check == "margin" and v < 0:
            raise _rule_error(source, where, f"must be >= 0 (the allowed worsening, a magnitude), got {v!r}")
        out[metric] = float(v)
    return out


@dataclass(frozen=True)
class GateRules:
    """What the gate checks and how (see conf/gate/default.yaml).

    - `margins`: metric -> allowed worsening (>= 0): a drop for higher-is-better metrics, a rise for
      lower-is-better ones. Only these metrics are tested (and Holm-corrected together).
    - `floors` / `ceilings`: metric -> minimum / maximum candidate mean; no test.
    - `baseline_violations`: a floor/ceiling the baseline violates too. `tolerate` (default): it
      fails only when the candidate is also significantly worse than the baseline on that metric
      (one-sided paired test at `alpha`, margin 0), so an unchanged prompt passes while the
      violation is reported; `fail`: it fails like any violation.
    - `higher_is_better`: metric -> bool overrides; default: the metric's declaration (harness/score/)
      (unless the rules say otherwise).
    - `source`: where the rules came from, for error messages.
    """

    alpha: float = 0.05
    test: str = "randomization"
    n_resamples: int = 2000
    seed: int = 0
    margins: Mapping[str, float] = field(default_factory=dict)
    floors: Mapping[str, float] = field(default_factory=dict)
    ceilings: Mapping[str, float] = field(default_factory=dict)
    baseline_violations: str = "tolerate"
    higher_is_better: Mapping[str, bool] = field(default_factory=dict)
    source: str = "gate rules"

    def __post_init__(self) -> None:
        src = self.source
        if not _is_number(self.alpha) or not 0.0 < self.alpha < 1.0:
            raise _rule_error(src, "alpha", f"must be a number strictly between 0 and 1, got {self.alpha!r}")
        _check_test_settings(self.test, self.n_resamples, self.seed, src)
        object.__setattr__(self, "margins", _metric_map(src, "margins", self.margins, "margin"))
        object.__setattr__(self, "floors", _metric_map(src, "floors", self.floors, "number"))
        object.__setattr__(self, "ceilings", _metric_map(src, "ceilings", self.ceilings, "number"))
        if self.baseline_violations not in BASELINE_VIOLATIONS:
            raise _rule_error(
                src,
                "baseline_violations",
                f"must be one of {', '.join(BASELINE_VIOLATIONS)}, got {self.baseline_violations!r}",
            )
        object.__setattr__(
            self, "higher_is_better", _metric_map(src, "higher_is_better", self.higher_is_better, "bool")
        )
        if not (self.margins or self.floors or self.ceilings):
            raise GateUsageError(f"{src}: no margins, floors or ceilings: nothing to gate")

    def is_higher_better(self, metric: str) -> bool:
        return self.higher_is_better.get(metric, registry.higher_is_better(metric))

    def rule_metrics(self) -> dict[str, str]:
        """Every metric the rules name -> the first field naming it (for messages)."""
        out: dict[str, str] = {}
        for name in ("margins", "floors", "ceilings"):
            for metric in getattr(self, name):
                out.setdefault(metric, name)
        return out


def load_rules(path: Path | str) -> GateRules:
    """Gate rules from a YAML file; every error names the file and the field."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GateUsageError(f"--rules {path}: cannot read the rules file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GateUsageError(f"{path}: invalid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise GateUsageError(
            f"{path}: must be a mapping of {', '.join(RULE_FIELDS)}; got {type(data).__name__}"
        )
    for key in data:
        if key not in RULE_FIELDS:
            raise _rule_error(
                str(path), str(key), f"unknown field (expected one of {', '.join(RULE_FIELDS)})"
            )
    return GateRules(**data, source=str(path))


# --------------------------------------------------------------------------------------------------
# Gate


@dataclass(frozen=True)
class MetricGate:
    """One gated metric. `baseline` / `candidate`: means over the `n_common` paired items with 95%
    intervals; `diff` = candidate - baseline with its paired interval; `p_one_sided`: p for H1
    "candidate worse than baseline by more than `margin`"; `p_adjusted`: Holm over the gated metrics."""

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

    `violated`: the candidate's mean is past the limit. `baseline_violated`: the baseline's too.
    `p_worse`: one-sided paired p of "candidate worse than baseline" (computed when both violate).
    `failed`: whether this check fails the gate (see GateRules.baseline_violations)."""

    metric: str
    kind: str  # "floor" | "ceiling"
    limit: float
    candidate: Interval
    baseline_mean: float | None
    violated: bool
    baseline_violated: bool = False
    p_worse: float | None = None
    failed: bool = False


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


def _gate_metric(
    base: _Run, cand: _Run, metric: str, margin: float, higher: bool, rules: GateRules
) -> tuple[MetricGate, PairedResult]:
    ids_b, vb = base.values(metric)
    ids_c, vc = cand.values(metric)
    kw = {"n_resamples": rules.n_resamples, "confidence": CONFIDENCE, "seed": rules.seed, "test": rules.test}
    shown = paired_difference(vc, vb, ids_a=ids_c, ids_b=ids_b, **kw)
    if shown.n_common < 2:
        raise GateUsageError(
            f"{rules.source}: margins.{metric}: only {shown.n_common} item(s) have a {metric} score in both "
            f"runs ({shown.n_excluded} shared items excluded as failed or unscored); a paired test needs 2"
        )
    # H1 "candidate worse than baseline by more than the margin": with s = +1 (higher is better) or
    # -1, d_i = s * (cand_i - base_i) + margin, and the test asks whether mean(d) < 0.
    s = 1.0 if higher else -1.0
    shifted = paired_difference(
        [None if v is None else s * v + margin for v in vc],
        [None if v is None else s * v for v in vb],
        ids_a=ids_c,
        ids_b=ids_b,
        **kw,
    )
    xc, xb = _pairs(ids_c, vc, ids_b, vb)
    gate = MetricGate(
        metric=metric,
        higher_is_better=higher,
        margin=margin,
        baseline=_ci(xb, rules.seed, rules.n_resamples),
        candidate=_ci(xc, rules.seed, rules.n_resamples),
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


def run_gate(baseline: str, candidate: str, rules: GateRules, *, results_dir: Path) -> GateResult:
    """Gate the candidate run against the baseline under `rules` (see the module docstring).

    `baseline`: run directory, run id (relative to `results_dir/runs`) or leaderboard row
    `[dataset:]model@prompt_id`; `candidate`: run directory or run id. Raises `GateUsageError`
    (exit code 2) for anything that cannot be resolved or compared.
    """
    results_dir = Path(results_dir)
    base_dir = resolve_run(baseline, results_dir=results_dir, flag="--baseline", leaderboard=True)
    cand_dir = resolve_run(candidate, results_dir=results_dir, flag="--candidate", leaderboard=False)
    base = _load_run(base_dir, f"--baseline {baseline!r}")
    cand = _load_run(cand_dir, f"--candidate {candidate!r}")
    n_items = _check_shared_items(base, cand, "--baseline/--candidate")
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
        _gate_metric(base, cand, metric, margin, rules.is_higher_better(metric), rules)
        for metric, margin in rules.margins.items()
        if metric in evaluated
    ]
    adjusted = holm({g.metric: g.p_one_sided for g, _ in gated}, rules.alpha)
    metrics = []
    for g, shifted in gated:
        h = adjusted[g.metric]
        beyond = shifted.diff is not None and shifted.diff < 0  # the point estimate is past the margin
        metrics.append(replace(g, p_adjusted=h.adjusted_p, regression=bool(h.reject and beyond)))

    limits = []
    for kind, table in (("floor", rules.floors), ("ceiling", rules.ceilings)):
        for metric, limit in table.items():
            if metric not in evaluated:
                continue
            iv = _ci(_present(cand.values(metric)[1]), rules.seed, rules.n_resamples)
            base_values = _present(base.values(metric)[1])
            if iv.mean is None:  # cannot happen for an evaluated metric (it has a value)
                continue
            violated = iv.mean < limit if kind == "floor" else iv.mean > limit
            base_mean = sum(base_values) / len(base_values) if base_values else None
            base_violated = base_mean is not None and (
                base_mean < limit if kind == "floor" else base_mean > limit
            )
            p_worse = None
            failed = violated
            if violated and base_violated:
                higher = kind == "floor"  # a floor guards a higher-is-better mean, a ceiling the opposite
                try:
                    worse, _ = _gate_metric(base, cand, metric, 0.0, higher, rules)
                except GateUsageError:  # under 2 paired items: "not worse" cannot be shown
                    significantly_worse = True
                else:
                    p_worse = worse.p_one_sided
                    worse_diff = worse.diff is not None and (worse.diff < 0 if higher else worse.diff > 0)
                    significantly_worse = p_worse is not None and p_worse <= rules.alpha and worse_diff
                failed = rules.baseline_violations == "fail" or significantly_worse
            limits.append(
                LimitCheck(
                    metric=metric,
                    kind=kind,
                    limit=limit,
                    candidate=iv,
                    baseline_mean=base_mean,
                    violated=violated,
                    baseline_violated=base_violated,
                    p_worse=p_worse,
                    failed=failed,
                )
            )

    return GateResult(
        baseline=base.info,
        candidate=cand.info,
        rules=rules,
        metrics=tuple(metrics),
        limits=tuple(limits),
        not_evaluated=tuple(not_evaluated),
        warnings=tuple(_warnings(base, cand, ("baseline", "candidate"), n_items)),
        n_common_items=n_items[0],
        n_only_baseline_items=n_items[1],
        n_only_candidate_items=n_items[2],
    )


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _arrow(higher: bool) -> str:
    return "↑" if higher else "↓"


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
            f'by more than the margin"; a metric fails when its Holm-adjusted p ≤ α = {rules.alpha:g}.',
            "",
        ]
    if r.limits:
        out += [
            "### Floors and ceilings",
            "",
            f"| metric | candidate mean [{pct} CI] | baseline mean | limit | verdict |",
            "|---|---|---|---|---|",
        ]
        for c in r.limits:
            sign = "≥" if c.kind == "floor" else "≤"
            past = "below floor" if c.kind == "floor" else "above ceiling"
            if not c.violated:
                verdict = "✅ pass"
            elif not c.baseline_violated:
                verdict = f"❌ {past}"
            elif c.failed and rules.baseline_violations == "fail":
                verdict = f"❌ {past} (the baseline too; baseline_violations: fail)"
            elif c.failed:
                verdict = f"❌ {past}, and worse than the baseline (one-sided p {_fmt(c.p_worse)})"
            else:
                verdict = (
                    f"⚠️ {past}, as the baseline; not significantly worse (one-sided p {_fmt(c.p_worse)}): "
                    "tolerated (baseline_violations: tolerate)"
                )
            out.append(
                f"| {c.metric} | {_with_ci(c.candidate)} | {_fmt(c.baseline_mean)} "
                f"| {sign} {c.limit:g} | {verdict} |"
            )
        out += ["", "Checked on the candidate's mean over its own scored items, with no test.", ""]
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
                out.append(f"- **{c.metric}**: candidate mean {_with_ci(c.candidate)} is {rel} {c.limit:g}")
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
        f"{pct} {CI_METHOD} bootstrap intervals; Holm correction over {len(r.metrics)} gated metric(s) "
        f"at α = {rules.alpha:g}. Rules: `{rules.source}`.",
        "",
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------
# Command entry points (no argv: the CLI parses flags and calls these)


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
