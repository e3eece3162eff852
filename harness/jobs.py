"""The Hydra job: typed config in, run directory out, user errors reported without a traceback."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from harness.config import ConfigError, to_typed
from harness.data.load import DatasetError
from harness.errors import HarnessError, NothingScored, RunStopped, SweepRejected, UsageError

log = logging.getLogger("harness")

# What the sweep in this process launched (set by SweepPreflight.on_multirun_start, which runs in
# the launching process): its directory and how many jobs it expands to (None: not known).
LAUNCHED: dict[str, object] = {}
# A job's outcome (exit code, one-line message), written into its directory by the job itself,
# wherever it ran (a joblib worker, a Slurm node): the launching process reads it back.
OUTCOME_FILE = "job.json"


def write_outcome(run_dir: Path, outcome: dict) -> None:
    from harness.results.store import write_json_atomic

    write_json_atomic(run_dir / OUTCOME_FILE, outcome)


def read_outcomes(sweep_dir: Path) -> dict[str, dict]:
    """The outcomes recorded under a sweep directory, by job directory."""
    import json

    outcomes = {}
    for path in sorted(sweep_dir.glob(f"*/{OUTCOME_FILE}")):
        try:
            outcome = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(outcome, dict):
            outcomes[str(path.parent)] = outcome
    return outcomes


def _discard(run_dir: Path) -> None:
    """Remove a run directory that holds no results (only Hydra's bookkeeping), and its sweep
    directory if that is left with nothing but Hydra's multirun.yaml."""
    if (run_dir / "rows.jsonl").exists() or (run_dir / "generations.jsonl").exists():
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    sweep = run_dir.parent
    if sweep.is_dir() and {p.name for p in sweep.iterdir()} <= {"multirun.yaml"}:
        shutil.rmtree(sweep, ignore_errors=True)


def run_job(cfg: DictConfig, run_dir: Path, choices: dict[str, str] | None = None) -> None:
    """Run one evaluation job in `run_dir` (Hydra's output directory for the job).

    Raises the typed errors of `harness.errors` (the CLI turns them into exit codes and messages):
    a config or data error before any work (the empty run directory is removed), a stop (budget,
    failure limit, replay miss) with the finished rows kept.
    `choices`: the config-group options picked (Hydra's runtime.choices), for error messages."""
    from harness.pipeline import Job
    from harness.report.leaderboard import build_leaderboard

    try:
        typed = to_typed(cfg)
        results_dir = Path(typed.results_dir)
        run_id = (
            str(run_dir.relative_to(results_dir / "runs"))
            if run_dir.is_relative_to(results_dir / "runs")
            else run_dir.name
        )
        job = Job(typed, run_dir, run_id, (choices or {}).get("model"))
    except HarnessError:
        _discard(run_dir)
        raise
    try:
        summary = job.run()
    except RunStopped as stop:
        raise type(stop)(
            f"{typed.model.name}: {stop.status}: {stop.reason}\n"
            f"  finished rows are kept in {run_dir}; run the same command again to continue",
            status=stop.status,
            exit_code=stop.exit_code,
        ) from None
    means = ", ".join(
        f"{k}={v:.4f}" for k, v in summary["means"].items() if v is not None and k.endswith(("_f", "_f1"))
    )
    judged = ""
    if typed.judge.enabled and typed.judge.model is not None:
        judged = f", judge failed on {summary.get('n_judge_failed', 0)}"
        if summary.get("n_judge_input_truncated"):
            judged += f" (judge input truncated on {summary['n_judge_input_truncated']})"
    log.info(
        "%s / %s: %d scored, %d failed%s; %s",
        typed.model.name,
        typed.prompt.id,
        summary["n_scored"],
        summary["n_failed"],
        judged,
        means,
    )
    if summary["unavailable"]:
        log.warning("unavailable metrics (reasons above): %s", ", ".join(summary["unavailable"]))
    log.info("run directory: %s", run_dir)
    if typed.update_leaderboard:
        from harness.report.aggregate import LeaderboardError

        try:
            paths = build_leaderboard(results_dir, typed.metrics.rank_by)
        except LeaderboardError as exc:
            raise LeaderboardError(f"the run is saved in {run_dir}; the leaderboard is not: {exc}") from None
        for path in paths:
            log.info("leaderboard: %s", path)
    if summary["n_items"] and not summary["n_scored"]:
        causes = ", ".join(f"{k} {v}" for k, v in sorted(summary["errors_by_class"].items()))
        raise NothingScored(
            f"{typed.model.name}: no item was scored: all {summary['n_items']} items failed ({causes}); "
            f"the errors are in {run_dir / 'rows.jsonl'}"
        )


def sweep_job_overrides(config: DictConfig) -> list[list[str]]:
    """The override list of every job a multirun will launch, expanded as Hydra's basic sweeper
    does (sweeper params first, command-line overrides after, cartesian product)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    # Unresolved, as Hydra reads them: an override may hold an interpolation (x=${model.name}).
    params = config.hydra.sweeper.get("params") or {}
    if OmegaConf.is_config(params):
        params = OmegaConf.to_container(params, resolve=False)
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
    parsed = OverridesParser.create().parse_overrides(arguments)
    (batch,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return batch


class SweepPreflight(Callback):
    """Hydra callback (conf/config.yaml, hydra.callbacks): before the first job of a sweep starts,
    or is submitted to a cluster launcher, check every job's config the way each job would (API
    keys, provider, budget prices, options) and each distinct dataset once. One bad job in a sweep
    then fails the command at once, with every problem listed, instead of after hours of work."""

    def on_multirun_start(self, config: DictConfig, **kwargs: object) -> None:
        from hydra import compose

        from harness.data.load import load_items
        from harness.pipeline import check_job_config

        # Resolved here on the config the launcher gets: ${now:} and ${uniq:} are cached in it.
        LAUNCHED.clear()
        LAUNCHED.update(dir=Path(str(config.hydra.sweep.dir)), jobs=None)
        try:
            jobs = sweep_job_overrides(config)
        except Exception as exc:  # a sweep syntax the basic sweeper cannot expand: let Hydra say it
            log.debug("sweep preflight skipped: %s", exc)
            return
        LAUNCHED["jobs"] = len(jobs)
        config_name = config.hydra.job.get("config_name") or "config"  # honours --config-name
        # Extra config directories given on the command line (ci/prompt-gate.sh adds its prompts
        # so): the jobs see them, so must the preflight's compose.
        searchpath = [
            o
            for o in OmegaConf.to_container(config.hydra.overrides.hydra, resolve=False)
            if str(o).startswith("hydra.searchpath=")
        ]
        problems: list[str] = []
        seen: set[str] = set()  # the same problem in many jobs is listed once
        datasets_checked: set[str] = set()
        for overrides in jobs:
            label = " ".join(overrides) or "(defaults)"
            try:
                typed = to_typed(compose(config_name=config_name, overrides=[*searchpath, *overrides]))
                model_choice = next((o.split("=", 1)[1] for o in overrides if o.startswith("model=")), None)
                check_job_config(typed, model_choice)
                key = repr(typed.dataset)
                if key not in datasets_checked:
                    datasets_checked.add(key)
                    load_items(typed.dataset)
            except (ConfigError, DatasetError) as exc:
                if str(exc) not in seen:
                    seen.add(str(exc))
                    problems.append(f"job {label}: {exc}")
        if problems:
            shown = "\n".join("  - " + p.replace("\n", "\n    ") for p in problems)
            # Hydra turns an Exception raised in a callback into a warning: SweepRejected is a
            # BaseException, so it reaches the CLI, which prints it and exits 2.
            raise SweepRejected(
                UsageError(
                    f"{len(problems)} problem(s) in the sweep of {len(jobs)} job(s); "
                    f"no job was started:\n{shown}"
                )
            )
