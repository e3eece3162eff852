"""Second round of the fact checker's general rules (facts/4): names read in their slot
(alignment.py), cautious Latin names, acronyms spelled out, slash fractions, amounts in words,
business acronyms and English magnitude words, and the lexicon's breadth. Each case is a
hand-written summary/source pair, not taken from a calibration item."""

from __future__ import annotations

import pytest

from harness.score.factcheck import check_claim, extract_quantities


def _flags(summary: str, source: str) -> list[str]:
    result = check_claim(summary, source)
    return result["numbers"] + result["entities"]


# --- A name swapped for another name of the same source, its context repeated -------------------

_SHOPS = (
    "甲公司的购物助手Atlas已覆盖全部城市，乙公司的写作助手Beacon则仍在内测。"
    "另据报道，丙公司推出的客服机器人Comet日均处理工单50万件。"
)
_CHIPS = "美光计划于明年下半年开始量产HBM4，此前的HBM3E仍是其主力产品。三星的HBM3E则在等待认证。"
_BANKS = "招商银行行长日前表示该行已上线智能投研平台。建设银行则披露其金融科技投入为200亿元。"
_PARTNERS = "MGX于今年1月宣布参与该项目。阿布扎比的G42则与OpenAI合作在当地建设数据中心集群。"


@pytest.mark.parametrize(
    ("faithful", "swapped", "source"),
    [
        ("甲公司的购物助手Atlas已覆盖全部城市", "甲公司的购物助手Beacon已覆盖全部城市", _SHOPS),
        ("美光计划明年下半年开始量产HBM4", "美光计划明年下半年开始量产HBM3E", _CHIPS),
        ("招商银行行长日前表示已上线智能投研平台", "建设银行行长日前表示已上线智能投研平台", _BANKS),
        ("G42与OpenAI合作在当地建设数据中心集群", "MGX与OpenAI合作在当地建设数据中心集群", _PARTNERS),
    ],
)
def test_a_name_in_another_names_slot_is_flagged(faithful: str, swapped: str, source: str) -> None:
    assert _flags(faithful, source) == []
    assert _flags(swapped, source) != []


def test_names_listed_together_share_their_slot() -> None:
    # The summary keeps two of a list of names: the last kept name takes the context of the list's
    # last name, which is no swap.
    source = "参与方包括华为、小米、联想、OPPO等终端厂商，均表示将接入该模型。"
    assert _flags("小米、OPPO等终端厂商均表示将接入该模型", source) == []
    assert _flags("华为、联想等终端厂商均表示将接入该模型", source) == []


def test_variants_of_one_name_are_no_swap_but_numbered_variants_are() -> None:
    source = "该公司发布Nova 2 Turbo，每百万token输入价格1元；Turbo系列此前已有三款产品。X1接口也同步开放。"
    assert _flags("Nova 2 Turbo每百万token输入价格1元", source) == []
    source = "新品采用LPDDR5X内存，带宽较上一代LPDDR5提升50%。"
    assert _flags("新品采用LPDDR5X内存", source) == []
    assert _flags("新品采用LPDDR5内存", source) != []


def test_figures_alone_do_not_tie_a_name_to_a_slot() -> None:
    # Contexts that share only figures (于2024, 10万块) say nothing about whose they are.
    source = "Orion于2023年12月发布。Vega于2024年8月成为首个获证产品。"
    assert _flags("Vega于2024年8月成为首个获证产品", source) == []


# --- Latin names the source writes in Chinese -----------------------------------------------------


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        # Not in the lexicon, the source writes no Latin name: most likely a translation.
        ("Shanghai Robotics Alliance发布白皮书", "上海机器人产业联盟发布白皮书"),
        ("CRIA 发布白皮书", "中国机器人产业联盟发布白皮书"),
        # In the same slot as unnamed Chinese words, though the source has other Latin names.
        ("Quantum Valley Institute于3月5日发布报告，OpenAI参与", "量子谷研究所于3月5日发布报告，OpenAI参与"),
    ],
)
def test_unknown_latin_name_for_a_chinese_name_is_not_flagged(summary: str, source: str) -> None:
    assert _flags(summary, source) == []


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        # The lexicon knows the name: its aliases decide.
        ("Anthropic 发布白皮书", "上海机器人产业联盟发布白皮书"),
        # The slot holds another name the source gives.
        ("Foo Labs于3月5日发布报告", "OpenAI于3月5日发布报告，谷歌随后跟进"),
        # The lexicon knows it as another agency (FCC, not FTC = 美国联邦贸易委员会).
        ("FCC向五家公司发出强制令", "美国联邦贸易委员会向五家公司发出强制令"),
    ],
)
def test_latin_name_against_another_name_is_flagged(summary: str, source: str) -> None:
    assert _flags(summary, source) != []


def test_acronym_spelled_out_in_the_source() -> None:
    source = "该模型在Massive Multitask Benchmark上得分85分。"
    assert _flags("该模型在MMB上得分85分", source) == []
    assert _flags("该模型在MMLU上得分85分", source) != []
    assert _flags("该模型在Massive Multitask Benchmark上得分85分", "该模型在MMB上得分85分") == []


# --- Lexicon breadth: aliases across scripts -----------------------------------------------------


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("JPMorgan Chase 称其员工已使用该工具", "摩根大通称其员工已使用该工具"),
        ("U.S. Copyright Office 发布报告", "美国版权局发布报告"),
        ("艾瑞咨询预计市场规模将增长", "iResearch 预计市场规模将增长"),
        ("集邦咨询称HBM价格上涨", "TrendForce 称HBM价格上涨"),
        ("Omdia 数据显示出货量下降", "Omdia数据显示出货量下降"),
        ("CAICT 发布白皮书", "中国信通院发布白皮书"),
        ("BAAI 发布开源模型", "北京智源人工智能研究院发布开源模型"),
        ("PIF 成立了一家AI公司", "沙特公共投资基金成立了一家AI公司"),
        ("建行披露其金融科技投入", "中国建设银行披露其金融科技投入"),
        ("HKEX 迎来多家AI公司上市", "港交所迎来多家AI公司上市"),
        ("Tsinghua University 的团队发布论文", "清华大学的团队发布论文"),
        ("寒武纪营收增长", "Cambricon 营收增长"),
    ],
)
def test_lexicon_aliases_round2(summary: str, source: str) -> None:
    assert check_claim(summary, source)["entities"] == []


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("摩根士丹利称其员工已使用该工具", "摩根大通称其员工已使用该工具"),
        ("IDC 预计市场规模将增长", "艾瑞咨询预计市场规模将增长"),
        ("建设银行披露其金融科技投入", "招商银行披露其金融科技投入"),
    ],
)
def test_lexicon_swaps_round2(summary: str, source: str) -> None:
    assert check_claim(summary, source)["entities"] != []


def test_ambiguous_short_forms_only_support() -> None:
    # 理想 and 地平线 are ordinary words: no entity of their own, but they support their group.
    assert check_claim("这是理想的方案，地平线上出现曙光", "一份方案")["entities"] == []
    assert check_claim("理想汽车发布新车", "理想发布新车")["entities"] == []


# --- Numbers ----------------------------------------------------------------------------------


def test_slash_fractions_are_percentages() -> None:
    assert [q.value for q in extract_quantities("约1/3的用户")] == [33.0]
    assert [q.value for q in extract_quantities("3/4的企业")] == [75.0]
    assert _flags("约1/3来自海外", "约三分之一来自海外") == []
    assert _flags("约1/4来自海外", "约三分之一来自海外") != []


@pytest.mark.parametrize("text", ["ISO/IEC 27001", "24/7服务", "12/19发布", "1/3/5号线"])
def test_slashes_that_are_no_fractions(text: str) -> None:
    assert all(q.kind != "percent" for q in extract_quantities(text))


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("营收为22.2 trillion韩元", "营收22.2万亿韩元"),
        ("估值达2.1 billion美元", "估值21亿美元"),
        ("年化收入ARR达1,200万美元", "年化收入达1200万美元"),
        ("平台GMV同比增长30%", "平台交易额同比增长30%"),
    ],
)
def test_magnitude_words_and_business_acronyms_are_no_names(summary: str, source: str) -> None:
    assert check_claim(summary, source)["entities"] == []


@pytest.mark.parametrize(
    ("faithful", "changed", "source"),
    [
        ("用1万张卡训练", "用2万张卡训练", "用万卡集群训练"),
        ("参数达1000亿", "参数达100亿", "千亿参数模型"),
        ("用户达100万", "用户达1000万", "用户达百万"),
        ("成本下降50%", "成本下降40%", "成本下降一半"),
        ("位列10强", "位列5强", "位列前十"),
        ("H1营收增长", "H2营收增长", "2025年上半年营收增长"),
    ],
)
def test_amounts_in_words_in_the_source(faithful: str, changed: str, source: str) -> None:
    assert _flags(faithful, source) == []
    assert _flags(changed, source) != []


# --- Model names with their brand in the other script; news outlets ----------------------------


@pytest.mark.parametrize(
    ("faithful", "changed", "source"),
    [
        ("DeepSeek-V3 开源", "DeepSeek-V2 开源", "深度求索V3开源"),
        ("ERNIE 4.5 上线", "ERNIE 4.0 上线", "文心4.5上线"),
        ("通义千问3 发布", "通义千问2 发布", "阿里巴巴发布Qwen3"),
        ("Doubao 1.5 Pro 降价", "Doubao 1.6 Pro 降价", "豆包1.5 Pro降价"),
    ],
)
def test_brand_in_the_other_script_with_the_same_version(faithful: str, changed: str, source: str) -> None:
    assert _flags(faithful, source) == []
    assert _flags(changed, source) != []


def test_a_version_is_read_to_its_end() -> None:
    assert _flags("ERNIE 4.5 上线", "文心4.55上线") != []


def test_a_latin_name_before_a_version_number_occurs() -> None:
    assert check_claim("Qwen 系列模型下载量领先", "Qwen3 系列模型下载量领先")["entities"] == []


@pytest.mark.parametrize(
    ("summary", "source", "ok"),
    [
        ("彭博社报道称该公司正洽谈融资", "据Bloomberg报道，该公司正洽谈融资", True),
        ("WSJ 报道称该公司正洽谈融资", "据《华尔街日报》报道，该公司正洽谈融资", True),
        ("路透社报道称该公司正洽谈融资", "据彭博社报道，该公司正洽谈融资", False),
    ],
)
def test_news_outlets(summary: str, source: str, ok: bool) -> None:
    assert (check_claim(summary, source)["entities"] == []) is ok


@pytest.mark.parametrize(
    ("summary", "source", "ok"),
    [
        ("U.S. NIST 发布评估框架", "美国国家标准与技术研究院发布评估框架", True),
        ("Apple App Store 下架了该应用", "苹果App Store下架了该应用", True),
        ("U.S. NASA 发布评估框架", "美国国家标准与技术研究院发布评估框架", False),
    ],
)
def test_adjacent_latin_names_read_as_one_run(summary: str, source: str, ok: bool) -> None:
    assert (check_claim(summary, source)["entities"] == []) is ok


def test_slot_check_spares_brands_variants_and_previous_clauses() -> None:
    # The brand written with the product (英伟达H100 GPU) is no rival of the product.
    source = "该公司计划使用约5万块英伟达H100 GPU建设集群。另一家公司则采购了2万块H100。"
    assert _flags("该公司计划使用约5万块H100建设集群", source) == []
    # A name and a longer name holding it as a whole word are one product (GPU B200, B200).
    source = "新品GPU B200采用4NP工艺。相比之下，B200的功耗更高。"
    assert _flags("新品B200采用4NP工艺", source) == []
    # The words before a comma belong to the previous clause: no slot of the name after it.
    source = "NIST负责制定红队测试标准，国土安全部负责将标准用于关键基础设施。商务部负责水印指引。"
    assert _flags("NIST将制定红队测试标准，商务部负责水印指引", source) == []
