"""`harness` command line. Only the standard library is imported up front, so `--help` is instant;
Hydra, litellm and torch load when a command needs them."""

from __future__ import annotations

import sys
from pathlib import Path

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
  leaderboard [--results-dir DIR] [--rank-by METRIC]
                          rebuild results/leaderboard.md and .csv from every finished run.

Config lives in conf/ (groups: dataset, model, prompt, metrics). See README.md.
"""


def _run(argv: list[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig

    from harness import config as hc

    hc.register_resolvers()
    hc.register_schema()

    @hydra.main(version_base="1.3", config_path=str(hc.CONF_DIR), config_name="config")
    def app(cfg: DictConfig) -> None:
        from harness.jobs import run_job

        runtime = HydraConfig.get().runtime
        run_job(cfg, Path(runtime.output_dir), dict(runtime.choices))

    sys.argv = ["harness run", *argv]
    app()
    return 0


def _leaderboard(argv: list[str]) -> int:
    import argparse

    from harness.config import PROJECT_ROOT

    parser = argparse.ArgumentParser(
        prog="harness leaderboard", description="Rebuild the leaderboard tables."
    )
    parser.add_argument("--results-dir", type=Path, default=PROJECT_ROOT / "results")
    parser.add_argument("--rank-by", default="rougeL_f", help="score column to rank by (default rougeL_f)")
    args = parser.parse_args(argv)
    if not (args.results_dir / "runs").is_dir():
        print(
            f"harness leaderboard: no runs under {args.results_dir / 'runs'} (flag --results-dir)",
            file=sys.stderr,
        )
        return 2
    from harness.report.leaderboard import build_leaderboard

    for path in build_leaderboard(args.results_dir, args.rank_by):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return _run(rest)
    if command == "leaderboard":
        return _leaderboard(rest)
    print(f"harness: unknown command '{command}'\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
