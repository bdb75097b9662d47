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
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ...common.errors import PredictionError
from ...factorization.base import Factorization
from .composers import make_composer, model_device
from ..modality import FeatureLayout
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


@dataclass
class EncodingStore:
    """Every distinct audio and lyrics mask encoded so far, so that later rounds of samples
    (:mod:`musiclime.method.estimation.stopping`) encode only the inputs they add.

    Attributes:
        audio_rows, lyric_rows: mask bytes -> row of the stored embeddings.
        audio_parts, lyric_parts: embedding blocks ``(batch, d)`` in encoding order.
        calls: encoder calls made.
    """

    audio_rows: dict = field(default_factory=dict)
    lyric_rows: dict = field(default_factory=dict)
    audio_parts: list = field(default_factory=list)
    lyric_parts: list = field(default_factory=list)
    calls: int = 0

    @property
    def audio_encodings(self) -> int:
        return len(self.audio_rows)

    @property
    def lyric_encodings(self) -> int:
        return len(self.lyric_rows)


def _new_inputs(masks: np.ndarray, known: dict) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``masks`` not in ``known`` (distinct, first-seen order), and every row's index in
    ``known`` once they are added to it; ``known`` is updated."""
    masks = np.ascontiguousarray(masks, dtype=np.int8)
    keys = [row.tobytes() for row in masks]
    new = []
    for row, key in zip(masks, keys):
        if key not in known:
            known[key] = len(known)
            new.append(row)
    index = np.fromiter((known[key] for key in keys), dtype=np.int64, count=len(keys))
    return (np.array(new, dtype=np.int64).reshape(len(new), masks.shape[1]), index)


def encode_distinct(audio_factorization: Factorization, text_factorization, masks: np.ndarray,
                    layout: FeatureLayout, model, batch_size: int, budget_bytes: int,
                    progress: bool = True, store: EncodingStore | None = None) -> EncodedInputs:
    """Compose and encode each distinct audio mask once, and encode each distinct lyrics mask once.

    With a ``store``, inputs it already holds are not encoded again, and the new ones are added to it.
    """
    store = store if store is not None else EncodingStore()
    new_audio, audio_index = _new_inputs(layout.audio_masks(masks), store.audio_rows)
    new_lyrics, lyric_index = _new_inputs(layout.text_masks(masks), store.lyric_rows)
    bar = tqdm(total=len(new_audio) + len(new_lyrics), desc="encode", unit="input", disable=not progress,
               leave=False)
    if len(new_audio):
        composer, plan = make_composer(audio_factorization, model_device(model), len(new_audio), batch_size,
                                       budget_bytes)
        for block_start in range(0, len(new_audio), plan.block_rows):
            audios = composer.compose(new_audio[block_start:block_start + plan.block_rows])
            for offset in range(0, len(audios), plan.model_batch):
                batch = audios[offset:offset + plan.model_batch]
                store.audio_parts.append(_embedding(model.encode_audio(batch), len(batch), "encode_audio"))
                store.calls += 1
                bar.update(len(batch))
    for start in range(0, len(new_lyrics), batch_size):
        texts = texts_for(text_factorization, new_lyrics[start:start + batch_size])
        store.lyric_parts.append(_embedding(model.encode_lyrics(texts), len(texts), "encode_lyrics"))
        store.calls += 1
        bar.update(len(texts))
    bar.close()
    return EncodedInputs(_concatenate(store.audio_parts), _concatenate(store.lyric_parts), audio_index, lyric_index,
                         calls=store.calls)


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
                        progress: bool = True, store: EncodingStore | None = None) -> PredictionResult:
    """Score every mask row of a late-fusion ``model``; the result counts its encodings and fused rows.

    With a ``store`` (rounds of samples), inputs encoded in earlier rounds are reused, and the counts
    are the store's totals.
    """
    start = time.perf_counter()
    store = store if store is not None else EncodingStore()
    calls_before = store.calls
    encoded = encode_distinct(audio_factorization, text_factorization, masks, layout, model, batch_size,
                              budget_bytes, progress, store)
    predictions = fuse_rows(model, encoded)
    seconds = time.perf_counter() - start
    log.info("scored %d samples from %d audio and %d lyrics encodings (%.1f s)", len(predictions),
             store.audio_encodings, store.lyric_encodings, seconds)
    return PredictionResult(predictions, n_calls=encoded.calls - calls_before + -(-len(predictions) // FUSE_BATCH),
                            seconds=seconds, compositions=store.audio_encodings, audio_encodings=store.audio_encodings,
                            lyric_encodings=store.lyric_encodings, fused_rows=len(predictions))


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
