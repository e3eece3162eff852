"""A response cache for model calls, in one SQLite file.

Real sweeps are thousands of paid calls: a run that dies must not pay for them again, and CI must
replay recorded responses without any API key. litellm's own disk cache crashes on the first hit from
litellm 1.103 and is gone in 1.109, so the harness keeps its own.

Several runs may share one file at once (two processes, Hydra's joblib launcher) and one run calls it
from its event-loop thread and its scoring thread: the file is in WAL mode, every write is one short
autocommit upsert, waits for a busy file up to `BUSY_TIMEOUT_S`, and each instance serialises its
own connection with a lock.

The key (`cache_key`) is a hash of everything that determines a response and nothing secret: API keys
are never part of it, so a cache recorded with one key replays with another, or with none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import numbers
import random
import sqlite3
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.config import CACHE_MODES, ConfigError

log = logging.getLogger(__name__)

# Bump when the table layout changes, and add a migration in `_open_readwrite` (PRAGMA user_version).
SCHEMA_VERSION = 1
# Bump when the composition of `cache_key` changes: old entries then simply stop matching.
KEY_VERSION = 1
BUSY_TIMEOUT_S = 30.0
_TABLE = "responses"

# Credentials a caller might leave in the provider params: they never determine a response.
_CREDENTIAL_PARAMS = frozenset(
    {
        "api_key",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "azure_ad_token",
        "vertex_credentials",
    }
)


def _schema(table: str) -> tuple[str, ...]:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, kind TEXT NOT NULL, model TEXT NOT NULL, "
        "created_at TEXT NOT NULL, value TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {table}_kind_model ON {table} (kind, model)",
    )


class CacheError(ConfigError, ValueError):
    """The cache cannot be used as configured (bad `cache.mode`, unreadable or foreign file)."""


class CacheMiss(Exception):
    """cache.mode=replay found no recorded response: the run would otherwise call an API.

    Attributes key, item_id, model, kind and path say which."""

    def __init__(
        self,
        key: str,
        *,
        item_id: str | None = None,
        model: str | None = None,
        kind: str = "generation",
        path: Path | None = None,
        missing_file: bool = False,
    ):
        self.key, self.item_id, self.model, self.kind, self.path = key, item_id, model, kind, path
        self.missing_file = missing_file
        what = "no recorded response"
        if item_id is not None:
            what += f" for item {item_id!r}"
        if model is not None:
            what += f" with model {model!r}"
        where = ""
        if path is not None:
            where = f" in {path}" + (" (the file does not exist)" if missing_file else "")
        super().__init__(
            f"cache.mode=replay: {what} (kind {kind}, key {key[:12]}…){where}; "
            "record it first with cache.mode=readwrite"
        )


def _normalise(value: Any) -> Any:
    """JSON-ready copy in which numbers that are equal hash equally (0 == 0.0, 1.0 == 1)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return int(value) if math.isfinite(value) and value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    raise TypeError(f"cache_key: a value of type {type(value).__name__} cannot be hashed as JSON: {value!r}")


def cache_key(
    kind: str, model: str, api_base: str | None, params: Mapping[str, Any], messages: list[dict[str, Any]]
) -> str:
    """sha256 of a canonical JSON of what determines a response.

    `kind` ("generation", "judge", ...) keeps generation and judge calls apart even with identical
    messages. `params` are the provider params sent with the call (temperature, max_tokens, ...); their
    order does not matter and equal numbers (0, 0.0) give the same key. Credentials (`api_key` and the
    like) are dropped if present: a key never goes into the hash, so a cache replays with any key.
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"cache_key: kind must be a non-empty string, got {kind!r}")
    payload = {
        "v": KEY_VERSION,
        "kind": kind,
        "model": model,
        # The same server with or without a trailing slash.
        "api_base": api_base.rstrip("/") if api_base else None,
        "params": _normalise({k: v for k, v in params.items() if k not in _CREDENTIAL_PARAMS}),
        "messages": _normalise(messages),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


def _is_busy(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _is_storage_fault(exc: sqlite3.DatabaseError) -> bool:
    """A full disk, a read-only file system or missing permissions: not a corrupt file."""
    text = str(exc).lower()
    return any(
        words in text
        for words in ("disk is full", "disk i/o error", "readonly database", "unable to open", "read-only")
    )


def _enable_wal(conn: sqlite3.Connection) -> str:
    """Switch a file to WAL, retrying while another run holds it.

    SQLite answers this switch with "database is locked" at once, without waiting `busy_timeout`,
    when another connection is writing (it would otherwise deadlock), e.g. two runs opening a new
    file together: so wait here, up to the same timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.25)


def _unusable(
    path: Path, why: str, label: str = "response cache", path_key: str = "cache.path"
) -> CacheError:
    what = "recorded responses" if label == "response cache" else "entries"
    return CacheError(
        f"{label} {path}: {why}. Point {path_key}= at another file, or delete it (that loses its {what})."
    )


class ResponseCache:
    """Recorded model responses, keyed by `cache_key`, with the run's `cache.mode` applied.

    `get`/`put` are the raw store; `lookup`/`store` apply the mode and are what a run calls:
    readwrite reads and writes, read only reads, off touches nothing (no file is opened or created),
    replay only reads and raises `CacheMiss` on a miss. read and replay never create the file.

    Subclasses (the score cache, harness/score/cache.py) keep other records in a table and file of
    their own: LABEL, TABLE, PATH_KEY, MODE_KEY and MODES name them in messages and checks.
    """

    LABEL = "response cache"
    TABLE = _TABLE
    PATH_KEY = "cache.path"
    MODE_KEY = "cache.mode"
    MODES: tuple[str, ...] = CACHE_MODES

    def __init__(self, path: Path | str, mode: str = "readwrite"):
        if mode not in self.MODES:
            raise CacheError(f"{self.MODE_KEY} must be one of {', '.join(self.MODES)}; got {mode!r}")
        self.path = Path(path).expanduser()
        self.mode = mode
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._missing_file = False
        self._hits = self._misses = self._writes = 0
        if mode == "readwrite":
            self._conn = self._open_readwrite()
        elif mode in ("read", "replay"):
            self._conn = self._open_readonly()

    # -- opening -------------------------------------------------------------------------------

    def _open_readwrite(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(
                f"{self.LABEL} {self.path}: cannot create it ({exc}). Make {self.path.parent} writable, "
                f"point {self.PATH_KEY}= at another place, or run with {self.MODE_KEY}=off"
            ) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if _enable_wal(conn).lower() != "wal":
                log.warning("%s %s: WAL mode unavailable; concurrent runs may wait", self.LABEL, self.path)
            conn.execute("PRAGMA synchronous = NORMAL")
            # Checked and created under one write lock, so two runs starting at once agree.
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    self._check_empty(conn)
                    # One statement at a time: executescript would commit (and unlock) first.
                    for statement in _schema(self.TABLE):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                else:
                    self._check_version(version, conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._open_error(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_readonly(self) -> sqlite3.Connection | None:
        if not self.path.exists():
            self._missing_file = True
            log.info(
                "%s %s does not exist: every lookup misses (%s=%s)",
                self.LABEL,
                self.path,
                self.MODE_KEY,
                self.mode,
            )
            return None
        uri = self.path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                # An empty file (never written to) reads as an empty cache.
                self._check_empty(conn)
                conn.close()
                return None
            self._check_version(version, conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._open_error(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_error(self, exc: sqlite3.DatabaseError) -> CacheError:
        if _is_busy(exc):
            return CacheError(
                f"{self.LABEL} {self.path} stayed locked by another run for more than {BUSY_TIMEOUT_S:g} s "
                f"({exc}). Retry, or give this run its own file with {self.PATH_KEY}="
            )
        if _is_storage_fault(exc):
            # The file may be healthy: the disk or directory is the problem. Never suggest deleting.
            return CacheError(
                f"{self.LABEL} {self.path}: cannot write it ({exc}). Free disk space or make "
                f"{self.path.parent} writable, point {self.PATH_KEY}= at another place, or run with "
                f"{self.MODE_KEY}=off"
            )
        return self._unusable(f"not a usable SQLite database ({exc})")

    def _unusable(self, why: str) -> CacheError:
        return _unusable(self.path, why, self.LABEL, self.PATH_KEY)

    def _check_empty(self, conn: sqlite3.Connection) -> None:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        if tables:
            raise self._unusable(
                f"a SQLite database but not a {self.LABEL} (tables: {', '.join(sorted(tables))})"
            )

    def _check_version(self, version: int, conn: sqlite3.Connection) -> None:
        if version == SCHEMA_VERSION:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if self.TABLE in tables:
                return
            raise self._unusable(
                f"a SQLite database but not a {self.LABEL} (tables: {', '.join(sorted(tables))})"
            )
        newer = " (written by a newer harness)" if version > SCHEMA_VERSION else ""
        raise self._unusable(f"schema version {version}{newer}; this harness reads version {SCHEMA_VERSION}")

    # -- raw access ----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection | None:
        if self._closed:
            raise RuntimeError(f"{self.LABEL} {self.path} is closed")
        return self._conn

    def get(self, key: str) -> dict[str, Any] | None:
        """The recorded value, or None. Ignores the mode (see `lookup`); None when no file is open."""
        with self._lock:
            conn = self._connection()
            if self.mode == "off":
                return None
            row = None
            if conn is not None:
                try:
                    row = conn.execute(f"SELECT value FROM {self.TABLE} WHERE key = ?", (key,)).fetchone()
                except sqlite3.DatabaseError as exc:
                    if _is_busy(exc):
                        raise
                    # A damaged page: this entry cannot be read; the call is made again.
                    log.warning(
                        "%s %s: entry %s unreadable (%s), treated as a miss",
                        self.LABEL,
                        self.path,
                        key[:12],
                        exc,
                    )
                    row = None
            if row is not None:
                try:
                    value = json.loads(row[0])
                except json.JSONDecodeError:
                    log.warning("%s %s: unreadable entry %s, treated as a miss", self.LABEL, self.path, key)
                    value = None
                if isinstance(value, dict):
                    self._hits += 1
                    return value
            self._misses += 1
            return None

    def put(self, key: str, kind: str, model: str, value: dict[str, Any]) -> None:
        """Record (or replace) one response. Needs a readwrite cache; `store` applies the mode."""
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            conn = self._connection()
            if conn is None or self.mode != "readwrite":
                raise RuntimeError(f"{self.LABEL} {self.path} is not writable ({self.MODE_KEY}={self.mode})")
            conn.execute(
                f"INSERT INTO {self.TABLE} (key, kind, model, created_at, value) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, model = excluded.model, "
                "created_at = excluded.created_at, value = excluded.value",
                (key, kind, model, created_at, text),
            )
            self._writes += 1

    # -- mode-aware access ---------------------------------------------------------------------

    def lookup(
        self, key: str, *, item_id: str | None = None, model: str | None = None, kind: str = "generation"
    ) -> dict[str, Any] | None:
        """The recorded response if the mode reads; replay raises CacheMiss instead of returning None.

        `item_id`, `model` and `kind` only serve the CacheMiss message."""
        if self.mode == "off":
            return None
        value = self.get(key)
        if value is None and self.mode == "replay":
            raise CacheMiss(
                key, item_id=item_id, model=model, kind=kind, path=self.path, missing_file=self._missing_file
            )
        return value

    def store(self, key: str, kind: str, model: str, value: dict[str, Any]) -> bool:
        """Record a response if the mode writes (readwrite only); True when written.

        Store successful responses only: a stored error would be replayed forever. A database
        failure (disk full, lock held beyond the busy timeout) is logged and returns False, so a
        paid response that was already received is not lost by crashing the run."""
        if self.mode != "readwrite":
            return False
        try:
            self.put(key, kind, model, value)
        except sqlite3.Error as exc:
            log.warning("%s %s: could not record %s (%s): %s", self.LABEL, self.path, key[:12], kind, exc)
            return False
        return True

    def stats(self) -> dict[str, int]:
        """Counts of this instance (not of the file): hits, misses, writes."""
        with self._lock:
            return {"hits": self._hits, "misses": self._misses, "writes": self._writes}

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._closed = True

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, mode={self.mode!r})"
