#!/usr/bin/python3
"""Writes tests/data/champion_challenger_reference.json: two versions of one
binary model scoring overlapping sets of requests, one shared feedback body,
and scikit-learn's precision and recall of each version on the outcomes of
the predictions that version made.

outcome_ingest_versions_test.cc records each version's predictions, posts
the outcomes through mlmon::OutcomeIngest and compares each version's
quality gauges (window="all") with these values (1e-9 relative).

Request ids 0..599: v1 scores 0..449, v2 scores 150..599 (150..449 by both).
Ids 600..649 are scored by both, but their outcomes name version v2 only, so
they count in v2 alone and stay pending in v1. The feedback body also has 20
ids that no version scored (unmatched). Deterministic: fixed seed.

    /usr/bin/python3 tests/champion_challenger_reference.py
"""

import json
import os

import numpy as np
from sklearn.metrics import precision_score, recall_score

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "champion_challenger_reference.json")
THRESHOLDS = [0.3, 0.5]


def main():
    rng = np.random.default_rng(11)
    n = 650
    outcomes = [int(v) for v in rng.integers(0, 2, n)]
    # Both versions see the truth through noise; v2 is the better model.
    def scores(noise):
        s = np.clip(np.array(outcomes) * 0.5 + 0.25 +
                    rng.normal(0, noise, n), 0.0, 1.0)
        return [round(float(v), 6) for v in s]

    v1_scores, v2_scores = scores(0.3), scores(0.15)
    v1_ids = list(range(0, 450)) + list(range(600, 650))
    v2_ids = list(range(150, 650))
    # The ids each version's outcomes reach: model-only lines (ids 0..599)
    # join in every version that scored them; ids 600..649 name v2.
    v1_joined = [i for i in v1_ids if i < 600]
    v2_joined = v2_ids

    def quality(ids, s):
        y = [outcomes[i] for i in ids]
        out = {"samples": len(ids)}
        for t in THRESHOLDS:
            pred = [1 if s[i] >= t else 0 for i in ids]
            out[f"precision@{t}"] = precision_score(y, pred, zero_division=0)
            out[f"recall@{t}"] = recall_score(y, pred, zero_division=0)
        return out

    ref = {
        "thresholds": THRESHOLDS,
        "outcomes": outcomes,
        "versions": {
            "v1": {"ids": v1_ids, "scores": v1_scores,
                   "joined": len(v1_joined),
                   "quality": quality(v1_joined, v1_scores)},
            "v2": {"ids": v2_ids, "scores": v2_scores,
                   "joined": len(v2_joined),
                   "quality": quality(v2_joined, v2_scores)},
        },
        "version_only": {"first": 600, "last": 649, "version": "v2"},
        "never_scored": 20,
    }
    with open(OUT, "w") as f:
        json.dump(ref, f)
        f.write("\n")


if __name__ == "__main__":
    main()
