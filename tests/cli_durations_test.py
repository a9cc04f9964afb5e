#!/usr/bin/env python3
"""Every duration flag of `mlmon demo` takes the units of monitor.yaml (40s,
5m, 250ms; a bare number is seconds) and refuses garbage with a usage error
(exit 2) naming the flag. The values themselves are checked against the
library's parser by cli_duration_option_test; here the real binary parses
them (with --emit-training, which exits before serving) and --duration's
value shows in the banner of a running demo.

Usage: cli_durations_test.py <mlmon binary>"""
import os
import signal
import subprocess
import sys
import tempfile

MLMON = sys.argv[1]
FAILURES = []
FLAGS = ["--duration", "--fault-after", "--outcome-delay"]


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        FAILURES.append(what)


def main():
    d = tempfile.mkdtemp(prefix="mlmon_cli_durations_")
    training = os.path.join(d, "training.ndjson")
    parse_only = ["demo", "--emit-training", training, "--emit-count", "1"]

    for flag in FLAGS:
        for value in ["40s", "5m", "250ms", "1h", "2d", "1w", "1.5m", "0", "12", "0.5"]:
            p = subprocess.run([MLMON, *parse_only, flag, value], capture_output=True,
                               text=True, timeout=60)
            check(p.returncode == 0, f"{flag} {value} accepted (exit {p.returncode}: "
                  f"{p.stderr.strip()[:200]})")
        for value in ["40x", "abc", "", "-5s", "5.", "40 s", "1000d", "1e3",
                      "99999999999999999999999"]:
            if os.path.exists(training):
                os.remove(training)
            p = subprocess.run([MLMON, *parse_only, flag, value], capture_output=True,
                               text=True, timeout=60)
            first = p.stderr.strip().splitlines()[0] if p.stderr.strip() else ""
            check(p.returncode == 2 and
                  first.startswith(f"{flag}: '{value}' is not a duration"),
                  f"{flag} '{value}' refused with exit 2 naming the flag "
                  f"(exit {p.returncode}: {first[:200]})")
            check(len(p.stderr) < 1000, f"{flag} '{value}': a short message "
                  f"({len(p.stderr)} bytes)")
            check(not os.path.exists(training), f"{flag} '{value}': nothing ran")

    # The banner of a running demo states --duration in seconds.
    for value, seconds in [("5m", 300), ("1.5m", 90), ("2h", 7200), ("45", 45)]:
        p = subprocess.Popen([MLMON, "demo", "--port", "0", "--rate", "1", "--clients", "1",
                              "--duration", value], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        seen = []
        try:
            for line in p.stdout:
                seen.append(line)
                if "requests/s from" in line:
                    break
        finally:
            p.send_signal(signal.SIGINT)
            try:
                p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
        banner = seen[-1] if seen else ""
        check(f"for {seconds} s" in banner,
              f"--duration {value} runs for {seconds} s: {banner.strip()[:200]}")

    if FAILURES:
        print(f"{len(FAILURES)} duration flag checks failed")
        return 1
    print("cli duration checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
