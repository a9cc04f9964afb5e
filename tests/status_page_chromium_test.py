#!/usr/bin/python3
"""The status page in a real browser: runs `mlmon demo --fault unit-change`,
waits until the status API has history and the drift of session_seconds has
risen, then loads http://127.0.0.1:PORT/ in Debian's headless Chromium and
checks, from the DOM the page's own JavaScript built, that every chart drew
data and that the drift chart's session_seconds line rose above 0.25 PSI while
an untouched feature stayed low. Saves a screenshot of the page as
BUILD_DIR/status-page-unit-change.png.

Exits 77 (skipped) only if chromium is not installed.

usage: status_page_chromium_test.py MLMON_BINARY BUILD_DIR
"""
import atexit
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from html.parser import HTMLParser

MLMON, BUILD_DIR = sys.argv[1], sys.argv[2]
SKIP = 77
FAULT_AFTER = 8  # seconds of healthy traffic before the unit change
SCREENSHOT = os.path.join(BUILD_DIR, "status-page-unit-change.png")
CHARTS = ("traffic", "latency", "errors", "precision", "empty", "drift")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def finish():
    for f in failures:
        print("FAIL:", f)
    print("status page checks passed" if not failures else f"{len(failures)} check(s) failed")
    sys.exit(1 if failures else 0)


chromium = shutil.which("chromium")
if chromium is None:
    print("SKIP: chromium is not installed (scripts/deps installs it)")
    sys.exit(SKIP)

# --fault-after lets the page show the drift rising from a healthy start.
help_text = subprocess.run([MLMON, "demo", "--help"], capture_output=True, text=True).stdout
fault_after = "--fault-after" in help_text
if not fault_after:
    fail("mlmon demo has no --fault-after option: " + help_text[-500:])
    finish()
cmd = [MLMON, "demo", "--port", "0", "--fault", "unit-change", "--duration", "240", "--rate", "100",
       "--fault-after", str(FAULT_AFTER)]
print("running:", " ".join(cmd), flush=True)
demo = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
demo_output = []


def stop_demo():
    if demo.poll() is None:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()


# Whatever ends this script (a failed check, a Chromium timeout raising),
# the demo does not outlive it.
atexit.register(stop_demo)


port = None
deadline = time.monotonic() + 60
for line in demo.stdout:
    demo_output.append(line)
    m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
        break
    if time.monotonic() > deadline:
        break
if port is None:
    stop_demo()
    fail("demo did not print its port: " + "".join(demo_output))
    finish()
# Keep draining the demo's output so it never blocks on a full pipe.
threading.Thread(target=lambda: [demo_output.append(l) for l in demo.stdout], daemon=True).start()
base = f"http://127.0.0.1:{port}"


def defined(values):
    return [v for v in values if v is not None]


def status():
    with urllib.request.urlopen(base + "/api/v1/status", timeout=10) as r:
        return json.load(r)


def ready(doc):
    """Enough history for every chart, and the drift has risen."""
    if not doc["models"]:
        return False, "no model yet"
    m = doc["models"][0]
    series = {"request_rate": m["request_rate"], "latency_p99_seconds": m["latency_p99_seconds"],
              "error_ratio": m["error_ratio"], "empty_share": m["empty_share"]}
    for k, v in m["precision"].items():
        series["precision " + k] = v
    if not m["precision"]:
        return False, "no precision series yet"
    session = m["drift_psi"].get("session_seconds")
    if session is None:
        return False, "no session_seconds drift yet"
    for name, values in series.items():
        if len(defined(values)) < 5:
            return False, f"{name}: {len(defined(values))} points"
    if len(defined(session)) < 5 or defined(session)[-1] <= 0.4:
        return False, f"session_seconds psi {defined(session)[-1:]}"
    return True, ""


# 1. The status API: wait (polling the live server, bounded) for the fault to
# show. With --fault-after the drift must have started low.
doc, why = None, ""
deadline = time.monotonic() + 150
while time.monotonic() < deadline:
    try:
        doc = status()
        ok, why = ready(doc)
        if ok:
            break
    except Exception as e:  # the server is starting, or busy
        why = repr(e)
    if demo.poll() is not None:
        why = f"demo exited {demo.returncode}"
        break
    time.sleep(0.5)
else:
    ok = False
if not ok:
    stop_demo()
    fail(f"status API never showed the fault: {why}; demo said: " + "".join(demo_output[-5:]))
    finish()
model = doc["models"][0]
api_session = defined(model["drift_psi"]["session_seconds"])
print(f"status API ready: {len(model['t'])} points; session_seconds psi "
      f"first {api_session[0]:.3f} last {api_session[-1]:.3f}", flush=True)
if fault_after:
    # The history starts with the server; the fault FAULT_AFTER s later. The
    # points of the healthy stretch (1 s of margin) must show low drift.
    healthy = [v for t, v in zip(model["t"], model["drift_psi"]["session_seconds"])
               if v is not None and t <= model["t"][0] + (FAULT_AFTER - 1) * 1000]
    print(f"session_seconds psi before the fault: {healthy}")
    if len(healthy) < 3 or max(healthy) >= 0.1:
        fail(f"session_seconds psi before the fault: {healthy}, expected >= 3 points < 0.1")


# 2. The page in Chromium: the DOM after its script fetched and drew.
def run_chromium(extra, timeout=180):
    profile = tempfile.mkdtemp(prefix="mlmon-chromium-")
    try:
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--window-size=1280,1400", "--virtual-time-budget=8000"] + extra + [base + "/"]
        env = dict(os.environ, HOME=profile)
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class Dom(HTMLParser):
    """Collects the charts' figures and lines and the body's state."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.figures = {}   # id -> attributes
        self.lines = {}     # figure id -> [path attributes]
        self.current = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "figure" and a.get("id", "").startswith("chart-"):
            self.current = a["id"][len("chart-"):]
            self.figures[self.current] = a
            self.lines[self.current] = []
        elif tag == "path" and self.current and "data-series" in a:
            self.lines[self.current].append(a)

    def handle_endtag(self, tag):
        if tag == "figure":
            self.current = None


r = run_chromium(["--dump-dom"])
if r.returncode != 0 or "<figure" not in r.stdout:
    fail(f"chromium --dump-dom exited {r.returncode}: {r.stderr[-2000:]}")
dom = Dom()
dom.feed(r.stdout)
if dom.body.get("data-state") != "drawn":
    fail(f"page state is {dom.body.get('data-state')!r}, not 'drawn'")
for chart in CHARTS:
    fig = dom.figures.get(chart)
    if fig is None:
        fail(f"chart {chart} missing from the DOM")
        continue
    points = int(fig.get("data-points", "0"))
    print(f"chart {chart}: {points} points, {len(dom.lines[chart])} line(s)")
    if points < 2:
        fail(f"chart {chart} drew {points} points, expected >= 2")
    if fig.get("data-state") != "drawn":
        fail(f"chart {chart} state {fig.get('data-state')!r}")
drift = {p["data-series"]: p for p in dom.lines.get("drift", [])}
session = drift.get("session_seconds")
if session is None:
    fail(f"no session_seconds line in the drift chart: {sorted(drift)}")
else:
    first, last, peak = (float(session.get(k, "nan")) for k in ("data-first", "data-last", "data-max"))
    print(f"drift chart session_seconds: {session['data-points']} points, first {first:.3f}, "
          f"last {last:.3f}, max {peak:.3f}")
    if int(session["data-points"]) < 2:
        fail("session_seconds line has fewer than 2 points")
    if not last > 0.25:
        fail(f"session_seconds drift drawn last at {last}, expected > 0.25")
    if fault_after and not first < 0.1:
        fail(f"session_seconds drift drawn first at {first}, expected < 0.1 before the fault")
    if not last > first + 0.2:
        fail(f"session_seconds drift did not rise: first {first}, last {last}")
amount = drift.get("amount_usd")
if amount is None:
    fail("no amount_usd line in the drift chart")
elif not float(amount["data-last"]) < 0.1:
    fail(f"untouched amount_usd drift drawn at {amount['data-last']}, expected < 0.1")

# 3. The screenshot, for people.
if os.path.exists(SCREENSHOT):
    os.remove(SCREENSHOT)
r = run_chromium([f"--screenshot={SCREENSHOT}", "--hide-scrollbars"])
if r.returncode != 0 or not os.path.exists(SCREENSHOT):
    fail(f"chromium --screenshot exited {r.returncode}: {r.stderr[-2000:]}")
else:
    with open(SCREENSHOT, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        fail("screenshot is not a PNG")
    else:
        width, height = struct.unpack(">II", head[16:24])
        print(f"screenshot: {SCREENSHOT} ({width}x{height}, {os.path.getsize(SCREENSHOT)} bytes)")
        if os.path.getsize(SCREENSHOT) < 20000:
            fail("screenshot is suspiciously small (blank page?)")

stop_demo()
if demo.returncode != 0:
    fail(f"demo exited {demo.returncode} (a sanitizer report?): " + "".join(demo_output[-20:]))
finish()
