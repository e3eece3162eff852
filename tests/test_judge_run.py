"""`harness run judge=local` with the scripted server as judge fills every factuality column;
`harness judge-eval` reports judge accuracy and kappa; without a judge the deterministic columns
still show and the judge columns are marked unavailable."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from harness.report.leaderboard import build_board, collect, render_markdown
from harness.results.reader import read_jsonl
from tests.fake_openai import FakeOpenAI, Reply, user_text
from tests.test_run import _run

DEV_SET = Path(__file__).resolve().parents[1] / "datasets" / "judge_calibration" / "dev.jsonl"
FACTUALITY = (
    "judge_factual_precision",
    "judge_contradiction_rate",
    "judge_keypoint_recall",
    "facts_number_unsupported_rate",
    "facts_entity_unsupported_rate",
    "format_ok",
)


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) + len(start) : text.index(end)]


def scripted_judge(body: dict) -> Reply:
    """A judge that calls the first claim of bullet 1 supported (quoting the source's first 12
    characters), every other bullet not_in_source, and covers every reference point with bullet 1."""
    text = user_text(body)
    if "<<<原文开始>>>" in text:
        source = _section(text, "<<<原文开始>>>", "<<<原文结束>>>").strip().splitlines()
        quote = source[1][:12] if len(source) > 1 else source[0][:12]
        bullets = re.findall(r"^\[(\d+)\]", _section(text, "<<<要点开始>>>", "<<<要点结束>>>"), re.M)
        reply = {
            "bullets": [
                {
                    "bullet": int(n),
                    "claims": [
                        {
                            "claim": f"要点{n}",
                            "verdict": "supported" if n == "1" else "not_in_source",
                            "quote": quote if n == "1" else "",
                        }
                    ],
                }
                for n in bullets
            ]
        }
    else:
        refs = re.findall(r"^\[(\d+)\]", _section(text, "<<<参考要点开始>>>", "<<<参考要点结束>>>"), re.M)
        reply = {"keypoints": [{"keypoint": int(n), "status": "covered", "matched_bullet": 1} for n in refs]}
    return Reply(json.dumps(reply, ensure_ascii=False), prompt_tokens=300, completion_tokens=80)


def test_run_with_judge_fills_every_factuality_column(tmp_path):
    with FakeOpenAI(scripted_judge) as server:
        run_dir = _run(
            tmp_path,
            "0-lead",
            "model=lead",
            "judge=local",
            f"judge.model.api_base={server.api_base}",
            "judge.model.name=fake-judge",
            "metrics.bertscore.enabled=false",
        )
        assert len(server.requests) == 8  # claims + coverage for each of the 4 items
    rows = read_jsonl(run_dir / "rows.jsonl")
    for row in rows:
        n_bullets = len(row["generation"]["bullets"])
        assert row["scores"]["judge_factual_precision"] == 1 / n_bullets
        assert row["scores"]["judge_keypoint_recall"] == 1.0
        claims = row["evidence"]["judge"]["claims"]["bullets"]
        assert claims[0]["claims"][0]["quote_found"] is True
    board = build_board(collect(tmp_path))
    entry = board["datasets"][0]["rows"][0]
    for key in FACTUALITY:
        assert "mean" in entry["metrics"][key], key
    assert entry["judge"]["n_calls"] == 4 and entry["judge"]["cost_per_100_items_usd"] == 0.0
    # the judge's calls have their own cost, latency, tokens and failure columns
    # the wide table (`harness leaderboard --wide`); the compact leaderboard.md leaves them out
    md = render_markdown(board, wide=True)
    header = next(line for line in md.splitlines() if line.startswith("| # |"))
    compact = next(line for line in render_markdown(board).splitlines() if line.startswith("| # |"))
    assert "judge failed" not in compact and "factual precision" in compact
    assert "judge failed" in header and "judge $/100 items" in header and "judge latency p50/p95 s" in header
    csv_head = (tmp_path / "leaderboard.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"judge_failed", "judge_cost_per_100_items_usd", "judge_latency_p95_s"} <= set(csv_head)
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["judge"]["model"] == "openai/local-model"
    assert "judge" in manifest["metrics"]


def test_without_judge_deterministic_columns_show_and_judge_is_unavailable(tmp_path):
    _run(tmp_path, "0-lead", "model=lead", "metrics.bertscore.enabled=false")
    entry = build_board(collect(tmp_path))["datasets"][0]["rows"][0]
    for key in ("facts_number_unsupported_rate", "facts_entity_unsupported_rate", "format_ok"):
        assert "mean" in entry["metrics"][key]
    for key in ("judge_factual_precision", "judge_contradiction_rate", "judge_keypoint_recall"):
        assert "judge=none" in entry["metrics"][key]["unavailable"]
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "factual precision" in md and "no LLM judge configured" in md
    assert "judge $/100 items" not in md  # no judge calls, no judge call columns


def test_judge_eval_reports_accuracy_and_kappa(tmp_path, capsys):
    """A scripted judge that answers every calibration claim `supported` with a real quote."""
    import harness.cli

    lock = threading.Lock()

    def always_supported(body: dict) -> Reply:
        text = user_text(body)
        source = _section(text, "<<<原文开始>>>", "<<<原文结束>>>").strip().splitlines()
        with lock:
            pass
        reply = {
            "bullets": [
                {"bullet": 1, "claims": [{"claim": "c", "verdict": "supported", "quote": source[-1][:10]}]}
            ]
        }
        return Reply(json.dumps(reply, ensure_ascii=False))

    with FakeOpenAI(always_supported) as server:
        code = harness.cli.main(
            [
                "judge-eval",
                "judge=local",
                f"judge.model.api_base={server.api_base}",
                "judge.model.name=always-yes",
                f"judge.calibration_set={DEV_SET}",
                "judge.calibration_beside=null",
                f"results_dir={tmp_path}",
                f"cache.path={tmp_path}/cache.sqlite",
            ]
        )
    assert code == 0
    report = json.loads(next((tmp_path / "judge_eval").glob("always-yes*.json")).read_text(encoding="utf-8"))
    j = report["judge_report"]
    gold = [json.loads(line)["gold"] for line in open(DEV_SET, encoding="utf-8")]
    assert j["n"] == len(gold) and j["failed"] == 0
    assert abs(j["accuracy"] - gold.count("supported") / len(gold)) < 1e-9
    assert j["kappa"] == 0.0  # a constant judge agrees with the gold only by chance
    assert j["per_class"]["supported"]["recall"] == 1.0
    assert report["checker"]["checker_false_alarm_rate"] is not None
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "## Judge calibration" in md and "always-yes" in md
