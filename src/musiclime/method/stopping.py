"""Stop drawing samples once the top-k features are stable (``explain.stopping``).

The masks of an explanation are scored in rounds (prefixes of the mask matrix of growing length).
After each round, a weighted least-squares surrogate is fitted to the rows scored so far, on the
``num_features`` features with the largest weights of a first fit on all of them (LIME's default
selection, so the rule judges the ranking the explanation shows), with standard errors that allow
for the sampler's structure, and the rule asks whether the top-``k`` features (by absolute weight)
are separated from the other kept ones: for each top-``k`` feature ``i`` and each other ``j``,
``|w_i| - |w_j|`` must exceed ``z`` standard errors of that difference. The first round that passes ends the scoring; otherwise the budget (``num_samples``) does.

Standard errors are cluster-robust (sandwich) estimates: rows that share an audio mask (or its
complement, for the paired samplers) form one cluster, rows that share a lyrics mask another, and
the two clusterings are combined as in Cameron, Gelbach and Miller's two-way estimator. For the
``random`` sampler every cluster is one row (the heteroskedasticity-robust estimate); for the
``factorial`` grids this counts an audio mask's many rows as one draw, as they are. Each part gets
the small-sample factor ``G / (G - q)`` (``G`` clusters, ``q`` parameters they identify), and a
round with fewer than :data:`MIN_DRAWS_PER_PARAMETER` clusters per parameter is not judged at all.

The rule judges with its own kernel (``kernel_width``, ``distance_scale``; by default the flat
kernel of the default fit), so the rows a song uses do not depend on the fit's settings, and a
kernel-width sweep refits on the same rows without running the model.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from ..common.errors import ConfigError
from .modality import FeatureLayout
from .robust_fit import MIN_DRAWS_PER_PARAMETER, Clustering, mask_clusters, robust_fit
from .surrogate import exponential_kernel, mask_distances

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoppingRule:
    """When to stop scoring rounds of masks.

    Attributes:
        top_k: how many leading features must be stable.
        z: standard errors by which every top-``k`` weight must exceed every other (in absolute value).
        first_round: rows of the first round (including the unperturbed row 0).
        growth: each round's prefix is this many times the previous one (rounded up to whole pairs
            for the paired samplers).
        num_features: features the rule's surrogate keeps: the largest weights of a fit on every
            feature, refitted alone (LIME's default selection, ``feature_selection="auto"`` with
            ``explain.num_features = 20``), so the rule judges the ranking the explanation shows.
        kernel_width, distance_scale: the kernel of the rule's surrogate (see the module docstring).
    """

    top_k: int = 5
    z: float = 2.5
    first_round: int = 250
    growth: float = 1.5
    num_features: int = 20
    kernel_width: float = 25.0
    distance_scale: float = 1.0

    def __post_init__(self):
        checks = [(self.top_k >= 1, "top_k", "must be >= 1"), (self.z > 0, "z", "must be > 0"),
                  (self.first_round >= 2, "first_round", "must be >= 2"), (self.growth > 1, "growth", "must be > 1"),
                  (self.num_features >= self.top_k, "num_features", "must be >= top_k"),
                  (self.kernel_width > 0, "kernel_width", "must be > 0"),
                  (self.distance_scale > 0, "distance_scale", "must be > 0")]
        for ok, key, message in checks:
            if not ok:
                raise ConfigError(f"config key explain.stopping.{key}: {message}, got {getattr(self, key)}")

    @classmethod
    def from_config(cls, config: dict | None) -> "StoppingRule | None":
        """The rule of an ``explain.stopping`` mapping; ``None`` (or ``enabled: false``) turns it off."""
        if not config or not config.get("enabled", True):
            return None
        return cls(**{k: v for k, v in config.items() if k != "enabled"})

    def as_dict(self) -> dict:
        return asdict(self)


def round_ends(num_samples: int, rule: StoppingRule, pairs: bool = False) -> list[int]:
    """Prefix lengths scored round by round: ``first_round``, then ``growth`` times more, up to
    ``num_samples`` (the last). With ``pairs`` every end is even, so no mask loses its complement."""
    ends, end = [], float(rule.first_round)
    while True:
        n = min(num_samples, int(np.ceil(end)))
        if pairs and n % 2 and n < num_samples:
            n += 1
        if not ends or n > ends[-1]:
            ends.append(n)
        if n >= num_samples:
            return ends
        end *= rule.growth


@dataclass(frozen=True)
class BoundaryTest:
    """One round's verdict.

    Attributes:
        rows: rows the surrogate was fitted to.
        top: the ``top_k`` feature indices, by absolute weight (descending).
        weights: ``(num_features,)`` the surrogate's weights.
        separation: the smallest ``(|w_i| - |w_j|) / se`` over top features ``i`` and others ``j``
            (``inf`` when every feature is in the top).
        stable: ``separation >= z``.
    """

    rows: int
    top: tuple[int, ...]
    weights: np.ndarray
    separation: float
    stable: bool


def boundary_test(masks: np.ndarray, target: np.ndarray, layout: FeatureLayout, rule: StoppingRule) -> BoundaryTest:
    """Is the top-``k`` set of a weighted least-squares surrogate of ``target`` on ``masks`` stable?

    Args:
        masks: 0/1 ``(rows, num_features)``; row 0 is the unperturbed instance.
        target: ``(rows,)`` the explained class's probability for each row.
        layout: which columns are audio and which lyrics (the clusters of the standard errors).
    """
    masks = np.asarray(masks, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    weights = exponential_kernel(mask_distances(masks, rule.distance_scale), rule.kernel_width)
    columns = np.arange(masks.shape[1])
    if rule.num_features < len(columns):  # LIME's default selection: the largest weights of a fit on every feature
        first = robust_fit(masks, target, weights, []).coef
        columns = np.sort(np.argsort(-np.abs(first), kind="stable")[:rule.num_features])
    clusters = mask_clusters(masks.astype(np.int8), layout, columns)
    fitted = robust_fit(masks[:, columns], target, weights, clusters)
    selected, covariance = fitted.coef, fitted.covariance
    coef = np.zeros(masks.shape[1])
    coef[columns] = selected
    magnitude = np.abs(selected)
    order = np.argsort(-magnitude, kind="stable")
    k = min(rule.top_k, len(selected))
    top, rest = order[:k], order[k:]
    top_features = tuple(int(columns[i]) for i in top)
    if any(c.groups < MIN_DRAWS_PER_PARAMETER * c.parameters for c in clusters if c.sign > 0):
        return BoundaryTest(len(masks), top_features, coef, 0.0, False)  # too few draws to judge
    if len(rest) == 0:
        return BoundaryTest(len(masks), top_features, coef, float("inf"), True)
    sign = np.sign(selected)
    sign[sign == 0] = 1
    signed = covariance * np.outer(sign, sign)  # covariance of |w| (locally, each weight keeps its sign)
    var = np.diag(signed)[top][:, None] + np.diag(signed)[rest][None, :] - 2 * signed[np.ix_(top, rest)]
    gap = magnitude[top][:, None] - magnitude[rest][None, :]
    separation = float(np.min(gap / np.sqrt(np.maximum(var, 1e-300))))
    return BoundaryTest(len(masks), top_features, coef, separation, separation >= rule.z)


def _robust_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray,
                clusters: list[Clustering]) -> tuple[np.ndarray, np.ndarray]:
    """``(coef, covariance)`` of :func:`musiclime.method.robust_fit.robust_fit` (the older call)."""
    fitted = robust_fit(x, y, w, clusters)
    return fitted.coef, fitted.covariance
