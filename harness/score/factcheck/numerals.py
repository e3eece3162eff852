"""Chinese numerals: 三 -> 3, 二十五 -> 25, 三千五百万 -> 35000000, 九十九点三 -> 99.3, 二〇二三 -> 2023.

The digits and place units are the numeral system itself (the date patterns in `dates.py` spell
them out again in character classes), not a word list.
"""

from __future__ import annotations

CN_DIGITS = {
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
CN_DIGITS["两"] = 2
_CN_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUM_CHARS = "".join(CN_DIGITS) + "十百千万亿"


def _cn_below_wan(s: str) -> int | None:
    """Value of a numeral without 万/亿 (二十五, 三千五百, 一千零五); None when malformed."""
    total = 0
    digit: int | None = None
    last_was_digit = False
    for pos, ch in enumerate(s):
        if ch in CN_DIGITS:
            if last_was_digit and digit != 0:
                return None  # two digits in a row (三五) where place units are used
            digit = CN_DIGITS[ch]
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
    if digit and len(s) > 1 and s[-2] in _CN_SMALL_UNITS:
        return total + digit * _CN_SMALL_UNITS[s[-2]] // 10  # 三百五 = 350, 三千五 = 3500 (三百零五 = 305)
    return total + (digit or 0)


def parse_chinese_number(s: str) -> tuple[float, float] | None:
    """(value, step) of a Chinese numeral: 三 -> 3, 二十五 -> 25, 三千五百万 -> 35000000 (step 1e4).

    Digit-by-digit numerals (二〇二三) read as positional digits. None when malformed.
    """
    if not s:
        return None
    integer, _, frac = s.partition("点")
    if frac and not all(c in CN_DIGITS for c in frac):
        return None
    if integer and all(c in CN_DIGITS for c in integer):
        if len(integer) > 1 and len(integer) != 4 and "〇" not in integer:
            return None  # 一一, 三五: no positional numeral outside years (二〇二三)
        value = float(int("".join(str(CN_DIGITS[c]) for c in integer)))
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
                elif rest in CN_DIGITS and CN_DIGITS[rest]:
                    step = mult / 10  # 一万五 = 15000, 三亿五 = 3.5 亿 (一万零五 = 10005)
                    value += CN_DIGITS[rest] * step
                    rest = ""
        small = _cn_below_wan(rest)
        if small is None:
            return None
        value += small
    if frac:
        value += float("0." + "".join(str(CN_DIGITS[c]) for c in frac))
        step = 10.0 ** -len(frac)
    return value, step


def int_part(s: str | None) -> int | None:
    """An Arabic or Chinese numeral as an int (a date part); None when absent or malformed."""
    if s is None:
        return None
    if s.isdigit():
        return int(s)
    parsed = parse_chinese_number(s)
    return int(parsed[0]) if parsed else None
