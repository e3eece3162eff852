"""Small text helpers shared by baselines, parsing and metrics (pure functions)."""

from __future__ import annotations

import re
import unicodedata

# Sentence ends in Chinese news text; a closing quote or bracket right after an end mark stays
# with its sentence.
_SENTENCE_END = re.compile(r"([。！？!?…]+[”’」』）)]*|\n+)")
_SPACES = re.compile(r"[ \t\u3000\u00a0]+")


def normalize(text: str) -> str:
    """NFKC (full-width digits and Latin to half-width) and collapse runs of spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def char_count(text: str) -> int:
    """Characters excluding whitespace (a digest's length as the format and compression metrics
    count it; punctuation counts, "GPT-4" is 5)."""
    return sum(1 for ch in text if not ch.isspace())


def split_sentences(text: str) -> list[str]:
    """Split Chinese (or mixed) text into sentences on 。！？…!? and line breaks.

    End punctuation is kept with its sentence; empty pieces are dropped.
    """
    parts = _SENTENCE_END.split(text)
    sentences: list[str] = []
    current = ""
    for part in parts:
        if not part:
            continue
        if _SENTENCE_END.fullmatch(part):
            current += part.strip("\n")
            if current.strip():
                sentences.append(current.strip())
            current = ""
        else:
            current += part
    if current.strip():
        sentences.append(current.strip())
    return sentences


def _is_kept_for_match(ch: str) -> bool:
    # Letters, numbers and combining marks; whitespace (Z), punctuation (P), symbols (S) and
    # control/format characters (C, e.g. zero-width spaces) are dropped.
    return unicodedata.category(ch)[0] in "LNM"


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Text reduced for quote matching (NFKC per character, only letters/digits/marks kept) and,
    for each kept character, the index of its source character in `text`.

    '“GPT-4o”发布 ， 了' -> 'GPT4o发布了'. Used by the judge's quote check and by the site to
    highlight the same quote, so both agree on what matched."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if _is_kept_for_match(c):
                chars.append(c)
                where.append(i)
    return "".join(chars), where
