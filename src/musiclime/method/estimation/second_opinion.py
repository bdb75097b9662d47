"""Two surrogates on the same scored masks: the chosen one explains, the other gives a second opinion.

``lime`` (:mod:`musiclime.method.estimation.surrogate`) and ``kernel_shap`` (:mod:`musiclime.method.estimation.shapley`)
both fit the masks and predictions the model already scored, so the second costs one least-squares
fit, never a model call. The explanation keeps the chosen surrogate's weights as its own and the
other's in ``metadata["alternative_surrogate"]``:

    {"method": "kernel_shap" | "lime",
     "labels": {"<label>": {"intercept", "score", "local_prediction", "weights": [[index, weight], ...]}},
     "agreement": {"<label>": {"jaccard_top5", "spearman_abs"}},
     "fit_seconds": float}

or, when the other surrogate could not be fitted, ``{"method", "note"}``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from ...common.errors import ConfigError, MusicLimeError
from ..explanation import MusicLIMEExplanation
from .rank_agreement import agreement
from .shapley import effective_samples, fit_kernel_shap, regression_weights
from .surrogate import SurrogateFit, fit_surrogate

log = logging.getLogger(__name__)

#: Values of ``explain.surrogate``.
SURROGATES = ("lime", "kernel_shap")


def check_surrogate(surrogate: str) -> str:
    """Return ``surrogate`` or raise naming ``explain.surrogate`` and the allowed values."""
    if surrogate not in SURROGATES:
        raise ConfigError(f"config key explain.surrogate: unknown surrogate {surrogate!r}; expected one of {SURROGATES}")
    return surrogate


def other_surrogate(surrogate: str) -> str:
    """The surrogate that gives the second opinion on ``surrogate``'s explanation."""
    return SURROGATES[1 - SURROGATES.index(check_surrogate(surrogate))]


@dataclass
class SurrogateSet:
    """The chosen surrogate's fits and the other's.

    Attributes:
        method: the chosen surrogate (``explain.surrogate``).
        fits: ``{label: SurrogateFit}`` of ``method``.
        alternative: the other surrogate's ``{label: SurrogateFit}``; ``None`` when it was not fitted.
        note: why the other surrogate was not fitted.
        seconds: fit time per surrogate (s).
    """

    method: str
    fits: dict[int, SurrogateFit]
    alternative: dict[int, SurrogateFit] | None = None
    note: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    #: Kish's effective sample size of Kernel SHAP's regression weights (rows), when it was fitted
    kernel_shap_effective_samples: float | None = None

    def metadata(self, num_features: int) -> dict:
        """What the explanation's metadata records of the surrogates: ``surrogate``,
        ``alternative_surrogate`` and ``kernel_shap_effective_samples`` (when Kernel SHAP was fitted)."""
        block = {"surrogate": self.method, "alternative_surrogate": self.alternative_block(num_features)}
        if self.kernel_shap_effective_samples is not None:
            block["kernel_shap_effective_samples"] = self.kernel_shap_effective_samples
        return block

    @property
    def alternative_method(self) -> str:
        return other_surrogate(self.method)

    def alternative_block(self, num_features: int) -> dict:
        """``metadata["alternative_surrogate"]`` (see the module docstring) for ``num_features`` features."""
        block: dict = {"method": self.alternative_method}
        if self.alternative is None:
            return {**block, "note": self.note}
        block["labels"] = {str(label): {"intercept": fit.intercept, "score": fit.score,
                                        "local_prediction": fit.local_pred,
                                        "weights": [[int(i), float(w)] for i, w in fit.local_exp]}
                           for label, fit in self.alternative.items()}
        block["agreement"] = {str(label): agreement(dense(self.fits[label], num_features), dense(fit, num_features))
                              for label, fit in self.alternative.items()}
        block["fit_seconds"] = self.seconds.get(self.alternative_method, 0.0)
        return block


def dense(fit: SurrogateFit, num_features: int) -> np.ndarray:
    """A fit's weight of every feature ``(num_features,)`` (0 for features it left out)."""
    weights = np.zeros(num_features)
    for index, weight in fit.local_exp:
        weights[int(index)] = weight
    return weights


def fit_surrogates(masks: np.ndarray, predictions: np.ndarray, labels: Iterable[int], surrogate: str = "lime", *,
                   prediction_all_off: np.ndarray | None = None, sampler: str = "random", second_opinion: bool = True,
                   kernel_width: float = 25.0, distance_scale: float = 1.0, feature_selection: str = "auto",
                   num_features: int = 20, random_state=None) -> SurrogateSet:
    """Fit ``surrogate`` and (with ``second_opinion``) the other one on the same scored masks.

    Args:
        masks: 0/1 ``(n, M)``, row 0 all ones.
        predictions: probabilities ``(n, n_classes)``.
        surrogate: ``"lime"`` or ``"kernel_shap"`` (``explain.surrogate``).
        prediction_all_off: probabilities ``(n_classes,)`` with every explained feature off (Kernel
            SHAP's ``v(0)``); ``None`` when not scored (an all-zero mask row then serves, if any).
        sampler: the sampler that drew ``masks`` (Kernel SHAP's importance weights).
        kernel_width, distance_scale, feature_selection, num_features, random_state: LIME's settings.

    Raises:
        MusicLimeError: ``surrogate="kernel_shap"`` without ``v(0)``. When only the second opinion
            lacks it, it is skipped with a note instead.
    """
    labels = [int(label) for label in labels]
    lime_settings = {"kernel_width": kernel_width, "distance_scale": distance_scale,
                     "feature_selection": feature_selection, "num_features": num_features,
                     "random_state": random_state}

    def run(method: str) -> dict[int, SurrogateFit]:
        start = time.perf_counter()
        if method == "lime":
            fits = fit_surrogate(masks, predictions, labels, **lime_settings)
        else:
            fits = fit_kernel_shap(masks, predictions, labels, prediction_all_off, sampler=sampler)
        seconds[method] = time.perf_counter() - start
        return fits

    seconds: dict[str, float] = {}
    result = SurrogateSet(check_surrogate(surrogate), run(surrogate), seconds=seconds)
    if second_opinion:
        try:
            result.alternative = run(result.alternative_method)
        except MusicLimeError as exc:
            result.note = f"{result.alternative_method} not fitted: {exc}"
            log.info("%s", result.note)
    if "kernel_shap" in seconds:
        result.kernel_shap_effective_samples = effective_samples(regression_weights(np.asarray(masks), sampler))
    return result


def alternative_view(explanation: MusicLIMEExplanation) -> MusicLIMEExplanation | None:
    """The explanation as the second-opinion surrogate gives it (same features, metadata and
    predictions; its weights, intercepts, scores), or ``None`` when it has none."""
    block = explanation.metadata.get("alternative_surrogate") or {}
    if not block.get("labels"):
        return None
    view = MusicLIMEExplanation(None, None, explanation.data, explanation.predictions, modality=explanation.modality,
                                features=explanation.features,
                                probabilities_original=explanation.probabilities_original,
                                metadata={**explanation.metadata, "surrogate": block["method"]},
                                class_names=explanation.class_names)
    for label, entry in block["labels"].items():
        view.add_fit(SurrogateFit(label=int(label), intercept=entry["intercept"], score=entry["score"],
                                  local_exp=[(int(i), float(w)) for i, w in entry["weights"]],
                                  local_pred=entry["local_prediction"]))
    return view
