"""Input files: folders walked, bytes decoded (UTF-8, UTF-16 with a BOM, or GBK/GB18030, which
Chinese archives often use), empty files reported. Every problem names the file and the line."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from harness.data.ingest.records import WARNING, Document, IngestProblem

# Files read when a folder is given; others (and README files, hidden files) are listed as skipped.
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
# A date in a file name, e.g. weekly-2023-12-20.txt or 2023_12_20.md.
_NAME_DATE = re.compile(r"(?<!\d)(20\d\d)[-_.](\d\d)[-_.](\d\d)(?!\d)")
# Share of replacement characters among non-ASCII ones above which a non-UTF-8 file is read as
# another encoding rather than as UTF-8 with a few broken bytes.
_BROKEN_UTF8_SHARE = 0.1


def collect_files(paths: list[Path]) -> tuple[list[Path], list[dict[str, str]], list[IngestProblem]]:
    """(files to read, skipped entries, problems): folders are walked in name order, each file once."""
    files: list[Path] = []
    skipped: list[dict[str, str]] = []
    problems: list[IngestProblem] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for path in paths:
        if path.is_dir():
            for child in _walk(path):
                reason = _skip_reason(child)
                if reason:
                    skipped.append({"file": str(child), "reason": reason})
                else:
                    add(child)
        elif path.is_file():
            add(path)
        else:
            problems.append(IngestProblem(str(path), None, "no such file or folder"))
    return files, skipped, problems


def _walk(folder: Path) -> Iterator[Path]:
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            yield from _walk(child)
        elif child.is_file():
            yield child


def _skip_reason(path: Path) -> str | None:
    if path.stem.lower() == "readme":
        return "a README"
    if path.suffix.lower() not in TEXT_SUFFIXES:
        return f"not a text file ({', '.join(TEXT_SUFFIXES)})"
    return None


def date_from_name(path: Path) -> str | None:
    m = _NAME_DATE.search(path.name)
    return f"{m[1]}-{m[2]}-{m[3]}" if m else None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _strict(data: bytes, codec: str) -> tuple[str | None, int]:
    """(text, -1), or (None, offset of the first byte that does not decode)."""
    try:
        return _newlines(data.decode(codec)), -1
    except UnicodeDecodeError as exc:
        return None, exc.start


def decode(path: Path, data: bytes, encoding: str | None) -> tuple[str | None, str, list[IngestProblem]]:
    """(text or None, encoding used, problems): `encoding` if given, else a byte-order mark's, else
    UTF-8, else GBK/GB18030 (unless the file is UTF-8 with a few broken bytes). Line ends become "\\n"."""
    name = str(path)
    if encoding:
        text, bad = _strict(data, encoding)
        if text is None:
            message = f"not valid {encoding} (byte 0x{data[bad]:02x})"
            return None, encoding, [IngestProblem(name, _line_of(data, bad), message)]
        return text.removeprefix("\ufeff"), encoding, []
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text, bad = _strict(data, codec)
            problems = (
                [] if text is not None else [IngestProblem(name, _line_of(data, bad), f"not valid {codec}")]
            )
            return text, codec, problems
    text, bad = _strict(data, "utf-8")
    if text is not None:
        return text, "utf-8", []
    replaced = data.decode("utf-8", errors="replace")
    share = replaced.count("\ufffd") / max(1, sum(1 for ch in replaced if ord(ch) > 127))
    hint = "save it as UTF-8 or pass --encoding"
    if share < _BROKEN_UTF8_SHARE:
        message = f"UTF-8 text with broken bytes (first: 0x{data[bad]:02x}); {hint}"
        return None, "utf-8", [IngestProblem(name, _line_of(data, bad), message)]
    text, bad_gbk = _strict(data, "gb18030")
    if text is None:
        message = (
            f"neither UTF-8 (line {_line_of(data, bad)}) nor GBK/GB18030 (byte 0x{data[bad_gbk]:02x}); {hint}"
        )
        return None, "unknown", [IngestProblem(name, _line_of(data, bad_gbk), message)]
    return text, "gb18030", [IngestProblem(name, None, "read as GBK/GB18030 (not UTF-8)", WARNING)]


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_document(
    path: Path, encoding: str | None, date: str | None
) -> tuple[Document | None, list[IngestProblem]]:
    """The decoded file, or None with the reason (unreadable, undecodable, empty)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [IngestProblem(str(path), None, f"cannot read: {exc.strerror or exc}")]
    if not data:
        return None, [IngestProblem(str(path), 1, "empty file (0 bytes)")]
    text, used, problems = decode(path, data, encoding)
    if text is None:
        return None, problems
    if not text.strip():
        return None, [*problems, IngestProblem(str(path), 1, "empty file (only whitespace)")]
    return Document(path=path, text=text, encoding=used, date=date or date_from_name(path)), problems
