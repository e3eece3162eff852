"""Inputs that used to slip through validation: each is rejected before any call, with
file:line:field (the first line of a CSV record)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from harness.config import DatasetConfig
from harness.data.load import DatasetError, load_items

FIXTURE = Path(__file__).parent / "fixtures" / "mini_news.jsonl"
GOOD = json.loads(FIXTURE.read_text(encoding="utf-8").splitlines()[0])


def _load(path: Path):
    return load_items(DatasetConfig(name="t", data_files=[str(path)]))


def _jsonl(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _with(**changes) -> str:
    return json.dumps({**GOOD, **changes}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        # a JSON-escaped lone surrogate is valid JSON but not text
        (_with(source="前文\\ud800后文").replace("\\\\ud800", "\\ud800"), "source", "lone surrogate"),
        (_with(title="标题\u0000"), "title", "control character U+0000"),
        (_with(id="it-1\u001b[31m"), "id", "control character U+001B"),
        (_with(source="\u200b\u200b \u200d"), "source", "only invisible characters"),
        (_with(id="it-1 "), "id", "leading or trailing whitespace"),
        (_with(url=""), "url", "is empty"),
        (_with(reference=["好的要点", "\u200b"]), "reference[1]", "invisible"),
    ],
)
def test_bad_text_is_rejected_naming_line_and_field(tmp_path, line, field, words):
    path = _jsonl(tmp_path, _with(id="ok-0"), line)
    with pytest.raises(DatasetError) as info:
        _load(path)
    message = str(info.value)
    assert f"{path}:2: field '{field}'" in message and words in message, message


def test_multi_line_source_keeps_newlines_and_tabs(tmp_path):
    (item,) = _load(_jsonl(tmp_path, _with(source="第一段。\n\t第二段。")))
    assert "\n\t" in item.source


def test_csv_errors_point_at_the_first_line_of_the_record(tmp_path):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "title", "url", "source", "reference"])
    writer.writerow(["a", "标题", "https://x.example/a", "正文", "要点"])
    # lines 3-5, with an empty url
    writer.writerow(["b", "标题", "", "第一行\n第二行\n第三行", "要点一"])
    path = tmp_path / "d.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        _load(path)
    assert f"{path}:3: field 'url'" in str(info.value), str(info.value)


def test_corrupt_parquet_is_a_dataset_error_naming_the_file(tmp_path):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 64 + b"not really parquet")
    with pytest.raises(DatasetError) as info:
        _load(path)
    assert str(path) in str(info.value) and "parquet" in str(info.value)


def test_a_hub_dataset_without_network_is_a_dataset_error_naming_it(monkeypatch):
    import huggingface_hub.constants

    import datasets
    from harness.data import load

    # Everything the loader may switch to offline mode is restored after the test.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", datasets.config.HF_HUB_OFFLINE)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", huggingface_hub.constants.HF_HUB_OFFLINE)
    monkeypatch.setattr(load, "_hub_reachable", lambda timeout_s=3.0: False)
    with pytest.raises(DatasetError) as info:
        load_items(DatasetConfig(name="h", hub_id="no-such-org/no-such-dataset"))
    message = str(info.value)
    assert "field 'hub_id'" in message and "no-such-org/no-such-dataset" in message
    assert "not in the Hugging Face cache" in message
