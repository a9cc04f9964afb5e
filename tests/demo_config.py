"""The demo's monitor.yaml, prepared for an end-to-end test."""

import os
import re


def write_demo_config(work, demo_dir, fault, slo):
    """Writes the demo's monitor.yaml (tools/demo) into `work` under version
    `fault`, with its reference's absolute path and the section `slo`
    appended; returns the file's path."""
    with open(os.path.join(demo_dir, "monitor.yaml")) as f:
        text = f.read()
    text, n = re.subn(r'(?m)^version:.*$', f'version: "{fault}"', text)
    assert n == 1, "demo monitor.yaml has no version line"
    text, n = re.subn(r'(?m)^reference:.*$',
                      "reference: " + os.path.join(demo_dir, "reference.json"), text)
    assert n == 1, "demo monitor.yaml has no reference line"
    path = os.path.join(work, f"monitor-{fault}.yaml")
    with open(path, "w") as f:
        f.write(text + slo)
    return path
