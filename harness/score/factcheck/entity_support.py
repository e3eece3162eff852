"""Whether a source supports a summary's entity.

After NFKC and removing spaces (and case for Latin), an entity is supported when it occurs in the
source (Latin: as a whole word), when a lexicon alias occurs, when it is a Chinese abbreviation
whose characters occur in order within 2n+1 source characters (网信办, 北大), when a generic suffix
was added to or dropped from a name the source has (蚂蚁集团 ~ 蚂蚁), and in the few other cases
docs/facts.md lists (jieba slips, a one-character given name, a place before an organisation, the
words of a multi-word Latin name).
"""

from __future__ import annotations

import re
from functools import lru_cache

from harness.score.factcheck.entities import (
    LATIN_STOP,
    ORG_ENTITY_SUFFIXES,
    ORG_STOP,
    ORG_SUFFIXES,
    entity_spans,
)
from harness.score.factcheck.lexicon import alias_index, is_place, lexicon_kind
from harness.score.factcheck.text import CJK_RE, compact, is_cjk_word, latin_in, latin_words, nfkc, unique
from harness.score.factcheck.titles import source_titles, title_alias_index, title_key, title_supported


def _abbreviation_in(entity: str, compact_source: str) -> bool:
    """Characters of entity in order within a window of 2n+1 source characters (网信办, 北大)."""
    n = len(entity)
    window = 2 * n + 1
    first = entity[0]
    start = compact_source.find(first)
    while start != -1:
        k = 1
        pos = start + 1
        limit = start + window
        while k < n and pos < min(limit, len(compact_source)):
            if compact_source[pos] == entity[k]:
                k += 1
            pos += 1
        if k == n:
            return True
        start = compact_source.find(first, start + 1)
    return False


@lru_cache(maxsize=16384)  # a lexicon group's forms are looked up again for every claim of a source
def _form_in(form: str, source_text: str, compact_source: str) -> bool:
    if CJK_RE.search(form) and not re.search(r"[A-Za-z]", form):
        return compact(form) in compact_source
    if CJK_RE.search(form):
        return compact(form) in compact_source
    return latin_in(form, source_text) or _latin_before_version(form, source_text)


def _latin_before_version(form: str, source_text: str) -> bool:
    """A Latin name right before a version number in the source (Qwen in Qwen3, Llama in Llama-3):
    the name occurs; the version is the number check's concern."""
    words = latin_words(form)
    if not words or any(c.isdigit() for c in form):
        return False
    pattern = r"[\s\-_.·&'+]*".join(re.escape(w) for w in words)
    return re.search(rf"(?<![a-z0-9]){pattern}(?=[\-\s]?\d)", source_text.lower()) is not None


def _separated(text: str) -> str:
    return re.sub(r"[\s\-_.·]+", "", compact(text))


def branded_version_supported(token: str, source: str) -> bool:
    """A model name whose brand is written in the source's other script or under another lexicon
    name, with the same version: DeepSeek-V3 for 深度求索V3, ERNIE 4.5 for 文心4.5, 通义千问3 for Qwen3."""
    index = alias_index()[0]
    plain = _separated(token)
    bare_source = _separated(source)
    for i in range(2, len(token)):
        brand, rest = token[:i].rstrip(" -_·"), _separated(token[i:])
        if not rest or not any(c.isdigit() for c in rest) or compact(brand) not in index:
            continue
        for alias in index[compact(brand)]:
            form = _separated(alias) + rest
            if form != plain and re.search(re.escape(form) + r"(?![0-9])", bare_source):
                return True
    return False


@lru_cache(maxsize=1024)  # sources and the clauses of sources (binding.py)
def _source_forms(source: str) -> tuple[str, str]:
    return nfkc(source), compact(source)


@lru_cache(maxsize=64)
def _ai_form(compact_source: str) -> str:
    return compact_source.replace("人工智能", "ai")


def _place_prefix(word: str) -> str:
    """The longest place name (2-4 characters) that word starts with, or ""."""
    for k in (4, 3, 2):
        if len(word) > k and is_place(word[:k]):
            return word[:k]
    return ""


def _known_name(stem: str) -> bool:
    """A stem left by dropping a generic suffix still names something: no place, and 3+ characters
    or a lexicon form (蚂蚁, 商汤, 百川)."""
    if is_place(stem):
        return False
    return len(stem) >= 3 or compact(stem) in alias_index()[0]


_RE_CAPITALISED_RUN = re.compile(
    r"[A-Z][A-Za-z'’]*(?:[ \-]+(?:(?:of|the|and|for|on|in|to|&) +)*[A-Z][A-Za-z'’]*)+"
)


@lru_cache(maxsize=256)
def _initialisms(text: str) -> frozenset[str]:
    """Initials of the text's multi-word capitalised names (Humanity's Last Exam -> hle)."""
    out = set()
    for m in _RE_CAPITALISED_RUN.finditer(text):
        initials = "".join(w[0] for w in re.split(r"[ \-]+", m.group(0)) if w and w[0].isupper())
        if len(initials) >= 2:
            out.add(initials.lower())
    return frozenset(out)


def _initialism_supported(entity: str, source_text: str) -> bool:
    """An acronym spelled out in the source (HLE for Humanity's Last Exam), or the reverse."""
    if re.fullmatch(r"[A-Z]{2,6}", entity):
        return entity.lower() in _initialisms(source_text)
    for initials in _initialisms(entity):
        if len(initials) >= 3 and latin_in(initials, source_text):
            return True
    return False


@lru_cache(maxsize=256)
def _has_latin_names(source: str) -> bool:
    from harness.score.factcheck.entities import latin_entities

    return any(
        any(w not in LATIN_STOP and not w.isdigit() for w in latin_words(ent))
        for _, _, ent in latin_entities(nfkc(source))
    )


def latin_alias_likely(entity: str, source: str) -> bool:
    """A Latin name the lexicon does not know, against a source that writes no name in Latin
    script: most likely the source's Chinese name in English (Shanghai AI Lab for 上海人工智能实验室);
    not flagged, since nothing shows it is another entity."""
    return not lexicon_knows(entity) and not _has_latin_names(source)


def lexicon_knows(entity: str) -> bool:
    """Whether a Latin name, or a run of its words (NASA in U.S. NASA), is a lexicon form other than
    a place (Shanghai in Shanghai Robotics Alliance names no organisation)."""
    index = alias_index()[0]
    parts = entity.split()
    runs = (" ".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1))
    return any(
        compact(run) in index and run.lower().strip(".") not in LATIN_STOP and lexicon_kind(run) != "place"
        for run in runs
    )


def _segments_supported(entity: str, source: str) -> bool:
    """Adjacent Latin names read as one run (U.S. NIST, Apple App Store, Kunlun Tech AI): supported
    when the run splits into names the source supports (by aliases too) and generic words."""
    parts = entity.split()
    if not 2 <= len(parts) <= 6:
        return False
    reach = [True] + [False] * len(parts)
    for j in range(1, len(parts) + 1):
        for i in range(j):
            if not reach[i] or j - i == len(parts):
                continue
            segment = " ".join(parts[i:j])
            if segment.lower().strip(".") in LATIN_STOP or entity_supported(segment, source, "latin"):
                reach[j] = True
                break
    return reach[-1]


def entity_supported(entity: str, source: str, origin: str = "latin") -> bool:
    """Whether source supports entity; origin is how it was found (see `entities.entity_spans`)."""
    if origin == "title":
        return title_supported(entity, source)
    source_text, compact_source = _source_forms(source)
    if _form_in(entity, source_text, compact_source):
        return True
    if is_cjk_word(entity.replace("AI", "")) and compact(entity).replace("人工智能", "ai") in _ai_form(
        compact_source
    ):
        return True  # AI = 人工智能 (AI 办公室 for 人工智能办公室)
    index, _ = alias_index()
    for alias in index.get(compact(entity), ()):
        if _form_in(alias, source_text, compact_source):
            return True
    if is_cjk_word(entity):
        family = entity.rpartition("·")[2]
        if family != entity and len(family) >= 2 and family in compact_source:
            return True  # a transliterated name without its given name in the source (萨姆·奥尔特曼)
        word = entity.replace("·", "")
        suffix = next((sfx for sfx in ORG_ENTITY_SUFFIXES + ORG_SUFFIXES if word.endswith(sfx)), "")
        if suffix and is_place(word[: -len(suffix)]):
            return False  # 北京大学, 浙江大学: the place is the name; only the full form or an alias
        stem = word[: -len(suffix)] if suffix else word
        if len(suffix) >= 2 and len(stem) >= 2 and stem in compact_source:
            pass  # 同济大学 in "同济医院与复旦大学", 北京大学 in 北京理工大学: another organisation
        elif len(word) >= 2 and not is_place(word) and _abbreviation_in(word, compact_source):
            return True
        for sfx in ORG_SUFFIXES:
            stem = word.removesuffix(sfx)
            if stem != word and stem in compact_source and _known_name(stem):
                return True
        place = _place_prefix(word) if origin == "org" else ""
        rest = word[len(place) :]
        if place and len(rest) >= 2 and rest not in ORG_STOP and entity_supported(place, source, "jieba"):
            if entity_supported(rest, source, "org"):
                return True  # 美国国防部 for 国防部, with 美国 in the source
        if origin == "person" and len(word) == 3 and word[:-1] in compact_source:
            return True  # the given name may be one character (张鹏 + 今天 -> 张鹏今)
        if (
            origin == "jieba"
            and len(word) >= 3
            and not suffix
            and (word[1:] in compact_source or word[:-1] in compact_source)
        ):
            return True  # a function character glued on by the HMM (和小红, 向纳)
        return False
    # A journal's English name for the source's Chinese title (Nature for 《自然》).
    group = title_alias_index().get(title_key(entity))
    if group and any(title_key(f) in source_titles(source)[0] for f in group):
        return True
    if _initialism_supported(entity, source_text):
        return True
    if _segments_supported(entity, source):
        return True
    if re.search(r"\d", entity) and branded_version_supported(entity, source):
        return True
    # Multi-word Latin name: every word that is no number and no generic acronym occurs.
    words = [w for w in latin_words(entity) if not w.isdigit() and w not in LATIN_STOP]
    if len(latin_words(entity)) > 1 and words:
        return all(latin_in(w, source_text) for w in words)
    return False


def entity_check(summary: str, source: str) -> tuple[list[str], list[str]]:
    """(every entity of the summary, those the source does not support), mentions in order."""
    from harness.score.factcheck.alignment import aligned_latin_alias, swapped_in_slot
    from harness.score.factcheck.binding import misbound_entities  # binding builds on this module

    spans = entity_spans(summary)
    found = [ent for _, _, ent, _ in spans]
    bad = [
        ent
        for start, end, ent, origin in spans
        if not entity_supported(ent, source, origin)
        and not (
            origin == "latin"
            and not re.search(r"\d", ent)
            and (latin_alias_likely(ent, source) or aligned_latin_alias(ent, start, end, summary, source))
        )
    ]
    known = [span for span in spans if span[2] not in bad]
    bad += [ent for ent in misbound_entities(summary, source, known) if ent not in bad]
    bad += [ent for ent in swapped_in_slot(summary, source, spans) if ent not in bad]
    return found, bad


def unsupported_entities(summary: str, source: str) -> list[str]:
    """Entities of the summary that the source does not support (unique, in order)."""
    return unique(entity_check(summary, source)[1])
