"""Streaming model inference over perturbation masks.

Each batch of mask rows is turned into ``batch_size`` perturbed (text, audio) pairs on the fly and
scored by ``predict_fn``; only one batch of waveforms exists at a time, so memory is
O(batch_size x nb_timesteps), not O(num_samples x nb_timesteps).

``predict_fn(texts: list[str], audios: float32 (batch, nb_timesteps)) -> (batch, n_classes)``
returns class probabilities.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from .errors import ConfigError, PredictionError
from .factorization.base import Factorization
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
                  progress: bool = True) -> PredictionResult:
    """Score every perturbed instance described by ``masks``.

    Args:
        audio_factorization: components to compose audio from.
        text_factorization: ``LineIndexedString`` or ``WordIndexedString``.
        masks: 0/1 ``(num_samples, layout.num_features)``.
        layout: which columns are audio components and which lyric features.
        predict_fn: the classifier, called with at most ``batch_size`` items.

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
    outputs: list[np.ndarray] = []
    n_classes = None
    n_batches = -(-num_samples // batch_size)
    bar = tqdm(range(n_batches), desc="predict", unit="batch", disable=not progress, leave=False)
    for b in bar:
        rows = masks[b * batch_size:(b + 1) * batch_size]
        texts = texts_for(text_factorization, layout.text_masks(rows))
        audios = audio_factorization.compose_batch(layout.audio_masks(rows))
        where = f"batch {b} (samples {b * batch_size}..{b * batch_size + len(rows) - 1})"
        probs = validate_probabilities(predict_fn(texts, audios), len(rows), where, n_classes)
        n_classes = probs.shape[1]
        outputs.append(probs)
        del audios
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
    probs = validate_probabilities(predict_fn([text], audio_factorization.mix[None, :].copy()), 1, "the original song")
    return probs[0]


def check_lyrics_for_modality(text_factorization, modality: str, song: str | None = None) -> None:
    """Raise when the modality perturbs lyrics but there are none; warn for ``"both"``."""
    if text_factorization.num_words() > 0:
        return
    what = f" of song {song!r}" if song else ""
    if modality == "lyrical":
        from .errors import LyricsError

        raise LyricsError(f"the lyrics{what} are empty (after dropping blank and [metadata] lines): "
                          f"modality='lyrical' has nothing to explain; use modality='audio'")
    if modality == "both":
        log.warning("the lyrics%s are empty: explaining the audio components only", what)


__all__: Sequence[str] = ["PredictionResult", "predict_masks", "predict_original", "validate_probabilities",
                          "texts_for", "check_lyrics_for_modality"]
