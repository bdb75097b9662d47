"""Streaming model inference over perturbation masks.

Each batch of mask rows is turned into ``batch_size`` perturbed (text, audio) pairs on the fly and
scored by ``predict_fn``; only one block of waveforms exists at a time, in a buffer sized by a
memory budget, so memory is O(budget), not O(num_samples x nb_timesteps).

``predict_fn(texts: list[str], audios: float32 (batch, nb_timesteps)) -> (batch, n_classes)``
returns class probabilities. ``audios`` is a NumPy array, or a torch tensor on the device named by
the function's ``torch_device`` attribute when it has one (:mod:`musiclime.method.composers`); it is a
view of a reused buffer, valid only during the call.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..common.errors import ConfigError, PredictionError
from ..factorization.base import Factorization
from .composers import make_composer, model_device, to_model_input
from .memory_budget import DEFAULT_MEMORY_BUDGET_MB, MIB
from .modality import FeatureLayout

log = logging.getLogger(__name__)

PredictFn = Callable[[list, np.ndarray], np.ndarray]
#: Tolerance on probability rows: entries in [-tol, 1 + tol], sums within tol of 1.
PROBABILITY_TOLERANCE = 1e-3


@dataclass
class PredictionResult:
    """Model outputs on every mask row.

    Attributes:
        predictions: float64 ``(num_samples, n_classes)``; row 0 scores the reconstruction.
        n_calls: ``predict_fn`` invocations.
        seconds: wall time of composing and predicting.
    """

    predictions: np.ndarray
    n_calls: int
    seconds: float


def validate_probabilities(output, batch_size: int, where: str, n_classes: int | None = None) -> np.ndarray:
    """Check that ``output`` is a ``(batch_size, n_classes)`` array of probability rows.

    Raises:
        PredictionError: naming ``where`` (e.g. the batch and its sample rows) and the problem.
    """
    if hasattr(output, "detach"):  # a torch tensor, possibly on a GPU
        output = output.detach().cpu().numpy()
    try:
        probs = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PredictionError(f"predict_fn returned a non-numeric result for {where}: {exc}") from exc
    if probs.ndim != 2 or probs.shape[0] != batch_size or probs.shape[1] < 2:
        raise PredictionError(
            f"predict_fn returned shape {probs.shape} for {where}; expected ({batch_size}, n_classes >= 2)"
        )
    if n_classes is not None and probs.shape[1] != n_classes:
        raise PredictionError(f"predict_fn returned {probs.shape[1]} classes for {where}, earlier {n_classes}")
    if not np.all(np.isfinite(probs)):
        raise PredictionError(f"predict_fn returned NaN/inf for {where}")
    tol = PROBABILITY_TOLERANCE
    bad = (probs.min(axis=1) < -tol) | (probs.max(axis=1) > 1 + tol) | (np.abs(probs.sum(axis=1) - 1) > tol)
    if bad.any():
        row = int(np.argmax(bad))
        raise PredictionError(
            f"predict_fn returned rows that are not probabilities for {where} (row {row}: {probs[row].tolist()}); "
            f"apply a softmax"
        )
    return probs


def predict_masks(audio_factorization: Factorization, text_factorization, masks: np.ndarray,
                  layout: FeatureLayout, predict_fn: PredictFn, batch_size: int = 32,
                  progress: bool = True, memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB) -> PredictionResult:
    """Score every perturbed instance described by ``masks``.

    Waveforms are composed block by block into one reused buffer of at most ``memory_budget_mb``
    (with the composer's tables); a ``predict_fn`` with a ``torch_device`` attribute gets tensors
    composed on that device (:mod:`musiclime.method.composers`), any other gets NumPy arrays.

    Args:
        audio_factorization: components to compose audio from.
        text_factorization: ``LineIndexedString`` or ``WordIndexedString``.
        masks: 0/1 ``(num_samples, layout.num_features)``.
        layout: which columns are audio components and which lyric features.
        predict_fn: the classifier, called with at most ``batch_size`` items (fewer when that many
            waveforms exceed the budget).
        memory_budget_mb: MiB for the composition buffer and tables.

    Returns:
        The predictions ``(num_samples, n_classes)`` and call statistics.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.shape[1] != layout.num_features:
        raise ValueError(f"masks must be (num_samples, {layout.num_features}), got {masks.shape}")
    start = time.perf_counter()
    num_samples = masks.shape[0]
    composer, plan = make_composer(audio_factorization, model_device(predict_fn), num_samples, batch_size,
                                   int(memory_budget_mb * MIB))
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
    return PredictionResult(predictions=predictions, n_calls=n_batches, seconds=seconds)


def texts_for(text_factorization, text_masks: np.ndarray) -> list[str]:
    """Lyrics with the masked-out features removed, one string per row of ``(batch, n_text)``."""
    return [text_factorization.inverse_removing(np.flatnonzero(row == 0)) for row in text_masks]


def predict_original(audio_factorization: Factorization, text_factorization, predict_fn: PredictFn) -> np.ndarray:
    """Probabilities ``(n_classes,)`` on the original mix with the full lyrics (not the reconstruction)."""
    text = text_factorization.inverse_removing([])
    audio = to_model_input(audio_factorization.mix[None, :], model_device(predict_fn))
    probs = validate_probabilities(predict_fn([text], audio), 1, "the original song")
    return probs[0]


def check_lyrics_for_modality(text_factorization, modality: str, song: str | None = None) -> None:
    """Raise when the modality perturbs lyrics but there are none; warn for ``"both"``."""
    if text_factorization.num_words() > 0:
        return
    what = f" of song {song!r}" if song else ""
    if modality == "lyrical":
        from ..common.errors import LyricsError

        raise LyricsError(f"the lyrics{what} are empty (after dropping blank and [metadata] lines): "
                          f"modality='lyrical' has nothing to explain; use modality='audio'")
    if modality == "both":
        log.warning("the lyrics%s are empty: explaining the audio components only", what)


__all__: Sequence[str] = ["PredictionResult", "predict_masks", "predict_original", "validate_probabilities",
                          "texts_for", "check_lyrics_for_modality"]
