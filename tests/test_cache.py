"""The SQLite response cache: keys, modes, persistence, concurrent writers, unusable files."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from harness.config import ConfigError
from harness.llm.cache import (
    CACHE_MODES,
    SCHEMA_VERSION,
    CacheError,
    CacheMiss,
    ResponseCache,
    cache_key,
)

MESSAGES = [
    {"role": "system", "content": "你是AI行业新闻编辑。"},
    {"role": "user", "content": "请为下面的新闻写3条要点解析：……"},
]
PARAMS = {"temperature": 0.0, "max_tokens": 1024}
BASE = dict(kind="generation", model="openai/gpt-4o-mini", api_base=None, params=PARAMS, messages=MESSAGES)
VALUE = {
    "text": "- 第一条\n- 第二条",
    "finish_reason": "stop",
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "cost_usd": 0.00012,
    "response_model": "gpt-4o-mini-2024-07-18",
    "latency_s": 1.25,
}


def _key(**changes) -> str:
    return cache_key(**{**BASE, **changes})


def _rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT key, kind, model, created_at, value FROM responses").fetchall()


# -- keys ----------------------------------------------------------------------------------------


def test_key_is_stable_sha256_hex():
    key = _key()
    assert key == _key() == cache_key(**BASE)
    assert len(key) == 64 and int(key, 16) >= 0


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "judge"},
        {"model": "openai/gpt-4o"},
        {"api_base": "http://127.0.0.1:8080/v1"},
        {"params": {**PARAMS, "temperature": 0.7}},
        {"params": {**PARAMS, "max_tokens": 512}},
        {"params": {**PARAMS, "top_p": 0.9}},
        {"params": {"temperature": 0.0}},
        {"messages": [MESSAGES[0], {"role": "user", "content": "请为下面的新闻写4条要点解析：……"}]},
        {"messages": [{**MESSAGES[0], "role": "user"}, MESSAGES[1]]},
        {"messages": MESSAGES[1:]},
        {"messages": list(reversed(MESSAGES))},
    ],
    ids=lambda c: next(iter(c)),
)
def test_any_change_changes_the_key(changes):
    assert _key(**changes) != _key()


def test_param_order_and_equal_numbers_do_not_matter():
    assert _key(params={"max_tokens": 1024, "temperature": 0.0}) == _key()
    assert _key(params={"temperature": 0, "max_tokens": 1024.0}) == _key()
    assert _key(params={"temperature": -0.0, "max_tokens": 1024}) == _key()
    assert _key(params={**PARAMS, "stop": ("\n\n",)}) == _key(params={**PARAMS, "stop": ["\n\n"]})
    # Equal, not merely close: 0.1 + 0.2 is another temperature than 0.3.
    assert _key(params={"temperature": 0.1 + 0.2}) != _key(params={"temperature": 0.3})
    # A bool is not the number 1.
    assert _key(params={"logprobs": True}) != _key(params={"logprobs": 1})


def test_api_key_never_enters_the_key():
    assert _key(params={**PARAMS, "api_key": "sk-secret-1"}) == _key(params={**PARAMS, "api_key": "sk-2"})
    assert _key(params={**PARAMS, "api_key": "sk-secret-1"}) == _key()


def test_unhashable_param_is_a_clear_error():
    with pytest.raises(TypeError, match="object"):
        _key(params={"temperature": object()})


# -- modes -----------------------------------------------------------------------------------------


def test_readwrite_round_trip_persists_across_reopen(tmp_path):
    path = tmp_path / "deep" / "dir" / "responses.sqlite"  # parent directories are created
    key = _key()
    with ResponseCache(path) as cache:
        assert cache.lookup(key) is None
        assert cache.store(key, "generation", "openai/gpt-4o-mini", VALUE) is True
        assert cache.lookup(key) == VALUE
        assert cache.stats() == {"hits": 1, "misses": 1, "writes": 1}
    with ResponseCache(path, mode="readwrite") as cache:
        assert cache.get(key) == VALUE
        assert cache.get(_key(kind="judge")) is None
        assert cache.stats() == {"hits": 1, "misses": 1, "writes": 0}
    [(k, kind, model, created_at, value)] = _rows(path)
    assert (k, kind, model) == (key, "generation", "openai/gpt-4o-mini")
    assert created_at.startswith("20") and "第一条" in value
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_put_replaces_an_existing_entry(tmp_path):
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as cache:
        cache.put("k", "generation", "m", {"text": "old"})
        cache.put("k", "generation", "m", {"text": "new"})
        assert cache.get("k") == {"text": "new"}
    assert len(_rows(path)) == 1


def test_read_mode_reads_but_never_writes(tmp_path):
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as cache:
        cache.store("recorded", "generation", "m", VALUE)
    with ResponseCache(path, mode="read") as cache:
        assert cache.lookup("recorded") == VALUE
        assert cache.lookup("new") is None
        assert cache.store("new", "generation", "m", VALUE) is False
        with pytest.raises(RuntimeError, match="not writable"):
            cache.put("new", "generation", "m", VALUE)
        assert cache.stats() == {"hits": 1, "misses": 1, "writes": 0}
    assert [r[0] for r in _rows(path)] == ["recorded"]


def test_read_mode_does_not_create_a_missing_file(tmp_path):
    path = tmp_path / "sub" / "c.sqlite"
    with ResponseCache(path, mode="read") as cache:
        assert cache.lookup("k") is None
        assert cache.store("k", "generation", "m", VALUE) is False
    assert not path.parent.exists()


def test_off_mode_neither_reads_nor_creates_the_file(tmp_path):
    path = tmp_path / "sub" / "c.sqlite"
    with ResponseCache(path, mode="off") as cache:
        assert cache.store("k", "generation", "m", VALUE) is False
        assert cache.lookup("k") is None
    assert not path.parent.exists()
    # An existing entry is not read either.
    recorded = tmp_path / "recorded.sqlite"
    with ResponseCache(recorded) as cache:
        cache.store("k", "generation", "m", VALUE)
    with ResponseCache(recorded, mode="off") as cache:
        assert cache.lookup("k") is None
        assert cache.get("k") is None
        assert cache.stats() == {"hits": 0, "misses": 0, "writes": 0}


def test_replay_returns_hits_and_raises_on_a_miss(tmp_path):
    path = tmp_path / "c.sqlite"
    hit = _key()
    with ResponseCache(path) as cache:
        cache.store(hit, "generation", "openai/gpt-4o-mini", VALUE)
    with ResponseCache(path, mode="replay") as cache:
        assert cache.lookup(hit, item_id="sample-001", model="gpt-4o-mini") == VALUE
        miss = _key(kind="judge")
        with pytest.raises(CacheMiss) as info:
            cache.lookup(miss, item_id="sample-003", model="gpt-4o-mini", kind="judge")
        assert cache.store(miss, "judge", "m", VALUE) is False
    message = str(info.value)
    assert "'sample-003'" in message and "'gpt-4o-mini'" in message
    assert message.startswith("cache.mode=replay: ") and str(path) in message
    assert "kind judge" in message and miss[:12] in message and "cache.mode=readwrite" in message
    assert (info.value.item_id, info.value.model, info.value.key) == ("sample-003", "gpt-4o-mini", miss)
    assert len(_rows(path)) == 1


def test_replay_without_a_file_says_so(tmp_path):
    path = tmp_path / "never-recorded.sqlite"
    with ResponseCache(path, mode="replay") as cache:
        with pytest.raises(CacheMiss, match="does not exist"):
            cache.lookup("k", item_id="a", model="m")
    assert not path.exists()


@pytest.mark.parametrize("mode", ["", "wrte", "READ", "replay "])
def test_bad_mode_names_the_config_field(tmp_path, mode):
    with pytest.raises(ValueError, match=r"cache\.mode") as info:
        ResponseCache(tmp_path / "c.sqlite", mode=mode)
    assert all(m in str(info.value) for m in CACHE_MODES)
    assert isinstance(info.value, ConfigError)  # reported like other config errors
    assert not (tmp_path / "c.sqlite").exists()


def test_store_survives_a_database_failure(tmp_path, monkeypatch, caplog):
    cache = ResponseCache(tmp_path / "c.sqlite")

    def locked(*args):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(cache, "put", locked)
    assert cache.store("k", "generation", "m", VALUE) is False  # the run goes on with its response
    assert "could not record" in caplog.text
    cache.close()


def test_closed_cache_refuses_use(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.close()
    cache.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        cache.get("k")


# -- unusable files --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["readwrite", "read", "replay"])
def test_corrupt_file_is_a_clear_error_naming_the_path(tmp_path, mode):
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not a database\x00\xff" * 200)
    with pytest.raises(CacheError) as info:
        ResponseCache(path, mode=mode)
    message = str(info.value)
    assert str(path) in message and "cache.path=" in message and "delete" in message
    assert path.read_bytes().startswith(b"this is not a database")  # left untouched


def test_unknown_schema_version_is_a_clear_error(tmp_path):
    path = tmp_path / "future.sqlite"
    with ResponseCache(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for mode in ("readwrite", "read"):
        with pytest.raises(CacheError, match=f"schema version {SCHEMA_VERSION + 1}") as info:
            ResponseCache(path, mode=mode)
        assert str(path) in str(info.value) and "newer harness" in str(info.value)


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE experiments (id INTEGER)")
    with pytest.raises(CacheError, match="not a response cache") as info:
        ResponseCache(path)
    assert str(path) in str(info.value)


# -- concurrency -----------------------------------------------------------------------------------

N_OWN, N_SHARED = 200, 50


def _writer(path: str, name: str, barrier, errors) -> None:
    """One run of a sweep: opens the (maybe not yet existing) file when the other does, then writes."""
    try:
        barrier.wait(timeout=60)
        with ResponseCache(Path(path)) as cache:
            for i in range(N_OWN + N_SHARED):
                key = f"{name}-{i}" if i < N_OWN else f"shared-{i - N_OWN}"
                cache.put(key, "generation", name, {"text": f"{name} {i}", "writer": name})
                assert cache.get(key) is not None
    except BaseException as exc:  # reported to the parent, which fails the test
        errors.put(f"{name}: {type(exc).__name__}: {exc}")
        raise


def test_two_processes_write_one_file_at_once(tmp_path):
    path = tmp_path / "shared" / "responses.sqlite"
    ctx = multiprocessing.get_context("spawn")
    barrier, errors = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(path), name, barrier, errors)) for name in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == [] and [p.exitcode for p in procs] == [0, 0]
    rows = {key: (model, value) for key, _, model, _, value in _rows(path)}
    assert len(rows) == 2 * N_OWN + N_SHARED
    assert all(f"a-{i}" in rows and f"b-{i}" in rows for i in range(N_OWN))
    for i in range(N_SHARED):
        model, value = rows[f"shared-{i}"]
        assert f'"writer": "{model}"' in value  # one writer's whole entry, never a mix


def test_threads_share_one_instance(tmp_path):
    path = tmp_path / "c.sqlite"
    n_threads, n_each = 8, 100
    errors: list[BaseException] = []
    with ResponseCache(path) as cache:

        def work(t: int) -> None:
            try:
                for i in range(n_each):
                    cache.store(f"t{t}-{i}", "judge", "m", {"text": str(i)})
                    assert cache.lookup(f"t{t}-{i}", kind="judge") == {"text": str(i)}
                    cache.lookup("absent")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        total = n_threads * n_each
        assert cache.stats() == {"hits": total, "misses": total, "writes": total}
    assert len(_rows(path)) == n_threads * n_each
