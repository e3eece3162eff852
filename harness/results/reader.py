"""The one reader of results/runs/: every consumer (leaderboard, compare, gate, site, resume) reads
run directories through here, so one rule decides what a run's rows are.

The rule: a JSONL line that cannot be decoded (a torn last line after a crash, bytes cut
mid-character) is skipped; rows are keyed by item id and the LAST row of an id wins (a later
attempt supersedes an earlier one); rows come back in item-id order, so statistics never depend on
the order items finished.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.results.records import SUPPORTED_SCHEMA_VERSIONS
from harness.results.store import GENERATIONS_FILE, ROWS_FILE, RUN_FILE, SPEND_FILE

log = logging.getLogger("harness")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file, in file order; undecodable lines (a torn last line) skipped."""
    if not path.exists():
        return []
    records = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                if raw.endswith(b"\n"):  # a torn last line is expected after a kill; others are not
                    log.warning("%s line %d: not a JSON line; skipped", path, number)
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def latest_per_item(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per item id, the last one written, in item-id order."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        item_id = row.get("item_id")
        if isinstance(item_id, str):
            by_id[item_id] = row
    return [by_id[k] for k in sorted(by_id)]


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """run.json of a run directory; DataError naming the file when it cannot be read."""
    path = run_dir / RUN_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise DataError(f"{path} is not a run manifest (a JSON object)")
    version = manifest.get("schema_version", 1)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise DataError(
            f"{path}: schema_version {version} is not one this harness reads "
            f"({', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}); upgrade the harness"
        )
    return manifest


@dataclass
class Run:
    """A run directory as read: its manifest, its rows (one per item, the rule above) and how many
    repeated lines the rule dropped."""

    dir: Path
    manifest: dict[str, Any]
    rows: list[dict[str, Any]]
    n_repeated: int = 0

    @property
    def status(self) -> str:
        return str(self.manifest.get("status", "?"))


def load_run(run_dir: Path) -> Run:
    return _with_rows(run_dir, read_manifest(run_dir))


def _with_rows(run_dir: Path, manifest: dict[str, Any]) -> Run:
    raw = read_jsonl(run_dir / ROWS_FILE)
    rows = latest_per_item(raw)
    return Run(run_dir, manifest, rows, len(raw) - len(rows))


def run_dirs(runs_dir: Path) -> list[Path]:
    """Every run directory (one holding a run.json) at or under `runs_dir`, in path order."""
    return sorted(p.parent for p in runs_dir.glob(f"**/{RUN_FILE}"))


def iter_runs(runs_dir: Path, status: str | None = "finished") -> Iterator[Run]:
    """Runs under `runs_dir` with that status (None: all). Unreadable manifests are skipped with
    a warning naming them (one broken run never hides the others)."""
    for run_dir in run_dirs(runs_dir):
        try:
            manifest = read_manifest(run_dir)
        except DataError as exc:
            log.warning("skipping %s", exc)
            continue
        if status is not None and manifest.get("status") != status:
            continue
        yield _with_rows(run_dir, manifest)


def read_generations(run_dir: Path) -> list[dict[str, Any]]:
    """generations.jsonl of a run, in file order (the rule for torn lines above)."""
    return read_jsonl(run_dir / GENERATIONS_FILE)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_alive(manifest: dict[str, Any]) -> bool:
    """Whether the process of a "running" manifest may still be at work: alive on this host, or on
    another host (a cluster node), where it cannot be checked from here."""
    if manifest.get("host") != socket.gethostname():
        return True
    return _pid_alive(int(manifest.get("pid", 0)))


def find_resumable(runs_dir: Path, run_key: str, exclude: Path) -> list[Path]:
    """Unfinished run directories of the same job (same run_key), oldest first.

    Unfinished: interrupted, stopped (budget, failures), failed, or "running" whose process is
    gone (kill -9 leaves that status behind). A run whose process is alive is left alone. All of
    them are returned, not just the latest: a resume killed while copying leaves two unfinished
    runs, and the older one still holds rows the newer one had not copied yet."""
    candidates = []
    for run_dir in run_dirs(runs_dir):
        if run_dir == exclude:
            continue
        try:
            manifest = read_manifest(run_dir)
        except DataError:
            continue
        if manifest.get("run_key") != run_key or manifest.get("status") in ("finished", "superseded"):
            continue
        if (
            manifest.get("status") == "running"
            and manifest.get("host") == socket.gethostname()
            and _pid_alive(int(manifest.get("pid", 0)))
        ):
            continue
        candidates.append((manifest.get("started_at", ""), run_dir))
    return [run_dir for _, run_dir in sorted(candidates)]


CLAIM_FILE = "resume.claim"


def _claim_is_live(runs_dir: Path, holder: str) -> bool:
    """Whether the run `holder` (a run id under `runs_dir`) may still be resuming what it claimed:
    it is being set up (no manifest yet) or running; not once it ended or its process is gone."""
    holder_dir = runs_dir / holder
    if not holder_dir.is_dir():
        return False  # discarded (a config error before any work)
    if not (holder_dir / RUN_FILE).exists():
        return True  # between its claim and its first manifest
    try:
        manifest = read_manifest(holder_dir)
    except DataError:
        return True  # being written
    return manifest.get("status") == "running" and process_alive(manifest)


def claim_resumable(runs_dir: Path, candidates: list[Path], claimant: str) -> list[Path]:
    """The unfinished runs (from `find_resumable`) that run `claimant` may continue: each is claimed
    by creating a claim file in it with O_EXCL, so of two jobs started together (parallel jobs of
    a sweep, two nodes on a shared disk) only one continues a given run.

    A claim held by a run that ended without finishing the resume (killed while copying) is stale:
    the next claimant takes it over with a claim file named after the stale holder, again with
    O_EXCL, so a stale claim too is taken over once."""
    claimed = []
    for run_dir in candidates:
        name = CLAIM_FILE
        while True:
            try:
                fd = os.open(run_dir / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    holder = (run_dir / name).read_text(encoding="utf-8").strip()
                except OSError:
                    holder = ""
                if not holder or holder == claimant or _claim_is_live(runs_dir, holder):
                    break  # another job continues it (or the claim is being written)
                name = f"{CLAIM_FILE}.after-{holder.replace('/', '__')}"
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(claimant + "\n")
            claimed.append(run_dir)
            break
    return claimed


def carried_spend(attempts: list[Path], runs_dir: Path, without_ledger: Callable[[Path], float]) -> float:
    """USD paid by the unfinished attempts a run continues (each counted once).

    An attempt's spend is its spend.jsonl (`ledger_total`), which includes the carried spend of the
    attempts it continued (`covers`). An attempt covered by another one in the list is not counted again (a
    resume killed while copying leaves both unfinished). `without_ledger(run_dir)` estimates the
    spend of an attempt written before ledgers existed."""
    ledgers = {run_dir: read_jsonl(run_dir / SPEND_FILE) for run_dir in attempts}
    covered = {
        runs_dir / name for lines in ledgers.values() for line in lines for name in line.get("covers") or []
    }
    total = 0.0
    for run_dir, lines in ledgers.items():
        if run_dir in covered:
            continue
        if not (run_dir / SPEND_FILE).exists():
            total += without_ledger(run_dir)
            continue
        total += ledger_total(lines)
    return total


def ledger_total(lines: list[dict[str, Any]]) -> float:
    """USD of one spend.jsonl: settled calls at their cost, calls reserved but never settled (in
    flight at a kill: the provider may have billed them) at their reservation, plus carried spend."""
    open_calls: dict[Any, float] = {}
    total = 0.0
    for line in lines:
        usd = line.get("usd")
        usd = float(usd) if isinstance(usd, (int, float)) else 0.0
        if "reserve" in line:
            open_calls[line["reserve"]] = usd
        elif "settle" in line:
            open_calls.pop(line["settle"], None)
            total += usd
        elif isinstance(line.get("carried_usd"), (int, float)):
            total += float(line["carried_usd"])
    return total + sum(open_calls.values())
