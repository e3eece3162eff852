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


# The functions below the scorer, called directly: branches the scorer never reaches (it returns
# before them on an empty side) and what it records about itself.


def test_rouge_all_on_an_empty_side_gives_four_plain_zeros() -> None:
    from harness.score.rouge import ZERO, Reference, rouge_all

    ref = Reference.build([["模", "型"]])
    for cand_units, reference in (
        ([], ref),
        ([[]], ref),
        ([["模"]], Reference.build([])),
        ([["模"]], Reference.build([[]])),
    ):
        scores = rouge_all(cand_units, reference)
        assert scores == {"rouge1": ZERO, "rouge2": ZERO, "rougeL": ZERO, "rougeLsum": ZERO}
        # 0.0, not -0.0 (0 / -1 for ROUGE-2 of a 0-token candidate prints as "-0.0" in a row)
        assert all(str(v) == "0.0" for s in scores.values() for v in (s.precision, s.recall, s.fmeasure))


def test_rouge_n_below_one_is_refused_with_the_value() -> None:
    from harness.score.rouge import rouge_n

    with pytest.raises(ValueError, match=r"ROUGE-N needs n >= 1, not 0"):
        rouge_n(["a"], ["a"], 0)


def test_meta_states_every_setting_behind_the_numbers() -> None:
    # Written out: meta() is recorded in every row and keys the score cache, so a change must be
    # deliberate (and bump metric_version when the numbers change).
    assert RougeScorer("char").meta() == {
        "tokenizer": "char-v1",
        "counting": "clipped",
        "rougeL": "sentence-level LCS over the whole summary",
        "rougeLsum": "summary-level union LCS, bullets as units",
        "fmeasure": "2PR/(P+R) from raw counts",
        "empty_output": "all values 0.0",
        "implementation": "harness (bit-parallel LCS)",
        "checked_against": "rouge-chinese 1.0.3 exclusive=False (1/2/L), rouge-score 0.1.2 (rougeLsum)",
        "metric_version": "rouge/1",
    }


def test_the_metrics_config_builds_the_scorer_with_its_tokenizer() -> None:
    from harness.config import MetricsConfig
    from harness.score import build_scorers

    cfg = MetricsConfig()
    [rouge] = [s for s in build_scorers(cfg) if s.name == "rouge"]
    assert isinstance(rouge, RougeScorer) and rouge.tokenizer == cfg.rouge.tokenizer == "char"
    cfg.rouge.enabled = False
    assert not [s for s in build_scorers(cfg) if s.name == "rouge"]
