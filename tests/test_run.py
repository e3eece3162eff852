"""End-to-end jobs: dataset -> litellm (baselines, a scripted HTTP model) -> scores -> rows -> leaderboard."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from harness.config import CONF_DIR, register_resolvers, register_schema
from harness.jobs import run_job
from harness.results.reader import read_jsonl
from tests.conftest import MINI
from tests.fake_openai import FakeOpenAI, Reply, user_text

ROOT = Path(__file__).parents[1]


def _cfg(results: Path, *overrides: str):
    register_resolvers()
    register_schema()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose(
            config_name="config",
            overrides=[
                f"results_dir={results}",
                "dataset.name=mini",
                f"dataset.data_files=[{MINI}]",
                *overrides,
            ],
        )


def _run(results: Path, name: str, *overrides: str) -> Path:
    run_dir = results / "runs" / "sweep" / name
    run_job(_cfg(results, *overrides), run_dir)
    return run_dir


def _leaderboard_rows(results: Path) -> list[dict[str, str]]:
    with (results / "leaderboard.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_baselines_rows_and_leaderboard(tmp_path, tiny_bert_dir):
    bert = [
        f"metrics.bertscore.model={tiny_bert_dir}",
        "metrics.bertscore.num_layers=2",
        "metrics.bertscore.rescale_with_baseline=false",
    ]
    for model in ("lead", "textrank", "oracle"):
        _run(tmp_path, f"0-{model}", f"model={model}", *bert)
    board = _leaderboard_rows(tmp_path)
    assert [r["model"] for r in board][0] == "oracle"
    assert {r["model"] for r in board} == {"lead", "textrank", "oracle"}
    assert all(r["n"] == "4" and r["failed"] == "0" for r in board)
    assert all(float(r["bertscore_f1"]) > 0 for r in board)

    rows = read_jsonl(tmp_path / "runs" / "sweep" / "0-lead" / "rows.jsonl")
    assert sorted(r["item_id"] for r in rows) == ["mini-1", "mini-2", "mini-3", "mini-4"]
    row = rows[0]
    assert row["model"]["litellm_model"] == "harness/lead"
    assert row["prompt"]["id"] == "yaodian_v1" and len(row["prompt"]["hash"]) == 12
    assert row["metrics"]["rouge"]["tokenizer"] == "char-v1"
    assert row["metrics"]["bertscore"]["num_layers"] == 2
    assert row["generation"]["raw"].startswith("- ") and len(row["generation"]["bullets"]) >= 1
    assert {"rouge1_f", "rougeLsum_f", "bertscore_f1"} <= set(row["scores"])
    manifest = json.loads((tmp_path / "runs" / "sweep" / "0-lead" / "run.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "finished" and manifest["n_items"] == 4
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "oracle †" in md and "## mini" in md


def test_rerun_of_one_model_updates_only_its_row(tmp_path):
    off = "metrics.bertscore.enabled=false"
    _run(tmp_path, "0-lead", "model=lead", off)
    _run(tmp_path, "0-textrank", "model=textrank", off)
    first = {r["model"]: r for r in _leaderboard_rows(tmp_path)}
    _run(tmp_path, "1-lead", "model=lead", off, "dataset.limit=2")
    second = {r["model"]: r for r in _leaderboard_rows(tmp_path)}
    assert set(second) == {"lead", "textrank"}
    relative = ("p_vs_leader", "indistinguishable_from_leader")  # depend on the leader's new run
    assert {k: v for k, v in second["textrank"].items() if k not in relative} == {
        k: v for k, v in first["textrank"].items() if k not in relative
    }
    assert second["lead"]["n"] == "2" and second["lead"]["run_id"] == "sweep/1-lead"


def test_unavailable_bertscore_is_marked_not_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))
    _run(tmp_path, "0-lead", "model=lead", "metrics.bertscore.model=nonexistent-org/nonexistent-bert")
    rows = read_jsonl(tmp_path / "runs" / "sweep" / "0-lead" / "rows.jsonl")
    assert all("bertscore_f1" not in r["scores"] for r in rows)
    assert all("bertscore" in r["unavailable"] for r in rows)
    board = _leaderboard_rows(tmp_path)
    assert "bertscore_f1" in board[0]["unavailable"].split(";")
    assert board[0].get("bertscore_f1") in (None, "")
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "n/a [1]" in md and "nonexistent-org/nonexistent-bert" in md
    assert float(board[0]["rougeL_f"]) > 0


def test_http_model_end_to_end_with_a_failed_item(tmp_path):
    def script(body):
        text = user_text(body)
        if "青藤科技" in text:
            return Reply("invalid request for this item", status=400)
        return Reply(
            "好的，以下是要点解析：\n1. **核心**：第一条要点。\n2. 第二条要点。\n3. 第三条要点。",
            prompt_tokens=200,
            completion_tokens=60,
        )

    with FakeOpenAI(script) as server:
        run_dir = _run(
            tmp_path,
            "0-fake",
            "model=local",
            f"model.api_base={server.api_base}",
            "model.name=fake/llm",
            "metrics.bertscore.enabled=false",
            "model.num_retries=0",
        )
        assert len(server.requests) == 4
    rows = {r["item_id"]: r for r in read_jsonl(run_dir / "rows.jsonl")}
    failed = rows["mini-2"]
    assert failed["error"]["type"] == "BadRequestError" and failed["scores"] == {}
    ok = rows["mini-1"]
    assert ok["generation"]["bullets"] == ["核心：第一条要点。", "第二条要点。", "第三条要点。"]
    assert ok["generation"]["prompt_tokens"] == 200 and ok["generation"]["cost_usd"] == 0.0
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_failed"] == 1 and summary["n_scored"] == 3 and summary["counts"]["rougeL_f"] == 3
    assert len(read_jsonl(run_dir / "generations.jsonl")) == 4
    board = _leaderboard_rows(tmp_path)
    assert board[0]["model"] == "fake/llm" and board[0]["failed"] == "1"


# -- the command line, as a user runs it ----------------------------------------------------------


def _cli(
    *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = (), timeout: float = 240
) -> subprocess.CompletedProcess:
    """`harness ARGS` in a subprocess; `env` is added to the environment, `unset` removed from it."""
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**environ, **(env or {})},
    )


def test_help_imports_nothing_heavy():
    code = (
        "import sys, harness.cli, contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()): harness.cli.main(['--help'])\n"
        "heavy = ('litellm', 'torch', 'hydra', 'transformers', 'datasets', 'jieba')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_key_fails_fast_and_writes_nothing(tmp_path):
    proc = _cli("run", "model=openai", f"results_dir={tmp_path}", unset=("OPENAI_API_KEY",), timeout=120)
    assert proc.returncode == 2
    assert "OPENAI_API_KEY" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.rglob("*")) == [] or not any(p.is_file() for p in tmp_path.rglob("*"))


def test_cli_sweep_two_models_slash_in_name_and_leaderboard(tmp_path):
    proc = _cli(
        "run",
        "-m",
        "model=lead,textrank",
        "model.name=team/base",
        f"results_dir={tmp_path}",
        "dataset.name=mini",
        f"dataset.data_files=[{MINI}]",
        "metrics.bertscore.enabled=false",
    )
    assert proc.returncode == 0, proc.stderr
    job_dirs = sorted(p.parent for p in (tmp_path / "runs").rglob("run.json"))
    assert [p.name for p in job_dirs] == ["0-team_base-yaodian_v1", "1-team_base-yaodian_v1"]
    assert all(p.parent.parent == tmp_path / "runs" for p in job_dirs)
    assert (tmp_path / "leaderboard.md").exists()


def test_two_runs_in_the_same_second_do_not_collide(tmp_path):
    args = [
        "run",
        "model=lead",
        f"results_dir={tmp_path}",
        "dataset.name=mini",
        f"dataset.data_files=[{MINI}]",
        "dataset.limit=1",
        "metrics.bertscore.enabled=false",
        "update_leaderboard=false",
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "harness.cli", *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=240) == 0, p.stderr.read()
    assert len(list((tmp_path / "runs").rglob("rows.jsonl"))) == 2


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "model=no_such_model"], "model/no_such_model"),
        (["run", "no_such_key=1"], "no_such_key"),
        (["judge-eval", "judge=no_such_judge"], "judge/no_such_judge"),
        (["judge-eval", "no_such_key=1"], "no_such_key"),
    ],
)
def test_bad_override_is_a_usage_error_naming_it(tmp_path, argv, expected):
    proc = _cli(*argv, f"results_dir={tmp_path}", timeout=120)
    assert proc.returncode == 2
    assert expected in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_judge_eval_help():
    proc = _cli("judge-eval", "--help")
    assert proc.returncode == 0 and "usage: harness judge-eval" in proc.stdout


def test_sweep_is_checked_before_its_first_job(tmp_path):
    """lead would run first; the keyless openai and deepseek jobs stop the sweep before it starts."""
    keys = ("OPENAI_API_KEY", "DEEPSEEK_API_KEY")
    proc = _cli("run", "-m", "model=lead,openai,deepseek", f"results_dir={tmp_path}", unset=keys, timeout=120)
    assert proc.returncode == 2
    assert "no job was started" in proc.stderr
    assert "OPENAI_API_KEY" in proc.stderr and "DEEPSEEK_API_KEY" in proc.stderr
    assert "conf/model/openai.yaml" in proc.stderr and "Traceback" not in proc.stderr
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_sweep_preflight_expands_jobs_like_the_basic_sweeper():
    from omegaconf import OmegaConf

    from harness.jobs import sweep_job_overrides

    # As Hydra hands it to the callback: sweeper params from conf/config.yaml, then the command line.
    cfg = OmegaConf.create(
        {
            "hydra": {
                "sweeper": {"params": {"model": "lead,textrank,oracle"}},
                "overrides": {"task": ["prompt=yaodian_v1,yaodian_v2", "seed=3", "model=lead,oracle"]},
            }
        }
    )
    jobs = sweep_job_overrides(cfg)
    assert len(jobs) == 4  # the command line's model list replaces the config's: 2 models x 2 prompts
    assert ["model=oracle", "prompt=yaodian_v2", "seed=3"] in jobs


def test_intervals_do_not_depend_on_the_order_rows_were_written(tmp_path):
    """Rows are appended as items finish, in an order that varies between runs; the same items
    with the same seed must give the same intervals on the leaderboard and in the gate."""
    from harness.report.gate import load_rules, run_gate
    from harness.report.leaderboard import build_board, collect

    off = "metrics.bertscore.enabled=false"
    run_dir = _run(tmp_path, "0-lead", "model=lead", off, "update_leaderboard=false")
    rows_file = run_dir / "rows.jsonl"
    lines = rows_file.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) >= 3

    def snapshot():
        board = build_board(collect(tmp_path))
        metrics = board["datasets"][0]["rows"][0]["metrics"]
        rules = load_rules(ROOT / "conf" / "gate" / "default.yaml")
        gate = run_gate("sweep/0-lead", "sweep/0-lead", rules, results_dir=tmp_path)
        limits = [(c.metric, c.candidate.low, c.candidate.high) for c in gate.limits]
        return metrics, limits

    before = snapshot()
    rows_file.write_text("".join(reversed(lines)), encoding="utf-8")
    assert snapshot() == before


def test_ranking_by_a_lower_is_better_column_and_by_an_unknown_one(tmp_path):
    from harness.report.aggregate import LeaderboardError
    from harness.report.leaderboard import build_board, collect

    off = ("metrics.bertscore.enabled=false", "update_leaderboard=false")
    _run(tmp_path, "0-lead", "model=lead", *off)
    _run(tmp_path, "1-textrank", "model=textrank", *off)
    entries = collect(tmp_path)
    rate = "facts_number_unsupported_rate"
    for e, value in zip(entries, (0.5, 0.1), strict=True):
        # Ranking reads per-item values (on the items every row scored), the table the means.
        for row in e["rows"]:
            row["scores"][rate] = value
        e["summary"]["means"][rate] = value
    ranked = build_board(entries, rank_by=rate)["datasets"][0]["rows"]
    assert len(ranked) == 2
    best = min(entries, key=lambda e: e["summary"]["means"][rate])["manifest"]["model"]["name"]
    assert ranked[0]["model"] == best  # lower is better: the lowest rate ranks first
    with pytest.raises(LeaderboardError, match="'no_such_metric'.*columns: rouge1_f"):
        build_board(entries, rank_by="no_such_metric")
    proc = _cli("leaderboard", "--results-dir", str(tmp_path), "--rank-by", "nope")
    assert proc.returncode == 2 and "--rank-by" in proc.stderr and "Traceback" not in proc.stderr


def test_prompts_from_an_extra_config_dir_are_preflighted_too(tmp_path):
    """ci/prompt-gate.sh adds its prompt files with hydra.searchpath: the sweep preflight composes
    with it (a good prompt raises no "Could not find" warning; a bad job in it is still caught)."""
    extra = tmp_path / "conf" / "prompt"
    extra.mkdir(parents=True)
    (extra / "extra_prompt.yaml").write_text(
        (ROOT / "conf" / "prompt" / "yaodian_v2.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    searchpath = f"hydra.searchpath=[file://{tmp_path / 'conf'}]"
    ok = _cli(
        "run", "model=lead", "prompt=extra_prompt", searchpath, "dataset.limit=1", f"results_dir={tmp_path}/r"
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "Could not find" not in ok.stderr and "MissingConfigException" not in ok.stderr
    bad = _cli(
        "run",
        "-m",
        "model=lead,openai",
        "prompt=extra_prompt",
        searchpath,
        "dataset.limit=1",
        f"results_dir={tmp_path}/b",
        unset=("OPENAI_API_KEY",),
    )
    assert bad.returncode == 2, bad.stderr[-2000:]
    assert "no job was started" in bad.stderr and "OPENAI_API_KEY" in bad.stderr
