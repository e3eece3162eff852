"""The held-out `test` split of the judge calibration set is frozen: the checker is reported on it and
must never be tuned on it, so the file may not change (its sha256 was recorded in test.sha256 when it
was committed, before any checker change made with the new data). `dev` is the split to study."""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.report.judge_eval import SECTIONS, load_calibration

ROOT = Path(__file__).parents[1]
CAL = ROOT / "datasets" / "judge_calibration"
# Written here as well as in test.sha256: changing the frozen split needs an edit of this test too.
FROZEN_TEST_SHA256 = "d9945d555d3136c0539e7f21c43d0bf43795bb3149d3ba8f4d02cb04398d8dc4"
ERROR_TYPES = {
    "none": "supported",
    "entity_swap": "contradicted",
    "number_change": "contradicted",
    "date_shift": "contradicted",
    "negation": "contradicted",
    "unsupported_addition": "not_in_source",
    "overgeneralization": "not_in_source",
}


def _rows(path: Path) -> list[dict]:
    return load_calibration(path)  # the harness's own reader: it also checks every line's fields


def test_test_split_is_frozen() -> None:
    digest = hashlib.sha256((CAL / "test.jsonl").read_bytes()).hexdigest()
    recorded = (CAL / "test.sha256").read_text(encoding="utf-8").split()[0]
    assert recorded == FROZEN_TEST_SHA256
    assert digest == FROZEN_TEST_SHA256, (
        "datasets/judge_calibration/test.jsonl changed: the test split is frozen"
    )


def test_test_split_shape() -> None:
    rows = _rows(CAL / "test.jsonl")
    assert len(rows) >= 200
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["source"] for r in rows}) >= 40
    for r in rows:
        assert ERROR_TYPES[r["error_type"]] == r["gold"], r["id"]
        assert r["section"] in SECTIONS, r["id"]
    assert {r["section"] for r in rows} == set(SECTIONS)


def test_dev_and_test_do_not_share_excerpts_or_ids() -> None:
    dev, test = _rows(CAL / "dev.jsonl"), _rows(CAL / "test.jsonl")
    assert not {r["id"] for r in dev} & {r["id"] for r in test}
    assert not {r["source"] for r in dev} & {r["source"] for r in test}
    assert len({r["source"] for r in dev} | {r["source"] for r in test}) >= 60
    assert len(dev) + len(test) >= 300
