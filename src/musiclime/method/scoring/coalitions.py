"""Score every coalition of a song's coarse players: each subset of its sources (all segments) with the
lyrics on or off (:mod:`musiclime.method.estimation.coarse_attribution` turns them into exact Shapley values)."""

from __future__ import annotations

import logging

import numpy as np

from ..estimation.coarse_attribution import LYRICS_PLAYER, CoalitionTable
from .inference import PredictFn, predict_masks
from .late_fusion import EncodingStore
from ..modality import FeatureLayout
from .model_io import PredictionResult

log = logging.getLogger(__name__)


def coalition_masks(n_sources: int, temporal_segments: int, n_text: int) -> np.ndarray:
    """Mask rows ``(2 ** P, n_sources * temporal_segments + n_text)`` int8 of every coalition.

    Players are the sources (component ``k * n_sources + s`` belongs to source ``s``: segment-major,
    :mod:`musiclime.factorization.base`), then the lyrics (every lyric column) when ``n_text > 0``.
    """
    n_players = n_sources + (1 if n_text > 0 else 0)
    coalitions = np.arange(2 ** n_players)
    on = (coalitions[:, None] >> np.arange(n_players)[None, :]) & 1  # (2**P, P)
    audio = np.tile(on[:, :n_sources], (1, temporal_segments))      # segment-major: source s at k*S + s
    text = np.repeat(on[:, n_sources:], n_text, axis=1) if n_text > 0 else np.zeros((len(on), 0), dtype=on.dtype)
    return np.concatenate([audio, text], axis=1).astype(np.int8)


def score_coalitions(audio_factorization, text_factorization, predict_fn: PredictFn, batch_size: int = 32,
                     memory_budget_mb: float | None = None, progress: bool = False,
                     store: EncodingStore | None = None) -> CoalitionTable:
    """Score every coalition of the sources and the lyrics with the model (``2 ** P`` items, streamed).

    The values do not depend on the temporal segments (a source's segments are all on or all off) but
    do on the lyric unit (its all-on and all-off texts): one table serves every mask seed and segment
    count of a song, model and unit (the workflow's ``attribute`` stage).

    Args:
        audio_factorization: the song's components (its ``source_names`` are the audio players).
        text_factorization: its lyric units (all removed is the lyrics' "off").
        predict_fn: the classifier; a late-fusion model encodes each distinct audio and lyrics input once.
        store: a late-fusion model's encodings, shared with the explanation's rows that follow.
    """
    sources = tuple(audio_factorization.source_names)
    n_text = int(text_factorization.num_words())
    masks = coalition_masks(len(sources), audio_factorization.temporal_segments, n_text)
    layout = FeatureLayout("both", audio_factorization.get_number_components(), n_text)
    settings = {"batch_size": batch_size, "progress": progress, "store": store}
    if memory_budget_mb is not None:
        settings["memory_budget_mb"] = memory_budget_mb
    result: PredictionResult = predict_masks(audio_factorization, text_factorization, masks, layout, predict_fn,
                                             **settings)
    players = sources + ((LYRICS_PLAYER,) if n_text > 0 else ())
    log.info("coarse attribution: %d coalitions of %s scored in %.2f s", len(masks), ", ".join(players),
             result.seconds)
    return CoalitionTable(players, sources, result.predictions,
                          {"n_calls": int(result.n_calls), "seconds": float(result.seconds), **result.costs()})
