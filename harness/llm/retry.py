"""Retry policy for model calls: which litellm errors to retry, how long to wait, and a short cause.

The harness calls litellm with `num_retries=0` and retries here, so that every attempt re-acquires
the model's rate limiter (`harness.llm.limits`), the server's Retry-After is honoured, and each
failure's cause is recorded.

How a failure is classified. litellm's exception classes for HTTP error replies move between
releases (a content-policy refusal from an OpenAI-compatible server is ContentPolicyViolationError
in 1.106.2 and plain BadRequestError in 1.109.3; litellm also maps 403 to APIError, and 422 to
BadRequestError), so `error_class` does not read litellm's subclass names. It reads:

1. the HTTP status the server answered with (`status_code` of the exception or its chain), and for
   a 4xx the error body the server sent (`code`, `type`, `message` of the `{"error": {...}}` object,
   which litellm and the openai SDK keep on the exceptions as `body`/`code`/`type`/`message`):
   context-length and content-policy wording (OpenAI, Azure, DeepSeek, DashScope, llama.cpp, ...)
   makes a 4xx `context_window` or `content_policy`; the status decides the rest;
2. otherwise the transport: a timeout, a refused/cut connection, or a body that is not a usable
   completion, wherever litellm buried it in the `__cause__`/`__context__` chain (litellm reports
   a refused connection and a garbled 200 body both as InternalServerError 500);
3. otherwise the status code alone (5xx server_error, litellm.APIError carries e.g. 529).

    server answer                                   error_class          retried
    429                                             rate_limit           yes (Retry-After honoured)
    500, 502, 503, 529 and other 5xx               server_error         yes
    504, 408, no answer within `timeout`            timeout              yes
    connection refused / DNS / body cut short       connection           yes
    200 + invalid JSON / not an object / no or      malformed_response   yes
      non-list `choices` / choices of the wrong
      shape / `choices: []` (MalformedResponseError
      from `require_choices`, below)
    400 "maximum context length ..." or code        context_window       no
      context_length_exceeded (also 413/422)
    400 code content_policy_violation /             content_policy       no
      content_filter, "safety system", DeepSeek's
      "Content Exists Risk", DashScope's
      data_inspection_failed, ...
    400, 405, 411, 413, 414, 415, 422 otherwise     bad_request          no
    401, 403, 407                                   auth                 no
    404                                             not_found            no
    409, 425                                        other                yes (as the OpenAI SDK does)
    other 4xx; litellm's catch-all APIConnectionError other             no
      with no transport error under it (a bug or
      an unmapped error in a custom provider)

Checked over real HTTP against tests/fake_openai.py with litellm 1.106.2 and 1.109.3
(tests/test_retry.py); the only litellm class looked at is its catch-all APIConnectionError, and
the transport classes are Python's, httpx's, aiohttp's and the openai SDK's own.

Response headers: litellm attaches the HTTP response headers to the exception as
`exc.litellm_response_headers` (an httpx.Headers). `exc.response.headers` is EMPTY for the mapped
status errors (litellm rebuilds `exc.response` without them), and `exc.headers` is only set by
litellm's proxy; `retry_after_seconds` looks at all three, on every exception of the chain.

Nothing here imports litellm: an exception of a litellm/openai/httpx class implies that module is
already loaded, so the classes are looked up in `sys.modules`.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

__all__ = [
    "ERROR_CLASSES",
    "MAX_RETRY_AFTER_S",
    "RETRYABLE_CLASSES",
    "MalformedResponseError",
    "backoff_delay",
    "call_with_retries",
    "error_class",
    "is_retryable",
    "require_choices",
    "retry_after_seconds",
]

T = TypeVar("T")

ERROR_CLASSES = (
    "rate_limit",
    "server_error",
    "timeout",
    "connection",
    "malformed_response",
    "bad_request",
    "auth",
    "not_found",
    "context_window",
    "content_policy",
    "other",
)
RETRYABLE_CLASSES = frozenset({"rate_limit", "server_error", "timeout", "connection", "malformed_response"})
# Retried although their class is "other" (as the OpenAI SDK does: 409 is a lock timeout there).
_RETRYABLE_STATUS = frozenset({409, 425})
MAX_RETRY_AFTER_S = 300.0

# Messages litellm puts on the exceptions it raises for a 200 whose body is not a usable completion.
_MALFORMED_MARKERS = (
    "Empty or invalid response from LLM endpoint",
    "provider returned a response with no 'choices'",
    "provider returned 'choices' that is not a list",
    "Invalid response object",
)
_CHAIN_LIMIT = 32

# Wording of a 4xx error body (code, type or message, lower-cased) that says the input does not fit
# the model's context. litellm's own list (ExceptionCheckers) plus DashScope's; checked before the
# content-policy markers, as litellm does.
_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "maximum context limit",
    "exceed context limit",
    "exceeds the available context size",  # llama.cpp
    "longer than the model's context length",
    "exceeds the maximum number of tokens allowed",
    "input tokens exceed the configured limit",
    "`inputs` tokens + `max_new_tokens` must be",
    "range of input length should be",  # DashScope (Qwen)
    "prompt is too long",
)
# ... that says a content policy or safety filter refused the request.
_POLICY_MARKERS = (
    "content_policy_violation",
    "content_filter",  # Azure OpenAI's code (also content_filter_policy)
    "responsibleaipolicyviolation",
    "content management policy",
    "as a result of our safety system",
    "as a result of the safety system",
    "violating our usage policy",
    "content exists risk",  # DeepSeek
    "data_inspection_failed",  # DashScope (Qwen)
    "datainspectionfailed",
    "inappropriate content",
    "considered high risk",  # Moonshot
)
# Fields of an exception that hold what the server said (never litellm_debug_info: it has the prompt).
_BODY_FIELDS = ("code", "type", "body", "message")


class MalformedResponseError(Exception):
    """A response that parsed but cannot be used (e.g. `choices: []`, which litellm lets through)."""


def require_choices(response: Any) -> Any:
    """Return `response.choices[0]`, or raise MalformedResponseError if there is no usable choice."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise MalformedResponseError(f"response has no choices: {str(response)[:300]}")
    first = choices[0]
    if getattr(first, "message", None) is None:
        raise MalformedResponseError(f"first choice has no message: {str(first)[:300]}")
    return first


# ----------------------------------------------------------------------------- helpers
def _mod_class(module: str, name: str) -> type | None:
    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls if isinstance(cls, type) else None


def _isinstance(exc: BaseException, module: str, *names: str) -> bool:
    for name in names:
        cls = _mod_class(module, name)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """exc, then its cause (or context, unless suppressed), outermost first."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen and len(seen) < _CHAIN_LIMIT:
        seen.add(id(e))
        yield e
        e = e.__cause__ if e.__cause__ is not None else (None if e.__suppress_context__ else e.__context__)


def _status_code(exc: BaseException) -> int | None:
    for value in (
        getattr(exc, "status_code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
    ):
        try:
            code = int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if 100 <= code <= 599:
            return code
    return None


def _is_litellm_exc(e: BaseException) -> bool:
    return type(e).__module__.startswith("litellm")


def _is_timeout(e: BaseException) -> bool:
    return (
        isinstance(e, TimeoutError)  # asyncio.TimeoutError is TimeoutError; aiohttp's timeouts too
        or _isinstance(e, "openai", "APITimeoutError")  # litellm.Timeout subclasses it
        or _isinstance(e, "httpx", "TimeoutException")
    )


def _is_connection(e: BaseException) -> bool:
    if _is_timeout(e):
        return False
    if isinstance(e, ConnectionError):
        return True
    if _isinstance(e, "openai", "APIConnectionError"):
        # litellm.APIConnectionError is litellm's catch-all for unmapped errors (even a ValueError
        # in a custom provider): only the openai SDK's own one means the connection failed.
        return not _is_litellm_exc(e)
    if _isinstance(e, "httpx", "TransportError"):
        return True
    if _isinstance(e, "aiohttp", "ClientConnectionError", "ClientPayloadError"):
        return True
    return type(e).__name__ == "gaierror"  # socket.gaierror: DNS failure


def _is_malformed(e: BaseException) -> bool:
    if isinstance(e, MalformedResponseError | json.JSONDecodeError | UnicodeDecodeError):
        return True
    if _isinstance(e, "httpx", "DecodingError") or _isinstance(e, "openai", "APIResponseValidationError"):
        return True
    text = str(getattr(e, "message", None) or e)
    return any(marker in text for marker in _MALFORMED_MARKERS)


def _server_text(exc: BaseException) -> str:
    """What the server said about an error (error code, type and message of its body), lower-cased,
    from every exception of the chain."""
    parts: list[str] = []
    for e in _chain(exc):
        for name in _BODY_FIELDS:
            value = getattr(e, name, None)
            if value is None:
                continue
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False, default=str)
            parts.append(str(value))
        if getattr(e, "message", None) is None:
            parts.append(str(e))
        status = getattr(e, "status_code", None)
        if isinstance(status, str) and not status.strip().isdigit():
            # A 200 carrying {"error": {"code": "content_filter"}}: litellm puts the code here.
            parts.append(status)
    return "\n".join(parts).lower()


def _says(text: str, markers: tuple[str, ...]) -> bool:
    return any(marker in text for marker in markers)


def _litellm_says(exc: BaseException, name: str) -> bool:
    """litellm's own verdict where a release has one (a hint only: the body decides without it)."""
    return any(_isinstance(e, "litellm", name) for e in _chain(exc))


def _client_error_class(exc: BaseException, status: int) -> str:
    """A 4xx reply: the status, refined by the error body (context length, content policy)."""
    if status == 429:
        return "rate_limit"
    if status not in (401, 404, 407):
        text = _server_text(exc)
        if _says(text, _CONTEXT_MARKERS) or _litellm_says(exc, "ContextWindowExceededError"):
            return "context_window"
        if _says(text, _POLICY_MARKERS) or _litellm_says(exc, "ContentPolicyViolationError"):
            return "content_policy"
    if status in (401, 403, 407):
        return "auth"
    if status == 404:
        return "not_found"
    if status in (400, 405, 411, 413, 414, 415, 422):
        return "bad_request"
    return "other"


# ------------------------------------------------------------------------------ public
def error_class(exc: BaseException) -> str:
    """A short stable cause for result rows and the leaderboard (one of ERROR_CLASSES).

    Decided by the HTTP status and the server's error body, not by litellm's exception subclass
    (those change between litellm releases): see the module docstring."""
    if isinstance(exc, MalformedResponseError):
        return "malformed_response"
    # 1. The server answered with a 4xx: its status and error body decide (408 is a timeout).
    status = _status_code(exc)
    if status is not None and 400 <= status < 500 and status != 408:
        return _client_error_class(exc, status)
    # 2. Transport and decoding failures, wherever litellm buried them in the chain.
    for e in _chain(exc):
        if _is_timeout(e):
            return "timeout"
        if _is_connection(e):
            return "connection"
        if _is_malformed(e):
            return "malformed_response"
    # 3. litellm's catch-all with no transport error under it: a bug or unmapped error, not the network.
    if _isinstance(exc, "litellm", "APIConnectionError"):
        return "other"
    # 4. The status code (litellm.APIError carries e.g. 529); none: what the body says, if anything.
    if status is None:
        status = next((s for s in map(_status_code, _chain(exc)) if s is not None), None)
    if status is not None:
        if status == 408 or status == 504:
            return "timeout"
        if status >= 500:
            return "server_error"
        if 400 <= status < 500:
            return _client_error_class(exc, status)
        return "other"
    text = _server_text(exc)
    if _says(text, _CONTEXT_MARKERS):
        return "context_window"
    if _says(text, _POLICY_MARKERS):
        return "content_policy"
    return "other"


def is_retryable(exc: BaseException) -> bool:
    """True for rate limits, 5xx, timeouts, connection errors and malformed bodies."""
    if not isinstance(exc, Exception):  # CancelledError, KeyboardInterrupt, ...
        return False
    cls = error_class(exc)
    if cls in RETRYABLE_CLASSES:
        return True
    return cls == "other" and _status_code(exc) in _RETRYABLE_STATUS


def _headers_of(e: BaseException) -> Iterator[Any]:
    yield getattr(e, "litellm_response_headers", None)
    yield getattr(e, "headers", None)
    try:
        response = getattr(e, "response", None)
    except Exception:  # some SDK errors raise on .response when there is none
        response = None
    yield getattr(response, "headers", None)


def _header(headers: Any, name: str) -> str | None:
    if not headers or not hasattr(headers, "get"):
        return None
    value = headers.get(name)
    if value is None and hasattr(headers, "items"):  # a plain dict: case-insensitive lookup
        for key, val in headers.items():
            if isinstance(key, str) and key.lower() == name:
                value = val
                break
    return None if value is None else str(value).strip()


def _parse_retry_after(headers: Any, now: float) -> float | None:
    ms = _header(headers, "retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000.0
            if math.isfinite(value) and value >= 0:
                return value
        except ValueError:
            pass
    raw = _header(headers, "retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        return max(0.0, float(email.utils.mktime_tz(parsed)) - now)
    except (TypeError, ValueError, OverflowError):
        return None


def retry_after_seconds(exc: BaseException, *, now: float | None = None) -> float | None:
    """The server's requested wait in seconds (`retry-after-ms`, or `Retry-After` as seconds or an
    HTTP date; a date in the past gives 0), or None. `now` (epoch seconds) is for tests."""
    when = time.time() if now is None else now
    for e in _chain(exc):
        for headers in _headers_of(e):
            value = _parse_retry_after(headers, when)
            if value is not None:
                return value
    return None


def backoff_delay(
    attempt: int,
    *,
    base: float = 1.0,
    cap: float = 60.0,
    retry_after: float | None = None,
    rng: random.Random,
    max_retry_after: float = MAX_RETRY_AFTER_S,
) -> float:
    """Seconds to wait before retry number `attempt + 1` (attempt 0 = after the first failure).

    Without Retry-After: full jitter, uniform(0, min(cap, base * 2**attempt)).
    With Retry-After r: r plus a small jitter, uniform(0, min(1, 0.1 * max(r, base))), so that
    clients told the same r do not return in lockstep; never less than r, but at most
    `max_retry_after` (a server asking for longer gets `max_retry_after`).
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if base < 0 or cap < 0:
        raise ValueError(f"base and cap must be >= 0, got base={base}, cap={cap}")
    if retry_after is not None and math.isfinite(retry_after):
        r = min(max(float(retry_after), 0.0), max_retry_after)
        jitter = rng.uniform(0.0, min(1.0, 0.1 * max(r, base)))
        return min(r + jitter, max_retry_after)
    ceiling = cap if attempt >= 64 else min(cap, base * 2.0**attempt)
    return rng.uniform(0.0, ceiling)


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    max_retries: int,
    base: float,
    cap: float,
    rng: random.Random,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    max_retry_after: float = MAX_RETRY_AFTER_S,
) -> T:
    """`await fn()`, retrying retryable errors up to `max_retries` times.

    Each retry waits `backoff_delay(...)` (honouring the server's Retry-After) and is reported first
    as `on_retry(n, exc, delay)`, n = 1 for the first retry. A non-retryable error is raised at
    once, and after the last attempt the last error is raised (original traceback). `fn` should
    acquire the rate limiter itself, so that every attempt is throttled. Cancellation is never
    retried.
    """
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    attempt = 0
    while True:
        delay = 0.0
        try:
            return await fn()
        except Exception as exc:
            if attempt >= max_retries or not is_retryable(exc):
                raise
            delay = backoff_delay(
                attempt,
                base=base,
                cap=cap,
                retry_after=retry_after_seconds(exc),
                rng=rng,
                max_retry_after=max_retry_after,
            )
            if on_retry is not None:
                on_retry(attempt + 1, exc, delay)
        # Outside the handler, so the next attempt's error does not chain this one as __context__.
        attempt += 1
        await sleep(delay)
