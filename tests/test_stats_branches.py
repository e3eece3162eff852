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


# -- found by the mutation run: exact messages, boundaries and fields no other test reads ----------


def test_holm_records_alpha_on_a_missing_p_too() -> None:
    out = holm({"a": 0.01, "b": None}, 0.07)
    assert (out["b"].p_value, out["b"].adjusted_p, out["b"].reject, out["b"].alpha) == (
        None,
        None,
        False,
        0.07,
    )


def test_leader_comparison_rejects_bad_arguments_with_their_messages() -> None:
    rows = _rows()
    with pytest.raises(KeyError, match="leader 'nobody' is not one of the rows"):
        compare_to_leader(rows, "nobody")
    with pytest.raises(ValueError, match="correction must be 'none' or 'holm', got 'bonferroni'"):
        indistinguishable_from_leader(rows, "leader", correction="bonferroni")
    for alpha in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=f"alpha must be strictly between 0 and 1, got {alpha}"):
            indistinguishable_from_leader(rows, "leader", alpha)


def test_a_p_exactly_at_alpha_is_indistinguishable_from_the_leader() -> None:
    # "worse" differs by the same amount on every item: no centred bootstrap mean reaches |D|, so
    # p = (0 + 1) / (19 + 1) = 0.05 exactly, and "p >= alpha" keeps it indistinguishable at 0.05.
    kw = {"test": "bootstrap", "n_resamples": 19, "seed": 0}
    assert compare_to_leader(_rows(), "leader", **kw)["worse"].p_value == 0.05
    assert indistinguishable_from_leader(_rows(), "leader", 0.05, **kw)["worse"] is True
    assert indistinguishable_from_leader(_rows(), "leader", 0.06, **kw)["worse"] is False


def test_defaults_are_seed_0_2000_resamples_95_percent() -> None:
    x = np.random.default_rng(21).normal(size=15)
    iv = bootstrap_ci(x)
    ci = scipy_bootstrap(x, 2000, 0).confidence_interval
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert (iv.seed, iv.n_resamples, iv.confidence, iv.method) == (0, 2000, 0.95, "percentile")


def test_bad_values_are_named_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"^values\[1\] is inf: scores must be finite"):
        bootstrap_ci([0.1, float("inf")])
    with pytest.raises(TypeError, match=r"^values\[2\] is a string \('x'\), not a number$"):
        bootstrap_ci([0.1, 0.2, "x"])


def test_resampling_in_several_chunks() -> None:
    # 1,000 items x 2,001 resamples is more than one chunk of 2,000,000 elements: the percentile
    # interval is still scipy's, and a constant difference still gives the smoothed floor 1/(R+1)
    # (only the two all-same-sign patterns of 2^1000 reach |D|).
    x = np.random.default_rng(5).uniform(size=1000)
    iv = bootstrap_ci(x, n_resamples=2001, seed=4)
    ci = scipy_bootstrap(x, 2001, 4).confidence_interval
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    ids = [f"k{i:04d}" for i in range(1000)]
    r = paired_difference(
        [0.6] * 1000, [0.5] * 1000, ids_a=ids, ids_b=ids, test="randomization", n_resamples=2001
    )
    assert r.p_value == 1 / 2002 and r.p_one_sided_less == 1.0


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_degenerate_intervals_say_why_and_keep_the_method(method: str) -> None:
    empty = bootstrap_ci([None], method=method)
    assert (empty.method, empty.reason) == (method, "no values (n = 0)")
    one = bootstrap_ci([0.4], method=method)
    assert (one.method, one.reason) == (method, "one value (n = 1): no sampling variability to resample")
    same = bootstrap_ci([0.1] * 7, method=method)
    assert (same.low, same.high, same.method, same.reason) == (
        same.mean,
        same.mean,
        method,
        "all values equal: zero-width interval",
    )


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_degenerate_paired_results_say_why_and_keep_the_method(method: str) -> None:
    kw = {"method": method, "test": "randomization", "confidence": 0.9}
    none = paired_difference([0.1], [0.2], ids_a=["x"], ids_b=["y"], **kw)
    assert (none.test, none.confidence, none.seed, none.n_resamples) == ("randomization", 0.9, 0, 2000)
    assert (none.method, none.reason) == (method, "no common item with a score on both sides (n_common = 0)")
    one = paired_difference([0.1], [0.2], ids_a=["x"], ids_b=["x"], **kw)
    assert (one.method, one.reason) == (method, "one common item (n_common = 1): no interval or test")
    assert (one.mean_a, one.mean_b) == (0.1, 0.2)
    same = paired_difference([0.5, 0.5, 0.5], [0.25, 0.25, 0.25], ids_a=IDS[:3], ids_b=IDS[:3], **kw)
    assert (same.diff, same.low, same.high, same.method, same.reason) == (
        0.25,
        0.25,
        0.25,
        method,
        "all differences equal: zero-width interval",
    )


@pytest.mark.filterwarnings("error")
def test_bca_falls_back_to_percentile_when_every_resample_is_on_one_side() -> None:
    # One resample of [0, 1] (the indices scipy draws): seed 0 draws item 1 twice, seed 11 item 0
    # twice, so the one resampled mean (1.0 or 0.0) is above or below the estimate 0.5 and z0 would be
    # infinite: the percentile interval [1, 1] or [0, 0] instead, said in `reason`, with no warning.
    reason = "BCa undefined (every resampled mean on one side of the estimate); percentile interval"
    for seed, drawn in ((0, 1.0), (11, 0.0)):
        assert np.random.default_rng(seed).integers(0, 2, (1, 2)).tolist() == [[int(drawn)] * 2]
        iv = bootstrap_ci([0.0, 1.0], method="bca", n_resamples=1, seed=seed)
        assert (iv.low, iv.high, iv.method, iv.reason) == (drawn, drawn, "percentile", reason)
        # The same for a paired difference (d = [0, 1]): the fallback and its reason are reported.
        r = paired_difference(
            [0.0, 1.0], [0.0, 0.0], ids_a=["x", "y"], ids_b=["x", "y"], method="bca", n_resamples=1, seed=seed
        )
        assert (r.low, r.high, r.method, r.reason) == (drawn, drawn, "percentile", reason)


def test_settings_of_the_wrong_type_are_rejected_with_their_messages() -> None:
    x = [0.1, 0.5, 0.9]
    for bad in (True, 2.5, 0):
        with pytest.raises(ValueError, match=rf"^n_resamples must be a positive integer, got {bad!r}$"):
            bootstrap_ci(x, n_resamples=bad)
    for bad in (True, -1, 1.0):
        with pytest.raises(
            ValueError, match=r"^seed must be a non-negative integer \(results must be reproducible\)"
        ):
            bootstrap_ci(x, seed=bad)
    for bad in ("0.9", 0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=rf"^confidence must be strictly between 0 and 1, got {bad!r}$"):
            bootstrap_ci(x, confidence=bad)
    with pytest.raises(ValueError, match=r"^method must be one of \('percentile', 'bca'\), got 'BCa'$"):
        bootstrap_ci(x, method="BCa")
    with pytest.raises(
        ValueError, match=r"^test must be one of \('bootstrap', 'randomization'\), got 'paired-bs'$"
    ):
        paired_difference(x, x, ids_a=IDS[:3], ids_b=IDS[:3], test="paired-bs")
    # numpy integers are integers.
    assert bootstrap_ci(x, n_resamples=np.int64(3), seed=np.int32(1)).n_resamples == 3


def test_arrays_must_be_one_dimensional_and_ids_unique() -> None:
    with pytest.raises(ValueError, match=r"^values must be one-dimensional, got shape \(2, 3\)$"):
        bootstrap_ci(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"^b must be one-dimensional"):
        paired_difference([0.1], np.zeros((1, 1)), ids_a=["x"], ids_b=["x"])
    # Integer and boolean arrays are numbers (0/1 scores).
    assert bootstrap_ci(np.array([1, 0, 1, 1]), n_resamples=10).mean == 0.75
    assert bootstrap_ci(np.array([True, False, True, True]), n_resamples=10).mean == 0.75
    # The id named is the first one seen twice, wherever it is.
    with pytest.raises(ValueError, match=r"^ids_b has duplicate id 'b': pairing by id would be ambiguous$"):
        paired_difference([0.1] * 4, [0.1] * 4, ids_a=list("abcd"), ids_b=["a", "b", "c", "b"])
    with pytest.raises(ValueError, match=r"^ids_b has 3 ids for 2 values$"):
        paired_difference([0.1, 0.2], [0.1, 0.2], ids_a=["a", "b"], ids_b=["a", "b", "c"])


def _interval_and_p(r):
    return (r.low, r.high, r.p_value, r.p_one_sided_less)


def test_mixed_id_types_pair_in_type_name_then_text_order() -> None:
    # Ints and strings cannot be compared: the documented order is by type name, then text, so
    # 10 < 2 < 5 (as text) < "3" (type "str" after "int"). The same pairs under string ids already in
    # that order give the identical result; any other order resamples other pairs.
    a = [0.9, 0.1, 0.5, 0.7, 0.2, 0.8]
    b = [0.3, 0.4, 0.1, 0.2, 0.6, 0.5]
    mixed = [5, "3", 10, 2, "z", 33]
    expected_order = [10, 2, 33, 5, "3", "z"]
    kw = {"n_resamples": 200, "seed": 1, "test": "randomization"}
    r = paired_difference(a, b, ids_a=mixed, ids_b=mixed, **kw)
    ranked = [f"p{expected_order.index(item)}" for item in mixed]
    ref = paired_difference(a, b, ids_a=ranked, ids_b=ranked, **kw)
    assert _interval_and_p(r) == _interval_and_p(ref)
    # Ids of one type keep their natural order: 2 < 5 < 10 (not "10" < "2" as text).
    ints = [10, 2, 5, 33, 7, 1]
    r = paired_difference(a, b, ids_a=ints, ids_b=ints, **kw)
    ranked = [f"p{sorted(ints).index(item)}" for item in ints]
    ref = paired_difference(a, b, ids_a=ranked, ids_b=ranked, **kw)
    assert _interval_and_p(r) == _interval_and_p(ref)


@pytest.mark.filterwarnings("error")
def test_bca_falls_back_when_the_jackknife_has_no_spread() -> None:
    # Values 1e-170 apart: the jackknife deviations (5e-171) square to 0 in float64, so the
    # acceleration would divide by zero: the percentile interval instead (here [0, 1e-170]).
    iv = bootstrap_ci([0.0, 1e-170], method="bca", n_resamples=50)
    assert (iv.low, iv.high, iv.method) == (0.0, 1e-170, "percentile")
    assert iv.reason is not None and iv.reason.startswith("BCa undefined")


def test_paired_messages_name_the_side() -> None:
    ok, ids = [0.1, 0.2], ["x", "y"]
    with pytest.raises(TypeError, match=r"^a\[1\] is a string"):
        paired_difference([0.1, "0.2"], ok, ids_a=ids, ids_b=ids)
    with pytest.raises(ValueError, match=r"^b\[0\] is -inf"):
        paired_difference(ok, [float("-inf"), 0.2], ids_a=ids, ids_b=ids)
    with pytest.raises(ValueError, match=r"^a must be one-dimensional"):
        paired_difference(np.zeros((2, 1)), ok, ids_a=ids, ids_b=ids)
    with pytest.raises(ValueError, match=r"^ids_a has duplicate id 'x'"):
        paired_difference(ok, ok, ids_a=["x", "x"], ids_b=ids)
    with pytest.raises(ValueError, match=r"^ids_a has 1 ids for 2 values$"):
        paired_difference(ok, ok, ids_a=["x"], ids_b=ids)


@pytest.mark.parametrize("test", ["bootstrap", "randomization"])
def test_p_values_do_not_depend_on_the_unit_of_the_scores(test: str) -> None:
    # The tie tolerance is relative to the largest |difference|: the same differences in units a
    # million times smaller give the same p-values (here near the exact sign-flip p, 84/1024).
    d = np.array([0.12, -0.03, 0.08, 0.05, -0.06, 0.02, 0.09, -0.01, 0.04, 0.07])
    ids, zeros = IDS[:10], np.zeros(10)
    kw = {"test": test, "n_resamples": 3000, "seed": 6}
    big = paired_difference(d, zeros, ids_a=ids, ids_b=ids, **kw)
    small = paired_difference(d * 1e-6, zeros, ids_a=ids, ids_b=ids, **kw)
    assert (small.p_value, small.p_one_sided_less) == (big.p_value, big.p_one_sided_less)
    assert small.p_value < 0.2
