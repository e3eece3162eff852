"""The wheel carries what `harness` needs without a checkout, and the dependencies are what the code uses.

A copy of the source tree (without results/, .venv/, build output) is built with this environment's
setuptools (`pip wheel --no-deps --no-build-isolation`: nothing is downloaded). The slow test
installs that wheel without its dependencies into a directory of its own and runs the `harness`
script it installs from an empty directory, so only the wheel's files (not the checkout) are used.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Not imported by the harness itself: bert-score runs on them; pinned for the CPU build and for
# score stability (see pyproject.toml).
USED_THROUGH_OTHERS = {"torch", "transformers"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    anywhere = shutil.ignore_patterns("*.egg-info", "__pycache__", ".*_cache")
    top_level = {".git", ".venv", "results", "build", "dist", ".cache"}  # not harness/results/

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set(anywhere(directory, names))
        return skipped | (top_level & set(names) if Path(directory) == ROOT else set())

    shutil.copytree(ROOT, src, ignore=ignore)
    out = tmp / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out, "."],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.glob("*.whl")
    return path


def test_wheel_carries_conf_datasets_and_site_assets(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"harness/_data/conf/{p.relative_to(ROOT / 'conf').as_posix()}"
        for p in (ROOT / "conf").rglob("*.yaml")
    }
    assert "harness/_data/conf/config.yaml" in expected
    assert expected <= names, sorted(expected - names)
    for data_file in ("sample_ai_news/items.jsonl", "judge_calibration/dev.jsonl"):
        assert f"harness/_data/datasets/{data_file}" in names
    assert {"harness/report/site_assets/site.css", "harness/report/site_assets/site.js"} <= names
    tables = {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "harness" / "score" / "factcheck" / "data").iterdir()
    }
    assert tables and tables <= names, sorted(tables - names)
    modules = {f"{p.relative_to(ROOT).as_posix()}" for p in (ROOT / "harness").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    # The launchers of conf/hydra/launcher/, in the namespace package Hydra walks for plugins.
    assert "hydra_plugins/harness_launchers/__init__.py" in names
    assert not any(
        n.startswith("hydra_plugins/") and n.count("/") == 1 and n.endswith("__init__.py") for n in names
    )
    # Nothing else lands at the top of site-packages but the package and its metadata.
    assert {n.split("/")[0] for n in names} == {
        "harness",
        "hydra_plugins",
        f"{wheel.name.split('-')[0]}-0.1.0.dist-info",
    }


def test_declared_dependencies_are_what_the_code_imports():
    """Each dependency in pyproject.toml is imported by harness/ (or listed above with the reason),
    and each third-party module harness/ imports is declared: no `tenacity` nobody imports, no
    `yaml` that only arrives through another package."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_norm(re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0]) for d in project["dependencies"]}
    imported: set[str] = set()
    for path in (ROOT / "harness").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    # hydra_plugins: the namespace of this project's own launchers (and of the `cluster` extra's).
    third_party = imported - set(sys.stdlib_module_names) - {"harness", "hydra_plugins"}
    dists = importlib.metadata.packages_distributions()
    missing = {m for m in third_party if m not in dists}
    assert not missing, f"imported but not installed: {missing}"
    used = {_norm(d) for m in third_party for d in dists[m]}
    unused = declared - used - USED_THROUGH_OTHERS
    assert not unused, f"declared in pyproject.toml but never imported: {sorted(unused)}"
    undeclared = used - declared
    assert not undeclared, f"imported but not declared in pyproject.toml: {sorted(undeclared)}"


def test_config_falls_back_to_the_packaged_files(monkeypatch, tmp_path):
    """Without a checkout, relative paths in conf/ resolve in the current directory first, then in
    the files the package carries; results go under the current directory."""
    from harness import config as hc

    packaged = tmp_path / "site-packages" / "harness" / "_data"
    (packaged / "datasets" / "sample").mkdir(parents=True)
    (packaged / "datasets" / "sample" / "items.jsonl").write_text("{}\n", encoding="utf-8")
    work = tmp_path / "work"
    (work / "mine").mkdir(parents=True)
    (work / "mine" / "items.jsonl").write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(hc, "PROJECT_ROOT", packaged)
    monkeypatch.setattr(hc, "FROM_CHECKOUT", False)
    monkeypatch.chdir(work)
    assert hc.project_path("datasets/sample/items.jsonl") == packaged / "datasets/sample/items.jsonl"
    assert hc.project_path("mine/items.jsonl") == work / "mine/items.jsonl"
    assert hc.project_path("nowhere.jsonl") == work / "nowhere.jsonl"  # errors name the user's path
    assert hc.default_results_dir() == work / "results"


def test_checkout_is_found_and_results_default_to_the_current_directory(monkeypatch, tmp_path):
    from hydra import compose, initialize_config_dir

    from harness import config as hc

    assert hc.FROM_CHECKOUT and hc.CONF_DIR == ROOT / "conf"
    sample = "datasets/sample_ai_news/items.jsonl"
    assert hc.project_path(sample) == ROOT / sample
    hc.register_resolvers()
    hc.register_schema()
    monkeypatch.chdir(tmp_path)
    with initialize_config_dir(version_base="1.3", config_dir=str(hc.CONF_DIR)):
        cfg = hc.to_typed(compose(config_name="config"))
    assert cfg.results_dir == str(tmp_path / "results")
    assert cfg.cache.path == str(tmp_path / "results" / "cache" / "responses.sqlite")


@pytest.mark.slow
def test_installed_wheel_runs_from_any_directory(wheel: Path, tmp_path: Path):
    """`pip install` of the wheel (no checkout on the path): `harness run --help`, then a short
    `harness run` on the embedded sample, writing ./results in an empty working directory."""
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        # The wheel's copy first; its dependencies come from this environment.
        "PYTHONPATH": str(target),
        "HF_HUB_OFFLINE": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    script = target / "bin" / "harness"

    def harness(*args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, str(script), *args]
        return subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600)

    helped = harness("run", "--help")
    assert helped.returncode == 0, helped.stderr[-3000:]
    assert "Primary config directory not found" not in helped.stderr
    assert "model: " in helped.stdout and "lead" in helped.stdout  # the config groups are listed

    where = subprocess.run(
        [sys.executable, "-c", "import harness.config as c; print(c.__file__); print(c.CONF_DIR)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where == [str(target / "harness" / "config.py"), str(target / "harness" / "_data" / "conf")]

    ran = harness("run", "model=lead,textrank", "dataset.limit=3", "metrics.bertscore.enabled=false")
    assert ran.returncode == 0, ran.stderr[-3000:]
    results = work / "results"
    assert (results / "leaderboard.md").is_file()
    rows = list((results / "runs").glob("*/*/rows.jsonl"))
    assert len(rows) == 2 and all(len(r.read_text(encoding="utf-8").splitlines()) == 3 for r in rows)
    assert (results / "site" / "index.html").is_file()
    assert {p.name for p in (results / "site").rglob("site.*")} >= {"site.css", "site.js"}
    assert not (target / "results").exists()
