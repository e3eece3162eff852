"""ROUGE edge cases through the public scorer API only (values worked out by hand)."""

from __future__ import annotations

import pytest

from harness.data.schema import Item
from harness.score.rouge import VALUE_KEYS, RougeScorer


def _score(cand: list[str], ref: list[str]):
    item = Item(id="x", title="t", url="https://example.com", source="s", reference=tuple(ref))
    [result] = RougeScorer("char").score([item], [cand])
    return result


def test_one_token_reference_has_no_bigrams_so_rouge2_recall_is_zero() -> None:
    # Reference "发" (one token, no bigram), candidate "发布会" (3 tokens, 2 bigrams).
    values = _score(["发布会"], ["发"]).values
    assert (values["rouge2_p"], values["rouge2_r"], values["rouge2_f"]) == (0.0, 0.0, 0.0)
    assert values["rouge1_r"] == 1.0 and values["rouge1_p"] == pytest.approx(1 / 3)
    assert values["rouge1_f"] == pytest.approx(0.5)


def test_empty_reference_scores_zero_with_its_flag() -> None:
    result = _score(["模型发布"], ["。！"])
    assert result.flags == ["empty_reference"]
    assert result.values == dict.fromkeys(VALUE_KEYS, 0.0)
