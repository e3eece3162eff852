"""Sweeps through Hydra's joblib and submitit launchers (the `.[cluster]` extra): every job's
guarantees hold when jobs run in other processes; `harness sweep-status` lists what is missing.

Tests that launch need the plugins and are skipped, saying so, when the extra is not installed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from importlib.util import find_spec
from pathlib import Path

import pytest

from harness.results.reader import claim_resumable, read_jsonl
from harness.sweep_status import rerun_commands
from tests.conftest import MINI
from tests.fake_openai import FakeOpenAI, Reply
from tests.test_generation_robust import BULLETS, item_of, make_dataset

ROOT = Path(__file__).parents[1]
FLOOD = ("Traceback", "UncompletedJobError")


def _plugin(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _needs(launcher: str):
    module = {"joblib": "hydra_plugins.hydra_joblib_launcher"}.get(
        launcher, "hydra_plugins.hydra_submitit_launcher"
    )
    return pytest.mark.skipif(
        not _plugin(module),
        reason=f"the {launcher} launcher needs the cluster extra: pip install -e '.[cluster]'",
    )


LAUNCHERS = [
    pytest.param("joblib", marks=_needs("joblib")),
    pytest.param("submitit_local", marks=_needs("submitit_local")),
]


def _launcher_args(launcher: str) -> list[str]:
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else ["hydra.launcher.cpus_per_task=1"]
    return [f"hydra/launcher={launcher}", *extra]


def _harness(*args: str, timeout: float = 480, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "harness.cli", *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _harness_script(*args: str, cwd: Path, timeout: float = 480) -> subprocess.CompletedProcess:
    """The installed `harness` command, as a user types it, from a directory that is not the
    checkout (so the checkout is not on sys.path: launchers must be found through the install)."""
    script = Path(sys.executable).parent / "harness"
    assert script.exists(), f"no `harness` script beside {sys.executable}"
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _board(results: Path) -> list[dict]:
    board = json.loads((results / "leaderboard.json").read_text(encoding="utf-8"))
    return [row for dataset in board["datasets"] for row in dataset["rows"]]


def _statuses(results: Path) -> dict[str, str]:
    return {
        str(p.parent.relative_to(results / "runs")): json.loads(p.read_text(encoding="utf-8"))["status"]
        for p in (results / "runs").rglob("run.json")
    }


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_a_2x2_baseline_sweep_gives_4_leaderboard_rows(tmp_path, launcher):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _harness_script(
        "run",
        "-m",
        *_launcher_args(launcher),
        "model=lead,textrank",
        "prompt=yaodian_v1,yaodian_v2",
        f"results_dir={tmp_path}",
        "dataset.name=mini",
        f"dataset.data_files=[{MINI}]",
        "dataset.limit=2",
        "metrics.bertscore.enabled=false",
        cwd=elsewhere,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = _board(tmp_path)
    assert sorted((r["model"], r["prompt"]["id"]) for r in rows) == [
        ("lead", "yaodian_v1"),
        ("lead", "yaodian_v2"),
        ("textrank", "yaodian_v1"),
        ("textrank", "yaodian_v2"),
    ]
    assert {r["n"] for r in rows} == {2}
    assert set(_statuses(tmp_path).values()) == {"finished"}
    (sweep,) = (tmp_path / "runs").iterdir()
    status = _harness("sweep-status", str(sweep), timeout=120)
    assert status.returncode == 0 and "4 finished" in status.stdout, status.stdout + status.stderr


def _priced_sweep(results: Path, data: Path, api_base: str, launcher: str, *extra: str) -> list[str]:
    """Two jobs of the scripted model, told apart by the model name the server sees."""
    return [
        "run",
        "-m",
        *_launcher_args(launcher),
        "model=local",
        "model.name=cheap,pricey",
        "model.litellm_model=openai/${model.name}",
        f"model.api_base={api_base}",
        f"results_dir={results}",
        "dataset.name=many",
        f"dataset.data_files=[{data}]",
        "metrics.bertscore.enabled=false",
        "progress=false",
        "model.retry_base_s=0.01",
        "model.retry_cap_s=0.05",
        *extra,
    ]


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_a_budget_stop_in_one_job_exits_1_and_its_sibling_finishes(tmp_path, launcher):
    data = make_dataset(tmp_path / "d.jsonl", 4)

    def script(body: dict) -> Reply:
        # "pricey" is billed 100k prompt tokens a call: its first reply spends its whole budget.
        tokens = 100_000 if body["model"] == "pricey" else 100
        return Reply(BULLETS, prompt_tokens=tokens, completion_tokens=50)

    with FakeOpenAI(script) as server:
        proc = _harness(
            *_priced_sweep(
                tmp_path / "r",
                data,
                server.api_base,
                launcher,
                "budget_usd=0.01",
                "model.input_cost_per_token=1e-6",
                "model.output_cost_per_token=1e-6",
                "model.params.max_tokens=200",
            )
        )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert not any(word in proc.stderr for word in FLOOD), proc.stderr[-3000:]
    stops = [line for line in proc.stderr.splitlines() if "budget" in line]
    assert stops and all("pricey" in line or line.startswith("  ") for line in stops), proc.stderr
    statuses = {run.rsplit("-", 2)[-2]: status for run, status in _statuses(tmp_path / "r").items()}
    assert statuses == {"cheap": "finished", "pricey": "stopped"}
    assert [(r["model"], r["n"]) for r in _board(tmp_path / "r")] == [("cheap", 4)]


@_needs("joblib")
def test_a_killed_job_is_completed_by_re_running_the_sweep(tmp_path):
    n_items = 12
    data = make_dataset(tmp_path / "d.jsonl", n_items)
    results = tmp_path / "r"
    lock = threading.Lock()
    asked: Counter[tuple[str, str]] = Counter()

    def script(body: dict) -> Reply:
        with lock:
            asked[body["model"], item_of(body)] += 1
        return Reply(f"- {item_of(body)} 的第一条要点。\n- 第二条要点。\n- 第三条要点。", delay_s=0.15)

    with FakeOpenAI(script) as server:
        args = _priced_sweep(results, data, server.api_base, "joblib")
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # kill -9 the job of "pricey" (its process, named in its run manifest) after 4 answers.
        deadline, victim = time.time() + 300, None
        while victim is None and time.time() < deadline and proc.poll() is None:
            with lock:
                answered = sum(n for (model, _), n in asked.items() if model == "pricey")
            manifests = list(results.glob("runs/*/*-pricey-*/run.json"))
            if answered >= 4 and manifests:
                victim = json.loads(manifests[0].read_text(encoding="utf-8"))["pid"]
                os.kill(victim, signal.SIGKILL)
            time.sleep(0.01)
        assert victim is not None, "the job ended before the kill"
        proc.wait(timeout=300)
        assert proc.returncode != 0
        (sweep,) = (results / "runs").iterdir()
        done_at_kill = {
            ("pricey", g["item_id"])
            for p in sweep.glob("*-pricey-*/generations.jsonl")
            for g in read_jsonl(p)
            if g.get("text") is not None
        }
        assert done_at_kill
        status = _harness("sweep-status", str(sweep), timeout=120)
        assert status.returncode == 1, status.stdout + status.stderr
        lines = [line.strip() for line in status.stdout.splitlines()]
        assert any(line.startswith("interrupted") and "pricey" in line for line in lines), status.stdout
        (command,) = [line for line in lines if line.startswith("harness ")]
        assert "hydra/launcher=joblib" in command and "pricey" in command
        before = Counter(asked)
        again = _harness(*args)
        assert again.returncode == 0, again.stderr[-3000:]
    # No request whose answer was on disk at the kill was sent again.
    assert all(asked[key] == before[key] for key in done_at_kill), (done_at_kill, asked)
    assert sorted((r["model"], r["n"]) for r in _board(results)) == [("cheap", n_items), ("pricey", n_items)]
    final = _harness("sweep-status", str(sweep), timeout=120)
    assert final.returncode == 0 and "continued in" in final.stdout, final.stdout
    assert "running" not in set(_statuses(results).values())
    assert shlex.split(command)[:3] == ["harness", "run", "-m"]


def _manifest(run_dir: Path, **fields: object) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps(fields), encoding="utf-8")


def test_an_interrupted_run_is_claimed_by_one_job_only(tmp_path):
    runs = tmp_path / "runs"
    old = runs / "s0" / "0-a"
    _manifest(old, status="interrupted", run_key="k", started_at="1")
    first, second = runs / "s1" / "0-a", runs / "s1" / "1-a"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    assert claim_resumable(runs, [old], "s1/0-a") == [old]
    assert claim_resumable(runs, [old], "s1/1-a") == []  # the first claimant is still setting up
    # The claimant was killed while copying (its manifest says running, its process is gone): the
    # claim is stale and taken over once.
    (first / "run.json").write_text(
        json.dumps({"status": "running", "host": os.uname().nodename, "pid": 2**22 + 12345}), encoding="utf-8"
    )
    assert claim_resumable(runs, [old], "s1/1-a") == [old]
    assert claim_resumable(runs, [old], "s2/0-a") == []


def test_rerun_commands_are_one_grid_or_one_per_job():
    hydra = ["hydra.mode=MULTIRUN", "hydra/launcher=joblib"]
    grid = [[f"model={m}", f"prompt={p}", "data=[x.jsonl]"] for m in "ab" for p in "xy"]
    assert rerun_commands(hydra, grid) == [
        "harness run -m hydra/launcher=joblib model=a,b prompt=x,y 'data=[x.jsonl]'"
    ]
    assert rerun_commands(hydra, grid[1:3]) == [
        "harness run -m hydra/launcher=joblib model=a prompt=y 'data=[x.jsonl]'",
        "harness run -m hydra/launcher=joblib model=b prompt=x 'data=[x.jsonl]'",
    ]


def test_sweep_status_help_and_a_directory_that_is_not_a_sweep(tmp_path):
    assert "usage: harness sweep-status" in _harness("sweep-status", "--help", timeout=60).stdout
    proc = _harness("sweep-status", str(tmp_path), timeout=60)
    assert proc.returncode == 2 and "multirun.yaml" in proc.stderr and "Traceback" not in proc.stderr


def test_a_launcher_without_the_cluster_extra_is_a_usage_error(monkeypatch):
    """Without the extra, hydra_plugins.harness_launchers defines no classes: choosing one is a
    one-line usage error naming the extra, not Hydra's "Unknown plugin class" traceback."""
    import types

    from harness import cli

    monkeypatch.setitem(sys.modules, "hydra_plugins.harness_launchers", types.ModuleType("stub"))
    problem = cli._register_launchers(["-m", "hydra/launcher=joblib", "model=lead"])
    assert problem and "hydra/launcher=joblib" in problem and ".[cluster]" in problem
    assert cli._register_launchers(["model=lead"]) is None
    assert cli._register_launchers(["-m", "hydra/launcher=basic"]) is None


def test_the_launchers_are_registered_with_hydra():
    """Registered explicitly: an editable install maps the module without a directory Hydra walks."""
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    from hydra.core.plugins import Plugins

    from harness import cli

    assert cli._register_launchers(["-m", "hydra/launcher=joblib"]) is None
    assert "hydra_plugins.harness_launchers.JoblibLauncher" in Plugins.instance().class_name_to_class
