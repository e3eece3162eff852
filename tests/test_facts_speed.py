"""The fact checker's speed-ups change no result: its Viterbi against jieba's, its scanner against
stepping one character at a time."""

from __future__ import annotations

import importlib
import json
import random
import re

import pytest

from harness.config import PROJECT_ROOT
from harness.score.factcheck import quantities
from harness.score.factcheck.lexicon import jieba_tagger
from harness.score.factcheck.viterbi import viterbi

jieba_viterbi = importlib.import_module("jieba.posseg.viterbi").viterbi


def _texts() -> list[str]:
    out = []
    datasets = PROJECT_ROOT / "datasets"
    for path in (
        datasets / "sample_ai_news" / "items.jsonl",
        datasets / "judge_calibration" / "dev.jsonl",
        datasets / "judge_calibration" / "test.jsonl",
    ):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                out += [str(v) for k, v in record.items() if k in ("source", "claim", "title")]
                out += [str(b) for b in record.get("reference") or []]
    return out


def _random_texts(n: int) -> list[str]:
    rng = random.Random(15)
    alphabet = "智谱华章科技有限公司张鹏李彦宏北京上海深圳发布模型参数亿元的了在和与是一二三十百"
    alphabet += "ABCxyz0123456789，。、"
    rare = "".join(chr(c) for c in range(0x4E00, 0x9FFF, 97))  # characters jieba's HMM rarely saw
    return ["".join(rng.choices(alphabet + rare, k=rng.randint(1, 16))) for _ in range(n)]


def test_viterbi_is_jiebas_on_the_datasets_and_random_text() -> None:
    import jieba.posseg as pseg

    jieba_tagger()  # initialises jieba
    args = (pseg.char_state_tab_P, pseg.start_P, pseg.trans_P, pseg.emit_P)
    # jieba runs its HMM on the short runs of characters its dictionary has no word for: pieces of
    # up to 12 characters (the datasets' text cut into pieces) and random text.
    runs = {
        m.group(0)[k : k + 12]
        for t in _texts()
        for m in pseg.re_han_detail.finditer(t)
        for k in range(0, len(m.group(0)), 12)
    }
    runs = sorted(runs)[::5] + [r for t in _random_texts(60) for r in pseg.re_han_detail.findall(t)]
    assert len(runs) > 300
    for run in runs:
        assert viterbi(run, *args) == jieba_viterbi(run, *args), run


@pytest.mark.parametrize("which", ["datasets", "random"])
def test_tagger_tags_as_jieba_posseg(which: str) -> None:
    import jieba.posseg as pseg

    tagger, _ = jieba_tagger()
    texts = _texts() if which == "datasets" else _random_texts(60)
    for text in texts:
        assert [(p.word, p.flag) for p in tagger.cut(text)] == [(p.word, p.flag) for p in pseg.cut(text)]


def test_jieba_itself_is_left_alone() -> None:
    import jieba.posseg as pseg

    tagger, tags = jieba_tagger()
    assert type(pseg.dt) is pseg.POSTokenizer and tagger is not pseg.dt
    assert tags is pseg.dt.word_tag_tab


def test_scanner_finds_what_stepping_one_character_at_a_time_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts() + _random_texts(60) + ["$10 亿美元", "￥5,000 万", "三大运营商", "GPT-4.5 和 Qwen-72B"]

    fast = [(quantities.extract(t), quantities.extract(t, keep_inner=True)) for t in texts]
    # A start pattern that matches every character: the scanner then steps one by one.
    monkeypatch.setattr(quantities, "_RE_START", re.compile(".", re.S))
    quantities._extract_at.cache_clear()  # or the second pass reads the first one's results
    slow = [(quantities.extract(t), quantities.extract(t, keep_inner=True)) for t in texts]
    assert fast == slow
