"""The one way the harness calls a model: `litellm.acompletion`.

Real providers, local OpenAI-compatible servers and the offline baselines (a litellm custom
provider, `harness/...`) all go through `complete()`. litellm is imported lazily: it takes seconds
and would otherwise fetch a price table over the network at import.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from harness.config import ConfigError, ModelConfig

# A dummy key for keyless local servers: litellm's OpenAI client refuses an empty one.
_KEYLESS = "no-key-needed"


def import_litellm() -> Any:
    """litellm, configured for offline use (local cost map, quiet), with the baselines registered."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    # litellm logs every call at INFO through its own handler: one line per item is noise here.
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    from harness.generate import baselines

    baselines.register()
    return litellm


@dataclass
class Completion:
    """One model call's outcome. On failure `text` is None and error_type/error_message say why."""

    text: str | None
    latency_s: float
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    response_model: str | None = None
    error_type: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


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
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:
        # Unknown price: recorded as missing, never as 0.
        return None


class Provider:
    """Calls one configured model. Construct once per run (imports litellm, registers prices)."""

    def __init__(self, model: ModelConfig):
        self.model = model
        self.litellm = import_litellm()
        _register_prices(self.litellm, model)

    async def complete(
        self, messages: list[dict[str, str]], extra: dict[str, Any] | None = None
    ) -> Completion:
        """One chat completion; errors are caught and returned, never raised."""
        m = self.model
        kwargs: dict[str, Any] = dict(m.params)
        kwargs.update(extra or {})
        if m.api_base:
            kwargs["api_base"] = m.api_base
        if m.api_key_env:
            kwargs["api_key"] = os.environ[m.api_key_env]
        elif m.api_base:
            kwargs["api_key"] = _KEYLESS
        started = time.perf_counter()
        try:
            response = await self.litellm.acompletion(
                model=m.litellm_model,
                messages=messages,
                timeout=m.timeout_s,
                num_retries=m.num_retries,
                **kwargs,
            )
        except Exception as exc:
            message = str(exc)[:2000]
            if kwargs.get("api_key"):  # some providers echo the key back in their error text
                message = message.replace(kwargs["api_key"], "***")
            return Completion(
                text=None,
                latency_s=time.perf_counter() - started,
                error_type=type(exc).__name__,
                error_message=message,
            )
        latency = time.perf_counter() - started
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        text = choice.message.content
        return Completion(
            text=text if isinstance(text, str) else "",
            latency_s=latency,
            finish_reason=choice.finish_reason,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            cost_usd=_cost(self.litellm, response),
            response_model=getattr(response, "model", None),
        )
