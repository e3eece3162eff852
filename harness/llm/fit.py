"""Fitting a prompt into a model's context window: one rule for generation and the judge.

The completion budget (`max_tokens`) plus the prompt must fit the model's context
(`max_input_tokens` from the model config, else litellm's model info; no known limit = no
truncation). When they would not, the article is cut from the end (policy `keep_head`: the
longest head of the article that fits, found by binary search with litellm's token counter) and
the caller flags the row (`source_truncated` for generation, `judge_input_truncated` for the judge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.config import ModelConfig

# Tokens kept free between the prompt and the context window (chat framing differs by provider).
CONTEXT_MARGIN = 64

Messages = list[dict[str, str]]


def context_limit(litellm: Any, model: ModelConfig) -> int | None:
    """The model's context in tokens: the config's `max_input_tokens`, else litellm's model info."""
    if model.max_input_tokens:
        return model.max_input_tokens
    if model.litellm_model.startswith("harness/"):  # the offline baselines: no context
        return None
    try:
        info = litellm.get_model_info(model.litellm_model)
    except Exception:
        return None
    return info.get("max_input_tokens") or None


@dataclass
class ContextFit:
    """Fits messages rendered around an article into `limit` tokens, leaving `max_tokens`."""

    litellm: Any
    litellm_model: str
    limit: int | None
    max_tokens: int | None

    @classmethod
    def for_model(cls, litellm: Any, model: ModelConfig, max_tokens: int | None = None) -> ContextFit:
        """max_tokens: the completion budget (default: the model's `params.max_tokens`)."""
        if max_tokens is None:
            max_tokens = model.params.get("max_tokens")
        return cls(litellm, model.litellm_model, context_limit(litellm, model), max_tokens)

    @property
    def budget(self) -> int | None:
        """Prompt tokens allowed (None: no known limit)."""
        if self.limit is None:
            return None
        return self.limit - int(self.max_tokens or 0) - CONTEXT_MARGIN

    def count(self, messages: Messages) -> int:
        return int(self.litellm.token_counter(model=self.litellm_model, messages=messages))

    def fit(self, render: Callable[[str], Messages], source: str) -> tuple[Messages, dict[str, Any] | None]:
        """render(source) if it fits, else render(the longest head of source that fits) and what
        was cut (None when nothing was). `fits` is False when even an empty article does not fit
        (the call is made anyway and fails visibly)."""
        messages = render(source)
        budget = self.budget
        if budget is None or self.count(messages) <= budget:
            return messages, None
        low, high = 0, len(source)
        while low < high:  # longest head of the article that fits
            mid = (low + high + 1) // 2
            if self.count(render(source[:mid])) <= budget:
                low = mid
            else:
                high = mid - 1
        kept = render(source[:low])
        info = {
            "policy": "keep_head",
            "source_chars": len(source),
            "kept_chars": low,
            "limit_tokens": self.limit,
            "max_tokens": self.max_tokens,
            "fits": self.count(kept) <= budget,
        }
        return kept, info
