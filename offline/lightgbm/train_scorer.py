#!/usr/bin/env python3
"""Trains kvsweep's LightGBM eviction scorer with the real `lightgbm` library.

Input: a JSON file written by offline/lightgbm/train.ts:
  {"mode": "regression" | "ranking" | "classification",
   "feature_names": [...8 names...],
   "rows": [[f1, ..., f8, seconds_to_next_send or null], ...]}
Output: the model in LightGBM's text format (--model), and one JSON line on stdout describing the
training (rows, label statistics, feature importance, versions).

Labels, per mode (seconds = time from a turn's done to its conversation's next send; none = never):
  regression      10 - ln(seconds + 1), 0 for none (clamped at 0 for gaps over ~6 hours)
  ranking         3 within 60 s, 2 within 180 s, 1 later, 0 for none; groups of 64 rows in order
  classification  1 within 600 s, else 0
Training: 32 rounds, learning rate 0.1, 31 leaves, gbdt.
"""

import argparse
import json
import math
import sys

ROUNDS = 32
LEARNING_RATE = 0.1
LEAVES = 31
RANKING_GROUP = 64


def label_of(mode, seconds):
    if mode == "regression":
        if seconds is None:
            return 0.0, False
        label = 10 - math.log(seconds + 1.0)
        return (0.0, True) if label < 0 else (label, False)
    if mode == "ranking":
        if seconds is None:
            return 0, False
        return (3 if seconds <= 60 else 2 if seconds <= 180 else 1), False
    if mode == "classification":
        return (1 if seconds is not None and seconds <= 600 else 0), False
    raise ValueError(f"unknown mode {mode!r}")


def params_of(mode):
    common = {"boosting_type": "gbdt", "num_leaves": LEAVES, "learning_rate": LEARNING_RATE, "verbose": -1}
    if mode == "regression":
        return {"objective": "regression", "metric": "rmse", **common}
    if mode == "ranking":
        return {"objective": "lambdarank", "metric": "ndcg", **common,
                "lambdarank_truncation_level": RANKING_GROUP, "lambdarank_norm": True}
    return {"objective": "binary", "metric": "binary_logloss", **common, "is_unbalance": True}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()

    import lightgbm as lgb
    import numpy as np

    with open(args.input) as f:
        spec = json.load(f)
    mode = spec["mode"]
    names = spec["feature_names"]
    rows = spec["rows"]
    if not rows:
        raise SystemExit("no training rows: the training part of the trace has no completed turn")
    features = np.array([row[:-1] for row in rows], dtype=np.float64)
    labels_clamped = [label_of(mode, row[-1]) for row in rows]
    labels = np.array([label for label, _ in labels_clamped])
    clamped = sum(1 for _, c in labels_clamped if c)

    group = None
    if mode == "ranking":
        n = len(rows)
        group = np.array([min(RANKING_GROUP, n - start) for start in range(0, n, RANKING_GROUP)])
    data = lgb.Dataset(features, label=labels, group=group, feature_name=names)
    booster = lgb.train(params_of(mode), data, num_boost_round=ROUNDS)
    booster.save_model(args.model)

    importance = booster.feature_importance(importance_type="gain")
    print(json.dumps({
        "mode": mode,
        "rows": len(rows),
        "never_again_rows": sum(1 for row in rows if row[-1] is None),
        "clamped_labels": clamped,
        "label_mean": float(labels.mean()),
        "trees": booster.num_trees(),
        "importance_gain": {n: float(v) for n, v in zip(names, importance)},
        "lightgbm_version": lgb.__version__,
        "python_version": "%d.%d.%d" % sys.version_info[:3],
    }))


if __name__ == "__main__":
    main()
