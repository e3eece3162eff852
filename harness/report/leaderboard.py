"""Leaderboard tables rebuilt from the rows of every finished run under results/runs/.

One row per (dataset, model, prompt id, prompt version): the latest finished run wins, so a new
run of one model updates its row and leaves the others as they were.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from harness.report.aggregate import LABELS, ordered_score_keys, summarize
from harness.report.store import ROWS_FILE, RUN_FILE, read_jsonl, write_text_atomic

log = logging.getLogger("harness")


def _load_runs(runs_dir: Path) -> list[dict[str, Any]]:
    runs = []
    for manifest_path in sorted(runs_dir.glob(f"**/{RUN_FILE}")):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("skipping %s: %s", manifest_path, exc)
            continue
        if manifest.get("status") != "finished":
            continue
        rows = read_jsonl(manifest_path.parent / ROWS_FILE)
        runs.append({"manifest": manifest, "summary": summarize(rows), "dir": manifest_path.parent})
    return runs


def collect(results_dir: Path) -> list[dict[str, Any]]:
    """Leaderboard entries: latest finished run per (dataset, model, prompt id, prompt version).

    The model part of the key is its name, litellm string and parameters: a sweep over
    temperature keeps one entry per value."""
    latest: dict[tuple[str, ...], dict[str, Any]] = {}
    for run in _load_runs(results_dir / "runs"):
        m = run["manifest"]
        model = m["model"]
        params = json.dumps(model.get("params", {}), sort_keys=True)
        key = (
            m["dataset"]["name"],
            model["name"],
            model["litellm_model"],
            params,
            m["prompt"]["id"],
            m["prompt"]["version"],
        )
        if key not in latest or m.get("finished_at", "") >= latest[key]["manifest"].get("finished_at", ""):
            latest[key] = run
    return list(latest.values())


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _unavailable_metric(key: str, unavailable: dict[str, str]) -> str | None:
    return next((name for name in unavailable if key.startswith(name)), None)


def _ranked(entries: list[dict[str, Any]], rank_by: str) -> list[dict[str, Any]]:
    def sort_key(e: dict[str, Any]) -> tuple[int, float]:
        v = e["summary"]["means"].get(rank_by)
        return (0, -v) if v is not None else (1, 0.0)

    return sorted(entries, key=sort_key)


def render_markdown(entries: list[dict[str, Any]], rank_by: str = "rougeL_f") -> str:
    """Markdown: one section per dataset, rows ranked by `rank_by`."""
    out = [
        "# Leaderboard",
        "",
        f"Rebuilt from every finished run under `results/runs/`; ranked by `{rank_by}`.",
        "",
    ]
    if not entries:
        out.append("No finished runs yet: `harness run`.")
        return "\n".join(out) + "\n"
    notes: dict[str, int] = {}
    for dataset in sorted({e["manifest"]["dataset"]["name"] for e in entries}):
        group = _ranked([e for e in entries if e["manifest"]["dataset"]["name"] == dataset], rank_by)
        keys = [k for k in ordered_score_keys(k for e in group for k in e["summary"]["means"]) if k in LABELS]
        unavailable_keys = [
            k
            for k in LABELS
            if k not in keys and any(_unavailable_metric(k, e["summary"]["unavailable"]) for e in group)
        ]
        columns = keys + unavailable_keys
        meta = group[0]["manifest"]["metrics"]
        tok = meta.get("rouge", {}).get("tokenizer", "?")
        out += [
            f"## {dataset}",
            "",
            f"ROUGE tokenizer: `{tok}`, clipped counts. † reads the reference "
            "(an upper bound, not a competitor).",
            "",
        ]
        header = ["#", "model", "prompt", "n", "failed", *(LABELS[k] for k in columns), "data", "run"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for rank, e in enumerate(group, start=1):
            m, s = e["manifest"], e["summary"]
            cells = [str(rank), m["model"]["name"] + (" †" if m["model"].get("uses_reference") else "")]
            cells.append(f"{m['prompt']['id']}@{m['prompt']['version']} `{m['prompt']['hash'][:8]}`")
            cells += [str(s["n_scored"]), str(s["n_failed"])]
            for k in columns:
                name = _unavailable_metric(k, s["unavailable"])
                if s["means"].get(k) is not None:
                    cells.append(_fmt(s["means"][k]))
                elif name:
                    mark = notes.setdefault(s["unavailable"][name], len(notes) + 1)
                    cells.append(f"n/a [{mark}]")
                else:
                    cells.append("")
            cells += [f"`{m['dataset']['fingerprint'][:8]}`", f"`{m['run_id']}`"]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    if notes:
        out.append("Unavailable metrics (not computed, so not 0):")
        out.append("")
        for reason, mark in notes.items():
            out.append(f"[{mark}] {reason.splitlines()[0]}")
        out.append("")
    return "\n".join(out)


def render_csv(entries: list[dict[str, Any]], rank_by: str = "rougeL_f") -> str:
    """CSV: every score column (P, R and F), one line per entry; empty cell = not computed."""
    keys = ordered_score_keys(k for e in entries for k in e["summary"]["means"])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "dataset",
            "rank",
            "model",
            "litellm_model",
            "uses_reference",
            "prompt_id",
            "prompt_version",
            "prompt_hash",
            "n",
            "failed",
            *keys,
            "unavailable",
            "dataset_fingerprint",
            "run_id",
        ]
    )
    for dataset in sorted({e["manifest"]["dataset"]["name"] for e in entries}):
        group = _ranked([e for e in entries if e["manifest"]["dataset"]["name"] == dataset], rank_by)
        for rank, e in enumerate(group, start=1):
            m, s = e["manifest"], e["summary"]
            writer.writerow(
                [
                    dataset,
                    rank,
                    m["model"]["name"],
                    m["model"]["litellm_model"],
                    m["model"].get("uses_reference"),
                    m["prompt"]["id"],
                    m["prompt"]["version"],
                    m["prompt"]["hash"],
                    s["n_scored"],
                    s["n_failed"],
                    *(_fmt(s["means"].get(k)) for k in keys),
                    ";".join(sorted(s["unavailable"])),
                    m["dataset"]["fingerprint"],
                    m["run_id"],
                ]
            )
    return buf.getvalue()


def build_leaderboard(results_dir: Path, rank_by: str = "rougeL_f") -> list[Path]:
    """Rewrite results/leaderboard.md and .csv (atomically) from all finished runs."""
    entries = collect(results_dir)
    md, csv_path = results_dir / "leaderboard.md", results_dir / "leaderboard.csv"
    write_text_atomic(md, render_markdown(entries, rank_by))
    write_text_atomic(csv_path, render_csv(entries, rank_by))
    return [md, csv_path]
