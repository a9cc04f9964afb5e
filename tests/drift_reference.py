#!/usr/bin/python3
"""Writes tests/data/drift_vectors.json: reference values of the four drift
distances of include/mlmon/drift.h, computed independently with numpy/scipy.

drift_test.cc feeds each case's counts to mlmon's PopulationStabilityIndex,
JensenShannonDivergence, LInfinityDistance and KolmogorovSmirnovDistance and
compares with these values (1e-9 absolute, or relative when larger than 1).

Definitions (p, q = counts / total of the current and reference sides):
- PSI = sum (p - q) * ln(p / q), proportions below 1e-4 raised to 1e-4
  (mlmon::kPsiFloor), computed here with numpy;
- JS  = Jensen-Shannon divergence, log base 2, from
  scipy.spatial.distance.jensenshannon(p, q, base=2) ** 2 (scipy returns the
  distance, the square root of the divergence);
- L-inf = max |p - q| (numpy);
- KS = max |cumsum(p) - cumsum(q)| (numpy), cross-checked against
  scipy.stats.ks_2samp on the raw samples of a finely binned case;
- a side with no observations makes every distance undefined: null here,
  NaN in mlmon.

Bins follow Prometheus histograms (and mlmon's reference profiles): upper
bounds are inclusive and the last bin is +Inf, so a value x lands in bin
i = searchsorted(bounds, x, side="left").

Categorical cases ("categorical"): a categorical feature's bins are the
reference's `max_categories` most frequent categories (ties in name order),
then one `unseen` bin holding every other category; the reference's unseen
count is its mass beyond the cap. Each case gives the reference counts, the
current counts by category (unseen ones included), the two binned vectors
and PSI and JS on them (same definitions as above). feature_monitor_test.cc
feeds the categories through a FeatureMonitor and compares its gauges, its
bin counters and its reference shares.

Deterministic: fixed seeds, no network. Run from anywhere with Debian's
python3-numpy and python3-scipy:

    /usr/bin/python3 tests/drift_reference.py
"""

import json
import math
import os

import numpy as np
import scipy
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "drift_vectors.json")
PSI_FLOOR = 1e-4


def binned(values, bounds):
    """Counts per bin: upper bounds inclusive, implicit +Inf bin last."""
    idx = np.searchsorted(np.asarray(bounds, dtype=float), values, side="left")
    return np.bincount(idx, minlength=len(bounds) + 1).astype(float)


def psi(c, r):
    p = c / c.sum()
    q = r / r.sum()
    p = np.where(p == 0, PSI_FLOOR, p)  # only zeros are replaced
    q = np.where(q == 0, PSI_FLOOR, q)
    return float(np.sum((p - q) * np.log(p / q)))


def js(c, r):
    v = float(jensenshannon(c / c.sum(), r / r.sum(), base=2) ** 2)
    # Independent check of scipy against the definition (0 log 0 = 0).
    p, q = c / c.sum(), r / r.sum()
    m = (p + q) / 2
    kl = lambda a: float(np.sum(a[a > 0] * np.log2(a[a > 0] / m[a > 0])))
    assert abs(v - (kl(p) + kl(q)) / 2) < 1e-12, (v, kl(p), kl(q))
    return v


def linf(c, r):
    return float(np.max(np.abs(c / c.sum() - r / r.sum())))


def ks(c, r):
    return float(np.max(np.abs(np.cumsum(c) / c.sum() - np.cumsum(r) / r.sum())))


def case(name, current, reference, note=""):
    c = np.asarray(current, dtype=float)
    r = np.asarray(reference, dtype=float)
    assert c.shape == r.shape and c.ndim == 1
    out = {"name": name, "current": c.tolist(), "reference": r.tolist()}
    if note:
        out["note"] = note
    if c.sum() > 0 and r.sum() > 0:
        out.update(psi=psi(c, r), js=js(c, r), linf=linf(c, r), ks=ks(c, r))
    else:
        out.update(psi=None, js=None, linf=None, ks=None)
    return out


def categorical_bins(reference, current, max_categories):
    """The bins of a categorical feature: (current, reference) counts."""
    order = sorted(reference, key=lambda name: (-reference[name], name))
    known = order[:max_categories]
    ref = [float(reference[k]) for k in known]
    ref.append(float(sum(reference[k] for k in order[max_categories:])))
    cur = [float(current.get(k, 0)) for k in known]
    cur.append(float(sum(v for k, v in current.items() if k not in known)))
    return np.asarray(cur), np.asarray(ref), known


def categorical_case(name, reference, current, max_categories, note):
    c, r, known = categorical_bins(reference, current, max_categories)
    return {"name": name, "note": note, "max_categories": max_categories,
            "reference_counts": reference, "current_counts": current,
            "known": known, "current": c.tolist(), "reference": r.tolist(),
            "psi": psi(c, r), "js": js(c, r)}


def categorical_cases():
    rng = np.random.default_rng(7)
    countries = ["DE", "FR", "US", "GB", "IT", "ES", "PL", "NL"]
    ref = {k: int(v) for k, v in zip(countries,
                                     rng.integers(50, 2000, len(countries)))}
    cur = {k: int(v) for k, v in zip(countries,
                                     rng.integers(0, 800, len(countries)))}
    cur["BR"] = 150  # never in the reference
    cur["JP"] = 35
    out = [categorical_case(
        "capped_with_new_categories", ref, cur, 5,
        "the 3 least frequent reference categories and 2 new ones are unseen")]
    out.append(categorical_case(
        "nothing_capped", {"web": 700, "ios": 250, "android": 50},
        {"web": 120, "ios": 0, "android": 300, "tv": 20}, 10,
        "reference unseen share 0 and a known category absent now: both "
        "floored in PSI"))
    out.append(categorical_case(
        "ties_at_the_cap", {"a": 5, "b": 5, "c": 5, "d": 9},
        {"a": 40, "b": 10, "c": 30, "d": 20}, 3,
        "equal counts across the cap: the first names are known, c unseen"))
    out.append(categorical_case(
        "identical_shares", {"x": 30, "y": 10}, {"x": 300, "y": 100}, 5,
        "same proportions: PSI and JS 0"))
    return out


def main():
    rng = np.random.default_rng(20240611)
    cases = []

    cases.append(case("random_counts_10_bins",
                      rng.integers(0, 500, 10), rng.integers(0, 500, 10)))
    cases.append(case("random_counts_25_bins_different_totals",
                      rng.integers(1, 50, 25), rng.integers(100, 5000, 25)))

    same = rng.integers(1, 1000, 12)
    cases.append(case("identical", same, same))
    cases.append(case("same_proportions_different_totals", same * 7, same))

    cases.append(case("disjoint_supports",
                      [10, 20, 30, 0, 0, 0], [0, 0, 0, 5, 15, 25]))
    cases.append(case("zero_bins_in_current",
                      [0, 40, 60, 0, 100], [10, 30, 50, 20, 90]))
    cases.append(case("zero_bins_in_reference",
                      [10, 30, 50, 20, 90], [0, 40, 60, 0, 100]))
    cases.append(case("single_bin", [17], [4]))
    cases.append(case(
        "very_skewed", [1e6, 3, 1, 0, 2], [2, 5, 1e6, 7, 1],
        "proportions far below the PSI floor on both sides"))
    cases.append(case(
        "large_counts_1e9",
        [1e9, 2.5e9, 3e9, 1.5e9, 1], [1.2e9, 2.4e9, 2.9e9, 1.5e9, 1e9]))

    # A unit change: a lognormal feature (say, seconds) that becomes 1000x
    # larger (milliseconds), binned on fixed edges and on the log10 magnitude
    # edges of DefaultLog10Bounds() (-9 .. 12).
    x = rng.lognormal(mean=0.0, sigma=1.0, size=20000)
    y = rng.lognormal(mean=0.0, sigma=1.0, size=20000) * 1000
    edges = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 50, 100]
    cases.append(case("lognormal_x1000_fixed_edges",
                      binned(y, edges), binned(x, edges)))
    log10_edges = list(range(-9, 13))
    cases.append(case("lognormal_x1000_log10_edges",
                      binned(np.log10(y), log10_edges),
                      binned(np.log10(x), log10_edges)))

    # A small location shift on fine bins: the binned KS distance can only
    # miss the raw-sample KS statistic by the mass of one bin.
    a = rng.normal(0.0, 1.0, 5000)
    b = rng.normal(0.15, 1.0, 5000)
    fine = np.linspace(-4, 4, 401).tolist()
    ca, cb = binned(b, fine), binned(a, fine)
    cases.append(case("normal_shift_fine_bins", ca, cb))
    raw = ks_2samp(b, a).statistic
    slack = max((ca / ca.sum()).max(), (cb / cb.sum()).max())
    assert ks(ca, cb) <= raw + 1e-12 and raw - ks(ca, cb) <= slack, (
        ks(ca, cb), raw, slack)

    cases.append(case("empty_current", [0, 0, 0], [1, 2, 3]))
    cases.append(case("empty_reference", [1, 2, 3], [0, 0, 0]))

    for c in cases:
        for k in ("psi", "js", "linf", "ks"):
            assert c[k] is None or math.isfinite(c[k]), c["name"]

    doc = {
        "generator": "tests/drift_reference.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "psi_floor": PSI_FLOOR,
        "cases": cases,
        "categorical": categorical_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
