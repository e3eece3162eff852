"""Retry policy against what litellm really raises: a local OpenAI-compatible server over HTTP.

Every error case goes through `litellm.acompletion(model="openai/<case>", api_base=..., api_key="k",
num_retries=0)` to one scripted http.server (tests/fake_openai.py) on 127.0.0.1; the server picks
its reply by the model name and counts the requests per model.

The expected classes depend on the server's reply (status, error body), never on which litellm
exception class carries it: litellm releases differ there (a content-policy refusal is
ContentPolicyViolationError in 1.106.2, BadRequestError in 1.109.3), and
`test_classification_ignores_litellm_subclasses` checks each reply again with litellm's generic
APIError in place of whatever subclass the installed release raised.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from harness.llm.client import import_litellm
from harness.llm.limits import RateLimiter
from harness.llm.retry import (
    ERROR_CLASSES,
    MAX_RETRY_AFTER_S,
    MalformedResponseError,
    backoff_delay,
    call_with_retries,
    error_class,
    is_retryable,
    require_choices,
    retry_after_seconds,
)
from tests.fake_openai import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "请写要点解析"}]
RETRY_DATE_AHEAD_S = 30


def _error_body(message: str, type_: str | None = "invalid_request_error", code: Any = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}}).encode()


_CONTENT_POLICY = _error_body(
    "Your request was rejected as a result of our safety system.", code="content_policy_violation"
)
# Replies of real providers (error bodies as documented or seen), by status.
_POLICY_REPLIES = {
    # OpenAI's wording without the code, and the code with other wording
    "policy_msg": _error_body("Your request was rejected as a result of our safety system."),
    "policy_code": _error_body("Request rejected.", code="content_policy_violation"),
    "policy_azure": _error_body(
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        type_=None,
        code="content_filter",
    ),
    "policy_deepseek": _error_body("Content Exists Risk", code="invalid_request_error"),
    "policy_dashscope": _error_body(
        "Input data may contain inappropriate content.",
        type_="data_inspection_failed",
        code="data_inspection_failed",
    ),
}
_CONTEXT_REPLIES = {
    "ctx_code": _error_body("Too many input tokens for this model.", code="context_length_exceeded"),
    "ctx_dashscope": _error_body("Range of input length should be [1, 30720]", code="invalid_parameter"),
    "ctx_llamacpp": _error_body(
        "the request exceeds the available context size, try increasing it",
        type_="exceed_context_size_error",
        code=400,
    ),
}


def _reply_400(body: bytes) -> Callable[[int], Reply]:
    return lambda n: Reply(raw_body=body, status=400)


# model name -> reply for the n-th request (n from 1)
SCRIPTS: dict[str, Callable[[int], Reply]] = {
    "ok": lambda n: Reply("- 好"),
    "r429": lambda n: Reply("slow down", status=429, headers={"Retry-After": "2"}),
    "r429ms": lambda n: Reply("slow down", status=429, headers={"retry-after-ms": "1500"}),
    "r429date": lambda n: Reply(
        "slow down",
        status=429,
        headers={"Retry-After": email.utils.formatdate(time.time() + RETRY_DATE_AHEAD_S, usegmt=True)},
    ),
    "r503ra": lambda n: Reply("busy", status=503, headers={"Retry-After": "3"}),
    "r500": lambda n: Reply("boom", status=500),
    "r500html": lambda n: Reply(raw_body=b"<html>500 Internal Server Error</html>", status=500),
    "r502": lambda n: Reply("bad gateway", status=502),
    "r503": lambda n: Reply("unavailable", status=503),
    "r504": lambda n: Reply("gateway timeout", status=504),
    "r529": lambda n: Reply("overloaded", status=529),
    "r400": lambda n: Reply("bad request", status=400),
    "r401": lambda n: Reply("invalid api key", status=401),
    "r403": lambda n: Reply("forbidden", status=403),
    "r404": lambda n: Reply("no such model", status=404),
    "r422": lambda n: Reply("unprocessable", status=422),
    "ctx": lambda n: Reply("This model's maximum context length is 8192 tokens", status=400),
    "policy": lambda n: Reply(raw_body=_CONTENT_POLICY, status=400),
    **{name: _reply_400(body) for name, body in (_POLICY_REPLIES | _CONTEXT_REPLIES).items()},
    # a 200 whose body is an error object: litellm puts its code where the status code goes
    "policy200": lambda n: Reply(raw_body=_error_body("content filtered", type_=None, code="content_filter")),
    "r409": lambda n: Reply("conflict", status=409),
    "r413": lambda n: Reply("request entity too large", status=413),
    "badjson": lambda n: Reply(raw_body=b'{"id": "x", "choices": [{"index": 0, '),
    "html200": lambda n: Reply(raw_body=b"<html>proxy login</html>"),
    "empty200": lambda n: Reply(raw_body=b""),
    "list200": lambda n: Reply(raw_body=b"[1, 2]"),
    "nochoices": lambda n: Reply(raw_body=b'{"id": "x", "object": "chat.completion", "model": "x"}'),
    "badchoice": lambda n: Reply(raw_body=b'{"id": "x", "model": "x", "choices": [{"index": 0}]}'),
    "emptychoices": lambda n: Reply(raw_body=b'{"id": "x", "model": "x", "choices": []}'),
    "late": lambda n: Reply("- 迟到", delay_s=1.0),  # not "slow": a test id "slow" is a marker keyword
    # call_with_retries scenarios
    "flaky": lambda n: {
        1: Reply("slow down", status=429, headers={"Retry-After": "2"}),
        2: Reply("busy", status=503),
    }.get(n, Reply("- 第三次成功")),
    "always500": lambda n: Reply(f"boom {n}", status=500),
    "always400": lambda n: Reply("bad request", status=400),
    "flaky_limited": lambda n: Reply("boom", status=500) if n < 3 else Reply("- ok"),
}


class Server:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.fake = FakeOpenAI(self._script)

    def _script(self, body: dict[str, Any]) -> Reply:
        model = body.get("model", "")
        self.counts[model] += 1
        return SCRIPTS[model](self.counts[model])


@pytest.fixture(scope="module")
def server():
    srv = Server()
    with srv.fake:
        yield srv


@pytest.fixture(scope="module")
def litellm():
    return import_litellm()


def _call(litellm: Any, api_base: str, model: str, timeout: float = 5.0) -> Any:
    return litellm.acompletion(
        model=f"openai/{model}",
        messages=MESSAGES,
        api_base=api_base,
        api_key="k",
        num_retries=0,
        timeout=timeout,
    )


def _error(litellm: Any, api_base: str, model: str, timeout: float = 5.0) -> BaseException:
    async def run() -> BaseException:
        try:
            response = await _call(litellm, api_base, model, timeout)
        except Exception as exc:
            return exc
        raise AssertionError(f"{model}: no exception, got {response!r}")

    return asyncio.run(run())


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# ------------------------------------------------------------- real litellm exceptions
def test_429_is_retryable_with_retry_after_from_litellm_headers(server, litellm):
    exc = _error(litellm, server.fake.api_base, "r429")
    assert isinstance(exc, litellm.RateLimitError)
    assert is_retryable(exc) and error_class(exc) == "rate_limit"
    assert retry_after_seconds(exc) == 2.0
    # Where litellm 1.106.2 keeps the headers (exc.response.headers is rebuilt without them):
    assert exc.litellm_response_headers["retry-after"] == "2"
    assert server.counts["r429"] == 1  # num_retries=0: litellm/openai did not retry by themselves


def test_retry_after_ms_and_http_date(server, litellm):
    exc = _error(litellm, server.fake.api_base, "r429ms")
    assert retry_after_seconds(exc) == 1.5
    exc = _error(litellm, server.fake.api_base, "r429date")
    assert retry_after_seconds(exc) == pytest.approx(RETRY_DATE_AHEAD_S, abs=2.0)


def test_503_with_retry_after(server, litellm):
    exc = _error(litellm, server.fake.api_base, "r503ra")
    assert isinstance(exc, litellm.ServiceUnavailableError)
    assert is_retryable(exc) and error_class(exc) == "server_error"
    assert retry_after_seconds(exc) == 3.0


SERVER_ERRORS = [
    ("r500", 500, "server_error"),
    ("r500html", 500, "server_error"),
    ("r502", 502, "server_error"),
    ("r503", 503, "server_error"),
    ("r504", 504, "timeout"),
    ("r529", 529, "server_error"),
]
CLIENT_ERRORS = [
    ("r400", 400, "bad_request"),
    ("r401", 401, "auth"),
    ("r403", 403, "auth"),  # litellm maps 403 to APIError(403), not PermissionDeniedError
    ("r404", 404, "not_found"),
    ("r413", 413, "bad_request"),
    ("r422", 422, "bad_request"),
    ("ctx", 400, "context_window"),
    *[(name, 400, "context_window") for name in _CONTEXT_REPLIES],
    # litellm 1.106: ContentPolicyViolationError; 1.109: BadRequestError
    ("policy", 400, "content_policy"),
    *[(name, 400, "content_policy") for name in _POLICY_REPLIES],
]


def _status(exc: BaseException) -> Any:
    return getattr(exc, "status_code", None)


@pytest.mark.parametrize("model, status, cls", SERVER_ERRORS)
def test_server_errors_are_retryable(server, litellm, model, status, cls):
    exc = _error(litellm, server.fake.api_base, model)
    assert _status(exc) == status
    assert error_class(exc) == cls
    assert is_retryable(exc)
    assert retry_after_seconds(exc) is None


@pytest.mark.parametrize("model, status, cls", CLIENT_ERRORS)
def test_client_errors_are_not_retryable(server, litellm, model, status, cls):
    exc = _error(litellm, server.fake.api_base, model)
    assert _status(exc) == status
    assert error_class(exc) == cls
    assert not is_retryable(exc)


def test_409_is_retried_and_a_200_error_body_is_read(server, litellm):
    conflict = _error(litellm, server.fake.api_base, "r409")
    assert (_status(conflict), error_class(conflict), is_retryable(conflict)) == (409, "other", True)
    filtered = _error(litellm, server.fake.api_base, "policy200")
    assert error_class(filtered) == "content_policy" and not is_retryable(filtered)


@pytest.mark.parametrize(
    "model",
    [m for m, _, _ in SERVER_ERRORS + CLIENT_ERRORS]
    + ["r429", "r409", "policy200", "badjson", "list200", "nochoices", "badchoice", "late", "refused"],
)
def test_classification_ignores_litellm_subclasses(server, litellm, model):
    """Each reply again as litellm's generic APIError (which one release or another may raise for it:
    1.106 and 1.109 already differ on content policy): the status and the body decide, not the class."""
    if model == "refused":
        exc = _error(litellm, f"http://127.0.0.1:{_closed_port()}/v1", "any", timeout=2)
    else:
        exc = _error(litellm, server.fake.api_base, model, timeout=0.3 if model == "late" else 5.0)
    expected = error_class(exc), is_retryable(exc)
    exc.__class__ = litellm.APIError
    assert (error_class(exc), is_retryable(exc)) == expected, type(exc).__mro__


@pytest.mark.parametrize("model", ["badjson", "html200", "empty200", "list200", "nochoices", "badchoice"])
def test_malformed_200_bodies_are_retryable(server, litellm, model):
    exc = _error(litellm, server.fake.api_base, model)
    # litellm reports all of these as a 500 (InternalServerError), like a real 500: the chain tells.
    assert _status(exc) == 500
    assert error_class(exc) == "malformed_response"
    assert is_retryable(exc)


def test_empty_choices_pass_litellm_and_require_choices_flags_them(server, litellm):
    response = asyncio.run(_call(litellm, server.fake.api_base, "emptychoices"))
    assert response.choices == []  # no exception from litellm
    with pytest.raises(MalformedResponseError) as info:
        require_choices(response)
    assert error_class(info.value) == "malformed_response" and is_retryable(info.value)
    ok = asyncio.run(_call(litellm, server.fake.api_base, "ok"))
    assert require_choices(ok).message.content == "- 好"


def test_timeout_is_retryable(server, litellm):
    started = time.perf_counter()
    exc = _error(litellm, server.fake.api_base, "late", timeout=0.3)
    assert time.perf_counter() - started < 0.9
    assert _status(exc) == 408  # litellm.Timeout: a client-side timeout is reported as 408
    assert error_class(exc) == "timeout" and is_retryable(exc)


def test_connection_refused_is_retryable(litellm):
    exc = _error(litellm, f"http://127.0.0.1:{_closed_port()}/v1", "any", timeout=2)
    # litellm reports a refused connection as a 500 (InternalServerError); the chain holds the cause.
    assert _status(exc) == 500
    assert error_class(exc) == "connection" and is_retryable(exc)


def test_litellm_catch_all_apiconnectionerror_is_not_a_connection_error(litellm):
    """litellm wraps any unmapped error (here a bug in a custom provider) as APIConnectionError."""
    from litellm import CustomLLM
    from litellm.utils import custom_llm_setup

    class Broken(CustomLLM):
        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            raise ValueError("bug in the provider")

    entry = {"provider": "retrytestbroken", "custom_handler": Broken()}
    litellm.custom_provider_map.append(entry)
    custom_llm_setup()
    try:

        async def run() -> BaseException:
            try:
                await litellm.acompletion(model="retrytestbroken/x", messages=MESSAGES, num_retries=0)
            except Exception as exc:
                return exc
            raise AssertionError("no exception")

        exc = asyncio.run(run())
    finally:
        litellm.custom_provider_map.remove(entry)
        custom_llm_setup()
    assert type(exc).__name__ == "APIConnectionError"
    assert error_class(exc) == "other" and not is_retryable(exc)


# ------------------------------------------------------- call_with_retries, real server
class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def test_call_with_retries_succeeds_after_two_failures(server, litellm):
    sleep = FakeSleep()
    retries: list[tuple[int, str, float]] = []
    base, cap = 1.0, 60.0
    response = asyncio.run(
        call_with_retries(
            lambda: _call(litellm, server.fake.api_base, "flaky"),
            max_retries=3,
            base=base,
            cap=cap,
            rng=random.Random(0),
            sleep=sleep,
            on_retry=lambda n, exc, delay: retries.append((n, error_class(exc), delay)),
        )
    )
    assert response.choices[0].message.content == "- 第三次成功"
    assert server.counts["flaky"] == 3
    assert [(n, cls) for n, cls, _ in retries] == [(1, "rate_limit"), (2, "server_error")]
    assert sleep.delays == [d for _, _, d in retries]
    assert 2.0 <= sleep.delays[0] <= 2.0 + 0.2  # Retry-After: 2, plus at most 10% jitter
    assert 0.0 <= sleep.delays[1] <= min(cap, base * 2)  # attempt 1: full jitter up to 2 s


def test_call_with_retries_gives_up_with_the_last_exception(server, litellm):
    sleep = FakeSleep()
    seen: list[BaseException] = []

    async def attempt() -> Any:
        try:
            return await _call(litellm, server.fake.api_base, "always500")
        except Exception as exc:
            seen.append(exc)
            raise

    with pytest.raises(litellm.InternalServerError) as info:
        asyncio.run(
            call_with_retries(attempt, max_retries=2, base=0.5, cap=4, rng=random.Random(1), sleep=sleep)
        )
    assert server.counts["always500"] == 3 and len(seen) == 3
    assert info.value is seen[-1] and "boom 3" in str(info.value)
    assert len(sleep.delays) == 2
    assert 0 <= sleep.delays[0] <= 0.5 and 0 <= sleep.delays[1] <= 1.0


def test_call_with_retries_does_not_retry_400(server, litellm):
    sleep = FakeSleep()
    with pytest.raises(litellm.BadRequestError):
        asyncio.run(
            call_with_retries(
                lambda: _call(litellm, server.fake.api_base, "always400"),
                max_retries=5,
                base=1,
                cap=10,
                rng=random.Random(0),
                sleep=sleep,
            )
        )
    assert server.counts["always400"] == 1 and sleep.delays == []


def test_each_attempt_reacquires_the_limiter(server, litellm):
    limiter = RateLimiter(1, rpm=100)

    async def attempt() -> Any:
        async with limiter.slot(50):
            return await _call(litellm, server.fake.api_base, "flaky_limited")

    sleep = FakeSleep()
    response = asyncio.run(
        call_with_retries(attempt, max_retries=3, base=0.1, cap=1, rng=random.Random(0), sleep=sleep)
    )
    assert response.choices[0].message.content == "- ok"
    assert limiter.stats().requests == 3 and limiter.stats().tokens == 150
    assert limiter.stats().in_flight == 0


# ------------------------------------------------------------------ pure functions
def test_backoff_full_jitter_bounds_and_spread():
    rng = random.Random(42)
    for base in (0.25, 1.0, 3.0):
        for cap in (5.0, 60.0):
            for attempt in range(12):
                ceiling = min(cap, base * 2**attempt)
                draws = [backoff_delay(attempt, base=base, cap=cap, rng=rng) for _ in range(400)]
                assert all(0.0 <= d <= ceiling for d in draws)
                # full jitter: spread over the whole [0, ceiling], not bunched near the top
                assert min(draws) < 0.1 * ceiling and max(draws) > 0.9 * ceiling
                assert 0.4 * ceiling < sum(draws) / len(draws) < 0.6 * ceiling
    assert backoff_delay(10_000, base=1.0, cap=60.0, rng=rng) <= 60.0  # no overflow


def test_backoff_with_retry_after():
    rng = random.Random(7)
    for retry_after in (0.0, 0.5, 2.0, 30.0, 299.5):
        for attempt in (0, 3, 9):
            draws = [
                backoff_delay(attempt, base=1.0, cap=60.0, retry_after=retry_after, rng=rng)
                for _ in range(300)
            ]
            assert all(retry_after <= d <= min(retry_after + 1.0, MAX_RETRY_AFTER_S) for d in draws)
            if retry_after >= 2:
                assert max(draws) - min(draws) > 0  # jittered, not lockstep
    assert backoff_delay(0, retry_after=10_000, rng=rng) == MAX_RETRY_AFTER_S
    assert backoff_delay(0, retry_after=100, rng=rng, max_retry_after=50) == 50
    assert 2.0 <= backoff_delay(0, retry_after=2.0, rng=rng) <= 2.2
    assert 0.0 <= backoff_delay(0, retry_after=-5, rng=rng) <= 0.1


def test_backoff_is_deterministic_for_a_seed_and_validates():
    a = [backoff_delay(i % 6, rng=random.Random(3)) for i in range(10)]
    b = [backoff_delay(i % 6, rng=random.Random(3)) for i in range(10)]
    assert a == b
    with pytest.raises(ValueError):
        backoff_delay(-1, rng=random.Random(0))


class _HeaderError(Exception):
    def __init__(self, headers: Any = None, status_code: int | None = None) -> None:
        super().__init__("synthetic")
        self.headers = headers
        if status_code is not None:
            self.status_code = status_code


def test_retry_after_parsing():
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    past = email.utils.formatdate(now - 42, usegmt=True)
    cases = {
        "7": 7.0,
        "2.5": 2.5,
        date: 42.0,
        past: 0.0,
        "soon": None,
        "-3": None,
        "nan": None,
        "": None,
    }
    for value, expected in cases.items():
        got = retry_after_seconds(_HeaderError({"Retry-After": value}), now=now)
        assert got == expected, (value, got)
    # retry-after-ms wins, as in the OpenAI SDK; plain dicts are matched case-insensitively
    assert retry_after_seconds(_HeaderError({"Retry-After": "9", "Retry-After-Ms": "250"})) == 0.25
    assert retry_after_seconds(_HeaderError({"retry-after-ms": "junk", "retry-after": "4"})) == 4.0
    assert retry_after_seconds(_HeaderError(None)) is None
    # the three places litellm/openai keep response headers
    import httpx

    via_litellm = _HeaderError(None)
    via_litellm.litellm_response_headers = httpx.Headers({"Retry-After": "11"})
    via_litellm.response = httpx.Response(429)  # what litellm leaves in exc.response: no headers
    assert retry_after_seconds(via_litellm) == 11.0
    via_response = _HeaderError(None)
    via_response.response = httpx.Response(503, headers={"retry-after": "12"})
    assert retry_after_seconds(via_response) == 12.0
    assert retry_after_seconds(ValueError("no headers")) is None
    # found on an exception further down the chain
    try:
        try:
            raise _HeaderError({"retry-after": "5"})
        except _HeaderError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert retry_after_seconds(outer) == 5.0


def test_error_class_of_plain_and_constructed_exceptions(litellm):
    assert error_class(TimeoutError()) == "timeout" and is_retryable(TimeoutError())
    assert error_class(ConnectionResetError()) == "connection" and is_retryable(ConnectionRefusedError())
    assert error_class(ValueError("x")) == "other" and not is_retryable(ValueError("x"))
    assert error_class(MalformedResponseError("x")) == "malformed_response"
    assert not is_retryable(asyncio.CancelledError())
    cw = litellm.ContextWindowExceededError(message="too long", model="m", llm_provider="openai")
    cp = litellm.ContentPolicyViolationError(message="no", model="m", llm_provider="openai")
    assert isinstance(cw, litellm.BadRequestError) and isinstance(cp, litellm.BadRequestError)
    assert (error_class(cw), error_class(cp)) == ("context_window", "content_policy")
    assert not is_retryable(cw) and not is_retryable(cp)
    # litellm.Timeout subclasses openai.APITimeoutError/APIConnectionError, not litellm.APIConnectionError
    timeout = litellm.Timeout(message="t", model="m", llm_provider="openai")
    assert not isinstance(timeout, litellm.APIConnectionError)
    assert error_class(timeout) == "timeout"
    assert (
        error_class(litellm.APIError(status_code=409, message="lock", llm_provider="o", model="m")) == "other"
    )
    assert is_retryable(litellm.APIError(status_code=409, message="lock", llm_provider="o", model="m"))
    assert (
        error_class(litellm.APIError(status_code=418, message="tea", llm_provider="o", model="m")) == "other"
    )
    assert not is_retryable(litellm.APIError(status_code=418, message="tea", llm_provider="o", model="m"))
    assert error_class(_HeaderError(status_code=503)) == "server_error"
    for exc in (cw, cp, timeout, ValueError()):
        assert error_class(exc) in ERROR_CLASSES


def test_call_with_retries_synthetic():
    sleep = FakeSleep()
    calls = {"n": 0}

    async def fails_twice() -> str:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise ConnectionResetError(f"reset {calls['n']}")
        return "done"

    assert (
        asyncio.run(
            call_with_retries(fails_twice, max_retries=2, base=1, cap=8, rng=random.Random(0), sleep=sleep)
        )
        == "done"
    )
    assert len(sleep.delays) == 2

    # max_retries=0: one attempt only; the raised error does not chain earlier attempts
    calls["n"] = 0
    with pytest.raises(ConnectionResetError, match="reset 1"):
        asyncio.run(
            call_with_retries(fails_twice, max_retries=0, base=1, cap=8, rng=random.Random(0), sleep=sleep)
        )
    calls["n"] = -5
    with pytest.raises(ConnectionResetError) as info:
        asyncio.run(
            call_with_retries(fails_twice, max_retries=3, base=1, cap=8, rng=random.Random(0), sleep=sleep)
        )
    assert info.value.__context__ is None

    async def cancelled() -> None:
        calls["n"] += 1
        raise asyncio.CancelledError

    calls["n"] = 0
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(
            call_with_retries(cancelled, max_retries=3, base=1, cap=8, rng=random.Random(0), sleep=sleep)
        )
    assert calls["n"] == 1
    assert math.isfinite(sum(sleep.delays))


def test_error_body_decides_a_4xx_without_litellm():
    """Status and body alone (no litellm class): what any release's exception carries."""

    def err(status: int, **fields: Any) -> Exception:
        exc = _HeaderError(status_code=status)
        for name, value in fields.items():
            setattr(exc, name, value)
        return exc

    policy = {"message": "Request rejected.", "code": "content_policy_violation"}
    assert error_class(err(400, body=policy)) == "content_policy"
    assert error_class(err(400, code="content_filter")) == "content_policy"
    too_long = "This model's maximum context length is 8192 tokens"
    assert error_class(err(400, message=too_long)) == "context_window"
    assert error_class(err(422, body={"code": "context_length_exceeded"})) == "context_window"
    assert error_class(err(400, message="bad request")) == "bad_request"
    assert error_class(err(403, body=policy)) == "content_policy"
    # a 429 or 401 stays what its status says, whatever the body mentions
    assert error_class(err(429, body=policy)) == "rate_limit"
    assert error_class(err(401, message="context_length_exceeded")) == "auth"
    # the prompt is not the server's word: litellm_debug_info (which quotes it) is not read
    assert error_class(err(400, litellm_debug_info="Messages: safety system content_filter")) == "bad_request"
    assert not is_retryable(err(400, body=policy))
