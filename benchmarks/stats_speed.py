"""Speed of the leaderboard statistics: bootstrap intervals and paired tests.

Prints the best of 3 timings for 2,000 resamples over 1,000 items (one leaderboard cell, one
paired comparison). The leaderboard computes one interval per (row, metric) and one paired test
per (row, metric) against the leader, so these figures times the table size bound a rebuild.

    python benchmarks/stats_speed.py [--items 1000] [--resamples 2000]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from harness.report.stats import bootstrap_ci, paired_difference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    x = np.random.default_rng(0).random(args.items)
    y = x + np.random.default_rng(1).normal(0, 0.1, args.items)
    ids = [f"item-{i:05d}" for i in range(args.items)]
    r = args.resamples
    calls = {
        "bootstrap_ci percentile": lambda: bootstrap_ci(x, method="percentile", n_resamples=r),
        "bootstrap_ci bca": lambda: bootstrap_ci(x, method="bca", n_resamples=r),
        "paired bootstrap": lambda: paired_difference(x, y, ids_a=ids, ids_b=ids, n_resamples=r),
        "paired randomization": lambda: paired_difference(
            x, y, ids_a=ids, ids_b=ids, test="randomization", n_resamples=r
        ),
    }
    print(f"{r} resamples x {args.items} items, best of 3:")
    for name, call in calls.items():
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
        print(f"  {name:<24} {1000 * best:8.1f} ms")


if __name__ == "__main__":
    main()
