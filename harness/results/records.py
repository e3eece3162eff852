"""The typed schema of what a run writes: manifest (run.json), generation lines (generations.jsonl)
and result rows (rows.jsonl). Records are built through these types and stored as JSON objects;
`schema_version` says which shape a line has (1: before the dataset limit and judge identity were
recorded; readers accept both).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 2
SUPPORTED_SCHEMA_VERSIONS = (1, 2)


@dataclass(frozen=True)
class DatasetRef:
    name: str
    fingerprint: str
    split: str
    # dataset.limit of the run (None: all items): a limited run is never compared with a full one.
    limit: int | None = None


@dataclass(frozen=True)
class ModelRef:
    name: str
    litellm_model: str
    api_base: str | None
    params: dict[str, Any]
    uses_reference: bool = False


@dataclass(frozen=True)
class PromptRef:
    id: str
    version: str
    hash: str


@dataclass(frozen=True)
class JudgeRef:
    name: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)  # kind -> "id@version#hash"


@dataclass(frozen=True)
class RunIdentity:
    """What a row of every record of a run shares: which data, model, prompt, judge and seed."""

    run_id: str
    dataset: DatasetRef
    model: ModelRef
    prompt: PromptRef
    seed: int
    judge: JudgeRef | None = None

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}


@dataclass
class GenerationInfo:
    """The model call behind a row (row["generation"])."""

    raw: str | None
    bullets: list[str]
    parse_flags: list[str]
    latency_s: float
    elapsed_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    cache_hit: bool
    attempts: int
    finish_reason: str | None
    response_model: str | None
    source_truncation: dict[str, Any] | None


@dataclass
class ResultRow:
    """One scored (or failed) item of a run: rows.jsonl."""

    identity: RunIdentity
    item_id: str
    generation: GenerationInfo
    error: dict[str, Any] | None
    scores: dict[str, float]
    flags: list[str]
    metrics: dict[str, Any]
    unavailable: dict[str, str]
    metric_errors: dict[str, str]
    evidence: dict[str, Any]
    finished_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            **self.identity.to_json(),
            "item_id": self.item_id,
            "generation": asdict(self.generation),
            "error": self.error,
            "scores": self.scores,
            "flags": self.flags,
            "metrics": self.metrics,
            "unavailable": self.unavailable,
            "metric_errors": self.metric_errors,
            "evidence": self.evidence,
            "finished_at": self.finished_at,
        }


def comparable_key(manifest: dict[str, Any]) -> tuple[str, ...]:
    """A leaderboard row's identity: everything that makes two runs' numbers comparable. Runs with
    the same key are the same row (the latest finished one shows); any difference is another row.

    Dataset name, content fingerprint and limit; model name, litellm string, api base and
    parameters; prompt id, version and hash; judge model, parameters and prompts; seed."""
    dataset = manifest.get("dataset") or {}
    model = manifest.get("model") or {}
    prompt = manifest.get("prompt") or {}
    return (
        *dataset_key(manifest),
        str(model.get("name")),
        str(model.get("litellm_model")),
        str(model.get("api_base")),
        json.dumps(model.get("params") or {}, sort_keys=True),
        str(prompt.get("id")),
        str(prompt.get("version")),
        str(prompt.get("hash")),
        json.dumps(manifest.get("judge"), sort_keys=True, ensure_ascii=False),
        str(manifest.get("seed")),
    )


def dataset_key(manifest: dict[str, Any]) -> tuple[str, str, str]:
    """Which leaderboard table a run belongs to: rows are ranked only against runs of the same items."""
    dataset = manifest.get("dataset") or {}
    return (str(dataset.get("name")), str(dataset.get("fingerprint")), str(dataset.get("limit")))
