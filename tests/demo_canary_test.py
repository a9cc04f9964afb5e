#!/usr/bin/python3
"""mlmon demo --canary end to end: fraud v1 and v2 are served side by side in
one registry, every request is compared in shadow, and mid-run v2 takes all
traffic while v1 is unloaded without a restart.

Before the swap (read from /metrics and GET /api/v1/status while the demo
runs): both versions export mlmon_model_info and serve requests, the shadow
comparison counts requests, the feedback posted without a version joins in
both versions, and the status API lists both versions.
After the swap line: no series with version="v1" is left (the shadow
comparison's are gone with it), v2 keeps serving, the status API drops v1
at its next sample, and `promtool check metrics` accepts both scrapes.

Waits poll the server with a deadline; nothing sleeps a fixed time.

usage: demo_canary_test.py MLMON_BINARY
"""
import json
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.request

MLMON = sys.argv[1]
failures = []
SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


def parse(text):
    """[(name, {label: value}, value)] of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES.match(line)
        if m:
            out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def total(samples, name, **labels):
    """Sum of `name` over the series whose labels include `labels`; None if none."""
    hits = [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]
    return sum(hits) if hits else None


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


def versions(port):
    return {m["version"]: m for m in json.loads(get(port, "/api/v1/status"))["models"]
            if m["model"] == "fraud"}


def promtool(text, when):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0, f"promtool check metrics {when}: {p.stdout}{p.stderr}")


def poll(what, fn, seconds):
    """fn() until it returns something truthy; records a failure at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = fn()
        if r:
            return r
        time.sleep(0.05)
    failures.append(f"timed out waiting for {what}")
    return None


demo = subprocess.Popen([MLMON, "demo", "--canary", "--port", "0", "--duration", "14s",
                         "--swap-after", "6s", "--rate", "200", "--outcome-delay", "300ms"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
lines = queue.Queue()
swapped = threading.Event()
output = []


def reader():
    for line in demo.stdout:
        output.append(line)
        if " swap: " in line:
            swapped.set()
        lines.put(line)
    lines.put(None)


threading.Thread(target=reader, daemon=True).start()
port = None
while port is None:
    line = lines.get(timeout=60)
    if line is None:
        break
    m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
if not check(port is not None, "no 'serving on' line"):
    demo.kill()
    print("".join(output), demo.stderr.read())
    sys.exit(1)

# --- before the swap: both versions live ---
def both_live():
    text = get(port, "/metrics")
    s = parse(text)
    need = [total(s, "mlmon_model_info", model="fraud", version=v) for v in ("v1", "v2")]
    need += [total(s, "mlmon_requests_total", model="fraud", version=v) for v in ("v1", "v2")]
    need.append(total(s, "mlmon_shadow_comparisons_total", model="fraud", version="v1",
                      challenger="v2"))
    # v2 is a slightly different model: a few decisions differ.
    need.append(total(s, "mlmon_shadow_disagreements_total", model="fraud", version="v1",
                      challenger="v2", threshold="0.5"))
    need += [total(s, "mlmon_outcomes_total", model="fraud", version=v, result="matched")
             for v in ("v1", "v2")]
    if all(x is not None and x > 0 for x in need) and not swapped.is_set():
        return text
    return None


before_text = poll("both versions serving, compared and joined before the swap", both_live, 5.5)
before_status = poll("the status API listing v1 and v2 before the swap",
                     lambda: (lambda v: v if {"v1", "v2"} <= v.keys() else None)(versions(port)),
                     5.5)
check(not swapped.is_set(), "the swap came before the pre-swap checks were done "
      "(the test needs a later --swap-after)")
if before_text:
    s = parse(before_text)
    v1 = total(s, "mlmon_requests_total", version="v1")
    v2 = total(s, "mlmon_requests_total", version="v2")
    print(f"before: requests v1 {v1:g} v2 {v2:g}, shadow comparisons "
          f"{total(s, 'mlmon_shadow_comparisons_total'):g}, disagreements at 0.5 "
          f"{total(s, 'mlmon_shadow_disagreements_total', threshold='0.5'):g}")
    # 80/20 by a hash of the id: v1 serves the larger share.
    check(v1 > v2 > 0, f"split: v1 {v1} should serve more than v2 {v2}")
    # A small perturbation: some disagreement, far from all.
    dis = total(s, "mlmon_shadow_disagreements_total", version="v1", challenger="v2",
                threshold="0.5")
    cmp_ = total(s, "mlmon_shadow_comparisons_total", version="v1", challenger="v2")
    check(dis is not None and 0 < dis < 0.2 * cmp_, f"disagreements {dis} of {cmp_}")
    promtool(before_text, "before the swap")

# --- the swap ---
poll("the swap line", swapped.is_set, 20)
after_text = get(port, "/metrics")
s = parse(after_text)
stale = [l for l in after_text.splitlines() if 'version="v1"' in l]
check(not stale, f"series of the unloaded v1 after the swap: {stale[:3]}")
check(total(s, "mlmon_shadow_comparisons_total") is None,
      "the shadow comparison outlived the swap")
check(total(s, "mlmon_model_info", model="fraud", version="v2") == 1,
      "v2's mlmon_model_info after the swap")
promtool(after_text, "after the swap")
v2_at_swap = total(s, "mlmon_requests_total", version="v2") or 0
poll("v2's requests to keep increasing after the swap",
     lambda: (total(parse(get(port, "/metrics")), "mlmon_requests_total", version="v2") or 0)
     > v2_at_swap + 50, 10)

# The status history drops v1 at its next sample and keeps sampling v2.
def status_after():
    v = versions(port)
    return v if "v2" in v and v["v2"]["t"] and "v1" not in v else None


after_status = poll("the status API to list v2 only", status_after, 10)
check(after_status is not None, "the status API still lists v1 after the swap")

try:
    rc = demo.wait(timeout=60)
except subprocess.TimeoutExpired:
    demo.kill()
    rc = None
check(rc == 0, f"demo exited {rc}: {demo.stderr.read()}")
check(any(l.startswith("demo finished:") for l in output), "no 'demo finished' line")
print("".join(output))
for f in failures:
    print("FAIL:", f)
print("demo canary checks passed" if not failures else f"{len(failures)} check(s) failed")
sys.exit(1 if failures else 0)
