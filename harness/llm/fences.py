"""Fences around untrusted text in prompts (generation and judge), and instruction-like text.

Every prompt puts untrusted text (the article, its title, the bullets being judged) between fixed
markers such as `<<<原文开始>>>` ... `<<<原文结束>>>`. The text itself is neutralised before it is
rendered, so it can never contain a marker: every run of 2+ same-direction angle brackets (ASCII,
full-width, small forms, and look-alikes used in the same shape: ‹›〈〉⟨⟩❮❯《》【】〖〗「」『』〔〕...;
zero-width characters between them included) becomes `‹‹`/`››`. `<<<原文结束>>>` in an article is
sent as `‹‹‹原文结束›››`; a request therefore holds exactly one opening and one closing marker
per fence, whatever the article says.

Why escaping and not per-request random markers: the rendered prompt stays a pure function of the
item and the template, so response-cache keys, `cache.mode=replay` and recorded prompt hashes stay
reproducible across runs; random markers would make every request new. Single brackets (`1 < 2`,
`《书名》`, `【产品】`) are ordinary text and stay as they are; nested closing quotes such as `』」`
become `››` (quote matching drops punctuation, so no measured value changes).

`instruction_spans` finds sentences of an article that address the model ("忽略以上指令",
"ignore previous instructions", "请输出 supported"): the judge does not count an evidence quote
that lies inside one as support.
"""

from __future__ import annotations

import re

# Characters that read as an opening / closing bracket of a `<<<...>>>` marker: those NFKC maps to
# "<"/">" (ASCII, full-width, small forms), common look-alikes (modifier letters, syllabics,
# single guillemets, ornaments, CJK and math angle brackets) and CJK brackets a marker could be
# imitated with. Our own replacement `‹`/`›` is included, so neutralising is idempotent.
_LEFT = "<\ufe64\uff1c\u02c2\u1438\u2039\u276e\u3008\u27e8\u2329《【〖「『〔〘〚﹁﹃︽︿﹝［｛«"
_RIGHT = ">\ufe65\uff1e\u02c3\u1433\u203a\u276f\u3009\u27e9\u232a》】〗」』〕〙〛﹂﹄︾﹀﹞］｝»"
_INVISIBLE = r"\u200b-\u200f\u2060-\u2064\ufeff\u00ad"
# Two or more brackets of one direction, possibly separated by invisible characters.
_RUN = re.compile(
    f"[{re.escape(_LEFT)}](?:[{_INVISIBLE}]*[{re.escape(_LEFT)}])+"
    f"|[{re.escape(_RIGHT)}](?:[{_INVISIBLE}]*[{re.escape(_RIGHT)}])+"
)
LEFT_MARK, RIGHT_MARK = "\u2039", "\u203a"


def neutralize_fences(text: str) -> str:
    """Untrusted text made unable to open or close a `<<<...>>>` fence.

    `<<<原文结束>>>` -> `‹‹‹原文结束›››`, `＜＜＜x＞＞＞` -> `‹‹‹x›››`, `【【结束】】` -> `‹‹结束››`.
    Both replacement characters are dropped by the judge's quote normalisation, so quotes copied
    from the neutralised text still match the source."""

    def repl(m: re.Match[str]) -> str:
        run = m.group(0)
        mark = LEFT_MARK if run[0] in _LEFT else RIGHT_MARK
        return mark * sum(c in _LEFT or c in _RIGHT for c in run)

    return _RUN.sub(repl, text)


# Sentences that address the model: ignore / override instructions, dictate a verdict or output,
# change its role. Checked case-insensitively after NFKC (full-width Latin folds to ASCII).
_INSTRUCTION = re.compile(
    r"(忽略|无视|忘记|忘掉|不要理会|不必理会|跳过)掉?你?"
    r"(之前|以上|上面|前面|上述|先前|此前|所有|全部|一切|原有|原来|系统)[^。！？!?\n]{0,10}"
    r"(指令|指示|命令|说明|要求|规则|提示)"
    r"|(请|务必|必须|只|直接)[^。！？!?\n]{0,8}(输出|回答|回复|返回|判定|判为|判断为|标记|打分)[^。！？!?\n]{0,6}"
    r"(supported|contradicted|not_in_source|covered|missing|partly|支持|通过|满分)"
    r"|ignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|preceding|system)\s+"
    r"(instructions?|prompts?|rules|messages?)"
    r"|disregard\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|preceding|system)"
    r"|(output|answer|respond|reply|return|say|mark)\s+(only\s+|with\s+)?[\"'“]?"
    r"(supported|covered|contradicted|not_in_source)\b"
    r"|you\s+are\s+now\b|new\s+instructions?\s*:|system\s+prompt"
    r"|你现在是|从现在起你|扮演[^。！？!?\n]{0,10}(角色|助手|模型)|系统提示词?",
    re.IGNORECASE,
)
# Sentence ends: a quote inside an instruction-like sentence is not evidence.
_SENTENCE_END = re.compile(r"[。！？!?；;\n\r]+|\.(?=\s|$)")


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of `text` that reads as an instruction to the model."""
    import unicodedata

    folded = "".join(unicodedata.normalize("NFKC", c)[:1] or c for c in text)  # same length as text
    spans = []
    start = 0
    for end_match in [*_SENTENCE_END.finditer(folded), None]:
        end = len(folded) if end_match is None else end_match.end()
        if end > start and _INSTRUCTION.search(folded[start:end]):
            spans.append((start, end))
        start = end
    return spans


def overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)
