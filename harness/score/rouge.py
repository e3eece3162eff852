"""ROUGE-1/2/L (through rouge-chinese) and ROUGE-Lsum (own code) on pre-tokenised Chinese text.

Counting follows ROUGE-1.5.5 / Google rouge-score: n-gram overlaps are clipped counts (a candidate
n-gram matches at most as many times as it occurs in the reference), not sets as in rouge-chinese's
default `exclusive=True`.

- rouge1/2/L: one comparison over the whole digest (all bullets' tokens concatenated in order).
  rougeL is ONE longest common subsequence over the whole text, so it depends on bullet order.
- rougeLsum: summary-level union LCS (ROUGE-1.5.5, rouge-score's `rougeLsum`) with bullets as
  units, so it does not depend on the order of the bullets.

rouge-chinese is given raw token sequences only; precision/recall come from its raw counts and
F is the exact harmonic mean 2PR/(P+R) (the library's own F adds 1e-8 to the denominator, so an
identical pair would score 0.999999995 instead of 1.0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from harness.data.schema import Item
from harness.score.base import MetricResult, score_each
from harness.score.registry import Column, Metric, register
from harness.tokenize import get_tokenizer, tokenizer_id

METRIC_VERSION = "rouge/1"
VALUE_KEYS = tuple(
    f"{metric}_{stat}" for metric in ("rouge1", "rouge2", "rougeL", "rougeLsum") for stat in ("p", "r", "f")
)

# Our names -> rouge-chinese metric names.
_LIB_METRICS = {"rouge1": "rouge-1", "rouge2": "rouge-2", "rougeL": "rouge-l"}


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
# rouge-1 / rouge-2 / rouge-L through rouge-chinese


@lru_cache(maxsize=8)
def _lib_rouge(metrics: tuple[str, ...]) -> Any:
    from rouge_chinese import Rouge

    return Rouge(metrics=list(metrics), exclusive=False, raw_results=True)


def _as_lib_text(cand: Sequence[str], ref: Sequence[str]) -> tuple[str, str]:
    """Space-joined opaque ids for the tokens of cand and ref.

    rouge-chinese re-splits its input: sentences on 。！？?…/"......" and words on spaces. ROUGE only
    depends on token identity, so mapping each distinct token to an id like "t3" guarantees the
    library sees exactly our token sequence, whatever characters a token contains.
    """
    ids: dict[str, str] = {}

    def encode(tokens: Sequence[str]) -> str:
        return " ".join(ids.setdefault(t, f"t{len(ids)}") for t in tokens)

    return encode(cand), encode(ref)


def _lib_scores(cand: Sequence[str], ref: Sequence[str], names: Sequence[str]) -> dict[str, Score]:
    """rouge-chinese scores for our metric names ("rouge1", "rouge2", "rougeL") in one call."""
    if not cand or not ref:
        # rouge-chinese raises ValueError on an empty side; rouge-score returns zeros.
        return {name: ZERO for name in names}
    hyp_text, ref_text = _as_lib_text(cand, ref)
    lib_names = tuple(_LIB_METRICS[name] for name in names)
    raw = _lib_rouge(lib_names).get_scores(hyp_text, ref_text)[0]  # hypothesis first
    return {
        name: _from_counts(raw[lib]["overlap"], raw[lib]["hyp"], raw[lib]["ref"])
        for name, lib in zip(names, lib_names, strict=True)
    }


def rouge_n(cand: Sequence[str], ref: Sequence[str], n: int) -> Score:
    """ROUGE-N with clipped n-gram counts (rouge-chinese, exclusive=False). Empty side -> zeros."""
    if n not in (1, 2, 3, 4, 5):
        raise ValueError(f"rouge-chinese supports ROUGE-1..5, not ROUGE-{n}")
    if not cand or not ref:
        return ZERO
    hyp_text, ref_text = _as_lib_text(cand, ref)
    raw = _lib_rouge((f"rouge-{n}",)).get_scores(hyp_text, ref_text)[0][f"rouge-{n}"]
    return _from_counts(raw["overlap"], raw["hyp"], raw["ref"])


def rouge_l(cand: Sequence[str], ref: Sequence[str]) -> Score:
    """ROUGE-L: one LCS over the whole token sequences (rouge-chinese). Empty side -> zeros."""
    return _lib_scores(cand, ref, ("rougeL",))["rougeL"]


# ---------------------------------------------------------------------------------------------
# rouge-Lsum (own code; rouge-chinese has no summary-level union LCS)


def _lcs_table(ref: Sequence[str], cand: Sequence[str]) -> list[list[int]]:
    """table[i][j] = LCS length of ref[:i] and cand[:j]; O(len(ref) * len(cand))."""
    table = [[0] * (len(cand) + 1) for _ in range(len(ref) + 1)]
    for i in range(1, len(ref) + 1):
        row, prev = table[i], table[i - 1]
        r = ref[i - 1]
        for j in range(1, len(cand) + 1):
            if r == cand[j - 1]:
                row[j] = prev[j - 1] + 1
            else:
                row[j] = max(prev[j], row[j - 1])
    return table


def _lcs_ref_positions(ref: Sequence[str], cand: Sequence[str]) -> list[int]:
    """Positions in ref of one LCS of ref and cand.

    Ties are broken as rouge-score does (prefer moving in cand only when that keeps a strictly
    longer LCS), so the union below picks the same positions and the scores agree exactly.
    """
    table = _lcs_table(ref, cand)
    i, j = len(ref), len(cand)
    positions: list[int] = []
    while i > 0 and j > 0:
        if ref[i - 1] == cand[j - 1]:
            positions.append(i - 1)
            i -= 1
            j -= 1
        elif table[i][j - 1] > table[i - 1][j]:
            j -= 1
        else:
            i -= 1
    positions.reverse()
    return positions


def rouge_lsum(cand_units: Sequence[Sequence[str]], ref_units: Sequence[Sequence[str]]) -> Score:
    """Summary-level ROUGE-L (ROUGE-1.5.5 / rouge-score `rougeLsum`), units = bullets.

    For each reference unit, take the union of the reference positions of its LCS with every
    candidate unit; each token of that union is a hit while the token still has unused occurrences
    in both the candidate and the reference (counts clipped as ROUGE-1.5.5 does, so a token is
    never matched more often than it occurs). P = hits / candidate tokens, R = hits / reference
    tokens. Unit order does not matter.
    """
    cand_units = [u for u in cand_units if u]
    ref_units = [u for u in ref_units if u]
    cand_total = sum(map(len, cand_units))
    ref_total = sum(map(len, ref_units))
    if not cand_total or not ref_total:
        return ZERO

    cand_left = Counter(t for u in cand_units for t in u)
    ref_left = Counter(t for u in ref_units for t in u)
    hits = 0
    for ref_unit in ref_units:
        union: set[int] = set()
        for cand_unit in cand_units:
            union.update(_lcs_ref_positions(ref_unit, cand_unit))
        for pos in sorted(union):
            token = ref_unit[pos]
            if cand_left[token] > 0 and ref_left[token] > 0:
                hits += 1
                cand_left[token] -= 1
                ref_left[token] -= 1
    return _from_counts(hits, cand_total, ref_total)


# ---------------------------------------------------------------------------------------------
# Scorer


class RougeScorer:
    """ROUGE-1/2/L/Lsum of generated bullets against an item's reference bullets."""

    name = "rouge"

    def __init__(self, tokenizer: str = "char") -> None:
        try:
            self._tokenize = get_tokenizer(tokenizer)
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
            "library": f"rouge-chinese {version('rouge-chinese')}",
            "metric_version": METRIC_VERSION,
        }

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        """Score candidates[i] (a list of generated bullets) against items[i].reference."""
        return score_each(items, candidates, self._score_one)

    def _score_one(self, item: Item, bullets: Sequence[str]) -> MetricResult:
        cand_units = [self._tokenize(b) for b in bullets]
        ref_units = [self._tokenize(b) for b in item.reference]
        cand = [t for u in cand_units for t in u]
        ref = [t for u in ref_units for t in u]
        evidence = {
            "candidate_tokens": len(cand),
            "reference_tokens": len(ref),
            "candidate_bullets": len(bullets),
            "reference_bullets": len(item.reference),
        }
        flags = []
        if not cand:
            flags.append("empty_output")
        if not ref:
            flags.append("empty_reference")
        if flags:
            return MetricResult(values=dict.fromkeys(VALUE_KEYS, 0.0), flags=flags, evidence=evidence)

        scores = _lib_scores(cand, ref, ("rouge1", "rouge2", "rougeL"))
        scores["rougeLsum"] = rouge_lsum(cand_units, ref_units)
        values: dict[str, float] = {}
        for metric, s in scores.items():
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
