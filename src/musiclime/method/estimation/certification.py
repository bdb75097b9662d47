"""Certified ranks: how many of a ranking's top features are certain (``explain.certification``).

Given the weights of a fitted surrogate and their covariance, find how many leading ranks (by
absolute weight) are right, with a family-wise error rate of at most ``alpha`` (Goldwasser and
Hooker 2024, "Statistical Significance of Feature Importance Rankings", arXiv 2401.15800).

Statistics. The ranking's ``m`` features are ordered by ``|w|``, descending. The covariance of
``|w|`` is ``V = S C S``, ``S = diag(sign(w))`` (first order: each weight keeps its observed sign),
``C`` the cluster-robust (sandwich) covariance of the weighted ridge fit
(:mod:`musiclime.method.estimation.robust_fit`: rows sharing an audio mask, or a lyrics mask, count as one draw).
Two methods (``explain.certification.method``):

``holm`` (default, below) certifies top-``k`` *sets*, what a page's "these lead" says; ``sequential``
certifies the *order* of the leading ranks and stops at the first near tie.

``sequential``: Goldwasser and Hooker's own procedure
(:mod:`musiclime.method.estimation.sequential_ranks`). Rank ``r`` is verified when the leader of the features
ranked ``r .. m`` beats each of the others in a pairwise test conditioned on its selection as the
leader; the gap's variance is ``V_11 + V_jj - 2 V_1j`` (the adaptation to correlated coefficients).
Ranks are tested in order, each at the full level ``alpha``, and the first failure stops:
``certified_top_k`` is the number of ranks verified before it, at most ``m - 1``. Per rank the
largest pairwise p-value is recorded (``p_values``). ``separation(k)`` is the z-equivalent of the
largest p-value of ranks ``1 .. k``, ``Phi^-1(1 - p / 2)`` (for the runner-up pair it is the gap in
standard errors of the difference), and ``critical`` is ``Phi^-1(1 - alpha / 2)`` (1.64 at
``alpha = 0.1``): ``separated(k)`` holds exactly when ranks ``1 .. k`` are all verified, i.e. when
``k <= certified_top_k``. A tie inside the top set stops the certification there, even when a
larger top set would be separated from the rest as a set.

``bonferroni``: for a pair ranked ``a`` above ``b``, ``z_ab = (|w_a| - |w_b|) / sqrt(V_aa + V_bb -
2 V_ab)``; the top-``k`` set is separated when every pair (``a`` in the top ``k``, ``b`` outside) has
``z_ab >= z_crit = Phi^-1(1 - alpha / (2 T))``, ``T = m (m - 1) / 2`` two-sided tests (a Bonferroni
correction over every pair, valid under any dependence); ``certified_top_k`` is the largest such
``k`` in ``0 .. m - 1``, ``separation(k)`` the smallest ``z_ab`` across the boundary, and ``p_values``
the Bonferroni-adjusted p-value of each top-``k`` set, ``min(1, 2 T (1 - Phi(separation(k))))``.

Why two-sided: the ranking puts ``a`` above ``b`` because the data did; a one-sided test of the order
the data chose certifies a true tie at the boundary in that order with probability ``2 alpha``
(measured before: 0.21 wrong sets at alpha 0.1 for true effects 0.5 and 0.5). The sequential test's
runner-up test is two-sided already (its conditioning on the selection doubles the one-sided p).

``holm`` (the default): the same pair statistics and the same claim as ``bonferroni`` (the top-``k`` set, order
inside it free), with Holm's step-down in place of the single Bonferroni threshold: the ``T`` two-sided
pair p-values in increasing order, the ``i``-th rejected while it and every smaller one is at most
``alpha / (T - i + 1)``. Every pair Bonferroni rejects, Holm rejects, so it certifies at least as deep,
with the same family-wise guarantee under any dependence. ``separation(k)`` is the z-equivalent of the
largest Holm-adjusted p-value across the boundary, ``Phi^-1(1 - p / 2)``, and ``critical`` is
``Phi^-1(1 - alpha / 2)``; ``p_values`` are those adjusted p-values.

Either way, the probability that a certified top set is wrong (its order, for ``sequential``; its
membership, for ``bonferroni``) is at most ``alpha``, to the accuracy of the normal approximation
and of the robust covariance; ``tests/test_certification.py`` checks it on simulated fits with known
weights, near ties and exact ties. Each ranking (the explanation's own selected features; the full
fit's audio components; its lyric features) is its own family at level ``alpha``.

The features **tied at the boundary** are the ``(k+1)``-th ranked feature and every feature ranked
below it that it could not be separated from (``sequential``: the gap's two-sided z test, the test of
the runner-up, has p above ``alpha``, i.e. ``z < Phi^-1(1 - alpha / 2)``; ``bonferroni``:
``z < z_crit``; ``holm``: the pair is not rejected): a group the reader should see as one, since no number of samples may
order them. A ranking is not judged (``judged`` false, ``certified_top_k`` 0, the ``reason`` in its record)
when a modality has fewer than :data:`~musiclime.method.estimation.robust_fit.MIN_DRAWS_PER_PARAMETER`
distinct masks per parameter, or when a ranked weight has no variance (the covariance is positive
semi-definite by construction, :mod:`~musiclime.method.estimation.robust_fit`, so no negative variance
reaches a test; a zero one is not tested).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ...common.errors import ConfigError
from ..modality import FeatureLayout
from .robust_fit import MIN_DRAWS_PER_PARAMETER, Clustering, RobustFit, mask_clusters, robust_fit
from .sequential_ranks import (leading_run, pairwise_p_values, rank_p_values, signed_covariance, standard_normal,
                               unconditional_gap_p)

log = logging.getLogger(__name__)

#: Default family-wise error level (``explain.certification.alpha``).
DEFAULT_ALPHA = 0.1
#: The certification methods (``explain.certification.method``), the default first.
METHODS = ("holm", "sequential", "bonferroni")
DEFAULT_METHOD = METHODS[0]


def check_alpha(alpha: float, key: str = "explain.certification.alpha") -> float:
    """Return ``alpha`` or raise :class:`ConfigError` naming ``key`` unless ``0 < alpha < 1``."""
    if not 0 < alpha < 1:
        raise ConfigError(f"config key {key}: must be strictly between 0 and 1, got {alpha}")
    return float(alpha)


def check_method(method: str, key: str = "explain.certification.method") -> str:
    """Return ``method`` or raise :class:`ConfigError` naming ``key`` unless it is one of :data:`METHODS`."""
    if method not in METHODS:
        raise ConfigError(f"config key {key}: unknown method {method!r}; expected one of {METHODS}")
    return method


def pair_tests(num_ranked: int) -> int:
    """One-sided pair tests of a ranking of ``num_ranked`` features: ``m (m - 1) / 2``."""
    return num_ranked * (num_ranked - 1) // 2


def critical_z(num_ranked: int, alpha: float, method: str = DEFAULT_METHOD) -> float:
    """The standard errors a separation must reach.

    ``bonferroni``: ``Phi^-1(1 - alpha / (2 T))`` for ``T`` = :func:`pair_tests` (two-sided tests; inf when
    ``T`` = 0); ``sequential``: ``Phi^-1(1 - alpha / 2)`` whatever ``num_ranked`` (inf for fewer than 2
    features); ``holm``: ``Phi^-1(1 - alpha / 2)``, the bound on the z-equivalent of a Holm-adjusted
    two-sided p-value.
    """
    if method == "sequential":
        return -NormalDist().inv_cdf(alpha / 2) if num_ranked >= 2 else float("inf")
    if method == "holm":
        return -NormalDist().inv_cdf(alpha / 2) if num_ranked >= 2 else float("inf")
    tests = pair_tests(num_ranked)
    return -NormalDist().inv_cdf(alpha / (2 * tests)) if tests else float("inf")  # the upper quantile, without 1 - tiny


def correction_text(alpha: float, method: str = DEFAULT_METHOD) -> str:
    """The multiplicity correction in words, for the explanation's metadata."""
    if method == "sequential":
        return ("Goldwasser and Hooker's sequential test: rank r is verified when the leader of ranks r..m beats "
                "each of the others in a pairwise z-test conditioned on its selection (gap variance from the "
                f"cluster-robust covariance, V_ii + V_jj - 2 V_ij); ranks tested in order, each at alpha {alpha:g}, "
                f"stopping at the first failure; family-wise error <= {alpha:g} per ranking")
    if method == "holm":
        return ("Holm's step-down over every pair of each ranking (m(m-1)/2 two-sided z-tests of |w_i| against |w_j| on the "
                "cluster-robust covariance, the i-th smallest p-value held to alpha/(T-i+1)); the top-k set is certified "
                f"when every pair across its boundary is rejected; family-wise error <= {alpha:g} per ranking")
    return (f"Bonferroni over every pair of each ranking (m features: m(m-1)/2 two-sided z-tests of |w_i| against "
            f"|w_j|, each at alpha/(m(m-1)/2)); family-wise error <= {alpha:g} per ranking")


@dataclass(frozen=True)
class Certification:
    """Which top ranks of one ranking are certain.

    Attributes:
        certified_top_k: how many leading ranks are certified (0: none); see the module docstring for
            what each method certifies.
        ranking: column indices by ``|weight|``, descending ``(m,)``.
        tied_at_boundary: the ``(k+1)``-th column first, then those ranked below it that cannot be told
            apart from it (at least two when ``k < m - 1``); empty when ``k = m - 1`` or not judged.
        separations: ``(m - 1,)`` per ``k = 1 .. m - 1``, the evidence that the top ``k`` are certain, in
            standard errors (``bonferroni``: the smallest ``z_ab`` over the top ``k`` and the rest;
            ``sequential``: ``Phi^-1(1 - p / 2)`` for ``p`` the largest p-value of ranks ``1 .. k``).
        critical: the separation a certified top set reaches.
        tests: ``bonferroni``: ``T``, the pair tests the correction counts; ``sequential``: the rank tests
            run (the certified ones and the one that failed, each at ``alpha``).
        judged: false when there were too few draws to trust the standard errors.
        method: ``"sequential"``, ``"holm"`` or ``"bonferroni"``.
        p_values: ``(m - 1,)`` per ``k``: ``sequential``, rank ``k``'s largest pairwise p-value;
            ``holm`` and ``bonferroni``, the adjusted p-value of the top-``k`` set.
    """

    certified_top_k: int
    ranking: tuple[int, ...]
    tied_at_boundary: tuple[int, ...]
    separations: tuple[float, ...]
    critical: float
    tests: int
    judged: bool = True
    method: str = DEFAULT_METHOD
    p_values: tuple[float, ...] = ()
    #: why the ranking was not judged (empty when judged)
    reason: str = ""

    def separated(self, k: int) -> bool:
        """Is the top-``k`` set certain (``k >= m``: vacuously, if judged)? With ``sequential``, true
        exactly for ``k <= certified_top_k`` (and ``k >= m``)."""
        if not self.judged:
            return False
        return k >= len(self.ranking) or (k >= 1 and self.separations[k - 1] >= self.critical)

    def separation(self, k: int) -> float:
        """The evidence for the top ``k``, in standard errors (inf for ``k >= m``, 0 unjudged)."""
        if not self.judged:
            return 0.0
        return float("inf") if k >= len(self.ranking) else float(self.separations[k - 1])

    @property
    def certified_sets(self) -> tuple[int, ...]:
        """Every ``k`` in ``1 .. certified_top_k`` whose top-``k`` set is certified, ascending: with
        ``sequential`` all of them (the order of ranks ``1 .. k`` is certified); with ``holm`` and
        ``bonferroni`` those whose every pair across the boundary was rejected (one family, so all of them
        hold together). Rank ``r`` is certified in its own place when ``r`` and ``r - 1`` (or ``r = 1``)
        are both in it."""
        if not self.judged or self.certified_top_k < 1:
            return ()
        inner = (k for k in range(1, self.certified_top_k) if self.separated(k))
        return (*inner, int(self.certified_top_k))

    def as_dict(self) -> dict:
        """The metadata record: ``certified_top_k``, ``certified_sets`` (:attr:`certified_sets`),
        ``ranking``, ``tied_at_boundary``, ``tests``, ``critical_z``, ``judged``, ``method`` and
        ``p_values`` (of the ranks up to the first failure; ``sequential`` only)."""
        record = {"certified_top_k": int(self.certified_top_k), "certified_sets": list(self.certified_sets),
                  "ranking": [int(c) for c in self.ranking],
                  "tied_at_boundary": [int(c) for c in self.tied_at_boundary], "tests": int(self.tests),
                  "critical_z": round(float(self.critical), 4), "judged": bool(self.judged), "method": self.method}
        if self.method == "sequential":
            record["p_values"] = [float(f"{p:.4g}") for p in self.p_values[:self.tests]]
        if not self.judged and self.reason:
            record["reason"] = self.reason
        return record


def certify_weights(weights: np.ndarray, covariance: np.ndarray, alpha: float = DEFAULT_ALPHA,
                    columns: np.ndarray | None = None, method: str = DEFAULT_METHOD) -> Certification:
    """Certify the ranking of ``weights`` given their covariance.

    Args:
        weights: ``(m,)`` surrogate weights of the ranked features.
        covariance: ``(m, m)`` their covariance.
        alpha: family-wise error level, ``0 < alpha < 1``.
        columns: ``(m,)`` the mask column of each weight (``arange(m)`` by default): what the result names.
        method: ``"sequential"``, ``"holm"`` or ``"bonferroni"`` (module docstring).
    """
    check_method(method, "method")
    weights = np.asarray(weights, dtype=np.float64)
    m = len(weights)
    columns = np.arange(m) if columns is None else np.asarray(columns)
    order = np.argsort(-np.abs(weights), kind="stable")
    ranking = tuple(int(columns[i]) for i in order)
    critical = critical_z(m, alpha, method)
    if m < 2:
        return Certification(0, ranking, (), (), critical, 0, method=method)
    ranked = weights[order]
    ordered_cov = np.asarray(covariance, dtype=np.float64)[np.ix_(order, order)]
    if method == "sequential":
        result = _sequential(ranked, ordered_cov, ranking, alpha, critical)
    elif method == "holm":
        result = _holm(ranked, ordered_cov, ranking, alpha, critical)
    else:
        result = _bonferroni(ranked, ordered_cov, ranking, critical)
    if not np.all(np.diag(ordered_cov) > 0):
        return unjudged(result, NO_VARIANCE)
    return result


def _sequential(ranked: np.ndarray, covariance: np.ndarray, ranking: tuple[int, ...], alpha: float,
                critical: float) -> Certification:
    """Ranks verified one after another at ``alpha``, stopping at the first failure."""
    m = len(ranked)
    pairwise = pairwise_p_values(ranked, covariance)
    p_rank = rank_p_values(pairwise)
    k = leading_run(p_rank, alpha)
    gap_p = unconditional_gap_p(ranked, covariance, k) if k < m - 1 else None
    worst = np.maximum.accumulate(p_rank)  # ranks 1 .. k all verified <=> worst[k - 1] <= alpha
    separations = tuple(float(standard_normal().isf(p / 2)) for p in worst)
    # the boundary group: the failing rank's leader and those whose gap to it fails the plain two-sided
    # test (the runner-up's test); the conditional p of a lower feature also grows when the runner-up is
    # close (the selection), which says nothing about that feature's own gap
    tied = tuple(ranking[b] for b in range(k, m) if b == k or gap_p[b] > alpha) if k < m - 1 else ()
    return Certification(k, ranking, tied, separations, critical, min(k + 1, m - 1), method="sequential",
                         p_values=tuple(float(p) for p in p_rank))


def _bonferroni(ranked: np.ndarray, covariance: np.ndarray, ranking: tuple[int, ...],
                critical: float) -> Certification:
    """The largest top set separated from the rest in every pair, Bonferroni over all pairs."""
    m = len(ranked)
    z = _pair_statistics(ranked, covariance)
    # separations[k - 1] = min over a < k <= b of z[a, b]: the block above the diagonal, top-right of k
    separations = tuple(float(np.min(z[:k, k:])) for k in range(1, m))
    passing = [k for k in range(1, m) if separations[k - 1] >= critical]
    k = max(passing, default=0)
    # below a maximal k < m - 1 the (k+1)-th always ties with a lower feature, else top-(k+1) would pass
    tied = tuple(ranking[b] for b in range(k, m) if b == k or z[k, b] < critical) if k < m - 1 else ()
    tests = pair_tests(m)
    adjusted = tuple(float(min(1.0, tests * two_sided_p(s))) for s in separations)
    return Certification(k, ranking, tied, separations, critical, tests, method="bonferroni", p_values=adjusted)


def holm_adjusted(p_values: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values of ``p_values`` ``(T,)``: ``max over j <= i of min(1, (T - j + 1) p_(j))`` in
    increasing order, returned in the input's order; a hypothesis is rejected at ``alpha`` when its
    adjusted p-value is at most ``alpha``."""
    p_values = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p_values, kind="stable")
    scaled = np.minimum(1.0, (len(p_values) - np.arange(len(p_values))) * p_values[order])
    adjusted = np.empty_like(p_values)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def _holm(ranked: np.ndarray, covariance: np.ndarray, ranking: tuple[int, ...], alpha: float,
          critical: float) -> Certification:
    """The largest top set whose every pair across the boundary Holm's step-down rejects."""
    m = len(ranked)
    upper = np.triu_indices(m, 1)  # a ranked above b: the claim |w_a| > |w_b|
    adjusted = np.ones((m, m))
    adjusted[upper] = holm_adjusted(two_sided_p(_pair_statistics(ranked, covariance)[upper]))
    worst = [float(np.max(adjusted[:k, k:])) for k in range(1, m)]
    k = max((k for k in range(1, m) if worst[k - 1] <= alpha), default=0)
    tied = tuple(ranking[b] for b in range(k, m) if b == k or adjusted[k, b] > alpha) if k < m - 1 else ()
    separations = tuple(float(standard_normal().isf(min(p, 1 - 1e-12) / 2)) for p in worst)  # 0 for p = 1
    return Certification(k, ranking, tied, separations, critical, pair_tests(m), method="holm",
                         p_values=tuple(worst))


def two_sided_p(z):
    """Two-sided p-value ``2 (1 - Phi(|z|))`` of a pair's z: the ranking chose the pair's order from the
    data, so "``a`` above ``b``" is tested against both orders (one-sided, a tie at the boundary is
    certified in the order the data happened to show twice as often as ``alpha`` allows)."""
    return np.minimum(1.0, 2 * standard_normal().sf(np.abs(z)))


def _pair_statistics(ranked: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``z[a, b] = (|w_a| - |w_b|) / sd(|w_a| - |w_b|)`` for weights in rank order ``(m, m)``; 0 where the
    difference has no variance (only a covariance whose ranked variances are all positive is tested:
    :func:`certify_weights`)."""
    signed = signed_covariance(ranked, covariance)
    diag = np.diag(signed)
    var = diag[:, None] + diag[None, :] - 2 * signed
    gap = np.abs(ranked)[:, None] - np.abs(ranked)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, gap / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)


def enough_draws(clusters: list[Clustering]) -> bool:
    """Each clustering has at least :data:`MIN_DRAWS_PER_PARAMETER` clusters per parameter it identifies."""
    return all(c.groups >= MIN_DRAWS_PER_PARAMETER * c.parameters for c in clusters if c.sign > 0)


def certify_fit(masks: np.ndarray, target: np.ndarray, kernel_weights: np.ndarray, layout: FeatureLayout,
                columns, alpha: float = DEFAULT_ALPHA, method: str = DEFAULT_METHOD) -> tuple[RobustFit, Certification]:
    """Fit a weighted ridge on ``columns`` of ``masks`` with cluster-robust errors and certify its ranking.

    Args:
        masks: 0/1 ``(rows, F)``; row 0 is the unperturbed instance.
        target: ``(rows,)`` the explained class's probability per row.
        kernel_weights: ``(rows,)`` the surrogate's sample weights.
        layout: which columns are audio and which lyrics (the clusters).
        columns: the ranked features (mask column indices), e.g. an explanation's selected ones.
        alpha: family-wise error level.
        method: ``"sequential"`` or ``"bonferroni"``.

    Returns:
        The fit (``coef`` ``(len(columns),)`` in sorted column order) and its certification.
    """
    columns = np.sort(np.asarray(list(columns), dtype=np.int64))
    clusters = mask_clusters(np.asarray(masks).astype(np.int8), layout, columns)
    fitted = robust_fit(np.asarray(masks, dtype=np.float64)[:, columns], target, kernel_weights, clusters)
    result = certify_weights(fitted.coef, fitted.covariance, alpha, columns, method)
    return fitted, (result if enough_draws(clusters) else unjudged(result))


def certify_ranking(masks: np.ndarray, target: np.ndarray, kernel_weights: np.ndarray, layout: FeatureLayout,
                    columns, alpha: float = DEFAULT_ALPHA, method: str = DEFAULT_METHOD) -> Certification:
    """The certification of :func:`certify_fit` (same arguments)."""
    return certify_fit(masks, target, kernel_weights, layout, columns, alpha, method)[1]


#: Why a ranking is not judged: too few distinct masks for the robust standard errors.
TOO_FEW_DRAWS = (f"fewer than {MIN_DRAWS_PER_PARAMETER} distinct masks per surrogate parameter of a modality: the "
                 "cluster-robust standard errors are not trusted")
#: Why a ranking is not judged: a ranked weight without variance (no test can be run on it).
NO_VARIANCE = ("a ranked weight has no variance in the cluster-robust covariance (a fit that is exact on its rows, "
               "or a degenerate design): its rank cannot be tested")


def unjudged(result: Certification, reason: str = TOO_FEW_DRAWS) -> Certification:
    """``result`` marked as not judged, for ``reason``: nothing certified, no boundary group."""
    return Certification(0, result.ranking, (), result.separations, result.critical, result.tests, judged=False,
                         method=result.method, p_values=result.p_values, reason=reason)


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
                        alpha: float = DEFAULT_ALPHA, method: str = DEFAULT_METHOD,
                        level: float | None = None) -> dict:
    """``metadata["certification"]``: per label, the explanation's own ranking and each modality's.

    Args:
        masks: 0/1 ``(rows, F)``.
        predictions: probabilities ``(rows, n_classes)``.
        selected: ``{label: columns}`` the explanation's selected features per label. Their ranking is
            that of the weighted ridge refitted on them with the explanation's kernel: LIME's own final
            fit (for a ``kernel_shap`` explanation, a ridge on the features it weighs).
        full: ``{label: RobustFit}`` the full fit (:func:`musiclime.method.estimation.full_fit.fit_every_feature`),
            whose audio and lyrics parts are certified within their modality.
        kernel_weights: ``(rows,)`` the explanation's sample weights.
        alpha, method: the family-wise error level and the method (module docstring).
        level: the level each ranking is tested at, when less than ``alpha``: the rows were chosen by a
            stopping rule that looked at the data round by round
            (:func:`~musiclime.method.estimation.stopping.claim_level`), so its last look's share of ``alpha``.

    Returns:
        ``{"alpha", "method", "correction", "labels": {"<label>": {"certified_top_k", "ranking", "tied_at_boundary",
        "tests", "critical_z", "judged", "method", "p_values", "audio": {...}, "lyrics": {...}}}}``, and
        ``tested_at`` (the level) when the stopping rule spent ``alpha`` over its looks.
    """
    masks = np.asarray(masks)
    family_alpha, alpha = alpha, (alpha if level is None else min(float(level), alpha))
    trusted = enough_draws(mask_clusters(masks.astype(np.int8), layout))
    labels = {}
    for label, columns in selected.items():
        own = certify_ranking(masks, np.asarray(predictions)[:, label], kernel_weights, layout, columns, alpha, method)
        entry = own.as_dict()
        fit = full[label]
        for name, part in modality_columns(layout).items():
            within = certify_weights(fit.coef[part], fit.covariance[np.ix_(part, part)], alpha, part, method)
            entry[name] = (within if trusted else unjudged(within)).as_dict()
        labels[str(label)] = entry
        log.info("label %d: top-%d certified at alpha %g, %s (%s)", label, own.certified_top_k, alpha, method,
                 ", ".join(f"{name} top-{entry[name]['certified_top_k']}" for name in modality_columns(layout)))
    block = {"alpha": float(family_alpha), "method": method, "correction": correction_text(family_alpha, method),
             "labels": labels}
    if alpha < family_alpha:
        block["tested_at"] = float(f"{alpha:.4g}")
        block["correction"] += (f"; the stopping rule chose the rows after looking round by round, so each ranking is "
                                f"tested at {alpha:.3g}, its last look's share of alpha {family_alpha:g}")
    return block
