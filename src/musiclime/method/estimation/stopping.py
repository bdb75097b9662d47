"""Stop drawing samples once the top-k features are certified (``explain.stopping``).

The masks of an explanation are scored in rounds (prefixes of the mask matrix of growing length).
After each round, a weighted least-squares surrogate is fitted to the rows scored so far, on the
``num_features`` features with the largest weights of a first fit on all of them (LIME's default
selection, so the rule judges the ranking the explanation shows), and the rule asks whether at least
``k`` top ranks are certified at the family-wise level ``alpha`` by
:mod:`musiclime.method.estimation.certification` with the rule's ``method`` (the same test the explanation
records, ``sequential`` by default): with ``sequential``, ranks ``1 .. k`` must each be verified in
turn (Goldwasser and Hooker's test, each rank at ``alpha``; for the runner-up pair that is a gap of
``z = Phi^-1(1 - alpha / 2)`` standard errors of the difference, 1.64 at ``alpha = 0.1``), so a tie
at rank ``k`` or above keeps the rule going; with ``bonferroni``, some top set of size ``k' >= k``
must be separated from every other feature, each pair's gap ``|w_i| - |w_j|`` exceeding
``z = Phi^-1(1 - alpha / (m (m - 1) / 2))`` standard errors (3.28 for ``m = 20``, ``alpha = 0.1``),
and a certified top-7 ends the rule for ``k = 5`` even when ranks 5 and 6 tie (the seven are
certain as a set). The first round that passes ends
the scoring; otherwise the budget (``num_samples``) does. Each round records how many top ranks
were certified.

Standard errors are cluster-robust (:mod:`musiclime.method.estimation.robust_fit`): rows that share an audio
mask (or its complement) count as one draw, as do rows that share a lyrics mask, and a round with
fewer than :data:`~musiclime.method.estimation.robust_fit.MIN_DRAWS_PER_PARAMETER` clusters per parameter is not
judged at all.

The rule judges with its own kernel (``kernel_width``, ``distance_scale``; by default the flat
kernel of the default fit), so the rows a song uses do not depend on the fit's settings, and a
kernel-width sweep refits on the same rows without running the model.

**Alpha is spent across the looks.** Every round is a look at the data and a chance to stop on a
wrong ranking; certifying the explanation at the full ``alpha`` on the rows where the rule stopped
made its claims wrong more often than ``alpha`` (0.15 against 0.095 at a fixed budget, measured
before). So look ``r`` tests at ``alpha * (n_r - n_{r-1}) / N`` (:func:`look_fractions`: ``n_r`` rows
scored by then, ``N`` the budget), a linear spending function whose levels add up to ``alpha``, and
the explanation's certified ranks are tested at the level of the look where the rule stopped (or the
last look): by the union bound over the looks, every claim holds at ``alpha`` whichever look the
data stopped at. The record says so (``look_fraction``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np

from ...common.errors import ConfigError
from .certification import (DEFAULT_ALPHA, DEFAULT_METHOD, METHODS, certify_fit, certify_weights, critical_z,
                            enough_draws, modality_columns)
from ..modality import FeatureLayout
from .robust_fit import mask_clusters, robust_fit
from .surrogate import exponential_kernel, mask_distances

log = logging.getLogger(__name__)

#: How the rule spends ``alpha`` over its looks: ``linear`` in rows (:func:`look_fractions`).
SPENDING_FUNCTIONS = ("linear",)


@dataclass(frozen=True)
class StoppingRule:
    """When to stop scoring rounds of masks.

    Attributes:
        top_k: how many leading features must be certified.
        alpha: family-wise error level of the certification (:mod:`musiclime.method.estimation.certification`).
        first_round: rows of the first round (including the unperturbed row 0).
        growth: each round's prefix is this many times the previous one (rounded up to whole pairs
            for the paired samplers).
        num_features: features the rule's surrogate keeps: the largest weights of a fit on every
            feature, refitted alone (LIME's default selection, ``feature_selection="auto"`` with
            ``explain.num_features = 20``), so the rule judges the ranking the explanation shows.
        kernel_width, distance_scale: the kernel of the rule's surrogate (see the module docstring).
        method: the certification method, ``"sequential"`` or ``"bonferroni"``
            (:mod:`musiclime.method.estimation.certification`).
        modality_top_k: top ranks each modality **that matters** must also have certified within its
            own ranking (the full fit's, as the page shows it) before the rule stops; a modality matters
            when the exact coarse attribution says removing it, or its Shapley value, moves the
            explained class's probability by at least
            :data:`~musiclime.method.estimation.coarse_attribution.RESOLVABLE_EFFECT` (0: the joint ranking alone).
            Samples are then spent where the audio (or the lyrics) matters and its boundary is
            uncertain, and not on resolving the ranking of a modality the model ignores.
        spending: how ``alpha`` is spent over the looks (:data:`SPENDING_FUNCTIONS`; ``linear``:
            :func:`look_fractions`). A setting of its own so that rows chosen by a rule that spent
            nothing (before it existed) get new keys and are scored again.
    """

    top_k: int = 5
    alpha: float = DEFAULT_ALPHA
    first_round: int = 250
    growth: float = 1.5
    num_features: int = 20
    kernel_width: float = 25.0
    distance_scale: float = 1.0
    method: str = DEFAULT_METHOD
    modality_top_k: int = 0
    spending: str = "linear"

    def __post_init__(self):
        checks = [(self.top_k >= 1, "top_k", "must be >= 1"),
                  (0 < self.alpha < 1, "alpha", "must be strictly between 0 and 1"),
                  (self.first_round >= 2, "first_round", "must be >= 2"), (self.growth > 1, "growth", "must be > 1"),
                  (self.num_features >= self.top_k, "num_features", "must be >= top_k"),
                  (self.kernel_width > 0, "kernel_width", "must be > 0"),
                  (self.distance_scale > 0, "distance_scale", "must be > 0"),
                  (self.method in METHODS, "method", f"must be one of {METHODS}"),
                  (self.modality_top_k >= 0, "modality_top_k", "must be >= 0"),
                  (self.spending in SPENDING_FUNCTIONS, "spending", f"must be one of {SPENDING_FUNCTIONS}")]
        for ok, key, message in checks:
            if not ok:
                raise ConfigError(f"config key explain.stopping.{key}: {message}, got {getattr(self, key)}")

    @classmethod
    def from_config(cls, config: dict | None) -> "StoppingRule | None":
        """The rule of an ``explain.stopping`` mapping; ``None`` (or ``enabled: false``) turns it off."""
        if not config or not config.get("enabled", True):
            return None
        if "z" in config:  # the rule before certification: a fixed threshold without multiplicity correction
            raise ConfigError("config key explain.stopping.z: replaced by explain.stopping.alpha (the top-k set must "
                              "be certified at that family-wise level; docs/samplers.md, \"Stopping rule\")")
        return cls(**{k: v for k, v in config.items() if k != "enabled"})

    def as_dict(self) -> dict:
        """The settings, and ``z``: the separation (standard errors) a certified top-``k`` reaches in a
        ranking of ``num_features`` (:func:`~musiclime.method.estimation.certification.critical_z`)."""
        return {**asdict(self), "z": round(critical_z(self.num_features, self.alpha, self.method), 2)}


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


def look_fractions(ends: list[int]) -> list[float]:
    """Each look's share of ``alpha`` (:func:`round_ends`' prefix lengths ``ends``): the rows it adds over
    the budget, ``(n_r - n_{r-1}) / N``; they add up to 1."""
    total = float(ends[-1])
    return [(end - previous) / total for previous, end in zip([0] + list(ends[:-1]), ends)]


def claim_level(alpha: float, stopping: dict | None) -> float:
    """The level an explanation's certified ranks are tested at: ``alpha``, times the share of ``alpha``
    the stopping rule's last look spent when it chose the rows (``stopping``: its record, or ``None``)."""
    if not stopping:
        return float(alpha)
    return float(alpha) * float(stopping.get("look_fraction", 1.0))


@dataclass(frozen=True)
class BoundaryTest:
    """One round's verdict.

    Attributes:
        rows: rows the surrogate was fitted to.
        top: the ``top_k`` feature indices, by absolute weight (descending).
        weights: ``(F,)`` the surrogate's weights (0 for features it did not keep).
        separation: the largest :meth:`~musiclime.method.estimation.certification.Certification.separation` of a top
            set of ``k`` or more features (``bonferroni``: the smallest ``(|w_i| - |w_j|) / se`` over its
            features ``i`` and the others ``j``; ``sequential``: that of the top ``k``, the z-equivalent of
            the largest p-value of ranks ``1 .. k``); ``inf`` when every feature is in the top, 0 when the
            round was not judged.
        stable: at least ``k`` top ranks are certified (``separation >= critical``).
        certified_top_k: how many top ranks are certified (:mod:`musiclime.method.estimation.certification`).
        critical: the separation a certified top set reaches (:func:`~musiclime.method.estimation.certification.critical_z`).
        modality_certified: per modality the rule required (``modality_top_k``), the top ranks certified
            within its own ranking; empty when none was required.
    """

    rows: int
    top: tuple[int, ...]
    weights: np.ndarray
    separation: float
    stable: bool
    certified_top_k: int = 0
    critical: float = float("inf")
    modality_certified: dict = field(default_factory=dict)


def boundary_test(masks: np.ndarray, target: np.ndarray, layout: FeatureLayout, rule: StoppingRule,
                  required: tuple[str, ...] = (), alpha: float | None = None) -> BoundaryTest:
    """Is the top-``k`` set of a weighted least-squares surrogate of ``target`` on ``masks`` certified
    (and, for each modality in ``required``, its own top ``rule.modality_top_k`` ranks)?

    Args:
        masks: 0/1 ``(rows, F)``; row 0 is the unperturbed instance.
        target: ``(rows,)`` the explained class's probability for each row.
        layout: which columns are audio and which lyrics (the clusters of the standard errors).
        required: modalities (``"audio"``, ``"lyrics"``) whose own ranking must reach ``modality_top_k``
            certified ranks (those the coarse attribution says matter; see :class:`StoppingRule`).
        alpha: this look's level (its share of ``rule.alpha``, :func:`look_fractions`); ``rule.alpha``
            when not given.
    """
    level = rule.alpha if alpha is None else float(alpha)
    masks = np.asarray(masks, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    weights = exponential_kernel(mask_distances(masks, rule.distance_scale), rule.kernel_width)
    columns = np.arange(masks.shape[1])
    if rule.num_features < len(columns):  # LIME's default selection: the largest weights of a fit on every feature
        first = robust_fit(masks, target, weights, []).coef
        columns = np.sort(np.argsort(-np.abs(first), kind="stable")[:rule.num_features])
    fitted, certified = certify_fit(masks, target, weights, layout, columns, level, rule.method)
    coef = np.zeros(masks.shape[1])
    coef[columns] = fitted.coef
    k = min(rule.top_k, len(columns))
    # at least k top ranks certified: the best separation of a top set of k or more features
    separation = max(certified.separation(depth) for depth in range(k, max(k + 1, len(columns))))
    stable = separation >= certified.critical
    within = modality_depths(masks, target, weights, layout, rule, required, level) if rule.modality_top_k else {}
    for modality, depth in within.items():
        stable = stable and depth >= min(rule.modality_top_k, len(modality_columns(layout)[modality]) - 1)
    return BoundaryTest(len(masks), tuple(certified.ranking[:k]), coef, separation, stable,
                        certified.certified_top_k, certified.critical, within)


def modality_depths(masks: np.ndarray, target: np.ndarray, weights: np.ndarray, layout: FeatureLayout,
                    rule: StoppingRule, modalities: tuple[str, ...], alpha: float | None = None) -> dict[str, int]:
    """Top ranks certified within each of ``modalities``' own ranking: a ridge on every feature with
    cluster-robust errors (the fit stage's full fit), certified per modality as the page shows it.

    Returns:
        ``{modality: certified_top_k}`` (0 for a modality with too few distinct masks to judge).
    """
    parts = {name: cols for name, cols in modality_columns(layout).items() if name in modalities}
    if not parts:
        return {}
    clusters = mask_clusters(masks.astype(np.int8), layout)
    full = robust_fit(masks, target, weights, clusters)
    judged = enough_draws(clusters)
    level = rule.alpha if alpha is None else float(alpha)
    return {name: (certify_weights(full.coef[cols], full.covariance[np.ix_(cols, cols)], level, cols,
                                   rule.method).certified_top_k if judged else 0)
            for name, cols in parts.items()}
