"""Load evaluation items, validated before any model is called.

Local files (JSONL, CSV, parquet) are read and checked row by row, so every error names the file,
the line (or row) and the field. Hub datasets load through HF `datasets` (HF cache, honours
HF_HUB_OFFLINE) and are checked by row index. `datasets` is not used for local files: it coerces
types silently (a date string becomes a timestamp, missing fields become None) and reports mixed
types as pyarrow errors without a line number.

`dataset.columns` maps a table's own column names (Chinese ones included) to the schema's fields
before validation; `dataset.subset` and `dataset.revision` pick a hub dataset's subset and version.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import DatasetConfig, project_path
from harness.data.schema import OPTIONAL_FIELDS, REQUIRED_FIELDS, Item
from harness.errors import DataError

FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
MAX_REPORTED_ERRORS = 20


@dataclass(frozen=True)
class Problem:
    where: str  # "path:line" or "hub-id[row]"
    field: str | None
    message: str

    def __str__(self) -> str:
        field = f" field '{self.field}':" if self.field else ""
        return f"{self.where}:{field} {self.message}"


class DatasetError(DataError):
    """The dataset cannot be used; `problems` lists every finding (file, line/row, field)."""

    def __init__(self, dataset: str, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_REPORTED_ERRORS])
        more = len(problems) - MAX_REPORTED_ERRORS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"dataset '{dataset}' is invalid ({len(problems)} problem(s)):\n{shown}{tail}")


def _raw_rows(path: Path) -> Iterator[tuple[str, Any]]:
    """(location, raw record) pairs of a local file; undecodable input becomes a Problem record."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            yield str(path), Problem(str(path), None, f"cannot read as parquet: {exc}")
            return
        for i, row in enumerate(table.to_pylist()):
            yield f"{path}:row {i + 1}", _from_datasets(row)
        return
    if suffix == ".csv":
        yield from _csv_rows(path)
        return
    # JSONL is read line by line so a 10k-article file is never held in memory twice.
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield f"{path}:{number}", _not_utf8(path, number, raw[exc.start], exc.start)
                return
            if not line.strip():
                continue
            try:
                yield f"{path}:{number}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield (
                    f"{path}:{number}",
                    Problem(f"{path}:{number}", None, f"invalid JSON: {exc.msg} (column {exc.colno})"),
                )


def _not_utf8(path: Path, line: int, byte: int, offset_in_line: int) -> Problem:
    return Problem(
        f"{path}:{line}",
        None,
        f"not valid UTF-8 (byte 0x{byte:02x} at offset {offset_in_line} of the line); save the file as UTF-8",
    )


def _csv_rows(path: Path) -> Iterator[tuple[str, Any]]:
    # CSV fields may span lines, so the file is decoded whole to report the right line on bad bytes.
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        yield f"{path}:{line}", _not_utf8(path, line, data[exc.start], exc.start - line_start)
        return
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        reader.fieldnames  # noqa: B018 (reads the header line)
        while True:
            first_line = reader.line_num + 1  # a record's first line (fields may span lines)
            try:
                row = next(reader)
            except StopIteration:
                return
            yield f"{path}:{first_line}", _csv_row(row)
    except csv.Error as exc:
        yield f"{path}:{reader.line_num}", Problem(f"{path}:{reader.line_num}", None, f"invalid CSV: {exc}")


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """CSV cells are strings: `reference` is a JSON array or one bullet per line; `metadata` JSON."""
    out = dict(row)
    ref = out.get("reference")
    if isinstance(ref, str):
        stripped = ref.strip()
        if stripped.startswith("["):
            try:
                out["reference"] = json.loads(stripped)
            except json.JSONDecodeError:
                pass
        else:
            out["reference"] = [b for b in stripped.splitlines() if b.strip()]
    meta = out.get("metadata")
    if isinstance(meta, str) and meta.strip():
        try:
            out["metadata"] = json.loads(meta)
        except json.JSONDecodeError:
            pass
    return {k: v for k, v in out.items() if k is not None and not (k in OPTIONAL_FIELDS and v == "")}


# Characters that show nothing: text made only of them (and whitespace) is empty.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why a text field cannot be used, or None: empty or invisible-only, a lone surrogate (an
    escaped half of a character: it cannot be written as UTF-8), NUL or another control character
    (terminal escape codes included; tabs and newlines are fine in multi-line fields)."""
    if not value.translate(_INVISIBLE).strip():
        return "is empty" if not value.strip() else "is empty (only invisible characters such as U+200B)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"holds a lone surrogate U+{ord(value[exc.start]):04X} at character {exc.start}: not text"
    allowed = "\t\n\r" if multiline else "\t"
    for i, ch in enumerate(value):
        code = ord(ch)
        if (code < 0x20 or 0x7F <= code < 0xA0) and ch not in allowed:
            return f"holds control character U+{code:04X} at character {i}"
    return None


def check_record(where: str, record: Any) -> tuple[Item | None, list[Problem]]:
    """Validate one raw record; return the Item (if valid) and the problems found."""
    if not isinstance(record, dict):
        return None, [
            Problem(
                where,
                None,
                f"expected an object with fields {', '.join(REQUIRED_FIELDS)}, got {type(record).__name__}",
            )
        ]
    problems = [Problem(where, f, "missing required field") for f in REQUIRED_FIELDS if f not in record]
    if problems:
        return None, problems

    def text_field(name: str, allow_int: bool = False, multiline: bool = False) -> str | None:
        value = record[name]
        if allow_int and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            problems.append(Problem(where, name, f"expected a string, got {type(value).__name__}"))
            return None
        bad = text_problem(value, multiline)
        if bad:
            problems.append(Problem(where, name, bad))
            return None
        return value

    item_id = text_field("id", allow_int=True)
    if item_id is not None and item_id != item_id.strip():
        problems.append(Problem(where, "id", f"{item_id!r} has leading or trailing whitespace"))
        item_id = None
    title = text_field("title")
    url = text_field("url")
    source = text_field("source", multiline=True)
    reference = record["reference"]
    bullets: list[str] = []
    if not isinstance(reference, list):
        problems.append(
            Problem(where, "reference", f"expected a list of bullet strings, got {type(reference).__name__}")
        )
    elif not reference:
        problems.append(
            Problem(where, "reference", "is an empty list: at least one reference bullet is needed")
        )
    else:
        for i, bullet in enumerate(reference):
            if not isinstance(bullet, str):
                problems.append(Problem(where, f"reference[{i}]", "expected a non-empty string"))
            elif bad := text_problem(bullet, multiline=True):
                problems.append(Problem(where, f"reference[{i}]", bad))
            else:
                bullets.append(bullet.strip())
    optional: dict[str, Any] = {}
    for name in ("date", "section"):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(where, name, f"expected a string or null, got {type(value).__name__}"))
        optional[name] = value or None
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        problems.append(Problem(where, "metadata", f"expected an object, got {type(metadata).__name__}"))
        metadata = {}
    # Unknown columns are kept, not dropped: an archive may carry fields we do not score on.
    extra = {k: v for k, v in record.items() if k not in REQUIRED_FIELDS + OPTIONAL_FIELDS}
    if problems:
        return None, problems
    assert item_id is not None and title is not None and source is not None
    return Item(
        id=item_id,
        title=title,
        url=str(url),
        source=source,
        reference=tuple(bullets),
        date=optional["date"],
        section=optional["section"],
        metadata={**metadata, **extra},
    ), []


def validate_records(records: Iterable[tuple[str, Any]], dataset: str) -> list[Item]:
    """Items from (location, record) pairs; raises DatasetError listing every problem."""
    items: list[Item] = []
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    for where, record in records:
        if isinstance(record, Problem):
            problems.append(record)
            continue
        item, found = check_record(where, record)
        problems.extend(found)
        if item is None:
            continue
        if item.id in first_seen:
            problems.append(
                Problem(where, "id", f"duplicate id '{item.id}' (first at {first_seen[item.id]})")
            )
            continue
        first_seen[item.id] = where
        items.append(item)
    if not items and not problems:
        problems.append(Problem(dataset, None, "contains no items"))
    if problems:
        raise DatasetError(dataset, problems)
    return items


def split_bullet_text(text: str) -> list[str]:
    """A reference written as one text cell: its "- " / "1." / "①" bullets (the reply parser's
    rules: markers, wrapped lines, a 要点解析 header); without markers, blank-line paragraphs, else
    one bullet per line."""
    from harness.generate.parse import parse_bullets

    parsed = parse_bullets(text)
    if "no_bullet_markers" in parsed.flags and not re.search(r"\n\s*\n", text.strip()):
        return [line.strip() for line in text.splitlines() if line.strip()]
    return list(parsed.bullets)


def _check_columns(cfg: DatasetConfig) -> None:
    fields = REQUIRED_FIELDS + OPTIONAL_FIELDS
    problems = [
        Problem(
            f"conf/dataset/{cfg.name}.yaml",
            f"columns.{name}",
            f"not a schema field: map your columns to {', '.join(fields)}",
        )
        for name in cfg.columns
        if name not in fields
    ]
    problems += [
        Problem(f"conf/dataset/{cfg.name}.yaml", f"columns.{name}", "needs a column name")
        for name, column in cfg.columns.items()
        if not isinstance(column, str) or not column.strip()
    ]
    if problems:
        raise DatasetError(cfg.name, problems)


def map_columns(records: Iterable[tuple[str, Any]], columns: dict[str, str]) -> Iterator[tuple[str, Any]]:
    """Rename a table's own columns to schema fields (`dataset.columns`: field -> column). A text
    `reference` cell is split into bullets; a table without an `id` column gets `row-N` ids."""
    for number, (where, record) in enumerate(records, start=1):
        if not isinstance(record, dict):
            yield where, record
            continue
        missing = [(name, column) for name, column in columns.items() if column not in record]
        if missing:
            have = ", ".join(map(str, record)) or "none"
            for name, column in missing:
                yield (
                    where,
                    Problem(where, column, f"column not found (dataset.columns.{name}); columns: {have}"),
                )
            continue
        out = {k: v for k, v in record.items() if k not in columns.values()}
        out.update({name: record[column] for name, column in columns.items()})
        if isinstance(out.get("reference"), str) and "reference" in columns:
            out["reference"] = split_bullet_text(out["reference"])
        if "id" not in out:
            out["id"] = f"row-{number}"
        yield where, out


def _local_files(cfg: DatasetConfig) -> list[Path]:
    paths = [project_path(p) for p in cfg.data_files]
    problems = []
    for original, path in zip(cfg.data_files, paths, strict=True):
        if not path.is_file():
            problems.append(
                Problem(
                    f"conf/dataset/{cfg.name}.yaml",
                    "data_files",
                    f"file not found: {original} (looked at {path})",
                )
            )
        elif path.suffix.lower() not in FORMATS:
            problems.append(
                Problem(
                    str(path),
                    "data_files",
                    f"unsupported file type '{path.suffix}': use {', '.join(sorted(FORMATS))}",
                )
            )
    if len({FORMATS.get(p.suffix.lower()) for p in paths}) > 1:
        problems.append(Problem(f"conf/dataset/{cfg.name}.yaml", "data_files", "mixes file formats"))
    if problems:
        raise DatasetError(cfg.name, problems)
    return paths


def _load_with_datasets(builder: str, **kwargs: Any) -> Any:
    # Each load_dataset otherwise sends a request to count downloads (see shared library notes).
    os.environ.setdefault("HF_UPDATE_DOWNLOAD_COUNTS", "0")
    import datasets

    datasets.disable_progress_bars()
    return datasets.load_dataset(builder, **kwargs)


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hub's endpoint answers a TCP connection (no request is sent)."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def _load_from_hub(cfg: DatasetConfig) -> Any:
    """A hub dataset through `datasets` (HF cache; HF_HUB_OFFLINE honoured). With no network the
    cache is used at once instead of retrying for a minute; any failure is a DatasetError."""
    where = f"conf/dataset/{cfg.name}.yaml"
    if os.environ.get("HF_HUB_OFFLINE") != "1" and not _hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"
        import huggingface_hub.constants

        import datasets

        datasets.config.HF_HUB_OFFLINE = True  # both read the variable at import time
        huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        return _load_with_datasets(cfg.hub_id, name=cfg.subset, revision=cfg.revision, split=cfg.split)
    except Exception as exc:  # datasets raises many types (ConnectionError, FileNotFoundError, ...)
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = (
            " The Hub cannot be reached (or HF_HUB_OFFLINE=1) and the dataset is not in the Hugging Face "
            "cache: download it where there is network and copy HF_HOME, or use data_files."
            if offline
            else ""
        )
        raise DatasetError(
            cfg.name,
            [Problem(where, "hub_id", f"cannot load {cfg.hub_id!r}: {type(exc).__name__}: {exc}.{hint}")],
        ) from exc


def _from_datasets(row: dict[str, Any]) -> dict[str, Any]:
    """A datasets row as a raw record: CSV cells decoded, and the None that datasets puts in
    columns a row lacks (arrow tables are rectangular) removed again."""
    import datetime as dt

    def plain(value: Any) -> Any:
        # Arrow type inference turns "2024-05-10" into a timestamp; the schema wants the string.
        if isinstance(value, dt.datetime) and value.time() == dt.time(0):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    return _csv_row({k: plain(v) for k, v in row.items() if v is not None})


def load_items(cfg: DatasetConfig) -> list[Item]:
    """The dataset's items, validated, in file order (first `cfg.limit` if set)."""
    if bool(cfg.data_files) == bool(cfg.hub_id):
        raise DatasetError(
            cfg.name,
            [
                Problem(
                    f"conf/dataset/{cfg.name}.yaml",
                    "data_files",
                    "set exactly one of data_files (local) or hub_id",
                )
            ],
        )
    _check_columns(cfg)
    records: Iterable[tuple[str, Any]]
    if cfg.data_files:
        # Local files are read here, not through `datasets`: its JSON loader turns "2024-05-10"
        # into a timestamp and its errors cannot name a line; our reader is exact and strict.
        paths = _local_files(cfg)
        records = (r for p in paths for r in _raw_rows(p))
    else:
        ds = _load_from_hub(cfg)
        label = (
            cfg.hub_id
            + (f":{cfg.subset}" if cfg.subset else "")
            + (f"@{cfg.revision}" if cfg.revision else "")
        )
        records = ((f"{label}[{i}]", _from_datasets(row)) for i, row in enumerate(ds))
    if cfg.columns:
        records = map_columns(records, dict(cfg.columns))
    items = validate_records(records, cfg.name)
    if cfg.limit is not None:
        if cfg.limit < 1:
            raise DatasetError(
                cfg.name, [Problem("dataset.limit", "limit", f"must be >= 1 or null, got {cfg.limit}")]
            )
        items = items[: cfg.limit]
    return items


def dataset_fingerprint(items: list[Item]) -> str:
    """A short hash of the items' content: rows from different dataset versions stay apart."""
    import hashlib

    h = hashlib.sha256()
    for item in items:
        h.update(json.dumps([item.id, item.source, list(item.reference)], ensure_ascii=False).encode())
    return h.hexdigest()[:12]
