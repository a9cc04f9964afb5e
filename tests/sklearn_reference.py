#!/usr/bin/python3
"""Writes tests/data/{binary,regression,multiclass,ranking}_reference.json:
scikit-learn's metrics on fixed data.

outcome_tracker_test.cc replays these predictions and outcomes through
mlmon::OutcomeTracker and compares its quality gauges with scikit-learn's
values (exactly, 1e-9 relative, except AUC: binned, within 0.002).

Deterministic: fixed seeds, no network. Run from anywhere with Debian's
python3-sklearn and python3-numpy:

    /usr/bin/python3 tests/sklearn_reference.py

Conventions matched by mlmon (and documented there):
- binary: predicted positive iff score >= threshold (sklearn's rule for a
  decision made from a probability);
- precision/recall/f1 with zero_division=0;
- log loss with probabilities clipped to [1e-15, 1 - 1e-15];
- MAPE as sklearn: mean(|y - yhat| / max(|y|, float64 eps)), a fraction;
- macro averages over the classes present in y_true or y_pred;
- ECE on 15 equal-width bins with the explicit edges np.arange(16) / 15
  (left edge inclusive; 1.0 in the last bin), computed with numpy
  (scikit-learn's calibration_curve can place an edge an ulp away);
- NDCG@k with one relevant item per query: sklearn's ndcg_score on one-hot
  relevances against scores that order the items as the logged ranking.
"""

import json
import os
import sys

import numpy as np
import sklearn
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    ndcg_score,
    precision_score,
    recall_score,
    roc_auc_score,
    top_k_accuracy_score,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
THRESHOLDS = [0.3, 0.5, 0.7]
ECE_EDGES = np.arange(16) / 15.0


def ece(scores, outcomes):
    """Expected calibration error on ECE_EDGES, with numpy."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    b = np.searchsorted(ECE_EDGES[1:-1], s, side="right")  # 0 .. 14
    total = 0.0
    for k in range(15):
        m = b == k
        if m.any():
            total += m.sum() / len(s) * abs(y[m].mean() - s[m].mean())
    return float(total)


def ece_edges():
    """Scores on and an ulp either side of every bin edge, 0 and 1."""
    scores, outcomes = [], []
    rng = np.random.default_rng(5)
    for e in ECE_EDGES:
        for s in (np.nextafter(e, -1.0), e, np.nextafter(e, 2.0)):
            if 0.0 <= s <= 1.0:
                scores.append(float(s))
                outcomes.append(int(rng.integers(0, 2)))
    return {"scores": scores, "outcomes": outcomes,
            "bins": [int(v) for v in np.searchsorted(ECE_EDGES[1:-1], scores,
                                                     side="right")],
            "ece": ece(scores, outcomes)}


def binary():
    x, y = make_classification(n_samples=2000, n_features=20, n_informative=5,
                               flip_y=0.05, class_sep=0.8, random_state=42)
    model = LogisticRegression(max_iter=1000).fit(x[:1000], y[:1000])
    scores = [float(s) for s in model.predict_proba(x)[:, 1]]
    outcomes = [int(v) for v in y]
    # Edge cases: scores exactly on a threshold (>= is positive), and 0 / 1
    # (clipped for log loss).
    for s, o in [(0.3, 0), (0.5, 1), (0.7, 0), (0.5, 0), (0.0, 0), (1.0, 1),
                 (0.0, 1), (1.0, 0)]:
        scores.append(s)
        outcomes.append(o)
    s = np.array(scores)
    t = np.array(outcomes)
    at = []
    for th in THRESHOLDS:
        pred = (s >= th).astype(int)
        tn, fp, fn, tp = confusion_matrix(t, pred, labels=[0, 1]).ravel()
        at.append({
            "threshold": th,
            "precision": precision_score(t, pred, zero_division=0),
            "recall": recall_score(t, pred, zero_division=0),
            "f1": f1_score(t, pred, zero_division=0),
            "accuracy": accuracy_score(t, pred),
            "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn),
                          "tp": int(tp)},
        })
    return {
        "ids": [f"b{i}" for i in range(len(scores))],
        "scores": scores,
        "outcomes": outcomes,
        "thresholds": THRESHOLDS,
        "at_threshold": at,
        "roc_auc": roc_auc_score(t, s),
        "brier": brier_score_loss(t, s),
        "log_loss": log_loss(t, s, eps=1e-15),
        "ece": ece(s, t),
        "ece_edges": ece_edges(),
    }


def regression():
    x, y = make_regression(n_samples=1000, n_features=8, noise=15.0,
                           random_state=7)
    y = y + 400.0  # keep |y| away from 0 so MAPE is meaningful
    model = LinearRegression().fit(x[:500], y[:500])
    pred = model.predict(x)
    return {
        "ids": [f"r{i}" for i in range(len(y))],
        "predictions": [float(v) for v in pred],
        "actuals": [float(v) for v in y],
        "mae": mean_absolute_error(y, pred),
        "rmse": float(np.sqrt(mean_squared_error(y, pred))),
        "mape": mean_absolute_percentage_error(y, pred),
    }


def multiclass():
    names = ["cat", "dog", "bird", "fish", "horse"]
    x, y = make_classification(n_samples=800, n_features=12, n_informative=6,
                               n_classes=5, n_clusters_per_class=1,
                               flip_y=0.05, random_state=3)
    model = LogisticRegression(max_iter=2000).fit(x[:400], y[:400])
    pred = model.predict(x)
    return {
        "classes": names,
        "ids": [f"m{i}" for i in range(len(y))],
        "predicted": [names[int(v)] for v in pred],
        "actual": [names[int(v)] for v in y],
        "accuracy": accuracy_score(y, pred),
        "macro_precision": precision_score(y, pred, average="macro",
                                           zero_division=0),
        "macro_recall": recall_score(y, pred, average="macro",
                                     zero_division=0),
        "macro_f1": f1_score(y, pred, average="macro", zero_division=0),
    }


def ranking():
    n_items = 12
    ks = [1, 3, 10]
    x, y = make_classification(n_samples=600, n_features=16, n_informative=8,
                               n_classes=n_items, n_clusters_per_class=1,
                               random_state=11)
    model = LogisticRegression(max_iter=2000).fit(x[:300], y[:300])
    proba = model.predict_proba(x)
    order = np.argsort(-proba, axis=1, kind="stable")
    ranks = np.array([int(np.where(order[i] == y[i])[0][0]) + 1
                      for i in range(len(y))])
    max_k = max(ks)
    rr = np.where(ranks <= max_k, 1.0 / ranks, 0.0)
    # One relevant item per query; item j scores n_items - (its position),
    # so ndcg_score sees the logged order, without ties.
    relevance = np.zeros((len(y), n_items))
    relevance[np.arange(len(y)), y] = 1.0
    order_scores = np.zeros((len(y), n_items))
    for i in range(len(y)):
        order_scores[i, order[i]] = n_items - np.arange(n_items)
    return {
        "items": [f"item{j}" for j in range(n_items)],
        "ids": [f"k{i}" for i in range(len(y))],
        "rankings": [[int(j) for j in row] for row in order],
        "chosen": [int(v) for v in y],
        "k": ks,
        "hit_rate": [top_k_accuracy_score(y, proba, k=k,
                                          labels=list(range(n_items)))
                     for k in ks],
        "mrr": float(rr.mean()),
        "ndcg": [float(ndcg_score(relevance, order_scores, k=k)) for k in ks],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make in [("binary", binary), ("regression", regression),
                       ("multiclass", multiclass), ("ranking", ranking)]:
        data = {
            "generator": "tests/sklearn_reference.py",
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
        }
        data.update(make())
        path = os.path.join(OUT, f"{name}_reference.json")
        with open(path, "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {path} ({os.path.getsize(path)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
