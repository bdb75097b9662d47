"""How far two weight vectors over the same features agree: top-k overlap and rank correlation."""

from __future__ import annotations

import numpy as np


def jaccard(a: set, b: set) -> float:
    """``|a & b| / |a | b|`` (1 for two empty sets)."""
    return len(a & b) / len(a | b) if a | b else 1.0


def top_k(weights: np.ndarray, k: int) -> set[int]:
    """Indices of the ``k`` largest ``|weight|`` (non-zero weights only)."""
    order = np.argsort(-np.abs(weights), kind="stable")[:k]
    return {int(i) for i in order if weights[i] != 0}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two vectors of equal length; NaN when either is constant or shorter than 2."""
    from scipy.stats import spearmanr

    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def agreement(a: np.ndarray, b: np.ndarray, k: int = 5) -> dict[str, float]:
    """Agreement of two explanations' weights ``(M,)`` over the same features.

    Returns:
        ``{"jaccard_top<k>"}``: overlap of the ``k`` largest ``|weight|`` (1 = same set);
        ``"spearman_abs"``: Spearman correlation of ``|weight|`` over all ``M`` features (features a
        surrogate left out count as 0; NaN when either vector is constant).
    """
    a, b = np.abs(np.asarray(a, dtype=np.float64)), np.abs(np.asarray(b, dtype=np.float64))
    if a.shape != b.shape:
        raise ValueError(f"weights of {a.shape} and {b.shape} features cannot be compared")
    return {f"jaccard_top{k}": jaccard(top_k(a, k), top_k(b, k)), "spearman_abs": spearman(a, b)}
