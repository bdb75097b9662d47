"""A weighted ridge fit with cluster-robust (sandwich) standard errors.

Rows that share an audio mask (or its complement, for the paired samplers) form one cluster, rows
that share a lyrics mask another, and the two clusterings are combined as in Cameron, Gelbach and
Miller's two-way estimator. For the ``random`` sampler every cluster is one row (the
heteroskedasticity-robust estimate); for the ``factorial`` grids this counts an audio mask's many
rows as one draw, as they are. Each part gets the small-sample factor ``G / (G - q)`` (``G``
clusters, ``q`` parameters they identify).

Used by the stopping rule (:mod:`musiclime.method.estimation.stopping`), the full fit
(:mod:`musiclime.method.estimation.full_fit`) and rank certification (:mod:`musiclime.method.estimation.certification`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..modality import FeatureLayout

#: Ridge penalty (LIME's ``Ridge(alpha=1)``; the intercept is not penalized).
RIDGE_ALPHA = 1.0
#: Robust standard errors are trusted only when each modality has at least this many distinct masks
#: (clusters) per surrogate parameter of that modality: with fewer, they are far too small.
MIN_DRAWS_PER_PARAMETER = 3


@dataclass(frozen=True)
class Clustering:
    """One labelling of the rows for the robust covariance.

    Attributes:
        sign: +1 or -1, its sign in the two-way sum.
        labels: ``(rows,)`` int64 cluster of each row.
        parameters: surrogate parameters its clusters identify (the modality's features and the
            intercept); the small-sample factor is ``G / (G - parameters)`` for ``G`` clusters.
    """

    sign: int
    labels: np.ndarray
    parameters: int

    @property
    def groups(self) -> int:
        return int(self.labels.max()) + 1


def mask_clusters(masks: np.ndarray, layout: FeatureLayout, columns: np.ndarray | None = None) -> list[Clustering]:
    """Cluster labellings of the rows for the two-way robust covariance.

    Rows sharing an audio mask (or its complement) share an audio cluster; likewise for lyrics.
    With both modalities perturbed: audio (+1), lyrics (+1), and their intersection (-1); with one,
    that modality's clusters alone. ``columns`` are the surrogate's features (all by default): they
    set each clustering's parameter count.
    """
    columns = np.arange(masks.shape[1]) if columns is None else np.asarray(columns)
    total = len(columns) + 1
    split = layout.audio_columns  # 0 unless both modalities are perturbed
    if not 0 < split < masks.shape[1]:
        return [Clustering(1, _canonical_labels(masks), total)]
    labels = [_canonical_labels(masks[:, :split]), _canonical_labels(masks[:, split:])]
    n_audio = int(np.sum(columns < split))
    joint = np.unique(np.stack(labels, axis=1), axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return [Clustering(1, labels[0], n_audio + 1), Clustering(1, labels[1], len(columns) - n_audio + 1),
            Clustering(-1, joint, total)]


def _canonical_labels(part: np.ndarray) -> np.ndarray:
    """One label per distinct mask, a mask and its complement sharing it; ``(rows,)`` int64."""
    canonical = np.where(part[:, :1] == 1, part, 1 - part)
    return np.unique(canonical, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


@dataclass(frozen=True)
class RobustFit:
    """A weighted ridge fit and its cluster-robust covariance.

    Attributes:
        coef: ``(p,)`` weights (no intercept).
        intercept: the unpenalized intercept.
        covariance: ``(p, p)`` cluster-robust covariance of ``coef`` (zeros without clusterings).
        score: weighted R^2 of the fit on its rows (as ``sklearn``'s ``Ridge.score`` with sample weights).
    """

    coef: np.ndarray
    intercept: float
    covariance: np.ndarray
    score: float


def robust_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, clusters: list[Clustering]) -> RobustFit:
    """Weighted ridge fit (penalty :data:`RIDGE_ALPHA`) with an intercept and its cluster-robust covariance.

    Args:
        x: ``(n, p)`` design (0/1 masks).
        y: ``(n,)`` target.
        w: ``(n,)`` kernel weights of the rows.
        clusters: the clusterings of the sandwich's meat (:func:`mask_clusters`); each part is scaled by
            ``G / (G - parameters)``, and skipped when ``G <= parameters``.
    """
    from scipy import sparse

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, p = x.shape
    design = np.concatenate([np.ones((n, 1)), x], axis=1)
    gram = design.T @ (design * w[:, None])
    penalty = np.eye(p + 1) * RIDGE_ALPHA
    penalty[0, 0] = 0.0
    bread = np.linalg.pinv(gram + penalty)
    beta = bread @ (design.T @ (w * y))
    residual = y - design @ beta
    meat = np.zeros((p + 1, p + 1))
    if clusters:
        scores = design * (w * residual)[:, None]  # (n, p + 1) each row's estimating function
        for clustering in clusters:
            groups = clustering.groups
            if groups <= clustering.parameters:
                continue
            indicator = sparse.csr_matrix((np.ones(n), (clustering.labels, np.arange(n))), shape=(groups, n))
            summed = indicator @ scores
            meat += clustering.sign * groups / (groups - clustering.parameters) * (summed.T @ summed)
    covariance = bread @ meat @ bread
    centred = y - np.average(y, weights=w)
    total = float(np.sum(w * centred**2))
    score = 1.0 - float(np.sum(w * residual**2)) / total if total > 0 else 0.0
    return RobustFit(beta[1:], float(beta[0]), covariance[1:, 1:], score)
