"""Render a versioned prompt (Jinja templates from conf/prompt/) into chat messages.

Every string field of the item is neutralised first (harness/llm/fences.py): an article cannot
close the `<<<原文开始>>>`/`<<<原文结束>>>` fence the templates put around it, or open another.
"""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache

import jinja2

from harness.config import ConfigError, PromptConfig, prompt_hash
from harness.data.schema import Item
from harness.llm.fences import neutralize_fences

# StrictUndefined: a misspelt variable in a template is an error naming it, not an empty string.
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


@lru_cache(maxsize=64)
def _compile(source: str, where: str) -> jinja2.Template:
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{where}: Jinja syntax error on line {exc.lineno}: {exc.message}") from exc


def _neutral(value: object) -> object:
    return neutralize_fences(value) if isinstance(value, str) else value


def render_messages(prompt: PromptConfig, item: Item) -> list[dict[str, str]]:
    """The chat messages for one item: an optional system message and the user message."""
    # A shallow view (asdict deep-copies metadata on every call); the reference is hidden from
    # the model's prompt. Untrusted strings cannot forge a fence marker.
    view = {f.name: _neutral(getattr(item, f.name)) for f in fields(item)} | {"reference": None}
    context = {"item": view, "n_bullets": prompt.n_bullets}
    messages = []
    for role, source in (("system", prompt.system), ("user", prompt.user)):
        if not source.strip():
            continue
        where = f"conf/prompt/{prompt.id}.yaml: field '{role}'"
        try:
            text = _compile(source, where).render(**context)
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"{where}: {exc.message}") from exc
        messages.append({"role": role, "content": text.strip()})
    return messages


def prompt_record(prompt: PromptConfig) -> dict[str, str]:
    """What every result row records about the prompt."""
    return {"id": prompt.id, "version": str(prompt.version), "hash": prompt_hash(prompt)}
