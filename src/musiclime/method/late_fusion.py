"""Late-fusion models: score every mask row while encoding each distinct audio and lyrics input once.

A late-fusion classifier is an audio encoder, a lyrics encoder and a head on the two embeddings
(SpecTTTra + LLM2Vec + an MLP, or the demo model). A ``predict_fn`` opts in, as it opts in to
tensors with ``torch_device``, by also having three methods:

* ``encode_audio(audios) -> (batch, d_a)``: ``audios`` float32 ``(batch, nb_timesteps)``, NumPy or
  a tensor on ``torch_device`` (a view of a reused buffer, valid during the call);
* ``encode_lyrics(texts: list[str]) -> (batch, d_l)``;
* ``fuse(audio_emb (batch, d_a), lyric_emb (batch, d_l)) -> (batch, n_classes)`` probabilities,

and staying a plain ``predict_fn(texts, audios)``. Embeddings may be NumPy arrays or torch tensors
(on any device); ``fuse`` gets them back in the type the encoders returned.

The rows of a mask matrix then cost their *distinct* inputs: each distinct audio mask is composed
and encoded once, each distinct lyrics mask encoded once, and ``fuse`` (cheap) scores every row.
With ``modality="audio"`` the lyrics are encoded once; with ``"lyrical"`` the audio is.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from ..common.errors import PredictionError
from ..factorization.base import Factorization
from .composers import make_composer, model_device
from .modality import FeatureLayout
from .model_io import PredictionResult, take_rows, texts_for, validate_probabilities

log = logging.getLogger(__name__)

PROTOCOL = ("encode_audio", "encode_lyrics", "fuse")
#: Rows per ``fuse`` call: the head is small, so this bounds only the gathered embeddings' memory.
FUSE_BATCH = 4096


def is_late_fusion(predict_fn) -> bool:
    """True when ``predict_fn`` has callable ``encode_audio``, ``encode_lyrics`` and ``fuse``."""
    return all(callable(getattr(predict_fn, name, None)) for name in PROTOCOL)


@dataclass(frozen=True)
class DistinctRows:
    """The distinct rows of a 0/1 matrix and where each original row went.

    Attributes:
        rows: ``(n_distinct, width)`` the distinct rows (sorted).
        index: ``(n_rows,)`` int64: row ``i`` of the matrix equals ``rows[index[i]]``.
    """

    rows: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def distinct_rows(matrix: np.ndarray) -> DistinctRows:
    """Distinct rows of ``matrix`` ``(n_rows, width)``, a width of 0 giving one empty row."""
    matrix = np.asarray(matrix)
    if matrix.shape[1] == 0:
        return DistinctRows(matrix[:1], np.zeros(len(matrix), dtype=np.int64))
    rows, index = np.unique(matrix, axis=0, return_inverse=True)
    return DistinctRows(rows, np.asarray(index, dtype=np.int64).reshape(-1))


@dataclass(frozen=True)
class EncodedInputs:
    """Embeddings of the distinct inputs: ``audio`` ``(A, d_a)`` and ``lyrics`` ``(B, d_l)``, their row
    maps ``(num_samples,)`` and the encoder calls made."""

    audio: object
    lyrics: object
    audio_index: np.ndarray
    lyrics_index: np.ndarray
    calls: int


def encode_distinct(audio_factorization: Factorization, text_factorization, masks: np.ndarray,
                    layout: FeatureLayout, model, batch_size: int, budget_bytes: int,
                    progress: bool = True) -> EncodedInputs:
    """Compose and encode each distinct audio mask once, and encode each distinct lyrics mask once."""
    audio_masks, lyric_masks = distinct_rows(layout.audio_masks(masks)), distinct_rows(layout.text_masks(masks))
    composer, plan = make_composer(audio_factorization, model_device(model), len(audio_masks), batch_size,
                                   budget_bytes)
    bar = tqdm(total=len(audio_masks) + len(lyric_masks), desc="encode", unit="input", disable=not progress,
               leave=False)
    audio_parts = []
    for block_start in range(0, len(audio_masks), plan.block_rows):
        audios = composer.compose(audio_masks.rows[block_start:block_start + plan.block_rows])
        for offset in range(0, len(audios), plan.model_batch):
            batch = audios[offset:offset + plan.model_batch]
            audio_parts.append(_embedding(model.encode_audio(batch), len(batch), "encode_audio"))
            bar.update(len(batch))
    lyric_parts = []
    for start in range(0, len(lyric_masks), batch_size):
        texts = texts_for(text_factorization, lyric_masks.rows[start:start + batch_size])
        lyric_parts.append(_embedding(model.encode_lyrics(texts), len(texts), "encode_lyrics"))
        bar.update(len(texts))
    bar.close()
    return EncodedInputs(_concatenate(audio_parts), _concatenate(lyric_parts), audio_masks.index, lyric_masks.index,
                         calls=len(audio_parts) + len(lyric_parts))


def fuse_rows(model, encoded: EncodedInputs, n_classes: int | None = None) -> np.ndarray:
    """Probabilities ``(num_samples, n_classes)`` float64: ``fuse`` on each row's two embeddings."""
    outputs = []
    n_rows = len(encoded.audio_index)
    for start in range(0, n_rows, FUSE_BATCH):
        rows = slice(start, start + FUSE_BATCH)
        audio = take_rows(encoded.audio, encoded.audio_index[rows])
        lyrics = take_rows(encoded.lyrics, encoded.lyrics_index[rows])
        where = f"fuse rows {start}..{min(start + FUSE_BATCH, n_rows) - 1}"
        probs = validate_probabilities(model.fuse(audio, lyrics), len(encoded.audio_index[rows]), where, n_classes)
        n_classes = probs.shape[1]
        outputs.append(probs)
    return np.concatenate(outputs, axis=0)


def predict_late_fusion(audio_factorization: Factorization, text_factorization, masks: np.ndarray,
                        layout: FeatureLayout, model, batch_size: int, budget_bytes: int,
                        progress: bool = True) -> PredictionResult:
    """Score every mask row of a late-fusion ``model``; the result counts its encodings and fused rows."""
    start = time.perf_counter()
    encoded = encode_distinct(audio_factorization, text_factorization, masks, layout, model, batch_size,
                              budget_bytes, progress)
    predictions = fuse_rows(model, encoded)
    n_audio, n_lyrics = int(encoded.audio.shape[0]), int(encoded.lyrics.shape[0])
    seconds = time.perf_counter() - start
    log.info("scored %d samples from %d audio and %d lyrics encodings (%.1f s)", len(predictions), n_audio,
             n_lyrics, seconds)
    return PredictionResult(predictions, n_calls=encoded.calls + -(-len(predictions) // FUSE_BATCH), seconds=seconds,
                            compositions=n_audio, audio_encodings=n_audio, lyric_encodings=n_lyrics,
                            fused_rows=len(predictions))


def _embedding(output, batch: int, method: str):
    """Check that ``output`` is a ``(batch, d)`` embedding; torch tensors stay tensors (detached)."""
    if hasattr(output, "detach"):
        output = output.detach()
    else:
        output = np.asarray(output)
    shape = tuple(output.shape)
    if len(shape) != 2 or shape[0] != batch:
        raise PredictionError(f"{method} returned shape {shape} for {batch} inputs; expected ({batch}, dim)")
    return output


def _concatenate(parts: list):
    if hasattr(parts[0], "detach"):
        import torch

        return torch.cat(parts, dim=0)
    return np.concatenate(parts, axis=0)
