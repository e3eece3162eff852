"""`harness sweep-status SWEEP_DIR`: what became of each job of a sweep, and the command that runs
only what is missing.

The jobs a sweep meant to run are expanded from its `multirun.yaml` (Hydra writes it in the sweep
directory before the first job) as the basic sweeper expands them; each job directory names its
overrides in `.hydra/overrides.yaml`. A job's state comes from its run manifest (run.json); a run
that a later command continued (`superseded`) is followed to the run that continued it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from harness.errors import DataError
from harness.jobs import OUTCOME_FILE, sweep_job_overrides
from harness.results.reader import process_alive, read_jsonl, read_manifest
from harness.results.store import RUN_FILE

# How a run's status reads in the sweep's list.
STATE_OF_STATUS = {
    "finished": "finished",
    "stopped": "failed",
    "failed": "failed",
    "interrupted": "interrupted",
    "running": "running",
}
STATES = ("finished", "failed", "interrupted", "running", "missing")


@dataclass
class JobState:
    overrides: list[str]
    state: str  # one of STATES
    job_dir: Path | None = None
    detail: str = ""


def _job_overrides(job_dir: Path) -> list[str] | None:
    from omegaconf import OmegaConf

    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.exists():
        return None
    try:
        return [str(o) for o in OmegaConf.to_container(OmegaConf.load(path), resolve=False)]
    except Exception:  # a torn file of a job killed at its start
        return None


def _state_of(job_dir: Path, runs_dir: Path) -> tuple[str, str]:
    """The state of the job run in `job_dir`, following superseded runs to their continuation."""
    import json

    run_dir, seen, detail = job_dir, set(), ""
    while (run_dir / RUN_FILE).exists() and run_dir not in seen:
        seen.add(run_dir)
        try:
            manifest = read_manifest(run_dir)
        except DataError as exc:
            return "interrupted", str(exc)
        status = manifest.get("status")
        if status == "superseded" and manifest.get("superseded_by"):
            run_dir = runs_dir / str(manifest["superseded_by"])
            detail = f"continued in {manifest['superseded_by']}"
            continue
        if status == "running" and not process_alive(manifest):
            status = "interrupted"
        state = STATE_OF_STATUS.get(str(status), "failed")
        reason = manifest.get("stop_reason")
        if state == "finished":
            n = len({r.get("item_id") for r in read_jsonl(run_dir / "rows.jsonl")})
            detail = ", ".join(x for x in (f"{n} rows", detail) if x)
        elif reason:
            detail = ", ".join(x for x in (f"{status}: {reason}", detail) if x)
        elif status != state:
            detail = ", ".join(x for x in (str(status), detail) if x)
        return state, detail
    outcome_path = job_dir / OUTCOME_FILE
    if outcome_path.exists():
        try:
            outcome = json.loads(outcome_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            outcome = {}
        if outcome.get("exit_code"):
            return "failed", str(outcome.get("message") or f"exit code {outcome['exit_code']}")
    return "interrupted", "no run manifest: killed before its first item"


def sweep_states(sweep_dir: Path) -> tuple[list[JobState], list[str]]:
    """Every job of the sweep with its state, in the sweep's order; and the sweep's Hydra overrides
    (launcher and such) that a re-run needs."""
    from omegaconf import OmegaConf

    config_path = sweep_dir / "multirun.yaml"
    if not config_path.exists():
        raise DataError(f"{sweep_dir} is not a sweep directory (no multirun.yaml)")
    try:
        config = OmegaConf.load(config_path)
        expected = sweep_job_overrides(config)
        hydra_overrides = OmegaConf.to_container(config.hydra.overrides.hydra, resolve=False)
    except Exception as exc:
        raise DataError(f"cannot read the sweep's jobs from {config_path}: {exc}") from exc
    dirs: dict[tuple[str, ...], Path] = {}
    for job_dir in sorted((p for p in sweep_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime):
        overrides = _job_overrides(job_dir)
        if overrides is not None:
            dirs[tuple(sorted(overrides))] = job_dir  # the newest directory of a job wins
    states = []
    for overrides in expected:
        job_dir = dirs.get(tuple(sorted(overrides)))
        if job_dir is None:
            states.append(JobState(list(overrides), "missing", None, "never started"))
            continue
        state, detail = _state_of(job_dir, sweep_dir.parent)
        states.append(JobState(list(overrides), state, job_dir, detail))
    return states, [str(o) for o in hydra_overrides]


def rerun_commands(hydra_overrides: list[str], jobs: list[list[str]]) -> list[str]:
    """`harness run` commands that run exactly `jobs` (with the sweep's launcher): one sweep when
    the jobs form a grid, one command per job otherwise. Unfinished runs are continued (resume)."""
    kept = [
        o
        for o in hydra_overrides
        if not o.startswith(("hydra.mode=", "hydra.sweep.dir=", "hydra.run.dir=", "hydra.sweep.subdir="))
    ]
    prefix = ["harness", "run", "-m", *kept]
    if not jobs:
        return []
    keys = [o.split("=", 1)[0] for o in jobs[0]]
    grid = all([o.split("=", 1)[0] for o in job] == keys for job in jobs)
    values: list[list[str]] = []
    if grid:
        for i in range(len(keys)):
            distinct = list(dict.fromkeys(job[i].split("=", 1)[1] for job in jobs))
            values.append(distinct)
        size = 1
        for v in values:
            size *= len(v)
        # A value that differs between jobs is joined with commas: it must be a plain word.
        special = any(ch in v for vs in values if len(vs) > 1 for v in vs for ch in ",'\"[]{}() ")
        grid = size == len({tuple(job) for job in jobs}) and not special
    if grid:
        sweep = [f"{k}={','.join(v)}" for k, v in zip(keys, values, strict=True)]
        return [shlex.join(prefix + sweep)]
    return [shlex.join(prefix + job) for job in jobs]


def render(sweep_dir: Path, states: list[JobState], hydra_overrides: list[str]) -> str:
    lines = [f"sweep {sweep_dir}: {len(states)} job(s)"]
    width = max((len(" ".join(s.overrides)) for s in states), default=0)
    for s in states:
        where = s.job_dir.name if s.job_dir else "-"
        detail = f"  ({s.detail})" if s.detail else ""
        lines.append(f"  {s.state:<11} {' '.join(s.overrides):<{width}}  {where}{detail}")
    counts = ", ".join(f"{sum(s.state == k for s in states)} {k}" for k in STATES)
    lines.append(counts)
    todo = [s.overrides for s in states if s.state in ("failed", "interrupted", "missing")]
    running = sum(s.state == "running" for s in states)
    if running:
        lines.append(f"{running} job(s) still running: check again when they end")
    if todo:
        lines.append(
            "to run what is missing (finished jobs are not repeated; interrupted runs are continued, "
            "their finished requests served from the response cache):"
        )
        lines += ["  " + c for c in rerun_commands(hydra_overrides, todo)]
    elif not running:
        lines.append("every job finished")
    return "\n".join(lines)
