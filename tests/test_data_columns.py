"""`dataset.columns` (a table's own column names, Chinese included) and hub `subset`/`revision`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.config import DatasetConfig
from harness.data import load
from harness.data.load import DatasetError, load_items, split_bullet_text

CHINESE = {"title": "标题", "url": "链接", "source": "总结", "reference": "要点解析"}
ARTICLE = "示例公司今天发布了一款工厂质检视觉模型。它能在产线边缘设备上离线运行，识别准确率超过九成。"
BULLET_CELL = (
    "- 示例公司发布质检视觉模型，准确率超过九成。\n- 模型可离线部署在产线设备上，\n  不需要联网。\n"
    "- 年底前在十家工厂试点。"
)
BULLETS = (
    "示例公司发布质检视觉模型，准确率超过九成。",
    "模型可离线部署在产线设备上，不需要联网。",
    "年底前在十家工厂试点。",
)


def _row(**extra: str) -> dict[str, str]:
    return {
        "标题": "质检模型发布",
        "链接": "https://example.com/qc",
        "总结": ARTICLE,
        "要点解析": BULLET_CELL,
        **extra,
    }


def test_csv_with_chinese_columns_and_a_bullet_text_cell(tmp_path):
    path = tmp_path / "archive.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["标题", "链接", "总结", "要点解析", "关键词"])
        writer.writeheader()
        writer.writerow(_row(关键词="质检"))
        writer.writerow(_row(标题="第二条", 关键词=""))
    items = load_items(DatasetConfig(name="t", data_files=[str(path)], columns=CHINESE))
    assert [i.id for i in items] == ["row-1", "row-2"]  # no id column: row numbers
    first = items[0]
    assert (first.title, first.url, first.source, first.reference) == (
        "质检模型发布",
        "https://example.com/qc",
        ARTICLE,
        BULLETS,
    )
    assert first.metadata == {"关键词": "质检"}


def test_jsonl_and_parquet_with_an_id_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"编号": f"a-{n}", **_row(), "要点解析": "1. 第一条。\n2. 第二条。"} for n in (1, 2)]
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    parquet = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    columns = {**CHINESE, "id": "编号"}
    for path in (jsonl, parquet):
        items = load_items(DatasetConfig(name="t", data_files=[str(path)], columns=columns))
        assert [(i.id, i.reference) for i in items] == [
            ("a-1", ("第一条。", "第二条。")),
            ("a-2", ("第一条。", "第二条。")),
        ]


@pytest.mark.parametrize(
    ("text", "bullets"),
    [
        ("- 甲。\n- 乙。", ["甲。", "乙。"]),
        ("要点解析：\n① 甲。\n② 乙。", ["甲。", "乙。"]),
        ("甲。\n乙。\n丙。", ["甲。", "乙。", "丙。"]),  # no markers, no blank lines: one per line
        ("甲，\n续。\n\n乙。", ["甲，续。", "乙。"]),  # no markers, blank lines: paragraphs
    ],
)
def test_split_bullet_text(text, bullets):
    assert split_bullet_text(text) == bullets


def test_a_missing_mapped_column_names_file_line_and_setting(tmp_path):
    path = tmp_path / "x.jsonl"
    good = {"编号": "1", **_row()}
    bad = {k: v for k, v in good.items() if k != "总结"}
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in (good, bad)) + "\n", encoding="utf-8"
    )
    with pytest.raises(DatasetError) as err:
        load_items(DatasetConfig(name="t", data_files=[str(path)], columns={**CHINESE, "id": "编号"}))
    assert f"{path}:2: field '总结': column not found (dataset.columns.source); columns: 编号, 标题" in str(
        err.value
    )
    assert "1 problem(s)" in str(err.value)


def test_columns_must_name_schema_fields():
    with pytest.raises(
        DatasetError, match=r"field 'columns.标题': not a schema field: map your columns to id"
    ):
        load_items(
            DatasetConfig(
                name="t", data_files=["datasets/sample_ai_news/items.jsonl"], columns={"标题": "title"}
            )
        )


def test_columns_from_the_command_line(tmp_path):
    """Non-ASCII values are quoted for Hydra; a new key in a dict setting takes Hydra's `+`."""
    from tests.test_run import _cfg

    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"编号": "q1", **_row()}, ensure_ascii=False) + "\n", encoding="utf-8")
    from harness.config import to_typed

    cfg = to_typed(
        _cfg(
            tmp_path,
            f"dataset.data_files=[{path}]",
            "+dataset.columns={id:'编号',title:'标题',url:'链接',source:'总结',reference:'要点解析'}",
        )
    )
    (item,) = load_items(cfg.dataset)
    assert (item.id, item.reference) == ("q1", BULLETS)


def _hub_repo(root: Path) -> Path:
    """A repository-shaped folder with two subsets (configs), as on the hub."""
    repo = root / "org_ds"
    for subset in ("weekly", "daily"):
        (repo / subset).mkdir(parents=True)
        url = f"https://example.org/{subset}/1"
        row = {
            "id": f"{subset}-1",
            "title": subset,
            "url": url,
            "source": ARTICLE,
            "reference": list(BULLETS),
        }
        (repo / subset / "train.jsonl").write_text(
            json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    (repo / "README.md").write_text(
        "---\nconfigs:\n"
        "- config_name: weekly\n  data_files:\n  - split: train\n    path: weekly/train.jsonl\n"
        "- config_name: daily\n  data_files:\n  - split: train\n    path: daily/train.jsonl\n---\n",
        encoding="utf-8",
    )
    return repo


def test_hub_subset_is_loaded(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # A cache of its own: datasets keys a local repository's cache by name, not by content.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets-cache")
    repo = _hub_repo(tmp_path)
    items = load_items(DatasetConfig(name="hubby", hub_id=str(repo), subset="daily"))
    assert [i.id for i in items] == ["daily-1"]


def test_hub_subset_and_revision_are_passed_and_named_in_errors(monkeypatch):
    calls = []

    def fake_load(builder, **kwargs):
        calls.append((builder, kwargs))
        return [{"id": "x", "title": "t", "url": "", "source": ARTICLE}]

    monkeypatch.setattr(load, "_load_with_datasets", fake_load)
    cfg = DatasetConfig(name="hubby", hub_id="org/ds", subset="weekly", revision="v1.0", split="test")
    with pytest.raises(
        DatasetError, match=r"org/ds:weekly@v1.0\[0\]: field 'reference': missing required field"
    ):
        load_items(cfg)
    assert calls == [("org/ds", {"name": "weekly", "revision": "v1.0", "split": "test"})]
