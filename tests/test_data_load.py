"""Dataset loading and validation: every error names the file, the line and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import DatasetConfig
from harness.data.load import DatasetError, load_items

FIXTURE = Path(__file__).parent / "fixtures" / "mini_news.jsonl"
GOOD = json.loads(FIXTURE.read_text(encoding="utf-8").splitlines()[0])


def _cfg(*paths: Path, **kw) -> DatasetConfig:
    return DatasetConfig(name="t", data_files=[str(p) for p in paths], **kw)


def _write_jsonl(path: Path, records: list) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records) + "\n",
        encoding="utf-8",
    )
    return path


def test_loads_fixture_in_order():
    items = load_items(_cfg(FIXTURE))
    assert [i.id for i in items] == ["mini-1", "mini-2", "mini-3", "mini-4"]
    assert len(items[0].reference) == 3
    assert items[0].reference_text.count("\n") == 2
    assert items[1].date == "2024-06-02"


def test_limit():
    assert [i.id for i in load_items(_cfg(FIXTURE, limit=2))] == ["mini-1", "mini-2"]


@pytest.mark.parametrize(
    ("record", "line_field", "phrase"),
    [
        ({k: v for k, v in GOOD.items() if k != "source"}, "field 'source'", "missing required field"),
        ({**GOOD, "source": "   "}, "field 'source'", "is empty"),
        ({**GOOD, "reference": "一条字符串"}, "field 'reference'", "expected a list"),
        ({**GOOD, "reference": []}, "field 'reference'", "empty list"),
        ({**GOOD, "reference": ["好", 3]}, "field 'reference[1]'", "non-empty string"),
        ({**GOOD, "title": 42}, "field 'title'", "expected a string"),
        ({**GOOD, "metadata": [1]}, "field 'metadata'", "expected an object"),
        ('{"id": "x", "title": ', None, "invalid JSON"),
        ("[1, 2]", None, "expected an object"),
    ],
)
def test_bad_records_name_file_line_and_field(tmp_path, record, line_field, phrase):
    path = _write_jsonl(tmp_path / "bad.jsonl", [{**GOOD, "id": "ok-1"}, record])
    with pytest.raises(DatasetError) as err:
        load_items(_cfg(path))
    message = str(err.value)
    assert f"{path}:2:" in message
    if line_field:
        assert line_field in message
    assert phrase in message


def test_duplicate_ids_name_both_lines(tmp_path):
    path = _write_jsonl(tmp_path / "dup.jsonl", [GOOD, {**GOOD, "title": "另一个"}])
    with pytest.raises(
        DatasetError, match=r"dup.jsonl:2: field 'id': duplicate id 'mini-1' \(first at .*dup.jsonl:1\)"
    ):
        load_items(_cfg(path))


def test_non_utf8_names_line(tmp_path):
    path = tmp_path / "gbk.jsonl"
    path.write_bytes(
        json.dumps(GOOD, ensure_ascii=False).encode()
        + b"\n"
        + json.dumps(GOOD, ensure_ascii=False).replace("mini-1", "mini-9").encode("gbk")
    )
    with pytest.raises(DatasetError, match=r"gbk.jsonl:2: not valid UTF-8"):
        load_items(_cfg(path))


def test_missing_file_names_config_field(tmp_path):
    with pytest.raises(DatasetError, match=r"field 'data_files': file not found: .*nope.jsonl"):
        load_items(_cfg(tmp_path / "nope.jsonl"))


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="contains no items"):
        load_items(_cfg(path))


def test_all_problems_reported_at_once(tmp_path):
    path = _write_jsonl(tmp_path / "many.jsonl", [{**GOOD, "id": f"x{i}", "source": ""} for i in range(3)])
    with pytest.raises(DatasetError) as err:
        load_items(_cfg(path))
    assert len(err.value.problems) == 3


def test_csv_with_newline_bullets_and_int_ids(tmp_path):
    import csv

    path = tmp_path / "items.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "title", "url", "source", "reference", "date"])
        writer.writeheader()
        writer.writerow(
            {
                "id": 1,
                "title": "标题",
                "url": "https://example.com/1",
                "source": GOOD["source"],
                "reference": "\n".join(GOOD["reference"]),
                "date": "",
            }
        )
        writer.writerow(
            {
                "id": 2,
                "title": "标题二",
                "url": "https://example.com/2",
                "source": GOOD["source"],
                "reference": json.dumps(GOOD["reference"], ensure_ascii=False),
                "date": "2024-01-02",
            }
        )
    items = load_items(_cfg(path))
    assert [i.id for i in items] == ["1", "2"]
    assert items[0].reference == tuple(GOOD["reference"]) == items[1].reference
    assert items[0].date is None and items[1].date == "2024-01-02"


def test_csv_missing_column_names_line(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("id,title,url,source\n1,t,u,正文\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"items.csv:2: field 'reference': missing required field"):
        load_items(_cfg(path))


def test_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    path = tmp_path / "items.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    assert [i.id for i in load_items(_cfg(path))] == [r["id"] for r in rows]


def test_extra_fields_kept_in_metadata(tmp_path):
    path = _write_jsonl(tmp_path / "x.jsonl", [{**GOOD, "关键词": "芯片"}])
    assert load_items(_cfg(path))[0].metadata["关键词"] == "芯片"


def test_local_and_hub_are_exclusive():
    with pytest.raises(DatasetError, match="exactly one of data_files"):
        load_items(DatasetConfig(name="t", data_files=[str(FIXTURE)], hub_id="org/ds"))


def test_hub_style_dataset_directory_loads_through_datasets(tmp_path, monkeypatch):
    """`hub_id` goes through datasets.load_dataset; a local repo-shaped directory exercises that path."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = tmp_path / "org_ds"
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "train.jsonl").write_text(FIXTURE.read_text(encoding="utf-8"), encoding="utf-8")
    items = load_items(DatasetConfig(name="hubby", hub_id=str(repo), split="train"))
    assert [i.id for i in items] == ["mini-1", "mini-2", "mini-3", "mini-4"]
    assert items[0].date == "2024-05-10"
    assert items[0].reference == tuple(GOOD["reference"])
