"""Judge prompts (conf/judge_prompts/*.yaml): versioned Jinja templates `system` and `user`.

Loaded and checked here; rendered by harness/score/judge.py with neutralised, fenced data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from harness.config import ConfigError, project_path

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


@dataclass(frozen=True)
class JudgePrompt:
    """A versioned judge prompt (conf/judge_prompts/*.yaml): Jinja templates `system` and `user`."""

    id: str
    version: str
    system: str
    user: str
    path: str

    @property
    def hash(self) -> str:
        payload = json.dumps({"system": self.system, "user": self.user}, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]

    def record(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "hash": self.hash, "path": self.path}

    def render(self, **context: Any) -> list[dict[str, str]]:
        messages = []
        for role in ("system", "user"):
            template = _compile(getattr(self, role), f"{self.path}: field '{role}'")
            try:
                text = template.render(**context)
            except jinja2.UndefinedError as exc:
                raise ConfigError(f"{self.path}: field '{role}': {exc.message}") from exc
            messages.append({"role": role, "content": text.strip()})
        return messages


@lru_cache(maxsize=16)
def _compile(source: str, where: str) -> jinja2.Template:
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{where}: Jinja syntax error on line {exc.lineno}: {exc.message}") from exc


def load_judge_prompt(path: str | Path) -> JudgePrompt:
    """Load and check a judge prompt file; every problem is a ConfigError naming the file and field."""
    p = project_path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"judge prompt {p}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"judge prompt {p}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"judge prompt {p}: expected a mapping with fields id, version, system, user")
    for key in ("id", "version", "system", "user"):
        value = data.get(key)
        if isinstance(value, (int, float)) and key == "version":
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"judge prompt {p}: field '{key}' is missing or not a non-empty string")
    prompt = JudgePrompt(str(data["id"]), str(data["version"]), data["system"], data["user"], str(path))
    for role in ("system", "user"):
        _compile(getattr(prompt, role), f"{p}: field '{role}'")
    return prompt
