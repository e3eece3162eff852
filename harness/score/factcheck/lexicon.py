"""What the checker knows about words: its lexicon of AI-industry names and jieba's dictionary.

The lexicon (`data/entity_groups.tsv`) lists companies, products, people, agencies and places
with their other names (英伟达 = NVIDIA, 工信部 = 工业和信息化部); jieba's dictionary splits or
mis-tags most of them (英伟达 -> 英/伟达, 百度 is "n"). jieba is imported on first use, and its
global dictionary is never modified.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from harness.score.factcheck.numerals import CN_NUM_CHARS
from harness.score.factcheck.text import compact, is_cjk_word
from harness.score.factcheck.wordlists import groups, words

# Alias groups (AI-industry companies, products, people, agencies, places). Every Chinese form of
# at least 2 characters is extracted as an entity (unless listed in _LEXICON_SUPPORT_ONLY); any
# form of a group supports any other.
ENTITY_GROUPS = groups("entity_groups.tsv")
# Forms that support their group but are not extracted on their own (too ambiguous as words).
_LEXICON_SUPPORT_ONLY = frozenset(words("lexicon_support_only.txt"))
# Lexicon forms that are places: a generic suffix stripped from an organisation must not leave one.
_LEXICON_PLACES = frozenset(words("lexicon_places.txt"))


def _build_alias_index() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    extract: list[str] = []
    for group in ENTITY_GROUPS:
        for form in group:
            key = compact(form)
            index[key] = tuple(sorted(set(index.get(key, ())) | set(group)))
            if is_cjk_word(form) and len(form) >= 2 and form not in _LEXICON_SUPPORT_ONLY:
                extract.append(form)
    return index, tuple(sorted(set(extract), key=len, reverse=True))


def lexicon_spans(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping lexicon matches, longest first."""
    _, forms = alias_index()
    taken = [False] * len(text)
    spans: list[tuple[int, int, str]] = []
    for form in forms:
        start = text.find(form)
        while start != -1:
            end = start + len(form)
            if not any(taken[start:end]):
                spans.append((start, end, form))
                for k in range(start, end):
                    taken[k] = True
            start = text.find(form, end)
    return sorted(spans)


def lexicon_number_spans(text: str) -> list[tuple[int, int]]:
    """Lexicon names containing numeral characters (零一万物, 三星): not quantities."""
    return [(s, e) for s, e, form in lexicon_spans(text) if any(c in CN_NUM_CHARS for c in form)]


@lru_cache(maxsize=1)
def alias_index() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(compact form -> every form of its groups, the forms to extract, longest first)."""
    return _build_alias_index()


@lru_cache(maxsize=1)
def jieba_tagger() -> tuple[Any, Any]:
    """(a jieba.posseg tagger, jieba's word -> tag dictionary), jieba initialised on first use.

    The tagger gives jieba.posseg's tags through a faster Viterbi (`viterbi.py`)."""
    import jieba
    import jieba.posseg as pseg

    from harness.score.factcheck.viterbi import tagger

    jieba.setLogLevel(60)  # no "Building prefix dict" chatter on stderr
    jieba.initialize()
    return tagger(), pseg.dt.word_tag_tab


def is_place(word: str) -> bool:
    """A lexicon place or a word jieba's dictionary tags ns."""
    _, tags = jieba_tagger()
    return word in _LEXICON_PLACES or str(tags.get(word, "")).startswith("ns")
