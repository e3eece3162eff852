"""Daily news digest: a `摘要：` paragraph, then a `热点资讯` section of news items (a bold title line,
then its body paragraphs), then recommended reads (`…荐读`) and boilerplate.

Each 热点资讯 item is a source; it joins by title, or by URL when a line of its own is only a link.
Noise is not a source: images (`![](…)`), `图片来源：` credits, further link-only lines, social and
QR-code lines, and everything from the recommended-reads heading on (its link list, ads, account
links). An item left with no body text once the noise is removed is reported and skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.data.ingest.records import WARNING, Document, Parsed, Source

NAME = "daily"

_SUMMARY = re.compile(r"^\s*[*_]*摘要[*_]*\s*[:：]\s*(?P<t>.*)$")
_BOLD = re.compile(r"^\s*\*\*(?P<t>[^*].*?)\*\*\s*$")
_HEADING_CHARS = re.compile(r"[#*_\s]")
NEWS_HEADINGS = ("热点资讯", "今日热点", "热点新闻", "要闻")
# Headings after which nothing is news: recommended reads and the like.
END_HEADINGS = ("荐读", "推荐阅读", "延伸阅读", "相关阅读", "往期回顾", "往期推荐", "精选阅读")
_IMAGE = re.compile(r"^\s*[*_]*!\[[^\]]*\]\([^)]*\)[*_]*\s*$")
_LINK_ONLY = re.compile(r"^\s*<?https?://\S+>?\s*$")
_CREDIT = re.compile(r"^\s*(?:图片来源|图源|题图|封面来源)\s*[:：]")
_SOCIAL = re.compile(
    r"推特\s*[:：]|twitter\.com|discord\.gg|t\.me/|电报频道|微信公众号|二维码|扫码|关注我们|商务合作"
)


def _heading(line: str) -> str | None:
    """The text of a standalone heading line (`热点资讯`, `## 热点资讯`, `**元宇宙荐读**`), else None."""
    text = _HEADING_CHARS.sub("", line)
    if not text or len(text) > 12:
        return None
    if any(text.endswith(h) for h in (*NEWS_HEADINGS, *END_HEADINGS)):
        return text
    return None


def is_noise(line: str) -> bool:
    return bool(_IMAGE.match(line) or _LINK_ONLY.match(line) or _CREDIT.match(line) or _SOCIAL.search(line))


def sniff(lines: list[str]) -> bool:
    """A `摘要：` line or a 热点资讯 heading, and at least one bold title line."""
    marked = any(_SUMMARY.match(line) for line in lines) or any(
        (h := _heading(line)) and h.endswith(NEWS_HEADINGS) for line in lines
    )
    return marked and any(_BOLD.match(line) for line in lines)


@dataclass
class _Item:
    title: str
    line: int
    paragraphs: list[str] = field(default_factory=list)
    url: str | None = None


def parse(doc: Document) -> Parsed:
    out = Parsed()
    lines = doc.lines
    has_news_heading = any((h := _heading(line)) and h.endswith(NEWS_HEADINGS) for line in lines)
    phase = "head"  # head -> news -> after
    items: list[_Item] = []
    noise = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        heading = _heading(line)
        if heading and heading.endswith(END_HEADINGS):
            phase = "after"
            out.info.setdefault("ignored_from_line", n)
            continue
        if heading and heading.endswith(NEWS_HEADINGS):
            phase = "news" if phase == "head" else phase
            continue
        if phase == "head":
            if m := _SUMMARY.match(line):
                out.info["summary"] = m["t"].strip()
                if not has_news_heading:
                    phase = "news"
            continue
        if phase == "after":
            continue
        if _LINK_ONLY.match(line) and items and items[-1].url is None:
            items[-1].url = line.strip("<> ")  # a news item's own link, when it gives one
        elif is_noise(line):
            noise += 1
        elif m := _BOLD.match(line):
            items.append(_Item(title=m["t"].strip(), line=n))
        elif items:
            items[-1].paragraphs.append(line)
        else:
            out.problem(doc, n, f"text before the first news title ignored ('{line[:30]}')", WARNING)
    if not has_news_heading and "summary" in out.info:
        out.problem(doc, None, "no 热点资讯 heading: bold titles after the 摘要 read as news", WARNING)
    out.info["noise_lines"] = noise
    for item in items:
        if not item.paragraphs:
            out.problem(
                doc, item.line, f"news item '{item.title}' has no text (only images or links): skipped"
            )
            continue
        out.sources.append(
            Source(
                kind=NAME,
                title=item.title,
                url=item.url,
                text="\n".join(item.paragraphs),
                date=doc.date,
                file=doc.name,
                line=item.line,
                metadata={},
            )
        )
    return out
