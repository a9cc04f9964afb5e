#!/usr/bin/python3
"""Writes tests/data/cbpe_reference.json: performance estimation without
labels (CBPE) computed with numpy and scikit-learn on fixed data.

A calibration map is fitted with scikit-learn's IsotonicRegression
(out_of_bounds="clip") on training scores and outcomes; each live window's
scores are mapped through it (p_i = iso.predict(score_i)) and the estimate is
computed from the definitions:
  TP = sum_{score >= t} p,  FP = sum_{score >= t} (1 - p),
  FN = sum_{score < t} p,   TN = sum_{score < t} (1 - p),
  precision = TP / (TP + FP), recall = TP / (TP + FN),
  f1 = 2 TP / (2 TP + FP + FN), accuracy = (TP + TN) / n,
  auc = roc_auc_score on the data set where each prediction is a positive
        with weight p and a negative with weight 1 - p.
Undefined values are null. estimated_quality_test.cc feeds the same scores
through mlmon::ResponseDistribution (fine bins) and compares.

Deterministic (fixed seed). Run with Debian's python3-sklearn:

    /usr/bin/python3 tests/cbpe_reference.py
"""
import json
import os

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

THRESHOLDS = [0.3, 0.5, 0.75, 0.9995]


def estimate(scores, p):
    n = len(scores)
    out = {"samples": float(n)}
    if n > 0 and 0 < p.sum() < n:
        y = np.concatenate([np.ones(n), np.zeros(n)])
        out["auc"] = float(roc_auc_score(y, np.concatenate([scores, scores]),
                                         sample_weight=np.concatenate([p, 1 - p])))
    else:
        out["auc"] = None
    at = []
    for t in THRESHOLDS:
        d = scores >= t
        tp, fp = p[d].sum(), (1 - p[d]).sum()
        fn, tn = p[~d].sum(), (1 - p[~d]).sum()

        def ratio(a, b):
            return float(a / b) if b > 0 else None
        at.append({"threshold": t, "predicted_positives": float(d.sum()),
                   "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn),
                   "f1": ratio(2 * tp, 2 * tp + fp + fn), "accuracy": ratio(tp + tn, n)})
    out["at"] = at
    return out


def main():
    rng = np.random.default_rng(20261206)
    train = rng.beta(1.2, 3.0, 6000)
    outcome = (rng.random(6000) < train ** 1.3).astype(float)
    iso = IsotonicRegression(out_of_bounds="clip").fit(train, outcome)
    windows = {
        # The training population.
        "training_like": rng.beta(1.2, 3.0, 5000),
        # A population shift towards high scores, with scores beyond the
        # training range (clipped to the end knots).
        "shifted": np.concatenate([rng.beta(3.0, 1.5, 4000), [0.0, 1.0, 1.0]]),
        # Few scores, all below 0.9995: that threshold decides no positive.
        "small": rng.uniform(0.0, 0.999, 40),
        "empty": np.array([]),
    }
    ref = {"calibration": {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()},
           "thresholds": THRESHOLDS, "windows": {}}
    for name, s in windows.items():
        p = iso.predict(s) if len(s) else np.array([])
        ref["windows"][name] = {"scores": s.tolist(), **estimate(s, p)}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "cbpe_reference.json")
    with open(path, "w") as f:
        json.dump(ref, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: {len(ref['calibration']['x'])} knots")


if __name__ == "__main__":
    main()
