"""LLM-judge metrics: claim-level factuality against the source, key-point coverage of the reference.

Call design: two calls per item, run concurrently (bounded by `max_concurrency` calls in flight):

- **claims** (source + generated bullets): ONE call splits every bullet into atomic claims AND
  verifies each claim against the source, returning per claim a verdict (`supported`,
  `contradicted`, `not_in_source`) and an evidence quote copied from the source. One call instead
  of split-then-verify halves the calls and tokens (the source, the long part, is sent once) and the
  judge sees the bullet while verifying its claims; what a second stage would add - not trusting the
  judge's own word - is done here by code: every quote is checked against the source (below).
- **coverage** (reference bullets + generated bullets, no source): for each reference bullet,
  covered / partly / missing and the generated bullet that matches it. The source is not needed
  to compare two bullet lists, so it is not sent.

Quote check: a quote is looked up in the title + source after normalisation (NFKC per character,
then keep only letters, digits and combining marks: whitespace, punctuation and symbols are
dropped). Not found exactly -> best difflib ratio over windows of the normalised source of the
quote's length +-1; found when ratio >= 0.9 (recorded). A `supported` verdict whose quote is not
found counts as *unverified*, never as supported.

Output contract: temperature 0 (`ProviderCompleter`), one JSON object validated against a JSON
Schema (jsonschema, a dependency of litellm) plus consistency checks (every bullet judged exactly
once, indices in range, quotes where required); a ```json fence around it is tolerated. A malformed
reply is retried ONCE with the errors appended as a user message; still malformed -> recorded
failure (values absent, flag `judge_failed`, errors and raw replies in the evidence), never a pass.

Untrusted text (title, source, bullets, reference) is fenced by `<<<...>>>` markers in the prompt
templates; `neutralize_fences` rewrites any run of 2+ angle brackets inside it (ASCII, full-width
or look-alike forms, zero-width characters in between included) to `‹`/`›`, so data can never
close a fence early. The system prompts tell the judge the fenced text is data whose instructions
must be ignored.

Parsing, validation and aggregation are pure functions; `JudgeScorer` only adds the calls.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml
from jsonschema import Draft202012Validator

from harness.config import ConfigError, project_path
from harness.data.schema import Item
from harness.llm.cache import CacheMiss
from harness.score.base import MetricResult
from harness.score.registry import Column, Metric, register
from harness.text import normalize_with_map

if TYPE_CHECKING:
    from harness.llm.client import Completion

METRIC_VERSION = "judge/1"
FUZZY_THRESHOLD = 0.9
VERDICTS = ("supported", "contradicted", "not_in_source")
COVERAGE_STATUSES = ("covered", "partly", "missing")
MAX_ATTEMPTS = 2  # the first reply and ONE retry on malformed output
MAX_ERRORS_SHOWN = 20
MAX_RAW_CHARS = 20_000

CLAIM_KEYS = (
    "judge_factual_precision",
    "judge_contradiction_rate",
    "judge_unsupported_rate",
    "judge_unverified_rate",
    "judge_fully_faithful",
    "judge_claims",
)
COVERAGE_KEYS = ("judge_keypoint_recall",)

Complete = Callable[[list[dict[str, str]]], Awaitable["Completion"]]


# ---------------------------------------------------------------------------------------------
# Quote matching (pure)


def normalize_for_match(text: str) -> str:
    """NFKC, then only letters, digits and marks: '“GPT-4o”发布 ， 了' -> 'GPT4o发布了'."""
    return normalize_with_map(text)[0]


@dataclass(frozen=True)
class QuoteMatch:
    """found: exact (ratio 1.0) or fuzzy (ratio >= threshold) occurrence in the source.

    ratio: 1.0 exact; the best fuzzy ratio otherwise (below the threshold when not found; 0.0 when
    no window could reach it). span: the matched source text (original characters), if found.
    """

    found: bool
    ratio: float
    span: str | None = None


def _fuzzy_best(q: str, s: str, threshold: float) -> tuple[float, int, int]:
    """Best SequenceMatcher ratio of q against windows of s (lengths len(q)-1..len(q)+1).

    A window's ratio is at most 2 * (common character multiset) / (len(q) + len(window)); that
    bound is kept up to date in O(1) per shift, so only windows that could reach the threshold
    are compared character by character."""
    L = len(q)
    need = Counter(q)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(q)
    best = (0.0, -1, -1)
    for width in (L, L - 1, L + 1):
        if width < 1 or width > len(s):
            continue
        have: Counter[str] = Counter()
        overlap = 0
        for c in s[:width]:
            if have[c] < need[c]:
                overlap += 1
            have[c] += 1
        for start in range(0, len(s) - width + 1):
            if start:
                out, new = s[start - 1], s[start + width - 1]
                have[out] -= 1
                if have[out] < need[out]:
                    overlap -= 1
                if have[new] < need[new]:
                    overlap += 1
                have[new] += 1
            bound = 2 * overlap / (L + width)
            if bound < threshold or bound <= best[0]:
                continue
            matcher.set_seq1(s[start : start + width])
            ratio = matcher.ratio()
            if ratio > best[0]:
                best = (ratio, start, start + width)
    return best


def locate_quote(quote: str, source: str, threshold: float = FUZZY_THRESHOLD) -> QuoteMatch:
    """Where `quote` occurs in `source` after normalisation, exactly or fuzzily (see QuoteMatch)."""
    q = normalize_for_match(quote)
    if not q:
        return QuoteMatch(False, 0.0)
    s, where = normalize_with_map(source)
    pos = s.find(q)
    if pos >= 0:
        return QuoteMatch(True, 1.0, source[where[pos] : where[pos + len(q) - 1] + 1])
    ratio, start, end = _fuzzy_best(q, s, threshold)
    if ratio >= threshold:
        return QuoteMatch(True, round(ratio, 4), source[where[start] : where[end - 1] + 1])
    return QuoteMatch(False, round(ratio, 4))


def find_quote(quote: str, source: str, threshold: float = FUZZY_THRESHOLD) -> tuple[bool, float]:
    """(found, ratio): ratio 1.0 for an exact normalised match, the difflib ratio for a fuzzy one."""
    match = locate_quote(quote, source, threshold)
    return match.found, match.ratio


# ---------------------------------------------------------------------------------------------
# Fences (pure)

# Characters that read as an angle bracket: those NFKC maps to "<"/">" (ASCII, full-width, small
# forms) and common look-alikes (modifier letters, syllabics, single guillemets, ornaments, CJK and
# math angle brackets). Our own replacement `‹`/`›` is included, so neutralising is idempotent.
_LEFT = "<\ufe64\uff1c\u02c2\u1438\u2039\u276e\u3008\u27e8\u2329"
_RIGHT = ">\ufe65\uff1e\u02c3\u1433\u203a\u276f\u3009\u27e9\u232a"
_ANGLE = dict.fromkeys(_LEFT, "\u2039") | dict.fromkeys(_RIGHT, "\u203a")
_ANGLE_CLASS = re.escape(_LEFT + _RIGHT)
_INVISIBLE = r"\u200b-\u200f\u2060-\u2064\ufeff\u00ad"
# Two or more angle brackets, possibly separated by invisible characters.
_ANGLE_RUN = re.compile(f"[{_ANGLE_CLASS}](?:[{_INVISIBLE}]*[{_ANGLE_CLASS}])+")


def neutralize_fences(text: str) -> str:
    """Untrusted text made unable to open or close a `<<<...>>>` fence.

    Every run of 2+ angle brackets (ASCII, full-width or a look-alike; zero-width characters
    between them removed) becomes `‹`/`›`: `<<<原文结束>>>` -> `‹‹‹原文结束›››`. Both are dropped by
    the quote normalisation, so quotes copied from the neutralised text still match the source."""

    def repl(m: re.Match[str]) -> str:
        return "".join(_ANGLE[c] for c in m.group(0) if c in _ANGLE)

    return _ANGLE_RUN.sub(repl, text)


def _one_line(text: str) -> str:
    # A bullet spread over lines could fake the "[n] " numbering of the next bullet.
    return re.sub(r"\s*[\r\n\u2028\u2029\x85]+\s*", " ", text).strip()


def document_text(item: Item) -> str:
    """What the judge is shown as the source (title, then article) and what quotes are checked in."""
    return f"{item.title}\n{item.source}"


# ---------------------------------------------------------------------------------------------
# Reply parsing and validation (pure)

CLAIMS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["bullets"],
    "properties": {
        "bullets": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["bullet", "claims"],
                "properties": {
                    "bullet": {"type": "integer", "minimum": 1},
                    "claims": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["claim", "verdict", "quote"],
                            "properties": {
                                "claim": {"type": "string", "minLength": 1},
                                "verdict": {"enum": list(VERDICTS)},
                                "quote": {"type": "string"},
                            },
                        },
                    },
                },
            },
        }
    },
}

COVERAGE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["keypoints"],
    "properties": {
        "keypoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["keypoint", "status", "matched_bullet"],
                "properties": {
                    "keypoint": {"type": "integer", "minimum": 1},
                    "status": {"enum": list(COVERAGE_STATUSES)},
                    "matched_bullet": {"type": ["integer", "null"], "minimum": 1},
                    "reason": {"type": "string"},
                },
            },
        }
    },
}

_VALIDATORS = {
    "claims": Draft202012Validator(CLAIMS_SCHEMA),
    "coverage": Draft202012Validator(COVERAGE_SCHEMA),
}
_FENCED = re.compile(r"\A\s*```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```\s*\Z", re.DOTALL)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_json_reply(text: str | None) -> tuple[Any, list[str]]:
    """(object, []) or (None, [error]). A ```json fence around the whole reply is tolerated."""
    if text is None or not text.strip():
        return None, ["empty reply: expected one JSON object"]
    m = _FENCED.match(text)
    body = m.group(1) if m else text
    try:
        return json.loads(body), []
    except json.JSONDecodeError as exc:
        return None, [
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            "reply with one JSON object only, no other text"
        ]


def _schema_errors(kind: str, obj: Any) -> list[str]:
    errors = sorted(_VALIDATORS[kind].iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{e.json_path}: {_short(e.message)}" for e in errors]


def _numbering_errors(path: str, key: str, numbers: list[int], expected: int | None) -> list[str]:
    errors = []
    for n, count in sorted(Counter(numbers).items()):
        if count > 1:
            errors.append(f"{path}: {key} {n} appears {count} times; each must appear exactly once")
    if expected is not None:
        if out := sorted(n for n in set(numbers) if n > expected):
            errors.append(f"{path}: {key} {out} out of range: there are only {expected} (1..{expected})")
        if missing := sorted(set(range(1, expected + 1)) - set(numbers)):
            errors.append(f"{path}: {key} {missing} missing: every one of 1..{expected} must be judged")
    return errors


def validate_claims_json(obj: Any, n_bullets: int | None = None) -> list[str]:
    """Errors of a claims reply (empty = valid): schema, then every bullet judged exactly once and a
    quote for every supported or contradicted claim."""
    errors = _schema_errors("claims", obj)
    if errors:
        return errors
    bullets = obj["bullets"]
    errors = _numbering_errors("$.bullets", "bullet", [b["bullet"] for b in bullets], n_bullets)
    for i, b in enumerate(bullets):
        for j, c in enumerate(b["claims"]):
            if c["verdict"] != "not_in_source" and not c["quote"].strip():
                errors.append(
                    f"$.bullets[{i}].claims[{j}].quote: empty, but verdict '{c['verdict']}' needs a quote "
                    "copied from the source"
                )
    return errors


def validate_coverage_json(
    obj: Any, n_reference: int | None = None, n_bullets: int | None = None
) -> list[str]:
    """Errors of a coverage reply (empty = valid): schema, every reference bullet judged exactly
    once, matched_bullet a generated bullet number for covered/partly and null for missing."""
    errors = _schema_errors("coverage", obj)
    if errors:
        return errors
    keypoints = obj["keypoints"]
    errors = _numbering_errors("$.keypoints", "keypoint", [k["keypoint"] for k in keypoints], n_reference)
    for i, k in enumerate(keypoints):
        matched, status = k["matched_bullet"], k["status"]
        where = f"$.keypoints[{i}].matched_bullet"
        if status == "missing" and matched is not None:
            errors.append(f"{where}: must be null when status is 'missing', got {matched}")
        elif status != "missing" and matched is None:
            errors.append(f"{where}: null, but status '{status}' needs the number of the matching bullet")
        elif matched is not None and n_bullets is not None and matched > n_bullets:
            errors.append(
                f"{where}: {matched} out of range: there are only {n_bullets} bullets (1..{n_bullets})"
            )
    return errors


# ---------------------------------------------------------------------------------------------
# Aggregation (pure)


def aggregate_claims(
    verdicts: dict[str, Any], source: str, bullets: Sequence[str] | None = None
) -> dict[str, Any]:
    """Values, flags and per-bullet evidence from a valid claims reply (`{"bullets": [...]}`).

    Every quote is looked up in `source`; a `supported` claim counts as supported only if its quote
    is found, otherwise as unverified. The four rates sum to 1."""
    counts = Counter({"verified_supported": 0, "unverified": 0, "contradicted": 0, "not_in_source": 0})
    per_bullet = []
    for b in sorted(verdicts["bullets"], key=lambda b: b["bullet"]):
        claims = []
        for c in b["claims"]:
            verdict, quote = c["verdict"], c["quote"]
            match = locate_quote(quote, source) if quote.strip() else None
            if verdict == "supported":
                counted = "verified_supported" if match is not None and match.found else "unverified"
            else:
                counted = verdict
            counts[counted] += 1
            claims.append(
                {
                    "claim": c["claim"],
                    "verdict": verdict,
                    "quote": quote,
                    "quote_found": None if match is None else match.found,
                    "match_ratio": None if match is None else match.ratio,
                    "matched_source": None if match is None or match.ratio == 1.0 else match.span,
                    "counted_as": counted,
                }
            )
        index = b["bullet"] - 1
        entry: dict[str, Any] = {"index": index}
        if bullets is not None and 0 <= index < len(bullets):
            entry["bullet"] = bullets[index]
        entry["claims"] = claims
        per_bullet.append(entry)
    n = sum(counts.values())
    values = {
        "judge_factual_precision": counts["verified_supported"] / n,
        "judge_contradiction_rate": counts["contradicted"] / n,
        "judge_unsupported_rate": counts["not_in_source"] / n,
        "judge_unverified_rate": counts["unverified"] / n,
        "judge_fully_faithful": 1.0 if counts["verified_supported"] == n else 0.0,
        "judge_claims": float(n),
    }
    flags = ["judge_unverified"] if counts["unverified"] else []
    return {"values": values, "flags": flags, "counts": dict(counts), "bullets": per_bullet}


def aggregate_coverage(coverage: dict[str, Any], reference: Sequence[str] | None = None) -> dict[str, Any]:
    """judge_keypoint_recall = (covered + 0.5 * partly) / reference bullets, with evidence."""
    counts = Counter(dict.fromkeys(COVERAGE_STATUSES, 0))
    per_ref = []
    for k in sorted(coverage["keypoints"], key=lambda k: k["keypoint"]):
        counts[k["status"]] += 1
        index = k["keypoint"] - 1
        entry: dict[str, Any] = {"index": index}
        if reference is not None and 0 <= index < len(reference):
            entry["reference"] = reference[index]
        entry["status"] = k["status"]
        entry["matched_bullet_index"] = None if k["matched_bullet"] is None else k["matched_bullet"] - 1
        if "reason" in k:
            entry["reason"] = k["reason"]
        per_ref.append(entry)
    n = sum(counts.values())
    recall = (counts["covered"] + 0.5 * counts["partly"]) / n
    return {"values": {"judge_keypoint_recall": recall}, "counts": dict(counts), "keypoints": per_ref}


# ---------------------------------------------------------------------------------------------
# Prompts

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


@dataclass(frozen=True)
class JudgePrompt:
    """A versioned judge prompt (conf/judge_prompts/*.yaml): Jinja templates `system` and `user`."""

    id: str
    version: str
    system: str
    user: str
    path: str

    @property
    def hash(self) -> str:
        payload = json.dumps({"system": self.system, "user": self.user}, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]

    def record(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "hash": self.hash, "path": self.path}

    def render(self, **context: Any) -> list[dict[str, str]]:
        messages = []
        for role in ("system", "user"):
            template = _compile(getattr(self, role), f"{self.path}: field '{role}'")
            try:
                text = template.render(**context)
            except jinja2.UndefinedError as exc:
                raise ConfigError(f"{self.path}: field '{role}': {exc.message}") from exc
            messages.append({"role": role, "content": text.strip()})
        return messages


@lru_cache(maxsize=16)
def _compile(source: str, where: str) -> jinja2.Template:
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{where}: Jinja syntax error on line {exc.lineno}: {exc.message}") from exc


def load_judge_prompt(path: str | Path) -> JudgePrompt:
    """Load and check a judge prompt file; every problem is a ConfigError naming the file and field."""
    p = project_path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"judge prompt {p}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"judge prompt {p}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"judge prompt {p}: expected a mapping with fields id, version, system, user")
    for key in ("id", "version", "system", "user"):
        value = data.get(key)
        if isinstance(value, (int, float)) and key == "version":
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"judge prompt {p}: field '{key}' is missing or not a non-empty string")
    prompt = JudgePrompt(str(data["id"]), str(data["version"]), data["system"], data["user"], str(path))
    for role in ("system", "user"):
        _compile(getattr(prompt, role), f"{p}: field '{role}'")
    return prompt


def _context(item: Item, bullets: Sequence[str]) -> dict[str, Any]:
    """What the judge templates see; every untrusted string is neutralised."""
    return {
        "title": neutralize_fences(_one_line(item.title)),
        "source": neutralize_fences(item.source.strip()),
        "bullets": [{"no": i + 1, "text": neutralize_fences(_one_line(b))} for i, b in enumerate(bullets)],
        "references": [
            {"no": i + 1, "text": neutralize_fences(_one_line(r))} for i, r in enumerate(item.reference)
        ],
    }


def retry_message(errors: Sequence[str]) -> str:
    """The user message appended for the one retry after a malformed reply."""
    shown = list(errors[:MAX_ERRORS_SHOWN])
    if len(errors) > MAX_ERRORS_SHOWN:
        shown.append(f"... and {len(errors) - MAX_ERRORS_SHOWN} more")
    listed = "\n".join(f"- {e}" for e in shown)
    return (
        f"你上一次的输出不符合要求，验证错误如下：\n{listed}\n"
        "请改正这些错误，按系统说明重新输出完整的 JSON 对象；只输出 JSON，不要输出任何其他文字。"
    )


# ---------------------------------------------------------------------------------------------
# Model calls


class ProviderCompleter:
    """`Provider.complete` with the judge's fixed decoding parameters (temperature 0).

    Pass an instance as JudgeScorer's `complete`; its `params` are recorded in `meta()`."""

    def __init__(self, provider: Any, *, temperature: float = 0.0, max_tokens: int | None = 4096):
        self.provider = provider
        self.params: dict[str, Any] = {"temperature": temperature}
        if max_tokens is not None:
            self.params["max_tokens"] = max_tokens

    async def __call__(self, messages: list[dict[str, str]]) -> Completion:
        return await self.provider.complete(messages, dict(self.params))


@dataclass
class CallOutcome:
    """One judge call (with its possible retry): the valid object, or why there is none."""

    obj: Any = None
    error: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def _model_id(model: str) -> str:
    model = model.strip().lower().rsplit("/", 1)[-1]
    return re.sub(r"-(\d{4}-\d{2}-\d{2}|\d{8})$", "", model)  # dated snapshots: same model


def self_preference_warning(judge_model: str, generator_model: str) -> str | None:
    """A warning when the judge is also the generator being scored (LLM judges favour their own
    text). Provider prefixes and date suffixes are ignored: `openai/gpt-4o` == `gpt-4o-2024-08-06`."""
    if not judge_model or not generator_model or _model_id(judge_model) != _model_id(generator_model):
        return None
    return (
        f"judge model '{judge_model}' is also the generator being scored ('{generator_model}'): LLM "
        "judges tend to rate their own outputs higher (self-preference bias), so its judge_* scores "
        "are not comparable with other models'. Use a different judge model for this row."
    )


class JudgeScorer:
    """Claim-level factuality and key-point coverage, judged by an LLM (see the module docstring)."""

    name = "judge"

    def __init__(
        self,
        complete: Complete,
        judge_model: str,
        claims_prompt: Path,
        coverage_prompt: Path,
        max_concurrency: int = 4,
    ) -> None:
        self._complete = complete
        self.judge_model = judge_model
        self.claims_prompt = load_judge_prompt(claims_prompt)
        self.coverage_prompt = load_judge_prompt(coverage_prompt)
        self.max_concurrency = max(1, int(max_concurrency))

    def meta(self) -> dict[str, Any]:
        """Everything that determines the numbers."""
        return {
            "judge_model": self.judge_model,
            "call_params": getattr(self._complete, "params", None),
            "prompts": {"claims": self.claims_prompt.record(), "coverage": self.coverage_prompt.record()},
            "calls": "per item: claims (split + verify, with source) and coverage (reference vs bullets)",
            "retries_on_malformed_output": MAX_ATTEMPTS - 1,
            "quote_matching": {
                "text": "title + source",
                "normalization": "NFKC per character; keep Unicode letters, digits, marks (L*, N*, M*)",
                "fuzzy": "difflib.SequenceMatcher ratio, windows of the quote's length +-1",
                "threshold": FUZZY_THRESHOLD,
                "supported_without_found_quote": "unverified (not counted as supported)",
            },
            "keypoint_recall": "(covered + 0.5 * partly) / reference bullets",
            "metric_version": METRIC_VERSION,
        }

    # -- sync entry point -------------------------------------------------------------------
    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        """Judge candidates[i] against items[i]; blocks until every call has returned."""
        if len(items) != len(candidates):
            raise ValueError(f"{len(items)} items but {len(candidates)} candidates")
        for item, bullets in zip(items, candidates, strict=True):
            if isinstance(bullets, str):
                raise TypeError(f"item {item.id}: candidate must be a list of bullet strings, not a str")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._score_all(items, candidates))
        # Called from inside a running event loop: asyncio.run needs a thread of its own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._score_all(items, candidates)).result()

    async def _score_all(
        self, items: Sequence[Item], candidates: Sequence[Sequence[str]]
    ) -> list[MetricResult]:
        semaphore = asyncio.Semaphore(self.max_concurrency)
        pairs = zip(items, candidates, strict=True)
        return list(await asyncio.gather(*(self._score_item(item, list(b), semaphore) for item, b in pairs)))

    async def _score_item(
        self, item: Item, candidate: list[str], semaphore: asyncio.Semaphore
    ) -> MetricResult:
        # The judge sees the non-empty bullets, numbered 1..k; evidence indices are mapped back
        # to positions in the candidate list.
        kept = [i for i, b in enumerate(candidate) if b.strip()]
        bullets = [candidate[i] for i in kept]
        has_output = bool(bullets)
        has_reference = any(r.strip() for r in item.reference)
        context = _context(item, bullets)
        claims_call = coverage_call = None
        if has_output:
            claims_call = self._call_json(
                "claims",
                self.claims_prompt.render(**context),
                lambda obj: validate_claims_json(obj, n_bullets=len(bullets)),
                semaphore,
            )
        if has_output and has_reference:
            coverage_call = self._call_json(
                "coverage",
                self.coverage_prompt.render(**context),
                lambda obj: validate_coverage_json(obj, len(item.reference), len(bullets)),
                semaphore,
            )
        calls = {k: c for k, c in (("claims", claims_call), ("coverage", coverage_call)) if c is not None}
        try:
            outcomes = dict(zip(calls, await asyncio.gather(*calls.values()), strict=True))
        except CacheMiss as miss:
            if miss.item_id is not None:
                raise
            # The judge's calls carry no item id; the replay-miss message names the item.
            raise CacheMiss(
                miss.key,
                item_id=item.id,
                model=miss.model,
                kind=miss.kind,
                path=miss.path,
                missing_file=miss.missing_file,
            ) from None

        values: dict[str, float] = {}
        flags: list[str] = []
        evidence: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        if not has_output:
            flags.append("empty_output")
            evidence["claims"] = {"skipped": "no generated bullets: no claims to verify"}
            if has_reference:  # nothing is covered by an empty digest: no call needed
                values["judge_keypoint_recall"] = 0.0
        if not has_reference:
            flags.append("empty_reference")
            evidence["coverage"] = {"skipped": "no reference bullets"}

        if (out := outcomes.get("claims")) is not None:
            if out.ok:
                agg = aggregate_claims(out.obj, document_text(item), bullets)
                for entry in agg["bullets"]:
                    entry["index"] = kept[entry["index"]]
                values.update(agg["values"])
                flags.extend(agg["flags"])
                evidence["claims"] = {"counts": agg["counts"], "bullets": agg["bullets"]}
            else:
                errors["claims"] = {"error": out.error, "attempts": out.attempts}
        if (out := outcomes.get("coverage")) is not None:
            if out.ok:
                agg = aggregate_coverage(out.obj, item.reference)
                for entry in agg["keypoints"]:
                    if entry["matched_bullet_index"] is not None:
                        entry["matched_bullet_index"] = kept[entry["matched_bullet_index"]]
                values.update(agg["values"])
                evidence["coverage"] = {"counts": agg["counts"], "keypoints": agg["keypoints"]}
            else:
                errors["coverage"] = {"error": out.error, "attempts": out.attempts}

        if len(kept) < len(candidate):
            evidence["empty_bullets_skipped"] = [i for i, b in enumerate(candidate) if not b.strip()]
        if errors:
            flags.append("judge_failed")
            evidence["errors"] = errors
        if any(len(o.attempts) > 1 and o.ok for o in outcomes.values()):
            flags.append("judge_retried")
        if outcomes:
            evidence["usage"] = _sum_usage([o.usage for o in outcomes.values()])
        return MetricResult(values=values, flags=flags, evidence=evidence)

    async def _call_json(
        self,
        kind: str,
        messages: list[dict[str, str]],
        validate: Callable[[Any], list[str]],
        semaphore: asyncio.Semaphore,
    ) -> CallOutcome:
        """One judge call; a malformed reply is retried once with the errors appended."""
        outcome = CallOutcome()
        usage = {
            "requests": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
            "latency_s": 0.0,
            "paid_usd": 0.0,  # cost_usd without cache hits: what this run spent (for budgets)
        }
        outcome.usage = usage
        for attempt in range(1, MAX_ATTEMPTS + 1):
            async with semaphore:
                comp = await self._complete(messages)
            usage["requests"] += 1
            usage["latency_s"] += comp.latency_s or 0.0
            if not comp.cache_hit:
                usage["paid_usd"] += comp.cost_usd or 0.0
            for key in ("prompt_tokens", "completion_tokens", "cost_usd"):
                got = getattr(comp, key, None)
                # An unknown count or price makes the total unknown (None), never a silent 0.
                usage[key] = None if got is None or usage[key] is None else usage[key] + got
            if not comp.ok:
                outcome.error = f"{kind} call failed: {comp.error_type}: {comp.error_message}"
                outcome.attempts.append({"raw": None, "error_type": comp.error_type})
                return outcome
            obj, errors = parse_json_reply(comp.text)
            if not errors:
                errors = validate(obj)
            if errors and comp.finish_reason == "length":
                errors.insert(0, "reply cut off at max_tokens (finish_reason=length): make it shorter")
            outcome.attempts.append({"raw": _short(comp.text or "", MAX_RAW_CHARS), "errors": errors})
            if not errors:
                outcome.obj = obj
                return outcome
            if attempt < MAX_ATTEMPTS:
                messages = [
                    *messages,
                    {"role": "assistant", "content": comp.text or "(空)"},
                    {"role": "user", "content": retry_message(errors)},
                ]
        outcome.error = f"{kind}: malformed reply after {MAX_ATTEMPTS} attempts: " + "; ".join(
            outcome.attempts[-1]["errors"][:MAX_ERRORS_SHOWN]
        )
        return outcome


def _sum_usage(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for key in ("requests", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "paid_usd"):
        got = [p.get(key) for p in parts]
        total[key] = None if any(g is None for g in got) else sum(got)
    if total["latency_s"] is not None:
        total["latency_s"] = round(total["latency_s"], 4)
    return total


# Built by the pipeline (it needs a model client from harness.llm and the run's cache and budget).
METRIC = register(
    Metric(
        name="judge",
        description="LLM judge: claim-level factuality (source), key-point coverage (reference)",
        needs_reference=True,
        order=30,
        version=METRIC_VERSION,
        built_by_pipeline=True,
        columns=(
            Column("judge_factual_precision", "factual precision", headline=True, compact=True),
            Column("judge_contradiction_rate", "contradiction rate ↓", higher_is_better=False, headline=True),
            Column("judge_keypoint_recall", "key-point recall", headline=True, compact=True),
            Column("judge_unsupported_rate", "not in source ↓", higher_is_better=False),
            Column("judge_unverified_rate", "unverified ↓", higher_is_better=False),
            Column("judge_fully_faithful", "fully faithful"),
            Column("judge_claims", "claims"),
        ),
    )
)
