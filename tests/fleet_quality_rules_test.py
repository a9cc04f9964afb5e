#!/usr/bin/python3
"""The fleet quality recording rules of `mlmon rules` against scikit-learn.

Data generated with numpy is split over three replicas. Each replica's share
goes through the real `mlmon replay`, whose exposition gives that replica's
raw counters and histograms. Those become the input series of a
`promtool test rules` file (one `instance` per replica; the second replica's
`le` labels written as Prometheus 3 stores them, `1.0` for `1`), whose
expectations come from scikit-learn on the union of the three replicas'
data:

- binary: precision, recall, accuracy per threshold (1h and the SLO window),
  Brier score, log loss, all to 1e-9; the ROC AUC equal to 1e-9 to the exact
  trapezoid on the bucketed scores (scikit-learn on bucket indexes), within
  the error bound the rule reports of scikit-learn's AUC on the raw scores,
  and the bound equal to sum_b pos_b * neg_b / (2 P N) to 1e-9;
- regression: MAE, RMSE, MAPE; multiclass: accuracy and macro precision,
  recall, F1 (a class never predicted, a class never seen); ranking: hit
  rate per k (scikit-learn's top_k_accuracy_score) and MRR, all to 1e-9;
- MlmonPrecisionLow fires on the fleet precision: below the objective over
  the fleet while one replica alone is above it.

Then the same file with one expectation moved by 1e-6 must fail, and the
values the rules compute are printed next to scikit-learn's.

usage: fleet_quality_rules_test.py MLMON_BINARY
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import (accuracy_score, brier_score_loss, f1_score, log_loss,
                             mean_absolute_error, mean_absolute_percentage_error,
                             mean_squared_error,
                             precision_score, recall_score, roc_auc_score,
                             top_k_accuracy_score)

MLMON = sys.argv[1]
PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
T0 = 1764150000
STEPS = 120  # one sample a minute for two hours
EVAL = "2h"
TOL = 1e-9
REPLICAS = 3
FAILURES = []
RAW = ("mlmon_confusion_total", "mlmon_outcome_score", "mlmon_outcome_brier_total",
       "mlmon_outcome_log_loss_total", "mlmon_absolute_error",
       "mlmon_squared_error_total", "mlmon_absolute_percentage_error_total",
       "mlmon_outcome_rank",
       "mlmon_outcome_reciprocal_rank_total")
SCORE_BOUNDS = [round(0.05 * i, 2) for i in range(1, 21)]


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        FAILURES.append(what)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def replay(workdir, name, config, pred_rows, outcome_rows):
    """The raw quality series of one replica: [(name, labels, value)]."""
    d = os.path.join(workdir, name)
    os.makedirs(d)
    paths = {}
    for what, rows in (("predictions", pred_rows), ("outcomes", outcome_rows)):
        paths[what] = os.path.join(d, what + ".ndjson")
        with open(paths[what], "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    cfg = os.path.join(d, "monitor.yaml")
    with open(cfg, "w") as f:
        f.write(config)
    p = run([MLMON, "replay", "--config", cfg, "--predictions", paths["predictions"],
             "--outcomes", paths["outcomes"]])
    check(p.returncode == 0, f"mlmon replay {name} exits 0 ({p.stderr.strip()[-300:]})")
    check(f"matched {len(outcome_rows)}," in p.stderr, f"{name}: every outcome matched")
    out = []
    for fam in text_string_to_metric_families(p.stdout):
        for s in fam.samples:
            if any(s.name == r or s.name.startswith(r + "_") for r in RAW):
                out.append((s.name, dict(s.labels), s.value))
    return out


def om_le(le):
    """The `le` text Prometheus 3 stores for a scraped bucket."""
    return le if le == "+Inf" else repr(float(le))


def series_text(name, labels):
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def input_series(replicas):
    """promtool input series: each replica's value v as a counter growing by
    v a minute, so that every rate is v/60 and each ratio of sums of rates
    is the ratio of the replicas' summed values."""
    out = []
    for i, samples in enumerate(replicas):
        for name, labels, value in samples:
            labels = dict(labels, instance=f"replica-{i}")
            if i == 1 and "le" in labels:
                labels["le"] = om_le(labels["le"])
            out.append({"series": series_text(name, labels),
                        "values": f"0+{value!r}x{STEPS}"})
    return out


def promql_label_set(labels):
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


class Expectations:
    """Rule values to check: (rule, matchers, labels of the result, value)."""

    def __init__(self):
        self.items = []

    def add(self, rule, labels, value, what):
        self.items.append((rule, labels, float(value), what))

    def close_tests(self, shift=None):
        """promql_expr_test entries: |rule - value| < 1e-9 evaluates to 1;
        `shift` = (index, delta) moves one expected value."""
        tests = []
        for i, (rule, labels, value, what) in enumerate(self.items):
            if shift and shift[0] == i:
                value += shift[1]
            tests.append({
                "expr": f"abs({rule}{promql_label_set(labels)} - ({value!r})) < bool {TOL}",
                "eval_time": EVAL,
                "exp_samples": [{"labels": promql_label_set(labels), "value": 1}]})
        return tests

    def probe_tests(self):
        """Entries that fail on purpose, so that promtool prints each value."""
        return [{"expr": f"{rule}{promql_label_set(labels)}", "eval_time": EVAL,
                 "exp_samples": [{"labels": f"{rule}{promql_label_set(labels)}", "value": -1}]}
                for rule, labels, _, _ in self.items]


def promtool_test(workdir, name, rules_file, groups):
    path = os.path.join(workdir, name + ".yml")
    with open(path, "w") as f:
        json.dump({"rule_files": [rules_file], "evaluation_interval": "1m",
                   "tests": groups}, f, indent=1)
    return run([PROMTOOL, "test", "rules", path])


def rules_for(workdir, name, config):
    cfg = os.path.join(workdir, name + ".yaml")
    with open(cfg, "w") as f:
        f.write(config)
    out = os.path.join(workdir, name + "_rules.yml")
    p = run([MLMON, "rules", "--config", cfg, "--out", out])
    check(p.returncode == 0, f"mlmon rules {name} exits 0 ({p.stderr.strip()[:300]})")
    p = run([PROMTOOL, "check", "rules", "--lint=all", "--lint-fatal", out])
    check(p.returncode == 0 and "warn" not in p.stdout.lower(),
          f"promtool check rules {name} ({(p.stdout + p.stderr).strip()[-300:]})")
    return out


def alert_expr(rules_file, alert):
    with open(rules_file) as f:
        for g in yaml.safe_load(f)["groups"]:
            for rule in g["rules"]:
                if rule.get("alert") == alert:
                    return rule["expr"]
    check(False, f"no alert {alert} in {rules_file}")
    return "vector(0)"


def split(n, rng):
    """Replica of each of n data points (unequal shares)."""
    return rng.choice(REPLICAS, size=n, p=[0.2, 0.5, 0.3])


def binary(workdir, rng, exp):
    # Replica 0 serves a segment the model scores well, the others not: its
    # precision alone is above the objective, the fleet's below.
    sizes, pos_share = (700, 1300, 1000), (0.5, 0.3, 0.3)
    ys, ss, wh = [], [], []
    for r, (n, share) in enumerate(zip(sizes, pos_share)):
        y = (rng.random(n) < share).astype(int)
        good = r == 0
        s = np.where(y == 1, rng.beta(6 if good else 3, 2, n), rng.beta(1.5 if good else 2, 5 if good else 3, n))
        ys.append(y)
        ss.append(s)
        wh.append(np.full(n, r))
    y, s, where = np.concatenate(ys), np.concatenate(ss), np.concatenate(wh)
    n = len(y)
    # Scores on bucket bounds (a bound's bucket holds it), and at 0 and 1 on
    # both classes (log loss clipped at 1e-15).
    edge = rng.choice(n, size=120, replace=False)
    s[edge] = rng.choice([0.0, 0.05, 0.5, 0.95, 1.0], size=120)
    s = np.round(s, 6)
    config = ("model: fleet\nversion: \"7\"\ntask: binary\nthresholds: [0.3, 0.5, 0.7]\n"
              "slo:\n  min_precision: {threshold: 0.5, value: 0.8, window: 10m}\n")
    replicas = []
    for r in range(REPLICAS):
        idx = np.flatnonzero(where == r)
        preds = [{"ts": T0 + int(i), "id": f"b{i}", "score": float(s[i])} for i in idx]
        outs = [{"id": f"b{i}", "outcome": int(y[i]), "ts": T0 + int(i) + 30} for i in idx]
        replicas.append(replay(workdir, f"binary-{r}", config, preds, outs))
    base = {"model": "fleet", "version": "7"}
    for thr in (0.3, 0.5, 0.7):
        pred = (s >= thr).astype(int)
        t = {**base, "threshold": f"{thr:g}"}
        for w in ("1h", "10m"):
            exp.add(f"mlmon:precision:rate{w}", t, precision_score(y, pred), f"precision@{thr} {w}")
            exp.add(f"mlmon:recall:rate{w}", t, recall_score(y, pred), f"recall@{thr} {w}")
            exp.add(f"mlmon:accuracy:rate{w}", t, accuracy_score(y, pred), f"accuracy@{thr} {w}")
    exp.add("mlmon:brier:rate1h", base, brier_score_loss(y, s), "brier")
    # mlmon clips scores to [1e-15, 1 - 1e-15], scikit-learn's eps=1e-15
    # (a parameter newer releases dropped for a clip at float64 epsilon).
    exp.add("mlmon:log_loss:rate1h", base, log_loss(y, np.clip(s, 1e-15, 1 - 1e-15)),
            "log loss")
    bucket = np.searchsorted(SCORE_BOUNDS, s, side="left")  # first bound >= s
    trapezoid = roc_auc_score(y, bucket)
    pos = np.bincount(bucket[y == 1], minlength=len(SCORE_BOUNDS) + 1)
    neg = np.bincount(bucket[y == 0], minlength=len(SCORE_BOUNDS) + 1)
    bound = float(np.sum(pos * neg)) / (2.0 * pos.sum() * neg.sum())
    exp.add("mlmon:auc:rate1h", base, trapezoid, "auc = trapezoid on bucketed scores")
    exp.add("mlmon:auc_error_bound:rate1h", base, bound, "auc error bound")
    auc_exact = roc_auc_score(y, s)
    # One replica alone is above the objective of 0.8, the fleet below it.
    pred = (s >= 0.5).astype(int)
    per_replica = [precision_score(y[where == r], pred[where == r]) for r in range(REPLICAS)]
    fleet = precision_score(y, pred)
    print(f"precision@0.5: fleet {fleet:.4f}, replicas {[round(p, 4) for p in per_replica]}")
    return config, replicas, {"auc": auc_exact, "trapezoid": trapezoid, "bound": bound,
                              "precision": fleet, "per_replica": per_replica}


def regression(workdir, rng, exp):
    n = 2000
    predicted = rng.normal(50, 20, n)
    actual = predicted + rng.standard_t(3, n) * 4
    where = split(n, rng)
    config = "model: fleet\nversion: \"7\"\ntask: regression\n"
    replicas = []
    for r in range(REPLICAS):
        idx = np.flatnonzero(where == r)
        preds = [{"ts": T0 + int(i), "id": f"r{i}", "value": float(predicted[i])} for i in idx]
        outs = [{"id": f"r{i}", "outcome": float(actual[i]), "ts": T0 + int(i) + 30} for i in idx]
        replicas.append(replay(workdir, f"regression-{r}", config, preds, outs))
    base = {"model": "fleet", "version": "7"}
    exp.add("mlmon:absolute_error:mae_rate1h", base, mean_absolute_error(actual, predicted), "mae")
    exp.add("mlmon:squared_error:rmse_rate1h", base,
            math.sqrt(mean_squared_error(actual, predicted)), "rmse")
    exp.add("mlmon:absolute_percentage_error:mape_rate1h", base,
            mean_absolute_percentage_error(actual, predicted), "mape")
    return config, replicas


def multiclass(workdir, rng, exp):
    # "fish" is an outcome but never predicted (its precision is 0 by
    # scikit-learn's zero_division=0); "eel" is configured but never seen, so
    # the macro averages leave it out.
    names = ["cat", "dog", "bird", "fish", "eel"]
    n = 2500
    actual = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    right = (rng.random(n) < 0.7) & (actual != 3)
    predicted = np.where(right, actual, rng.choice(3, size=n))
    where = split(n, rng)
    config = "model: fleet\nversion: \"7\"\ntask: multiclass\nclasses: [cat, dog, bird, fish, eel]\n"
    replicas = []
    for r in range(REPLICAS):
        idx = np.flatnonzero(where == r)
        preds = [{"ts": T0 + int(i), "id": f"m{i}", "label": names[predicted[i]]} for i in idx]
        outs = [{"id": f"m{i}", "outcome": names[actual[i]], "ts": T0 + int(i) + 30} for i in idx]
        replicas.append(replay(workdir, f"multiclass-{r}", config, preds, outs))
    base = {"model": "fleet", "version": "7"}
    exp.add("mlmon:accuracy:rate1h", base, accuracy_score(actual, predicted), "multiclass accuracy")
    exp.add("mlmon:macro_precision:rate1h", base,
            precision_score(actual, predicted, average="macro", zero_division=0), "macro precision")
    exp.add("mlmon:macro_recall:rate1h", base,
            recall_score(actual, predicted, average="macro", zero_division=0), "macro recall")
    exp.add("mlmon:macro_f1:rate1h", base,
            f1_score(actual, predicted, average="macro", zero_division=0), "macro f1")
    return config, replicas


def ranking(workdir, rng, exp):
    n, items, kept = 2000, 12, 10  # 12 candidate items, the top 10 returned
    ks = (1, 3, 10)
    # Rank of the chosen item among the 12: 11 and 12 were not returned.
    true_rank = rng.choice(np.arange(1, items + 1), size=n,
                           p=np.array([12, 8, 6, 5, 4, 3, 3, 2, 2, 2, 3, 3]) / 53)
    where = split(n, rng)
    config = "model: fleet\nversion: \"7\"\ntask: ranking\nk: [1, 3, 10]\n"
    score = np.zeros((n, items))
    chosen = np.zeros(n, dtype=int)
    replicas_rows = [([], []) for _ in range(REPLICAS)]
    for i in range(n):
        order = rng.permutation(items)  # order[j] is the item at rank j + 1
        score[i, order] = np.arange(items, 0, -1)
        chosen[i] = order[true_rank[i] - 1]
        preds, outs = replicas_rows[where[i]]
        preds.append({"ts": T0 + i, "id": f"k{i}", "items": [f"item{x}" for x in order[:kept]]})
        outs.append({"id": f"k{i}", "outcome": f"item{chosen[i]}", "ts": T0 + i + 30})
    replicas = [replay(workdir, f"ranking-{r}", config, *replicas_rows[r]) for r in range(REPLICAS)]
    base = {"model": "fleet", "version": "7"}
    for k in ks:
        exp.add("mlmon:hit_rate:rate1h", {**base, "k": str(k)},
                top_k_accuracy_score(chosen, score, k=k, labels=np.arange(items)), f"hit@{k}")
    mrr = float(np.mean(np.where(true_rank <= kept, 1.0 / true_rank, 0.0)))
    exp.add("mlmon:mrr:rate1h", base, mrr, "mrr")
    return config, replicas


def probe_values(p, exp):
    """The value of each probed rule, from promtool's `got:` lines."""
    values = {}
    text = p.stdout + p.stderr
    for m in re.finditer(r'expr: "(.*?)", time: .*?\n\s*exp: .*?\n\s*got: (.*?)\n', text, re.S):
        got = re.search(r"=> ?([-+0-9.eE]+|NaN)|\s([-+0-9.]+E[-+]\d+)", m.group(2))
        if got:
            values[m.group(1).encode().decode("unicode_escape")] = float(got.group(1) or got.group(2))
    return values


def main():
    if not os.access(PROMTOOL, os.X_OK):
        print(f"FAIL: promtool not found at {PROMTOOL}")
        return 1
    workdir = tempfile.mkdtemp(prefix="mlmon_fleet_quality_")
    rng = np.random.default_rng(20261206)
    summary = {}
    for task in (binary, regression, multiclass, ranking):
        exp = Expectations()
        result = task(workdir, rng, exp)
        config, replicas = result[0], result[1]
        name = task.__name__
        rules = rules_for(workdir, name, config)
        series = input_series(replicas)
        group = {"interval": "1m", "input_series": series,
                 "promql_expr_test": exp.close_tests()}
        if name == "binary":
            info = result[2]
            bound_check = {
                "expr": f"abs(mlmon:auc:rate1h - ({info['auc']!r})) <= bool mlmon:auc_error_bound:rate1h",
                "eval_time": EVAL,
                "exp_samples": [{"labels": '{model="fleet",version="7"}', "value": 1}]}
            group["promql_expr_test"].append(bound_check)
            # MlmonPrecisionLow's expression holds one series, the fleet
            # precision at 0.5, although replica 0 alone is above 0.8.
            alert = alert_expr(rules, "MlmonPrecisionLow")
            check("mlmon:precision:rate10m" in alert, "MlmonPrecisionLow reads the fleet precision rule")
            group["promql_expr_test"] += [
                {"expr": f"count({alert})", "eval_time": EVAL,
                 "exp_samples": [{"labels": "{}", "value": 1}]},
                {"expr": f"abs(({alert}) - ({info['precision']!r})) < bool {TOL}", "eval_time": EVAL,
                 "exp_samples": [{"labels": '{model="fleet",threshold="0.5",version="7"}', "value": 1}]}]
            check(info["precision"] < 0.8 < max(info["per_replica"]),
                  "the data puts fleet precision below 0.8 and one replica above it")
        p = promtool_test(workdir, name, rules, [group])
        check(p.returncode == 0, f"promtool test rules: {name} fleet rules = scikit-learn "
                                 f"({(p.stdout + p.stderr).strip()[-1500:]})")
        # Values for the record, and a broken expectation that must fail.
        probe = promtool_test(workdir, name + "_probe", rules,
                              [{"interval": "1m", "input_series": series,
                                "promql_expr_test": exp.probe_tests()}])
        got = probe_values(probe, exp)
        for rule, labels, value, what in exp.items:
            v = got.get(f"{rule}{promql_label_set(labels)}")
            if v is None:
                check(False, f"{name}: no value printed for {what}")
                continue
            summary[f"{name} {what}"] = (v, value)
            check(abs(v - value) < TOL, f"{what}: rule {v!r} vs scikit-learn {value!r} "
                                        f"(diff {v - value:.3g})")
        broken = promtool_test(workdir, name + "_broken", rules,
                               [dict(group, promql_expr_test=exp.close_tests(shift=(0, 1e-6)))])
        check(broken.returncode != 0 and exp.items[0][0] in broken.stdout + broken.stderr,
              f"{name}: an expectation moved by 1e-6 fails ({exp.items[0][3]})")
        if name == "binary":
            auc_rule = summary["binary auc = trapezoid on bucketed scores"][0]
            bound_rule = summary["binary auc error bound"][0]
            diff = abs(auc_rule - info["auc"])
            print(f"AUC: rule {auc_rule:.9f}, scikit-learn on raw scores {info['auc']:.9f}, "
                  f"|diff| {diff:.3g} <= bound {bound_rule:.6f}; trapezoid {info['trapezoid']:.9f}")
            check(diff <= bound_rule, "fleet AUC within its bound of scikit-learn's")
    print(f"largest |rule - reference| over {len(summary)} values: "
          f"{max(abs(v - r) for v, r in summary.values()):.3g}")
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("fleet quality rules checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
