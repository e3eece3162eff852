"""Names bound to the wrong number or role (`harness/score/factcheck/binding.py`): every name and
number of the summary occurs in the source, but the source states the number of another name, or
gives the name another role. Hand-written pairs."""

from __future__ import annotations

import pytest

from harness.score.factcheck import check_claim

SOURCE = (
    "云杉科技旗下有两款产品：写作助手Quill和绘图工具Palette。其中Quill的月活跃用户超过800万，"
    "Palette的月活跃用户约为300万。公司B轮融资由北辰资本领投，南山创投和东湖基金跟投。"
    "在最新的评测榜单中，Orion排名第一，Vega位列第二。"
)


@pytest.mark.parametrize(
    ("summary", "bad"),
    [
        ("云杉科技旗下的Palette月活跃用户超过800万。", "Palette"),  # 800 万 is Quill's
        ("Quill的月活跃用户约为300万。", "Quill"),
        ("在评测榜单中Vega排名第一。", "Vega"),  # a rank
        ("云杉科技的B轮融资由南山创投领投。", "南山"),  # a follower made lead investor (jieba: 南山/ns)
        ("北辰资本跟投了云杉科技的B轮融资。", "北辰"),
    ],
)
def test_names_bound_to_another_names_number_or_role(summary: str, bad: str) -> None:
    assert bad in check_claim(summary, SOURCE)["entities"]


@pytest.mark.parametrize(
    "summary",
    [
        "云杉科技旗下的Quill月活跃用户超过800万。",
        "Palette的月活跃用户约为300万。",
        "云杉科技的B轮融资由北辰资本领投。",
        "南山创投和东湖基金跟投了云杉科技的B轮融资。",
        "Orion在最新评测榜单中排名第一。",
        # the number's clause names no other company: the subject of the sentence carries over
        "云杉科技有两款产品。",
    ],
)
def test_names_bound_as_in_the_source(summary: str) -> None:
    assert check_claim(summary, SOURCE) == {"numbers": [], "entities": []}


def test_subject_of_the_sentence_carries_over_commas() -> None:
    source = "北辰资本于3月宣布，向Alphabet、亚马逊和微软共3家公司发出问询函。"
    assert check_claim("北辰资本向3家公司发出问询函。", source) == {"numbers": [], "entities": []}


def test_part_of_a_name_is_no_rank_and_variants_are_no_competitors() -> None:
    source = "蓝鲸出行计划年底部署1000辆车。5月发布的第六代车型搭载Apollo ADFM大模型，成本下降60%。"
    assert check_claim("蓝鲸出行的第六代车型成本下降60%。", source)["entities"] == []
    source = "百川智能开源Baichuan 2，包括70亿和130亿参数的Base与Chat版本。"
    assert check_claim("Baichuan 2 有 7B 和 13B 两种规模。", source)["entities"] == []


def test_a_name_listed_with_the_one_the_source_gives_the_value() -> None:
    source = "该公司运营青鸟、白鹭和Heron三款应用，其中海外应用Heron的月活跃用户超过600万。"
    assert "白鹭" in check_claim("该公司旗下应用白鹭月活跃用户超过600万。", source)["entities"]
    assert check_claim("该公司旗下应用Heron月活跃用户超过600万。", source)["entities"] == []


def test_respectively_pairs_names_and_values_in_order() -> None:
    source = "此前东湖基金和西岭资本分别投资4亿元和2亿元。"
    assert check_claim("西岭资本投资了4亿元。", source)["entities"]  # jieba: 西岭/ns
    assert check_claim("西岭资本投资了2亿元。", source) == {"numbers": [], "entities": []}
    assert check_claim("东湖基金投资了4亿元。", source) == {"numbers": [], "entities": []}


def test_parallel_clauses_a_name_with_a_value_of_its_own() -> None:
    source = "在GeoBench测试中，Kestrel得分62.3%，Marlin得分49.3%。"
    assert "Marlin" in check_claim("Marlin在GeoBench上得分62.3%。", source)["entities"]
    assert check_claim("Kestrel在GeoBench上得分62.3%。", source)["entities"] == []


def test_a_companys_figure_may_be_stated_of_its_product_or_unit() -> None:
    source = "阿里巴巴发布新一代模型，其中旗舰模型Qwen3-235B-A22B总参数2350亿。"
    assert check_claim("阿里巴巴旗舰模型总参数达2350亿。", source)["entities"] == []
    source = "阿里巴巴2025财年营收9963亿元。阿里云收入1180亿元，同比增长11%。"
    assert check_claim("阿里巴巴云业务收入1180亿元。", source)["entities"] == []
    # but another company's figure is flagged
    source = "苹果的市值为3.4万亿美元，微软为3.1万亿美元。"
    assert "微软" in check_claim("微软市值3.4万亿美元。", source)["entities"]


def test_numbers_of_model_names_and_counts_of_other_things_are_not_bound() -> None:
    source = "百度发布文心大模型4.5 Turbo，百度创始人李彦宏表示，其价格仅为DeepSeek-V3的40%。"
    assert check_claim("李彦宏称文心4.5 Turbo价格仅为DeepSeek-V3的40%。", source)["entities"] == []
    source = "北辰资本于3月宣布，依据该法第6条，向Alphabet、亚马逊和微软共3家公司发出问询函。"
    assert check_claim("北辰资本向3家公司发出问询函。", source)["entities"] == []


def test_a_value_given_with_de_belongs_to_that_name() -> None:
    source = "Kestrel并非推理模型；在GeoQA测试中，其错误率为37.1%，低于Marlin的61.8%。"
    # the summary names Marlin, but gives Marlin's 61.8% to Kestrel
    assert "Kestrel" in check_claim("Kestrel在GeoQA测试中的错误率为61.8%，低于Marlin。", source)["entities"]
    assert check_claim("Kestrel的错误率低于Marlin的61.8%。", source)["entities"] == []
    # a name that owns another value of the same kind in the sentence
    source = "该模型在GeoBench上得分65.8%，高于Marlin的38.8%。"
    assert "Marlin" in check_claim("Marlin在GeoBench上得分65.8%。", source)["entities"]
    assert check_claim("Marlin在GeoBench上得分38.8%。", source)["entities"] == []
