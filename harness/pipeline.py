"""One evaluation job: dataset -> generate (litellm) -> parse -> score -> rows -> leaderboard."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from harness.config import ConfigError, HarnessConfig, check_values, judge_max_tokens, project_path
from harness.data.load import dataset_fingerprint, load_items
from harness.data.schema import Item
from harness.errors import BudgetStop, FailureLimitStop, ReplayMiss, RunStopped
from harness.generate.parse import parse_bullets
from harness.llm.cache import CacheMiss
from harness.llm.client import (
    Budget,
    BudgetExhausted,
    Completion,
    Provider,
    completion_record,
    import_litellm,
    is_baseline,
    preflight,
    price_per_token,
)
from harness.llm.fit import ContextFit
from harness.llm.prompts import prompt_record, render_messages
from harness.report.aggregate import summarize
from harness.results.reader import (
    carried_spend,
    claim_resumable,
    find_resumable,
    read_generations,
    read_jsonl,
    read_manifest,
)
from harness.results.records import (
    DatasetRef,
    GenerationInfo,
    JudgeRef,
    ModelRef,
    PromptRef,
    ResultRow,
    RunIdentity,
)
from harness.results.store import ROWS_FILE, RUN_FILE, RunStore
from harness.score import MetricUnavailable, Scorer, build_scorers
from harness.score.cache import ScoreCache
from harness.score.runner import ScoreRunner, auto_workers, poolable

log = logging.getLogger("harness")
# Items started ahead of the model's concurrency (queued in its rate limiter): see _generate_and_score.
WINDOW_PER_SLOT = 4
WINDOW_MIN = 32
# Scoring batches started (sent to the scoring workers) before the loop waits for their rows.
MAX_BATCHES_IN_FLIGHT = 8
# Reasons a metric was unavailable already logged by this process (a sweep runs jobs in one process).
_REPORTED_UNAVAILABLE: set[str] = set()


def _stop_for(exc: BudgetExhausted | CacheMiss) -> RunStopped:
    """The typed stop for a signal raised by a model call (generation or judge)."""
    if isinstance(exc, BudgetExhausted):
        return BudgetStop(f"budget: {exc}")
    return ReplayMiss(str(exc))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _paid_generation(record: dict[str, Any] | None) -> float:
    """USD a generation cost when it was made (0 for a cache hit or an unknown price)."""
    if not record or record.get("cache_hit"):
        return 0.0
    cost = record.get("cost_usd")
    return float(cost) if isinstance(cost, (int, float)) else 0.0


def _paid_row(row: dict[str, Any]) -> float:
    """USD a carried row's calls cost when made (for runs from before spend.jsonl)."""
    return _paid_generation(row.get("generation")) + _paid_judge(row)


def _paid_judge(row: dict[str, Any]) -> float:
    usage = ((row.get("evidence") or {}).get("judge") or {}).get("usage") or {}
    cost = usage.get("paid_usd", usage.get("cost_usd"))  # rows from before paid_usd: cached calls too
    return float(cost) if isinstance(cost, (int, float)) else 0.0


def check_job_config(cfg: HarnessConfig, model_choice: str | None = None) -> None:
    """Raise ConfigError for what would stop a job before its first call: a missing API key (of the
    model or the judge), an unknown provider, a budget without prices, bad option values."""
    check_values(cfg)
    replay = cfg.cache.mode == "replay"  # replays recorded responses: no key needed, no call made
    if not replay:
        preflight(cfg.model, model_choice)
    if cfg.budget_usd is not None and price_per_token(import_litellm(), cfg.model) is None:
        raise ConfigError(
            f"budget_usd is set but litellm has no price for '{cfg.model.litellm_model}': set "
            "model.input_cost_per_token and model.output_cost_per_token"
        )
    if cfg.judge.enabled:
        if cfg.judge.model is None:
            raise ConfigError("judge.enabled=true needs judge.model (e.g. judge=local or judge=openai)")
        if not replay:
            preflight(cfg.judge.model, None)


@dataclass(frozen=True)
class _StartedBatch:
    """A batch parsed and sent to the scoring workers, waiting for its rows to be written."""

    parsed: dict[str, tuple[list[str], list[str]]]
    ok: list[tuple[Item, list[str]]]
    started: dict[str, Any]


class Job:
    """Evaluates one (dataset, model, prompt) and writes its run directory."""

    def __init__(self, cfg: HarnessConfig, run_dir: Path, run_id: str, model_choice: str | None = None):
        from harness.llm.cache import ResponseCache

        self.cfg = cfg
        self.run_id = run_id
        self.run_dir = run_dir
        # Everything that can fail on the user's input is checked here, before any call or write.
        check_job_config(cfg, model_choice)
        self.items = load_items(cfg.dataset)
        self.fingerprint = dataset_fingerprint(self.items)
        try:
            self.cache = ResponseCache(project_path(cfg.cache.path), cfg.cache.mode)
            score_cache = ScoreCache(project_path(cfg.cache.score_path), cfg.cache.score_mode)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self.store = RunStore(run_dir)
        # Every paid response is on disk (spend.jsonl) as it is paid: budgets hold across resumes.
        self.budget = Budget(cfg.budget_usd, ledger=self.store.append_spend)
        self.carried_cost_usd = 0.0  # paid by interrupted attempts this run resumes (_carry_over)
        self.unavailable: dict[str, str] = {}
        self.warnings: list[str] = []
        self.scorers: list[Scorer] = build_scorers(cfg.metrics, self._judge())
        for scorer in self.scorers:
            prepare = getattr(scorer, "prepare", None)  # optional: corpus statistics such as idf
            if prepare is not None:
                prepare(self.items)
        workers = auto_workers(len(self.items)) if cfg.score_workers is None else cfg.score_workers
        if not any(poolable(s) for s in self.scorers):
            workers = 0  # nothing for workers to do
        # The score cache and the scoring workers (harness/score/runner.py).
        self.scoring = ScoreRunner(score_cache, cfg.metrics, workers)
        self.rows: list[dict[str, Any]] = []
        self.identity = RunIdentity(
            run_id=run_id,
            dataset=DatasetRef(cfg.dataset.name, self.fingerprint, cfg.dataset.split, cfg.dataset.limit),
            model=ModelRef(
                name=cfg.model.name,
                litellm_model=cfg.model.litellm_model,
                api_base=cfg.model.api_base,
                params=dict(cfg.model.params),
                uses_reference=cfg.model.uses_reference,
            ),
            prompt=PromptRef(**prompt_record(cfg.prompt)),
            seed=cfg.seed,
            judge=self._judge_ref(),
        )
        self.common = self.identity.to_json()
        self.run_key = self._run_key()
        # Unfinished runs of this job, oldest first; `previous` is the one this run continues.
        # Each is claimed first: of two jobs of the same run_key started together, one continues it.
        self.unfinished = (
            claim_resumable(
                run_dir.parents[1],
                find_resumable(run_dir.parents[1], self.run_key, exclude=run_dir),
                str(run_dir.relative_to(run_dir.parents[1])),
            )
            if cfg.resume == "auto"
            else []
        )
        self.previous = self.unfinished[-1] if self.unfinished else None

    def _judge(self) -> Any:
        """The LLM judge scorer, sharing the run's response cache (kind "judge") and budget."""
        if not self.cfg.judge.enabled or self.cfg.judge.model is None:
            self.unavailable["judge"] = (
                "no LLM judge configured (judge=none): run with judge=<model>, e.g. judge=openai or "
                "judge=local judge.model.api_base=http://127.0.0.1:PORT/v1"
            )
            return None
        from harness.score.judge import self_preference_warning

        warning = self_preference_warning(self.cfg.judge.model.litellm_model, self.cfg.model.litellm_model)
        if warning:
            log.warning(warning)
            self.warnings.append(warning)
        return make_judge(self.cfg, self.cache, self.budget)

    def _judge_ref(self) -> JudgeRef | None:
        judge = self.cfg.judge
        if not judge.enabled or judge.model is None:
            return None
        prompts = {}
        for kind, path in (("claims", judge.claims_prompt), ("coverage", judge.coverage_prompt)):
            from harness.score.judge import load_judge_prompt

            try:
                record = load_judge_prompt(project_path(path)).record()
                prompts[kind] = f"{record['id']}@{record['version']}#{record['hash']}"
            except ConfigError:
                prompts[kind] = str(path)
        return JudgeRef(
            name=judge.model.name,
            model=judge.model.litellm_model,
            params=dict(judge.model.params) | {"max_tokens": judge_max_tokens(judge)},
            prompts=prompts,
        )

    def _run_key(self) -> str:
        """Identity of the job for resuming: same data, model, prompt, seed and metric settings."""
        basis = {
            **{k: self.common[k] for k in ("dataset", "model", "prompt", "seed", "judge")},
            "metrics": OmegaConf.to_container(OmegaConf.structured(self.cfg.metrics)),
            "items": [i.id for i in self.items],
        }
        return hashlib.sha256(json.dumps(basis, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]

    # -- manifest ---------------------------------------------------------------------------
    def manifest(self, status: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.common,
            "run_key": self.run_key,
            "status": status,
            "n_items": len(self.items),
            "metrics": {s.name: s.meta() for s in self.scorers},
            "unavailable": self.unavailable,
            "warnings": self.warnings,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            **extra,
        }

    # -- resume -----------------------------------------------------------------------------
    def _carry_over(self) -> tuple[set[str], dict[str, Completion]]:
        """Rows and generations of the interrupted run this one continues.

        Scored rows are copied (marked `resumed_from`); successful generations without a row are
        scored without calling the model again. Failed items are tried again."""
        if self.previous is None:
            return set(), {}
        runs_dir = self.run_dir.parents[1]
        prev_id = str(self.previous.relative_to(runs_dir))
        wanted = {i.id for i in self.items}
        done: set[str] = set()
        generated: dict[str, Completion] = {}
        generation_records: dict[str, dict[str, Any]] = {}
        # Newest first: a later attempt's result for an item wins over an earlier one.
        for previous in reversed(self.unfinished):
            source_id = str(previous.relative_to(runs_dir))
            for row in read_jsonl(previous / ROWS_FILE):  # file order: the newest attempt wins below
                if row.get("item_id") in wanted and not row.get("error") and row["item_id"] not in done:
                    done.add(row["item_id"])
                    origin = row.get("resumed_from") or source_id
                    self.rows.append({**row, "run_id": self.run_id, "resumed_from": origin})
            for record in read_generations(previous):
                item_id = record.get("item_id")
                if item_id in wanted and item_id not in generation_records and record.get("text") is not None:
                    generation_records[item_id] = {
                        **record,
                        "resumed_from": record.get("resumed_from") or source_id,
                    }
        for item_id, record in generation_records.items():
            if item_id in done:
                continue
            fields = {k: v for k, v in record.items() if k in Completion.__dataclass_fields__}
            generated[item_id] = Completion(**fields)
            # Copied into this run too, so a kill before they are scored still finds them here.
            self.store.append_generation(record)
        self.store.append_rows(self.rows)
        # What the carried results cost when they were made counts against this run's budget, so
        # re-running a command stopped by budget_usd does not spend the budget a second time.
        # The spend ledgers count every paid response, also those that never became a row (a kill
        # while a batch was being judged; replies that then sit in the cache as free hits).
        carried_cost = carried_spend(self.unfinished, runs_dir, self._paid_from_rows)
        self.store.append_spend(
            {"carried_usd": carried_cost, "covers": [str(p.relative_to(runs_dir)) for p in self.unfinished]}
        )
        self.budget.spent += carried_cost
        self.carried_cost_usd = carried_cost
        from harness.results.store import write_json_atomic

        # Superseded only once everything is copied: a kill during the copy leaves them resumable.
        for previous in self.unfinished:
            manifest = read_manifest(previous)
            manifest.update(status="superseded", superseded_by=self.run_id)
            write_json_atomic(previous / RUN_FILE, manifest)
        log.info(
            "resuming %s: %d rows carried over, %d generations to score, %d items to generate",
            prev_id,
            len(done),
            len(generated),
            len(wanted) - len(done) - len(generated),
        )
        return done, generated

    @staticmethod
    def _paid_from_rows(run_dir: Path) -> float:
        """Spend of an attempt written before spend ledgers existed: its rows and generations."""
        rows = read_jsonl(run_dir / ROWS_FILE)
        with_row = {r.get("item_id") for r in rows}
        spent = sum(_paid_row(r) for r in rows)
        return spent + sum(
            _paid_generation(g) for g in read_generations(run_dir) if g.get("item_id") not in with_row
        )

    # -- context window ---------------------------------------------------------------------
    def _messages(self, item: Item, fit: ContextFit) -> tuple[list[dict[str, str]], dict | None]:
        """The prompt for an item, with the article cut from the end when it would not fit the
        model's context (harness/llm/fit.py; recorded in the row, flag `source_truncated`)."""
        prompt = self.cfg.prompt
        return fit.fit(lambda source: render_messages(prompt, replace(item, source=source)), item.source)

    # -- scoring ----------------------------------------------------------------------------
    def _start_batch(self, batch: Sequence[tuple[Item, Completion, dict | None]]) -> _StartedBatch:
        """Parse finished generations, look them up in the score cache and send the rest to the
        scoring workers (score_workers), which start on it at once."""
        parsed = {}
        for item, comp, _ in batch:
            p = parse_bullets(comp.text) if comp.ok else None
            parsed[item.id] = (list(p.bullets) if p else [], list(p.flags) if p else [])
        ok = [(item, parsed[item.id][0]) for item, comp, _ in batch if comp.ok]
        active = [s for s in self.scorers if s.name not in self.unavailable]
        started = self.scoring.start(active, [i for i, _ in ok], [b for _, b in ok])
        return _StartedBatch(parsed, ok, started)

    def _score_batch(
        self, batch: Sequence[tuple[Item, Completion, dict | None]], ready: _StartedBatch | None = None
    ) -> None:
        """Score finished generations (started by `_start_batch`, or here), then append their rows
        (in a worker thread)."""
        ready = ready or self._start_batch(batch)
        parsed, ok = ready.parsed, ready.ok
        per_item: dict[str, dict[str, Any]] = {
            item.id: {"scores": {}, "flags": [], "evidence": {}, "metric_errors": {}} for item, *_ in batch
        }
        for scorer in self.scorers:
            if scorer.name in self.unavailable or not ok:
                continue
            try:
                results = self.scoring.score(scorer, [i for i, _ in ok], [b for _, b in ok], ready.started)
            except (BudgetExhausted, CacheMiss):  # stops: the run ends cleanly, with a message
                raise
            except MetricUnavailable as exc:
                self.unavailable[scorer.name] = str(exc)
                if str(exc) in _REPORTED_UNAVAILABLE:  # the jobs of a sweep: say it in full once
                    log.warning("metric '%s' unavailable for this run (the reason is above)", scorer.name)
                else:
                    _REPORTED_UNAVAILABLE.add(str(exc))
                    log.warning("metric '%s' unavailable for this run: %s", scorer.name, exc)
                continue
            except Exception as exc:  # a scorer bug must not lose the finished generations
                log.exception("metric '%s' failed on a batch", scorer.name)
                for item, _ in ok:
                    per_item[item.id]["metric_errors"][scorer.name] = f"{type(exc).__name__}: {exc}"
                continue
            for (item, _), result in zip(ok, results, strict=True):
                slot = per_item[item.id]
                slot["scores"].update(result.values)
                slot["flags"].extend(result.flags)
                if result.evidence:
                    slot["evidence"][scorer.name] = result.evidence
        rows = []
        for item, comp, truncation in batch:
            slot = per_item[item.id]
            bullets, parse_flags = parsed[item.id]
            flags = parse_flags + (["source_truncated"] if truncation else []) + slot["flags"]
            row = ResultRow(
                identity=self.identity,
                item_id=item.id,
                generation=GenerationInfo(
                    raw=comp.text,
                    bullets=bullets,
                    parse_flags=parse_flags,
                    latency_s=round(comp.latency_s, 4),
                    elapsed_s=None if comp.elapsed_s is None else round(comp.elapsed_s, 4),
                    prompt_tokens=comp.prompt_tokens,
                    completion_tokens=comp.completion_tokens,
                    cost_usd=comp.cost_usd,
                    cache_hit=comp.cache_hit,
                    attempts=comp.attempts,
                    finish_reason=comp.finish_reason,
                    response_model=comp.response_model,
                    source_truncation=truncation,
                ),
                error=None
                if comp.ok
                else {"type": comp.error_type, "class": comp.error_class, "message": comp.error_message},
                scores=slot["scores"],
                flags=flags,
                metrics={s.name: s.meta() for s in self.scorers if s.name not in self.unavailable},
                unavailable=dict(self.unavailable),
                metric_errors=slot["metric_errors"],
                evidence=slot["evidence"],
                finished_at=_now(),
            )
            rows.append(row.to_json())
        self.store.append_rows(rows)
        self.rows.extend(rows)

    # -- generation -------------------------------------------------------------------------
    async def _generate_and_score(self) -> None:
        done, generated = self._carry_over()
        todo = [i for i in self.items if i.id not in done]
        if todo:
            self.scoring.warm()
        provider = Provider(self.cfg.model, cache=self.cache, budget=self.budget, seed=self.cfg.seed)
        fit = ContextFit.for_model(provider.litellm, self.cfg.model)
        baseline = is_baseline(self.cfg.model)
        n_bullets = self.cfg.prompt.n_bullets  # one setting: prompt, baselines and (by default) format
        if baseline:
            from harness.generate.baselines import baseline_kwargs

        async def one(item: Item) -> tuple[Item, Completion, dict | None]:
            messages, truncation = self._messages(item, fit)
            extra = baseline_kwargs(item.source, item.reference, n=n_bullets) if baseline else None
            return item, await provider.complete(messages, extra, item_id=item.id), truncation

        pending: list[tuple[Item, Completion, dict | None]] = []
        scoring: asyncio.Future[None] | None = None  # the last batch started; it awaits the one before
        in_flight = 0
        # Items start as earlier ones finish, at most `window` at a time (queued in the rate
        # limiter's FIFO, in dataset order, as before): a prompt is rendered when its item starts,
        # so memory does not grow with the dataset and the first requests go out at once. An item
        # starts when another finishes (a done callback), not when its result is consumed, so slow
        # scoring does not hold generation back.
        window = max(WINDOW_MIN, WINDOW_PER_SLOT * max(1, self.cfg.model.max_concurrency))
        tasks: set[asyncio.Future[tuple[Item, Completion, dict | None]]] = set()
        finished: asyncio.Queue[asyncio.Future[tuple[Item, Completion, dict | None]]] = asyncio.Queue()
        stopping = False
        # Generated by the interrupted run: no new call; consumed first (they are done at once).
        loop = asyncio.get_running_loop()
        for item in todo:
            if item.id in generated:
                carried: asyncio.Future[tuple[Item, Completion, dict | None]] = loop.create_future()
                carried.set_result((item, generated[item.id], None))
                finished.put_nowait(carried)
        queue = (item for item in todo if item.id not in generated)

        def start_next() -> None:
            while not stopping and len(tasks) < window:
                item = next(queue, None)
                if item is None:
                    return
                task = asyncio.ensure_future(one(item))
                task.add_done_callback(on_done)
                tasks.add(task)

        def on_done(task: asyncio.Future[tuple[Item, Completion, dict | None]]) -> None:
            tasks.discard(task)
            if not task.cancelled() and task.exception() is None:
                # On disk as the response arrives, before and independent of scoring: a kill -9
                # re-pays only the calls in flight. A short buffered write + flush, no fsync: handing
                # each line to a thread cost more in GIL switches than the write itself.
                item, comp, _ = task.result()
                self.store.append_generation(
                    {"item_id": item.id, "model": self.cfg.model.name, **completion_record(comp)}
                )
            finished.put_nowait(task)
            start_next()

        failed = 0
        consumed = 0
        stop: RunStopped | None = None

        def take(result: tuple[Item, Completion, dict | None]) -> None:
            nonlocal failed
            item, comp, truncation = result
            if not comp.ok:
                failed += 1
                log.warning("item %s failed: %s: %s", item.id, comp.error_class, comp.error_message)
            pending.append((item, comp, truncation))

        async def score_after(
            previous: asyncio.Future[None] | None, batch: list, ready: _StartedBatch
        ) -> None:
            # Rows are written batch after batch; a stop raised by the previous batch (budget, replay
            # miss) still lets this one be scored, and is raised after it.
            stopped: BaseException | None = None
            if previous is not None:
                try:
                    await previous
                except (BudgetExhausted, CacheMiss) as exc:
                    stopped = exc
            try:
                # Scoring is CPU-bound: a thread keeps the event loop serving requests.
                await asyncio.to_thread(self._score_batch, batch, ready)
            except (BudgetExhausted, CacheMiss) as exc:
                stopped = stopped or exc
            if stopped is not None:
                raise stopped

        async def score_pending(batch_size: int) -> None:
            nonlocal scoring, pending, in_flight
            if len(pending) < batch_size:
                return
            if in_flight >= MAX_BATCHES_IN_FLIGHT and scoring is not None:
                running, scoring, in_flight = scoring, None, 0
                await running
            # Sent to the scoring workers now, so they go from one batch to the next while this
            # process collects the previous batch's results and writes its rows.
            batch, pending = pending, []
            ready = self._start_batch(batch)
            scoring = asyncio.ensure_future(score_after(scoring, batch, ready))
            in_flight += 1

        start_next()
        with _Progress(self.cfg.model.name, len(self.items), len(done), self.cfg.progress) as progress:
            try:
                while consumed < len(todo):
                    next_done = await finished.get()
                    consumed += 1
                    take(next_done.result())
                    progress.advance(pending[-1][1].ok)
                    await score_pending(self.cfg.score_batch_size)
                    if self.cfg.max_failures is not None and failed > self.cfg.max_failures:
                        stop = FailureLimitStop(f"max_failures={self.cfg.max_failures} exceeded")
                        break
            except (BudgetExhausted, CacheMiss) as exc:
                stop = _stop_for(exc)
            finally:
                # After a stop no new request starts; every task is collected (no "Task exception
                # was never retrieved"), and answers already received are kept and scored.
                stopping = True
                running_tasks = list(tasks)
                for task in running_tasks:
                    task.cancel()
                await asyncio.gather(*running_tasks, return_exceptions=True)
                while not finished.empty():
                    leftover = finished.get_nowait()
                    if leftover.cancelled() or leftover.exception() is not None:
                        continue
                    take(leftover.result())
                for final in (True, False):
                    try:
                        if final and scoring is not None:
                            running, scoring = scoring, None
                            await running
                        elif not final and pending:
                            batch, pending = pending, []
                            await asyncio.to_thread(self._score_batch, batch)
                    except (BudgetExhausted, CacheMiss) as exc:
                        stop = stop or _stop_for(exc)
        if stop is not None:
            raise stop

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.store.write_config(OmegaConf.to_yaml(OmegaConf.structured(self.cfg)))
        resumed_from = str(self.previous.relative_to(self.run_dir.parents[1])) if self.previous else None
        self.store.write_manifest(self.manifest("running", started_at=_now(), resumed_from=resumed_from))
        try:
            try:
                asyncio.run(self._generate_and_score())
            finally:
                self.scoring.close()
        except RunStopped as stop:
            self.store.write_manifest(
                self.manifest(
                    stop.status, stop_reason=stop.reason, n_rows=len(self.rows), resumed_from=resumed_from
                )
            )
            self.store.close()
            raise
        except BaseException:
            self.store.write_manifest(
                self.manifest("interrupted", n_rows=len(self.rows), resumed_from=resumed_from)
            )
            self.store.close()
            raise
        summary = summarize(self.rows)
        summary.update(
            {
                "run_id": self.run_id,
                "dataset": self.common["dataset"],
                "model": self.common["model"],
                "prompt": self.common["prompt"],
                "wall_time_s": round(time.perf_counter() - started, 2),
                "resumed_from": resumed_from,
                "resumed_items": sorted(r["item_id"] for r in self.rows if r.get("resumed_from")),
                "cache": self.cache.stats(),
                # Pairs each metric computed and took from the score cache; the scoring workers.
                "scoring": self.scoring.counts(),
                # spent_usd: paid calls of this job, earlier interrupted attempts included
                # (carried_usd of it); cache hits cost nothing.
                "budget": {
                    "limit_usd": self.cfg.budget_usd,
                    "spent_usd": round(self.budget.spent, 6),
                    "carried_usd": round(self.carried_cost_usd, 6),
                },
            }
        )
        self.store.write_summary(summary)
        self.store.write_manifest(
            self.manifest(
                "finished", finished_at=_now(), wall_time_s=summary["wall_time_s"], resumed_from=resumed_from
            )
        )
        self.store.close()
        self.cache.close()
        if self.scoring.cache is not None:
            self.scoring.cache.close()
        return summary


def make_judge(cfg: HarnessConfig, cache: Any, budget: Budget | None) -> Any:
    """A JudgeScorer for `cfg.judge` (enabled, with a model), its calls cached as kind "judge".

    The completion budget is judge.max_tokens, else judge.model.params.max_tokens; each request is
    fitted into the judge model's context (harness/llm/fit.py)."""
    from harness.score.judge import JudgeScorer, ProviderCompleter

    judge = cfg.judge
    assert judge.model is not None
    max_tokens = judge_max_tokens(judge)
    model = judge.model
    if max_tokens is not None:  # the provider's worst-case cost uses the same budget
        model = replace(model, params={**model.params, "max_tokens": max_tokens})
    provider = Provider(model, kind="judge", cache=cache, budget=budget, seed=cfg.seed)
    return JudgeScorer(
        ProviderCompleter(provider, max_tokens=max_tokens),
        judge_model=judge.model.litellm_model,
        claims_prompt=project_path(judge.claims_prompt),
        coverage_prompt=project_path(judge.coverage_prompt),
        max_concurrency=judge.max_concurrency,
        fit=ContextFit.for_model(provider.litellm, model, max_tokens),
    )


class _Progress:
    """A rich progress bar on a terminal (done/total, rate, ETA, failures); log lines otherwise.

    The rate counts only items finished in this process (a resumed run's carried items are not
    work done now). While the bar is live, log records are written through rich's redirected stderr,
    so a warning prints on its own line above the bar instead of being glued onto it."""

    def __init__(self, label: str, total: int, already_done: int, enabled: bool):
        self.label, self.total, self.done, self.failed = label, total, already_done, 0
        self.carried = already_done
        self.bar: Any = None
        self._streams: list[tuple[logging.StreamHandler, Any]] = []
        if enabled and sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f}/s"),
                TextColumn("failed {task.fields[failed]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
        self.started = time.perf_counter()

    @property
    def rate(self) -> float:
        """Items per second finished by this process."""
        return (self.done - self.carried) / max(1e-9, time.perf_counter() - self.started)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            terminal = {id(sys.stdout): "stdout", id(sys.stderr): "stderr"}
            self.bar.start()  # from here sys.stdout and sys.stderr print above the live bar
            for logger in (logging.getLogger(), log):
                for handler in logger.handlers:
                    name = terminal.get(id(getattr(handler, "stream", None)))
                    if isinstance(handler, logging.StreamHandler) and name:
                        self._streams.append((handler, handler.setStream(getattr(sys, name))))
            self.task = self.bar.add_task(
                self.label, total=self.total, completed=self.done, rate=0.0, failed=0
            )
        return self

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.failed += not ok
        rate = self.rate
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, rate=rate, failed=self.failed)
        elif self.done % max(1, self.total // 10) == 0 or self.done == self.total:
            log.info(
                "%s: %d/%d done (%d failed, %.1f/s)", self.label, self.done, self.total, self.failed, rate
            )

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            for handler, stream in self._streams:
                handler.setStream(stream)
            self.bar.stop()
