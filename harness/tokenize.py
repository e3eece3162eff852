"""Tokenizers for Chinese ROUGE (pure functions).

Published Chinese summarization results (LCSTS, NLPCC 2017, CNewSum) score at character level:
every Chinese character is one token. Latin words and numbers are kept whole ("GPT-4.5" gives
"gpt", "4.5"; "7.5亿" gives "7.5", "亿"). Punctuation and symbols are dropped. Text is NFKC
normalised (full-width digits and letters become half-width) and lower-cased first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# A Latin word or number (with decimal parts), else any single non-Latin letter (CJK, kana, …).
_CHAR_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*|[^\W\d_a-z]")
_KEEP = re.compile(r"[a-z0-9]|[^\W\d_]")

TOKENIZERS = ("char", "jieba")


def _prepare(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def char_tokens(text: str) -> list[str]:
    """Character-level tokens: one per Chinese character, Latin words and numbers whole."""
    return _CHAR_TOKEN.findall(_prepare(text))


def jieba_tokens(text: str) -> list[str]:
    """jieba word tokens (accurate mode), without whitespace and punctuation-only tokens."""
    import jieba  # lazy: jieba loads its dictionary (~1 s) on first use

    return [t for t in jieba.lcut(_prepare(text)) if _KEEP.search(t)]


def get_tokenizer(name: str) -> Callable[[str], list[str]]:
    """The tokenizer called `name` ("char" or "jieba")."""
    if name == "char":
        return char_tokens
    if name == "jieba":
        return jieba_tokens
    raise ValueError(f"unknown ROUGE tokenizer {name!r}: use one of {', '.join(TOKENIZERS)}")


def tokenizer_id(name: str) -> str:
    """What goes into result rows: the tokenizer and, for jieba, its version."""
    if name == "jieba":
        import jieba

        return f"jieba-{jieba.__version__}"
    return "char-v1"
