"""Quantities found by regular expressions before the left-to-right scan (`quantities.py`), their
spans blanked so the scan does not read their digits again.

- funding rounds: 天使轮, 种子轮, Pre-A 轮, A 轮, A+ 轮, B1 轮, C 轮, Pre-IPO 轮, Series B. Kind "round",
  value the lower-cased round without spaces ("pre-a", "a+", "b"); a changed letter is a changed
  quantity;
- computing-scale classes: E 级, P 级, 百亿亿次级, 千万亿次 (kind "scale", value the power of ten of
  the class's floating-point operations per second: E 级 = 百亿亿次 = 18).
"""

from __future__ import annotations

import re

from harness.score.factcheck.units import MAGNITUDES

_RE_ROUND = re.compile(
    r"(?<![A-Za-z0-9])(?:(?P<pre>Pre-?)?(?P<letter>[A-K])(?P<sub>\d|\+{1,2})?|(?P<cn>天使|种子)(?P<cnsub>\+)?"
    r"|(?P<ipo>Pre-?IPO))(?: ?(?:轮|系列(?=融资)))"
    r"|(?<![A-Za-z])Series (?P<series>[A-K](?:\d|\+{1,2})?)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# E 级 / P 级 (exa-, petascale) and Chinese magnitudes of 次 (operations per second) with no digit
# before them: 百亿亿次级 = E 级.
_SCALE_LETTERS = {"E": 18, "P": 15, "Z": 21}
_MAG_ONLY = "|".join(sorted((m for m in MAGNITUDES if MAGNITUDES[m] >= 1e12), key=len, reverse=True))
_NO_NUMBER_BEFORE = r"(?<![\d.一二三四五六七八九十两数几百千万亿])(?<![\d.] )"
_RE_SCALE = re.compile(rf"(?<![A-Za-z0-9])(?P<letter>[EPZ]) ?级|{_NO_NUMBER_BEFORE}(?P<mag>{_MAG_ONLY})次")


def round_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised round) of every funding round in text."""
    out = []
    for m in _RE_ROUND.finditer(text):
        if m.group("series"):
            value = m.group("series")
        elif m.group("letter"):
            value = ("pre-" if m.group("pre") else "") + m.group("letter") + (m.group("sub") or "")
        elif m.group("cn"):
            value = m.group("cn") + (m.group("cnsub") or "")
        else:
            value = "pre-ipo"
        out.append((m.start(), m.end(), value.lower()))
    return out


def scale_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, end, power of ten) of every computing-scale class in text (E 级, 百亿亿次)."""
    out = []
    for m in _RE_SCALE.finditer(text):
        if m.group("letter"):
            power = _SCALE_LETTERS[m.group("letter")]
        else:
            power = round(len(str(int(MAGNITUDES[m.group("mag")]))) - 1)
        out.append((m.start(), m.end(), power))
    return out
