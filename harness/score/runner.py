"""How a job runs its scorers: through the score cache, and in worker processes when asked.

`ScoreRunner.score(scorer, items, candidates)` returns what `scorer.score` would, in order:

- entries of the score cache (harness/score/cache.py) for the pairs scored before with the same
  settings; only the other pairs are computed, and their results recorded;
- computed in worker processes (`score_workers`) for the scorers that run there (pure CPU work, no
  model: ROUGE, facts, format, compression, which declare `cache_inputs`). Generation is
  network-bound on the event loop and holds the GIL: scoring in a thread of the same process slows
  both, while a worker scores on another core as the answers arrive. A batch is split across the
  workers. The scorers there are built from the same metrics config; a worker that dies (or a
  pool that cannot start) makes the batch be computed here instead, so a result is never lost.

`counts` says what was computed and what came from the cache, per metric (summary.json: `scoring`).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from harness.data.schema import Item
from harness.score.base import MetricResult
from harness.score.cache import ScoreCache, cache_inputs, from_entry, score_key, settings_digest, to_entry

log = logging.getLogger("harness")

# `score_workers: null` (auto) starts workers only for jobs with at least this many items to score:
# a worker takes a second or two to start (imports, jieba's dictionary).
AUTO_MIN_ITEMS = 200
AUTO_MAX_WORKERS = 4

_WORKER_SCORERS: dict[str, Any] = {}


def _init_worker(metrics_cfg: Any) -> None:
    """In a worker: build the poolable scorers from the metrics config; Ctrl-C is the parent's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from harness.score import build_scorers

    for scorer in build_scorers(metrics_cfg):
        if poolable(scorer):
            _WORKER_SCORERS[scorer.name] = scorer


def _score_in_worker(name: str, items: list[Item], candidates: list[list[str]]) -> list[MetricResult]:
    return _WORKER_SCORERS[name].score(items, candidates)


def poolable(scorer: Any) -> bool:
    """Scorers computed in workers: deterministic, local, no model (those that declare cache inputs,
    BERTScore aside, which holds a model and batches on its own)."""
    return cache_inputs(scorer) is not None and getattr(scorer, "in_workers", True)


def auto_workers(n_items: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or n_items < AUTO_MIN_ITEMS:
        return 0
    return min(cores, AUTO_MAX_WORKERS)


class ScoreRunner:
    """Runs scorers for one job: score cache first, then workers (or this process) for the rest."""

    def __init__(self, cache: ScoreCache | None, metrics_cfg: Any = None, workers: int = 0):
        self.cache = cache if cache is not None and cache.mode != "off" else None
        self.metrics_cfg = metrics_cfg
        self.workers = workers if metrics_cfg is not None else 0
        self._pool: Executor | None = None
        self._pool_failed = False
        self.computed: dict[str, int] = {}
        self.cached: dict[str, int] = {}

    # -- the pool ------------------------------------------------------------------------------
    def _executor(self) -> Executor | None:
        if self.workers < 1 or self._pool_failed:
            return None
        if self._pool is None:
            import multiprocessing

            # spawn: the job's process has threads (event loop, scoring, litellm), which fork copies badly.
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.metrics_cfg,),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _compute(self, scorer: Any, items: list[Item], candidates: list[list[str]]) -> list[MetricResult]:
        pool = self._executor() if poolable(scorer) else None
        if pool is None or not items:
            return scorer.score(items, candidates)
        n = min(self.workers, len(items))
        bounds = [len(items) * k // n for k in range(n + 1)]
        try:
            futures = [
                pool.submit(_score_in_worker, scorer.name, items[a:b], candidates[a:b])
                for a, b in zip(bounds, bounds[1:], strict=False)
            ]
            return [result for future in futures for result in future.result()]
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            # A worker died or could not start: score here from now on (the results are the same).
            log.warning(
                "scoring workers unavailable (%s: %s); scoring in this process", type(exc).__name__, exc
            )
            self._pool_failed = True
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            return scorer.score(items, candidates)

    # -- one scorer, one batch -----------------------------------------------------------------
    def score(
        self, scorer: Any, items: Sequence[Item], candidates: Sequence[Sequence[str]]
    ) -> list[MetricResult]:
        items, candidates = list(items), [list(c) for c in candidates]
        inputs = cache_inputs(scorer)
        if self.cache is None or inputs is None or not items:
            results = self._compute(scorer, items, candidates)
            self.computed[scorer.name] = self.computed.get(scorer.name, 0) + len(items)
            return results
        settings = settings_digest(scorer)
        keys = [
            score_key(settings, inputs, item, bullets)
            for item, bullets in zip(items, candidates, strict=True)
        ]
        found = self.cache.get_many(keys)
        results: list[MetricResult | None] = [None] * len(items)
        todo = []
        for i, key in enumerate(keys):
            entry = found.get(key)
            result = from_entry(entry) if entry is not None else None
            if result is None:
                todo.append(i)
            results[i] = result
        if todo:
            computed = self._compute(scorer, [items[i] for i in todo], [candidates[i] for i in todo])
            fresh = {}
            for i, result in zip(todo, computed, strict=True):
                results[i] = result
                fresh[keys[i]] = to_entry(result)
            self.cache.put_many(scorer.name, fresh)
        self.computed[scorer.name] = self.computed.get(scorer.name, 0) + len(todo)
        self.cached[scorer.name] = self.cached.get(scorer.name, 0) + len(items) - len(todo)
        return [r for r in results if r is not None]

    def counts(self) -> dict[str, Any]:
        """Pairs computed and pairs taken from the score cache, per metric, and the workers used."""
        return {
            "computed": dict(self.computed),
            "cached": dict(self.cached),
            "workers": 0 if self._pool_failed else self.workers,
            "score_cache": None
            if self.cache is None
            else {"path": str(self.cache.path), "mode": self.cache.mode},
        }
