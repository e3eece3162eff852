"""Tests for harness.report.stats: intervals, paired tests, Holm, leader comparison.

Every simulation uses fixed seeds, so each test is deterministic; the tolerances are chosen so that
a correct implementation passes with a wide margin on any numpy/scipy version (the Monte Carlo
error is stated next to each) while a wrong one (wrong tail, wrong width, no +1 smoothing,
positional pairing, ...) fails.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from harness.report.stats import (
    HolmResult,
    Interval,
    PairedResult,
    bootstrap_ci,
    compare_to_leader,
    holm,
    indistinguishable_from_leader,
    paired_difference,
)

TESTS = ("bootstrap", "randomization")
METHODS = ("percentile", "bca")


def ids_for(n: int) -> list[str]:
    return [f"item-{i:04d}" for i in range(n)]


# --------------------------------------------------------------------------------------------------
# bootstrap_ci


@pytest.mark.parametrize("method", METHODS)
def test_bootstrap_ci_matches_scipy_with_same_seed(method: str) -> None:
    # Same indices as scipy.stats.bootstrap (documented): a right-skewed sample where BCa and
    # percentile differ clearly, so a BCa silently computed as percentile would fail too.
    x = np.random.default_rng(3).lognormal(0.0, 1.0, 25)
    ours = bootstrap_ci(x, method=method, seed=7)
    ref = sps.bootstrap(
        (x,),
        np.mean,
        vectorized=True,
        n_resamples=2000,
        method="BCa" if method == "bca" else "percentile",
        random_state=np.random.default_rng(7),
    ).confidence_interval
    assert ours.method == method and ours.reason is None
    assert ours.low == pytest.approx(ref.low, rel=1e-9)
    assert ours.high == pytest.approx(ref.high, rel=1e-9)
    assert ours.mean == pytest.approx(x.mean())
    percentile = bootstrap_ci(x, method="percentile", seed=7)
    se = x.std(ddof=1) / math.sqrt(x.size)
    assert abs(bootstrap_ci(x, method="bca", seed=7).high - percentile.high) > 0.2 * se


@pytest.mark.parametrize("method", METHODS)
def test_bootstrap_ci_coverage_on_skewed_data(method: str) -> None:
    # 400 samples of n = 50 from Beta(2, 5) (skewed, true mean 2/7). A 95% interval should cover
    # the true mean in ~95% of them. Binomial sd for 400 simulations at p = 0.95 is 1.09 pp;
    # percentile/BCa intervals of a mean at n = 50 undercover by about 1 pp (plug-in sd with n
    # instead of n - 1, normal instead of t quantiles), so the expected figure is ~94%.
    # Accept [0.91, 0.98]: about -3 sd below the expected 94% and +3.5 sd above; a 90% interval
    # (~0.89) or a 99% one (~0.99) fails. Measured: 0.9475 (percentile), 0.9400 (BCa).
    true_mean = 2 / 7
    n_sims = 400
    covered = 0
    for sim in range(n_sims):
        x = np.random.default_rng(10_000 + sim).beta(2.0, 5.0, 50)
        ci = bootstrap_ci(x, seed=sim, method=method)
        covered += ci.low <= true_mean <= ci.high
    coverage = covered / n_sims
    print(f"\n{method} 95% bootstrap CI coverage, n=50 Beta(2,5), {n_sims} simulations: {coverage:.4f}")
    assert 0.91 <= coverage <= 0.98


def test_bootstrap_ci_excludes_and_counts_missing_values() -> None:
    ci = bootstrap_ci([0.2, None, float("nan"), 0.4, np.nan, 0.6], seed=3)
    clean = bootstrap_ci([0.2, 0.4, 0.6], seed=3)
    assert (ci.n, ci.n_excluded) == (3, 3)
    assert ci.mean == pytest.approx(0.4)
    assert (ci.low, ci.high) == (clean.low, clean.high)
    arr = bootstrap_ci(np.array([0.2, np.nan, 0.4, 0.6]), seed=3)
    assert (arr.n, arr.n_excluded, arr.low, arr.high) == (3, 1, clean.low, clean.high)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("method", METHODS)
def test_bootstrap_ci_degenerate_inputs(method: str) -> None:
    empty = bootstrap_ci([], method=method)
    assert (empty.mean, empty.low, empty.high, empty.n, empty.n_excluded) == (None, None, None, 0, 0)
    assert empty.reason
    only_missing = bootstrap_ci([None, float("nan")], method=method)
    assert (only_missing.mean, only_missing.n, only_missing.n_excluded) == (None, 0, 2)
    one = bootstrap_ci([0.3, None], method=method)
    assert (one.mean, one.low, one.high, one.n, one.n_excluded) == (0.3, None, None, 1, 1)
    assert "n = 1" in one.reason
    # All values equal: a zero-width interval at the mean (scipy's BCa returns NaN here).
    same = bootstrap_ci([0.7] * 30, method=method)
    assert same.low == same.high == same.mean == pytest.approx(0.7)
    assert same.n == 30
    two = bootstrap_ci([0.1, 0.2], method=method)
    assert 0.1 <= two.low <= two.high <= 0.2


def test_bootstrap_ci_is_deterministic_and_records_settings() -> None:
    x = np.random.default_rng(0).random(100)
    first = bootstrap_ci(x, seed=11, n_resamples=500, confidence=0.9, method="bca")
    assert first == bootstrap_ci(x, seed=11, n_resamples=500, confidence=0.9, method="bca")
    assert isinstance(first, Interval)
    assert (first.seed, first.n_resamples, first.confidence, first.method) == (11, 500, 0.9, "bca")
    other = bootstrap_ci(x, seed=12, n_resamples=500, confidence=0.9, method="bca")
    assert (other.low, other.high) != (first.low, first.high)
    wider = bootstrap_ci(x, seed=11, n_resamples=500, confidence=0.99, method="bca")
    assert wider.low < first.low and wider.high > first.high


def test_invalid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="method"):
        bootstrap_ci([0.1, 0.2], method="basic")
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([0.1, 0.2], confidence=95)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([0.1, 0.2], n_resamples=0)
    with pytest.raises(ValueError, match="seed"):
        bootstrap_ci([0.1, 0.2], seed=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([0.1, float("inf")])
    with pytest.raises(TypeError, match="string"):
        bootstrap_ci([0.1, "0.2"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="test"):
        paired_difference([0.1], [0.2], ids_a=["x"], ids_b=["x"], test="t-test")
    with pytest.raises(ValueError, match="ids_a has 1 ids for 2 values"):
        paired_difference([0.1, 0.2], [0.2], ids_a=["x"], ids_b=["x"])
    with pytest.raises(ValueError, match="duplicate id 'x'"):
        paired_difference([0.1, 0.2], [0.2], ids_a=["x", "x"], ids_b=["x"])
    with pytest.raises(ValueError, match="outside"):
        holm({"a": 1.5})


# --------------------------------------------------------------------------------------------------
# paired_difference


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("method", METHODS)
def test_identical_runs_are_not_different(test: str, method: str) -> None:
    x = np.random.default_rng(1).beta(2, 5, 120)
    ids = ids_for(120)
    r = paired_difference(x, x.copy(), ids_a=ids, ids_b=ids, test=test, method=method)
    assert isinstance(r, PairedResult)
    assert r.diff == 0.0 and (r.low, r.high) == (0.0, 0.0)
    # Every resampled statistic ties with the observed 0, and ties count (>=): p = 1 exactly.
    assert r.p_value == pytest.approx(1.0)
    assert r.p_one_sided_less == pytest.approx(1.0)
    assert r.mean_a == r.mean_b == pytest.approx(x.mean())
    assert (r.n_common, r.n_only_a, r.n_only_b, r.n_excluded) == (120, 0, 0, 0)


@pytest.mark.parametrize("test", TESTS)
def test_planted_shift_is_detected_in_the_right_direction(test: str) -> None:
    # Item difficulty shared by both rows; a has per-item noise (sd 0.1); b = a's signal - 0.05.
    # So a - b = 0.05 + N(0, 0.1): z = 0.05 / (0.1 / sqrt(200)) ~ 7, p is at its floor 1/(R+1).
    rng = np.random.default_rng(2024)
    n = 200
    signal = rng.beta(2, 5, n)
    a = signal + rng.normal(0.0, 0.1, n)
    b = signal - 0.05
    ids = ids_for(n)
    better = paired_difference(a, b, ids_a=ids, ids_b=ids, test=test, seed=5)
    assert better.diff == pytest.approx(np.mean(a - b))
    assert better.diff == pytest.approx(0.05, abs=0.025)
    assert better.p_value < 0.01
    assert 0.0 < better.low <= better.diff <= better.high
    assert better.low <= 0.05 <= better.high
    assert better.p_one_sided_less > 0.99  # H1 "a < b" is false: a is better
    worse = paired_difference(b, a, ids_a=ids, ids_b=ids, test=test, seed=5)
    assert worse.diff == pytest.approx(-better.diff)
    assert worse.high < 0.0
    assert worse.p_value < 0.01
    assert worse.p_one_sided_less < 0.01  # H1 "a < b" is true: the regression gate fires
    assert better.p_value == pytest.approx(1 / (2000 + 1))  # the +1-smoothed floor


@pytest.mark.parametrize("test", TESTS)
def test_paired_constant_difference_gives_the_smoothed_floor(test: str) -> None:
    # Every item differs by exactly 0.02: a zero-width CI at 0.02, and no resample reaches |D|
    # (bootstrap) / only the all-same-sign flips do (randomization, prob 2^-29): p = 1/(R+1).
    a = np.linspace(0.1, 0.9, 30)
    r = paired_difference(a, a - 0.02, ids_a=ids_for(30), ids_b=ids_for(30), test=test, n_resamples=999)
    # (a - (a - 0.02) is 0.02 only up to rounding, so the interval is zero-width up to rounding.)
    assert r.low == pytest.approx(0.02, abs=1e-12) and r.high == pytest.approx(0.02, abs=1e-12)
    assert r.p_value == pytest.approx(1 / 1000)
    assert r.p_one_sided_less == pytest.approx(1.0)


def test_randomization_p_matches_exact_enumeration() -> None:
    # n = 10 pairs: the exact randomization p over all 2^10 sign patterns, versus the Monte Carlo
    # p with R = 20,000 (MC sd <= sqrt(0.25 / 20000) = 0.0035; tolerance 0.015 ~ 4 sd).
    d = np.array([0.12, -0.03, 0.08, 0.05, -0.06, 0.02, 0.09, -0.01, 0.04, 0.07])
    observed = d.mean()
    flips = np.array(list(itertools.product([1.0, -1.0], repeat=d.size)))
    null = flips @ d / d.size
    exact_two = np.mean(np.abs(null) >= abs(observed) - 1e-12)
    exact_less = np.mean(null <= observed + 1e-12)
    b = np.zeros(d.size)
    r = paired_difference(
        d, b, ids_a=ids_for(10), ids_b=ids_for(10), test="randomization", n_resamples=20_000
    )
    print(f"\nexact randomization p {exact_two:.4f}, Monte Carlo {r.p_value:.4f}")
    assert 0.02 < exact_two < 0.2
    assert r.p_value == pytest.approx(exact_two, abs=0.015)
    assert r.p_one_sided_less == pytest.approx(exact_less, abs=0.015)


def test_bootstrap_p_is_two_sided() -> None:
    # Large n: the centred bootstrap distribution is ~ normal with the standard error, so the
    # two-sided p is ~ 2 * (1 - Phi(|D| / se)). Shift chosen for z ~ 2 (p ~ 0.05). A one-tailed
    # count (sacreBLEU's |D*| - mean|D*| > |D|) would give about half of it.
    rng = np.random.default_rng(99)
    n = 400
    noise = rng.normal(0.0, 0.1, n)
    d = noise - noise.mean() + 2.0 * 0.1 / math.sqrt(n)
    z = d.mean() / (d.std(ddof=0) / math.sqrt(n))
    normal_p = 2 * (1 - sps.norm.cdf(z))
    r = paired_difference(d, np.zeros(n), ids_a=ids_for(n), ids_b=ids_for(n), n_resamples=20_000)
    print(f"\nbootstrap p {r.p_value:.4f}, normal approximation {normal_p:.4f}")
    assert r.p_value == pytest.approx(normal_p, abs=0.012)
    assert r.p_one_sided_less > 0.95


@pytest.mark.parametrize(
    ("test", "low", "high"),
    [
        # Randomization is exact under H0 (exchangeable pairs): size <= 5%. Binomial sd for 300
        # simulations at 0.05 is 1.26 pp: accept [0.02, 0.09] (about -2.4/+3.2 sd).
        ("randomization", 0.02, 0.09),
        # The bootstrap test is asymptotic and known to be slightly liberal at small n (plug-in
        # variance, normal tails): expect ~6% at n = 40; accept [0.02, 0.11].
        ("bootstrap", 0.02, 0.11),
    ],
)
def test_p_value_calibration_under_the_null(test: str, low: float, high: float) -> None:
    # Null: both rows are the same signal plus independent noise of the same size (n = 40 items).
    n_sims, n = 300, 40
    ids = ids_for(n)
    rejected = 0
    for sim in range(n_sims):
        rng = np.random.default_rng(50_000 + sim)
        signal = rng.beta(2, 5, n)
        a = signal + rng.normal(0.0, 0.1, n)
        b = signal + rng.normal(0.0, 0.1, n)
        rejected += paired_difference(a, b, ids_a=ids, ids_b=ids, test=test, seed=sim).p_value < 0.05
    rate = rejected / n_sims
    print(f"\n{test} test: fraction p < 0.05 under H0 over {n_sims} simulations (n={n}): {rate:.4f}")
    assert low <= rate <= high


def test_pairs_by_id_not_by_position() -> None:
    # a: two items b lacks; b: the shared items in another order plus one item a lacks.
    ids_a = ["only-a-1", "s1", "s2", "s3", "only-a-2", "s4", "s5"]
    a = [0.99, 0.10, 0.20, 0.30, 0.98, 0.40, 0.50]
    ids_b = ["s5", "s3", "only-b", "s1", "s4", "s2"]
    b = [0.45, 0.20, 0.01, 0.05, 0.35, 0.19]
    r = paired_difference(a, b, ids_a=ids_a, ids_b=ids_b, seed=4)
    assert (r.n_common, r.n_only_a, r.n_only_b, r.n_excluded) == (5, 2, 1, 0)
    assert r.mean_a == pytest.approx(np.mean([0.10, 0.20, 0.30, 0.40, 0.50]))
    assert r.mean_b == pytest.approx(np.mean([0.05, 0.19, 0.20, 0.35, 0.45]))
    assert r.diff == pytest.approx(np.mean([0.05, 0.01, 0.10, 0.05, 0.05]))
    # Same pairs given already aligned (and in sorted id order): the identical result.
    aligned = paired_difference(
        [0.10, 0.20, 0.30, 0.40, 0.50],
        [0.05, 0.19, 0.20, 0.35, 0.45],
        ids_a=["s1", "s2", "s3", "s4", "s5"],
        ids_b=["s1", "s2", "s3", "s4", "s5"],
        seed=4,
    )
    assert (r.diff, r.low, r.high, r.p_value) == (aligned.diff, aligned.low, aligned.high, aligned.p_value)


@pytest.mark.parametrize("test", TESTS)
def test_result_does_not_depend_on_input_order(test: str) -> None:
    rng = np.random.default_rng(8)
    n = 60
    a, b = rng.random(n), rng.random(n)
    ids = ids_for(n)
    perm_a, perm_b = rng.permutation(n), rng.permutation(n)
    ref = paired_difference(a, b, ids_a=ids, ids_b=ids, test=test)
    shuffled = paired_difference(
        a[perm_a], b[perm_b], ids_a=[ids[i] for i in perm_a], ids_b=[ids[i] for i in perm_b], test=test
    )
    assert shuffled == ref


@pytest.mark.filterwarnings("error")
def test_paired_excludes_and_counts_missing_values() -> None:
    ids = ["i1", "i2", "i3", "i4", "i5", "i6"]
    a = [0.5, None, 0.3, 0.8, 0.1, 0.6]
    b = [0.4, 0.2, float("nan"), 0.6, 0.3, 0.4]
    r = paired_difference(a + [None], b + [0.9], ids_a=ids + ["a-only"], ids_b=ids + ["b-only"])
    # i2 (None in a) and i3 (NaN in b) are excluded; the only-a item counts as only-a even though
    # its value is missing.
    assert (r.n_common, r.n_excluded, r.n_only_a, r.n_only_b) == (4, 2, 1, 1)
    assert r.mean_a == pytest.approx(np.mean([0.5, 0.8, 0.1, 0.6]))
    assert r.mean_b == pytest.approx(np.mean([0.4, 0.6, 0.3, 0.4]))
    assert r.diff == pytest.approx(0.075)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("test", TESTS)
def test_paired_degenerate_inputs(test: str) -> None:
    none = paired_difference([0.1, 0.2], [0.3], ids_a=["x", "y"], ids_b=["z"], test=test)
    assert (none.n_common, none.n_only_a, none.n_only_b) == (0, 2, 1)
    assert (none.mean_a, none.diff, none.low, none.p_value, none.p_one_sided_less) == (None,) * 5
    assert none.reason
    empty = paired_difference([], [], ids_a=[], ids_b=[], test=test)
    assert empty.n_common == 0 and empty.diff is None
    one = paired_difference([0.5, None], [0.2, 0.4], ids_a=["x", "y"], ids_b=["x", "y"], test=test)
    assert (one.n_common, one.n_excluded) == (1, 1)
    assert one.diff == pytest.approx(0.3)
    assert (one.low, one.high, one.p_value, one.p_one_sided_less) == (None,) * 4
    assert "n_common = 1" in one.reason
    assert (one.test, one.seed, one.n_resamples) == (test, 0, 2000)


# --------------------------------------------------------------------------------------------------
# holm


def test_holm_hand_computed_example() -> None:
    # m = 4, sorted: D 0.005, A 0.01, C 0.03, B 0.04.
    # raw (m - j + 1) p: 4*0.005 = 0.02, 3*0.01 = 0.03, 2*0.03 = 0.06, 1*0.04 = 0.04
    # monotone (running max):      0.02,           0.03,           0.06,           0.06
    # At alpha 0.05: D and A rejected; the step-down stops at C (0.03 > 0.05/2), so B is not
    # rejected although 0.04 <= 0.05/1.
    out = holm({"A": 0.01, "B": 0.04, "C": 0.03, "D": 0.005}, alpha=0.05)
    assert list(out) == ["A", "B", "C", "D"]
    expected = {"A": (0.03, True), "B": (0.06, False), "C": (0.06, False), "D": (0.02, True)}
    for key, (adjusted, reject) in expected.items():
        assert isinstance(out[key], HolmResult)
        assert out[key].adjusted_p == pytest.approx(adjusted)
        assert out[key].reject is reject
        assert out[key].alpha == 0.05
    assert out["C"].p_value == 0.03


def test_holm_caps_at_one_and_skips_missing() -> None:
    # None/NaN are not tests: the family has m = 2, so x -> 2 * 0.4 = 0.8 (m = 4 would give 1.0)
    # and y -> max(0.8, 1 * 0.6) = 0.8 (monotone).
    out = holm({"x": 0.4, "y": 0.6, "z": None, "w": float("nan")}, alpha=0.1)
    assert out["x"].adjusted_p == pytest.approx(0.8)
    assert out["y"].adjusted_p == pytest.approx(0.8)
    assert not out["x"].reject and not out["y"].reject
    assert (out["z"].adjusted_p, out["z"].reject) == (None, False)
    assert out["w"].adjusted_p is None
    big = holm({"a": 0.5, "b": 0.7, "c": 0.9})
    assert [h.adjusted_p for h in big.values()] == [1.0, 1.0, 1.0]
    assert holm({}) == {}
    assert holm({"solo": 0.04})["solo"].reject


# --------------------------------------------------------------------------------------------------
# leader comparison


def test_indistinguishable_from_leader() -> None:
    rng = np.random.default_rng(31)
    n = 300
    signal = rng.beta(2, 5, n)
    ids = ids_for(n)

    def row(shift: float) -> tuple[list[str], list[float]]:
        return ids, list(signal + shift + rng.normal(0.0, 0.1, n))

    rows = {
        "leader": row(0.0),
        "tied": row(-0.002),  # z ~ 0.002 / (0.14 / sqrt(300)) ~ 0.25
        "behind": row(-0.08),  # z ~ 10
        "elsewhere": (["other-1", "other-2"], [0.9, 0.9]),  # no item in common: no evidence
    }
    for test in TESTS:
        out = indistinguishable_from_leader(rows, "leader", test=test)
        assert out == {"leader": True, "tied": True, "behind": False, "elsewhere": True}
        assert indistinguishable_from_leader(rows, "leader", correction="holm", test=test) == out
    results = compare_to_leader(rows, "leader", seed=3)
    assert set(results) == {"tied", "behind", "elsewhere"}
    assert results["behind"].diff < 0 and results["behind"].p_one_sided_less < 0.01
    assert results["elsewhere"].p_value is None and results["elsewhere"].n_only_a == 2
    with pytest.raises(KeyError):
        indistinguishable_from_leader(rows, "missing")
