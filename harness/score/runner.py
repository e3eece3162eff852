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

import contextlib
import logging
import os
import signal
import threading
import time
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
# How often a worker checks that the job's process is still there.
WATCH_PARENT_S = 0.5
# How much nicer than the job the workers run.
WORKER_NICE = 5

_WORKER_SCORERS: dict[str, Any] = {}


def _watch_parent(parent: int) -> None:
    """Exit when the job's process is gone (kill -9 leaves the workers waiting on their queue)."""
    while os.getppid() == parent:
        time.sleep(WATCH_PARENT_S)
    os._exit(0)


def _init_worker(metrics_cfg: Any, parent: int) -> None:
    """In a worker: build the poolable scorers from the metrics config; Ctrl-C is the parent's.

    `parent` is the job's pid as the job saw it: a job killed while this worker was still starting
    is already gone here (the worker then has another parent) and the watch exits at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Below the job in priority: the job's event loop keeps the requests going, the workers take
    # what CPU is left and catch up when generation ends.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    from harness.score import build_scorers

    for scorer in build_scorers(metrics_cfg):
        if poolable(scorer):
            _WORKER_SCORERS[scorer.name] = scorer
    # The first pair loads jieba's dictionary and the word lists (~3 s): done now, while the job
    # is still starting, rather than when the first batch arrives.
    warm = Item(
        id="warm", title="", url="", source="甲公司3月发布了模型A，参数量70亿。", reference=("发布模型A",)
    )
    for scorer in _WORKER_SCORERS.values():
        try:
            scorer.score([warm], [["甲公司发布了模型A，参数量70亿"]])
        except Exception:  # noqa: BLE001 - a scorer that fails here fails (and says so) on real pairs
            log.debug("scoring worker: warm-up of %s failed", scorer.name, exc_info=True)


def _ready() -> None:
    """A task that only makes the pool start a worker."""


def _score_in_worker(
    work: dict[str, list[int]], items: list[Item], candidates: list[list[str]]
) -> dict[str, list[MetricResult] | BaseException | None]:
    """Every scorer named in work on its items (indexes into items): results, or the exception."""
    out: dict[str, list[MetricResult] | BaseException | None] = {}
    for name, index in work.items():
        if name not in _WORKER_SCORERS:
            out[name] = None  # not built from the metrics config here: the parent scores it
            continue
        try:
            out[name] = _WORKER_SCORERS[name].score([items[i] for i in index], [candidates[i] for i in index])
        except Exception as exc:  # raised in the parent for this scorer alone, as if scored there
            out[name] = exc
    return out


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
        self._started: dict[str, Any] = {}  # the batch last started
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
                initargs=(self.metrics_cfg, os.getpid()),
            )
        return self._pool

    def warm(self) -> None:
        """Start the workers now: each loads its scorers' data while the job sends its first
        requests, so the first batch is scored at once."""
        pool = self._executor()
        if pool is None:
            return
        try:
            for _ in range(self.workers):
                pool.submit(_ready)
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            self._fail_pool(exc)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _fail_pool(self, exc: BaseException) -> None:
        # A worker died or could not start: score here from now on (the results are the same).
        log.warning("scoring workers unavailable (%s: %s); scoring in this process", type(exc).__name__, exc)
        self._pool_failed = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _lookup(
        self, scorer: Any, items: list[Item], candidates: list[list[str]]
    ) -> tuple[list[str] | None, list[MetricResult | None]]:
        """(cache keys or None when not cached, the cached result of each pair or None)."""
        inputs = cache_inputs(scorer)
        if self.cache is None or inputs is None or not items:
            return None, [None] * len(items)
        settings = settings_digest(scorer)
        keys = [
            score_key(settings, inputs, item, bullets)
            for item, bullets in zip(items, candidates, strict=True)
        ]
        found = self.cache.get_many(keys)
        return keys, [from_entry(found[k]) if k in found else None for k in keys]

    # -- a batch -------------------------------------------------------------------------------
    def start(
        self, scorers: Sequence[Any], items: Sequence[Item], candidates: Sequence[Sequence[str]]
    ) -> dict[str, Any]:
        """Look the batch up in the score cache and send what is missing, for every scorer that runs
        in workers, to the workers at once (the batch split in one task per worker). Returns the
        batch's handle for `score` (also kept as the current batch): batches started one after
        another queue in the workers, which go on to the next while this process writes rows.
        Without workers `score` does all the work itself."""
        started: dict[str, Any] = {}
        try:
            started = self._start(scorers, items, candidates)
        except Exception as exc:  # e.g. a lookup that failed: each scorer then works alone in score()
            log.warning("scoring: batch not sent to the workers (%s: %s)", type(exc).__name__, exc)
        self._started = started
        return started

    def _start(
        self, scorers: Sequence[Any], items: Sequence[Item], candidates: Sequence[Sequence[str]]
    ) -> dict[str, Any]:
        pool = self._executor()
        if pool is None or not items:
            return {}
        items, candidates = list(items), [list(c) for c in candidates]
        plans = {}
        for scorer in scorers:
            if poolable(scorer):
                keys, found = self._lookup(scorer, items, candidates)
                plans[scorer.name] = (keys, found, [i for i, r in enumerate(found) if r is None])
        wanted = sorted({i for _, _, todo in plans.values() for i in todo})
        n = min(self.workers, len(wanted))
        futures = []
        try:
            for k in range(n):
                chunk = wanted[len(wanted) * k // n : len(wanted) * (k + 1) // n]
                where = {i: j for j, i in enumerate(chunk)}
                work = {name: [where[i] for i in todo if i in where] for name, (_, _, todo) in plans.items()}
                work = {name: index for name, index in work.items() if index}
                chunk_items, chunk_cands = [items[i] for i in chunk], [candidates[i] for i in chunk]
                futures.append((chunk, work, pool.submit(_score_in_worker, work, chunk_items, chunk_cands)))
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            self._fail_pool(exc)
            return {}
        return {"items": items, "plans": plans, "futures": futures}

    def _collect(
        self, scorer: Any, items: list[Item], started: dict[str, Any]
    ) -> tuple[list[str] | None, list[Any], list[int]] | None:
        """The started batch's results of scorer (None where neither cached nor computed) and the
        pairs the workers computed; None when the batch was not started there for this scorer."""
        if scorer.name not in started.get("plans", {}) or started["items"] != items:
            return None
        keys, found, todo = started["plans"].pop(scorer.name)
        results = list(found)
        try:
            for chunk, work, future in started["futures"]:
                if scorer.name not in work:
                    continue
                got = future.result()[scorer.name]
                if got is None:
                    return keys, found, []  # unknown to the workers: computed here
                if isinstance(got, BaseException):
                    raise got
                for j, result in zip(work[scorer.name], got, strict=True):
                    results[chunk[j]] = result
        except (BrokenProcessPool, OSError) as exc:
            self._fail_pool(exc)
            return keys, found, []  # the rest is computed here
        return keys, results, todo

    def score(
        self,
        scorer: Any,
        items: Sequence[Item],
        candidates: Sequence[Sequence[str]],
        started: dict[str, Any] | None = None,
    ) -> list[MetricResult]:
        """What `scorer.score(items, candidates)` returns, from the cache, the workers or here.
        `started`: the handle `start` returned for this batch (default: the last batch started)."""
        items, candidates = list(items), [list(c) for c in candidates]
        collected = self._collect(scorer, items, self._started if started is None else started)
        keys, results, computed = (
            collected if collected is not None else (*self._lookup(scorer, items, candidates), [])
        )
        here = [i for i, r in enumerate(results) if r is None]
        if here:
            fresh = scorer.score([items[i] for i in here], [candidates[i] for i in here])
            for i, result in zip(here, fresh, strict=True):
                results[i] = result
        computed = sorted({*computed, *here})
        if keys is not None and self.cache is not None and computed:
            self.cache.put_many(scorer.name, {keys[i]: to_entry(results[i]) for i in computed})
        self.computed[scorer.name] = self.computed.get(scorer.name, 0) + len(computed)
        if keys is not None:
            self.cached[scorer.name] = self.cached.get(scorer.name, 0) + len(items) - len(computed)
        return results

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
