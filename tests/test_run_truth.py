"""Runs that tell the truth, tried as a user meets them: a fast server and kill -9, budgets across
re-runs, stops and Ctrl-C that end in one line, runs where nothing could be scored."""

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

from harness.results.reader import carried_spend, read_jsonl
from tests.fake_openai import FakeOpenAI, Reply
from tests.test_generation_robust import (
    BULLETS,
    ROOT,
    all_rows,
    counting_script,
    harness,
    make_dataset,
    run_args,
)

FLOOD = ("Traceback", "never retrieved")


def _generations_on_disk(results: Path) -> set[str]:
    return {
        g["item_id"]
        for p in (results / "runs").rglob("generations.jsonl")
        for g in read_jsonl(p)
        if g.get("text") is not None
    }


def _kill_after(args: list[str], answered: Counter[str], lock: threading.Lock, n: int) -> int:
    """Start the run, kill -9 it once the server has answered `n` requests; the count at the kill."""
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline:
        with lock:
            if sum(answered.values()) >= n:
                break
        if proc.poll() is not None:
            raise AssertionError("the run ended before the kill")
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with lock:
        return sum(answered.values())


def test_kill_9_on_a_fast_server_loses_at_most_the_calls_in_flight(tmp_path):
    n_items, concurrency = 300, 32
    data = make_dataset(tmp_path / "d.jsonl", n_items)
    lock = threading.Lock()
    answered: Counter[str] = Counter()
    with FakeOpenAI(counting_script(answered, lock, delay_s=0.002)) as server:
        args = run_args(
            tmp_path / "r",
            data,
            server.api_base,
            "cache.mode=off",
            f"model.max_concurrency={concurrency}",
            "score_batch_size=16",
        )
        at_kill = _kill_after(args, answered, lock, 200)
        on_disk = _generations_on_disk(tmp_path / "r")
        # Answered requests whose reply had not reached the run yet were in flight: at most one
        # per concurrency slot.
        assert len(on_disk) >= at_kill - concurrency, (len(on_disk), at_kill)
        final = harness(*args)
        assert final.returncode == 0, final.stderr
        assert len(server.requests) <= n_items + concurrency, len(server.requests)
    assert len(all_rows(tmp_path / "r")) == n_items


def test_budget_holds_across_a_kill_and_two_re_runs(tmp_path):
    budget = 0.15
    data = make_dataset(tmp_path / "d.jsonl", 40)
    lock = threading.Lock()
    answered: Counter[str] = Counter()
    billed: list[float] = []

    def script(body: dict) -> Reply:
        # Tokens as a Chinese tokenizer counts them (about one per character); billed at 1e-5.
        prompt_tokens = sum(len(m.get("content") or "") for m in body["messages"])
        with lock:
            answered[str(len(answered))] += 1
            billed.append((prompt_tokens + 150) * 1e-5)
        return Reply(BULLETS, prompt_tokens=prompt_tokens, completion_tokens=150, delay_s=0.01)

    with FakeOpenAI(script) as server:
        args = run_args(
            tmp_path,
            data,
            server.api_base,
            f"budget_usd={budget}",
            "model.max_concurrency=4",
            "model.input_cost_per_token=1e-5",
            "model.output_cost_per_token=1e-5",
            "model.params.max_tokens=200",
        )
        _kill_after(args, answered, lock, 6)
        first = harness(*args)
        second = harness(*args)
    assert first.returncode == 1 and "budget" in first.stderr, first.stderr
    assert second.returncode == 1 and "budget" in second.stderr
    # Calls in flight at the kill were billed by the server but never answered: the resumed run
    # counts them at their reservation, so the total billed stays within the budget.
    assert sum(billed) <= budget + 1e-9, (len(billed), sum(billed))


def test_carried_spend_counts_each_attempt_once(tmp_path):
    runs = tmp_path / "runs"
    a, b = runs / "a", runs / "b"
    for d in (a, b):
        d.mkdir(parents=True)
    # a: one call settled at 0.5; one reserved at 0.25 and never settled (in flight at a kill).
    (a / "spend.jsonl").write_text(
        '{"reserve": 1, "usd": 0.6}\n{"settle": 1, "usd": 0.5}\n{"reserve": 2, "usd": 0.25}\n',
        encoding="utf-8",
    )
    # b resumed a (and was killed before marking it superseded): a's spend is in b's carried line.
    (b / "spend.jsonl").write_text(
        '{"carried_usd": 0.75, "covers": ["a"]}\n{"reserve": 1, "usd": 0.2}\n{"settle": 1, "usd": 0.1}\n',
        encoding="utf-8",
    )
    assert carried_spend([a, b], runs, lambda d: 99.0) == pytest.approx(0.85)
    assert carried_spend([a], runs, lambda d: 99.0) == pytest.approx(0.75)
    legacy = runs / "old"
    legacy.mkdir()
    assert carried_spend([legacy], runs, lambda d: 0.3) == 0.3


def test_a_budget_stop_is_one_clear_line_and_starts_nothing_after(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 200)
    with FakeOpenAI(lambda body: Reply(BULLETS, prompt_tokens=1000, completion_tokens=100)) as server:
        proc = harness(
            *run_args(
                tmp_path,
                data,
                server.api_base,
                "budget_usd=0.2",
                "model.max_concurrency=16",
                "model.input_cost_per_token=1e-5",
                "model.output_cost_per_token=1e-5",
                "model.params.max_tokens=200",
                "cache.mode=off",
            )
        )
        sent = len(server.requests)
    assert proc.returncode == 1
    assert not any(word in proc.stderr for word in FLOOD), proc.stderr[-3000:]
    assert len([line for line in proc.stderr.splitlines() if "budget" in line]) <= 2, proc.stderr
    # Every request that went out was paid for within the budget (reservations stop the rest).
    assert sent * 0.011 <= 0.2 + 1e-9
    # Answers that arrived are kept and scored, not dropped with the stop.
    assert len(_generations_on_disk(tmp_path)) == sent


def test_a_replay_miss_is_one_line_not_a_flood(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 60)
    proc = harness(
        *run_args(
            tmp_path,
            data,
            "http://127.0.0.1:9/v1",
            "cache.mode=replay",
            f"cache.path={tmp_path / 'empty.sqlite'}",
            "model.max_concurrency=8",
        )
    )
    assert proc.returncode == 2
    assert "cache.mode=replay" in proc.stderr
    assert not any(word in proc.stderr for word in FLOOD), proc.stderr[-3000:]


@pytest.mark.parametrize("workers", ["0", "1"])  # scored in the job's process, or in a worker
def test_ctrl_c_is_one_line_exit_130_and_keeps_rows(tmp_path, workers):
    data = make_dataset(tmp_path / "d.jsonl", 60)
    lock = threading.Lock()
    answered: Counter[str] = Counter()
    with FakeOpenAI(counting_script(answered, lock, delay_s=0.05)) as server:
        args = run_args(
            tmp_path,
            data,
            server.api_base,
            "cache.mode=off",
            "model.max_concurrency=2",
            f"score_workers={workers}",
        )
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and len(_generations_on_disk(tmp_path)) < 6:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr and "run the same command again" in stderr
    run_dir = next((tmp_path / "runs").rglob("run.json")).parent
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "interrupted"
    # Every answer that reached the run was scored before it ended.
    rows = read_jsonl(run_dir / "rows.jsonl")
    assert len(rows) >= 6 and {r["item_id"] for r in rows} == _generations_on_disk(tmp_path)


def test_a_run_where_every_item_failed_exits_1_and_gets_no_leaderboard_rank(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 5)
    with FakeOpenAI(lambda body: Reply("no", status=400)) as server:
        proc = harness(*run_args(tmp_path, data, server.api_base, "cache.mode=off"))
    assert proc.returncode == 1, proc.stderr
    assert "no item was scored" in proc.stderr and "Traceback" not in proc.stderr
    board = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    ranked = [r for ds in board["datasets"] for r in ds["rows"]]
    (row,) = ranked
    assert row["n"] == 0 and row["failed"] == 5 and row["rank"] is None and not row["leader"]


def test_a_reply_that_echoes_the_key_is_stored_scrubbed(tmp_path):
    canary = "sk-canary-echo-0123456789abcdefECHO"
    data = make_dataset(tmp_path / "d.jsonl", 3)
    echo = f"- 第一条要点，密钥 {canary} 出现在回复里。\n- 第二条要点。\n- 第三条要点。"
    with FakeOpenAI(lambda body: Reply(echo)) as server:
        proc = harness(
            *run_args(tmp_path, data, server.api_base, "model.api_key_env=ECHO_KEY"), env={"ECHO_KEY": canary}
        )
    assert proc.returncode == 0, proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "d.jsonl"]
    assert any(p.name == "generations.jsonl" for p in written) and any(
        p.name == "index.html" for p in written
    )
    for path in written:
        assert canary.encode() not in path.read_bytes(), path
    assert canary not in proc.stdout + proc.stderr


def test_a_full_disk_is_one_message_naming_the_file_and_keeps_finished_work(tmp_path):
    # The CLI in a process of its own, with appending rows failing as a full disk does.
    code = (
        "import errno, sys\n"
        "from harness.results.store import RunStore\n"
        "def full(self, rows):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device', str(self.run_dir / 'rows.jsonl'))\n"
        "RunStore.append_rows = full\n"
        "from harness import cli\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    args = ["run", "model=lead", f"results_dir={tmp_path}", "dataset.limit=3"]
    args += ["metrics.bertscore.enabled=false", "progress=false"]
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    err = proc.stderr
    assert proc.returncode == 2, err
    assert "cannot write" in err and "rows.jsonl" in err and "No space left on device" in err
    assert "Traceback" not in err
    # Generations reached the disk before scoring: nothing paid is lost.
    (gens,) = list(tmp_path.rglob("generations.jsonl"))
    assert len(read_jsonl(gens)) == 3
    (manifest,) = list(tmp_path.rglob("run.json"))
    assert json.loads(manifest.read_text(encoding="utf-8"))["status"] == "interrupted"


def test_cache_faults_are_named_right_and_unreadable_entries_are_fetched_again(tmp_path):
    import sqlite3

    from harness.llm.cache import ResponseCache
    from harness.llm.client import completion_from_cache

    # A full disk is not a corrupt cache: the message must not suggest deleting a healthy file.
    cache = ResponseCache(tmp_path / "c.sqlite")
    message = str(cache._open_error(sqlite3.OperationalError("database or disk is full")))
    assert "cannot write" in message and "delete" not in message
    # Entries of the wrong shape are misses, not TypeErrors.
    assert completion_from_cache({"text": 5, "latency_s": 0.1}) is None
    assert completion_from_cache({"text": "ok"}) is None
    assert completion_from_cache({"text": "ok", "latency_s": 0.1, "bogus": 1}).text == "ok"
    # A damaged page in the middle of the file: every lookup returns a value or a miss, no crash.
    for i in range(400):
        cache.put(f"k{i}", "generation", "m", {"text": "要点" * 50, "latency_s": 0.1})
    cache.close()
    raw = bytearray((tmp_path / "c.sqlite").read_bytes())
    middle = len(raw) // 2 // 4096 * 4096
    raw[middle : middle + 4096] = b"\xff" * 4096
    (tmp_path / "c.sqlite").write_bytes(bytes(raw))
    damaged = ResponseCache(tmp_path / "c.sqlite", "read")
    results = [damaged.get(f"k{i}") for i in range(400)]
    assert any(r is None for r in results) and any(r is not None for r in results)


def test_a_clean_run_prints_no_python_warning_and_each_reason_once(tmp_path):
    with FakeOpenAI(lambda body: Reply(BULLETS)) as server:
        local = harness(
            *run_args(tmp_path / "a", make_dataset(tmp_path / "d.jsonl", 3), server.api_base),
            "model.input_cost_per_token=1e-6",
            "model.output_cost_per_token=1e-6",
        )
    sweep = harness(
        *run_args(tmp_path / "b", tmp_path / "d.jsonl", "http://unused")[:4],
        "-m",
        "model=lead,textrank",
        f"results_dir={tmp_path / 'b'}",
        f"dataset.data_files=[{tmp_path / 'd.jsonl'}]",
        "dataset.name=three",
        "metrics.bertscore.model=no-such-org/no-such-model",
        env={"HF_HUB_OFFLINE": "1"},
    )
    for proc in (local, sweep):
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, proc.stderr
        assert "Warning:" not in out and "Traceback" not in out, out
    assert "cache_creation_input_token_cost" not in local.stdout + local.stderr
    # The sweep's two jobs share one reason for BERTScore being unavailable: said in full once.
    lines = (sweep.stdout + sweep.stderr).splitlines()
    said = [line for line in lines if "metric 'bertscore' unavailable" in line]
    assert len(said) == 2 and sum("no-such-org/no-such-model" in line for line in said) == 1, said


def test_the_gate_comment_on_a_replay_miss_shows_the_harness_reason(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 12)
    proc = harness(
        *run_args(
            tmp_path, data, "http://127.0.0.1:9/v1", "cache.mode=replay", f"cache.path={tmp_path / 'x'}"
        )
    )
    log = tmp_path / "candidate.log"
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    report = subprocess.run(
        [
            "bash",
            str(ROOT / "ci" / "gate-failure-report.sh"),
            str(proc.returncode),
            "the candidate run failed",
            str(log),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Prompt gate: the candidate run failed (exit 2)" in report
    assert "harness run: " in report and "cache.mode=replay: no recorded response for item 'it-" in report
    assert "Recording responses" in report
    assert "Traceback" not in report and "never retrieved" not in report


def test_a_judge_that_fails_on_every_item_is_shown_not_dropped(tmp_path):
    data = make_dataset(tmp_path / "d.jsonl", 3)
    # The same server answers the generator and the judge: the judge gets digests, not JSON.
    with FakeOpenAI(lambda body: Reply(BULLETS)) as server:
        proc = harness(
            *run_args(tmp_path, data, server.api_base),
            "judge=local",
            f"judge.model.api_base={server.api_base}",
        )
    assert proc.returncode == 0, proc.stderr
    board = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    (row,) = board["datasets"][0]["rows"]
    assert row["judge_failed"] == 3
    reason = row["metrics"]["judge_factual_precision"]["unavailable"]
    assert "the judge failed on all 3 scored items" in reason
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "the judge failed on all 3 scored items" in md
