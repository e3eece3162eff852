"""The score cache: an unchanged (candidate, item inputs, metric settings) is scored once; rows are the
same cached or computed; a changed setting misses; modes, damaged files, the scoring workers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harness.config import ConfigError
from harness.data.schema import Item
from harness.llm.cache import CacheError, ResponseCache
from harness.results.reader import read_jsonl
from harness.score.cache import ScoreCache, score_key, settings_digest
from harness.score.compression import CompressionScorer
from harness.score.facts import FactsScorer
from harness.score.format import FormatScorer
from harness.score.rouge import RougeScorer
from harness.score.runner import ScoreRunner
from tests.test_run import _run

ITEM = Item(
    id="a",
    title="智谱发布新模型",
    url="https://example.com/a",
    source="智谱AI 10月20日发布GLM-4，参数量1300亿。",
    reference=("智谱AI发布GLM-4。", "参数量1300亿。"),
    date="2024-10-20",
)
BULLETS = ["智谱AI在10月20日发布GLM-4模型，参数量达到1300亿，面向企业客户开放。"]
SCORERS = (RougeScorer, FactsScorer, FormatScorer, CompressionScorer)
TIMING = ("finished_at", "run_id")
# Timing, and how the generation was obtained (the warm run's come from the response cache).
GENERATION_TIMING = ("latency_s", "elapsed_s", "cache_hit", "attempts")


def _key(scorer, item: Item = ITEM, bullets: list[str] = BULLETS) -> str:
    return score_key(settings_digest(scorer), scorer.cache_inputs, item, bullets)


# -- keys --------------------------------------------------------------------------------------


def test_a_changed_setting_candidate_or_input_changes_the_key() -> None:
    base = {cls.__name__: _key(cls()) for cls in SCORERS}
    assert len(set(base.values())) == len(SCORERS)  # the metric's name and settings are in the key
    assert _key(RougeScorer("jieba")) != base["RougeScorer"]
    assert _key(FormatScorer(n_bullets=4)) != base["FormatScorer"]
    assert _key(FormatScorer(min_chars=10)) != base["FormatScorer"]
    for cls in SCORERS:
        assert _key(cls(), bullets=[*BULLETS, "另一条"]) != base[cls.__name__]
    changed_reference = Item(**{**ITEM.__dict__, "reference": ("别的要点。",)})
    changed_source = Item(**{**ITEM.__dict__, "source": ITEM.source + "另有一句。"})
    assert _key(RougeScorer(), changed_reference) != base["RougeScorer"]
    assert _key(FactsScorer(), changed_source) != base["FactsScorer"]
    assert _key(CompressionScorer(), changed_source) != base["CompressionScorer"]
    # What a metric does not read does not split its entries (ROUGE reads only the reference).
    assert _key(RougeScorer(), changed_source) == base["RougeScorer"]
    assert _key(FormatScorer(), changed_source) == base["FormatScorer"]
    renamed = Item(**{**ITEM.__dict__, "id": "b", "url": "https://example.com/b"})
    assert all(_key(cls(), renamed) == base[cls.__name__] for cls in SCORERS)


def test_edited_scoring_code_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.score import cache

    before = _key(FactsScorer())
    monkeypatch.setattr(cache, "code_digest", lambda: "edited word list")
    assert _key(FactsScorer()) != before


def test_the_judge_and_bertscore_are_not_cached() -> None:
    from harness.score.bertscore import BertScoreScorer
    from harness.score.judge import JudgeScorer

    assert getattr(JudgeScorer, "cache_inputs", None) is None
    assert getattr(BertScoreScorer, "cache_inputs", None) is None


# -- the runner --------------------------------------------------------------------------------


class Counting:
    """A scorer that counts the pairs it computes."""

    name = "format"
    cache_inputs = ()
    in_workers = False

    def __init__(self, n_bullets: int = 3) -> None:
        self.inner = FormatScorer(n_bullets=n_bullets)
        self.pairs = 0

    def meta(self):
        return self.inner.meta()

    def score(self, items, candidates):
        self.pairs += len(items)
        return self.inner.score(items, candidates)


def test_runner_computes_only_misses_and_returns_the_same_results(tmp_path: Path) -> None:
    items = [Item(**{**ITEM.__dict__, "id": str(k)}) for k in range(4)]
    cands = [
        [f"第{k}条要点写得足够长，至少四十个字符才能通过长度检查，这里再补充一些文字内容。"] for k in range(4)
    ]
    with ScoreCache(tmp_path / "scores.sqlite") as cache:
        scorer = Counting()
        cold = ScoreRunner(cache).score(scorer, items[:2], cands[:2])
        runner = ScoreRunner(cache)
        warm = runner.score(scorer, items, cands)
        assert scorer.pairs == 4  # 2 cold, then only the 2 new ones
        assert runner.counts()["computed"] == {"format": 2} and runner.counts()["cached"] == {"format": 2}
        assert [r.__dict__ for r in warm[:2]] == [r.__dict__ for r in cold]
        assert [r.__dict__ for r in warm] == [r.__dict__ for r in FormatScorer().score(items, cands)]
        other = Counting(n_bullets=1)
        ScoreRunner(cache).score(other, items, cands)
        assert other.pairs == 4  # another setting: every pair misses


def test_modes_off_and_read(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    with ScoreCache(path, "off") as cache:
        scorer = Counting()
        runner = ScoreRunner(cache)
        runner.score(scorer, [ITEM], [BULLETS])
        runner.score(scorer, [ITEM], [BULLETS])
        assert scorer.pairs == 2 and runner.counts()["score_cache"] is None
    assert not path.exists()
    with ScoreCache(path, "read") as cache:  # no file yet: every lookup misses, nothing is written
        ScoreRunner(cache).score(Counting(), [ITEM], [BULLETS])
    assert not path.exists()
    with ScoreCache(path) as cache:
        ScoreRunner(cache).score(Counting(), [ITEM], [BULLETS])
    with ScoreCache(path, "read") as cache:
        scorer = Counting()
        ScoreRunner(cache).score(scorer, [ITEM], [BULLETS])
        assert scorer.pairs == 0
    with pytest.raises(CacheError, match="cache.score_mode"):
        ScoreCache(path, "replay")


def test_unusable_files_are_clear_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match=r"score cache .*cache\.score_path="):
        ScoreCache(garbage)
    responses = tmp_path / "responses.sqlite"
    ResponseCache(responses).close()
    with pytest.raises(CacheError, match="not a score cache"):
        ScoreCache(responses)
    scores = tmp_path / "scores.sqlite"
    ScoreCache(scores).close()
    with pytest.raises(CacheError, match="not a response cache"):
        ResponseCache(scores)


def test_a_damaged_or_unwritable_cache_scores_anyway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ScoreCache(tmp_path / "scores.sqlite") as cache:
        ScoreRunner(cache).score(Counting(), [ITEM], [BULLETS])
        cache._conn.execute("UPDATE scores SET value = 'not json'")  # type: ignore[union-attr]
        scorer = Counting()
        results = ScoreRunner(cache).score(scorer, [ITEM], [BULLETS])
        assert scorer.pairs == 1 and results[0].values == FormatScorer().score([ITEM], [BULLETS])[0].values

        def full(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(cache, "_connection", lambda: _Failing(full))
        assert cache.put_many("format", {"k": {"values": {}}}) is False
        assert ScoreRunner(cache).score(Counting(), [ITEM], [BULLETS])[0].values  # still scored


class _Failing:
    def __init__(self, fail):
        self.execute = fail
        self.executemany = fail
        self.in_transaction = False


# -- whole jobs --------------------------------------------------------------------------------


def _rows(run_dir: Path) -> dict[str, dict]:
    rows = {}
    for row in read_jsonl(run_dir / "rows.jsonl"):
        row = {k: v for k, v in row.items() if k not in TIMING}
        row["generation"] = {k: v for k, v in row["generation"].items() if k not in GENERATION_TIMING}
        rows[row["item_id"]] = row
    return rows


def _scoring(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["scoring"]


@pytest.fixture
def count_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls: dict[str, int] = {}
    for cls in SCORERS:
        original = cls.score

        def counted(self, items, candidates, _original=original, _name=cls.name):
            calls[_name] = calls.get(_name, 0) + len(items)
            return _original(self, items, candidates)

        monkeypatch.setattr(cls, "score", counted)
    return calls


def test_warm_rerun_computes_no_metric_and_writes_the_same_rows(tmp_path: Path, count_calls) -> None:
    off = ("model=lead", "metrics.bertscore.enabled=false", "score_workers=0")
    cold = _run(tmp_path, "0-cold", *off)
    assert count_calls == {"rouge": 4, "facts": 4, "format": 4, "compression": 4}
    assert (tmp_path / "cache" / "scores.sqlite").is_file()
    count_calls.clear()
    warm = _run(tmp_path, "1-warm", *off)
    assert count_calls == {}
    assert _scoring(warm)["computed"] == dict.fromkeys(("rouge", "facts", "format", "compression"), 0)
    assert _scoring(warm)["cached"] == dict.fromkeys(("rouge", "facts", "format", "compression"), 4)
    assert _rows(warm) == _rows(cold)


def test_a_changed_setting_or_an_added_metric_computes_only_that_metric(tmp_path: Path, count_calls) -> None:
    off = ("model=lead", "metrics.bertscore.enabled=false", "score_workers=0")
    _run(tmp_path, "0", *off, "metrics.compression.enabled=false")
    count_calls.clear()
    added = _run(tmp_path, "1", *off)  # compression added
    assert count_calls == {"compression": 4}
    count_calls.clear()
    _run(tmp_path, "2", *off, "metrics.format.n_bullets=4", "metrics.rouge.tokenizer=jieba")
    assert count_calls == {"format": 4, "rouge": 4}
    count_calls.clear()
    _run(tmp_path, "3", *off, "cache.score_mode=off")
    assert count_calls == {"rouge": 4, "facts": 4, "format": 4, "compression": 4}
    assert _scoring(added)["computed"]["compression"] == 4


def test_score_cache_path_and_bad_mode(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "s.sqlite"
    _run(tmp_path, "0", "model=lead", "metrics.bertscore.enabled=false", f"cache.score_path={elsewhere}")
    assert elsewhere.is_file() and not (tmp_path / "cache" / "scores.sqlite").exists()
    with pytest.raises(ConfigError, match="cache.score_mode"):
        _run(tmp_path, "1", "model=lead", "cache.score_mode=sometimes")


def test_workers_write_the_same_rows_as_this_process(tmp_path: Path) -> None:
    off = ("model=lead", "metrics.bertscore.enabled=false")
    here = _run(tmp_path, "0-here", *off, "score_workers=0", "cache.score_mode=off")
    pooled = _run(tmp_path, "1-pool", *off, "score_workers=2")
    assert _scoring(pooled)["workers"] == 2 and _scoring(here)["workers"] == 0
    assert _scoring(pooled)["computed"] == dict.fromkeys(("rouge", "facts", "format", "compression"), 4)
    assert _rows(pooled) == _rows(here)
    warm = _run(tmp_path, "2-warm", *off, "score_workers=2")
    assert _scoring(warm)["computed"] == dict.fromkeys(("rouge", "facts", "format", "compression"), 0)
    assert _rows(warm) == _rows(here)


def test_a_scorer_the_workers_lack_is_computed_here(tmp_path: Path) -> None:
    from harness.config import MetricsConfig

    items = [Item(**{**ITEM.__dict__, "id": str(k)}) for k in range(3)]
    cands = [BULLETS] * 3
    runner = ScoreRunner(None, MetricsConfig(), workers=1)
    try:
        scorers = [RougeScorer(), FormatScorer(), _Broken()]
        runner.start(scorers, items, cands)
        assert runner.score(scorers[0], items, cands)[0].values == RougeScorer().score(items, cands)[0].values
        with pytest.raises(ValueError, match="broken"):
            runner.score(scorers[2], items, cands)  # computed here: it is not built in the workers
        assert (
            runner.score(scorers[1], items, cands)[0].values == FormatScorer().score(items, cands)[0].values
        )
        assert runner.counts()["workers"] == 1
    finally:
        runner.close()


def test_batches_started_ahead_are_each_scored_by_the_workers(tmp_path: Path) -> None:
    """The job sends a batch to the workers as soon as it is complete, before the previous batch's
    rows are written: each batch's handle collects that batch's results from the workers."""
    from harness.config import MetricsConfig

    class _OnlyInWorkers(RougeScorer):
        def score(self, items, candidates):  # the parent's copy: never called when workers score
            raise AssertionError("scored in the job's process")

    first = [Item(**{**ITEM.__dict__, "id": f"a{k}"}) for k in range(3)]
    second = [
        Item(**{**ITEM.__dict__, "id": f"b{k}", "source": ITEM.source + "另有1000家客户。"}) for k in range(2)
    ]
    cands_first, cands_second = [BULLETS] * 3, [["参数量1000亿。"]] * 2
    runner = ScoreRunner(None, MetricsConfig(), workers=1)
    try:
        scorer = _OnlyInWorkers()
        a = runner.start([scorer], first, cands_first)
        b = runner.start([scorer], second, cands_second)  # started before the first is collected
        got_a = runner.score(scorer, first, cands_first, a)
        got_b = runner.score(scorer, second, cands_second, b)
    finally:
        runner.close()
    assert [r.values for r in got_a] == [r.values for r in RougeScorer().score(first, cands_first)]
    assert [r.values for r in got_b] == [r.values for r in RougeScorer().score(second, cands_second)]
    assert runner.counts()["computed"] == {"rouge": 5}


class _Broken:
    name = "broken"
    cache_inputs = ()

    def meta(self):
        return {}

    def score(self, items, candidates):
        raise ValueError("broken")


def _worker_pids(parent: int) -> set[int]:
    """The scoring workers (multiprocessing spawn children) of process `parent`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_exit_when_the_job_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import threading
    import time
    from collections import Counter

    from tests.fake_openai import FakeOpenAI
    from tests.test_generation_robust import ROOT, counting_script, make_dataset, run_args

    data = make_dataset(tmp_path / "d.jsonl", 300)
    lock, answered = threading.Lock(), Counter[str]()
    with FakeOpenAI(counting_script(answered, lock, delay_s=0.02)) as server:
        args = run_args(tmp_path, data, server.api_base, "cache.mode=off", "score_workers=2")
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        workers: set[int] = set()
        deadline = time.time() + 180
        while time.time() < deadline and len(workers) < 2 and proc.poll() is None:
            workers |= _worker_pids(proc.pid)
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(workers) == 2
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, "scoring workers outlived the killed job"
