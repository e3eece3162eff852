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
from harness.score.factcheck.wordlists import group_kinds, groups, words

# Alias groups (AI-industry companies, products, people, agencies, places). Every Chinese form of
# at least 2 characters is extracted as an entity (unless listed in _LEXICON_SUPPORT_ONLY); any
# form of a group supports any other.
ENTITY_GROUPS = groups("entity_groups.tsv")
# Forms that support their group but are not extracted on their own (too ambiguous as words).
_LEXICON_SUPPORT_ONLY = frozenset(words("lexicon_support_only.txt"))
# Lexicon forms that are places: a generic suffix stripped from an organisation must not leave one.
_LEXICON_PLACES = frozenset(words("lexicon_places.txt"))


@lru_cache(maxsize=1)
def _kind_index() -> dict[str, str]:
    kinds: dict[str, str] = {}
    for group, kind in zip(ENTITY_GROUPS, group_kinds("entity_groups.tsv"), strict=True):
        for form in group:
            if kind:
                kinds.setdefault(compact(form), kind)
    return kinds


def lexicon_kind(name: str) -> str | None:
    """The kind of a lexicon name (company, product, person, agency, research, law, place), or None."""
    return _kind_index().get(compact(name))


def _build_alias_index() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    extract: list[str] = []
    for group in ENTITY_GROUPS:
        for form in group:
            key = compact(form)
            index[key] = tuple(sorted(set(index.get(key, ())) | set(group)))
            if is_cjk_word(form) and len(form) >= 2 and form not in _LEXICON_SUPPORT_ONLY:
                extract.append(form)
    # Longest first; equal lengths in code-point order, so matching never depends on set order.
    return index, tuple(sorted(set(extract), key=lambda form: (-len(form), form)))


# Context read on each side of a two-character lexicon match to see whether it is part of a word.
_CONTEXT = 4
_NAME_TAGS = ("nr", "ns", "nt", "nz")


def _inside_a_word(text: str, start: int, end: int) -> bool:
    """A two-character lexicon form that is part of an ordinary word of jieba's dictionary: 天工 in
    每天/工作, 可灵 in 可/灵活, 新浪 in 新浪潮 (but not 美国 in 美国国防部/nt, a name)."""
    import jieba

    _, tags = jieba_tagger()
    left = max(0, start - _CONTEXT)
    pos = left
    for word in jieba.lcut(text[left : end + _CONTEXT], HMM=False):
        w_start, pos = pos, pos + len(word)
        if pos <= start or w_start >= end or (w_start >= start and pos <= end):
            continue  # before, after or within the match
        if w_start > start or pos < end:
            return True  # crosses one end of the match: 每天|工作 over 天工
        if not str(tags.get(word, "")).startswith(_NAME_TAGS):
            return True  # a longer ordinary word holding the match: 新浪潮, 星火燎原
    return False


@lru_cache(maxsize=1)
def _forms_by_first_two_characters() -> dict[str, tuple[tuple[int, str], ...]]:
    """First two characters -> (rank in longest-first order, form) of the forms to extract (every
    form has at least two characters)."""
    _, forms = alias_index()
    by_start: dict[str, list[tuple[int, str]]] = {}
    for rank, form in enumerate(forms):
        if len(form) < 2:
            raise ValueError(f"lexicon form {form!r}: names have at least two characters")
        by_start.setdefault(form[:2], []).append((rank, form))
    return {start: tuple(entries) for start, entries in by_start.items()}


@lru_cache(maxsize=256)
def _lexicon_spans(text: str, in_words: bool = True) -> tuple[tuple[int, int, str], ...]:
    by_start = _forms_by_first_two_characters()
    found = sorted(
        (rank, i, form)
        for i in range(len(text) - 1)
        for rank, form in by_start.get(text[i : i + 2], ())
        if text.startswith(form, i)
    )
    taken = [False] * len(text)
    spans: list[tuple[int, int, str]] = []
    resume: dict[str, int] = {}  # a form's occurrences are taken left to right, without overlap
    for _, start, form in found:
        end = start + len(form)
        if start < resume.get(form, 0):
            continue
        resume[form] = end
        if not any(taken[start:end]) and (
            len(form) > 2 or not in_words or not _inside_a_word(text, start, end)
        ):
            spans.append((start, end, form))
            for k in range(start, end):
                taken[k] = True
    return tuple(sorted(spans))


def lexicon_spans(text: str, in_words: bool = True) -> list[tuple[int, int, str]]:
    """Non-overlapping lexicon matches, longest first (equal lengths in code-point order); a
    two-character form inside an ordinary word of jieba's dictionary (天工 in 每天工作) is no match.
    in_words=False skips that test (a quick reading of a source's names)."""
    return list(_lexicon_spans(text, in_words))


@lru_cache(maxsize=1)
def _numeral_forms() -> tuple[str, ...]:
    return tuple(form for form in alias_index()[1] if any(c in CN_NUM_CHARS for c in form))


def lexicon_number_spans(text: str) -> list[tuple[int, int]]:
    """Lexicon names containing numeral characters (零一万物, 三星): not quantities."""
    if not any(form in text for form in _numeral_forms()):
        return []  # the common case, without matching the whole lexicon
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
