"""Judge calibration: how well an LLM judge (and the deterministic checker) label claims.

A calibration set is a JSONL file of (source excerpt, claim, gold verdict, error type) items, with
optional `section` and `style` (datasets/judge_calibration/README.md). `harness judge-eval` reports
on `judge.calibration_set` (default: the frozen `test` split) and shows `judge.calibration_beside`
(default: the `dev` split) in a second column; the report names the files it was given.

The judge sees each claim as a one-bullet digest of its excerpt, through the same JudgeScorer and
prompts as in runs; its verdict for the item is the worst over the claims it split out
(contradicted > not_in_source > supported). The deterministic checker flags a claim when it finds
a number or an entity the excerpt lacks.

What the keys count: `checker_recall_number_entity_date` = flagged / claims whose error_type is
number_change, entity_swap or date_shift; `checker_false_alarm_rate` = flagged / faithful claims
(error_type none); per error type and per style (and section): n errors, caught, recall and
n faithful, false alarms, rate. For the judge, "caught" means a verdict other than supported on a
wrong claim, a false alarm a verdict other than supported on a faithful one; failed calls are
counted apart and are neither.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.results.store import write_json_atomic

log = logging.getLogger("harness")

LABELS = ("supported", "contradicted", "not_in_source")
# Error types the deterministic checker is meant to catch (numbers, units, dates, entities).
CHECKER_TARGETS = ("number_change", "entity_swap", "date_shift")
ERROR_TYPES = (
    "none",
    "number_change",
    "entity_swap",
    "date_shift",
    "negation",
    "unsupported_addition",
    "overgeneralization",
)
SECTIONS = ("产品", "产业资讯", "技术", "其他")
STYLES = (
    "number",
    "money",
    "date",
    "model_size",
    "percentage",
    "round",
    "classifier_unit",
    "person",
    "org",
    "product",
    "alias",
    "place",
    "other",
)
REQUIRED = ("id", "source", "claim", "gold", "error_type")


class CalibrationError(DataError):
    """A calibration set that cannot be used: one line naming the file (and line, field)."""


def load_calibration(path: Path, shown: str | None = None) -> list[dict[str, Any]]:
    """The labelled items of a calibration file. Any problem (not a file, empty, bad JSON, a
    missing or unknown field value) is a CalibrationError naming `shown` (default: the path), the
    line and the field; the first problem is shown, with how many more there are."""
    name = shown or str(path)
    if path.is_dir():
        raise CalibrationError(f"calibration set {name}: is a directory; give a JSONL file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CalibrationError(f"calibration set {name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"calibration set {name}: cannot read: {exc}") from None
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    ids: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(record, dict):
            problems.append(f"{where}: expected a JSON object, got {type(record).__name__}")
            continue
        bad = [f for f in REQUIRED if not isinstance(record.get(f), str) or not record[f].strip()]
        if bad:
            problems.append(f"{where}: field '{bad[0]}' missing or not a non-empty string")
            continue
        allowed = {"gold": LABELS, "section": SECTIONS, "style": STYLES}
        for key, values in allowed.items():
            if key in record and record[key] is not None and record[key] not in values:
                problems.append(f"{where}: field '{key}' is {record[key]!r}; use one of {', '.join(values)}")
        if record["id"] in ids:
            problems.append(f"{where}: field 'id' {record['id']!r} appears twice")
        ids.add(record["id"])
        items.append(record)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise CalibrationError(f"calibration set {problems[0]}{more}")
    if not items:
        raise CalibrationError(f"calibration set {name}: empty (no labelled items)")
    return items


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


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


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def error_table(
    items: Sequence[dict[str, Any]], flagged: Sequence[bool | None], key: str, errors_of: Sequence[str] | None
) -> dict[str, dict[str, Any]]:
    """Per value of `key` (style, section, error_type): n errors, caught, recall; n faithful,
    false alarms, rate. Errors are items whose error_type is in `errors_of` (None: any but none);
    `flagged` None (a failed judge call) counts in `failed`, neither caught nor a false alarm."""
    table: dict[str, dict[str, Any]] = {}
    for item, flag in zip(items, flagged, strict=True):
        value = item.get(key)
        if value is None:
            continue
        faithful = item["error_type"] == "none"
        if not faithful and errors_of is not None and item["error_type"] not in errors_of:
            continue
        row = table.setdefault(
            str(value), {"n_errors": 0, "caught": 0, "n_faithful": 0, "false_alarms": 0, "failed": 0}
        )
        if flag is None:
            row["failed"] += 1
        if faithful:
            row["n_faithful"] += 1
            row["false_alarms"] += bool(flag)
        else:
            row["n_errors"] += 1
            row["caught"] += bool(flag)
    for row in table.values():
        row["recall"] = _rate(row["caught"], row["n_errors"])
        row["false_alarm_rate"] = _rate(row["false_alarms"], row["n_faithful"])
    return dict(sorted(table.items()))


def checker_report(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The deterministic checker: recall on number/entity/date errors (per error type, per style and
    section) and false alarms on faithful claims."""
    from harness.score.factcheck import check_claim

    by_type: dict[str, list[bool]] = {}
    flagged_all: list[bool] = []
    examples: list[dict[str, Any]] = []
    for item in items:
        found = check_claim(item["claim"], item["source"])
        flagged = bool(found["numbers"] or found["entities"])
        flagged_all.append(flagged)
        by_type.setdefault(item["error_type"], []).append(flagged)
        if flagged != (item["error_type"] != "none") and item["error_type"] in (*CHECKER_TARGETS, "none"):
            examples.append({"id": item["id"], "error_type": item["error_type"], "flagged": flagged, **found})
    targeted = [f for t in CHECKER_TARGETS for f in by_type.get(t, [])]
    faithful = by_type.get("none", [])
    return {
        "counts": {k: len(v) for k, v in by_type.items()},
        # flagged / claims of each error type (for `none`: the false-alarm rate)
        "flag_rate_by_error_type": {k: sum(v) / len(v) for k, v in by_type.items()},
        "recall_by_error_type": {
            t: {
                "n": len(by_type.get(t, [])),
                "caught": sum(by_type.get(t, [])),
                "recall": _rate(sum(by_type.get(t, [])), len(by_type.get(t, []))),
            }
            for t in CHECKER_TARGETS
        },
        # flagged / claims whose error_type is number_change, entity_swap or date_shift
        "checker_recall_number_entity_date": _rate(sum(targeted), len(targeted)),
        "checker_recall_number_entity_date_caught": sum(targeted),
        "checker_recall_number_entity_date_n": len(targeted),
        # flagged / faithful claims (error_type none)
        "checker_false_alarm_rate": _rate(sum(faithful), len(faithful)),
        "checker_false_alarms": sum(faithful),
        "checker_faithful_n": len(faithful),
        "by_style": error_table(items, flagged_all, "style", CHECKER_TARGETS),
        "by_section": error_table(items, flagged_all, "section", CHECKER_TARGETS),
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
    # A verdict other than supported: the judge says the claim is not faithful.
    flagged = [None if p is None else p != "supported" for p in predicted]
    report["by_error_type"] = error_table(items, flagged, "error_type", None)
    report["by_style"] = error_table(items, flagged, "style", None)
    report["by_section"] = error_table(items, flagged, "section", None)
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


def set_report(path: Path, shown: str, items: Sequence[dict[str, Any]], scorer: Any = None) -> dict[str, Any]:
    """The figures for one calibration file: checker, and the judge when `scorer` is given."""
    out: dict[str, Any] = {
        "path": shown,
        "sha256": file_digest(path),
        "n": len(items),
        "checker": checker_report(items),
    }
    if scorer is not None:
        out["judge_report"] = evaluate_judge(scorer, items)
    return out


def build_report(main: dict[str, Any], beside: dict[str, Any] | None, judge: dict | None) -> dict[str, Any]:
    """The judge-eval report: `sets` holds both files' figures (the reported set first); the
    reported set's figures are repeated at the top level (n, checker, judge_report)."""
    report: dict[str, Any] = {
        "n": main["n"],
        "calibration_set": main["path"],
        "calibration_beside": None if beside is None else beside["path"],
        "checker": main["checker"],
        "sets": [main] + ([beside] if beside is not None else []),
    }
    if judge is not None:
        report["judge"] = judge
    if "judge_report" in main:
        report["judge_report"] = main["judge_report"]
    return report


def _f(value: float | None, part: int | None = None, whole: int | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" + (f" ({part}/{whole})" if whole is not None else "")


def _sets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's sets (reports written before `sets` existed: the one top-level set)."""
    if report.get("sets"):
        return list(report["sets"])
    return [
        {k: report.get(k) for k in ("n", "checker", "judge_report")} | {"path": report.get("calibration_set")}
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _breakdown(sets: list[dict[str, Any]], key: str, labels: list[str]) -> list[str]:
    """One row per category: recall and false-alarm rate of the checker (and the judge) per set."""
    kinds = [("checker", lambda s: (s.get("checker") or {}).get(key) or {})]
    if any(s.get("judge_report") for s in sets):
        kinds.append(("judge", lambda s: (s.get("judge_report") or {}).get(key) or {}))
    cats = sorted({c for s in sets for _, get in kinds for c in get(s)})
    if not cats:
        return []
    header = [key.removeprefix("by_").replace("_", " ")]
    for kind, _ in kinds:
        for label in labels:
            header += [f"{kind} recall {label}", f"{kind} false alarms {label}"]
    rows = []
    for cat in cats:
        row = [cat]
        for _, get in kinds:
            for s in sets:
                t = get(s).get(cat)
                if not t:
                    row += ["", ""]
                    continue
                row.append(_f(t["recall"], t["caught"], t["n_errors"]) if t["n_errors"] else "–")
                row.append(
                    _f(t["false_alarm_rate"], t["false_alarms"], t["n_faithful"]) if t["n_faithful"] else "–"
                )
        rows.append(row)
    return ["", *_table(header, rows)]


def render_markdown(reports: Sequence[dict[str, Any]]) -> str:
    """The judge section of the leaderboard: per report (checker only, or one judge), the figures of
    the reported calibration set and of the set shown beside it, side by side."""
    if not reports:
        return ""
    out = [
        "## Judge calibration",
        "",
        "Labelled claims (team-written). Checker recall = flagged / claims with a number_change, "
        "entity_swap or date_shift error; checker false alarms = flagged / faithful claims (error_type "
        "none). Judge: accuracy and Cohen's kappa of its verdicts; it *catches* a wrong claim, or raises a "
        "false alarm on a faithful one, with any verdict other than supported (failed calls counted apart).",
        "",
    ]
    for r in reports:
        sets = _sets(r)
        judge = r.get("judge") or {}
        title = f"judge {judge['name']} ({judge.get('claims_prompt', '')})" if judge else "checker only"
        labels = ["`" + str(s.get("path")) + "`" for s in sets]
        out += [f"### {title}", ""]
        out.append(
            "Reported set: "
            + labels[0]
            + (f"; beside it: {', '.join(labels[1:])}" if len(labels) > 1 else "")
            + "."
        )
        out.append("")
        rows = [["claims", *(str(s.get("n")) for s in sets)]]
        c = [s.get("checker") or {} for s in sets]
        rows.append(
            [
                "checker recall (number_change + entity_swap + date_shift)",
                *(
                    _f(
                        x.get("checker_recall_number_entity_date"),
                        x.get("checker_recall_number_entity_date_caught"),
                        x.get("checker_recall_number_entity_date_n"),
                    )
                    for x in c
                ),
            ]
        )
        rows.append(
            [
                "checker false alarms on faithful claims",
                *(
                    _f(
                        x.get("checker_false_alarm_rate"),
                        x.get("checker_false_alarms"),
                        x.get("checker_faithful_n"),
                    )
                    for x in c
                ),
            ]
        )
        j = [s.get("judge_report") for s in sets]
        if any(j):
            rows.append(["judge accuracy", *("" if not x else _f(x["accuracy"]) for x in j)])
            rows.append(["judge kappa", *("" if not x else _f(x["kappa"]) for x in j)])
            for label in LABELS:
                rows.append(
                    [
                        f"judge P/R {label}",
                        *(
                            ""
                            if not x
                            else "/".join(_f(x["per_class"][label][m]) for m in ("precision", "recall"))
                            for x in j
                        ),
                    ]
                )
            rows.append(["judge failed calls", *("" if not x else str(x["failed"]) for x in j)])
        out += _table(["", *labels], rows)
        out += _error_type_rows(sets, labels)
        out += _breakdown(sets, "by_style", labels)
        out += _breakdown(sets, "by_section", labels)
        out.append("")
    return "\n".join(out)


def _error_type_rows(sets: list[dict[str, Any]], labels: list[str]) -> list[str]:
    """Per error type: the checker's caught/n on its targets (flagged/n on faithful claims) and
    the judge's (any verdict other than supported)."""
    types = sorted({t for s in sets for t in ((s.get("checker") or {}).get("counts") or {})})
    if not types:
        return []
    judged = any(s.get("judge_report") for s in sets)
    header = ["error type", *(f"checker {lb}" for lb in labels)]
    if judged:
        header += [f"judge {lb}" for lb in labels]
    rows = []
    for t in types:
        row = [t + (" (faithful: false alarms)" if t == "none" else "")]
        for s in sets:
            c = s.get("checker") or {}
            n = (c.get("counts") or {}).get(t)
            rate = (c.get("flag_rate_by_error_type") or {}).get(t)
            if n is None or (t != "none" and t not in CHECKER_TARGETS):
                row.append("–" if n is None else f"(not a target; flagged {_f(rate)})")
            else:
                row.append(_f(rate, round(rate * n), n))
        if judged:
            for s in sets:
                e = ((s.get("judge_report") or {}).get("by_error_type") or {}).get(t)
                if not e:
                    row.append("")
                elif t == "none":
                    row.append(_f(e["false_alarm_rate"], e["false_alarms"], e["n_faithful"]))
                else:
                    row.append(_f(e["recall"], e["caught"], e["n_errors"]))
        rows.append(row)
    return ["", *_table(header, rows)]


def load_reports(results_dir: Path) -> list[dict[str, Any]]:
    reports = []
    for path in sorted((results_dir / "judge_eval").glob("*.json")):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("skipping %s: %s", path, exc)
    return reports
