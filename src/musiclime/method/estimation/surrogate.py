"""The LIME fit: a weighted linear surrogate of (masks -> class probability).

Uses ``lime.lime_base.LimeBase``. With default arguments it reproduces the seed: cosine distance of
each mask to row 0, kernel ``sqrt(exp(-d**2 / kernel_width**2))`` with ``kernel_width = 25``,
``feature_selection="auto"``, ``num_features = 20``.

Note: cosine distances between 0/1 masks lie in [0, 1]; with ``distance_scale = 1`` and
``kernel_width = 25`` every sample weight is within 0.1% of 1 (a flat kernel, the seed's
behaviour). LIME's text explainer scales cosine distances by 100; ``distance_scale=100`` does the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Iterable

import numpy as np

from ...common.errors import ConfigError

FEATURE_SELECTIONS = ("auto", "none", "forward_selection", "highest_weights", "lasso_path")


def exponential_kernel(distances: np.ndarray, kernel_width: float) -> np.ndarray:
    """Sample weights ``sqrt(exp(-d**2 / kernel_width**2))`` for distances ``(num_samples,)``."""
    return np.sqrt(np.exp(-(distances**2) / kernel_width**2))


def mask_distances(masks: np.ndarray, distance_scale: float = 1.0) -> np.ndarray:
    """Cosine distance of every mask row to row 0, times ``distance_scale``; ``(num_samples,)``."""
    import sklearn.metrics  # deferred, like lime below: importing this module stays cheap

    return sklearn.metrics.pairwise_distances(masks, masks[0].reshape(1, -1), metric="cosine").ravel() * distance_scale


@dataclass
class SurrogateFit:
    """One label's surrogate.

    Attributes:
        label: explained class index.
        intercept: surrogate intercept (probability units).
        local_exp: ``[(feature index, weight), ...]`` sorted by ``|weight|``, descending.
        score: R^2 of the surrogate on the weighted neighbourhood.
        local_pred: surrogate prediction at row 0 (the unperturbed instance).
    """

    label: int
    intercept: float
    local_exp: list[tuple[int, float]]
    score: float
    local_pred: float
    seconds: float = field(default=0.0)


def check_fit_params(kernel_width: float, distance_scale: float, feature_selection: str, num_features: int) -> None:
    """Raise :class:`ConfigError` naming the offending parameter."""
    if not kernel_width > 0:
        raise ConfigError(f"kernel_width must be > 0, got {kernel_width}")
    if not distance_scale > 0:
        raise ConfigError(f"distance_scale must be > 0, got {distance_scale}")
    if feature_selection not in FEATURE_SELECTIONS:
        raise ConfigError(f"unknown feature_selection {feature_selection!r}; expected one of {FEATURE_SELECTIONS}")
    if int(num_features) != num_features or num_features < 1:
        raise ConfigError(f"num_features must be a positive integer, got {num_features}")


def fit_surrogate(masks: np.ndarray, predictions: np.ndarray, labels: Iterable[int], kernel_width: float = 25.0,
                  distance_scale: float = 1.0, feature_selection: str = "auto", num_features: int = 20,
                  random_state=None) -> dict[int, SurrogateFit]:
    """Fit one LIME surrogate per label.

    Args:
        masks: 0/1 ``(num_samples, num_features_total)``; row 0 is the unperturbed instance.
        predictions: probabilities ``(num_samples, n_classes)``.
        labels: class indices to explain.

    Returns:
        ``{label: SurrogateFit}``.
    """
    check_fit_params(kernel_width, distance_scale, feature_selection, num_features)
    masks = np.asarray(masks)
    predictions = np.asarray(predictions, dtype=np.float64)
    if masks.shape[0] != predictions.shape[0]:
        raise ValueError(f"{masks.shape[0]} masks but {predictions.shape[0]} predictions")
    from lime.lime_base import LimeBase

    base = LimeBase(partial(exponential_kernel, kernel_width=kernel_width), verbose=False, random_state=random_state)
    distances = mask_distances(masks, distance_scale)
    fits = {}
    for label in labels:
        label = int(label)
        if not 0 <= label < predictions.shape[1]:
            raise ConfigError(f"label {label} is out of range for a model with {predictions.shape[1]} classes")
        start = time.perf_counter()
        intercept, local_exp, score, local_pred = base.explain_instance_with_data(
            masks, predictions, distances, label, num_features, feature_selection=feature_selection)
        fits[label] = SurrogateFit(
            label=label, intercept=float(intercept), local_exp=[(int(i), float(w)) for i, w in local_exp],
            score=float(score), local_pred=float(np.ravel(local_pred)[0]), seconds=time.perf_counter() - start)
    return fits
