#!/usr/bin/python3
"""Prints mlmon / prometheus-cpp CPU-time ratios from mlmon-bench JSON output.

Usage:
  build/bin/mlmon-bench --benchmark_format=json [flags] > bench.json
  benchmarks/ratios.py bench.json            # or: ... | benchmarks/ratios.py
  benchmarks/ratios.py --markdown bench.json # the table in docs/performance.md
  benchmarks/ratios.py --check bench.json    # exit 1 if a target is missed

Pairs are BM_<Case>_Mlmon / BM_<Case>_PrometheusCpp, matched per thread
count. With --benchmark_repetitions the median aggregate is used (the mean
if there is no median; the mean of the repetitions if only iterations were
reported). Times are CPU time per iteration, in ns. Standard library only.

Multi-thread rows also show "parallel": CPU time / real time, mlmon side /
prometheus-cpp side. mlmon never blocks, so its value is ~N when the N
threads really ran at once; prometheus-cpp's may be lower because a thread
sleeping in its mutex burns no CPU. If mlmon's is below 0.9*N, or
prometheus-cpp's is near 1, the threads took turns on a busy machine, the row
measures no contention, and the verdict says so: rerun on an idle machine.
"""

import argparse
import json
import re
import signal
import sys
from collections import defaultdict

# mlmon / prometheus-cpp CPU-time ratio the team has to show, by case and
# thread count.
TARGETS = {
    ("Guard", 1): 0.8,
    ("Guard", 2): 0.5,
    ("HistogramObserve", 1): 0.35,
    ("HistogramObserve", 2): 0.15,
    ("CounterIncrement", 1): 0.6,
    ("CounterIncrement", 2): 0.2,
    ("Scrape10k", 1): 0.35,
}

# mlmon's own scrape of 50 models x 2 versions over its scrape of one model
# with the same number of series (both CPU time, same run).
MANY_MODELS = ("ScrapeManyModels", "ScrapeOneModel", 2.0)

NAME = re.compile(r"^BM_(?P<case>\w+?)_(?P<impl>Mlmon|PrometheusCpp)(?:/|$)")
TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(stream):
    """Returns {(case, threads): {impl: (cpu_ns, real_ns)}} and the context."""
    doc = json.load(stream)
    medians, means, iterations = {}, {}, defaultdict(list)
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        run_name = b.get("run_name", b["name"])
        m = NAME.match(run_name)
        if not m:
            continue
        key = (m.group("case"), int(b.get("threads", 1)), m.group("impl"))
        unit = TO_NS[b.get("time_unit", "ns")]
        ns = (float(b["cpu_time"]) * unit, float(b["real_time"]) * unit)
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = ns
            elif b.get("aggregate_name") == "mean":
                means[key] = ns
        else:
            iterations[key].append(ns)
    pairs = defaultdict(dict)
    for key in set(medians) | set(means) | set(iterations):
        case, threads, impl = key
        if key in medians:
            ns = medians[key]
        elif key in means:
            ns = means[key]
        else:
            runs = iterations[key]
            ns = (sum(r[0] for r in runs) / len(runs),
                  sum(r[1] for r in runs) / len(runs))
        pairs[(case, threads)][impl] = ns
    return pairs, doc.get("context", {})


def fmt_ns(ns):
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 1e4:
        return "%.1f us" % (ns / 1e3)
    return "%.1f ns" % ns


def order(item):
    (case, threads), _ = item
    cases = [c for c, _ in TARGETS]
    return (cases.index(case) if case in cases else len(cases), case, threads)


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # allow `| head`
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="?", help="mlmon-bench JSON (default: stdin)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    if args.json:
        with open(args.json, encoding="utf-8") as f:
            pairs, _ = load(f)
    else:
        pairs, _ = load(sys.stdin)

    rows, missed = [], 0
    for (case, threads), impls in sorted(pairs.items(), key=order):
        if "Mlmon" not in impls or "PrometheusCpp" not in impls:
            continue
        (mlmon, mlmon_real), (prom, prom_real) = impls["Mlmon"], impls["PrometheusCpp"]
        ratio = mlmon / prom
        target = TARGETS.get((case, threads))
        if target is None:
            verdict = "-"
        elif ratio <= target:
            verdict = "met"
        else:
            verdict = "MISSED"
            missed += 1
        parallel = "-"
        if threads > 1:
            pm, pp = mlmon / mlmon_real, prom / prom_real
            parallel = "%.2f / %.2f" % (pm, pp)
            # mlmon never blocks, so its CPU/real is the clean signal; the
            # prometheus-cpp side may sleep in its mutex (CPU/real < N) but
            # near 1 it took turns on one core.
            if (pm < 0.9 * threads or pp < 1.2) and target is not None:
                missed += verdict != "MISSED"  # a target can't be shown
                verdict = "NOT PARALLEL (rerun idle)"
        rows.append((case, threads, fmt_ns(mlmon), fmt_ns(prom), "%.3f" % ratio,
                     "<= %.2f" % target if target is not None else "-", verdict,
                     parallel))

    header = ("case", "threads", "mlmon CPU/op", "prometheus-cpp CPU/op",
              "ratio", "target", "verdict", "parallel")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---", "--:", "--:", "--:", "--:", "--:", "---", "--:"]) + "|")
        for r in rows:
            print("| " + " | ".join(str(c) for c in r) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for r in [header] + rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    many, one, target = MANY_MODELS
    if "Mlmon" in pairs.get((many, 1), {}) and "Mlmon" in pairs.get((one, 1), {}):
        ratio = pairs[(many, 1)]["Mlmon"][0] / pairs[(one, 1)]["Mlmon"][0]
        verdict = "met" if ratio <= target else "MISSED"
        missed += verdict == "MISSED"
        print("\n%s / %s (mlmon): %.3f, target <= %.2f: %s"
              % (many, one, ratio, target, verdict))
    if args.check and missed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
