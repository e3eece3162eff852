"""Dates in Chinese and ISO notation, and whether a source supports a summary's date.

2023-12-19 / 2023/12/19, 2023年12月19日, 2023年12月, 2023年 (1900-2100, also 2024财年), 12月19日,
12月, 19日, with Arabic or Chinese numerals (十二月十九日, 二〇二三年). A date's value is
(year, month, day) with None for the parts not given.
"""

from __future__ import annotations

import re

from harness.score.factcheck.numerals import int_part

DateValue = tuple[int | None, int | None, int | None]
DateMatch = tuple[re.Match[str], DateValue]

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


def _valid_date(y: int | None, m: int | None, d: int | None) -> bool:
    return (y is None or 1900 <= y <= 2100) and (m is None or 1 <= m <= 12) and (d is None or 1 <= d <= 31)


def _date(m: re.Match[str] | None, y: int | None, mo: int | None, d: int | None) -> DateMatch | None:
    if m is None or not _valid_date(y, mo, d):
        return None
    return m, (y, mo, d)


def iso_date(text: str, i: int) -> DateMatch | None:
    """2023-12-19, 2023/12/19, 2023.12.19 at text[i]."""
    m = _RE_ISO_DATE.match(text, i)
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    return _date(m, y, mo, d)


def year_month_day(text: str, i: int) -> DateMatch | None:
    """2023年12月19日, 2023年12月, 2023年, 2024财年, 二〇二三年 at text[i]."""
    m = _RE_YMD.match(text, i)
    if not m:
        return None
    y = int_part(m.group("y"))
    if y is None:
        return None
    return _date(m, y, int_part(m.group("m")), int_part(m.group("d")))


def month_day(text: str, i: int) -> DateMatch | None:
    """12月19日, 12月, 十二月十九日 at text[i]."""
    m = _RE_MD.match(text, i)
    if not m:
        return None
    mo = int_part(m.group("m"))
    if mo is None:
        return None
    return _date(m, None, mo, int_part(m.group("d")))


def day(text: str, i: int) -> DateMatch | None:
    """19日, 19号 at text[i]."""
    m = _RE_DAY.match(text, i)
    return _date(m, None, None, int(m.group("d"))) if m else None


def date_supported(value: DateValue, years: set[int], dates: list[DateValue]) -> bool:
    """Every part the summary gives matches a source date (month and day together); a year must
    occur as a year in the source (`years`: its dates' years and its bare numbers 1900-2100)."""
    y, m, d = value
    if y is not None and y not in years:
        return False
    if m is None and d is None:
        return y is not None
    for sy, sm, sd in dates:
        if m is not None and sm != m:
            continue
        if d is not None and sd != d:
            continue
        if y is not None and sy is not None and sy != y:
            continue
        return True
    return False
