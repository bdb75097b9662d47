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
and encoded once, each distinct lyrics text encoded once (two masks that leave the same words, e.g.
of a repeated line, are one text), and ``fuse`` (cheap) scores every row.
With ``modality="audio"`` the lyrics are encoded once; with ``"lyrical"`` the audio is.
An :class:`EncodingStore` carries the encodings from one call to the next: the rounds of the
stopping rule, and the coalitions of the exact attribution before the explanation's rows (their
whole lyrics and their all-on and all-off audio are the rows' too).
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
    """Every distinct audio mask and lyrics text encoded so far, so that later calls on the same song
    (rounds of samples, :mod:`musiclime.method.estimation.stopping`; the rows after the coalitions)
    encode only the inputs they add.

    Audio is keyed by its mask's bytes, so one store serves one factorization of one song (masks of
    ``n_audio`` columns, any layout); lyrics by their text, whatever mask or layout produced it.

    Attributes:
        audio_rows: audio mask bytes -> row of the stored audio embeddings.
        lyric_rows: lyrics text -> row of the stored lyrics embeddings.
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


def _new_texts(text_factorization, text_masks: np.ndarray, known: dict) -> tuple[list[str], np.ndarray]:
    """The lyrics texts of ``text_masks`` ``(n_rows, n_text)`` not in ``known`` (distinct, first-seen
    order), and every row's index in ``known`` once they are added to it; ``known`` is updated.
    Each distinct mask's text is built once."""
    distinct = distinct_rows(text_masks)
    texts = texts_for(text_factorization, distinct.rows)
    new = []
    for text in texts:
        if text not in known:
            known[text] = len(known)
            new.append(text)
    rows = np.fromiter((known[text] for text in texts), dtype=np.int64, count=len(texts))
    return new, rows[distinct.index]


def encode_distinct(audio_factorization: Factorization, text_factorization, masks: np.ndarray,
                    layout: FeatureLayout, model, batch_size: int, budget_bytes: int,
                    progress: bool = True, store: EncodingStore | None = None) -> EncodedInputs:
    """Compose and encode each distinct audio mask once, and encode each distinct lyrics text once.

    With a ``store``, inputs it already holds are not encoded again, and the new ones are added to it.
    """
    store = store if store is not None else EncodingStore()
    new_audio, audio_index = _new_inputs(layout.audio_masks(masks), store.audio_rows)
    new_lyrics, lyric_index = _new_texts(text_factorization, layout.text_masks(masks), store.lyric_rows)
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
        texts = new_lyrics[start:start + batch_size]
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
    """Score every mask row of a late-fusion ``model``; the result counts the encodings this call made
    and the rows it fused.

    With a ``store`` (rounds of samples; the rows after the coalitions), inputs encoded by earlier calls
    are reused and not counted again: the counts of consecutive calls add up.
    """
    start = time.perf_counter()
    store = store if store is not None else EncodingStore()
    before = (store.calls, store.audio_encodings, store.lyric_encodings)
    encoded = encode_distinct(audio_factorization, text_factorization, masks, layout, model, batch_size,
                              budget_bytes, progress, store)
    predictions = fuse_rows(model, encoded)
    seconds = time.perf_counter() - start
    audio, lyrics = store.audio_encodings - before[1], store.lyric_encodings - before[2]
    log.info("scored %d samples from %d new audio and %d new lyrics encodings (%.1f s)", len(predictions), audio,
             lyrics, seconds)
    return PredictionResult(predictions, n_calls=encoded.calls - before[0] + -(-len(predictions) // FUSE_BATCH),
                            seconds=seconds, compositions=audio, audio_encodings=audio, lyric_encodings=lyrics,
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
