"""`harness ingest`: weekly digests, crawled records and daily digests -> a dataset.

Fixtures in tests/fixtures/ingest/ are team-written (invented news); the noisy variants are written
here into tmp_path. The acceptance test on the user's seed files reads ../shared/seeds/ when it
exists beside the repository and is skipped otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import DatasetConfig
from harness.data.ingest import ingest
from harness.data.ingest.join import DEFAULT_TITLE_THRESHOLD
from harness.data.ingest.urls import title_similarity, url_key
from harness.data.load import load_items
from harness.errors import DataError, UsageError
from tests.test_run import ROOT, _cli

FIXTURES = ROOT / "tests" / "fixtures" / "ingest"
WEEKLY = FIXTURES / "weekly_2024-06-03.md"
CRAWLED = FIXTURES / "crawled_2024-06-02.txt"
DAILY = FIXTURES / "daily_2024-06-03.md"
SEEDS = ROOT.parent / "shared" / "seeds"

HEADER = {
    "original_chars": 4200,
    "digest_chars": 600,
    "reading_minutes": 3,
    "efficiency_percent": 700,
    "stated_compression": 7.0,
}

# Three bullets of an invented digest item, reused by the noisy-variant tests.
BULLETS = (
    "- 示例公司发布了一款面向工厂质检的视觉模型，识别准确率超过九成。",
    "- 该模型可以部署在产线边缘设备上，不需要联网。",
    "- 公司计划年底前在十家工厂试点。",
)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _weekly(
    title: str = "示例公司发布质检视觉模型", marker: str = "> 要点解析:", link: str | None = None
) -> str:
    link = link or "原文链接:[https://example.com/qc](https://example.com/qc)"
    return f"## 产品介绍\n\n### {title}\n\n{marker}\n\n" + "\n\n".join(BULLETS) + f"\n\n{link}\n"


CRAWLED_RECORD = (
    "标题: 示例公司发布质检视觉模型\n"
    "链接: https://www.example.com/qc/?utm_source=feed\n"
    "总结: 示例公司今天发布了一款工厂质检视觉模型。它能在产线边缘设备上离线运行，识别准确率超过九成。\n"
    "关键词:\n"
)


# --------------------------------------------------------------------------------------------
# The fixture archive: every field of the items, the leftovers and the report
# --------------------------------------------------------------------------------------------


def test_fixture_archive_every_field(tmp_path):
    out = tmp_path / "out"
    result = ingest([FIXTURES], out)

    items = _jsonl(out / "items.jsonl")
    assert [i["id"] for i in items] == [
        "weekly_2024-06-03-01",
        "weekly_2024-06-03-02",
        "weekly_2024-06-03-03",
        "weekly_2024-06-03-05",
    ]
    assert items[0] == {
        "id": "weekly_2024-06-03-01",
        "title": "星河智能发布天枢 3 推理芯片",
        "url": "https://news.example.com/chips/tianshu-3/",
        "source": (
            "6 月 2 日，星河智能在深圳举行发布会，推出第三代推理芯片天枢 3。新芯片采用 5 纳米工艺，"
            "单卡算力是上一代的两倍，主要服务数据中心的大模型推理业务。公司称天枢 3 已与两家云服务商完成"
            "适配测试，计划下半年量产。有分析人士指出，国产推理芯片正在进入商用阶段，价格和软件生态将是"
            "竞争的关键。"
        ),
        "reference": [
            "星河智能在深圳发布推理芯片天枢 3，采用 5 纳米工艺，单卡算力比上一代提高一倍，"
            "主要面向数据中心里的大模型推理。",
            # A bullet wrapped over two lines is one bullet.
            "公司表示天枢 3 已经和两家云服务商完成适配，预计下半年开始量产。",
            "分析人士认为国产推理芯片正在加快进入商用阶段，价格和软件生态会决定它们的市场份额。",
        ],
        "date": "2024-06-02",  # the article's date (from its file name) before the digest's
        "section": "产品介绍",
        "metadata": {
            "关键词": "",
            "AI技术": "",
            "行业": "半导体",
            "重大事件摘要": "",
            "digest_header": HEADER,
            "ingest": {
                "match": "url",
                "reference_at": f"{WEEKLY}:16",
                "source_at": f"{CRAWLED}:1",
                "source_format": "crawled",
                "digest_title": "星河智能发布第三代推理芯片“天枢 3” 🚀",
                "source_url": "http://www.news.example.com/chips/tianshu-3?utm_source=feed&utm_campaign=june",
            },
        },
    }
    # m. host, a fragment, a bare URL after the marker variant ">要点解析："; the record's text keeps
    # its "据悉：" line (not a field: inside the article only known field names start a field).
    assert items[1] == {
        "id": "weekly_2024-06-03-02",
        "title": "云岚科技开源青鸟小模型",
        "url": "https://m.example.org/ai/qingniao?id=42#comments",
        "source": (
            "云岚科技宣布开源参数规模为 30 亿的中文语言模型青鸟，普通笔记本电脑即可离线运行。\n"
            "据悉：青鸟在多项中文阅读理解评测中的成绩接近百亿参数模型，采用允许商业使用的许可证。公司计划按季度"
            "更新权重，并提供微调工具。"
        ),
        "reference": [
            "云岚科技开源了 30 亿参数的中文语言模型“青鸟”，可以在笔记本电脑上离线运行。",
            "青鸟在中文阅读理解评测中接近百亿参数模型的成绩，许可证允许商业使用。",
            "公司计划每个季度更新一次权重，并开放配套的微调工具。",
        ],
        "date": "2024-06-02",
        "section": "产品介绍",
        "metadata": {
            "关键词": "开源",
            "AI技术": "",
            "行业": "",
            "重大事件摘要": "",
            "digest_header": HEADER,
            "ingest": {
                "match": "url",
                "reference_at": f"{WEEKLY}:29",
                "source_at": f"{CRAWLED}:9",
                "source_format": "crawled",
                "digest_title": "云岚科技开源 30 亿参数中文小模型",
                "source_url": "https://example.org/ai/qingniao?id=42",
            },
        },
    }
    # No 原文链接: joined to the daily digest's news item by title, reported as such.
    assert items[2] == {
        "id": "weekly_2024-06-03-03",
        "title": "智算中心联盟在杭州正式成立",
        # no link on either side: where the article text was read
        "url": f"file:{DAILY}:13",
        "source": (
            "6 月 3 日，十二家企业在杭州宣布成立智算中心联盟，成员将共用一个算力调度平台。\n"
            "联盟首批接入约两万张加速卡，并将制定统一的计费标准；当地为入驻企业提供电价补贴。"
        ),
        "reference": [
            "十二家企业在杭州成立智算中心联盟，约定共用一个算力调度平台。",
            "联盟将制定统一的计费标准，首批接入的算力约为两万张加速卡。",
            "地方政府为入驻联盟的企业提供电价补贴。",
        ],
        "date": "2024-06-03",
        "section": "产业资讯",
        "metadata": {
            "digest_header": HEADER,
            "ingest": {
                "match": "title",
                "reference_at": f"{WEEKLY}:41",
                "source_at": f"{DAILY}:13",
                "source_format": "daily",
                "digest_title": "智算中心联盟在杭州成立 🏙️",
                "source_url": None,
                "title_similarity": 0.8182,
            },
        },
    }
    # "**要点解析**" and bullets written as plain paragraphs; utm_* and a trailing slash + fragment.
    assert items[3] == {
        "id": "weekly_2024-06-03-05",
        "title": "长文档检索增强实践",
        "url": "https://blog.example.net/rag-long-docs?utm_source=weekly&utm_medium=email",
        "source": (
            "这篇教程介绍如何用开源工具为长文档搭建检索增强生成。文档先被切成小块并写入向量索引，提问时检索出相关"
            "片段交给模型。作者比较了不同的切块大小和重叠长度，建议按段落切分并保留小标题。在三百份内部文档上的测试"
            "里，答案引用的正确率从六成提高到了八成以上。"
        ),
        "reference": [
            "检索增强生成先把长文档切成小块并建立向量索引，提问时取回相关片段，再交给模型作答。",
            "切块大小和重叠长度会影响召回效果，教程建议按段落切分并保留小标题。",
            "作者用三百份内部文档做了测试，答案引用的正确率从六成提高到八成以上。",
        ],
        "date": "2024-06-02",
        "section": "技术教程",
        "metadata": {
            "关键词": "",
            "AI技术": "检索增强生成",
            "行业": "",
            "重大事件摘要": "",
            "digest_header": HEADER,
            "ingest": {
                "match": "url",
                "reference_at": f"{WEEKLY}:57",
                "source_at": f"{CRAWLED}:18",
                "source_format": "crawled",
                "digest_title": "用开源工具给长文档做检索增强",
                "source_url": "https://blog.example.net/rag-long-docs/#intro",
            },
        },
    }

    (lonely,) = _jsonl(out / "references_without_source.jsonl")
    assert lonely == {
        "id": "weekly_2024-06-03-06",
        "title": "海风机器人完成新一轮融资",
        "url": "https://elsewhere.example.com/p/7",
        "url_key": "elsewhere.example.com/p/7",
        "section": "其他",
        "date": "2024-06-03",
        "reference": [
            "海风机器人完成两亿元融资，资金用于仓储搬运机器人的研发。",
            "公司去年的订单主要来自电商物流企业。",
            "创始人表示明年将进入东南亚市场。",
        ],
        "at": f"{WEEKLY}:71",
    }
    unjoined = _jsonl(out / "sources_without_reference.jsonl")
    # ?id=43 is another page than ?id=42: a meaningful query parameter is kept.
    assert [(s["title"], s["url_key"], s["format"], s["at"]) for s in unjoined] == [
        ("青鸟模型发布会回顾", "example.org/ai/qingniao?id=43", "crawled", f"{CRAWLED}:26"),
        ("开源语音合成模型“清音”发布", "news.example.com/tts/qingyin", "daily", f"{DAILY}:21"),
    ]
    assert unjoined[1] == {
        "title": "开源语音合成模型“清音”发布",
        "url": "https://news.example.com/tts/qingyin",
        "url_key": "news.example.com/tts/qingyin",
        "format": "daily",
        "date": "2024-06-03",
        "chars": 49,
        "at": f"{DAILY}:21",
        "metadata": {},
        "source": (
            "一个高校研究团队发布开源语音合成模型清音，支持普通话和粤语，合成一分钟语音在消费级显卡上只需数秒。"
        ),
    }

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report == result.report
    assert {
        k: report[k] for k in ("references", "sources", "matched", "matched_by_url", "matched_by_title")
    } == {
        "references": 5,
        "sources": 6,
        "matched": 4,
        "matched_by_url": 3,
        "matched_by_title": 1,
    }
    assert report["references_without_source"] == 1 and report["sources_without_reference"] == 2
    assert report["sources_by_format"] == {"crawled": 4, "daily": 2}
    assert report["reference_bullets"] == {"min": 3, "max": 3, "mean": 3.0}
    assert report["settings"]["title_threshold"] == DEFAULT_TITLE_THRESHOLD
    assert report["compression"]["items"] == 4 and report["compression"]["stated_by_digest_headers"] == [7.0]
    files = {Path(f["file"]).name: f for f in report["files"]}
    assert files["weekly_2024-06-03.md"] == {
        "file": str(WEEKLY),
        "format": "weekly",
        "encoding": "utf-8",
        "references": 5,
        "sources": 0,
        "date": "2024-06-03",
        "header": HEADER,
        "problems": 3,
    }
    assert {
        k: files["crawled_2024-06-02.txt"][k] for k in ("format", "references", "sources", "problems")
    } == {
        "format": "crawled",
        "references": 0,
        "sources": 4,
        "problems": 1,
    }
    daily = files["daily_2024-06-03.md"]
    assert (daily["format"], daily["sources"], daily["problems"]) == ("daily", 2, 1)
    assert daily["summary"].startswith("本期关注智算中心联盟成立") and daily["ignored_from_line"] == 31
    assert report["skipped"] == []
    assert [(Path(p["file"]).name, p["line"], p["level"]) for p in report["problems"]] == [
        ("crawled_2024-06-02.txt", 34, "error"),
        ("daily_2024-06-03.md", 27, "error"),
        ("weekly_2024-06-03.md", 41, "warning"),
        ("weekly_2024-06-03.md", 49, "error"),
        ("weekly_2024-06-03.md", 59, "warning"),
    ]
    messages = [p["message"] for p in report["problems"]]
    assert "'一条没有正文的记录' has no article text" in messages[0]
    assert "'合作伙伴招募中！' has no text (only images or links)" in messages[1]
    assert "has no 原文链接: it can only be matched by title" in messages[2]
    assert "'某公司年度发布会预告' has no 要点解析 bullets: not a reference" in messages[3]
    assert "no '- ' bullets; each paragraph read as one" in messages[4]
    assert set(report["outputs"]) == {
        "items.jsonl",
        "items.parquet",
        "references_without_source.jsonl",
        "sources_without_reference.jsonl",
        "report.json",
    }


def test_written_dataset_loads_the_same_from_jsonl_and_parquet(tmp_path):
    out = tmp_path / "out"
    ingest([WEEKLY, CRAWLED, DAILY], out)
    from_jsonl = load_items(DatasetConfig(name="a", data_files=[str(out / "items.jsonl")]))
    from_parquet = load_items(DatasetConfig(name="a", data_files=[str(out / "items.parquet")]))
    assert len(from_jsonl) == 4 and from_jsonl == from_parquet
    assert from_jsonl[0].metadata["ingest"]["match"] == "url"


# --------------------------------------------------------------------------------------------
# Noisy input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "marker",
    [
        "> 要点解析:",
        ">要点解析:",
        "> 要点解析：",
        ">  要点解析 ：",
        "要点解析:",
        "**要点解析**",
        "【要点解析】",
        "> **要点解析：**",
    ],
)
def test_marker_variants(tmp_path, marker):
    (tmp_path / "w.md").write_text(_weekly(marker=marker), encoding="utf-8")
    (tmp_path / "c.txt").write_text(CRAWLED_RECORD, encoding="utf-8")
    result = ingest([tmp_path / "w.md", tmp_path / "c.txt"], tmp_path / "out")
    (item,) = _jsonl(tmp_path / "out" / "items.jsonl")
    assert item["reference"] == [b.removeprefix("- ") for b in BULLETS]
    assert result.problems == []


def test_bullets_inside_the_quote_and_numbered(tmp_path):
    text = (
        _weekly().replace("\n\n- ", "\n> - ", 1).replace("- 该模型", "2. 该模型").replace("- 公司", "3、公司")
    )
    (tmp_path / "w.md").write_text(text, encoding="utf-8")
    ingest([tmp_path / "w.md"], tmp_path / "out")
    (ref,) = _jsonl(tmp_path / "out" / "references_without_source.jsonl")
    assert ref["reference"] == [b.removeprefix("- ") for b in BULLETS]


def test_digest_item_without_bullets_or_link_names_file_and_line(tmp_path):
    weekly = tmp_path / "w.md"
    no_link = _weekly(title="没有链接的条目", link="（链接缺失）")
    no_bullets = (
        "### 只有标题的条目\n\n> 要点解析:\n\n原文链接:[https://example.com/x](https://example.com/x)\n"
    )
    weekly.write_text(_weekly() + "\n" + no_bullets + "\n" + no_link, encoding="utf-8")
    result = ingest([weekly], tmp_path / "out")
    assert result.report["references"] == 2
    shown = [str(p) for p in result.problems]
    assert f"{weekly}:15: digest item '只有标题的条目' has no 要点解析 bullets: not a reference" in shown
    assert (
        f"{weekly}:23: digest item '没有链接的条目' has no 原文链接: it can only be matched by title" in shown
    )
    without_link = _jsonl(tmp_path / "out" / "references_without_source.jsonl")[1]
    assert without_link["url"] is None and without_link["url_key"] is None


def test_gbk_file_is_detected_or_named(tmp_path):
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes(CRAWLED_RECORD.encode("gbk"))
    (tmp_path / "w.md").write_text(_weekly(), encoding="utf-8")
    result = ingest([tmp_path / "w.md", gbk], tmp_path / "out")
    (item,) = _jsonl(tmp_path / "out" / "items.jsonl")
    assert item["title"] == "示例公司发布质检视觉模型" and item["source"].startswith("示例公司今天发布")
    files = {Path(f["file"]).name: f for f in result.report["files"]}
    assert files["gbk.txt"]["encoding"] == "gb18030"
    assert [str(p) for p in result.problems] == [f"{gbk}: read as GBK/GB18030 (not UTF-8)"]
    # Named explicitly, the file is read as given, without a warning.
    named = ingest([gbk], tmp_path / "out2", encoding="gbk")
    assert named.problems == [] and named.report["sources"] == 1


def test_broken_utf8_names_the_line_and_the_other_files_still_ingest(tmp_path):
    broken = tmp_path / "broken.txt"
    data = CRAWLED_RECORD.encode("utf-8")
    cut = data.index("示例公司今天".encode())
    broken.write_bytes(data[:cut] + b"\xff" + data[cut:])  # one bad byte on line 3
    (tmp_path / "w.md").write_text(_weekly(), encoding="utf-8")
    result = ingest([broken, tmp_path / "w.md"], tmp_path / "out")
    (problem,) = result.problems
    assert str(problem).startswith(f"{broken}:3: UTF-8 text with broken bytes (first: 0xff)")
    assert "--encoding" in str(problem)
    assert result.report["references"] == 1
    with pytest.raises(DataError, match=r"broken.txt:3: not valid utf-8 \(byte 0xff\)"):
        ingest([broken], tmp_path / "out3", encoding="utf-8")
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"ok\n" + b"\x80" * 30)
    neither = r"junk.txt:2: neither UTF-8 \(line 2\) nor GBK/GB18030 \(byte 0x80\)"
    with pytest.raises(DataError, match=neither):
        ingest([junk], tmp_path / "out4")


def test_empty_and_unknown_files_are_reported_and_others_ingest(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.md"
    blank.write_text("\n  \n\t\n", encoding="utf-8")
    unknown = tmp_path / "notes.txt"
    unknown.write_text("\n\n会议纪要：下周讨论预算。\n第二行。\n", encoding="utf-8")
    (tmp_path / "w.md").write_text(_weekly(), encoding="utf-8")
    result = ingest([tmp_path], tmp_path / "out")
    shown = [str(p) for p in result.problems]
    assert shown[:2] == [f"{blank}:1: empty file (only whitespace)", f"{empty}:1: empty file (0 bytes)"]
    assert shown[2].startswith(f"{unknown}:3: not in a known format (weekly digest:")
    assert shown[2].endswith("starts '会议纪要：下周讨论预算。'")
    assert len(shown) == 3 and result.report["references"] == 1


def test_nothing_usable_is_an_error_and_writes_nothing(tmp_path):
    unknown = tmp_path / "notes.txt"
    unknown.write_text("随手记下的一行字。\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        ingest([unknown, tmp_path / "missing.txt"], tmp_path / "out")
    assert err.value.exit_code == 2
    assert f"{unknown}:1: not in a known format" in str(err.value)
    assert f"{tmp_path / 'missing.txt'}: no such file or folder" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_forced_format_that_finds_nothing_says_so(tmp_path):
    (tmp_path / "c.txt").write_text(CRAWLED_RECORD, encoding="utf-8")
    with pytest.raises(DataError, match=r"c.txt: no weekly items found in it"):
        ingest([tmp_path / "c.txt"], tmp_path / "out", fmt="weekly")


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        ({"fmt": "monthly"}, "--format monthly"),
        ({"date": "2024-13-01"}, "--date 2024-13-01"),
        ({"title_threshold": 0}, "--title-threshold 0"),
        ({"encoding": "no-such-codec"}, "--encoding no-such-codec"),
        ({"name": "我的数据"}, "--name 我的数据"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path, options, flag):
    with pytest.raises(UsageError, match=flag):
        ingest([WEEKLY], tmp_path / "out", **options)


# --------------------------------------------------------------------------------------------
# Crawled records and daily digests
# --------------------------------------------------------------------------------------------


def test_crawled_records_several_per_file_and_repeated_fields(tmp_path):
    text = (
        "说明文字，不属于任何记录\n"
        "标题: 第一条\n链接: https://example.com/1\n总结: 第一段正文。\n第二段正文。\n作者: 张三\n"
        "链接: https://example.com/2\n标题: 第二条\n总结: 只有一段。\n关键词:\n"
        "标题: 第三条\n链接: https://example.com/3\n总结: 正文。\n作者: 李四\n作者: 王五\n总结: 又一条正文\n"
    )
    path = tmp_path / "records.txt"
    path.write_text(text, encoding="utf-8")
    result = ingest([path], tmp_path / "out", date="2024-01-05")
    sources = _jsonl(tmp_path / "out" / "sources_without_reference.jsonl")
    assert [(s["title"], s["url"], s["source"], s["metadata"], s["at"], s["date"]) for s in sources] == [
        (
            "第一条",
            "https://example.com/1",
            "第一段正文。\n第二段正文。",
            {"作者": "张三"},
            f"{path}:2",
            "2024-01-05",
        ),
        ("第二条", "https://example.com/2", "只有一段。", {"关键词": ""}, f"{path}:7", "2024-01-05"),
        ("第三条", "https://example.com/3", "正文。", {"作者": "李四"}, f"{path}:11", "2024-01-05"),
        ("", None, "又一条正文", {"作者": "王五"}, f"{path}:15", "2024-01-05"),
    ]
    assert [str(p) for p in result.problems] == [
        f"{path}:1: text before the first record ignored ('说明文字，不属于任何记录')",
        f"{path}:15: field '作者' repeated: starts a new record",
        f"{path}:15: crawled record 4 has no 链接: it can only be matched by title",
    ]


def test_daily_digest_noise_is_not_a_source(tmp_path):
    text = (
        "摘要：一句话摘要。\n\n**合作伙伴招募中！**\n\n![](https://img.example.com/x.png)\n\n"
        "**示例公司发布质检视觉模型**\n\n示例公司今天发布了一款工厂质检视觉模型。\n\n扫码关注我们的公众号\n\n"
        "https://example.com/qc\n\nhttps://example.com/another\n\n推荐阅读\n\n**《另一篇文章》**\n\n文章内容。\n"
    )
    path = tmp_path / "daily.md"
    path.write_text(text, encoding="utf-8")
    result = ingest([path], tmp_path / "out")
    (source,) = _jsonl(tmp_path / "out" / "sources_without_reference.jsonl")
    # The link line right after the body is the item's own link; further links, QR lines: noise.
    assert (source["title"], source["url"], source["source"]) == (
        "示例公司发布质检视觉模型",
        "https://example.com/qc",
        "示例公司今天发布了一款工厂质检视觉模型。",
    )
    assert [str(p) for p in result.problems] == [
        f"{path}: no 热点资讯 heading: bold titles after the 摘要 read as news",
        f"{path}:3: news item '合作伙伴招募中！' has no text (only images or links): skipped",
    ]
    file_info = result.report["files"][0]
    assert file_info["summary"] == "一句话摘要。" and file_info["noise_lines"] == 3


# --------------------------------------------------------------------------------------------
# Join
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.Example.com/a/b/", "example.com/a/b"),
        ("http://m.example.com/a/b#top", "example.com/a/b"),
        ("https://example.com/a/b?utm_source=x&utm_medium=y", "example.com/a/b"),
        ("https://example.com/?p=123&utm_campaign=z", "example.com?p=123"),
        ("https://example.com/view?id=2&spm=a.b&page=1", "example.com/view?id=2&page=1"),
        ("https://example.com:443/%E6%96%B0%E9%97%BB", "example.com/新闻"),
        ("https://example.com:8080/x", "example.com:8080/x"),
        ("example.com/x", "example.com/x"),
        ("ftp://example.com/x", None),
        ("", None),
        (None, None),
    ],
)
def test_url_key(url, key):
    assert url_key(url) == key


def test_title_join_threshold_and_near_miss(tmp_path):
    weekly = tmp_path / "w.md"
    weekly.write_text(_weekly(title="示例公司发布质检视觉模型 🏭", link="原文链接：暂无"), encoding="utf-8")
    crawled = tmp_path / "c.txt"
    crawled.write_text(
        CRAWLED_RECORD.replace("示例公司发布质检视觉模型", "示例公司推出工厂质检模型").replace(
            "www.example.com/qc/", "x.org/"
        ),
        encoding="utf-8",
    )
    similarity = title_similarity("示例公司发布质检视觉模型 🏭", "示例公司推出工厂质检模型")
    assert 0.4 < similarity < DEFAULT_TITLE_THRESHOLD
    strict = ingest([weekly, crawled], tmp_path / "strict")
    assert strict.report["matched"] == 0
    (ref,) = _jsonl(tmp_path / "strict" / "references_without_source.jsonl")
    assert ref["closest_source"] == {"title": "示例公司推出工厂质检模型", "similarity": round(similarity, 4),
                                     "at": f"{crawled}:1"}  # fmt: skip
    loose = ingest([weekly, crawled], tmp_path / "loose", title_threshold=0.4)
    assert (loose.report["matched"], loose.report["matched_by_title"]) == (1, 1)


def test_duplicate_sources_and_one_source_for_two_references(tmp_path):
    crawled = tmp_path / "c.txt"
    crawled.write_text(CRAWLED_RECORD + CRAWLED_RECORD.replace("https://www.", "http://"), encoding="utf-8")
    weekly = tmp_path / "w.md"
    weekly.write_text(_weekly() + _weekly(title="同一篇文章的第二次摘要"), encoding="utf-8")
    result = ingest([weekly, crawled], tmp_path / "out")
    assert [str(p) for p in result.problems] == [
        f"{crawled}:5: same article as {crawled}:1 (URL example.com/qc): duplicate dropped"
    ]
    assert (result.report["sources"], result.report["matched"]) == (1, 2)
    assert [i["id"] for i in _jsonl(tmp_path / "out" / "items.jsonl")] == ["w-01", "w-02"]


def test_same_file_name_in_two_folders_gets_distinct_ids(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "w.md").write_text(_weekly(), encoding="utf-8")
    result = ingest([tmp_path / "a", tmp_path / "b", tmp_path / "a" / "w.md"], tmp_path / "out")
    ids = [r["id"] for r in _jsonl(tmp_path / "out" / "references_without_source.jsonl")]
    assert ids == ["w-01", "w-01-2"] and result.report["references"] == 2  # a/w.md read once


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def test_cli_ingest_summary_problems_and_exit_codes(tmp_path):
    out = tmp_path / "out"
    done = _cli("ingest", str(FIXTURES), "--out", str(out), "--name", "fixture_archive")
    assert done.returncode == 0, done.stderr
    assert "references 5 (bullets per item 3-3) · sources 6 (crawled 4, daily 2)" in done.stdout
    assert "joined 4 (by URL 3, by title 1)" in done.stdout
    assert "harness run dataset.name=fixture_archive" in done.stdout
    assert f"harness ingest: error: {WEEKLY}:49: digest item '某公司年度发布会预告'" in done.stderr
    assert (out / "items.jsonl").exists()

    assert _cli("ingest", "--help").returncode == 0
    bad = _cli("ingest", str(WEEKLY), "--out", str(out), "--date", "June 3")
    assert bad.returncode == 2 and "harness ingest: --date June 3: use YYYY-MM-DD" in bad.stderr
    missing = _cli("ingest", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o2"))
    assert missing.returncode == 2
    assert "harness ingest: nothing usable was read" in missing.stderr and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr


# --------------------------------------------------------------------------------------------
# Acceptance on the user's seed files (../shared/seeds beside the repository)
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the user's seed files are not at {SEEDS}")
def test_seed_files_plus_one_crawled_record_run_end_to_end(tmp_path):
    seeds = sorted(p for p in SEEDS.iterdir() if p.suffix == ".txt")
    assert len(seeds) == 4
    # One digest item's 原文链接, written again with www. and a utm_source parameter.
    digest = next(p for p in seeds if "### " in p.read_text(encoding="utf-8"))
    links = [
        line.split("](", 1)[1].rstrip(")")
        for line in digest.read_text(encoding="utf-8").splitlines()
        if line.startswith("原文链接")
    ]
    link = next(u for u in links if "://www." not in u and "://m." not in u and "?" not in u)
    variant = link.replace("://", "://www.", 1) + "?utm_source=newsletter"
    record = tmp_path / "crawled_extra.txt"
    record.write_text(
        f"标题: 一篇虚构的测试文章\n链接: {variant}\n"
        "总结: 这是一段为测试编写的虚构正文，讲述某实验室改进了图像处理算法，并在公开数据集上做了对比实验。"
        "研究人员表示，新方法在保留细节的同时减少了伪影，下一步计划把代码开源。\n关键词:\n",
        encoding="utf-8",
    )
    out = tmp_path / "seed_dataset"
    result = ingest([SEEDS, record], out)
    report = result.report
    assert report["references"] == 30
    assert report["reference_bullets"] == {"min": 3, "max": 3, "mean": 3.0}
    assert report["sources"] == 14 and report["sources_by_format"] == {"crawled": 2, "daily": 12}
    assert (report["matched"], report["matched_by_url"], report["matched_by_title"]) == (1, 1, 0)
    (item,) = _jsonl(out / "items.jsonl")
    assert item["url"] == link and item["metadata"]["ingest"]["source_url"] == variant
    assert [Path(s["file"]).name for s in report["skipped"]] == ["README.md"]
    weekly = next(f for f in report["files"] if f["format"] == "weekly")
    assert weekly["header"]["stated_compression"] == pytest.approx(13.1, abs=0.05)

    results = tmp_path / "results"
    run = _cli(
        "run",
        "dataset.name=seed_archive",
        f'dataset.data_files=["{out / "items.jsonl"}"]',
        "model=lead",
        "metrics.bertscore.enabled=false",
        f"results_dir={results}",
        timeout=400,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (rows_file,) = results.glob("runs/*/*/rows.jsonl")
    (row,) = _jsonl(rows_file)
    assert row["item_id"] == item["id"] and row["scores"]["rougeL_f"] > 0
    assert row["scores"]["compression"] > 0
    assert "## seed_archive" in (results / "leaderboard.md").read_text(encoding="utf-8")
