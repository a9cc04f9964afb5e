#!/usr/bin/python3
"""`mlmon replay` end to end against scikit-learn, on real data sets shipped
with Debian's python3-sklearn and real models trained on them.

For each task it writes prediction and outcome logs (with unmatched,
duplicate, invalid and malformed outcome lines, and predictions that never get
an outcome), runs the real `mlmon replay`, parses its Prometheus output with
the third-party prometheus_client parser, and compares every confusion cell
and quality metric with what scikit-learn computes on the same pairs. It also
writes a node_exporter textfile (--out) and pushes to a real Pushgateway.

usage: replay_sklearn_test.py MLMON_BINARY
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import urllib.request

import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from sklearn import datasets
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (accuracy_score, brier_score_loss, confusion_matrix,
                             f1_score, log_loss, mean_absolute_error,
                             mean_absolute_percentage_error, mean_squared_error,
                             precision_score, recall_score, roc_auc_score)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loopback import free_port, wait_ready

MLMON = sys.argv[1]
FAILURES = []
T0 = 1764150000.0


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def close(a, b, what, rel=1e-9, abs_tol=1e-12):
    check(math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol), f"{what}: mlmon {a!r} != reference {b!r}")


def write_ndjson(path, rows, extra_lines=()):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        for line in extra_lines:
            f.write(line + "\n")


def run_replay(workdir, config, preds, outs, extra=()):
    cfg = os.path.join(workdir, "monitor.yaml")
    with open(cfg, "w") as f:
        f.write(config)
    # The outcome logs carry deliberately invalid lines (with_accounting and
    # the per-task cases), up to ~7% of the smallest data set.
    p = subprocess.run([MLMON, "replay", "--config", cfg, "--predictions", preds,
                        "--outcomes", outs, "--max-invalid", "10%", *extra],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        print(p.stderr)
    check(p.returncode == 0, f"mlmon replay exit {p.returncode}")
    return p.stdout, p.stderr


def samples(text):
    """{(name, frozenset(labels)): value} from the third-party parser."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


# The families with a `segment` label (docs/metrics.md); a model without
# segments exports them with segment="".
SEGMENTED = {"mlmon_predictions_total", "mlmon_empty_responses_total", "mlmon_prediction_score",
             "mlmon_outcomes_total", "mlmon_confusion_total", "mlmon_outcome_score",
             "mlmon_outcome_brier_total", "mlmon_outcome_log_loss_total", "mlmon_absolute_error",
             "mlmon_squared_error_total", "mlmon_absolute_percentage_error_total",
             "mlmon_outcome_rank", "mlmon_outcome_reciprocal_rank_total", "mlmon_model_quality"}


def get(smp, name, **labels):
    family = name
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name[:-len(suffix)] in SEGMENTED:
            family = name[:-len(suffix)]
    if family in SEGMENTED:
        labels.setdefault("segment", "")
    key = (name, frozenset(labels.items()))
    if key not in smp:
        FAILURES.append(f"missing series {name}{labels}")
        print("FAIL: missing", name, labels)
        return float("nan")
    return smp[key]


def with_accounting(workdir, ids, pred_rows, outcome_rows):
    """Adds the accounting cases to the outcome log: 3 unmatched ids, 2
    re-sent outcomes, 2 invalid lines and 1 malformed line."""
    extra = [
        json.dumps({"id": "never-predicted-1", "outcome": 1, "ts": T0 + 5000}),
        json.dumps({"id": "never-predicted-2", "outcome": 0, "ts": T0 + 5000}),
        json.dumps({"id": "never-predicted-3", "outcome": 1, "ts": T0 + 5000}),
        json.dumps(dict(outcome_rows[0], ts=T0 + 6000)),  # duplicate
        json.dumps(dict(outcome_rows[1], ts=T0 + 6000)),  # duplicate
        json.dumps({"outcome": 1, "ts": T0 + 6000}),      # invalid: no id
        json.dumps({"id": ids[0], "outcome": [1]}),        # invalid: bad type
        "{this is not json",                               # malformed
    ]
    preds = os.path.join(workdir, "predictions.ndjson")
    outs = os.path.join(workdir, "outcomes.ndjson")
    write_ndjson(preds, pred_rows)
    write_ndjson(outs, outcome_rows, extra)
    return preds, outs


def check_accounting(smp, model, matched, pending):
    base = {"model": model, "version": "1"}
    close(get(smp, "mlmon_outcomes_total", **base, result="matched"), matched, f"{model} matched", rel=0)
    close(get(smp, "mlmon_outcomes_total", **base, result="unmatched"), 3, f"{model} unmatched", rel=0)
    close(get(smp, "mlmon_outcomes_total", **base, result="duplicate"), 2, f"{model} duplicate", rel=0)
    close(get(smp, "mlmon_outcomes_total", **base, result="invalid"), 3, f"{model} invalid", rel=0)
    close(get(smp, "mlmon_pending_predictions", **base), pending, f"{model} pending", rel=0)


def ece(scores, outcomes):
    """Expected calibration error, numpy, 15 bins on the explicit edges
    np.arange(16) / 15 (left edge inclusive, 1.0 in the last bin)."""
    edges = np.arange(16) / 15.0
    b = np.searchsorted(edges[1:-1], scores, side="right")
    total = 0.0
    for k in range(15):
        m = b == k
        if m.any():
            total += m.sum() / len(scores) * abs(outcomes[m].mean() - scores[m].mean())
    return total


def binary(workdir):
    x, y = datasets.load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, random_state=7)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(xtr, ytr)
    scores = model.predict_proba(xte)[:, 1]
    n = len(scores)
    ids = [f"bc-{i}" for i in range(n)]
    labelled = n - 5  # the last 5 never get an outcome
    pred_rows = [{"ts": T0 + i, "id": ids[i], "score": float(scores[i])} for i in range(n)]
    outcome_rows = [{"id": ids[i], "outcome": bool(yte[i]) if i % 2 else int(yte[i]),
                     "ts": T0 + i + 30} for i in range(labelled)]
    preds, outs = with_accounting(workdir, ids, pred_rows, outcome_rows)
    text, err = run_replay(workdir, "model: bc\ntask: binary\nthresholds: [0.3, 0.5, 0.7]\n",
                           preds, outs)
    check("outcomes.ndjson:" in err, "invalid lines reported on stderr with file:line")
    smp = samples(text)
    check_accounting(smp, "bc", labelled, 5)
    s, t = scores[:labelled], yte[:labelled]
    base = {"model": "bc", "version": "1"}
    for thr in (0.3, 0.5, 0.7):
        pred = (s >= thr).astype(int)
        cm = confusion_matrix(t, pred, labels=[0, 1])
        for a in (0, 1):
            for p in (0, 1):
                close(get(smp, "mlmon_confusion_total", **base, threshold=f"{thr:g}",
                          predicted=str(p), actual=str(a)), cm[a][p],
                      f"confusion t={thr} p={p} a={a}", rel=0)
        q = dict(base, window="all", threshold=f"{thr:g}", k="")
        close(get(smp, "mlmon_model_quality", **q, metric="precision"), precision_score(t, pred), f"precision@{thr}")
        close(get(smp, "mlmon_model_quality", **q, metric="recall"), recall_score(t, pred), f"recall@{thr}")
        close(get(smp, "mlmon_model_quality", **q, metric="f1"), f1_score(t, pred), f"f1@{thr}")
        close(get(smp, "mlmon_model_quality", **q, metric="accuracy"), accuracy_score(t, pred), f"accuracy@{thr}")
    q = dict(base, window="all", threshold="", k="")
    close(get(smp, "mlmon_model_quality", **q, metric="brier"), brier_score_loss(t, s), "brier")
    close(get(smp, "mlmon_model_quality", **q, metric="log_loss"), log_loss(t, s, eps=1e-15), "log_loss")
    close(get(smp, "mlmon_model_quality", **q, metric="ece"), ece(s, t.astype(float)), "ece")
    auc = get(smp, "mlmon_model_quality", **q, metric="auc")
    check(abs(auc - roc_auc_score(t, s)) <= 0.002, f"auc {auc} vs {roc_auc_score(t, s)}")
    # Outcome delay: every matched outcome came 30 s after its prediction.
    close(get(smp, "mlmon_outcome_delay_seconds_sum", **base), 30.0 * labelled, "delay sum")
    return text


def regression(workdir):
    x, y = datasets.load_diabetes(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, random_state=3)
    pred = LinearRegression().fit(xtr, ytr).predict(xte)
    n = len(pred)
    ids = [f"db-{i}" for i in range(n)]
    labelled = n - 5
    pred_rows = [{"ts": T0 + i, "id": ids[i], "value": float(pred[i])} for i in range(n)]
    outcome_rows = [{"id": ids[i], "outcome": float(yte[i]), "ts": T0 + i + 60} for i in range(labelled)]
    preds, outs = with_accounting(workdir, ids, pred_rows, outcome_rows)
    text, _ = run_replay(workdir, "model: diabetes\ntask: regression\n", preds, outs)
    smp = samples(text)
    check_accounting(smp, "diabetes", labelled, 5)
    t, p = yte[:labelled], pred[:labelled]
    q = {"model": "diabetes", "version": "1", "window": "all", "threshold": "", "k": ""}
    close(get(smp, "mlmon_model_quality", **q, metric="mae"), mean_absolute_error(t, p), "mae")
    close(get(smp, "mlmon_model_quality", **q, metric="rmse"), math.sqrt(mean_squared_error(t, p)), "rmse")
    close(get(smp, "mlmon_model_quality", **q, metric="mape"), mean_absolute_percentage_error(t, p), "mape")
    close(get(smp, "mlmon_squared_error_total", model="diabetes", version="1"),
          float(np.sum((t - p) ** 2)), "squared error sum")


def multiclass(workdir):
    x, y = datasets.load_iris(return_X_y=True)
    names = ["setosa", "versicolor", "virginica"]
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.6, random_state=5)
    pred = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=1000)).fit(xtr, ytr).predict(xte)
    n = len(pred)
    ids = [f"iris-{i}" for i in range(n)]
    labelled = n - 5
    pred_rows = [{"ts": T0 + i, "id": ids[i], "label": names[pred[i]]} for i in range(n)]
    outcome_rows = [{"id": ids[i], "outcome": names[yte[i]], "ts": T0 + i + 10} for i in range(labelled)]
    preds, outs = with_accounting(workdir, ids, pred_rows, outcome_rows)
    text, _ = run_replay(workdir, "model: iris\ntask: multiclass\nclasses: [setosa, versicolor, virginica]\n",
                         preds, outs)
    smp = samples(text)
    # Binary 0/1 outcomes of the accounting lines are invalid for multiclass;
    # 3 "never predicted" lines are then invalid rather than unmatched.
    t, p = yte[:labelled], pred[:labelled]
    q = {"model": "iris", "version": "1", "window": "all", "threshold": "", "k": ""}
    close(get(smp, "mlmon_model_quality", **q, metric="accuracy"), accuracy_score(t, p), "mc accuracy")
    close(get(smp, "mlmon_model_quality", **q, metric="precision"), precision_score(t, p, average="macro"), "mc precision")
    close(get(smp, "mlmon_model_quality", **q, metric="recall"), recall_score(t, p, average="macro"), "mc recall")
    close(get(smp, "mlmon_model_quality", **q, metric="f1"), f1_score(t, p, average="macro"), "mc f1")
    cm = confusion_matrix(t, p, labels=[0, 1, 2])
    for a in range(3):
        for pp in range(3):
            close(get(smp, "mlmon_confusion_total", model="iris", version="1", threshold="",
                      predicted=names[pp], actual=names[a]), cm[a][pp], f"mc cell {a},{pp}", rel=0)


def drift_after_profile(workdir):
    """mlmon profile on the training scores, then mlmon replay of a test set
    shifted on purpose: the drift scores equal an independent computation
    (numpy, scipy) from the same bins."""
    from scipy.spatial.distance import jensenshannon
    x, y = datasets.load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.5, random_state=11)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(xtr, ytr)
    train_scores = model.predict_proba(xtr)[:, 1]
    shifted = xte.copy()
    shifted[:, 0] *= 1.5   # 'mean radius' scaled on purpose
    shifted[:, 20] *= 1.5  # 'worst radius'
    scores = model.predict_proba(shifted)[:, 1]
    bounds = [i / 20 for i in range(1, 21)]
    config = "model: bc\ntask: binary\nreference: reference.json\n"
    cfg = os.path.join(workdir, "monitor.yaml")
    with open(cfg, "w") as f:
        f.write(config)
    training = os.path.join(workdir, "training.ndjson")
    write_ndjson(training, [{"id": f"t{i}", "score": float(s)} for i, s in enumerate(train_scores)])
    p = subprocess.run([MLMON, "profile", "--config", cfg, "--input", training,
                        "--out", os.path.join(workdir, "reference.json")],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"mlmon profile exit {p.returncode}: {p.stderr}")
    preds = os.path.join(workdir, "predictions.ndjson")
    outs = os.path.join(workdir, "outcomes.ndjson")
    write_ndjson(preds, [{"ts": T0 + i, "id": f"s{i}", "score": float(s)} for i, s in enumerate(scores)])
    write_ndjson(outs, [])
    text, _ = run_replay(workdir, config, preds, outs)
    smp = samples(text)

    def binned(values):
        counts = np.zeros(len(bounds) + 1)
        for v in values:
            counts[np.searchsorted(bounds, v, side="left")] += 1  # first bound >= v
        return counts

    with open(os.path.join(workdir, "reference.json")) as f:
        ref = np.array(json.load(f)["signals"]["score"]["counts"], dtype=float)
    close(float(ref.sum()), len(train_scores), "profile counts every training score", rel=0)
    check(np.array_equal(ref, binned(train_scores)), "profile bins = numpy bins")
    cur = binned(scores)
    p_, q_ = cur / cur.sum(), ref / ref.sum()
    pf, qf = np.where(p_ == 0, 1e-4, p_), np.where(q_ == 0, 1e-4, q_)
    expected = {
        "psi": float(np.sum((pf - qf) * np.log(pf / qf))),
        "js": float(jensenshannon(p_, q_, base=2) ** 2),
        "linf": float(np.max(np.abs(p_ - q_))),
        "ks": float(np.max(np.abs(np.cumsum(p_) - np.cumsum(q_)))),
    }
    for method, want in expected.items():
        got = get(smp, "mlmon_drift_score", model="bc", version="1", signal="score",
                  method=method, window="all")
        close(got, want, f"replay drift {method}", rel=1e-9, abs_tol=1e-12)
    check(expected["psi"] > 0.1, f"the shift is visible (psi {expected['psi']})")


def textfile_and_pushgateway(workdir):
    preds = os.path.join(workdir, "predictions.ndjson")
    outs = os.path.join(workdir, "outcomes.ndjson")
    write_ndjson(preds, [{"ts": T0, "id": "a", "score": 0.9}, {"ts": T0, "id": "b", "score": 0.1}])
    write_ndjson(outs, [{"id": "a", "outcome": 1, "ts": T0 + 1}])
    cfg = "model: pushed\n"
    textfile = os.path.join(workdir, "mlmon.prom")
    run_replay(workdir, cfg, preds, outs, ["--out", textfile])
    with open(textfile) as f:
        smp = samples(f.read())
    close(get(smp, "mlmon_outcomes_total", model="pushed", version="1", result="matched"), 1, "textfile matched")
    check(not [n for n in os.listdir(workdir) if ".tmp." in n], "no temp file left behind")

    gw = "/usr/bin/prometheus-pushgateway"
    if not os.path.exists(gw):
        print("SKIP: prometheus-pushgateway not installed")
        return
    port = free_port()
    proc = subprocess.Popen([gw, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/-/ready", proc, 20)
        check(ready, "pushgateway did not start")
        if not ready:
            return
        run_replay(workdir, cfg, preds, outs, ["--push", f"http://127.0.0.1:{port}", "--job", "nightly"])
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        smp = samples(text)
        close(get(smp, "mlmon_outcomes_total", model="pushed", version="1", result="matched",
                  job="nightly", instance=""), 1, "pushgateway matched")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    with tempfile.TemporaryDirectory() as d:
        for case in (binary, regression, multiclass, drift_after_profile,
                     textfile_and_pushgateway):
            sub = os.path.join(d, case.__name__)
            os.mkdir(sub)
            case(sub)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all replay checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
