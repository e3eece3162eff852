"""Named entities in a text: 《titles》, lexicon names, Latin-script names, persons, organisations.

Found in this order, each kind masking the text for the later ones: titles in book-title marks
(`titles.py`), lexicon names longest first (`lexicon.py`), Latin-script names (OpenAI, Hugging Face,
GPT-4.5) minus generic acronyms, persons after a title word (CEO张鹏, CTO王/海峰), organisations by
suffix (国土/安全部, 国家/数据/局) and jieba.posseg names (nr*/ns/nt; nz only for words not in jieba's
dictionary). The word lists are in `data/`; docs/facts.md has the rules in full.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from harness.score.factcheck.lexicon import jieba_tagger, lexicon_spans
from harness.score.factcheck.text import is_cjk_word, latin_words, nfkc
from harness.score.factcheck.titles import title_spans
from harness.score.factcheck.units import RE_JOIN_BLOCK
from harness.score.factcheck.wordlists import table, words

# Generic Latin acronyms and words: not names (and not counted as entities).
LATIN_STOP = frozenset(words("latin_stop.txt"))
# Common words jieba's dictionary tags as names or places.
JIEBA_STOP = frozenset(words("jieba_stop.txt"))
ENTITY_TAGS = ("nr", "ns", "nt", "nz")
# Generic suffixes a summary may add to or drop from a name (蚂蚁集团 ~ 蚂蚁, 商汤科技 ~ 商汤).
ORG_SUFFIXES = words("org_suffixes_generic.txt")

# Organisations by suffix (jieba tags 教育部 "n" and splits 国家/数据/局): a word ending in one of
# these, with the name words before it, is an entity. Longest first.
ORG_ENTITY_SUFFIXES = tuple(suffix for suffix, _ in table("org_entity_suffixes.tsv", 2))
# Suffixes after which the name must look specific (a place, a name, a word jieba does not know):
# 人民医院, 科技公司, 联合实验室 are no names, 北京大学 and 协和医院 are.
_ORG_GENERIC_SUFFIXES = frozenset(
    suffix for suffix, specific in table("org_entity_suffixes.tsv", 2) if specific == "yes"
)
# Words ending in an organisation suffix that name no organisation, also at the end of a longer
# word (公司总部, 行业格局, 成功举办).
_ORG_NOT_ORG = frozenset(words("org_not_org.txt"))
# Organisation words without a name (科技公司, 办公厅): no entity unless name words precede them.
ORG_STOP = _ORG_NOT_ORG | frozenset(words("org_stop.txt"))
# Descriptive words jieba's dictionary lacks or tags as names: no proper name (药物研发公司).
_ORG_DESCRIPTORS = frozenset(words("org_descriptors.txt"))
# Words that may start an organisation's name although jieba's dictionary tags them as places.
_ORG_NAME_OK = frozenset(words("org_name_ok.txt"))
# jieba flags of an organisation-suffix word, and of the name words that may precede it.
_ORG_HEAD_FLAGS = frozenset({"n", "nt", "nz", "ns", "nrt", "j", "ng", "zg", "l"})
_ORG_NAME_FLAGS = frozenset({"n", "nt", "nz", "ns", "nr", "nrt", "nrfg", "j", "vn", "an", "ng"})
_ORG_SPECIFIC_FLAGS = ("nt", "nz", "ns", "nr", "j")
# Words that end a name before an organisation suffix (公司研究院 is "the company's institute").
_ORG_NAME_STOP = frozenset(words("org_name_stop.txt"))

# Person titles: the name right after one (CTO王海峰, 创始人李彦宏) is a person to check.
_PERSON_TITLES = words("person_titles.txt")
_RE_PERSON_TITLE = re.compile("|".join(re.escape(t) for t in sorted(_PERSON_TITLES, key=len, reverse=True)))
# Common surnames (a single-character surname token followed by a 1-2 character given name: 王/海峰).
_SURNAMES = frozenset(words("surnames.txt"))
# Flags of a token that cannot be a given name (verbs, prepositions, particles, times, numbers).
_NOT_GIVEN_NAME = ("v", "p", "c", "u", "d", "r", "t", "m", "q", "f", "x", "y", "e", "o", "eng")

# Latin letters include accented ones (Timothée, Cédric).
_L = "A-Za-z\u00c0-\u024f"
# Latin title words (CEO, CTO, ...; from person_titles.txt) inside a run of Latin words, with the
# spaces around them.
_RE_LATIN_TITLE = re.compile(
    "|".join(rf" ?(?<![{_L}]){re.escape(t)}(?![{_L}]) ?" for t in words("person_titles.txt") if t.isascii())
)
_RE_LATIN_ENTITY = re.compile(rf"(?<![{_L}0-9])[{_L}][{_L}0-9]*(?:(?:[ \-.·&'+]|\. )[{_L}0-9]+)*")


# Quarters, halves and fiscal years in Latin notation (Q2, H1, FY26): periods, checked as quantities.
_RE_PERIOD = re.compile(r"q[1-4]|h[12]|fy\d{2}(?:\d{2})?")


def _latin_runs(text: str) -> list[tuple[int, int]]:
    """Runs of Latin-script words, cut at a Latin title word (OpenAI CEO Sam Altman -> OpenAI, Sam
    Altman)."""
    out = []
    for m in _RE_LATIN_ENTITY.finditer(text):
        start = m.start()
        for title in _RE_LATIN_TITLE.finditer(m.group(0)):
            if title.start() > 0:
                out.append((start, m.start() + title.start()))
            start = m.start() + title.end()
        if start < m.end():
            out.append((start, m.end()))
    return out


def latin_entities(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of the Latin-script names in text (dates and stop words aside)."""
    return list(_latin_entities(text))


@lru_cache(maxsize=256)  # a source is read by several checks of each summary bullet
def _latin_entities(text: str) -> tuple[tuple[int, int, str], ...]:
    out = []
    for start, end in _latin_runs(text):
        ent = text[start:end]
        last = re.search(r" (\d+(?:\.\d+)?)$", ent)
        if last and RE_JOIN_BLOCK.match(text, end):
            ent = ent[: last.start()]  # "AMD 12 月": the number is a date, not part of the name
        names = [
            w
            for w in latin_words(ent)
            if not w.isdigit() and w not in LATIN_STOP and not _RE_PERIOD.fullmatch(w)
        ]
        if len(ent) >= 2 and names:
            out.append((start, end, ent))
    return tuple(out)


def _person_after_title(tokens: list[tuple[int, int, str, str]], at: dict[int, int], pos: int) -> int:
    """End of a person's name starting at pos (right after a title word), or 0."""
    k = at.get(pos)
    if k is None:
        return 0
    start, end, word, flag = tokens[k]
    if flag.startswith("nr") and 2 <= len(word) <= 4 and is_cjk_word(word):
        return end  # 张鹏/nr, 李飞飞/nr
    if len(word) == 1 and word in _SURNAMES and k + 1 < len(tokens):
        _, next_end, given, given_flag = tokens[k + 1]
        if 1 <= len(given) <= 2 and is_cjk_word(given) and not given_flag.startswith(_NOT_GIVEN_NAME):
            return next_end  # 王/nr + 海峰/n
    return 0


def _org_span(
    tokens: list[tuple[int, int, str, str]], k: int, taken: list[bool], tags: Any
) -> tuple[int, int] | None:
    """(start, end) of an organisation ending with token k (国土/安全部, 国家/数据/局), or None."""
    start, end, word, flag = tokens[k]
    if flag not in _ORG_HEAD_FLAGS:
        return None  # tested first: most tokens stop here, before the suffix search
    suffix = next((sfx for sfx in ORG_ENTITY_SUFFIXES if word.endswith(sfx)), None)
    if suffix is None or not is_cjk_word(word) or any(taken[start:end]):
        return None
    inner = word[: -len(suffix)]
    if word in ORG_STOP and inner:
        return None  # 全部, 格局, 举办, 科技公司: a word that names nothing
    if flag != "nt" and any(word.endswith(w) for w in _ORG_NOT_ORG):
        return None  # 公司总部, 中西部 (but 安全部/nt is no 全部)
    parts: list[tuple[str, str]] = []
    limit = 1 if len(inner) >= 2 else 3
    j = k - 1
    while j >= 0 and len(parts) < limit:
        s, e, w, f = tokens[j]
        proper = f.startswith(_ORG_SPECIFIC_FLAGS) or w not in tags or w in _ORG_NAME_OK
        if (
            e != start  # a masked name in between
            or (parts and not proper)  # only the word next to the suffix may be a common noun
            or f not in _ORG_NAME_FLAGS
            or not is_cjk_word(w)
            or any(taken[s:e])
            or w in _ORG_NAME_STOP
            or w in ORG_STOP
            or (w in JIEBA_STOP and w not in _ORG_NAME_OK)
            or len(w) + sum(len(p) for p, _ in parts) > 10
        ):
            break
        parts.insert(0, (w, f))
        start = s
        j -= 1
    name = "".join(w for w, _ in parts) + inner
    if len(name) < 2:
        return None
    if len(inner) < 2 and suffix in _ORG_GENERIC_SUFFIXES:
        # 北京大学, 协和医院: the name must be specific (not 人民医院, 科技公司, 重点实验室).
        if not any(
            (f.startswith(_ORG_SPECIFIC_FLAGS) or w not in tags) and w not in _ORG_DESCRIPTORS
            for w, f in parts
        ):
            return None
    return start, end


def entity_spans(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, entity, origin); origin "title", "lexicon", "latin", "person", "org" or "jieba".

    Earlier kinds mask the text for later ones, in this order: 《titles》, lexicon names, Latin-script
    names, persons after a title word, organisations by suffix, jieba names.
    """
    norm = nfkc(text)
    taken = [False] * len(norm)
    spans: list[tuple[int, int, str, str]] = []

    def add(s: int, e: int, ent: str, origin: str) -> None:
        spans.append((s, e, ent, origin))
        for k in range(s, e):
            taken[k] = True

    for s, e, ent, origin in title_spans(norm):
        add(s, e, ent, origin)
    for s, e, form in lexicon_spans(norm):
        if not any(taken[s:e]):
            add(s, e, form, "lexicon")
    for s, e, ent in latin_entities(norm):
        if not any(taken[s:e]):
            spans.append((s, e, ent, "latin"))  # Latin names do not mask: jieba skips them anyway
    pseg, tags = jieba_tagger()
    # jieba cuts the text between titles and lexicon names (美国|国防部, not 美国国防部/nt).
    tokens: list[tuple[int, int, str, str]] = []
    masked = "".join("\x00" if t else c for c, t in zip(norm, taken, strict=True))
    for seg in re.finditer(r"[^\x00]+", masked):
        pos = seg.start()
        for pair in pseg.cut(seg.group(0)):
            tokens.append((pos, pos + len(pair.word), pair.word, pair.flag))
            pos += len(pair.word)
    at = {t[0]: k for k, t in enumerate(tokens)}
    for m in _RE_PERSON_TITLE.finditer(norm):
        begin = m.end() + (1 if norm.startswith(" ", m.end()) else 0)
        end = _person_after_title(tokens, at, begin)
        if end and not any(taken[begin:end]) and norm[begin:end] not in JIEBA_STOP:
            add(begin, end, norm[begin:end], "person")
    for k in range(len(tokens)):
        org = _org_span(tokens, k, taken, tags)
        if org:
            add(org[0], org[1], norm[org[0] : org[1]], "org")
    for start, end, word, flag in tokens:
        if not flag.startswith(ENTITY_TAGS) or len(word) < 2 or not is_cjk_word(word):
            continue
        if word in JIEBA_STOP or any(taken[start:end]):
            continue
        if flag == "nz" and word in tags:
            continue  # dictionary nz are mostly ordinary words (汇报, 论文, 中文)
        spans.append((start, end, word, "jieba"))
    return sorted(spans)


def extract_entities(text: str) -> list[str]:
    """Named entities in text, in order of appearance (lexicon, Latin-script names, jieba names)."""
    return [ent for _, _, ent, _ in entity_spans(text)]
