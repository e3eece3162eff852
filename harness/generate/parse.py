"""Turn a model's reply into 要点解析 bullets (pure functions, no litellm).

Models are asked for three dense bullet paragraphs, but what comes back varies: a `要点解析：`
header, markdown (bold, headings, quotes, code fences), many list-marker styles (`-`, `1.`, `1、`,
`（1）`, `①`, `一、` …), wrapped lines, sub-items, and polite chatter before and after the list.
`parse_bullets` recovers the bullets and records in `flags` what it had to guess, so odd replies
can be audited later. It never changes the words themselves: only markup, markers, and chatter
lines are removed (no NFKC here; the ROUGE tokenizer normalises on its own).

Flags:
    empty_reply           the reply was empty or whitespace only
    no_bullet_markers     no list markers: blank-line paragraphs (or one paragraph) became bullets
    think_block_removed   a `<think>…</think>` reasoning block was cut out
    dropped_preamble      text before the first marker that did not look like chatter was dropped
    dropped_trailing_text a paragraph after the last bullet that did not look like chatter was dropped
    nested_items_joined   sub-items (indented, or another marker style) were joined into their parent
    no_bullets            the reply had text, but nothing was left after removing chatter and markup
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ParsedReply", "parse_bullets"]


@dataclass(frozen=True)
class ParsedReply:
    """Bullets recovered from one reply, and flags naming what the parser had to guess."""

    bullets: tuple[str, ...]
    flags: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Line-level patterns. Each is applied to one line, after full-width spaces became spaces.
# --------------------------------------------------------------------------------------------

# A reasoning block some models put in `content`; also a lone closing tag whose opening tag was
# eaten by the serving stack (everything before it is reasoning).
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE = re.compile(r"^.*?</think>", re.DOTALL | re.IGNORECASE)

# Code fence lines: ``` or ~~~, optionally with a language tag (```markdown). The fence itself is
# dropped; what is inside is parsed like everything else (models fence their whole answer).
_FENCE = re.compile(r"^(?:`{3,}|~{3,})[\w-]*\s*$")

# Leading quote markers, possibly nested ("> > text").
_QUOTE = re.compile(r"^(?:>\s?)+")

# Markdown heading hashes ("### 标题", also "###标题").
_HEADING = re.compile(r"^#{1,6}\s*")

# A horizontal rule: three or more of -, * or _ (spaces allowed) and nothing else.
_RULE = re.compile(r"^(?:[-*_]\s*){3,}$")

# A whole line in bold ("**1. 技术突破**", or "1. **技术突破**" after its marker): such a marker
# line is a title for what follows.
_WHOLE_BOLD = re.compile(r"^(?:\*\*|__)(?:(?!\*\*|__).)+(?:\*\*|__)[:：]?$")

# Bold pairs, then any unpaired leftover "**" (models truncate or nest them).
# `__` is emphasis only at word edges (as in CommonMark): `__init__` and `window.__x` stay as written.
_BOLD = re.compile(r"\*\*(.+?)\*\*|(?<![A-Za-z0-9_])__(?=\S)(.+?)(?<=\S)__(?![A-Za-z0-9_])")
_BOLD_LEFTOVER = re.compile(r"\*\*")

# Single-star italics "*文本*": not a star followed by a space (that is a list marker), and not
# inside Latin words or arithmetic ("a*b*c"); CJK text right next to the stars is fine.
_ITALIC = re.compile(r"(?<![*A-Za-z0-9])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![*A-Za-z0-9])")

# Inline code `GPT-4o` keeps its text; a markdown link keeps its label; an image is dropped.
_INLINE_CODE = re.compile(r"`+([^`]*)`+")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")

_SPACES = re.compile(r"[ \t]+")

# The 要点解析 header, alone on its line ("要点解析：", "要点解析（3条）", "核心要点:"). After quote,
# heading and bold markup are gone, so "> **要点解析**" and "### 要点解析" land here too.
_HEADER = re.compile(
    r"^(?:要点解析|要点|核心要点|关键要点|主要要点|要点总结|要点梳理|内容要点|文章要点|本文要点)"
    r"\s*(?:[(（][^()（）]{0,12}[)）])?\s*[:：]?$"
)
# The header with the first bullet on the same line ("要点解析：1. OpenAI…"): keep what follows.
_HEADER_INLINE = re.compile(r"^要点解析\s*[:：]\s*(?P<rest>\S.*)$")

# Source-link lines models append ("原文链接：https://…"): never part of a bullet.
_SOURCE_LINK = re.compile(r"^(?:原文链接|原文地址|原文网址|文章链接|阅读原文)\s*[:：]?")

# List markers at the start of a line. Each alternative is a marker "family" (see _FAMILY_RANK).
_MARKER = re.compile(
    r"""^(?:
        (?P<symbol>[-*+](?=\s)|-(?=[^\s\d-])|[•·●○▪■◆◇►▶➤✓✔])  # "* " needs a space; "-" not before a digit
      | (?P<arabic>(?:\d{1,2}|[０-９]{1,2})\s*[.．、)）](?![\d０-９]))  # 1.  1、  1)  (not 3.5)
      | (?P<paren>[(（]\s*(?:\d{1,2}|[０-９]{1,2})\s*[)）])             # (1)  （1）
      | (?P<circled>[\u2460-\u2473\u2474-\u2487\u2488-\u249b\u2776-\u277f])  # ① ⑴ ⒈ ❶
      | (?P<cn>[一二三四五六七八九十]{1,3}\s*[、.．)）:：])               # 一、
      | (?P<cnparen>[(（][一二三四五六七八九十]{1,3}[)）])                # （一）
      # 第一点：  要点1：
      | (?P<ordinal>(?:第|要点)\s*(?:[一二三四五六七八九十]{1,3}|\d{1,2})\s*(?:点|条|个要点)?\s*[:：、.．])
    )\s*""",
    re.VERBOSE,
)

# Outline level of each marker family, by Chinese document convention 一、 > （一） > 1. > （1） > ①,
# with plain symbols lowest. Below a bullet, a marker of a lower level than the first bullet's
# (e.g. "-" details under "1." points) is a sub-item of that bullet, not a new bullet.
_FAMILY_RANK = {"cn": 0, "ordinal": 0, "cnparen": 1, "arabic": 2, "paren": 3, "circled": 4, "symbol": 5}

# Chatter before the list ("好的，以下是要点解析：", "Sure, here are…"). Used on lines before the
# first bullet; such a line is also recognised when it simply ends with a colon.
_LEADING_CHATTER = re.compile(
    r"^(?:好的|好，|当然|没问题|明白|收到|以下(?:是|为)|下面(?:是|为)|这是|为(?:您|你)|我(?:将|已|来|为)"
    r"|根据(?:您|你|文章|原文|上述|以上|提供)|Sure|OK\b|Okay|Here|Certainly)",
    re.IGNORECASE,
)
_LEADING_CHATTER_MAX = 80  # characters: longer lines are content even if they start like chatter

# Chatter after the list ("希望对你有帮助。", "如需进一步分析，请告诉我。"), anchored at the line start
# so that ordinary sentences do not match.
_TRAILING_CHATTER = re.compile(
    r"^(?:希望(?:以上|这些|这份|本次|这个|此)?.{0,16}(?:帮助|有用|参考)"
    r"|如(?:需|有)(?:任何|其他|更多|进一步)?"
    r"|如果(?:您|你)(?:还)?(?:需要|有|想|希望)"
    r"|欢迎(?:继续|追问|提问|随时|指正)"
    r"|有(?:任何|其他)(?:问题|需要|疑问)"
    r"|还有(?:什么|其他)"
    r"|需要我"
    r"|请(?:告诉|随时|让)我"
    r"|以上(?:就)?是.{0,20}(?:要点|总结|解析|内容|梳理)"
    r"|(?:I\s+)?hope\s+this|let\s+me\s+know|feel\s+free)",
    re.IGNORECASE,
)

# A line that ends a sentence (used to decide whether marker-less lines are separate paragraphs).
_SENTENCE_FINAL = re.compile(r"[。！？!?…；;”」』）)]$")
# Punctuation after which a joined sub-item needs no separator of its own.
_ENDS_WITH_PUNCT = re.compile(r"[。！？!?…；;：:，,、”」』）)]$")
_ASCII_WORD_END = re.compile(r"[A-Za-z0-9%.,;:!?)]$")
_ASCII_WORD_START = re.compile(r"^[A-Za-z0-9(]")

_FLAG_ORDER = (
    "empty_reply",
    "no_bullet_markers",
    "think_block_removed",
    "dropped_preamble",
    "dropped_trailing_text",
    "nested_items_joined",
    "no_bullets",
)


@dataclass
class _Line:
    """One cleaned line: kind is "blank", "marker" or "text"."""

    kind: str
    text: str = ""
    indent: int = 0
    family: str = ""  # marker family (see _MARKER), for marker lines
    title: bool = False  # a marker line that heads what follows (heading, whole bold, "…：", empty)


@dataclass
class _Bullet:
    parts: list[str] = field(default_factory=list)
    title: bool = False
    joined_parts: int = 0  # how many sub-items / paragraphs were joined after the head

    def text(self) -> str:
        return "".join(self.parts).strip()


def parse_bullets(reply: str) -> ParsedReply:
    """Recover the bullet paragraphs from a model reply (see the module docstring for flags)."""
    flags: set[str] = set()
    if reply is None or not reply.strip():
        return ParsedReply((), ("empty_reply",))

    text = reply.replace("\r\n", "\n").replace("\r", "\n")
    text, n_think = _THINK_BLOCK.subn("", text)
    if "</think>" in text.lower():
        text = _THINK_CLOSE.sub("", text, count=1)
        n_think += 1
    if n_think:
        flags.add("think_block_removed")

    lines = [_classify(raw) for raw in text.split("\n")]
    lines = [line for line in lines if line is not None]

    if any(line.kind == "marker" for line in lines):
        bullets = _parse_marked(lines, flags)
    else:
        flags.add("no_bullet_markers")
        bullets = _parse_paragraphs(lines)

    bullets = [b for b in (_clean_spaces(b) for b in bullets) if b]
    if not bullets:
        flags.add("empty_reply" if not text.strip() else "no_bullets")
    return ParsedReply(tuple(bullets), tuple(f for f in _FLAG_ORDER if f in flags))


# --------------------------------------------------------------------------------------------
# Step 1: classify each line (markup stripped), dropping fences, headers and link lines.
# --------------------------------------------------------------------------------------------


def _classify(raw: str) -> _Line | None:
    """Clean one raw line; None when the line is dropped entirely (fence, header, link)."""
    line = raw.replace("\u3000", " ").replace("\u00a0", " ").replace("\t", "    ").rstrip()
    indent = len(line) - len(line.lstrip(" "))
    line = line.strip()
    if not line:
        return _Line("blank")
    if _FENCE.match(line):
        return None

    line = _QUOTE.sub("", line).strip()
    is_heading = bool(_HEADING.match(line))
    line = _HEADING.sub("", line).strip()
    if not line or _RULE.match(line):
        return _Line("blank")
    raw_marker = _MARKER.match(line)
    whole_bold = bool(_WHOLE_BOLD.match(line)) or bool(
        raw_marker and _WHOLE_BOLD.match(line[raw_marker.end() :].strip())
    )
    line = _strip_inline(_BOLD_LEFTOVER.sub("", _BOLD.sub(lambda m: m.group(1) or m.group(2), line))).strip()

    if _HEADER.match(line) or _SOURCE_LINK.match(line):
        return None
    inline = _HEADER_INLINE.match(line)
    if inline:
        line = inline.group("rest")

    marker = _MARKER.match(line)
    if marker:
        content = line[marker.end() :].strip()
        family = next(name for name, value in marker.groupdict().items() if value)
        title = is_heading or whole_bold or not content or content[-1] in ":："
        return _Line("marker", content, indent, family, title)
    if not line:  # e.g. an image-only line: nothing left, and no paragraph break either
        return None
    return _Line("text", line, indent)


def _strip_inline(text: str) -> str:
    """Remove inline markdown that is not content: italics stars, code ticks, link and image syntax."""
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _INLINE_CODE.sub(r"\1", text)
    return _ITALIC.sub(r"\1", text)


def _clean_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _is_leading_chatter(text: str) -> bool:
    """A line before the first bullet that introduces the list rather than summarising the article."""
    if text[-1] in ":：":
        return True
    return len(text) <= _LEADING_CHATTER_MAX and bool(_LEADING_CHATTER.match(text))


def _is_trailing_chatter(text: str) -> bool:
    return bool(_TRAILING_CHATTER.match(text))


def _glue(previous: str, piece: str) -> str:
    """Separator for joining a wrapped line: a space between two Latin words, else nothing."""
    if previous and _ASCII_WORD_END.search(previous) and _ASCII_WORD_START.match(piece):
        return " "
    return ""


# --------------------------------------------------------------------------------------------
# Step 2a: replies with list markers.
# --------------------------------------------------------------------------------------------


def _parse_marked(lines: list[_Line], flags: set[str]) -> list[str]:
    """Each top-level marker starts a bullet; other lines join it or are dropped as chatter.

    Top level is the indentation and marker family of the first marker. A marker indented deeper,
    or of a lower outline level (e.g. "-" details under "1." points), is a sub-item joined into
    the current bullet. Text lines join the current bullet, except chatter, and except a paragraph
    that comes after a blank line below the last bullet, unless that bullet is a title
    ("### 1. 技术突破" followed by its paragraph).
    """
    first = next(i for i, line in enumerate(lines) if line.kind == "marker")
    last = max(i for i, line in enumerate(lines) if line.kind == "marker")
    top_indent, top_family = lines[first].indent, lines[first].family

    for line in lines[:first]:
        if line.kind == "text" and line.text and not _is_leading_chatter(line.text):
            flags.add("dropped_preamble")

    bullets: list[_Bullet] = []
    after_blank = False  # a blank line since the previous content line
    after_head = False  # the previous content line was a top-level marker line
    dropping = False  # inside trailing text below the last bullet: drop the rest
    for i in range(first, len(lines)):
        line = lines[i]
        if line.kind == "blank":
            after_blank = True
            continue
        current = bullets[-1] if bullets else None
        if line.kind == "marker":
            nested = current is not None and (
                line.indent > top_indent + 1 or _FAMILY_RANK[line.family] > _FAMILY_RANK[top_family]
            )
            if nested:
                flags.add("nested_items_joined")
                _join_part(current, line.text)
            else:
                bullets.append(_Bullet([line.text], title=line.title))
            after_head = not nested
        elif dropping or _is_trailing_chatter(line.text):
            pass
        elif i > last and after_blank and line.indent <= top_indent and not current.title:
            flags.add("dropped_trailing_text")
            dropping = True
        elif after_blank or (current.title and after_head):
            _join_part(current, line.text)
            after_head = False
        else:  # a wrapped line of the current bullet
            current.parts.append(_glue(current.parts[-1], line.text) + line.text)
            after_head = False
        after_blank = False
    return [b.text() for b in bullets]


def _join_part(bullet: _Bullet, piece: str) -> None:
    """Join a sub-item or a following paragraph: "标题：细节；细节", no extra mark after punctuation."""
    if not piece:
        return
    head = bullet.text()
    if not head or _ENDS_WITH_PUNCT.search(head):
        sep = _glue(head, piece)
    elif bullet.joined_parts == 0:
        sep = "："
    else:
        sep = "；"
    bullet.parts.append(sep + piece)
    bullet.joined_parts += 1


# --------------------------------------------------------------------------------------------
# Step 2b: replies without list markers.
# --------------------------------------------------------------------------------------------


def _parse_paragraphs(lines: list[_Line]) -> list[str]:
    """Paragraphs separated by blank lines become bullets, after dropping chatter lines.

    A single block of several lines that each end a sentence is a list written without markers
    (one line per point), so each line is a bullet; otherwise a block's lines are a wrapped
    paragraph and are joined.
    """
    blocks: list[list[str]] = [[]]
    started = False
    for line in lines:
        if line.kind == "blank":
            if blocks[-1]:
                blocks.append([])
            continue
        if not started and _is_leading_chatter(line.text):
            continue
        if _is_trailing_chatter(line.text):
            continue
        started = True
        blocks[-1].append(line.text)
    blocks = [b for b in blocks if b]

    if len(blocks) == 1 and len(blocks[0]) > 1 and all(_SENTENCE_FINAL.search(t) for t in blocks[0][:-1]):
        return list(blocks[0])
    bullets = []
    for block in blocks:
        joined = block[0]
        for piece in block[1:]:
            joined += _glue(joined, piece) + piece
        bullets.append(joined)
    return bullets
