#!/usr/bin/env python3
"""mlmon-example-server hosting several models from repeated --config files,
end to end over HTTP: each request reaches the model it names (the first
model without a "model" field, 404 for an unknown one), one feedback body
carries outcomes of every model, the counts in /metrics are exact per model,
`promtool check metrics` is clean, every thread of the server has SIGINT and
SIGTERM blocked (/proc/<pid>/task/*/status: only sigwait takes them), and
either stops it cleanly (exit 0).

Usage: example_server_test.py <mlmon-example-server> <example monitor.yaml> [same|mixed]
  same   fraud (binary) and eta (regression) with the default buckets
  mixed  eta with its own score buckets (minutes) and feature buckets"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

from prometheus_client.parser import text_string_to_metric_families

import loopback

SERVER, FRAUD_CONFIG = sys.argv[1], sys.argv[2]
MODE = sys.argv[3] if len(sys.argv) > 3 else "same"
PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
FAILURES = []


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        FAILURES.append(what)


post = loopback.post
scrape = loopback.scrape


def sample(text, name, **labels):
    """Sum of the samples `name` whose labels include `labels`."""
    total, seen = 0.0, False
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
                seen = True
    return total if seen else None


def start(configs):
    return loopback.start_example_server(SERVER, configs)


def unblocked_threads(pid):
    """Threads of `pid` but the main one whose signal mask lets SIGINT or
    SIGTERM through. (The main thread waits in sigwait, which unblocks the
    signals it waits for while it waits.)"""
    want = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    bad = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        if int(tid) == pid:
            continue
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read()
        except OSError:
            continue  # the thread ended meanwhile
        blocked = int(re.search(r"^SigBlk:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
        name = re.search(r"^Name:\s*(.*)$", status, re.M).group(1)
        if blocked & want != want:
            bad.append(f"{tid} ({name})")
    return bad


def stop(p, sig):
    p.send_signal(sig)
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None
    return p.returncode


def main():
    d = tempfile.mkdtemp(prefix="mlmon_example_server_")
    eta = os.path.join(d, "eta.yaml")
    with open(eta, "w") as f:
        f.write('model: eta\nversion: "7"\nendpoints: [predict]\ntask: regression\n'
                "pending_capacity: 10000\nwindows: [5m]\n")
        if MODE == "mixed":
            # Minutes, not a probability; feature buckets unlike fraud's.
            f.write("distribution:\n  buckets: [1, 5, 15, 60, 240]\n"
                    "features:\n  numeric:\n"
                    "    - {name: amount_usd, min: 0, buckets: [1, 2, 4, 8]}\n")

    # --help and a bad flag: CLI11 like the mlmon tool.
    h = subprocess.run([SERVER, "--help"], capture_output=True, text=True, timeout=30)
    check(h.returncode == 0 and "--config" in h.stdout and "--port" in h.stdout,
          "--help lists --port and --config")
    b = subprocess.run([SERVER, "--port", "x"], capture_output=True, text=True, timeout=30)
    check(b.returncode == 2 and "--port" in b.stderr, f"--port x: usage error, exit 2 "
          f"(got {b.returncode}: {b.stderr.strip()[:200]})")
    b = subprocess.run([SERVER, "--config", os.path.join(d, "missing.yaml")],
                       capture_output=True, text=True, timeout=30)
    check(b.returncode == 2 and "missing.yaml" in b.stderr,
          f"a missing --config file: exit 2 naming it (got {b.returncode})")

    p, hosted, port = start([FRAUD_CONFIG, eta])
    check(hosted == 2, f"hosts 2 model versions (says {hosted})")
    threads = os.listdir(f"/proc/{p.pid}/task")
    bad = unblocked_threads(p.pid)
    check(len(threads) > 1 and not bad,
          f"SIGINT/SIGTERM blocked in the {len(threads) - 1} threads started by main "
          f"(not in: {bad})")
    features = {"amount_usd": 25, "account_age_days": 900, "distance_km": 5}
    fraud_ids, eta_ids, default_ids = [], [], []
    for i in range(20):
        s, body = post(port, "/v1/predict", json.dumps(
            {"id": f"f{i}", "model": "fraud", "features": features}))
        check(s == 200 and json.loads(body)["model"] == "fraud", f"fraud f{i}: {s} {body}")
        fraud_ids.append(f"f{i}")
    for i in range(12):
        s, body = post(port, "/v1/predict", json.dumps(
            {"id": f"e{i}", "model": "eta", "version": "7", "features": features}))
        r = json.loads(body) if s == 200 else {}
        check(s == 200 and r.get("model") == "eta" and r.get("version") == "7",
              f"eta e{i}: {s} {body}")
        eta_ids.append(f"e{i}")
    for i in range(5):
        s, body = post(port, "/v1/predict", json.dumps({"id": f"d{i}", "features": features}))
        check(s == 200 and json.loads(body)["model"] == "fraud",
              f"no model field -> the first config's model: {s} {body}")
        default_ids.append(f"d{i}")
    s, body = post(port, "/v1/predict", json.dumps(
        {"id": "u1", "model": "nope", "features": features}))
    check(s == 404 and "nope" in body, f"unknown model -> 404 naming it: {s}")
    s, body = post(port, "/v1/predict", json.dumps(
        {"id": "v1", "model": "eta", "version": "8", "features": features}))
    check(s == 404, f"unknown version of a hosted model -> 404: {s}")
    s, body = post(port, "/v1/predict", json.dumps({"model": "eta", "features": features}))
    check(s == 400, f"eta request without id -> 400: {s}")

    # One feedback body for both models: all fraud outcomes, 9 of eta's.
    lines = [json.dumps({"id": i, "outcome": n % 2, "model": "fraud"})
             for n, i in enumerate(fraud_ids + default_ids)]
    lines += [json.dumps({"id": i, "outcome": 3.5 + n, "model": "eta"})
              for n, i in enumerate(eta_ids[:9])]
    s, body = post(port, "/v1/outcomes", "\n".join(lines) + "\n", "application/x-ndjson")
    check(s in (200, 202), f"feedback accepted: {s} {body[:200]}")

    text = scrape(port)
    check(sample(text, "mlmon_requests_total", model="fraud", status="ok") == 25,
          "fraud: 25 ok requests (20 named, 5 by default)")
    check(sample(text, "mlmon_requests_total", model="eta", status="ok") == 12,
          "eta: 12 ok requests")
    check(sample(text, "mlmon_requests_total", model="eta", status="error") == 1,
          "eta: the bad request is eta's error")
    check(sample(text, "mlmon_requests_total", model="fraud", status="error") in (None, 0),
          "fraud: no error")
    check(sample(text, "mlmon_outcomes_total", model="fraud", result="matched") == 25,
          "fraud: 25 outcomes matched")
    check(sample(text, "mlmon_outcomes_total", model="eta", result="matched") == 9,
          "eta: 9 outcomes matched")
    check(sample(text, "mlmon_model_info", model="eta", version="7") is not None,
          "eta version 7 exported")
    metrics = os.path.join(d, "metrics.txt")
    with open(metrics, "w") as f:
        f.write(text)
    with open(metrics) as f:
        pc = subprocess.run([PROMTOOL, "check", "metrics"], stdin=f, capture_output=True,
                            text=True, timeout=60)
    check(pc.returncode == 0, "promtool check metrics: " + (pc.stdout + pc.stderr)[-800:])

    rc = stop(p, signal.SIGTERM)
    check(rc == 0, f"SIGTERM: exit 0 (got {rc})")
    p, _, port = start([FRAUD_CONFIG, eta])
    rc = stop(p, signal.SIGINT)
    check(rc == 0, f"SIGINT: exit 0 (got {rc})")

    if FAILURES:
        print(f"{len(FAILURES)} example server checks failed")
        return 1
    print("example server checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
