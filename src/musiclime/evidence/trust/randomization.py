"""Model-randomization sanity check (Adebayo et al. 2018): an explanation should change when the model does.

The explanation of the trained model and that of the same architecture with re-initialised weights
are compared by the Spearman rank correlation of their ``|weight|`` over the same features; a value
near 0 means the explanation depends on what the model learned (the check passes).
"""

from __future__ import annotations

import numpy as np

from ...common.errors import MusicLimeError
from ...method.explanation import MusicLIMEExplanation
from ...method.explanation_views import weight_vector


def randomization_spearman(original: MusicLIMEExplanation, randomized: MusicLIMEExplanation, label: int) -> float:
    """Spearman correlation of ``|weight|`` (for ``label``) between two explanations of the same features.

    NaN when either explanation has constant weights. With two classes the randomized explanation
    may explain the other class (its ``|weights|`` are the same).
    """
    from scipy.stats import spearmanr

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
    a, b = np.abs(weight_vector(original, label)), np.abs(weight_vector(randomized, other))
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
