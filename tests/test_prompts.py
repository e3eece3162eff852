from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from harness.config import (
    CONF_DIR,
    ConfigError,
    PromptConfig,
    prompt_hash,
    register_resolvers,
    register_schema,
)
from harness.data.schema import Item
from harness.llm.prompts import prompt_record, render_messages

ITEM = Item(
    id="a",
    title="芯片新品",
    url="https://example.com/a",
    source="原文内容：某公司发布芯片。",
    reference=("参考要点一", "参考要点二"),
    date="2024-01-02",
)


@pytest.mark.parametrize("name", ["yaodian_v1", "yaodian_v2"])
def test_shipped_prompts_render_source_and_never_the_reference(name):
    register_resolvers()
    register_schema()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name="config", overrides=[f"prompt={name}"])
    prompt = PromptConfig(**cfg.prompt)
    messages = render_messages(prompt, ITEM)
    text = "\n".join(m["content"] for m in messages)
    assert ITEM.source in text and ITEM.title in text
    assert "参考要点" not in text
    assert messages[-1]["role"] == "user"
    assert prompt_record(prompt)["hash"] == prompt_hash(prompt)


def test_hash_follows_template_content():
    a = PromptConfig(id="p", version="1", user="写 {{ n_bullets }} 条：{{ item.source }}")
    b = PromptConfig(id="p", version="1", user="写 {{ n_bullets }} 条要点：{{ item.source }}")
    assert prompt_hash(a) != prompt_hash(b)
    assert prompt_hash(a) == prompt_hash(PromptConfig(id="other", version="9", user=a.user))


def test_undefined_variable_names_prompt_and_field():
    prompt = PromptConfig(id="broken", version="1", user="{{ item.sauce }}")
    with pytest.raises(ConfigError, match=r"conf/prompt/broken.yaml: field 'user'.*sauce"):
        render_messages(prompt, ITEM)


def test_syntax_error_names_line():
    prompt = PromptConfig(id="broken2", version="1", user="第一行\n{% if %}")
    with pytest.raises(ConfigError, match=r"broken2.yaml: field 'user': Jinja syntax error on line 2"):
        render_messages(prompt, ITEM)
