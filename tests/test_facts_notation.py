"""The fact checker's normalisation across notations: one pair per table entry (data/*.tsv), dates,
hedges and Chinese numerals, each written out as a summary/source pair that must be supported and,
where a wrong table entry or rule would hide an error, a changed value that must be flagged."""

from __future__ import annotations

import pytest

from harness.score.factcheck import extract_quantities, parse_chinese_number, unsupported_quantities
from harness.score.factcheck.quantity_support import quantity_check


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        # magnitudes.tsv
        ("融资 2 千万元", "完成2000万元融资"),
        ("规模 3 千亿元", "市场规模达3000亿元"),
        ("投资 4 百亿元", "投资400亿元"),
        ("投资 2 十亿元", "投资20亿元"),
        ("用户 5 百万", "用户达500万"),
        ("用户 3 十万", "用户30万"),
        # unit_scale.tsv and the unit words
        ("算力 1 EFLOPS", "算力达1000 PFLOPS"),
        ("装机 1.5 MW", "装机1500 kW"),
        ("长 5 厘米", "长50毫米"),
        ("制程 3 nm", "制程3纳米"),
        ("长 5 cm", "长50 mm"),
        ("长 5 厘米", "长5cm"),
        ("长 5 mm", "长5毫米"),
        # units_latin.tsv / latin_magnitudes.tsv
        ("上下文 12.8 万", "支持128K上下文"),
        ("12.8 万 tokens", "128K tokens"),
        ("融资 500 万美元", "融资$5M"),
        ("融资 12 亿美元", "融资US$1.2 billion"),
        ("融资 12 亿美元", "融资$1.2bn"),
        ("融资 12 亿美元", "融资1.2B 美元"),
        # currency_prefixes.tsv, with and without a magnitude
        ("月费 300 元", "月费¥300"),
        ("月费 10 美元", "月费$10"),
        ("融资 10 亿港元", "融资HK$10亿"),
        # unit_mentions.tsv: the currency named elsewhere in the source
        ("估值 30 亿美元", "估值 30 亿（单位：$）"),
        # dates: separators, 号, Chinese months, January, days 1 and 31
        ("2023年12月19日发布", "于2023.12.19发布"),
        ("19 日发布", "19号发布"),
        ("3月2日发布", "3月2号发布"),
        ("9 月发布", "九月发布"),
        ("2023年1月10日发布", "2023-01-10 发布"),
        ("2022年3月1日发布", "2022/3/1 发布"),
        ("8月31日发布", "八月三十一日发布"),
        # a bare source number counts as a year; a day-only summary; the year given elsewhere
        ("2023 年发布", "百度世界 2023 大会"),
        ("2日发布", "3月2日发布"),
        ("2023年12月11日发布", "2023年，公司在12月11日发布"),
        # every date of a source is considered, not only the first
        ("8月31日上线", "公司2月19日宣布，产品8月31日上线"),
        ("2月19日宣布", "公司2月19日宣布，产品8月31日上线"),
        # numbers inside model names and the magnitude of a range count on the source side
        ("第 4 代模型", "发布GPT-4模型"),
        ("融资 5 亿美元", "融资5-10 亿美元"),
        # a bare integer is supported by a date part
        ("七部门", "2023年7月，七部门联合发布"),
        # Chinese numerals: 十-led, 百分之 with one numeral or Arabic digits
        ("十余人参与", "十余人参与"),
        ("增长百分之五", "增长5%"),
        ("增长百分之35", "增长35%"),
        # a digit after the last place unit is the next lower place: 一万五 = 1.5 万
        ("用户一万五", "用户达1.5万"),
        ("售价三千五元", "售价3500元"),
    ],
)
def test_supported_across_notations(summary: str, source: str) -> None:
    assert unsupported_quantities(summary, source) == []


@pytest.mark.parametrize(
    ("summary", "source"),
    [
        ("融资 2 千万元", "完成200万元融资"),
        ("规模 3 千亿元", "市场规模达300亿元"),
        ("用户 5 百万", "用户达50万"),
        ("算力 1 EFLOPS", "算力达100 PFLOPS"),
        ("装机 1.5 MW", "装机15000 kW"),
        ("长 5 厘米", "长5毫米"),
        ("长 5 cm", "长5 mm"),
        ("上下文 12.8 万", "支持1280K上下文"),
        ("融资 500 万美元", "融资$50M"),
        ("融资 12 亿美元", "融资US$12 billion"),
        ("融资 1.2 亿美元", "融资1.2B 美元"),
        ("月费 300 元", "月费¥3000"),
        ("月费 10 美元", "月费$20"),
        ("融资 10 亿港元", "融资US$10亿"),
        # the currency must be named somewhere in the source
        ("估值 30 亿美元", "估值 30 亿"),
        # a month-only change, a day change, a year change
        ("3 月 14 日", "2023年2月14日"),
        ("2 月 15 日", "2023年2月14日"),
        ("2022 年 2 月 14 日", "2023年2月14日"),
        # a date part supports a bare integer, not a percentage
        ("增长 12%", "公司于12月发布"),
        ("投资 12 亿元", "公司于12月发布"),
        # 元宇宙 does not name the yuan
        ("投资 30 亿元", "投资 30 亿，布局元宇宙"),
        # hedged, off by more than its precision allows
        ("约 7.6 亿", "7.05 亿"),
    ],
)
def test_changed_values_are_flagged(summary: str, source: str) -> None:
    assert unsupported_quantities(summary, source) != []


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("2 千万元", 2e7, "CNY"),
        ("3 千亿元", 3e11, "CNY"),
        ("5 百万", 5e6, None),
        ("1 EFLOPS", 1e18, "FLOPS"),
        ("1.5 MW", 1.5e6, "W"),
        ("2 kW", 2e3, "W"),
        ("5 厘米", 0.05, "m"),
        ("5 毫米", 0.005, "m"),
        ("5cm", 0.05, "m"),
        ("5 mm", 0.005, "m"),
        ("3 nm", 3e-9, "m"),
        ("HK$10亿", 1e9, "HKD"),
        ("US$1.2 billion", 1.2e9, "USD"),
        ("$5M", 5e6, "USD"),
        ("$10", 10.0, "USD"),
        ("¥300", 300.0, "CNY"),
        ("1.2B 美元", 1.2e9, "USD"),
        ("128K tokens", 128e3, "token"),
        ("十余人", 10.0, None),
        ("百分之五", 5.0, None),
        ("百分之35", 35.0, None),
    ],
)
def test_extracted_value_and_unit(text: str, value: float, unit: str | None) -> None:
    (q,) = extract_quantities(text)
    assert q.value == pytest.approx(value, rel=1e-12) and q.unit == unit


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2023年1月10日", (2023, 1, 10)),
        ("2022年3月1日", (2022, 3, 1)),
        ("8月31日", (None, 8, 31)),
        ("1月", (None, 1, None)),
        ("2023.12.19", (2023, 12, 19)),
        ("19号", (None, None, 19)),
        ("九月", (None, 9, None)),
        ("十二月三十一日", (None, 12, 31)),
    ],
)
def test_dates_extracted(text: str, value: tuple) -> None:
    (q,) = extract_quantities(text)
    assert (q.kind, q.value) == ("date", value)


@pytest.mark.parametrize("text", ["1800年", "13月", "32日"])
def test_invalid_dates_are_not_dates(text: str) -> None:
    assert all(q.kind != "date" for q in extract_quantities(text))


@pytest.mark.parametrize(
    ("text", "approx"),
    [
        ("融资 10 亿美元以上", True),
        ("耗时 3 小时左右", True),
        ("3 亿元出头", True),
        ("发布 3 年以内", True),
        ("3 亿以下", True),
        ("价格 10 元上下", True),
        ("300多名专家", True),
        ("约 7.6 亿", True),
        # 上下文 after a number is not the hedge 上下
        ("支持 32k 上下文", False),
        ("32 万上下文", False),
        ("融资 10 亿美元", False),
    ],
)
def test_hedge_words_before_and_after_the_number(text: str, approx: bool) -> None:
    (q,) = extract_quantities(text)
    assert q.approx is approx


def test_ranges_and_big_counts_give_one_quantity_each() -> None:
    assert [(q.surface, q.value, q.unit) for q in extract_quantities("3万至4万美元")] == [
        ("3万", 3e4, None),
        ("4万美元", 4e4, "USD"),
    ]
    assert [q.value for q in extract_quantities("1000 至 5000 条")] == [1000.0, 5000.0]


def test_counts_with_da_are_counted_once_and_compared_by_noun() -> None:
    # An Arabic "6 大应用" is an ordinary number (counted once); "六大应用" is a count of 应用.
    assert [q.surface for q in quantity_check("推出 6 大应用", "推出六大应用")[0]] == ["6"]
    assert [q.surface for q in quantity_check("推出六大应用", "推出6大应用")[0]] == ["六大应用"]
    assert unsupported_quantities("推出六大应用", "推出五大应用") == ["六大应用"]


def test_surfaces_keep_latin_units_and_the_longest_well_formed_numeral() -> None:
    assert [q.surface for q in extract_quantities("训练数据3000亿token")] == ["3000亿token"]
    # 三百五五 is no numeral: its longest well-formed prefix 三百五 (350) is read.
    assert [(q.surface, q.value) for q in extract_quantities("发布三百五五款")] == [("三百五", 350.0)]


@pytest.mark.parametrize(
    ("text", "value", "step"),
    [
        ("三百五", 350, 1),
        ("一百二", 120, 1),
        ("三千五", 3500, 1),
        ("二十五", 25, 1),
        ("三百零五", 305, 1),
        ("一千零二", 1002, 1),
        ("一万五", 15_000, 1000),
        ("三亿五", 350_000_000, 10_000_000),
        ("一万零五", 10_005, 1),
        ("一万五千", 15_000, 1),
    ],
)
def test_a_digit_after_the_last_place_unit_is_the_next_lower_place(text: str, value: int, step: int) -> None:
    assert parse_chinese_number(text) == (value, step)


# Found by the mutation run of 2026-11-30 (units.py, dates.py): boundaries and branches written out.


def test_date_years_1900_and_2100_are_dates_and_the_years_beyond_are_not() -> None:
    from harness.score.factcheck.dates import iso_date

    assert iso_date("1900-01-01", 0)[1] == (1900, 1, 1)
    assert iso_date("2100-12-31", 0)[1] == (2100, 12, 31)
    assert iso_date("1899-12-31", 0) is None
    assert iso_date("2101-01-01", 0) is None


def test_a_day_is_read_where_it_stands_not_at_the_start_of_the_text() -> None:
    from harness.score.factcheck.dates import day

    match, value = day("会议在19日举行", 3)
    assert value == (None, None, 19) and match.group(0) == "19日"
    assert day("会议在19日举行", 0) is None


@pytest.mark.parametrize(
    ("value", "years", "dates"),
    [
        ((None, 5, 3), set(), [(2024, 4, 3), (2024, 5, 3)]),  # another month first
        ((None, 5, 3), set(), [(2024, 5, 4), (2024, 5, 3)]),  # another day first
        ((2024, 5, 3), {2023, 2024}, [(2023, 5, 3), (2024, 5, 3)]),  # another year first
    ],
)
def test_a_source_date_after_one_that_differs_still_supports_the_summary(value, years, dates) -> None:
    from harness.score.factcheck.dates import date_supported

    assert date_supported(value, years, dates)
    assert not date_supported(value, years, dates[:1])


def test_unit_named_falls_back_to_the_unit_itself_and_ignores_case() -> None:
    from harness.score.factcheck.units import unit_named

    # A currency code without an entry in data/unit_mentions.tsv: its own name, as a literal.
    assert unit_named("SGD", "以 SGD 计价")
    assert not unit_named("SGD", "以新元计价")
    assert not unit_named("S.D", "以 SGD 计价")  # escaped: the dot is no wildcard
    # The table's patterns are searched case-insensitively ("参数|parameter").
    assert unit_named("size", "The model has 1.3B Parameters.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("融资 US$ 500 million。", [("US$ 500 million", 5e8, "USD")]),  # magnitude word after a space
        ("营收 US$500 million", [("US$500 million", 5e8, "USD")]),
        ("USD 1.2 billion", [("USD 1.2 billion", 1.2e9, "USD")]),
        ("HK$ 3 billion", [("HK$ 3 billion", 3e9, "HKD")]),
        ("$1.2B", [("$1.2B", 1.2e9, "USD")]),  # magnitude letter right after the number
        ("$10 亿美元", [("$10 亿美元", 1e9, "USD")]),  # sign and word: one currency
        ("USD5", [("USD5", 5.0, "USD")]),
        ("AUSD 5", []),  # USD inside a Latin word: no currency
    ],
)
def test_prefixed_currencies_with_their_magnitudes(text: str, expected: list) -> None:
    got = [(q.surface, q.value, q.unit) for q in extract_quantities(text) if q.kind == "currency"]
    assert got == expected


def test_a_half_year_after_a_prefixed_amount_is_no_magnitude() -> None:
    [amount] = [q for q in extract_quantities("USD 1.2 H1") if q.kind == "currency"]
    assert (amount.surface, amount.value) == ("USD 1.2", 1.2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三成的用户", [("三成", 30.0, 10.0)]),
        ("三成半的用户", [("三成半", 35.0, 5.0)]),
        ("七成五的用户", [("七成五", 75.0, 1.0)]),
        ("三成二", [("三成二", 32.0, 1.0)]),
        ("三成一的用户", [("三成", 30.0, 10.0)]),  # 一 after 成 is not read as a tenth
        ("一成不变", []),
        ("十成把握", []),
        ("他三成为第一", []),  # 成为
    ],
)
def test_tenths_written_with_cheng(text: str, expected: list) -> None:
    got = [(q.surface, q.value, q.step) for q in extract_quantities(text) if q.kind == "percent"]
    assert got == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("一个半小时", (5400.0, "s", 1800.0)), ("两个半小时", (9000.0, "s", 1800.0))],
)
def test_a_whole_number_and_a_half_of_a_unit(text: str, expected: tuple) -> None:
    [q] = extract_quantities(text)
    assert (q.surface, q.value, q.unit, q.step) == (text, *expected)


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("算力为 1.5 EFLOPS", []),
        ("算力为 1 EFLOPS", []),  # exactly 10^18: the E class
        ("算力为 999 PFLOPS", ["E级"]),  # 9.99 x 10^17: the P class
        ("算力为 800 PFLOPS", ["E级"]),
        ("算力为 0.5 FLOPS", ["E级"]),  # below 1: no class
    ],
)
def test_a_computing_scale_class_against_a_flops_figure(source: str, flagged: list) -> None:
    assert unsupported_quantities("这是一台E级超算", source) == flagged


def test_a_number_and_a_half_months() -> None:
    # 两个半月: the 个 of 个月 stands before 半 (it was read as 两个 = 2).
    [q] = extract_quantities("项目用了两个半月")
    assert (q.surface, q.value, q.unit, q.step) == ("两个半月", 2.5, "month", 0.5)
    assert unsupported_quantities("项目用了两个半月", "项目历时2.5个月完成") == []
    assert unsupported_quantities("项目用了两个半月", "项目历时两个月完成") == ["两个半月"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Q2 营收", [("Q2", 2.0, "number", "quarter")]),
        ("第二季度", [("第二季度", 2.0, "number", "quarter")]),
        ("FY26 营收", [("FY26", (2026, None, None), "date", "fiscal")]),
        ("FY2026 营收", [("FY2026", (2026, None, None), "date", "fiscal")]),
        ("IQ2", [("IQ2", "iq2", "version", None)]),  # inside a Latin word: no quarter
    ],
)
def test_quarters_and_fiscal_years(text: str, expected: list) -> None:
    assert [(q.surface, q.value, q.kind, q.unit) for q in extract_quantities(text)] == expected
