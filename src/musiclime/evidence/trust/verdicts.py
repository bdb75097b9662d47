"""Verdicts: does each trust metric pass its threshold? A reader should not need to know the scales.

Thresholds (stated in docs/reports.md, "How far to trust them"):

* **stable** (claims): the page's claims hold across mask seeds (:mod:`.claim_stability`): every
  pair of the song's explanations certifies nested sets, names leaders the other certifies, and
  states the same shares (``claims_sets_nested``, ``claims_leaders_agree`` and ``claims_shares_agree``
  all 1). The top-5 Jaccard index stays beside it as a figure.
* where the claims were not checked (the second-opinion surrogate, which certifies nothing, and
  evaluations written before): **stable** when ``jaccard_top5 >= 0.6`` (explanations with other mask
  seeds share, on average, about 4 of their top-5 features: 4 shared of 5 is a Jaccard index of 0.67,
  3 of 5 is 0.43), and **stable in content** when ``jaccard_top5_content >= 0.6``, the same with
  copies of a repeated lyric line counted as one feature;
* **faithful**: ``deletion_aopc - random_deletion_aopc >= 0.1`` (removing features in explanation
  order lowers the explained class's probability by at least 0.1 more, averaged over the curve,
  than removing them in random orders);
* **passes the randomization check**: ``|randomization_spearman_within_modality| < 0.3`` (the
  explanation of a model that learned nothing ranks the features of each modality in an order
  weakly related to the trained model's; see :mod:`.randomization`). The cascading and
  data-randomization variants get verdicts with the same threshold.

A metric that was not computed gives no verdict. The second-opinion surrogate's metrics
(``shap_`` / ``lime_`` prefixed, :mod:`.second_opinion`) get the same verdicts, their checks
prefixed alike (``shap_stability``, ...); its faithfulness is judged against the shared random orders.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping

from .claim_stability import CLAIM_METRICS

STABLE_JACCARD_TOP5 = 0.6
FAITHFUL_DELETION_MARGIN = 0.1
RANDOMIZATION_MAX_SPEARMAN = 0.3
#: the randomization variants that get a verdict: ``(metric prefix, what the verdict calls the check)``
RANDOMIZATION_CHECKS = (("randomization", "randomization check"),
                        ("data_randomization", "data-randomization check"))
#: metric prefixes of the second-opinion surrogate
SECOND_OPINION_PREFIXES = ("shap_", "lime_")


@dataclass(frozen=True)
class Verdict:
    """One check's outcome.

    Attributes:
        check: ``stability``, ``faithfulness``, ``randomization``, ``cascade_<layers>`` or
            ``data_randomization``.
        passed: whether the metric passes its threshold.
        label: the verdict in words ("stable", "not faithful", ...).
        evidence: the number against its threshold, e.g. ``"top-5 Jaccard 0.39 < 0.6"``.
    """

    check: str
    passed: bool
    label: str
    evidence: str

    def as_dict(self) -> dict:
        return asdict(self)


def _number(metrics: Mapping, name: str) -> float | None:
    value = metrics.get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def verdicts(metrics: Mapping) -> list[Verdict]:
    """The verdicts that ``metrics`` (an ``evaluation.json``'s ``metrics``) allow, in a fixed order:
    the explanation's own, then its second opinion's (checks named ``shap_stability``, ...)."""
    own = {k: v for k, v in metrics.items() if not k.startswith(SECOND_OPINION_PREFIXES)}
    out = _verdicts_of(own, "")
    for prefix in SECOND_OPINION_PREFIXES:
        second = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}
        if second:
            out += _verdicts_of({"random_deletion_aopc": metrics.get("random_deletion_aopc"), **second}, prefix)
    return out


def claims_verdict(metrics: Mapping, jaccard: float | None = None) -> Verdict | None:
    """The stability verdict on the page's claims (``None`` when they were not checked)."""
    values = [_number(metrics, name) for name in CLAIM_METRICS]
    if any(v is None for v in values):
        return None
    passed = all(v >= 1.0 for v in values)
    pairs = _number(metrics, "claims_pairs")
    seeds = f" over {pairs:.0f} pairs of mask seeds" if pairs else ""
    figure = "" if jaccard is None else f"; top-5 Jaccard {jaccard:.2f}, a figure"
    return Verdict("stability", passed, "stable" if passed else "not stable",
                   f"certified sets nested {values[0]:.2f}, named leaders agree {values[1]:.2f}, shares agree "
                   f"{values[2]:.2f} (1 = every pair){seeds}{figure}")


def _verdicts_of(metrics: Mapping, prefix: str) -> list[Verdict]:
    """Verdicts of unprefixed ``metrics``, their checks named ``<prefix><check>``."""
    out = []
    jaccard = _number(metrics, "jaccard_top5")
    claims = claims_verdict(metrics, jaccard)
    if claims is not None:
        out.append(claims)
    elif jaccard is not None:
        passed = jaccard >= STABLE_JACCARD_TOP5
        out.append(Verdict(prefix + "stability", passed, "stable" if passed else "not stable",
                           f"top-5 Jaccard {jaccard:.2f} {'>=' if passed else '<'} {STABLE_JACCARD_TOP5:g}"))
    content = _number(metrics, "jaccard_top5_content")
    if content is not None and claims is None:
        passed = content >= STABLE_JACCARD_TOP5
        out.append(Verdict(prefix + "stability_content", passed,
                           "stable in content" if passed else "not stable in content",
                           f"top-5 Jaccard with copies of a lyric line as one {content:.2f} "
                           f"{'>=' if passed else '<'} {STABLE_JACCARD_TOP5:g}"))
    deletion, baseline = _number(metrics, "deletion_aopc"), _number(metrics, "random_deletion_aopc")
    if deletion is not None and baseline is not None:
        margin = deletion - baseline
        passed = margin >= FAITHFUL_DELETION_MARGIN
        out.append(Verdict(prefix + "faithfulness", passed, "faithful" if passed else "not faithful",
                           f"deletion AOPC {deletion:.3f} vs {baseline:.3f} for random orders: margin {margin:+.3f} "
                           f"{'>=' if passed else '<'} {FAITHFUL_DELETION_MARGIN:g}"))
    checks = list(RANDOMIZATION_CHECKS)
    suffix = "_spearman_within_modality"
    checks[1:1] = [(name[:-len(suffix)], f"cascade check ({name[len('cascade_'):-len(suffix)]})")
                   for name in metrics if name.startswith("cascade_") and name.endswith(suffix)]
    for name, check in checks:
        rho = _number(metrics, f"{name}_spearman_within_modality")
        if rho is None:
            continue
        passed = abs(rho) < RANDOMIZATION_MAX_SPEARMAN
        out.append(Verdict(prefix + name, passed, f"passes the {check}" if passed else f"fails the {check}",
                           f"within-modality Spearman {rho:+.2f}, |rho| {'<' if passed else '>='} "
                           f"{RANDOMIZATION_MAX_SPEARMAN:g}"))
    return out
