"""Weekly digest (the reference format): `## section`, `### title`, a `要点解析` marker, `- ` bullet
paragraphs and `原文链接:[url](url)`. The header's stated lengths are kept as metadata.

Marker variants read: `> 要点解析:`, `>要点解析:`, `> 要点解析：`, `**要点解析**`, `【要点解析】`,
with any spacing. Bullets: `- `, `* `, `•`, `1.` / `1、`, also inside the quote (`> - `); a line
that follows a bullet without a blank line continues it. An item whose bullets carry no marker
(plain paragraphs after the 要点解析 marker) reads each paragraph as a bullet, with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.data.ingest.records import WARNING, Document, Parsed, Reference
from harness.data.ingest.urls import first_url

NAME = "weekly"

_H2 = re.compile(r"^ {0,3}##(?!#)\s*(?P<t>.*?)\s*#*\s*$")
_H3 = re.compile(r"^ {0,3}###(?!#)\s*(?P<t>.*?)\s*#*\s*$")
_MARKER = re.compile(r"^\s*(?:>\s*)*[*_【\[]*\s*要点解析\s*[*_】\]]*\s*[:：]?\s*[*_]*\s*(?P<rest>.*)$")
_LINK = re.compile(
    r"^\s*(?:>\s*)*[*_]*(?:原文链接|原文地址|阅读原文|原文)[*_]*\s*(?:[:：]\s*|(?=[\[<]|https?://))(?P<rest>.*)$"
)
_BULLET = re.compile(r"^\s*(?:>\s*)*(?:[-*•·](?![-*])|\d{1,2}[.)、](?!\d))\s*(?P<t>\S.*)$")
_QUOTE = re.compile(r"^\s*(?:>\s*)+")
# The header's figures: 原文共计**104112**字, 简读后为**7945**字, 阅读时间为20分钟, 效率为**1300%**.
_FIGURES = {
    "original_chars": re.compile(r"原文共计\s*([\d,]+)\s*字"),
    "digest_chars": re.compile(r"简读后为\s*([\d,]+)\s*字"),
    "reading_minutes": re.compile(r"阅读时间为\s*([\d,]+)\s*分钟"),
    "efficiency_percent": re.compile(r"效率为\s*([\d,]+)\s*%"),
}


def sniff(lines: list[str]) -> bool:
    """A `### title` and a 要点解析 marker or 原文链接 line."""
    has_h3 = any(_H3.match(line) for line in lines)
    return has_h3 and any("要点解析" in line or "原文链接" in line for line in lines)


def header_figures(lines: list[str]) -> dict[str, float]:
    text = "".join(lines).replace("*", "")
    figures: dict[str, float] = {}
    for key, pattern in _FIGURES.items():
        m = pattern.search(text)
        if m:
            figures[key] = int(m[1].replace(",", ""))
    if figures.get("original_chars") and figures.get("digest_chars"):
        figures["stated_compression"] = round(figures["original_chars"] / figures["digest_chars"], 2)
    return figures


@dataclass
class _Item:
    title: str
    line: int
    index: int
    section: str | None
    marker: int | None = None
    bullets: list[list[str]] = field(default_factory=list)
    plain: list[list[str]] = field(default_factory=list)  # paragraphs after the marker without "- "
    url: str | None = None


def _join(parts: list[str]) -> str:
    text = ""
    for part in parts:
        part = part.strip()
        # Chinese lines wrap without a space; Latin words need one.
        sep = " " if text and text[-1].isascii() and part[:1].isascii() else ""
        text += sep + part
    return text


def parse(doc: Document) -> Parsed:
    out = Parsed()
    lines = doc.lines
    first_item = next((n for n, line in enumerate(lines) if _H3.match(line)), len(lines))
    figures = header_figures(lines[:first_item])
    if figures:
        out.info["header"] = figures
    section: str | None = None
    item: _Item | None = None
    index = 0
    open_paragraph: list[str] | None = None  # the bullet or plain paragraph a next line continues

    def finish() -> None:
        if item is not None:
            _finish(doc, item, figures, out)

    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if m := _H3.match(line):
            finish()
            index += 1
            item = _Item(title=m["t"].strip(), line=n, index=index, section=section)
            open_paragraph = None
            continue
        if m := _H2.match(line):
            finish()
            item, open_paragraph = None, None
            section = m["t"].strip() or None
            continue
        if item is None:
            continue
        if not _QUOTE.sub("", line).strip():
            open_paragraph = None
            continue
        if (m := _MARKER.match(line)) and item.marker is None:
            item.marker = n
            open_paragraph = None
            line = m["rest"]
            if not line.strip():
                continue
        if (m := _LINK.match(line)) and (url := first_url(m["rest"]) or first_url(line)):
            item.url = url
            open_paragraph = None
        elif m := _LINK.match(line):
            out.problem(doc, n, f"'{item.title}': 原文链接 without a URL", WARNING)
        elif m := _BULLET.match(line):
            open_paragraph = [m["t"]]
            item.bullets.append(open_paragraph)
        elif open_paragraph is not None:
            open_paragraph.append(_QUOTE.sub("", line))
        elif item.marker is not None:
            open_paragraph = [_QUOTE.sub("", line)]
            item.plain.append(open_paragraph)
    finish()
    return out


def _finish(doc: Document, item: _Item, figures: dict[str, float], out: Parsed) -> None:
    bullets = [_join(b) for b in item.bullets]
    if item.plain and not bullets:
        bullets = [_join(p) for p in item.plain]
        out.problem(doc, item.marker, f"'{item.title}': no '- ' bullets; each paragraph read as one", WARNING)
    elif item.plain:
        first = item.plain[0][0][:30]
        out.problem(
            doc, item.marker, f"'{item.title}': text outside the bullets ignored ('{first}...')", WARNING
        )
    bullets = [b for b in bullets if b]
    if not bullets:
        out.problem(doc, item.line, f"digest item '{item.title}' has no 要点解析 bullets: not a reference")
        return
    if item.marker is None:
        out.problem(
            doc,
            item.line,
            f"'{item.title}': no 要点解析 marker; the bullets under the title are read",
            WARNING,
        )
    if item.url is None:
        out.problem(
            doc,
            item.line,
            f"digest item '{item.title}' has no 原文链接: it can only be matched by title",
            WARNING,
        )
    metadata: dict[str, object] = {}
    if figures:
        metadata["digest_header"] = figures
    out.references.append(
        Reference(
            id=f"{doc.path.stem}-{item.index:02d}",
            title=item.title,
            url=item.url,
            bullets=bullets,
            section=item.section,
            date=doc.date,
            file=doc.name,
            line=item.line,
            metadata=metadata,
        )
    )
