"""Typed configuration: one place to read what a run is.

Hydra composes `conf/` into these dataclasses (registered in Hydra's ConfigStore as the schema of
`conf/config.yaml`), so a typo in a field or a wrong type fails at start-up with Hydra's message
naming the key. Code reads `HarnessConfig`, never raw dicts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from harness.errors import UsageError

_SOURCE_ROOT = Path(__file__).resolve().parents[1]
# conf/ and the embedded datasets as the wheel carries them (setup.py maps them to harness/_data/).
_PACKAGED_ROOT = Path(__file__).resolve().parent / "_data"


def _resource_root() -> Path:
    """Where conf/ and datasets/ are: the source tree when running from a checkout (or an editable
    install of one), else the copy inside the installed package."""
    if (_SOURCE_ROOT / "pyproject.toml").is_file() and (_SOURCE_ROOT / "conf" / "config.yaml").is_file():
        return _SOURCE_ROOT
    return _PACKAGED_ROOT


# The project root: conf/ and datasets/ live here, and relative paths in conf/ resolve against it.
PROJECT_ROOT = _resource_root()
CONF_DIR = PROJECT_ROOT / "conf"
# False when running from an installed wheel (no checkout): see project_path.
FROM_CHECKOUT = PROJECT_ROOT == _SOURCE_ROOT


class ConfigError(UsageError):
    """A user-fixable problem with configuration or environment; the message names the field."""


@dataclass
class DatasetConfig:
    name: str = MISSING
    # Local files (JSONL, CSV or parquet; relative paths are relative to the project root) ...
    data_files: list[str] = field(default_factory=list)
    # ... or a dataset on the Hugging Face hub (uses the HF cache; honours HF_HUB_OFFLINE).
    hub_id: str | None = None
    # The hub dataset's subset (its config name, `name=` of datasets.load_dataset; `name` above is
    # the harness's name for the dataset) and revision (a branch, tag or commit).
    subset: str | None = None
    revision: str | None = None
    split: str = "train"
    # Your table's own column names for schema fields, e.g. {title: 标题, url: 链接, source: 总结,
    # reference: 要点解析}. A mapped `reference` cell that is text is split into bullets ("- " lines,
    # else one bullet per line); without an `id` column, ids are row numbers.
    columns: dict[str, str] = field(default_factory=dict)
    # Evaluate only the first N items (quick checks); null = all.
    limit: int | None = None
    description: str = ""


@dataclass
class ModelConfig:
    # Short id: leaderboard rows and directory names.
    name: str = MISSING
    # The litellm model string, e.g. "openai/gpt-4o-mini", "deepseek/deepseek-chat", "harness/lead".
    litellm_model: str = MISSING
    api_base: str | None = None
    # NAME of the environment variable holding the API key; the key itself never enters config.
    api_key_env: str | None = None
    # Provider parameters passed to litellm (temperature, max_tokens, ...).
    params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.0, "max_tokens": 1024})
    timeout_s: float = 120.0
    # Retries on 429/5xx/timeouts/connection errors/malformed bodies, with exponential backoff
    # and full jitter (seconds: base, cap), honouring Retry-After.
    num_retries: int = 4
    retry_base_s: float = 1.0
    retry_cap_s: float = 60.0
    # Throttling (the project's own: litellm's Router limits do not wait).
    max_concurrency: int = 4
    rpm: float | None = None
    tpm: float | None = None
    # Context window in tokens; null = litellm's model info (no limit when it does not know).
    max_input_tokens: int | None = None
    # Prices in USD per token, for models litellm's cost map does not know.
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    # True for the oracle baseline, which reads the reference: the leaderboard marks it.
    uses_reference: bool = False
    description: str = ""


@dataclass
class PromptConfig:
    id: str = MISSING
    version: str = MISSING
    description: str = ""
    # Jinja templates; they see `item` (title, source, date, section, ...) and `n_bullets`.
    system: str = ""
    user: str = MISSING
    n_bullets: int = 3


@dataclass
class RougeConfig:
    enabled: bool = True
    # "char" (published Chinese results) or "jieba" (word level).
    tokenizer: str = "char"


@dataclass
class BertScoreConfig:
    enabled: bool = True
    # A hub id (HF cache) or a local model directory.
    model: str = "bert-base-chinese"
    num_layers: int | None = 8
    batch_size: int = 16
    rescale_with_baseline: bool = True
    # null: the zh baseline shipped with bert-score for this model.
    baseline_path: str | None = None
    device: str = "cpu"
    idf: bool = False


@dataclass
class FactsConfig:
    # Deterministic: numbers/quantities and named entities in the summary but not in the source.
    enabled: bool = True


@dataclass
class FormatConfig:
    enabled: bool = True
    n_bullets: int = 3
    min_chars: int = 40
    max_chars: int = 200
    min_chinese_share: float = 0.5


@dataclass
class CompressionConfig:
    # Source characters ÷ digest characters per item: how much reading the digest saves.
    enabled: bool = True


@dataclass
class MetricsConfig:
    rouge: RougeConfig = field(default_factory=RougeConfig)
    bertscore: BertScoreConfig = field(default_factory=BertScoreConfig)
    facts: FactsConfig = field(default_factory=FactsConfig)
    format: FormatConfig = field(default_factory=FormatConfig)
    compression: CompressionConfig = field(default_factory=CompressionConfig)
    # Metrics declared in other files of harness/score/: name -> options (`enabled: false` turns
    # one off); the built-in metrics above have typed sections.
    extra: dict[str, Any] = field(default_factory=dict)
    # The leaderboard ranks rows by this column.
    rank_by: str = "rougeL_f"


@dataclass
class JudgeConfig:
    """The LLM judge (claim-level factuality, key-point coverage). Off by default: the offline
    run shows the deterministic checks and marks the judge columns unavailable."""

    enabled: bool = False
    # Any litellm model, configured like a generator (conf/judge/*.yaml pull one from conf/model/).
    model: ModelConfig | None = None
    claims_prompt: str = "conf/judge_prompts/claims_v1.yaml"
    coverage_prompt: str = "conf/judge_prompts/coverage_v1.yaml"
    max_concurrency: int = 4
    # The judge's completion budget; null = judge.model.params.max_tokens (the judge model's own).
    # Prompt + completion are fitted into judge.model.max_input_tokens (else litellm's model info).
    max_tokens: int | None = None
    # The labelled claims `harness judge-eval` reports on (any file in the calibration format) ...
    calibration_set: str = "datasets/judge_calibration/test.jsonl"
    # ... and a second set shown beside it (the development split); null or "" = none.
    calibration_beside: str | None = "datasets/judge_calibration/dev.jsonl"


# The response cache's modes (harness/llm/cache.py applies them).
CACHE_MODES = ("readwrite", "read", "off", "replay")
# The score cache's modes (harness/score/cache.py): metrics are computed on a miss, so no replay.
SCORE_CACHE_MODES = ("readwrite", "read", "off")


@dataclass
class CacheConfig:
    # readwrite | read | off | replay (a miss is an error: CI runs that must call no API).
    mode: str = "readwrite"
    path: str = "results/cache/responses.sqlite"
    # Metric results of unchanged (candidate, item, settings): readwrite | read | off.
    score_mode: str = "readwrite"
    score_path: str = "results/cache/scores.sqlite"


@dataclass
class HarnessConfig:
    dataset: DatasetConfig = MISSING
    model: ModelConfig = MISSING
    prompt: PromptConfig = MISSING
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    seed: int = 0
    # Stop cleanly before the run's generation + judge spend would exceed this (USD); null = none.
    budget_usd: float | None = None
    # Stop cleanly once this many items have failed after retries; null = never.
    max_failures: int | None = None
    # auto: continue an interrupted run of the same job (same data, model, prompt, metrics).
    resume: str = "auto"
    # Show a live progress bar (rich) on a terminal.
    progress: bool = True
    results_dir: str = "results"
    # Items scored together (BERTScore batches); rows are appended after each batch.
    score_batch_size: int = 16
    # Worker processes scoring ROUGE, facts, format, compression while generation runs; 0: in this
    # process; null (auto): one per core (at most 4) for jobs of 200+ items on 2+ cores, else 0.
    score_workers: int | None = None
    update_leaderboard: bool = True


def project_path(path: str | os.PathLike[str]) -> Path:
    """A configured path: absolute as given, relative ones against the project root (the checkout).
    From an installed wheel, a relative path is looked up in the current directory first (the
    user's own files), then in the files the package carries (conf/, datasets/)."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    if FROM_CHECKOUT:
        return PROJECT_ROOT / p
    here = Path.cwd() / p
    return here if here.exists() or not (PROJECT_ROOT / p).exists() else PROJECT_ROOT / p


def default_results_dir() -> Path:
    """Where runs, the leaderboard and the cache go unless told otherwise: ./results."""
    return Path.cwd() / "results"


def safe_name(value: str) -> str:
    """A string fit for one directory-name component ("openai/gpt-4o" -> "openai_gpt-4o")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(value)).strip("._") or "_"


def unique_suffix() -> str:
    """Distinguishes runs started in the same second (Hydra's ${now:} has 1 s resolution)."""
    return f"{int(time.time() * 1000) % 1000:03d}{os.getpid() % 10000:04d}{secrets.token_hex(2)}"


def prompt_hash(prompt: PromptConfig) -> str:
    """Content hash of a prompt's templates: two prompts with one hash render the same messages."""
    payload = json.dumps(
        {"system": prompt.system, "user": prompt.user, "n": prompt.n_bullets},
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


_resolvers_registered = False


def register_resolvers() -> None:
    """OmegaConf resolvers used in conf/ (safe directory names, unique run suffixes)."""
    global _resolvers_registered
    if _resolvers_registered:
        return
    OmegaConf.register_new_resolver("safe", safe_name, replace=True)
    # Cached like Hydra's ${now:}: the sweep directory is resolved several times in one process.
    OmegaConf.register_new_resolver("uniq", unique_suffix, replace=True, use_cache=True)
    OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)
    # conf/config.yaml: results_dir: ${results_default:} (./results, absolute)
    OmegaConf.register_new_resolver("results_default", lambda: str(default_results_dir()), replace=True)
    _resolvers_registered = True


def register_schema() -> None:
    """Register HarnessConfig as the schema that conf/config.yaml is validated against."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="harness_schema", node=HarnessConfig)


def to_typed(cfg: DictConfig) -> HarnessConfig:
    """The composed Hydra config as typed dataclasses (interpolations resolved)."""
    obj = OmegaConf.to_object(cfg)
    assert isinstance(obj, HarnessConfig), type(obj)
    return obj


def _model_problems(where: str, model: ModelConfig) -> list[str]:
    problems = []
    if model.max_concurrency < 1:
        problems.append(f"{where}.max_concurrency={model.max_concurrency}: must be at least 1")
    if not model.timeout_s > 0:
        problems.append(f"{where}.timeout_s={model.timeout_s}: must be more than 0 seconds")
    if model.num_retries < 0:
        problems.append(f"{where}.num_retries={model.num_retries}: must be 0 or more")
    if model.retry_base_s < 0 or model.retry_cap_s < model.retry_base_s:
        problems.append(
            f"{where}.retry_base_s={model.retry_base_s}, retry_cap_s={model.retry_cap_s}: "
            "need 0 <= retry_base_s <= retry_cap_s"
        )
    for name in ("rpm", "tpm", "max_input_tokens"):
        value = getattr(model, name)
        if value is not None and not value > 0:
            problems.append(f"{where}.{name}={value}: must be more than 0, or null for no limit")
    for name in ("input_cost_per_token", "output_cost_per_token"):
        value = getattr(model, name)
        if value is not None and value < 0:
            problems.append(f"{where}.{name}={value}: must be 0 or more, or null")
    return problems


def judge_max_tokens(judge: JudgeConfig) -> int | None:
    """The judge's completion budget: judge.max_tokens, else judge.model.params.max_tokens."""
    if judge.max_tokens is not None:
        return judge.max_tokens
    value = (judge.model.params if judge.model is not None else {}).get("max_tokens")
    return None if value is None else int(value)


def check_values(cfg: HarnessConfig) -> None:
    """Every value a user can set, checked before any work: ConfigError listing each bad key with
    what is allowed (the CLI exits 2). Hydra has already checked names and types."""
    from harness.score import registry
    from harness.tokenize import TOKENIZERS

    problems = _model_problems("model", cfg.model)
    if cfg.judge.model is not None and cfg.judge.enabled:
        problems += _model_problems("judge.model", cfg.judge.model)
    if cfg.judge.max_concurrency < 1:
        problems.append(f"judge.max_concurrency={cfg.judge.max_concurrency}: must be at least 1")
    budget = judge_max_tokens(cfg.judge) if cfg.judge.enabled else None
    limit = cfg.judge.model.max_input_tokens if cfg.judge.model is not None else None
    if budget is not None and limit and budget >= limit:
        problems.append(
            f"judge max_tokens={budget} (judge.max_tokens, else judge.model.params.max_tokens) leaves no "
            f"room for the prompt in judge.model.max_input_tokens={limit}: lower it"
        )
    if cfg.judge.max_tokens is not None and cfg.judge.max_tokens < 1:
        problems.append(f"judge.max_tokens={cfg.judge.max_tokens}: must be at least 1, or null")
    if cfg.prompt.n_bullets < 1:
        problems.append(f"prompt.n_bullets={cfg.prompt.n_bullets}: must be at least 1")
    if cfg.score_batch_size < 1:
        problems.append(f"score_batch_size={cfg.score_batch_size}: must be at least 1")
    if cfg.budget_usd is not None and cfg.budget_usd < 0:
        problems.append(f"budget_usd={cfg.budget_usd}: must be 0 or more (USD), or null for no budget")
    if cfg.max_failures is not None and cfg.max_failures < 0:
        problems.append(f"max_failures={cfg.max_failures}: must be 0 or more, or null")
    if cfg.dataset.limit is not None and cfg.dataset.limit < 1:
        problems.append(f"dataset.limit={cfg.dataset.limit}: must be at least 1, or null for all items")
    if cfg.resume not in ("auto", "never"):
        problems.append(f"resume={cfg.resume}: use auto or never")
    if cfg.cache.mode not in CACHE_MODES:
        problems.append(f"cache.mode={cfg.cache.mode}: use one of {', '.join(CACHE_MODES)}")
    if cfg.cache.score_mode not in SCORE_CACHE_MODES:
        problems.append(f"cache.score_mode={cfg.cache.score_mode}: use one of {', '.join(SCORE_CACHE_MODES)}")
    if cfg.score_workers is not None and cfg.score_workers < 0:
        problems.append(f"score_workers={cfg.score_workers}: must be 0 or more, or null (auto)")
    m = cfg.metrics
    if m.rouge.tokenizer not in TOKENIZERS:
        problems.append(f"metrics.rouge.tokenizer={m.rouge.tokenizer}: use one of {', '.join(TOKENIZERS)}")
    if m.bertscore.batch_size < 1:
        problems.append(f"metrics.bertscore.batch_size={m.bertscore.batch_size}: must be at least 1")
    if m.bertscore.num_layers is not None and m.bertscore.num_layers < 0:
        problems.append(f"metrics.bertscore.num_layers={m.bertscore.num_layers}: must be 0 or more, or null")
    if m.format.n_bullets < 1 and m.format.n_bullets != cfg.prompt.n_bullets:  # else reported above
        problems.append(f"metrics.format.n_bullets={m.format.n_bullets}: must be at least 1")
    if not 0 <= m.format.min_chars <= m.format.max_chars:
        problems.append(
            f"metrics.format.min_chars={m.format.min_chars}, max_chars={m.format.max_chars}: "
            "need 0 <= min_chars <= max_chars"
        )
    if not 0 <= m.format.min_chinese_share <= 1:
        problems.append(f"metrics.format.min_chinese_share={m.format.min_chinese_share}: must be in [0, 1]")
    unknown = sorted(set(m.extra or {}) - {metric.name for metric in registry.metrics()})
    if unknown:
        known = ", ".join(metric.name for metric in registry.metrics())
        problems.append(f"metrics.extra: no metric called {', '.join(unknown)} (metrics: {known})")
    if registry.column(m.rank_by) is None:
        shown = ", ".join(c.key for c in registry.columns(headline_only=True))
        problems.append(f"metrics.rank_by={m.rank_by}: not a score column; columns: {shown}")
    if problems:
        raise ConfigError("invalid config value(s):\n" + "\n".join(f"  - {p}" for p in problems))
