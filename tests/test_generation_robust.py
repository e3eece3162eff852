"""Generation at scale: response cache, replay, resume after kill -9, faults, budget, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.results.reader import read_jsonl
from tests.conftest import MINI
from tests.fake_openai import FakeOpenAI, Reply, user_text

ROOT = Path(__file__).parents[1]
BULLETS = "- 第一条要点，包含事实。\n- 第二条要点，包含数字 3。\n- 第三条要点，说明影响。"


def make_dataset(path: Path, n: int) -> Path:
    """n items built from the mini fixture; each source carries its id so the server can tell them apart."""
    base = [json.loads(line) for line in MINI.read_text(encoding="utf-8").splitlines()]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            item = dict(base[i % len(base)])
            item["id"] = f"it-{i:04d}"
            item["source"] = f"[条目 it-{i:04d}] " + item["source"]
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path


def fault_reply(kind: str, timeout_delay_s: float) -> Reply:
    """A good digest ("ok") or one of the faults: 429 with Retry-After, 500, a reply slower than
    the client's timeout, a malformed body."""
    if kind == "ok":
        return Reply(BULLETS)
    if kind == "429":
        return Reply("slow down", status=429, headers={"Retry-After": "0"})
    if kind == "500":
        return Reply("boom", status=500)
    if kind == "timeout":
        return Reply(BULLETS, delay_s=timeout_delay_s)
    assert kind == "malformed", kind
    return Reply(raw_body=b'{"choices": [{"message": ')


def counting_script(requests: Counter[str], lock: threading.Lock, delay_s: float = 0.0):
    """A server script that counts requests per item (under `lock`) and answers each with a
    digest naming the item, so a resumed run's rows can be compared with a clean run's."""

    def script(body: dict) -> Reply:
        with lock:
            requests[item_of(body)] += 1
        return Reply(f"- {item_of(body)} 的第一条要点。\n- 第二条要点。\n- 第三条要点。", delay_s=delay_s)

    return script


def item_of(body: dict) -> str:
    text = user_text(body)
    start = text.index("[条目 ") + 4
    return text[start : start + 7]


def run_args(results: Path, data: Path, api_base: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "model=local",
        f"model.api_base={api_base}",
        "model.name=fake",
        f"results_dir={results}",
        "dataset.name=many",
        f"dataset.data_files=[{data}]",
        "metrics.bertscore.enabled=false",
        "progress=false",
        "model.retry_base_s=0.01",
        "model.retry_cap_s=0.05",
        *extra,
    ]


def harness(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args), cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


def all_rows(results: Path) -> list[dict]:
    """Rows of the finished runs (superseded runs' rows were carried over)."""
    rows = []
    for manifest in (results / "runs").rglob("run.json"):
        if json.loads(manifest.read_text(encoding="utf-8"))["status"] == "finished":
            rows += read_jsonl(manifest.parent / "rows.jsonl")
    return rows


def test_second_identical_run_is_served_from_cache(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 12)
    with FakeOpenAI(lambda body: Reply(BULLETS)) as server:
        first = harness(*run_args(tmp_path, data, server.api_base))
        assert first.returncode == 0, first.stderr
        assert len(server.requests) == 12
        second = harness(*run_args(tmp_path, data, server.api_base, "resume=never"))
        assert second.returncode == 0, second.stderr
        assert len(server.requests) == 12  # zero new requests
    rows = sorted(all_rows(tmp_path), key=lambda r: r["finished_at"])
    assert sum(r["generation"]["cache_hit"] for r in rows) == 12
    assert {r["scores"]["rougeL_f"] for r in rows[:12]} == {r["scores"]["rougeL_f"] for r in rows[12:]}


def test_replay_miss_fails_naming_item_and_model(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 3)
    with FakeOpenAI(lambda body: Reply(BULLETS)) as server:
        proc = harness(*run_args(tmp_path, data, server.api_base, "cache.mode=replay"))
        assert server.requests == []
    assert proc.returncode == 2
    assert "it-000" in proc.stderr and "fake" in proc.stderr and "replay" in proc.stderr


def test_faults_are_retried_or_recorded_with_their_cause(tmp_path):
    """20% of requests fail (429 with Retry-After, 500, timeouts, malformed bodies); items whose
    every attempt failed are exactly the recorded failures."""
    lock = threading.Lock()
    attempts: Counter[str] = Counter()
    succeeded: set[str] = set()
    faults = ["429", "500", "timeout", "malformed", "ok", "ok", "ok", "ok", "ok", "ok"]

    def script(body):
        item = item_of(body)
        with lock:
            attempts[item] += 1
            n = attempts[item]
        # Deterministic schedule: some items fail once, some twice, a few always.
        idx = int(item[3:])
        kind = "ok"
        if idx % 10 == 0:
            kind = faults[(n - 1) % 4]  # always failing
        elif idx % 5 == 0 and n <= 2:
            kind = faults[(idx // 5 + n) % 4]
        if kind == "ok":
            with lock:
                succeeded.add(item)
        return fault_reply(kind, timeout_delay_s=1.5)

    data = make_dataset(tmp_path / "d.jsonl", 60)
    with FakeOpenAI(script) as server:
        proc = harness(
            *run_args(
                tmp_path,
                data,
                server.api_base,
                "model.timeout_s=0.5",
                "model.num_retries=3",
                "model.max_concurrency=8",
                "cache.mode=off",
            )
        )
    assert proc.returncode == 0, proc.stderr
    rows = {r["item_id"]: r for r in all_rows(tmp_path)}
    assert len(rows) == 60
    failed = {i for i, r in rows.items() if r["error"]}
    assert failed == {f"it-{i:04d}" for i in range(60)} - succeeded
    assert failed == {f"it-{i:04d}" for i in range(0, 60, 10)}
    assert {rows[i]["error"]["class"] for i in failed} <= {
        "rate_limit",
        "server_error",
        "timeout",
        "malformed_response",
    }
    assert all(rows[i]["scores"] == {} for i in failed)
    board = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "| 54 / 6 (" in board


@pytest.mark.slow
def test_500_items_with_20_percent_random_faults(tmp_path):
    """The issue's acceptance case: each request fails with probability 0.2 (429 with Retry-After,
    500, timeout, malformed body; seeded). The run completes and the recorded failures are exactly
    the items the server never answered successfully."""
    import random

    n_items = 500
    rng = random.Random(20261123)
    lock = threading.Lock()
    succeeded: set[str] = set()
    kinds: Counter[str] = Counter()

    def script(body):
        item = item_of(body)
        with lock:
            kind = rng.choice(["429", "500", "timeout", "malformed"]) if rng.random() < 0.2 else "ok"
            kinds[kind] += 1
            if kind == "ok":
                succeeded.add(item)
        return fault_reply(kind, timeout_delay_s=3.0)

    data = make_dataset(tmp_path / "d.jsonl", n_items)
    with FakeOpenAI(script) as server:
        proc = harness(
            *run_args(
                tmp_path,
                data,
                server.api_base,
                "model.timeout_s=1.0",  # generous: a slow "ok" reply must not count as a timeout
                "model.num_retries=2",
                "model.max_concurrency=16",
                "cache.mode=off",
            )
        )
    assert proc.returncode == 0, proc.stderr
    total = sum(kinds.values())
    assert 0.15 < 1 - kinds["ok"] / total < 0.25, kinds
    rows = {r["item_id"]: r for r in all_rows(tmp_path)}
    assert len(rows) == n_items
    failed = {i for i, r in rows.items() if r["error"]}
    assert failed == set(rows) - succeeded
    causes = {"rate_limit", "server_error", "timeout", "malformed_response"}
    for item_id in failed:
        assert rows[item_id]["error"]["class"] in causes
        assert rows[item_id]["error"]["message"]
        assert rows[item_id]["scores"] == {}
    assert all(rows[i]["scores"] for i in succeeded)


def _wait_for_rows(path: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and len(path.read_text(encoding="utf-8").splitlines()) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"run ended before {n} rows: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.02)
    raise AssertionError("timed out waiting for rows")


def generated_items(results: Path) -> set[str]:
    """Items with a successful generation on disk in any run directory of `results`."""
    runs = results / "runs"
    if not runs.exists():
        return set()
    return {
        g["item_id"]
        for p in runs.rglob("generations.jsonl")
        for g in read_jsonl(p)
        if g.get("text") and not g.get("resumed_from")
    }


@pytest.mark.parametrize(
    ("n_items", "kill_points"),
    [
        pytest.param(80, [20], id="one-kill"),
        # the issue's acceptance case: a 500-item run killed at three points
        pytest.param(500, [60, 220, 380], id="three-kills-500", marks=pytest.mark.slow),
    ],
)
def test_kill_9_then_resume_equals_uninterrupted(tmp_path, n_items, kill_points):
    data = make_dataset(tmp_path / "d.jsonl", n_items)
    lock = threading.Lock()
    requests: Counter[str] = Counter()
    script = counting_script(requests, lock, delay_s=0.03)

    # cache off: resuming must not depend on the response cache to avoid repeated calls.
    with FakeOpenAI(script) as server:
        args = run_args(
            tmp_path / "r",
            data,
            server.api_base,
            "cache.mode=off",
            "model.max_concurrency=2",
            "score_batch_size=4",
        )
        # For each kill: the items whose generation was on disk, and the requests counted so far.
        snapshots: list[tuple[set[str], Counter[str]]] = []
        for point in kill_points:
            proc = subprocess.Popen(
                args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            # wait until this job has `point` generations of its own (copies carried over by a
            # resume have `resumed_from` and are not counted twice)
            # and at least one scored row (generations reach the disk as they return, before
            # scoring, so under load the first kill could otherwise come before any row)
            deadline = time.time() + 120
            while time.time() < deadline and (
                len(generated_items(tmp_path / "r")) < point
                or not any(p.stat().st_size for p in (tmp_path / "r").rglob("rows.jsonl"))
            ):
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            with lock:
                snapshots.append((generated_items(tmp_path / "r"), Counter(requests)))
        final = harness(*args)
        assert final.returncode == 0, final.stderr
        with lock:
            after_resume = Counter(requests)
        clean = harness(*run_args(tmp_path / "clean", data, server.api_base, "cache.mode=off"))
        assert clean.returncode == 0, clean.stderr
    resumed = all_rows(tmp_path / "r")
    reference = {r["item_id"]: r for r in all_rows(tmp_path / "clean")}
    ids = [r["item_id"] for r in resumed]
    assert len(ids) == len(set(ids)) == n_items
    for row in resumed:
        assert row["scores"] == reference[row["item_id"]]["scores"]
        assert row["generation"]["bullets"] == reference[row["item_id"]]["generation"]["bullets"]
    # No repeated request for an item whose generation had finished before a kill. (An item whose
    # request was in flight at a kill is asked again: its reply never reached the run.)
    for generated, counted in snapshots:
        assert generated, "a kill came before any generation was written"
        repeated = {i: (counted[i], after_resume[i]) for i in generated if after_resume[i] != counted[i]}
        assert repeated == {}
    summary = next(
        json.loads(p.read_text(encoding="utf-8")) for p in (tmp_path / "r" / "runs").rglob("summary.json")
    )
    assert summary["resumed_from"] and len(summary["resumed_items"]) > 0


def test_canary_key_never_written(tmp_path):
    canary = "sk-canary-0123456789abcdefCANARY"
    data = make_dataset(tmp_path / "d.jsonl", 6)

    def script(body):
        if item_of(body) == "it-0003":
            return Reply(f"invalid key {canary}", status=401)
        return Reply(BULLETS)

    with FakeOpenAI(script) as server:
        proc = harness(
            *run_args(tmp_path, data, server.api_base, "model.api_key_env=CANARY_KEY"),
            env={"CANARY_KEY": canary},
        )
        assert server.headers[0]["authorization"] == f"Bearer {canary}"
    assert proc.returncode == 0, proc.stderr
    assert canary not in proc.stdout + proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "d.jsonl"]
    assert any(p.suffix == ".sqlite" for p in written) and any(p.name == "rows.jsonl" for p in written)
    for path in written:
        assert canary.encode() not in path.read_bytes(), path


def test_budget_stops_cleanly_before_exceeding(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 30)
    with FakeOpenAI(lambda body: Reply(BULLETS, prompt_tokens=1000, completion_tokens=100)) as server:
        # each call costs 1000*1e-5 + 100*1e-5 = 0.011 USD; worst case reserved is higher
        args = run_args(
            tmp_path,
            data,
            server.api_base,
            "budget_usd=0.1",
            "model.max_concurrency=1",
            "model.input_cost_per_token=1e-5",
            "model.output_cost_per_token=1e-5",
            "model.params.max_tokens=200",
            "cache.mode=off",
        )
        proc = harness(*args)
        assert proc.returncode == 1
        assert "budget" in proc.stderr
        run_dir = next((tmp_path / "runs").rglob("run.json")).parent
        manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        assert manifest["status"] == "stopped"
        rows = read_jsonl(run_dir / "rows.jsonl")
        spent = sum(r["generation"]["cost_usd"] for r in rows)
        assert 0 < len(rows) < 30 and spent <= 0.1
        assert len(server.requests) == len(rows)
        # The same command again resumes the stopped run; what it already spent still counts,
        # so it stops at once instead of spending a second budget.
        again = harness(*args)
        assert again.returncode == 1 and "budget" in again.stderr
        assert len(server.requests) == len(rows)


def test_long_article_truncated_by_context_window_and_flagged(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 2)
    with FakeOpenAI(lambda body: Reply(BULLETS)) as server:
        proc = harness(
            *run_args(
                tmp_path, data, server.api_base, "model.max_input_tokens=400", "model.params.max_tokens=100"
            )
        )
        sent = [user_text(b) for b in server.requests]
    assert proc.returncode == 0, proc.stderr
    rows = all_rows(tmp_path)
    assert all("source_truncated" in r["flags"] for r in rows)
    info = rows[0]["generation"]["source_truncation"]
    assert info["policy"] == "keep_head" and info["kept_chars"] < info["source_chars"]
    assert all("<<<原文结束>>>" in text for text in sent)


def test_failure_budget_stops_the_run(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 20)
    with FakeOpenAI(lambda body: Reply("nope", status=400)) as server:
        proc = harness(
            *run_args(
                tmp_path, data, server.api_base, "max_failures=3", "model.max_concurrency=1", "cache.mode=off"
            )
        )
        assert len(server.requests) < 20
    assert proc.returncode == 1 and "max_failures=3" in proc.stderr


def test_replay_needs_no_api_key_and_serves_recorded_replies(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 4)
    with FakeOpenAI(lambda body: Reply(BULLETS)) as server:
        record = harness(
            *run_args(tmp_path, data, server.api_base, "model.api_key_env=RECORD_KEY"),
            env={"RECORD_KEY": "k-record"},
        )
        assert record.returncode == 0, record.stderr
        env = {k: v for k, v in os.environ.items() if k != "RECORD_KEY"}
        replay = subprocess.run(
            run_args(
                tmp_path,
                data,
                server.api_base,
                "model.api_key_env=RECORD_KEY",
                "cache.mode=replay",
                "resume=never",
            ),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert replay.returncode == 0, replay.stderr
        assert len(server.requests) == 4


def test_resume_killed_while_copying_keeps_the_older_runs_rows(tmp_path):
    """A resume killed mid-copy leaves two unfinished runs: the next resume reads both."""
    n_items = 12
    data = make_dataset(tmp_path / "d.jsonl", n_items)
    lock = threading.Lock()
    requests: Counter[str] = Counter()
    script = counting_script(requests, lock)

    with FakeOpenAI(script) as server:
        args = run_args(tmp_path / "r", data, server.api_base, "cache.mode=off")
        first = harness(*args)
        assert first.returncode == 0, first.stderr
        assert sum(requests.values()) == n_items
        # Make the finished run look killed (status running, process gone) ...
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        dead_pid = int(dead.stdout)
        older = next((tmp_path / "r" / "runs").rglob("run.json")).parent
        manifest = json.loads((older / "run.json").read_text(encoding="utf-8"))
        manifest.update(status="running", pid=dead_pid)
        (older / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
        # ... and add a later attempt killed after copying only 4 of its rows.
        newer = older.parents[1] / "20991231-000000-partialcopy" / older.name
        newer.mkdir(parents=True)
        manifest.update(started_at="2099-12-31T00:00:00+00:00")
        (newer / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
        rows = (older / "rows.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
        (newer / "rows.jsonl").write_text("".join(rows[:4]), encoding="utf-8")
        final = harness(*args)
        assert final.returncode == 0, final.stderr
    assert sum(requests.values()) == n_items  # nothing asked again
    finished = all_rows(tmp_path / "r")
    assert sorted(r["item_id"] for r in finished) == [f"it-{i:04d}" for i in range(n_items)]
    statuses = {
        p.parent.parent.name: json.loads(p.read_text(encoding="utf-8"))["status"]
        for p in (tmp_path / "r" / "runs").rglob("run.json")
    }
    assert sorted(statuses.values()) == ["finished", "superseded", "superseded"]
