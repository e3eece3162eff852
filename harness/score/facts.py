"""Deterministic fact checks of a digest against its source: numbers and named entities.

ROUGE and BERTScore reward wording; a digest loses its readers' trust over one wrong number or one
made-up company. These checks need no model, are always on and cost nothing. They report, per item,
the share of the digest's quantities and entities that the source does not support, and keep the
offending strings as evidence. They are recall-oriented on *changes* (a changed value, unit, date,
model version or name) and lenient on *presentation* (spacing, full-width digits, 7.5 亿 vs
750000000, 130 亿参数 vs 13B, 2 月 27 日 vs 2023-02-27, rounding).

Quantities (`extract_quantities`)
---------------------------------
Text is NFKC-normalised first (full-width digits and signs become ASCII, "1，000" becomes "1,000").
One left-to-right scan recognises, in this order of priority:

- dates: 2023-12-19 / 2023/12/19, 2023年12月19日, 2023年12月, 2023年 (1900-2100, also 2024财年),
  12月19日, 12月, 19日 (Arabic or Chinese numerals: 十二月十九日, 二〇二三年). Value: (year, month,
  day) with None for parts not given;
- percentages: 35%, 35 %, 3 个百分点, 百分之三十五 (value 35, kind "percent");
- prefixed currencies: $10, US$1.2B, ¥300, €5M;
- versions and model names: a Latin-led token with a digit (GPT-4.5, GLM-4, Qwen-72B, B200, A800,
  Llama 2, Gemini 1.5; a Latin word joins a following space-separated number unless that number
  carries a unit), and digit-led codes that are no unit (4NP, 8x7B, 5G). Kept as one token, so the
  "4.5" of GPT-4.5 is not a free number. Value: the lower-cased token;
- Arabic numbers with thousands separators and decimals, an optional magnitude (万, 亿, 千亿, 万亿,
  千万, ... so 7.5 亿 = 750000000 and 1.4 万亿 = 14000 亿) and an optional unit: currencies (美元 =
  美金, 元 = 人民币, 欧元, 港元 = 港币, 加元, 日元, 英镑, ...; kind "currency"), 参数 and the B/T/M
  suffixes (13B = 130 亿参数, 1.8T; kind "size"), time, storage, length and other units (秒, 小时,
  GB, TB, token, 倍, ...). Counting words (个, 家, 名, 款, 项, ...) are no unit. Units of one
  dimension are normalised to a base unit with exact factors: durations to seconds (毫秒, 秒, 分钟,
  小时, 天, 周: 60 秒 = 1 分钟, 300 毫秒 = 0.3 秒, 24 小时 = 1 天; ordinals such as 第2天 are not
  converted), 年 to months (3 年 = 36 个月), lengths to metres (公里 = 千米 = 1000 米, 厘米, 毫米,
  纳米), W/kW/MW and TFLOPS/PFLOPS/EFLOPS. Deliberately not converted: 天 <-> 月, 季度, GB <-> TB
  (1000 or 1024), 兆 (10^6 or 10^12);
- Chinese numerals (三, 十二, 二十五, 一百, 两千, 三千五百万, 一千三百亿, 九十九点三) with the same
  magnitudes and units.

Small numbers decision: a lone Chinese digit (二..九, 两, 十) is a number only after 第 (ordinal:
第四季度) or before a counting word or unit (三种规模, 七部门, 两条); so 三星, 三大, 十分, 一起 are
not numbers. A lone 一 is never a number except in 第一 (一个/一款/一种 mostly mean "a"); 第三方 is
no ordinal. Vague amounts (数十亿, 几十) are skipped. Arabic digits are always numbers. Ordinals and
counts are then checked like any number: 七部门 against a source saying 六部门 is flagged.

Counts with 大 ("六大应用", "三大运营商"): a lone digit before 大 is often idiomatic, so such a count
is not extracted on its own. `unsupported_quantities` checks it only when the source counts the same
noun (the two characters after 大) with a digit and 大: "八大应用" against "六大应用场景" is flagged,
"三大运营商" against a source that never says "N 大运营商" is neither counted nor flagged. The source's
counts ("六大应用") also support a summary's plain number ("6 大应用").

Support (`unsupported_quantities`)
----------------------------------
A summary quantity is supported when the source has a compatible quantity:

- values: equal (relative tolerance 1e-9); or the source value rounded to the summary's written
  precision (last written decimal place times the magnitude) and within 5% of it (summary "7.6 亿"
  or "约 7.6 亿" vs source "7.563 亿"; "34.1 亿" vs "34.06 亿"; but "8 亿" vs "7.5 亿" and "1 万" vs
  "8K" are flagged); or, with a hedge word (约, 近, 超过, 逾, 多, 余, 左右, 以上, ...), off by less
  than the summary's precision including trailing zeros and at most 10%, when the source is written
  more precisely ("超过 1000 万" vs "1023 万", "近 5 亿" vs "4.9 亿"; but "超 26 亿" vs "超过 25 亿"
  is flagged: both are written at the same precision);
- units: a currency, percentage, size or unit quantity needs the same unit in the source
  (7.5 亿美元 -> 7.5 亿元, 60 秒 -> 60 分钟, 35% -> 35 倍 are flagged). Exception for currencies and
  sizes only: the same value without a unit in the source while the currency (or 参数) is named
  somewhere in the source ("估值 30 亿" + "美元" elsewhere supports "30 亿美元"; "参数量 130 亿"
  supports "13B"). A summary number without a unit is supported by any source quantity of that value
  (also a date part, or a number inside a model name: "4.5 版本" vs "GPT-4.5");
- dates: every part the summary gives must match a source date (month and day together), and a
  summary year must occur as a year in the source ("2 月 27 日" is supported by "2023年2月27日";
  "2024 年" is not supported by a source that only mentions 2023);
- versions: the token must occur in the source as a whole token, separators and case aside
  ("Llama2" = "Llama 2" = "LLaMA-2"; "GPT-4" is not supported by "GPT-4o" or "GPT-4.5"). A version
  formed by joining a Latin word and a spaced number ("MMLU 90.2") is also supported when the source
  has the word followed within 15 characters by that number ("MMLU 上得分 90.2").

The source side is read generously: numbers inside model names (Qwen-72B gives a 72B size) and
the magnitude of a range ("5-10 亿" gives 5 亿) are added to what the source supports.

Entities (`extract_entities`)
-----------------------------
Found in this order, each kind masking the text for the later ones:

- titles in book-title marks: 《自然》, 《科学》, 《生成式人工智能服务管理暂行办法》 (journals, laws,
  reports), kept with their marks;
- a built-in lexicon of AI-industry companies, products, people, agencies and places (jieba's
  dictionary splits or mis-tags most of them: 英伟达 -> 英/伟达, 百度 is "n", 微软 is "a"); matches
  are taken longest first and mask the text for the next steps;
- Latin-script names: runs of letters and digits starting with a letter, with internal spaces,
  hyphens, dots (OpenAI, Mistral AI, LLaMA, Hugging Face, GPT-4.5), at least 2 characters, minus
  generic acronyms and unit words (AI, API, CEO, GPU, LLM, GB, PFLOPS, ...);
- persons after a title word (CEO, CTO, 创始人, 董事长, 总裁, 首席科学家, 教授, 院士, 负责人, ...): the
  jieba token right after it when tagged nr (CEO张鹏), or a common surname token followed by a 1-2
  character given name that is no verb, particle or time word (CTO王/海峰 -> 王海峰);
- organisations by suffix (部, 局, 委, 署, 院, 厅, 办, 委员会, 研究院, 研究所, 实验室, 大学, 学院, 医院,
  银行, 集团, 公司), which jieba often tags as common nouns (教育部/n) or splits (国家/数据/局): the
  suffix word with the name words before it (国土/安全部 -> 国土安全部, at most 10 characters of
  name). Not: words that name nothing (全部, 内部, 部分, 总部, 格局, 举办, 部署, 学院派, 科技公司, 办公厅,
  ...), and after 公司/集团/银行/大学/学院/医院/实验室/研究院/研究所/委员会 with less than a 2-character
  name inside the word, a name that is no proper noun (人民医院, 重点实验室);
- jieba.posseg words tagged nr*/ns/nt (and nz only for words not in jieba's dictionary), Chinese
  only, at least 2 characters, minus a stop list of common words jieba's dictionary mis-tags
  (城市, 上市, 论文, 汇报, ...). jieba's global dictionary is never modified.

An entity is supported when, after NFKC and removing spaces (and case for Latin): it occurs in the
source (Latin: as a whole word); or an alias from the lexicon occurs (英伟达 = NVIDIA, 工信部 =
工业和信息化部); or, for Chinese, it is an abbreviation whose characters occur in order within a
window of 2n+1 source characters (网信办 in 国家互联网信息办公室, 北大 in 北京大学); or it is a
lexicon-free jieba word of 3+ characters whose first or last character is a segmentation slip (和小红
-> 小红; not when the last character is an organisation suffix: 安全部 is no slip of 安全), or a
3-character person after a title whose first two characters occur (张鹏 + 今天 -> "张鹏今"); or it
ends with a generic suffix (集团, 公司, 科技, 大学, ...) whose stem occurs and still names something:
no place (jieba ns or a lexicon place) and 3+ characters or a lexicon form (蚂蚁集团 -> 蚂蚁, but
北京大学 is not supported by a source that mentions 北京 and 清华大学); or, for a multi-word Latin
name, every word occurs (numbers inside are the number check's job). A place plus a generic suffix
(北京大学, 浙江大学) is supported only by the full form or a lexicon alias (北大), never by the
abbreviation rule; nor is a name ending in a 2+-character generic suffix whose stem occurs as
written (同济大学 is no abbreviation of "同济医院与复旦大学", 北京大学 none of 北京理工大学). An
organisation found by suffix that starts with a place (江苏省教育厅) is also supported by the rest
(教育厅) when the place is supported too.

A 《title》 is compared without marks, spaces, punctuation and case, with 人工智能 = AI: it is
supported when it lies within a source title or quoted name (《暂行办法》 in 《生成式人工智能服务管理
暂行办法》, 《AI法案》 in 《人工智能法案》), when a known other name of it occurs (《自然》 = Nature,
《细胞》 = Cell, 《柳叶刀》 = The Lancet, ...; and Nature is supported by 《自然》), or, unless it is a
word of jieba's dictionary or a known journal (《科学》, 《自然》 occur as ordinary words everywhere),
when it occurs anywhere in the source text.

FactsScorer checks each generated bullet against what the model was shown: the item's title,
date and source (a year taken from the item's date is not an invention). A model name with a
number (GPT-5) is both a quantity and a Latin-script entity, so a changed version can show in both
lists.

Measured (tests/test_facts.py and the embedded sample): on 44 hand-written (source, faithful
claim, corrupted claim) triples, recall 1.00 and false-alarm rate 0.00; the sample's 96 human
reference bullets have 1 unsupported quantity in 383 (五种语言, a count the source does not state)
and 1 unsupported entity in 410 (建库, a jieba slip); extractive baselines have none. On the
judge calibration set (datasets/judge_calibration, 132 labelled claims; facts/2): flagged 15/18
number changes, 18/18 entity swaps (together 33/36 = 0.92), 13/14 date shifts, 0/43 faithful claims.

Known limitations: meaning is not checked: a number that occurs in the source but belongs to
another subject passes (a 409% growth of one segment attributed to total revenue, 24 of one panel's
26 criteria attributed to another panel, one model's score attributed to another), and so does a
corrupted value or date that happens to occur elsewhere in the source (a release date replaced by the
date of a later announcement in the same text); relative dates (今年, 去年),
fractions (三分之一) and vague amounts (两成, 数十亿) are not quantities; a change within the
rounding/hedge tolerance passes (约 20 亿 for 21 亿); unit words without a number (每秒 -> 每分钟)
are not seen; a summary number without a unit matches any source quantity of that value; entity
aliases outside the lexicon (a translated or transliterated name written differently in the source)
are flagged, and names jieba does not tag and the lexicon does not list are not checked (a person
without a title word before it, an organisation without one of the suffixes above); a count with 大 of
a one-character noun ("四大行") is compared by its first two characters and may find no counterpart; an
abbreviation may be supported by a longer, different name that contains its characters in order
within 2n+1 characters (国土安全部 by "国土资源部安全...").
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from harness.data.schema import Item
from harness.score.base import MetricResult, score_each
from harness.score.registry import Column, Metric, register

METRIC_VERSION = "facts/2"
NUMBERS_METHOD = "facts-numbers/2"
ENTITIES_METHOD = "facts-entities/2"
VALUE_KEYS = (
    "facts_number_unsupported_rate",
    "facts_entity_unsupported_rate",
    "facts_numbers",
    "facts_entities",
)

DateValue = tuple[int | None, int | None, int | None]


@dataclass(frozen=True)
class Quantity:
    """One quantity found in a text.

    surface: the text as written (after NFKC normalisation).
    value: float for number/percent/currency/size; (year, month, day) for date; the lower-cased
        token for version.
    kind: "number", "percent", "currency", "size", "date" or "version".
    unit: canonical unit ("USD", "CNY", "s", "GB", ...) or None.
    step: the precision of the written value (0.1 for "7.5", 1e7 for "7.5 亿"); 0 when not numeric.
    approx: a hedge word (约, 近, 超过, 多, ...) qualifies the value.
    approx_step: the precision including trailing zeros (1e7 for "1000 万"), used with approx.
    """

    surface: str
    value: float | str | DateValue
    kind: str
    unit: str | None = None
    step: float = 0.0
    approx: bool = False
    approx_step: float = 0.0


# ---------------------------------------------------------------------------------------------
# Text normalisation


def _nfkc(text: str) -> str:
    # NFKC maps full-width digits, letters, "％" and "，" to ASCII; collapse whitespace runs.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def _compact(text: str) -> str:
    """NFKC, lower case, no whitespace: the form substring checks are made on."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


# ---------------------------------------------------------------------------------------------
# Chinese numerals

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_DIGITS["两"] = 2
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUM_CHARS = "".join(_CN_DIGITS) + "十百千万亿"


def _cn_below_wan(s: str) -> int | None:
    """Value of a numeral without 万/亿 (二十五, 三千五百, 一千零五); None when malformed."""
    total = 0
    digit: int | None = None
    last_was_digit = False
    for pos, ch in enumerate(s):
        if ch in _CN_DIGITS:
            if last_was_digit and digit != 0:
                return None  # two digits in a row (三五) where place units are used
            digit = _CN_DIGITS[ch]
            last_was_digit = True
        elif ch in _CN_SMALL_UNITS:
            if digit is None:
                if ch != "十" or pos != 0:
                    return None  # 百/千 without a digit before it
                digit = 1  # 十二 = 12
            if digit == 0:
                return None
            total += digit * _CN_SMALL_UNITS[ch]
            digit = None
            last_was_digit = False
        else:
            return None
    return total + (digit or 0)


def parse_chinese_number(s: str) -> tuple[float, float] | None:
    """(value, step) of a Chinese numeral: 三 -> 3, 二十五 -> 25, 三千五百万 -> 35000000 (step 1e4).

    Digit-by-digit numerals (二〇二三) read as positional digits. None when malformed.
    """
    if not s:
        return None
    integer, _, frac = s.partition("点")
    if frac and not all(c in _CN_DIGITS for c in frac):
        return None
    if integer and all(c in _CN_DIGITS for c in integer):
        if len(integer) > 1 and len(integer) != 4 and "〇" not in integer:
            return None  # 一一, 三五: no positional numeral outside years (二〇二三)
        value = float(int("".join(str(_CN_DIGITS[c]) for c in integer)))
        step = 1.0
    else:
        value = 0.0
        step = 1.0
        rest = integer
        for big, mult in (("亿", 1e8), ("万", 1e4)):
            if big in rest:
                head, _, rest = rest.rpartition(big)
                # 一万亿: the head of 亿 may itself hold 万.
                head_value = parse_chinese_number(head) if head else None
                if head_value is None:
                    return None
                value += head_value[0] * mult
                if not rest:
                    step = mult
        small = _cn_below_wan(rest)
        if small is None:
            return None
        value += small
    if frac:
        value += float("0." + "".join(str(_CN_DIGITS[c]) for c in frac))
        step = 10.0 ** -len(frac)
    return value, step


# ---------------------------------------------------------------------------------------------
# Units

_MAGNITUDES = {
    "万亿": 1e12,
    "千亿": 1e11,
    "百亿": 1e10,
    "十亿": 1e9,
    "亿": 1e8,
    "千万": 1e7,
    "百万": 1e6,
    "十万": 1e5,
    "万": 1e4,
    "千": 1e3,
}
_MAG_RE = "|".join(sorted(_MAGNITUDES, key=len, reverse=True))

# Chinese unit words after a number -> (kind, unit). Longest first in the regex.
_CJK_UNITS: dict[str, tuple[str, str | None]] = {
    "美元": ("currency", "USD"),
    "美金": ("currency", "USD"),
    "元人民币": ("currency", "CNY"),
    "人民币": ("currency", "CNY"),
    "块钱": ("currency", "CNY"),
    "元": ("currency", "CNY"),
    "欧元": ("currency", "EUR"),
    "加元": ("currency", "CAD"),
    "港元": ("currency", "HKD"),
    "港币": ("currency", "HKD"),
    "日元": ("currency", "JPY"),
    "英镑": ("currency", "GBP"),
    "韩元": ("currency", "KRW"),
    "澳元": ("currency", "AUD"),
    "新台币": ("currency", "TWD"),
    "卢布": ("currency", "RUB"),
    "%": ("percent", None),
    "个百分点": ("percent", None),
    "百分点": ("percent", None),
    "个参数": ("size", None),
    "参数": ("size", None),
    "毫秒": ("number", "ms"),
    "秒钟": ("number", "s"),
    "秒": ("number", "s"),
    "分钟": ("number", "min"),
    "个小时": ("number", "h"),
    "小时": ("number", "h"),
    "天": ("number", "day"),
    "个星期": ("number", "week"),
    "星期": ("number", "week"),
    "周": ("number", "week"),
    "个月": ("number", "month"),
    "年": ("number", "year"),
    "季度": ("number", "quarter"),
    "公里": ("number", "km"),
    "千米": ("number", "km"),
    "厘米": ("number", "cm"),
    "毫米": ("number", "mm"),
    "纳米": ("number", "nm"),
    "米": ("number", "m"),
    "倍": ("number", "times"),
    "岁": ("number", "age"),
}
# Units of one dimension are normalised to a base unit when extracted, so 60 秒 = 1 分钟, 300 毫秒 =
# 0.3 秒, 24 小时 = 1 天, 90 分钟 = 1.5 小时, 1.5 公里 = 1500 米, 1 PFLOPS = 1000 TFLOPS. Only exact,
# unambiguous factors: no 天 <-> 月 (months differ), no GB <-> TB (1000 or 1024?), no 兆 (10^6 or
# 10^12?), no 季度 (mostly an ordinal: 第四季度).
_UNIT_SCALE: dict[str, tuple[str, float]] = {
    "ms": ("s", 1e-3),
    "min": ("s", 60.0),
    "h": ("s", 3600.0),
    "day": ("s", 86400.0),
    "week": ("s", 604800.0),
    "year": ("month", 12.0),
    "km": ("m", 1e3),
    "cm": ("m", 1e-2),
    "mm": ("m", 1e-3),
    "nm": ("m", 1e-9),
    "kW": ("W", 1e3),
    "MW": ("W", 1e6),
    "TFLOPS": ("FLOPS", 1e12),
    "PFLOPS": ("FLOPS", 1e15),
    "EFLOPS": ("FLOPS", 1e18),
}
# Counting words: a number before them is a count (no unit); they also let a lone Chinese digit
# count as a number (三种, 七部门).
_MEASURE_WORDS = (
    "个 名 位 家 款 项 种 次 条 章 台 辆 颗 张 篇 票 人 所 座 支 部 套 场 轮 期 架 块 枚 层 组 类 "
    "批 份 届 件 首 段 句 字 行 部门 大类 万字 亿次"
).split()
# Letter units directly after digits or after a space; matched case-insensitively, whole word.
_LATIN_UNITS: dict[str, tuple[str, str | None, float]] = {
    "ms": ("number", "ms", 1.0),
    "km": ("number", "km", 1.0),
    "kb": ("number", "KB", 1.0),
    "mb": ("number", "MB", 1.0),
    "gb": ("number", "GB", 1.0),
    "tb": ("number", "TB", 1.0),
    "pb": ("number", "PB", 1.0),
    "eb": ("number", "EB", 1.0),
    "token": ("number", "token", 1.0),
    "tokens": ("number", "token", 1.0),
    "p": ("number", "p", 1.0),
    "nm": ("number", "nm", 1.0),
    "fps": ("number", "fps", 1.0),
    "w": ("number", "W", 1.0),
    "kw": ("number", "kW", 1.0),
    "mw": ("number", "MW", 1.0),
    "tflops": ("number", "TFLOPS", 1.0),
    "pflops": ("number", "PFLOPS", 1.0),
    "petaflops": ("number", "PFLOPS", 1.0),
    "eflops": ("number", "EFLOPS", 1.0),
    "exaflops": ("number", "EFLOPS", 1.0),
    "x": ("number", "times", 1.0),
    "k": ("number", None, 1e3),
    "b": ("size", None, 1e9),
    "t": ("size", None, 1e12),
    "m": ("size", None, 1e6),
}
# Magnitude letters after a prefixed currency ($1.2B) or before a currency word (1.2B 美元).
_LATIN_MAGNITUDES = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9, "million": 1e6, "t": 1e12}
_CURRENCY_PREFIXES = {"US$": "USD", "HK$": "HKD", "$": "USD", "¥": "CNY", "€": "EUR", "£": "GBP"}

# How a currency (or 参数) is named in a source, for "value without unit in the source, unit named
# elsewhere in the source".
_UNIT_MENTIONS: dict[str, str] = {
    "USD": r"美元|美金|\$",
    "CNY": r"(?<![美欧加港日韩澳台])元(?!宇宙)|人民币|¥",
    "EUR": r"欧元|€",
    "CAD": r"加元",
    "HKD": r"港元|港币|HK\$",
    "JPY": r"日元",
    "GBP": r"英镑|£",
    "KRW": r"韩元",
    "AUD": r"澳元",
    "TWD": r"新台币",
    "RUB": r"卢布",
    "size": r"参数|parameter",
}

_HEDGE_BEFORE = re.compile(
    r"(?:约|近|超|逾|大约|将近|接近|不到|不足|超过|高达|最高|最多|至少|少于|低于|仅约|约为)\s?$"
)
_HEDGE_AFTER = ("多", "余", "左右", "上下", "以上", "以下", "以内", "出头")
_VAGUE_BEFORE = "数几"


def _unit_alternation() -> str:
    words = list(_CJK_UNITS) + _MEASURE_WORDS
    alternation = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return f"(?:{alternation})(?!宇宙)"  # 元宇宙 is no currency


# A lone Chinese digit counts as a number only before one of these (三种, 七部门, 两条, 五年).
_COUNTED_PREFIXES = tuple(sorted(set(_MEASURE_WORDS) | set(_CJK_UNITS) - {"%"}, key=len, reverse=True))


_UNIT_RE = _unit_alternation()
_ARABIC = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_CN_RUN = f"[{_CN_NUM_CHARS}]+(?:点[{''.join(_CN_DIGITS)}]+)?"
_CN_MONTH = "十[一二]?|[一二三四五六七八九]"
_CN_DAY = "三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九]"
_CN_YEAR = "[〇零一二三四五六七八九]{4}"

_RE_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d.])")
_RE_YMD = re.compile(
    rf"(?P<y>\d{{4}}|{_CN_YEAR}) ?(?:年|财年)(?: ?(?P<m>\d{{1,2}}|{_CN_MONTH}) ?月"
    rf"(?: ?(?P<d>\d{{1,2}}|{_CN_DAY}) ?[日号])?)?"
)
_RE_MD = re.compile(rf"(?P<m>\d{{1,2}}|{_CN_MONTH}) ?月(?: ?(?P<d>\d{{1,2}}|{_CN_DAY}) ?[日号](?!元))?")
_RE_DAY = re.compile(r"(?P<d>\d{1,2}) ?[日号](?!元)")
_RE_CN_PERCENT = re.compile(rf"百分之(?P<n>{_ARABIC}|{_CN_RUN})")
_RE_PREFIX_CURRENCY = re.compile(
    rf"(?P<cur>US\$|HK\$|\$|¥|€|£) ?(?P<n>{_ARABIC}) ?"
    rf"(?P<mag>{_MAG_RE}|(?:billion|million|bn|[BMKT])(?![A-Za-z]))?"
)
_RE_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.+][A-Za-z0-9]+)*")
_RE_JOIN_NUMBER = re.compile(r" (\d+(?:\.\d+)?)((?:[-_][A-Za-z0-9]+)*)")
_LATIN_UNIT_WORDS = "|".join(sorted((k for k in _LATIN_UNITS if len(k) > 1), key=len, reverse=True))
# A number joins the Latin word before it ("Llama 2") unless the number carries a unit or is part of
# something longer ("GPT 4o", "MMLU 90%", "Sora 60 秒", "GTC 4 月").
_RE_JOIN_BLOCK = re.compile(
    rf"\d|\.\d|%|[A-Za-z]| ?(?:{_MAG_RE}|{_UNIT_RE}|[年月日号多余])|(?i: ?(?:{_LATIN_UNIT_WORDS})(?![a-z]))"
)
_RE_ARABIC = re.compile(rf"(?P<n>{_ARABIC})(?P<sfx>[A-Za-z][A-Za-z0-9]*)?")
_RE_CN = re.compile(_CN_RUN)
_RE_TAIL = re.compile(
    rf"(?P<h1> ?(?:多|余))?(?P<mag> ?(?:{_MAG_RE}))?(?P<h2> ?(?:多|余))?"
    rf"(?P<unit> ?(?:{_UNIT_RE}|[A-Za-z]+(?![A-Za-z0-9])))?"
)


def _base_unit(unit: str | None) -> tuple[str | None, float]:
    """(base unit, factor) of a unit: ("min") -> ("s", 60.0); units without a base map to themselves."""
    if unit in _UNIT_SCALE:
        return _UNIT_SCALE[unit]
    return unit, 1.0


def _decimals(num: str) -> int:
    return len(num.partition(".")[2])


def _trailing_zeros(num: str) -> int:
    digits = num.replace(",", "")
    if "." in digits:
        return 0
    return len(digits) - len(digits.rstrip("0"))


def _valid_date(y: int | None, m: int | None, d: int | None) -> bool:
    return (y is None or 1900 <= y <= 2100) and (m is None or 1 <= m <= 12) and (d is None or 1 <= d <= 31)


def _int_part(s: str | None) -> int | None:
    if s is None:
        return None
    if s.isdigit():
        return int(s)
    parsed = parse_chinese_number(s)
    return int(parsed[0]) if parsed else None


class _Scanner:
    """One left-to-right pass over NFKC text; see the module docstring for what is recognised.

    keep_inner (source side): also yield the numbers inside versions (Qwen-72B -> 72B, GPT-4.5 ->
    4.5) and the magnitude a range's first number borrows (5-10 亿 -> 5 亿).
    """

    def __init__(self, text: str, keep_inner: bool = False) -> None:
        self.text = text
        self.keep_inner = keep_inner
        self.out: list[Quantity] = []

    def run(self) -> list[Quantity]:
        i = 0
        while i < len(self.text):
            i = max(self._at(i), i + 1)
        return self.out

    # -- helpers -----------------------------------------------------------------------------
    def _prev(self, i: int) -> str:
        return self.text[i - 1] if i > 0 else ""

    def _hedged(self, start: int, end: int) -> bool:
        before = self.text[max(0, start - 4) : start]
        after = self.text[end : end + 4].lstrip()
        return bool(_HEDGE_BEFORE.search(before)) or (
            after.startswith(_HEDGE_AFTER) and not after.startswith("上下文")
        )

    # -- one position --------------------------------------------------------------------------
    def _at(self, i: int) -> int:
        text = self.text
        ch = text[i]
        prev = self._prev(i)
        if ch.isascii() and ch.isdigit():
            if prev.isascii() and (prev.isalnum() or prev == "."):
                return i + 1
            for fn in (self._iso_date, self._ymd, self._md, self._day, self._arabic):
                end = fn(i)
                if end:
                    return end
            return i + 1
        if ch in _CN_NUM_CHARS:
            if prev and prev in _CN_NUM_CHARS:
                return i + 1
            for fn in (self._ymd, self._md, self._chinese):
                end = fn(i)
                if end:
                    return end
            return i + 1
        if ch in "$¥€£" or text.startswith(("US$", "HK$"), i):
            end = self._prefix_currency(i)
            if end:
                return end
        if ch.isascii() and ch.isalpha():
            if prev.isascii() and prev.isalnum():
                return i + 1
            return self._latin(i)
        return i + 1

    # -- dates -----------------------------------------------------------------------------------
    def _date(self, m: re.Match[str] | None, y: int | None, mo: int | None, d: int | None) -> int:
        if m is None or not _valid_date(y, mo, d):
            return 0
        self.out.append(Quantity(m.group(0).strip(), (y, mo, d), "date"))
        return m.end()

    def _iso_date(self, i: int) -> int:
        m = _RE_ISO_DATE.match(self.text, i)
        if not m:
            return 0
        y, mo, d = (int(g) for g in m.groups())
        return self._date(m, y, mo, d)

    def _ymd(self, i: int) -> int:
        m = _RE_YMD.match(self.text, i)
        if not m:
            return 0
        y = _int_part(m.group("y"))
        if y is None:
            return 0
        return self._date(m, y, _int_part(m.group("m")), _int_part(m.group("d")))

    def _md(self, i: int) -> int:
        m = _RE_MD.match(self.text, i)
        if not m:
            return 0
        mo = _int_part(m.group("m"))
        if mo is None:
            return 0
        return self._date(m, None, mo, _int_part(m.group("d")))

    def _day(self, i: int) -> int:
        m = _RE_DAY.match(self.text, i)
        return self._date(m, None, None, int(m.group("d"))) if m else 0

    # -- numbers ---------------------------------------------------------------------------------
    def _prefix_currency(self, i: int) -> int:
        m = _RE_PREFIX_CURRENCY.match(self.text, i)
        if not m:
            return 0
        num = m.group("n")
        mag = m.group("mag")
        mult = 1.0
        if mag:
            mult = _MAGNITUDES.get(mag) or _LATIN_MAGNITUDES[mag.lower()]
        end = m.end()
        after = re.match(r" ?(?:美元|美金)", self.text[end:])  # "$10 亿美元": one currency
        if after:
            end += after.end()
        self._number(
            i,
            end,
            num,
            float(num.replace(",", "")),
            10.0 ** -_decimals(num),
            mult,
            "currency",
            _CURRENCY_PREFIXES[m.group("cur")],
            _trailing_zeros(num),
        )
        return end

    def _latin(self, i: int) -> int:
        text = self.text
        m = _RE_LATIN.match(text, i)
        assert m is not None
        token = m.group(0)
        kind = "version"
        if not any(c.isdigit() for c in token):
            j = _RE_JOIN_NUMBER.match(text, m.end())
            if not j or _RE_JOIN_BLOCK.match(text, j.end(1)):
                return m.end()  # a Latin word: an entity, not a quantity
            token += j.group(0)
            kind = "joined"
        self.out.append(Quantity(token, token.lower(), kind))
        if self.keep_inner:
            for inner in re.finditer(r"\d+(?:\.\d+)?(?:[A-Za-z]+)?", token):
                sub = _Scanner(inner.group(0))
                sub._arabic(0)
                self.out += [q for q in sub.out if q.kind != "version"]
                digits = re.match(r"\d+(?:\.\d+)?", inner.group(0))
                assert digits is not None
                num = digits.group(0)
                self.out.append(Quantity(num, float(num), "number", None, 10.0 ** -_decimals(num)))
        return i + len(token)

    def _number(
        self,
        start: int,
        end: int,
        num: str,
        value: float,
        step: float,
        mult: float,
        kind: str,
        unit: str | None,
        zeros: int,
        hedge: bool = False,
    ) -> None:
        approx = hedge or self._hedged(start, end)
        ordinal = self._prev(start) == "第"
        if ordinal:
            start -= 1  # ordinals keep their 第 in the surface
        surface = self.text[start:end].strip()
        if not ordinal:  # 第 2 天 is a position, not a duration of 172800 秒
            unit, scale = _base_unit(unit)
            mult *= scale
        self.out.append(
            Quantity(surface, value * mult, kind, unit, step * mult, approx, 10.0**zeros * step * mult)
        )
        if self.keep_inner and mult == 1.0 and unit is None and kind == "number":
            # A range "5-10 亿": the first number borrows the second's magnitude and unit.
            rng = re.match(rf" ?[-~至到] ?{_ARABIC}", self.text[end:])
            if rng:
                tail = self._tail(end + rng.end())
                if tail.mult != 1.0 or tail.unit is not None:
                    unit, scale = _base_unit(tail.unit)
                    self.out.append(
                        Quantity(
                            surface, value * tail.mult * scale, tail.kind, unit, step * tail.mult * scale
                        )
                    )

    def _tail(self, j: int) -> _Tail:
        """Hedge, magnitude and unit written after a number that ends at j."""
        m = _RE_TAIL.match(self.text, j)
        assert m is not None
        mult = _MAGNITUDES[m.group("mag").strip()] if m.group("mag") else 1.0
        unit_word = (m.group("unit") or "").strip()
        kind, unit, end = "number", None, 0
        if unit_word in _CJK_UNITS:
            kind, unit = _CJK_UNITS[unit_word]
            end = m.end("unit")
        elif unit_word.lower() in _LATIN_UNITS and _LATIN_UNITS[unit_word.lower()][2] == 1.0:
            kind, unit, _ = _LATIN_UNITS[unit_word.lower()]
            end = m.end("unit")
        elif unit_word in _MEASURE_WORDS:
            end = m.end("unit")
        if not end:
            for group in ("h2", "mag", "h1"):
                if m.group(group):
                    end = m.end(group)
                    break
            else:
                end = j
        return _Tail(end, mult, kind, unit, bool(m.group("h1") or m.group("h2")))

    def _arabic(self, i: int) -> int:
        m = _RE_ARABIC.match(self.text, i)
        if not m:
            return 0
        num = m.group("n")
        value = float(num.replace(",", ""))
        step = 10.0 ** -_decimals(num)
        zeros = _trailing_zeros(num)
        sfx = m.group("sfx")
        if sfx is None:
            tail = self._tail(m.end("n"))
            self._number(i, tail.end, num, value, step, tail.mult, tail.kind, tail.unit, zeros, tail.hedge)
            return tail.end
        key = sfx.lower()
        if key not in _LATIN_UNITS:
            # 4NP, 8x7B, 5G: a code, compared as a token.
            self.out.append(Quantity(m.group(0), m.group(0).lower(), "version"))
            return m.end()
        kind, unit, mult = _LATIN_UNITS[key]
        end = m.end()
        if mult != 1.0:
            # 1.2B 美元, 128K tokens: a magnitude letter before a currency or unit word.
            after = re.match(r" ?(美元|美金|欧元|人民币|元|港元|英镑|日元)", self.text[end:])
            if after:
                kind, unit = _CJK_UNITS[after.group(1)]
                end += after.end()
            elif kind == "number":
                tail = self._tail(end)
                if tail.mult == 1.0 and tail.unit is not None:
                    kind, unit, end = tail.kind, tail.unit, tail.end
        self._number(i, end, num, value, step, mult, kind, unit, zeros)
        return end

    def _chinese(self, i: int) -> int:
        text = self.text
        m = _RE_CN.match(text, i)
        if not m:
            return 0
        run = m.group(0)
        if run[0] not in _CN_DIGITS and run[0] != "十":
            return m.end()  # 百亿, 千万, 万一: no digit first
        if run[0] == "十" and self._prev(i) and self._prev(i) in _VAGUE_BEFORE:
            return m.end()  # 数十亿, 几十 (but 参数三种 is a count)
        parsed = parse_chinese_number(run)
        while parsed is None and len(run) > 1:
            run = run[:-1]  # the longest well-formed prefix
            parsed = parse_chinese_number(run)
        if parsed is None:
            return m.end()
        value, step = parsed
        end = i + len(run)
        if len(run) == 1:
            ordinal = self._prev(i) == "第" and not text.startswith("方", end)  # 第三方 is no ordinal
            if run == "一" and not ordinal:
                return end  # 一个/一款/一种 mostly mean "a"
            following = text[end : end + 4].lstrip(" 多余")
            if not ordinal and not following.startswith(_COUNTED_PREFIXES):
                return end  # 三星, 三大, 十分: no number
        tail = self._tail(end)
        self._number(i, tail.end, run, value, step, tail.mult, tail.kind, tail.unit, 0, tail.hedge)
        return tail.end


@dataclass(frozen=True)
class _Tail:
    end: int
    mult: float
    kind: str
    unit: str | None
    hedge: bool


def _cn_percent_scan(text: str) -> list[tuple[int, int, Quantity]]:
    out = []
    for m in _RE_CN_PERCENT.finditer(text):
        n = m.group("n")
        if n[0].isdigit():
            value, step = float(n.replace(",", "")), 10.0 ** -_decimals(n)
        else:
            parsed = parse_chinese_number(n)
            if parsed is None:
                continue
            value, step = parsed
        out.append((m.start(), m.end(), Quantity(m.group(0), value, "percent", None, step)))
    return out


def _extract(text: str, keep_inner: bool = False) -> list[Quantity]:
    norm = _nfkc(text)
    # 百分之三十五 first; the spans are blanked so the scanner does not read 三十五 again.
    pct = _cn_percent_scan(norm)
    masked = norm
    for start, end, _ in pct:
        masked = masked[:start] + " " * (end - start) + masked[end:]
    for start, end in _lexicon_number_spans(masked):
        masked = masked[:start] + "々" * (end - start) + masked[end:]
    found = _Scanner(masked, keep_inner=keep_inner).run()
    return [q for _, _, q in pct] + found


def extract_quantities(text: str) -> list[Quantity]:
    """Quantities in text, in order of appearance (百分之 percentages first)."""
    return [q if q.kind != "joined" else Quantity(q.surface, q.value, "version") for q in _extract(text)]


# ---------------------------------------------------------------------------------------------
# Support of quantities


def _round_to(value: float, step: float) -> float:
    return math.floor(value / step + 0.5) * step


def _values_match(q: Quantity, s: Quantity) -> bool:
    """Whether summary quantity q states source quantity s's value (kinds and units aside)."""
    a = float(q.value)  # type: ignore[arg-type]
    b = float(s.value)  # type: ignore[arg-type]
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return True
    # The summary value may be the source value rounded to the summary's written precision
    # (summary "7.6 亿" or "约 7.6 亿" vs source "7.563 亿"), never the other way round, and only
    # within 5%: a coarse integer is no licence ("1 万" is not a rounding of "8000", "8 亿" not of
    # "7.5 亿").
    if q.step > 0 and math.isclose(_round_to(b, q.step), a, rel_tol=1e-9, abs_tol=1e-12):
        if abs(a - b) <= 0.05 * abs(b):
            return True
    # A hedged summary value ("超过 1000 万", "近 5 亿") may be off by less than its precision
    # (trailing zeros included) and at most 10%, when the source is written more precisely
    # ("1023 万", "4.9 亿"); two values at the same precision must be equal ("超 26 亿" vs "超过 25 亿").
    tolerance = max(q.approx_step, q.step)
    if q.approx and b != 0 and (s.step == 0 or s.step < tolerance):
        diff = abs(a - b)
        return diff < tolerance + 1e-9 * abs(b) and diff <= 0.1 * abs(b)
    return False


def _joined_supported(word: str, num: str, facts: _SourceFacts) -> bool:
    """ "MMLU 90.2": the word in the source with the number shortly after it (MMLU 上得分 90.2)."""
    value = float(num)
    for m in re.finditer(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])", facts.text.lower()):
        window = facts.text[m.end() : m.end() + 15]
        if any(math.isclose(float(n), value) for n in re.findall(r"(?<![\d.])\d+(?:\.\d+)?", window)):
            return True
    return False


@dataclass
class _SourceFacts:
    text: str
    compact: str
    quantities: list[Quantity]
    years: set[int]
    dates: list[DateValue]
    big_counts: list[tuple[Quantity, str]]


@lru_cache(maxsize=64)
def _source_facts(source: str) -> _SourceFacts:
    quantities = _extract(source, keep_inner=True)
    dates = [q.value for q in quantities if q.kind == "date"]
    years = {d[0] for d in dates if d[0] is not None}  # type: ignore[index]
    for q in quantities:
        if (
            q.kind == "number"
            and q.unit is None
            and float(q.value).is_integer()
            and 1900 <= float(q.value) <= 2100
        ):  # type: ignore[arg-type]
            years.add(int(q.value))  # type: ignore[arg-type,call-overload]
    big_counts = _big_counts(source, arabic=True)
    quantities += [q for q, _ in big_counts]  # "六大应用" supports a summary's "6 大应用"
    facts = _SourceFacts(_nfkc(source), _compact(source), quantities, years, dates, big_counts)  # type: ignore[arg-type]
    return facts


def _unit_named(unit: str, source_text: str) -> bool:
    pattern = _UNIT_MENTIONS.get(unit, re.escape(unit))
    return re.search(pattern, source_text, flags=re.IGNORECASE) is not None


def _version_in(token: str, source_text: str) -> bool:
    """Whole-token occurrence, separators and case aside: llama2 ~ "LLaMA 2" ~ "Llama-2"."""
    parts = re.findall(r"[a-z]+|\d+(?:\.\d+)*", token.lower())
    if not parts:
        return False
    pattern = r"[\s\-_·]*".join(re.escape(p) for p in parts)
    return re.search(rf"(?<![a-z0-9]){pattern}(?![a-z0-9]|\.\d)", source_text.lower()) is not None


def _number_supported(q: Quantity, facts: _SourceFacts) -> bool:
    if q.kind in ("version", "joined"):
        if _version_in(str(q.value), facts.text):
            return True
        if _compact(q.surface) in _alias_index()[0]:
            return _entity_supported(q.surface, facts.text)  # a16z = Andreessen Horowitz
        if q.kind == "joined":
            parts = re.match(r"(.*?) (\d+(?:\.\d+)?)", q.surface)
            assert parts is not None
            word, num = parts.groups()
            return _joined_supported(word, num, facts)
        return False
    if q.kind == "date":
        return _date_supported(q.value, facts)  # type: ignore[arg-type]
    value_kinds = ("number", "percent", "currency", "size")
    for s in facts.quantities:
        if s.kind not in value_kinds or not _values_match(q, s):
            continue
        if q.kind == "number" and q.unit is None:
            return True  # a bare number: any source quantity with that value
        if s.kind == q.kind and s.unit == q.unit:
            return True
        if s.kind == "number" and s.unit is None and q.kind in ("currency", "size"):
            # Value without a unit in the source ("估值 30 亿", "参数量 130 亿"), the currency or 参数
            # named elsewhere in the source. Other units (秒, 倍, %) must be written with the value.
            unit_key = q.unit if q.kind == "currency" else q.kind
            if unit_key is not None and _unit_named(unit_key, facts.text):
                return True
    if q.kind == "number" and q.unit is None and float(q.value).is_integer():  # type: ignore[arg-type]
        v = int(float(q.value))  # type: ignore[arg-type]
        return any(v in d for d in facts.dates)
    return False


def _date_supported(value: DateValue, facts: _SourceFacts) -> bool:
    y, m, d = value
    if y is not None and y not in facts.years:
        return False
    if m is None and d is None:
        return y is not None
    for sy, sm, sd in facts.dates:
        if m is not None and sm != m:
            continue
        if d is not None and sd != d:
            continue
        if y is not None and sy is not None and sy != y:
            continue
        return True
    return False


# "六大应用", "三大运营商": a digit, 大 and a noun (its first two characters are the key). A lone
# Chinese digit before 大 is no quantity of its own (三大 is often idiomatic), so such a count in the
# summary is checked only against counts of the same noun in the source.
_RE_BIG_COUNT = re.compile(
    rf"(?<![第{_CN_NUM_CHARS}\d.])(?P<n>\d+|[二三四五六七八九十两])大(?!类)(?P<noun>[\u4e00-\u9fff]{{1,2}})"
)


def _big_counts(text: str, arabic: bool) -> list[tuple[Quantity, str]]:
    """(count, noun key) of every "六大应用"-style count; Arabic digits ("6 大应用") only if asked."""
    out = []
    for m in _RE_BIG_COUNT.finditer(_nfkc(text).replace(" 大", "大")):
        n = m.group("n")
        if n.isdigit():
            if not arabic:
                continue  # "6 大应用" is already an ordinary number
            value = float(n)
        else:
            value = float(_CN_DIGITS.get(n, 10))
        out.append((Quantity(m.group(0), value, "number", None, 1.0), m.group("noun")))
    return out


def _big_count_supported(q: Quantity, noun: str, facts: _SourceFacts) -> bool | None:
    """Whether the source gives the same count of the same noun; None when it counts no such noun."""
    values = [float(s.value) for s, key in facts.big_counts if key == noun]  # type: ignore[arg-type]
    if not values:
        return None
    return any(math.isclose(float(q.value), v) for v in values)  # type: ignore[arg-type]


def _quantity_check(summary: str, source: str) -> tuple[list[Quantity], list[Quantity]]:
    facts = _source_facts(source)
    found = _extract(summary)
    bad = [q for q in found if not _number_supported(q, facts)]
    for q, noun in _big_counts(summary, arabic=False):
        supported = _big_count_supported(q, noun, facts)
        if supported is None:
            continue  # no counterpart in the source: idiomatic or unverifiable, not counted
        found.append(q)
        if not supported:
            bad.append(q)
    return found, bad


def unsupported_quantities(summary: str, source: str) -> list[str]:
    """Surface strings of the summary's quantities that the source does not support (in order)."""
    return _unique(q.surface for q in _quantity_check(summary, source)[1])


# ---------------------------------------------------------------------------------------------
# Entities

# Alias groups (AI-industry companies, products, people, agencies, places). Every Chinese form of
# at least 2 characters is extracted as an entity (unless listed in _LEXICON_SUPPORT_ONLY); any
# form of a group supports any other.
_ENTITY_GROUPS: tuple[tuple[str, ...], ...] = (
    ("英伟达", "Nvidia", "辉达"),
    ("谷歌", "Google"),
    ("微软", "Microsoft"),
    ("苹果", "Apple"),
    ("亚马逊", "Amazon", "AWS", "亚马逊云科技"),
    ("脸书", "Facebook", "Meta"),
    ("英特尔", "Intel"),
    ("超威", "AMD"),
    ("特斯拉", "Tesla"),
    ("三星", "Samsung"),
    ("台积电", "TSMC"),
    ("高通", "Qualcomm"),
    ("联发科", "MediaTek"),
    ("甲骨文", "Oracle"),
    ("戴尔", "Dell"),
    ("惠普", "HP"),
    ("联想", "Lenovo"),
    ("小米", "Xiaomi"),
    ("百度", "Baidu"),
    ("阿里巴巴", "阿里", "Alibaba", "阿里集团"),
    ("阿里云", "Alibaba Cloud"),
    ("腾讯", "Tencent"),
    ("腾讯云",),
    ("字节跳动", "字节", "ByteDance"),
    ("火山引擎", "Volcano Engine"),
    ("华为", "Huawei"),
    ("华为云",),
    ("京东", "JD"),
    ("美团", "Meituan"),
    ("蚂蚁集团", "蚂蚁", "Ant Group"),
    ("网易", "NetEase"),
    ("网易有道", "有道"),
    ("快手", "Kuaishou"),
    ("拼多多",),
    ("小红书",),
    ("金山",),
    ("商汤", "商汤科技", "SenseTime"),
    ("旷视", "Megvii"),
    ("科大讯飞", "讯飞", "iFlytek"),
    ("讯飞星火", "星火大模型"),
    ("寒武纪", "Cambricon"),
    ("摩尔线程",),
    ("壁仞科技", "壁仞"),
    ("海光",),
    ("昆仑万维",),
    ("智谱", "智谱AI", "智谱华章", "Zhipu"),
    ("智谱清言",),
    ("月之暗面", "Moonshot AI", "Moonshot"),
    ("百川智能", "百川", "Baichuan"),
    ("零一万物", "01.AI"),
    ("深度求索", "DeepSeek"),
    ("Andreessen Horowitz", "a16z"),
    ("阶跃星辰", "StepFun"),
    ("面壁智能", "面壁"),
    ("稀宇科技", "MiniMax"),
    ("出门问问",),
    ("智源研究院", "智源", "BAAI"),
    ("通义千问", "通义", "千问", "Qwen", "Tongyi"),
    ("文心一言", "文心大模型", "文心", "ERNIE"),
    ("豆包", "Doubao"),
    ("混元", "Hunyuan"),
    ("盘古", "Pangu"),
    ("日日新",),
    ("萝卜快跑", "Apollo Go"),
    ("开放人工智能", "OpenAI"),
    ("Anthropic",),
    ("马斯克", "Musk", "埃隆·马斯克"),
    ("黄仁勋", "Jensen Huang"),
    ("奥特曼", "阿尔特曼", "Altman", "Sam Altman", "萨姆·奥特曼"),
    ("纳德拉", "Nadella", "萨提亚·纳德拉"),
    ("扎克伯格", "Zuckerberg"),
    ("皮查伊", "劈柴", "Pichai"),
    ("苏姿丰", "Lisa Su"),
    ("李彦宏", "Robin Li"),
    ("马化腾",),
    ("张一鸣",),
    ("雷军",),
    ("王小川",),
    ("杨植麟",),
    ("李开复",),
    ("周鸿祎",),
    ("梁文锋",),
    ("清华大学", "清华", "Tsinghua"),
    ("北京大学", "北大", "Peking University"),
    ("斯坦福大学", "斯坦福", "Stanford"),
    ("中国科学院", "中科院"),
    ("国家互联网信息办公室", "网信办", "国家网信办"),
    ("工业和信息化部", "工信部"),
    ("国家发展和改革委员会", "国家发展改革委", "发改委", "国家发改委"),
    ("科学技术部", "科技部"),
    ("商务部", "美国商务部", "Department of Commerce"),
    ("白宫", "White House"),
    ("欧盟", "EU", "European Union"),
    ("欧洲议会", "European Parliament"),
    ("中国", "国内", "我国"),
    ("美国", "US", "USA", "U.S."),
    ("日本",),
    ("韩国",),
    ("英国", "UK"),
    ("法国", "France"),
    ("德国", "Germany"),
    ("印度", "India"),
    ("沙特", "沙特阿拉伯", "Saudi Arabia"),
    ("阿联酋", "UAE"),
    ("新加坡", "Singapore"),
    ("以色列",),
    ("加拿大", "Canada"),
    ("芬兰", "Finland"),
    ("欧洲", "Europe"),
    ("硅谷", "Silicon Valley"),
    ("北京",),
    ("上海",),
    ("深圳",),
    ("杭州",),
    ("广州",),
    ("武汉",),
    ("合肥",),
    ("香港", "Hong Kong"),
)
# Forms that support their group but are not extracted on their own (too ambiguous as words).
_LEXICON_SUPPORT_ONLY = frozenset(
    {"字节", "蚂蚁", "通义", "千问", "文心", "国内", "我国", "有道", "百川", "智源", "金山", "面壁"}
)
# Lexicon forms that are places: a generic suffix stripped from an organisation must not leave one.
_LEXICON_PLACES = frozenset(
    """
    中国 国内 我国 美国 日本 韩国 英国 法国 德国 印度 沙特 沙特阿拉伯 阿联酋 新加坡 以色列 加拿大 芬兰
    欧洲 欧盟 硅谷 北京 上海 深圳 杭州 广州 武汉 合肥 香港
    """.split()
)


def _build_alias_index() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    extract: list[str] = []
    for group in _ENTITY_GROUPS:
        for form in group:
            key = _compact(form)
            index[key] = tuple(sorted(set(index.get(key, ())) | set(group)))
            if _is_cjk_word(form) and len(form) >= 2 and form not in _LEXICON_SUPPORT_ONLY:
                extract.append(form)
    return index, tuple(sorted(set(extract), key=len, reverse=True))


def _is_cjk_word(s: str) -> bool:
    return bool(s) and all("\u4e00" <= c <= "\u9fff" or c == "·" for c in s)


_CJK_RE = re.compile(r"[\u4e00-\u9fff]")

# Generic Latin acronyms and words: not names (and not counted as entities).
_LATIN_STOP = frozenset(
    """
    ai api apis ceo cto cfo coo cso gpu gpus cpu cpus npu tpu llm llms aigc agi asi pc pcs app apps ipo
    saas maas paas iaas moe rag sota token tokens ui ux ar vr xr mr it ip ok vs etc inc ltd co corp the
    and of for to in on by with a an as at or is fp int bf hbm ram dram sdk ide os iot ev evs ml dl nlp
    cv q qa faq pdf html http https www com cn url gdp cagr roi pe vc b2b b2c diy chat bot
    flops tflops pflops eflops petaflops exaflops kb mb gb tb pb eb ms km fps kw mw
    """.split()
)
# Common words jieba's dictionary tags as names or places.
_JIEBA_STOP = frozenset(
    """
    城市 上市 深度 维度 日志 中断 入口 加盟 王国 外国 许可 许可证 明星 论文 汇报 印发 聊天 中文 英语 汉字 力争
    补丁 摩尔 新一轮 高昂 多云 比特 无人驾驶 复合物 国行版 湖仓 锂离子 专科医生 采取措施 加速卡 云 上 英 长
    全球 国际 世界 海外 全国 地方 西方 东方 中央 国家 政府 人民 社会 中华 华人 中外 中美 中欧 大陆 内地
    """.split()
)
_ENTITY_TAGS = ("nr", "ns", "nt", "nz")
# Generic suffixes a summary may add to or drop from a name (蚂蚁集团 ~ 蚂蚁, 商汤科技 ~ 商汤).
_ORG_SUFFIXES = ("有限公司", "公司", "集团", "科技", "智能", "研究院", "实验室", "团队", "大学")

# Organisations by suffix (jieba tags 教育部 "n" and splits 国家/数据/局): a word ending in one of
# these, with the name words before it, is an entity. Longest first.
_ORG_ENTITY_SUFFIXES = (
    "委员会", "研究院", "研究所", "实验室", "大学", "学院", "医院", "银行", "集团", "公司",
    "部", "局", "委", "署", "院", "厅", "办",
)  # fmt: skip
# Suffixes after which the name must look specific (a place, a name, a word jieba does not know):
# 人民医院, 科技公司, 联合实验室 are no names, 北京大学 and 协和医院 are.
_ORG_GENERIC_SUFFIXES = frozenset(_ORG_ENTITY_SUFFIXES[:10])
# Words ending in an organisation suffix that name no organisation, also at the end of a longer
# word (公司总部, 行业格局, 成功举办).
_ORG_NOT_ORG = frozenset(
    """
    全部 内部 外部 局部 总部 本部 干部 俱乐部 东部 西部 南部 北部 中部 头部 尾部 底部 顶部 背部 腹部
    面部 脑部 胸部 腰部 腿部 肺部 颈部 眼部 细部 各部 该部 大部 后部 前部 上部 下部 根部 端部 编辑部
    事业部 司令部 指挥部 销售部 研究部 开发部 技术部 市场部 格局 布局 当局 大局 结局 出局 骗局 开局
    僵局 终局 政局 时局 饭局 棋局 全局 变局 残局 定局 危局 迷局 新局 邮局 常委 编委 评委 主委 住院 出院
    剧院 影院 庭院 寺院 书院 后院 两院 宅院 戏院 疗养院 养老院 福利院 分院 本院 该院 全院 举办 主办
    承办 创办 开办 兴办 筹办 包办 代办 督办 查办 操办 置办 试办 合办 协办 申办 照办 怎么办 咋办 好办
    难办 买办 部署 签署 大厅 客厅 餐厅 展厅 舞厅 门厅 音乐厅
    """.split()
)
# Organisation words without a name (科技公司, 办公厅): no entity unless name words precede them.
_ORG_STOP = _ORG_NOT_ORG | frozenset(
    """
    子公司 母公司 分公司 总公司 有限公司 上市公司 科技公司 股份公司 控股公司 初创公司 新公司 大公司
    本公司 该公司 设计院 商学院 医学院 法学院 大学 学院 医院 银行 集团 公司 研究院 研究所 实验室 委员会
    办公厅 办公室 部 局 委 署 院 厅 办
    """.split()
)
# Descriptive words jieba's dictionary lacks or tags as names: no proper name (药物研发公司).
_ORG_DESCRIPTORS = frozenset(
    """
    研发 初创 创业 科技 技术 芯片 软件 硬件 互联网 投资 咨询 制药 医药 能源 汽车 电商 游戏 传媒 数据 安全 网络
    人工智能 智能 算力 模型 大模型 机器人 半导体 金融 零售 生物 新能源 独角兽
    """.split()
)
# Words that may start an organisation's name although jieba's dictionary tags them as places.
_ORG_NAME_OK = frozenset("国家 中央 全国 人民 中华 国际 世界".split())
# jieba flags of an organisation-suffix word, and of the name words that may precede it.
_ORG_HEAD_FLAGS = frozenset({"n", "nt", "nz", "ns", "nrt", "j", "ng", "zg", "l"})
_ORG_NAME_FLAGS = frozenset({"n", "nt", "nz", "ns", "nr", "nrt", "nrfg", "j", "vn", "an", "ng"})
_ORG_SPECIFIC_FLAGS = ("nt", "nz", "ns", "nr", "j")
# Words that end a name before an organisation suffix (公司研究院 is "the company's institute").
_ORG_NAME_STOP = frozenset(
    "公司 企业 集团 团队 机构 部门 相关 有关 旗下 下属 各地 地方 所属 内部 外部".split()
)

# Person titles: the name right after one (CTO王海峰, 创始人李彦宏) is a person to check.
_PERSON_TITLES = (
    "联合创始人", "创始人", "首席执行官", "首席技术官", "首席科学家", "首席运营官", "首席财务官", "首席",
    "董事长", "副总裁", "总裁", "总经理", "CEO", "CTO", "CFO", "COO", "CSO", "教授", "院士", "研究员",
    "科学家", "负责人", "掌门人", "主席", "总监", "部长", "局长", "发言人",
)  # fmt: skip
_RE_PERSON_TITLE = re.compile("|".join(sorted(_PERSON_TITLES, key=len, reverse=True)))
# Common surnames (a single-character surname token followed by a 1-2 character given name: 王/海峰).
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤常康施牛"
    "樊葛邢齐乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕季裴霍涂苗盛曲翁冉骆蓝游辛"
    "靳管柴蒙鲍喻祁蒲房滕屈饶牟艾尤穆卓吉缪简项麦褚娄窦戚岑党宫费卜冷晏席卫米柏宗瞿桂佟臧闵苟邬卞姬仇栾隋"
    "刁沙荣巫寇桑郎甄丛仲虞敖巩佘池麻苑迟邝"
)
# Flags of a token that cannot be a given name (verbs, prepositions, particles, times, numbers).
_NOT_GIVEN_NAME = ("v", "p", "c", "u", "d", "r", "t", "m", "q", "f", "x", "y", "e", "o", "eng")

# Book-title marks: journals, laws, reports (《自然》, 《生成式人工智能服务管理暂行办法》).
_RE_BOOK_TITLE = re.compile(r"《([^《》\n]{1,60})》")
# On the source side a title may also be written in quotes (“子曰”, 「自然」).
_RE_SOURCE_TITLE = re.compile(r"《([^《》\n]{1,60})》|[“「『\"]([^“”「」『』\"\n]{1,60})[”」』\"]")
# Titles known under two names (a journal in Chinese and English).
_TITLE_ALIASES: tuple[tuple[str, ...], ...] = (
    ("自然", "Nature"),
    ("科学", "Science"),
    ("细胞", "Cell"),
    ("柳叶刀", "The Lancet", "Lancet"),
    ("新英格兰医学杂志", "NEJM", "New England Journal of Medicine"),
    ("自然·通讯", "Nature Communications"),
    ("华尔街日报", "Wall Street Journal", "WSJ"),
    ("纽约时报", "New York Times"),
    ("金融时报", "Financial Times"),
    ("经济学人", "The Economist"),
)
_TITLE_PUNCT = re.compile(r"[\s·・.:：\-—–_'\"“”‘’「」()（）,，、!！?？]")


def _lexicon_spans(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping lexicon matches, longest first."""
    _, forms = _alias_index()
    taken = [False] * len(text)
    spans: list[tuple[int, int, str]] = []
    for form in forms:
        start = text.find(form)
        while start != -1:
            end = start + len(form)
            if not any(taken[start:end]):
                spans.append((start, end, form))
                for k in range(start, end):
                    taken[k] = True
            start = text.find(form, end)
    return sorted(spans)


def _lexicon_number_spans(text: str) -> list[tuple[int, int]]:
    """Lexicon names containing numeral characters (零一万物, 三星): not quantities."""
    return [(s, e) for s, e, form in _lexicon_spans(text) if any(c in _CN_NUM_CHARS for c in form)]


@lru_cache(maxsize=1)
def _alias_index() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    return _build_alias_index()


@lru_cache(maxsize=1)
def _jieba() -> tuple[Any, Any]:
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)  # no "Building prefix dict" chatter on stderr
    jieba.initialize()
    return pseg, pseg.dt.word_tag_tab


# Latin letters include accented ones (Timothée, Cédric).
_L = "A-Za-z\u00c0-\u024f"
_RE_LATIN_ENTITY = re.compile(rf"(?<![{_L}0-9])[{_L}][{_L}0-9]*(?:(?:[ \-.·&'+]|\. )[{_L}0-9]+)*")


def _latin_words(entity: str) -> list[str]:
    return [w for w in re.split(r"[ \-.·&'+]+", entity.lower()) if w]


def _latin_entities(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _RE_LATIN_ENTITY.finditer(text):
        ent = m.group(0)
        last = re.search(r" (\d+(?:\.\d+)?)$", ent)
        if last and _RE_JOIN_BLOCK.match(text, m.end()):
            ent = ent[: last.start()]  # "AMD 12 月": the number is a date, not part of the name
        words = [w for w in _latin_words(ent) if not w.isdigit() and w not in _LATIN_STOP]
        if len(ent) >= 2 and words:
            out.append((m.start(), m.end(), ent))
    return out


def _title_spans(text: str) -> list[tuple[int, int, str, str]]:
    return [
        (m.start(), m.end(), m.group(0), "title") for m in _RE_BOOK_TITLE.finditer(text) if m.group(1).strip()
    ]


def _person_after_title(tokens: list[tuple[int, int, str, str]], at: dict[int, int], pos: int) -> int:
    """End of a person's name starting at pos (right after a title word), or 0."""
    k = at.get(pos)
    if k is None:
        return 0
    start, end, word, flag = tokens[k]
    if flag.startswith("nr") and 2 <= len(word) <= 4 and _is_cjk_word(word):
        return end  # 张鹏/nr, 李飞飞/nr
    if len(word) == 1 and word in _SURNAMES and k + 1 < len(tokens):
        _, next_end, given, given_flag = tokens[k + 1]
        if 1 <= len(given) <= 2 and _is_cjk_word(given) and not given_flag.startswith(_NOT_GIVEN_NAME):
            return next_end  # 王/nr + 海峰/n
    return 0


def _org_span(
    tokens: list[tuple[int, int, str, str]], k: int, taken: list[bool], tags: Any
) -> tuple[int, int] | None:
    """(start, end) of an organisation ending with token k (国土/安全部, 国家/数据/局), or None."""
    start, end, word, flag = tokens[k]
    suffix = next((sfx for sfx in _ORG_ENTITY_SUFFIXES if word.endswith(sfx)), None)
    if suffix is None or flag not in _ORG_HEAD_FLAGS or not _is_cjk_word(word) or any(taken[start:end]):
        return None
    inner = word[: -len(suffix)]
    if word in _ORG_STOP and inner:
        return None  # 全部, 格局, 举办, 科技公司: a word that names nothing
    if flag != "nt" and any(word.endswith(w) for w in _ORG_NOT_ORG):
        return None  # 公司总部, 中西部 (but 安全部/nt is no 全部)
    parts: list[tuple[str, str]] = []
    limit = 1 if len(inner) >= 2 else 3
    j = k - 1
    while j >= 0 and len(parts) < limit:
        s, e, w, f = tokens[j]
        proper = f.startswith(_ORG_SPECIFIC_FLAGS) or w not in tags or w in _ORG_NAME_OK
        if (
            e != start  # a masked name in between
            or (parts and not proper)  # only the word next to the suffix may be a common noun
            or f not in _ORG_NAME_FLAGS
            or not _is_cjk_word(w)
            or any(taken[s:e])
            or w in _ORG_NAME_STOP
            or w in _ORG_STOP
            or (w in _JIEBA_STOP and w not in _ORG_NAME_OK)
            or len(w) + sum(len(p) for p, _ in parts) > 10
        ):
            break
        parts.insert(0, (w, f))
        start = s
        j -= 1
    name = "".join(w for w, _ in parts) + inner
    if len(name) < 2:
        return None
    if len(inner) < 2 and suffix in _ORG_GENERIC_SUFFIXES:
        # 北京大学, 协和医院: the name must be specific (not 人民医院, 科技公司, 重点实验室).
        if not any(
            (f.startswith(_ORG_SPECIFIC_FLAGS) or w not in tags) and w not in _ORG_DESCRIPTORS
            for w, f in parts
        ):
            return None
    return start, end


def _entity_spans(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, entity, origin); origin "title", "lexicon", "latin", "person", "org" or "jieba".

    Earlier kinds mask the text for later ones, in this order: 《titles》, lexicon names, Latin-script
    names, persons after a title word, organisations by suffix, jieba names.
    """
    norm = _nfkc(text)
    taken = [False] * len(norm)
    spans: list[tuple[int, int, str, str]] = []

    def add(s: int, e: int, ent: str, origin: str) -> None:
        spans.append((s, e, ent, origin))
        for k in range(s, e):
            taken[k] = True

    for s, e, ent, origin in _title_spans(norm):
        add(s, e, ent, origin)
    for s, e, form in _lexicon_spans(norm):
        if not any(taken[s:e]):
            add(s, e, form, "lexicon")
    for s, e, ent in _latin_entities(norm):
        if not any(taken[s:e]):
            spans.append((s, e, ent, "latin"))  # Latin names do not mask: jieba skips them anyway
    pseg, tags = _jieba()
    # jieba cuts the text between titles and lexicon names (美国|国防部, not 美国国防部/nt).
    tokens: list[tuple[int, int, str, str]] = []
    masked = "".join("\x00" if t else c for c, t in zip(norm, taken, strict=True))
    for seg in re.finditer(r"[^\x00]+", masked):
        pos = seg.start()
        for pair in pseg.cut(seg.group(0)):
            tokens.append((pos, pos + len(pair.word), pair.word, pair.flag))
            pos += len(pair.word)
    at = {t[0]: k for k, t in enumerate(tokens)}
    for m in _RE_PERSON_TITLE.finditer(norm):
        begin = m.end() + (1 if norm.startswith(" ", m.end()) else 0)
        end = _person_after_title(tokens, at, begin)
        if end and not any(taken[begin:end]) and norm[begin:end] not in _JIEBA_STOP:
            add(begin, end, norm[begin:end], "person")
    for k in range(len(tokens)):
        org = _org_span(tokens, k, taken, tags)
        if org:
            add(org[0], org[1], norm[org[0] : org[1]], "org")
    for start, end, word, flag in tokens:
        if not flag.startswith(_ENTITY_TAGS) or len(word) < 2 or not _is_cjk_word(word):
            continue
        if word in _JIEBA_STOP or any(taken[start:end]):
            continue
        if flag == "nz" and word in tags:
            continue  # dictionary nz are mostly ordinary words (汇报, 论文, 中文)
        spans.append((start, end, word, "jieba"))
    return sorted(spans)


def extract_entities(text: str) -> list[str]:
    """Named entities in text, in order of appearance (lexicon, Latin-script names, jieba names)."""
    return [ent for _, _, ent, _ in _entity_spans(text)]


def _abbreviation_in(entity: str, compact_source: str) -> bool:
    """Characters of entity in order within a window of 2n+1 source characters (网信办, 北大)."""
    n = len(entity)
    window = 2 * n + 1
    first = entity[0]
    start = compact_source.find(first)
    while start != -1:
        k = 1
        pos = start + 1
        limit = start + window
        while k < n and pos < min(limit, len(compact_source)):
            if compact_source[pos] == entity[k]:
                k += 1
            pos += 1
        if k == n:
            return True
        start = compact_source.find(first, start + 1)
    return False


def _latin_in(entity: str, source_text: str) -> bool:
    words = _latin_words(entity)
    if not words:
        return False
    pattern = r"[\s\-_.·&'+]*".join(re.escape(w) for w in words)
    return (
        re.search(rf"(?<![a-z\u00c0-\u024f0-9]){pattern}(?![a-z\u00c0-\u024f0-9])", source_text.lower())
        is not None
    )


def _form_in(form: str, source_text: str, compact_source: str) -> bool:
    if _CJK_RE.search(form) and not re.search(r"[A-Za-z]", form):
        return _compact(form) in compact_source
    if _CJK_RE.search(form):
        return _compact(form) in compact_source
    return _latin_in(form, source_text)


@lru_cache(maxsize=64)
def _source_forms(source: str) -> tuple[str, str]:
    return _nfkc(source), _compact(source)


def _title_key(title: str) -> str:
    """A 《title》 compared without marks, spaces, punctuation and case; 人工智能 = AI."""
    key = _TITLE_PUNCT.sub("", _compact(title).strip("《》"))
    return key.replace("人工智能", "ai")


@lru_cache(maxsize=1)
def _title_alias_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    for group in _TITLE_ALIASES:
        for form in group:
            index[_title_key(form)] = group
    return index


@lru_cache(maxsize=64)
def _source_titles(source: str) -> tuple[tuple[str, ...], str]:
    """Keys of the source's 《titles》 (and quoted names) and of its whole text."""
    text = _nfkc(source)
    titles = (_title_key(m.group(1) or m.group(2)) for m in _RE_SOURCE_TITLE.finditer(text))
    return tuple(t for t in titles if t), _title_key(text)


def _title_supported(title: str, source: str) -> bool:
    """A summary 《title》: within a source 《title》 (《暂行办法》 in 《...服务管理暂行办法》), named by
    an alias (《自然》 = Nature), or, unless it is a common word (《科学》, 《自然》), in the source text."""
    key = _title_key(title)
    if not key:
        return True
    titles, whole = _source_titles(source)
    source_text = _nfkc(source)
    for form in _title_alias_index().get(key, (title.strip("《》"),)):
        form_key = _title_key(form)
        if any(form_key in t for t in titles):
            return True
        if not _CJK_RE.search(form) and _latin_in(form, source_text):
            return True
    _, tags = _jieba()
    return key not in tags and key not in _title_alias_index() and key in whole


def _is_place(word: str) -> bool:
    _, tags = _jieba()
    return word in _LEXICON_PLACES or str(tags.get(word, "")).startswith("ns")


def _place_prefix(word: str) -> str:
    """The longest place name (2-4 characters) that word starts with, or ""."""
    for k in (4, 3, 2):
        if len(word) > k and _is_place(word[:k]):
            return word[:k]
    return ""


def _known_name(stem: str) -> bool:
    """A stem left by dropping a generic suffix still names something: no place, and 3+ characters
    or a lexicon form (蚂蚁, 商汤, 百川)."""
    if _is_place(stem):
        return False
    return len(stem) >= 3 or _compact(stem) in _alias_index()[0]


def _entity_supported(entity: str, source: str, origin: str = "latin") -> bool:
    if origin == "title":
        return _title_supported(entity, source)
    source_text, compact_source = _source_forms(source)
    if _form_in(entity, source_text, compact_source):
        return True
    index, _ = _alias_index()
    for alias in index.get(_compact(entity), ()):
        if _form_in(alias, source_text, compact_source):
            return True
    if _is_cjk_word(entity):
        word = entity.replace("·", "")
        suffix = next((sfx for sfx in _ORG_ENTITY_SUFFIXES + _ORG_SUFFIXES if word.endswith(sfx)), "")
        if suffix and _is_place(word[: -len(suffix)]):
            return False  # 北京大学, 浙江大学: the place is the name; only the full form or an alias
        stem = word[: -len(suffix)] if suffix else word
        if len(suffix) >= 2 and len(stem) >= 2 and stem in compact_source:
            pass  # 同济大学 in "同济医院与复旦大学", 北京大学 in 北京理工大学: another organisation
        elif len(word) >= 2 and _abbreviation_in(word, compact_source):
            return True
        for sfx in _ORG_SUFFIXES:
            stem = word.removesuffix(sfx)
            if stem != word and stem in compact_source and _known_name(stem):
                return True
        place = _place_prefix(word) if origin == "org" else ""
        rest = word[len(place) :]
        if place and len(rest) >= 2 and rest not in _ORG_STOP and _entity_supported(place, source, "jieba"):
            if _entity_supported(rest, source, "org"):
                return True  # 美国国防部 for 国防部, with 美国 in the source
        if origin == "person" and len(word) == 3 and word[:-1] in compact_source:
            return True  # the given name may be one character (张鹏 + 今天 -> 张鹏今)
        if (
            origin == "jieba"
            and len(word) >= 3
            and not suffix
            and (word[1:] in compact_source or word[:-1] in compact_source)
        ):
            return True  # a function character glued on by the HMM (和小红, 向纳)
        return False
    # A journal's English name for the source's Chinese title (Nature for 《自然》).
    group = _title_alias_index().get(_title_key(entity))
    if group and any(_title_key(f) in _source_titles(source)[0] for f in group):
        return True
    # Multi-word Latin name: every word that is no number and no generic acronym occurs.
    words = [w for w in _latin_words(entity) if not w.isdigit() and w not in _LATIN_STOP]
    if len(_latin_words(entity)) > 1 and words:
        return all(_latin_in(w, source_text) for w in words)
    return False


def _entity_check(summary: str, source: str) -> tuple[list[str], list[str]]:
    spans = _entity_spans(summary)
    found = [ent for _, _, ent, _ in spans]
    bad = [ent for _, _, ent, origin in spans if not _entity_supported(ent, source, origin)]
    return found, bad


def unsupported_entities(summary: str, source: str) -> list[str]:
    """Entities of the summary that the source does not support (unique, in order)."""
    return _unique(_entity_check(summary, source)[1])


def check_claim(claim: str, source: str) -> dict[str, list[str]]:
    """Unsupported quantities and entities of one claim: {"numbers": [...], "entities": [...]}."""
    return {"numbers": unsupported_quantities(claim, source), "entities": unsupported_entities(claim, source)}


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------------------------
# Scorer


def source_context(item: Item) -> str:
    """What the model was given and may draw facts from: title, date and source (see the prompts)."""
    return "\n".join(part for part in (item.title, item.date or "", item.source) if part)


class FactsScorer:
    """Share of the digest's numbers and entities that its source does not support."""

    name = "facts"

    def meta(self) -> dict[str, Any]:
        """Everything that determines the numbers."""
        import jieba

        return {
            "numbers": NUMBERS_METHOD,
            "entities": ENTITIES_METHOD,
            "jieba": jieba.__version__,
            "entity_pos_tags": list(_ENTITY_TAGS),
            "lexicon_groups": len(_ENTITY_GROUPS),
            "context": "item title + date + source",
            "counting": "mentions, per bullet; evidence lists unique strings",
            "empty_output": "all values 0.0",
            "metric_version": METRIC_VERSION,
        }

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        """Score candidates[i] (a list of generated bullets) against items[i].source."""
        return score_each(items, candidates, self._score_one)

    def _score_one(self, item: Item, bullets: Sequence[str]) -> MetricResult:
        bullets = [b for b in bullets if b and b.strip()]
        if not bullets:
            return MetricResult(values=dict.fromkeys(VALUE_KEYS, 0.0), flags=["empty_output"], evidence={})
        quantities: list[Quantity] = []
        bad_quantities: list[Quantity] = []
        entities: list[str] = []
        bad_entities: list[str] = []
        context = source_context(item)
        for bullet in bullets:  # per bullet, so nothing is joined across bullet boundaries
            found, bad = _quantity_check(bullet, context)
            quantities += found
            bad_quantities += bad
            ents, bad_ents = _entity_check(bullet, context)
            entities += ents
            bad_entities += bad_ents
        values = {
            "facts_number_unsupported_rate": len(bad_quantities) / len(quantities) if quantities else 0.0,
            "facts_entity_unsupported_rate": len(bad_entities) / len(entities) if entities else 0.0,
            "facts_numbers": float(len(quantities)),
            "facts_entities": float(len(entities)),
        }
        flags = []
        if bad_quantities:
            flags.append("unsupported_number")
        if bad_entities:
            flags.append("unsupported_entity")
        evidence = {
            "unsupported_numbers": _unique(q.surface for q in bad_quantities),
            "unsupported_entities": _unique(bad_entities),
        }
        return MetricResult(values=values, flags=flags, evidence=evidence)


def _build(options: Any) -> FactsScorer | None:
    return FactsScorer() if options.enabled else None


METRIC = register(
    Metric(
        name="facts",
        description="deterministic check: numbers and named entities of the digest that its source lacks",
        needs_reference=False,
        order=40,
        version=METRIC_VERSION,
        build=_build,
        columns=(
            Column(
                "facts_number_unsupported_rate",
                "unsupported numbers ↓",
                higher_is_better=False,
                headline=True,
            ),
            Column(
                "facts_entity_unsupported_rate",
                "unsupported entities ↓",
                higher_is_better=False,
                headline=True,
            ),
            Column("facts_numbers", "numbers checked"),
            Column("facts_entities", "entities checked"),
        ),
    )
)
