"""parse_bullets on the reply shapes models actually produce (table-driven, exact bullets)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from harness.generate.parse import ParsedReply, parse_bullets

B1 = "OpenAI发布新一代推理模型o5，数学与编程基准成绩大幅领先前代。"
B2 = "o5推理成本较o3下降60%，并向企业客户开放微调接口。"
B3 = "分析人士认为价格战将迫使谷歌、Anthropic等竞争对手跟进降价。"
THREE = [B1, B2, B3]

# (id, reply, expected bullets, expected flags)
CASES: list[tuple[str, str, list[str], tuple[str, ...]]] = [
    (
        "plain_dashes",
        f"- {B1}\n- {B2}\n- {B3}",
        THREE,
        (),
    ),
    (
        "header_fullwidth_colon_and_chatter",
        f"好的，以下是这篇文章的要点解析：\n\n要点解析：\n\n- {B1}\n- {B2}\n- {B3}\n\n希望对你有帮助。",
        THREE,
        (),
    ),
    (
        "quoted_header_ascii_colon",
        f"> 要点解析:\n> - {B1}\n> - {B2}\n> - {B3}",
        THREE,
        (),
    ),
    (
        "bold_header_star_bullets_with_bold_terms",
        "**要点解析**\n\n"
        "* **OpenAI发布o5**：数学与编程基准成绩大幅领先前代。\n"
        "* **成本下降**：推理成本较o3下降60%。\n"
        "* **行业影响**：竞争对手或被迫跟进降价。",
        [
            "OpenAI发布o5：数学与编程基准成绩大幅领先前代。",
            "成本下降：推理成本较o3下降60%。",
            "行业影响：竞争对手或被迫跟进降价。",
        ],
        (),
    ),
    (
        "numbered_dot_windows_line_ends",
        f"1. {B1}\r\n2. {B2}\r\n3. {B3}\r\n",
        THREE,
        (),
    ),
    (
        "numbered_dunhao_no_space",
        f"1、{B1}\n2、{B2}\n3、{B3}",
        THREE,
        (),
    ),
    (
        "paren_numbers_half_and_full_width",
        f"(1) {B1}\n（2）{B2}\n（３）{B3}",
        [B1, B2, B3],
        (),
    ),
    (
        "circled_numbers",
        f"①{B1}\n②{B2}\n③{B3}",
        THREE,
        (),
    ),
    (
        "chinese_numerals_as_headings",
        f"### 一、{B1}\n### 二、{B2}\n### 三、{B3}",
        THREE,
        (),
    ),
    (
        "bullet_dot_symbols_and_fullwidth_spaces",
        f"•\u3000{B1}\n·\u3000{B2}\n•{B3}",
        THREE,
        (),
    ),
    (
        "wrapped_bullets_join_lines",
        "- OpenAI发布新一代推理模型o5，\n  数学与编程基准成绩大幅领先前代。\n"
        "- o5推理成本较o3下降60%，\n并向企业客户开放微调接口。\n"
        "- 分析人士认为价格战将迫使\n  Google and Anthropic\n  跟进降价。",
        [B1, B2, "分析人士认为价格战将迫使Google and Anthropic跟进降价。"],
        (),
    ),
    (
        "code_fence_around_answer",
        f"```markdown\n要点解析：\n- {B1}\n- {B2}\n- {B3}\n```",
        THREE,
        (),
    ),
    (
        "stray_blank_lines_and_source_link",
        f"\n\n- {B1}\n\n\n- {B2}\n\n- {B3}\n\n原文链接: https://example.com/news/123\n",
        THREE,
        (),
    ),
    (
        "no_markers_blank_line_paragraphs",
        f"要点解析：\n\n{B1}\n\n{B2}\n\n{B3}\n\n如需进一步分析，请告诉我。",
        THREE,
        ("no_bullet_markers",),
    ),
    (
        "no_markers_single_paragraph",
        f"{B1}{B2}{B3}",
        [B1 + B2 + B3],
        ("no_bullet_markers",),
    ),
    (
        "no_markers_one_point_per_line",
        f"以下是要点：\n{B1}\n{B2}\n{B3}",
        THREE,
        ("no_bullet_markers",),
    ),
    (
        "bold_numbered_titles_with_paragraphs",
        "**1. 模型发布**\n\nOpenAI发布推理模型o5，基准成绩领先。\n\n"
        "**2. 价格下调**\n\n推理成本下降60%。\n\n"
        "**3. 行业影响**\n\n竞争对手或跟进降价。",
        [
            "模型发布：OpenAI发布推理模型o5，基准成绩领先。",
            "价格下调：推理成本下降60%。",
            "行业影响：竞争对手或跟进降价。",
        ],
        (),
    ),
    (
        "numbered_bold_titles_with_indented_body",
        "1. **模型发布**\n   OpenAI发布推理模型o5。\n2. **价格下调**\n   推理成本下降60%。\n"
        "3. **行业影响**\n   竞争对手或跟进降价。\n\n以上就是本文的要点总结。",
        ["模型发布：OpenAI发布推理模型o5。", "价格下调：推理成本下降60%。", "行业影响：竞争对手或跟进降价。"],
        (),
    ),
    (
        "dash_without_space",
        f"-{B1}\n-{B2}\n-{B3}\n-5%的降幅不是标记",
        [B1, B2, B3 + "-5%的降幅不是标记"],
        (),
    ),
    (
        "numbered_points_with_dash_subitems",
        "1. 模型发布\n   - o5基准成绩领先\n   - 首先面向付费用户\n2. 价格下调：\n   - 推理成本下降60%\n"
        "3. 行业影响\n- 竞争对手或跟进降价",
        [
            "模型发布：o5基准成绩领先；首先面向付费用户",
            "价格下调：推理成本下降60%",
            "行业影响：竞争对手或跟进降价",
        ],
        ("nested_items_joined",),
    ),
    (
        "chinese_outline_with_arabic_subpoints",
        "一、模型发布\n1. o5基准成绩领先。\n2. 首先面向付费用户。\n二、价格下调\n（1）推理成本下降60%。\n"
        "三、行业影响\n① 竞争对手或跟进降价。",
        [
            "模型发布：o5基准成绩领先。首先面向付费用户。",
            "价格下调：推理成本下降60%。",
            "行业影响：竞争对手或跟进降价。",
        ],
        ("nested_items_joined",),
    ),
    (
        "italics_inline_code_and_links",
        f"- *OpenAI*发布了`o5`模型，详见[官方博客](https://openai.com/blog)。\n- {B2}\n- {B3}",
        ["OpenAI发布了o5模型，详见官方博客。", B2, B3],
        (),
    ),
    (
        "trailing_summary_paragraph_dropped",
        f"- {B1}\n- {B2}\n- {B3}\n\n总体来看，这次发布标志着大模型竞争进入新阶段。",
        THREE,
        ("dropped_trailing_text",),
    ),
    (
        "preamble_content_dropped_and_flagged",
        f"本文讨论了OpenAI的新模型。\n- {B1}\n- {B2}\n- {B3}",
        THREE,
        ("dropped_preamble",),
    ),
    (
        "think_block_removed",
        f"<think>用户要求三条要点，我先通读全文。</think>\n\n- {B1}\n- {B2}\n- {B3}",
        THREE,
        ("think_block_removed",),
    ),
    (
        "header_with_first_point_inline",
        f"要点解析：1. {B1}\n2. {B2}\n3. {B3}",
        THREE,
        (),
    ),
    (
        "ordinal_labels_and_horizontal_rule",
        f"第一点：{B1}\n\n---\n\n第二点：{B2}\n\n---\n\n第三点：{B3}",
        THREE,
        (),
    ),
    (
        "decimal_number_is_not_a_marker",
        "- 新模型在基准测试中得分为\n3.5倍于前代，\n12.5%的用户已试用。\n- 第二点。",
        ["新模型在基准测试中得分为3.5倍于前代，12.5%的用户已试用。", "第二点。"],
        (),
    ),
    (
        "empty_reply",
        " \n\u3000\n\t",
        [],
        ("empty_reply",),
    ),
    (
        "chatter_only",
        "好的，以下是要点解析：",
        [],
        ("no_bullet_markers", "no_bullets"),
    ),
]


@pytest.mark.parametrize(("reply", "bullets", "flags"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_bullets(reply: str, bullets: list[str], flags: tuple[str, ...]) -> None:
    parsed = parse_bullets(reply)
    assert list(parsed.bullets) == bullets
    assert parsed.flags == flags


def test_parsed_reply_is_frozen() -> None:
    parsed = parse_bullets(f"- {B1}")
    assert isinstance(parsed, ParsedReply)
    assert isinstance(parsed.bullets, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.bullets = ()  # type: ignore[misc]


def test_parse_does_not_import_litellm() -> None:
    """parse.py stays a pure module: importing it must not pull in litellm (3-4 s, network)."""
    code = "import sys, harness.generate.parse; assert 'litellm' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
