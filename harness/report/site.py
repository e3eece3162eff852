"""Static leaderboard site: results/site/{index.html, compare.html, runs/*.html, assets/, plots/}.

Works from file:// with no server. Each page is a fixed HTML shell plus its data, embedded as JSON
in `<script type="application/json" id="data">` and rendered by `assets/site.js` with
`textContent` / `createElement` only (never `innerHTML`): article text, references and model
outputs are untrusted and always end up as text nodes. The JSON is escaped (`<`, `>`, `&`,
U+2028, U+2029 as `\\uXXXX`) so nothing inside it can close the script element, and a
Content-Security-Policy allows only the site's own script and stylesheet files.

- index.html: per dataset, the ranked table of the board (sortable by any column), the plots
  (`build_plots` writes them; see plots.plot_paths) and the statistics settings;
- runs/<run>.html: one per leaderboard row: run metadata, the per-item table and, per item, a
  drill-down with source, reference, generated bullets, raw reply, every score, flags and the
  judge's verdicts with their evidence quotes highlighted in the source;
- compare.html: two runs of one dataset side by side on one item, next to the reference.

Sources and references are not in the rows: they are loaded from the dataset the run's
config.yaml names (`load_items`). If that fails (file moved, hub offline) the run page says so and
shows everything else.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import math
import shutil
from pathlib import Path
from typing import Any

from harness.config import safe_name
from harness.report.aggregate import ordered_score_keys
from harness.report.plots import plot_paths
from harness.score import registry
from harness.text import normalize_with_map

log = logging.getLogger("harness")

SITE_DIR = "site"
ASSETS_SRC = Path(__file__).parent / "site_assets"
ASSET_FILES = ("site.js", "site.css")
# Score columns of the per-item tables (run page, compare view), when present in the rows.
ITEM_SCORE_KEYS = (
    "rouge1_f",
    "rougeL_f",
    "rougeLsum_f",
    "bertscore_f1",
    "judge_factual_precision",
    "judge_keypoint_recall",
    "format_ok",
)
# Only the site's own files: no inline script, no inline event handler, no remote anything. `file:`
# is listed next to 'self' because browsers differ on whether 'self' matches a file:// page.
CSP = (
    "default-src 'none'; script-src 'self' file:; style-src 'self' file:; img-src 'self' file:; "
    "base-uri 'none'; form-action 'none'"
)
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


# ---------------------------------------------------------------------------------------------
# Embedding data (pure)


def _plain(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become None (JSON.parse rejects NaN), tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def script_json(data: Any) -> str:
    """JSON for a `<script type="application/json">` element: no text in it can end the element.

    `<`, `>` and `&` only occur inside JSON strings, where `\\u003c` etc. mean the same, so
    JSON.parse returns the original text; U+2028/2029 are escaped for old JS parsers."""
    text = json.dumps(_plain(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in _JSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def _labels() -> dict[str, str]:
    """Every declared column's label (harness/score/ declarations)."""
    return {c.key: c.label for c in registry.columns()}


def _directions() -> dict[str, str]:
    """ "higher" or "lower" (is better) for every declared column: the page never guesses it."""
    return {c.key: c.direction for c in registry.columns()}


def _page(title: str, page: str, data: dict[str, Any], depth: int = 0) -> str:
    up = "../" * depth
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="{up}assets/site.css">
</head>
<body data-page="{page}">
<header class="top"><nav>
<a href="{up}index.html">Leaderboard</a> <a href="{up}compare.html">Compare runs</a>
</nav></header>
<main id="app"><noscript>This page is drawn by assets/site.js: enable JavaScript to see it.</noscript></main>
<script type="application/json" id="data">{script_json({"page": page, **data})}</script>
<script src="{up}assets/site.js"></script>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------
# Quote location (pure): the judge's normalisation, with offsets back into the text


def locate_span(quote: str, text: str) -> tuple[int, int] | None:
    """(start, end) of `quote` in `text`: exact substring first, then the judge's normalised match."""
    if not quote or not quote.strip():
        return None
    pos = text.find(quote)
    if pos >= 0:
        return pos, pos + len(quote)
    q, _ = normalize_with_map(quote)
    if not q:
        return None
    s, where = normalize_with_map(text)
    pos = s.find(q)
    if pos < 0:
        return None
    return where[pos], where[pos + len(q) - 1] + 1


def _utf16(text: str, index: int) -> int:
    """A code-point offset as a JavaScript (UTF-16) string offset."""
    return len(text[:index].encode("utf-16-le")) // 2


def quote_location(quote: str, matched: str | None, title: str, source: str) -> dict[str, Any] | None:
    """Where a judge quote lies in the title or the source, as JS offsets (None: not found).

    The judge checked quotes in `title + "\\n" + source`; a fuzzy match recorded the matched
    source text (`matched_source`), which is looked up instead of the quote."""
    doc = f"{title}\n{source}"
    span = locate_span(matched, doc) if matched else None
    span = span or locate_span(quote, doc)
    if span is None:
        return None
    start, end = span
    offset = len(title) + 1
    if end <= len(title):
        return {"in": "title", "start": _utf16(title, start), "end": _utf16(title, end)}
    start = max(start, offset)  # a span across the title/source boundary keeps its source part
    return {"in": "source", "start": _utf16(source, start - offset), "end": _utf16(source, end - offset)}


def judge_claims(evidence: dict[str, Any], title: str | None, source: str | None) -> list[dict[str, Any]]:
    """The judge's verdicts as one flat list (claim number, bullet, verdict, quote, location)."""
    claims_ev = (evidence or {}).get("claims") or {}
    out: list[dict[str, Any]] = []
    for bullet in claims_ev.get("bullets") or []:
        for claim in bullet.get("claims") or []:
            quote = claim.get("quote") or ""
            loc = None
            if claim.get("quote_found") and source is not None:
                loc = quote_location(quote, claim.get("matched_source"), title or "", source)
            out.append(
                {
                    "no": len(out) + 1,
                    "bullet_index": bullet.get("index"),
                    "bullet": bullet.get("bullet"),
                    "claim": claim.get("claim"),
                    "verdict": claim.get("verdict"),
                    "counted_as": claim.get("counted_as"),
                    "quote": quote,
                    "quote_found": claim.get("quote_found"),
                    "match_ratio": claim.get("match_ratio"),
                    "loc": loc,
                }
            )
    return out


# ---------------------------------------------------------------------------------------------
# Dataset items for run pages


def _load_dataset(
    run_dir: Path, cache: dict[str, Any]
) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """(items by id, current fingerprint, problem) for the dataset named in the run's config.yaml."""
    from omegaconf import OmegaConf

    from harness.config import DatasetConfig
    from harness.data.load import dataset_fingerprint, load_items

    try:
        section = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml").dataset, resolve=True)
    except Exception as exc:  # missing or unreadable config.yaml: the page still renders
        return None, None, f"cannot read the dataset section of {run_dir / 'config.yaml'}: {exc}"
    if not isinstance(section, dict):
        return None, None, f"{run_dir / 'config.yaml'} has no dataset section"
    known = {f.name for f in dataclasses.fields(DatasetConfig)}
    key = json.dumps(section, sort_keys=True, default=str)
    if key not in cache:
        try:
            cfg = DatasetConfig(**{k: v for k, v in section.items() if k in known})
            items = load_items(cfg)
            cache[key] = ({item.id: item for item in items}, dataset_fingerprint(items), None)
        except Exception as exc:  # DatasetError, ConfigError, hub errors: say why, go on
            first = str(exc).strip().splitlines()
            reason = "; ".join(line.strip() for line in first[:4])
            cache[key] = (None, None, f"dataset '{section.get('name')}' could not be loaded: {reason}")
    return cache[key]


# ---------------------------------------------------------------------------------------------
# Page data


def _rows_by_item(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last row per item id (a resumed run may repeat one), in first-seen order."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if "item_id" in row:
            out[str(row["item_id"])] = row
    return out


def _present_keys(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[str]:
    seen = {k for r in rows for k in (r.get("scores") or {})}
    return [k for k in keys if k in seen]


def _board_row(ds: dict[str, Any], row: dict[str, Any], page: str | None) -> dict[str, Any]:
    vs = row.get("vs_leader") or {}
    return {
        "rank": row["rank"],
        "model": row["model"],
        "litellm_model": row.get("litellm_model"),
        "uses_reference": row.get("uses_reference"),
        "leader": row.get("leader"),
        "indistinguishable": bool(vs.get("indistinguishable")) and not row.get("leader"),
        "vs_leader": row.get("vs_leader"),
        "prompt": row.get("prompt"),
        "n": row.get("n"),
        "failed": row.get("failed"),
        "failures_by_class": row.get("failures_by_class") or {},
        "metrics": {c["key"]: row["metrics"].get(c["key"]) for c in ds["columns"]},
        "generation": row.get("generation") or {},
        "judge": row.get("judge"),
        "run_id": row.get("run_id"),
        "dataset_fingerprint": row.get("dataset_fingerprint"),
        "page": page,
    }


def _run_meta(manifest: dict[str, Any], row: dict[str, Any], dataset: str) -> dict[str, Any]:
    metrics = manifest.get("metrics") or {}
    return {
        "run_id": row.get("run_id"),
        "dataset": {**(manifest.get("dataset") or {"name": dataset}), "name": dataset},
        "model": manifest.get("model") or {"name": row["model"], "litellm_model": row.get("litellm_model")},
        "prompt": manifest.get("prompt") or row.get("prompt"),
        "metric_versions": {
            name: (m.get("metric_version") if isinstance(m, dict) else None) for name, m in metrics.items()
        },
        "metric_settings": metrics,
        "judge": manifest.get("judge"),
        "unavailable": manifest.get("unavailable") or {},
        "warnings": manifest.get("warnings") or [],
        "status": manifest.get("status"),
        "finished_at": manifest.get("finished_at"),
        "wall_time_s": manifest.get("wall_time_s"),
        "n_items": manifest.get("n_items"),
        "seed": manifest.get("seed"),
        "resumed_from": manifest.get("resumed_from"),
        "rank": row["rank"],
        "n": row.get("n"),
        "failed": row.get("failed"),
        "leader": row.get("leader"),
        "uses_reference": row.get("uses_reference"),
        "generation": row.get("generation") or {},
    }


def _item_data(row: dict[str, Any], item: Any) -> dict[str, Any]:
    gen = row.get("generation") or {}
    evidence = row.get("evidence") or {}
    title = item.title if item is not None else None
    source = item.source if item is not None else None
    return {
        "id": str(row["item_id"]),
        "title": title,
        "url": item.url if item is not None else None,
        "date": item.date if item is not None else None,
        "section": item.section if item is not None else None,
        "source": source,
        "reference": list(item.reference) if item is not None else None,
        "bullets": gen.get("bullets") or [],
        "raw": gen.get("raw"),
        "parse_flags": gen.get("parse_flags") or [],
        "call": {
            k: gen.get(k)
            for k in (
                "latency_s",
                "prompt_tokens",
                "completion_tokens",
                "cost_usd",
                "cache_hit",
                "attempts",
                "finish_reason",
                "response_model",
                "source_truncation",
            )
        },
        "error": row.get("error"),
        "scores": row.get("scores") or {},
        "flags": row.get("flags") or [],
        "unavailable": row.get("unavailable") or {},
        "metric_errors": row.get("metric_errors") or {},
        "claims": judge_claims(evidence.get("judge") or {}, title, source),
        "judge": evidence.get("judge"),
        "evidence": {k: v for k, v in evidence.items() if k != "judge"},
    }


def _page_names(board: dict[str, Any]) -> dict[str, str]:
    """Run page file stem per run id: safe_name(run_id), made unique if two ids collapse to one."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for ds in board.get("datasets", []):
        for row in ds["rows"]:
            run_id = str(row.get("run_id"))
            if run_id in names:
                continue
            stem, k = safe_name(run_id), 1
            while stem in used:
                k += 1
                stem = f"{safe_name(run_id)}-{k}"
            used.add(stem)
            names[run_id] = stem
    return names


def _entry_for(row: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    for e in entries:
        if str(e.get("dir")) == str(row.get("run_dir")):
            return e
    return next((e for e in entries if e["manifest"].get("run_id") == row.get("run_id")), None)


def build_site(results_dir: Path, board: dict[str, Any], entries: list[dict[str, Any]]) -> Path:
    """Write results/site/ from the board (`build_board`) and its entries (`collect`).

    Returns the path of index.html. Plots are linked as plots/<dataset>-*.png (`build_plots`)."""
    site = results_dir / SITE_DIR
    (site / "runs").mkdir(parents=True, exist_ok=True)
    (site / "assets").mkdir(parents=True, exist_ok=True)
    for name in ASSET_FILES:
        shutil.copyfile(ASSETS_SRC / name, site / "assets" / name)
    for stale in (site / "runs").glob("*.html"):
        stale.unlink()

    names = _page_names(board)
    dataset_cache: dict[str, Any] = {}
    index_datasets = []
    compare_datasets = []
    for ds in board.get("datasets", []):
        columns = [{"key": c["key"], "label": c["label"]} for c in ds["columns"]]
        compare_keys = [c["key"] for c in columns]
        index_rows = []
        compare_runs = []
        compare_items: dict[str, dict[str, Any]] = {}
        for row in ds["rows"]:
            stem = names[str(row.get("run_id"))]
            page = f"runs/{stem}.html"
            index_rows.append(_board_row(ds, row, page))
            entry = _entry_for(row, entries)
            manifest = entry["manifest"] if entry else {}
            rows = list(_rows_by_item(entry["rows"]).values()) if entry else []
            items, fingerprint, problem = (None, None, None)
            if entry is not None:
                items, fingerprint, problem = _load_dataset(Path(entry["dir"]), dataset_cache)
            notes = []
            if entry is None:
                notes.append("The rows of this run were not given to the site builder: metadata only.")
            if problem:
                notes.append(f"Sources and references are not shown: {problem}")
            elif fingerprint and fingerprint != row.get("dataset_fingerprint"):
                notes.append(
                    f"The dataset file has changed since this run (fingerprint now {fingerprint}, "
                    f"at the run {row.get('dataset_fingerprint')}): sources and references shown are "
                    "the current ones."
                )
            missing = [r["item_id"] for r in rows if items is not None and str(r["item_id"]) not in items]
            if missing:
                notes.append(
                    f"{len(missing)} item(s) are no longer in the dataset: {', '.join(missing[:10])}"
                )
            item_data = [_item_data(r, (items or {}).get(str(r["item_id"]))) for r in rows]
            score_keys = _present_keys(rows, ITEM_SCORE_KEYS)
            run_data = {
                "dataset": ds["name"],
                "run_key": stem,
                "run": _run_meta(manifest, row, ds["name"]),
                "notes": notes,
                "score_keys": score_keys,
                "labels": _labels(),
                "directions": _directions(),
                "all_score_keys": ordered_score_keys({k for r in rows for k in (r.get("scores") or {})}),
                "items": item_data,
            }
            title = f"{row['model']} · {ds['name']} · run {row.get('run_id')}"
            (site / page).write_text(_page(title, "run", run_data, depth=1), encoding="utf-8")

            # Compare view: every row of every leaderboard run is embedded, without the article
            # (only the reference) and without raw replies. Fine for the sample sizes here
            # (hundreds of items x a few runs); thousands of items x many runs would want one
            # data file per run instead.
            prompt = row["prompt"]
            compare_runs.append(
                {
                    "key": stem,
                    "label": f"#{row['rank'] or '–'} {row['model']} · {prompt['id']}@{prompt['version']}",
                    "page": page,
                    "uses_reference": row.get("uses_reference"),
                    "rows": {
                        d["id"]: {
                            "bullets": d["bullets"],
                            "scores": {k: d["scores"][k] for k in compare_keys if k in d["scores"]},
                            "flags": d["flags"],
                            "error": d["error"],
                        }
                        for d in item_data
                    },
                }
            )
            for d in item_data:
                slot = compare_items.setdefault(d["id"], {"title": None, "reference": None})
                slot["title"] = slot["title"] or d["title"]
                slot["reference"] = slot["reference"] or d["reference"]
        paths = plot_paths(ds["name"])
        index_datasets.append(
            {
                "name": ds["name"],
                "columns": columns,
                "rows": index_rows,
                "rouge_tokenizer": ds["rows"][0].get("rouge_tokenizer") if ds["rows"] else None,
                "plots": [
                    {"src": paths["metrics"], "alt": f"{ds['name']}: metric means with 95% intervals"},
                    {"src": paths["pareto"], "alt": f"{ds['name']}: quality vs cost, Pareto front"},
                ],
            }
        )
        compare_datasets.append(
            {
                "name": ds["name"],
                "score_keys": compare_keys,
                "runs": compare_runs,
                "items": [{"id": k, **v} for k, v in compare_items.items()],
            }
        )

    common = {
        "labels": _labels(),
        "directions": _directions(),
        "compact": [c.key for c in registry.columns() if c.compact],
        "rank_by": board.get("rank_by"),
        "generated_at": board.get("generated_at"),
    }
    index = site / "index.html"
    index.write_text(
        _page(
            "Leaderboard: 要点解析 digests of Chinese AI news",
            "index",
            {**common, "stats": board.get("stats") or {}, "datasets": index_datasets},
        ),
        encoding="utf-8",
    )
    (site / "compare.html").write_text(
        _page("Compare two runs", "compare", {**common, "datasets": compare_datasets}), encoding="utf-8"
    )
    return index
