"""A weighted ridge fit with cluster-robust (sandwich) standard errors.

Rows that share an audio mask (or its complement, for the paired samplers) form one cluster, rows
that share a lyrics mask another. How the two clusterings combine depends on the design:

* **Not a grid** (the ``random`` and ``paired`` samplers with many audio components: nearly every
  audio mask, or pair, is drawn once): Cameron, Gelbach and Miller's two-way estimator, audio +
  lyrics - their intersection. Where the audio clusters are the cells, the intersection equals the
  audio part and the sum is the lyrics clustering exactly.
* **A grid** (:func:`is_grid`: each mask repeats many times and each audio mask meets several lyrics
  masks and the other way round; the ``factorial`` samplers, or masks of very few features in each
  modality): the two one-way parts are added and the intersection is *not* subtracted. In a grid
  every audio mask meets the same lyrics masks, so the part of the residual
  that varies with the lyrics cancels within each audio cluster exactly, and the row-level
  intersection term the two-way formula subtracts is no part of an audio coefficient's variance;
  subtracting it made the audio variances negative (about -4e-6 where the true sampling variance
  over 200 grids is 4e-6: a logistic model of three audio effects with a nonlinear lyric term,
  ``benchmarks/bench_claims.py``), and every pair "separated". The sum of two positive
  semi-definite parts is one; it is conservative where the cells' own variance matters.

Either way the covariance is made positive semi-definite (negative eigenvalues clipped to zero, the
remedy Cameron, Gelbach and Miller give for the two-way estimator); :func:`combination` names the
combination used, for the metadata. Each part gets the small-sample factor ``G / (G - q)`` (``G`` clusters, ``q``
parameters they identify).

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


#: The design is a grid (the intersection is not subtracted, module docstring) when each modality's
#: clusters hold at least this many rows on average (a factorial grid of ``n`` rows: about ``sqrt(n)``)
#: and the audio x lyrics cells outnumber each modality's clusters at least
#: :data:`GRID_CELLS_PER_CLUSTER` times (each audio mask meets several lyrics masks and the other way
#: round; a paired design's pairs share both clusters, so its cells are its clusters). Random masks
#: repeat a little where a modality has few features; the two-way estimator holds there (measured:
#: 6.0e-6 against a true 5.6e-6 for an audio weight), the sum would double it.
GRID_ROWS_PER_CLUSTER = 8.0
GRID_CELLS_PER_CLUSTER = 2.0


def mask_clusters(masks: np.ndarray, layout: FeatureLayout, columns: np.ndarray | None = None) -> list[Clustering]:
    """Cluster labellings of the rows for the robust covariance.

    Rows sharing an audio mask (or its complement) share an audio cluster; likewise for lyrics.
    With both modalities perturbed: audio (+1), lyrics (+1), and, unless both modalities' masks
    repeat (:func:`is_grid`), their intersection (-1); with one, that modality's clusters alone.
    ``columns`` are the surrogate's features (all by default): they set each clustering's parameter count.
    """
    columns = np.arange(masks.shape[1]) if columns is None else np.asarray(columns)
    total = len(columns) + 1
    split = layout.audio_columns  # 0 unless both modalities are perturbed
    if not 0 < split < masks.shape[1]:
        return [Clustering(1, _canonical_labels(masks), total)]
    labels = [_canonical_labels(masks[:, :split]), _canonical_labels(masks[:, split:])]
    n_audio = int(np.sum(columns < split))
    parts = [Clustering(1, labels[0], n_audio + 1), Clustering(1, labels[1], len(columns) - n_audio + 1)]
    pairs = labels[0] * (int(labels[1].max()) + 1) + labels[1]
    joint = Clustering(-1, np.unique(pairs, return_inverse=True)[1].reshape(-1).astype(np.int64), total)
    return parts if is_grid(parts, joint) else parts + [joint]


def is_grid(parts: list[Clustering], joint: Clustering) -> bool:
    """Do each modality's clusters (``parts``) hold at least :data:`GRID_ROWS_PER_CLUSTER` rows on average,
    and are the audio x lyrics cells (``joint``) at least :data:`GRID_CELLS_PER_CLUSTER` times as many as
    each modality's clusters?"""
    rows = len(joint.labels)
    return all(rows >= GRID_ROWS_PER_CLUSTER * part.groups and joint.groups >= GRID_CELLS_PER_CLUSTER * part.groups
               for part in parts)


def combination(clusters: list[Clustering]) -> str:
    """How ``clusters`` combine, in words for the metadata: ``one-way``, ``two-way`` or ``sum of one-way``."""
    if len(clusters) <= 1:
        return "one-way"
    return "two-way" if any(c.sign < 0 for c in clusters) else "sum of one-way"


def _canonical_labels(part: np.ndarray) -> np.ndarray:
    """One label per distinct mask, a mask and its complement sharing it; ``(rows,)`` int64 (masks of up to
    62 columns are packed into one integer each, so the distinct ones are found in 1-D)."""
    canonical = np.where(part[:, :1] == 1, part, 1 - part)
    if canonical.shape[1] <= 62:
        codes = canonical.astype(np.int64) @ (np.int64(1) << np.arange(canonical.shape[1], dtype=np.int64))
        return np.unique(codes, return_inverse=True)[1].reshape(-1).astype(np.int64)
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
    covariance = positive_semidefinite(bread @ meat @ bread)
    centred = y - np.average(y, weights=w)
    total = float(np.sum(w * centred**2))
    score = 1.0 - float(np.sum(w * residual**2)) / total if total > 0 else 0.0
    return RobustFit(beta[1:], float(beta[0]), covariance[1:, 1:], score)


def positive_semidefinite(covariance: np.ndarray) -> np.ndarray:
    """``covariance`` ``(p, p)`` with its negative eigenvalues set to zero (symmetrised first)."""
    symmetric = (covariance + covariance.T) / 2
    values, vectors = np.linalg.eigh(symmetric)
    if values.min(initial=0.0) >= 0:
        return symmetric
    return (vectors * np.clip(values, 0.0, None)) @ vectors.T
