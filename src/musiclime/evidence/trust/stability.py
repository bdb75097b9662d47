"""Stability: do explanations of one song with different mask seeds agree?

``jaccard_top5`` / ``jaccard_top10``: mean pairwise Jaccard index of the top-k features (by
``|weight|``); ``jaccard_top5_content``: the same with features keyed by what they are (modality and
name: a lyric line by its text), so copies of a repeated line count as one (a bag-of-words model
weighs every copy the same, and which copy makes the top-5 is then a coin toss); ``kendall_tau``:
mean pairwise Kendall's tau-b of ``|weight|`` over every feature (unselected features count as 0,
ties handled by tau-b).
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np

from ...common.errors import MusicLimeError
from ...method.explanation import MusicLIMEExplanation
from ...method.explanation_views import explained_label, weight_vector
from ...method.estimation.rank_agreement import jaccard, top_k


def stability(explanations: Sequence[MusicLIMEExplanation], label: int | None = None) -> dict[str, float]:
    """Agreement of ``k >= 2`` explanations of the same song (same features, different mask seeds).

    Returns:
        ``{"jaccard_top5", "jaccard_top10", "jaccard_top5_content", "kendall_tau", "n_seeds"}``.
    """
    from scipy.stats import kendalltau

    if len(explanations) < 2:
        raise MusicLimeError(f"stability needs at least 2 explanations of one song, got {len(explanations)}")
    names = [[(f["type"], f["feature"], f["index"]) for f in e.features] for e in explanations]
    if any(n != names[0] for n in names[1:]):
        raise MusicLimeError("stability: the explanations do not share their features (different songs or settings)")
    label = explained_label(explanations[0]) if label is None else label
    missing = [i for i, e in enumerate(explanations) if label not in e.local_exp]
    if missing:
        raise MusicLimeError(f"stability: explanations {missing} do not explain label {label}")
    vectors = [weight_vector(e, label) for e in explanations]
    pairs = list(combinations(vectors, 2))
    tops = [top_k(v, 5) for v in vectors]
    content = [(f["type"], f["feature"]) for f in explanations[0].features]
    contents = [{content[i] for i in top} for top in tops]
    taus = [kendalltau(np.abs(a), np.abs(b)).statistic for a, b in pairs]
    return {"jaccard_top5": float(np.mean([jaccard(a, b) for a, b in combinations(tops, 2)])),
            "jaccard_top10": float(np.mean([jaccard(top_k(a, 10), top_k(b, 10)) for a, b in pairs])),
            "jaccard_top5_content": float(np.mean([jaccard(a, b) for a, b in combinations(contents, 2)])),
            "kendall_tau": float(np.nanmean(taus)) if not np.all(np.isnan(taus)) else float("nan"),
            "n_seeds": len(explanations)}
