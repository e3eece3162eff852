"""Titles in book-title marks (《自然》, 《生成式人工智能服务管理暂行办法》) and their support.

A 《title》 is compared without marks, spaces, punctuation and case, with 人工智能 = AI. It is
supported when it lies within a source title or quoted name, when a known other name of it occurs
(`data/title_aliases.tsv`: 《自然》 = Nature), or, unless it is a word of jieba's dictionary or a
known journal, when it occurs anywhere in the source text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from harness.score.factcheck.lexicon import jieba_tagger
from harness.score.factcheck.text import CJK_RE, compact, latin_in, nfkc
from harness.score.factcheck.wordlists import groups

# Book-title marks: journals, laws, reports (《自然》, 《生成式人工智能服务管理暂行办法》).
_RE_BOOK_TITLE = re.compile(r"《([^《》\n]{1,60})》")
# On the source side a title may also be written in quotes (“子曰”, 「自然」).
_RE_SOURCE_TITLE = re.compile(r"《([^《》\n]{1,60})》|[“「『\"]([^“”「」『』\"\n]{1,60})[”」』\"]")

# Titles known under two names (a journal in Chinese and English).
_TITLE_ALIASES = groups("title_aliases.tsv")
_TITLE_PUNCT = re.compile(r"[\s·・.:：\-—–_'\"“”‘’「」()（）,，、!！?？]")


def title_spans(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, 《title》, "title") of every non-empty title in book-title marks."""
    return [
        (m.start(), m.end(), m.group(0), "title") for m in _RE_BOOK_TITLE.finditer(text) if m.group(1).strip()
    ]


def title_key(title: str) -> str:
    """A 《title》 compared without marks, spaces, punctuation and case; 人工智能 = AI."""
    key = _TITLE_PUNCT.sub("", compact(title).strip("《》"))
    return key.replace("人工智能", "ai")


@lru_cache(maxsize=1)
def title_alias_index() -> dict[str, tuple[str, ...]]:
    """Title key -> every name of that title."""
    index: dict[str, tuple[str, ...]] = {}
    for group in _TITLE_ALIASES:
        for form in group:
            index[title_key(form)] = group
    return index


@lru_cache(maxsize=64)
def source_titles(source: str) -> tuple[tuple[str, ...], str]:
    """Keys of the source's 《titles》 (and quoted names) and of its whole text."""
    text = nfkc(source)
    titles = (title_key(m.group(1) or m.group(2)) for m in _RE_SOURCE_TITLE.finditer(text))
    return tuple(t for t in titles if t), title_key(text)


def title_supported(title: str, source: str) -> bool:
    """A summary 《title》: within a source 《title》 (《暂行办法》 in 《...服务管理暂行办法》), named by
    an alias (《自然》 = Nature), or, unless it is a common word (《科学》, 《自然》), in the source text."""
    key = title_key(title)
    if not key:
        return True
    titles, whole = source_titles(source)
    source_text = nfkc(source)
    for form in title_alias_index().get(key, (title.strip("《》"),)):
        form_key = title_key(form)
        if any(form_key in t for t in titles):
            return True
        if not CJK_RE.search(form) and latin_in(form, source_text):
            return True
    _, tags = jieba_tagger()
    return key not in tags and key not in title_alias_index() and key in whole
