"""Kernel SHAP on cached masks and predictions: Shapley values from a constrained weighted regression.

The game: ``v(z)`` is the class probability of the perturbed song with the features of coalition
``z`` (a 0/1 mask row of ``M`` features) on. Its Shapley values ``phi`` solve (Lundberg & Lee 2017)

    minimise   sum_z pi(z) (v(z) - v(0) - z . phi)**2
    subject to sum_i phi_i = v(1) - v(0)               (efficiency)

over the coalitions with ``0 < |z| < M``, with the Shapley kernel

    pi(z) = (M - 1) / (C(M, s) s (M - s)),   s = |z|.

``v(1)`` is the prediction of the all-on row (mask row 0, the reconstruction: the same game as every
other row) and ``v(0)`` that of the all-off row (every *explained* feature off). The intercept is
fixed at ``v(0)``. The constraint is eliminated by substituting ``phi_M = v(1) - v(0) - sum_{i<M}
phi_i``, which leaves an ordinary weighted least-squares problem in ``M - 1`` unknowns.

Masks drawn at random are a sample of coalitions, not all of them: each row is weighted by
``pi(z) / q(z)`` (importance weighting), ``q`` being the probability that the sampler draws ``z``,
so that the weighted sum over the sample estimates the sum over all coalitions. Every sampler of
:mod:`musiclime.method.estimation.sampling` except ``shapley`` draws each feature on with probability 1/2
(``q`` uniform, weights ``pi(z)``; for ``exhaustive`` each coalition once, which makes the
regression exact); ``shapley`` draws coalition sizes from the Shapley kernel itself (``q`` is
proportional to ``pi``, weights uniform). The ``factorial`` samplers keep each modality's all-on
(and, paired, all-off) block more often than 1/2 per feature would; their weights are then an
approximation (exact for an additive model, where any positive weights give the Shapley values).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Iterable

import numpy as np

from ...common.errors import MusicLimeError
from .surrogate import SurrogateFit

log = logging.getLogger(__name__)

#: Samplers whose rows are drawn with coalition sizes from the Shapley kernel (weights uniform).
KERNEL_SAMPLERS = ("shapley",)


def shapley_kernel(sizes: np.ndarray, num_features: int) -> np.ndarray:
    """Shapley kernel weight ``(M - 1) / (C(M, s) s (M - s))`` of one coalition per size ``s``.

    Args:
        sizes: coalition sizes ``(n,)``, each in ``1 .. M - 1``.
        num_features: ``M`` (at least 2).

    Returns:
        float64 ``(n,)`` (computed in log space: ``C(M, s)`` overflows floats for ``M`` above ~1000).
    """
    m = int(num_features)
    sizes = np.asarray(sizes, dtype=np.int64)
    if m < 2 or np.any((sizes < 1) | (sizes > m - 1)):
        raise ValueError(f"Shapley kernel sizes must lie in 1..{m - 1} for {m} features")
    log_binom = np.array([math.lgamma(m + 1) - math.lgamma(s + 1) - math.lgamma(m - s + 1) for s in sizes])
    return np.exp(math.log(m - 1) - log_binom - np.log(sizes) - np.log(m - sizes))


def size_distribution(num_features: int) -> np.ndarray:
    """Probability of each coalition size ``s = 1 .. M - 1`` under the Shapley kernel, ``(M - 1,)``.

    The kernel's total mass on size ``s`` is ``C(M, s) pi(s) = (M - 1) / (s (M - s))``.
    """
    sizes = np.arange(1, num_features)
    mass = 1.0 / (sizes * (num_features - sizes))
    return mass / mass.sum()


def regression_weights(masks: np.ndarray, sampler: str) -> np.ndarray:
    """Importance weights ``pi(z) / q(z)`` of mask rows ``(n, M)``, scaled to sum to 1 over the rows
    with ``0 < |z| < M`` (the all-on and all-off rows get 0: the constraint and the intercept hold them).

    Args:
        masks: 0/1 ``(n, M)``.
        sampler: the sampler that drew them (``explain.sampler``).
    """
    masks = np.asarray(masks)
    m = masks.shape[1]
    sizes = masks.sum(axis=1)
    inner = (sizes > 0) & (sizes < m)
    weights = np.zeros(len(masks))
    if not inner.any():
        return weights
    if sampler in KERNEL_SAMPLERS:
        weights[inner] = 1.0
    else:
        weights[inner] = shapley_kernel(sizes[inner], m)
    return weights / weights.sum()


def effective_samples(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)**2 / sum w**2`` of regression weights ``(n,)`` (rows)."""
    weights = np.asarray(weights, dtype=np.float64)
    square = float(np.sum(weights**2))
    return 0.0 if square == 0 else float(np.sum(weights)) ** 2 / square


def efficient_wls(coalitions: np.ndarray, gains: np.ndarray, weights: np.ndarray, total: float) -> tuple[np.ndarray, int]:
    """Weighted least squares ``gains ~ coalitions @ phi`` subject to ``sum(phi) = total``.

    Args:
        coalitions: 0/1 ``(n, M)``.
        gains: ``v(z) - v(0)`` per row ``(n,)``.
        weights: non-negative ``(n,)``.
        total: ``v(1) - v(0)``.

    Returns:
        ``phi`` ``(M,)`` and the rank of the reduced ``(n, M - 1)`` design (``M - 1`` when every
        value is identified; below it, ``lstsq``'s minimum-norm solution).
    """
    z = np.asarray(coalitions, dtype=np.float64)
    m = z.shape[1]
    if m == 1:
        return np.array([float(total)]), 0
    reduced = z[:, :-1] - z[:, -1:]
    target = np.asarray(gains, dtype=np.float64) - z[:, -1] * total
    root = np.sqrt(np.asarray(weights, dtype=np.float64))
    head, _, rank, _ = np.linalg.lstsq(reduced * root[:, None], target * root, rcond=None)
    return np.append(head, total - head.sum()), int(rank)


def weighted_r2(y: np.ndarray, fitted: np.ndarray, weights: np.ndarray) -> float:
    """Weighted coefficient of determination (NaN when ``y`` is constant under the weights)."""
    mean = np.average(y, weights=weights)
    total = float(np.sum(weights * (y - mean) ** 2))
    return float("nan") if total == 0 else 1.0 - float(np.sum(weights * (y - fitted) ** 2)) / total


def fit_kernel_shap(masks: np.ndarray, predictions: np.ndarray, labels: Iterable[int],
                    prediction_all_off: np.ndarray | None = None, sampler: str = "random") -> dict[int, SurrogateFit]:
    """Kernel SHAP per label on scored masks (no model call).

    Args:
        masks: 0/1 ``(n, M)``; row 0 all ones (the unperturbed instance).
        predictions: probabilities ``(n, n_classes)`` of the rows.
        labels: class indices to explain.
        prediction_all_off: probabilities ``(n_classes,)`` with every explained feature off; when
            ``None``, an all-zero mask row must be among ``masks`` (the ``paired`` and ``shapley``
            samplers draw one).
        sampler: the sampler that drew ``masks`` (decides the importance weights).

    Returns:
        ``{label: SurrogateFit}``: ``intercept = v(0)``, ``local_exp`` = all ``M`` Shapley values
        sorted by ``|value|``, ``score`` = weighted R^2 on the rows with ``0 < |z| < M``,
        ``local_pred = v(0) + sum(phi) = v(1)``.
    """
    masks = np.asarray(masks)
    predictions = np.asarray(predictions, dtype=np.float64)
    if masks.shape[0] != predictions.shape[0]:
        raise ValueError(f"{masks.shape[0]} masks but {predictions.shape[0]} predictions")
    m = masks.shape[1]
    if not np.all(masks[0] == 1):
        raise MusicLimeError("Kernel SHAP needs mask row 0 to be the unperturbed instance (all ones)")
    if prediction_all_off is None:
        off_rows = np.flatnonzero(masks.sum(axis=1) == 0)
        if not len(off_rows):
            raise MusicLimeError("Kernel SHAP needs the prediction with every explained feature off "
                                 "(prediction_all_off), and no mask row is all zeros")
        prediction_all_off = predictions[off_rows[0]]
    empty = np.asarray(prediction_all_off, dtype=np.float64).ravel()
    weights = regression_weights(masks, sampler)
    inner = weights > 0
    if m > 1 and not inner.any():
        raise MusicLimeError("Kernel SHAP: no mask row has some but not all features on")
    ess = effective_samples(weights)
    if m > 1 and ess < 2 * (m - 1):
        log.warning("Kernel SHAP: the importance weights of the %s sampler leave an effective sample of %.0f rows for "
                    "%d Shapley values; the values are noisy: explain.sampler=shapley draws rows that need no "
                    "weights, or raise explain.num_samples", sampler, ess, m)
    fits = {}
    for label in labels:
        label = int(label)
        start = time.perf_counter()
        v_empty, v_full = float(empty[label]), float(predictions[0, label])
        gains = predictions[inner, label] - v_empty
        phi, rank = efficient_wls(masks[inner], gains, weights[inner], v_full - v_empty)
        if m > 1 and rank < m - 1:
            log.warning("Kernel SHAP: %d coalitions span only %d of the %d free directions; some Shapley values "
                        "are not identified (minimum-norm solution): raise explain.num_samples",
                        int(inner.sum()), rank, m - 1)
        score = weighted_r2(gains, masks[inner] @ phi, weights[inner]) if m > 1 else 1.0
        order = np.argsort(-np.abs(phi), kind="stable")
        fits[label] = SurrogateFit(label=label, intercept=v_empty, local_exp=[(int(i), float(phi[i])) for i in order],
                                   score=score, local_pred=v_empty + float(phi.sum()),
                                   seconds=time.perf_counter() - start)
    return fits
