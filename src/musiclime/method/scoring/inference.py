"""Streaming model inference over perturbation masks.

Each batch of mask rows is turned into ``batch_size`` perturbed (text, audio) pairs on the fly and
scored by ``predict_fn``; only one block of waveforms exists at a time, in a buffer sized by a
memory budget, so memory is O(budget), not O(num_samples x nb_timesteps).

``predict_fn(texts: list[str], audios: float32 (batch, nb_timesteps)) -> (batch, n_classes)``
returns class probabilities. ``audios`` is a NumPy array, or a torch tensor on the device named by
the function's ``torch_device`` attribute when it has one (:mod:`musiclime.method.scoring.composers`); it is a
view of a reused buffer, valid only during the call.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from ...common.errors import ConfigError
from ...factorization.base import Factorization
from .composers import make_composer, model_device, to_model_input
from .memory_budget import DEFAULT_MEMORY_BUDGET_MB, MIB
from .late_fusion import DistinctRows, EncodingStore, distinct_rows, is_late_fusion, predict_late_fusion
from ..modality import FeatureLayout
from .model_io import COST_FIELDS, PredictionResult, take_rows, texts_for, validate_probabilities

log = logging.getLogger(__name__)

PredictFn = Callable[[list, np.ndarray], np.ndarray]


def predict_masks(audio_factorization: Factorization, text_factorization, masks: np.ndarray,
                  layout: FeatureLayout, predict_fn: PredictFn, batch_size: int = 32,
                  progress: bool = True, memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
                  store: EncodingStore | None = None) -> PredictionResult:
    """Score every perturbed instance described by ``masks``, each distinct audio mask composed once.

    Waveforms are composed block by block into one reused buffer of at most ``memory_budget_mb``
    (with the composer's tables); a ``predict_fn`` with a ``torch_device`` attribute gets tensors
    composed on that device (:mod:`musiclime.method.scoring.composers`), any other gets NumPy arrays.
    A late-fusion model (:mod:`musiclime.method.scoring.late_fusion`) encodes each distinct audio and
    lyrics input once and fuses every row; a plain ``predict_fn`` gets every row, but rows that
    share an audio mask share its one composition.

    Args:
        audio_factorization: components to compose audio from.
        text_factorization: ``LineIndexedString`` or ``WordIndexedString``.
        masks: 0/1 ``(num_samples, layout.num_features)``.
        layout: which columns are audio components and which lyric features.
        predict_fn: the classifier, called with at most ``batch_size`` items (fewer when that many
            waveforms exceed the budget).
        memory_budget_mb: MiB for the composition buffer and tables.
        store: a late-fusion model's encodings of earlier rounds (:mod:`musiclime.method.estimation.stopping`),
            reused and extended; ignored for a plain ``predict_fn``.

    Returns:
        The predictions ``(num_samples, n_classes)`` and call statistics.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.shape[1] != layout.num_features:
        raise ValueError(f"masks must be (num_samples, {layout.num_features}), got {masks.shape}")
    budget_bytes = int(memory_budget_mb * MIB)
    if is_late_fusion(predict_fn):
        return predict_late_fusion(audio_factorization, text_factorization, masks, layout, predict_fn, batch_size,
                                   budget_bytes, progress, store)
    audio = distinct_rows(layout.audio_masks(masks))
    if len(audio) == len(masks):
        return _predict_streaming(audio_factorization, text_factorization, masks, layout, predict_fn, batch_size,
                                  progress, budget_bytes)
    return _predict_grouped(audio_factorization, text_factorization, masks, layout, audio, predict_fn, batch_size,
                            progress, budget_bytes)


def _predict_streaming(audio_factorization, text_factorization, masks, layout, predict_fn, batch_size, progress,
                       budget_bytes) -> PredictionResult:
    """Every row its own waveform: compose the rows in order, block by block."""
    start = time.perf_counter()
    num_samples = masks.shape[0]
    composer, plan = make_composer(audio_factorization, model_device(predict_fn), num_samples, batch_size,
                                   budget_bytes)
    outputs: list[np.ndarray] = []
    n_classes = None
    n_batches = -(-num_samples // plan.model_batch)
    bar = tqdm(total=n_batches, desc="predict", unit="batch", disable=not progress, leave=False)
    for block_start in range(0, num_samples, plan.block_rows):
        block = masks[block_start:block_start + plan.block_rows]
        audios = composer.compose(layout.audio_masks(block))
        for offset in range(0, len(block), plan.model_batch):
            rows = block[offset:offset + plan.model_batch]
            first = block_start + offset
            texts = texts_for(text_factorization, layout.text_masks(rows))
            where = f"batch {first // plan.model_batch} (samples {first}..{first + len(rows) - 1})"
            output = predict_fn(texts, audios[offset:offset + len(rows)])
            probs = validate_probabilities(output, len(rows), where, n_classes)
            n_classes = probs.shape[1]
            outputs.append(probs)
            bar.update()
    bar.close()
    predictions = np.concatenate(outputs, axis=0)
    seconds = time.perf_counter() - start
    log.info("scored %d perturbed samples in %d calls (%.1f s)", num_samples, n_batches, seconds)
    return PredictionResult(predictions=predictions, n_calls=n_batches, seconds=seconds, compositions=num_samples,
                            model_items=num_samples)


def _predict_grouped(audio_factorization, text_factorization, masks, layout, audio: DistinctRows, predict_fn,
                     batch_size, progress, budget_bytes) -> PredictionResult:
    """Rows share audio masks: compose each distinct one once and score the rows that use it.

    The model still gets every row (its lyrics may differ); a batch's waveforms are gathered from the
    composed block (one batch-sized copy besides the buffer, taken out of the budget).
    """
    start = time.perf_counter()
    num_samples = masks.shape[0]
    batch_bytes = min(batch_size, num_samples) * audio_factorization.nb_timesteps * 4
    composer, plan = make_composer(audio_factorization, model_device(predict_fn), len(audio), batch_size,
                                   max(1, budget_bytes - batch_bytes))
    order = np.argsort(audio.index, kind="stable")  # rows grouped by their audio mask, in row order within
    grouped = audio.index[order]
    predictions = None
    n_calls = 0
    bar = tqdm(total=num_samples, desc="predict", unit="sample", disable=not progress, leave=False)
    for block_start in range(0, len(audio), plan.block_rows):
        block_end = min(block_start + plan.block_rows, len(audio))
        audios = composer.compose(audio.rows[block_start:block_end])
        lo, hi = np.searchsorted(grouped, [block_start, block_end])
        for offset in range(lo, hi, batch_size):
            rows = order[offset:min(offset + batch_size, hi)]
            texts = texts_for(text_factorization, layout.text_masks(masks[rows]))
            where = f"batch {n_calls} (samples {rows[0]}, ... {len(rows)} in all)"
            output = predict_fn(texts, take_rows(audios, audio.index[rows] - block_start))
            probs = validate_probabilities(output, len(rows), where,
                                           None if predictions is None else predictions.shape[1])
            if predictions is None:
                predictions = np.empty((num_samples, probs.shape[1]), dtype=np.float64)
            predictions[rows] = probs
            n_calls += 1
            bar.update(len(rows))
    bar.close()
    seconds = time.perf_counter() - start
    log.info("scored %d perturbed samples from %d composed waveforms in %d calls (%.1f s)", num_samples, len(audio),
             n_calls, seconds)
    return PredictionResult(predictions=predictions, n_calls=n_calls, seconds=seconds, compositions=len(audio),
                            model_items=num_samples)


def predict_original(audio_factorization: Factorization, text_factorization, predict_fn: PredictFn) -> np.ndarray:
    """Probabilities ``(n_classes,)`` on the original mix with the full lyrics (not the reconstruction)."""
    text = text_factorization.inverse_removing([])
    audio = to_model_input(audio_factorization.mix[None, :], model_device(predict_fn))
    probs = validate_probabilities(predict_fn([text], audio), 1, "the original song")
    return probs[0]


def predict_all_off(audio_factorization: Factorization, text_factorization, layout: FeatureLayout,
                    predict_fn: PredictFn, masks: np.ndarray | None = None, predictions: np.ndarray | None = None,
                    **settings) -> tuple[np.ndarray, PredictionResult | None]:
    """Probabilities ``(n_classes,)`` with every explained feature off (Kernel SHAP's ``v(0)``).

    "Every explained feature" follows ``layout``: with ``modality="audio"`` the audio components
    are all off and the lyrics stay whole, with ``"lyrical"`` the reverse. When a scored row of
    ``masks`` (with its ``predictions``) is already all zeros, its prediction is reused and no model
    is called; otherwise one all-zero row is scored.

    Args:
        masks, predictions: rows already scored, ``(n, layout.num_features)`` and ``(n, n_classes)``.
        settings: ``batch_size``, ``progress``, ``memory_budget_mb`` of :func:`predict_masks`.

    Returns:
        The probabilities, and what scoring them cost (``None`` when reused).
    """
    if masks is not None and predictions is not None:
        scored = np.asarray(masks)[:len(predictions)]
        off = np.flatnonzero(scored.sum(axis=1) == 0)
        if len(off):
            return np.asarray(predictions[off[0]], dtype=np.float64), None
    row = np.zeros((1, layout.num_features), dtype=np.int64)
    result = predict_masks(audio_factorization, text_factorization, row, layout, predict_fn, **settings)
    return result.predictions[0], result


def check_lyrics_for_modality(text_factorization, modality: str, song: str | None = None) -> None:
    """Raise when the modality perturbs lyrics but there are none; warn for ``"both"``."""
    if text_factorization.num_words() > 0:
        return
    what = f" of song {song!r}" if song else ""
    if modality == "lyrical":
        from ...common.errors import LyricsError

        raise LyricsError(f"the lyrics{what} are empty (after dropping blank and [metadata] lines): "
                          f"modality='lyrical' has nothing to explain; use modality='audio'")
    if modality == "both":
        log.warning("the lyrics%s are empty: explaining the audio components only", what)


__all__: Sequence[str] = ["PredictionResult", "COST_FIELDS", "predict_masks", "predict_original", "predict_all_off",
                          "validate_probabilities",
                          "texts_for", "check_lyrics_for_modality"]
