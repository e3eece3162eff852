"""`harness judge-eval`: honest keys, the files it was given named in the report, both sets side
by side, per error type / style / section tables, and one-line errors for unusable calibration files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness.cli
from harness.report import judge_eval as je

SOURCE = "某公司3月5日完成2亿元A轮融资，由红杉中国领投，资金将用于大模型研发。"


def _item(n: int, claim: str, gold: str, error_type: str, style: str, section: str = "产业资讯") -> dict:
    return {
        "id": f"c-{n}",
        "source": SOURCE,
        "claim": claim,
        "gold": gold,
        "error_type": error_type,
        "style": style,
        "section": section,
    }


ITEMS = [
    _item(1, "某公司完成2亿元A轮融资。", "supported", "none", "money"),
    _item(2, "某公司完成5亿元A轮融资。", "contradicted", "number_change", "money"),
    _item(3, "某公司在3月5日完成A轮融资。", "supported", "none", "date", "产品"),
    _item(4, "某公司在2024年9月9日完成A轮融资。", "contradicted", "date_shift", "date", "产品"),
    _item(5, "某公司完成融资后已向公众开放。", "not_in_source", "unsupported_addition", "other"),
]


def _write(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def _eval(tmp_path: Path, *overrides: str) -> int:
    return harness.cli.main(["judge-eval", f"results_dir={tmp_path / 'results'}", *overrides])


def test_report_names_the_given_files_and_shows_both_sets(tmp_path, capsys):
    main = _write(tmp_path / "held_out.jsonl", ITEMS)
    beside = _write(tmp_path / "devset.jsonl", ITEMS[:2])
    code = _eval(tmp_path, f"judge.calibration_set={main}", f"judge.calibration_beside={beside}")
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads((tmp_path / "results" / "judge_eval" / "none__checker.json").read_text("utf-8"))
    assert [s["path"] for s in report["sets"]] == [str(main), str(beside)]
    assert [s["n"] for s in report["sets"]] == [5, 2]
    assert report["calibration_set"] == str(main) and report["calibration_beside"] == str(beside)
    checker = report["checker"]
    assert "recall_on_number_and_entity_errors" not in checker
    # number_change + date_shift here: 2 targeted errors
    assert checker["checker_recall_number_entity_date_n"] == 2
    assert checker["recall_by_error_type"]["number_change"] == {"n": 1, "caught": 1, "recall": 1.0}
    assert checker["recall_by_error_type"]["entity_swap"]["n"] == 0
    money = checker["by_style"]["money"]
    assert (money["n_errors"], money["caught"], money["n_faithful"], money["false_alarms"]) == (1, 1, 1, 0)
    assert set(checker["by_style"]) == {"money", "date"}  # the unsupported_addition is not a target
    assert set(checker["by_section"]) == {"产业资讯", "产品"}
    assert report["sets"][1]["checker"]["checker_recall_number_entity_date_n"] == 1
    md = (tmp_path / "results" / "leaderboard.md").read_text(encoding="utf-8")
    for text in (out, md):
        assert str(main) in text and str(beside) in text
        assert "datasets/judge_calibration" not in text
        assert "number_change + entity_swap + date_shift" in text
        assert "| style |" in text and "| money |" in text and "| section |" in text
    board = json.loads((tmp_path / "results" / "leaderboard.json").read_text("utf-8"))
    (section,) = board["judge_calibration"]
    assert (
        section["checker"]["checker_recall_number_entity_date"]
        == checker["checker_recall_number_entity_date"]
    )
    assert len(section["sets"]) == 2


def test_beside_null_gives_one_column(tmp_path, capsys):
    main = _write(tmp_path / "mine.jsonl", ITEMS)
    assert _eval(tmp_path, f"judge.calibration_set={main}", "judge.calibration_beside=null") == 0
    out = capsys.readouterr().out
    assert "beside it" not in out and str(main) in out


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: d, "is a directory"),
        (lambda d: d / "nope.jsonl", "no such file"),
        (lambda d: _write(d / "empty.jsonl", []), "empty"),
        (
            lambda d: (
                (d / "bad.jsonl").write_text(json.dumps(ITEMS[0]) + "\n{oops\n", encoding="utf-8")
                and d / "bad.jsonl"
            ),
            "bad.jsonl:2: invalid JSON",
        ),
        (
            lambda d: _write(
                d / "field.jsonl", [ITEMS[0], {k: v for k, v in ITEMS[1].items() if k != "claim"}]
            ),
            "field.jsonl:2: field 'claim' missing",
        ),
        (lambda d: _write(d / "style.jsonl", [{**ITEMS[0], "style": "numbers"}]), "field 'style'"),
    ],
)
def test_unusable_calibration_file_is_one_line_exit_2(tmp_path, capsys, make, expected):
    given = make(tmp_path)
    code = _eval(tmp_path, f"judge.calibration_set={given}", "judge.calibration_beside=null")
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and str(given) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_unusable_beside_file_is_reported_before_any_work(tmp_path, capsys):
    main = _write(tmp_path / "mine.jsonl", ITEMS)
    code = _eval(tmp_path, f"judge.calibration_set={main}", f"judge.calibration_beside={tmp_path}")
    assert code == 2 and "is a directory" in capsys.readouterr().err
    assert not (tmp_path / "results" / "judge_eval").exists()


class _Result:
    def __init__(self, label: str | None):
        self.flags = ["judge_failed"] if label is None else []
        self.evidence = {} if label is None else {"claims": {"counts": {label: 1}}}


class _Scorer:
    """Calls every money claim contradicted, every date claim supported; fails on the rest."""

    def score(self, items, candidates):
        out = []
        for item in items:
            style = next(i["style"] for i in ITEMS if i["id"] == item.id)
            out.append(_Result({"money": "contradicted", "date": "supported"}.get(style)))
        return out


def test_judge_tables_per_error_type_and_style():
    report = je.evaluate_judge(_Scorer(), ITEMS)
    money, date, other = (report["by_style"][k] for k in ("money", "date", "other"))
    assert (money["caught"], money["n_errors"], money["false_alarms"], money["n_faithful"]) == (1, 1, 1, 1)
    assert money["recall"] == 1.0 and money["false_alarm_rate"] == 1.0
    assert (date["caught"], date["n_errors"], date["false_alarms"]) == (0, 1, 0) and date["recall"] == 0.0
    assert other["failed"] == 1 and other["caught"] == 0
    assert report["by_error_type"]["none"]["false_alarms"] == 1
    assert report["by_error_type"]["number_change"]["recall"] == 1.0
    assert report["by_section"]["产品"]["n_errors"] == 1
