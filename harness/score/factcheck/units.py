"""Units and magnitudes written with numbers: tables from `data/`, normalisation to base units.

Chinese magnitudes (万, 亿, 千亿, ...), Chinese unit words (currencies, %, 参数, durations, lengths,
...), counting words (个, 家, 款, ...), Latin unit and magnitude letters (GB, tokens, 13B, 128K)
and currency signs. Units of one dimension are normalised to a base unit with exact factors
(`data/unit_scale.tsv`): 60 秒 = 1 分钟, 300 毫秒 = 0.3 秒, 1.5 公里 = 1500 米.
"""

from __future__ import annotations

import re

from harness.score.factcheck.wordlists import optional, table, words

MAGNITUDES = {word: float(factor) for word, factor in table("magnitudes.tsv", 2)}
MAG_RE = "|".join(sorted(MAGNITUDES, key=len, reverse=True))

# Chinese unit words after a number -> (kind, unit). Longest first in the regex.
CJK_UNITS: dict[str, tuple[str, str | None]] = {
    word: (kind, optional(unit)) for word, kind, unit in table("units_cjk.tsv", 3)
}
_UNIT_SCALE: dict[str, tuple[str, float]] = {
    unit: (base, float(factor)) for unit, base, factor in table("unit_scale.tsv", 3)
}
# Counting words: a number before them is a count (no unit).
MEASURE_WORDS = list(words("measure_words.txt"))
# Letter units directly after digits or after a space; matched case-insensitively, whole word.
LATIN_UNITS: dict[str, tuple[str, str | None, float]] = {
    word: (kind, optional(unit), float(mult)) for word, kind, unit, mult in table("units_latin.tsv", 4)
}
# Magnitude letters after a prefixed currency ($1.2B) or before a currency word (1.2B 美元).
LATIN_MAGNITUDES = {word: float(factor) for word, factor in table("latin_magnitudes.tsv", 2)}
# Magnitude words after a spaced number (500 million dollars, 1.2 billion): the multi-letter ones.
WORD_MAGNITUDES = {word: factor for word, factor in LATIN_MAGNITUDES.items() if len(word) > 2}
CURRENCY_PREFIXES = dict(table("currency_prefixes.tsv", 2))

# How a currency (or 参数) is named in a source, for "value without unit in the source, unit named
# elsewhere in the source".
_UNIT_MENTIONS = dict(table("unit_mentions.tsv", 2))


def _unit_alternation() -> str:
    all_words = list(CJK_UNITS) + MEASURE_WORDS
    alternation = "|".join(re.escape(w) for w in sorted(set(all_words), key=len, reverse=True))
    return f"(?:{alternation})(?!宇宙)"  # 元宇宙 is no currency


# A lone Chinese digit counts as a number only before one of these (三种, 七部门, 两条, 五年).
COUNTED_PREFIXES = tuple(sorted(set(MEASURE_WORDS) | set(CJK_UNITS) - {"%"}, key=len, reverse=True))

UNIT_RE = _unit_alternation()
LATIN_UNIT_WORDS = "|".join(sorted((k for k in LATIN_UNITS if len(k) > 1), key=len, reverse=True))
# A number joins the Latin word before it ("Llama 2") unless the number carries a unit or is part of
# something longer ("GPT 4o", "MMLU 90%", "Sora 60 秒", "GTC 4 月").
_WORD_MAGS = "|".join(sorted(WORD_MAGNITUDES, key=len, reverse=True))
RE_JOIN_BLOCK = re.compile(
    rf"\d|\.\d|%|[A-Za-z]| ?(?:{MAG_RE}|{UNIT_RE}|[年月日号多余])"
    rf"|(?i: ?(?:{LATIN_UNIT_WORDS}|{_WORD_MAGS})(?![a-z]))"
)


def base_unit(unit: str | None) -> tuple[str | None, float]:
    """(base unit, factor) of a unit: ("min") -> ("s", 60.0); units without a base map to themselves."""
    if unit in _UNIT_SCALE:
        return _UNIT_SCALE[unit]
    return unit, 1.0


def unit_named(unit: str, source_text: str) -> bool:
    """Whether the source names a currency (or 参数, unit "size") anywhere."""
    pattern = _UNIT_MENTIONS.get(unit, re.escape(unit))
    return re.search(pattern, source_text, flags=re.IGNORECASE) is not None
