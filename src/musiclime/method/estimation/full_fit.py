"""The full fit: a ridge surrogate on every feature, beside the explanation's selected ones.

LIME keeps ``num_features`` (default 20) features, so most audio components of an explanation have
weight 0 and a picture of every component shows nothing. The full fit is one more weighted ridge
(LIME's ``Ridge(alpha=1)``, unpenalized intercept) on **every** mask column, with the explanation's
own kernel, on the same masks and predictions: no model call. It is recorded as

    metadata["full_fit"] = {
        "method": FULL_FIT_METHOD,
        "labels": {"<label>": {"weights": [float per mask column, in explanation.features order],
                               "intercept": float, "score": float}}}

with ``score`` the weighted R^2 on the rows. Its cluster-robust covariance
(:mod:`musiclime.method.estimation.robust_fit`) is kept in memory for rank certification within each modality
(:mod:`musiclime.method.estimation.certification`), never written.
"""

from __future__ import annotations

import logging
from typing import Iterable

import numpy as np

from ..modality import FeatureLayout
from .robust_fit import RobustFit, mask_clusters, robust_fit
from .surrogate import exponential_kernel, mask_distances

log = logging.getLogger(__name__)

FULL_FIT_METHOD = "ridge on every feature (same masks, predictions and kernel as the explanation; no model call)"


def kernel_weights(masks: np.ndarray, kernel_width: float, distance_scale: float = 1.0) -> np.ndarray:
    """The explanation's sample weights ``(rows,)``: LIME's kernel of each mask's cosine distance to row 0."""
    return exponential_kernel(mask_distances(np.asarray(masks), distance_scale), kernel_width)


def fit_every_feature(masks: np.ndarray, predictions: np.ndarray, labels: Iterable[int], layout: FeatureLayout,
                      kernel_width: float = 25.0, distance_scale: float = 1.0) -> dict[int, RobustFit]:
    """One ridge fit per label on every mask column, with cluster-robust covariances.

    Args:
        masks: 0/1 ``(rows, F)``; row 0 is the unperturbed instance.
        predictions: probabilities ``(rows, n_classes)``.
        layout: which columns are audio and which lyrics (the clusters of the covariance).
        kernel_width, distance_scale: the explanation's kernel.

    Returns:
        ``{label: RobustFit}`` with ``coef`` ``(F,)`` and ``covariance`` ``(F, F)``.
    """
    masks = np.asarray(masks)
    predictions = np.asarray(predictions, dtype=np.float64)
    weights = kernel_weights(masks, kernel_width, distance_scale)
    clusters = mask_clusters(masks.astype(np.int8), layout)
    design = masks.astype(np.float64)
    labels = [int(label) for label in labels]
    log.debug("full fit: %d rows x %d features, labels %s", *design.shape, labels)
    return {label: robust_fit(design, predictions[:, label], weights, clusters) for label in labels}


def full_fit_block(fits: dict[int, RobustFit]) -> dict:
    """``metadata["full_fit"]`` (see the module docstring) of :func:`fit_every_feature`'s fits."""
    return {"method": FULL_FIT_METHOD,
            "labels": {str(label): {"weights": [float(w) for w in fit.coef], "intercept": float(fit.intercept),
                                    "score": float(fit.score)} for label, fit in fits.items()}}
