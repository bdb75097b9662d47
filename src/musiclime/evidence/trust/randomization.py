"""Model-randomization sanity checks (Adebayo et al. 2018): an explanation should change when the model does.

The explanation of the trained model and that of a model that learned nothing (the same
architecture with re-initialised weights, a cascade of partly re-initialised ones, or one trained
on shuffled labels) are compared by the Spearman rank correlation of their ``|weight|`` over the
same features; a value near 0 means the explanation depends on what the model learned (the check
passes).

The correlation is reported over every feature, per modality, and within modality (docs/reports.md's
recommended variant). Over both modalities together it mostly measures the modality split: lyric
lines and audio components sit at different weight scales in any model (the demo's lyric lines
carry 2 to 10 times the audio components' mean ``|weight|``, trained or not), so the two blocks
rank apart whatever the model learned. Per modality, features are ranked against their own kind,
but one modality has few features (16 to 40 on the demo: a Spearman correlation of independent
rankings of 16 items has a standard deviation of about 0.26). Within modality pools both: each
feature's rank within its modality, centred and scaled per modality, correlated over every
feature (Pearson), so the split cannot correlate and every feature counts.
"""

from __future__ import annotations

import numpy as np

from ...common.errors import MusicLimeError
from ...method.explanation import MusicLIMEExplanation
from ...method.explanation_views import weight_vector
from ...method.estimation.rank_agreement import spearman

#: ``randomization_spearman_<part>`` metric suffixes: over every feature, per modality, within modality
PARTS = ("overall", "audio", "lyrics", "within_modality")


def _absolute_weights(original: MusicLIMEExplanation, randomized: MusicLIMEExplanation,
                      label: int) -> tuple[np.ndarray, np.ndarray]:
    """``|weight|`` vectors ``(num_features,)`` of both explanations for ``label``
    (see :func:`randomization_spearman`)."""
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
    return spearman(*_absolute_weights(original, randomized, label))


def randomization_by_modality(original: MusicLIMEExplanation, randomized: MusicLIMEExplanation,
                              label: int) -> dict[str, float]:
    """The correlation over every feature and per modality: ``{part: rho}`` for each of :data:`PARTS`.

    ``audio`` / ``lyrics`` rank only that modality's features (NaN when the explanation has fewer
    than 2 of them or their weights are constant); ``within_modality`` is :func:`within_modality_spearman`.
    """
    a, b = _absolute_weights(original, randomized, label)
    is_audio = np.array([f["type"] == "audio" for f in original.features], dtype=bool)
    return {"overall": spearman(a, b), "audio": spearman(a[is_audio], b[is_audio]),
            "lyrics": spearman(a[~is_audio], b[~is_audio]),
            "within_modality": within_modality_spearman(a, b, is_audio)}


def within_modality_spearman(a: np.ndarray, b: np.ndarray, groups: np.ndarray) -> float:
    """Rank correlation of ``a`` and ``b`` ``(num_features,)`` with the ranks taken within each group.

    Each feature's rank (ties averaged) within its group (``groups``: a label per feature, e.g.
    ``True`` for audio) is centred on the group's mean rank and divided by ``group size - 1``; the
    result is the Pearson correlation of those over every feature. With one group it is Spearman's
    correlation. A group whose values are all tied in one vector adds no agreement (it counts as
    uncorrelated there).
    NaN when nothing varies.
    """
    from scipy.stats import rankdata

    a, b, groups = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), np.asarray(groups)
    ranks_a, ranks_b = np.zeros(len(a)), np.zeros(len(b))
    for group in np.unique(groups):
        members = groups == group
        size = int(members.sum())
        if size < 2:
            continue
        for ranks, values in ((ranks_a, a), (ranks_b, b)):
            r = rankdata(values[members])
            ranks[members] = (r - r.mean()) / (size - 1)
    if not ranks_a.any() or not ranks_b.any():
        return float("nan")
    return float(np.sum(ranks_a * ranks_b) / np.sqrt(np.sum(ranks_a ** 2) * np.sum(ranks_b ** 2)))
