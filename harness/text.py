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
