#!/usr/bin/env python3
"""Two models of different tasks, with different score, feature, latency and
outcome buckets, plus two versions of one of them, in one mlmon-example-server
(one Registry, one OutcomeIngest), end to end over HTTP:

  fraud v1  binary, thresholds 0.3 and 0.5, its own buckets
  fraud v2  binary, thresholds 0.5 and 0.7, other buckets everywhere
  eta   v3  regression, buckets of its own

Seeded random requests go to fraud v1 only (ids A), to both versions (ids B,
each version with its own features, so its own score) and to v2 only (ids C),
and to eta. The score each version answered is taken from the response. One
NDJSON feedback body then carries outcomes of both models: model-only fraud
lines (joined in every version holding the id), fraud lines naming version 1
or 2 (that version only), ids no version holds, re-sent ids, and eta lines.
Checked:

- the answer of POST /v1/outcomes: matched, unmatched, duplicate, invalid and
  version_matches, computed from the sets above;
- mlmon_outcomes_total{result} per version;
- `promtool check metrics` is clean; every histogram series of every version
  carries exactly the bounds of that version's config;
- mlmon_model_quality{window="1h"} per version equals scikit-learn on that
  version's own (score, outcome) pairs to 1e-9: precision, recall, f1,
  accuracy per threshold, brier and log_loss (binary), mae, rmse and mape
  (regression), and samples; AUC within the documented 0.002 of the binned
  estimate; mlmon_confusion_total per threshold equals sklearn's confusion
  matrix.

Usage: many_models_test.py <mlmon-example-server>"""
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from sklearn import metrics as skm

import loopback

SERVER = sys.argv[1]
PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
FAILURES = []

# Bounds of each version; written into its monitor.yaml below and checked in
# /metrics.
FEATURE_NAMES = ["amount_usd", "account_age_days", "distance_km"]
CONFIGS = {
    ("fraud", "1"): {
        "task": "binary",
        "thresholds": [0.3, 0.5],
        "latency_buckets": [0.0005, 0.005, 0.05, 0.5],
        "score_buckets": [0.1, 0.25, 0.5, 0.75, 0.9],        # distribution
        "outcome_score_buckets": [0.2, 0.4, 0.6, 0.8],       # mlmon_outcome_score
        "delay_buckets": [1, 10, 100, 1000],
        "features": {"amount_usd": [10, 30, 100, 300, 1000],
                     "account_age_days": [7, 30, 365, 1000],
                     "distance_km": [5, 20, 100, 500]},
    },
    ("fraud", "2"): {
        "task": "binary",
        "thresholds": [0.5, 0.7],
        "latency_buckets": [0.001, 0.01, 0.1, 1, 10],
        "score_buckets": [0.05, 0.2, 0.4, 0.6, 0.8, 0.95],
        "outcome_score_buckets": [0.1, 0.3, 0.5, 0.7, 0.9],
        "delay_buckets": [5, 60, 3600],
        "features": {"amount_usd": [5, 50, 500, 5000],
                     "account_age_days": [30, 365],
                     "distance_km": [1, 10, 100, 1000, 10000]},
    },
    ("eta", "3"): {
        "task": "regression",
        "latency_buckets": [0.002, 0.02, 0.2],
        "score_buckets": [0.05, 0.1, 0.2, 0.4, 0.8],
        "error_buckets": [0.01, 0.05, 0.1, 0.5],
        "delay_buckets": [2, 20, 200],
        "features": {"amount_usd": [1, 2, 4, 8]},
    },
}
QUALITY_WINDOW = "1h"


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        FAILURES.append(what)


def write_config(path, model, version, c):
    lines = [f"model: {model}", f'version: "{version}"', "endpoints: [predict]",
             f"task: {c['task']}", f"latency_buckets: {c['latency_buckets']}",
             "outcome_ttl: 1h", "pending_capacity: 10000",
             f"windows: [{QUALITY_WINDOW}]", f"delay_buckets: {c['delay_buckets']}"]
    if c["task"] == "binary":
        lines += [f"thresholds: {c['thresholds']}",
                  f"score_buckets: {c['outcome_score_buckets']}"]
    else:
        lines += [f"error_buckets: {c['error_buckets']}"]
    lines += ["distribution:", f"  buckets: {c['score_buckets']}", "features:", "  numeric:"]
    lines += [f"    - {{name: {n}, min: 0, buckets: {b}}}" for n, b in c["features"].items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


post = loopback.post
scrape = loopback.scrape


def samples_of(text):
    out = []
    for fam in text_string_to_metric_families(text):
        out.extend(fam.samples)
    return out


def value(samples, name, **labels):
    """The one sample `name` whose labels include `labels` (None if none;
    a failure if several)."""
    hits = [s for s in samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    if len(hits) > 1:
        check(False, f"{name}{labels}: {len(hits)} series, expected one")
    return hits[0].value if hits else None


def bounds_by_series(samples, family, model, version):
    """{other labels: sorted finite `le` bounds} of the histogram `family` for
    one model version."""
    out = {}
    for s in samples:
        if s.name != family + "_bucket":
            continue
        if s.labels.get("model") != model or s.labels.get("version") != version:
            continue
        key = tuple(sorted((k, v) for k, v in s.labels.items()
                           if k not in ("le", "model", "version")))
        le = float(s.labels["le"])
        out.setdefault(key, []).append(le)
    return {k: sorted(v) for k, v in out.items()}


def start(configs):
    return loopback.start_example_server(SERVER, configs)


def random_features(rng):
    """Features spreading the example's logistic score over (0, 1) (median
    about 0.47), so every threshold has positive and negative predictions."""
    f = {"amount_usd": round(rng.lognormvariate(3.5, 1.5), 2),
         "account_age_days": int(rng.lognormvariate(2.5, 1.8)),
         "distance_km": round(rng.expovariate(1 / 80.0), 1)}
    if rng.random() < 0.1:  # a missing feature contributes nothing to the score
        del f[rng.choice(FEATURE_NAMES)]
    return f


def predict(port, rid, model, version, features):
    s, body = post(port, "/v1/predict", json.dumps(
        {"id": rid, "model": model, "version": version, "features": features}))
    r = json.loads(body) if s == 200 else {}
    if not (s == 200 and r.get("model") == model and r.get("version") == version
            and r.get("id") == rid):
        check(False, f"predict {model} v{version} {rid}: {s} {body[:200]}")
        return None
    return float(r["score"])


def binary_reference(pairs, thresholds):
    """scikit-learn's quality of one binary version on its (score, outcome)
    pairs: {(metric, threshold label): value}."""
    y_score = np.array([p for p, _ in pairs])
    y_true = np.array([int(y) for _, y in pairs])
    ref = {("samples", ""): float(len(pairs)),
           ("brier", ""): skm.brier_score_loss(y_true, y_score),
           ("log_loss", ""): skm.log_loss(y_true, y_score, labels=[0, 1])}
    for t in thresholds:
        y_pred = (y_score >= t).astype(int)
        label = f"{t:g}"
        ref[("precision", label)] = skm.precision_score(y_true, y_pred)
        ref[("recall", label)] = skm.recall_score(y_true, y_pred)
        ref[("f1", label)] = skm.f1_score(y_true, y_pred)
        ref[("accuracy", label)] = skm.accuracy_score(y_true, y_pred)
    return ref, skm.roc_auc_score(y_true, y_score)


def regression_reference(pairs):
    y_pred = np.array([p for p, _ in pairs])
    y_true = np.array([y for _, y in pairs])
    return {("samples", ""): float(len(pairs)),
            ("mae", ""): skm.mean_absolute_error(y_true, y_pred),
            ("rmse", ""): math.sqrt(skm.mean_squared_error(y_true, y_pred)),
            ("mape", ""): skm.mean_absolute_percentage_error(y_true, y_pred)}


def close(a, b, tol):
    return a is not None and abs(a - b) <= tol * max(1.0, abs(b))


def main():
    rng = random.Random(20261206)
    d = tempfile.mkdtemp(prefix="mlmon_many_models_")
    paths = []
    for (model, version), c in CONFIGS.items():
        path = os.path.join(d, f"{model}-v{version}.yaml")
        write_config(path, model, version, c)
        paths.append(path)

    p, hosted, port = start(paths)
    try:
        rc = run(rng, d, port, hosted)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
    check(p.returncode == 0, f"SIGTERM: exit 0 (got {p.returncode})")
    if FAILURES or rc:
        print(f"{len(FAILURES)} many-models checks failed")
        return 1
    print("many models checks passed")
    return 0


def run(rng, d, port, hosted):
    check(hosted == 3, f"hosts 3 model versions (says {hosted})")

    # --- Predictions. A: fraud v1 only, B: both versions (each with its own
    # features, so its own score), C: fraud v2 only; E: eta.
    ids_a = [f"a{i}" for i in range(120)]
    ids_b = [f"b{i}" for i in range(150)]
    ids_c = [f"c{i}" for i in range(100)]
    ids_e = [f"e{i}" for i in range(200)]
    scores = {("fraud", "1"): {}, ("fraud", "2"): {}, ("eta", "3"): {}}
    plan = ([("fraud", "1", i) for i in ids_a + ids_b] +
            [("fraud", "2", i) for i in ids_b + ids_c] +
            [("eta", "3", i) for i in ids_e])
    rng.shuffle(plan)  # interleave the models and versions
    for model, version, rid in plan:
        s = predict(port, rid, model, version, random_features(rng))
        if s is not None:
            scores[(model, version)][rid] = s
    both = [i for i in ids_b if scores[("fraud", "1")][i] != scores[("fraud", "2")][i]]
    check(len(both) > 100, f"shared ids scored differently by v1 and v2 ({len(both)}/150)")

    # --- One feedback body. Each id gets one true outcome, whichever lines
    # carry it.
    truth = {}
    for rid in ids_a + ids_b + ids_c:
        # Correlated with v1's score (or v2's for C), so the quality is neither
        # perfect nor degenerate.
        s = scores[("fraud", "1")].get(rid, scores[("fraud", "2")].get(rid))
        truth[rid] = 1 if rng.random() < 0.1 + 0.8 * s else 0
    for rid in ids_e:
        truth[rid] = round(scores[("eta", "3")][rid] * rng.uniform(0.5, 1.6) + 0.01, 6)

    a_fb = ids_a[:100]                  # 20 of A get no outcome
    b_model = ids_b[:130]               # model-only: both versions
    b_v1 = ids_b[130:135]               # "version": "1" only
    b_v2 = ids_b[135:145]               # "version": "2" only; 5 of B get none
    c_fb = ids_c[:90]
    e_fb = ids_e[:180]
    fraud_unknown = [f"x{i}" for i in range(15)]
    eta_unknown = [f"y{i}" for i in range(5)]
    for rid in fraud_unknown:
        truth[rid] = rng.randint(0, 1)
    for rid in eta_unknown:
        truth[rid] = 1.0

    lines = [{"id": i, "outcome": truth[i], "model": "fraud"}
             for i in a_fb + b_model + c_fb + fraud_unknown]
    lines += [{"id": i, "outcome": truth[i], "model": "fraud", "version": "1"} for i in b_v1]
    lines += [{"id": i, "outcome": truth[i], "model": "fraud", "version": "2"} for i in b_v2]
    lines += [{"id": i, "outcome": truth[i], "model": "eta"} for i in e_fb + eta_unknown]
    rng.shuffle(lines)
    # Re-sent after the originals: an id only v1 holds, and one both hold.
    lines += [{"id": a_fb[0], "outcome": truth[a_fb[0]], "model": "fraud"},
              {"id": b_model[0], "outcome": truth[b_model[0]], "model": "fraud"}]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    s, answer = post(port, "/v1/outcomes", body, "application/x-ndjson")
    check(s == 200, f"feedback answered 200: {s} {answer[:300]}")
    got = json.loads(answer) if s == 200 else {}
    want = {
        "matched": len(a_fb) + len(b_model) + len(b_v1) + len(b_v2) + len(c_fb) + len(e_fb),
        "unmatched": len(fraud_unknown) + len(eta_unknown),
        "duplicate": 2,
        "invalid": 0,
        # Model-only lines of B joined in both versions.
        "version_matches": (len(a_fb) + 2 * len(b_model) + len(b_v1) + len(b_v2) +
                            len(c_fb) + len(e_fb)),
    }
    for k, v in want.items():
        check(got.get(k) == v, f"answer {k} = {v} (got {got.get(k)})")
    check(sum(got.get(k, 0) for k in ("matched", "unmatched", "duplicate", "invalid"))
          == len(lines), f"the four counts sum to the {len(lines)} lines")

    # Each version's own pairs: what it predicted and was told.
    joined = {("fraud", "1"): a_fb + b_model + b_v1,
              ("fraud", "2"): b_model + b_v2 + c_fb,
              ("eta", "3"): e_fb}
    pairs = {mv: [(scores[mv][i], truth[i]) for i in ids] for mv, ids in joined.items()}
    outcomes_want = {
        ("fraud", "1"): {"matched": len(joined[("fraud", "1")]), "duplicate": 2,
                         "unmatched": len(fraud_unknown)},
        ("fraud", "2"): {"matched": len(joined[("fraud", "2")]), "duplicate": 1,
                         "unmatched": len(fraud_unknown)},
        ("eta", "3"): {"matched": len(e_fb), "duplicate": 0, "unmatched": len(eta_unknown)},
    }

    # --- The quality gauges move on the server's ticker (once a second):
    # scrape until every version's window holds its outcomes.
    deadline = time.monotonic() + 60
    while True:
        text = scrape(port)
        smp = samples_of(text)
        ready = all(value(smp, "mlmon_model_quality", model=m, version=v, metric="samples",
                          window=QUALITY_WINDOW) == len(joined[(m, v)])
                    for m, v in joined)
        if ready or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    check(ready, "every version's quality window holds its matched outcomes")

    metrics_path = os.path.join(d, "metrics.txt")
    with open(metrics_path, "w") as f:
        f.write(text)
    with open(metrics_path) as f:
        pc = subprocess.run([PROMTOOL, "check", "metrics"], stdin=f, capture_output=True,
                            text=True, timeout=60)
    check(pc.returncode == 0 and not (pc.stdout + pc.stderr).strip(),
          "promtool check metrics clean: " + (pc.stdout + pc.stderr)[-800:])

    info = sorted((s.labels["model"], s.labels["version"]) for s in smp
                  if s.name == "mlmon_model_info")
    check(info == sorted(CONFIGS), f"mlmon_model_info: one series per version ({info})")

    for (m, v), c in CONFIGS.items():
        who = f"{m} v{v}"
        for result, n in outcomes_want[(m, v)].items():
            got_n = value(smp, "mlmon_outcomes_total", model=m, version=v, result=result)
            check((got_n or 0) == n,
                  f"{who}: mlmon_outcomes_total{{result={result}}} = {n} (got {got_n})")
        check(value(smp, "mlmon_requests_total", model=m, version=v, endpoint="predict",
                    status="ok") == len(scores[(m, v)]),
              f"{who}: {len(scores[(m, v)])} ok requests")

        # Histogram bounds: each series of the version on its own config's.
        expect = {"mlmon_request_duration_seconds": c["latency_buckets"],
                  "mlmon_prediction_score": c["score_buckets"],
                  "mlmon_outcome_delay_seconds": c["delay_buckets"]}
        if c["task"] == "binary":
            expect["mlmon_outcome_score"] = c["outcome_score_buckets"]
        else:
            expect["mlmon_absolute_error"] = c["error_buckets"]
        for family, want_bounds in expect.items():
            got_b = bounds_by_series(smp, family, m, v)
            want_b = sorted(float(b) for b in want_bounds) + [math.inf]
            check(got_b and all(b == want_b for b in got_b.values()),
                  f"{who}: {family} on bounds {want_bounds} "
                  f"({len(got_b)} series: {sorted(set(map(tuple, got_b.values())))})")
        got_b = bounds_by_series(smp, "mlmon_feature_value", m, v)
        want_f = {(("feature", n),): sorted(float(x) for x in b) + [math.inf]
                  for n, b in c["features"].items()}
        check(got_b == want_f, f"{who}: mlmon_feature_value per feature on its own bounds "
              f"(got {got_b})")

        # Quality per version against scikit-learn on its own pairs.
        if c["task"] == "binary":
            ref, auc = binary_reference(pairs[(m, v)], c["thresholds"])
        else:
            ref, auc = regression_reference(pairs[(m, v)]), None
        for (metric, threshold), want_q in sorted(ref.items()):
            got_q = value(smp, "mlmon_model_quality", model=m, version=v, metric=metric,
                          window=QUALITY_WINDOW, threshold=threshold)
            check(close(got_q, want_q, 1e-9),
                  f"{who}: {metric}{'@' + threshold if threshold else ''} = {want_q:.12g} "
                  f"(sklearn) vs {got_q}")
        if auc is not None:
            got_q = value(smp, "mlmon_model_quality", model=m, version=v, metric="auc",
                          window=QUALITY_WINDOW)
            check(close(got_q, auc, 0.002), f"{who}: auc {got_q} within 0.002 of sklearn "
                  f"{auc:.6f}")
            y_true = [int(y) for _, y in pairs[(m, v)]]
            for t in c["thresholds"]:
                y_pred = [int(s >= t) for s, _ in pairs[(m, v)]]
                cm = skm.confusion_matrix(y_true, y_pred, labels=[0, 1])
                got_cm = [[value(smp, "mlmon_confusion_total", model=m, version=v,
                                 threshold=f"{t:g}", actual=str(a), predicted=str(pr))
                           for pr in (0, 1)] for a in (0, 1)]
                check(got_cm == cm.tolist(),
                      f"{who}: mlmon_confusion_total@{t:g} = sklearn {cm.tolist()} "
                      f"(got {got_cm})")
    # The versions really differ: a check that cannot pass by one version
    # answering for the other.
    p1 = value(smp, "mlmon_model_quality", model="fraud", version="1", metric="precision",
               window=QUALITY_WINDOW, threshold="0.5")
    p2 = value(smp, "mlmon_model_quality", model="fraud", version="2", metric="precision",
               window=QUALITY_WINDOW, threshold="0.5")
    check(p1 is not None and p2 is not None and p1 != p2,
          f"fraud v1 and v2 precision@0.5 differ ({p1} vs {p2})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
