"""What `harness ingest` writes: the joined items in the dataset schema (JSONL and parquet), the
leftovers on both sides, report.json, and the one-screen summary."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from harness.data.ingest.join import JoinResult, Match
from harness.data.ingest.records import ERROR, IngestProblem, Reference, Source
from harness.data.ingest.urls import url_key
from harness.text import char_count

ITEMS = "items.jsonl"
ITEMS_PARQUET = "items.parquet"
REFERENCES_WITHOUT_SOURCE = "references_without_source.jsonl"
SOURCES_WITHOUT_REFERENCE = "sources_without_reference.jsonl"
REPORT = "report.json"
MAX_SHOWN_PROBLEMS = 12


def to_item(match: Match) -> dict[str, Any]:
    """One joined pair as a record of the dataset schema (harness/data/schema.py)."""
    ref, src = match.reference, match.source
    provenance: dict[str, Any] = {
        "match": match.by,
        "reference_at": ref.at,
        "source_at": src.at,
        "source_format": src.kind,
        "digest_title": ref.title,
        "source_url": src.url,
    }
    if match.similarity is not None:
        provenance["title_similarity"] = match.similarity
    return {
        "id": ref.id,
        "title": src.title or ref.title,
        # The dataset needs a locator: with no link on either side (a title join), where the
        # article text was read (file:line of the user's archive).
        "url": ref.url or src.url or f"file:{src.at}",
        "source": src.text,
        "reference": list(ref.bullets),
        "date": src.date or ref.date,
        "section": ref.section,
        "metadata": {**src.metadata, **ref.metadata, "ingest": provenance},
    }


def reference_record(ref: Reference, near: tuple[Source, float] | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": ref.id,
        "title": ref.title,
        "url": ref.url,
        "url_key": url_key(ref.url),
        "section": ref.section,
        "date": ref.date,
        "reference": ref.bullets,
        "at": ref.at,
    }
    if near is not None:
        record["closest_source"] = {"title": near[0].title, "similarity": round(near[1], 4), "at": near[0].at}
    return record


def source_record(src: Source) -> dict[str, Any]:
    return {
        "title": src.title,
        "url": src.url,
        "url_key": url_key(src.url),
        "format": src.kind,
        "date": src.date,
        "chars": char_count(src.text),
        "at": src.at,
        "metadata": src.metadata,
        "source": src.text,
    }


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_parquet(path: Path, items: list[dict[str, Any]]) -> None:
    """The same items as parquet; `metadata` is a JSON string (its keys differ between items)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("id", pa.string()),
            ("title", pa.string()),
            ("url", pa.string()),
            ("source", pa.string()),
            ("reference", pa.list_(pa.string())),
            ("date", pa.string()),
            ("section", pa.string()),
            ("metadata", pa.string()),
        ]
    )
    rows = [{**item, "metadata": json.dumps(item["metadata"], ensure_ascii=False)} for item in items]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def compression_figures(items: list[dict[str, Any]], stated: list[float]) -> dict[str, Any]:
    """How much reading the human digest saves on the joined items: source ÷ reference characters
    (whitespace not counted), as a ratio of totals and as the mean of per-item ratios."""
    source = [char_count(i["source"]) for i in items]
    reference = [char_count("".join(i["reference"])) for i in items]
    ratios = [s / r for s, r in zip(source, reference, strict=True) if r]
    return {
        "items": len(items),
        "source_chars": sum(source),
        "reference_chars": sum(reference),
        "ratio_of_totals": round(sum(source) / sum(reference), 2) if sum(reference) else None,
        "mean_per_item": round(sum(ratios) / len(ratios), 2) if ratios else None,
        "stated_by_digest_headers": stated,
    }


def build_report(
    *,
    settings: dict[str, Any],
    references: list[Reference],
    joined: JoinResult,
    items: list[dict[str, Any]],
    files: list[dict[str, Any]],
    skipped: list[dict[str, str]],
    problems: list[IngestProblem],
) -> dict[str, Any]:
    bullets = [len(r.bullets) for r in references]
    stated = [f["header"]["stated_compression"] for f in files if "stated_compression" in f.get("header", {})]
    for entry in files:
        entry["problems"] = sum(1 for p in problems if p.file == entry["file"])
    return {
        "settings": settings,
        "references": len(references),
        "sources": len(joined.sources),
        "matched": len(joined.matches),
        "matched_by_url": sum(1 for m in joined.matches if m.by == "url"),
        "matched_by_title": sum(1 for m in joined.matches if m.by == "title"),
        "references_without_source": len(joined.references_without_source),
        "sources_without_reference": len(joined.sources_without_reference),
        "sources_by_format": {k: sum(1 for s in joined.sources if s.kind == k) for k in ("crawled", "daily")},
        "reference_bullets": {
            "min": min(bullets, default=0),
            "max": max(bullets, default=0),
            "mean": round(sum(bullets) / len(bullets), 2) if bullets else 0,
        },
        "compression": compression_figures(items, stated),
        "files": files,
        "skipped": skipped,
        "problems": [p.to_json() for p in problems],
    }


def write_outputs(out: Path, joined: JoinResult, items: list[dict[str, Any]], report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / ITEMS, items)
    _write_parquet(out / ITEMS_PARQUET, items)
    _write_jsonl(
        out / REFERENCES_WITHOUT_SOURCE,
        [reference_record(ref, near) for ref, near in joined.references_without_source],
    )
    _write_jsonl(
        out / SOURCES_WITHOUT_REFERENCE, [source_record(s) for s in joined.sources_without_reference]
    )
    report["outputs"] = {
        name: str(out / name)
        for name in (ITEMS, ITEMS_PARQUET, REFERENCES_WITHOUT_SOURCE, SOURCES_WITHOUT_REFERENCE, REPORT)
    }
    (out / REPORT).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def summary(report: dict[str, Any], out: Path, name: str) -> str:
    """The one-screen summary printed on stdout."""
    lines = []
    for f in report["files"]:
        counts = []
        if f["references"]:
            counts.append(f"{f['references']} references")
        if f["sources"]:
            counts.append(f"{f['sources']} sources")
        if f["problems"]:
            counts.append(f"{f['problems']} problem(s)")
        header = f.get("header", {})
        if "stated_compression" in header:
            counts.append(
                f"header: {header['original_chars']} -> {header['digest_chars']} chars "
                f"({header['stated_compression']}x)"
            )
        name_col = Path(f["file"]).name
        lines.append(
            f"  {name_col:<34} {f['format'] or '-':<8} {f['encoding'] or '-':<9} {', '.join(counts)}"
        )
    if report["skipped"]:
        lines.append(
            f"  ({len(report['skipped'])} file(s) skipped in folders: README, non-text; see report.json)"
        )
    c, r = report["compression"], report
    bullets, by_format = r["reference_bullets"], r["sources_by_format"]
    lines += [
        "",
        f"references {r['references']} (bullets per item {bullets['min']}-{bullets['max']}) · sources "
        f"{r['sources']} (crawled {by_format['crawled']}, daily {by_format['daily']})",
        f"joined {r['matched']} (by URL {r['matched_by_url']}, by title {r['matched_by_title']})"
        f" · references without source {r['references_without_source']}"
        f" · sources without reference {r['sources_without_reference']}",
    ]
    if c["ratio_of_totals"] is not None:
        lines.append(
            f"human digest compression on the joined items: {c['ratio_of_totals']}x "
            f"(source {c['source_chars']} ÷ reference {c['reference_chars']} characters)"
        )
    errors = sum(1 for p in report["problems"] if p["level"] == ERROR)
    warnings = len(report["problems"]) - errors
    if report["problems"]:
        lines.append(f"problems: {errors} error(s) (input not used), {warnings} warning(s); listed on stderr")
    others = ", ".join((ITEMS_PARQUET, REFERENCES_WITHOUT_SOURCE, SOURCES_WITHOUT_REFERENCE, REPORT))
    lines.append(f"wrote {out}/: {ITEMS} ({report['matched']} items), {others}")
    if report["matched"]:
        data_files = shlex.quote(f'dataset.data_files=["{(out / ITEMS).resolve()}"]')
        lines.append(f"evaluate: harness run dataset.name={name} {data_files}")
    else:
        lines.append(
            "no reference was joined to its article: nothing to evaluate yet (see the two leftover files)"
        )
    return "\n".join(lines)
