"""LIME surrogate fit time against num_samples and the number of features."""

from __future__ import annotations

import time

import numpy as np

from bench_common import row
from musiclime.method.estimation.sampling import sample_masks
from musiclime.method.estimation.surrogate import fit_surrogate


def fit_seconds(num_samples: int, num_features: int) -> float:
    masks = sample_masks(num_samples, num_features, random_state=0)
    weights = np.random.default_rng(0).normal(0, 0.1, num_features)
    p1 = 1 / (1 + np.exp(-(masks @ weights - weights.sum() / 2)))
    predictions = np.stack([1 - p1, p1], axis=1)
    start = time.perf_counter()
    fit_surrogate(masks, predictions, [1], num_features=20)
    return time.perf_counter() - start


def run(quick: bool) -> dict:
    grid = [(500, 40), (2000, 40), (2000, 120)] if quick else [(1000, 40), (5000, 40), (1000, 120), (5000, 120)]
    points = [{"num_samples": n, "num_features": f, "fit_s": fit_seconds(n, f)} for n, f in grid]
    rows = [row("fit", f"{p['num_samples']} samples x {p['num_features']} features", p["fit_s"], "s",
                "feature_selection auto, 20 kept") for p in points]
    return {"points": points, "rows": rows}
