"""ROUGE-1/2/L/Lsum on pre-tokenised text (own code, no per-pair library call).

Counting follows ROUGE-1.5.5 / Google rouge-score: n-gram overlaps are clipped counts (a candidate
n-gram matches at most as many times as it occurs in the reference), not sets as in rouge-chinese's
default `exclusive=True`.

- rouge1/2/L: one comparison over the whole digest (all bullets' tokens concatenated in order).
  rougeL is ONE longest common subsequence over the whole text, so it depends on bullet order.
- rougeLsum: summary-level union LCS (ROUGE-1.5.5, rouge-score's `rougeLsum`) with bullets as
  units, so it does not depend on the order of the bullets.

The numbers are those of `rouge_chinese.Rouge(exclusive=False)` (rouge-1/2/l, from its raw counts)
and of rouge-score's `rougeLsum` on the same tokens; the tests check this on random inputs.
Precision and recall are the same divisions of the same counts; F is the exact harmonic mean
2PR/(P+R) (rouge-chinese's own F adds 1e-8 to the denominator, so an identical pair would score
0.999999995 instead of 1.0).

How it is fast (benchmarks/scoring_speed.py: tens of times rouge-chinese's pairs per second):
- clipped n-gram overlaps come from two `Counter`s (rouge-chinese copies and scans lists);
- the LCS is bit-parallel (Allison-Dix / Hyyrö): one Python big int holds a whole column of the
  LCS table as bits, so a candidate token costs a few big-int operations instead of a loop over the
  reference; memory is one big int per candidate token of a bullet, not a table of
  len(cand) x len(ref) cells;
- ROUGE-L and every bullet of ROUGE-Lsum share one pass over the candidate: the reference's whole
  text and each of its bullets occupy separate bit spans of the same int, with a zero guard bit
  between spans so that additions carry no bit from one span into the next;
- ROUGE-Lsum traces back only the bullet pairs with a non-empty LCS, and in each only the
  candidate tokens that occur in the reference bullet.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from harness.data.schema import Item
from harness.score.base import MetricResult, score_each
from harness.score.registry import Column, Metric, register
from harness.tokenize import get_tokenizer, tokenizer_id

METRIC_VERSION = "rouge/1"
VALUE_KEYS = tuple(
    f"{metric}_{stat}" for metric in ("rouge1", "rouge2", "rougeL", "rougeLsum") for stat in ("p", "r", "f")
)


@dataclass(frozen=True)
class Score:
    """Precision, recall and F1 of one ROUGE variant."""

    precision: float
    recall: float
    fmeasure: float


ZERO = Score(0.0, 0.0, 0.0)


def _fmeasure(precision: float, recall: float) -> float:
    # Same formula as rouge-score's scoring.fmeasure (no smoothing epsilon).
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def _from_counts(overlap: int, cand_count: int, ref_count: int) -> Score:
    precision = overlap / cand_count if cand_count else 0.0
    recall = overlap / ref_count if ref_count else 0.0
    return Score(precision, recall, _fmeasure(precision, recall))


# ---------------------------------------------------------------------------------------------
# n-grams: clipped counts


def ngram_counts(tokens: Sequence[str], n: int) -> Counter:
    """How often each n-gram occurs (unigrams are the tokens themselves, longer ones tuples)."""
    if n == 1:
        return Counter(tokens)
    return Counter(zip(*(islice(tokens, k, None) for k in range(n)), strict=False))


def clipped_overlap(a: Counter, b: Counter) -> int:
    """Sum over n-grams of min(count in a, count in b): ROUGE-1.5.5's clipped overlap."""
    if len(a) > len(b):
        a, b = b, a
    get = b.get
    return sum([min(count, get(gram, 0)) for gram, count in a.items()])


def rouge_n(cand: Sequence[str], ref: Sequence[str], n: int) -> Score:
    """ROUGE-N with clipped n-gram counts (= rouge-chinese, exclusive=False). Empty side -> zeros."""
    if n < 1:
        raise ValueError(f"ROUGE-N needs n >= 1, not {n}")
    if not cand or not ref:
        return ZERO
    c, r = ngram_counts(cand, n), ngram_counts(ref, n)
    return _from_counts(clipped_overlap(c, r), sum(c.values()), sum(r.values()))


# ---------------------------------------------------------------------------------------------
# LCS, bit-parallel
#
# Hyyrö's formulation of Allison-Dix: bit i of V_j is 0 where the LCS table's column j steps up
# (table[i+1][j] = table[i][j] + 1), 1 elsewhere. With B = the bits of the reference positions
# holding candidate token j, and U = V & B:
#     V_j = (V_{j-1} + U) | (V_{j-1} - U),    V_0 = all ones,
# and LCS(ref[:i], cand[:j]) = number of zero bits of V_j below bit i. U is a subset of V, so
# V - U = V ^ U (no borrow); only the addition carries, upwards.


def _positions(tokens: Sequence[str]) -> dict[str, int]:
    """token -> int with bit i set where tokens[i] is that token."""
    masks: dict[str, int] = {}
    for i, tok in enumerate(tokens):
        masks[tok] = masks.get(tok, 0) | 1 << i
    return masks


@dataclass(frozen=True, eq=False)
class Reference:
    """A reference text prepared once: tokens, n-gram counts and match masks.

    Bit layout of `masks` (and of the LCS vectors): the whole text in bits [0, m), one guard bit,
    then each non-empty unit (bullet) in its own span followed by a guard bit. Guard bits are 0
    in every mask and are cleared after each addition, so a carry never leaves its span.
    """

    units: tuple[tuple[str, ...], ...]  # non-empty units, in order
    tokens: tuple[str, ...]  # all units' tokens, in order
    unigrams: Counter
    bigrams: Counter
    masks: dict[str, int]  # token -> bits of its positions in every span
    whole: int  # bits of the whole-text span
    unit_bits: int  # bits of the unit spans
    spans: tuple[tuple[int, int], ...]  # [start, end) bit range of each unit span
    unit_masks: tuple[dict[str, int], ...]  # per unit: token -> bits of its positions in the unit

    @classmethod
    def build(cls, units: Sequence[Sequence[str]]) -> Reference:
        kept = tuple(tuple(u) for u in units if u)
        tokens = tuple(t for u in kept for t in u)
        masks = _positions(tokens)
        m = len(tokens)
        first = m + 1
        start, spans = first, []
        for unit in kept:
            for k, tok in enumerate(unit):
                masks[tok] |= 1 << (start + k)
            spans.append((start, start + len(unit)))
            start += len(unit) + 1
        unit_bits = sum(((1 << (e - s)) - 1) << s for s, e in spans)
        return cls(
            units=kept,
            tokens=tokens,
            unigrams=ngram_counts(tokens, 1),
            bigrams=ngram_counts(tokens, 2),
            masks=masks,
            whole=(1 << m) - 1,
            unit_bits=unit_bits,
            spans=tuple(spans),
            unit_masks=tuple(_positions(u) for u in kept),
        )


def _lcs_pass(ref: Reference, cand_units: Sequence[Sequence[str]], union: bool) -> tuple[int, int]:
    """(LCS length of the whole texts, union-LCS bits of each reference unit).

    One pass over the candidate tokens updates the whole-text span continuously and the unit
    spans from all ones at the start of each candidate unit, which gives every (reference unit,
    candidate unit) LCS at once. With `union`, each unit pair's LCS is traced back and its
    reference positions are OR-ed into the returned bits (0 otherwise).
    """
    masks, whole, unit_bits, spans = ref.masks, ref.whole, ref.unit_bits, ref.spans
    starts = [start for start, _ in spans]
    keep = whole | unit_bits
    get = masks.get
    v = keep
    hits = 0
    for unit in cand_units:
        v = (v & whole) | unit_bits
        if not union:
            for tok in unit:
                u = v & get(tok, 0)
                if u:
                    v = ((v + u) | (v ^ u)) & keep
            continue
        # ~V after each token of the unit (column j + 1 of the table), for the trace-back
        columns = []
        for tok in unit:
            u = v & get(tok, 0)
            if u:
                v = ((v + u) | (v ^ u)) & keep
            columns.append(~v)
        # Reference units whose LCS with this unit is not empty (V has a 0 in their span), from the
        # last: a digest of many short bullets does not pay for every pair of bullets.
        zeros = ~v & unit_bits
        while zeros:
            k = bisect_right(starts, zeros.bit_length() - 1) - 1
            start, end = spans[k]
            hits |= _trace_back(columns, unit, ref.unit_masks[k], start, end) << start
            zeros &= (1 << start) - 1
    return len(ref.tokens) - (v & whole).bit_count(), hits


def _trace_back(
    columns: list[int], unit: Sequence[str], unit_masks: dict[str, int], start: int, end: int
) -> int:
    """Positions (bits, from the unit's start) of the LCS that rouge-score's `_backtrack_norec` picks
    for one unit pair: the candidate unit `unit` (`columns`: ~V after each of its tokens) against
    the reference unit in bits [start, end) of V (`unit_masks`: its tokens' positions).

    rouge-score walks back from the table's corner: on a match it takes the diagonal, else it moves
    left if table[i][j-1] > table[i-1][j], else up. Without a match, table[i][j] is the max of the
    two, so it moves up exactly when bit i-1 of V_j is 1 (no step) and left when it is 0. So from
    row i in column j the walk goes up to the highest bit p < i that is a match or a 0 of V_j,
    then takes the diagonal (match) or moves left staying at row p+1: one step per column.

    A column whose token is not in the reference unit has no match there and leaves the unit's
    bits of V as they were, so a run of such columns moves the walk once, to just above the
    highest 0 of V below it, and then no further; that step is taken at the next column whose
    token is in the unit (same V), by searching its 0s only. Only those columns are visited.
    """
    full = (1 << (end - start)) - 1
    hits = 0
    i = end - start
    at = len(unit)  # the walk is in column `at` (1-based)
    for j in range(len(unit) - 1, -1, -1):
        b = unit_masks.get(unit[j])
        if b is None:
            continue
        x = (columns[j] >> start) & full
        if j + 1 == at:
            x |= b
        p = (x & ((1 << i) - 1)).bit_length() - 1
        if p < 0:
            break
        if b >> p & 1:
            hits |= 1 << p
            i = p
        else:
            i = p + 1
        at = j
    return hits


def _union_hits(ref: Reference, hits: int, cand_counts: Counter) -> int:
    """ROUGE-1.5.5's summary-level hit count from the union-LCS bits of the reference units.

    rouge-score walks the union positions of each reference unit in order and counts a token while
    it has unused occurrences in both the candidate and the reference. The union positions are
    distinct reference positions, so the reference never runs out first, and the order does not
    change the total: each token counts min(its union positions, its candidate occurrences).
    """
    masks = ref.masks
    return sum([min(count, (hits & masks.get(tok, 0)).bit_count()) for tok, count in cand_counts.items()])


def rouge_l(cand: Sequence[str], ref: Sequence[str]) -> Score:
    """ROUGE-L: one LCS over the whole token sequences (= rouge-chinese's rouge-l). Empty side -> zeros."""
    if not cand or not ref:
        return ZERO
    lcs, _ = _lcs_pass(Reference.build([ref]), [cand], union=False)
    return _from_counts(lcs, len(cand), len(ref))


def rouge_lsum(cand_units: Sequence[Sequence[str]], ref_units: Sequence[Sequence[str]]) -> Score:
    """Summary-level ROUGE-L (ROUGE-1.5.5 / rouge-score `rougeLsum`), units = bullets.

    For each reference unit, take the union of the reference positions of its LCS with every
    candidate unit; each token of that union is a hit while the token still has unused occurrences
    in both the candidate and the reference (counts clipped as ROUGE-1.5.5 does, so a token is
    never matched more often than it occurs). P = hits / candidate tokens, R = hits / reference
    tokens. Unit order does not matter.
    """
    ref = Reference.build(ref_units)
    cand_units = [u for u in cand_units if u]
    cand = [t for u in cand_units for t in u]
    if not cand or not ref.tokens:
        return ZERO
    _, hits = _lcs_pass(ref, cand_units, union=True)
    return _from_counts(_union_hits(ref, hits, ngram_counts(cand, 1)), len(cand), len(ref.tokens))


def rouge_all(cand_units: Sequence[Sequence[str]], ref: Reference) -> dict[str, Score]:
    """rouge1, rouge2, rougeL (whole texts) and rougeLsum (units) of a candidate against a prepared
    reference. Empty side -> zeros."""
    cand_units = [u for u in cand_units if u]
    cand = [t for u in cand_units for t in u]
    n, m = len(cand), len(ref.tokens)
    if not n or not m:
        return dict.fromkeys(("rouge1", "rouge2", "rougeL", "rougeLsum"), ZERO)
    unigrams, bigrams = ngram_counts(cand, 1), ngram_counts(cand, 2)
    lcs, hits = _lcs_pass(ref, cand_units, union=True)
    return {
        "rouge1": _from_counts(clipped_overlap(unigrams, ref.unigrams), n, m),
        "rouge2": _from_counts(clipped_overlap(bigrams, ref.bigrams), n - 1, m - 1),
        "rougeL": _from_counts(lcs, n, m),
        "rougeLsum": _from_counts(_union_hits(ref, hits, unigrams), n, m),
    }


# ---------------------------------------------------------------------------------------------
# Scorer


class RougeScorer:
    """ROUGE-1/2/L/Lsum of generated bullets against an item's reference bullets."""

    name = "rouge"

    # Item fields the numbers depend on: results are kept in the score cache (harness/score/cache.py).
    cache_inputs = ("reference",)

    def __init__(self, tokenizer: str = "char") -> None:
        try:
            self._tokenize: Callable[[str], list[str]] = get_tokenizer(tokenizer)
        except ValueError as exc:
            raise ValueError(f"metrics.rouge.tokenizer: {exc}") from exc
        self.tokenizer = tokenizer

    def meta(self) -> dict[str, Any]:
        """Everything that determines the numbers."""
        return {
            "tokenizer": tokenizer_id(self.tokenizer),
            "counting": "clipped",
            "rougeL": "sentence-level LCS over the whole summary",
            "rougeLsum": "summary-level union LCS, bullets as units",
            "fmeasure": "2PR/(P+R) from raw counts",
            "empty_output": "all values 0.0",
            "implementation": "harness (bit-parallel LCS)",
            "checked_against": "rouge-chinese 1.0.3 exclusive=False (1/2/L), rouge-score 0.1.2 (rougeLsum)",
            "metric_version": METRIC_VERSION,
        }

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        """Score candidates[i] (a list of generated bullets) against items[i].reference."""
        return score_each(items, candidates, self._score_one)

    def _score_one(self, item: Item, bullets: Sequence[str]) -> MetricResult:
        cand_units = [self._tokenize(b) for b in bullets]
        ref = Reference.build([self._tokenize(b) for b in item.reference])
        n_cand = sum(map(len, cand_units))
        evidence = {
            "candidate_tokens": n_cand,
            "reference_tokens": len(ref.tokens),
            "candidate_bullets": len(bullets),
            "reference_bullets": len(item.reference),
        }
        flags = []
        if not n_cand:
            flags.append("empty_output")
        if not ref.tokens:
            flags.append("empty_reference")
        if flags:
            return MetricResult(values=dict.fromkeys(VALUE_KEYS, 0.0), flags=flags, evidence=evidence)

        values: dict[str, float] = {}
        for metric, s in rouge_all(cand_units, ref).items():
            values[f"{metric}_p"] = s.precision
            values[f"{metric}_r"] = s.recall
            values[f"{metric}_f"] = s.fmeasure
        return MetricResult(values=values, flags=[], evidence=evidence)


def _build(options: Any) -> RougeScorer | None:
    return RougeScorer(tokenizer=options.tokenizer) if options.enabled else None


_LABELS = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L", "rougeLsum": "ROUGE-Lsum"}
_STATS = {"p": "P", "r": "R", "f": "F"}
METRIC = register(
    Metric(
        name="rouge",
        description="ROUGE-1/2/L (clipped counts) and ROUGE-Lsum against the reference digest",
        needs_reference=True,
        order=10,
        version=METRIC_VERSION,
        build=_build,
        columns=tuple(
            Column(
                f"{variant}_{stat}",
                f"{name} {_STATS[stat]}",
                headline=stat == "f",
                compact=f"{variant}_{stat}" in ("rougeL_f", "rougeLsum_f"),
            )
            for variant, name in _LABELS.items()
            for stat in ("p", "r", "f")
        ),
    )
)
