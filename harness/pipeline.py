"""One evaluation job: dataset -> generate (litellm) -> parse -> score -> rows -> leaderboard."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from harness.config import HarnessConfig
from harness.data.load import dataset_fingerprint, load_items
from harness.data.schema import Item
from harness.generate.parse import parse_bullets
from harness.generate.prompts import prompt_record, render_messages
from harness.generate.providers import Completion, Provider, is_baseline, preflight
from harness.report.aggregate import summarize
from harness.report.store import RunStore
from harness.score import MetricUnavailable, Scorer, build_scorers

log = logging.getLogger("harness")
ROW_SCHEMA_VERSION = 1


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Job:
    """Evaluates one (dataset, model, prompt) and writes its run directory."""

    def __init__(self, cfg: HarnessConfig, run_dir: Path, run_id: str, model_choice: str | None = None):
        self.cfg = cfg
        self.run_id = run_id
        # Everything that can fail on the user's input is checked here, before any call or write.
        preflight(cfg.model, model_choice)
        self.items = load_items(cfg.dataset)
        self.fingerprint = dataset_fingerprint(self.items)
        self.scorers: list[Scorer] = build_scorers(cfg.metrics)
        self.store = RunStore(run_dir)
        self.unavailable: dict[str, str] = {}
        self.rows: list[dict[str, Any]] = []
        self.common = {
            "schema_version": ROW_SCHEMA_VERSION,
            "run_id": run_id,
            "dataset": {
                "name": cfg.dataset.name,
                "fingerprint": self.fingerprint,
                "split": cfg.dataset.split,
            },
            "model": {
                "name": cfg.model.name,
                "litellm_model": cfg.model.litellm_model,
                "api_base": cfg.model.api_base,
                "params": dict(cfg.model.params),
                "uses_reference": cfg.model.uses_reference,
            },
            "prompt": prompt_record(cfg.prompt),
            "seed": cfg.seed,
        }

    # -- manifest ---------------------------------------------------------------------------
    def manifest(self, status: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.common,
            "status": status,
            "n_items": len(self.items),
            "metrics": {s.name: s.meta() for s in self.scorers},
            "unavailable": self.unavailable,
            **extra,
        }

    # -- scoring ----------------------------------------------------------------------------
    def _score_batch(self, batch: Sequence[tuple[Item, Completion, list[str], list[str]]]) -> None:
        """Score finished generations and append their rows (runs in a worker thread)."""
        ok = [(item, bullets) for item, comp, bullets, _ in batch if comp.ok]
        per_item: dict[str, dict[str, Any]] = {
            item.id: {"scores": {}, "flags": [], "evidence": {}, "metric_errors": {}} for item, *_ in batch
        }
        for scorer in self.scorers:
            if scorer.name in self.unavailable or not ok:
                continue
            try:
                results = scorer.score([i for i, _ in ok], [b for _, b in ok])
            except MetricUnavailable as exc:
                self.unavailable[scorer.name] = str(exc)
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
        for item, comp, bullets, parse_flags in batch:
            slot = per_item[item.id]
            row = {
                **self.common,
                "item_id": item.id,
                "generation": {
                    "raw": comp.text,
                    "bullets": bullets,
                    "parse_flags": parse_flags,
                    "latency_s": round(comp.latency_s, 4),
                    "prompt_tokens": comp.prompt_tokens,
                    "completion_tokens": comp.completion_tokens,
                    "cost_usd": comp.cost_usd,
                    "finish_reason": comp.finish_reason,
                    "response_model": comp.response_model,
                },
                "error": None if comp.ok else {"type": comp.error_type, "message": comp.error_message},
                "scores": slot["scores"],
                "flags": parse_flags + slot["flags"],
                "metrics": {s.name: s.meta() for s in self.scorers if s.name not in self.unavailable},
                "unavailable": dict(self.unavailable),
                "metric_errors": slot["metric_errors"],
                "evidence": slot["evidence"],
                "finished_at": _now(),
            }
            self.store.append_row(row)
            self.rows.append(row)

    # -- generation -------------------------------------------------------------------------
    async def _generate_and_score(self) -> None:
        provider = Provider(self.cfg.model)
        semaphore = asyncio.Semaphore(max(1, self.cfg.model.max_concurrency))
        baseline = is_baseline(self.cfg.model)
        if baseline:
            from harness.generate.baselines import baseline_kwargs

        async def one(item: Item) -> tuple[Item, Completion]:
            messages = render_messages(self.cfg.prompt, item)
            extra = baseline_kwargs(item.source, item.reference) if baseline else None
            async with semaphore:
                return item, await provider.complete(messages, extra)

        pending: list[tuple[Item, Completion, list[str], list[str]]] = []
        scoring: asyncio.Task[None] | None = None
        tasks = [asyncio.ensure_future(one(item)) for item in self.items]
        done_count = failed = 0
        for next_done in asyncio.as_completed(tasks):
            item, comp = await next_done
            done_count += 1
            parsed = parse_bullets(comp.text) if comp.ok else None
            bullets = list(parsed.bullets) if parsed else []
            flags = list(parsed.flags) if parsed else []
            if not comp.ok:
                failed += 1
                log.warning("item %s failed: %s: %s", item.id, comp.error_type, comp.error_message)
            self.store.append_generation(
                {
                    "item_id": item.id,
                    "model": self.cfg.model.name,
                    "prompt_hash": self.common["prompt"]["hash"],
                    **asdict(comp),
                }
            )
            pending.append((item, comp, bullets, flags))
            if len(pending) >= self.cfg.score_batch_size:
                if scoring is not None:
                    await scoring
                # Scoring is CPU-bound: a thread keeps the event loop serving in-flight requests.
                scoring = asyncio.ensure_future(asyncio.to_thread(self._score_batch, pending))
                pending = []
            if done_count % 10 == 0 or done_count == len(tasks):
                log.info(
                    "%s: %d/%d generated (%d failed)", self.cfg.model.name, done_count, len(tasks), failed
                )
        if scoring is not None:
            await scoring
        if pending:
            await asyncio.to_thread(self._score_batch, pending)

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.store.write_config(OmegaConf.to_yaml(OmegaConf.structured(self.cfg)))
        self.store.write_manifest(self.manifest("running", started_at=_now()))
        try:
            asyncio.run(self._generate_and_score())
        except BaseException:
            self.store.write_manifest(self.manifest("interrupted", n_rows=len(self.rows)))
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
            }
        )
        self.store.write_summary(summary)
        self.store.write_manifest(
            self.manifest("finished", finished_at=_now(), wall_time_s=summary["wall_time_s"])
        )
        self.store.close()
        return summary
