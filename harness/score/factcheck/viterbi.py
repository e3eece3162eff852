"""jieba's part-of-speech tagger with a faster Viterbi that returns the same tags.

`jieba.posseg.viterbi` scores every (previous state, state) pair, adding `-inf` for the pairs with
no transition, through a generator of tuples: it was most of the fact checker's time. `viterbi`
here skips the pairs with no transition. That changes no result: each state it scores has at least
one previous state with a transition (jieba picks the states so), the skipped pairs score `-inf`
and so never win, the sums are added in jieba's order (V + transition + emission), and ties go to
the greater state name as `max` over `(score, state)` tuples does. tests/test_facts_speed.py
compares both on texts of the checker's own data and on random text.

`tagger()` is a `jieba.posseg.POSTokenizer` that shares jieba's default one's dictionaries and
uses this Viterbi. It remembers the words and tags of the last `MEMO_SIZE` blocks it cut (jieba
cuts a text block by block, between punctuation, each block on its own) and of the character runs
its HMM tagged: clauses and names recur across the bullets and rows of one article. jieba's
dictionary is never modified (lexicon.py), so a block always gets the same words and tags. jieba's
own module is left untouched.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

MEMO_SIZE = 50_000
MIN_FLOAT = -3.14e100  # jieba.posseg.viterbi.MIN_FLOAT: an emission jieba has not seen


def viterbi(
    obs: str, states: dict[str, Any], start_p: dict, trans_p: dict, emit_p: dict
) -> tuple[float, list[Any]]:
    """Same arguments and result as `jieba.posseg.viterbi.viterbi`."""
    all_states = trans_p.keys()
    first = obs[0]
    prev: dict[Any, float] = {}
    for y in states.get(first, all_states):
        prev[y] = start_p[y] + emit_p[y].get(first, MIN_FLOAT)
    paths: list[dict[Any, Any]] = [dict.fromkeys(prev, "")]
    for t in range(1, len(obs)):
        char = obs[t]
        prev_states = [(x, trans_p[x], prev[x]) for x in prev if trans_p[x]]
        expect: set[Any] = set()
        for _, out, _ in prev_states:
            expect.update(out)
        obs_states = set(states.get(char, all_states)) & expect
        if not obs_states:
            obs_states = expect if expect else set(all_states)
        cur: dict[Any, float] = {}
        back: dict[Any, Any] = {}
        for y in obs_states:
            emit = emit_p[y].get(char, MIN_FLOAT)
            best = best_state = None
            for y0, out, v0 in prev_states:
                tp = out.get(y)
                if tp is None:
                    continue
                score = v0 + tp + emit
                if best is None or score > best or (score == best and y0 > best_state):
                    best, best_state = score, y0
            if best is None:  # no transition into y (jieba would compare -inf scores): as jieba
                best, best_state = max((v0 + float("-inf") + emit, y0) for y0, _, v0 in prev_states)
            cur[y] = best
            back[y] = best_state
        prev = cur
        paths.append(back)
    _, state = max((prev[y], y) for y in paths[-1])
    prob = prev[state]
    route: list[Any] = [None] * len(obs)
    for i in range(len(obs) - 1, -1, -1):
        route[i] = state
        state = paths[i][state]
    return prob, route


def tagger() -> Any:
    """A POSTokenizer sharing jieba's default tagger's state, tagging with `viterbi` above."""
    import jieba.posseg as pseg

    tables = (pseg.char_state_tab_P, pseg.start_P, pseg.trans_P, pseg.emit_P)  # jieba's, fixed

    @lru_cache(maxsize=MEMO_SIZE)
    def tags(sentence: str) -> tuple[Any, ...]:
        return tuple(viterbi(sentence, *tables)[1])

    class _Tagger(pseg.POSTokenizer):
        def _POSTokenizer__cut_DAG(self, sentence: str) -> Any:  # jieba's private __cut_DAG, remembered
            return iter(blocks(self, sentence))

        def _POSTokenizer__cut(self, sentence: str) -> Any:  # jieba's private __cut, same body
            pos_list = tags(sentence)
            begin, nexti = 0, 0
            for i, char in enumerate(sentence):
                pos = pos_list[i][0]
                if pos == "B":
                    begin = i
                elif pos == "E":
                    yield pseg.pair(sentence[begin : i + 1], pos_list[i][1])
                    nexti = i + 1
                elif pos == "S":
                    yield pseg.pair(char, pos_list[i][1])
                    nexti = i + 1
            if nexti < len(sentence):
                yield pseg.pair(sentence[nexti:], pos_list[nexti][1])

    cut_dag = pseg.POSTokenizer._POSTokenizer__cut_DAG  # type: ignore[attr-defined]

    @lru_cache(maxsize=MEMO_SIZE)
    def _blocks(sentence: str) -> tuple[Any, ...]:
        return tuple(cut_dag(fast, sentence))

    def blocks(_: Any, sentence: str) -> tuple[Any, ...]:
        return _blocks(sentence)

    fast = object.__new__(_Tagger)
    fast.__dict__ = pseg.dt.__dict__  # the same tokenizer and word -> tag table (one copy in memory)
    return fast
