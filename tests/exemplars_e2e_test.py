"""Exemplars end to end: mlmon-example-server with a prediction log, a real
Prometheus with exemplar storage scraping it (OpenMetrics, negotiated by
Prometheus's Accept header), and the jump from a bucket to a prediction:
every exemplar /api/v1/query_exemplars returns for the latency and the score
histograms names a prediction in the prediction log. Also: /metrics in
OpenMetrics ends with `# EOF` and prometheus_client's OpenMetrics parser
reads all of it; without an Accept header the text format is served.

usage: exemplars_e2e_test.py MLMON_EXAMPLE_SERVER
Exit 77 (skipped) without /usr/bin/prometheus.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import loopback

PROMETHEUS = "/usr/bin/prometheus"
OPENMETRICS_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                      "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
HISTOGRAMS = ["mlmon_request_duration_seconds_bucket", "mlmon_prediction_score_bucket"]

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what)


def start_prometheus(work, target_port):
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n"
                "scrape_configs:\n  - job_name: mlmon-exemplars\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n")
    for attempt in range(3):
        port = loopback.free_port()
        log = open(os.path.join(work, f"prometheus-{attempt}.log"), "w+")
        p = subprocess.Popen([PROMETHEUS, f"--config.file={config}",
                              f"--storage.tsdb.path={os.path.join(work, f'tsdb-{attempt}')}",
                              f"--web.listen-address=127.0.0.1:{port}",
                              "--enable-feature=exemplar-storage", "--log.level=warn"],
                             stdout=log, stderr=subprocess.STDOUT)
        if loopback.wait_ready(f"http://127.0.0.1:{port}/-/ready", p, 30):
            return p, port
        p.kill()
        p.wait()
        log.seek(0)
        print(f"prometheus attempt {attempt} failed on port {port}:\n{log.read()}")
    raise RuntimeError("Prometheus did not start")


def get(port, path, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read().decode()


def query_exemplars(prom_port, metric, start):
    q = urllib.parse.urlencode({"query": metric, "start": f"{start:.3f}",
                                "end": f"{time.time() + 60:.3f}"})
    _, _, body = get(prom_port, "/api/v1/query_exemplars?" + q)
    return json.loads(body)["data"]


def unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v) and v[i + 1] in '\\"n':
            out.append("\n" if v[i + 1] == "n" else v[i + 1])
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def logged_ids(log_path):
    ids = set()
    if os.path.exists(log_path):
        with open(log_path, encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):
                    ids.add(json.loads(line)["id"])
    return ids


def predict(port, rid, amount):
    body = json.dumps({"id": rid, "features": {"amount_usd": amount,
                                               "account_age_days": 30,
                                               "distance_km": amount / 10}})
    status, _ = loopback.post(port, "/v1/predict", body)
    return status


def check_openmetrics(port, sent):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    status, headers, body = get(port, "/metrics", {"Accept": OPENMETRICS_ACCEPT})
    check(status == 200, f"OpenMetrics scrape answered {status}")
    check(headers.get("content-type") ==
          "application/openmetrics-text; version=1.0.0; charset=utf-8",
          f"OpenMetrics Content-Type: {headers.get('content-type')!r}")
    check(headers.get("vary") == "Accept", f"Vary: {headers.get('vary')!r}")
    check(body.endswith("\n# EOF\n"), "the OpenMetrics body ends with # EOF")
    try:
        families = list(text_string_to_metric_families(body))
    except Exception as e:  # the parser raises ValueError with the bad line
        check(False, f"prometheus_client cannot parse the OpenMetrics body: {e}")
        return 0
    exemplars = 0
    names = {f.name for f in families}
    for fam in families:
        for s in fam.samples:
            if s.exemplar is not None:
                exemplars += 1
                check(s.exemplar.labels.get("id") in sent,
                      f"parsed exemplar id {s.exemplar.labels} was never sent")
    for want in ("mlmon_request_duration_seconds", "mlmon_prediction_score",
                 "mlmon_requests"):
        check(want in names, f"family {want} in the parsed OpenMetrics")
    check(exemplars >= 2, f"parsed exemplars: {exemplars}")
    status, headers, text = get(port, "/metrics")
    check(headers.get("content-type") == "text/plain; version=0.0.4; charset=utf-8",
          f"default Content-Type: {headers.get('content-type')!r}")
    check("# EOF" not in text and " # {" not in text, "the text format has no exemplars")
    print(f"OpenMetrics: {len(families)} families parsed, {exemplars} exemplars")
    return exemplars


def main():
    server_bin = sys.argv[1]
    if not os.access(PROMETHEUS, os.X_OK):
        print("no prometheus: skipped")
        return 77
    work = tempfile.mkdtemp(prefix="mlmon-exemplars-")
    server = prom = None
    try:
        logs = os.path.join(work, "logs")
        os.mkdir(logs)
        server = subprocess.Popen([server_bin, "--port", "0", "--prediction-log", logs],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        port = int(line.split("http://127.0.0.1:")[1].split()[0]) if "127.0.0.1:" in line else 0
        if port == 0:
            raise RuntimeError(f"server did not start: {line!r}")
        prom, prom_port = start_prometheus(work, port)
        start = time.time() - 5
        log_path = os.path.join(logs, "fraud-1-predictions.ndjson")
        sent = set()
        found = {}
        n = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for _ in range(50):
                # Ids with characters that need escaping in JSON and in labels.
                rid = f"e2e-{n}" if n % 7 else f'e2e-"q"\\{n}-é'
                amount = (n * 37) % 2000
                check(predict(port, rid, amount) == 200, f"predict {rid!r}")
                sent.add(rid)
                n += 1
            found = {}
            for metric in HISTOGRAMS:
                for series in query_exemplars(prom_port, metric, start):
                    found.setdefault(metric, []).extend(
                        (series["seriesLabels"], e) for e in series["exemplars"])
            if all(found.get(m) for m in HISTOGRAMS):
                break
            time.sleep(0.5)
        for m in HISTOGRAMS:
            check(bool(found.get(m)), f"Prometheus returned no exemplar of {m}")
        # The jump: each exemplar's id is a prediction in the log (written
        # within a second; polled with a deadline).
        # Prometheus 2.42 returns an exemplar's label value as written, its
        # escapes (\\, \", \n) not undone; undone here to name the id.
        ids = {unescape(e["labels"].get("id")) for pairs in found.values() for _, e in pairs}
        deadline = time.monotonic() + 15
        log = logged_ids(log_path)
        while not ids <= log and time.monotonic() < deadline:
            time.sleep(0.2)
            log = logged_ids(log_path)
        check(len(ids) > 0 and ids <= log,
              f"exemplar ids missing from the prediction log: {sorted(ids - log)[:5]}")
        for metric, pairs in found.items():
            for labels, e in pairs:
                le = float(labels["le"])
                check(float(e["value"]) <= le, f"{metric}: exemplar {e} above le={le}")
        total = sum(len(p) for p in found.values())
        print(f"{n} predictions sent, {len(log)} logged; Prometheus returned {total} "
              f"exemplars ({', '.join(f'{m}: {len(found.get(m, []))}' for m in HISTOGRAMS)}), "
              f"{len(ids)} distinct ids, all in the prediction log: {ids <= log}")
        check_openmetrics(port, sent)
    finally:
        for p in (prom, server):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(work, ignore_errors=True)
    print("exemplars e2e checks passed" if not failures else f"{len(failures)} check(s) failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
