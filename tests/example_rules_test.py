#!/usr/bin/env python3
"""The example server's monitor.yaml ships an `slo:` section, so `mlmon
rules` on it gives working alerts out of the box: the rule file passes
`promtool check rules` (lint fatal), has the alerts of each objective of
the file (two for min_precision), and a promtool unit test fires MlmonErrorRatioHigh on a bad series of
the example's model and keeps every alert silent on a healthy one.

Usage: example_rules_test.py <mlmon binary> <examples/model_server/monitor.yaml>"""
import json
import os
import re
import subprocess
import sys
import tempfile

MLMON, CONFIG = sys.argv[1], sys.argv[2]
PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
FAILURES = []

# Objective key of slo: -> its alert (include/mlmon/slo_spec.h).
# objective -> its alerts (min_precision: measured on outcomes, and
# estimated before they arrive from the distribution windows).
ALERT_OF = {
    "latency_p99_seconds": "MlmonLatencyP99High",
    "error_ratio": "MlmonErrorRatioHigh",
    "min_precision": ("MlmonPrecisionLow", "MlmonEstimatedPrecisionLow"),
    "max_empty_share": "MlmonEmptyResponseShareHigh",
    "max_drift_psi": "MlmonDriftPsiHigh",
    "max_feature_problem_ratio": "MlmonFeatureProblemRatioHigh",
    "max_heuristic_failure_ratio": "MlmonHeuristicFailureRatioHigh",
    "max_outcome_staleness": "MlmonOutcomesStale",
}


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        FAILURES.append(what)


def main():
    if not os.access(PROMTOOL, os.X_OK):
        print(f"FAIL: promtool not found at {PROMTOOL}")
        return 1
    d = tempfile.mkdtemp(prefix="mlmon_example_rules_")
    rules = os.path.join(d, "rules.yml")
    p = subprocess.run([MLMON, "rules", "--config", CONFIG, "--out", rules],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"mlmon rules exits 0 ({p.stderr.strip()[:300]})")
    if p.returncode != 0:
        return 1
    p = subprocess.run([PROMTOOL, "check", "rules", "--lint=all", "--lint-fatal", rules],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "promtool check rules: " + (p.stdout + p.stderr).strip()[-300:])

    # The few values needed from the two files, read without a YAML library.
    with open(CONFIG) as f:
        config = f.read()
    with open(rules) as f:
        generated = f.read()
    alerts = re.findall(r"^\s*- alert: (\S+)$", generated, re.M)
    slo_section = config[config.index("\nslo:"):]
    objectives = [k for k in re.findall(r"^  (\w+):", slo_section, re.M) if k in ALERT_OF]
    check(len(alerts) >= 1, f"at least one alert ({len(alerts)}: {alerts})")
    expected = []
    for k in objectives:
        a = ALERT_OF[k]
        expected += list(a) if isinstance(a, tuple) else [a]
    check(sorted(alerts) == sorted(expected),
          f"one alert per objective of the file: {sorted(alerts)}")

    model = re.search(r"^model: (\S+)$", config, re.M).group(1)
    version = re.search(r'^version: "?([^"\s]+)"?$', config, re.M).group(1)
    slo = float(re.search(r"^  error_ratio: ([0-9.]+)", slo_section, re.M).group(1))
    groups = re.findall(r'^  - name: "?([^"\s]+)"?$', generated, re.M)
    check(len(groups) == 2, f"a recording and an alerting group: {groups}")
    labels = f'model="{model}",version="{version}",endpoint="predict"'
    # 10 errors per 100 successes: 9.091% of requests fail.
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "group_eval_order": groups,
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f'mlmon_requests_total{{{labels},status="ok"}}',
                     "values": "0+100x30"},
                    {"series": f'mlmon_requests_total{{{labels},status="error"}}',
                     "values": "0+10x30"},
                ],
                "alert_rule_test": [
                    {"eval_time": "2m", "alertname": "MlmonErrorRatioHigh", "exp_alerts": []},
                    {"eval_time": "20m", "alertname": "MlmonErrorRatioHigh", "exp_alerts": [{
                        "exp_labels": {"severity": "page", "model": model, "version": version},
                        "exp_annotations": {
                            "summary": f"{model} (version {version}): 9.091% of requests "
                                       f"fail (SLO {slo:g})",
                            "description": "The serving path returns errors. Look first at "
                            "the errors by reason (mlmon:request_errors_by_reason:rate5m, "
                            "mlmon_request_errors_total) and the server logs, and at whether "
                            "a deploy (new version label) started it. Runbook: "
                            "docs/runbook.md#mlmonerrorratiohigh",
                            "runbook_url": "docs/runbook.md#mlmonerrorratiohigh",
                        },
                    }]},
                ],
            },
            {
                # Healthy: no errors, fast, inputs fine, outcomes arriving.
                "interval": "1m",
                "input_series": [
                    {"series": f'mlmon_requests_total{{{labels},status="ok"}}',
                     "values": "0+100x30"},
                    {"series": f'mlmon_request_duration_seconds_bucket{{{labels},le="0.1"}}',
                     "values": "0+100x30"},
                    {"series": f'mlmon_request_duration_seconds_bucket{{{labels},le="+Inf"}}',
                     "values": "0+100x30"},
                    {"series": f'mlmon_last_outcome_timestamp_seconds{{model="{model}",'
                               f'version="{version}"}}', "values": "0+60x30"},
                    {"series": f'mlmon_feature_values_total{{model="{model}",'
                               f'version="{version}",feature="amount_usd",status="ok"}}',
                     "values": "0+100x30"},
                ],
                "alert_rule_test": [
                    {"eval_time": "25m", "alertname": a, "exp_alerts": []} for a in alerts
                ],
            },
        ],
    }
    with open(os.path.join(d, "unit_test.yml"), "w") as f:
        json.dump(unit, f, indent=1)  # JSON is YAML
    p = subprocess.run([PROMTOOL, "test", "rules", "unit_test.yml"], cwd=d,
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "promtool test rules: MlmonErrorRatioHigh fires on 9% errors "
          "and nothing fires when healthy: " + (p.stdout + p.stderr).strip()[-1500:])

    if FAILURES:
        print(f"{len(FAILURES)} example rules checks failed")
        return 1
    print("example rules checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
