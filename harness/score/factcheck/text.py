"""Text helpers shared by the fact checker: normalisation, character classes, Latin words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

CJK_RE = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1024)  # a source is normalised for each check of each of its summaries' bullets
def nfkc(text: str) -> str:
    # NFKC maps full-width digits, letters, "％" and "，" to ASCII; collapse whitespace runs.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def compact(text: str) -> str:
    """NFKC, lower case, no whitespace: the form substring checks are made on."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def is_cjk_word(s: str) -> bool:
    return bool(s) and all("\u4e00" <= c <= "\u9fff" or c == "·" for c in s)


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def latin_words(entity: str) -> list[str]:
    return [w for w in re.split(r"[ \-.·&'+]+", entity.lower()) if w]


def latin_in(entity: str, source_text: str) -> bool:
    words = latin_words(entity)
    if not words:
        return False
    pattern = r"[\s\-_.·&'+]*".join(re.escape(w) for w in words)
    return (
        re.search(rf"(?<![a-z\u00c0-\u024f0-9]){pattern}(?![a-z\u00c0-\u024f0-9])", source_text.lower())
        is not None
    )
