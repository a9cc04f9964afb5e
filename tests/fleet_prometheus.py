"""Prometheus for the fleet test (fleet_e2e_test.py): starting it, its HTTP
API, and the check of a fleet precision recording rule.

PRECISION. The rule is sum(rate(tp[w])) / sum(rate(predicted positive[w]))
over the replicas. rate() extrapolates each series by its own factor
(1 + time from its last scrape to the evaluation / time its samples span),
and the replicas are scraped at different offsets, so the rule is a weighted
mean of the replicas' precisions with weights off by up to 1.1 scrape
intervals / the span (a few percent here): it does not equal the fleet's
precision exactly. So check_precision_rules checks: (1) the fleet sums of
the raw counters Prometheus holds give scikit-learn's precision (to 1e-9);
(2) the recorded rule equals Prometheus's rate() extrapolation replayed on
those raw samples at the rule's evaluation time, a sum over replicas, then
the ratio (to 1e-9); (3) the rule lies between the replicas' own precisions
(a weighted mean); and (4) it differs from scikit-learn's by at most
(max f / min f - 1) * max |replica's precision - fleet's|, f the replicas'
extrapolation factors. It checks an evaluation whose factors are at most
MAX_FACTOR, so the bound is about 0.15 * the spread of the replicas'
precisions.
"""
import itertools
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request

import yaml

import loopback

SCRAPE_IN_FLIGHT = 100      # ms: a scrape this recent may be unseen by a rule
MAX_FACTOR = 1.15           # rate()'s extrapolation at the checked evaluation


def start_prometheus(binary, work, targets, rules):
    """`binary` scraping 127.0.0.1:`targets` and evaluating `rules`, both every
    second, on a free port; returns (process, port)."""
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                f"rule_files:\n  - {rules}\n"
                "scrape_configs:\n  - job_name: mlmon-fleet\n    static_configs:\n"
                "      - targets: [" + ", ".join(f"'127.0.0.1:{t}'" for t in targets) + "]\n")
    for attempt in range(3):
        port = loopback.free_port()
        log = open(os.path.join(work, f"prometheus-{attempt}.log"), "w+")
        p = subprocess.Popen([binary, f"--config.file={config}",
                              f"--storage.tsdb.path={os.path.join(work, f'tsdb-{attempt}')}",
                              f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                             stdout=log, stderr=subprocess.STDOUT)
        if loopback.wait_ready(f"http://127.0.0.1:{port}/-/ready", p, 30):
            return p, port
        p.kill()
        p.wait()
        log.seek(0)
        print(f"prometheus attempt {attempt} failed on port {port}:\n{log.read()}")
    raise RuntimeError("Prometheus did not start")


def prom_get(port, path, **params):
    url = f"http://127.0.0.1:{port}{path}?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read().decode())["data"]


def seconds_of(d):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", d)
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def prom_rate(points, t_end_ms, range_s):
    """Prometheus 2.x's rate() (promql/functions.go extrapolatedRate) of one
    counter's samples [(ms, value)] in [t_end - range, t_end], and the factor
    it extrapolated the increase by: (rate, factor)."""
    if len(points) < 2:
        return None, None
    result = points[-1][1] - points[0][1]
    last = 0.0
    for _, v in points:
        if v < last:
            result += last
        last = v
    to_start = (points[0][0] - (t_end_ms - range_s * 1000)) / 1000
    to_end = (t_end_ms - points[-1][0]) / 1000
    sampled = (points[-1][0] - points[0][0]) / 1000
    average = sampled / (len(points) - 1)
    if result > 0 and points[0][1] >= 0:
        to_start = min(to_start, sampled * (points[0][1] / result))
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return result * (interval / sampled) / range_s, interval / sampled


def seen_by_rule(series, t_ms):
    """The raw samples an evaluation at `t_ms` may have read: with and without
    the last sample of each instance scraped within SCRAPE_IN_FLIGHT before
    it."""
    fresh = sorted({i for (i, _), pts in series.items() if t_ms - pts[-1][0] < SCRAPE_IN_FLIGHT})
    for drop in itertools.product([False, True], repeat=len(fresh)):
        gone = {i for i, d in zip(fresh, drop) if d}
        yield {k: pts[:-1] if k[0] in gone else pts for k, pts in series.items()}


def usable_window(series, t_ms, range_s, instances, label, want_counts):
    """Every replica's series starts at 0 (before its first outcome), ends on
    its final count, and rate() extrapolates it by at most MAX_FACTOR."""
    for i in instances:
        for a in "01":
            pts = series.get((i, a), [])
            if len(pts) < 2 or pts[0][1] != 0 or pts[-1][1] != want_counts[(i, label, a)]:
                return False
            if prom_rate(pts, t_ms, range_s)[1] > MAX_FACTOR:
                return False
    return True


def check_precision_rules(check, prom, rules, model, version, want_counts, precision_ref,
                          deadline_seconds):
    """Checks every `mlmon:precision:*` rule of `rules` per threshold of
    `precision_ref` ({threshold label: scikit-learn's precision}); `check(ok,
    what)` reports. want_counts: {(instance, threshold label, actual): final
    count of mlmon_confusion_total with predicted=1}."""
    groups = yaml.safe_load(open(rules))["groups"]
    records = {r["record"]: r["expr"] for g in groups for r in g["rules"] if "record" in r}
    names = sorted(n for n in records if n.startswith("mlmon:precision:"))
    if not check(bool(names), f"the generated rules record a precision ({names})"):
        return
    instances = sorted({i for i, _, _ in want_counts})
    for name in names:
        m = re.search(r"\[(\w+)\]", records[name])
        range_s = seconds_of(m.group(1))
        for label in precision_ref:
            sel = f'model="{model}",version="{version}",threshold="{label}"'
            # A rule evaluation whose raw samples hold the final counts of
            # every replica, late enough that rate() extrapolates each series
            # by at most MAX_FACTOR. A sample scraped within SCRAPE_IN_FLIGHT
            # before the evaluation may not have been committed when the rule
            # read the data (the later query sees it): such an instance's last
            # sample is replayed both with and without.
            deadline = time.monotonic() + deadline_seconds
            done = None
            while done is None and time.monotonic() < deadline:
                time.sleep(0.5)
                rec = prom_get(prom, "/api/v1/query", query=f"{name}{{{sel}}}[5s]")["result"]
                if not rec:
                    continue
                for ts, v in reversed(rec[0]["values"]):
                    t_ms = round(float(ts) * 1000)
                    raw = prom_get(prom, "/api/v1/query", time=f"{t_ms / 1000:.3f}",
                                   query=f'mlmon_confusion_total{{{sel},predicted="1"}}'
                                         f"[{m.group(1)}]")["result"]
                    series = {(r["metric"]["instance"], r["metric"]["actual"]):
                              [(round(float(a) * 1000), float(b)) for a, b in r["values"]]
                              for r in raw}
                    usable = [x for x in seen_by_rule(series, t_ms)
                              if usable_window(x, t_ms, range_s, instances, label, want_counts)]
                    if usable:
                        done = (t_ms, float(v), usable)
                        break
            if not check(done is not None, f"{name}@{label}: an evaluation over the final "
                         f"counts of all replicas, extrapolated by at most {MAX_FACTOR}, "
                         "within the deadline"):
                continue
            t_ms, got, usable = done

            def replay(x):
                rates = {k: prom_rate(pts, t_ms, range_s) for k, pts in x.items()}
                num = sum(rates[(i, "1")][0] for i in instances)
                den = num + sum(rates[(i, "0")][0] for i in instances)
                return num / den, rates
            matching = [x for x in usable if abs(got - replay(x)[0]) <= 1e-9]
            series = (matching or usable)[0]
            tp = sum(series[(i, "1")][-1][1] for i in instances)
            pp = tp + sum(series[(i, "0")][-1][1] for i in instances)
            check(abs(tp / pp - precision_ref[label]) <= 1e-9,
                  f"{name}@{label}: fleet sums of the raw counters in Prometheus "
                  f"{int(tp)}/{int(pp)} = sklearn precision {precision_ref[label]:.12g}")
            want, rates = replay(series)
            check(abs(got - want) <= 1e-9,
                  f"{name}@{label}: recorded {got:.12g} = rate() replayed on the raw "
                  f"samples, summed over the {len(instances)} replicas {want:.12g}")
            own = [series[(i, "1")][-1][1] /
                   (series[(i, "1")][-1][1] + series[(i, "0")][-1][1]) for i in instances]
            check(min(own) <= got <= max(own),
                  f"{name}@{label}: recorded {got:.12g} is a weighted mean of the replicas' "
                  f"own precisions {[round(x, 6) for x in own]}")
            # rule - p = sum_r pp_r f_r (p_r - p) / sum_r pp_r f_r, and
            # sum_r pp_r (p_r - p) = 0: |rule - p| <= (max f / min f - 1) *
            # max_r |p_r - p| for the extrapolation factors f_r.
            factors = [f for _, f in rates.values()]
            p = precision_ref[label]
            bound = (max(factors) / min(factors) - 1) * max(abs(x - p) for x in own)
            check(abs(got - p) <= bound + 1e-12,
                  f"{name}@{label}: recorded {got:.12g} vs sklearn {p:.12g}: off by "
                  f"{got - p:+.2e}, within the bound {bound:.2e} of rate()'s extrapolation "
                  f"factors {min(factors):.4f}..{max(factors):.4f}")
