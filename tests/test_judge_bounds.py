"""The judge within bounds, over real HTTP (litellm -> tests/fake_openai.py): its completion budget
comes from its model config, prompt + completion fit the model's context (the article is cut as
generation cuts it, and the row is flagged), the retry after a rambling invalid reply quotes only a
bounded excerpt, and judge failures are counted in the run summary and log."""

from __future__ import annotations

import json
import logging
import re

import pytest

from harness.results.reader import read_jsonl
from tests.fake_openai import FakeOpenAI, Reply, user_text
from tests.test_run import _run

CONTEXT = 1500
LONG_SOURCE = "某公司今天发布新一代芯片，性能提升一倍，将于明年量产。" * 1200  # ~32,000 characters


def _is_judge(body: dict) -> bool:
    return any(m in body["messages"][0]["content"] for m in ("事实核查员", "摘要评审员"))


def _valid_reply(body: dict) -> str:
    text = user_text(body)
    if "事实核查员" in body["messages"][0]["content"]:
        n = len(re.findall(r"^\[(\d+)\]", text.split("<<<要点开始>>>")[1], re.M))
        claims = [{"claim": "c", "verdict": "supported", "quote": "性能提升一倍"}]
        return json.dumps({"bullets": [{"bullet": i + 1, "claims": claims} for i in range(n)]})
    n = len(re.findall(r"^\[(\d+)\]", text.split("<<<参考要点结束>>>")[0], re.M))
    kps = [{"keypoint": i + 1, "status": "covered", "matched_bullet": 1} for i in range(n)]
    return json.dumps({"keypoints": kps})


def _context_limited(body: dict) -> Reply | None:
    """The error a server with a CONTEXT-token window returns (litellm: ContextWindowExceededError)."""
    import litellm

    asked = litellm.token_counter(model="openai/local-model", messages=body["messages"])
    wanted = asked + int(body.get("max_tokens") or 4096)
    if wanted > CONTEXT:
        message = (
            f"This model's maximum context length is {CONTEXT} tokens. However, you requested {wanted} "
            f"tokens ({asked} in the messages, {body.get('max_tokens')} in the completion)."
        )
        return Reply(message, status=400)
    return None


def _dataset(tmp_path, source: str):
    item = {
        "id": "long-1",
        "title": "芯片发布",
        "url": "https://e.x/1",
        "source": source,
        "reference": ["某公司发布芯片", "性能提升一倍"],
    }
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(item, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _judge_run(tmp_path, server, source: str, *extra: str):
    return _run(
        tmp_path,
        "judge",
        f"dataset.data_files=[{_dataset(tmp_path, source)}]",
        "model=lead",
        "judge=local",
        f"judge.model.api_base={server.api_base}",
        "judge.model.num_retries=0",
        "metrics.bertscore.enabled=false",
        "cache.mode=off",
        *extra,
    )


def test_judge_fits_the_context_reads_max_tokens_from_its_model_and_flags_the_row(tmp_path):
    answered = []

    def script(body: dict) -> Reply:
        refused = _context_limited(body)
        answered.append(refused is None)
        return refused or Reply(_valid_reply(body))

    with FakeOpenAI(script) as server:
        run_dir = _judge_run(
            tmp_path,
            server,
            LONG_SOURCE,
            f"judge.model.max_input_tokens={CONTEXT}",
            "judge.model.params.max_tokens=200",
        )
        bodies = list(server.requests)
    assert len(bodies) == 2 and all(answered)  # claims + coverage, each within the window
    assert {b["max_tokens"] for b in bodies} == {200}  # the judge model's own budget, not 4096
    (row,) = read_jsonl(run_dir / "rows.jsonl")
    assert "judge_failed" not in row["flags"] and "judge_input_truncated" in row["flags"]
    info = row["evidence"]["judge"]["input_truncation"]["claims"]
    assert info["policy"] == "keep_head" and 0 < info["kept_chars"] < info["source_chars"] == len(LONG_SOURCE)
    assert info["limit_tokens"] == CONTEXT and info["max_tokens"] == 200
    assert row["scores"]["judge_factual_precision"] == 1.0
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_judge_input_truncated"] == 1 and summary["n_judge_failed"] == 0


def test_retry_after_a_rambling_reply_quotes_a_bounded_excerpt(tmp_path):
    ramble = "好的，我来逐条核查这些要点。" * 800  # ~11,000 characters, not JSON
    claims_calls = []

    def script(body: dict) -> Reply:
        if "事实核查员" in body["messages"][0]["content"]:
            claims_calls.append(body)
            if len(claims_calls) == 1:
                return Reply(ramble, completion_tokens=3500)
        return Reply(_valid_reply(body))

    with FakeOpenAI(script) as server:
        run_dir = _judge_run(tmp_path, server, "某公司今天发布新一代芯片，性能提升一倍。")
    first, retry = claims_calls
    added = retry["messages"][len(first["messages"]) :]
    assert retry["messages"][: len(first["messages"])] == first["messages"]
    assert [m["role"] for m in added] == ["assistant", "user"]
    assert len(added[0]["content"]) <= 300 + 40 and added[0]["content"].startswith(ramble[:100])
    assert ramble not in json.dumps(retry, ensure_ascii=False)
    assert "invalid JSON" in added[1]["content"] and len(added[1]["content"]) <= 2000
    (row,) = read_jsonl(run_dir / "rows.jsonl")
    assert "judge_retried" in row["flags"] and "judge_failed" not in row["flags"]


def test_judge_failures_are_counted_in_the_summary_and_the_log(tmp_path, caplog):
    def script(body: dict) -> Reply:
        return Reply("This model's maximum context length is 10 tokens.", status=400)

    with FakeOpenAI(script) as server, caplog.at_level(logging.INFO, logger="harness"):
        run_dir = _judge_run(tmp_path, server, "某公司今天发布新一代芯片，性能提升一倍。")
    (row,) = read_jsonl(run_dir / "rows.jsonl")
    assert "judge_failed" in row["flags"] and row["error"] is None
    assert "ContextWindowExceeded" in json.dumps(row["evidence"]["judge"]["errors"])
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_failed"] == 0 and summary["n_judge_failed"] == 1
    assert "judge failed on 1" in caplog.text


def test_a_completion_budget_as_large_as_the_context_is_a_config_error(tmp_path):
    from harness.config import ConfigError, check_values, to_typed
    from tests.test_run import _cfg

    window = ("judge=local", "judge.model.max_input_tokens=4096")
    with pytest.raises(ConfigError, match="leaves no room for the prompt"):
        check_values(to_typed(_cfg(tmp_path, *window, "judge.model.params.max_tokens=4096")))
    check_values(to_typed(_cfg(tmp_path, *window, "judge.model.params.max_tokens=200")))
