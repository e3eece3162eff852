"""The one writer of a run's directory: append-only JSONL rows, a manifest and a summary.

Layout of one run (one model x prompt x dataset):
  run.json          manifest: what ran (model, prompt, dataset, metric versions), status, timings
  config.yaml       the resolved config (holds env-var NAMES, never keys)
  generations.jsonl one line per finished model call, appended as each call returns
  rows.jsonl        one line per scored item, appended after each scoring batch
  summary.json      means, n, failures, unavailable metrics (written at the end)
  spend.jsonl       one line per paid response ({"usd": ...}) as it is paid, and on a resume one line
                    with the spend of the attempts it continues ({"carried_usd", "covers"})
Appends are flushed and fsynced line by line, so a crash keeps every finished line.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
ROWS_FILE = "rows.jsonl"
GENERATIONS_FILE = "generations.jsonl"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.yaml"
SPEND_FILE = "spend.jsonl"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and rename: readers never see half a file."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are for the team to read
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunStore:
    """Writes one run directory."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self._handles: dict[str, Any] = {}

    def _handle(self, name: str) -> Any:
        fh = self._handles.get(name)
        if fh is None:
            fh = self._handles[name] = (self.run_dir / name).open("a", encoding="utf-8")
        return fh

    def _append(self, name: str, records: Iterable[dict[str, Any]], sync: bool) -> None:
        # flush() hands each line to the OS at once, so a killed process (kill -9) loses none;
        # fsync (against a machine crash) is batched: it costs ~0.1-1 ms and releases the GIL.
        fh = self._handle(name)
        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        fh.flush()
        if sync:
            os.fsync(fh.fileno())

    def append_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append scored rows, then fsync them (generation lines first: rows never get ahead)."""
        self.sync(GENERATIONS_FILE)
        self._append(ROWS_FILE, rows, sync=True)

    def append_generation(self, record: dict[str, Any]) -> None:
        """Append one generation line, flushed to the OS; fsynced by the next `append_rows`/`sync`."""
        self._append(GENERATIONS_FILE, [record], sync=False)

    def append_spend(self, record: dict[str, Any]) -> None:
        """Append one spend line, flushed (the budget of a resumed run counts it after a kill -9)."""
        self._append(SPEND_FILE, [record], sync=False)

    def sync(self, name: str | None = None) -> None:
        for key, fh in self._handles.items():
            if name is None or key == name:
                os.fsync(fh.fileno())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.run_dir / RUN_FILE, manifest)

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json_atomic(self.run_dir / SUMMARY_FILE, summary)

    def write_config(self, yaml_text: str) -> None:
        write_text_atomic(self.run_dir / CONFIG_FILE, yaml_text)

    def close(self) -> None:
        self.sync()
        for fh in self._handles.values():
            fh.close()
        self._handles.clear()
