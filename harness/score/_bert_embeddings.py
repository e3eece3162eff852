"""BERTScore as `bert_score.BERTScorer.score` computes it, with each reference embedded once.

`BERTScorer.score(cands, refs)` embeds every text of every call, so a sweep of ten (model, prompt)
rows over one dataset embeds each reference ten times. Here the same numbers come from the same
bert-score functions (`sent_encode` and `padding` for token ids and masks, as in `collate_idf`;
`bert_encode` for the layer's hidden states; `greedy_cos_idf` for the matching; the baseline
rescaling of `BERTScorer.score`),
with two changes in how the work is done:

- reference embeddings are kept in a process-wide cache keyed by the loaded model (model, layer,
  device), the tokenizer's max length and the SHA-256 of the text, so every later row that scores
  the same references only embeds its candidates. The cache holds at most `REFERENCE_CACHE_BYTES`
  of embeddings (float32, tokens x hidden size: about 1 MB per 300-character reference with
  bert-base-chinese). Once full it keeps what it has and embeds further references each time:
  rows over a dataset larger than the budget reuse the first ones (an LRU would reuse none when
  rows scan the dataset in the same order). Candidates are not kept: each row has its own.
- texts are embedded in batches sorted by token count. bert-score sorts by the number of
  space-separated words, which is 1 for unspaced Chinese, so its batches mix long and short texts
  and pad every one to the longest.

A text's embedding does not depend on what else is in its batch (the attention mask hides the
padding), so the numbers are those of `bert_score.score` up to float rounding (checked to 1e-6).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

# Bytes of reference embeddings kept per process (about 1,000 digest-sized references with
# bert-base-chinese).
REFERENCE_CACHE_BYTES = 1 << 30


class EmbeddingCache:
    """text key -> (embedding [tokens, hidden] on the CPU, token ids), up to a byte budget."""

    def __init__(self, max_bytes: int = REFERENCE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: dict[Hashable, tuple[Any, list[int]]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[Any, list[int]] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, key: Hashable, value: tuple[Any, list[int]]) -> None:
        size = value[0].numel() * value[0].element_size()
        with self._lock:
            if key not in self._entries and self.bytes + size <= self.max_bytes:
                self._entries[key] = value
                self.bytes += size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


REFERENCES = EmbeddingCache()


def text_key(model_key: Hashable, max_length: int, text: str) -> tuple[Hashable, int, str]:
    return (model_key, max_length, hashlib.sha256(text.encode("utf-8")).hexdigest())


def embed(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int,
    device: str,
    known_ids: Mapping[str, list[int]] | None = None,
) -> dict[str, tuple[Any, list[int]]]:
    """text -> (embedding [tokens, hidden] on the CPU, token ids) for each distinct text, embedded in
    batches of `batch_size` texts sorted by token count (longest first, as bert-score).
    `known_ids`: texts already encoded with bert-score's `sent_encode`."""
    import torch
    from bert_score.utils import bert_encode, padding, sent_encode

    unique = list(dict.fromkeys(texts))
    known_ids = known_ids or {}
    ids = {text: known_ids.get(text) or sent_encode(tokenizer, text) for text in unique}
    unique.sort(key=lambda text: len(ids[text]), reverse=True)
    out: dict[str, tuple[Any, list[int]]] = {}
    with torch.no_grad():
        for start in range(0, len(unique), batch_size):
            batch = unique[start : start + batch_size]
            # collate_idf's token ids and mask, without encoding the texts a second time
            padded, _, mask = padding([ids[text] for text in batch], tokenizer.pad_token_id, dtype=torch.long)
            emb = bert_encode(model, padded.to(device), attention_mask=mask.to(device)).cpu()
            for i, text in enumerate(batch):
                n = len(ids[text])
                out[text] = (emb[i, :n].clone(), ids[text])
    return out


def greedy_scores(
    pairs: Sequence[tuple[tuple[Any, list[int]], tuple[Any, list[int]]]],
    idf: Callable[[int], float],
    batch_size: int,
) -> Any:
    """[len(pairs), 3] tensor of raw P, R, F for (candidate, reference) embeddings, matched in
    batches of `batch_size` pairs as `bert_cos_score_idf` does (padding value 2.0, length masks)."""
    import torch
    from bert_score.utils import greedy_cos_idf
    from torch.nn.utils.rnn import pad_sequence

    def padded(stats: Sequence[tuple[Any, list[int]]]) -> tuple[Any, Any, Any]:
        embs = [e for e, _ in stats]
        weights = [torch.tensor([idf(t) for t in ids], dtype=torch.float) for _, ids in stats]
        lens = torch.tensor([e.size(0) for e in embs], dtype=torch.long)
        mask = torch.arange(int(lens.max())).expand(len(embs), -1) < lens.unsqueeze(1)
        return (
            pad_sequence(embs, batch_first=True, padding_value=2.0),
            mask,
            pad_sequence(weights, batch_first=True),
        )

    preds = []
    with torch.no_grad():
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start : start + batch_size]
            ref = padded([r for _, r in batch])
            hyp = padded([c for c, _ in batch])
            p, r, f = greedy_cos_idf(*ref, *hyp)
            preds.append(torch.stack((p, r, f), dim=-1))
    return torch.cat(preds, dim=0)


def bert_score_pairs(
    bert: Any,
    model_key: Hashable,
    cands: Sequence[str],
    refs: Sequence[str],
    idf: Callable[[int], float],
    batch_size: int,
    known_ids: Mapping[str, list[int]] | None = None,
    cache: EmbeddingCache | None = None,
) -> Any:
    """[len(cands), 3] raw P, R, F of cands[i] against refs[i] (no rescaling), with `bert`, a loaded
    `bert_score.BERTScorer`; references come from `cache` (default: REFERENCES, the process-wide one)
    when it has them and go into it. `known_ids`: texts already encoded with `sent_encode`."""
    if cache is None:
        cache = REFERENCES
    tokenizer = bert._tokenizer
    max_length = int(tokenizer.model_max_length)
    keys = {ref: text_key(model_key, max_length, ref) for ref in dict.fromkeys(refs)}
    stats = {ref: found for ref, key in keys.items() if (found := cache.get(key)) is not None}
    new_refs = [ref for ref in keys if ref not in stats]
    embedded = embed(bert._model, tokenizer, [*new_refs, *cands], batch_size, bert.device, known_ids)
    for ref in new_refs:
        stats[ref] = embedded[ref]
        cache.put(keys[ref], embedded[ref])
    return greedy_scores([(embedded[c], stats[r]) for c, r in zip(cands, refs, strict=True)], idf, batch_size)
