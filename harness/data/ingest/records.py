"""What the format readers produce: references (digest items), sources (articles) and problems,
each carrying the file and line it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

# A problem's level: "error" means the file or item was not used, "warning" that it was used with
# the caveat the message states.
ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class IngestProblem:
    file: str
    line: int | None
    message: str
    level: str = ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "level": self.level, "message": self.message}


@dataclass(kw_only=True)
class _Found:
    """What a reader found, and where (file and line)."""

    title: str
    url: str | None
    date: str | None
    file: str
    line: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def at(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(kw_only=True)
class Reference(_Found):
    """One digest item: the human 要点解析 bullets and the link to the article they digest."""

    id: str
    bullets: list[str]
    section: str | None


@dataclass(kw_only=True)
class Source(_Found):
    """One article a model is given: a crawled record or a daily digest's news item."""

    kind: str  # "crawled" | "daily"
    text: str


@dataclass
class Document:
    """One decoded input file."""

    path: Path
    text: str
    encoding: str
    date: str | None

    @cached_property
    def lines(self) -> list[str]:
        """Lines split on "\n" only (the reader normalised line ends), so numbers match editors."""
        return self.text.split("\n")

    @property
    def name(self) -> str:
        return str(self.path)


@dataclass
class Parsed:
    """What one reader found in one file."""

    references: list[Reference] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    problems: list[IngestProblem] = field(default_factory=list)
    # Facts about the file itself (a weekly digest's stated lengths, a daily digest's 摘要).
    info: dict[str, Any] = field(default_factory=dict)

    def problem(self, doc: Document, line: int | None, message: str, level: str = ERROR) -> None:
        self.problems.append(IngestProblem(doc.name, line, message, level))
