"""Run lookup: a spec (run directory, run id or leaderboard row) -> a finished run with its rows.

The rest of the gate and the comparison see runs only through this module:

- `load_run(spec, results_dir=..., flag=...)`: resolve `spec` and load the run (the one entry point
  the gate and `harness compare` use);
- `read_run(run_dir, who)`: load the run in a known directory;
- `resolve_run(spec, ...)`: the directory `spec` names, without loading it;
- `Run`: what a loaded run offers (`info`, `values(metric)`, `metrics()`, `why_missing(metric)`);
  `build_run(manifest, rows, ...)` makes one from data already in memory, `run_from_scores` from
  per-item scores alone (simulations).

Every problem is a `GateUsageError` whose message names the flag (`--baseline`, `--candidate`, `A`,
`B`) or the file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.report.gate.errors import GateUsageError
from harness.results.reader import read_jsonl, read_manifest, run_dirs
from harness.results.store import ROWS_FILE, RUN_FILE


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
class Run:
    """A finished run with its rows, as the gate and the comparison read it."""

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


def read_run(run_dir: Path, who: str) -> Run:
    """The finished run in `run_dir` (run.json + rows.jsonl); `who` starts every error message."""
    try:
        manifest = read_manifest(run_dir)
    except DataError as exc:
        raise GateUsageError(f"{who}: {exc}") from exc
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
    return build_run(manifest, raw, run_dir=run_dir, who=who)


def build_run(manifest: Mapping[str, Any], raw: Sequence[Any], *, run_dir: Path, who: str) -> Run:
    """A `Run` from a manifest (run.json) and its rows (rows.jsonl, in file order), no I/O."""
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
        status=str(manifest.get("status", "?")),
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
    return Run(info, rows, unavailable)


def run_from_scores(name: str, scores: Mapping[str, Sequence[float | None]]) -> Run:
    """A finished run held in memory: item i (id `item-00000`, ...) has score `scores[m][i]` for each
    metric m (None: not scored). For simulations (benchmarks/gate_noise.py) and tests of `decide`."""
    n = len(next(iter(scores.values()), []))
    manifest = {
        "status": "finished",
        "run_id": name,
        "dataset": {"name": "simulated", "fingerprint": "simulated"},
    }
    rows = [
        {
            "item_id": f"item-{i:05d}",
            "scores": {m: float(v[i]) for m, v in scores.items() if v[i] is not None},
        }
        for i in range(n)
    ]
    return build_run(manifest, rows, run_dir=Path(name), who=name)


def _finished_runs_under(path: Path) -> tuple[list[Path], list[str]]:
    """Finished run directories at or under `path`, and a description of the unfinished ones."""
    finished, other = [], []
    for run_dir in run_dirs(path):
        try:
            status = read_manifest(run_dir).get("status")
        except DataError:
            status = "unreadable"
        if status == "finished":
            finished.append(run_dir)
        else:
            other.append(f"{run_dir} ({status})")
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
    if len(matches) > 1:
        # A row named by model@prompt means the full-data row: quick `dataset.limit` runs have rows of
        # their own (leaderboard identity) and are picked only by their run id.
        full = [e for e in matches if (e["manifest"]["dataset"].get("limit") is None)]
        matches = full or matches
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


def load_run(spec: str | Path, *, results_dir: Path, flag: str, leaderboard: bool = True) -> Run:
    """The finished run `spec` names, loaded with its rows (`resolve_run`, then `read_run`).

    Errors name `flag` and the spec, e.g. `--baseline 'lead@yaodian_v9': ...`.
    """
    run_dir = resolve_run(spec, results_dir=results_dir, flag=flag, leaderboard=leaderboard)
    return read_run(run_dir, f"{flag} {str(spec)!r}")
