"""leaderboard.md: a compact default table, the wide one on request, names that cannot break it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from harness.report.aggregate import summarize
from harness.report.leaderboard import build_board, md_plain, md_text, render_markdown
from harness.score import registry


def _entry(model: str, offset: float) -> dict[str, Any]:
    keys = [c.key for c in registry.columns(headline_only=True)]
    rows = [
        {"item_id": f"i{i}", "scores": {k: 0.1 * i + offset for k in keys}, "error": None}
        for i in range(1, 5)
    ]
    manifest = {
        "model": {"name": model, "litellm_model": "openai/x", "uses_reference": False},
        "prompt": {"id": "p", "version": "1", "hash": "0123456789abcdef"},
        "dataset": {"name": "d", "fingerprint": "f" * 16},
        "run_id": model.splitlines()[0],
    }
    return {"manifest": manifest, "summary": summarize(rows), "rows": rows, "dir": model}


def _cells(line: str) -> list[str]:
    """A GFM table row split on its unescaped pipes."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def _rows(md: str) -> list[list[str]]:
    """The cells of every table row (one dataset: one table)."""
    return [_cells(line) for line in md.splitlines() if line.startswith("|")]


@pytest.mark.parametrize("rank_by", ["rougeL_f", "judge_contradiction_rate"])
def test_default_table_is_compact_and_the_wide_one_has_every_column(rank_by: str) -> None:
    board = build_board([_entry("甲 | pipe", 0.0), _entry("乙\nnewline $x$", 0.05)], rank_by)
    header, _rule, *body = _rows(render_markdown(board))
    assert len(header) <= 12, header
    assert registry.label(rank_by) in [c.strip() for c in header]
    for key in [c.key for c in registry.columns() if c.compact]:
        assert registry.label(key) in [c.strip() for c in header]
    assert len(body) == 2 and all(len(r) == len(header) for r in body)
    assert any("甲 \\| pipe" in c for c in body[0] + body[1])
    assert any("乙 newline \\$x\\$" in c for c in body[0] + body[1])  # not GitHub math
    wide = _rows(render_markdown(board, wide=True))
    assert len(wide[0]) > 12 and all(len(r) == len(wide[0]) for r in wide[2:])
    for key in [c["key"] for c in board["datasets"][0]["columns"]]:
        assert registry.label(key) in [c.strip() for c in wide[0]]


def test_md_text_escapes_pipes_and_line_breaks() -> None:
    assert md_text("a|b") == "a\\|b"
    assert md_text("a\nb\r\nc") == "a b c"
    assert md_plain("$x$ *a* [l](u) <b>") == "\\$x\\$ \\*a\\* \\[l\\](u) \\<b\\>"


def test_cli_wide_flag_writes_the_wide_table(tmp_path: Path) -> None:
    from harness.cli import main

    (tmp_path / "runs").mkdir()
    assert main(["leaderboard", "--results-dir", str(tmp_path), "--wide"]) == 0
    assert (
        (tmp_path / "leaderboard-wide.md")
        .read_text(encoding="utf-8")
        .startswith("# Leaderboard (all columns)")
    )
    assert main(["leaderboard", "--results-dir", str(tmp_path)]) == 0


def test_a_missing_value_is_n_a_with_its_reason_never_blank() -> None:
    a, b = _entry("a", 0.0), _entry("b", 0.05)
    for row in b["rows"]:
        del row["scores"]["bertscore_f1"]  # b ran without BERTScore (metric off)
    b["summary"] = summarize(b["rows"])
    board = build_board([a, b], "rougeL_f")
    rows = {r["model"]: r for r in board["datasets"][0]["rows"]}
    assert "mean" in rows["a"]["metrics"]["bertscore_f1"]
    assert "not computed in this run" in rows["b"]["metrics"]["bertscore_f1"]["unavailable"]
    md = render_markdown(board)
    (line,) = [row for row in _rows(md) if row[1].strip().startswith("b")]
    assert "n/a [1]" in line[6] and "[1] not computed in this run" in md
