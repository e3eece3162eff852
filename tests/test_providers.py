"""Model calls through litellm over real HTTP to a scripted OpenAI-compatible server."""

from __future__ import annotations

import asyncio

import pytest

from harness.config import ConfigError, ModelConfig
from harness.llm.client import Provider, preflight
from tests.fake_openai import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "请写要点解析"}]


def _model(api_base: str, **kw) -> ModelConfig:
    defaults = dict(
        name="fake",
        litellm_model="openai/fake-model",
        api_base=api_base,
        timeout_s=5,
        num_retries=0,
        input_cost_per_token=1e-6,
        output_cost_per_token=2e-6,
    )
    return ModelConfig(**{**defaults, **kw})


def test_completion_text_tokens_and_cost():
    with FakeOpenAI(
        lambda body: Reply("- 第一条\n- 第二条", prompt_tokens=120, completion_tokens=30)
    ) as server:
        comp = asyncio.run(Provider(_model(server.api_base)).complete(MESSAGES))
        assert server.requests[0]["model"] == "fake-model"
        assert server.requests[0]["messages"] == MESSAGES
        assert server.requests[0]["temperature"] == 0.0
    assert comp.ok and comp.text == "- 第一条\n- 第二条"
    assert (comp.prompt_tokens, comp.completion_tokens) == (120, 30)
    assert comp.cost_usd == pytest.approx(120 * 1e-6 + 30 * 2e-6)
    assert comp.finish_reason == "stop"


def test_server_error_is_retried_then_succeeds():
    calls = {"n": 0}

    def script(body):
        calls["n"] += 1
        return Reply("服务繁忙", status=500) if calls["n"] == 1 else Reply("- 好")

    with FakeOpenAI(script) as server:
        comp = asyncio.run(Provider(_model(server.api_base, num_retries=2)).complete(MESSAGES))
        assert len(server.requests) == 2
    assert comp.ok and comp.text == "- 好"


def test_persistent_error_is_returned_not_raised():
    with FakeOpenAI(lambda body: Reply("bad request text", status=400)) as server:
        comp = asyncio.run(Provider(_model(server.api_base)).complete(MESSAGES))
    assert not comp.ok
    assert comp.error_type == "BadRequestError"
    assert "bad request text" in comp.error_message


def test_timeout_is_recorded():
    with FakeOpenAI(lambda body: Reply("- 迟到", delay_s=3)) as server:
        comp = asyncio.run(Provider(_model(server.api_base, timeout_s=0.5)).complete(MESSAGES))
    assert not comp.ok
    assert "Timeout" in comp.error_type


def test_unknown_price_is_none_not_zero():
    with FakeOpenAI(lambda body: Reply("- 好")) as server:
        model = _model(
            server.api_base,
            litellm_model="openai/never-priced-model",
            input_cost_per_token=None,
            output_cost_per_token=None,
        )
        comp = asyncio.run(Provider(model).complete(MESSAGES))
    assert comp.ok and comp.cost_usd is None


def test_key_from_env_is_sent_and_scrubbed_from_errors(monkeypatch):
    monkeypatch.setenv("FAKE_TEST_KEY", "canary-key-123456")
    with FakeOpenAI(lambda body: Reply("key canary-key-123456 is invalid", status=401)) as server:
        comp = asyncio.run(Provider(_model(server.api_base, api_key_env="FAKE_TEST_KEY")).complete(MESSAGES))
        assert server.headers[0]["authorization"] == "Bearer canary-key-123456"
    assert not comp.ok
    assert "canary-key-123456" not in comp.error_message


def test_preflight_names_missing_env_var(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = ModelConfig(name="gpt-4o-mini", litellm_model="openai/gpt-4o-mini", api_key_env="OPENAI_API_KEY")
    with pytest.raises(
        ConfigError, match=r"OPENAI_API_KEY.*model.api_key_env in the config of model .gpt-4o-mini."
    ):
        preflight(model)


def test_preflight_catches_provider_key_without_api_key_env(monkeypatch):
    monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="DEEPSEEK_API_KEY"):
        preflight(ModelConfig(name="ds", litellm_model="deepseek/deepseek-chat"))


def test_preflight_passes_for_baselines_and_local_servers():
    preflight(ModelConfig(name="lead", litellm_model="harness/lead"))
    preflight(ModelConfig(name="local", litellm_model="openai/x", api_base="http://127.0.0.1:1/v1"))


def test_latency_is_the_answering_attempt_and_elapsed_adds_queue_wait():
    # max_concurrency=1: the second call waits ~0.4 s for the slot; its latency must not include it.
    with FakeOpenAI(lambda body: Reply("- 好", delay_s=0.4)) as server:
        provider = Provider(_model(server.api_base, max_concurrency=1))

        async def both():
            return await asyncio.gather(provider.complete(MESSAGES), provider.complete(MESSAGES))

        first, second = asyncio.run(both())
    assert first.ok and second.ok
    for comp in (first, second):
        assert 0.35 < comp.latency_s < 0.75
    waited = max(first, second, key=lambda c: c.elapsed_s)
    assert waited.elapsed_s > 0.75 and waited.elapsed_s > waited.latency_s + 0.3


def test_latency_of_a_retried_call_excludes_the_failed_attempt():
    calls = {"n": 0}

    def script(body):
        calls["n"] += 1
        return Reply("服务繁忙", status=500, delay_s=0.5) if calls["n"] == 1 else Reply("- 好", delay_s=0.05)

    with FakeOpenAI(script) as server:
        comp = asyncio.run(
            Provider(_model(server.api_base, num_retries=2, retry_base_s=0.01)).complete(MESSAGES)
        )
    assert comp.ok and comp.attempts == 2
    assert comp.latency_s < 0.4 < 0.5 <= comp.elapsed_s
