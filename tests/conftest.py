from __future__ import annotations

import os
from pathlib import Path

import pytest

# Offline, quiet, and no download-count requests from tests.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_UPDATE_DOWNLOAD_COUNTS", "0")

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini_news.jsonl"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")
    parser.addoption(
        "--run-llm", action="store_true", help="run tests marked llm (a real local LLM server, see README)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--run-llm"):
        skip_llm = pytest.mark.skip(reason="llm: needs a real local LLM; pass --run-llm (see README)")
        for item in items:
            if "llm" in item.keywords:
                item.add_marker(skip_llm)
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT with a character vocabulary covering the fixtures (built once)."""
    from tests.tiny_bert import build_tiny_bert

    texts = [MINI.read_text(encoding="utf-8")]
    sample = Path(__file__).parents[1] / "datasets" / "sample_ai_news" / "items.jsonl"
    if sample.exists():
        texts.append(sample.read_text(encoding="utf-8"))
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), texts)
