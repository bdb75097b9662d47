"""Certified depth of each certification method on a finished run's own masks and predictions.

For every song of the run's last sweep point (its ``summary.tsv``), re-certify the explanation's
rankings (its own, the full fit's audio and lyrics) with ``holm``, ``sequential`` and ``bonferroni``
at the same alpha, on the same rows: equal budget, no model call. Prints one line per song and the
totals::

    PYTHONPATH=src python benchmarks/bench_certification_methods.py RUN_DIR [--alpha 0.1]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from musiclime.common.artifacts import load_arrays
from musiclime.method.estimation.certification import METHODS, certification_block
from musiclime.method.estimation.full_fit import fit_every_feature, kernel_weights
from musiclime.method.estimation.second_opinion import fit_surrogates
from musiclime.method.modality import FeatureLayout


def song_inputs(run: Path, row: dict):
    """The masks (the rows the fit used), predictions and layout behind a summary row's explanation."""
    explanation = Path(row["explanation"])
    explanation = explanation if explanation.is_absolute() else run / explanation
    model_dir = explanation.parents[1]
    pred_meta, predictions = load_arrays(model_dir / "predictions.npz")
    masks_meta, masks = load_arrays(model_dir.parent / "masks.npz")
    rows = masks["masks"][predictions["mask_rows"]] if "mask_rows" in predictions else masks["masks"]
    scored = predictions["predictions"]
    layout = FeatureLayout(masks_meta["modality"], masks_meta["n_audio"], masks_meta["n_text"])
    return rows[:len(scored)].astype(np.int64), scored, layout, masks_meta["sampler"]


def depths(masks, predictions, layout, sampler, label: int, alpha: float) -> dict[str, tuple[int, int, int]]:
    """``{method: (own, audio, lyrics)}`` certified top ranks, the demo's default fit settings."""
    fits = fit_surrogates(masks, predictions, [label], "lime", sampler=sampler, kernel_width=25.0, distance_scale=1.0,
                          feature_selection="auto", num_features=20).fits
    full = fit_every_feature(masks, predictions, [label], layout)
    weights = kernel_weights(masks, 25.0, 1.0)
    out = {}
    for method in METHODS:
        entry = certification_block(masks, predictions, {label: [i for i, _ in fits[label].local_exp]}, full, layout,
                                    weights, alpha, method)["labels"][str(label)]
        out[method] = (int(entry["certified_top_k"]), *(int((entry.get(part) or {}).get("certified_top_k", 0))
                                                         for part in ("audio", "lyrics")))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--alpha", type=float, default=0.1)
    args = parser.parse_args(argv)
    summary = sorted(args.run.glob("results/points/*/summary.tsv"), key=lambda p: p.stat().st_mtime)[-1]
    totals = {m: np.zeros(3, dtype=int) for m in METHODS}
    print("song: (own, audio, lyrics) per method")
    with open(summary, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            found = depths(*song_inputs(args.run, row), int(row["explained_label"]), args.alpha)
            for method, depth in found.items():
                totals[method] += depth
            print(row["song_id"], "  ".join(f"{m} {d}" for m, d in found.items()))
    print("total", "  ".join(f"{m} {tuple(int(x) for x in t)}" for m, t in totals.items()))


if __name__ == "__main__":
    main()
