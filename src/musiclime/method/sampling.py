"""Binary perturbation masks: which features (components, lines) each sample keeps.

Row 0 is always all ones: the unperturbed instance. Samplers:

* ``random``: each feature kept with probability 1/2, the seed's exact draw;
* ``exhaustive``: all ``2**num_features`` masks;
* ``paired``: random masks, each followed by its complement (antithetic sampling, as Kernel SHAP
  implementations do): a feature's effect is seen both switched on against a background and
  switched off against the complementary one, which cancels much of the noise of the others;
* ``factorial``: about ``sqrt(num_samples)`` audio masks and as many lyrics masks (at least one
  more than the modality has features), and ``num_samples`` of their pairs (all of them when
  ``num_samples`` is a square). A late-fusion model (:mod:`musiclime.method.late_fusion`) then
  encodes about ``2 sqrt(num_samples)`` inputs, and every model composes about
  ``sqrt(num_samples)`` waveforms;
* ``factorial_paired``: ``factorial`` with each modality's masks drawn in complementary pairs
  (at least ``2 (n + 1)`` masks for ``n`` features);
* ``shapley``: Kernel SHAP's design (as the ``shap`` package's KernelExplainer draws it): row 1
  all zeros, then pairs of a coalition and its complement, each coalition's size ``s`` drawn with
  probability proportional to ``1 / (s (M - s))`` (the Shapley kernel's mass on that size) and its
  features uniformly among those of that size. Kernel SHAP's regression on these rows needs no
  importance weights (:mod:`musiclime.method.shapley`), and the all-off row costs no extra call.

The two ``factorial`` samplers need both modalities perturbed (``audio_columns`` leading audio
columns, lyrics after them); with one modality they are ``random`` and ``paired``.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..common.errors import ConfigError

SAMPLERS = ("random", "exhaustive", "paired", "factorial", "factorial_paired", "shapley")
#: Samplers that draw complementary pairs of rows (rounds of the stopping rule take whole pairs).
PAIRED_SAMPLERS = ("paired", "shapley")
#: Largest feature count for the exhaustive sampler (2**20 masks).
MAX_EXHAUSTIVE_FEATURES = 20


def sample_masks(num_samples: int, num_features: int, random_state=None, sampler: str = "random",
                 audio_columns: int = 0) -> np.ndarray:
    """Draw perturbation masks.

    ``"random"`` reproduces the seed exactly:
    ``RandomState(seed).randint(0, 2, num_samples * num_features).reshape(num_samples, num_features)``
    with row 0 set to ones. ``"exhaustive"`` returns all ``2**num_features`` masks (all-ones
    first, then the others in binary order), when that is at most ``num_samples``.

    Args:
        num_samples: rows to draw (``"exhaustive"``: an upper bound).
        num_features: columns.
        random_state: int seed, ``numpy.random.RandomState`` or ``None``.
        sampler: one of :data:`SAMPLERS` (see the module docstring).
        audio_columns: leading columns that are audio components when both modalities are
            perturbed (the rest are lyrics); 0 when only one modality is.

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
    if sampler in ("paired", "factorial", "factorial_paired"):
        rng = as_random_state(random_state)
        pairs = sampler != "factorial"
        if sampler == "paired" or not 0 < audio_columns < num_features:
            return _random_rows(rng, num_samples, num_features, pairs)
        return factorial_masks(rng, num_samples, audio_columns, num_features - audio_columns, pairs)
    if sampler == "shapley":
        return shapley_masks(as_random_state(random_state), num_samples, num_features)
    raise ConfigError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")


def _random_rows(rng: np.random.RandomState, n_rows: int, width: int, pairs: bool) -> np.ndarray:
    """``(n_rows, width)`` int64 random 0/1 rows, row 0 all ones; with ``pairs`` odd rows complement even ones."""
    if not pairs:
        rows = rng.randint(0, 2, (n_rows, width)).astype(np.int64)
    else:
        halves = rng.randint(0, 2, (-(-n_rows // 2), width)).astype(np.int64)
        rows = np.empty((2 * len(halves), width), dtype=np.int64)
        rows[0::2], rows[1::2] = halves, 1 - halves
        rows[1] = 0  # the complement of the all-ones row 0
        rows = rows[:n_rows]
    rows[0] = 1
    return rows


def shapley_masks(rng: np.random.RandomState, num_samples: int, num_features: int) -> np.ndarray:
    """``num_samples`` rows: all ones, all zeros, then complementary pairs with Shapley-kernel sizes.

    Each pair's first row has ``s`` features on, ``s`` drawn from
    :func:`musiclime.method.shapley.size_distribution` and the features uniformly among the
    ``C(M, s)`` coalitions of that size; its partner is the complement (size ``M - s``, the same
    kernel weight). With one feature, the rows alternate ones and zeros.

    Returns:
        int64 ``(num_samples, num_features)``.
    """
    from .shapley import size_distribution

    n_pairs = -(-num_samples // 2)
    rows = np.zeros((2 * n_pairs, num_features), dtype=np.int64)
    rows[0::2] = 1
    if num_features > 1:
        sizes = 1 + rng.choice(num_features - 1, n_pairs - 1, p=size_distribution(num_features))
        for pair, size in enumerate(sizes, start=1):
            rows[2 * pair] = 0
            rows[2 * pair, rng.permutation(num_features)[:size]] = 1
        rows[3::2] = 1 - rows[2::2]
    return rows[:num_samples]


def factorial_masks(rng: np.random.RandomState, num_samples: int, n_audio: int, n_text: int,
                    pairs: bool = False) -> np.ndarray:
    """``num_samples`` rows ``[audio mask | lyrics mask]`` drawn from a grid of audio x lyrics masks.

    Each modality gets ``k = ceil(sqrt(num_samples))`` masks, but never fewer than the surrogate needs
    to tell its features apart: ``n + 1`` distinct masks for ``n`` features, ``2 (n + 1)`` when drawn
    in complementary pairs (a mask and its complement add up to the all-ones row, so ``2m`` paired
    masks span only ``m + 1`` dimensions). Row 0 of each modality's masks is all ones (with ``pairs``
    row 1 is all zeros); row 0 of the result is their all-ones pair, and the other ``num_samples - 1``
    rows are distinct pairs of the grid, drawn without replacement.

    Returns:
        int64 ``(num_samples, n_audio + n_text)``.
    """
    k = int(np.ceil(np.sqrt(num_samples)))
    k_audio, k_text = (max(k, (n + 1) * (2 if pairs else 1)) for n in (n_audio, n_text))
    audio, lyrics = _random_rows(rng, k_audio, n_audio, pairs), _random_rows(rng, k_text, n_text, pairs)
    chosen = np.concatenate([[0], 1 + rng.choice(k_audio * k_text - 1, num_samples - 1, replace=False)])
    corner = np.maximum((chosen // k_text + 1) / k_audio, (chosen % k_text + 1) / k_text)
    chosen = chosen[np.argsort(corner, kind="stable")]
    return np.concatenate([audio[chosen // k_text], lyrics[chosen % k_text]], axis=1)


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
