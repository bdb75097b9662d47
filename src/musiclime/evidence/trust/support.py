"""Do the masks support the second opinion? Kernel SHAP's values are reported (with verdicts) only if so.

Kernel SHAP (:mod:`musiclime.method.estimation.shapley`) reweighs every mask by the Shapley kernel divided by
the probability that the sampler drew it. On the uniform masks of ``random``, ``paired`` and
``factorial`` those importance weights are very uneven, and Kish's effective sample size
(``metadata["kernel_shap_effective_samples"]``) is a small fraction of the rows: 31 to 97 of 300 on
the demo songs, for 56 to 62 features. A regression of ``M`` coefficients on fewer than ``2 M``
effective rows has more unknowns per row than any ranking can bear; its instability and poor
faithfulness then say how the masks were drawn, not what the model does. So the second opinion is
shown, and judged, only with at least :data:`MIN_EFFECTIVE_ROWS_PER_FEATURE` effective rows per
feature (the same bound :func:`musiclime.method.estimation.shapley.fit_kernel_shap` warns at). LIME's weights
need no importance weights, so a LIME second opinion is always supported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping

#: Effective rows per feature Kernel SHAP needs before its values (and their verdicts) are reported.
MIN_EFFECTIVE_ROWS_PER_FEATURE = 2


@dataclass(frozen=True)
class SecondOpinionSupport:
    """Whether the second-opinion surrogate is reported.

    Attributes:
        shown: report its weights, metrics and verdicts.
        method: the second opinion's surrogate (``kernel_shap`` or ``lime``); ``None`` when there is none.
        reason: why it is not shown, in words (``None`` when shown).
        effective_rows: Kish's effective sample size of Kernel SHAP's weights, when recorded.
        needed: the effective rows it needs (``2 M``), when it is Kernel SHAP.
    """

    shown: bool
    method: str | None = None
    reason: str | None = None
    effective_rows: float | None = None
    needed: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def rows_scored(metadata: Mapping) -> int | None:
    """Mask rows the surrogates were fitted on (``samples_used``, else ``parameters.num_samples``)."""
    value = metadata.get("samples_used") or (metadata.get("parameters") or {}).get("num_samples")
    return None if value is None else int(value)


def kernel_shap_shortfall(metadata: Mapping, num_features: int) -> tuple[float, int] | None:
    """``(effective rows, needed)`` when Kernel SHAP's importance weights leave fewer than
    :data:`MIN_EFFECTIVE_ROWS_PER_FEATURE` effective rows per feature; ``None`` when they suffice or
    were not recorded."""
    ess = metadata.get("kernel_shap_effective_samples")
    if ess is None or not math.isfinite(float(ess)):
        return None
    needed = MIN_EFFECTIVE_ROWS_PER_FEATURE * int(num_features)
    return (float(ess), needed) if float(ess) < needed else None


def shortfall_text(metadata: Mapping, ess: float, needed: int) -> str:
    """``"its importance weights leave 47 effective rows of 300 (needs 112)"``."""
    rows = rows_scored(metadata)
    return f"its importance weights leave {ess:.0f} effective rows" + (
        f" of {rows}" if rows else "") + f" (needs {needed}, {MIN_EFFECTIVE_ROWS_PER_FEATURE} per feature)"


def second_opinion_support(metadata: Mapping, num_features: int) -> SecondOpinionSupport:
    """Whether an explanation's second opinion (``metadata["alternative_surrogate"]``) is reported.

    Args:
        metadata: the explanation's metadata.
        num_features: its features (mask columns), ``M``.
    """
    block = metadata.get("alternative_surrogate") or {}
    method = block.get("method")
    if not block.get("labels"):
        return SecondOpinionSupport(False, method, block.get("note") or "no second-opinion surrogate was fitted")
    if method != "kernel_shap":
        return SecondOpinionSupport(True, method)
    shortfall = kernel_shap_shortfall(metadata, num_features)
    if shortfall is None:
        ess = metadata.get("kernel_shap_effective_samples")
        return SecondOpinionSupport(True, method, effective_rows=None if ess is None else float(ess),
                                    needed=MIN_EFFECTIVE_ROWS_PER_FEATURE * int(num_features))
    ess, needed = shortfall
    reason = (f"Kernel SHAP's second opinion is not shown: {shortfall_text(metadata, ess, needed)}; "
              "use explain.sampler=shapley (its masks need no importance weights) or more explain.num_samples")
    return SecondOpinionSupport(False, method, reason, ess, needed)


#: Metric and check-name prefixes of the second opinion (``shap_jaccard_top5``, ``shap_stability``, ...).
SECOND_OPINION_PREFIXES = ("shap_", "lime_")


def gated_evaluation(evaluation: Mapping | None, support: SecondOpinionSupport) -> dict | None:
    """``evaluation`` (an ``evaluation.json`` document) as a reader may see it: without the second
    opinion's metrics and verdicts when the masks do not support it (``"second_opinion"`` says why).

    Files written before the gate carry those verdicts; this keeps them off pages and indexes.
    """
    if evaluation is None or support.shown or support.method is None:
        return None if evaluation is None else dict(evaluation)
    gated = dict(evaluation)
    gated["metrics"] = {k: v for k, v in (evaluation.get("metrics") or {}).items()
                        if not k.startswith(SECOND_OPINION_PREFIXES)}
    if "verdicts" in evaluation:
        gated["verdicts"] = [v for v in evaluation["verdicts"] if not v["check"].startswith(SECOND_OPINION_PREFIXES)]
    gated["second_opinion"] = support.as_dict()
    return gated


def explanation_caveat(metadata: Mapping, num_features: int) -> str | None:
    """A warning when the explanation itself is Kernel SHAP's (``explain.surrogate=kernel_shap``) on
    masks that leave it too few effective rows: its own verdicts then reflect the masks; ``None`` otherwise."""
    if metadata.get("surrogate") != "kernel_shap":
        return None
    shortfall = kernel_shap_shortfall(metadata, num_features)
    if shortfall is None:
        return None
    return (f"This explanation is Kernel SHAP's, and {shortfall_text(metadata, *shortfall)}: its values are noisy "
            "and a failing verdict below may say how the masks were drawn rather than what the model does; "
            "use explain.sampler=shapley or more explain.num_samples")
