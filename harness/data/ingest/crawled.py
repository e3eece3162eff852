"""Crawled article records: `标题:` / `链接:` / `总结:` (the article text) and further `key: value`
annotation fields, one or several records per file. Each record is a source keyed by its URL.

A record starts at its first field; a second `标题` or `链接` starts the next one. Other fields,
empty ones included (关键词, AI技术, 行业, 重大事件摘要, ...), are kept as metadata. A line that is not
a field continues the field before it; inside the article text only the known field names start a
new field, so a sentence such as "据悉：..." stays in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.data.ingest.records import WARNING, Document, Parsed, Source

NAME = "crawled"

TITLE_KEYS = ("标题", "题目", "title")
URL_KEYS = ("链接", "网址", "url", "link")
TEXT_KEYS = ("总结", "正文", "内容", "content", "text")
ANNOTATION_KEYS = (
    "关键词",
    "AI技术",
    "行业",
    "重大事件摘要",
    "摘要",
    "作者",
    "来源",
    "发布时间",
    "日期",
    "date",
)
_KNOWN = {k.lower() for k in (*TITLE_KEYS, *URL_KEYS, *TEXT_KEYS, *ANNOTATION_KEYS)}
# `key: value` with a short key and a colon (ASCII or full-width) that does not start "://".
_FIELD = re.compile(r"^\s*(?P<key>[\w-]{1,20})\s*[:：](?!//)\s?(?P<value>.*)$")
_TITLE_LINE = re.compile(r"^\s*(?:标题|题目)\s*[:：]")
_BODY_OR_URL_LINE = re.compile(r"^\s*(?:链接|网址|总结|正文|内容)\s*[:：]")


def sniff(lines: list[str]) -> bool:
    """A `标题:` line and a `链接:` or `总结:` line."""
    return any(_TITLE_LINE.match(line) for line in lines) and any(
        _BODY_OR_URL_LINE.match(line) for line in lines
    )


_STARTS_RECORD = {k.lower() for k in (*TITLE_KEYS, *URL_KEYS)}


@dataclass
class _Record:
    line: int
    fields: dict[str, list[str]] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return any(k.lower() == key.lower() for k in self.fields)

    def value(self, role_keys: tuple[str, ...]) -> tuple[str | None, str]:
        """(the key as written, its text) of the first field in a role (title, URL, text)."""
        for key, parts in self.fields.items():
            if key.lower() in role_keys:
                return key, "\n".join(parts).strip()
        return None, ""


def parse(doc: Document) -> Parsed:
    out = Parsed()
    records: list[_Record] = []
    last_key: str | None = None
    for n, raw in enumerate(doc.lines, start=1):
        line = raw.rstrip()
        m = _FIELD.match(line)
        in_text = last_key is not None and last_key.lower() in TEXT_KEYS
        if m and (m["key"].lower() in _KNOWN or not in_text or not m["value"].strip()):
            key = m["key"]
            if not records or records[-1].has(key):
                if records and key.lower() not in _STARTS_RECORD:
                    out.problem(doc, n, f"field '{key}' repeated: starts a new record", WARNING)
                records.append(_Record(line=n))
            records[-1].fields[key] = [m["value"]]
            last_key = key
        elif records and last_key is not None:
            records[-1].fields[last_key].append(line)
        elif line.strip():
            out.problem(doc, n, f"text before the first record ignored ('{line.strip()[:30]}')", WARNING)
    for index, record in enumerate(records, start=1):
        _finish(doc, index, record, out)
    return out


def _finish(doc: Document, index: int, rec: _Record, out: Parsed) -> None:
    title_key, title = rec.value(TITLE_KEYS)
    url_key, url = rec.value(URL_KEYS)
    text_key, text = rec.value(TEXT_KEYS)
    name = f"'{title}'" if title else f"record {index}"
    if not text:
        out.problem(doc, rec.line, f"crawled {name} has no article text (总结): not a source")
        return
    if not url:
        out.problem(doc, rec.line, f"crawled {name} has no 链接: it can only be matched by title", WARNING)
    used = {title_key, url_key, text_key}
    metadata = {k: "\n".join(v).strip() for k, v in rec.fields.items() if k not in used}
    out.sources.append(
        Source(
            kind=NAME,
            title=title,
            url=url or None,
            text=text,
            date=doc.date,
            file=doc.name,
            line=rec.line,
            metadata=metadata,
        )
    )
