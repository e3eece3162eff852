"""`harness ingest`: digest archives and crawled articles -> an evaluation dataset.

Readers, one module per format: `weekly` (the human 要点解析 digests: references), `crawled`
(crawled article records: sources) and `daily` (daily news digests: sources). `join` pairs each
reference with its article by normalised URL, then by title; `writer` writes the dataset, the
leftovers, report.json and the summary. Problems name the file and line; a bad file does not stop
the others; only when nothing usable was read is it an error (DataError, exit 2).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.data.ingest import crawled, daily, weekly
from harness.data.ingest.join import DEFAULT_TITLE_THRESHOLD, join
from harness.data.ingest.reading import collect_files, read_document
from harness.data.ingest.records import ERROR, Document, IngestProblem, Reference, Source
from harness.data.ingest.writer import build_report, summary, to_item, write_outputs
from harness.errors import DataError, UsageError

FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (weekly, crawled, daily)}
# Auto-detection tries the most specific signature first.
DETECT_ORDER = (crawled, weekly, daily)
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
MAX_MESSAGE_PROBLEMS = 20


@dataclass
class IngestResult:
    out: Path
    report: dict[str, Any]
    problems: list[IngestProblem]
    summary: str


def detect(doc: Document) -> ModuleType | None:
    lines = doc.lines
    return next((reader for reader in DETECT_ORDER if reader.sniff(lines)), None)


def _not_a_format(doc: Document) -> IngestProblem:
    number, first = next((n, line.strip()) for n, line in enumerate(doc.lines, 1) if line.strip())
    return IngestProblem(
        doc.name,
        number,
        "not in a known format (weekly digest: '### title' + '要点解析' + '原文链接'; crawled record: "
        "'标题:' + '链接:'/'总结:'; daily digest: '摘要：' or '热点资讯' + '**title**'); "
        f"starts '{first[:40]}'",
    )


def check_options(
    fmt: str, date: str | None, encoding: str | None, title_threshold: float, name: str | None
) -> None:
    """UsageError for a bad flag value, before any file is read."""
    import codecs

    if fmt != "auto" and fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: use auto, {', '.join(FORMATS)}")
    if date is not None:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise UsageError(f"--date {date}: use YYYY-MM-DD") from None
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(f"--encoding {encoding}: unknown encoding (e.g. utf-8, gbk, gb18030)") from None
    if not 0 < title_threshold <= 1:
        raise UsageError(f"--title-threshold {title_threshold}: must be in (0, 1]")
    if name is not None and not _NAME.match(name):
        raise UsageError(f"--name {name}: use letters, digits, '.', '_' or '-'")


def _unique_ids(references: list[Reference]) -> None:
    seen: set[str] = set()
    for ref in references:
        base, n = ref.id, 1
        while ref.id in seen:
            n += 1
            ref.id = f"{base}-{n}"
        seen.add(ref.id)


@dataclass
class _Read:
    references: list[Reference] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    problems: list[IngestProblem] = field(default_factory=list)


def _read(files: list[Path], fmt: str, encoding: str | None, date: str | None, read: _Read) -> None:
    """Decode, detect and parse each file; what cannot be used becomes a problem, never an error."""
    for path in files:
        doc, found = read_document(path, encoding, date)
        read.problems += found
        entry: dict[str, Any] = {
            "file": str(path),
            "format": None,
            "encoding": None,
            "references": 0,
            "sources": 0,
        }
        read.files.append(entry)
        if doc is None:
            continue
        entry.update(encoding=doc.encoding, date=doc.date)
        reader = FORMATS[fmt] if fmt != "auto" else detect(doc)
        if reader is None:
            read.problems.append(_not_a_format(doc))
            continue
        parsed = reader.parse(doc)
        entry.update(format=reader.NAME, references=len(parsed.references), sources=len(parsed.sources))
        entry.update(parsed.info)
        read.problems += parsed.problems
        if not (parsed.references or parsed.sources or any(p.level == ERROR for p in parsed.problems)):
            read.problems.append(IngestProblem(doc.name, None, f"no {reader.NAME} items found in it"))
        read.references += parsed.references
        read.sources += parsed.sources


def ingest(
    paths: list[Path],
    out: Path,
    *,
    fmt: str = "auto",
    date: str | None = None,
    encoding: str | None = None,
    title_threshold: float = DEFAULT_TITLE_THRESHOLD,
    name: str | None = None,
) -> IngestResult:
    """Read every file (folders walked), join references to sources and write the dataset to `out`.
    DataError (nothing written) when no file gave a reference or a source."""
    from harness.config import safe_name

    check_options(fmt, date, encoding, title_threshold, name)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    files, skipped, problems = collect_files(paths)
    read = _Read(problems=problems)
    _read(files, fmt, encoding, date, read)
    if not read.references and not read.sources:
        shown = "\n".join(f"  - {p}" for p in read.problems[:MAX_MESSAGE_PROBLEMS])
        more = len(read.problems) - MAX_MESSAGE_PROBLEMS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        given = ", ".join(str(p) for p in paths)
        raise DataError(f"nothing usable was read from {given}; nothing written:\n{shown}{tail}")
    _unique_ids(read.references)
    joined = join(read.references, read.sources, title_threshold)
    read.problems += joined.problems
    items = [to_item(m) for m in joined.matches]
    name = name or safe_name(out.resolve().name)
    settings = {
        "name": name,
        "paths": [str(p) for p in paths],
        "format": fmt,
        "date": date,
        "encoding": encoding,
        "title_threshold": title_threshold,
    }
    report = build_report(
        settings=settings,
        references=read.references,
        joined=joined,
        items=items,
        files=read.files,
        skipped=skipped,
        problems=read.problems,
    )
    write_outputs(out, joined, items, report)
    return IngestResult(out=out, report=report, problems=read.problems, summary=summary(report, out, name))


__all__ = ["FORMATS", "IngestResult", "detect", "ingest"]
