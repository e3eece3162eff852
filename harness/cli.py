"""`harness` command line. Only the standard library is imported up front, so `--help` is instant;
Hydra, litellm and torch load when a command needs them."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

# conf/hydra/launcher/joblib.yaml (and the submitit ones) share their names with the launcher
# plugins' schemas, which Hydra 1.3 then validates them against, with a deprecation warning in
# every job process; the validation is wanted, the warning is noise.
warnings.filterwarnings("ignore", message=r"(?s).*validated against ConfigStore schema with the same name")

USAGE = """\
usage: harness <command> [options]

Evaluate LLM-written 要点解析 (key-point digests) of Chinese AI news against human digests.

commands:
  run [OVERRIDES...]      run an evaluation (a Hydra app). With no overrides: the offline
                          baselines lead, textrank and oracle on the embedded sample dataset.
                          e.g.  harness run model=deepseek prompt=yaodian_v2
                                harness run -m model=lead,textrank prompt=yaodian_v1,yaodian_v2
                                harness run model=lead dataset.limit=5 metrics.bertscore.enabled=false
                          `harness run --help` shows Hydra's help and the config groups;
                          `harness run --cfg job` prints the composed config without running.
  leaderboard [--results-dir DIR] [--rank-by METRIC] [--wide]
                          rebuild results/leaderboard.{md,csv,json} and the HTML site.
  judge-eval [OVERRIDES...]
                          measure the LLM judge (judge=<model>) and the deterministic fact
                          checker on judge.calibration_set (+ calibration_beside); adds the
                          judge section.
  compare RUN_A RUN_B [--metrics m1,m2] [--results-dir DIR]
                          paired comparison of two runs on their common items.
  gate --baseline B --candidate C [--rules conf/gate/default.yaml] [--report FILE]
                          CI gate for prompt changes: exit 0 pass, 1 regression, 2 usage error.
  ingest PATH... --out DIR [--format auto|weekly|crawled|daily] [--date YYYY-MM-DD]
                          turn weekly 要点解析 digests, crawled articles and daily digests
                          (files or folders) into a dataset: DIR/items.jsonl, leftovers, report.
  sweep-status SWEEP_DIR   finished, failed, interrupted and missing jobs of a sweep, and the
                          command that runs only what is missing.
                          e.g.  harness run -m hydra/launcher=joblib model=lead,textrank
                                harness sweep-status results/runs/20250101-120000-0001abcd

--debug (any command) shows the traceback of an error instead of its one-line message.
Config lives in conf/ (groups: dataset, model, prompt, metrics; from an installed wheel, the copy
inside the package). Results go to ./results unless results_dir= (--results-dir) says otherwise.
See README.md.
"""


_MAIN_PID: int | None = None  # the process that launched the sweep (set by _run)
_OUTCOMES: dict[str, dict] = {}  # outcomes of the jobs run in this process (basic launcher), by job dir


def _run(argv: list[str]) -> int:
    import hydra

    import harness.cli as this  # the imported module, also under `python -m harness.cli`
    from harness import config as hc
    from harness import jobs
    from harness.errors import LauncherGaveUp, SweepRejected

    hc.register_resolvers()
    hc.register_schema()
    problem = _register_launchers(argv)
    if problem:
        print(f"harness run: {problem}", file=sys.stderr)
        return 2

    # The task function and its bookkeeping are the imported module's: launchers that run jobs in
    # other processes (joblib, submitit) pickle the function by name, and __main__ has no name.
    this._MAIN_PID = os.getpid()
    this._OUTCOMES.clear()
    jobs.LAUNCHED.clear()
    app = hydra.main(version_base="1.3", config_path=str(hc.CONF_DIR), config_name="config")(this._job)
    sys.argv = ["harness run", *argv]
    launcher_failed = False
    try:
        app()
    except SweepRejected as rejected:
        return _report("run", rejected.error)
    except LauncherGaveUp as gave_up:
        if _debug():
            raise
        print(f"harness run: {gave_up}", file=sys.stderr)
        launcher_failed = True
    except SystemExit as exc:
        # Hydra prints a bad override or a missing config option itself and exits 1; that is a
        # usage error (2), like every config error of a job.
        if exc.code == 1 and not jobs.LAUNCHED:
            return 2
        if not jobs.LAUNCHED:
            raise
        launcher_failed = True  # the launcher itself gave up (a worker killed): Hydra said why
    if not jobs.LAUNCHED:  # hydra.mode=RUN (one job, no sweep), or --cfg/--help/--info
        return max((int(o["exit_code"]) for o in this._OUTCOMES.values()), default=0)
    return _sweep_code(jobs.LAUNCHED, this._OUTCOMES, launcher_failed)


# conf/hydra/launcher/<name>.yaml -> the class it instantiates (hydra_plugins/harness_launchers).
_LAUNCHER_CLASSES = {
    "joblib": "JoblibLauncher",
    "submitit_local": "LocalLauncher",
    "submitit_slurm": "SlurmLauncher",
}


def _register_launchers(argv: list[str]) -> str | None:
    """Make the harness's launchers known to Hydra; a usage problem when the chosen one is missing.

    Hydra finds plugins by walking the directories of the `hydra_plugins` namespace package. A wheel
    puts hydra_plugins/harness_launchers/ there, but an editable install maps the module through an
    import hook that has no directory to walk: the module imports, yet Hydra would say "Unknown
    plugin class" for `hydra/launcher=joblib` (run from anywhere but the checkout's root). So the
    classes are registered with Hydra's public `Plugins.register` instead of relying on the walk.
    """
    chosen = next(
        (a.split("=", 1)[1] for a in argv if a.startswith(("hydra/launcher=", "+hydra/launcher="))), None
    )
    try:
        import hydra_plugins.harness_launchers as launchers
    except ImportError:
        launchers = None
    if launchers is not None:
        from hydra.core.plugins import Plugins

        for name in _LAUNCHER_CLASSES.values():
            cls = getattr(launchers, name, None)
            if cls is not None:
                Plugins.instance().register(cls)
    needed = _LAUNCHER_CLASSES.get(chosen or "")
    if needed and getattr(launchers, needed, None) is None:
        return (
            f"hydra/launcher={chosen} needs the launcher plugins of the `cluster` extra, which are not "
            "installed: pip install -c constraints.txt -e '.[cluster]' (README, Sweeps)"
        )
    return None


def _sweep_code(launched: dict, in_process: dict[str, dict], launcher_failed: bool) -> int:
    """The sweep's exit code: its worst job's. Jobs that ran in other processes left their outcome
    in their directories; their messages are printed here, once, as the jobs' own."""
    from harness.jobs import read_outcomes

    sweep_dir = launched["dir"]
    outcomes = dict(in_process)
    for job_dir, outcome in read_outcomes(sweep_dir).items():
        if job_dir not in outcomes:
            outcomes[job_dir] = outcome
            if outcome.get("message"):
                print(f"harness run: {outcome['message']}", file=sys.stderr)
    worst = max((int(o.get("exit_code", 1)) for o in outcomes.values()), default=0)
    expected = launched.get("jobs")
    if launcher_failed or (isinstance(expected, int) and len(outcomes) < expected):
        shown = f"{len(outcomes)} of {expected}" if isinstance(expected, int) else str(len(outcomes))
        print(
            f"harness run: {shown} job(s) of the sweep ended with an outcome; the others were killed "
            f"or never started. `harness sweep-status {sweep_dir}` lists them and the command that "
            "runs what is missing",
            file=sys.stderr,
        )
        worst = max(worst, 1)
    return worst


def _job(cfg) -> int:  # cfg: DictConfig
    """Hydra's task function: one job of a sweep, in this process (basic launcher) or another one
    (joblib worker, submitit local or Slurm job). It never raises: a job's error or stop becomes
    its exit code and one message, recorded in its directory (`job.json`), so the other jobs run
    on and the launching process exits with the worst code."""
    import logging
    import traceback

    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from harness.errors import HarnessError, storage_error
    from harness.jobs import run_job, write_outcome

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    in_process = os.getpid() == _MAIN_PID
    code, message = 0, None
    try:
        run_job(cfg, run_dir, dict(hydra_cfg.runtime.choices))
    except (HarnessError, OSError) as exc:
        error = exc if isinstance(exc, HarnessError) else storage_error(exc)
        if _debug() and in_process:
            raise
        if error is None:  # an OSError that is not the user's to fix: a bug report, with its traceback
            error, code = exc, 1
            logging.getLogger("harness").error("job failed:\n%s", traceback.format_exc())
        else:
            code = error.exit_code
        message = str(error)
    except Exception as exc:  # a bug: its traceback goes to the job's log; the siblings run on
        if _debug() and in_process:
            raise
        logging.getLogger("harness").error("job failed:\n%s", traceback.format_exc())
        code, message = 1, f"{type(exc).__name__}: {exc} (traceback in {run_dir / 'harness.log'})"
    outcome = {
        "exit_code": code,
        "message": message,
        "overrides": [str(o) for o in OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)],
        "run_dir": str(run_dir),
    }
    if in_process:
        _OUTCOMES[str(run_dir)] = outcome
        if message:
            print(f"harness run: {message}", file=sys.stderr)
    if run_dir.is_dir() or not in_process:
        try:
            write_outcome(run_dir, outcome)
        except OSError as exc:
            logging.getLogger("harness").warning("cannot record the job's outcome: %s", exc)
    return code


def _shell_completion(argv: list[str]) -> int:
    """Hydra's shell completion for `harness run`, for the command as the user types it.

    `harness run --shell-completion install=bash` prints a script that registers the completion for
    `harness` and asks `harness -sc query=bash` for candidates; Hydra reads the typed line from
    COMP_LINE, where the `run` word (not an override) is taken out first."""
    import contextlib
    import io
    import os
    import re

    line = os.environ.get("COMP_LINE", "")
    match = re.match(r"^(\S+)(\s+run)(?=\s|$)", line)
    if match:
        os.environ["COMP_LINE"] = line[: match.start(2)] + line[match.end(2) :]
        point = int(os.environ.get("COMP_POINT", len(line)))
        os.environ["COMP_POINT"] = str(max(match.start(2), point - len(match.group(2))))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = _run(argv)
    text = out.getvalue()
    if any(a.startswith("install=") or a.startswith("uninstall=") for a in argv):
        # Hydra names the program "harness run": register the completion for `harness` itself.
        text = text.replace("harness run", "harness")
    sys.stdout.write(text)
    return code


def _debug() -> bool:
    """Tracebacks for user errors too: HYDRA_FULL_ERROR=1 or HARNESS_DEBUG=1 (`--debug`)."""
    import os

    return os.environ.get("HYDRA_FULL_ERROR") == "1" or os.environ.get("HARNESS_DEBUG") == "1"


def _report(command: str, exc: BaseException) -> int:
    """The one place an error becomes a message and an exit code."""
    from harness.errors import HarnessError

    print(f"harness {command}: {exc}", file=sys.stderr)
    return exc.exit_code if isinstance(exc, HarnessError) else 2


def _leaderboard(argv: list[str]) -> int:
    import argparse

    from harness.config import default_results_dir

    parser = argparse.ArgumentParser(
        prog="harness leaderboard", description="Rebuild the leaderboard tables."
    )
    parser.add_argument("--results-dir", type=Path, default=default_results_dir(), help="default ./results")
    parser.add_argument("--rank-by", default="rougeL_f", help="score column to rank by (default rougeL_f)")
    parser.add_argument(
        "--wide",
        action="store_true",
        help="also write leaderboard-wide.md: every column with its interval (leaderboard.md is compact)",
    )
    args = parser.parse_args(argv)
    if not (args.results_dir / "runs").is_dir():
        print(
            f"harness leaderboard: no runs under {args.results_dir / 'runs'} (flag --results-dir)",
            file=sys.stderr,
        )
        return 2
    from harness.report.aggregate import LeaderboardError
    from harness.report.leaderboard import build_leaderboard

    try:
        paths = build_leaderboard(args.results_dir, args.rank_by, wide=args.wide)
    except LeaderboardError as exc:
        print(f"harness leaderboard: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path}")
    return 0


def _compose(argv: list[str]):  # -> HarnessConfig
    """The typed config from Hydra overrides; a bad override is a ConfigError naming it."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from harness import config as hc

    hc.register_resolvers()
    hc.register_schema()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(hc.CONF_DIR)):
            cfg = compose(config_name="config", overrides=argv)
    except (HydraException, OmegaConfBaseException) as exc:
        shown = " ".join(argv) or "(none)"
        raise hc.ConfigError(f"cannot compose the config (conf/) with overrides {shown}: {exc}") from exc
    return hc.to_typed(cfg)


JUDGE_EVAL_USAGE = """\
usage: harness judge-eval [OVERRIDES...]

Measure the deterministic fact checker, and the LLM judge when one is configured (judge=<model>),
on a labelled calibration set: judge.calibration_set (default datasets/judge_calibration/test.jsonl,
the frozen test split), with judge.calibration_beside (default .../dev.jsonl; null = none) in a
second column. Any JSONL file in the calibration format works; the report names the files given.
Writes results/judge_eval/ and the leaderboard's judge section.

e.g.  harness judge-eval                              # checker only, offline
      harness judge-eval judge.calibration_set=my_claims.jsonl judge.calibration_beside=null
      harness judge-eval judge=openai                 # needs OPENAI_API_KEY
      harness judge-eval judge=local judge.model.api_base=http://127.0.0.1:8000/v1
"""


def _judge_eval(argv: list[str]) -> int:
    import logging

    from harness.config import ConfigError, project_path
    from harness.report import judge_eval as je

    if any(a in ("-h", "--help") for a in argv):
        print(JUDGE_EVAL_USAGE)
        return 0
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    cfg = _compose(argv)  # ConfigError: one message, exit 2 (main)
    # Every file is read and checked before any judge call (CalibrationError: one line, exit 2).
    files = [(cfg.judge.calibration_set, "judge.calibration_set")]
    if cfg.judge.calibration_beside:
        files.append((cfg.judge.calibration_beside, "judge.calibration_beside"))
    loaded = []
    for given, key in files:
        if not str(given).strip():
            raise ConfigError(f"{key} is empty: give a calibration JSONL file")
        path = project_path(given)
        loaded.append((path, str(given), je.load_calibration(path, shown=str(given))))
    scorer = cache = judge = None
    if cfg.judge.enabled and cfg.judge.model is not None:
        from harness.llm.cache import ResponseCache
        from harness.llm.client import preflight
        from harness.pipeline import make_judge

        preflight(cfg.judge.model, None)
        try:
            cache = ResponseCache(project_path(cfg.cache.path), cfg.cache.mode)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        scorer = make_judge(cfg, cache, None)
        meta = scorer.meta()
        judge = {
            "name": cfg.judge.model.name,
            "model": cfg.judge.model.litellm_model,
            "claims_prompt": f"{meta['prompts']['claims']['id']}@{meta['prompts']['claims']['version']}",
            "meta": meta,
        }
    sets = [je.set_report(path, shown, items, scorer) for path, shown, items in loaded]
    if cache is not None:
        cache.close()
    report = je.build_report(sets[0], sets[1] if len(sets) > 1 else None, judge)
    path = je.write_report(Path(cfg.results_dir), report)
    print(je.render_markdown([report]))
    print(f"wrote {path}")
    from harness.report.aggregate import LeaderboardError
    from harness.report.leaderboard import build_leaderboard

    try:
        build_leaderboard(Path(cfg.results_dir), cfg.metrics.rank_by)
    except LeaderboardError as exc:
        print(f"harness judge-eval: the report is written; the leaderboard is not: {exc}", file=sys.stderr)
        return 2
    return 0


def _gate(argv: list[str]) -> int:
    import argparse

    from harness.config import default_results_dir
    from harness.report.gate.commands import gate_command
    from harness.report.gate.rules import DEFAULT_RULES_FILE

    parser = argparse.ArgumentParser(
        prog="harness gate",
        description="Compare a candidate run with a baseline; exit 0 pass, 1 regression, 2 usage error.",
    )
    parser.add_argument("--baseline", required=True, help="run dir, run id, or leaderboard row model@prompt")
    parser.add_argument("--candidate", required=True, help="run dir or run id")
    parser.add_argument(
        "--rules", default=str(DEFAULT_RULES_FILE), help="gate rules YAML (conf/gate/default.yaml)"
    )
    parser.add_argument("--results-dir", default=str(default_results_dir()), help="default ./results")
    parser.add_argument("--report", default=None, help="also write the Markdown report to this file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    return gate_command(
        args.baseline,
        args.candidate,
        rules_path=args.rules,
        results_dir=args.results_dir,
        report_path=args.report,
    )


def _compare(argv: list[str]) -> int:
    import argparse

    from harness.config import default_results_dir
    from harness.report.gate.commands import compare_command

    parser = argparse.ArgumentParser(prog="harness compare", description="Paired comparison of two runs.")
    parser.add_argument("run_a")
    parser.add_argument("run_b")
    parser.add_argument("--metrics", default=None, help="comma-separated score columns (default: all shared)")
    parser.add_argument("--results-dir", default=str(default_results_dir()), help="default ./results")
    parser.add_argument("--report", default=None, help="also write the Markdown table to this file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return compare_command(
        args.run_a, args.run_b, metrics=args.metrics, results_dir=args.results_dir, report_path=args.report
    )


INGEST_EPILOG = """\
formats (--format auto detects each file):
  weekly   the reference digest: '## section', '### title', '> 要点解析:', '- ' bullets,
           '原文链接:[url](url)'; each item is a reference (title, url, section, bullets, date)
  crawled  article records: '标题:', '链接:', '总结:' (the article) and further 'key: value' fields
  daily    daily digest: '摘要：', then '热点资讯' items (a **bold** title and its paragraphs)

References are joined to sources by normalised URL (scheme, www./m., trailing slash, fragment and
tracking parameters such as utm_* ignored), then by title similarity (--title-threshold).
Writes DIR/items.jsonl and items.parquet (joined items only), references_without_source.jsonl,
sources_without_reference.jsonl and report.json. Problems name the file and line; the other files
still ingest. Exit 0 when something was read, 2 when nothing usable was.

e.g.  harness ingest archive/weekly/ archive/crawled/ --out datasets/my_archive
      harness run dataset.name=my_archive 'dataset.data_files=["datasets/my_archive/items.jsonl"]'
"""


def _ingest(argv: list[str]) -> int:
    import argparse

    from harness.data.ingest.join import DEFAULT_TITLE_THRESHOLD

    parser = argparse.ArgumentParser(
        prog="harness ingest",
        description="Turn digest archives and crawled articles into an evaluation dataset.",
        epilog=INGEST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders (walked)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--format", default="auto", choices=["auto", "weekly", "crawled", "daily"])
    parser.add_argument(
        "--date", default=None, metavar="YYYY-MM-DD", help="date of items (else from file names)"
    )
    parser.add_argument(
        "--encoding", default=None, help="encoding of every file (default: UTF-8, else GBK/GB18030 detected)"
    )
    parser.add_argument(
        "--title-threshold",
        type=float,
        default=DEFAULT_TITLE_THRESHOLD,
        help=f"title similarity (0-1] to join when no URL matches (default {DEFAULT_TITLE_THRESHOLD})",
    )
    parser.add_argument(
        "--name", default=None, help="dataset name in the suggested run command (default: DIR's name)"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    from harness.data.ingest import ingest

    result = ingest(
        args.paths,
        args.out,
        fmt=args.format,
        date=args.date,
        encoding=args.encoding,
        title_threshold=args.title_threshold,
        name=args.name,
    )
    for problem in result.problems:
        print(f"harness ingest: {problem.level}: {problem}", file=sys.stderr)
    print(result.summary)
    return 0


SWEEP_STATUS_USAGE = """\
usage: harness sweep-status SWEEP_DIR

What became of each job of a sweep (a directory results/runs/<time>-<id>/ that `harness run -m`
made): finished, failed (stopped by a budget or failure limit, or an error), interrupted (killed,
timed out), running, or missing (never started); and the command that runs only what is not
finished. Interrupted runs are continued by that command; requests that finished before are
answered from the response cache, not sent again.

Exit code: 0 every job finished, 1 some did not, 2 not a sweep directory.
"""


def _sweep_status(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(SWEEP_STATUS_USAGE)
        return 0
    if len(argv) != 1:
        print(f"harness sweep-status: expected one sweep directory\n\n{SWEEP_STATUS_USAGE}", file=sys.stderr)
        return 2
    from harness.sweep_status import render, sweep_states

    sweep_dir = Path(argv[0])
    states, hydra_overrides = sweep_states(sweep_dir)  # DataError: a one-line message, exit 2
    print(render(sweep_dir, states, hydra_overrides))
    return 0 if all(s.state == "finished" for s in states) else 1


COMMANDS = {
    "run": _run,
    "leaderboard": _leaderboard,
    "judge-eval": _judge_eval,
    "gate": _gate,
    "compare": _compare,
    "ingest": _ingest,
    "sweep-status": _sweep_status,
}


def main(argv: list[str] | None = None) -> int:
    """The error boundary: library code raises `harness.errors` types; here they become one message
    and an exit code (0 done, 1 stop/regression, 2 usage/data error or replay miss, 130 interrupted),
    without a traceback unless --debug (or HYDRA_FULL_ERROR=1) is given."""
    import os

    from harness.errors import HarnessError, Interrupted, storage_error

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in argv:
        argv.remove("--debug")
        os.environ["HARNESS_DEBUG"] = "1"
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in ("-sc", "--shell-completion"):
        return _shell_completion(argv)
    if command == "run" and any(a in ("-sc", "--shell-completion") for a in rest):
        return _shell_completion(rest)
    if command not in COMMANDS:
        print(f"harness: unknown command '{command}'\n\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[command](rest)
    except HarnessError as exc:
        if _debug():
            raise
        return _report(command, exc)
    except OSError as exc:
        error = storage_error(exc)
        if error is None or _debug():
            raise
        return _report(command, error)
    except KeyboardInterrupt:
        if _debug():
            raise
        return _report(
            command,
            Interrupted("interrupted; finished rows are kept; run the same command again to continue"),
        )


if __name__ == "__main__":
    sys.exit(main())
