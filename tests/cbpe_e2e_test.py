#!/usr/bin/python3
"""End to end: MlmonEstimatedPrecisionLow fires in a real Prometheus before any
outcome of the faulty period has arrived, on a fault that changes who is
scored, and stays silent where the estimate cannot see the fault.

Three demos (`mlmon demo`, the demo's monitor.yaml and its calibrated
reference.json) run in parallel under their own `version`, with outcomes
posted 10 minutes after each prediction (so none arrives during the test) and
the fault starting 20 s in:

- `--fault population-shift`: a partner's screen blocks the obvious fraud,
  so the model sees only borderline cases; the estimated precision at 0.5
  falls from about 0.78 to about 0.62 (below the 0.7 SLO). The alert must
  fire, and at that moment the demo must have joined 0 outcomes
  (mlmon_outcomes_total{result="matched"}, read from the demo itself).
- `--fault broken-dependency`: scores inverted (score -> 1 - score). The
  estimate assumes P(outcome | score) is the training one, so it reads the
  inverted scores as confident: its estimated precision stays above the SLO
  and the alert must NOT fire (not even pending) while the fault runs at
  least as long as population-shift needed, and 70 s at least (the 1m window
  entirely faulty). This is a limit of the method, asserted so it is known.
- `--fault none`: no MlmonEstimatedPrecisionLow at any time.

Prometheus (Debian's) scrapes every second on a free loopback port and
evaluates the rules `mlmon rules` generated (slo.for 10s). The time to fire is
measured from the moment the demo reports the fault on.

usage: cbpe_e2e_test.py MLMON_BINARY DEMO_DIR [PROMETHEUS_BINARY]
Prints "cbpe e2e checks passed" last on success; exit 77 (skipped) when
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
from loopback import free_port, get_json, scrape, stop_processes, wait_ready

MLMON = os.path.abspath(sys.argv[1])
DEMO_DIR = os.path.abspath(sys.argv[2])
PROMETHEUS = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/prometheus"

ALERT = "MlmonEstimatedPrecisionLow"
FAULTS = ["none", "population-shift", "broken-dependency"]
FAULT_AFTER = 20          # seconds into each demo
FIRE_DEADLINE = 150       # seconds after the fault starts
MIN_BLIND_SECONDS = 70    # broken-dependency observed at least this long
RATE = 40
SLO = """
slo:
  min_precision: {threshold: 0.5, value: 0.7, window: 1m}
  for: 10s
"""


def write_config(work, fault):
    return write_demo_config(work, DEMO_DIR, fault, SLO)


def log_text(log):
    log.seek(0)
    return log.read()


def query(port, expr):
    q = urllib.parse.quote(expr)
    return get_json(f"http://127.0.0.1:{port}/api/v1/query?query={q}")["data"]["result"]


def matched_outcomes(port):
    """mlmon_outcomes_total{result="matched"} summed, read from the demo."""
    total = 0.0
    for line in scrape(port).splitlines():
        if line.startswith("mlmon_outcomes_total{") and 'result="matched"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def main():
    if not os.access(PROMETHEUS, os.X_OK):
        print(f"SKIP: {PROMETHEUS} not installed")
        return 77
    work = tempfile.mkdtemp(prefix="mlmon-cbpe-e2e-")
    procs, failures = [], []
    try:
        configs = {f: write_config(work, f) for f in FAULTS}
        rules = os.path.join(work, "rules.yml")
        subprocess.run([MLMON, "rules", "--config", configs["none"], "--out", rules], check=True)
        with open(rules) as f:
            assert f"alert: {ALERT}" in f.read(), "no MlmonEstimatedPrecisionLow in the rules"
        demos = {}
        for fault in FAULTS:
            log = open(os.path.join(work, f"demo-{fault}.log"), "a+")
            p = subprocess.Popen([MLMON, "demo", "--port", "0", "--duration", "0",
                                  "--rate", str(RATE), "--outcome-delay", "600",
                                  "--config", configs[fault], "--fault", fault,
                                  "--fault-after", str(FAULT_AFTER)],
                                 stdout=log, stderr=subprocess.STDOUT)
            procs.append(p)
            demos[fault] = (p, log)
        ports = {}
        deadline = time.monotonic() + 30
        for fault, (p, log) in demos.items():
            while time.monotonic() < deadline:
                m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", log_text(log))
                if m:
                    ports[fault] = int(m.group(1))
                    break
                time.sleep(0.1)
            if fault not in ports:
                raise RuntimeError(f"demo --fault {fault} did not start: {log_text(log)}")
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files:\n  - {rules}\n"
                    "scrape_configs:\n  - job_name: mlmon-demo\n    static_configs:\n"
                    "      - targets: [" + ", ".join(f"'127.0.0.1:{t}'" for t in ports.values()) + "]\n")
        prom_port = free_port()
        prom_log = open(os.path.join(work, "prometheus.log"), "w+")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={config}",
                                 f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
                                 f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                                stdout=prom_log, stderr=subprocess.STDOUT)
        procs.append(prom)
        if not wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", prom, 30):
            raise RuntimeError("Prometheus did not start: " + log_text(prom_log))

        fault_on = {}
        fired_after = None
        outcomes_at_fire = None
        blind_values = []
        while True:
            now = time.monotonic()
            for fault in FAULTS[1:]:
                if fault not in fault_on and "fault on:" in log_text(demos[fault][1]):
                    fault_on[fault] = now
            alerts = get_json(f"http://127.0.0.1:{prom_port}/api/v1/alerts")["data"]["alerts"]
            for a in alerts:
                labels = a["labels"]
                if labels.get("alertname") != ALERT:
                    continue
                version = labels.get("version")
                if version in ("none", "broken-dependency"):
                    failures.append(f"--fault {version}: {ALERT} {a['state']} "
                                    f"value={a.get('value')} {json.dumps(labels)}")
                elif (version == "population-shift" and a["state"] == "firing"
                      and fired_after is None):
                    outcomes_at_fire = matched_outcomes(ports["population-shift"])
                    fired_after = now - fault_on.get("population-shift", now)
                    print(f"population-shift: {ALERT} firing {fired_after:.0f} s after the "
                          f"fault started, value {float(a['value']):.3f}, matched outcomes "
                          f"{outcomes_at_fire:.0f}")
            est = query(prom_port, 'mlmon:estimated_precision:1m{version="broken-dependency",threshold="0.5"}')
            if est and "broken-dependency" in fault_on:
                blind_values.append(float(est[0]["value"][1]))
            for fault, (p, _) in demos.items():
                if p.poll() is not None:
                    failures.append(f"demo --fault {fault} exited {p.returncode}")
            if failures:
                break
            blind_for = now - fault_on.get("broken-dependency", now)
            if fired_after is not None and blind_for >= max(MIN_BLIND_SECONDS, fired_after + 10):
                break
            if "population-shift" in fault_on and now - fault_on["population-shift"] > FIRE_DEADLINE:
                if fired_after is None:
                    failures.append(f"--fault population-shift: {ALERT} did not fire within "
                                    f"{FIRE_DEADLINE} s of the fault")
                break
            time.sleep(1)

        if fired_after is not None and outcomes_at_fire != 0:
            failures.append(f"population-shift: {outcomes_at_fire} outcomes joined when the alert "
                            "fired (the outcome delay is 600 s: expected 0)")
        shift = query(prom_port, 'mlmon:estimated_precision:1m{version="population-shift",threshold="0.5"}')
        healthy = query(prom_port, 'mlmon:estimated_precision:1m{version="none",threshold="0.5"}')
        if healthy:
            print(f"none: estimated precision@0.5 {float(healthy[0]['value'][1]):.3f}")
        if shift:
            print(f"population-shift: estimated precision@0.5 {float(shift[0]['value'][1]):.3f} at the end")
        if blind_values:
            print(f"broken-dependency: estimated precision@0.5 stayed in "
                  f"[{min(blind_values):.3f}, {max(blind_values):.3f}] while scores were inverted "
                  f"(CBPE assumes P(outcome | score) unchanged: it cannot see this fault)")
            if min(blind_values[len(blind_values) // 2:]) < 0.7:
                failures.append("broken-dependency: the estimate fell below the SLO, "
                                "contrary to what the method predicts; check the demo")
        else:
            failures.append("broken-dependency: no estimated precision in Prometheus")
    except Exception as e:  # reported with the logs below
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        stop_processes(procs)
    if failures:
        for name in sorted(os.listdir(work)):
            if name.endswith(".log"):
                with open(os.path.join(work, name)) as f:
                    print(f"--- {name} (last lines)")
                    print("\n".join(f.read().splitlines()[-10:]))
        for f in failures:
            print("FAIL:", f)
        print(f"(work dir kept: {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"time to firing: population-shift {fired_after:.0f} s after the fault, 0 outcomes joined")
    print("cbpe e2e checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
