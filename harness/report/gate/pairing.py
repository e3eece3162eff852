"""What the comparison and the gate share about pairing two runs: the items both scored, the
intervals shown for means, and the warnings that a pair of runs is not like-for-like. No I/O."""

from __future__ import annotations

from collections.abc import Sequence

from harness.report.gate.errors import GateUsageError
from harness.report.gate.runs import Run
from harness.report.stats import Interval, bootstrap_ci
from harness.results.store import ROWS_FILE

# Every interval the gate and the comparison show is a 95% percentile bootstrap interval.
CONFIDENCE = 0.95
CI_METHOD = "percentile"


def paired_values(
    ids_a: list[str], va: list[float | None], ids_b: list[str], vb: list[float | None]
) -> tuple[list[float], list[float]]:
    """Values of a and b on the items both scored, in sorted-id order (as stats pairs them)."""
    a = dict(zip(ids_a, va, strict=True))
    b = dict(zip(ids_b, vb, strict=True))
    common = sorted(i for i in a.keys() & b.keys() if a[i] is not None and b[i] is not None)
    return [a[i] for i in common], [b[i] for i in common]  # type: ignore[misc]


def mean_ci(values: Sequence[float], seed: int, n_resamples: int) -> Interval:
    """The mean of `values` with the interval every table shows (95% percentile bootstrap)."""
    return bootstrap_ci(values, n_resamples=n_resamples, confidence=CONFIDENCE, seed=seed, method=CI_METHOD)


def check_shared_items(a: Run, b: Run, who: str) -> tuple[int, int, int]:
    """(items in both, only in a, only in b); `GateUsageError` when the runs share no item."""
    ids_a, ids_b = set(a.rows), set(b.rows)
    common = ids_a & ids_b
    if not common:
        raise GateUsageError(
            f"{who}: the two runs share no item id ({a.info.dir}: {a.info.dataset} `{a.info.fingerprint}`, "
            f"{b.info.dir}: {b.info.dataset} `{b.info.fingerprint}`); nothing can be paired"
        )
    return len(common), len(ids_a - ids_b), len(ids_b - ids_a)


def comparability_warnings(
    a: Run, b: Run, names: tuple[str, str], n_items: tuple[int, int, int]
) -> list[str]:
    """Everything that makes the comparison less than like-for-like, said loudly."""
    out = []
    n_common, only_a, only_b = n_items
    ia, ib = a.info, b.info
    if ia.fingerprint != ib.fingerprint:
        out.append(
            f"DIFFERENT DATASETS: {names[0]} is on {ia.dataset} `{ia.fingerprint}`, {names[1]} on "
            f"{ib.dataset} `{ib.fingerprint}`. Only the {n_common} item ids both runs have are compared "
            f"({only_a} only in {names[0]}, {only_b} only in {names[1]}), and an item with the same id "
            "may not have the same content."
        )
    elif only_a or only_b:
        out.append(
            f"The runs do not have the same items: {n_common} in both, {only_a} only in {names[0]}, "
            f"{only_b} only in {names[1]}; only the common ones are compared."
        )
    for family in sorted(set(ia.metric_settings) & set(ib.metric_settings)):
        sa, sb = ia.metric_settings[family], ib.metric_settings[family]
        if sa != sb:
            if isinstance(sa, dict) and isinstance(sb, dict):
                keys = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
                detail = "; ".join(f"{k}: {sa.get(k)!r} vs {sb.get(k)!r}" for k in keys[:3])
            else:
                detail = f"{sa!r} vs {sb!r}"
            out.append(f"Metric settings differ for {family} ({detail}): its scores may not be comparable.")
    for name, info in zip(names, (ia, ib), strict=True):
        if info.n_failed:
            out.append(f"{name}: {info.n_failed} failed item(s), excluded from every statistic.")
        if info.n_duplicates:
            out.append(
                f"{name}: {ROWS_FILE} has {info.n_duplicates} repeated item id(s); "
                "the last row of each is used."
            )
    return out
