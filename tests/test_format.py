"""Format scorer: bullet count, length window, Chinese share, empty output, settings."""

from __future__ import annotations

import pytest

from harness.data.schema import Item
from harness.score.format import VALUE_KEYS, FormatScorer, bullet_length, chinese_share

ITEM = Item(id="x", title="t", url="https://example.com", source="s", reference=("r",))

# Three realistic bullets, 50-80 characters each, almost all Chinese.
GOOD = [
    "智谱AI于10月20日披露，2023年内已累计完成超25亿元人民币融资，美团、蚂蚁、阿里、腾讯等产业方参投，资金主要投向基座大模型研发。",
    "公司孵化自清华大学知识工程实验室，自研GLM预训练框架，2022年发布1300亿参数的GLM-130B，开源的ChatGLM-6B下载量超千万次。",
    "大厂以“自研加投资”两条腿走路，在基座模型格局未定时保留选项；智谱则借产业方的应用场景寻找落地入口，商业化进展值得关注。",
]


def _score(bullets: list[str], **settings: object) -> tuple[dict[str, float], list[str], dict[str, object]]:
    [result] = FormatScorer(**settings).score([ITEM], [bullets])  # type: ignore[arg-type]
    return result.values, result.flags, result.evidence


def test_good_digest() -> None:
    values, flags, evidence = _score(GOOD)
    assert set(values) == set(VALUE_KEYS)
    assert values["format_bullet_count_ok"] == 1.0
    assert values["format_length_ok_rate"] == 1.0
    assert values["format_chinese_share"] > 0.7  # Latin names and digits count against it
    assert values["format_ok"] == 1.0
    assert flags == []
    assert evidence["bullet_lengths"] == [bullet_length(b) for b in GOOD]


@pytest.mark.parametrize(
    ("bullets", "count_ok"),
    [
        (GOOD, 1.0),
        (GOOD[:2], 0.0),
        (GOOD + GOOD[:1], 0.0),
        (GOOD + ["", "   "], 1.0),  # blank bullets are ignored
    ],
)
def test_bullet_count(bullets: list[str], count_ok: float) -> None:
    values, _, _ = _score(bullets)
    assert values["format_bullet_count_ok"] == count_ok
    assert values["format_ok"] == count_ok


def test_bullet_count_setting() -> None:
    values, _, _ = _score(GOOD[:2], n_bullets=2)
    assert values["format_bullet_count_ok"] == 1.0 and values["format_ok"] == 1.0


def test_length_counts_characters_without_whitespace() -> None:
    assert bullet_length("英伟达 发布 B200\n芯片。") == len("英伟达发布B200芯片。")
    assert bullet_length("  \t\u3000 ") == 0


def test_length_window_is_inclusive() -> None:
    forty = "字" * 40
    two_hundred = "字" * 200
    values, _, evidence = _score([forty, two_hundred, "字" * 39])
    assert evidence["bullet_lengths"] == [40, 200, 39]
    assert values["format_length_ok_rate"] == pytest.approx(2 / 3)
    assert values["format_ok"] == 0.0


def test_too_long_bullet() -> None:
    values, _, _ = _score([GOOD[0], GOOD[1], "字" * 201])
    assert values["format_length_ok_rate"] == pytest.approx(2 / 3)
    assert values["format_bullet_count_ok"] == 1.0
    assert values["format_ok"] == 0.0


def test_length_window_setting() -> None:
    values, _, _ = _score(GOOD, min_chars=10, max_chars=30)
    assert values["format_length_ok_rate"] == 0.0


def test_chinese_share() -> None:
    assert chinese_share(["中文"]) == 1.0
    assert chinese_share(["abcd"]) == 0.0
    assert chinese_share(["中文ab"]) == 0.5
    assert chinese_share(["中文１２"]) == 0.5  # full-width digits count as digits
    assert chinese_share(["中文，。！ ——"]) == 1.0  # punctuation and spaces do not count
    assert chinese_share(["", "，"]) == 0.0


def test_english_digest_fails_chinese_share() -> None:
    english = [
        "Zhipu AI disclosed on October 20 that it raised more than 2.5 billion yuan in 2023 from Meituan.",
        "The company spun out of Tsinghua University and released GLM-130B and ChatGLM-6B as open models.",
        "Big platforms hedge by building and investing at once while the foundation model race is open.",
    ]
    values, _, _ = _score(english, max_chars=200)
    assert values["format_chinese_share"] == 0.0
    assert values["format_bullet_count_ok"] == 1.0
    assert values["format_length_ok_rate"] == 1.0
    assert values["format_ok"] == 0.0


def test_chinese_share_threshold_setting() -> None:
    mixed = ["中" * 30 + "GPT" * 5 + "12345" for _ in range(3)]  # 30 CJK of 50 letters/digits
    values, _, _ = _score(mixed)
    assert values["format_chinese_share"] == pytest.approx(0.6)
    assert values["format_ok"] == 1.0  # default threshold 0.5
    assert _score(mixed, min_chinese_share=0.6)[0]["format_ok"] == 1.0  # inclusive
    assert _score(mixed, min_chinese_share=0.61)[0]["format_ok"] == 0.0


@pytest.mark.parametrize("bullets", [[], [""], ["  ", "\n"]])
def test_empty_output(bullets: list[str]) -> None:
    values, flags, _ = _score(bullets)
    assert values == dict.fromkeys(VALUE_KEYS, 0.0)
    assert flags == ["empty_output"]


def test_several_items_in_order() -> None:
    results = FormatScorer().score([ITEM, ITEM], [GOOD, GOOD[:1]])
    assert [r.values["format_ok"] for r in results] == [1.0, 0.0]


def test_bad_input_and_settings() -> None:
    with pytest.raises(ValueError):
        FormatScorer().score([ITEM], [])
    with pytest.raises(TypeError):
        FormatScorer().score([ITEM], ["一条要点"])  # type: ignore[list-item]
    for settings in ({"n_bullets": 0}, {"min_chars": 50, "max_chars": 10}, {"min_chinese_share": 1.5}):
        with pytest.raises(ValueError):
            FormatScorer(**settings)  # type: ignore[arg-type]


def test_meta() -> None:
    meta = FormatScorer(n_bullets=4, min_chars=30, max_chars=150, min_chinese_share=0.6).meta()
    assert meta["metric_version"] == "format/1"
    assert (meta["n_bullets"], meta["min_chars"], meta["max_chars"], meta["min_chinese_share"]) == (
        4,
        30,
        150,
        0.6,
    )
