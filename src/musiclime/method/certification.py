"""Certified ranks: how many of a ranking's top features are certain (``explain.certification``).

A retrospective test in the spirit of Goldwasser and Hooker (2024, "Statistical Significance of
Feature Importance Rankings", arXiv 2401.15800): given the weights of a fitted surrogate and their
covariance, find the largest ``k`` such that the top-``k`` set (by absolute weight) is separated from
every other feature of the ranking, with a family-wise error rate of at most ``alpha``.

Statistics. The ranking's ``m`` features (columns ``c_1 .. c_m``) are ordered by ``|w|``, descending.
For a pair ranked ``a`` above ``b`` the claim "``|w_a| > |w_b|`` in truth" is tested one-sided with

    z_ab = (|w_a| - |w_b|) / sqrt(V_aa + V_bb - 2 V_ab),        V = S C S,  S = diag(sign(w)),

``C`` the cluster-robust (sandwich) covariance of the weighted ridge fit
(:mod:`musiclime.method.robust_fit`: rows sharing an audio mask, or a lyrics mask, count as one draw).
``S C S`` is the covariance of ``|w|`` to first order (each weight keeps its observed sign), as the
stopping rule has always used it. The top-``k`` set is separated when every pair (``a`` in the top
``k``, ``b`` outside) has ``z_ab >= z_crit``; ``certified_top_k`` is the largest such ``k`` in
``0 .. m - 1`` (``m`` itself is never claimed: there is nothing to separate it from).

Multiplicity correction (what is implemented, exactly): **Bonferroni over every pair of the
ranking**, ``T = m (m - 1) / 2`` one-sided tests, ``z_crit = Phi^-1(1 - alpha / T)``. Scanning ``k``
tests only pairs from this set, and a pair's statistic does not depend on ``k``, so the bound holds
for every ``k`` at once: the probability that any certified top-``k`` set is wrong (contains a
feature whose true ``|w|`` does not exceed that of a feature left out) is at most ``alpha``, to the
accuracy of the normal approximation and of the robust covariance. Each ranking (the explanation's
own selected features; the full fit's audio components; its lyric features) is its own family at
level ``alpha``. The paper's sharper procedures (selective tests of the boundary pair) are not
implemented: they could not be verified here, and Bonferroni is valid (conservative) under any
dependence between the tests.

The features **tied at the boundary** are the ``(k+1)``-th ranked feature and every feature ranked
below it whose pair test against it does not reject (at ``z_crit``): a group the reader should see
as one, since no number of samples may order them. A ranking is not judged (``judged`` false,
``certified_top_k`` 0) when a modality has fewer than
:data:`~musiclime.method.robust_fit.MIN_DRAWS_PER_PARAMETER` distinct masks per parameter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ..common.errors import ConfigError
from .modality import FeatureLayout
from .robust_fit import MIN_DRAWS_PER_PARAMETER, Clustering, RobustFit, mask_clusters, robust_fit

log = logging.getLogger(__name__)

#: Default family-wise error level (``explain.certification.alpha``).
DEFAULT_ALPHA = 0.1


def check_alpha(alpha: float, key: str = "explain.certification.alpha") -> float:
    """Return ``alpha`` or raise :class:`ConfigError` naming ``key`` unless ``0 < alpha < 1``."""
    if not 0 < alpha < 1:
        raise ConfigError(f"config key {key}: must be strictly between 0 and 1, got {alpha}")
    return float(alpha)


def pair_tests(num_ranked: int) -> int:
    """One-sided pair tests of a ranking of ``num_ranked`` features: ``m (m - 1) / 2``."""
    return num_ranked * (num_ranked - 1) // 2


def critical_z(num_ranked: int, alpha: float) -> float:
    """Bonferroni critical value ``Phi^-1(1 - alpha / T)`` for ``T`` = :func:`pair_tests` (inf when ``T`` = 0)."""
    tests = pair_tests(num_ranked)
    return -NormalDist().inv_cdf(alpha / tests) if tests else float("inf")  # the upper quantile, without 1 - tiny


def correction_text(alpha: float) -> str:
    """The multiplicity correction in words, for the explanation's metadata."""
    return (f"Bonferroni over every pair of each ranking (m features: m(m-1)/2 one-sided z-tests of |w_i| > |w_j|, "
            f"each at alpha/(m(m-1)/2)); family-wise error <= {alpha:g} per ranking")


@dataclass(frozen=True)
class Certification:
    """Which top ranks of one ranking are certain.

    Attributes:
        certified_top_k: the largest ``k`` whose top-``k`` set is separated from the rest (0: none).
        ranking: column indices by ``|weight|``, descending ``(m,)``.
        tied_at_boundary: the ``(k+1)``-th column first, then those ranked below it that cannot be told
            apart from it (at least two when ``k < m - 1``); empty when ``k = m - 1`` or not judged.
        separations: ``(m - 1,)`` per ``k = 1 .. m - 1``, the smallest ``z_ab`` over the top ``k`` and the rest.
        critical: ``z_crit``.
        tests: ``T``, the pair tests the correction counts.
        judged: false when there were too few draws to trust the standard errors.
    """

    certified_top_k: int
    ranking: tuple[int, ...]
    tied_at_boundary: tuple[int, ...]
    separations: tuple[float, ...]
    critical: float
    tests: int
    judged: bool = True

    def separated(self, k: int) -> bool:
        """Is the top-``k`` set separated from the rest (``k >= m``: vacuously, if judged)?"""
        if not self.judged:
            return False
        return k >= len(self.ranking) or (k >= 1 and self.separations[k - 1] >= self.critical)

    def separation(self, k: int) -> float:
        """The smallest standardized gap between the top ``k`` and the rest (inf for ``k >= m``, 0 unjudged)."""
        if not self.judged:
            return 0.0
        return float("inf") if k >= len(self.ranking) else float(self.separations[k - 1])

    def as_dict(self) -> dict:
        """The metadata record: ``certified_top_k``, ``ranking``, ``tied_at_boundary``, ``tests``, ``critical_z``."""
        return {"certified_top_k": int(self.certified_top_k), "ranking": [int(c) for c in self.ranking],
                "tied_at_boundary": [int(c) for c in self.tied_at_boundary], "tests": int(self.tests),
                "critical_z": round(float(self.critical), 4), "judged": bool(self.judged)}


def certify_weights(weights: np.ndarray, covariance: np.ndarray, alpha: float = DEFAULT_ALPHA,
                    columns: np.ndarray | None = None) -> Certification:
    """Certify the ranking of ``weights`` given their covariance.

    Args:
        weights: ``(m,)`` surrogate weights of the ranked features.
        covariance: ``(m, m)`` their covariance.
        alpha: family-wise error level, ``0 < alpha < 1``.
        columns: ``(m,)`` the mask column of each weight (``arange(m)`` by default): what the result names.
    """
    weights = np.asarray(weights, dtype=np.float64)
    m = len(weights)
    columns = np.arange(m) if columns is None else np.asarray(columns)
    order = np.argsort(-np.abs(weights), kind="stable")
    ranking = tuple(int(columns[i]) for i in order)
    critical = critical_z(m, alpha)
    if m < 2:
        return Certification(0, ranking, (), (), critical, 0)
    z = _pair_statistics(weights[order], np.asarray(covariance, dtype=np.float64)[np.ix_(order, order)])
    # separations[k - 1] = min over a < k <= b of z[a, b]: the block above the diagonal, top-right of k
    separations = tuple(float(np.min(z[:k, k:])) for k in range(1, m))
    passing = [k for k in range(1, m) if separations[k - 1] >= critical]
    k = max(passing, default=0)
    # below a maximal k < m - 1 the (k+1)-th always ties with a lower feature, else top-(k+1) would pass
    tied = tuple(ranking[b] for b in range(k, m) if b == k or z[k, b] < critical) if k < m - 1 else ()
    return Certification(k, ranking, tied, separations, critical, pair_tests(m))


def _pair_statistics(ranked: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``z[a, b] = (|w_a| - |w_b|) / sd(|w_a| - |w_b|)`` for weights in rank order ``(m, m)``."""
    sign = np.sign(ranked)
    sign[sign == 0] = 1
    signed = covariance * np.outer(sign, sign)
    diag = np.diag(signed)
    var = diag[:, None] + diag[None, :] - 2 * signed
    gap = np.abs(ranked)[:, None] - np.abs(ranked)[None, :]
    return gap / np.sqrt(np.maximum(var, 1e-300))


def enough_draws(clusters: list[Clustering]) -> bool:
    """Each clustering has at least :data:`MIN_DRAWS_PER_PARAMETER` clusters per parameter it identifies."""
    return all(c.groups >= MIN_DRAWS_PER_PARAMETER * c.parameters for c in clusters if c.sign > 0)


def certify_fit(masks: np.ndarray, target: np.ndarray, kernel_weights: np.ndarray, layout: FeatureLayout,
                columns, alpha: float = DEFAULT_ALPHA) -> tuple[RobustFit, Certification]:
    """Fit a weighted ridge on ``columns`` of ``masks`` with cluster-robust errors and certify its ranking.

    Args:
        masks: 0/1 ``(rows, F)``; row 0 is the unperturbed instance.
        target: ``(rows,)`` the explained class's probability per row.
        kernel_weights: ``(rows,)`` the surrogate's sample weights.
        layout: which columns are audio and which lyrics (the clusters).
        columns: the ranked features (mask column indices), e.g. an explanation's selected ones.
        alpha: family-wise error level.

    Returns:
        The fit (``coef`` ``(len(columns),)`` in sorted column order) and its certification.
    """
    columns = np.sort(np.asarray(list(columns), dtype=np.int64))
    clusters = mask_clusters(np.asarray(masks).astype(np.int8), layout, columns)
    fitted = robust_fit(np.asarray(masks, dtype=np.float64)[:, columns], target, kernel_weights, clusters)
    result = certify_weights(fitted.coef, fitted.covariance, alpha, columns)
    return fitted, (result if enough_draws(clusters) else unjudged(result))


def certify_ranking(masks: np.ndarray, target: np.ndarray, kernel_weights: np.ndarray, layout: FeatureLayout,
                    columns, alpha: float = DEFAULT_ALPHA) -> Certification:
    """The certification of :func:`certify_fit` (same arguments)."""
    return certify_fit(masks, target, kernel_weights, layout, columns, alpha)[1]


def unjudged(result: Certification) -> Certification:
    """``result`` marked as not judged: nothing certified, no boundary group."""
    return Certification(0, result.ranking, (), result.separations, result.critical, result.tests, judged=False)


def modality_columns(layout: FeatureLayout) -> dict[str, np.ndarray]:
    """Mask columns of each perturbed modality: ``{"audio": ..., "lyrics": ...}`` (absent when not perturbed)."""
    parts, start = {}, 0
    if layout.perturbs_audio:
        parts["audio"] = np.arange(layout.n_audio)
        start = layout.n_audio
    if layout.perturbs_text:
        parts["lyrics"] = np.arange(start, start + layout.n_text)
    return parts


def certification_block(masks: np.ndarray, predictions: np.ndarray, selected: dict[int, list[int]],
                        full: dict, layout: FeatureLayout, kernel_weights: np.ndarray,
                        alpha: float = DEFAULT_ALPHA) -> dict:
    """``metadata["certification"]``: per label, the explanation's own ranking and each modality's.

    Args:
        masks: 0/1 ``(rows, F)``.
        predictions: probabilities ``(rows, n_classes)``.
        selected: ``{label: columns}`` the explanation's selected features per label. Their ranking is
            that of the weighted ridge refitted on them with the explanation's kernel: LIME's own final
            fit (for a ``kernel_shap`` explanation, a ridge on the features it weighs).
        full: ``{label: RobustFit}`` the full fit (:func:`musiclime.method.full_fit.fit_every_feature`),
            whose audio and lyrics parts are certified within their modality.
        kernel_weights: ``(rows,)`` the explanation's sample weights.

    Returns:
        ``{"alpha", "correction", "labels": {"<label>": {"certified_top_k", "ranking", "tied_at_boundary",
        "tests", "critical_z", "judged", "audio": {...}, "lyrics": {...}}}}``.
    """
    masks = np.asarray(masks)
    trusted = enough_draws(mask_clusters(masks.astype(np.int8), layout))
    labels = {}
    for label, columns in selected.items():
        own = certify_ranking(masks, np.asarray(predictions)[:, label], kernel_weights, layout, columns, alpha)
        entry = own.as_dict()
        fit = full[label]
        for name, part in modality_columns(layout).items():
            within = certify_weights(fit.coef[part], fit.covariance[np.ix_(part, part)], alpha, part)
            entry[name] = (within if trusted else unjudged(within)).as_dict()
        labels[str(label)] = entry
        log.info("label %d: top-%d certified at alpha %g (%s)", label, own.certified_top_k, alpha,
                 ", ".join(f"{name} top-{entry[name]['certified_top_k']}" for name in modality_columns(layout)))
    return {"alpha": float(alpha), "correction": correction_text(alpha), "labels": labels}
