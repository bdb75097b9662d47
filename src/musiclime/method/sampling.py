"""Binary perturbation masks: which features (components, lines) each sample keeps.

Row 0 is always all ones: the unperturbed instance.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..common.errors import ConfigError

SAMPLERS = ("random", "exhaustive")
#: Largest feature count for the exhaustive sampler (2**20 masks).
MAX_EXHAUSTIVE_FEATURES = 20


def sample_masks(num_samples: int, num_features: int, random_state=None, sampler: str = "random") -> np.ndarray:
    """Draw perturbation masks.

    ``"random"`` reproduces the seed exactly:
    ``RandomState(seed).randint(0, 2, num_samples * num_features).reshape(num_samples, num_features)``
    with row 0 set to ones. ``"exhaustive"`` returns all ``2**num_features`` masks (all-ones
    first, then the others in binary order), when that is at most ``num_samples``.

    Args:
        num_samples: rows to draw (``"exhaustive"``: an upper bound).
        num_features: columns.
        random_state: int seed, ``numpy.random.RandomState`` or ``None``.

    Returns:
        int64 array ``(num_samples, num_features)`` (``(2**num_features, num_features)`` when exhaustive).
    """
    if num_samples < 2:
        raise ConfigError(f"num_samples must be at least 2, got {num_samples}")
    if num_features < 1:
        raise ConfigError(f"there must be at least one feature to perturb, got {num_features}")
    if sampler == "random":
        rng = as_random_state(random_state)
        masks = rng.randint(0, 2, num_samples * num_features).reshape((num_samples, num_features))
        masks[0, :] = 1
        return masks
    if sampler == "exhaustive":
        if num_features > MAX_EXHAUSTIVE_FEATURES or 2**num_features > num_samples:
            raise ConfigError(
                f"the exhaustive sampler needs 2**{num_features} = {2**num_features} samples but num_samples is "
                f"{num_samples}; raise num_samples or use sampler='random'"
            )
        rows = np.array(list(itertools.product((1, 0), repeat=num_features)), dtype=np.int64)
        return rows  # itertools.product((1, 0)) starts with the all-ones row
    raise ConfigError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")


def as_random_state(random_state=None) -> np.random.RandomState:
    """``numpy.random.RandomState`` from an int seed, an existing ``RandomState`` or ``None``.

    Same rules as scikit-learn's ``check_random_state`` (``None`` is NumPy's global state), without
    importing scikit-learn.
    """
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, (int, np.integer)):
        return np.random.RandomState(int(random_state))
    raise ValueError(f"random_state must be None, an int or a numpy RandomState, got {random_state!r}")
