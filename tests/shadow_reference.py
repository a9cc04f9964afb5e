#!/usr/bin/env python3
"""Writes tests/data/shadow_reference.json: champion/challenger outputs and
the counts a shadow comparison must export for them, computed with numpy
(tests/shadow_comparison_test.cc feeds the same outputs to
mlmon::ShadowComparison and compares).

    /usr/bin/python3 tests/shadow_reference.py
"""
import json
import os

import numpy as np

THRESHOLDS = [0.3, 0.5, 0.7]
SCORE_BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]
REGRESSION_BOUNDS = [0.1, 0.5, 1.0, 5.0, 10.0, 50.0]
LABELS = ["cat", "dog", "bird", "horse", "a", "ab"]


def histogram(d, bounds):
    # Prometheus buckets: cumulative counts of d <= le, then +Inf.
    return {
        "cumulative": [int(np.sum(d <= b)) for b in bounds] + [int(d.size)],
        "sum": float(np.sum(d)),
    }


def main():
    rng = np.random.default_rng(20261206)
    # Binary: a challenger near the champion, plus exact ties at thresholds.
    champion = rng.beta(2.0, 3.0, 3000)
    challenger = np.clip(champion + rng.normal(0.0, 0.08, champion.size), 0, 1)
    ties_a = np.array([0.5, 0.5, 0.3, 0.7, 0.4999999, 0.0, 1.0])
    ties_b = np.array([0.5, 0.4999999, 0.3, 0.6999999, 0.5, 1.0, 1.0])
    champion = np.concatenate([champion, ties_a])
    challenger = np.concatenate([challenger, ties_b])
    d = np.abs(champion - challenger)
    binary = {
        "thresholds": THRESHOLDS,
        "bounds": SCORE_BOUNDS,
        "champion": champion.tolist(),
        "challenger": challenger.tolist(),
        "comparisons": int(champion.size),
        "disagreements": [
            int(np.count_nonzero((champion >= t) != (challenger >= t)))
            for t in THRESHOLDS
        ],
        "difference": histogram(d, SCORE_BOUNDS),
    }
    # Regression: log-normal values, a challenger off by a relative error.
    value = rng.lognormal(2.0, 1.0, 2000)
    other = value * rng.normal(1.0, 0.1, value.size) - rng.normal(0, 1, value.size)
    regression = {
        "bounds": REGRESSION_BOUNDS,
        "champion": value.tolist(),
        "challenger": other.tolist(),
        "comparisons": int(value.size),
        "difference": histogram(np.abs(value - other), REGRESSION_BOUNDS),
    }
    # Multiclass: labels of different lengths, the challenger agreeing 80%.
    a = rng.integers(0, len(LABELS), 2000)
    flip = rng.random(a.size) < 0.2
    b = np.where(flip, rng.integers(0, len(LABELS), a.size), a)
    multiclass = {
        "champion": [LABELS[i] for i in a],
        "challenger": [LABELS[i] for i in b],
        "comparisons": int(a.size),
        "disagreements": int(np.count_nonzero(a != b)),
    }
    out = {"binary": binary, "regression": regression, "multiclass": multiclass}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                        "shadow_reference.json")
    with open(path, "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
