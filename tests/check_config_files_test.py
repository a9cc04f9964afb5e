#!/usr/bin/env python3
"""`mlmon check-config A.yaml B.yaml ...` checks the files together, as one
server hosting every model: the same model and version in two files is an
error naming both files; distinct models (several tasks) are ok; a file that
is invalid alone is still named by itself.

Usage: check_config_files_test.py <mlmon binary>"""
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


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(*files, extra=()):
    p = subprocess.run([MLMON, "check-config", *extra, *files], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def main():
    d = tempfile.mkdtemp(prefix="mlmon_check_config_files_")
    fraud_v1 = write(d, "fraud_v1.yaml",
                     'model: fraud\nversion: "1"\ntask: binary\nthresholds: [0.5]\n'
                     "pending_capacity: 1000\n")
    fraud_v1_again = write(d, "fraud_v1_again.yaml",
                           'model: fraud\nversion: "1"\ntask: binary\n'
                           "thresholds: [0.3, 0.7]\npending_capacity: 1000\n")
    fraud_v2 = write(d, "fraud_v2.yaml",
                     'model: fraud\nversion: "2"\ntask: binary\nthresholds: [0.5]\n'
                     "pending_capacity: 1000\n")
    eta = write(d, "eta.yaml", 'model: eta\nversion: "7"\ntask: regression\n'
                "pending_capacity: 1000\n")
    bad = write(d, "bad.yaml", "model: m\nthreshold: [0.5]\n")

    code, out, err = run(fraud_v1, fraud_v1_again)
    check(code == 1, f"same model and version in two files: exit 1 (got {code})")
    check(f"mlmon: {fraud_v1_again}: model 'fraud' version '1' is also configured in "
          f"{fraud_v1}" in err, "the error names both files: " + err.strip()[:300])

    # Order does not matter: the later file is the one named first.
    code, out, err = run(fraud_v1_again, eta, fraud_v1)
    check(code == 1 and f"mlmon: {fraud_v1}: model 'fraud' version '1' is also "
          f"configured in {fraud_v1_again}" in err,
          "with a file between them, both are still named: " + err.strip()[:300])

    code, out, err = run(fraud_v1, eta)
    check(code == 0, f"two distinct models: exit 0 (got {code}: {err.strip()[:300]})")
    check("2 files: ok together in one registry" in out, "says they fit together: "
          + out.strip().splitlines()[-1][:200] if out.strip() else "no output")

    code, out, err = run(fraud_v1, eta, fraud_v2)
    check(code == 0 and "3 files: ok together" in out,
          f"two versions of one model and another model: exit 0 (got {code}: "
          f"{err.strip()[:300]})")

    code, out, err = run(fraud_v1, bad)
    check(code == 1 and f"mlmon: {bad}:2: threshold: unknown key" in err,
          "an invalid file is named alone: " + err.strip()[:300])

    # Each file fits 1 MiB of budget; the three together do not.
    code, out, err = run(fraud_v1, eta, fraud_v2, extra=["--memory-budget", "8MiB"])
    per_file = [l for l in out.splitlines() if ": ok (model" in l]
    check(len(per_file) == 3, f"each file fits alone ({len(per_file)} ok lines)")
    check(code == 1 and "mlmon: 3 files together: the monitors would need an estimated"
          in err and "more than the memory budget of 8.0 MiB" in err,
          f"together over the budget: exit {code}: {err.strip()[:300]}")

    if FAILURES:
        print(f"{len(FAILURES)} check-config checks failed")
        return 1
    print("check-config files checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
