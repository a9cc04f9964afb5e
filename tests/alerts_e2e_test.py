#!/usr/bin/python3
"""End to end: each silent failure of `mlmon demo --fault X` fires its alert in
a real Prometheus running the rules `mlmon rules` generated, and a healthy demo
fires nothing.

One demo per fault runs in parallel, each under its own `version` label (the
rules aggregate by model and version, so the replicas do not mix). Prometheus
(Debian's `prometheus`) scrapes all of them every second on a free loopback
port and evaluates the rules every second, with `slo.for` shortened to 10 s.
The test polls Prometheus's /api/v1/alerts until every fault's alert is
`firing` (deadline 90 s after the demos start) while checking at every poll
that the healthy demo (`--fault none`) has no alert at all, not even pending,
for at least MIN_HEALTHY_SECONDS.

usage: alerts_e2e_test.py MLMON_BINARY DEMO_DIR [PROMETHEUS_BINARY]
(DEMO_DIR is tools/demo: the monitor.yaml and reference.json of `mlmon demo`.)
Prints "alerts e2e checks passed" last on success; exit 77 (skipped) when
Prometheus is not installed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from demo_config import write_demo_config
from loopback import free_port, get_json, stop_processes, wait_ready

MLMON = os.path.abspath(sys.argv[1])
DEMO_DIR = os.path.abspath(sys.argv[2])
PROMETHEUS = sys.argv[3] if len(sys.argv) > 3 else shutil.which("prometheus") or "/usr/bin/prometheus"

DEADLINE_SECONDS = 90       # every fault's alert fires within this, from the demos' start
MIN_HEALTHY_SECONDS = 45    # rule evaluation watches the healthy demo this long
RATE = 40                   # requests per second per demo

# fault -> (alert that must fire, extra label that must match or None)
EXPECTED = {
    "unit-change": ("MlmonDriftPsiHigh", ("signal", re.compile(r"^session_seconds(:log10)?$"))),
    "aggressive-filter": ("MlmonEmptyResponseShareHigh", None),
    "broken-dependency": ("MlmonPrecisionLow", None),
    "slow": ("MlmonLatencyP99High", None),
    "errors": ("MlmonErrorRatioHigh", None),
}
FAULTS = ["none"] + list(EXPECTED)

SLO = """
slo:
  latency_p99_seconds: 0.1
  error_ratio: 0.1
  min_precision: {threshold: 0.5, value: 0.4, window: 1m}
  max_empty_share: 0.3
  max_drift_psi: 0.25
  max_feature_problem_ratio: 0.2
  max_heuristic_failure_ratio: 0.5
  max_outcome_staleness: 2m
  for: 10s
"""


def write_config(work, fault):
    return write_demo_config(work, DEMO_DIR, fault, SLO)


def start_demo(work, fault, config):
    # Append mode: the demo shares this file description, and the seek(0) of
    # demo_port() must not move where the demo writes.
    log = open(os.path.join(work, f"demo-{fault}.log"), "a+")
    p = subprocess.Popen([MLMON, "demo", "--port", "0", "--duration", "0", "--rate", str(RATE),
                          "--outcome-delay", "1", "--config", config, "--fault", fault],
                         stdout=log, stderr=subprocess.STDOUT)
    return p, log


def demo_port(p, log, fault, deadline):
    while time.monotonic() < deadline:
        log.seek(0)
        m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", log.read())
        if m:
            return int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.1)
    log.seek(0)
    raise RuntimeError(f"demo --fault {fault} did not start: {log.read()}")


def start_prometheus(work, targets, rules):
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                f"rule_files:\n  - {rules}\n"
                "scrape_configs:\n  - job_name: mlmon-demo\n    static_configs:\n"
                "      - targets: [" + ", ".join(f"'127.0.0.1:{t}'" for t in targets) + "]\n")
    for attempt in range(3):
        port = free_port()
        log = open(os.path.join(work, f"prometheus-{attempt}.log"), "w+")
        p = subprocess.Popen([PROMETHEUS, f"--config.file={config}",
                              f"--storage.tsdb.path={os.path.join(work, f'tsdb-{attempt}')}",
                              f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                             stdout=log, stderr=subprocess.STDOUT)
        if wait_ready(f"http://127.0.0.1:{port}/-/ready", p, 30):
            return p, port
        p.kill()
        p.wait()
        log.seek(0)
        print(f"prometheus attempt {attempt} failed on port {port}:\n{log.read()}")
    raise RuntimeError("Prometheus did not start")


def main():
    if not os.access(PROMETHEUS, os.X_OK):
        print(f"SKIP: {PROMETHEUS} not installed (scripts/deps installs prometheus)")
        return 77
    work = tempfile.mkdtemp(prefix="mlmon-alerts-e2e-")
    procs = []
    failures = []
    try:
        configs = {f: write_config(work, f) for f in FAULTS}
        rules = os.path.join(work, "rules.yml")
        subprocess.run([MLMON, "rules", "--config", configs["none"], "--out", rules], check=True)
        start = time.monotonic()
        demos = {f: start_demo(work, f, configs[f]) for f in FAULTS}
        procs += [p for p, _ in demos.values()]
        ports = {f: demo_port(p, log, f, start + 30) for f, (p, log) in demos.items()}
        prom, prom_port = start_prometheus(work, ports.values(), rules)
        procs.append(prom)
        prom_ready = time.monotonic()

        fired_at = {}
        healthy_alerts = []
        last_alerts = []
        while True:
            now = time.monotonic() - start
            try:
                last_alerts = get_json(f"http://127.0.0.1:{prom_port}/api/v1/alerts")["data"]["alerts"]
            except OSError as e:
                failures.append(f"t={now:.0f}s: /api/v1/alerts failed: {e}")
                break
            for a in last_alerts:
                labels = a["labels"]
                version = labels.get("version")
                if version == "none":
                    healthy_alerts.append(f"t={now:.0f}s {labels['alertname']} {a['state']} "
                                          f"{json.dumps(labels)} value={a.get('value')}")
                expected = EXPECTED.get(version)
                if expected is None or a["state"] != "firing" or version in fired_at:
                    continue
                name, extra = expected
                if labels["alertname"] != name:
                    continue
                if extra is not None and not extra[1].match(labels.get(extra[0], "")):
                    continue
                fired_at[version] = now
                print(f"t={now:5.1f}s  {version}: {name} firing {json.dumps(labels)}")
            for f, (p, _) in demos.items():
                if p.poll() is not None:
                    failures.append(f"demo --fault {f} exited {p.returncode}")
            if failures or healthy_alerts:
                break
            if (len(fired_at) == len(EXPECTED) and
                    time.monotonic() - prom_ready >= MIN_HEALTHY_SECONDS):
                break
            if now > DEADLINE_SECONDS:
                break
            time.sleep(1)

        # Silence proves something only if every demo was scraped and its
        # series reached the rules.
        q = urllib.parse.quote('count by (version) (mlmon_requests_total{model="fraud"})')
        scraped = {r["metric"].get("version") for r in get_json(
            f"http://127.0.0.1:{prom_port}/api/v1/query?query={q}")["data"]["result"]}
        for f in FAULTS:
            if f not in scraped:
                failures.append(f"--fault {f}: no mlmon_requests_total in Prometheus "
                                f"(scraped versions: {sorted(scraped)})")
        for f in EXPECTED:
            if f not in fired_at:
                failures.append(f"--fault {f}: {EXPECTED[f][0]} did not fire within "
                                f"{DEADLINE_SECONDS} s")
            elif fired_at[f] > DEADLINE_SECONDS:
                failures.append(f"--fault {f}: fired after {fired_at[f]:.0f} s")
        for a in healthy_alerts:
            failures.append(f"--fault none raised an alert: {a}")
        if failures:
            print("alerts at the end:")
            for a in last_alerts:
                print("  ", a["state"], json.dumps(a["labels"]), a.get("value"))
    except Exception as e:  # report with the logs below
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        stop_processes(procs)
    if failures:
        for name in sorted(os.listdir(work)):
            if name.endswith(".log"):
                with open(os.path.join(work, name)) as f:
                    tail = f.read().splitlines()[-15:]
                print(f"--- {name} (last lines)")
                print("\n".join(tail))
        for f in failures:
            print("FAIL:", f)
        print(f"(work dir kept: {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("time to firing: " + ", ".join(f"{f} {t:.0f} s" for f, t in sorted(fired_at.items())))
    print("alerts e2e checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
