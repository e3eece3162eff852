"""Statistics branches the main tests never visit, pinned from outside the code.

Expected values come from `scipy.stats.bootstrap` (which draws the same indices with the same seed)
or from exact enumeration of the sign-flip distribution, never from the function under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.report.stats import (
    bootstrap_ci,
    compare_to_leader,
    holm,
    indistinguishable_from_leader,
    paired_difference,
)
from tests.scipy_reference import bootstrap_null_p_less, scipy_bootstrap

IDS = [f"i{k:02d}" for k in range(20)]


def test_bootstrap_test_uses_the_centred_bootstrap_null_not_sign_flips() -> None:
    # A fixed, skewed input: the bootstrap null (resampled means centred at 0) and the sign-flip null
    # give clearly different p-values, and the bootstrap one is reproduced from scipy's distribution.
    a = np.array([0.9, 0.2, 0.4, 0.8, 0.1, 0.7, 0.3, 0.6, 0.5, 0.95, 0.15, 0.35])
    b = np.array([0.5, 0.3, 0.35, 0.6, 0.3, 0.5, 0.3, 0.55, 0.45, 0.4, 0.3, 0.3])
    ids = IDS[:12]
    d = a - b
    diff = d.mean()
    r = paired_difference(a, b, ids_a=ids, ids_b=ids, test="bootstrap", n_resamples=999, seed=3)
    assert r.p_one_sided_less == pytest.approx(bootstrap_null_p_less(d, 999, 3))
    null = scipy_bootstrap(d, 999, 3).bootstrap_distribution
    null = null - null.mean()
    two = np.count_nonzero(np.abs(null) >= abs(diff) - 1e-9 * np.abs(d).max())
    assert r.p_value == pytest.approx((two + 1) / 1000)
    flip = paired_difference(a, b, ids_a=ids, ids_b=ids, test="randomization", n_resamples=999, seed=3)
    assert r.test == "bootstrap" and flip.test == "randomization"
    assert abs(r.p_value - flip.p_value) > 0.02


def _sign_flip_cdf(d: list[int], at: float) -> tuple[float, float]:
    """Exact P(S <= at) and P(|S| >= |at|) of S = mean(+-d_i), every sign pattern equally likely."""
    n = len(d)
    less = two = 0
    for mask in range(2**n):
        s = sum(v if mask >> k & 1 else -v for k, v in enumerate(d)) / n
        less += s <= at + 1e-12
        two += abs(s) >= abs(at) - 1e-12
    return less / 2**n, two / 2**n


def test_ties_at_the_observed_difference_count_on_zero_one_scores() -> None:
    # Two 0/1 rows (format_ok): 3 items only a passes, 4 only b, 13 both or neither. Many sign
    # patterns tie the observed D = -1/20 exactly: the one-sided p counts them (exactly 64/128 = 0.5;
    # without the ties 29/128 = 0.23) and the two-sided p is exactly 1 (an odd number of +-1 values).
    a = [1] * 3 + [0] * 4 + [1] * 6 + [0] * 7
    b = [0] * 3 + [1] * 4 + [1] * 6 + [0] * 7
    r = paired_difference(a, b, ids_a=IDS, ids_b=IDS, test="randomization", n_resamples=2000, seed=0)
    exact_less, exact_two = _sign_flip_cdf([1, 1, 1, -1, -1, -1, -1], -1 / 7)
    assert (exact_less, exact_two) == (0.5, 1.0)
    assert r.diff == pytest.approx(-0.05)
    assert r.p_one_sided_less == pytest.approx(exact_less, abs=0.035)
    assert r.p_value == 1.0


def test_paired_bca_interval_is_bca_of_the_differences() -> None:
    rng = np.random.default_rng(4)
    a = rng.lognormal(size=20)
    b = rng.lognormal(size=20) * 0.5
    r = paired_difference(a, b, ids_a=IDS, ids_b=IDS, method="bca", n_resamples=999, seed=2)
    ci = scipy_bootstrap(a - b, 999, 2, method="BCa").confidence_interval
    assert r.method == "bca"
    assert (r.low, r.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_bca_counts_ties_half_like_scipy_on_zero_one_data() -> None:
    x = np.array([1.0] * 16 + [0.0] * 4)  # every resampled mean is a multiple of 0.05: many ties
    for seed in (0, 1):
        iv = bootstrap_ci(x, method="bca", n_resamples=999, seed=seed)
        ci = scipy_bootstrap(x, 999, seed, method="BCa").confidence_interval
        assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-9), seed


def test_confidence_level_reaches_the_interval() -> None:
    x = np.random.default_rng(8).normal(size=30)
    for confidence in (0.8, 0.99):
        iv = bootstrap_ci(x, confidence=confidence, n_resamples=500, seed=5)
        ci = scipy_bootstrap(x, 500, 5, confidence=confidence).confidence_interval
        assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
        assert iv.confidence == confidence


def test_holm_rejects_an_adjusted_p_exactly_at_alpha() -> None:
    out = holm({"a": 0.025, "b": 0.025}, 0.05)
    assert [(h.adjusted_p, h.reject) for h in out.values()] == [(0.05, True), (0.05, True)]
    assert holm({"a": 0.0, "b": 1.0}, 0.05)["a"].reject  # p = 0 and 1 are valid p-values


def test_holm_skips_a_missing_p_in_the_middle_of_the_family() -> None:
    out = holm({"a": 0.01, "b": None, "c": 0.02, "d": float("nan")}, 0.05)
    # m = 2: a -> 2 x 0.01, c -> max(0.02, 1 x 0.02).
    assert out["c"].adjusted_p == pytest.approx(0.02) and out["c"].reject
    assert out["a"].adjusted_p == pytest.approx(0.02)
    assert out["b"].adjusted_p is None and not out["b"].reject and out["d"].adjusted_p is None


def test_validation_boundaries() -> None:
    x = [0.1, 0.5, 0.9]
    assert bootstrap_ci(x, n_resamples=1).n_resamples == 1
    for confidence in (0.0, 1.0):
        with pytest.raises(ValueError, match="confidence"):
            bootstrap_ci(x, confidence=confidence)
    for alpha in (0.0, 1.0):
        with pytest.raises(ValueError, match="alpha"):
            holm({"a": 0.1}, alpha)
    with pytest.raises(ValueError, match="outside"):
        holm({"a": 1.5})


def _rows() -> dict[str, tuple[list[str], list[float]]]:
    ids = IDS[:6]
    lead = [0.5] * 6
    return {
        "leader": (ids, lead),
        "twin": (ids, list(lead)),
        "twin2": (ids, list(lead)),
        # Worse on every item by 0.1: the sign-flip p is exactly 2 / 64 = 0.03125.
        "worse": (ids, [0.4] * 6),
    }


def test_compare_to_leader_passes_its_settings_on() -> None:
    out = compare_to_leader(_rows(), "leader", test="randomization", n_resamples=4000, seed=9)
    worse = out["worse"]
    assert (worse.test, worse.n_resamples, worse.seed) == ("randomization", 4000, 9)
    assert worse.p_value == pytest.approx(2 / 64, abs=0.01)


def test_holm_correction_changes_who_is_indistinguishable_from_the_leader() -> None:
    kw = {"test": "randomization", "n_resamples": 4000, "seed": 0}
    raw = indistinguishable_from_leader(_rows(), "leader", 0.05, **kw)
    corrected = indistinguishable_from_leader(_rows(), "leader", 0.05, correction="holm", **kw)
    assert raw == {"leader": True, "twin": True, "twin2": True, "worse": False}
    # Holm over 3 rows: 3 x 0.031 > 0.05.
    assert corrected == {"leader": True, "twin": True, "twin2": True, "worse": True}
    # At alpha 0.1 Holm still rejects (0.094 <= 0.1): alpha reaches the correction.
    strict = indistinguishable_from_leader(_rows(), "leader", 0.1, correction="holm", **kw)
    assert strict["worse"] is False
