"""Judge calibration: how well an LLM judge (and the deterministic checker) label claims.

The labelled set (datasets/judge_calibration) holds (source excerpt, claim, gold verdict, error
type) items. The judge sees each claim as a one-bullet digest of its excerpt, through the same
JudgeScorer and prompts as in runs; its verdict for the item is the worst over the claims it
split out (contradicted > not_in_source > supported). The deterministic checker flags a claim
when it finds a number or an entity the excerpt lacks.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.results.store import write_json_atomic

log = logging.getLogger("harness")

LABELS = ("supported", "contradicted", "not_in_source")
# Error types the deterministic checker is meant to catch (numbers, units, dates, entities).
CHECKER_TARGETS = ("number_change", "entity_swap", "date_shift")


def load_calibration(path: Path) -> list[dict[str, Any]]:
    """The labelled items; errors name the file, line and field."""
    from harness.data.load import DatasetError, Problem

    items, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(f"{path}:{number}", None, f"invalid JSON: {exc.msg}"))
            continue
        for field in ("id", "source", "claim", "gold", "error_type"):
            if not isinstance(record.get(field), str) or not record[field].strip():
                problems.append(Problem(f"{path}:{number}", field, "missing or not a non-empty string"))
        if record.get("gold") not in LABELS:
            problems.append(Problem(f"{path}:{number}", "gold", f"must be one of {', '.join(LABELS)}"))
        items.append(record)
    if problems:
        raise DatasetError(str(path), problems)
    return items


def classification_report(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1, Cohen's kappa and the confusion matrix.

    A missing prediction (the judge call failed) counts as wrong and is reported separately."""
    n = len(gold)
    failed = sum(p is None for p in predicted)
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    confusion = {g: {p: 0 for p in (*LABELS, "failed")} for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p or "failed"] += 1
    per_class = {}
    for label in LABELS:
        tp = confusion[label][label]
        predicted_n = sum(confusion[g][label] for g in LABELS)
        gold_n = sum(confusion[label].values())
        precision = tp / predicted_n if predicted_n else None
        recall = tp / gold_n if gold_n else None
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": gold_n}
    # Cohen's kappa: agreement beyond chance (failed predictions are their own category).
    p_observed = correct / n if n else 0.0
    gold_counts = Counter(gold)
    pred_counts = Counter(p or "failed" for p in predicted)
    p_expected = sum(gold_counts[k] * pred_counts[k] for k in LABELS) / (n * n) if n else 0.0
    kappa = (p_observed - p_expected) / (1 - p_expected) if p_expected < 1 else None
    return {
        "n": n,
        "accuracy": p_observed,
        "kappa": kappa,
        "failed": failed,
        "per_class": per_class,
        "confusion": confusion,
    }


def checker_report(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Recall of the deterministic checker per targeted error type, false alarms on faithful claims."""
    from harness.score.factcheck import check_claim

    by_type: dict[str, list[bool]] = {}
    examples: list[dict[str, Any]] = []
    for item in items:
        found = check_claim(item["claim"], item["source"])
        flagged = bool(found["numbers"] or found["entities"])
        by_type.setdefault(item["error_type"], []).append(flagged)
        if flagged != (item["error_type"] != "none") and item["error_type"] in (*CHECKER_TARGETS, "none"):
            examples.append({"id": item["id"], "error_type": item["error_type"], "flagged": flagged, **found})
    rate = {k: sum(v) / len(v) for k, v in by_type.items()}
    targeted = [f for t in CHECKER_TARGETS for f in by_type.get(t, [])]
    return {
        "flag_rate_by_error_type": rate,
        "counts": {k: len(v) for k, v in by_type.items()},
        "recall_on_number_and_entity_errors": sum(targeted) / len(targeted) if targeted else None,
        "false_alarm_rate_on_faithful": rate.get("none"),
        "misses_and_false_alarms": examples,
    }


def judge_verdict(result: Any) -> str | None:
    """One label for a calibration item from the JudgeScorer's result (None: the judge failed)."""
    counts = (result.evidence.get("claims") or {}).get("counts")
    if "judge_failed" in result.flags or not counts:
        return None
    if counts.get("contradicted"):
        return "contradicted"
    if counts.get("not_in_source"):
        return "not_in_source"
    return "supported"


def evaluate_judge(scorer: Any, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Run the judge on every labelled claim; the report plus per-item predictions."""
    from harness.data.schema import Item

    cal_items = [Item(id=i["id"], title="", url="", source=i["source"], reference=()) for i in items]
    results = scorer.score(cal_items, [[i["claim"]] for i in items])
    predicted = [judge_verdict(r) for r in results]
    report = classification_report([i["gold"] for i in items], predicted)
    unverified = sum("judge_unverified" in r.flags for r in results)
    by_type = {}
    for item, p in zip(items, predicted, strict=True):
        by_type.setdefault(item["error_type"], []).append(p == item["gold"])
    report["accuracy_by_error_type"] = {k: sum(v) / len(v) for k, v in by_type.items()}
    report["unverified_quotes"] = unverified
    report["predictions"] = [
        {"id": i["id"], "gold": i["gold"], "predicted": p} for i, p in zip(items, predicted, strict=True)
    ]
    return report


def write_report(results_dir: Path, report: dict[str, Any]) -> Path:
    from harness.config import safe_name

    judge = report.get("judge") or {}
    name = safe_name(f"{judge.get('name', 'none')}__{judge.get('claims_prompt', 'checker')}")
    path = results_dir / "judge_eval" / f"{name}.json"
    write_json_atomic(path, report)
    return path


def render_markdown(reports: Sequence[dict[str, Any]]) -> str:
    """The judge section of the leaderboard."""
    if not reports:
        return ""
    out = [
        "## Judge calibration",
        "",
        "On `datasets/judge_calibration` (team-labelled claims). Accuracy and Cohen's "
        "kappa of the judge's verdicts; the deterministic checker's recall on number/date/entity errors and "
        "its false-alarm rate on faithful claims.",
        "",
    ]
    out.append(
        "| judge | prompt | n | accuracy | kappa | P/R supported | P/R contradicted | P/R not_in_source | "
        "failed | checker recall | checker false alarms |"
    )
    out.append("|" + "---|" * 11)
    for r in reports:
        j, c = r.get("judge_report"), r["checker"]

        def pr(label: str, j: dict[str, Any] | None = j) -> str:
            if not j:
                return ""
            pc = j["per_class"][label]
            f = ["–" if v is None else f"{v:.2f}" for v in (pc["precision"], pc["recall"])]
            return "/".join(f)

        judge = r.get("judge") or {}
        cells = [
            judge.get("name", "(none: checker only)"),
            judge.get("claims_prompt", ""),
            str(r["n"]),
            "" if not j else f"{j['accuracy']:.3f}",
            "" if not j or j["kappa"] is None else f"{j['kappa']:.3f}",
            pr("supported"),
            pr("contradicted"),
            pr("not_in_source"),
            "" if not j else str(j["failed"]),
            f"{c['recall_on_number_and_entity_errors']:.3f}",
            f"{c['false_alarm_rate_on_faithful']:.3f}",
        ]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def load_reports(results_dir: Path) -> list[dict[str, Any]]:
    reports = []
    for path in sorted((results_dir / "judge_eval").glob("*.json")):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("skipping %s: %s", path, exc)
    return reports
