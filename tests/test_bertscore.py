"""BERTScore scorer: parity with bert-score, rescaling, offline failure, empty and long texts, caching.

Everything runs on a tiny random BERT built into a temporary directory (no network, no hub model).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.data.schema import Item
from harness.score import bertscore
from harness.score.base import MetricUnavailable
from harness.score.bertscore import BertScoreScorer
from tests.tiny_bert import build_tiny_bert

REFS = [
    ("百度发布文心大模型4.5，推理成本下降八成。", "新模型支持多模态输入。"),
    ("OpenAI推出GPT-5，编程能力显著提升。",),
    ("谷歌开源Gemma 3，参数规模从1B到27B。", "模型可在单张GPU上运行。"),
]
CANDS = [
    ["百度发布新一代文心大模型。", "推理成本大幅下降。"],
    ["GPT-5发布，编程能力提升。"],
    ["谷歌开源Gemma 3模型。"],
]
EXTRA = "这是一段很长的文本用于测试截断"


def make_item(i: int, reference: tuple[str, ...]) -> Item:
    return Item(id=f"item-{i}", title="t", url="https://example.com", source="s", reference=reference)


ITEMS = [make_item(i, ref) for i, ref in enumerate(REFS)]


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = ["".join(r) for r in REFS] + ["".join(c) for c in CANDS] + [EXTRA]
    return build_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert", texts)


@pytest.fixture(scope="session")
def tiny_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("baselines") / "tiny-bert.tsv"
    path.write_text("LAYER,P,R,F\n0,0.1,0.1,0.1\n1,0.2,0.2,0.2\n2,0.31,0.33,0.32\n", encoding="utf-8")
    return path


def direct(cands: list[str], refs: list[str], tiny_dir: Path, **kwargs: object) -> list[float]:
    """bert_score.score called directly: [P0, R0, F0, P1, R1, F1, ...] (flat, for pytest.approx)."""
    import bert_score

    p, r, f = bert_score.score(cands, refs, model_type=str(tiny_dir), num_layers=2, batch_size=4, **kwargs)
    return [float(x) for row in zip(p, r, f, strict=True) for x in row]


def values(result: bertscore.MetricResult) -> list[float]:
    return [result.values[k] for k in bertscore.VALUE_KEYS]


def flat(results: list[bertscore.MetricResult]) -> list[float]:
    return [v for res in results for v in values(res)]


def test_identical_texts_score_one(tiny_dir: Path) -> None:
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False)
    results = scorer.score(ITEMS, [list(r) for r in REFS])
    for res in results:
        assert res.values["bertscore_f1"] == pytest.approx(1.0, abs=1e-5)
        assert res.values["bertscore_p"] == pytest.approx(1.0, abs=1e-5)
        assert res.flags == []


def test_matches_bert_score_without_rescaling(tiny_dir: Path) -> None:
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False, batch_size=4)
    got = flat(scorer.score(ITEMS, CANDS))
    want = direct(["\n".join(c) for c in CANDS], [it.reference_text for it in ITEMS], tiny_dir)
    assert got == pytest.approx(want, abs=1e-6)
    assert all(v < 0.999 for v in got)  # not trivially 1: the pairs differ


def test_matches_bert_score_with_explicit_baseline(tiny_dir: Path, tiny_baseline: Path) -> None:
    scorer = BertScoreScorer(
        model=str(tiny_dir), num_layers=2, baseline_path=str(tiny_baseline), batch_size=4
    )
    got = flat(scorer.score(ITEMS, CANDS))
    cands, refs = ["\n".join(c) for c in CANDS], [it.reference_text for it in ITEMS]
    want = direct(
        cands, refs, tiny_dir, lang="zh", rescale_with_baseline=True, baseline_path=str(tiny_baseline)
    )
    raw = direct(cands, refs, tiny_dir)
    assert got == pytest.approx(want, abs=1e-6)
    # Really rescaled: F' = (F - b) / (1 - b) with the layer-2 row of the baseline.
    assert got[2] == pytest.approx((raw[2] - 0.32) / (1 - 0.32), abs=1e-6)
    meta = scorer.meta()
    assert meta["rescaled"] is True and meta["baseline"] == "tiny-bert.tsv"


def test_matches_bert_score_with_idf(tiny_dir: Path) -> None:
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False, idf=True)
    got = flat(scorer.score(ITEMS, CANDS))
    cands, refs = ["\n".join(c) for c in CANDS], [it.reference_text for it in ITEMS]
    assert got == pytest.approx(direct(cands, refs, tiny_dir, idf=True), abs=1e-6)
    assert got != pytest.approx(direct(cands, refs, tiny_dir), abs=1e-6)


def test_idf_from_the_whole_dataset_does_not_depend_on_batching(tiny_dir: Path) -> None:
    """After prepare(all items), scoring in batches of 1 gives the numbers of one call over all,
    and those of bert_score with idf computed on all the references."""
    assert len(ITEMS) >= 2
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False, idf=True)
    scorer.prepare(ITEMS)
    whole = flat(scorer.score(ITEMS, CANDS))
    one_by_one = [
        v for item, cand in zip(ITEMS, CANDS, strict=True) for v in flat(scorer.score([item], [cand]))
    ]
    assert one_by_one == pytest.approx(whole, abs=1e-6)
    cands, refs = ["\n".join(c) for c in CANDS], [it.reference_text for it in ITEMS]
    assert whole == pytest.approx(direct(cands, refs, tiny_dir, idf=True), abs=1e-6)
    assert scorer.meta()["idf_corpus"] == f"all {len(ITEMS)} non-empty references of the dataset"
    # without prepare, one item per call weighs by that item's reference alone: different numbers
    unprepared = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False, idf=True)
    alone = [
        v for item, cand in zip(ITEMS, CANDS, strict=True) for v in flat(unprepared.score([item], [cand]))
    ]
    assert alone != pytest.approx(whole, abs=1e-6)


def test_local_dir_rescale_without_baseline_is_unavailable(tiny_dir: Path) -> None:
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2)  # rescaling on, no baseline
    with pytest.raises(MetricUnavailable, match=r"metrics\.bertscore\.baseline_path") as exc:
        scorer.score(ITEMS, CANDS)
    assert "metrics.bertscore.rescale_with_baseline=false" in str(exc.value)


def test_baseline_without_row_for_layer_is_unavailable(tiny_dir: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.tsv"
    short.write_text("LAYER,P,R,F\n0,0.1,0.1,0.1\n", encoding="utf-8")
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, baseline_path=str(short))
    with pytest.raises(MetricUnavailable, match="no row for layer 2"):
        scorer.score(ITEMS, CANDS)


def test_shipped_baseline_is_found_for_a_directory_named_after_the_model(tmp_path: Path) -> None:
    local = tmp_path / "bert-base-chinese"
    local.mkdir()
    scorer = BertScoreScorer(model=str(local))
    baseline = scorer.resolved_baseline(check_layers=8)
    assert baseline is not None and baseline.name == "bert-base-chinese.tsv"
    assert baseline.parent.parts[-2:] == ("rescale_baseline", "zh")
    assert BertScoreScorer().meta()["baseline"] == "bert-base-chinese.tsv"
    assert BertScoreScorer(model="google-bert/bert-base-chinese").resolved_baseline() == baseline


def test_local_dir_without_num_layers_names_the_setting(tiny_dir: Path) -> None:
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=None, rescale_with_baseline=False)
    with pytest.raises(MetricUnavailable, match=r"metrics\.bertscore\.num_layers"):
        scorer.score(ITEMS, CANDS)


def test_too_many_layers_names_the_setting(tiny_dir: Path) -> None:
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=5, rescale_with_baseline=False)
    with pytest.raises(MetricUnavailable, match=r"metrics\.bertscore\.num_layers"):
        scorer.score(ITEMS, CANDS)


@pytest.mark.parametrize("model", ["nonexistent-org/nonexistent-model", "bert-base-chinese"])
def test_missing_hub_model_offline_fails_fast(
    model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(bertscore, "_LOADED", {})
    scorer = BertScoreScorer(model=model, rescale_with_baseline=False)
    start = time.monotonic()
    with pytest.raises(MetricUnavailable) as exc:
        scorer.score(ITEMS, CANDS)
    assert time.monotonic() - start < 10
    message = str(exc.value)
    assert repr(model) in message
    assert "metrics.bertscore.model" in message
    assert f"hf download {model}" in message
    assert str(tmp_path / "hf" / "hub") in message and "HF_HUB_OFFLINE" in message


def test_hub_id_is_loaded_from_the_hf_cache_offline(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The layout huggingface_hub writes: models--org--name/{refs/main, snapshots/<commit>/...}
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf" / "hub" / "models--tiny-org--tiny-bert"
    shutil.copytree(tiny_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    scorer = BertScoreScorer(model="tiny-org/tiny-bert", num_layers=2, rescale_with_baseline=False)
    got = flat(scorer.score(ITEMS, CANDS))
    want = direct(["\n".join(c) for c in CANDS], [it.reference_text for it in ITEMS], tiny_dir)
    assert got == pytest.approx(want, abs=1e-6)
    assert scorer.meta()["model_revision"] == commit


def test_tokenizer_without_max_length_uses_model_positions(tiny_dir: Path, tmp_path: Path) -> None:
    local = tmp_path / "no-max-length"
    shutil.copytree(tiny_dir, local)
    path = local / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    del config["model_max_length"]
    path.write_text(json.dumps(config), encoding="utf-8")
    scorer = BertScoreScorer(model=str(local), num_layers=2, rescale_with_baseline=False)
    results = scorer.score(ITEMS[:1], [[EXTRA] * 50])  # bert-score alone would crash on this
    assert "bertscore_truncated" in results[0].flags and results[0].evidence["max_length"] == 512
    assert scorer.meta()["max_length"] == 512


def test_missing_local_directory_is_unavailable(tmp_path: Path) -> None:
    scorer = BertScoreScorer(model=str(tmp_path / "no-such-model"), rescale_with_baseline=False)
    with pytest.raises(MetricUnavailable, match="does not exist"):
        scorer.score(ITEMS, CANDS)


def test_empty_candidate_gets_zeros_and_others_are_scored(tiny_dir: Path) -> None:
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False)
    results = scorer.score(ITEMS, [CANDS[0], ["", "  "], CANDS[2]])
    assert values(results[1]) == [0.0, 0.0, 0.0]
    assert results[1].flags == ["empty_output"]
    alone = scorer.score([ITEMS[0], ITEMS[2]], [CANDS[0], CANDS[2]])
    assert values(results[0]) == pytest.approx(values(alone[0]), abs=1e-6)
    assert values(results[2]) == pytest.approx(values(alone[1]), abs=1e-6)
    assert results[0].values["bertscore_f1"] > 0 and "empty_output" not in results[0].flags
    assert scorer.score([ITEMS[0]], [[]])[0].flags == ["empty_output"]


def test_long_text_is_flagged_truncated(tiny_dir: Path) -> None:
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False)
    long_bullets = [EXTRA] * 50  # 15 characters x 50 = 750 tokens > 512
    results = scorer.score(ITEMS[:2], [long_bullets, CANDS[1]])
    assert "bertscore_truncated" in results[0].flags
    assert results[0].evidence["candidate_tokens"] > 512
    assert results[0].evidence["max_length"] == 512
    assert 0 < results[0].values["bertscore_f1"] <= 1
    assert "bertscore_truncated" not in results[1].flags
    assert results[1].evidence["candidate_tokens"] < 512


def test_model_is_loaded_once_per_process(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bertscore, "_LOADED", {})
    before = bertscore._LOAD_COUNT
    a = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False)
    b = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False, batch_size=2)
    ra, rb = a.score(ITEMS, CANDS), b.score(ITEMS, CANDS)
    assert bertscore._LOAD_COUNT - before == 1
    assert a._load() is b._load()
    assert flat(ra) == pytest.approx(flat(rb), abs=1e-6)
    BertScoreScorer(model=str(tiny_dir), num_layers=1, rescale_with_baseline=False).score(ITEMS, CANDS)
    assert bertscore._LOAD_COUNT - before == 2  # another layer is another model


def test_meta_records_versions_and_settings(tiny_dir: Path) -> None:
    meta = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False).meta()
    assert meta["metric_version"] == "bertscore/2"
    assert meta["model"] == str(tiny_dir) and meta["num_layers"] == 2
    assert meta["rescaled"] is False and meta["baseline"] is None and meta["idf"] is False
    assert meta["bert_score_version"] == "0.3.13"
    assert meta["transformers_version"] and meta["torch_version"]


def test_construction_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from harness.score.bertscore import BertScoreScorer\n"
        "s = BertScoreScorer()\n"
        "m = s.meta()\n"
        "assert m['num_layers'] == 8 and m['baseline'] == 'bert-base-chinese.tsv', m\n"
        "assert 'torch' not in sys.modules and 'bert_score' not in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, timeout=60)


# --- reference embeddings reused across rows ------------------------------------------------------


def _embedded_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the model embeds from now on (recorded around `_bert_embeddings.embed`)."""
    from harness.score import _bert_embeddings

    seen: list[str] = []
    real = _bert_embeddings.embed

    def recording(model: object, tokenizer: object, texts: list[str], *args: object) -> object:
        seen.extend(texts)
        return real(model, tokenizer, texts, *args)

    monkeypatch.setattr(_bert_embeddings, "embed", recording)
    return seen


def test_second_row_embeds_only_its_candidates(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.score import _bert_embeddings

    monkeypatch.setattr(_bert_embeddings, "REFERENCES", _bert_embeddings.EmbeddingCache())
    embedded = _embedded_texts(monkeypatch)
    refs = [it.reference_text for it in ITEMS]
    rows = [CANDS, [[c[0] + "。"] for c in CANDS]]  # two systems' outputs for the same items
    for row in rows:
        scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False, batch_size=2)
        got = flat(scorer.score(ITEMS, row))
        cands = ["\n".join(c) for c in row]
        assert got == pytest.approx(direct(cands, refs, tiny_dir), abs=1e-6)
    second = ["\n".join(c) for c in rows[1]]
    assert embedded[len(refs) + len(CANDS) :] == second  # the second row: candidates only
    assert len(_bert_embeddings.REFERENCES) == len(refs)


def test_reference_cache_is_per_model_and_layer(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bert_score

    from harness.score import _bert_embeddings

    monkeypatch.setattr(_bert_embeddings, "REFERENCES", _bert_embeddings.EmbeddingCache())
    cands, refs = ["\n".join(c) for c in CANDS], [it.reference_text for it in ITEMS]
    for layers in (2, 1, 2):
        scorer = BertScoreScorer(model=str(tiny_dir), num_layers=layers, rescale_with_baseline=False)
        got = flat(scorer.score(ITEMS, CANDS))
        p, r, f = bert_score.score(cands, refs, model_type=str(tiny_dir), num_layers=layers)
        assert got == pytest.approx([float(x) for row in zip(p, r, f, strict=True) for x in row], abs=1e-6)
    assert len(_bert_embeddings.REFERENCES) == 2 * len(refs)


def test_full_reference_cache_keeps_what_it_has(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.score import _bert_embeddings

    cache = _bert_embeddings.EmbeddingCache(max_bytes=0)
    monkeypatch.setattr(_bert_embeddings, "REFERENCES", cache)
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False)
    got = flat(scorer.score(ITEMS, CANDS))
    refs = [it.reference_text for it in ITEMS]
    assert got == pytest.approx(direct(["\n".join(c) for c in CANDS], refs, tiny_dir), abs=1e-6)
    assert len(cache) == 0 and cache.bytes == 0


def test_many_lengths_and_batch_sizes_match_bert_score(tiny_dir: Path, tiny_baseline: Path) -> None:
    """Texts of very different lengths in batches of 1, 3 and 16: padding and sorting change nothing."""
    import random

    rng = random.Random(3)
    pieces = [s for r in REFS for s in r] + [b for c in CANDS for b in c]
    items = [make_item(i, tuple(rng.sample(pieces, rng.randint(1, 4)))) for i in range(12)]
    cands = [rng.sample(pieces, rng.randint(1, 5)) for _ in items]
    want = direct(
        ["\n".join(c) for c in cands],
        [it.reference_text for it in items],
        tiny_dir,
        lang="zh",
        rescale_with_baseline=True,
        baseline_path=str(tiny_baseline),
    )
    for batch_size in (1, 3, 16):
        scorer = BertScoreScorer(
            model=str(tiny_dir), num_layers=2, baseline_path=str(tiny_baseline), batch_size=batch_size
        )
        assert flat(scorer.score(items, cands)) == pytest.approx(want, abs=1e-6), batch_size


def test_device_auto_uses_cpu_without_gpu(tiny_dir: Path) -> None:
    import torch

    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False, device="auto")
    scorer.score(ITEMS[:1], CANDS[:1])
    assert scorer.meta()["device"] == ("cuda" if torch.cuda.is_available() else "cpu")


def test_empty_output_follows_bert_score_raw_zero_then_rescaled(tiny_dir: Path, tmp_path: Path) -> None:
    """bert-score's rule: raw 0 for an empty candidate, then (0 - b) / (1 - b). With a baseline as
    high as a real model's, a poor digest rescales below 0 too, and the empty one must stay below it."""
    baseline = tmp_path / "high.tsv"
    baseline.write_text("LAYER,P,R,F\n0,0.9,0.9,0.9\n1,0.9,0.9,0.9\n2,0.95,0.96,0.97\n", encoding="utf-8")
    scorer = BertScoreScorer(model=str(tiny_dir), num_layers=2, baseline_path=str(baseline))
    poor = [EXTRA]  # a digest unrelated to the reference
    empty, bad, good = scorer.score([ITEMS[0]] * 3, [[""], poor, list(REFS[0])])
    assert "empty_output" in empty.flags
    assert values(empty) == pytest.approx([(0 - b) / (1 - b) for b in (0.95, 0.96, 0.97)])
    assert all(v < 0 for v in values(empty))
    for key in bertscore.VALUE_KEYS:
        assert empty.values[key] < bad.values[key] < good.values[key]
    # the raw scores of the poor pair, for the record: the rescaled empty value is raw 0
    raw = BertScoreScorer(model=str(tiny_dir), num_layers=2, rescale_with_baseline=False)
    assert values(raw.score([ITEMS[0]], [[""]])[0]) == [0.0, 0.0, 0.0]
