"""Leaderboard rebuilt from the rows of every finished run under results/runs/.

One row per (dataset, model, prompt id, prompt version): the latest finished run wins, so a new
run of one model updates its row and leaves the others as they were. Every mean carries a 95%
bootstrap interval over items; rows statistically indistinguishable from the leader (paired
approximate-randomization test on the ranking metric) are marked. `build_board` makes one model
of all this (also written as leaderboard.json); Markdown, CSV and the HTML site render it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

from harness.report.aggregate import LeaderboardError, headline_keys, ordered_score_keys, summarize
from harness.results.reader import iter_runs
from harness.results.records import comparable_key, dataset_key
from harness.results.store import write_json_atomic, write_text_atomic
from harness.score import registry

log = logging.getLogger("harness")

# Statistics settings, recorded in leaderboard.json and under the Markdown tables.
STATS = {
    "method": "percentile",
    "n_resamples": 2000,
    "seed": 0,
    "confidence": 0.95,
    "test": "randomization",
    "alpha": 0.05,
}
CALL_COLUMNS = (
    "cost_per_100_items_usd",
    "latency_p50_s",
    "latency_p95_s",
    "prompt_tokens_mean",
    "completion_tokens_mean",
)


def _load_runs(runs_dir: Path) -> list[dict[str, Any]]:
    return [
        {"manifest": run.manifest, "summary": summarize(run.rows), "rows": run.rows, "dir": run.dir}
        for run in iter_runs(runs_dir, status="finished")
    ]


def collect(results_dir: Path) -> list[dict[str, Any]]:
    """Leaderboard entries: the latest finished run per row identity (`records.comparable_key`:
    dataset name, fingerprint and limit; model settings; prompt id, version and hash; judge; seed).
    A run that differs in any of these is its own row, so a quick `dataset.limit=5` check or a
    sweep over temperature never replaces another row."""
    latest: dict[tuple[str, ...], dict[str, Any]] = {}
    for run in _load_runs(results_dir / "runs"):
        key = comparable_key(run["manifest"])
        if key not in latest or run["manifest"].get("finished_at", "") >= latest[key]["manifest"].get(
            "finished_at", ""
        ):
            latest[key] = run
    return list(latest.values())


def table_names(entries: list[dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    """A table per dataset key (name, fingerprint, limit): runs are ranked only against runs of the
    same items. The full dataset's newest version is named plainly; a limited run's table says so,
    and an older version of the data is marked with its fingerprint."""
    newest: dict[str, tuple[str, str]] = {}  # dataset name -> (finished_at, fingerprint) of full runs
    for e in entries:
        m = e["manifest"]
        name, fp, limit = dataset_key(m)
        if limit == "None" and (m.get("finished_at", ""), fp) > newest.get(name, ("", "")):
            newest[name] = (m.get("finished_at", ""), fp)
    names = {}
    for e in entries:
        key = dataset_key(e["manifest"])
        name, fp, limit = key
        label = name if limit == "None" else f"{name} (first {limit} items)"
        if limit == "None" and name in newest and fp != newest[name][1]:
            label = f"{name} (older data {fp[:8]})"
        names[key] = label
    return names


_NO_VALUE = "no value: the metric ran but no scored item has a number for it"
_NOT_RUN = "not computed in this run (the metric was off, or not part of the harness when it ran)"


def _unavailable_metric(key: str, unavailable: dict[str, str]) -> str | None:
    return next((name for name in unavailable if key.startswith(name)), None)


def _per_item(entry: dict[str, Any], key: str) -> tuple[list[str], list[float]]:
    """Item ids and values of `key`, in item-id order: rows are appended as items finish, and the
    bootstrap must not depend on that order (same items, same seed -> same interval)."""
    ids, values = [], []
    for row in entry["rows"]:  # one per item, in item-id order (harness.results.reader)
        value = row.get("scores", {}).get(key)
        if not row.get("error") and isinstance(value, (int, float)):
            ids.append(row["item_id"])
            values.append(float(value))
    return ids, values


def build_board(entries: list[dict[str, Any]], rank_by: str = "rougeL_f") -> dict[str, Any]:
    """The leaderboard as data: per dataset, ranked rows with intervals and significance."""
    from harness.report.stats import bootstrap_ci, paired_difference

    sign = 1.0 if registry.lower_is_better(rank_by) else -1.0  # best first
    datasets = []
    names = table_names(entries)
    for key, name in sorted(names.items(), key=lambda kv: kv[1]):
        group = [e for e in entries if dataset_key(e["manifest"]) == key]

        known = {k for e in group for k in e["summary"]["means"]} | set(headline_keys())
        if rank_by not in known:
            raise LeaderboardError(
                f"cannot rank dataset '{name}' by '{rank_by}' (--rank-by / metrics.rank_by): no run has "
                f"that score column; columns: {', '.join(ordered_score_keys(known))}"
            )

        # Rows are ranked on the items every rankable row scored, so a row with failures is not
        # ranked on an easier (or harder) subset; the table says when that is fewer than all.
        scored = {id(e): dict(zip(*_per_item(e, rank_by), strict=True)) for e in group}
        rankable = [scored[id(e)] for e in group if scored[id(e)]]
        common = set.intersection(*(set(v) for v in rankable)) if rankable else set()
        union = set().union(*(set(v) for v in rankable)) if rankable else set()

        rank_means: dict[int, float | None] = {}
        for e in group:
            values = [v for k, v in scored[id(e)].items() if k in common]
            rank_means[id(e)] = sum(values) / len(values) if values else None
        group.sort(
            key=lambda e: (
                (0, sign * rank_means[id(e)], e["manifest"]["model"]["name"])
                if rank_means[id(e)] is not None
                else (1, 0.0, "")
            )
        )
        present = {k for e in group for k in e["summary"]["means"] if e["summary"]["means"][k] is not None}
        unavailable_keys = {
            k for k in headline_keys() for e in group if _unavailable_metric(k, e["summary"]["unavailable"])
        }
        columns = [k for k in headline_keys() if k in present or k in unavailable_keys]
        # The leader for significance is the best row that does not read the reference.
        # A row with nothing scored on the ranking column is never the leader.
        leader = next(
            (
                e
                for e in group
                if not e["manifest"]["model"].get("uses_reference") and rank_means[id(e)] is not None
            ),
            None,
        )
        leader_scores = _per_item(leader, rank_by) if leader else None
        rows = []
        ranked = 0
        for e in group:
            # A row with nothing scored on the ranking column is listed, never ranked.
            has_rank = rank_means[id(e)] is not None
            ranked += has_rank
            rank = ranked if has_rank else None
            m, s = e["manifest"], e["summary"]
            metrics: dict[str, Any] = {}
            # A table column this row has no number for is "unavailable" with its reason, never a
            # blank cell: one rendering (n/a and the reason) for every way a value can be missing.
            for key in ordered_score_keys(set(s["means"]) | unavailable_keys | set(columns)):
                metric = _unavailable_metric(key, s["unavailable"])
                if s["means"].get(key) is None:
                    if metric:
                        metrics[key] = {"unavailable": s["unavailable"][metric]}
                    elif key in columns:
                        metrics[key] = {"unavailable": _NO_VALUE if key in s["means"] else _NOT_RUN}
                    continue
                ci = bootstrap_ci(
                    _per_item(e, key)[1],
                    n_resamples=STATS["n_resamples"],
                    seed=STATS["seed"],
                    confidence=STATS["confidence"],
                    method=STATS["method"],
                )
                metrics[key] = {"mean": ci.mean, "low": ci.low, "high": ci.high, "n": ci.n}
            versus = None
            if leader is not None and e is not leader and leader_scores and leader_scores[0]:
                ids, values = _per_item(e, rank_by)
                if ids:
                    res = paired_difference(
                        values,
                        leader_scores[1],
                        ids_a=ids,
                        ids_b=leader_scores[0],
                        n_resamples=STATS["n_resamples"],
                        seed=STATS["seed"],
                        test=STATS["test"],
                    )
                    versus = {
                        "diff": res.diff,
                        "low": res.low,
                        "high": res.high,
                        "p_value": res.p_value,
                        "n_common": res.n_common,
                        "indistinguishable": res.p_value is None or res.p_value >= STATS["alpha"],
                    }
            rows.append(
                {
                    "rank": rank,
                    "model": m["model"]["name"],
                    "litellm_model": m["model"]["litellm_model"],
                    "uses_reference": bool(m["model"].get("uses_reference")),
                    "prompt": m["prompt"],
                    "run_id": m["run_id"],
                    "run_dir": str(e["dir"]),
                    "dataset_fingerprint": m["dataset"]["fingerprint"],
                    "dataset_limit": m["dataset"].get("limit"),
                    "n": s["n_scored"],
                    "failed": s["n_failed"],
                    "failures_by_class": s["errors_by_class"],
                    "leader": e is leader,
                    "vs_leader": versus,
                    "metrics": metrics,
                    "generation": s["generation"],
                    "judge": s.get("judge"),
                    "judge_failed": (s.get("flags") or {}).get("judge_failed", 0),
                    "rouge_tokenizer": m.get("metrics", {}).get("rouge", {}).get("tokenizer"),
                }
            )
        datasets.append(
            {
                "name": name,
                "columns": [
                    {"key": k, "label": registry.label(k), "direction": registry.column(k).direction}
                    for k in columns
                ],
                "rows": rows,
                # The items the ranking compares (every rankable row scored them) of those any scored.
                "ranked_on": {"items": len(common), "of": len(union)},
            }
        )
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rank_by": rank_by,
        "stats": STATS,
        "datasets": datasets,
    }


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _cell(metric: dict[str, Any] | None, notes: dict[str, int], interval: bool = True) -> str:
    if metric is None:
        return ""
    if "unavailable" in metric:
        return f"n/a [{notes.setdefault(metric['unavailable'], len(notes) + 1)}]"
    if metric["low"] is None or not interval:
        return _fmt(metric["mean"])
    return f"{metric['mean']:.4f} [{metric['low']:.3f}, {metric['high']:.3f}]"


def md_text(text: Any) -> str:
    """`text` safe inside one Markdown table cell or heading line: a `|` is escaped (GFM reads `\\|`
    as a literal pipe, also inside code spans) and line breaks become spaces."""
    out = str(text).replace("|", "\\|")
    return " ".join(out.splitlines()) if ("\n" in out or "\r" in out) else out


# Inline Markdown a user-chosen name must not trigger: emphasis, code, math ($…$ on GitHub), links, HTML.
# (`_` inside a word is no emphasis in GFM, so `yaodian_v1` stays as typed.)
_MD_INLINE = str.maketrans({c: "\\" + c for c in "\\`*$<>[]"})


def md_plain(text: Any) -> str:
    """A user-chosen name (model, prompt, dataset) as literal text in Markdown."""
    return str(text).translate(_MD_INLINE)


def compact_keys(columns: list[dict[str, Any]], rank_by: str) -> list[str]:
    """Score columns of the compact view: the ranking metric, then the present columns declared
    `compact` (harness/score/ declarations), each once."""
    present = [c["key"] for c in columns]
    compact = [c.key for c in registry.columns() if c.compact and c.key in present]
    return [rank_by, *(k for k in compact if k != rank_by)] if rank_by in present else compact


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(md_text(c) for c in cells) + " |"


def render_markdown(board: dict[str, Any], wide: bool = False) -> str:
    """Markdown: one section per dataset, ranked, each mean with its 95% interval.

    The default table is compact (at most 12 columns: rank, model, prompt, n / failed, the ranking
    metric with its interval, the other `compact` metrics, cost and latency); `wide=True` has every
    headline column with its interval, the token and judge-call columns, data and run ids."""
    st = board["stats"]
    rank_by = board["rank_by"]
    out = [
        "# Leaderboard" + (" (all columns)" if wide else ""),
        "",
        f"Rebuilt from every finished run under `results/runs/`; ranked by `{rank_by}`.",
        f"Means with {st['confidence']:.0%} bootstrap intervals over items ({st['method']}, "
        f"{st['n_resamples']} resamples, seed {st['seed']}). ★ leader; ≈ not significantly different "
        f"from the leader on `{rank_by}` (paired approximate randomization, p ≥ {st['alpha']}); "
        "† reads the reference (an upper bound, not a competitor). Failed items are excluded from means "
        "and counted.",
    ]
    if not wide:
        out.append(
            "Compact view: intervals on the ranking metric only. Every column, with intervals: "
            "`harness leaderboard --wide` (leaderboard-wide.md), leaderboard.csv, leaderboard.json."
        )
    out.append("")
    if not board["datasets"]:
        out.append("No finished runs yet: `harness run`.")
        return "\n".join(out) + "\n"
    notes: dict[str, int] = {}
    for ds in board["datasets"]:
        tok = ds["rows"][0]["rouge_tokenizer"] if ds["rows"] else "?"
        out += [f"## {md_text(md_plain(ds['name']))}", "", f"ROUGE tokenizer: `{tok}`, clipped counts."]
        on = ds.get("ranked_on") or {}
        if on and on["items"] < on["of"]:
            out.append(
                f"Ranked on the {on['items']} items every row scored (of {on['of']}): rows with failures "
                "are compared on the same items; the means shown are over each row's own scored items."
            )
        out.append("")
        if wide:
            keys = [c["key"] for c in ds["columns"]]
            header = ["#", "model", "prompt", "n", "failed"]
        else:
            keys = compact_keys(ds["columns"], rank_by)
            header = ["#", "model", "prompt", "n / failed"]
        header += [registry.label(k) for k in keys]
        header += ["$/100 items", "latency p50/p95 s"] + (["tokens in/out"] if wide else [])
        # The judge's own calls, separately, when any row of the dataset ran a judge.
        with_judge = wide and any(row.get("judge") for row in ds["rows"])
        if with_judge:
            header += ["judge failed", "judge $/100 items", "judge latency p50/p95 s", "judge tokens in/out"]
        if wide:
            header += ["data", "run"]
        out.append(_md_row(header))
        out.append("|" + "---|" * len(header))
        for row in ds["rows"]:
            mark = (
                " ★" if row["leader"] else (" ≈" if (row["vs_leader"] or {}).get("indistinguishable") else "")
            )
            name = md_plain(row["model"]) + (" †" if row["uses_reference"] else "") + mark
            failures = ", ".join(f"{k} {v}" for k, v in sorted(row["failures_by_class"].items()))
            failed = str(row["failed"]) + (f" ({failures})" if failures else "")
            g = row["generation"]
            j = row.get("judge") or {}
            cells = [
                str(row["rank"] or "–"),  # n=0: not ranked
                name,
                md_plain(f"{row['prompt']['id']}@{row['prompt']['version']}")
                + (f" `{row['prompt']['hash'][:8]}`" if wide else ""),
                *((str(row["n"]), failed) if wide else (f"{row['n']} / {failed}",)),
            ]
            cells += [_cell(row["metrics"].get(k), notes, wide or k == rank_by) for k in keys]
            cells += _call_cells(g)[: 3 if wide else 2]
            if with_judge:
                cells += [str(row.get("judge_failed", 0)) if j else "", *_call_cells(j)]
            if wide:
                cells += [f"`{row['dataset_fingerprint'][:8]}`", f"`{row['run_id']}`"]
            out.append(_md_row(cells))
        out.append("")
    if notes:
        out += ["Unavailable metrics (not computed, so not 0):", ""]
        out += [f"[{mark}] {reason.splitlines()[0]}" for reason, mark in notes.items()]
        out.append("")
    return "\n".join(out)


def _call_cells(calls: dict[str, Any]) -> list[str]:
    """$/100 items, latency p50/p95, tokens in/out of a row's calls (empty when there were none)."""
    if not calls:
        return ["", "", ""]
    return [
        _fmt(calls.get("cost_per_100_items_usd")),
        ""
        if calls.get("latency_p50_s") is None
        else f"{calls['latency_p50_s']:.2f}/{calls['latency_p95_s']:.2f}",
        ""
        if calls.get("prompt_tokens_mean") is None
        else f"{calls['prompt_tokens_mean']:.0f}/{calls.get('completion_tokens_mean') or 0:.0f}",
    ]


def render_csv(board: dict[str, Any]) -> str:
    """CSV: every score column with its interval, one line per row; empty cell = not computed."""
    keys = ordered_score_keys({k for ds in board["datasets"] for r in ds["rows"] for k in r["metrics"]})
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = [
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
        "failures_by_class",
        *CALL_COLUMNS,
        "judge_failed",
        *(f"judge_{k}" for k in CALL_COLUMNS),
    ]
    for k in keys:
        head += [k, f"{k}_low", f"{k}_high"]
    writer.writerow(
        head
        + ["unavailable", "p_vs_leader", "indistinguishable_from_leader", "dataset_fingerprint", "run_id"]
    )
    for ds in board["datasets"]:
        for r in ds["rows"]:
            line = [
                ds["name"],
                r["rank"] or "",
                r["model"],
                r["litellm_model"],
                r["uses_reference"],
                r["prompt"]["id"],
                r["prompt"]["version"],
                r["prompt"]["hash"],
                r["n"],
                r["failed"],
                ";".join(f"{k}:{v}" for k, v in sorted(r["failures_by_class"].items())),
                *(_num(r["generation"][k]) for k in CALL_COLUMNS),
                r.get("judge_failed", 0) if r.get("judge") else "",
                *(_num((r.get("judge") or {}).get(k)) for k in CALL_COLUMNS),
            ]
            for k in keys:
                m = r["metrics"].get(k) or {}
                line += [_num(m.get("mean")), _num(m.get("low")), _num(m.get("high"))]
            vs = r["vs_leader"] or {}
            line += [
                ";".join(sorted(k for k, m in r["metrics"].items() if "unavailable" in m and k)),
                _num(vs.get("p_value")),
                vs.get("indistinguishable", ""),
                r["dataset_fingerprint"],
                r["run_id"],
            ]
            writer.writerow(line)
    return buf.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def build_leaderboard(results_dir: Path, rank_by: str = "rougeL_f", wide: bool = False) -> list[Path]:
    """Rebuild every leaderboard output; jobs of one sweep running in parallel (joblib, Slurm on a
    shared disk) take turns through a lock file, so no build sees another's half-written site.
    `wide` also writes leaderboard-wide.md (every column; leaderboard.md is the compact table)."""
    import fcntl

    results_dir.mkdir(parents=True, exist_ok=True)
    with (results_dir / ".leaderboard.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _build_leaderboard(results_dir, rank_by, wide)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _without_predictions(report: dict[str, Any]) -> dict[str, Any]:
    """A judge-eval report without its per-item predictions (top level and in every set)."""

    def strip(part: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in part.items() if k not in ("judge_report", "sets")}
        if part.get("judge_report"):
            out["judge_report"] = {k: v for k, v in part["judge_report"].items() if k != "predictions"}
        return out

    out = strip(report)
    if report.get("sets"):
        out["sets"] = [strip(s) for s in report["sets"]]
    return out


def _build_leaderboard(results_dir: Path, rank_by: str, wide: bool = False) -> list[Path]:
    """Rewrite results/leaderboard.{md,csv,json} (and leaderboard-wide.md when `wide`), the plots and
    the HTML site (results/site/) from all finished runs. A plot that fails is logged and skipped:
    plots never fail a run or the leaderboard."""
    from harness.report import judge_eval

    entries = collect(results_dir)
    board = build_board(entries, rank_by)
    reports = judge_eval.load_reports(results_dir)
    board["judge_calibration"] = [_without_predictions(r) for r in reports]
    paths = [
        results_dir / "leaderboard.md",
        results_dir / "leaderboard.csv",
        results_dir / "leaderboard.json",
    ]
    write_text_atomic(paths[0], render_markdown(board) + judge_eval.render_markdown(reports))
    write_text_atomic(paths[1], render_csv(board))
    write_json_atomic(paths[2], board)
    if wide:
        paths.append(results_dir / "leaderboard-wide.md")
        write_text_atomic(paths[-1], render_markdown(board, wide=True) + judge_eval.render_markdown(reports))
    from harness.report.plots import build_plots
    from harness.report.site import build_site

    try:
        build_plots(results_dir, board)
    except Exception as exc:  # e.g. matplotlib missing or broken: the tables and site still build
        log.warning("leaderboard plots skipped: %s: %s", type(exc).__name__, exc)
    paths.append(build_site(results_dir, board, entries))
    return paths
