"""Score what an explanation is fitted to: the coarse coalitions first, then the mask rows they select.

The exact coarse attribution (:mod:`.coalitions`, :mod:`musiclime.method.estimation.coarse_attribution`)
is scored before any mask, because two choices depend on it: which modalities the stopping rule
must resolve (``explain.stopping.modality_top_k``: those that matter) and, for
``explain.grid_allocation=by_attribution``, which cells of the drawn pool the factorial grid keeps.
The workflow's predict stage and the library's facade both score through :func:`score_explanation_rows`;
the workflow scores a song's coalitions once per model and lyric unit (its ``attribute`` stage) and hands
the table in, the facade scores them here. A late-fusion model's encodings of the coalitions (the whole
lyrics, the all-on and all-off audio) serve the rows too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..estimation.coarse_attribution import CoalitionTable, modalities_that_matter, modality_values
from ..estimation.sampling import PAIRED_SAMPLERS, allocate_pool
from ..estimation.stopping import StoppingRule
from ..modality import FeatureLayout
from .coalitions import score_coalitions
from .late_fusion import EncodingStore
from .inference import PredictFn
from .model_io import PredictionResult
from .rounds import StoppingRecord, score_masks


@dataclass(frozen=True)
class ScoredRows:
    """An explanation's scored rows and what decided them.

    Attributes:
        masks: 0/1 ``(rows, F)`` the rows scored, in order (the surrogate is fitted to these).
        result: their predictions ``(rows, n_classes)`` and costs.
        record: the stopping rule's record (``None`` without a rule).
        coalitions: the coarse players' probabilities (the exact attribution).
        pool_rows: ``(rows,)`` indices of ``masks`` into the drawn pool (``by_attribution``), else ``None``
            (the rows are a prefix of the drawn masks).
        allocation: the ``by_attribution`` split (``k_audio``, ``k_text``, ``audio_share``, ``rows``), else ``None``.
    """

    masks: np.ndarray
    result: PredictionResult
    record: StoppingRecord | None
    coalitions: CoalitionTable
    pool_rows: np.ndarray | None = None
    allocation: dict | None = None


def score_explanation_rows(audio_factorization, text_factorization, masks: np.ndarray, layout: FeatureLayout,
                           predict_fn: PredictFn, rule: StoppingRule | None, label: int, sampler: str,
                           grid_cells: np.ndarray | None = None, num_samples: int | None = None,
                           coalitions: CoalitionTable | None = None, **settings) -> ScoredRows:
    """Score the coalitions, keep the pool's split when ``grid_cells`` is given, then score the masks.

    Args:
        masks: 0/1 ``(n, F)`` the drawn masks (with ``grid_cells``: the pool, one row per grid cell).
        rule: the stopping rule, or ``None`` to score every (kept) row.
        label: the class the rule and the split look at (the predicted one).
        sampler: the masks' sampler (paired samplers score whole pairs per round).
        grid_cells: ``(n, 2)`` each pool row's audio and lyrics mask index (``by_attribution``).
        num_samples: the rows to keep from the pool (``explain.num_samples``).
        coalitions: the song's coalitions scored before (:func:`.coalitions.score_coalitions` with this
            model and lyric unit), or ``None`` to score them here.
        settings: ``batch_size``, ``progress``, ``memory_budget_mb`` of the scoring.
    """
    store = EncodingStore()
    if coalitions is None:
        coalitions = score_coalitions(audio_factorization, text_factorization, predict_fn,
                                      batch_size=settings.get("batch_size", 32),
                                      memory_budget_mb=settings.get("memory_budget_mb"), store=store)
    pool_rows = allocation = None
    if grid_cells is not None:
        pool_rows, allocation = allocate_pool(grid_cells, num_samples, layout.n_audio, layout.n_text,
                                              sampler == "factorial_paired",
                                              modality_values(coalitions, label)["audio_share"])
        masks = masks[pool_rows]
    result, record = score_masks(audio_factorization, text_factorization, masks, layout, predict_fn, rule, label,
                                 sampler in PAIRED_SAMPLERS, required=modalities_that_matter(coalitions, label),
                                 store=store, **settings)
    used = len(result.predictions)
    return ScoredRows(masks[:used], result, record, coalitions, None if pool_rows is None else pool_rows[:used],
                      allocation)
