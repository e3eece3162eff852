"""BERTScore of the generated 要点 against the human reference bullets (bert-score's BERTScorer).

Candidate text = the generated bullets joined with "\\n"; reference text = `Item.reference_text`.
Defaults follow bert-score's `lang="zh"`: `bert-base-chinese`, layer 8, rescaled with the zh
baseline that ships inside bert-score (passed explicitly, so rescaling never silently fails).

The model is a Hugging Face hub id (looked up in the local HF cache, honouring HF_HOME,
HF_HUB_CACHE and HF_HUB_OFFLINE) or a local directory. It is loaded on the first `score()` and
kept per process, so several jobs in one process load it once. Anything that prevents scoring
(model not available, missing baseline, missing layer count) raises `MetricUnavailable` with
the reason and the fix, within seconds.

The numbers are those of `BERTScorer.score` (same bert-score functions for tokenising, embedding,
matching and rescaling), but each reference is embedded once per process and reused by every later
row over the same references, and texts are batched by token count (`_bert_embeddings`).
`device: auto` uses a GPU when torch sees one.

Texts longer than the tokenizer's `model_max_length` are truncated by bert-score; such items are
flagged "bertscore_truncated".

Empty output (and empty reference): bert-score's own rule. bert-score sets the *raw* P/R/F of an
empty candidate or reference to 0 and then rescales like any other score, (0 - b) / (1 - b) with
b the baseline of the layer: -1.21 (P, R and F1) for bert-base-chinese at layer 8 (b = 0.548),
below a random pair (about 0) and any real digest. Such texts are not sent to bert-score (it
crashes on them under transformers 5); the harness applies the same rule itself and flags the row
"empty_output" / "empty_reference". The row stays in the mean: excluding it would let a model that
returns nothing on hard items look better. (Before bertscore/2 an empty output scored 0.0 *after*
rescaling, the level of an unrelated pair, and could outrank poor digests.) Without rescaling the
value is 0.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import importlib.metadata
import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data.schema import Item
from harness.score.base import MetricResult, MetricUnavailable
from harness.score.registry import Column, Metric, register

METRIC_VERSION = "bertscore/2"  # 2: empty texts follow bert-score (raw 0, rescaled)
BASELINE_LANG = "zh"
VALUE_KEYS = ("bertscore_p", "bertscore_r", "bertscore_f1")
DEFAULT_HUB_TIMEOUT = 5.0  # seconds for the one reachability check when the model is not cached

# Organisations the Hub moved the old un-namespaced models into ("bert-base-chinese" is
# "google-bert/bert-base-chinese"): same weights, so bert-score's layer table and baselines apply.
_CANONICAL_ORGS = ("google-bert", "FacebookAI", "distilbert", "openai-community")
_TRUE = ("1", "ON", "YES", "TRUE")
# A tokenizer saved without model_max_length reports a huge number (transformers' VERY_LARGE_INTEGER).
_UNSET_MAX_LENGTH = 1_000_000

# Loaded BERTScorer objects, keyed by (model, num_layers, device); `_LOAD_COUNT` counts real loads.
_LOADED: dict[tuple[str, int, str], Any] = {}
_LOAD_COUNT = 0
_LOCK = threading.Lock()


def _fix_hint(model: str) -> str:
    return (
        "Fix: pre-download it on a machine with network (`hf download "
        f"{model}`) and copy the Hugging Face cache (HF_HOME, default ~/.cache/huggingface) here, "
        "or point metrics.bertscore.model=/path/to/local/dir at a directory with config.json, "
        "tokenizer files and weights (and set metrics.bertscore.num_layers=N), "
        "or turn the metric off with metrics.bertscore.enabled=false."
    )


def _hf_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) as set now, not when huggingface_hub was imported."""
    return any(
        os.environ.get(v, "").strip().upper() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache as the environment says now (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model


def _is_local(model: str) -> bool:
    return os.path.isdir(os.path.expanduser(model))


def _hub_names(repo_id: str) -> list[str]:
    names = [repo_id]
    org, _, name = repo_id.rpartition("/")
    if org in _CANONICAL_ORGS:
        names.append(name)
    return names


def _known_names(model: str) -> list[str]:
    """Names under which bert-score may know `model` (layer table, shipped baselines), best first."""
    if not _is_local(model):
        return _hub_names(model)
    path = Path(os.path.expanduser(model)).resolve()
    # A snapshot inside an HF cache: .../models--org--name/snapshots/<commit>
    if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
        return _hub_names(path.parent.parent.name[len("models--") :].replace("--", "/"))
    return [path.name]


def _shipped_baseline(names: Sequence[str]) -> Path | None:
    """bert-score's own zh baseline file for the first of `names` that has one (no bert_score import)."""
    spec = importlib.util.find_spec("bert_score")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "rescale_baseline" / BASELINE_LANG
    for name in names:
        candidate = root / f"{name}.tsv"
        if candidate.is_file():
            return candidate
    return None


def _check_baseline(path: Path, num_layers: int) -> None:
    """bert-score reads row `num_layers` (columns P, R, F) of the baseline file: make sure it is there."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise MetricUnavailable(
            f"BERTScore baseline file {str(path)!r} cannot be read ({e}). "
            "Fix metrics.bertscore.baseline_path or set metrics.bertscore.rescale_with_baseline=false."
        ) from e
    header, data = (rows[0], rows[1:]) if rows else ([], [])
    if [h.strip() for h in header[1:4]] != ["P", "R", "F"] or len(data) <= num_layers:
        raise MetricUnavailable(
            f"BERTScore baseline file {str(path)!r} has no row for layer {num_layers} (expected a header "
            f"LAYER,P,R,F and one row per layer 0..{num_layers}; found {len(data)} rows). Fix "
            "metrics.bertscore.baseline_path or metrics.bertscore.num_layers, or set "
            "metrics.bertscore.rescale_with_baseline=false."
        )


def _baseline_row(path: Path, num_layers: int) -> tuple[float, float, float]:
    """(P, R, F) of the baseline file's row for `num_layers` (the row bert-score rescales with)."""
    _check_baseline(path, num_layers)
    with path.open(newline="", encoding="utf-8") as f:
        row = list(csv.reader(f))[1 + num_layers]
    return float(row[1]), float(row[2]), float(row[3])


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class _Source:
    """Where the model is loaded from: `load_path` is a local directory, or a hub id (download)."""

    load_path: str
    origin: str  # "local", "hf-cache" or "hub"
    revision: str | None = None


def resolve_model(model: str, hub_timeout: float | None = None) -> _Source:
    """Find `model` without hanging: local directory, else the HF cache, else one quick hub check.

    Raises MetricUnavailable (saying why and how to fix it) when the model cannot be had.
    """
    expanded = os.path.expanduser(model)
    if os.path.isdir(expanded):
        return _Source(str(Path(expanded).resolve()), "local")
    if _looks_like_path(model):
        raise MetricUnavailable(
            f"BERTScore model directory {model!r} does not exist. Fix: point "
            "metrics.bertscore.model=/path/to/local/dir at a directory with config.json, tokenizer files "
            "and weights (and set metrics.bertscore.num_layers=N)."
        )

    from huggingface_hub import try_to_load_from_cache

    cache = hf_cache_dir()
    try:
        cached = try_to_load_from_cache(model, "config.json", cache_dir=str(cache))
    except ValueError as e:  # HFValidationError: not a valid repo id
        raise MetricUnavailable(
            f"BERTScore model {model!r} is neither an existing directory nor a valid Hugging Face model id "
            f"({e}). Fix metrics.bertscore.model."
        ) from e
    if isinstance(cached, str):
        snapshot = Path(cached).parent
        return _Source(str(snapshot), "hf-cache", snapshot.name)

    if _hf_offline():
        raise MetricUnavailable(
            f"BERTScore model {model!r} is not in the Hugging Face cache at {cache} and HF_HUB_OFFLINE is "
            f"set, so it cannot be downloaded. {_fix_hint(model)}"
        )

    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    if hub_timeout is None:
        hub_timeout = float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or DEFAULT_HUB_TIMEOUT)
    try:
        get_hf_file_metadata(hf_hub_url(model, "config.json"), timeout=hub_timeout)
    except Exception as e:  # any failure means "cannot download"
        raise MetricUnavailable(
            f"BERTScore model {model!r} is not in the Hugging Face cache at {cache} (HF_HUB_OFFLINE is not "
            f"set) and could not be fetched from the Hub ({type(e).__name__}: {str(e)[:300]}). "
            f"{_fix_hint(model)}"
        ) from e
    return _Source(model, "hub")


def loaded_scorer(model: str, num_layers: int, device: str = "cpu") -> Any:
    """The process-wide `bert_score.BERTScorer` for (model, num_layers, device), loaded on first use.

    device "auto": "cuda" when torch sees a GPU, else "cpu"."""
    global _LOAD_COUNT
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    key = (str(Path(os.path.expanduser(model)).resolve()) if _is_local(model) else model, num_layers, device)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        source = resolve_model(model)
        from bert_score import BERTScorer

        try:
            bert = BERTScorer(model_type=source.load_path, num_layers=num_layers, device=device, nthreads=0)
        except AssertionError as e:  # bert-score's check of num_layers against the model
            raise MetricUnavailable(
                f"BERTScore model {model!r}: {e}. Fix metrics.bertscore.num_layers."
            ) from e
        except (OSError, ValueError, KeyError) as e:
            raise MetricUnavailable(
                f"BERTScore model {model!r} could not be loaded from {source.load_path!r} ({source.origin}): "
                f"{type(e).__name__}: {str(e)[:300]}. {_fix_hint(model)}"
            ) from e
        tokenizer = bert._tokenizer
        if tokenizer.model_max_length > _UNSET_MAX_LENGTH:
            # Saved without model_max_length: bert-score would not truncate and the model would crash
            # on long texts. Use the model's number of positions instead.
            tokenizer.model_max_length = int(bert._model.config.max_position_embeddings)
        if source.origin == "hub":  # just downloaded by transformers into its cache: note the commit
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(model, "config.json")
            if isinstance(cached, str):
                source = _Source(source.load_path, source.origin, Path(cached).parent.name)
        bert.harness_source = source
        bert.harness_key = key  # what reference embeddings are cached under (with max length, text hash)
        _LOADED[key] = bert
        _LOAD_COUNT += 1
        return bert


class BertScoreScorer:
    """BERTScore P/R/F1 (bert-score) of the generated bullets against the reference bullets."""

    name = "bertscore"

    def __init__(
        self,
        model: str = "bert-base-chinese",
        num_layers: int | None = 8,
        batch_size: int = 16,
        rescale_with_baseline: bool = True,
        baseline_path: str | None = None,
        device: str = "cpu",
        idf: bool = False,
    ) -> None:
        """Store the settings; nothing is loaded (and torch is not imported) until `score()`."""
        if not model or not str(model).strip():
            raise ValueError("metrics.bertscore.model is empty: give a hub id or a local directory")
        if num_layers is not None and (isinstance(num_layers, bool) or int(num_layers) < 0):
            raise ValueError(f"metrics.bertscore.num_layers must be a layer number >= 0, not {num_layers!r}")
        if int(batch_size) < 1:
            raise ValueError(f"metrics.bertscore.batch_size must be >= 1, not {batch_size!r}")
        self.model = str(model)
        self.num_layers = None if num_layers is None else int(num_layers)
        self.batch_size = int(batch_size)
        self.rescale_with_baseline = bool(rescale_with_baseline)
        self.baseline_path = baseline_path
        self.device = device
        self.idf = bool(idf)
        self._bert: Any = None
        # idf weights from the whole dataset's references (`prepare`), computed once: without it,
        # each score() call uses its own references and the numbers depend on the batching.
        self._idf_corpus: list[str] | None = None
        self._idf_dict: Any = None

    def prepare(self, items: Sequence[Item]) -> None:
        """Called once with every item of the dataset before any score(): fixes the idf corpus."""
        self._idf_corpus = [it.reference_text.strip() for it in items if it.reference_text.strip()]
        self._idf_dict = None

    # -- settings -------------------------------------------------------------------------------

    def resolved_num_layers(self) -> int:
        """The layer to use: as configured, else bert-score's tuned layer for a model it knows."""
        if self.num_layers is not None:
            return self.num_layers
        from bert_score.utils import model2layers

        for name in _known_names(self.model):
            if name in model2layers:
                return int(model2layers[name])
        raise MetricUnavailable(
            f"BERTScore model {self.model!r} is not one bert-score knows, so it has no default layer. "
            "Fix: set metrics.bertscore.num_layers=N (e.g. 8 for bert-base-chinese)."
        )

    def resolved_baseline(self, check_layers: int | None = None) -> Path | None:
        """The baseline file used for rescaling, or None when rescaling is off.

        Raises MetricUnavailable if rescaling is on and there is no usable baseline.
        """
        if not self.rescale_with_baseline:
            return None
        if self.baseline_path:
            path = Path(os.path.expanduser(self.baseline_path))
            if not path.is_file():
                raise MetricUnavailable(
                    f"BERTScore baseline file metrics.bertscore.baseline_path={self.baseline_path!r} "
                    "does not exist. Fix the path or set metrics.bertscore.rescale_with_baseline=false."
                )
        else:
            found = _shipped_baseline(_known_names(self.model))
            if found is None:
                raise MetricUnavailable(
                    f"BERTScore rescaling is on but bert-score ships no {BASELINE_LANG} baseline for model "
                    f"{self.model!r} (looked for {', '.join(n + '.tsv' for n in _known_names(self.model))}). "
                    "Fix: set metrics.bertscore.baseline_path=/path/to/baseline.tsv (header LAYER,P,R,F, one "
                    "row per layer) or metrics.bertscore.rescale_with_baseline=false."
                )
            path = found
        if check_layers is not None:
            _check_baseline(path, check_layers)
        return path

    def _load(self) -> Any:
        if self._bert is None:
            layers = self.resolved_num_layers()
            self.resolved_baseline(check_layers=layers)  # fail before loading the model
            self._bert = loaded_scorer(self.model, layers, self.device)
        return self._bert

    # -- Scorer protocol ------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        """Model, layer, rescaling baseline, idf and library versions: what determines the numbers."""
        try:
            baseline = self.resolved_baseline()
        except MetricUnavailable:
            baseline = None
        try:
            layers: int | None = self.resolved_num_layers()
        except MetricUnavailable:
            layers = None
        source = getattr(self._bert, "harness_source", None)
        return {
            "metric_version": METRIC_VERSION,
            "model": self.model,
            "model_revision": source.revision if source else None,
            "num_layers": layers,
            "rescaled": self.rescale_with_baseline,
            "baseline": baseline.name if baseline else None,
            "baseline_sha256": _file_sha256(baseline) if baseline else None,
            "idf": self.idf,
            "idf_corpus": (
                None
                if not self.idf
                else f"all {len(self._idf_corpus)} non-empty references of the dataset"
                if self._idf_corpus is not None
                else "non-empty references of each score() call"
            ),
            "max_length": self._bert._tokenizer.model_max_length if self._bert is not None else None,
            "device": self._bert.device if self._bert is not None else self.device,
            "bert_score_version": _version("bert-score"),
            "transformers_version": _version("transformers"),
            "torch_version": _version("torch"),
        }

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        """P/R/F1 per item, in order. Empty outputs get bert-score's raw 0, rescaled (negative
        with a baseline), and flag "empty_output"."""
        if len(items) != len(candidates):
            raise ValueError(f"{len(items)} items but {len(candidates)} candidates")
        if not items:
            return []
        base = self._load()
        tokenizer = base._tokenizer
        max_length = int(tokenizer.model_max_length)

        from bert_score.utils import sent_encode

        ids: dict[str, list[int]] = {}  # what bert-score encodes (truncated), kept for the embedding

        def n_tokens(text: str) -> int:
            if text not in ids:
                ids[text] = sent_encode(tokenizer, text)
            if len(ids[text]) < max_length:  # not truncated: the full count
                return len(ids[text])
            return len(tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

        results: list[MetricResult | None] = [None] * len(items)
        todo: list[int] = []
        cands: list[str] = []
        refs: list[str] = []
        for i, (item, bullets) in enumerate(zip(items, candidates, strict=True)):
            cand = "\n".join(bullets).strip()
            ref = item.reference_text.strip()
            flags = [f for f, empty in (("empty_output", not cand), ("empty_reference", not ref)) if empty]
            if flags:  # bert-score's rule: raw 0, then rescaled (module docstring)
                results[i] = MetricResult(values=self._empty_values(), flags=flags)
                continue
            cand_tokens, ref_tokens = n_tokens(cand), n_tokens(ref)
            evidence: dict[str, Any] = {"candidate_tokens": cand_tokens, "reference_tokens": ref_tokens}
            flags = []
            if cand_tokens > max_length or ref_tokens > max_length:
                flags.append("bertscore_truncated")
                evidence["max_length"] = max_length
            results[i] = MetricResult(values={}, flags=flags, evidence=evidence)
            todo.append(i)
            cands.append(cand)
            refs.append(ref)

        if todo:
            p, r, f = self._bert_score(base, cands, refs, items, ids)
            for j, i in enumerate(todo):
                res = results[i]
                assert res is not None
                res.values.update(
                    {"bertscore_p": float(p[j]), "bertscore_r": float(r[j]), "bertscore_f1": float(f[j])}
                )
        return [res for res in results if res is not None]

    def _empty_values(self) -> dict[str, float]:
        """P/R/F1 of an empty candidate or reference: raw 0, rescaled as bert-score rescales."""
        baseline = self.resolved_baseline()
        if baseline is None:
            return dict.fromkeys(VALUE_KEYS, 0.0)
        b = _baseline_row(baseline, self.resolved_num_layers())
        return {k: (0.0 - v) / (1.0 - v) for k, v in zip(VALUE_KEYS, b, strict=True)}

    def _bert_score(
        self, base: Any, cands: list[str], refs: list[str], items: Sequence[Item], ids: dict[str, list[int]]
    ) -> Any:
        # A private view of the shared BERTScorer: same model and tokenizer, this scorer's idf and
        # baseline settings. The shared object itself is never changed.
        view = copy.copy(base)
        view._idf = self.idf
        view._idf_dict = None
        if self.idf and self._idf_corpus is not None:
            if self._idf_dict is None:
                view.compute_idf(self._idf_corpus)
                self._idf_dict = view._idf_dict
            view._idf_dict = self._idf_dict
        elif self.idf:
            # idf over all references of the call, also those of empty outputs, so that two
            # systems scored on the same items get the same weights.
            view.compute_idf([it.reference_text.strip() for it in items if it.reference_text.strip()])
        if self.idf:
            idf = view._idf_dict.__getitem__
        else:  # BERTScorer.score's weights without idf: 1, and 0 for [CLS] and [SEP]
            special = {view._tokenizer.sep_token_id, view._tokenizer.cls_token_id}

            def idf(token_id: int) -> float:
                return 0.0 if token_id in special else 1.0

        from harness.score._bert_embeddings import bert_score_pairs

        preds = bert_score_pairs(view, base.harness_key, cands, refs, idf, self.batch_size, ids)
        baseline = self.resolved_baseline()
        if baseline is not None:  # as BERTScorer.score: (score - b) / (1 - b), b from the layer's row
            view._lang = BASELINE_LANG
            view._baseline_vals = None
            view.baseline_path = str(baseline)
            view.use_custom_baseline = True
            preds = (preds - view.baseline_vals) / (1 - view.baseline_vals)
        return preds[:, 0], preds[:, 1], preds[:, 2]


def _build(options: Any) -> BertScoreScorer | None:
    if not options.enabled:
        return None
    return BertScoreScorer(
        model=options.model,
        num_layers=options.num_layers,
        batch_size=options.batch_size,
        rescale_with_baseline=options.rescale_with_baseline,
        baseline_path=options.baseline_path,
        device=options.device,
        idf=options.idf,
    )


METRIC = register(
    Metric(
        name="bertscore",
        description="BERTScore P/R/F1 (bert-score) against the reference digest",
        needs_reference=True,
        order=20,
        build=_build,
        columns=(
            Column("bertscore_p", "BERTScore P"),
            Column("bertscore_r", "BERTScore R"),
            Column("bertscore_f1", "BERTScore F1", headline=True, compact=True),
        ),
    )
)
