"""Expected bootstrap values from scipy (outside the code under test), shared by the stats and gate
tests. `scipy.stats.bootstrap` draws the same indices as harness.report.stats with the same seed."""

from __future__ import annotations

import numpy as np
from scipy import stats as sps


def scipy_bootstrap(x, n_resamples: int, seed: int, method: str = "percentile", confidence: float = 0.95):
    return sps.bootstrap(
        (np.asarray(x, dtype=float),),
        np.mean,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method=method,
        vectorized=True,
        random_state=np.random.default_rng(seed),
    )


def bootstrap_null_p_less(d, n_resamples: int, seed: int) -> float:
    """One-sided p of "mean(d) < 0" under the centred bootstrap null (the documented formula), ties
    within 1e-9 of the largest |d| counted."""
    d = np.asarray(d, dtype=float)
    null = scipy_bootstrap(d, n_resamples, seed).bootstrap_distribution
    null = null - null.mean()
    tol = 1e-9 * np.abs(d).max()
    return (np.count_nonzero(null <= d.mean() + tol) + 1) / (n_resamples + 1)
