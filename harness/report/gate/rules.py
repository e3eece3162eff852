"""Gate rules: what the gate checks and how (`conf/gate/default.yaml`), loaded and validated.

Every error is a `GateUsageError` (exit code 2) naming the rules file and the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import CONF_DIR
from harness.report.gate.errors import GateUsageError
from harness.report.stats import TESTS
from harness.score import registry

DEFAULT_RULES_FILE = CONF_DIR / "gate" / "default.yaml"

RULE_FIELDS = (
    "alpha",
    "test",
    "n_resamples",
    "seed",
    "margins",
    "floors",
    "ceilings",
    "baseline_violations",
    "higher_is_better",
)
BASELINE_VIOLATIONS = ("tolerate", "fail")


def check_test_settings(test: str, n_resamples: int, seed: int, who: str) -> None:
    """Validate the statistics settings shared by the rules and `compare_runs`."""
    if test not in TESTS:
        raise GateUsageError(f"{who}: field 'test': must be one of {', '.join(TESTS)}, got {test!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise GateUsageError(f"{who}: field 'n_resamples': must be a positive integer, got {n_resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise GateUsageError(f"{who}: field 'seed': must be a non-negative integer, got {seed!r}")


def _rule_error(source: str, name: str, problem: str) -> GateUsageError:
    return GateUsageError(f"{source}: field '{name}': {problem}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _metric_map(source: str, name: str, value: Any, check: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _rule_error(source, name, f"must be a mapping of metric name to value, got {value!r}")
    out: dict[str, Any] = {}
    for metric, v in value.items():
        where = f"{name}.{metric}"
        if not isinstance(metric, str) or not metric:
            raise _rule_error(source, where, "metric names must be non-empty strings")
        if check == "bool":
            if not isinstance(v, bool):
                raise _rule_error(source, where, f"must be true or false, got {v!r}")
            out[metric] = v
            continue
        if not _is_number(v):
            hint = " (YAML reads 1e-2 as text: write 0.01)" if isinstance(v, str) else ""
            raise _rule_error(source, where, f"must be a finite number, got {v!r}{hint}")
        if check == "margin" and v < 0:
            raise _rule_error(source, where, f"must be >= 0 (the allowed worsening, a magnitude), got {v!r}")
        out[metric] = float(v)
    return out


@dataclass(frozen=True)
class GateRules:
    """What the gate checks and how (see conf/gate/default.yaml).

    - `alpha`: the family-wise error rate of the gate: every margin, floor and ceiling test is one
      Holm family at `alpha` (`test`, `n_resamples`, `seed`: how each test resamples).
    - `margins`: metric -> allowed worsening (>= 0): a drop for higher-is-better metrics, a rise for
      lower-is-better ones; fails when the candidate is significantly worse by more than that.
    - `floors` / `ceilings`: metric -> minimum / maximum candidate mean; fails only when the
      candidate's mean is significantly below the floor (above the ceiling): a one-sided test.
    - `baseline_violations`: a floor/ceiling the baseline's mean is past too. `tolerate` (default):
      it fails only when the candidate is also significantly worse than the baseline on that metric
      (one-sided paired test at `alpha`, margin 0), so an unchanged prompt passes while the
      violation is reported; `fail`: it fails like any significant violation.
    - `higher_is_better`: metric -> bool overrides; default: the metric's declaration (harness/score/)
      (unless the rules say otherwise).
    - `source`: where the rules came from, for error messages.
    """

    alpha: float = 0.05
    test: str = "randomization"
    n_resamples: int = 2000
    seed: int = 0
    margins: Mapping[str, float] = field(default_factory=dict)
    floors: Mapping[str, float] = field(default_factory=dict)
    ceilings: Mapping[str, float] = field(default_factory=dict)
    baseline_violations: str = "tolerate"
    higher_is_better: Mapping[str, bool] = field(default_factory=dict)
    source: str = "gate rules"

    def __post_init__(self) -> None:
        src = self.source
        if not _is_number(self.alpha) or not 0.0 < self.alpha < 1.0:
            raise _rule_error(src, "alpha", f"must be a number strictly between 0 and 1, got {self.alpha!r}")
        check_test_settings(self.test, self.n_resamples, self.seed, src)
        object.__setattr__(self, "margins", _metric_map(src, "margins", self.margins, "margin"))
        object.__setattr__(self, "floors", _metric_map(src, "floors", self.floors, "number"))
        object.__setattr__(self, "ceilings", _metric_map(src, "ceilings", self.ceilings, "number"))
        if self.baseline_violations not in BASELINE_VIOLATIONS:
            raise _rule_error(
                src,
                "baseline_violations",
                f"must be one of {', '.join(BASELINE_VIOLATIONS)}, got {self.baseline_violations!r}",
            )
        object.__setattr__(
            self, "higher_is_better", _metric_map(src, "higher_is_better", self.higher_is_better, "bool")
        )
        if not (self.margins or self.floors or self.ceilings):
            raise GateUsageError(f"{src}: no margins, floors or ceilings: nothing to gate")

    def is_higher_better(self, metric: str) -> bool:
        return self.higher_is_better.get(metric, registry.higher_is_better(metric))

    def rule_metrics(self) -> dict[str, str]:
        """Every metric the rules name -> the first field naming it (for messages)."""
        out: dict[str, str] = {}
        for name in ("margins", "floors", "ceilings"):
            for metric in getattr(self, name):
                out.setdefault(metric, name)
        return out


def load_rules(path: Path | str) -> GateRules:
    """Gate rules from a YAML file; every error names the file and the field."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GateUsageError(f"--rules {path}: cannot read the rules file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GateUsageError(f"{path}: invalid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise GateUsageError(
            f"{path}: must be a mapping of {', '.join(RULE_FIELDS)}; got {type(data).__name__}"
        )
    for key in data:
        if key not in RULE_FIELDS:
            raise _rule_error(
                str(path), str(key), f"unknown field (expected one of {', '.join(RULE_FIELDS)})"
            )
    return GateRules(**data, source=str(path))
