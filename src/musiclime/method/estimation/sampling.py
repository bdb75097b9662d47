"""Binary perturbation masks: which features (components, lines) each sample keeps.

Row 0 is always all ones: the unperturbed instance. Samplers:

* ``random``: each feature kept with probability 1/2, the seed's exact draw;
* ``exhaustive``: all ``2**num_features`` masks;
* ``paired``: random masks, each followed by its complement (antithetic sampling, as Kernel SHAP
  implementations do): a feature's effect is seen both switched on against a background and
  switched off against the complementary one, which cancels much of the noise of the others;
* ``factorial``: about ``sqrt(num_samples)`` audio masks and as many lyrics masks (at least one
  more than the modality has features), and ``num_samples`` of their pairs (all of them when
  ``num_samples`` is a square). A late-fusion model (:mod:`musiclime.method.scoring.late_fusion`) then
  encodes about ``2 sqrt(num_samples)`` inputs, and every model composes about
  ``sqrt(num_samples)`` waveforms;
* ``factorial_paired``: ``factorial`` with each modality's masks drawn in complementary pairs
  (at least ``2 (n + 1)`` masks for ``n`` features);
* ``shapley``: Kernel SHAP's design (as the ``shap`` package's KernelExplainer draws it): row 1
  all zeros, then pairs of a coalition and its complement, each coalition's size ``s`` drawn with
  probability proportional to ``1 / (s (M - s))`` (the Shapley kernel's mass on that size) and its
  features uniformly among those of that size. Kernel SHAP's regression on these rows needs no
  importance weights (:mod:`musiclime.method.estimation.shapley`), and the all-off row costs no extra call.

The factorial grid's masks are split between the modalities by ``allocation`` (``explain.grid_allocation``):
``equal`` (the default) gives each modality ``ceil(sqrt(num_samples))``; ``by_features`` spends the
same encoder items, ``2 ceil(sqrt(num_samples))``, in proportion to each modality's parameters
(features + 1), a modality never getting more masks than it has distinct ones (``2**n``, then all
of them, shuffled) and the other taking the rest; the grid then has ``k_audio * k_lyrics`` cells, and
``num_samples`` is capped at that. A song with 40 audio components and 7 distinct lyric lines gets
1,272 audio masks and all 128 lyrics masks for 1,400 encoder items, where ``equal`` draws 700 of
each (only about 128 of the lyrics ones distinct).

``by_attribution`` spends the same encoder items by need *and* by how much each modality matters,
in proportion to ``(n + 1) (share + 0.1)`` with ``share`` the modality's exact share of the effect
(:mod:`musiclime.method.estimation.coarse_attribution`), which only the model knows: the masks stage draws a
pool (:func:`factorial_pool`: each modality as many masks as any split could give it, every cell of
their grid in a random order) and the predict stage, once it has scored the coalitions, keeps the
cells of the split's corner (:func:`select_grid_rows`); the explanation is fitted to those rows.

The two ``factorial`` samplers need both modalities perturbed (``audio_columns`` leading audio
columns, lyrics after them); with one modality they are ``random`` and ``paired``.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...common.errors import ConfigError

SAMPLERS = ("random", "exhaustive", "paired", "factorial", "factorial_paired", "shapley")
#: How the factorial samplers split their masks between the modalities (``explain.grid_allocation``).
GRID_ALLOCATIONS = ("equal", "by_features", "by_attribution")
#: In ``by_attribution``, the least weight a modality's exact share gets (it still needs masks to be ranked).
ATTRIBUTION_FLOOR = 0.1
#: Samplers that draw a grid of audio x lyrics masks (both modalities perturbed).
FACTORIAL_SAMPLERS = ("factorial", "factorial_paired")
#: Samplers that draw complementary pairs of rows (rounds of the stopping rule take whole pairs).
PAIRED_SAMPLERS = ("paired", "shapley")
#: Largest feature count for the exhaustive sampler (2**20 masks).
MAX_EXHAUSTIVE_FEATURES = 20


def sample_masks(num_samples: int, num_features: int, random_state=None, sampler: str = "random",
                 audio_columns: int = 0, allocation: str = "equal") -> np.ndarray:
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
        allocation: one of :data:`GRID_ALLOCATIONS`, the factorial samplers' split of masks between
            the modalities (see the module docstring); other samplers ignore it.

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
        if allocation == "by_attribution":
            return factorial_pool(rng, num_samples, audio_columns, num_features - audio_columns, pairs)[0]
        return factorial_masks(rng, num_samples, audio_columns, num_features - audio_columns, pairs, allocation)
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
    :func:`musiclime.method.estimation.shapley.size_distribution` and the features uniformly among the
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
                    pairs: bool = False, allocation: str = "equal") -> np.ndarray:
    """Up to ``num_samples`` rows ``[audio mask | lyrics mask]`` drawn from a grid of audio x lyrics masks.

    With ``allocation="equal"`` each modality gets ``k = ceil(sqrt(num_samples))`` masks, but never
    fewer than the surrogate needs to tell its features apart: ``n + 1`` distinct masks for ``n``
    features, ``2 (n + 1)`` when drawn in complementary pairs (a mask and its complement add up to the
    all-ones row, so ``2m`` paired masks span only ``m + 1`` dimensions); ``"by_features"`` splits
    them by need (:func:`grid_sizes`). Row 0 of each modality's masks is all ones (with ``pairs`` row 1
    is all zeros); row 0 of the result is their all-ones pair, and the other rows are distinct pairs of
    the grid, drawn without replacement.

    Returns:
        int64 ``(min(num_samples, k_audio * k_text), n_audio + n_text)``.
    """
    k_audio, k_text = grid_sizes(num_samples, n_audio, n_text, pairs, allocation)
    draw = _random_rows if allocation == "equal" else _modality_rows  # equal: the masks drawn before allocation
    audio, lyrics = (draw(rng, k, n, pairs) for k, n in ((k_audio, n_audio), (k_text, n_text)))
    k_audio, k_text = len(audio), len(lyrics)
    rows = min(num_samples, k_audio * k_text)
    chosen = np.concatenate([[0], 1 + rng.choice(k_audio * k_text - 1, rows - 1, replace=False)])
    corner = np.maximum((chosen // k_text + 1) / k_audio, (chosen % k_text + 1) / k_text)
    chosen = chosen[np.argsort(corner, kind="stable")]
    return np.concatenate([audio[chosen // k_text], lyrics[chosen % k_text]], axis=1)


def grid_sizes(num_samples: int, n_audio: int, n_text: int, pairs: bool, allocation: str = "equal") -> tuple[int, int]:
    """Masks of each modality in a factorial grid: ``(k_audio, k_text)``.

    ``"equal"``: ``max(ceil(sqrt(num_samples)), minimum)`` each. ``"by_features"``: the same total of
    ``2 ceil(sqrt(num_samples))`` split in proportion to ``n + 1``, each at least its minimum and at most
    its ``2**n`` distinct masks, the other modality taking what one cannot use.
    """
    if allocation not in GRID_ALLOCATIONS:
        raise ConfigError(f"config key explain.grid_allocation: unknown allocation {allocation!r}; "
                          f"expected one of {GRID_ALLOCATIONS}")
    k = int(np.ceil(np.sqrt(num_samples)))
    minimum = [(n + 1) * (2 if pairs else 1) for n in (n_audio, n_text)]
    if allocation == "equal":
        return max(k, minimum[0]), max(k, minimum[1])
    if allocation == "by_attribution":  # before the model is asked: the pool's sizes
        return pool_sizes(num_samples, n_audio, n_text, pairs)
    caps = [max(2 ** min(n, 40), m) for n, m in zip((n_audio, n_text), minimum)]
    return _split(2 * k, (n_audio + 1, n_text + 1), minimum, caps)


def _split(budget: int, needs: tuple[float, float], minimum: list[int], caps: list[int]) -> tuple[int, int]:
    """``budget`` masks split in proportion to ``needs``, each within ``[minimum, cap]``, what one
    modality cannot use going to the other."""
    audio = int(round(budget * needs[0] / (needs[0] + needs[1])))
    audio = min(caps[0], max(minimum[0], audio))
    text = min(caps[1], max(minimum[1], budget - audio))
    audio = min(caps[0], max(audio, budget - text))
    return audio, text


def attribution_grid_sizes(num_samples: int, n_audio: int, n_text: int, pairs: bool,
                           audio_share: float | None) -> tuple[int, int]:
    """``by_attribution``'s masks per modality ``(k_audio, k_text)``: the ``by_features`` budget of
    ``2 ceil(sqrt(num_samples))`` encoder items split in proportion to ``(n + 1) (share + ATTRIBUTION_FLOOR)``,
    ``share`` each modality's exact share of the effect (``audio_share``; ``None``: 0.5 each)."""
    k = int(np.ceil(np.sqrt(num_samples)))
    minimum = [(n + 1) * (2 if pairs else 1) for n in (n_audio, n_text)]
    caps = [max(2 ** min(n, 40), m) for n, m in zip((n_audio, n_text), minimum)]
    share = 0.5 if audio_share is None else float(audio_share)
    needs = ((n_audio + 1) * (share + ATTRIBUTION_FLOOR), (n_text + 1) * (1 - share + ATTRIBUTION_FLOOR))
    return _split(2 * k, needs, minimum, caps)


def pool_sizes(num_samples: int, n_audio: int, n_text: int, pairs: bool) -> tuple[int, int]:
    """The masks of each modality in a ``by_attribution`` pool: the most any share could give it."""
    return attribution_grid_sizes(num_samples, n_audio, n_text, pairs, 1.0 - 1e-9)[0], \
        attribution_grid_sizes(num_samples, n_audio, n_text, pairs, 0.0)[1]


def factorial_pool(rng: np.random.RandomState, num_samples: int, n_audio: int, n_text: int,
                   pairs: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Every cell of a grid of audio x lyrics masks large enough for any ``by_attribution`` split.

    Returns:
        ``rows`` int64 ``(K_a * K_t, n_audio + n_text)``, the all-ones pair first and the other cells in
        a random order, and ``cells`` int64 ``(K_a * K_t, 2)``: each row's audio and lyrics mask index
        (masks are drawn as :func:`factorial_masks` draws them, every distinct one when a modality has few).
    """
    k_audio, k_text = pool_sizes(num_samples, n_audio, n_text, pairs)
    audio, lyrics = (_modality_rows(rng, k, n, pairs) for k, n in ((k_audio, n_audio), (k_text, n_text)))
    k_audio, k_text = len(audio), len(lyrics)
    order = np.concatenate([[0], 1 + rng.permutation(k_audio * k_text - 1)])
    cells = np.stack([order // k_text, order % k_text], axis=1).astype(np.int64)
    return np.concatenate([audio[cells[:, 0]], lyrics[cells[:, 1]]], axis=1), cells


def select_grid_rows(cells: np.ndarray, k_audio: int, k_text: int, num_samples: int) -> np.ndarray:
    """Pool rows of the ``k_audio x k_text`` corner of a :func:`factorial_pool` grid: the first
    ``num_samples`` in pool order (a random subset, row 0 first), then ordered corner first as
    :func:`factorial_masks` orders them (so rounds of the stopping rule start with few masks of each).

    Returns:
        int64 ``(min(num_samples, cells in the corner),)`` indices into the pool.
    """
    cells = np.asarray(cells)
    inside = np.flatnonzero((cells[:, 0] < k_audio) & (cells[:, 1] < k_text))[:num_samples]
    corner = np.maximum((cells[inside, 0] + 1) / k_audio, (cells[inside, 1] + 1) / k_text)
    return inside[np.argsort(corner, kind="stable")]


def allocate_pool(cells: np.ndarray, num_samples: int, n_audio: int, n_text: int, pairs: bool,
                  audio_share: float | None) -> tuple[np.ndarray, dict]:
    """The pool rows a ``by_attribution`` explanation scores, and the record of the split.

    Returns:
        ``rows`` (:func:`select_grid_rows`) and ``{"audio_share", "k_audio", "k_text", "rows"}``.
    """
    k_audio, k_text = attribution_grid_sizes(num_samples, n_audio, n_text, pairs, audio_share)
    rows = select_grid_rows(cells, k_audio, k_text, num_samples)
    return rows, {"audio_share": None if audio_share is None else round(float(audio_share), 4),
                  "k_audio": int(k_audio), "k_text": int(k_text), "rows": int(len(rows))}


def _modality_rows(rng: np.random.RandomState, k: int, n: int, pairs: bool) -> np.ndarray:
    """``k`` masks of ``n`` features: random (:func:`_random_rows`), or every distinct one, shuffled after
    the all-ones row (and its complement, with ``pairs``), when ``k`` reaches ``2**n``."""
    if n > 40 or k < 2**n:
        return _random_rows(rng, k, n, pairs)
    every = np.array(list(itertools.product((1, 0), repeat=n)), dtype=np.int64)  # all ones first
    if not pairs:
        return np.concatenate([every[:1], every[1:][rng.permutation(len(every) - 1)]])
    halves = every[: len(every) // 2]  # the first feature on: one mask of each complementary pair
    halves = np.concatenate([halves[:1], halves[1:][rng.permutation(len(halves) - 1)]])
    rows = np.empty((2 * len(halves), n), dtype=np.int64)
    rows[0::2], rows[1::2] = halves, 1 - halves
    return rows


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
