"""House-style checks of a 要点解析 digest: bullet count, bullet length, Chinese share.

Deterministic, no reference needed. Per item:

- format_bullet_count_ok: 1.0 when the digest has exactly `n_bullets` non-blank bullets, else 0.0;
- format_length_ok_rate: share of bullets whose length is within [min_chars, max_chars]; length is
  counted in characters excluding whitespace (punctuation counts; "GPT-4" is 5 characters);
- format_chinese_share: CJK ideographs / (letters + digits + CJK ideographs) over all bullets, after
  NFKC (full-width letters and digits count as Latin ones); punctuation and spaces do not count;
- format_ok: 1.0 when the count is right, every bullet's length is in the window and the Chinese
  share is at least `min_chinese_share`, else 0.0.

Blank bullets are ignored; a digest with no non-blank bullet scores 0.0 everywhere with the flag
"empty_output". Evidence: each bullet's length.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from harness.data.schema import Item
from harness.score.base import MetricResult, score_each
from harness.score.registry import Column, Metric, register
from harness.text import char_count

METRIC_VERSION = "format/1"
VALUE_KEYS = ("format_bullet_count_ok", "format_length_ok_rate", "format_chinese_share", "format_ok")

# CJK Unified Ideographs, Extension A, Compatibility Ideographs, Extensions B-F and beyond.
_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)


def is_cjk(ch: str) -> bool:
    """A CJK ideograph (汉字)."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def bullet_length(text: str) -> int:
    """Characters excluding whitespace."""
    return char_count(text)


def chinese_share(texts: Sequence[str]) -> float:
    """CJK ideographs among letters, digits and ideographs (NFKC); 0.0 when there are none."""
    cjk = total = 0
    for text in texts:
        for ch in unicodedata.normalize("NFKC", text):
            if is_cjk(ch):
                cjk += 1
                total += 1
            elif ch.isalnum():
                total += 1
    return cjk / total if total else 0.0


class FormatScorer:
    """Bullet count, bullet length window and Chinese share of a generated digest."""

    name = "format"
    # No Item field: the numbers depend on the bullets and the settings only (score cache).
    cache_inputs = ()

    def __init__(
        self,
        n_bullets: int = 3,
        min_chars: int = 40,
        max_chars: int = 200,
        min_chinese_share: float = 0.5,
    ) -> None:
        if n_bullets < 1:
            raise ValueError(f"metrics.format.n_bullets must be at least 1, got {n_bullets}")
        if not 0 <= min_chars <= max_chars:
            raise ValueError(
                f"metrics.format: need 0 <= min_chars <= max_chars, got min_chars={min_chars}, "
                f"max_chars={max_chars}"
            )
        if not 0.0 <= min_chinese_share <= 1.0:
            raise ValueError(f"metrics.format.min_chinese_share must be in [0, 1], got {min_chinese_share}")
        self.n_bullets = n_bullets
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.min_chinese_share = min_chinese_share

    def meta(self) -> dict[str, Any]:
        """Everything that determines the numbers."""
        return {
            "n_bullets": self.n_bullets,
            "min_chars": self.min_chars,
            "max_chars": self.max_chars,
            "min_chinese_share": self.min_chinese_share,
            "length": "characters excluding whitespace, window inclusive",
            "chinese_share": "CJK ideographs / (letters + digits + CJK ideographs), NFKC",
            "blank_bullets": "ignored",
            "empty_output": "all values 0.0",
            "metric_version": METRIC_VERSION,
        }

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        """Score each candidate (a list of generated bullets); items are only checked for length."""
        return score_each(items, candidates, self._score_one)

    def _score_one(self, item: Item, bullets: Sequence[str]) -> MetricResult:
        kept = [b for b in bullets if b and b.strip()]
        lengths = [bullet_length(b) for b in kept]
        evidence: dict[str, Any] = {"bullet_lengths": lengths}
        if not kept:
            return MetricResult(
                values=dict.fromkeys(VALUE_KEYS, 0.0), flags=["empty_output"], evidence=evidence
            )
        count_ok = len(kept) == self.n_bullets
        in_window = [self.min_chars <= n <= self.max_chars for n in lengths]
        share = chinese_share(kept)
        ok = count_ok and all(in_window) and share >= self.min_chinese_share
        values = {
            "format_bullet_count_ok": 1.0 if count_ok else 0.0,
            "format_length_ok_rate": sum(in_window) / len(in_window),
            "format_chinese_share": share,
            "format_ok": 1.0 if ok else 0.0,
        }
        return MetricResult(values=values, flags=[], evidence=evidence)


def _build(options: Any) -> FormatScorer | None:
    if not options.enabled:
        return None
    return FormatScorer(n_bullets=options.n_bullets, min_chars=options.min_chars,
                        max_chars=options.max_chars, min_chinese_share=options.min_chinese_share)  # fmt: skip


METRIC = register(
    Metric(
        name="format",
        description="house style: bullet count, bullet length window, Chinese share",
        needs_reference=False,
        order=50,
        version=METRIC_VERSION,
        build=_build,
        columns=(
            Column("format_bullet_count_ok", "bullet count ok"),
            Column("format_length_ok_rate", "bullet length ok"),
            Column("format_chinese_share", "Chinese share"),
            Column("format_ok", "format ok", headline=True),
        ),
    )
)
