"""The contracts every part shares: metric declarations, run records and their one reader, the error
boundary (exit codes and messages), as a user meets them."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from harness.jobs import run_job
from harness.results.reader import latest_per_item, load_run, read_jsonl
from harness.score import registry
from tests.conftest import MINI
from tests.test_run import ROOT, _cfg, _cli
from tests.test_site import _data as page_data

TOY_METRIC = '''
"""A toy metric for the contract test: characters per bullet (lower is better here)."""
from typing import Any

from harness.score.base import MetricResult, score_each
from harness.score.registry import Column, Metric, register


class ToyLength:
    name = "toy_len"

    def meta(self) -> dict[str, Any]:
        return {"metric_version": "toy/1"}

    def score(self, items, candidates):
        return score_each(items, candidates, lambda item, bullets: MetricResult(
            values={"toy_len_chars": sum(map(len, bullets)) / max(1, len(bullets))}))


register(Metric(
    name="toy_len",
    description="characters per bullet",
    needs_reference=False,
    order=60,
    build=lambda options: ToyLength() if options.enabled else None,
    columns=(Column("toy_len_chars", "chars per bullet ↓", higher_is_better=False, headline=True,
                    compact=True),),
))
'''


@pytest.fixture
def toy_metric():
    """One file in harness/score/, as the README's recipe says; removed afterwards."""
    path = ROOT / "harness" / "score" / "toy_len.py"
    path.write_text(TOY_METRIC, encoding="utf-8")
    registry._discovered = False
    try:
        yield path
    finally:
        path.unlink()
        registry.unregister("toy_len")
        registry._discovered = False


def test_a_metric_is_one_file_and_every_report_reads_its_declaration(tmp_path, toy_metric):
    from harness.report.leaderboard import build_leaderboard
    from harness.report.plots import plot_metrics

    for model in ("lead", "textrank"):
        run_job(
            _cfg(tmp_path, f"model={model}", "metrics.bertscore.enabled=false", "+metrics.extra.toy_len={}"),
            tmp_path / "runs" / "sweep" / model,
        )
    build_leaderboard(tmp_path, "toy_len_chars")

    rows = read_jsonl(tmp_path / "runs" / "sweep" / "lead" / "rows.jsonl")
    assert all("toy_len_chars" in r["scores"] for r in rows)
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| # |"))
    assert "chars per bullet ↓" in header
    with (tmp_path / "leaderboard.csv").open(encoding="utf-8") as fh:
        board_csv = list(csv.DictReader(fh))
    assert all(r["toy_len_chars"] for r in board_csv)
    # Ranked lowest first: its declaration says lower is better.
    means = [float(r["toy_len_chars"]) for r in board_csv]
    assert means == sorted(means)
    board = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    columns = {c["key"]: c for c in board["datasets"][0]["columns"]}
    assert columns["toy_len_chars"]["direction"] == "lower"
    site = page_data(tmp_path / "site" / "index.html")
    assert site["directions"]["toy_len_chars"] == "lower"
    assert site["labels"]["toy_len_chars"] == "chars per bullet ↓"
    assert ("toy_len_chars", "chars per bullet ↓") in plot_metrics("toy_len_chars")


def test_the_pareto_front_follows_the_metric_direction():
    from harness.report.plots import quality_front

    rows = [
        {"model": "cheap-good", "cost": 1.0, "quality": 0.1},
        {"model": "pricey-bad", "cost": 5.0, "quality": 0.4},
    ]
    points = [(r, r["cost"], r["quality"]) for r in rows]
    # quality is an error rate (lower is better): the pricier row with MORE errors is dominated.
    assert [r["model"] for r in quality_front(points, higher_is_better=False)] == ["cheap-good"]
    assert [r["model"] for r in quality_front(points, higher_is_better=True)] == ["cheap-good", "pricey-bad"]


def test_declarations_cover_every_score_a_built_in_scorer_writes():
    from harness.score.bertscore import VALUE_KEYS as BERT
    from harness.score.compression import VALUE_KEYS as COMPRESSION
    from harness.score.facts import VALUE_KEYS as FACTS
    from harness.score.format import VALUE_KEYS as FORMAT
    from harness.score.judge import CLAIM_KEYS, COVERAGE_KEYS
    from harness.score.rouge import VALUE_KEYS as ROUGE

    declared = {c.key for c in registry.columns()}
    assert {*ROUGE, *BERT, *FACTS, *FORMAT, *COMPRESSION, *CLAIM_KEYS, *COVERAGE_KEYS} <= declared
    assert registry.lower_is_better("judge_contradiction_rate")
    assert registry.lower_is_better("facts_entity_unsupported_rate")
    assert not registry.lower_is_better("rougeL_f")


def test_reader_one_rule_for_repeats_torn_lines_and_order(tmp_path):
    path = tmp_path / "rows.jsonl"
    lines = [
        json.dumps({"item_id": "b", "scores": {"x": 1}}),
        json.dumps({"item_id": "a", "scores": {"x": 2}}),
        json.dumps({"item_id": "b", "scores": {"x": 3}}, ensure_ascii=False),
    ]
    # A crash mid-write: the last line is cut inside a multi-byte character.
    torn = json.dumps({"item_id": "c", "note": "要点"}, ensure_ascii=False).encode()[:-3]
    path.write_bytes(("\n".join(lines) + "\n").encode() + torn)
    rows = latest_per_item(read_jsonl(path))
    assert [(r["item_id"], r["scores"]["x"]) for r in rows] == [("a", 2), ("b", 3)]


def test_run_records_carry_their_identity(tmp_path):
    run_dir = tmp_path / "runs" / "sweep" / "lead"
    run_job(_cfg(tmp_path, "model=lead", "metrics.bertscore.enabled=false", "dataset.limit=2"), run_dir)
    run = load_run(run_dir)
    assert run.manifest["schema_version"] == 2
    assert run.manifest["dataset"]["limit"] == 2 and run.manifest["judge"] is None
    for row in run.rows:
        assert row["schema_version"] == 2
        assert {"dataset", "model", "prompt", "seed", "judge", "run_id"} <= set(row)
        assert row["prompt"]["hash"] and row["dataset"]["fingerprint"]


def test_n_bullets_is_one_setting(tmp_path):
    run_dir = tmp_path / "runs" / "sweep" / "lead"
    run_job(_cfg(tmp_path, "model=lead", "metrics.bertscore.enabled=false", "prompt.n_bullets=2"), run_dir)
    rows = read_jsonl(run_dir / "rows.jsonl")
    assert all(len(r["generation"]["bullets"]) <= 2 for r in rows)
    assert any(len(r["generation"]["bullets"]) == 2 for r in rows)
    assert rows[0]["metrics"]["format"]["n_bullets"] == 2


def _readme_bad_overrides() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- bad-overrides: begin -->")[1].split("<!-- bad-overrides: end -->")[0]
    found = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|$", table, flags=re.M)
    assert len(found) >= 10, "the README's table of bad overrides went missing"
    return found


@pytest.mark.parametrize(("override", "named"), _readme_bad_overrides())
def test_every_bad_override_in_the_readme_exits_2_without_a_traceback(tmp_path, override, named):
    proc = _cli("run", "model=lead", override, f"results_dir={tmp_path}", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_judge_replay_miss_exits_2_naming_item_and_model(tmp_path):
    cache = tmp_path / "cache.sqlite"
    common = [
        f"results_dir={tmp_path}",
        "dataset.name=mini",
        f"dataset.data_files=[{MINI}]",
        "dataset.limit=2",
        "metrics.bertscore.enabled=false",
        f"cache.path={cache}",
    ]
    # Generations are recorded; the judge's calls are not.
    assert _cli("run", "model=lead", "cache.mode=readwrite", *common).returncode == 0
    proc = _cli(
        "run",
        "model=lead",
        "cache.mode=replay",
        "judge=local",
        "judge.model.api_base=http://127.0.0.1:9/v1",
        *common,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "never retrieved" not in proc.stderr
    assert "cache.mode=replay" in proc.stderr and "kind judge" in proc.stderr
    assert re.search(r"for item 'mini-\d+'", proc.stderr) and "with model 'local'" in proc.stderr


def test_library_code_never_exits():
    """Exit codes are the CLI's: no sys.exit outside harness/cli.py."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "harness").rglob("*.py")
        if p.name != "cli.py" and re.search(r"\bsys\.exit\(|raise SystemExit", p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_score_and_generate_do_not_import_each_other():
    pattern = re.compile(r"^\s*(from|import) harness\.(score|generate)\b", re.M)
    for package, other in (("score", "generate"), ("generate", "score")):
        for path in (ROOT / "harness" / package).rglob("*.py"):
            imported = {m.group(2) for m in pattern.finditer(path.read_text(encoding="utf-8"))}
            assert other not in imported, f"{path.relative_to(ROOT)} imports harness.{other}"


def test_no_module_over_800_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "harness").rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800
    }
    assert long == {}


def test_site_reads_direction_from_data_not_from_a_label():
    js = (ROOT / "harness" / "report" / "site_assets" / "site.js").read_text(encoding="utf-8")
    assert "↓" not in js and "DIRECTIONS" in js


def test_manifest_of_an_older_schema_is_read_and_an_unknown_one_refused(tmp_path):
    from harness.errors import DataError
    from harness.results.reader import read_manifest

    (tmp_path / "run.json").write_text(json.dumps({"status": "finished"}), encoding="utf-8")
    assert read_manifest(tmp_path)["status"] == "finished"
    (tmp_path / "run.json").write_text(json.dumps({"schema_version": 99}), encoding="utf-8")
    with pytest.raises(DataError, match="schema_version 99"):
        read_manifest(tmp_path)


def test_limited_run_is_its_own_row_and_does_not_replace_the_full_one(tmp_path):
    from harness.report.leaderboard import build_leaderboard

    run_job(_cfg(tmp_path, "model=lead", "metrics.bertscore.enabled=false"), tmp_path / "runs" / "a" / "lead")
    run_job(
        _cfg(tmp_path, "model=textrank", "metrics.bertscore.enabled=false"), tmp_path / "runs" / "a" / "tr"
    )
    run_job(
        _cfg(tmp_path, "model=lead", "metrics.bertscore.enabled=false", "dataset.limit=2"),
        tmp_path / "runs" / "b" / "lead",
    )
    build_leaderboard(tmp_path)
    board = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    tables = {ds["name"]: ds for ds in board["datasets"]}
    assert set(tables) == {"mini", "mini (first 2 items)"}
    assert sorted(r["model"] for r in tables["mini"]["rows"]) == ["lead", "textrank"]
    assert all(r["n"] > 2 for r in tables["mini"]["rows"])
    (quick,) = tables["mini (first 2 items)"]["rows"]
    assert quick["model"] == "lead" and quick["n"] == 2 and quick["dataset_limit"] == 2


def _entry(model: str, scores: dict[str, float | None]) -> dict:
    from harness.report.aggregate import summarize

    rows = [
        {
            "item_id": item,
            "scores": {} if v is None else {"rougeL_f": v},
            "error": {"type": "x", "class": "server_error"} if v is None else None,
        }
        for item, v in scores.items()
    ]
    manifest = {
        "model": {"name": model, "litellm_model": model, "uses_reference": False},
        "prompt": {"id": "p", "version": "1", "hash": "h"},
        "dataset": {"name": "d", "fingerprint": "f"},
        "run_id": model,
    }
    return {"manifest": manifest, "summary": summarize(rows), "rows": rows, "dir": model}


def test_rows_are_ranked_on_the_items_they_all_scored():
    from harness.report.leaderboard import build_board, render_markdown

    # A is better on its own items only because its failure hid nothing and B failed the easy item.
    a = _entry("A", {"i1": 0.9, "i2": 0.1, "i3": 0.1, "i4": 0.1})
    b = _entry("B", {"i1": None, "i2": 0.2, "i3": 0.2, "i4": 0.2})
    assert a["summary"]["means"]["rougeL_f"] > b["summary"]["means"]["rougeL_f"]
    board = build_board([a, b], "rougeL_f")
    (table,) = board["datasets"]
    assert [r["model"] for r in table["rows"]] == ["B", "A"]
    assert table["rows"][0]["leader"] and table["ranked_on"] == {"items": 3, "of": 4}
    assert "Ranked on the 3 items every row scored (of 4)" in render_markdown(board)
    # Nothing failed: every item counts and no note is printed.
    board = build_board([a, _entry("C", {"i1": 0.2, "i2": 0.2, "i3": 0.2, "i4": 0.2})], "rougeL_f")
    assert board["datasets"][0]["ranked_on"] == {"items": 4, "of": 4}
    assert "Ranked on the" not in render_markdown(board)


def test_bash_completion_installs_for_harness_and_completes_run_overrides(tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    bindir = str(Path(sys.executable).parent)
    path = bindir + os.pathsep + os.environ.get("PATH", "")
    assert shutil.which("harness", path=path), "the harness entry point is installed beside python"
    script = _cli("run", "--shell-completion", "install=bash")
    assert script.returncode == 0, script.stderr
    assert "-F hydra_bash_completion harness\n" in script.stdout + "\n"
    (tmp_path / "complete.sh").write_text(script.stdout, encoding="utf-8")
    probe = (
        f"source {tmp_path / 'complete.sh'}\n"
        'COMP_LINE="harness run model=le"; COMP_POINT=${#COMP_LINE}\n'
        "COMP_WORDS=(harness run model=le); COMP_CWORD=2\n"
        'hydra_bash_completion; echo "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(
        ["bash", "-c", probe], capture_output=True, text=True, env={**os.environ, "PATH": path}, timeout=120
    )
    assert out.stdout.split() == ["model=lead"], out.stdout + out.stderr
