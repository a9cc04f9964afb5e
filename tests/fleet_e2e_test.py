#!/usr/bin/python3
"""End to end, a fleet: three mlmon-example-server replicas of one binary model
share a real `redis-server` as their pending store, and a real Prometheus
scrapes all three (one `instance` each) and evaluates the rules `mlmon rules`
generated for their monitor.yaml (1 s scrape and evaluation).

Phases, every request to a replica drawn by a seeded RNG:

A. Joins across the fleet. Predictions go to random replicas; once every
   replica's mlmon_pending_predictions is 0 (all written to Redis), outcomes
   go to random replicas in bodies of random size, then some of them again
   (separate bodies, random replicas; a few twice). Summed over the replicas'
   /metrics: matched == distinct outcomes sent, unmatched == 0, duplicate ==
   re-sent lines, the confusion counters == scikit-learn's confusion matrix.
   In Prometheus: the fleet precision recording rule(s) of the generated file
   against scikit-learn's precision_score (see PRECISION below).
B. Redis killed (SIGKILL). Every prediction request still answers 200 within
   FAST seconds and no replica dies; POST /v1/outcomes answers 503 with
   Retry-After and a JSON `retry` listing every line, counted in
   mlmon_outcomes_total{result="unavailable"}; with max_buffered small, the
   predictions beyond the buffer are dropped and counted
   (mlmon_dropped_total{reason="store_unavailable"} + the still buffered ==
   the predictions sent, per replica); MlmonPendingStoreDown fires in
   Prometheus for every replica (its generated `for: 1m` shortened to
   STORE_DOWN_FOR in the test's copy of the rules), and resolves after the
   restart. Redis restarted (empty, same port): the buffer is written, the
   outcomes of the outage's predictions join (matched == buffered, unmatched
   == dropped), and new predictions join.
C. One replica killed (SIGKILL) after its predictions were written: outcomes
   for them sent to the two survivors are all matched.

PRECISION. The rule is not exactly the fleet's precision (rate()
extrapolates each replica's series by its own factor): fleet_prometheus.py
says what is checked instead, and to what bound.

usage: fleet_e2e_test.py EXAMPLE_SERVER MLMON [PROMETHEUS]
Prints "fleet e2e checks passed" last on success; exit 77 (skipped) when
redis-server or prometheus is not installed.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sklearn import metrics as skm

import loopback
from fleet_prometheus import check_precision_rules, prom_get, seconds_of, start_prometheus

SERVER = os.path.abspath(sys.argv[1])
MLMON = os.path.abspath(sys.argv[2])
PROMETHEUS = sys.argv[3] if len(sys.argv) > 3 else (
    shutil.which("prometheus") or "/usr/bin/prometheus")
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"

SEED = 20261206
MODEL, VERSION = "fraud", "1"
THRESHOLDS = [0.3, 0.5]
REPLICAS = 3
MAX_BUFFERED = 256          # per replica: small, so that an outage overflows it
PREDICTIONS = 600           # phase A
NO_OUTCOME = 60             # phase A predictions that get no outcome
RESENT_ONCE, RESENT_TWICE = 50, 10
OUTAGE_PREDICTIONS = 1500   # phase B, about 500 per replica: > MAX_BUFFERED each
OUTAGE_OUTCOMES = 30        # phase B lines answered 503
FAST = 0.25                 # s: bound of a prediction's answer, Redis down
STORE_DOWN_FOR = "5s"       # MlmonPendingStoreDown's hold in the test's rules
KEY_PREFIX = "e2e:"
DEADLINE = 30               # s: bound of each wait for a condition
FAILURES = []

FEATURES = """features:
  numeric:
    - {name: amount_usd, min: 0, buckets: [10, 30, 100, 300, 1000]}
    - {name: account_age_days, min: 0, buckets: [7, 30, 365, 1000]}
    - {name: distance_km, min: 0, max: 20040, buckets: [5, 20, 100, 500]}
"""


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        FAILURES.append(what)
    return ok


def write_config(path, redis_port):
    with open(path, "w") as f:
        f.write(f"""model: {MODEL}
version: "{VERSION}"
endpoints: [predict]
task: binary
thresholds: {THRESHOLDS}
outcome_ttl: 1h
windows: [1h]
pending_store:
  backend: redis
  url: "redis://127.0.0.1:{redis_port}/0"
  key_prefix: "{KEY_PREFIX}"
  timeout: 200ms
  max_buffered: {MAX_BUFFERED}
{FEATURES}""")


# --- Processes ---------------------------------------------------------------

def start_replica(work, config, n):
    """mlmon-example-server --port 0; its output goes to a log file (a pipe
    nobody reads could fill and block it)."""
    log = open(os.path.join(work, f"replica-{n}.log"), "a+")
    p = subprocess.Popen([SERVER, "--port", "0", "--config", config],
                         stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and p.poll() is None:
        log.seek(0)
        m = re.search(r"serving 1 model version\(s\) on http://127\.0\.0\.1:(\d+)", log.read())
        if m:
            return p, int(m.group(1))
        time.sleep(0.05)
    log.seek(0)
    raise RuntimeError(f"replica {n} did not start: {log.read()[-2000:]}")


def start_redis_on_free_port():
    for _ in range(3):
        port = loopback.free_port()
        try:
            return loopback.start_redis(port, server=REDIS), port
        except RuntimeError as e:
            print(e)
    raise RuntimeError("redis-server did not start")


def kill(p):
    p.send_signal(signal.SIGKILL)
    p.wait()


# --- Replicas' HTTP ----------------------------------------------------------

def random_features(rng):
    """Features spreading the example's logistic score over (0, 1), so both
    thresholds see positive and negative predictions."""
    return {"amount_usd": round(rng.lognormvariate(3.5, 1.5), 2),
            "account_age_days": int(rng.lognormvariate(2.5, 1.8)),
            "distance_km": round(rng.expovariate(1 / 80.0), 1)}


def predict(port, rid, rng):
    """(score or None, seconds the answer took)."""
    body = json.dumps({"id": rid, "model": MODEL, "features": random_features(rng)})
    t0 = time.monotonic()
    s, answer = loopback.post(port, "/v1/predict", body)
    took = time.monotonic() - t0
    r = json.loads(answer) if s == 200 else {}
    if s != 200 or r.get("id") != rid:
        check(False, f"predict {rid} on :{port}: {s} {answer[:200]}")
        return None, took
    return float(r["score"]), took


def ndjson(lines):
    return "".join(json.dumps(x) + "\n" for x in lines)


def post_outcomes(port, lines):
    """(status, headers, parsed JSON answer) of one NDJSON body."""
    s, headers, answer = loopback.post_with_headers(port, "/v1/outcomes", ndjson(lines),
                                                    "application/x-ndjson")
    try:
        parsed = json.loads(answer)
    except ValueError:
        parsed = {}
    return s, headers, parsed


def deliver(rng, ports, lines, deadline):
    """Sends `lines` in bodies of random size to random replicas, and the
    lines a 503 lists in `retry` again (to random replicas) until none is left
    or `deadline`. Returns ({count: sum over the answers}, 503 answers)."""
    total = {"matched": 0, "unmatched": 0, "duplicate": 0, "invalid": 0}
    answered_503 = 0
    todo = list(lines)
    while todo:
        if time.monotonic() > deadline:
            check(False, f"{len(todo)} outcome lines still unavailable at the deadline")
            break
        retry = []
        while todo:
            n = rng.randint(1, 25)
            body, todo = todo[:n], todo[n:]
            s, _, r = post_outcomes(rng.choice(ports), body)
            if s not in (200, 503):
                check(False, f"POST /v1/outcomes answered {s}: {r}")
                continue
            for k in total:
                total[k] += r.get(k, 0)
            if s == 503:
                answered_503 += 1
                retry += [body[i - 1] for i in r.get("retry", [])]
        if retry:
            time.sleep(0.2)  # the client's back-off before it sends them again
        todo = retry
    return total, answered_503


# --- Metrics -------------------------------------------------------------------

def samples_of(port):
    out = []
    for fam in text_string_to_metric_families(loopback.scrape(port)):
        out.extend(fam.samples)
    return out


def value(samples, name, **labels):
    """Sum of the samples `name` whose labels include `labels`."""
    return sum(s.value for s in samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def per_replica(ports, name, **labels):
    return {p: value(samples_of(p), name, model=MODEL, version=VERSION, **labels)
            for p in ports}


def fleet(ports, name, **labels):
    return sum(per_replica(ports, name, **labels).values())


def wait_for(what, cond, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got or time.monotonic() > deadline:
            return check(bool(got), what)
        time.sleep(0.1)


def wait_written(ports):
    """Every replica's mlmon_pending_predictions (predictions buffered before
    Redis) is 0."""
    last = {}

    def cond():
        last.update(per_replica(ports, "mlmon_pending_predictions"))
        return all(v == 0 for v in last.values())
    if not wait_for("every replica's mlmon_pending_predictions reaches 0 (written to Redis)",
                    cond):
        print(f"  pending: {last}")


def wait_in_redis(redis_port, ids):
    """Redis holds the key of every id (EXISTS): written, not only gone from
    the replicas' buffer gauge, which the writer thread publishes after the
    fact."""
    keys = [f"{KEY_PREFIX}{MODEL}:{VERSION}:{rid}" for rid in ids]
    found = [0]

    def cond():
        found[0] = sum(loopback.redis_command(redis_port, "EXISTS", *keys[i:i + 500])
                       for i in range(0, len(keys), 500))
        return found[0] == len(keys)
    if not wait_for(f"Redis holds the {len(keys)} predictions' keys", cond):
        print(f"  found {found[0]}")


def outcome_counts(ports):
    return {r: fleet(ports, "mlmon_outcomes_total", result=r)
            for r in ("matched", "unmatched", "duplicate", "invalid", "unavailable")}


# --- Phases ------------------------------------------------------------------------

def phase_joins(rng, ports, instance_of, prom, rules, redis_port):
    """A: predictions and outcomes on random replicas."""
    print("--- A: joins across the fleet")
    # The precision's rate() counts from Prometheus's first sample: it must
    # see every replica's counters at 0, before any outcome.
    q = f'count by (instance) (mlmon_confusion_total{{model="{MODEL}"}} == 0)'
    wait_for("Prometheus scraped every replica's confusion counters at 0",
             lambda: {r["metric"]["instance"] for r in
                      prom_get(prom, "/api/v1/query", query=q)["result"]}
             == set(instance_of.values()))
    ids = [f"p{i}" for i in range(PREDICTIONS)]
    scores, made_on = {}, {}
    for rid in ids:
        port = rng.choice(ports)
        s, _ = predict(port, rid, rng)
        if s is not None:
            scores[rid], made_on[rid] = s, port
    check(len(scores) == PREDICTIONS, f"{PREDICTIONS} predictions answered")
    wait_written(ports)
    wait_in_redis(redis_port, ids)

    truth = {rid: 1 if rng.random() < 0.1 + 0.8 * s else 0 for rid, s in scores.items()}
    with_outcome = rng.sample(sorted(scores), len(scores) - NO_OUTCOME)
    lines = [{"id": rid, "outcome": truth[rid], "model": MODEL} for rid in with_outcome]
    rng.shuffle(lines)
    joined_on = {}
    bodies = []
    rest = list(lines)
    while rest:
        n = rng.randint(1, 25)
        bodies.append(rest[:n])
        rest = rest[n:]
    answers = {"matched": 0, "unmatched": 0, "duplicate": 0}
    for body in bodies:
        port = rng.choice(ports)
        s, _, r = post_outcomes(port, body)
        if s != 200:
            check(False, f"outcomes body of {len(body)} lines on :{port}: {s} {r}")
        for k in answers:
            answers[k] += r.get(k, 0)
        for x in body:
            joined_on[x["id"]] = port
    cross = sum(1 for rid in joined_on if joined_on[rid] != made_on[rid])
    print(f"  {len(lines)} outcomes in {len(bodies)} bodies; {cross} joined on another "
          "replica than the one that predicted")
    check(cross > len(lines) / 2, f"most outcomes ({cross}) reach another replica than "
          "their prediction's")

    # Re-sent: RESENT_ONCE ids once more, RESENT_TWICE of them a third time,
    # in bodies of their own, to random replicas.
    once = rng.sample(with_outcome, RESENT_ONCE)
    resent = once + rng.sample(once, RESENT_TWICE)
    rng.shuffle(resent)
    for i in range(0, len(resent), 7):
        body = [{"id": rid, "outcome": truth[rid], "model": MODEL} for rid in resent[i:i + 7]]
        s, _, r = post_outcomes(rng.choice(ports), body)
        for k in answers:
            answers[k] += r.get(k, 0)
    distinct = len(with_outcome)
    check(answers == {"matched": distinct, "unmatched": 0, "duplicate": len(resent)},
          f"the answers: matched {distinct}, unmatched 0, duplicate {len(resent)} "
          f"(got {answers})")

    got = outcome_counts(ports)
    for result, want in (("matched", distinct), ("unmatched", 0),
                         ("duplicate", len(resent)), ("invalid", 0), ("unavailable", 0)):
        check(got[result] == want, f"sum over replicas of mlmon_outcomes_total"
              f"{{result=\"{result}\"}} = {want} (got {got[result]:g})")
    matched_by = per_replica(ports, "mlmon_outcomes_total", result="matched")
    check(all(v > 0 for v in matched_by.values()), f"every replica joined some ({matched_by})")
    dropped = per_replica(ports, "mlmon_dropped_total", reason="store_unavailable")
    errors = {op: per_replica(ports, "mlmon_pending_store_errors_total", op=op)
              for op in ("connect", "write", "take")}
    check(sum(dropped.values()) == 0, f"no prediction dropped as store_unavailable while "
          f"Redis is up ({dropped}; store errors {errors})")

    # Confusion counters against scikit-learn, per threshold: per replica
    # (the replica that joined) from /metrics, summed; the reference for
    # Prometheus below.
    y_true = np.array([truth[rid] for rid in with_outcome])
    y_score = np.array([scores[rid] for rid in with_outcome])
    smp = {p: samples_of(p) for p in ports}
    want_counts, precision_ref = {}, {}
    for t in THRESHOLDS:
        label = f"{t:g}"
        y_pred = (y_score >= t).astype(int)
        precision_ref[label] = skm.precision_score(y_true, y_pred)
        cm = skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist()
        got_cm = [[sum(value(smp[p], "mlmon_confusion_total", model=MODEL, threshold=label,
                             actual=str(a), predicted=str(pr)) for p in ports)
                   for pr in (0, 1)] for a in (0, 1)]
        check(got_cm == cm, f"mlmon_confusion_total@{label} summed over replicas = sklearn "
              f"{cm} (got {got_cm})")
        for p in ports:
            for a in "01":
                want_counts[(instance_of[p], label, a)] = value(
                    smp[p], "mlmon_confusion_total", model=MODEL, threshold=label,
                    actual=a, predicted="1")
        print(f"  sklearn precision@{label} = {precision_ref[label]:.12g}")
    check_precision_rules(check, prom, rules, MODEL, VERSION, want_counts, precision_ref,
                          DEADLINE)


def alert_firing(prom, name):
    alerts = prom_get(prom, "/api/v1/alerts")["alerts"]
    return [a for a in alerts if a["labels"].get("alertname") == name and
            a["state"] == "firing" and a["labels"].get("model") == MODEL]


def phase_redis_down(rng, ports, procs, others, prom, rules, redis, redis_port):
    """B: Redis killed, then restarted empty on the same port."""
    print("--- B: redis-server killed")
    instances = {f"127.0.0.1:{p}" for p in ports}
    check(not alert_firing(prom, "MlmonPendingStoreDown"),
          "MlmonPendingStoreDown is not firing while Redis is up")
    before = outcome_counts(ports)
    dropped_before = per_replica(ports, "mlmon_dropped_total", reason="store_unavailable")
    kill(redis)
    sent_to = {p: 0 for p in ports}
    slowest = 0.0
    outage_ids = [f"o{i}" for i in range(OUTAGE_PREDICTIONS)]
    for rid in outage_ids:
        port = rng.choice(ports)
        s, took = predict(port, rid, rng)
        slowest = max(slowest, took)
        if s is not None:
            sent_to[port] += 1
    check(slowest < FAST, f"every prediction answered within {FAST} s with Redis down "
          f"(slowest {slowest * 1000:.1f} ms)")
    check(all(p.poll() is None for p in procs), "no replica died")
    print(f"  outage predictions per replica: {sent_to}")

    # Outcomes now: every line is 503'd and listed in `retry`.
    truth = {rid: rng.randint(0, 1) for rid in outage_ids}
    lines = [{"id": rid, "outcome": truth[rid], "model": MODEL}
             for rid in rng.sample(outage_ids, OUTAGE_OUTCOMES)]
    for i in range(0, len(lines), 10):
        body = lines[i:i + 10]
        t0 = time.monotonic()
        s, headers, r = post_outcomes(rng.choice(ports), body)
        took = time.monotonic() - t0
        check(s == 503 and headers.get("Retry-After") is not None and
              r.get("unavailable") == len(body) and
              r.get("retry") == list(range(1, len(body) + 1)) and r.get("matched") == 0,
              f"outcomes with Redis down: 503, Retry-After {headers.get('Retry-After')}, "
              f"unavailable {len(body)}, retry lines 1..{len(body)} in {took * 1000:.0f} ms "
              f"(got {s} {r})")
    after = outcome_counts(ports)
    check(after["unavailable"] - before["unavailable"] == OUTAGE_OUTCOMES,
          f"mlmon_outcomes_total{{result=\"unavailable\"}} rose by the {OUTAGE_OUTCOMES} "
          f"503'd lines (by {after['unavailable'] - before['unavailable']:g})")
    check(after["matched"] == before["matched"], "nothing matched while Redis is down")

    # Buffered + dropped == sent, per replica (the writer publishes the
    # buffered count between its reconnection attempts).
    state = {}

    def conserved():
        pend = per_replica(ports, "mlmon_pending_predictions")
        drop = per_replica(ports, "mlmon_dropped_total", reason="store_unavailable")
        state.update({p: (pend[p], drop[p] - dropped_before[p]) for p in ports})
        return all(pend[p] + drop[p] - dropped_before[p] == sent_to[p] for p in ports)
    wait_for("per replica, buffered + dropped(store_unavailable) = outage predictions sent",
             conserved)
    print(f"  (buffered, dropped) per replica: {state}")
    dropped = sum(d for _, d in state.values())
    buffered = sum(b for b, _ in state.values())
    check(all(0 < d and b <= MAX_BUFFERED for b, d in state.values()),
          f"every replica buffered at most max_buffered {MAX_BUFFERED} and dropped the "
          f"rest ({dropped:g} dropped, {buffered:g} buffered)")
    up = per_replica(ports, "mlmon_pending_store_up")
    check(all(v == 0 for v in up.values()), f"mlmon_pending_store_up 0 on every replica ({up})")

    # The alert.
    groups = yaml.safe_load(open(rules))["groups"]
    alert = [r for g in groups for r in g["rules"] if r.get("alert") == "MlmonPendingStoreDown"]
    if alert:
        hold = seconds_of(alert[0].get("for", "0s"))
        t0 = time.monotonic()
        wait_for(f"MlmonPendingStoreDown fires in Prometheus for every replica "
                 f"(for: {hold:g} s)",
                 lambda: {a["labels"].get("instance") for a in
                          alert_firing(prom, "MlmonPendingStoreDown")} == instances,
                 hold + DEADLINE)
        print(f"  fired after {time.monotonic() - t0:.1f} s: "
              f"{[a['labels'] for a in alert_firing(prom, 'MlmonPendingStoreDown')]}")
    check(all(p.poll() is None for p in procs), "no replica died")

    print("--- B: redis-server restarted (empty) on the same port")
    others.append(loopback.start_redis(redis_port, server=REDIS))
    wait_written(ports)
    wait_for("mlmon_pending_store_up back to 1 on every replica",
             lambda: all(v == 1 for v in
                         per_replica(ports, "mlmon_pending_store_up").values()))
    before = outcome_counts(ports)
    lines = [{"id": rid, "outcome": truth[rid], "model": MODEL} for rid in outage_ids]
    got, retried = deliver(rng, ports, lines, time.monotonic() + DEADLINE)
    after = outcome_counts(ports)
    delta = {k: after[k] - before[k] for k in after}
    print(f"  outcomes of the outage's predictions: {got} ({retried} bodies 503'd and "
          "retried)")
    check(delta["matched"] == buffered and delta["unmatched"] == dropped and
          delta["duplicate"] == 0,
          f"the outage's predictions: {buffered:g} buffered ones matched, {dropped:g} dropped "
          f"ones unmatched (got {delta})")

    new_ids = [f"n{i}" for i in range(60)]
    for rid in new_ids:
        predict(rng.choice(ports), rid, rng)
    wait_written(ports)
    wait_in_redis(redis_port, new_ids)
    before = outcome_counts(ports)
    got, retried = deliver(rng, ports, [{"id": rid, "outcome": rng.randint(0, 1),
                                         "model": MODEL} for rid in new_ids],
                           time.monotonic() + DEADLINE)
    after = outcome_counts(ports)
    check(after["matched"] - before["matched"] == len(new_ids) and
          after["unmatched"] == before["unmatched"],
          f"new predictions after the restart: all {len(new_ids)} outcomes matched "
          f"(got {after['matched'] - before['matched']:g}; {retried} bodies retried)")
    wait_for("MlmonPendingStoreDown resolved after the restart",
             lambda: not alert_firing(prom, "MlmonPendingStoreDown"))


def phase_replica_killed(rng, ports, procs, redis_port):
    """C: a replica killed after its predictions were written."""
    print("--- C: one replica killed")
    ids = [f"k{i}" for i in range(90)]
    made_on = {}
    for rid in ids:
        port = rng.choice(ports)
        if predict(port, rid, rng)[0] is not None:
            made_on[rid] = port
    wait_written(ports)
    wait_in_redis(redis_port, ids)
    victim = rng.randrange(REPLICAS)
    kill(procs[victim])
    survivors = [p for i, p in enumerate(ports) if i != victim]
    orphans = [rid for rid in ids if made_on.get(rid) == ports[victim]]
    check(len(orphans) > 0, f"the killed replica made {len(orphans)} predictions")
    before = outcome_counts(survivors)
    got, _ = deliver(rng, survivors, [{"id": rid, "outcome": 1, "model": MODEL} for rid in ids],
                     time.monotonic() + DEADLINE)
    after = outcome_counts(survivors)
    check(got["matched"] == len(ids) and got["unmatched"] == 0,
          f"all {len(ids)} outcomes matched by the survivors, {len(orphans)} of them for the "
          f"killed replica's predictions (answers {got})")
    check(after["matched"] - before["matched"] == len(ids),
          f"the survivors' mlmon_outcomes_total{{result=\"matched\"}} rose by {len(ids)} "
          f"(by {after['matched'] - before['matched']:g})")
    check(all(p.poll() is None for i, p in enumerate(procs) if i != victim),
          "the other replicas are alive")


def shorten_store_down_for(generated, out):
    """Copies the generated rules to `out` with MlmonPendingStoreDown's `for`
    (1m, not configurable) shortened to STORE_DOWN_FOR: its expression is the
    generated one, its hold would double the test's runtime."""
    with open(generated) as f:
        doc = yaml.safe_load(f)
    alerts = [r for g in doc["groups"] for r in g["rules"]
              if r.get("alert") == "MlmonPendingStoreDown"]
    if check(len(alerts) == 1, "the generated rules have the alert MlmonPendingStoreDown"):
        check(alerts[0].get("for") == "1m", f"MlmonPendingStoreDown holds for 1m "
              f"(generated: {alerts[0].get('for')}); the test holds it {STORE_DOWN_FOR}")
        alerts[0]["for"] = STORE_DOWN_FOR
    with open(out, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)


def main():
    for binary in (PROMETHEUS, REDIS):
        if not os.access(binary, os.X_OK):
            print(f"SKIP: {binary} not installed (scripts/deps installs it)")
            return 77
    started = time.monotonic()
    rng = random.Random(SEED)
    work = tempfile.mkdtemp(prefix="mlmon-fleet-e2e-")
    procs = []        # replicas
    others = []       # Prometheus, Redis
    try:
        redis, redis_port = start_redis_on_free_port()
        others.append(redis)
        config = os.path.join(work, "monitor.yaml")
        write_config(config, redis_port)
        cc = subprocess.run([MLMON, "check-config", config], capture_output=True, text=True)
        check(cc.returncode == 0, f"mlmon check-config accepts the Redis store: "
              f"{(cc.stdout + cc.stderr).strip()[-300:]}")
        rules = os.path.join(work, "rules.yml")
        generated = os.path.join(work, "rules-generated.yml")
        subprocess.run([MLMON, "rules", "--config", config, "--out", generated], check=True)
        shorten_store_down_for(generated, rules)
        ports = []
        for n in range(REPLICAS):
            p, port = start_replica(work, config, n)
            procs.append(p)
            ports.append(port)
        instance_of = {p: f"127.0.0.1:{p}" for p in ports}
        prom, prom_port = start_prometheus(PROMETHEUS, work, ports, rules)
        others.append(prom)

        phase_joins(rng, ports, instance_of, prom_port, rules, redis_port)
        phase_redis_down(rng, ports, procs, others, prom_port, rules, redis, redis_port)
        phase_replica_killed(rng, ports, procs, redis_port)
    except Exception as e:  # reported with the logs below
        import traceback
        traceback.print_exc()
        FAILURES.append(f"{type(e).__name__}: {e}")
    finally:
        loopback.stop_processes(procs + others)
    print(f"runtime {time.monotonic() - started:.1f} s")
    if FAILURES:
        for name in sorted(os.listdir(work)):
            if name.endswith(".log"):
                with open(os.path.join(work, name)) as f:
                    tail = f.read().splitlines()[-15:]
                print(f"--- {name} (last lines)")
                print("\n".join(tail))
        for f in FAILURES:
            print("FAIL:", f)
        print(f"(work dir kept: {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("fleet e2e checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
