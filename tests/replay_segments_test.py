#!/usr/bin/python3
"""Segments end to end: `mlmon replay` of generated binary predictions that
carry a "segment", against scikit-learn per segment.

Checks, on the third-party prometheus_client parser's reading of the output:
- per segment (its own values, `__other__` for the values past max_values,
  `""` for predictions without one): every mlmon_confusion_total cell equals
  sklearn's confusion_matrix on that segment's pairs exactly, and precision,
  recall, f1 and accuracy (window="all") equal sklearn to 1e-9;
- the cells of all segments add up exactly to the confusion of all pairs, and
  mlmon_model_quality{segment=""} is the whole model's quality;
- mlmon_outcomes_total{result="matched"} and mlmon_predictions_total add up
  per segment; the folds into __other__ are counted;
- 1,000 distinct segment values stay bounded: max_values series, __other__
  and "" only.

usage: replay_segments_test.py MLMON_BINARY
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score,
                             precision_score, recall_score)

MLMON = sys.argv[1]
FAILURES = []
T0 = 1764150000.0
THRESHOLDS = (0.3, 0.5)


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def close(a, b, what, rel=1e-9):
    check(math.isclose(a, b, rel_tol=rel, abs_tol=1e-12), f"{what}: mlmon {a!r} != reference {b!r}")


def replay(workdir, config, pred_rows, outcome_rows):
    paths = []
    for name, rows in (("predictions", pred_rows), ("outcomes", outcome_rows)):
        path = os.path.join(workdir, name + ".ndjson")
        with open(path, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        paths.append(path)
    cfg = os.path.join(workdir, "monitor.yaml")
    with open(cfg, "w") as f:
        f.write(config)
    p = subprocess.run([MLMON, "replay", "--config", cfg, "--predictions", paths[0],
                        "--outcomes", paths[1]], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        print(p.stderr)
    check(p.returncode == 0, f"mlmon replay exit {p.returncode}")
    series = {}
    for fam in text_string_to_metric_families(p.stdout):
        for s in fam.samples:
            series[(s.name, frozenset(s.labels.items()))] = s.value
    return series


def value(series, name, **labels):
    key = (name, frozenset(labels.items()))
    if key not in series:
        FAILURES.append(f"missing series {name}{labels}")
        print("FAIL: missing", name, labels)
        return float("nan")
    return series[key]


def segment_values(series, name):
    return {dict(k[1]).get("segment") for k in series if k[0] == name}


def check_quality(series, labels, thr, truth, pred, what):
    """precision, recall, f1 and accuracy at `thr` (window="all") against
    scikit-learn on the same pairs."""
    q = dict(labels, window="all", threshold=f"{thr:g}", k="")
    for metric, ref in (("precision", precision_score), ("recall", recall_score),
                        ("f1", f1_score), ("accuracy", accuracy_score)):
        close(value(series, "mlmon_model_quality", **q, metric=metric),
              ref(truth, pred), f"{metric}{what}@{thr}")


def generate(rng, n, segment_of):
    """Scores whose quality differs by segment; 10% never get an outcome."""
    rows, outcomes, truth = [], [], []
    for i in range(n):
        seg = segment_of(i)
        y = int(rng.random() < 0.35)
        noise = {"DE": 0.15, "FR": 0.25, "US": 0.35}.get(seg, 0.3)
        score = float(np.clip(0.25 + 0.5 * y + rng.normal(0, noise), 0, 1))
        row = {"ts": T0 + i * 0.5, "id": f"p-{i}", "score": score}
        if seg:
            row["segment"] = seg
        rows.append(row)
        if i % 10 != 9:
            outcomes.append({"id": f"p-{i}", "outcome": y, "ts": T0 + i * 0.5 + 20})
            truth.append((seg, score, y))
    return rows, outcomes, truth


def per_segment(workdir, rng):
    # The first rows see DE, FR, US in that order; IT and ES come later and
    # fold into __other__ (max_values 3); every 7th prediction has none.
    names = ["DE", "FR", "US", "IT", "ES"]

    def segment_of(i):
        if i < 3:
            return names[i]
        if i % 7 == 0:
            return ""
        return names[int(rng.integers(0, 5))]

    rows, outcomes, truth = generate(rng, 4000, segment_of)
    config = ("model: seg\ntask: binary\nthresholds: [0.3, 0.5]\n"
              "segments: {name: country, max_values: 3}\n")
    series = replay(workdir, config, rows, outcomes)
    label_of = {"DE": "DE", "FR": "FR", "US": "US", "IT": "__other__",
                "ES": "__other__", "": ""}
    groups = {}
    for seg, score, y in truth:
        groups.setdefault(label_of[seg], []).append((score, y))
    check(set(groups) == {"DE", "FR", "US", "__other__", ""}, f"groups {set(groups)}")
    check(segment_values(series, "mlmon_confusion_total") == set(groups),
          f"segment label values {segment_values(series, 'mlmon_confusion_total')}")
    base = {"model": "seg", "version": "1"}
    whole = np.zeros((len(THRESHOLDS), 2, 2))
    for seg, pairs in sorted(groups.items()):
        s = np.array([p[0] for p in pairs])
        t = np.array([p[1] for p in pairs])
        close(value(series, "mlmon_outcomes_total", **base, segment=seg, result="matched"),
              len(pairs), f"matched[{seg}]", rel=0)
        for ti, thr in enumerate(THRESHOLDS):
            pred = (s >= thr).astype(int)
            cm = confusion_matrix(t, pred, labels=[0, 1])
            for a in (0, 1):
                for p in (0, 1):
                    got = value(series, "mlmon_confusion_total", **base, segment=seg,
                                threshold=f"{thr:g}", predicted=str(p), actual=str(a))
                    close(got, cm[a][p], f"confusion[{seg}] t={thr} p={p} a={a}", rel=0)
                    whole[ti][a][p] += got
            if seg == "":
                continue  # segment="" quality is the whole model's (below)
            check_quality(series, dict(base, segment=seg), thr, t, pred, f"[{seg}]")
        close(value(series, "mlmon_outcome_score_count", **base, segment=seg, actual="1"),
              int(t.sum()), f"outcome_score count[{seg}]", rel=0)
    # The cells add up to the whole model's; segment="" quality is the whole.
    s_all = np.array([x[1] for x in truth])
    t_all = np.array([x[2] for x in truth])
    for ti, thr in enumerate(THRESHOLDS):
        pred = (s_all >= thr).astype(int)
        cm = confusion_matrix(t_all, pred, labels=[0, 1])
        check((whole[ti] == cm).all(), f"cells over segments {whole[ti].tolist()} != whole {cm.tolist()}")
        # segment="" quality: the whole model, not only the outcomes
        # without a segment.
        check_quality(series, dict(base, segment=""), thr, t_all, pred, "[whole model]")
    check(("mlmon_model_quality", frozenset(dict(base, segment="DE", window="all", threshold="",
                                                  k="", metric="auc").items())) not in series,
          "a segment exports no auc")
    # Predictions by segment (the distribution), every prediction once.
    counts = {}
    for r in rows:
        seg = label_of[r.get("segment", "")]
        cls = "1" if r["score"] >= 0.5 else "0"
        counts[(seg, cls)] = counts.get((seg, cls), 0) + 1
    for (seg, cls), n in counts.items():
        close(value(series, "mlmon_predictions_total", **base, segment=seg, **{"class": cls}),
              n, f"predictions[{seg},{cls}]", rel=0)
    folded = sum(1 for r in rows if r.get("segment") in ("IT", "ES"))
    close(value(series, "mlmon_segment_folds_total", **base, signal="outcomes"), folded,
          "folds (outcomes)", rel=0)
    close(value(series, "mlmon_segment_folds_total", **base, signal="distribution"), folded,
          "folds (distribution)", rel=0)


def bounded(workdir, rng):
    """1,000 distinct values with max_values 20: 20 series, __other__, ""."""
    rows, outcomes, _ = generate(rng, 3000, lambda i: "" if i % 11 == 0 else f"v{i % 1000}")
    config = ("model: many\ntask: binary\n"
              "segments: {name: customer, max_values: 20}\n")
    series = replay(workdir, config, rows, outcomes)
    first = []  # the first 20 distinct values, in prediction order
    for r in rows:
        v = r.get("segment")
        if v and v not in first and len(first) < 20:
            first.append(v)
    want = set(first) | {"__other__", ""}
    for family in ("mlmon_confusion_total", "mlmon_predictions_total",
                   "mlmon_prediction_score_count", "mlmon_model_quality"):
        got = segment_values(series, family)
        check(got == want, f"{family}: segment values {sorted(got)[:25]} ({len(got)})")
    total = sum(v for k, v in series.items() if k[0] == "mlmon_predictions_total")
    close(total, len(rows), "every prediction counted once", rel=0)


def main():
    rng = np.random.default_rng(20261206)
    with tempfile.TemporaryDirectory() as d:
        per_segment(d, rng)
    with tempfile.TemporaryDirectory() as d:
        bounded(d, rng)
    if FAILURES:
        print(f"{len(FAILURES)} failures")
        sys.exit(1)
    print("all segment checks passed")


if __name__ == "__main__":
    main()
