"""Names read in their slot: the words around a summary's name compared with the source's.

A summary sentence often repeats its source's wording around a name ("Shopify 的 AI 助手 X 已向全部
商家开放"). Two rules read that slot:

- a swap between two names of one source: the summary's name occurs in the source, but the words
  on one side of it in the summary (at least `MIN_CONTEXT` characters, up to the next name) sit
  beside another name of the same kind in the source and never beside this one (Sidekick -> Rufus,
  HBM4 -> HBM3E, 招商银行 -> 建设银行): the name is flagged;
- an alias across scripts: a Latin name the source lacks (U.S. Copyright Office, JPMorgan Chase)
  whose summary words on one side recur in the source beside Chinese words that the lexicon does
  not know as another name (美国版权局于 2025 年 5 月 9 日发布): the Latin name is taken as the
  source's Chinese name written in English, and not flagged.

Contexts are compared on a key form: NFKC, lower case, letters, digits and CJK characters only.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import lru_cache

from harness.score.factcheck.lexicon import alias_index, lexicon_kind, lexicon_spans
from harness.score.factcheck.text import compact, is_cjk_word, latin_in, nfkc
from harness.score.factcheck.titles import title_spans

# Characters of shared context a slot needs on one side (key form).
MIN_CONTEXT = 4
# Characters of context read on each side of a name.
_WINDOW = 10
_CUT_RE = re.compile(r"[。；！？;!?、\n]")
# On the left a comma ends the context too: what precedes it is the previous clause's object.
_CUT_LEFT_RE = re.compile(r"[，,：:。；！？;!?、\n]")
_CLAUSE_RE = re.compile(r"[，。；！？,;!?\n]")
_KEY_RE = re.compile(r"[0-9a-z\u4e00-\u9fff]")
# Kinds that may stand in one another's slot (a company's figure is often stated of its product).
_KIND_CLASS = {"company": "org", "product": "org", "research": "org", "agency": "org", "law": "law"}


def _keyed(text: str) -> str:
    """The key form of text: lower case, letters, digits and CJK characters only."""
    return "".join(_KEY_RE.findall(text.lower()))


def _contexts(
    text: str, spans: list[tuple[int, int, str, str]], k: int, stops_left: list[int] | None = None
) -> tuple[str, str]:
    """Key-form context on the left and right of spans[k]: up to the clause's start on the left,
    over commas up to 、 or a sentence end on the right. `stops_left`: the ends of text's
    `_CUT_LEFT_RE` matches, when the caller reads many spans of one text."""
    start, end = spans[k][0], spans[k][1]
    if stops_left is None:
        stops_left = [m.end() for m in _CUT_LEFT_RE.finditer(text, 0, start)]
    last = bisect_right(stops_left, start) - 1  # a stop at start: the cut mark ends right before the name
    stop_right = _CUT_RE.search(text, end)
    left_edge = max(start - 2 * _WINDOW, 0, stops_left[last] if last >= 0 else 0)
    right_edge = min([end + 2 * _WINDOW] + ([stop_right.start()] if stop_right else []))
    left = _keyed(text[left_edge:start])[-_WINDOW:]
    right = _keyed(text[end:right_edge])[:_WINDOW]
    return left, right


def _weight(common: str) -> int:
    """Length of a shared context, or 0 when it holds fewer than 3 letters or CJK characters
    (figures and dates alone say little about who they belong to: 于2024, 10万块)."""
    return len(common) if sum(not c.isdigit() for c in common) >= 3 else 0


def _common_prefix(a: str, b: str) -> int:
    """Shared start of two contexts; one adverb-sized character may open either (则与 ~ 与)."""
    best = 0
    for x, y, skip in ((a, b, 0), (a[1:], b, 1), (a, b[1:], 1)):
        if not x or not y or x[0] != y[0]:
            continue  # nothing shared: weight 0, never above best (>= 0)
        n, most = 1, min(len(x), len(y))
        while n < most and x[n] == y[n]:
            n += 1
        best = max(best, _weight(x[:n]) - skip)
    return best


def _common_suffix(a: str, b: str) -> int:
    return _common_prefix(a[::-1], b[::-1])


@lru_cache(maxsize=4096)
def _key(name: str) -> str:
    return _keyed(nfkc(name))


@lru_cache(maxsize=8192)
def _same_name(a: str, b: str) -> bool:
    ka, kb = _key(a), _key(b)
    if ka == kb:
        return True
    if not ka or not kb:
        return False
    aliases = alias_index()[0].get(compact(a), ())
    return any(_key(f) == kb for f in aliases)


def _kind_class(name: str, origin: str) -> str:
    if origin == "title":
        return "title"
    kind = lexicon_kind(name)
    if kind:
        return _KIND_CLASS.get(kind, kind)
    if origin == "latin":
        return "org"  # an unknown Latin name: a product, model or company
    return origin


# A source name's slot: (name, origin, left context, right context, clause number, start, end,
# key form of the name, kind class).
Slot = tuple[str, str, str, str, int, int, int, str, str]


@lru_cache(maxsize=256)
def _source_slots(source: str) -> tuple[str, tuple[Slot, ...]]:
    """(the source's key form, the slot of each source name). The names are read quickly, without
    jieba: 《titles》, lexicon forms, Latin names."""
    from harness.score.factcheck.entities import latin_entities

    text = nfkc(source)
    spans = [(s, e, ent, "title") for s, e, ent, _ in title_spans(text)]
    for s, e, form in lexicon_spans(text, in_words=False) + latin_entities(text):
        if not any(s < e2 and s2 < e for s2, e2, _, _ in spans):
            spans.append((s, e, form, "lexicon" if is_cjk_word(form) else "latin"))
    spans.sort()
    stops_left = [m.end() for m in _CUT_LEFT_RE.finditer(text)]
    clause_marks = [m.start() for m in _CLAUSE_RE.finditer(text)]
    slots = tuple(
        (
            ent,
            origin,
            *_contexts(text, spans, k, stops_left),
            bisect_left(clause_marks, start),  # clause marks before the name
            start,
            end,
            _key(ent),
            _kind_class(ent, origin),
        )
        for k, (start, end, ent, origin) in enumerate(spans)
    )
    return _keyed(text), slots


def _variants(a: str, b: str) -> bool:
    """One name inside the other as whole words (Turbo in X1 Turbo, B200 in GPU B200) or without a
    number (LPDDR5 in LPDDR5X is another product)."""
    short, long = sorted((a, b), key=lambda name: len(_key(name)))
    if _key(short) not in _key(long):
        return False
    return not any(c.isdigit() for c in short) or latin_in(short, nfkc(long))


def _fit(left: str, right: str, s_left: str, s_right: str) -> int:
    return max(_common_suffix(left, s_left), _common_prefix(right, s_right))


def swapped_in_slot(summary: str, source: str, spans: list[tuple[int, int, str, str]]) -> list[str]:
    """Names of the summary (spans: all of `entity_spans(summary)`) that the source names, but whose
    summary context the source gives to another name of the same kind and never to this one."""
    text = nfkc(summary)
    _, slots = _source_slots(source)
    if len(slots) < 2:
        return []
    summary_keys = {_key(ent) for _, _, ent, _ in spans}
    stops_left = [m.end() for m in _CUT_LEFT_RE.finditer(text)]
    bad: list[str] = []
    for k, (_, _, ent, origin) in enumerate(spans):
        ka = _key(ent)
        # (ka in key or key in ka): what _variants first requires, tested here without a call.
        own = [
            slot
            for slot in slots
            if _same_name(ent, slot[0]) or ((ka in slot[7] or slot[7] in ka) and _variants(ent, slot[0]))
        ]
        if not own:
            continue  # not in the source by name: the support check's concern
        left, right = _contexts(text, spans, k, stops_left)
        own_fit = max(_fit(left, right, slot[2], slot[3]) for slot in own)
        own_clauses = {slot[4] for slot in own}
        cls = _kind_class(ent, origin)
        # Cheap tests first; every test only skips a rival, so their order does not change the result.
        for name, _, sl, sr, n, s_start, s_end, key, s_cls in slots:
            if s_cls != cls or n in own_clauses or key in summary_keys:
                continue  # n in own_clauses: listed with the name in one clause (美团、腾讯等)
            if any(s_end <= o[5] <= s_end + 1 or o[6] <= s_start <= o[6] + 1 for o in own):
                continue  # written with the name as one compound (英伟达H100): its brand, no rival
            fit = _fit(left, right, sl, sr)
            if fit < MIN_CONTEXT or fit <= own_fit + 1:
                continue
            if _same_name(ent, name) or _variants(ent, name):
                continue  # one name, or a variant of it (Turbo, X1 Turbo; GPU B200, B200), but not LPDDR5X
            bad.append(ent)
            break
    return bad


def aligned_latin_alias(entity: str, start: int, end: int, summary: str, source: str) -> bool:
    """Whether a Latin name the source lacks stands where the source has Chinese words that name
    nothing else the lexicon knows (U.S. Copyright Office for 美国版权局 in the same sentence)."""
    from harness.score.factcheck.entity_support import lexicon_knows

    if lexicon_knows(entity):
        return False  # a name the lexicon knows: its aliases decide
    text = nfkc(summary)
    left = _keyed(text[max(0, start - _WINDOW) : start])
    right = _keyed(text[end : end + _WINDOW])
    key, _ = _source_slots(source)
    cut_l = left[-MIN_CONTEXT:] if len(left) >= MIN_CONTEXT else ""
    cut_r = right[:MIN_CONTEXT] if len(right) >= MIN_CONTEXT else ""
    _, slots = _source_slots(source)
    named_left = {slot[3][:MIN_CONTEXT] for slot in slots if not _same_name(entity, slot[0])}
    named_right = {slot[2][-MIN_CONTEXT:] for slot in slots if not _same_name(entity, slot[0])}
    if cut_r and cut_r not in named_left:
        for m in re.finditer(re.escape(cut_r), key):
            if m.start() > 0 and "\u4e00" <= key[m.start() - 1] <= "\u9fff":
                return True
    if cut_l and cut_l not in named_right:
        for m in re.finditer(re.escape(cut_l), key):
            if m.end() < len(key) and "\u4e00" <= key[m.end()] <= "\u9fff":
                return True
    return False
