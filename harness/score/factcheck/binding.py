"""Whether the source ties a summary's names to the same facts: a number stated of the wrong
product, a lead investor who only followed.

Every name and number of a summary may occur in its source and the summary still be wrong: "星野
月活超 1100 万" against a source in which 1100 万 is Talkie's and 星野 only listed. Checked clause by
clause (a clause ends at ，。；！？ or a line break; a sentence at 。！？), for each value of a summary
clause that names entities the source knows (a count, amount, percentage or rank; no date, year,
quarter, version or number of a model's name), against the source clauses that state the value:

- 分别: "A 和 B 分别投资 5 亿元和 3 亿元" pairs names and values in order;
- a name listed with the name that has the value (海螺AI、星野和Talkie ... Talkie 超过 1100 万);
- a name with a value of its own of the same kind in the same sentence, while another name has the
  summary's value (A 得分 62.3%，B 得分 49.3%);
- none of the clause's names in any stating clause nor in its sentence's first clause (whose
  subject carries over the commas), and every stating clause names a competitor: a lexicon or
  Latin-script name the summary does not mention, no part of a company it names (阿里云 for 阿里巴巴),
  and an organisation or person when the summary clause names only organisations;
- values given with 的 (低于 GPT-4o 的 61.8%): the named owner, or a summary name that owns another
  value of the same kind that way;
- role words (`data/role_words.tsv`: 领投, 跟投): a name right before one must occur in a source
  clause with a word of that role, when the source has such a clause.

docs/facts.md has the rules and what they cannot see (pronoun owners, sector and noun swaps).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from harness.score.factcheck.entities import LATIN_STOP, entity_spans, latin_entities
from harness.score.factcheck.entity_support import entity_supported
from harness.score.factcheck.lexicon import alias_index, is_place, lexicon_kind, lexicon_spans
from harness.score.factcheck.quantities import Quantity, extract_at
from harness.score.factcheck.quantity_support import (
    SourceFacts,
    number_supported,
    part_facts,
    source_facts,
    version_starts,
)
from harness.score.factcheck.text import CJK_RE, compact, latin_words, nfkc
from harness.score.factcheck.units import MEASURE_WORDS
from harness.score.factcheck.wordlists import table, words

_RE_CLAUSE = re.compile(r"[^，。；！？,;!?\n]+")
_RE_SENTENCE = re.compile(r"[^。！？!?\n]+")
# What joins the names of one list: 、, 和, 与, 及, 以及 (spaces aside).
_RE_LIST_JOIN = re.compile(r" ?(?:、|和|与|及|以及) ?")
_VALUE_KINDS = ("number", "percent", "currency", "size")
# Role words: (role, pattern of its words).
_ROLES = tuple((role, re.compile(words)) for role, words in table("role_words.tsv", 2))
# A name is attached to a role word when at most this many characters stand between them (由腾讯领投).
_ROLE_GAP = 2
# Latin words that name a variant, not a competitor (Base, Chat, Pro, Turbo).
_NOT_COMPETITORS = frozenset(words("binding_not_names.txt"))
_MEASURE_WORDS = tuple(sorted(MEASURE_WORDS, key=len, reverse=True))
# Lexicon kinds of organisations (see data/entity_groups.tsv).
_ORGANISATIONS = ("company", "agency", "research")


def _clauses(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in _RE_CLAUSE.finditer(text)]


def _counter(q: Quantity) -> tuple[str, str | None, bool, str]:
    """What a value counts: (kind, unit, ordinal, counting word): 5 家 and 第 6 differ."""
    word = next((w for w in _MEASURE_WORDS if q.surface.endswith(w)), "")
    return q.kind, q.unit, q.surface.startswith("第"), word


def _checked_value(q: Quantity, clause: str) -> bool:
    """A value worth binding to a name: no date, version, year-like number, quarter or an ordinal
    that is part of a name (第六代)."""
    if q.kind not in _VALUE_KINDS or q.unit == "quarter":
        return False
    after = clause[clause.find(q.surface) + len(q.surface) :]
    if q.surface.startswith("第"):
        if after[:1] and after[:1] not in "名位" and CJK_RE.match(after[:1]):
            return False
    elif (
        q.kind == "number" and q.unit is None and q.surface[-1:].isdigit() and re.match(r" ?[A-Za-z]", after)
    ):
        return False  # 文心 4.5 Turbo: a number of a model's name
    value = float(q.value)  # type: ignore[arg-type]
    return not (q.kind == "number" and q.unit is None and value.is_integer() and 1900 <= value <= 2100)


@dataclass(frozen=True, eq=False)
class _Clause:
    text: str
    facts: SourceFacts
    names: tuple[str, ...]  # the company, product and person names written in it
    topic: str  # the first clause of its sentence: whom the sentence is about ("" when none)
    sentence: int  # which sentence of the source it belongs to
    # "A 和 B 分别投资 5 亿元和 3 亿元": the names before 分别 and the facts of each value after it.
    respectively: tuple[tuple[str, ...], tuple[SourceFacts, ...]] | None = None


@dataclass(frozen=True, eq=False)
class _Source:
    clauses: tuple[_Clause, ...]
    siblings: dict[str, frozenset[str]]  # name -> the names listed with it (A、B 和 C)


def _name_spans(text: str) -> list[tuple[int, int, str]]:
    """Company, product and person names of a source: lexicon forms (no places), Latin names."""
    spans = [(s, e, form) for s, e, form in lexicon_spans(text, in_words=False) if not is_place(form)]
    spans += [
        (s, e, ent)
        for s, e, ent in latin_entities(text)
        if not all(w in LATIN_STOP or w in _NOT_COMPETITORS or w.isdigit() for w in latin_words(ent))
    ]
    return sorted(spans)


def _siblings(text: str, spans: list[tuple[int, int, str]]) -> dict[str, frozenset[str]]:
    """Names written as one list (海螺AI、星野和Talkie): each name -> the others of its lists."""
    groups: list[list[str]] = []
    for k, (start, _, name) in enumerate(spans):
        if k and _RE_LIST_JOIN.fullmatch(text[spans[k - 1][1] : start]):
            groups[-1].append(name)
        else:
            groups.append([name])
    out: dict[str, set[str]] = {}
    for group in groups:
        for name in group:
            out.setdefault(name, set()).update(n for n in group if n != name)
    return {name: frozenset(others) for name, others in out.items() if others}


def _respectively(facts: SourceFacts, text: str, start: int, end: int) -> tuple | None:
    """Names before 分别 and the facts of each value after it, when their numbers agree."""
    at = text.find("分别", start, end)
    if at == -1:
        return None
    merged: list[list] = []
    for s, e, _, origin in entity_spans(text[start:at]):
        if origin == "title":
            continue
        if merged and merged[-1][1] == s:
            merged[-1][1] = e  # 成都 + 高新区: one name
        else:
            merged.append([s, e])
    names = tuple(text[start + s : start + e] for s, e in merged)
    values = [
        (k, q)
        for k, (q, pos) in enumerate(zip(facts.quantities, facts.starts, strict=True))
        if at <= pos < end and _checked_value(q, text[start:end])
    ]
    if len(names) < 2 or len(names) != len(values):
        return None
    one = tuple(
        SourceFacts(facts.text, facts.compact, [q], set(), [], [], [facts.starts[k]]) for k, q in values
    )
    return names, one


@lru_cache(maxsize=64)
def _source(source: str) -> _Source:
    text = nfkc(source)
    spans = _name_spans(text)
    facts = source_facts(source)
    versions = version_starts(facts)
    out = []
    for number, sentence in enumerate(_RE_SENTENCE.finditer(text)):
        parts = _clauses(sentence.group(0))
        # The first clause's subject carries over the commas, unless that clause states a value of
        # its own (a list of parallel clauses: "A 超过 800 万，B 约为 300 万").
        topic = parts[0][2] if parts else ""
        if parts and any(
            _checked_value(q, topic)
            for q, at in zip(facts.quantities, facts.starts, strict=True)
            if sentence.start() <= at < sentence.start() + parts[0][1]
        ):
            topic = ""
        for start, end, clause in parts:
            start += sentence.start()
            end += sentence.start()
            names = tuple(name for s, e, name in spans if start <= s and e <= end)
            respectively = _respectively(facts, text, start, end)
            out.append(
                _Clause(clause, part_facts(facts, start, end, versions), names, topic, number, respectively)
            )
    return _Source(tuple(out), _siblings(text, spans))


def _related(name: str, summary_names: list[str]) -> bool:
    """A name that starts with one of the summary's names or their aliases (阿里云 for 阿里巴巴 =
    阿里, 腾讯云 for 腾讯, Google Cloud for 谷歌 = Google): a part of the same company."""
    index, _ = alias_index()
    key = compact(name)
    for ent in summary_names:
        forms = {compact(ent), *(compact(f) for f in index.get(compact(ent), ()))}
        if any(len(f) >= 2 and key.startswith(f) for f in forms):
            return True
    return False


def _competitor(names: tuple[str, ...], summary: str, summary_names: list[str]) -> bool:
    """A name the summary never mentions (in any form the lexicon knows) and that is no part of a
    company the summary names. When the summary clause names only organisations, only another
    organisation or a person competes: a company's figure may be stated of its product."""
    only_organisations = all(lexicon_kind(ent) in _ORGANISATIONS for ent in summary_names)
    return any(
        not entity_supported(name, summary, "lexicon")
        and not _related(name, summary_names)
        and (not only_organisations or lexicon_kind(name) in (*_ORGANISATIONS, "person"))
        for name in names
    )


@lru_cache(maxsize=1024)
def _stating(q: Quantity, src: _Source) -> list[_Clause]:
    """The source clauses that state value q."""
    return [c for c in src.clauses if number_supported(q, c.facts)]


def _value_misbound(q: Quantity, known: list[tuple[str, str]], summary: str, src: _Source) -> list[str]:
    """The known names of a summary clause that the source does not give value q."""
    stating = _stating(q, src)
    if not stating:
        return []
    # "A 和 B 分别 ... X 和 Y": a name takes the value in its own place only.
    for c in stating:
        if c.respectively is None:
            continue
        names, values = c.respectively
        own = {k for k, f in enumerate(values) if number_supported(q, f)}
        for ent, origin in known:
            places = {k for k, name in enumerate(names) if entity_supported(ent, name, origin)}
            if places and own and not places & own:
                return [ent]
    absent = [
        (ent, origin)
        for ent, origin in known
        if not any(entity_supported(ent, c.text, origin) for c in stating)
    ]
    if not absent:
        return []
    # A name listed with the one the source gives the value (海螺AI、星野和Talkie ... Talkie 超 1100 万).
    swapped = [
        ent
        for ent, origin in absent
        if all(
            any(
                entity_supported(ent, sibling, origin)
                for name in c.names
                if not entity_supported(name, summary, "lexicon")
                for sibling in src.siblings.get(name, ())
            )
            for c in stating
        )
    ]
    if swapped:
        return swapped
    summary_names = [ent for ent, _ in known]
    competing = [c for c in stating if _competitor(c.names, summary, summary_names)]
    # Parallel clauses ("A 得分 62.3%，B 得分 49.3%"): a name with a value of its own of the same
    # kind in the same sentence, where another name has the summary's value.
    own = [
        ent
        for ent, origin in absent
        for c in competing
        for other in src.clauses
        if other.sentence == c.sentence
        and other is not c
        and entity_supported(ent, other.text, origin)
        and any(_counter(s) == _counter(q) and _checked_value(s, other.text) for s in other.facts.quantities)
        and not number_supported(q, other.facts)
    ]
    if own:
        return list(dict.fromkeys(own))
    # The subject of a sentence carries over its commas: a name in the sentence's first clause.
    if len(absent) < len(known) or any(
        c.topic and entity_supported(ent, c.topic, origin) for c in stating for ent, origin in known
    ):
        return []
    if len(competing) == len(stating):
        return summary_names
    return []


def misbound_entities(
    summary: str, source: str, spans: list[tuple[int, int, str, str]] | None = None
) -> list[str]:
    """Entities of summary the source names, but not with the value or role the summary gives them.
    spans: those of `entity_spans(summary)` that the source supports, when the caller has them."""
    text = nfkc(summary)
    if spans is None:
        spans = [span for span in entity_spans(text) if entity_supported(span[2], source, span[3])]
    spans = [span for span in spans if span[3] != "title"]
    if not spans:
        return []
    bad: list[str] = []
    src = _source(source)
    quantities = extract_at(text)
    for c_start, c_end, clause in _clauses(text):
        known = [(ent, origin) for s, e, ent, origin in spans if c_start <= s and e <= c_end]
        if not known:
            continue
        for at, q in quantities:
            if c_start <= at < c_end and _checked_value(q, clause):
                bad += _value_misbound(q, known, text, src) or _possessed_elsewhere(
                    q, known, clause, text, src
                )
        bad += _role_mismatches(clause, known, src.clauses)
    return list(dict.fromkeys(bad))


def _possessed_elsewhere(
    q: Quantity, known: list[tuple[str, str]], clause: str, summary: str, src: _Source
) -> list[str]:
    """ "低于 GPT-4o 的 61.8%": the source gives the value to a name with 的; a summary that names
    that name too, but in another clause than the value, gives the value to someone else."""
    stating = _stating(q, src)
    absent = [
        (ent, origin)
        for ent, origin in known
        if not any(entity_supported(ent, c.text, origin) for c in stating)
    ]
    if not stating or not absent:
        return []
    # A summary name that owns another value of the same kind in the same sentence ("该模型得分
    # 65.8%，高于 B 的 38.8%": B's value is 38.8%, not 65.8%).
    sentences = {c.sentence for c in stating}
    own = [
        ent
        for ent, origin in absent
        for c in src.clauses
        if c.sentence in sentences
        for value in _possessed(c, lambda name, ent=ent, origin=origin: entity_supported(ent, name, origin))
        if _counter(value) == _counter(q) and not number_supported(q, _single(value))
    ]
    if own:
        return list(dict.fromkeys(own))
    owners = {
        name
        for c in stating
        for name in c.names
        if any(number_supported(q, _single(v)) for v in _possessed(c, lambda n, name=name: n == name))
    }
    if not owners or any(entity_supported(owner, clause, "lexicon") for owner in owners):
        return []
    if not any(entity_supported(owner, summary, "lexicon") for owner in owners):
        return []  # the owner is not named at all: the other rules' business
    return [ent for ent, _ in absent]


def _possessed(c: _Clause, match: Callable[[str], bool]) -> list[Quantity]:
    """The values a source clause gives with 的 to its names that match ("GPT-4o 的 61.8%")."""
    out = []
    for name in c.names:
        if not match(name):
            continue
        for m in re.finditer(re.escape(name) + r" ?的 ?", c.text):
            found = extract_at(c.text[m.end() : m.end() + 20])
            if found and found[0][0] == 0 and _checked_value(found[0][1], c.text):
                out.append(found[0][1])
    return out


def _single(q: Quantity) -> SourceFacts:
    return SourceFacts(q.surface, compact(q.surface), [q], set(), [], [], [0])


def _role_mismatches(clause: str, known: list[tuple[str, str]], clauses: tuple[_Clause, ...]) -> list[str]:
    out = []
    for _, role in _ROLES:
        for m in role.finditer(clause):
            with_role = [c.text for c in clauses if role.search(c.text)]
            if not with_role:
                continue
            for ent, origin in known:
                at = clause.rfind(ent, 0, m.start())
                if at == -1 or m.start() - (at + len(ent)) > _ROLE_GAP:
                    continue
                if not any(entity_supported(ent, c, origin) for c in with_role):
                    out.append(ent)
    return out
