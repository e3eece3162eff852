"""The fact checker's general rules for other writers' notations: aliases across scripts (the
lexicon in data/entity_groups.tsv), brand names jieba reads as common words, deterministic lexicon
order. Each case is a hand-written summary/source pair, not taken from a calibration item."""

from __future__ import annotations

import pytest

from harness.score.factcheck import check_claim, extract_entities, extract_quantities, unsupported_entities
from harness.score.factcheck.lexicon import alias_index


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("NIST 发布评估框架", "美国国家标准与技术研究院发布评估框架"),
        ("世界卫生组织发布指南", "WHO 发布指南"),
        ("IEA 预计数据中心用电翻倍", "国际能源署预计数据中心用电翻倍"),
        ("FTC 对交易展开调查", "美国联邦贸易委员会对交易展开调查"),
        ("欧盟委员会公布草案", "European Commission 公布草案"),
        ("工信部印发通知", "工业和信息化部印发通知"),
        ("CAC 公布备案名单", "国家互联网信息办公室公布备案名单"),
        ("网信办公布备案名单", "国家网信办公布备案名单"),
        ("Nvidia 市值上涨", "英伟达市值上涨"),
        ("ByteDance 发布模型", "字节跳动发布模型"),
        ("DeepSeek 开源新模型", "深度求索开源新模型"),
        ("Zhipu 完成融资", "智谱完成融资"),
        ("Moonshot AI 发布 Kimi", "月之暗面发布Kimi"),
        ("阿里云降价", "Alibaba Cloud 宣布降价"),
        ("IDC 报告显示", "国际数据公司报告显示"),
        ("ITU 举办峰会", "国际电信联盟举办峰会"),
        ("Sam Altman 表示", "萨姆·奥尔特曼表示"),
        ("Demis Hassabis 称", "戴密斯·哈萨比斯称"),
        ("HPE 制造", "由慧与制造"),
        ("LLNL 部署新超算", "劳伦斯利弗莫尔国家实验室部署新超算"),
        ("根据 AI Act 规定", "根据《人工智能法案》规定"),
        ("可灵上线新功能", "Kling 上线新功能"),
        ("豆包日活增长", "Doubao 日活增长"),
    ],
)
def test_aliases_across_scripts(summary: str, source: str) -> None:
    assert unsupported_entities(summary, source) == []


@pytest.mark.parametrize(
    ("summary", "source", "bad"),
    [
        ("FTC 展开调查", "美国司法部展开调查", "FTC"),
        ("WHO 发布指南", "世界贸易组织发布指南", "WHO"),
        ("豆包接入新模型", "元宝接入新模型", "豆包"),
        ("可灵发布新版本", "即梦发布新版本", "可灵"),
        ("混元接入搜索", "通义接入搜索", "混元"),
        ("天工月活破千万", "星火月活破千万", "天工"),
        ("网信办公布名单", "工业和信息化部公布名单", "网信办"),
    ],
)
def test_swapped_brands_and_agencies_flagged(summary: str, source: str, bad: str) -> None:
    assert bad in unsupported_entities(summary, source)


@pytest.mark.parametrize("brand", ["豆包", "可灵", "元宝", "即梦", "通义", "混元", "天工", "星火", "Kimi"])
def test_brand_names_are_entities_whatever_jieba_tags(brand: str) -> None:
    assert brand in extract_entities(f"用户可以在{brand}里直接生成视频")


def test_lexicon_order_is_deterministic() -> None:
    _, forms = alias_index()
    keys = [(-len(f), f) for f in forms]
    assert keys == sorted(keys)


def test_common_words_with_brand_homographs_not_extracted() -> None:
    # 浪潮 (Inspur) and 光速 (Lightspeed) are also ordinary words: support-only lexicon forms.
    assert check_claim("AI浪潮席卷全球", "人工智能浪潮席卷各国")["entities"] == []


@pytest.mark.parametrize("text", ["员工每天工作八小时", "系统可灵活部署", "普通义务教育", "一场新浪潮"])
def test_brand_homographs_inside_ordinary_words_not_extracted(text: str) -> None:
    # 天工, 可灵, 通义, 新浪 as parts of 每天/工作, 灵活, 普通/义务, 新浪潮: no names.
    assert extract_entities(text) == []


def test_transliterated_name_without_given_name() -> None:
    assert unsupported_entities("萨姆·奥尔特曼表示", "OpenAI首席执行官奥尔特曼表示") == []
    assert "萨姆·奥尔特曼" in unsupported_entities("萨姆·奥尔特曼表示", "马斯克表示")


# ---------------------------------------------------------------------------------------------
# Quantities written in other notations


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        # quarters and fiscal years
        ("公司 2024 年 Q3 营收增长", "公司2024年第三季度营收增长"),
        ("Q1 出货量创新高", "一季度出货量创新高"),
        ("FY26 Q2 数据中心收入", "2026财年第二季度数据中心收入"),
        ("2026财年第二季度收入", "FY2026 Q2 revenue"),
        # tenths (成) as percentages
        ("约三成用户付费", "约30%的用户付费"),
        ("近七成企业部署", "68%的企业已部署"),
        ("占比三成半", "占比35%"),
        ("45% 的受访者", "四成五的受访者"),
        # magnitudes of magnitudes, E 级
        ("每秒 174.2 亿亿次", "实测性能1.742 EFLOPS"),
        ("算力 280 EFLOPS", "算力达每秒2.8万亿亿次浮点运算"),
        ("E 级超算", "百亿亿次级超级计算机"),
        ("百亿亿次超算", "实测 1.2 EFLOPS"),
        ("算力 2 EFLOPS", "算力2000 PFLOPS"),
        # a unit after a counting word, magnitude letters before a unit
        ("日均处理 100 万个 token", "日均处理100万token"),
        ("支持 1M token 上下文", "支持100万 token上下文"),
        ("上下文 200 万 tokens", "上下文扩展至2M tokens"),
        ("五类应用", "5类应用"),
        ("3 家公司", "三家公司"),
        # prices per amount of tokens
        ("每千万 token 8 元", "每百万 token 0.8元"),
        ("输入价格 0.002 元/千 tokens", "输入价格为每百万tokens 2元"),
        ("$2.5 per million tokens", "每百万 token 2.5 美元"),
        # currencies spelled out in English
        ("融资 5 亿美元", "raised 500 million dollars"),
        ("融资 5 亿美元", "raised USD 500 million"),
        ("估值 12 亿美元", "valued at 1.2 billion US dollars"),
        # funding rounds
        ("完成 B 轮融资", "宣布完成B轮融资"),
        ("Pre-A轮融资", "完成 Pre-A 轮融资"),
        ("C 轮融资", "Series C funding"),
        # full-width digits and hedges
        ("营收 １２ 亿元", "营收12亿元"),
        ("超过 1000 万用户", "用户数达1023万"),
        ("将近 5 亿", "4.9亿"),
    ],
)
def test_notations_supported(summary: str, source: str) -> None:
    assert check_claim(summary, source)["numbers"] == [], check_claim(summary, source)


@pytest.mark.parametrize(
    ("summary", "source", "bad"),
    [
        ("公司 2024 年 Q2 营收增长", "公司2024年第三季度营收增长", "Q2"),
        ("FY25 收入", "2026财年收入", "FY25"),
        ("约四成用户付费", "约30%的用户付费", "四成"),
        ("占比三成", "占比35%", "三成"),
        ("每秒 17.42 亿亿次", "实测性能1.742 EFLOPS", "17.42 亿亿次"),
        ("P 级超算", "百亿亿次级超级计算机", "P 级"),
        ("日均处理 100 万个 token", "日均处理10万token", "100 万个 token"),
        ("每千万 token 8 元", "每百万 token 8元", "8 元"),
        ("融资 5 亿美元", "raised 500 million euros", "5 亿美元"),
        ("完成 C 轮融资", "宣布完成B轮融资", "C 轮"),
        ("完成 A+ 轮融资", "宣布完成A轮融资", "A+ 轮"),
        ("完成天使轮融资", "完成种子轮融资", "天使轮"),
        ("Pre-A轮融资", "完成 A 轮融资", "Pre-A轮"),
    ],
)
def test_changed_values_in_other_notations_flagged(summary: str, source: str, bad: str) -> None:
    assert bad in check_claim(summary, source)["numbers"]


@pytest.mark.parametrize("text", ["成为行业第一", "三成立于2019年", "一成不变", "Q1 2025"])
def test_cheng_words_and_periods_are_no_names_or_percentages(text: str) -> None:
    assert not [q for q in extract_quantities(text) if q.kind == "percent"]
    assert "Q1" not in extract_entities(text)


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("24 小时内完成", "一天内完成"),
        ("一年内上线", "12个月内上线"),
        ("90 分钟", "一个半小时"),
        ("半小时内", "30分钟内"),
        ("约三分之一的用户", "33%的用户"),
        ("75% 的企业", "四分之三的企业"),
    ],
)
def test_durations_halves_and_fractions(summary: str, source: str) -> None:
    assert check_claim(summary, source)["numbers"] == []


@pytest.mark.parametrize(
    ("summary", "source", "bad"),
    [
        ("48 小时内完成", "一天内完成", "48 小时"),
        ("两个半小时", "一个半小时", "两个半小时"),
        ("四分之一的企业", "30%的企业", "四分之一"),
    ],
)
def test_changed_durations_and_fractions_flagged(summary: str, source: str, bad: str) -> None:
    assert bad in check_claim(summary, source)["numbers"]


def test_latin_title_word_splits_names() -> None:
    assert extract_entities("OpenAI CEO Sam Altman表示") == ["OpenAI", "Sam Altman"]
    assert check_claim("OpenAI CEO Sam Altman表示", "OpenAI首席执行官萨姆·奥尔特曼表示")["entities"] == []


def test_fiscal_years_compared_with_fiscal_years() -> None:
    source = "英伟达2026财年第二季度（截至2025年7月27日）营收467亿美元。"
    assert check_claim("英伟达FY26 Q2营收467亿美元。", source)["numbers"] == []
    assert "FY25" in check_claim("英伟达FY25 Q2营收467亿美元。", source)["numbers"]
    assert check_claim("公司2025财年营收增长", "公司2025年营收增长")["numbers"] == []


def test_prices_per_tokens_with_input_or_output_words() -> None:
    source = "API价格维持每百万输入tokens 2元不变。"
    assert check_claim("API价格为每千输入tokens 0.002元。", source)["numbers"] == []
    assert check_claim("API价格为每千输入tokens 0.02元。", source)["numbers"]


def test_ai_is_rengong_zhineng_in_names() -> None:
    assert unsupported_entities("人工智能办公室成立", "欧盟AI办公室成立") == []
    assert unsupported_entities("AI Office 开始运作", "欧盟委员会成立人工智能办公室") == []


def test_a_place_is_no_abbreviation_of_scattered_characters() -> None:
    # 中国 is not found in "其中美国" (中 ... 国 within five characters).
    assert "中国" in unsupported_entities("中国约占一半", "其中美国约占一半")


@pytest.mark.parametrize(
    ("summary", "source", "flagged"),
    [
        ("用户突破1000万", "用户达1023万", False),
        ("用户突破1100万", "用户达1023万", True),  # 突破 is a lower bound: 1023 万 is below it
        ("超过1000万家", "约980万家", True),
        ("1000多万用户", "1023万用户", False),
        ("不到1000万用户", "1023万用户", True),  # an upper bound
        ("近1000万用户", "968万用户", False),
        ("约1000万用户", "980万用户", False),  # 约 goes both ways
    ],
)
def test_one_sided_hedges_keep_their_side(summary: str, source: str, flagged: bool) -> None:
    assert bool(check_claim(summary, source)["numbers"]) == flagged


def test_results_do_not_depend_on_the_hash_seed() -> None:
    import os
    import subprocess
    import sys

    code = (
        "from harness.score.factcheck import check_claim, extract_entities;"
        "print(extract_entities('华为云与腾讯云、阿里云、百度智能云和字节跳动火山引擎竞争'),"
        " check_claim('英伟达和AMD分别占80%和10%', 'AMD和英伟达分别占10%和80%'))"
    )
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outs.add(run.stdout)
    assert len(outs) == 1
