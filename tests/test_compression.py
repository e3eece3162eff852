"""Compression: source characters ÷ digest characters, per item (reading saved, not quality)."""

from __future__ import annotations

import pytest

from harness.config import MetricsConfig
from harness.data.schema import Item
from harness.score import build_scorers, registry
from harness.score.compression import CompressionScorer


def _item(source: str) -> Item:
    return Item(id="x", title="t", url="", source=source, reference=("参考",))


def test_ratio_counts_characters_without_whitespace():
    source = "星河智能发布推理芯片。" * 20  # 220 characters
    (result,) = CompressionScorer().score(
        [_item(source + "\n\n  ")], [["星河智能 发布芯片。", "量产 在即。"]]
    )
    assert result.evidence == {"source_chars": 220, "digest_chars": 14}
    assert result.values == {"compression": pytest.approx(220 / 14)}
    assert result.flags == []


@pytest.mark.parametrize("bullets", [[], ["", "  \n"]])
def test_an_empty_digest_has_no_ratio(bullets):
    (result,) = CompressionScorer().score([_item("正文。")], [bullets])
    assert result.values == {} and result.flags == ["empty_output"]


def test_declared_on_by_default_and_switchable():
    column = registry.column("compression")
    assert column is not None and column.headline and column.higher_is_better
    assert registry.metric("compression").needs_reference is False
    assert any(isinstance(s, CompressionScorer) for s in build_scorers(MetricsConfig()))
    off = MetricsConfig()
    off.compression.enabled = False
    assert not any(isinstance(s, CompressionScorer) for s in build_scorers(off))
