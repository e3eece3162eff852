"""Facts checker: quantity normalisation, unsupported numbers/entities, a precision/recall table."""

from __future__ import annotations

import math

import pytest

from harness.data.schema import Item
from harness.score.factcheck import (
    Quantity,
    check_claim,
    extract_entities,
    extract_quantities,
    parse_chinese_number,
    unsupported_entities,
    unsupported_quantities,
)
from harness.score.facts import VALUE_KEYS, FactsScorer


def _q(text: str) -> list[tuple[object, str, str | None]]:
    return [(q.value, q.kind, q.unit) for q in extract_quantities(text)]


def _one(text: str) -> Quantity:
    found = extract_quantities(text)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------------------------
# Chinese numerals


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("三", 3),
        ("十", 10),
        ("十二", 12),
        ("二十五", 25),
        ("一百", 100),
        ("两千", 2000),
        ("三千五百", 3500),
        ("一千零五", 1005),
        ("三千五百万", 35_000_000),
        ("一千三百亿", 130_000_000_000),
        ("一万亿", 1_000_000_000_000),
        ("十二亿三千万", 1_230_000_000),
        ("二〇二三", 2023),
        ("九十九点三", 99.3),
        ("二百六十五", 265),
    ],
)
def test_parse_chinese_number(text: str, value: float) -> None:
    parsed = parse_chinese_number(text)
    assert parsed is not None
    assert math.isclose(parsed[0], value)


@pytest.mark.parametrize("text", ["", "万", "百", "一一", "三五十", "十百"])
def test_parse_chinese_number_rejects_malformed(text: str) -> None:
    assert parse_chinese_number(text) is None


# ---------------------------------------------------------------------------------------------
# Extraction: one quantity and its normalised value


@pytest.mark.parametrize(
    ("text", "value", "kind", "unit"),
    [
        ("融资 7.5 亿", 7.5e8, "number", None),
        ("融资7.5亿", 7.5e8, "number", None),
        ("规模 1.4 万亿", 1.4e12, "number", None),
        ("规模 14000 亿", 1.4e12, "number", None),
        ("用户 3500 万", 3.5e7, "number", None),
        ("下载 1,000 万次", 1e7, "number", None),
        ("下载 1，000 万次", 1e7, "number", None),
        ("共 １２ 家", 12, "number", None),
        ("增长 35%", 35, "percent", None),
        ("增长 35 %", 35, "percent", None),
        ("增长３５％", 35, "percent", None),
        ("增长百分之三十五", 35, "percent", None),
        ("提高 3 个百分点", 3, "percent", None),
        ("融资 7.5 亿美元", 7.5e8, "currency", "USD"),
        ("融资 7.5 亿美金", 7.5e8, "currency", "USD"),
        ("融资 25 亿元人民币", 2.5e9, "currency", "CNY"),
        ("融资 25 亿人民币", 2.5e9, "currency", "CNY"),
        ("融资三千五百万元", 3.5e7, "currency", "CNY"),
        ("融资 3.85 亿欧元", 3.85e8, "currency", "EUR"),
        ("融资 2 亿加元", 2e8, "currency", "CAD"),
        ("融资 2 亿港元", 2e8, "currency", "HKD"),
        ("融资 $1.2B", 1.2e9, "currency", "USD"),
        ("130 亿参数", 1.3e10, "size", None),
        ("130亿个参数", 1.3e10, "size", None),
        ("13B 模型", 1.3e10, "size", None),
        ("1.8T 模型", 1.8e12, "size", None),
        ("最长 60 秒", 60, "number", "s"),
        ("提前 300 毫秒", 0.3, "number", "s"),  # durations in seconds
        ("耗时 2 分钟", 120, "number", "s"),
        ("续航 1.5 天", 129_600, "number", "s"),
        ("全长 3.5 公里", 3500, "number", "m"),
        ("周期 2 年", 24, "number", "month"),
        ("第2天", 2, "number", "day"),  # an ordinal: a position, not a duration
        ("24GB 显存", 24, "number", "GB"),
        ("快 6 倍", 6, "number", "times"),
        ("第四季度", 4, "number", "quarter"),
        ("七部门", 7, "number", None),
        ("三种规模", 3, "number", None),
        ("二十四条", 24, "number", None),
    ],
)
def test_extract_single_quantity(text: str, value: float, kind: str, unit: str | None) -> None:
    q = _one(text)
    assert (q.kind, q.unit) == (kind, unit), q
    assert math.isclose(float(q.value), value, rel_tol=1e-9), q  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2 月 27 日", (None, 2, 27)),
        ("2月27日", (None, 2, 27)),
        ("2023-12-19", (2023, 12, 19)),
        ("2023/12/19", (2023, 12, 19)),
        ("2023年12月19日", (2023, 12, 19)),
        ("2023 年 12 月 19 日", (2023, 12, 19)),
        ("2023 年", (2023, None, None)),
        ("2024财年", (2024, None, None)),
        ("2023年10月", (2023, 10, None)),
        ("10 月", (None, 10, None)),
        ("11 日", (None, None, 11)),
        ("十月二十日", (None, 10, 20)),
        ("二〇二三年三月十四日", (2023, 3, 14)),
    ],
)
def test_extract_dates(text: str, value: tuple[int | None, ...]) -> None:
    q = _one(text)
    assert q.kind == "date" and q.value == value


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("发布 GPT-4.5 模型", "gpt-4.5"),
        ("智谱 GLM-4 上线", "glm-4"),
        ("Meta 发布 Llama 2，", "llama 2"),
        ("开源 Qwen-72B", "qwen-72b"),
        ("英伟达 B200 芯片", "b200"),
        ("Mixtral 8x7B 权重", "8x7b"),
        ("台积电 4NP 工艺", "4np"),
    ],
)
def test_versions_are_one_token(text: str, token: str) -> None:
    q = _one(text)
    assert (q.kind, q.value) == ("version", token)


def test_version_numbers_are_not_free_numbers() -> None:
    # "4.5" inside GPT-4.5 is not a number of its own, and a unit after a spaced number stops the
    # join ("Sora 60 秒" is a duration, not a model called "Sora 60").
    assert _q("GPT-4.5 比 GPT-4 强") == [("gpt-4.5", "version", None), ("gpt-4", "version", None)]
    assert _q("Sora 60 秒") == [(60.0, "number", "s")]
    assert _q("OpenAI 2023 年") == [((2023, None, None), "date", None)]


@pytest.mark.parametrize(
    "text",
    [
        "三星发布新机",
        "三大运营商",
        "十分重要",
        "一起推进",
        "统一标准",
        "零一万物发布",
        "数十亿美元",
        "第三方",
    ],
)
def test_words_with_numeral_characters_are_no_numbers(text: str) -> None:
    assert extract_quantities(text) == []


def test_ordinals_and_lone_digits() -> None:
    assert _q("全球第一") == [(1.0, "number", None)]
    assert _q("推出一款新模型") == []  # 一款 means "a"
    assert _q("推出两款新模型") == [(2.0, "number", None)]


def test_hedges_and_precision() -> None:
    q = _one("约 7.6 亿")
    assert q.approx and math.isclose(q.step, 1e7)
    assert _one("300多名专家").approx
    assert not _one("7.6 亿").approx


# ---------------------------------------------------------------------------------------------
# Support: (summary, source) pairs, faithful or not

SUPPORTED = [
    ("融资 7.5 亿", "公司完成7.5亿融资"),
    ("规模 1.4 万亿元", "产业规模达14000亿元"),
    ("13B 模型", "推出 130 亿参数模型"),
    ("参数量为 130 亿", "推出 13B 模型"),
    ("Qwen-72B 有 72B 参数", "开源 720 亿参数的 Qwen-72B"),
    ("共 １２ 家企业", "共12家企业"),
    ("增长 35%", "同比增长百分之三十五"),
    ("增长百分之三十五", "同比增长35 %"),
    ("2 月 27 日发布", "公司于2023年2月27日发布"),
    ("2023年2月27日发布", "公司于2023-02-27发布"),
    ("2023 年发布", "公司于2023年2月27日发布"),
    ("发布 GPT-4.5", "OpenAI 发布 GPT-4.5 模型"),
    ("4.5 版本", "OpenAI 发布 GPT-4.5 模型"),
    ("Llama2 开源", "Meta 开源 LLaMA 2"),
    ("约 7.6 亿美元", "营收 7.563 亿美元"),
    ("7.6 亿美元", "营收 7.563 亿美元"),
    ("超过 1000 万次", "下载量 1023 万次"),
    ("近 5 亿欧元", "累计融资 4.9 亿欧元"),
    ("估值 30 亿美元", "融资 5 亿美元，估值 30 亿"),
    ("三种规模", "提供 3 种规模"),
    ("5 亿至 10 亿美元", "融资 5-10 亿美元"),
    ("最长 60 秒", "视频最长可达60秒"),
    ("20 PFLOPS", "算力达 20 petaflops"),
    ("一千辆", "部署 1000 辆无人车"),
    ("MMLU 90.2", "在 MMLU 上得分 90.2"),
    ("约 20 亿美元", "估值约为 21 亿美元"),
    ("13B 模型", "参数量达 130 亿的模型"),
    ("10 月", "10月20日对外披露"),
]

UNSUPPORTED = [
    ("融资 7.5 亿元", "融资 7.5 亿美元", "7.5 亿元"),  # unit change
    ("用户 3500 亿", "用户 3500 万", "3500 亿"),  # magnitude change
    ("2024 年发布", "2023 年发布", "2024 年"),  # year change
    ("2 月 28 日发布", "2023年2月27日发布", "2 月 28 日"),
    ("营收 8.5 亿美元", "营收 7.5 亿美元", "8.5 亿美元"),
    ("增长 45%", "增长 35%", "45%"),
    ("增长 35 个百分点", "增长 3.5 个百分点", "35 个百分点"),
    ("65B 模型", "提供 70 亿、130 亿和 700 亿参数版本", "65B"),
    ("发布 GPT-4", "发布 GPT-4o", "GPT-4"),
    ("发布 GPT-4", "发布 GPT-4.5", "GPT-4"),
    ("发布 GPT-5", "发布 GPT-4 和 5 款应用", "GPT-5"),
    ("最长 60 分钟", "最长 60 秒", "60 分钟"),
    ("七部门", "六部门联合印发", "七部门"),
    ("第三季度", "第四季度营收增长", "第三季度"),
    ("7.6 亿美元", "营收 7.5 亿美元", "7.6 亿美元"),  # not a rounding of 7.5
    ("营收 8 亿美元", "营收 7.5 亿美元", "8 亿美元"),  # a rounding, but 6.7% off
    ("月活超 1 万", "上下文 8K", "1 万"),
    ("融资超 26 亿元", "融资超过 25 亿元", "26 亿元"),  # same precision: no hedge tolerance
    ("约 2 亿美元", "约 1.6 亿美元", "2 亿美元"),  # hedged but 25% off
    ("发布 Apache 8.0", "采用 Apache 2.0 开源许可协议发布，该模型每层有 8 个专家", "Apache 8.0"),
    ("用时 10 倍", "准确率提升 10%，速度快 3 倍", "10 倍"),  # unit named elsewhere is not enough
]


@pytest.mark.parametrize(("summary", "source"), SUPPORTED)
def test_supported_quantities(summary: str, source: str) -> None:
    assert unsupported_quantities(summary, source) == []


@pytest.mark.parametrize(("summary", "source", "bad"), UNSUPPORTED)
def test_unsupported_quantities(summary: str, source: str, bad: str) -> None:
    assert unsupported_quantities(summary, source) == [bad]


# ---------------------------------------------------------------------------------------------
# Unit equivalences and counts with 大


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("最长 2 分钟", "最长可达120秒"),
        ("延迟 0.5 秒", "端到端延迟仅500毫秒"),
        ("续航 2 天", "续航时间48小时"),
        ("训练耗时 0.75 小时", "训练耗时45分钟"),
        ("约 2 分钟", "耗时 118 秒"),  # hedged, within the precision of 分钟
        ("测试路段 2.5 公里", "测试路段长2500米"),
        ("覆盖 3.2 千米", "覆盖半径 3.2 公里"),
        ("算力 2 PFLOPS", "算力达 2000 TFLOPS"),
        ("周期 3 年", "周期为 36 个月"),
        ("5 大功能", "同步上线五大功能模块"),  # the source's count supports a plain number
    ],
)
def test_unit_equivalences_and_counts_supported(summary: str, source: str) -> None:
    assert check_claim(summary, source) == {"numbers": [], "entities": []}


@pytest.mark.parametrize(
    ("summary", "source", "bad"),
    [
        ("最长 3 分钟", "最长可达120秒", "3 分钟"),
        ("延迟 0.5 秒", "端到端延迟仅50毫秒", "0.5 秒"),
        ("续航 2 天", "续航 2 周", "2 天"),
        ("全长 2.5 米", "全长 2.5 公里", "2.5 米"),
        ("推出七大场景方案", "推出四大场景解决方案", "七大场景"),
        ("发布五大趋势", "报告发布了十大趋势", "五大趋势"),
    ],
)
def test_unit_and_count_changes_flagged(summary: str, source: str, bad: str) -> None:
    assert unsupported_quantities(summary, source) == [bad]


def test_counts_with_da_need_a_counterpart() -> None:
    # 三大/两大 with no "N 大<noun>" in the source: idiomatic or unverifiable, neither counted nor flagged.
    assert check_claim("两大运营商均已接入", "中国移动和中国联通均已接入") == {"numbers": [], "entities": []}
    assert check_claim("公司推出三大产品", "公司推出三大产品线") == {"numbers": [], "entities": []}
    assert extract_quantities("两大运营商") == []


# ---------------------------------------------------------------------------------------------
# Entities


def test_extract_entities_lexicon_latin_and_jieba() -> None:
    text = "英伟达CEO黄仁勋与 Mistral AI、OpenAI 和百度的代表在加州会面，Hugging Face 也在场。"
    ents = extract_entities(text)
    for name in ("英伟达", "黄仁勋", "Mistral AI", "OpenAI", "百度", "Hugging Face", "加州"):
        assert name in ents, ents
    assert "CEO" not in ents  # generic acronym


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("OpenAI 发布新模型", "openai 今日发布新模型"),  # case-insensitive
        ("Mistral AI 融资", "法国公司 MistralAI 完成融资"),  # spaces ignored
        ("LLaMA 开源", "Meta 开源 Llama"),
        ("英伟达股价上涨", "NVIDIA shares rose"),  # lexicon alias
        ("网信办发布办法", "国家互联网信息办公室发布办法"),  # abbreviation
        ("工信部印发计划", "工业和信息化部等六部门印发计划"),
        ("蚂蚁集团发布大模型", "蚂蚁在外滩大会发布大模型"),  # generic suffix
        ("智谱 AI 获投资", "智谱AI获得投资"),
    ],
)
def test_supported_entities(summary: str, source: str) -> None:
    assert unsupported_entities(summary, source) == []


@pytest.mark.parametrize(
    ("summary", "source", "bad"),
    [
        ("阿里巴巴发布文心大模型 4.0", "百度发布文心大模型 4.0", "阿里巴巴"),
        ("Anthropic 发布新模型", "OpenAI 发布新模型", "Anthropic"),
        ("腾讯领投", "阿里巴巴领投", "腾讯"),
        ("Snowflake 收购 MosaicML", "Databricks 收购 MosaicML", "Snowflake"),
        ("马化腾表示", "李彦宏表示", "马化腾"),
        ("北京发布措施", "上海发布措施", "北京"),
        ("Meta 发布模型", "Metaverse 相关公司发布模型", "Meta"),  # whole word only
    ],
)
def test_unsupported_entities(summary: str, source: str, bad: str) -> None:
    assert bad in unsupported_entities(summary, source)


def test_organisations_by_suffix_are_entities() -> None:
    ents = extract_entities("外交部和国家数据局发布通知，江苏省教育厅随后转发。")
    for name in ("外交部", "国家数据局", "江苏省教育厅"):
        assert name in ents, ents
    # Words ending in 部/局/院/办 that name nothing.
    text = "员工全部加入，内部部分团队保持学院派风格，公司总部设在该学院，行业格局生变，会议在京举办。"
    assert extract_entities(text) == []
    assert extract_entities("这家科技公司与人民医院的联合实验室") == []
    assert extract_entities("一家药物研发公司与零售巨头施瓦茨集团") == ["施瓦茨集团"]
    assert extract_entities("国家安全部发布通告") == ["国家安全部"]  # ends in 全部, but tagged nt


@pytest.mark.parametrize(
    ("summary", "source", "bad"),
    [
        ("外交部发表声明", "国防部发表声明", "外交部"),
        ("国家能源局印发方案", "国家数据局等部门印发方案", "国家能源局"),
        ("江苏省教育厅印发通知", "浙江省教育厅印发通知", "江苏省教育厅"),
        ("协和医院与阿里云合作", "华西医院与阿里云合作", "协和医院"),
        ("国家安全部发布通告", "国家安全局发布通告", "国家安全部"),  # not a slip of 国家安全
        # A generic suffix dropped must not leave a place or an unknown 2-character fragment.
        ("浙江大学团队发布模型", "复旦大学团队在浙江发布模型", "浙江大学"),
        ("同济大学团队发布", "同济医院与复旦大学团队发布", "同济大学"),
        ("北京大学参与研发", "北京理工大学参与研发", "北京大学"),
    ],
)
def test_unsupported_organisations(summary: str, source: str, bad: str) -> None:
    assert bad in unsupported_entities(summary, source)


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("外交部发表声明", "国防部和外交部发表声明"),
        ("国家数据局印发方案", "国家数据局等部门印发方案"),
        ("美国国防部宣布合作", "国防部宣布与美国企业合作"),
        ("协和医院与阿里云合作", "北京协和医院与阿里云合作"),
        ("北京市科委发文", "北京市科学技术委员会发文"),  # abbreviation
        ("昆仑芯科技发布新芯片", "昆仑芯发布新一代芯片"),  # a 3-character stem
        ("浙江大学团队发布模型", "浙江大学团队发布模型"),
    ],
)
def test_supported_organisations(summary: str, source: str) -> None:
    assert unsupported_entities(summary, source) == []


@pytest.mark.parametrize(
    ("summary", "source", "bad"),
    [
        ("研究发表于《细胞》", "研究发表于《柳叶刀》，揭示细胞层面的机制", "《细胞》"),
        ("欧盟《数字市场法》生效", "欧盟《人工智能法案》生效", "《数字市场法》"),
        ("论文刊于《自然·通讯》", "论文刊于《自然》", "《自然·通讯》"),
    ],
)
def test_unsupported_titles(summary: str, source: str, bad: str) -> None:
    assert unsupported_entities(summary, source) == [bad]


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("研究发表于《细胞》", "研究发表于 Cell 杂志"),  # journal alias
        ("研究发表在 Nature 上", "研究发表于《自然》"),
        ("《深度合成管理规定》施行", "《互联网信息服务深度合成管理规定》施行"),  # part of a title
        ("欧盟《AI法案》获批", "欧盟《人工智能法案》获批"),  # 人工智能 = AI
        ("发布《星火》", "发布“星火”大模型"),  # quoted in the source
        ("依据《数据安全法》", "依据数据安全法的规定"),  # no dictionary word: anywhere in the source
        ("刊登于《Science Robotics》", "a paper in Science Robotics"),
    ],
)
def test_supported_titles(summary: str, source: str) -> None:
    assert unsupported_entities(summary, source) == []


def test_titles_are_entities_and_mask_their_content() -> None:
    assert extract_entities("论文发表于《细胞》") == ["《细胞》"]
    assert extract_entities("欧盟通过《人工智能法案》") == ["欧盟", "《人工智能法案》"]


@pytest.mark.parametrize(
    ("summary", "source", "bad"),
    [
        ("阿里云CTO刘海涛称通义千问将全面开源", "阿里云 CTO 周靖人表示，通义千问将全面开源", "刘海涛"),
        ("首席科学家孙建明指出", "首席科学家刘知远指出", "孙建明"),
        ("副总裁黄海波介绍", "公司副总裁林国强介绍", "黄海波"),
    ],
)
def test_unsupported_persons_after_titles(summary: str, source: str, bad: str) -> None:
    assert bad in unsupported_entities(summary, source)


def test_persons_after_titles() -> None:
    # A surname token and a given name jieba does not tag as one name (王/nr 海峰/n).
    assert "王海峰" in extract_entities("某公司CTO王海峰称")
    assert unsupported_entities("某公司CTO王海峰称", "某公司CEO王海峰在会上称") == []
    assert unsupported_entities("CEO张伟今天宣布", "公司CEO张伟宣布") == []
    assert unsupported_entities("教授吴恩达认为", "吴恩达教授认为") == []
    assert extract_entities("CEO于近日表示") == []  # 于 is a preposition here, not a surname


def test_jieba_global_dictionary_untouched() -> None:
    import jieba

    jieba.initialize()
    before = (len(jieba.dt.FREQ), jieba.dt.total, jieba.lcut("智谱AI和月之暗面"))
    extract_entities("智谱AI和月之暗面、零一万物、百川智能都发布了新模型。")
    unsupported_entities("黄仁勋发布 B200", "英伟达发布 B200")
    assert (len(jieba.dt.FREQ), jieba.dt.total, jieba.lcut("智谱AI和月之暗面")) == before


def test_check_claim() -> None:
    source = "百度于 10 月 17 日发布文心大模型 4.0，李彦宏称其能力与 GPT-4 相比毫不逊色。"
    assert check_claim("10 月 17 日，百度发布文心大模型 4.0。", source) == {"numbers": [], "entities": []}
    assert check_claim("10 月 18 日，腾讯发布文心大模型 4.0。", source) == {
        "numbers": ["10 月 18 日"],
        "entities": ["腾讯"],
    }


# ---------------------------------------------------------------------------------------------
# Precision / recall on hand-written claims: (source excerpt, faithful claim, corrupted claim).
# Faithful claims paraphrase and re-format numbers; corrupted claims change one number, unit,
# date, version or entity of the faithful claim.

CLAIMS = [
    (
        "北京智谱华章科技有限公司（以下简称“智谱AI”）10月20日对外披露，公司在2023年内已累计完成超过25亿元人民币的融资。",
        "智谱AI 于 10 月 20 日披露，2023 年内累计融资超 25 亿元。",
        "智谱AI 于 10 月 20 日披露，2023 年内累计融资超 25 亿美元。",
    ),
    (
        "月之暗面完成新一轮超过10亿美元的融资，由阿里巴巴领投，砺思资本、小红书跟投，投后估值约25亿美元。",
        "月之暗面获阿里巴巴领投的逾 10 亿美元融资，估值约 25 亿美元。",
        "月之暗面获腾讯领投的逾 10 亿美元融资，估值约 25 亿美元。",
    ),
    (
        "法国初创公司Mistral AI宣布完成3.85亿欧元的A轮融资，由Andreessen Horowitz领投，公司估值约20亿美元。",
        "Mistral AI 完成 3.85 亿欧元 A 轮融资，a16z 领投，估值约 20 亿美元。",
        "Mistral AI 完成 3.85 亿美元 A 轮融资，a16z 领投，估值约 20 亿美元。",
    ),
    (
        "xAI 于 5 月 26 日宣布完成 60 亿美元的 B 轮融资，投前估值为 180 亿美元。",
        "xAI 在５月２６日宣布完成６０亿美元 B 轮融资。",
        "xAI 在 5 月 26 日宣布完成 80 亿美元 B 轮融资。",
    ),
    (
        "英伟达公布2024财年第四季度财报，营收221亿美元，同比增长265%，净利润122.9亿美元。",
        "英伟达第四季度营收 221 亿美元，同比增长百分之二百六十五。",
        "英伟达第四季度营收 221 亿美元，同比增长 165%。",
    ),
    (
        "黄仁勋在GTC 2024大会上发布了Blackwell架构的B200 GPU，集成2080亿个晶体管，而H100为800亿个。",
        "黄仁勋在 GTC 2024 发布 B200，晶体管数量达 2080 亿个。",
        "黄仁勋在 GTC 2024 发布 B100，晶体管数量达 2080 亿个。",
    ),
    (
        "工信部等六部门印发行动计划，提出到2025年算力规模超过300 EFLOPS，智能算力占比达到35%。",
        "六部门提出 2025 年算力规模超过 300 EFLOPS，智能算力占比达 35 %。",
        "六部门提出 2025 年算力规模超过 300 EFLOPS，智能算力占比达 45%。",
    ),
    (
        "国家网信办等七部门于2023年7月13日联合公布《生成式人工智能服务管理暂行办法》，自2023年8月15日起施行。",
        "网信办等七部门 7 月 13 日公布暂行办法，8 月 15 日起施行。",
        "网信办等七部门 7 月 13 日公布暂行办法，9 月 15 日起施行。",
    ),
    (
        "欧洲议会3月13日以523票赞成、46票反对、49票弃权通过《人工智能法案》。",
        "欧洲议会 3 月 13 日以 523 票赞成通过《人工智能法案》。",
        "欧洲议会 3 月 13 日以 532 票赞成通过《人工智能法案》。",
    ),
    (
        "Databricks宣布以约13亿美元收购生成式AI初创公司MosaicML，MosaicML的62名员工将全部加入。",
        "Databricks 以约 13 亿美元收购 MosaicML，62 名员工全部加入。",
        "Snowflake 以约 13 亿美元收购 MosaicML，62 名员工全部加入。",
    ),
    (
        "AMD于7月10日宣布以约6.65亿美元全现金收购芬兰Silo AI。",
        "AMD 7 月 10 日宣布以 6.65 亿美元现金收购 Silo AI。",
        "英特尔 7 月 10 日宣布以 6.65 亿美元现金收购 Silo AI。",
    ),
    (
        "火山引擎发布豆包大模型，主力模型输入价格仅为0.0008元/千tokens，比行业价格低99.3%。",
        "豆包主力模型输入价每千 tokens 0.0008 元，较行业低 99.3%。",
        "豆包主力模型输入价每千 tokens 0.008 元，较行业低 99.3%。",
    ),
    (
        "谷歌于 2 月 15 日发布 Gemini 1.5，首发版本 Gemini 1.5 Pro 采用混合专家架构。",
        "谷歌 2 月 15 日推出 Gemini 1.5 Pro，采用 MoE 架构。",
        "谷歌 2 月 15 日推出 Gemini 2.5 Pro，采用 MoE 架构。",
    ),
    (
        "OpenAI 于 2 月 15 日发布文生视频模型 Sora，可生成最长 60 秒的视频。",
        "OpenAI 发布 Sora，可生成长达 60 秒的视频。",
        "OpenAI 发布 Sora，可生成长达 60 分钟的视频。",
    ),
    (
        "百度于 10 月 17 日在百度世界 2023 大会上发布文心大模型 4.0。",
        "百度 10 月 17 日发布文心大模型 4.0。",
        "阿里巴巴 10 月 17 日发布文心大模型 4.0。",
    ),
    (
        "Meta 于 7 月 18 日发布开源大模型 Llama 2，提供 70 亿、130 亿和 700 亿参数三种规模。",
        "Meta 发布 Llama 2，提供 7B、13B、70B 三种规模。",
        "Meta 发布 Llama 2，提供 7B、13B、65B 三种规模。",
    ),
    (
        "阿里云于 12 月 1 日开源 720 亿参数的 Qwen-72B，并同步开源 Qwen-1.8B。",
        "阿里云 12 月 1 日开源 72B 参数的 Qwen-72B 和 Qwen-1.8B。",
        "阿里云 12 月 1 日开源 72B 参数的 Qwen-72B 和 Qwen-7B。",
    ),
    (
        "Mixtral 8x7B 总参数为 467 亿，每个 token 实际使用约 129 亿参数。",
        "Mixtral 8x7B 总参数 46.7B，单 token 激活约 12.9B。",
        "Mixtral 8x7B 总参数 56.7B，单 token 激活约 12.9B。",
    ),
    (
        "谷歌 DeepMind 预测出 220 万种此前未知的晶体结构，其中约 38 万种被判定为稳定。",
        "DeepMind 预测了 220 万种新晶体结构，约 38 万种稳定。",
        "DeepMind 预测了 220 万种新晶体结构，约 38 亿种稳定。",
    ),
    (
        "百度计划在2024年底前在武汉部署1000辆无人车，并预计2025年全面盈利。",
        "百度计划 2024 年底在武汉部署一千辆无人车，2025 年全面盈利。",
        "百度计划 2024 年底在武汉部署一千辆无人车，2026 年全面盈利。",
    ),
    (
        "公司成立于2019年，2023年3月14日开源了拥有62亿参数的ChatGLM-6B。",
        "ChatGLM-6B 于 2023-03-14 开源，参数量为 6.2B。",
        "ChatGLM-6B 于 2023-03-15 开源，参数量为 6.2B。",
    ),
    (
        "英伟达H20芯片受限，公司预计本季度将计提约55亿美元费用，股价盘后下跌6%。",
        "英伟达预计计提约 55 亿美元，盘后股价跌 6%。",
        "英伟达预计计提约 55 亿美元，盘后股价跌 9%。",
    ),
    (
        "微软宣布Inflection AI联合创始人穆斯塔法·苏莱曼加盟，担任新成立的Microsoft AI部门CEO。",
        "苏莱曼加盟微软，出任 Microsoft AI 部门 CEO。",
        "苏莱曼加盟谷歌，出任 Microsoft AI 部门 CEO。",
    ),
    (
        "三星于 1 月 17 日发布 Galaxy S24 系列，通话实时翻译支持 13 种语言。",
        "三星 1 月 17 日发布 Galaxy S24，实时翻译支持十三种语言。",
        "三星 1 月 17 日发布 Galaxy S23，实时翻译支持十三种语言。",
    ),
    (
        "普林斯顿大学团队提出的AI控制方法可提前300毫秒预测托卡马克中的撕裂模不稳定性。",
        "普林斯顿大学的 AI 方法能提前 300 毫秒预测撕裂模不稳定性。",
        "普林斯顿大学的 AI 方法能提前 300 秒预测撕裂模不稳定性。",
    ),
    (
        "欧洲议会通过的法案规定，违反禁令最高罚款3500万欧元或全球营业额的7%。",
        "违反禁令最高罚 3500 万欧元或全球营业额 7%。",
        "违反禁令最高罚 3500 亿欧元或全球营业额 7%。",
    ),
    (
        "据测算，到2030年中国人工智能核心产业规模将达1.4万亿元。",
        "预计 2030 年中国 AI 核心产业规模达 14000 亿元。",
        "预计 2030 年中国 AI 核心产业规模达 1.4 万亿美元。",
    ),
    (
        "字节跳动旗下火山引擎宣布，豆包大模型日均处理 1200 亿 tokens。",
        "火山引擎称豆包日均处理 1,200 亿 tokens。",
        "火山引擎称豆包日均处理 1,200 万 tokens。",
    ),
    (
        "OpenAI 于 2023 年 3 月 14 日发布 GPT-4，称其在模拟律师考试中排名前 10%。",
        "OpenAI 于 3 月 14 日推出 GPT-4，律师考试成绩位列前 10%。",
        "Anthropic 于 3 月 14 日推出 GPT-4，律师考试成绩位列前 10%。",
    ),
    (
        "百川智能 2023年12月19日宣布，其大模型月活用户突破1亿。",
        "百川智能于2023年12月19日宣布月活用户破一亿。",
        "百川智能于2024年12月19日宣布月活用户破一亿。",
    ),
    (
        "OpenAI 发布 GPT-4.5，API 价格为每百万输入 token 75 美元。",
        "OpenAI 推出 GPT-4.5，输入价格每百万 token 75 美元。",
        "OpenAI 推出 GPT-4.5，输入价格每百万 token 75 元。",
    ),
    (
        "腾讯混元大模型参数规模超过千亿，预训练语料超过 2 万亿 tokens。",
        "腾讯混元参数超千亿，预训练语料逾 2 万亿 tokens。",
        "腾讯混元参数超千亿，预训练语料逾 2 千亿 tokens。",
    ),
    (
        "Stability AI 发布 Stable Diffusion 3，参数规模从 8 亿到 80 亿不等。",
        "Stable Diffusion 3 参数规模 0.8B 至 8B。",
        "Stable Diffusion 3 参数规模 0.8B 至 18B。",
    ),
    (
        "苹果在 WWDC 上宣布与 OpenAI 合作，将 ChatGPT 集成到 iOS 18 中。",
        "苹果与 OpenAI 合作，把 ChatGPT 接入 iOS 18。",
        "苹果与 OpenAI 合作，把 ChatGPT 接入 iOS 17。",
    ),
    (
        "深度求索发布 DeepSeek-V3，总参数 6710 亿，训练成本约 557.6 万美元。",
        "DeepSeek-V3 总参数 671B，训练成本约 557.6 万美元。",
        "DeepSeek-V3 总参数 671B，训练成本约 557.6 万欧元。",
    ),
    (
        "网易有道于 7 月 26 日发布教育大模型“子曰”，并推出六款应用。",
        "网易有道 7 月 26 日发布“子曰”，同时推出 6 款应用。",
        "网易有道 7 月 26 日发布“子曰”，同时推出 8 款应用。",
    ),
    (
        "谷歌宣布将向Anthropic追加投资最高20亿美元，先期投入5亿美元。",
        "谷歌向 Anthropic 追加最高 20 亿美元投资，首期 5 亿美元。",
        "亚马逊向 Anthropic 追加最高 20 亿美元投资，首期 5 亿美元。",
    ),
    (
        "华为发布盘古大模型 3.0，覆盖 10 亿、380 亿、710 亿和 1000 亿参数四个版本。",
        "华为盘古 3.0 提供 1B、38B、71B、100B 四个版本。",
        "华为盘古 3.0 提供 1B、38B、71B、200B 四个版本。",
    ),
    (
        "商汤科技 2023 年营收 34.06 亿元，生成式 AI 业务收入同比增长 200%。",
        "商汤 2023 年营收约 34.1 亿元，生成式 AI 收入增长 200%。",
        "商汤 2023 年营收约 43.1 亿元，生成式 AI 收入增长 200%。",
    ),
    (
        "李彦宏表示，文心一言用户规模已突破 1 亿，日均调用量达 5000 万次。",
        "李彦宏称文心一言用户已超 1 亿，日均调用 5,000 万次。",
        "李彦宏称文心一言用户已超 1 亿，日均调用 5,000 亿次。",
    ),
    (
        "Anthropic 发布 Claude 3.5 Sonnet，在 GPQA 等基准上超过 GPT-4o。",
        "Anthropic 推出 Claude 3.5 Sonnet，多项基准超越 GPT-4o。",
        "Anthropic 推出 Claude 3.5 Sonnet，多项基准超越 GPT-4。",
    ),
    (
        "上海市发布行动方案，计划到 2025 年建成智能算力规模超过 100 EFLOPS 的算力基础设施。",
        "上海计划 2025 年智能算力规模超 100 EFLOPS。",
        "北京计划 2025 年智能算力规模超 100 EFLOPS。",
    ),
    (
        "马斯克旗下 xAI 计划用约 10 万块 H100 打造超级计算机。",
        "xAI 拟用约十万块 H100 建超算。",
        "xAI 拟用约十万块 A100 建超算。",
    ),
    (
        "国家数据局于 10 月 25 日正式揭牌，由国家发展改革委管理。",
        "国家数据局 10 月 25 日揭牌，归国家发展改革委管理。",
        "国家能源局 10 月 25 日揭牌，归国家发展改革委管理。",
    ),
    (
        "该模型可在 90 秒内生成一段 4K 视频。",
        "该模型 1.5 分钟内可生成一段 4K 视频。",
        "该模型 1.5 小时内可生成一段 4K 视频。",
    ),
    (
        "研究成果于 3 月 6 日发表在《细胞》杂志上。",
        "成果 3 月 6 日发表于《细胞》。",
        "成果 3 月 6 日发表于《柳叶刀》。",
    ),
    (
        "大会发布了人工智能的五大趋势。",
        "大会发布 AI 五大趋势。",
        "大会发布 AI 七大趋势。",
    ),
    (
        "阿里云 CTO 周靖人表示，通义千问将全面开源。",
        "阿里云CTO周靖人称通义千问将全面开源。",
        "阿里云CTO刘海涛称通义千问将全面开源。",
    ),
    (
        "英特尔于 12 月 14 日发布酷睿 Ultra 移动处理器，首次集成 NPU。",
        "英特尔 12 月 14 日推出酷睿 Ultra，首次集成 NPU。",
        "AMD 12 月 14 日推出酷睿 Ultra，首次集成 NPU。",
    ),
]


def _flagged(claim: str, source: str) -> bool:
    verdict = check_claim(claim, source)
    return bool(verdict["numbers"] or verdict["entities"])


def test_claim_table_is_well_formed() -> None:
    assert len(CLAIMS) >= 40
    assert len({c[1] for c in CLAIMS}) == len(CLAIMS) and all(c[1] != c[2] for c in CLAIMS)


def test_precision_recall_on_claim_table() -> None:
    false_alarms = [(claim, check_claim(claim, src)) for src, claim, _ in CLAIMS if _flagged(claim, src)]
    missed = [bad for src, _, bad in CLAIMS if not _flagged(bad, src)]
    n = len(CLAIMS)
    recall = 1 - len(missed) / n
    false_alarm_rate = len(false_alarms) / n
    print(f"\nfacts claim table: n={n} recall={recall:.3f} false_alarm_rate={false_alarm_rate:.3f}")
    assert recall >= 0.9, missed
    assert false_alarm_rate <= 0.05, false_alarms


@pytest.mark.parametrize(("source", "faithful", "corrupted"), CLAIMS[:6])
def test_claim_table_rows_individually(source: str, faithful: str, corrupted: str) -> None:
    assert not _flagged(faithful, source)
    assert _flagged(corrupted, source)


# ---------------------------------------------------------------------------------------------
# Scorer


def _item(source: str) -> Item:
    return Item(id="x", title="t", url="https://example.com", source=source, reference=("r",))


SOURCE = (
    "百度于 10 月 17 日在百度世界 2023 大会上发布文心大模型 4.0，李彦宏称其综合能力与 GPT-4 相比毫不逊色。"
    "文心一言用户规模已突破 4500 万，开发者 80 万。"
)


def test_scorer_faithful_and_unfaithful() -> None:
    scorer = FactsScorer()
    good, bad = scorer.score(
        [_item(SOURCE), _item(SOURCE)],
        [
            ["百度 10 月 17 日发布文心大模型 4.0，对标 GPT-4。", "文心一言用户超 4500 万。"],
            ["腾讯 10 月 17 日发布文心大模型 4.0。", "文心一言用户超 5500 万，开发者 80 万。"],
        ],
    )
    assert set(good.values) == set(VALUE_KEYS)
    assert good.values["facts_number_unsupported_rate"] == 0.0
    assert good.values["facts_entity_unsupported_rate"] == 0.0
    assert good.flags == []
    assert bad.flags == ["unsupported_number", "unsupported_entity"]
    assert bad.evidence["unsupported_numbers"] == ["5500 万"]
    assert bad.evidence["unsupported_entities"] == ["腾讯"]
    # quantities: 10 月 17 日, 4.0, 5500 万, 80 万 -> 1 of 4 unsupported
    assert bad.values["facts_numbers"] == 4.0
    assert bad.values["facts_number_unsupported_rate"] == pytest.approx(0.25)
    assert bad.values["facts_entity_unsupported_rate"] == pytest.approx(1 / bad.values["facts_entities"])


def test_scorer_reads_title_and_date() -> None:
    item = Item(
        id="x",
        title="百度发布文心大模型4.0",
        url="https://example.com",
        source="该公司于 10 月 17 日发布新一代模型。",
        reference=("r",),
        date="2023-10-17",
    )
    [result] = FactsScorer().score([item], [["百度 2023 年 10 月 17 日发布文心大模型 4.0。"]])
    assert result.flags == [], result.evidence


def test_scorer_empty_output() -> None:
    [result] = FactsScorer().score([_item(SOURCE)], [["", "  "]])
    assert result.values == dict.fromkeys(VALUE_KEYS, 0.0)
    assert result.flags == ["empty_output"]


def test_scorer_no_quantities_gives_zero_rate() -> None:
    [result] = FactsScorer().score([_item(SOURCE)], [["百度发布新一代大模型。"]])
    assert result.values["facts_numbers"] == 0.0
    assert result.values["facts_number_unsupported_rate"] == 0.0


def test_scorer_rejects_bad_input() -> None:
    scorer = FactsScorer()
    with pytest.raises(ValueError):
        scorer.score([_item(SOURCE)], [])
    with pytest.raises(TypeError):
        scorer.score([_item(SOURCE)], ["百度发布"])  # type: ignore[list-item]


def test_scorer_meta() -> None:
    import jieba

    meta = FactsScorer().meta()
    assert meta["metric_version"] == "facts/5"
    assert meta["jieba"] == jieba.__version__
    assert meta["numbers"] and meta["entities"]
