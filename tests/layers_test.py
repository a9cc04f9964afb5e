#!/usr/bin/python3
"""The layer table of docs/architecture.md is the rule for includes, and this
test enforces it on include/ and src/:

- every header and source file of the library is in exactly one layer row;
- every name a row lists exists (the table cannot name a file that is gone);
- a file includes only files of its own layer or a layer below it;
- public headers (include/mlmon/) never include private ones (src/).

A row's "Public headers" cell lists names relative to include/mlmon/; its
"Private code" cell lists names relative to src/. A name may end in `.*`
(every extension) or `/` (a whole directory).

usage: layers_test.py REPO_ROOT
"""
import fnmatch
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
doc = open(os.path.join(root, "docs", "architecture.md")).read()
section = re.search(r"^## Layers\n(.*?)^## ", doc, re.S | re.M)
if not section:
    sys.exit("FAIL: docs/architecture.md has no '## Layers' section")

# Generated into the build tree, so not in the source tree.
GENERATED = {"include/mlmon/version.h"}


def patterns(cell, prefix):
    out = []
    for name in re.findall(r"`([^`]+)`", cell):
        if name.startswith("src/"):
            name = name[len("src/"):]
        out.append(prefix + name)
    return out


rows = []  # (layer number, layer name, [path patterns])
for line in section.group(1).splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    m = re.match(r"(\d+)\. (.+)", cells[0]) if len(cells) >= 3 else None
    if not m:
        continue
    rows.append((int(m.group(1)), m.group(2),
                 patterns(cells[1], "include/mlmon/") +
                 patterns(cells[2], "src/")))
if len(rows) < 3:
    sys.exit(f"FAIL: the layer table has {len(rows)} rows")


def matches(path, pattern):
    if pattern.endswith("/"):
        return path.startswith(pattern)
    if pattern.endswith(".*"):
        return fnmatch.fnmatchcase(path, pattern[:-2] + ".*")
    return path == pattern


files = []
for top in ("include", "src"):
    for dirpath, _, names in os.walk(os.path.join(root, top)):
        for n in names:
            if n.endswith((".h", ".cc")):
                files.append(os.path.relpath(os.path.join(dirpath, n), root))
files.sort()

failures = []
layer_of = {}
for f in files:
    hits = [(n, name) for n, name, pats in rows
            if any(matches(f, p) for p in pats)]
    if len(hits) != 1:
        failures.append(f"{f}: in {len(hits)} layer rows "
                        f"({', '.join(name for _, name in hits) or 'none'}); "
                        "list it in exactly one row of the table")
    else:
        layer_of[f] = hits[0]

for n, name, pats in rows:
    for p in pats:
        if p not in GENERATED and not any(matches(f, p) for f in files):
            failures.append(f"layer '{name}' lists `{p}`, which matches no file")


def resolve(including, target):
    """The repository path of `#include "target"` in `including`."""
    for base in ("include/", "src/", os.path.dirname(including) + "/"):
        path = os.path.normpath(base + target)
        if path in layer_of or path in GENERATED:
            return path
    return None


include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
for f, (n, name) in layer_of.items():
    for target in include_re.findall(open(os.path.join(root, f)).read()):
        path = resolve(f, target)
        if path is None:
            failures.append(f"{f}: includes \"{target}\", not a library file")
            continue
        if path in GENERATED:
            continue
        if f.startswith("include/") and path.startswith("src/"):
            failures.append(f"{f}: a public header includes private {path}")
        tn, tname = layer_of[path]
        if tn > n:
            failures.append(f"{f} (layer {n}, {name}) includes {path} "
                            f"(layer {tn}, {tname}): an include must not point up")

if failures:
    sys.exit("FAIL:\n  " + "\n  ".join(failures))
print(f"{len(layer_of)} files in {len(rows)} layers; every include points "
      "down or sideways within a layer")
