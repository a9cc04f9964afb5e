#!/usr/bin/env python3
"""mlmon replay, profile and check-config on hostile input, as real CLI
invocations: garbage, non-finite values, over-long lines, /dev/zero as a
reference profile, and specs whose memory is over the budget.

Usage: cli_hostile_input_test.py <mlmon binary>"""
import json
import os
import subprocess
import sys
import tempfile

MLMON = sys.argv[1]
FAILURES = []


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        FAILURES.append(what)


def run(args, timeout=120):
    """Runs mlmon; returns (exit status, stdout, stderr, unused)."""
    try:
        p = subprocess.run([MLMON, *args], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -999, "", "timed out", 0
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"), 0)


def run_rss(args, timeout=120):
    """Like run, but measures the child's peak RSS with wait4."""
    p = subprocess.Popen([MLMON, *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err.decode(errors="replace"), usage.ru_maxrss


def write(path, text):
    with open(path, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)
    return path


def main():
    d = tempfile.mkdtemp(prefix="mlmon_cli_hostile_")
    cfg = write(os.path.join(d, "monitor.yaml"),
                "model: m\ntask: binary\nthresholds: [0.5]\n"
                "features:\n  numeric:\n    - {name: amount}\n"
                "  categorical:\n    - {name: country}\n")

    replay_cfg = write(os.path.join(d, "replay.yaml"),
                       "model: m\ntask: binary\nthresholds: [0.5]\n")

    # replay on 10 MB of garbage: refused, non-zero, no metrics written.
    garbage = os.path.join(d, "garbage.bin")
    with open(garbage, "wb") as f:
        f.write(os.urandom(10 * 1024 * 1024))
    out_file = os.path.join(d, "replay.prom")
    code, out, err, _ = run(["replay", "--config", replay_cfg, "--predictions", garbage,
                             "--out", out_file])
    check(code == 1, f"replay on 10 MB of garbage exits 1 (got {code})")
    check("more than --max-invalid 1%" in err,
          "replay names the count and the limit: " + err.strip().splitlines()[-1][:200]
          if err.strip() else "replay printed nothing")
    check(not os.path.exists(out_file), "replay over the limit writes no metrics")
    check(len(err) < 20000, f"replay's error report is bounded ({len(err)} bytes)")

    # replay: 1 invalid line of 200 (0.5%) is within the 1% default; 3 are not.
    preds = [json.dumps({"id": f"p{i}", "score": 0.5, "ts": 1000 + i}) for i in range(200)]
    good = write(os.path.join(d, "preds_ok.ndjson"),
                 "\n".join(preds[:199] + ["{not json"]) + "\n")
    code, out, err, _ = run(["replay", "--config", replay_cfg, "--predictions", good])
    check(code == 0, f"replay with 1 of 200 lines invalid exits 0 (got {code}): {err[-300:]}")
    check("preds_ok.ndjson:200: not a JSON object" in err,
          "replay names the invalid line with its number")
    bad = write(os.path.join(d, "preds_bad.ndjson"),
                "\n".join(preds[:197] + ["{not json"] * 3) + "\n")
    code, out, err, _ = run(["replay", "--config", replay_cfg, "--predictions", bad])
    check(code == 1 and "3 of 200 lines invalid, more than --max-invalid 1%" in err,
          f"replay with 3 of 200 lines invalid exits 1 naming count and limit (got {code})")
    code, out, err, _ = run(["replay", "--config", replay_cfg, "--predictions", bad,
                             "--max-invalid", "3"])
    check(code == 0, f"replay --max-invalid 3 (a count) accepts 3 invalid lines (got {code})")
    code, out, err, _ = run(["replay", "--config", replay_cfg, "--predictions", bad,
                             "--max-invalid", "2"])
    check(code == 1 and "more than --max-invalid 2" in err,
          f"replay --max-invalid 2 refuses 3 invalid lines (got {code})")
    code, out, err, _ = run(["replay", "--config", replay_cfg, "--predictions", bad,
                             "--max-invalid", "lots"])
    check(code != 0 and "--max-invalid" in err, "replay refuses --max-invalid lots")

    # replay: a line over --max-line-bytes is an invalid line with its number,
    # and the lines after it keep their numbers.
    long_line = json.dumps({"id": "x" * 2000, "score": 0.5})
    lines = preds[:50] + [long_line] + preds[50:99] + ["{not json"]
    f = write(os.path.join(d, "preds_long.ndjson"), "\n".join(lines) + "\n")
    code, out, err, _ = run(["replay", "--config", replay_cfg, "--predictions", f,
                             "--max-line-bytes", "1024", "--max-invalid", "2"])
    check(code == 0, f"replay accepts 2 invalid lines with --max-invalid 2 (got {code}): {err[-300:]}")
    check("preds_long.ndjson:51: line longer than --max-line-bytes 1024" in err,
          "replay reports the long line with its number")
    check("preds_long.ndjson:101: not a JSON object" in err,
          "lines after the long one keep their numbers")

    # profile: 1e999 and "NaN" are reported with their line numbers, and
    # the profile is not written (default --max-invalid 0).
    rows = [json.dumps({"score": 0.1 * (i % 9 + 1),
                        "features": {"amount": i, "country": "DE"}}) for i in range(20)]
    rows[4] = '{"score": 1e999, "features": {"amount": 1}}'
    rows[9] = '{"score": "NaN"}'
    rows[14] = '{"score": 0.5, "features": {"amount": "NaN"}}'
    rows[16] = '{"score": 0.5, "features": {"amount": -1e999}}'
    f = write(os.path.join(d, "train.ndjson"), "\n".join(rows) + "\n")
    ref = os.path.join(d, "ref.json")
    code, out, err, _ = run(["profile", "--config", cfg, "--input", f, "--out", ref])
    check(code == 1, f"profile with non-finite values exits 1 (got {code})")
    for needle in ["train.ndjson:5: score: 1e999 is not a finite number",
                   'train.ndjson:10: score: "NaN" is not a number',
                   "train.ndjson:15: feature 'amount': \"NaN\" is not a number",
                   "train.ndjson:17: feature 'amount': -1e999 is not a finite number",
                   "4 of 20 lines invalid, more than --max-invalid 0"]:
        check(needle in err, f"profile reports {needle!r}")
    check(not os.path.exists(ref), "profile over the limit writes no profile")
    code, out, err, _ = run(["profile", "--config", cfg, "--input", f, "--out", ref,
                             "--max-invalid", "20%"])
    check(code == 0 and os.path.exists(ref),
          f"profile --max-invalid 20% writes the profile of the valid lines (got {code})")
    if os.path.exists(ref):
        prof = json.load(open(ref))
        check(sum(prof["signals"]["score"]["counts"]) == 16,
              "the profile counts the 16 valid scores only")

    # profile: more than 10 invalid lines: the first 10 and a count.
    f = write(os.path.join(d, "many.ndjson"), '{"score": "NaN"}\n' * 25)
    code, out, err, _ = run(["profile", "--config", cfg, "--input", f])
    check("many.ndjson:10: " in err and "many.ndjson:11: " not in err and
          "... and 15 more invalid lines" in err,
          "profile shows the first 10 invalid lines and a count")

    # profile: a line over --max-line-bytes (1 KiB) and a 2 MiB line with
    # the default (1 MiB): invalid lines with their number, no bad_alloc.
    f = write(os.path.join(d, "long.ndjson"),
              rows[0] + "\n" + json.dumps({"score": 0.5, "features": {"country": "c" * 1500}})
              + "\n" + rows[1] + "\n")
    code, out, err, _ = run(["profile", "--config", cfg, "--input", f,
                             "--max-line-bytes", "1024"])
    check(code == 1 and "long.ndjson:2: line longer than --max-line-bytes 1024" in err,
          f"profile: a 1.5 KiB line over --max-line-bytes 1024 is invalid (got {code})")
    f = write(os.path.join(d, "huge.ndjson"),
              rows[0] + "\n" + json.dumps({"score": 0.5, "features": {"country": "c" * (2 << 20)}})
              + "\n" + rows[1] + "\n")
    code, err, rss = run_rss(["profile", "--config", cfg, "--input", f])
    check(code == 1 and "huge.ndjson:2: line longer than --max-line-bytes 1048576" in err
          and "bad_alloc" not in err,
          f"profile: a 2 MiB line with the default limit is invalid (got {code}): {err[-200:]}")
    code, err, rss = run_rss(["profile", "--config", cfg, "--input", f, "--max-invalid", "1"])
    check(code == 0, f"...and skipping it the profile is written (got {code})")

    # profile: category names over 256 bytes are refused.
    f = write(os.path.join(d, "cat.ndjson"),
              json.dumps({"score": 0.5, "features": {"country": "c" * 300}}) + "\n")
    code, out, err, _ = run(["profile", "--config", cfg, "--input", f])
    check(code == 1 and "cat.ndjson:1: feature 'country': category of 300 bytes, longer than 256" in err,
          f"profile refuses a 300-byte category name (got {code})")

    # check-config: reference /dev/zero is refused, naming it.
    z = write(os.path.join(d, "zero.yaml"), "model: m\nreference: /dev/zero\n")
    code, out, err, _ = run(["check-config", z], timeout=60)
    check(code == 1 and err == f"mlmon: {z}: /dev/zero: the reference profile is not a regular file\n",
          f"check-config refuses reference /dev/zero (got {code}): {err.strip()[:200]}")

    # A configuration error outside check-config is printed once, in the
    # shape of every set-up error, with exit status 2.
    bad = write(os.path.join(d, "bad.yaml"), "model: m\nthreshold: [0.5]\n")
    code, out, err, _ = run(["rules", "--config", bad])
    check(code == 2 and err == f"mlmon: {bad}:2: threshold: unknown key\n",
          f"rules prints the configuration error once (got {code}): {err.strip()[:200]}")

    # check-config: pending_capacity 1e8 is estimated (not allocated) and
    # refused over the default 1 GiB budget; with a larger budget it
    # validates in little memory.
    p = write(os.path.join(d, "pending.yaml"),
              "model: m\ntask: binary\nthresholds: [0.5]\npending_capacity: 1e8\n")
    code, err, rss = run_rss(["check-config", p])
    check(code == 1 and "the monitors would need an estimated 10.4 GiB (pending store 10.4 GiB"
          in err and "more than the memory budget of 1.0 GiB" in err,
          f"check-config refuses pending_capacity 1e8 with the estimate (got {code}): {err.strip()[:300]}")
    code, out, err, _ = run(["check-config", p, "--memory-budget", "16GiB"])
    check(code == 0 and "estimated memory 10.4 GiB" in out and "budget 16.0 GiB" in out,
          f"check-config --memory-budget 16GiB accepts it and prints the estimate: {out.strip()[:200]}")
    code, err, rss = run_rss(["check-config", p, "--memory-budget", "16GiB"])
    check(code == 0 and rss < 200 * 1024,
          f"validating pending_capacity 1e8 peaks at {rss} KiB (< 200 MiB)")

    # check-config: auc_bins 65536 x slices 3600 x 8 windows is refused with
    # the estimate in the message.
    a = write(os.path.join(d, "auc.yaml"),
              "model: m\ntask: binary\nthresholds: [0.5]\nauc_bins: 65536\n"
              "slices_per_window: 3600\nwindows: [1m, 2m, 3m, 4m, 5m, 6m, 7m, 8m]\n")
    code, err, rss = run_rss(["check-config", a])
    check(code == 1 and "outcome windows 28.1 GiB" in err and "memory budget of 1.0 GiB" in err,
          f"check-config refuses the AUC spec naming the estimate (got {code}): {err.strip()[:300]}")

    # check-config: a complex key and a deep document are configuration
    # errors (exit 1), not a crash.
    c = write(os.path.join(d, "complex.yaml"), "model: m\n? [a, b]\n: 1\n")
    code, out, err, _ = run(["check-config", c])
    check(code == 1 and "complex.yaml:2: ?: a key must be a plain name" in err,
          f"check-config refuses a complex key (got {code}): {err.strip()[:200]}")
    deep = write(os.path.join(d, "deep.json"),
                 '{"format": ' + "[" * 200000 + "]" * 200000 + ', "signals": {}}')
    y = write(os.path.join(d, "deep_ref.yaml"), "model: m\nreference: deep.json\n")
    code, out, err, _ = run(["check-config", y])
    check(code == 1 and "deep.json: JSON nested deeper than 64 levels" in err,
          f"check-config on a 200,000-deep reference exits 1, not 139 (got {code}): {err.strip()[:200]}")

    # replay: a timestamp after the replay's own time (9999999999, in 2286)
    # must not move the logs' timeline: the outcome carrying it is invalid
    # (not unmatched), no pending prediction expires because of it, and a
    # prediction carrying it is refused.
    t0 = 1577836800  # 2020-01-01
    preds = "".join(json.dumps({"id": f"p{i}", "score": 0.9, "ts": t0 + i}) + "\n"
                    for i in range(50))
    preds += json.dumps({"id": "late", "score": 0.9, "ts": 9999999999}) + "\n"
    outs = "".join(json.dumps({"id": f"p{i}", "outcome": 1, "ts": t0 + 3600 + i}) + "\n"
                   for i in range(10))
    outs += json.dumps({"id": "p10", "outcome": 1, "ts": 9999999999}) + "\n"
    p = write(os.path.join(d, "future_preds.ndjson"), preds)
    o = write(os.path.join(d, "future_outs.ndjson"), outs)
    code, out, err, _ = run(["replay", "--config", replay_cfg, "--predictions", p,
                             "--outcomes", o, "--max-invalid", "10%"])
    check(code == 0, f"replay with future timestamps exits 0 under --max-invalid 10% (got {code}): {err[-300:]}")
    check("matched 10, unmatched 0, duplicate 0, invalid 1" in err and
          "40 predictions still pending" in err and "(1 refused)" in err,
          "a future ts is invalid and expires nothing: " + err.strip().splitlines()[-1][:300]
          if err.strip() else "replay printed nothing")
    check("mlmon_predictions_expired_total" not in out or
          'mlmon_predictions_expired_total{model="m",version="1"} 0' in out,
          "no prediction expired because of a future ts")

    if FAILURES:
        print(f"{len(FAILURES)} checks failed")
        sys.exit(1)
    print("cli hostile input checks passed")


if __name__ == "__main__":
    main()
