"""The one way the harness calls a model: `litellm.acompletion`.

Real providers, local OpenAI-compatible servers and the offline baselines (a litellm custom
provider, `harness/...`) all go through `complete()`. litellm is imported lazily: it takes seconds
and would otherwise fetch a price table over the network at import.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.config import ConfigError, ModelConfig

# A dummy key for keyless local servers: litellm's OpenAI client refuses an empty one.
_KEYLESS = "no-key-needed"


log = logging.getLogger("harness")


class _CachePriceNote(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "cache_creation_input_token_cost" not in record.getMessage()


def import_litellm() -> Any:
    """litellm, configured for offline use (local cost map, quiet), with the baselines registered."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    # litellm logs every call at INFO through its own handler: one line per item is noise here.
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # litellm has its own stderr handler: its records must not also reach the root logger (Hydra's),
    # or each one prints twice. Its note that prompt-cache prices default to 0 concerns costs this
    # harness does not use.
    lite = logging.getLogger("LiteLLM")
    lite.propagate = False
    if not any(isinstance(f, _CachePriceNote) for f in lite.filters):
        lite.addFilter(_CachePriceNote())
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    from harness.generate import baselines

    baselines.register()
    return litellm


@dataclass
class Completion:
    """One model call's outcome. On failure `text` is None and error_* say why."""

    text: str | None
    # latency_s: the answering HTTP attempt alone (what the provider took). elapsed_s adds the
    # wait for a concurrency/rate slot and earlier failed attempts with their backoff.
    latency_s: float
    elapsed_s: float | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    response_model: str | None = None
    error_type: str | None = None
    error_class: str | None = None
    error_message: str | None = None
    cache_hit: bool = False
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.text is not None


_COMPLETION_FIELDS = tuple(Completion.__dataclass_fields__)


def completion_record(comp: Completion) -> dict[str, Any]:
    """`dataclasses.asdict(comp)` without its recursive deep copy (every field is a scalar)."""
    return {name: getattr(comp, name) for name in _COMPLETION_FIELDS}


def completion_from_cache(value: dict[str, Any]) -> Completion | None:
    """A cached response as a Completion (a hit), or None when the entry is not of that shape."""
    fields = {k: v for k, v in value.items() if k in Completion.__dataclass_fields__}
    if not isinstance(fields.get("text"), str) or not isinstance(fields.get("latency_s"), (int, float)):
        return None
    try:
        return Completion(**{**fields, "cache_hit": True, "attempts": 0})
    except TypeError:
        return None


class BudgetExhausted(Exception):
    """The run's dollar budget would be exceeded by the next call: the run stops cleanly."""


def _model_file(model: ModelConfig, choice: str | None) -> str:
    return f"conf/model/{choice}.yaml" if choice else f"the config of model '{model.name}'"


def is_baseline(model: ModelConfig) -> bool:
    return model.litellm_model.startswith("harness/")


def preflight(model: ModelConfig, choice: str | None = None) -> None:
    """Fail before any work when the model cannot be called: missing key, unknown provider.

    `choice` is the config-group option the model came from (`model=openai` -> "openai")."""
    if model.api_key_env:
        if not os.environ.get(model.api_key_env):
            raise ConfigError(
                f"model '{model.name}' ({model.litellm_model}) needs the environment variable "
                f"{model.api_key_env}, which is not set. Export it (the key is never written to results), "
                f"or choose another model. [model.api_key_env in {_model_file(model, choice)}]"
            )
        return
    if is_baseline(model) or model.api_base:
        return
    litellm = import_litellm()
    try:
        env = litellm.validate_environment(model=model.litellm_model)
    except Exception as exc:  # unknown provider prefix and the like
        raise ConfigError(f"model '{model.name}': litellm cannot use '{model.litellm_model}': {exc}") from exc
    if not env.get("keys_in_environment", True):
        missing = ", ".join(env.get("missing_keys", [])) or "an API key"
        raise ConfigError(
            f"model '{model.name}' ({model.litellm_model}) needs {missing} in the environment. "
            f"Set it and name it in model.api_key_env ({_model_file(model, choice)})."
        )


def _register_prices(litellm: Any, model: ModelConfig) -> None:
    if model.input_cost_per_token is None and model.output_cost_per_token is None:
        return
    provider = model.litellm_model.split("/", 1)[0]
    litellm.register_model(
        {
            model.litellm_model: {
                "input_cost_per_token": model.input_cost_per_token or 0.0,
                "output_cost_per_token": model.output_cost_per_token or 0.0,
                "litellm_provider": provider,
                "mode": "chat",
            }
        }
    )


def _cost(litellm: Any, response: Any) -> float | None:
    # litellm has already priced the response (same cost map, same function) in its logging;
    # pricing it again costs ~0.4 ms of CPU per call.
    known = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if isinstance(known, (int, float)) and not isinstance(known, bool):
        return float(known)
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:
        # Unknown price: recorded as missing, never as 0.
        return None


def price_per_token(litellm: Any, model: ModelConfig) -> tuple[float, float] | None:
    """(input, output) USD per token from the config or litellm's local cost map; None if unknown."""
    if model.input_cost_per_token is not None or model.output_cost_per_token is not None:
        return (model.input_cost_per_token or 0.0, model.output_cost_per_token or 0.0)
    info = litellm.model_cost.get(model.litellm_model) or litellm.model_cost.get(
        model.litellm_model.split("/", 1)[-1]
    )
    if not info or info.get("input_cost_per_token") is None:
        return None
    return (float(info["input_cost_per_token"]), float(info.get("output_cost_per_token") or 0.0))


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    """A cheap upper-side estimate of prompt tokens (CJK ~1 token per character, Latin ~1 per 3
    characters): used for throttling and budget reservations, corrected with real usage after."""
    chars = sum(len(m.get("content") or "") for m in messages)
    return chars + 8 * len(messages)


def max_prompt_tokens(messages: list[dict[str, str]]) -> int:
    """An upper bound on a prompt's tokens for budget reservations: byte-level BPE tokenizers never
    make more tokens than UTF-8 bytes (Chinese: 3 bytes a character), plus chat framing per message.
    A character count can undershoot for CJK text, and the budget would then be overspent."""
    return sum(len((m.get("content") or "").encode("utf-8")) for m in messages) + 16 * len(messages)


class Budget:
    """The run's spend in USD: a call reserves its worst case first, then settles the real cost.

    Thread-safe: generation runs in the event loop, the judge in a scoring thread."""

    def __init__(self, limit_usd: float | None, ledger: Callable[[dict[str, Any]], None] | None = None):
        self.limit = limit_usd
        # Told each reservation as a call goes out and each settlement as its reply arrives (the
        # run's spend.jsonl): after a kill -9, a call with no settlement counts at its worst case.
        self.ledger = ledger
        self.spent = 0.0
        self._next_id = 0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, amount: float) -> int:
        """Hold `amount` for a call about to go out; the id to settle it with."""
        with self._lock:
            if self.limit is not None and self.spent + self.reserved + amount > self.limit:
                raise BudgetExhausted(
                    f"budget_usd={self.limit} would be exceeded (spent {self.spent:.4f}, "
                    f"in flight {self.reserved:.4f}, next call up to {amount:.4f})"
                )
            self.reserved += amount
            self._next_id += 1
            call = self._next_id
        if self.ledger is not None and amount:
            self.ledger({"reserve": call, "usd": amount})
        return call

    def settle(self, call: int, reserved: float, actual: float | None) -> None:
        with self._lock:
            self.reserved -= reserved
            # An unknown actual cost is charged at its reservation (the worst case).
            paid = reserved if actual is None else actual
            self.spent += paid
        if self.ledger is not None and reserved:
            self.ledger({"settle": call, "usd": paid})


class Provider:
    """Calls one configured model: response cache, throttling, retries, budget, cost.

    `kind` ("generation" or "judge") labels cache entries. Construct once per run."""

    def __init__(
        self,
        model: ModelConfig,
        *,
        kind: str = "generation",
        cache: Any = None,
        budget: Budget | None = None,
        seed: int = 0,
    ):
        from harness.llm.limits import RateLimiter

        self.model = model
        self.kind = kind
        self.cache = cache
        self.budget = budget
        self.litellm = import_litellm()
        _register_prices(self.litellm, model)
        self.prices = price_per_token(self.litellm, model)
        self.limiter = RateLimiter(max(1, model.max_concurrency), rpm=model.rpm, tpm=model.tpm)
        self._rng = random.Random(seed)
        self._api_key = os.environ.get(model.api_key_env) if model.api_key_env else None

    def _kwargs(self, extra: dict[str, Any] | None) -> dict[str, Any]:
        m = self.model
        kwargs: dict[str, Any] = dict(m.params)
        kwargs.update(extra or {})
        if m.api_base:
            kwargs["api_base"] = m.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        elif m.api_base:
            kwargs["api_key"] = _KEYLESS
        return kwargs

    def _scrub(self, text: str) -> str:
        # Some providers echo the key back in their error text.
        return text.replace(self._api_key, "***") if self._api_key else text

    def cache_key(self, messages: list[dict[str, str]], extra: dict[str, Any] | None = None) -> str:
        """Everything sent that determines the reply (never the key). `extra` counts too: the
        oracle baseline's reference travels there, not in the messages."""
        from harness.llm.cache import cache_key

        params = {**self.model.params, **(extra or {})}
        return cache_key(self.kind, self.model.litellm_model, self.model.api_base, params, messages)

    def max_cost(self, messages: list[dict[str, str]]) -> float:
        """Worst-case cost of one call (for budget reservations)."""
        if self.prices is None:
            return 0.0
        max_out = int(self.model.params.get("max_tokens") or 4096)
        return max_prompt_tokens(messages) * self.prices[0] + max_out * self.prices[1]

    async def complete(
        self,
        messages: list[dict[str, str]],
        extra: dict[str, Any] | None = None,
        *,
        item_id: str | None = None,
    ) -> Completion:
        """One chat completion. Call errors are returned in the Completion, never raised; only
        CacheMiss (cache=replay) and BudgetExhausted propagate, since they stop the run."""
        from harness.llm.retry import call_with_retries, error_class, require_choices

        key = None
        # cache.mode=off neither reads nor writes: the key (a hash of the whole prompt) is not needed.
        if self.cache is not None and getattr(self.cache, "mode", None) != "off":
            key = self.cache_key(messages, extra)
            hit = self.cache.lookup(key, item_id=item_id, model=self.model.name, kind=self.kind)
            if hit is not None:
                cached = completion_from_cache(hit)
                if cached is not None:
                    return cached
                log.warning(
                    "response cache: entry %s has an unexpected shape; asking the model again", key[:12]
                )
        reservation = self.max_cost(messages)
        reserved = False
        call_id = 0
        estimate = estimate_tokens(messages)
        kwargs = self._kwargs(extra)
        attempts = 0
        call_s = 0.0

        async def attempt() -> Any:
            nonlocal attempts, reserved, call_s, call_id
            async with self.limiter.slot(estimate) as permit:
                # Reserved once the call is about to go out, so queued items hold no budget.
                if self.budget is not None and not reserved:
                    call_id = self.budget.reserve(reservation)
                    reserved = True
                attempts += 1
                call_started = time.perf_counter()
                try:
                    response = await self.litellm.acompletion(
                        model=self.model.litellm_model,
                        messages=messages,
                        timeout=self.model.timeout_s,
                        num_retries=0,  # retried below: per-attempt throttling, Retry-After, causes
                        **kwargs,
                    )
                finally:
                    call_s = time.perf_counter() - call_started
                usage = getattr(response, "usage", None)
                permit.record(int(getattr(usage, "total_tokens", 0) or estimate))
            # A 200 without a usable message is a malformed reply: raise so it is retried.
            require_choices(response)
            return response

        started = time.perf_counter()
        try:
            response = await call_with_retries(
                attempt,
                max_retries=self.model.num_retries,
                base=self.model.retry_base_s,
                cap=self.model.retry_cap_s,
                rng=self._rng,
            )
        except BudgetExhausted:
            raise
        except Exception as exc:
            if reserved and self.budget is not None:
                self.budget.settle(call_id, reservation, 0.0)
            return Completion(
                text=None,
                latency_s=call_s,
                elapsed_s=time.perf_counter() - started,
                error_type=type(exc).__name__,
                error_class=error_class(exc),
                error_message=self._scrub(str(exc))[:2000],
                attempts=attempts,
            )
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        text = choice.message.content
        comp = Completion(
            # A reply that echoes the key (some servers do) is scrubbed before anything stores it.
            text=self._scrub(text) if isinstance(text, str) else "",
            latency_s=call_s,
            elapsed_s=time.perf_counter() - started,
            finish_reason=choice.finish_reason,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            cost_usd=_cost(self.litellm, response),
            response_model=getattr(response, "model", None),
            attempts=attempts,
        )
        if reserved and self.budget is not None:
            self.budget.settle(call_id, reservation, comp.cost_usd)
        if self.cache is not None and key is not None:
            value = {k: v for k, v in completion_record(comp).items() if k not in ("cache_hit", "attempts")}
            self.cache.store(key, self.kind, self.model.litellm_model, value)
        return comp
