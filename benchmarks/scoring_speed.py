"""Scoring speed: the harness's metrics against the libraries they replace, on digest-sized pairs.

Prints, in one run, lines starting:
    ROUGE char: harness N pairs/s, rouge-chinese M pairs/s, ratio R, max abs diff D
    BERTScore: second row harness N pairs/s, bert_score.score M pairs/s, ratio R, max abs diff D
    facts: N pairs/s
    format: N pairs/s
    score cache: warm re-score T ms vs cold T ms (...); warm pass computed 0 metric pairs (...)
    end to end: default metrics X s, no metrics Y s, ratio R
each followed by detail lines (min and median, every repeat, the other references, long inputs).

The pairs are made up here (templates and word lists written for this benchmark, fixed seed): a
reference digest of 3-5 bullets and, per system row, a candidate that restates part of it in other
words, drops some points, adds others and changes a number now and then; about 320 characters a
side.

    python benchmarks/scoring_speed.py [--pairs 1000] [--repeat 5] [--quick] [--skip bertscore ...]

ROUGE: wall time of scoring all pairs, `--repeat` times for the harness, `--lib-repeat` times (default
1, about 2 minutes here) for rouge-chinese; rates are from the median time. The harness times the
real scorer (`RougeScorer.score` on items: tokenising both sides, ROUGE-1/2/L/Lsum); rouge-chinese
is given the already tokenised, space-joined text and computes ROUGE-1/2/L only. The max abs diff
compares P, R and F (rouge-chinese: F as 2PR/(P+R) of its P and R, see the detail line) and
rougeLsum against rouge-score.

BERTScore: a random BERT built here (`tests/tiny_bert.py`, hidden size 128, 2 layers by default);
two system rows over the same `--bert-pairs` references, each scored by `BertScoreScorer.score`
and by `bert_score.score` (batch size 16 both, one torch thread by default: `--torch-threads`).
The harness's second row reuses the references' embeddings; the ratio is bert_score.score's time
over the harness's on that row.

facts, format: `--repeat` (facts: at most 3) timed runs of the scorer over the pairs.

score cache: the embedded sample (32 articles) x 3 rows (the lead, textrank and oracle digests),
scored by the default metrics with BERTScore off through the job's `ScoreRunner`, once into a new
score cache file (cold) and once more from it (warm); each scorer counts the pairs it computes.

end to end: the real job in a fresh process (`generation_throughput.py _measure`: Hydra compose,
`run_job`) against that script's local server at `--e2e-latency` (100 ms), `--e2e-n` (2,000) items,
concurrency `--e2e-c` (64), replies that differ per item; the default metrics with BERTScore off,
then every metric off, `--e2e-repeat` times each (the fastest is printed, every wall below it).

The machine's load average is printed at the start and the end: on a shared machine the figures
move with it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_UPDATE_DOWNLOAD_COUNTS", "0")

from harness.data.schema import Item  # noqa: E402
from harness.tokenize import char_tokens  # noqa: E402

# --- made-up digests ---------------------------------------------------------------------------

COMPANIES = [
    "星河智能", "云岭科技", "北辰数据", "青松AI", "海川芯片", "远山机器人", "明湖云", "赤霄算力",
    "OpenAI", "Anthropic", "谷歌", "Meta", "英伟达", "微软", "苹果", "亚马逊",
]  # fmt: skip
PRODUCTS = [
    "天枢-3", "Lumen 2.5", "Atlas-70B", "灵犀大模型", "X-Coder", "Nova Vision", "启明推理芯片",
    "Orion-MoE", "织梦视频模型", "听澜语音助手", "Sparrow-8B", "玄武代码助手",
]  # fmt: skip
BENCHES = ["MMLU", "C-Eval", "GSM8K", "HumanEval", "SWE-bench", "CMMLU", "MATH"]
INVESTORS = ["红枫资本", "启航基金", "国投创新", "远景投资", "多家地方产业基金"]
FIELDS = ["代码生成", "数学推理", "长文本理解", "多模态理解", "智能体", "视频生成"]
GPUS = ["H100", "H20", "A800", "昇腾910B", "自研加速卡"]

# Reference sentences (one per fact) and, for the same fact, a candidate's rewording.
FACTS: list[tuple[str, str]] = [
    (
        "{co}于{mo}月{day}日正式发布{prod}，模型参数规模约{n}亿，在{bench}基准测试中取得{score}分。",
        "{co}{mo}月{day}日发布{prod}，参数量{n}亿，{bench}得分{score}。",
    ),
    (
        "{prod}采用混合专家（MoE）架构，官方称推理成本比上一代下降{pct}%，上下文窗口扩展到{ctx}K。",
        "{prod}基于MoE架构，推理成本降低{pct}%，支持{ctx}K上下文。",
    ),
    (
        "{co}宣布完成{money}亿元新一轮融资，由{inv}领投，资金将主要用于算力采购和人才招聘。",
        "{co}获{money}亿元融资，{inv}领投，用于算力和招聘。",
    ),
    (
        "公司表示，{prod}的API将率先向企业客户开放，个人用户预计在{mo2}月前后可以使用。",
        "{prod}先向企业开放API，个人用户约{mo2}月可用。",
    ),
    (
        "业内人士认为，这次发布说明国内大模型在{field}方面与海外领先水平的差距正在缩小。",
        "分析认为国产模型在{field}上的差距在缩小。",
    ),
    (
        "据介绍，{prod}的训练动用了约{gpus}张{gpu}，整个训练过程持续了{weeks}周左右。",
        "{prod}训练用了约{gpus}张{gpu}，历时{weeks}周。",
    ),
    (
        "{co}同时开源了{small}B参数的轻量版本，开发者可以在单张消费级显卡上完成部署。",
        "轻量版{small}B已开源，单张消费级显卡即可部署。",
    ),
    (
        "受消息影响，{co}股价当天收涨{pct2}%，总市值首次超过{cap}亿美元。",
        "{co}股价涨{pct2}%，市值超{cap}亿美元。",
    ),
    (
        "新模型支持中文、英文、日文等{langs}种语言，并针对金融、医疗和法律场景做了专门优化。",
        "支持{langs}种语言，重点优化金融、医疗、法律场景。",
    ),
    (
        "根据监管要求，生成式人工智能服务上线前需要完成安全评估，{co}称{prod}已经通过备案。",
        "{prod}已完成生成式AI备案和安全评估。",
    ),
    (
        "{co}首席执行官在发布会上透露，公司明年计划把研发投入提高到{money2}亿元。",
        "CEO称明年研发投入将增至{money2}亿元。",
    ),
]


def _slots(rng: random.Random) -> dict[str, Any]:
    return {
        "co": rng.choice(COMPANIES),
        "prod": rng.choice(PRODUCTS),
        "bench": rng.choice(BENCHES),
        "inv": rng.choice(INVESTORS),
        "field": rng.choice(FIELDS),
        "gpu": rng.choice(GPUS),
        "mo": rng.randint(1, 12),
        "mo2": rng.randint(1, 12),
        "day": rng.randint(1, 28),
        "n": rng.choice([70, 130, 340, 671, 1000, 2300]),
        "score": f"{rng.uniform(60, 95):.1f}",
        "pct": rng.randint(10, 90),
        "pct2": f"{rng.uniform(1, 15):.1f}",
        "ctx": rng.choice([32, 128, 200, 1000]),
        "money": rng.choice([5, 12, 25, 40, 100]),
        "money2": rng.choice([30, 50, 80, 120]),
        "gpus": rng.choice([2048, 4096, 10000, 16000]),
        "weeks": rng.randint(3, 16),
        "small": rng.choice([1.5, 3, 7, 8, 14]),
        "cap": rng.choice([500, 1000, 3000]),
        "langs": rng.randint(8, 40),
    }


def _bullets(sentences: list[str], rng: random.Random) -> list[str]:
    """Sentences grouped into bullets of two or three (a digest has 3-5 bullets)."""
    bullets, k = [], 0
    while k < len(sentences):
        step = rng.choice([2, 2, 3])
        bullets.append("".join(sentences[k : k + step]))
        k += step
    return bullets


def make_pairs(
    n: int, seed: int = 0, rows: int = 1, target_chars: int = 300
) -> list[tuple[Item, list[list[str]]]]:
    """n (item, candidates of `rows` systems): reference ~target_chars characters, each candidate
    about as long (each row's candidates have their own random choices)."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        slots = _slots(rng)
        order = rng.sample(range(len(FACTS)), len(FACTS))
        source = "".join(FACTS[k][0].format(**slots) for k in order)
        sentences: list[str] = []
        for k in order:
            if sum(map(len, sentences)) >= target_chars:
                break
            sentences.append(FACTS[k][0].format(**slots))
        reference = _bullets(sentences, rng)
        item = Item(
            id=f"pair-{i:05d}",
            title=f"{slots['co']}发布{slots['prod']}",
            url=f"https://example.com/{i}",
            source=source,
            reference=tuple(reference),
        )
        pairs.append(
            (
                item,
                [
                    _candidate(slots, order, random.Random(f"{seed}/{i}/{row}"), target_chars)
                    for row in range(rows)
                ],
            )
        )
    return pairs


def _candidate(slots: dict[str, Any], order: list[int], rng: random.Random, target_chars: int) -> list[str]:
    """Reworded facts of the reference (some dropped), facts from further down the source, a changed
    number now and then, and some reference sentences kept word for word."""
    cand_slots = dict(slots, pct=slots["pct"] + rng.choice([0, 0, 0, 5]), mo2=rng.randint(1, 12))
    sentences: list[str] = []
    for k in rng.sample(order, len(order)):
        if sum(map(len, sentences)) >= target_chars:
            break
        long, short = FACTS[k]
        sentences.append((long if rng.random() < 0.3 else short).format(**cand_slots))
    return _bullets(sentences, rng)


# --- timing ------------------------------------------------------------------------------------


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Wall times of `repeat` calls and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def rate(n: int, times: Sequence[float]) -> str:
    """'N pairs/s' from the median time, with min and median in the detail."""
    return f"{n / statistics.median(times):,.0f}"


def spread(n: int, times: Sequence[float]) -> str:
    runs = " ".join(f"{t:.3f}" for t in times)
    best, median = min(times), statistics.median(times)
    return (
        f"min {best:.3f} s ({n / best:,.0f}/s), median {median:.3f} s ({n / median:,.0f}/s); runs s: {runs}"
    )


# --- ROUGE -------------------------------------------------------------------------------------


def _tokens(bullets: Sequence[str]) -> list[str]:
    return [t for b in bullets for t in char_tokens(b)]


Pairs = list[tuple[Item, list[str]]]


def rouge_section(pairs: Pairs, repeat: int, lib_repeat: int) -> None:
    from rouge_chinese import Rouge
    from rouge_score import rouge_scorer

    from harness.score.rouge import VALUE_KEYS, RougeScorer

    items = [item for item, _ in pairs]
    cands = [cand for _, cand in pairs]
    n = len(pairs)
    ours_times, results = timed(lambda: RougeScorer().score(items, cands), repeat)
    ours = [r.values for r in results]

    lib = Rouge(exclusive=False)
    texts = [(" ".join(_tokens(c)), " ".join(_tokens(i.reference))) for i, c in pairs]
    lib_times, lib_scores = timed(lambda: [lib.get_scores(h, r)[0] for h, r in texts], lib_repeat)

    class Chars:
        def tokenize(self, text: str) -> list[str]:
            return char_tokens(text)

    google = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], tokenizer=Chars())
    g_times, g_scores = timed(
        lambda: [google.score("\n".join(i.reference), "\n".join(c)) for i, c in pairs], 1
    )

    # rouge-chinese: P and R as they are; its F has 1e-8 added to the denominator, so F is
    # compared with the exact harmonic mean of its P and R (and the raw difference is shown).
    diff_lib = diff_lib_raw_f = 0.0
    for values, s in zip(ours, lib_scores, strict=True):
        for metric, name in (("rouge1", "rouge-1"), ("rouge2", "rouge-2"), ("rougeL", "rouge-l")):
            p, r = s[name]["p"], s[name]["r"]
            f = 2 * p * r / (p + r) if p + r else 0.0
            for key, want in (("p", p), ("r", r), ("f", f)):
                diff_lib = max(diff_lib, abs(values[f"{metric}_{key}"] - want))
            diff_lib_raw_f = max(diff_lib_raw_f, abs(values[f"{metric}_f"] - s[name]["f"]))
    diff_google = 0.0
    for values, s in zip(ours, g_scores, strict=True):
        for key in VALUE_KEYS:
            metric, stat = key.rsplit("_", 1)
            want = getattr(s[metric], {"p": "precision", "r": "recall", "f": "fmeasure"}[stat])
            diff_google = max(diff_google, abs(values[key] - want))
    diff_lsum = max(
        abs(values[f"rougeLsum_{k}"] - getattr(s["rougeLsum"], attr))
        for values, s in zip(ours, g_scores, strict=True)
        for k, attr in (("p", "precision"), ("r", "recall"), ("f", "fmeasure"))
    )
    ratio = statistics.median(lib_times) / statistics.median(ours_times)
    print(
        f"ROUGE char: harness {rate(n, ours_times)} pairs/s, rouge-chinese {rate(n, lib_times)} pairs/s, "
        f"ratio {ratio:.1f}, max abs diff {max(diff_lib, diff_lsum):.1e}"
    )
    chars = sum(len("".join(i.reference)) + len("".join(c)) for i, c in pairs) / (2 * n)
    print(f"  pairs: {n}, {chars:.0f} characters a side on average (median times; ratio of medians)")
    print(f"  harness (tokenise + ROUGE-1/2/L/Lsum): {spread(n, ours_times)}")
    print(f"  rouge-chinese 1/2/L on pre-tokenised text: {spread(n, lib_times)}")
    print(f"  rouge-score 1/2/L/Lsum (char tokenizer): {spread(n, g_times)}")
    print(
        f"  max abs diff: vs rouge-chinese P/R/F(=2PR/(P+R)) {diff_lib:.1e} (its own F, +1e-8 in the "
        f"denominator: {diff_lib_raw_f:.1e}); vs rouge-score rougeLsum {diff_lsum:.1e}, "
        f"all four {diff_google:.1e}"
    )


def long_section(repeat: int) -> None:
    """3,000 characters a side, 3 and 30 bullets: time and peak traced memory of one pair."""
    import tracemalloc

    from harness.score.rouge import RougeScorer

    rng = random.Random(5)
    alphabet = "".join(sorted({ch for long, _ in FACTS for ch in long if "\u4e00" <= ch <= "\u9fff"}))

    def digest(parts: int) -> list[str]:
        return ["".join(rng.choices(alphabet, k=3000 // parts)) for _ in range(parts)]

    for parts in (3, 30):
        item = Item(id="long", title="t", url="u", source="s", reference=tuple(digest(parts)))
        cand = digest(parts)
        times, _ = timed(lambda item=item, cand=cand: RougeScorer().score([item], [cand]), repeat)
        tracemalloc.start()
        RougeScorer().score([item], [cand])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"  long input, 3,000 characters a side in {parts} bullets each: min {min(times) * 1e3:.0f} ms, "
            f"median {statistics.median(times) * 1e3:.0f} ms per pair, peak traced memory "
            f"{peak / 1e6:.1f} MB"
        )


# --- deterministic checks and the fact checker -------------------------------------------------


def bertscore_section(rows: list[Pairs], hidden: int, layers: int, threads: int) -> None:
    """Two systems' rows over the same references: bert_score.score per row against the harness's
    scorer, whose second row reuses the references' embeddings from the first."""
    import tempfile

    import bert_score
    import torch

    if threads:
        torch.set_num_threads(threads)

    from harness.score import _bert_embeddings
    from harness.score.bertscore import BertScoreScorer
    from tests.tiny_bert import build_tiny_bert

    items = [item for item, _ in rows[0]]
    texts = [t for row in rows for item, cand in row for t in (*item.reference, *cand)]
    with tempfile.TemporaryDirectory() as tmp:
        model = str(
            build_tiny_bert(
                Path(tmp) / "bench-bert",
                texts,
                hidden_size=hidden,
                num_layers=layers,
                num_heads=max(1, hidden // 64),
                intermediate_size=4 * hidden,
            )
        )
        refs = [item.reference_text for item in items]
        # Loading and a first full batch each, outside the timing; then no reference is cached.
        warm = [cand for _, cand in rows[0][:16]]
        bert_score.score(["\n".join(c) for c in warm], refs[:16], model_type=model, num_layers=layers)
        scorer = BertScoreScorer(model=model, num_layers=layers, rescale_with_baseline=False, batch_size=16)
        scorer.score(items[:16], warm)
        _bert_embeddings.REFERENCES.clear()
        ours, lib, diff = [], [], 0.0
        for row in rows:
            cands = [cand for _, cand in row]
            times, results = timed(lambda cands=cands: scorer.score(items, cands), 1)
            ours.append(times[0])
            t0 = time.perf_counter()
            p, r, f = bert_score.score(
                ["\n".join(c) for c in cands], refs, model_type=model, num_layers=layers, batch_size=16
            )
            lib.append(time.perf_counter() - t0)
            want = [float(x) for x in p], [float(x) for x in r], [float(x) for x in f]
            for res, wp, wr, wf in zip(results, *want, strict=True):
                got = res.values["bertscore_p"], res.values["bertscore_r"], res.values["bertscore_f1"]
                diff = max(diff, *(abs(a - b) for a, b in zip(got, (wp, wr, wf), strict=True)))
    n = len(items)
    print(
        f"BERTScore: second row harness {n / ours[1]:,.0f} pairs/s, "
        f"bert_score.score {n / lib[1]:,.0f} pairs/s, ratio {lib[1] / ours[1]:.2f}, max abs diff {diff:.1e}"
    )
    print(
        f"  {n} pairs per row, random BERT (hidden size {hidden}, {layers} layers, built here), batch 16, "
        f"torch threads {torch.get_num_threads()}; "
        f"first row (no reference cached): harness {ours[0]:.2f} s, bert_score.score {lib[0]:.2f} s "
        f"(ratio {lib[0] / ours[0]:.2f}); second row: harness {ours[1]:.2f} s, "
        f"bert_score.score {lib[1]:.2f} s"
    )


# --- the score cache ---------------------------------------------------------------------------


class _Counted:
    """A scorer that counts the pairs it computes (the warm pass must compute none)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.pairs = inner, 0
        self.name = inner.name
        self.cache_inputs = getattr(inner, "cache_inputs", None)
        self.in_workers = False

    def meta(self) -> dict[str, Any]:
        return self.inner.meta()

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[Any]:
        self.pairs += len(items)
        return self.inner.score(items, candidates)


def score_cache_section() -> None:
    """The embedded sample (32 articles) x 3 system rows (lead, textrank, oracle digests), scored by the
    default metrics with BERTScore off through the job's ScoreRunner: cold into a new score cache
    file, then warm from it (a re-run of the same sweep)."""
    import json
    import tempfile

    from harness.config import PROJECT_ROOT, MetricsConfig
    from harness.generate.baselines import lead_bullets, oracle_bullets, textrank_bullets
    from harness.score import build_scorers
    from harness.score.cache import ScoreCache
    from harness.score.runner import ScoreRunner

    lines = (PROJECT_ROOT / "datasets" / "sample_ai_news" / "items.jsonl").read_text(encoding="utf-8")
    fields = Item.__dataclass_fields__
    items = []
    for line in lines.splitlines():
        if line.strip():
            record = {k: v for k, v in json.loads(line).items() if k in fields}
            items.append(Item(**{**record, "reference": tuple(record["reference"])}))
    rows = [
        [lead_bullets(i.source) for i in items],
        [textrank_bullets(i.source) for i in items],
        [oracle_bullets(i.source, i.reference) for i in items],
    ]
    cfg = MetricsConfig()
    cfg.bertscore.enabled = False
    build_scorers(cfg)[0].score(items[:2], rows[0][:2])  # imports and word lists outside the timing
    times, computed, counts = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in ("cold", "warm"):
            scorers = [_Counted(s) for s in build_scorers(cfg)]
            with ScoreCache(Path(tmp) / "scores.sqlite") as cache:
                runner = ScoreRunner(cache)
                t0 = time.perf_counter()
                for cands in rows:
                    for scorer in scorers:
                        runner.score(scorer, items, cands)
                times.append(time.perf_counter() - t0)
            computed.append(sum(s.pairs for s in scorers))
            counts.append(runner.counts())
    names = ", ".join(s.name for s in scorers)
    n = len(items) * len(rows)
    print(
        f"score cache: warm re-score {times[1] * 1e3:.0f} ms vs cold {times[0] * 1e3:.0f} ms "
        f"({times[0] / times[1]:.0f}x) for the sample x 3 rows ({n} digests, {names}); "
        f"warm pass computed {computed[1]} metric pairs (cold: {computed[0]})"
    )
    print(f"  cold: computed {counts[0]['computed']}; warm: computed {counts[1]['computed']}, "
          f"from the cache {counts[1]['cached']}")  # fmt: skip


# --- end to end --------------------------------------------------------------------------------


def end_to_end_section(n: int, latency: float, c: int, repeat: int, workers: int | None) -> None:
    """The real job (`harness.jobs.run_job` in a fresh process, as benchmarks/generation_throughput.py
    runs it) against its local scripted server: the default metrics with BERTScore off, and every
    metric off. Replies differ per item (the server's `varied` digests of each article)."""
    import json
    import subprocess
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import generation_throughput as gt

    server = gt.Server()
    walls: dict[str, list[float]] = {"default": [], "none": []}
    detail: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="e2e-") as tmp:
            data = gt.write_dataset(Path(tmp) / "items.jsonl", n)
            for k in range(repeat):
                for metrics in ("default", "none"):
                    results = Path(tmp) / f"{metrics}-{k}"
                    cmd = [
                        sys.executable, gt.__file__, "_measure", "--path", "harness", "--n", str(n),
                        "--c", str(c), "--api-base", server.api_base(latency, digest="varied"),
                        "--data", str(data), "--results", str(results), "--metrics", metrics,
                    ]  # fmt: skip
                    if workers is not None:
                        cmd += ["--score-workers", str(workers)]
                    busy0, span0 = gt.machine_busy_s(), time.perf_counter()
                    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
                    busy1, span = gt.machine_busy_s(), time.perf_counter() - span0
                    out = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
                    if proc.returncode != 0 or not out:
                        raise RuntimeError(f"end to end {metrics} failed:\n{proc.stderr[-3000:]}")
                    result = json.loads(out[-1][len("RESULT ") :])
                    if busy0 is not None and busy1 is not None:
                        result["busy_cores"] = (busy1 - busy0) / span
                    walls[metrics].append(result["wall_s"])
                    detail[f"{metrics}-{k}"] = result
    finally:
        server.close()
    best = {m: min(w) for m, w in walls.items()}
    print(
        f"end to end: default metrics {best['default']:.1f} s, no metrics {best['none']:.1f} s, "
        f"ratio {best['default'] / best['none']:.2f}"
    )
    print(
        f"  {n} items, server latency {latency * 1e3:.0f} ms, concurrency {c}, default = ROUGE + facts + "
        f"format + compression (BERTScore off), fastest of {repeat}; walls s: "
        + "; ".join(f"{m} {' '.join(f'{w:.1f}' for w in ws)}" for m, ws in walls.items())
    )
    for key, r in detail.items():
        scoring = r.get("scoring") or {}
        print(
            f"  {key}: wall {r['wall_s']:.1f} s, CPU main {r['cpu_s']:.1f} s + workers "
            f"{r.get('children_cpu_s', 0.0):.1f} s, scoring workers {scoring.get('workers')}, "
            f"pairs computed {sum((scoring.get('computed') or {}).values())}, "
            f"machine busy {r.get('busy_cores', float('nan')):.2f} of {os.cpu_count()} cores"
        )


def simple_section(name: str, scorer: Any, pairs: Pairs, repeat: int) -> None:
    items = [item for item, _ in pairs]
    cands = [cand for _, cand in pairs]
    scorer.score(items[:5], cands[:5])  # imports and word lists load outside the timing
    times, _ = timed(lambda: scorer.score(items, cands), repeat)
    print(f"{name}: {rate(len(pairs), times)} pairs/s")
    print(f"  {spread(len(pairs), times)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of the harness's scorers")
    parser.add_argument("--lib-repeat", type=int, default=1, help="timed runs of rouge-chinese")
    parser.add_argument("--bert-pairs", type=int, default=300, help="pairs per row for BERTScore")
    parser.add_argument("--bert-hidden", type=int, default=128, help="hidden size of the random BERT")
    parser.add_argument("--bert-layers", type=int, default=2, help="layers of the random BERT")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch intra-op threads for BERTScore (0: torch's default). On 2 cores shared with other work, "
        "torch's default 2 threads made both sides 3-4x slower and erratic",
    )
    parser.add_argument("--quick", action="store_true", help="200 pairs, 3 repeats, 100 BERTScore pairs")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["rouge", "long", "bertscore", "facts", "format", "cache", "e2e"],
    )
    parser.add_argument("--e2e-n", type=int, default=2000, help="items of the end-to-end runs")
    parser.add_argument("--e2e-latency", type=float, default=0.1, help="server latency, s")
    parser.add_argument("--e2e-c", type=int, default=64, help="concurrency (model.max_concurrency)")
    parser.add_argument("--e2e-repeat", type=int, default=2, help="runs of each end-to-end job")
    parser.add_argument(
        "--score-workers", type=int, default=None, help="score_workers of the end-to-end job (default: auto)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.repeat, args.bert_pairs = 200, 3, 100
    data = make_pairs(max(args.pairs, args.bert_pairs), rows=3)
    rows = [[(item, cands[k]) for item, cands in data] for k in range(3)]
    pairs = rows[0][: args.pairs]
    print(f"machine: {load_note()} (start)")

    if "rouge" not in args.skip:
        rouge_section(pairs, args.repeat, args.lib_repeat)
    if "long" not in args.skip:
        long_section(args.repeat)
    if "bertscore" not in args.skip:
        bertscore_section(
            [row[: args.bert_pairs] for row in rows[:2]],
            args.bert_hidden,
            args.bert_layers,
            args.torch_threads,
        )

    from harness.score.facts import FactsScorer
    from harness.score.format import FormatScorer

    if "facts" not in args.skip:
        simple_section("facts", FactsScorer(), pairs, min(args.repeat, 3))
    if "format" not in args.skip:
        simple_section("format", FormatScorer(), pairs, args.repeat)
    if "cache" not in args.skip:
        score_cache_section()
    if "e2e" not in args.skip:
        end_to_end_section(
            300 if args.quick else args.e2e_n,
            args.e2e_latency,
            args.e2e_c,
            args.e2e_repeat,
            args.score_workers,
        )
    print(f"machine: {load_note()} (end)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
