"""The character tokenizer, called directly: every promise of the README's "Metrics" section.

The ROUGE agreement tests feed the same tokens to both reference libraries, so they cannot see a
tokenizer change; these tests pin the tokens themselves (expected lists written out by hand).
"""

from __future__ import annotations

import pytest

from harness.tokenize import TOKENIZERS, char_tokens, get_tokenizer, jieba_tokens, tokenizer_id


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # Every Chinese character is one token; Latin words and numbers stay whole.
        ("OpenAI发布GPT-4.5", ["openai", "发", "布", "gpt", "4.5"]),
        # Lower-cased: case differences between candidate and reference still match.
        ("OPENAI openai OpenAI", ["openai", "openai", "openai"]),
        # Decimals kept whole, also before a magnitude character; version-like runs too.
        ("7.5亿", ["7.5", "亿"]),
        ("Qwen2.5-Max", ["qwen2.5", "max"]),
        ("v1.2.3", ["v1.2.3"]),
        # A trailing or leading dot is punctuation, not a decimal part.
        ("增长4.", ["增", "长", "4"]),
        (".5", ["5"]),
        # NFKC: full-width digits, letters and the full-width percent sign are folded first.
        ("增长３５％，ＧＰＵ", ["增", "长", "35", "gpu"]),
        ("７.５亿", ["7.5", "亿"]),
        ("ＯｐｅｎＡＩ", ["openai"]),
        # Punctuation and symbols (Chinese and ASCII) are dropped; whitespace separates nothing else.
        ("“模型”，（发布）！?…—·%$@#", ["模", "型", "发", "布"]),
        ("a_b", ["a", "b"]),
        ("", []),
        ("   \n\t", []),
    ],
)
def test_char_tokens(text: str, tokens: list[str]) -> None:
    assert char_tokens(text) == tokens


def test_char_tokens_keep_other_scripts_one_letter_a_token() -> None:
    # Non-Latin letters (kana, Hangul, Greek) are one token per letter, like Chinese characters.
    assert char_tokens("カナ한국αβ") == ["カ", "ナ", "한", "국", "α", "β"]


def test_get_tokenizer_and_ids() -> None:
    assert TOKENIZERS == ("char", "jieba")
    assert get_tokenizer("char") is char_tokens and get_tokenizer("jieba") is jieba_tokens
    with pytest.raises(ValueError, match="unknown ROUGE tokenizer 'word': use one of char, jieba"):
        get_tokenizer("word")
    assert tokenizer_id("char") == "char-v1"
    assert tokenizer_id("jieba").startswith("jieba-0.")
