"""Property tests: the ROUGE scorer against rouge-chinese (exclusive=False) and Google rouge-score.

Random bullets mix Chinese, Latin, digits (half- and full-width), punctuation, emoji, whitespace
and arbitrary Unicode; small alphabets give many repeated tokens and LCS ties, which is where
the trace-back order and the clipped counting matter.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge_chinese import Rouge
from rouge_score import rouge_scorer

from harness.data.schema import Item
from harness.score.rouge import (
    VALUE_KEYS,
    Reference,
    RougeScorer,
    _lcs_pass,
    rouge_l,
    rouge_lsum,
    rouge_n,
)
from harness.tokenize import char_tokens

CHINESE = "的了是在大模型发布开源参数训练芯片公司美元亿万用户推理数据中国英伟达阿里云"
LATIN = "abcxyzGPTAI"
DIGITS = "0123456789０１２３"  # full-width digits become half-width (NFKC)
PUNCT = "。！？，、；：…—.-%（）“”!?,·"
EMOJI = "🚀🤖😀👍🏻"
SPACE = " \t\u3000\u00a0\r"

# No "\n" inside a bullet: rouge-score's rougeLsum takes "\n" as the unit separator.
_mixed_char = st.one_of(
    st.sampled_from(CHINESE),
    st.sampled_from(LATIN + DIGITS),
    st.sampled_from(PUNCT + EMOJI + SPACE),
    st.characters(codec="utf-8", exclude_characters="\n"),
)
bullet = st.text(alphabet=_mixed_char, max_size=40)
bullets = st.lists(bullet, max_size=4)
# Whitespace and punctuation only: no tokens at all.
blank_bullets = st.lists(st.text(alphabet=st.sampled_from(SPACE + PUNCT), max_size=8), max_size=3)
# Token lists over tiny alphabets: many repeats and ties.
tiny_tokens = st.lists(st.sampled_from(["甲", "乙", "丙", "gpt"]), max_size=25)
tiny_unit = st.lists(st.sampled_from("甲乙丙"), max_size=15)
tiny_units = st.lists(st.lists(st.sampled_from("甲乙丙"), max_size=12), max_size=4)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_LIB = Rouge(metrics=["rouge-1", "rouge-2", "rouge-l"], exclusive=False, raw_results=True)


def _item(reference: Sequence[str]) -> Item:
    return Item(id="x", title="t", url="https://example.com", source="s", reference=tuple(reference))


def _as_lib_text(cand: Sequence[str], ref: Sequence[str]) -> tuple[str, str]:
    """Space-joined opaque ids ("t0 t1 ...") for the tokens, so that rouge-chinese, which re-splits
    sentences on 。！？… and words on spaces, sees exactly these token sequences."""
    ids: dict[str, str] = {}

    def encode(tokens: Sequence[str]) -> str:
        return " ".join(ids.setdefault(t, f"t{len(ids)}") for t in tokens)

    return encode(cand), encode(ref)


def _lib_counts(cand: Sequence[str], ref: Sequence[str], n: int | None = None) -> dict[str, dict[str, int]]:
    hyp_text, ref_text = _as_lib_text(cand, ref)
    lib = _LIB if n is None else Rouge(metrics=[f"rouge-{n}"], exclusive=False, raw_results=True)
    return lib.get_scores(hyp_text, ref_text)[0]  # hypothesis first


class _Chars:
    def tokenize(self, text: str) -> list[str]:
        return char_tokens(text)


class _Split:
    """Tokens given as a space-separated string (for token-level comparisons)."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


_GOOGLE_CHARS = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], tokenizer=_Chars())
_GOOGLE_TOKENS = rouge_scorer.RougeScorer(["rougeLsum"], tokenizer=_Split())


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= 1e-9


@PROPERTY
@given(cand=bullets, ref=bullets)
def test_scorer_equals_both_references(cand: list[str], ref: list[str]) -> None:
    [result] = RougeScorer().score([_item(ref)], [cand])
    values = result.values
    cand_tokens = [t for b in cand for t in char_tokens(b)]
    ref_tokens = [t for b in ref for t in char_tokens(b)]
    google = _GOOGLE_CHARS.score("\n".join(ref), "\n".join(cand))  # target first
    if not cand_tokens or not ref_tokens:
        # rouge-chinese raises on an empty side; the scorer gives zeros with a flag, as rouge-score.
        assert values == dict.fromkeys(VALUE_KEYS, 0.0)
        assert result.flags == ["empty_output"] * (not cand_tokens) + ["empty_reference"] * (not ref_tokens)
        assert all(s.fmeasure == 0 for s in google.values())
        return
    assert result.flags == []
    lib = _lib_counts(cand_tokens, ref_tokens)
    for metric, lib_name in (("rouge1", "rouge-1"), ("rouge2", "rouge-2"), ("rougeL", "rouge-l")):
        raw = lib[lib_name]
        p = raw["overlap"] / raw["hyp"] if raw["hyp"] else 0.0
        r = raw["overlap"] / raw["ref"] if raw["ref"] else 0.0
        assert values[f"{metric}_p"] == p and values[f"{metric}_r"] == r, metric
        assert _close(values[f"{metric}_f"], 2 * p * r / (p + r) if p + r else 0.0), metric
    for key in VALUE_KEYS:
        metric, stat = key.rsplit("_", 1)
        want = getattr(google[metric], {"p": "precision", "r": "recall", "f": "fmeasure"}[stat])
        assert _close(values[key], want), key


@settings(PROPERTY, max_examples=100)
@given(cand=blank_bullets, ref=bullets)
def test_blank_candidates_score_zero_with_flag(cand: list[str], ref: list[str]) -> None:
    [result] = RougeScorer().score([_item(ref)], [cand])
    assert result.values == dict.fromkeys(VALUE_KEYS, 0.0)
    assert "empty_output" in result.flags
    assert result.evidence["candidate_tokens"] == 0


@PROPERTY
@given(cand=tiny_tokens, ref=tiny_tokens, n=st.integers(1, 4))
def test_rouge_n_and_l_equal_rouge_chinese_on_tied_tokens(cand: list[str], ref: list[str], n: int) -> None:
    got_n, got_l = rouge_n(cand, ref, n), rouge_l(cand, ref)
    if not cand or not ref:
        assert got_n.fmeasure == got_l.fmeasure == 0.0
        return
    lib = _lib_counts(cand, ref, n)[f"rouge-{n}"]
    assert (got_n.precision, got_n.recall) == (
        lib["overlap"] / lib["hyp"] if lib["hyp"] else 0.0,
        lib["overlap"] / lib["ref"] if lib["ref"] else 0.0,
    )
    lcs = _lib_counts(cand, ref)["rouge-l"]["overlap"]
    assert (got_l.precision, got_l.recall) == (lcs / len(cand), lcs / len(ref))


@PROPERTY
@given(cand=tiny_units, ref=tiny_units)
def test_rouge_lsum_equals_rouge_score_on_tied_tokens(cand: list[list[str]], ref: list[list[str]]) -> None:
    ours = rouge_lsum(cand, ref)
    google = _GOOGLE_TOKENS.score("\n".join(" ".join(u) for u in ref), "\n".join(" ".join(u) for u in cand))
    g = google["rougeLsum"]
    assert _close(ours.precision, g.precision) and _close(ours.recall, g.recall), (cand, ref)
    assert _close(ours.fmeasure, g.fmeasure)


def _lcs_positions(ref: list[str], cand: list[str]) -> list[int]:
    """Reference positions of the LCS our trace-back picks for one (reference, candidate) pair."""
    hits = _lcs_pass(Reference.build([ref]), [cand], union=True)[1] >> (len(ref) + 1)
    return [i for i in range(len(ref)) if hits >> i & 1]


@PROPERTY
@given(
    cand=st.lists(st.sampled_from("甲乙丙"), max_size=15),
    ref=st.lists(st.sampled_from("甲乙丙"), max_size=15),
)
def test_trace_back_picks_rouge_scores_lcs(cand: list[str], ref: list[str]) -> None:
    """Not just the same scores: the same LCS positions as rouge-score's `_backtrack_norec`."""
    assert _lcs_positions(ref, cand) == rouge_scorer.lcs_ind(ref, cand)


def _random_bullets(seed: int, lengths: Sequence[int]) -> list[str]:
    import random

    rng = random.Random(seed)
    return ["".join(rng.choices(CHINESE + "gpt", k=k)) for k in lengths]


def _assert_equals_rouge_score(cand: list[str], ref: list[str]) -> None:
    [result] = RougeScorer().score([_item(ref)], [cand])
    google = _GOOGLE_CHARS.score("\n".join(ref), "\n".join(cand))
    for key in VALUE_KEYS:
        metric, stat = key.rsplit("_", 1)
        want = getattr(google[metric], {"p": "precision", "r": "recall", "f": "fmeasure"}[stat])
        assert _close(result.values[key], want), key


def test_long_inputs_bounded_memory() -> None:
    """3,000 characters a side: rouge-chinese builds a table of 9 million dict entries (~1.2 GB);
    the bit-parallel LCS keeps one big int per candidate token of the current bullet."""
    cand = _random_bullets(7, (1000, 1500, 500))
    ref = _random_bullets(8, (500, 2000, 500))
    tracemalloc.start()
    try:
        [result] = RougeScorer().score([_item(ref)], [cand])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.evidence["candidate_tokens"] > 2500 and result.evidence["reference_tokens"] > 2500
    assert peak < 20_000_000, peak


def test_longer_inputs_equal_rouge_score() -> None:
    _assert_equals_rouge_score(_random_bullets(9, (300, 200, 100)), _random_bullets(10, (150, 400, 50)))


@pytest.mark.slow
def test_long_inputs_equal_rouge_score() -> None:
    _assert_equals_rouge_score(_random_bullets(11, (1000, 1500, 500)), _random_bullets(12, (500, 2000, 500)))
