"""ROUGE scorer: agreement with rouge-chinese and Google rouge-score, known values, edge cases."""

from __future__ import annotations

import random

import pytest
from rouge_chinese import Rouge
from rouge_score import rouge_scorer

from harness.data.schema import Item
from harness.score.rouge import VALUE_KEYS, RougeScorer, Score, rouge_l, rouge_lsum, rouge_n
from harness.tokenize import char_tokens, get_tokenizer

# (candidate bullets, reference bullets): AI-news digests, mixed Chinese, Latin words and numbers.
PAIRS = [
    (
        ["OpenAI发布GPT-4.5，API价格下调50%。", "新模型在MMLU上得分90.2，超过上一代。"],
        ["OpenAI推出GPT-4.5模型，API价格降低一半。", "GPT-4.5在MMLU基准得分90.2。", "面向Plus用户开放。"],
    ),
    (
        ["DeepSeek开源V3模型，参数量671B，训练成本约557万美元。"],
        ["深度求索（DeepSeek）开源DeepSeek-V3，总参数671B。", "训练仅花费约557.6万美元，远低于同类模型。"],
    ),
    (
        ["英伟达H20芯片对华出口受限。", "公司预计本季度损失55亿美元。", "股价盘后下跌6%。"],
        ["美国限制英伟达向中国出口H20芯片，", "英伟达预计将计提55亿美元费用！", "盘后股价下跌约6%？"],
    ),
    (
        ["阿里云发布通义千问Qwen2.5-Max，", "在Arena-Hard上领先，", "通过API提供服务。"],
        ["Qwen2.5-Max 是阿里云最新的MoE大模型……", "在多项基准上超过DeepSeek V3。"],
    ),
    (
        ["模型模型模型发布发布", "大模型大模型"],
        ["大模型发布", "模型发布会上发布了新模型"],
    ),
]


def _item(reference: list[str], item_id: str = "x") -> Item:
    return Item(id=item_id, title="t", url="https://example.com", source="s", reference=tuple(reference))


def _values(cand: list[str], ref: list[str], tokenizer: str = "char") -> dict[str, float]:
    [result] = RougeScorer(tokenizer).score([_item(ref)], [cand])
    return result.values


def _tokens(bullets: list[str], tokenizer: str) -> list[str]:
    tok = get_tokenizer(tokenizer)
    return [t for b in bullets for t in tok(b)]


class _CharTokenizer:
    """rouge-score tokenizer object doing exactly what our "char" tokenizer does."""

    def tokenize(self, text: str) -> list[str]:
        return char_tokens(text)


_GOOGLE = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], tokenizer=_CharTokenizer())


def _google(cand: list[str], ref: list[str]) -> dict[str, float]:
    scores = _GOOGLE.score("\n".join(ref), "\n".join(cand))  # target (reference) first
    out = {}
    for metric, s in scores.items():
        out[f"{metric}_p"], out[f"{metric}_r"], out[f"{metric}_f"] = s.precision, s.recall, s.fmeasure
    return out


# --- agreement with rouge-chinese ---------------------------------------------------------------


@pytest.mark.parametrize("tokenizer", ["char", "jieba"])
@pytest.mark.parametrize("cand,ref", PAIRS)
def test_rouge_1_2_l_equal_rouge_chinese(cand: list[str], ref: list[str], tokenizer: str) -> None:
    cand_tokens, ref_tokens = _tokens(cand, tokenizer), _tokens(ref, tokenizer)
    lib = Rouge(exclusive=False).get_scores(" ".join(cand_tokens), " ".join(ref_tokens))[0]
    ours = _values(cand, ref, tokenizer)
    functions = {
        "rouge1": rouge_n(cand_tokens, ref_tokens, 1),
        "rouge2": rouge_n(cand_tokens, ref_tokens, 2),
        "rougeL": rouge_l(cand_tokens, ref_tokens),
    }
    for metric, lib_name in (("rouge1", "rouge-1"), ("rouge2", "rouge-2"), ("rougeL", "rouge-l")):
        # P and R come from the same counts and the same division: exactly equal.
        assert ours[f"{metric}_p"] == lib[lib_name]["p"], metric
        assert ours[f"{metric}_r"] == lib[lib_name]["r"], metric
        # rouge-chinese's F adds 1e-8 to the denominator; ours is the exact harmonic mean.
        assert ours[f"{metric}_f"] == pytest.approx(lib[lib_name]["f"], abs=1e-8), metric
        s = functions[metric]
        assert (s.precision, s.recall, s.fmeasure) == (
            ours[f"{metric}_p"],
            ours[f"{metric}_r"],
            ours[f"{metric}_f"],
        )
    assert 0 < ours["rouge1_f"] < 1  # the fixtures are partial matches, not degenerate cases


# --- agreement with Google rouge-score ----------------------------------------------------------


@pytest.mark.parametrize("cand,ref", PAIRS)
def test_equal_google_rouge_score(cand: list[str], ref: list[str]) -> None:
    ours = _values(cand, ref, "char")
    google = _google(cand, ref)
    assert set(google) == set(VALUE_KEYS)
    for key in VALUE_KEYS:
        assert ours[key] == pytest.approx(google[key], abs=1e-9), key


def test_rouge_lsum_equals_google_on_random_repetitive_bullets() -> None:
    """Small alphabets give many repeated tokens and LCS ties: exercises tie-breaking and clipping."""
    rng = random.Random(20240501)
    alphabet = "甲乙丙丁"

    def bullets() -> list[str]:
        return ["".join(rng.choices(alphabet, k=rng.randint(1, 9))) for _ in range(rng.randint(1, 4))]

    for _ in range(300):
        cand, ref = bullets(), bullets()
        ours = rouge_lsum([char_tokens(b) for b in cand], [char_tokens(b) for b in ref])
        google = _GOOGLE.score("\n".join(ref), "\n".join(cand))["rougeLsum"]
        assert (ours.precision, ours.recall, ours.fmeasure) == pytest.approx(
            (google.precision, google.recall, google.fmeasure), abs=1e-9
        ), (cand, ref)


# --- known values -------------------------------------------------------------------------------


def test_clipped_counts() -> None:
    # Clipped: 甲 matches once. Set counting (rouge-chinese default) would give P=1, F=0.5.
    s = rouge_n(list("甲甲甲"), list("甲乙丙"), 1)
    assert s.precision == pytest.approx(1 / 3)
    assert s.recall == pytest.approx(1 / 3)
    assert s.fmeasure == pytest.approx(1 / 3)
    values = _values(["甲甲甲"], ["甲乙丙"])
    assert values["rouge1_f"] == pytest.approx(1 / 3)
    assert values["rougeLsum_f"] == pytest.approx(1 / 3)


def test_identical_is_exactly_one() -> None:
    cand, ref = PAIRS[0][1], PAIRS[0][1]
    for tokenizer in ("char", "jieba"):
        values = _values(cand, ref, tokenizer)
        assert values == dict.fromkeys(VALUE_KEYS, 1.0), tokenizer


def test_disjoint_is_zero() -> None:
    values = _values(["苹果发布iPhone 16"], ["谷歌推出Gemini模型"])
    assert values == dict.fromkeys(VALUE_KEYS, 0.0)


def test_rouge2_needs_two_tokens() -> None:
    assert rouge_n(["甲"], ["甲", "乙"], 2) == Score(0.0, 0.0, 0.0)
    assert rouge_n(["甲", "乙"], ["甲", "乙", "丙"], 2) == Score(1.0, 0.5, 2 / 3)


def test_tokens_are_passed_to_rouge_chinese_intact() -> None:
    """Tokens with spaces or 。！？ would be re-split by rouge-chinese if passed as plain text."""
    cand = ["a b", "完。", "真的？", "c"]
    ref = ["a b", "完。", "真的？", "d"]
    assert rouge_n(cand, ref, 1) == Score(0.75, 0.75, 0.75)
    assert rouge_n(cand, ref, 2) == Score(2 / 3, 2 / 3, 2 / 3)
    assert rouge_l(cand, ref) == Score(0.75, 0.75, 0.75)


# --- rougeLsum vs rougeL ------------------------------------------------------------------------


def test_rouge_lsum_ignores_bullet_order_rouge_l_does_not() -> None:
    ref = ["OpenAI发布GPT-4.5模型", "API价格下调50%", "向Plus用户开放"]
    cand = ["OpenAI发布GPT-4.5", "API价格降低50%", "Plus用户可用"]
    base = _values(cand, ref)
    shuffled_cand = _values(cand[::-1], ref)
    shuffled_both = _values([cand[1], cand[2], cand[0]], [ref[2], ref[0], ref[1]])
    for other in (shuffled_cand, shuffled_both):
        for stat in ("p", "r", "f"):
            assert other[f"rougeLsum_{stat}"] == pytest.approx(base[f"rougeLsum_{stat}"], abs=1e-12)
        assert other["rougeL_f"] < base["rougeL_f"] - 0.1
        # unigram counts do not depend on order
        assert other["rouge1_f"] == pytest.approx(base["rouge1_f"], abs=1e-12)


def test_rouge_lsum_union_of_lcs() -> None:
    # The ROUGE paper's example: r = w1..w5, c1 = w1 w2 w6 w7 w8, c2 = w1 w3 w8 w9 w5.
    ref = [["w1", "w2", "w3", "w4", "w5"]]
    cand = [["w1", "w2", "w6", "w7", "w8"], ["w1", "w3", "w8", "w9", "w5"]]
    s = rouge_lsum(cand, ref)
    assert s.recall == pytest.approx(4 / 5)
    assert s.precision == pytest.approx(4 / 10)


def test_rouge_lsum_empty_units() -> None:
    assert rouge_lsum([], [["甲"]]) == Score(0.0, 0.0, 0.0)
    assert rouge_lsum([[], ["甲"]], [["甲"], []]) == Score(1.0, 1.0, 1.0)


# --- empty output and errors --------------------------------------------------------------------


@pytest.mark.parametrize("cand", [[], [""], ["   ", "\n\t"], ["。！？……", "——"]])
@pytest.mark.parametrize("tokenizer", ["char", "jieba"])
def test_empty_candidate_scores_zero_with_flag(cand: list[str], tokenizer: str) -> None:
    [result] = RougeScorer(tokenizer).score([_item(["OpenAI发布GPT-4.5"])], [cand])
    assert result.values == dict.fromkeys(VALUE_KEYS, 0.0)
    assert result.flags == ["empty_output"]
    assert result.evidence["candidate_tokens"] == 0
    assert result.evidence["reference_tokens"] > 0


def test_pure_functions_on_empty_input() -> None:
    for s in (rouge_n([], ["甲"], 1), rouge_n(["甲"], [], 2), rouge_l([], ["甲"]), rouge_l(["甲"], [])):
        assert s == Score(0.0, 0.0, 0.0)


def test_evidence_and_order_of_results() -> None:
    items = [_item(["大模型发布"], "a"), _item(["芯片出口"], "b")]
    results = RougeScorer().score(items, [["芯片出口"], ["大模型", "发布"]])
    assert [r.values["rouge1_f"] for r in results] == [0.0, 0.0]
    results = RougeScorer().score(items, [["大模型", "发布"], ["芯片出口"]])
    assert [r.values["rouge1_f"] for r in results] == [1.0, 1.0]
    assert results[0].evidence == {
        "candidate_tokens": 5,
        "reference_tokens": 5,
        "candidate_bullets": 2,
        "reference_bullets": 1,
    }
    assert results[0].flags == []


def test_bad_tokenizer_names_config_field() -> None:
    with pytest.raises(ValueError, match=r"metrics\.rouge\.tokenizer"):
        RougeScorer("whitespace")


def test_bad_inputs() -> None:
    scorer = RougeScorer()
    with pytest.raises(ValueError, match="2 items but 1 candidates"):
        scorer.score([_item(["甲"]), _item(["乙"])], [["甲"]])
    with pytest.raises(TypeError, match="list of bullet strings"):
        scorer.score([_item(["甲"])], ["甲"])


def test_meta() -> None:
    meta = RougeScorer("char").meta()
    assert meta["tokenizer"] == "char-v1"
    assert meta["counting"] == "clipped"
    assert meta["rougeL"] == "sentence-level LCS over the whole summary"
    assert meta["rougeLsum"] == "summary-level union LCS, bullets as units"
    assert meta["implementation"] == "harness (bit-parallel LCS)"
    assert "rouge-chinese 1.0.3" in meta["checked_against"] and "rouge-score 0.1.2" in meta["checked_against"]
    assert meta["metric_version"] == "rouge/1"
    assert RougeScorer("jieba").meta()["tokenizer"].startswith("jieba-")
    assert RougeScorer.name == "rouge"
