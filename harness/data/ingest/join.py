"""Join references to sources: by normalised URL first, then by title similarity (one to one,
best pairs first) for what is left; duplicate sources (same normalised URL) are dropped."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from harness.data.ingest.records import WARNING, IngestProblem, Reference, Source
from harness.data.ingest.urls import bigrams, dice, title_key, url_key

DEFAULT_TITLE_THRESHOLD = 0.8
# Near misses at or above this similarity are listed with an unmatched reference.
NEAR_MISS = 0.4


@dataclass
class Match:
    reference: Reference
    source: Source
    by: str  # "url" | "title"
    similarity: float | None = None


@dataclass
class JoinResult:
    matches: list[Match] = field(default_factory=list)
    references_without_source: list[tuple[Reference, tuple[Source, float] | None]] = field(
        default_factory=list
    )
    sources_without_reference: list[Source] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)  # after dropping duplicates
    problems: list[IngestProblem] = field(default_factory=list)


def dedupe_sources(sources: list[Source]) -> tuple[list[Source], list[IngestProblem]]:
    kept: list[Source] = []
    problems: list[IngestProblem] = []
    first: dict[str, Source] = {}
    for source in sources:
        key = url_key(source.url)
        if key is not None and key in first:
            message = f"same article as {first[key].at} (URL {key}): duplicate dropped"
            problems.append(IngestProblem(source.file, source.line, message, WARNING))
            continue
        if key is not None:
            first[key] = source
        kept.append(source)
    return kept, problems


def join(references: list[Reference], sources: list[Source], threshold: float) -> JoinResult:
    result = JoinResult()
    result.sources, result.problems = dedupe_sources(sources)
    by_url = {key: s for s in result.sources if (key := url_key(s.url)) is not None}
    matched_sources: set[int] = set()
    left: list[Reference] = []
    for ref in references:
        source = by_url.get(url_key(ref.url) or "")
        if source is not None:
            result.matches.append(Match(ref, source, "url"))
            matched_sources.add(id(source))
        else:
            left.append(ref)

    # Titles: every pair sharing a bigram is a candidate; best pairs are taken first, one to one.
    free = [s for s in result.sources if id(s) not in matched_sources]
    grams = [bigrams(title_key(s.title)) for s in free]
    index: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(grams):
        for gram in g:
            index[gram].append(i)
    best: dict[int, tuple[Source, float]] = {}
    pairs: list[tuple[float, int, int]] = []
    for r, ref in enumerate(left):
        mine = bigrams(title_key(ref.title))
        candidates = {i for gram in mine for i in index.get(gram, ())}
        for i in candidates:
            score = dice(mine, grams[i])
            if score >= threshold:
                pairs.append((score, r, i))
            if score >= NEAR_MISS and score > best.get(r, (None, 0.0))[1]:
                best[r] = (free[i], score)
    taken_refs: set[int] = set()
    taken_sources: set[int] = set()
    title_matches: dict[int, Match] = {}
    for score, r, i in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if r in taken_refs or i in taken_sources:
            continue
        taken_refs.add(r)
        taken_sources.add(i)
        title_matches[r] = Match(left[r], free[i], "title", round(score, 4))
        matched_sources.add(id(free[i]))
    for r, ref in enumerate(left):
        if r in title_matches:
            result.matches.append(title_matches[r])
        else:
            result.references_without_source.append((ref, best.get(r)))
    order = {id(ref): n for n, ref in enumerate(references)}
    result.matches.sort(key=lambda m: order[id(m.reference)])
    result.sources_without_reference = [s for s in result.sources if id(s) not in matched_sources]
    return result
