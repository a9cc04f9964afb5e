#!/usr/bin/python3
"""mlmon demo against the shipped training profile: with --fault unit-change
(session length sent in milliseconds) the PSI of session_seconds (and of its
log10 magnitude) rises above 0.25 within the first window, while every
untouched feature stays below 0.1; without the fault everything stays below
0.1. The demo prints the PSI of each signal for its shortest window.

usage: demo_drift_test.py MLMON_BINARY
"""
import re
import subprocess
import sys

MLMON = sys.argv[1]
failures = []


def run(fault):
    p = subprocess.run([MLMON, "demo", "--port", "0", "--duration", "4", "--rate", "300",
                        "--fault", fault], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        failures.append(f"demo --fault {fault} exited {p.returncode}: {p.stderr}")
        return {}
    line = [l for l in p.stdout.splitlines() if l.startswith("drift psi")]
    if not line:
        failures.append(f"demo --fault {fault}: no drift line in {p.stdout!r}")
        return {}
    return {k: float(v) for k, v in re.findall(r"(\S+)=([0-9.eE+-]+)", line[0])}


healthy = run("none")
changed = run("unit-change")
for name in ("amount_usd", "account_age_days", "tx_last_24h", "distance_km", "session_seconds"):
    for sig in (name, name + ":log10"):
        if sig not in healthy or sig not in changed:
            failures.append(f"missing drift signal {sig}")
            continue
        if healthy[sig] >= 0.1:
            failures.append(f"healthy {sig} psi {healthy[sig]} >= 0.1")
        if name == "session_seconds":
            if changed[sig] <= 0.25:
                failures.append(f"unit change: {sig} psi {changed[sig]} <= 0.25")
        elif changed[sig] >= 0.1:
            failures.append(f"unit change: untouched {sig} psi {changed[sig]} >= 0.1")
print("healthy:", healthy)
print("unit-change:", changed)
for f in failures:
    print("FAIL:", f)
print("demo drift checks passed" if not failures else f"{len(failures)} check(s) failed")
sys.exit(1 if failures else 0)
