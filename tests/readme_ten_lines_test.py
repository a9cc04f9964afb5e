#!/usr/bin/python3
"""Every code line of README.md's "Instrument your server in ten lines" block
appears in examples/ten_lines/main.cc (which the build compiles and the test
example.ten_lines runs), so the README cannot drift from code that works.
Lines are compared without comments and with whitespace collapsed.

usage: readme_ten_lines_test.py README.md examples/ten_lines/main.cc
"""
import re
import sys

readme, source = open(sys.argv[1]).read(), open(sys.argv[2]).read()


def code(line):
    return " ".join(line.split("//")[0].split())


m = re.search(r"## Instrument your server in ten lines\n+```cpp\n(.*?)```", readme, re.S)
if not m:
    sys.exit("FAIL: no ```cpp block under '## Instrument your server in ten lines'")
block = [code(l) for l in m.group(1).splitlines() if code(l)]
have = {code(l) for l in source.splitlines()}
missing = [l for l in block if l not in have]
if len(block) > 10:
    sys.exit(f"FAIL: the block has {len(block)} code lines, not ten")
if missing:
    sys.exit("FAIL: not in " + sys.argv[2] + ":\n  " + "\n  ".join(missing))
print(f"README ten lines are compiled ({len(block)} lines)")
