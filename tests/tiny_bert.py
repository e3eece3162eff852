"""Build a tiny random BERT (character vocabulary) that bert-score can load from a local directory.

No network: the vocabulary is made from the given texts, the weights are random with a fixed seed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MAX_LENGTH = 512


def build_tiny_bert(
    path: Path,
    texts: Iterable[str],
    seed: int = 0,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int = 64,
) -> Path:
    """Save a tiny BERT model and its tokenizer (model_max_length 512) into `path`; return `path`.

    The vocabulary is the special tokens plus every character of `texts` (lower-cased, as the
    tokenizer lower-cases) and "##" pieces for Latin letters and digits; by default hidden size 32,
    2 layers, 2 heads, intermediate size 64; 512 positions.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for text in texts for c in text.lower() if not c.isspace()} - set(SPECIAL_TOKENS))
    # Latin letters and digits also get a "##" continuation piece, so that words such as "gpt"
    # tokenize into characters instead of [UNK].
    pieces = [f"##{c}" for c in chars if c.isascii() and c.isalnum()]
    vocab = [*SPECIAL_TOKENS, *chars, *pieces]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
        "tokenize_chinese_chars": True,
        "model_max_length": MAX_LENGTH,
    }
    (path / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    tokenizer.save_pretrained(str(path))

    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=MAX_LENGTH,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    model.eval()
    model.save_pretrained(str(path))
    return path
