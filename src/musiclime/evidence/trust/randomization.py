"""Model-randomization sanity checks (Adebayo et al. 2018): an explanation should change when the model does.

The explanation of the trained model and that of a model that learned nothing (the same
architecture with re-initialised weights, a cascade of partly re-initialised ones, or one trained
on shuffled labels) are compared by the Spearman rank correlation of their ``|weight|`` over the
same features; a value near 0 means the explanation depends on what the model learned (the check
passes).

The correlation is reported over every feature and per modality. Over both modalities together it
mostly measures the modality split: lyric lines and audio components sit at different weight
scales in any model (the demo's lyric lines carry 2 to 10 times the audio components' mean
``|weight|``, trained or not), so the two blocks rank apart whatever the model learned. Per
modality, features are ranked against their own kind; :func:`modality_spearman` averages the two.
"""

from __future__ import annotations

import numpy as np

from ...common.errors import MusicLimeError
from ...method.explanation import MusicLIMEExplanation
from ...method.explanation_views import weight_vector

#: ``randomization_spearman_<part>`` metric suffixes: over every feature, per modality, their mean
PARTS = ("overall", "audio", "lyrics", "modality_mean")


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of two vectors, NaN when either is constant or shorter than 2."""
    from scipy.stats import spearmanr

    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _absolute_weights(original: MusicLIMEExplanation, randomized: MusicLIMEExplanation,
                      label: int) -> tuple[np.ndarray, np.ndarray]:
    """``|weight|`` vectors ``(num_features,)`` of both explanations for ``label`` (see :func:`randomization_spearman`)."""
    keys = [[(f["type"], f["feature"], f["index"]) for f in e.features] for e in (original, randomized)]
    if keys[0] != keys[1]:
        raise MusicLimeError("randomization check: the two explanations do not share their features")
    other = label
    if label not in randomized.local_exp:
        # two probabilities summing to 1: the surrogate of one class mirrors the other's, |weights| agree
        if len(randomized.local_exp) == 1 and len(randomized.class_names) == 2:
            other = next(iter(randomized.local_exp))
        else:
            raise MusicLimeError(f"randomization check: the randomized model's explanation lacks label {label}; "
                                 f"explain it with explain.labels=[{label}]")
    return np.abs(weight_vector(original, label)), np.abs(weight_vector(randomized, other))


def randomization_spearman(original: MusicLIMEExplanation, randomized: MusicLIMEExplanation, label: int) -> float:
    """Spearman correlation of ``|weight|`` (for ``label``) between two explanations of the same features.

    NaN when either explanation has constant weights. With two classes the randomized explanation
    may explain the other class (its ``|weights|`` are the same).
    """
    return _spearman(*_absolute_weights(original, randomized, label))


def randomization_by_modality(original: MusicLIMEExplanation, randomized: MusicLIMEExplanation,
                              label: int) -> dict[str, float]:
    """The correlation over every feature and per modality: ``{part: rho}`` for each of :data:`PARTS`.

    ``audio`` / ``lyrics`` rank only that modality's features (NaN when the explanation has fewer
    than 2 of them or their weights are constant); ``modality_mean`` is the mean of the modalities
    that have a value (with a single modality, that modality's value).
    """
    a, b = _absolute_weights(original, randomized, label)
    is_audio = np.array([f["type"] == "audio" for f in original.features], dtype=bool)
    result = {"overall": _spearman(a, b), "audio": _spearman(a[is_audio], b[is_audio]),
              "lyrics": _spearman(a[~is_audio], b[~is_audio])}
    present = [v for v in (result["audio"], result["lyrics"]) if np.isfinite(v)]
    result["modality_mean"] = float(np.mean(present)) if present else float("nan")
    return result
