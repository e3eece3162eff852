"""How often the gate fails a harmless change, and how large a drop it catches, for the format floor.

Simulates pairs of runs in memory and passes each pair through the gate's decision function
(`harness.report.gate.decide`, the code `harness gate` runs) under the rules file (default
`conf/gate/default.yaml`: floor `format_ok >= 0.95`, alpha 0.05, the randomization test, seed 0),
with 1,000 resamples per test instead of the file's 2,000 (`--resamples 2000` takes about twice as
long). Each item's `format_ok` is 1 with probability `compliance`, independently (a stochastic
model); only `format_ok` is scored, so the floor is the only check (the margins' metrics are "not
evaluated"): the worst case, with no Holm correction to spread alpha over. About 1 min on 2 cores.

- No-op change: baseline and candidate both at the same compliance (0.95 to 0.99). The share of
  pairs that fail is the false-failure rate; the rule's aim is at most alpha.
- Detectable drop: baseline at `--from` (0.97), candidate `drop` lower. The smallest drop (on a
  0.01 grid, found by bisection) that fails at least 80% of pairs.

Figures only, no assertions. Printed: each rate with its 95% Clopper-Pearson interval (the
simulation's own noise), and the rate of the rule before the change (fail when the candidate's
mean is below the floor, no test, the baseline's misses tolerated as today) on the same pairs.

    python benchmarks/gate_noise.py [--pairs 400] [--power-pairs 200] [--seed 0] [--sizes 32 200]
        [--rules conf/gate/default.yaml] [--test bootstrap] [--alpha 0.05] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

# The gate of the checkout this script is in, even when `pip install -e` points at another one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness.report.gate import DEFAULT_RULES_FILE, GateRules, LimitCheck, decide, load_rules  # noqa: E402
from harness.report.gate.runs import run_from_scores  # noqa: E402

METRIC = "format_ok"
COMPLIANCE = (0.95, 0.96, 0.97, 0.98, 0.99)
TARGET_POWER = 0.80


def mean_rule_fails(c: LimitCheck, rules: GateRules) -> bool:
    """The rule before noise-aware limits: the candidate's mean past the floor fails, unless the
    baseline's mean is past it too and the candidate is not significantly worse (tolerate)."""
    excused = c.baseline_violated and rules.baseline_violations == "tolerate" and not c.significantly_worse
    return c.violated and not excused


def simulate(
    rules: GateRules, n: int, base_p: float, cand_p: float, pairs: int, rng: np.random.Generator
) -> tuple[int, int]:
    """(pairs the gate fails, pairs the mean-only rule fails) over `pairs` simulated pairs."""
    gate = before = 0
    base = rng.random((pairs, n)) < base_p
    cand = rng.random((pairs, n)) < cand_p
    for i in range(pairs):
        result = decide(
            run_from_scores("baseline", {METRIC: base[i]}),
            run_from_scores("candidate", {METRIC: cand[i]}),
            rules,
        )
        gate += result.exit_code
        before += mean_rule_fails(result.limits[0], rules)
    return gate, before


def rate(k: int, n: int) -> str:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return f"{k / n:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def smallest_drop(
    rules: GateRules, n: int, start: float, pairs: int, rng: np.random.Generator
) -> tuple[float, float, float | None]:
    """(drop, its failure rate, the rate one grid step lower): the smallest drop on a 0.01 grid whose
    failure rate is at least TARGET_POWER (bisection: the rate grows with the drop)."""
    measured: dict[int, float] = {}

    def power(steps: int) -> float:
        if steps not in measured:
            measured[steps] = simulate(rules, n, start, start - steps / 100, pairs, rng)[0] / pairs
        return measured[steps]

    low, high = 0, int(round(start * 100))  # a drop to compliance 0 is always caught
    while high - low > 1:
        mid = (low + high) // 2
        if power(mid) >= TARGET_POWER:
            high = mid
        else:
            low = mid
    return high / 100, power(high), measured.get(high - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=str(DEFAULT_RULES_FILE))
    parser.add_argument("--pairs", type=int, default=400, help="no-op pairs per compliance and size")
    parser.add_argument("--power-pairs", type=int, default=200, help="pairs per drop tried")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 200], help="items per run")
    parser.add_argument(
        "--from", dest="start", type=float, default=0.97, help="baseline compliance for drops"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation (the gate keeps its own)")
    parser.add_argument("--test", choices=("randomization", "bootstrap"), default=None)
    parser.add_argument("--alpha", type=float, default=None)
    parser.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help="per test and interval (the rules file's 2,000 takes twice as long)",
    )
    args = parser.parse_args()

    rules = load_rules(args.rules)
    overrides = {"test": args.test, "alpha": args.alpha, "n_resamples": args.resamples}
    rules = dataclasses.replace(rules, **{k: v for k, v in overrides.items() if v is not None})
    rules = dataclasses.replace(rules, margins={}, ceilings={}, floors={METRIC: rules.floors[METRIC]})
    floor = rules.floors[METRIC]
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(
        f"{METRIC} >= {floor:g}; alpha {rules.alpha:g}, {rules.test} test, {rules.n_resamples} resamples, "
        f"gate seed {rules.seed}, simulation seed {args.seed}; "
        f"baseline_violations: {rules.baseline_violations}"
    )
    print(f"\nNo-op change: false-failure rate [95% CI] over {args.pairs} pairs")
    print(f"{'n':>4} {'compliance':>10}  {'gate':<22} {'mean-only rule (before)':<22}")
    for n in args.sizes:
        for p in COMPLIANCE:
            gate, before = simulate(rules, n, p, p, args.pairs, rng)
            print(f"{n:>4} {p:>10.2f}  {rate(gate, args.pairs):<22} {rate(before, args.pairs):<22}")
    print(
        f"\nSmallest drop caught {TARGET_POWER:.0%} of the time, from compliance {args.start:.2f} "
        f"({args.power_pairs} pairs per drop tried)"
    )
    for n in args.sizes:
        drop, power, below = smallest_drop(rules, n, args.start, args.power_pairs, rng)
        one_less = "" if below is None else f"; drop {drop - 0.01:.2f}: {below:.0%}"
        print(
            f"{n:>4}  drop {drop:.2f} (candidate compliance {args.start - drop:.2f}): "
            f"caught {power:.0%}{one_less}"
        )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
