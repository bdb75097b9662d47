"""The trust metrics of the second-opinion surrogate's weights (``metadata["alternative_surrogate"]``).

The same stability, faithfulness and randomization metrics as the explanation's own, computed on
the other surrogate's weights and named with its prefix (``shap_`` for Kernel SHAP, ``lime_`` for
LIME): ``shap_jaccard_top5``, ``shap_kendall_tau``, ``shap_deletion_aopc``, ``shap_insertion_aopc``,
``shap_randomization_spearman`` (and its ``_audio``, ``_lyrics``, ``_within_modality`` parts), ...
Faithfulness moves the features in the other surrogate's order only (``2 (steps + 1)`` model
items); the random-order baselines are the explanation's own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ...method.explanation import MusicLIMEExplanation, load_explanation
from ...method.explanation_views import weight_vector
from ...method.estimation.second_opinion import alternative_view
from .faithfulness import aopc, explanation_order, order_curves
from .randomization import randomization_by_modality
from .stability import stability

log = logging.getLogger(__name__)

#: Metric-name prefix of each surrogate's second opinion.
PREFIXES = {"kernel_shap": "shap_", "lime": "lime_"}


@dataclass
class SecondOpinionTrust:
    """Prefixed metrics of the second opinion, its deletion/insertion curves, notes and model items."""

    metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    model_items: int = 0


def second_opinion_trust(explanation: MusicLIMEExplanation, label: int, evaluation, *,
                         seed_explanations: Sequence[str | Path] = (), randomized_explanation: str | Path | None = None,
                         faithfulness_inputs: tuple | None = None, batch_size: int = 32) -> SecondOpinionTrust:
    """Trust metrics of ``explanation``'s second opinion (empty when it has none).

    Args:
        explanation: the evaluated explanation.
        label: the evaluated class.
        evaluation: the ``evaluation`` config slice (switches and ``faithfulness_steps``).
        seed_explanations: the explanations of other mask seeds (their second opinions are compared).
        randomized_explanation: the randomized model's explanation.
        faithfulness_inputs: ``(factorization, text factorization, layout, predict_fn)`` when
            faithfulness is evaluated.
    """
    out = SecondOpinionTrust()
    second = alternative_view(explanation)
    if second is None:
        return out
    prefix = PREFIXES[second.metadata["surrogate"]]
    if evaluation.get("stability", True) and seed_explanations:
        others = [alternative_view(load_explanation(p)) for p in seed_explanations]
        if all(other is not None for other in others):
            out.metrics.update({prefix + k: v for k, v in stability([second, *others], label).items()
                                if k != "n_seeds"})
        else:
            out.notes.append(f"{prefix}stability skipped: an explanation of another mask seed has no second opinion")
    if faithfulness_inputs is not None and evaluation.get("faithfulness", True):
        fact, text, layout, predict_fn = faithfulness_inputs
        steps = min(int(evaluation.get("faithfulness_steps", 10)), layout.num_features)
        probs, _ = order_curves(fact, text, layout, predict_fn, [explanation_order(weight_vector(second, label))],
                                label, steps, batch_size)
        deletion, insertion = probs[0]
        out.metrics.update({prefix + "deletion_aopc": aopc(deletion, "deletion"),
                            prefix + "insertion_aopc": aopc(insertion, "insertion")})
        out.curves = {"deletion": deletion.tolist(), "insertion": insertion.tolist()}
        out.model_items = int(deletion.size + insertion.size)
    if evaluation.get("randomization", True) and randomized_explanation is not None:
        randomized = alternative_view(load_explanation(randomized_explanation))
        if randomized is None:
            out.notes.append(f"{prefix}randomization skipped: the randomized model's explanation has no second opinion")
        else:
            for part, rho in randomization_by_modality(second, randomized, label).items():
                out.metrics[prefix + "randomization_spearman" + ("" if part == "overall" else f"_{part}")] = rho
    return out
