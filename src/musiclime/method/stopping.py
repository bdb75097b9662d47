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
from .surrogate import exponential_kernel, mask_distances

log = logging.getLogger(__name__)

#: Ridge penalty of the rule's surrogate (LIME's ``Ridge(alpha=1)``).
RIDGE_ALPHA = 1.0
#: A round is judged only when each modality has at least this many distinct masks (clusters) per
#: surrogate parameter of that modality: with fewer, robust standard errors are far too small.
MIN_DRAWS_PER_PARAMETER = 3


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
        first, _ = _robust_fit(masks, target, weights, [])
        columns = np.sort(np.argsort(-np.abs(first), kind="stable")[:rule.num_features])
    clusters = mask_clusters(masks.astype(np.int8), layout, columns)
    selected, covariance = _robust_fit(masks[:, columns], target, weights, clusters)
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


def _robust_fit(x: np.ndarray, y: np.ndarray, w: np.ndarray,
                clusters: list[Clustering]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ridge fit with an intercept and its cluster-robust covariance.

    Each clustering's part of the covariance is scaled by ``G / (G - parameters)`` (the small-sample
    correction of heteroskedasticity-robust estimates, per clustering).

    Returns:
        ``coef`` ``(p,)`` (no intercept) and ``covariance`` ``(p, p)``.
    """
    from scipy import sparse

    n, p = x.shape
    design = np.concatenate([np.ones((n, 1)), x], axis=1)
    gram = design.T @ (design * w[:, None])
    penalty = np.eye(p + 1) * RIDGE_ALPHA
    penalty[0, 0] = 0.0
    bread = np.linalg.pinv(gram + penalty)
    beta = bread @ (design.T @ (w * y))
    scores = design * (w * (y - design @ beta))[:, None]  # (n, p + 1) each row's estimating function
    meat = np.zeros((p + 1, p + 1))
    for clustering in clusters:
        groups = clustering.groups
        if groups <= clustering.parameters:
            continue
        summed = sparse.csr_matrix((np.ones(n), (clustering.labels, np.arange(n))), shape=(groups, n)) @ scores
        meat += clustering.sign * groups / (groups - clustering.parameters) * (summed.T @ summed)
    covariance = bread @ meat @ bread
    return beta[1:], covariance[1:, 1:]
