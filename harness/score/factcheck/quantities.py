"""Quantities in a text: one left-to-right scan over NFKC text.

Recognised, in this order of priority: dates (`dates.py`), percentages (35%, 3 个百分点, 百分之三十五),
prefixed currencies ($10, US$1.2B), versions and model names (GPT-4.5, Qwen-72B, Llama 2, 4NP),
Arabic numbers with magnitudes and units (7.5 亿美元, 13B, 60 秒; `units.py`) and Chinese numerals
(三千五百万, `numerals.py`). The rules, including when a lone Chinese digit is a number, are
described in docs/facts.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from harness.score.factcheck import dates
from harness.score.factcheck.dates import DateMatch, DateValue
from harness.score.factcheck.lexicon import lexicon_number_spans
from harness.score.factcheck.numerals import CN_DIGITS, CN_NUM_CHARS, parse_chinese_number
from harness.score.factcheck.prescan import round_spans, scale_spans
from harness.score.factcheck.text import nfkc
from harness.score.factcheck.units import (
    CJK_UNITS,
    COUNTED_PREFIXES,
    CURRENCY_PREFIXES,
    LATIN_MAGNITUDES,
    LATIN_UNITS,
    MAG_RE,
    MAGNITUDES,
    MEASURE_WORDS,
    RE_JOIN_BLOCK,
    UNIT_RE,
    WORD_MAGNITUDES,
    base_unit,
)
from harness.score.factcheck.wordlists import table, words


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
    bound: "lower" when the hedge makes the value a minimum (超过, 多), "upper" a maximum (近, 不到),
        "" otherwise.
    per: for a price per amount of a unit (每百万 token 0.8 元), that amount (1e6); 1 otherwise.
    """

    surface: str
    value: float | str | DateValue
    kind: str
    unit: str | None = None
    step: float = 0.0
    approx: bool = False
    approx_step: float = 0.0
    per: float = 1.0
    bound: str = ""


_HEDGE_BEFORE = re.compile("(?:" + "|".join(re.escape(w) for w in words("hedges_before.txt")) + r")\s?$")
_HEDGE_AFTER = words("hedges_after.txt")
_HEDGE_AFTER_LONGEST = tuple(sorted(_HEDGE_AFTER, key=len, reverse=True))
# Hedges that bound a value from one side (超过: at least; 近: at most).
_HEDGE_BOUNDS = dict(table("hedge_bounds.tsv", 2))
_VAGUE_BEFORE = "数几"

_ARABIC = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_CN_RUN = f"[{CN_NUM_CHARS}]+(?:点[{''.join(CN_DIGITS)}]+)?"
_CURRENCY_RE = "|".join(re.escape(p) for p in sorted(CURRENCY_PREFIXES, key=len, reverse=True))
_RE_CN_PERCENT = re.compile(rf"百分之(?P<n>{_ARABIC}|{_CN_RUN})")
# Fractions: 三分之一 = 33%, 4 分之 3 = 75% (the denominator not 百: that is 百分之).
_RE_FRACTION = re.compile(r"(?P<d>\d+|[二三四五六七八九十两]+) ?分之 ?(?P<n>\d+|[一二三四五六七八九十]+)")
# Fractions with a slash: 1/3 = 三分之一, 3/4 (one-digit numerator, denominator up to 10; not in
# codes, dates, versions or ratios of larger numbers: ISO/IEC, 24/7, 12/19, 1/3/5).
_RE_SLASH_FRACTION = re.compile(r"(?<![A-Za-z0-9/.\-:])(?P<n>[1-9])/(?P<d>10|[2-9])(?![A-Za-z0-9/.\-:%])")
# 半 of a duration: 半小时, 半年, 一个半小时 (not 上半年/下半年, halves of a year).
_HALF_UNITS = ("小时", "个小时", "天", "年", "个月", "周", "个星期", "分钟", "秒")
_RE_PREFIX_CURRENCY = re.compile(
    rf"(?P<cur>{_CURRENCY_RE}) ?(?P<n>{_ARABIC}) ?"
    rf"(?P<mag>{MAG_RE}|(?:billion|million|bn|[BMKT])(?![A-Za-z]))?"
)
_RE_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.+][A-Za-z0-9]+)*")
_RE_JOIN_NUMBER = re.compile(r" (\d+(?:\.\d+)?)((?:[-_][A-Za-z0-9]+)*)")
_RE_ARABIC = re.compile(rf"(?P<n>{_ARABIC})(?P<sfx>[A-Za-z][A-Za-z0-9]*)?")
_RE_CN = re.compile(_CN_RUN)
_CURRENCY_PREFIXES = tuple(CURRENCY_PREFIXES)
# The characters at which `_Scanner._at` can find anything (an ASCII digit or letter, a Chinese
# numeral, 半 of 半小时, the first character of a currency prefix); at any other one it only steps
# on. A new kind of start in `_at` must be added here (tests/test_facts_speed.py compares the two).
_RE_START = re.compile(
    "[0-9A-Za-z"
    + "".join(re.escape(c) for c in sorted(set(CN_NUM_CHARS) | {"半"} | {p[0] for p in CURRENCY_PREFIXES}))
    + "]"
)
# Date forms tried before a number at an Arabic digit and at a Chinese numeral.
_DATES_AT_DIGIT = (dates.iso_date, dates.year_month_day, dates.month_day, dates.day)
_DATES_AT_CN = (dates.year_month_day, dates.month_day)
_WORD_MAG_RE = "|".join(sorted(WORD_MAGNITUDES, key=len, reverse=True))
_RE_TAIL = re.compile(
    rf"(?P<h1> ?(?:多|余))?(?P<mag> ?(?:{MAG_RE}|(?i:{_WORD_MAG_RE})(?![A-Za-z])))?(?P<h2> ?(?:多|余))?"
    rf"(?P<unit> ?(?:{UNIT_RE}|(?i:(?:US |U\.S\. )?dollars?)(?![A-Za-z])|[A-Za-z]+(?![A-Za-z0-9])))?"
)
# A unit right after a counting word: 100 万个 token, 3 张 GB 级显卡 is no unit (only the tables').
_RE_UNIT_AFTER_COUNT = re.compile(rf" ?(?P<unit>{UNIT_RE}|[A-Za-z]+(?![A-Za-z0-9]))")
# Units of time and length after which a lone 一 is a number (一天, 一年, 一小时), longest first.
_DURATION_UNITS = tuple(
    sorted(
        (w for w, (k, u) in CJK_UNITS.items() if k == "number" and u not in (None, "times", "age")),
        key=len,
        reverse=True,
    )
)
# 三成, 七成 = 30%, 70% (not 成为, 成立, 成本, ...: the characters after 成 that make it a word).
_CHENG_NOT_PERCENT = "".join(words("cheng_not_percent.txt"))
# Quarters and fiscal years in Latin notation: Q2 = 第二季度, FY26 = 2026 财年.
_RE_QUARTER = re.compile(r"[Qq]([1-4])(?![A-Za-z0-9])")
_RE_FISCAL_YEAR = re.compile(r"FY ?(\d{4}|\d{2})(?![A-Za-z0-9])")
# The amount a price is for (每百万 token 0.8 元, 0.8 元/百万 tokens, $2 per million tokens).
_PER_AMOUNT = (
    rf"(?P<n>\d+(?:\.\d+)?)? ?(?P<mag>{MAG_RE}|[KkM]|(?i:million|thousand))? ?(?:个|输入|输出)? ?(?i:tokens?)"
)
_RE_PER_BEFORE = re.compile(rf"每 ?{_PER_AMOUNT}(?P<gap>[^，。；;,！？!?]{{0,12}})$")
_RE_PER_AFTER = re.compile(rf" ?(?:/|每|(?i:per) ) ?{_PER_AMOUNT}")
# 每秒 N 亿亿次 (floating-point operations per second): FLOPS.
_RE_PER_SECOND = re.compile(r"每秒[^，。；;,]{0,3}$")


def _decimals(num: str) -> int:
    return len(num.partition(".")[2])


def _trailing_zeros(num: str) -> int:
    digits = num.replace(",", "")
    if "." in digits:
        return 0
    return len(digits) - len(digits.rstrip("0"))


class _Scanner:
    """One left-to-right pass over NFKC text; docs/facts.md describes what is recognised.

    keep_inner (source side): also yield the numbers inside versions (Qwen-72B -> 72B, GPT-4.5 ->
    4.5) and the magnitude a range's first number borrows (5-10 亿 -> 5 亿).
    """

    def __init__(self, text: str, keep_inner: bool = False) -> None:
        self.text = text
        self.keep_inner = keep_inner
        self.out: list[Quantity] = []

    def run(self) -> list[Quantity]:
        i = 0
        self.starts: list[int] = []  # where each quantity of self.out was found
        while i < len(self.text):
            start = _RE_START.search(self.text, i)  # skips what `_at` would step over one by one
            if start is None:
                break
            i = start.start()
            before = len(self.out)
            after = max(self._at(i), i + 1)
            self.starts += [i] * (len(self.out) - before)
            i = after
        return self.out

    # -- helpers -----------------------------------------------------------------------------
    def _prev(self, i: int) -> str:
        return self.text[i - 1] if i > 0 else ""

    def _hedge(self, start: int, end: int) -> str | None:
        """The hedge word around text[start:end] (约, 超过, 左右, ...), None when there is none."""
        before = _HEDGE_BEFORE.search(self.text[max(0, start - 4) : start])
        if before:
            return before.group(0).strip()
        after = self.text[end : end + 4].lstrip()
        if after.startswith("上下文"):
            return None
        return next((word for word in _HEDGE_AFTER_LONGEST if after.startswith(word)), None)

    # -- one position --------------------------------------------------------------------------
    def _at(self, i: int) -> int:
        text = self.text
        ch = text[i]
        prev = self._prev(i)
        if ch.isascii() and ch.isdigit():
            if prev.isascii() and (prev.isalnum() or prev == "."):
                return i + 1
            return self._date(i, _DATES_AT_DIGIT) or self._arabic(i) or i + 1
        if ch in CN_NUM_CHARS:
            if prev and prev in CN_NUM_CHARS:
                return i + 1
            return self._date(i, _DATES_AT_CN) or self._chinese(i) or i + 1
        if (
            ch == "半"
            and (not prev or prev not in "上下大过一")
            and text.startswith(_HALF_UNITS, i + 1)
            and not text.startswith(("半年报", "半年度"), i)  # a report or period, no duration
        ):
            return self._half(i, i + 1, 0.0)
        if text.startswith(_CURRENCY_PREFIXES, i):
            end = self._prefix_currency(i)
            if end:
                return end
        if ch.isascii() and ch.isalpha():
            if prev.isascii() and prev.isalnum():
                return i + 1
            return self._period(i) or self._latin(i)
        return i + 1

    def _half(self, start: int, at: int, whole: float) -> int:
        """半小时 = 0.5 小时, 一个半小时 = 1.5 小时: whole + 0.5 of the unit at text[at:]."""
        tail = self._tail(at)
        if tail.unit is None:
            return 0
        self._number(start, tail.end, "", whole + 0.5, 0.5, tail.mult, tail.kind, tail.unit, 0, tail.hedge)
        return tail.end

    # -- dates -----------------------------------------------------------------------------------
    def _date(self, i: int, matchers: tuple[Callable[[str, int], DateMatch | None], ...]) -> int:
        """End of the first date one of matchers finds at i, kept as a quantity; 0 when none."""
        for match in matchers:
            found = match(self.text, i)
            if found:
                m, value = found
                fiscal = "fiscal" if "财年" in m.group(0) else None  # 2026 财年 is no calendar year
                self.out.append(Quantity(m.group(0).strip(), value, "date", fiscal))
                return m.end()
        return 0

    def _period(self, i: int) -> int:
        """Q2 (a quarter, as 第二季度 reads) and FY26 / FY2026 (a fiscal year, as 2026 财年)."""
        m = _RE_QUARTER.match(self.text, i)
        if m:
            self.out.append(Quantity(m.group(0), float(m.group(1)), "number", "quarter", 1.0))
            return m.end()
        m = _RE_FISCAL_YEAR.match(self.text, i)
        if m:
            year = int(m.group(1)) + (2000 if len(m.group(1)) == 2 else 0)
            self.out.append(Quantity(m.group(0), (year, None, None), "date", "fiscal"))
            return m.end()
        return 0

    # -- numbers ---------------------------------------------------------------------------------
    def _prefix_currency(self, i: int) -> int:
        if self.text[i].isalpha() and self._prev(i).isascii() and self._prev(i).isalnum():
            return 0  # USD inside a word
        m = _RE_PREFIX_CURRENCY.match(self.text, i)
        if not m:
            return 0
        num = m.group("n")
        mag = m.group("mag")
        mult = 1.0
        if mag:
            mult = MAGNITUDES.get(mag) or LATIN_MAGNITUDES[mag.lower()]
        if not mag:
            tail = _RE_TAIL.match(self.text, m.end())
            if tail and tail.group("mag") and not tail.group("h1"):
                mag = tail.group("mag").strip()  # US$ 500 million, USD 1.2 billion
                mult = MAGNITUDES.get(mag) or WORD_MAGNITUDES[mag.lower()]
                m = tail
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
            CURRENCY_PREFIXES[m.group("cur")],
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
            if not j or RE_JOIN_BLOCK.match(text, j.end(1)):
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
        word = self._hedge(start, end)
        approx = hedge or word is not None
        bound = "lower" if hedge else _HEDGE_BOUNDS.get(word or "", "")  # 1000 多万: at least
        ordinal = self._prev(start) == "第"
        if ordinal:
            start -= 1  # ordinals keep their 第 in the surface
        if kind == "number" and unit is None and mult >= 1e12 and self.text[end - 1 : end] == "次":
            if (
                _RE_PER_SECOND.search(self.text[max(0, start - 8) : start])
                or "浮点" in self.text[end : end + 4]
            ):
                unit = "FLOPS"  # 每秒 174.2 亿亿次 (浮点运算) = 1.742 EFLOPS
        surface = self.text[start:end].strip()
        if not ordinal:  # 第 2 天 is a position, not a duration of 172800 秒
            unit, scale = base_unit(unit)
            mult *= scale
        per = 1.0
        if kind == "currency":
            per, end = self._per_amount(start, end)
        self.out.append(
            Quantity(
                surface, value * mult, kind, unit, step * mult, approx, 10.0**zeros * step * mult, per, bound
            )
        )
        if self.keep_inner and mult == 1.0 and unit is None and kind == "number":
            # A range "5-10 亿": the first number borrows the second's magnitude and unit.
            rng = re.match(rf" ?[-~至到] ?{_ARABIC}", self.text[end:])
            if rng:
                tail = self._tail(end + rng.end())
                if tail.mult != 1.0 or tail.unit is not None:
                    unit, scale = base_unit(tail.unit)
                    self.out.append(
                        Quantity(
                            surface, value * tail.mult * scale, tail.kind, unit, step * tail.mult * scale
                        )
                    )

    def _per_amount(self, start: int, end: int) -> tuple[float, int]:
        """(amount a price is for, end of the price): 每百万 token 0.8 元 -> 1e6; 1 when none."""
        after = _RE_PER_AFTER.match(self.text, end)
        before = _RE_PER_BEFORE.search(self.text[max(0, start - 40) : start])
        m = after or before
        if m is None:
            return 1.0, end
        amount = float(m.group("n")) if m.group("n") else 1.0
        mag = m.group("mag")
        if mag:
            amount *= MAGNITUDES.get(mag) or LATIN_MAGNITUDES.get(mag.lower()) or WORD_MAGNITUDES[mag.lower()]
        return amount, (end + after.end() - after.start() if after else end)

    def _tail(self, j: int) -> _Tail:
        """Hedge, magnitude and unit written after a number that ends at j."""
        m = _RE_TAIL.match(self.text, j)
        assert m is not None
        mag = (m.group("mag") or "").strip()
        mult = (MAGNITUDES.get(mag) or WORD_MAGNITUDES[mag.lower()]) if mag else 1.0
        unit_word = (m.group("unit") or "").strip()
        if re.fullmatch(r"(?i)(?:US |U\.S\. )?dollars?", unit_word):
            unit_word = "dollars"
        kind, unit, end = "number", None, 0
        if unit_word in CJK_UNITS:
            kind, unit = CJK_UNITS[unit_word]
            end = m.end("unit")
        elif unit_word.lower() in LATIN_UNITS and LATIN_UNITS[unit_word.lower()][2] == 1.0:
            kind, unit, _ = LATIN_UNITS[unit_word.lower()]
            end = m.end("unit")
        elif unit_word in MEASURE_WORDS:
            end = m.end("unit")
            after = _RE_UNIT_AFTER_COUNT.match(self.text, end)
            word = after.group("unit") if after else ""
            if word in CJK_UNITS and word not in MEASURE_WORDS:
                (kind, unit), end = CJK_UNITS[word], after.end()  # type: ignore[union-attr]
            elif word.lower() in LATIN_UNITS and LATIN_UNITS[word.lower()][2] == 1.0:
                kind, unit, _ = LATIN_UNITS[word.lower()]
                end = after.end()  # type: ignore[union-attr]
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
        if key not in LATIN_UNITS:
            # 4NP, 8x7B, 5G: a code, compared as a token.
            self.out.append(Quantity(m.group(0), m.group(0).lower(), "version"))
            return m.end()
        kind, unit, mult = LATIN_UNITS[key]
        end = m.end()
        if mult != 1.0:
            # 1.2B 美元, 128K tokens: a magnitude letter before a currency or unit word.
            after = re.match(r" ?(美元|美金|欧元|人民币|元|港元|英镑|日元)", self.text[end:])
            if after:
                kind, unit = CJK_UNITS[after.group(1)]
                end += after.end()
            elif kind in ("number", "size"):  # 128K tokens, 1M token (B/T/M alone: parameters)
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
        if run[0] not in CN_DIGITS and run[0] != "十":
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
        after_cheng = text[end + 1 : end + 2]
        if (
            len(run) == 1
            and text.startswith("成", end)
            and not (after_cheng and after_cheng in _CHENG_NOT_PERCENT)
        ):
            if run != "十":  # 三成 = 30%, 两成 = 20%, 三成半 = 35%, 七成五 = 75% (not 成为, 一成不变)
                tenths, cheng_end, cheng_step = value * 10, end + 1, 10.0
                if after_cheng == "半" or (after_cheng in CN_DIGITS and after_cheng not in "零〇一"):
                    tenths += 5 if after_cheng == "半" else CN_DIGITS[after_cheng]
                    cheng_end, cheng_step = end + 2, 1.0 if after_cheng != "半" else 5.0
                self._number(i, cheng_end, text[i:cheng_end], tenths, cheng_step, 1.0, "percent", None, 0)
                return cheng_end
        half = re.match(r"个?半", text[end : end + 2])
        if half and text.startswith(_HALF_UNITS, end + half.end()):
            return self._half(i, end + half.end(), value)  # 一个半小时, 两个半小时
        if half and half.group(0) == "个半" and text.startswith("月", end + 2):
            # 两个半月: the 个 of 个月 stands before 半, so the unit after it is a bare 月.
            self._number(i, end + 3, "", value + 0.5, 0.5, 1.0, "number", "month", 0)
            return end + 3
        if len(run) == 1:
            ordinal = self._prev(i) == "第" and not text.startswith("方", end)  # 第三方 is no ordinal
            if run == "一" and not ordinal and not text.startswith(("季度", *_DURATION_UNITS), end):
                return end  # 一个/一款/一种 mostly mean "a" (一季度, 一天, 一年 are amounts)
            following = text[end : end + 4].lstrip(" 多余")
            if not ordinal and not following.startswith(COUNTED_PREFIXES):
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
    for m in list(_RE_FRACTION.finditer(text)) + list(_RE_SLASH_FRACTION.finditer(text)):
        parts = [int(g) if g.isdigit() else parse_chinese_number(g) for g in (m.group("d"), m.group("n"))]
        if any(p is None for p in parts):
            continue
        den, num = (p if isinstance(p, int) else p[0] for p in parts)  # type: ignore[index]
        if den and num < den:
            percent = 100.0 * num / den  # 三分之一 = 33.3...%: compared at whole percents
            value = percent if percent.is_integer() else float(round(percent))
            out.append((m.start(), m.end(), Quantity(m.group(0), value, "percent", None, 1.0)))
    return sorted(out, key=lambda found: found[0])


def extract(text: str, keep_inner: bool = False) -> list[Quantity]:
    """Quantities of text, versions joined from a word and a number kept as kind "joined";
    keep_inner (source side): also the numbers inside versions and ranges (see _Scanner)."""
    return [q for _, q in extract_at(text, keep_inner)]


def extract_at(text: str, keep_inner: bool = False) -> list[tuple[int, Quantity]]:
    """`extract` with where each quantity starts in the NFKC-normalised text."""
    return list(_extract_at(text, keep_inner))


@lru_cache(maxsize=256)
def _extract_at(text: str, keep_inner: bool) -> tuple[tuple[int, Quantity], ...]:
    # Cached: a summary's quantities are read by the number check and by the binding check.
    norm = nfkc(text)
    # 百分之三十五, funding rounds and scale classes first (`prescan.py`); the spans are blanked so
    # the scanner does not read 三十五 again.
    pct = _cn_percent_scan(norm)
    pct += [(s, e, Quantity(norm[s:e], value, "round")) for s, e, value in round_spans(norm)]
    pct += [(s, e, Quantity(norm[s:e], float(p), "scale", "FLOPS")) for s, e, p in scale_spans(norm)]
    masked = norm
    for start, end, _ in pct:
        masked = masked[:start] + " " * (end - start) + masked[end:]
    for start, end in lexicon_number_spans(masked):
        masked = masked[:start] + "々" * (end - start) + masked[end:]
    scanner = _Scanner(masked, keep_inner=keep_inner)
    found = scanner.run()
    return tuple([(start, q) for start, _, q in pct] + list(zip(scanner.starts, found, strict=True)))


def extract_quantities(text: str) -> list[Quantity]:
    """Quantities in text, in order of appearance (百分之 percentages first)."""
    return [q if q.kind != "joined" else Quantity(q.surface, q.value, "version") for q in extract(text)]
