"""The score cache: a metric's result for an unchanged (candidate, item inputs, settings) is computed once.

A re-run of a sweep whose generations come from the response cache, or a rebuild after adding one
metric, then computes only what changed. One SQLite file (`cache.score_path`, by default
`results/cache/scores.sqlite`, next to the response cache), built on the response cache's store
(`harness.llm.cache.ResponseCache`: WAL, busy timeout, storage faults as clear errors, a damaged
entry read as a miss) with a table of its own.

What is cached: a scorer opts in by declaring `cache_inputs`, the Item fields its numbers depend on
(ROUGE: the reference; facts: title, date, source; format: none; compression: the source). A scorer
that does not declare them is never cached: the LLM judge (not deterministic; its model calls are
in the response cache already), BERTScore (its numbers depend on the model files resolved when it
loads), and metrics added under `metrics.extra` until they declare theirs.

The key (`score_key`) is a sha256 of the metric's name, its declared version, its `meta()` (every
setting that changes numbers: tokenizer, variants, thresholds, library versions), a hash of the
scoring code and word lists (`code_digest`: an edited metric never gets its old results), the
candidate's bullets and the declared inputs. The cached value is the MetricResult (values, flags, evidence) as
JSON, so a row is the same whether its scores were cached or computed.

Modes (`cache.score_mode`): readwrite (default), read (use entries, write none), off (no file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.config import SCORE_CACHE_MODES
from harness.data.schema import Item
from harness.llm.cache import ResponseCache, _normalise
from harness.score.base import MetricResult

log = logging.getLogger(__name__)

# Bump when the composition of `score_key` changes: old entries then simply stop matching.
KEY_VERSION = 1


class ScoreCache(ResponseCache):
    """Metric results keyed by `score_key`; `get_many` / `put_many` work a batch at a time."""

    LABEL = "score cache"
    TABLE = "scores"
    PATH_KEY = "cache.score_path"
    MODE_KEY = "cache.score_mode"
    MODES = SCORE_CACHE_MODES

    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The entries found among keys (a missing or unreadable one is absent: a miss)."""
        if self.mode == "off":
            return {}
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            conn = self._connection()
            if conn is not None:
                for start in range(0, len(unique), 500):  # SQLite's limit on bound parameters
                    chunk = unique[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    try:
                        rows = conn.execute(
                            f"SELECT key, value FROM {self.TABLE} WHERE key IN ({marks})", chunk
                        ).fetchall()
                    except sqlite3.DatabaseError as exc:
                        if not _busy(exc):
                            # A damaged page: these entries are computed again.
                            log.warning(
                                "%s %s: entries unreadable (%s), computed again", self.LABEL, self.path, exc
                            )
                            continue
                        raise
                    for key, text in rows:
                        try:
                            value = json.loads(text)
                        except json.JSONDecodeError:
                            continue
                        if isinstance(value, dict):
                            found[key] = value
            self._hits += len(found)
            self._misses += len(unique) - len(found)
        return found

    def put_many(self, metric: str, entries: Mapping[str, dict[str, Any]]) -> bool:
        """Record entries in one transaction if the mode writes; False (logged) when the file cannot
        take them (full disk, lock held too long): scores are computed again next time, no run fails."""
        if self.mode != "readwrite" or not entries:
            return False
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            rows = [
                (key, "score", metric, created_at, json.dumps(value, ensure_ascii=False, sort_keys=True))
                for key, value in entries.items()
            ]
        except (TypeError, ValueError) as exc:  # evidence that is no JSON: not cached, still scored
            log.warning("%s: %s results not recorded (%s)", self.LABEL, metric, exc)
            return False
        with self._lock:
            conn = self._connection()
            if conn is None:
                return False
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    f"INSERT INTO {self.TABLE} (key, kind, model, created_at, value) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET created_at = excluded.created_at, value = excluded.value",
                    rows,
                )
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                log.warning(
                    "%s %s: could not record %d %s scores (%s)", self.LABEL, self.path, len(rows), metric, exc
                )
                return False
            self._writes += len(rows)
        return True


def _busy(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def cache_inputs(scorer: Any) -> tuple[str, ...] | None:
    """The Item fields a scorer's numbers depend on, or None when it is not cached."""
    inputs = getattr(scorer, "cache_inputs", None)
    return None if inputs is None else tuple(inputs)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Hash of the scoring code and its word lists (harness/score/**, tokenize.py, text.py): an edit
    to a metric that forgot to bump its version still never serves results of the old code."""
    import harness

    root = Path(harness.__file__).resolve().parent
    files = sorted(
        p
        for p in (root / "score").rglob("*")
        if p.is_file() and p.suffix in (".py", ".txt", ".tsv", ".json") and "__pycache__" not in p.parts
    )
    files += [root / "tokenize.py", root / "text.py"]
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def settings_digest(scorer: Any) -> str:
    """Hash of the metric's name, declared version, `meta()` and the scoring code: one per batch."""
    from harness.score import registry

    declared = registry.metric(scorer.name)
    payload = {
        "v": KEY_VERSION,
        "metric": scorer.name,
        "version": declared.version if declared is not None else None,
        "meta": _normalise(scorer.meta()),
        "code": code_digest(),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def score_key(settings: str, inputs: Sequence[str], item: Item, bullets: Sequence[str]) -> str:
    """Key of one (metric settings, item inputs, candidate) triple."""
    payload = {
        "settings": settings,
        "candidate": list(bullets),
        "inputs": {name: _normalise(getattr(item, name)) for name in inputs},
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def to_entry(result: MetricResult) -> dict[str, Any]:
    return {"values": result.values, "flags": list(result.flags), "evidence": result.evidence}


def from_entry(entry: dict[str, Any]) -> MetricResult | None:
    values = entry.get("values")
    if not isinstance(values, dict):
        return None
    return MetricResult(
        values=dict(values), flags=list(entry.get("flags") or []), evidence=dict(entry.get("evidence") or {})
    )
