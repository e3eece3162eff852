"""Whether a source supports a summary's quantities.

A summary quantity is supported when the source has a compatible one: the same value (or the source
value rounded to the summary's written precision, or within a hedged summary value's precision),
the same unit (a currency or 参数 may be named elsewhere in the source), the same date parts, the
same version token. The source is read generously: numbers inside model names and the magnitude
of a range count. Counts with 大 ("六大应用") are compared only with counts of the same noun.
docs/facts.md has the rules in full.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from harness.score.factcheck.dates import DateValue, date_supported
from harness.score.factcheck.entity_support import branded_version_supported, entity_supported
from harness.score.factcheck.lexicon import alias_index
from harness.score.factcheck.numerals import CN_DIGITS, CN_NUM_CHARS, parse_chinese_number
from harness.score.factcheck.quantities import Quantity, extract, extract_at
from harness.score.factcheck.text import compact, nfkc, unique
from harness.score.factcheck.units import unit_named


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
        # A one-sided hedge keeps its side: "超过 1000 万" is not 980 万, "近 5 亿" is not 5.1 亿.
        if (q.bound == "lower" and b < a) or (q.bound == "upper" and b > a):
            return False
        diff = abs(a - b)
        return diff < tolerance + 1e-9 * abs(b) and diff <= 0.1 * abs(b)
    return False


def _per_unit(q: Quantity) -> Quantity:
    """A price per amount of a unit as a price per single unit."""
    return replace(
        q, value=float(q.value) / q.per, step=q.step / q.per, approx_step=q.approx_step / q.per, per=1.0
    )  # type: ignore[arg-type]


def _scale_of(s: Quantity) -> float | None:
    """The computing-scale class (power of ten, in steps of three: E 级 = 18) of a FLOPS quantity."""
    if s.kind == "scale":
        return float(s.value)  # type: ignore[arg-type]
    if s.unit == "FLOPS" and float(s.value) >= 1:  # type: ignore[arg-type]
        return float(3 * math.floor(math.log10(float(s.value)) / 3 + 1e-9))  # type: ignore[arg-type]
    return None


def _joined_supported(word: str, num: str, facts: SourceFacts) -> bool:
    """ "MMLU 90.2": the word in the source with the number shortly after it (MMLU 上得分 90.2)."""
    value = float(num)
    for m in re.finditer(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])", facts.text.lower()):
        window = facts.text[m.end() : m.end() + 15]
        if any(math.isclose(float(n), value) for n in re.findall(r"(?<![\d.])\d+(?:\.\d+)?", window)):
            return True
    return False


@dataclass
class SourceFacts:
    text: str
    compact: str
    quantities: list[Quantity]
    years: set[int]
    dates: list[DateValue]
    big_counts: list[tuple[Quantity, str]]
    starts: list[int]  # where each of quantities starts in text (big counts: where the count is)


# Amounts a source states in words, read on the source side only (a summary may write them out):
# a bare magnitude (万卡 = 1 万张卡, 千亿参数, 百万用户), half (一半, 半数 = 50%) and a rank (前十 = 10).
_RE_BARE_MAGNITUDE = re.compile(
    rf"(?<![\d{CN_NUM_CHARS}几数多上])(?P<m>十万|百万|千万|百亿|千亿|万亿|万(?=[卡张台人家名个]))"
)
_MAGNITUDE_WORDS = {
    "万": 1e4,
    "十万": 1e5,
    "百万": 1e6,
    "千万": 1e7,
    "百亿": 1e10,
    "千亿": 1e11,
    "万亿": 1e12,
}
_RE_HALF = re.compile(r"(?<![上下前后])(?:一半|半数)")
_RE_TOP = re.compile(
    r"前(?P<n>[二三四五六七八九十两]|十[一二三四五六七八九]|[二三四五六七八九]十)(?![分万亿])"
)
# Half-years in Latin notation and in Chinese (H1 = 上半年).
_HALF_YEARS = {"h1": "上半年", "h2": "下半年", "1h": "上半年", "2h": "下半年"}


def _word_amounts(text: str) -> list[tuple[int, Quantity]]:
    out = []
    for m in _RE_BARE_MAGNITUDE.finditer(text):
        value = _MAGNITUDE_WORDS[m.group("m")]
        out.append((m.start(), Quantity(m.group(0), value, "number", None, value)))
    for m in _RE_HALF.finditer(text):
        out.append((m.start(), Quantity(m.group(0), 50.0, "percent", None, 1.0)))
    for m in _RE_TOP.finditer(text):
        parsed = parse_chinese_number(m.group("n"))
        if parsed is not None:
            out.append((m.start(), Quantity(m.group(0), float(parsed[0]), "number", None, 1.0)))
    return out


@lru_cache(maxsize=64)
def source_facts(source: str) -> SourceFacts:
    """What a source supports (cached: a source is checked against many summaries)."""
    return facts_of(source)


def facts_of(source: str) -> SourceFacts:
    """What a source (or one clause of it) supports."""
    found = extract_at(source, keep_inner=True) + _word_amounts(nfkc(source))
    starts = [start for start, _ in found]
    quantities = [q for _, q in found]
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
    text = nfkc(source)
    starts += [max(0, text.find(q.surface)) for q, _ in big_counts]
    return SourceFacts(text, compact(source), quantities, years, dates, big_counts, starts)  # type: ignore[arg-type]


def version_starts(facts: SourceFacts) -> set[int]:
    """Where the source's versions and joined names start (GPT-4): the numbers read inside them
    start there too."""
    pairs = zip(facts.quantities, facts.starts, strict=True)
    return {at for q, at in pairs if q.kind in ("version", "joined")}


def part_facts(facts: SourceFacts, start: int, end: int, versions: set[int] | None = None) -> SourceFacts:
    """What text[start:end] of a source supports: its quantities (no years or counts with 大 of
    their own, so a bare number is compared only with the part's own quantities). `versions`:
    `version_starts(facts)`, when the caller reads many parts of one source."""
    text = facts.text[start:end]
    # The numbers inside a version (GPT-4 -> 4) start where the version does: not the part's values.
    if versions is None:
        versions = version_starts(facts)
    quantities = [
        q
        for q, at in zip(facts.quantities, facts.starts, strict=True)
        if start <= at < end and (q.kind in ("version", "joined", "date") or at not in versions)
    ]
    dates = [q.value for q in quantities if q.kind == "date"]
    return SourceFacts(text, compact(text), quantities, set(), dates, [], [])  # type: ignore[arg-type]


def _version_in(token: str, source_text: str) -> bool:
    """Whole-token occurrence, separators and case aside: llama2 ~ "LLaMA 2" ~ "Llama-2"."""
    parts = re.findall(r"[a-z]+|\d+(?:\.\d+)*", token.lower())
    if not parts:
        return False
    pattern = r"[\s\-_·]*".join(re.escape(p) for p in parts)
    return re.search(rf"(?<![a-z0-9]){pattern}(?![a-z0-9]|\.\d)", source_text.lower()) is not None


def number_supported(q: Quantity, facts: SourceFacts) -> bool:
    if q.kind in ("version", "joined"):
        if _version_in(str(q.value), facts.text):
            return True
        if str(q.value) in _HALF_YEARS:
            return _HALF_YEARS[str(q.value)] in facts.text  # H1 = 上半年
        if branded_version_supported(q.surface, facts.text):
            return True  # DeepSeek-V3 = 深度求索V3
        if compact(q.surface) in alias_index()[0]:
            return entity_supported(q.surface, facts.text)  # a16z = Andreessen Horowitz
        if q.kind == "joined":
            parts = re.match(r"(.*?) (\d+(?:\.\d+)?)", q.surface)
            assert parts is not None
            word, num = parts.groups()
            return _joined_supported(word, num, facts)
        return False
    if q.kind == "date":
        fiscal = [s.value for s in facts.quantities if s.kind == "date" and s.unit == "fiscal"]
        if q.unit == "fiscal" and fiscal:
            # A fiscal year against the source's fiscal years (FY26 = 2026 财年, not the calendar
            # year 2025 in which it mostly falls).
            return any(q.value[0] == f[0] for f in fiscal)  # type: ignore[index]
        return date_supported(q.value, facts.years, facts.dates)  # type: ignore[arg-type]
    if q.kind == "round":
        return any(s.kind == "round" and s.value == q.value for s in facts.quantities)
    if q.kind == "scale":
        return any(_scale_of(s) == q.value for s in facts.quantities)
    value_kinds = ("number", "percent", "currency", "size")
    for s in facts.quantities:
        if s.kind not in value_kinds:
            continue
        if q.per != 1.0 and s.per != 1.0:
            # Prices per amount of a unit, compared per single unit (每千万 token 8 元 = 每百万 token 0.8 元);
            # a price written without its amount on one side is compared as written.
            if not _values_match(_per_unit(q), _per_unit(s)):
                continue
        elif not _values_match(q, s):
            continue
        if q.kind == "number" and q.unit is None:
            return True  # a bare number: any source quantity with that value
        if s.kind == q.kind and s.unit == q.unit:
            return True
        if s.kind == "number" and s.unit is None and q.kind in ("currency", "size"):
            # Value without a unit in the source ("估值 30 亿", "参数量 130 亿"), the currency or 参数
            # named elsewhere in the source. Other units (秒, 倍, %) must be written with the value.
            unit_key = q.unit if q.kind == "currency" else q.kind
            if unit_key is not None and unit_named(unit_key, facts.text):
                return True
    if q.kind == "number" and q.unit is None and float(q.value).is_integer():  # type: ignore[arg-type]
        v = int(float(q.value))  # type: ignore[arg-type]
        return any(v in d for d in facts.dates)
    return False


# "六大应用", "三大运营商": a digit, 大 and a noun (its first two characters are the key). A lone
# Chinese digit before 大 is no quantity of its own (三大 is often idiomatic), so such a count in the
# summary is checked only against counts of the same noun in the source.
_RE_BIG_COUNT = re.compile(
    rf"(?<![第{CN_NUM_CHARS}\d.])(?P<n>\d+|[二三四五六七八九十两])大(?!类)(?P<noun>[\u4e00-\u9fff]{{1,2}})"
)


def _big_counts(text: str, arabic: bool) -> list[tuple[Quantity, str]]:
    """(count, noun key) of every "六大应用"-style count; Arabic digits ("6 大应用") only if asked."""
    out = []
    for m in _RE_BIG_COUNT.finditer(nfkc(text).replace(" 大", "大")):
        n = m.group("n")
        if n.isdigit():
            if not arabic:
                continue  # "6 大应用" is already an ordinary number
            value = float(n)
        else:
            value = float(CN_DIGITS.get(n, 10))
        out.append((Quantity(m.group(0), value, "number", None, 1.0), m.group("noun")))
    return out


def _big_count_supported(q: Quantity, noun: str, facts: SourceFacts) -> bool | None:
    """Whether the source gives the same count of the same noun; None when it counts no such noun."""
    values = [float(s.value) for s, key in facts.big_counts if key == noun]  # type: ignore[arg-type]
    if not values:
        return None
    return any(math.isclose(float(q.value), v) for v in values)  # type: ignore[arg-type]


def quantity_check(summary: str, source: str) -> tuple[list[Quantity], list[Quantity]]:
    """(every quantity of the summary, those the source does not support), mentions in order."""
    facts = source_facts(source)
    found = extract(summary)
    bad = [q for q in found if not number_supported(q, facts)]
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
    return unique(q.surface for q in quantity_check(summary, source)[1])
