"""Extractive baselines: pure functions, and end to end through litellm's custom provider `harness`."""

from __future__ import annotations

import asyncio
import os

import pytest

from harness.generate.baselines import (
    BASELINES,
    baseline_kwargs,
    is_baseline_model,
    lead_bullets,
    mean_rouge12_f,
    oracle_bullets,
    register,
    textrank_bullets,
)
from harness.generate.parse import parse_bullets
from harness.text import split_sentences

SENTENCES = [
    "北京时间周二凌晨，OpenAI正式发布新一代推理模型o5。",
    "该模型在数学竞赛和代码生成等基准测试中大幅领先前代产品o3。",
    "OpenAI表示，o5的推理成本比o3下降了60%，API价格同步下调。",
    "与此同时，OpenAI宣布向企业客户开放o5的微调接口。",
    "发布会现场还演示了o5自主完成一个完整软件项目的过程。",
    "分析人士认为，此次降价将迫使谷歌和Anthropic等竞争对手跟进，大模型价格战进一步升级。",
    "谷歌方面尚未对此作出回应，Anthropic则表示将在下月公布新的定价方案。",
    "据悉，o5将首先面向ChatGPT付费用户推出，免费用户需等待数周。",
    "OpenAI首席执行官称，公司计划在年底前推出支持图像和语音的多模态版本。",
    "业内人士指出，推理模型的成本下降将加速智能体应用在企业中的落地。",
    "国内厂商方面，DeepSeek和月之暗面也在近期密集发布了新的推理模型。",
    "有投资机构预计，明年全球大模型API市场规模将突破百亿美元。",
]
ARTICLE = "".join(SENTENCES)
REFERENCE = [
    "OpenAI发布新一代推理模型o5，数学和代码基准测试成绩大幅领先o3。",
    "o5推理成本比o3下降60%，API降价并向企业开放微调接口。",
    "分析人士认为降价将迫使谷歌、Anthropic等对手跟进，大模型价格战升级。",
]


def test_split_sentences_matches_fixture() -> None:
    assert split_sentences(ARTICLE) == SENTENCES


# ---- lead --------------------------------------------------------------------------------------


def test_lead_takes_first_sentences_up_to_max_chars() -> None:
    bullets = lead_bullets(ARTICLE)
    assert len(bullets) == 3
    joined = "".join(bullets)
    k = next(i for i in range(len(SENTENCES) + 1) if "".join(SENTENCES[:i]) == joined)
    assert k >= 3  # a prefix of the article, in order
    assert abs(len(joined) - 300) <= max(len(s) for s in SENTENCES)
    assert len(joined) < len(ARTICLE)


def test_lead_bullets_are_balanced_and_respect_n_and_max_chars() -> None:
    bullets = lead_bullets(ARTICLE, n=3)
    lengths = [len(b) for b in bullets]
    assert max(lengths) - min(lengths) <= max(len(s) for s in SENTENCES)
    assert lead_bullets(ARTICLE, n=2, max_chars=60) == [SENTENCES[0], SENTENCES[1]]
    assert lead_bullets(ARTICLE, n=1, max_chars=10) == [SENTENCES[0]]
    assert lead_bullets("只有一句话。") == ["只有一句话。"]
    assert lead_bullets("") == []


# ---- textrank ----------------------------------------------------------------------------------


def test_textrank_returns_n_sentences_in_article_order_deterministically() -> None:
    bullets = textrank_bullets(ARTICLE)
    assert len(bullets) == 3
    assert all(b in SENTENCES for b in bullets)
    positions = [SENTENCES.index(b) for b in bullets]
    assert positions == sorted(positions)
    assert textrank_bullets(ARTICLE) == bullets
    assert len(textrank_bullets(ARTICLE, n=5)) == 5
    assert textrank_bullets("第一句。第二句。", n=3) == ["第一句。", "第二句。"]


# ---- oracle ------------------------------------------------------------------------------------


def _article_sentences(bullets: list[str]) -> list[int]:
    """Positions in the article of the sentences making up the bullets."""
    return [SENTENCES.index(s) for b in bullets for s in split_sentences(b)]


def test_oracle_beats_lead_and_textrank_on_its_objective() -> None:
    oracle = oracle_bullets(ARTICLE, REFERENCE)
    assert 1 <= len(oracle) <= 3
    positions = _article_sentences(oracle)
    assert positions == sorted(set(positions))  # whole source sentences, in article order
    score = mean_rouge12_f(oracle, REFERENCE)
    assert score >= mean_rouge12_f(lead_bullets(ARTICLE), REFERENCE)
    assert score >= mean_rouge12_f(textrank_bullets(ARTICLE), REFERENCE)


def test_oracle_sentence_cap() -> None:
    capped = oracle_bullets(ARTICLE, REFERENCE, max_sentences=1)
    assert len(capped) == 1 and capped[0] in SENTENCES
    assert mean_rouge12_f(capped, REFERENCE) <= mean_rouge12_f(oracle_bullets(ARTICLE, REFERENCE), REFERENCE)


def test_oracle_picks_the_sentence_equal_to_the_reference() -> None:
    assert oracle_bullets(ARTICLE, [SENTENCES[6]]) == [SENTENCES[6]]


def test_oracle_stops_when_nothing_improves() -> None:
    assert oracle_bullets(ARTICLE, ["猫狗鱼虾。"]) == []


# ---- litellm provider ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def litellm_module():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    register()
    return litellm


def test_is_baseline_model() -> None:
    assert is_baseline_model("harness/lead")
    assert not is_baseline_model("openai/gpt-4o")
    assert not is_baseline_model("deepseek/deepseek-chat")


def test_register_is_idempotent(litellm_module) -> None:
    register()
    register()
    assert [e["provider"] for e in litellm_module.custom_provider_map].count("harness") == 1


def test_end_to_end_through_acompletion(litellm_module) -> None:
    litellm = litellm_module
    messages = [{"role": "user", "content": f"请为下文写要点解析：\n{ARTICLE}"}]

    async def run_all():
        return await asyncio.gather(
            *(
                litellm.acompletion(
                    model=f"harness/{name}",
                    messages=messages,
                    temperature=0,
                    max_tokens=512,
                    **baseline_kwargs(ARTICLE, REFERENCE),
                )
                for name in BASELINES
            )
        )

    responses = dict(zip(BASELINES, asyncio.run(run_all()), strict=True))
    expected = {
        "lead": lead_bullets(ARTICLE),
        "textrank": textrank_bullets(ARTICLE),
        "oracle": oracle_bullets(ARTICLE, REFERENCE),
    }
    for name, response in responses.items():
        parsed = parse_bullets(response.choices[0].message.content)
        assert list(parsed.bullets) == expected[name], name
        assert parsed.flags == ()
        assert response.model == f"harness/{name}"
        assert response.usage.prompt_tokens == 0
        assert response.usage.completion_tokens == 0
        assert litellm.completion_cost(completion_response=response) == 0


def test_missing_item_is_a_clear_error(litellm_module) -> None:
    litellm = litellm_module
    with pytest.raises(litellm.BadRequestError, match="baseline_kwargs"):
        litellm.completion(model="harness/lead", messages=[{"role": "user", "content": ARTICLE}])
    with pytest.raises(litellm.BadRequestError, match="unknown baseline"):
        litellm.completion(
            model="harness/nope", messages=[{"role": "user", "content": "x"}], **baseline_kwargs(ARTICLE, [])
        )
