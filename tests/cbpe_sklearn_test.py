#!/usr/bin/python3
"""Performance estimation without labels, end to end through the CLI:
`mlmon profile` fits the calibration map from training lines that carry
"outcome", and `mlmon replay` exports mlmon_estimated_quality{window="all"}
from logged predictions alone (no outcome file).

- The profile's knots equal scikit-learn's
  IsotonicRegression(out_of_bounds="clip") fitted on the same lines
  (X_thresholds_, y_thresholds_), with tied scores, outcomes written as 0/1
  and false/true, and lines without an outcome (not fitted).
- Replay's estimate equals numpy on p_i = iso.predict(score_i) (scikit-learn
  evaluating the map, clipping live scores beyond the training range) to
  1e-9, and the AUC equals roc_auc_score on the weighted data set; tied live
  scores; a threshold with no decided positive reads NaN.
- A profile of lines without outcomes has no calibration; an outcome of 2
  is refused naming the line.

usage: cbpe_sklearn_test.py MLMON_BINARY
Prints "cbpe checks passed" last on success.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

MLMON = sys.argv[1]
FAILURES = []
THRESHOLDS = [0.3, 0.5, 0.9995]


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([MLMON, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def main():
    work = tempfile.mkdtemp(prefix="mlmon-cbpe-")
    rng = np.random.default_rng(13)
    n = 5000
    train = rng.beta(1.5, 4.0, n) * 0.9 + 0.05   # within [0.05, 0.95]
    train[: n // 4] = np.round(train[: n // 4], 2)  # ties
    outcome = (rng.random(n) < train ** 1.2).astype(int)
    config = os.path.join(work, "monitor.yaml")
    with open(config, "w") as f:
        f.write("model: fraud\ntask: binary\nthresholds: %s\nreference: reference.json\n"
                "distribution:\n  windows: []\n" % json.dumps(THRESHOLDS))
    training = os.path.join(work, "training.ndjson")
    with open(training, "w") as f:
        for i in range(n):
            o = bool(outcome[i]) if i % 3 == 0 else int(outcome[i])
            f.write(json.dumps({"id": f"t{i}", "score": float(train[i]), "outcome": o}) + "\n")
        # Lines without an outcome count in the score profile, not in the fit.
        for i in range(50):
            f.write(json.dumps({"id": f"u{i}", "score": 0.99}) + "\n")
            f.write(json.dumps({"id": f"v{i}", "score": 0.01, "outcome": None}) + "\n")
    reference = os.path.join(work, "reference.json")
    rc, _, err = run("profile", "--config", config, "--input", training, "--out", reference)
    check(rc == 0, f"profile exit {rc}: {err}")
    with open(reference) as f:
        cal = json.load(f)["calibration"]
    iso = IsotonicRegression(out_of_bounds="clip").fit(train, outcome)
    check(len(cal["x"]) == len(iso.X_thresholds_),
          f"knots: mlmon {len(cal['x'])}, sklearn {len(iso.X_thresholds_)}")
    if len(cal["x"]) == len(iso.X_thresholds_):
        dx = float(np.max(np.abs(np.array(cal["x"]) - iso.X_thresholds_)))
        dy = float(np.max(np.abs(np.array(cal["y"]) - iso.y_thresholds_)))
        print(f"isotonic fit vs sklearn: {len(cal['x'])} knots, max |dx| {dx:.3g}, max |dy| {dy:.3g}")
        check(dx == 0, f"knot scores differ from sklearn by {dx}")
        check(dy <= 1e-12, f"knot values differ from sklearn by {dy}")

    # Live scores: a shifted population, ties, and scores beyond the
    # training range on both sides (clipped to the end knots).
    live = np.concatenate([rng.beta(3.0, 2.0, 3000), np.round(rng.random(500) * 0.9, 1), [0.0, 0.01, 0.99, 1.0]])
    preds = os.path.join(work, "predictions.ndjson")
    with open(preds, "w") as f:
        for i, s in enumerate(live):
            f.write(json.dumps({"ts": 1764150000 + i, "id": f"p{i}", "score": float(s)}) + "\n")
    rc, text, err = run("replay", "--config", config, "--predictions", preds)
    check(rc == 0, f"replay exit {rc}: {err}")
    got = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "mlmon_estimated_quality":
                check(s.labels["window"] == "all", f"window {s.labels}")
                got[(s.labels["metric"], s.labels["threshold"])] = s.value
    p = iso.predict(live)
    m = len(live)
    want = {("samples", ""): m,
            ("auc", ""): roc_auc_score(np.r_[np.ones(m), np.zeros(m)], np.r_[live, live],
                                       sample_weight=np.r_[p, 1 - p])}
    for t in THRESHOLDS:
        d = live >= t
        tp, fp, fn, tn = p[d].sum(), (1 - p[d]).sum(), p[~d].sum(), (1 - p[~d]).sum()
        key = json.dumps(t)
        want[("predicted_positives", key)] = d.sum()
        want[("precision", key)] = tp / (tp + fp) if d.sum() else math.nan
        want[("recall", key)] = tp / (tp + fn)
        want[("f1", key)] = 2 * tp / (2 * tp + fp + fn)
        want[("accuracy", key)] = (tp + tn) / m
    check(want[("predicted_positives", "0.9995")] == 1, "1.0 is the only score >= 0.9995")
    check(set(got) == set(want), f"series: mlmon {sorted(got)}, expected {sorted(want)}")
    for k, v in want.items():
        g = got.get(k, math.nan)
        if math.isnan(v):
            check(math.isnan(g), f"{k}: mlmon {g}, expected NaN")
        else:
            check(math.isclose(g, v, rel_tol=1e-9, abs_tol=1e-12), f"{k}: mlmon {g!r} != numpy {v!r}")
    print(f"replay estimate vs numpy: {len(want)} series compared "
          f"(precision@0.5 {got.get(('precision', '0.5'))}, auc {got.get(('auc', ''))})")

    # No threshold decides a positive at 0.9995 without the 1.0: NaN.
    preds2 = os.path.join(work, "low.ndjson")
    with open(preds2, "w") as f:
        for i in range(20):
            f.write(json.dumps({"ts": 1764150000 + i, "id": f"q{i}", "score": 0.2 + i / 100}) + "\n")
    rc, text, err = run("replay", "--config", config, "--predictions", preds2)
    check(rc == 0, f"replay exit {rc}: {err}")
    check('mlmon_estimated_quality{model="fraud",version="1",metric="precision",threshold="0.9995",'
          'window="all"} NaN' in text, "precision with no decided positive is NaN")

    # No calibration without outcomes; bad outcomes refused.
    plain = os.path.join(work, "plain.ndjson")
    with open(plain, "w") as f:
        for i in range(100):
            f.write(json.dumps({"score": float(train[i])}) + "\n")
    rc, out, err = run("profile", "--config", config, "--input", plain)
    check(rc == 0 and "calibration" not in out, f"profile without outcomes has no calibration: {err}")
    bad = os.path.join(work, "bad.ndjson")
    with open(bad, "w") as f:
        f.write(json.dumps({"score": 0.5, "outcome": 1}) + "\n")
        f.write(json.dumps({"score": 0.5, "outcome": 2}) + "\n")
    rc, out, err = run("profile", "--config", config, "--input", bad)
    check(rc != 0 and ":2:" in err and "outcome: 2 is not 0 or 1" in err, f"outcome 2 refused: {rc} {err}")

    if FAILURES:
        print(f"{len(FAILURES)} failures (work dir {work})")
        return 1
    print("cbpe checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
