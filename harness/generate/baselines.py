"""Extractive baselines (lead, TextRank, oracle), served as the litellm custom provider `harness`.

Baselines go through exactly the same `litellm.acompletion` call as real models, so retries,
caching, cost accounting, reply parsing and result rows need no special case: the caller asks
for `model="harness/lead"` (or `harness/textrank`, `harness/oracle`) and merges
`baseline_kwargs(item.source, item.reference)` into the call's kwargs.

How the item reaches the provider (checked on litellm 1.106.2): through litellm's `metadata=`
kwarg. litellm puts it in `litellm_params["metadata"]` (litellm/main.py `completion`:
`requested_litellm_params = get_litellm_params(..., metadata=metadata, ...)`;
litellm/litellm_core_utils/get_litellm_params.py: `"metadata": resolved_metadata`) and passes
`litellm_params` to `CustomLLM.acompletion` (main.py `_complete_custom_providers`:
`handler_fn(..., litellm_params=litellm_params, ...)`).
The prompt text is never parsed: prompt templates change, the item does not.

The pure functions (`lead_bullets`, `textrank_bullets`, `oracle_bullets`) need no litellm;
litellm is imported only by `register()` and the provider.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.text import split_sentences
from harness.tokenize import char_tokens, jieba_tokens

__all__ = [
    "BASELINES",
    "METADATA_KEY",
    "PROVIDER",
    "baseline_kwargs",
    "is_baseline_model",
    "lead_bullets",
    "mean_rouge12_f",
    "oracle_bullets",
    "register",
    "textrank_bullets",
]

PROVIDER = "harness"
METADATA_KEY = "harness_baseline_item"

# What each baseline is (shown in reports next to the model name).
BASELINES: dict[str, str] = {
    "lead": "Lead: the article's first sentences (about 300 characters), cut into 3 bullets.",
    "textrank": "TextRank: the 3 most central sentences (jieba words, PageRank), in article order.",
    "oracle": (
        "Oracle: greedy extractive upper bound. It READS THE HUMAN REFERENCE to pick the source "
        "sentences that maximise character ROUGE-1/2 F, cut into 3 bullets; not a system, a ceiling "
        "for extraction."
    ),
}

LEAD_MAX_CHARS = 300
TEXTRANK_DAMPING = 0.85

# Function words that would otherwise dominate jieba word overlap between Chinese sentences.
_STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 也 都 而 等 将 对 为 就 有 这 那 其 之 以 于 被 把 从 到 或 并 但 还 又 已 "
    "一个 我们 他们 它们 该 此 这些 那些 一些 进行 表示 称 说 中 上 下 个 着 过 让 向 由 即".split()
)


# --------------------------------------------------------------------------------------------
# Pure functions.
# --------------------------------------------------------------------------------------------


def _sentences(source: str) -> list[str]:
    """Source sentences, whitespace collapsed so a bullet survives the reply round trip unchanged."""
    return [s for s in (" ".join(part.split()) for part in split_sentences(source)) if s]


def _join(pieces: Sequence[str]) -> str:
    """Join sentences: directly after Chinese text, with a space after Latin text."""
    out = ""
    for piece in pieces:
        if out and out[-1].isascii() and not out[-1].isspace():
            out += " "
        out += piece
    return out


def _balanced_groups(lengths: Sequence[int], n: int) -> list[tuple[int, int]]:
    """Cut a sequence into n contiguous non-empty groups with the most even total lengths.

    Minimises the sum of squared group lengths (dynamic programming); returns (start, end) pairs.
    """
    m = len(lengths)
    n = min(n, m)
    prefix = [0]
    for length in lengths:
        prefix.append(prefix[-1] + length)
    inf = float("inf")
    # cost[k][j]: best cost of cutting the first j items into k groups; cut[k][j]: start of group k.
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    cut = [[0] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for k in range(1, n + 1):
        for j in range(k, m + 1):
            for i in range(k - 1, j):
                value = cost[k - 1][i] + (prefix[j] - prefix[i]) ** 2
                if value < cost[k][j]:
                    cost[k][j], cut[k][j] = value, i
    groups: list[tuple[int, int]] = []
    j = m
    for k in range(n, 0, -1):
        i = cut[k][j]
        groups.append((i, j))
        j = i
    return groups[::-1]


def lead_bullets(source: str, n: int = 3, max_chars: int = LEAD_MAX_CHARS) -> list[str]:
    """The article's opening, as n bullets: the classic Lead baseline, sized like a digest.

    Takes the first sentences (at least n when the article has them) while that brings the total
    closer to `max_chars` characters (about the length of a 3-bullet 要点解析), then cuts them into n
    contiguous bullets of roughly equal length. News leads front-load the key facts, so this is
    the baseline any model must beat.
    """
    sentences = _sentences(source)
    taken: list[str] = []
    total = 0
    for sentence in sentences:
        if len(taken) >= n and abs(total + len(sentence) - max_chars) >= abs(total - max_chars):
            break
        taken.append(sentence)
        total += len(sentence)
    if not taken:
        return []
    groups = _balanced_groups([len(s) for s in taken], n)
    return [_join(taken[i:j]) for i, j in groups]


def _textrank_similarity(a: set[str], a_len: int, b: set[str], b_len: int) -> float:
    """Mihalcea & Tarau (2004): shared words / (log|Si| + log|Sj|)."""
    overlap = len(a & b)
    if not overlap:
        return 0.0
    norm = math.log(a_len) + math.log(b_len)
    return overlap / norm if norm > 0 else float(overlap)


def _pagerank(weights: np.ndarray, damping: float = TEXTRANK_DAMPING, tol: float = 1e-8) -> np.ndarray:
    """Weighted PageRank by power iteration: WS(i) = (1-d) + d * sum_j w_ji / sum_k w_jk * WS(j)."""
    out_weight = weights.sum(axis=1)
    transition = np.divide(
        weights, out_weight[:, None], out=np.zeros_like(weights), where=out_weight[:, None] > 0
    )
    scores = np.ones(len(weights))
    for _ in range(200):
        updated = (1 - damping) + damping * transition.T @ scores
        if np.abs(updated - scores).max() < tol:
            return updated
        scores = updated
    return scores


def textrank_bullets(source: str, n: int = 3) -> list[str]:
    """The n most central sentences by TextRank, one per bullet, in article order.

    Sentences are jieba-segmented (function words removed); edges weigh word overlap normalised
    by log sentence lengths, as in the original TextRank paper; scores come from PageRank
    (damping 0.85). Ties go to the earlier sentence, so the result is deterministic.
    """
    sentences = list(dict.fromkeys(_sentences(source)))  # a repeated sentence counts once
    if len(sentences) <= n:
        return sentences
    words = [[w for w in jieba_tokens(s) if w not in _STOPWORDS] for s in sentences]
    sets = [set(w) for w in words]
    size = len(sentences)
    weights = np.zeros((size, size))
    for i in range(size):
        for j in range(i + 1, size):
            sim = _textrank_similarity(sets[i], len(words[i]), sets[j], len(words[j]))
            weights[i, j] = weights[j, i] = sim
    scores = _pagerank(weights)
    ranked = sorted(range(size), key=lambda i: (-round(float(scores[i]), 12), i))
    return [sentences[i] for i in sorted(ranked[:n])]


def _ngram_f(candidate: Sequence[str], reference: Sequence[str], k: int) -> float:
    """ROUGE-k F1 with clipped n-gram counts."""
    cand = Counter(tuple(candidate[i : i + k]) for i in range(len(candidate) - k + 1))
    ref = Counter(tuple(reference[i : i + k]) for i in range(len(reference) - k + 1))
    overlap = sum((cand & ref).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(cand.values())
    recall = overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def _mean_f(candidate: Sequence[str], reference: Sequence[str]) -> float:
    return (_ngram_f(candidate, reference, 1) + _ngram_f(candidate, reference, 2)) / 2


def mean_rouge12_f(bullets: Sequence[str], reference: Sequence[str]) -> float:
    """Mean of character ROUGE-1 F and ROUGE-2 F of the joined bullets against the joined reference.

    The objective the oracle maximises (a small self-contained ROUGE, not the harness metric).
    """
    return _mean_f(char_tokens("\n".join(bullets)), char_tokens("\n".join(reference)))


def oracle_bullets(
    source: str, reference: Sequence[str], n: int = 3, max_sentences: int | None = None
) -> list[str]:
    """Greedy extractive oracle. USES THE HUMAN REFERENCE: an upper bound, not a system.

    Repeatedly adds the source sentence that most increases the mean of character ROUGE-1 F and
    ROUGE-2 F of the selection against the joined reference; stops when no sentence improves the
    score (or at `max_sentences`). The F-measure sets the length, so the oracle is not held to
    fewer sentences than Lead, which takes ~300 characters; with a cap of n sentences it loses to
    Lead on articles whose lead is already close to the reference. The selected sentences, in
    article order, are cut into n bullets like Lead's. It shows how far pure sentence extraction
    could go, so model scores can be read against a ceiling.
    """
    sentences = list(dict.fromkeys(_sentences(source)))
    ref_tokens = char_tokens("\n".join(reference))
    sent_tokens = [char_tokens(s) for s in sentences]
    chosen: list[int] = []
    best = 0.0
    while max_sentences is None or len(chosen) < max_sentences:
        pick, pick_score = None, best
        for i in range(len(sentences)):
            if i in chosen:
                continue
            order = sorted([*chosen, i])
            score = _mean_f([t for j in order for t in sent_tokens[j]], ref_tokens)
            if score > pick_score + 1e-12:
                pick, pick_score = i, score
        if pick is None:
            break
        chosen.append(pick)
        best = pick_score
    picked = [sentences[i] for i in sorted(chosen)]
    if not picked:
        return []
    return [_join(picked[i:j]) for i, j in _balanced_groups([len(s) for s in picked], n)]


def _run_baseline(name: str, source: str, reference: Sequence[str] | None, n: int) -> list[str]:
    if name == "lead":
        return lead_bullets(source, n)
    if name == "textrank":
        return textrank_bullets(source, n)
    if name == "oracle":
        if not reference:
            raise ValueError("the oracle baseline needs the item's reference: pass baseline_kwargs(...)")
        return oracle_bullets(source, reference, n)
    raise ValueError(f"unknown baseline {name!r}: use one of {', '.join(BASELINES)}")


def format_reply(bullets: Sequence[str]) -> str:
    """The reply text: one `- bullet` line each, which parse_bullets reads back unchanged."""
    return "\n".join(f"- {b}" for b in bullets)


# --------------------------------------------------------------------------------------------
# litellm wiring.
# --------------------------------------------------------------------------------------------


def is_baseline_model(model: str) -> bool:
    """True for `harness/...` models: only these get `baseline_kwargs` merged into the call."""
    return model.startswith(PROVIDER + "/")


def baseline_kwargs(source: str, reference: Sequence[str], *, n: int = 3) -> dict[str, Any]:
    """Kwargs to merge into `litellm.acompletion(...)` for a `harness/` model.

    The item travels in litellm's `metadata` (it reaches the provider as
    `litellm_params["metadata"]`). If the caller also passes its own `metadata`, merge the two
    dicts rather than letting one replace the other.
    """
    return {"metadata": {METADATA_KEY: {"source": source, "reference": list(reference), "n": n}}}


_HANDLER: Any = None  # the one provider instance, created by register()


def _make_handler() -> Any:
    """Build the CustomLLM subclass lazily, so importing this module does not import litellm."""
    import litellm
    from litellm.llms.custom_llm import CustomLLMError

    class HarnessBaselineLLM(litellm.CustomLLM):
        """litellm provider `harness`: answers with an extractive baseline's bullets, at no cost."""

        def _respond(self, model: str, model_response: Any, litellm_params: dict | None) -> Any:
            name = model.split("/", 1)[1] if model.startswith(PROVIDER + "/") else model
            if name not in BASELINES:
                raise CustomLLMError(400, f"unknown baseline {name!r}: use one of {', '.join(BASELINES)}")
            item = ((litellm_params or {}).get("metadata") or {}).get(METADATA_KEY)
            if not isinstance(item, dict) or not item.get("source"):
                raise CustomLLMError(
                    400,
                    f"baseline {PROVIDER}/{name} needs the item (article and reference): pass "
                    "**baseline_kwargs(item.source, item.reference) to litellm.acompletion; "
                    "it does not read the article from the prompt",
                )
            try:
                bullets = _run_baseline(name, item["source"], item.get("reference"), int(item.get("n", 3)))
            except ValueError as exc:
                raise CustomLLMError(400, str(exc)) from exc
            model_response.choices[0].message.content = format_reply(bullets)
            model_response.choices[0].finish_reason = "stop"
            model_response.model = f"{PROVIDER}/{name}"
            model_response.usage = litellm.Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
            return model_response

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            return self._respond(model, kwargs["model_response"], kwargs.get("litellm_params"))

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            return self._respond(model, kwargs["model_response"], kwargs.get("litellm_params"))

    return HarnessBaselineLLM()


def register() -> None:
    """Register provider `harness` and its zero-cost models with litellm (idempotent).

    Safe to call before every run: the provider map gets exactly one `harness` entry, ours.
    """
    global _HANDLER
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm
    from litellm.utils import custom_llm_setup

    if _HANDLER is None:
        _HANDLER = _make_handler()
    entries = [e for e in litellm.custom_provider_map if e.get("provider") == PROVIDER]
    if len(entries) != 1 or entries[0].get("custom_handler") is not _HANDLER:
        litellm.custom_provider_map[:] = [
            e for e in litellm.custom_provider_map if e.get("provider") != PROVIDER
        ]
        litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": _HANDLER})
    custom_llm_setup()  # litellm does this on every call too; here so cost lookups work before one

    if any(f"{PROVIDER}/{name}" not in litellm.model_cost for name in BASELINES):
        zero = {
            "input_cost_per_token": 0.0,
            "output_cost_per_token": 0.0,
            "cache_creation_input_token_cost": 0.0,
            "cache_read_input_token_cost": 0.0,
            "litellm_provider": PROVIDER,
            "mode": "chat",
        }
        litellm.register_model({f"{PROVIDER}/{name}": dict(zero) for name in BASELINES})
