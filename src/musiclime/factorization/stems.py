"""Factorization from precomputed stems: oracle stems, or stems made with any separator."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from ..common.audio import load_audio
from ..common.audio_decoding import AUDIO_SUFFIXES
from ..common.errors import FactorizationError
from .base import Factorization, with_residual

log = logging.getLogger(__name__)

#: Open-Unmix's target order; stem folders list these first, then other stems alphabetically.
OPENUNMIX_SOURCE_ORDER = ("vocals", "drums", "bass", "other")


class StemFactorization(Factorization):
    """Components from given stems.

    Args:
        stems: ``{name: audio}`` (arrays ``(nb_timesteps,)`` or ``(nb_channels, nb_timesteps)``,
            downmixed to mono; order kept) or a folder of stem files ``<name>.wav|flac|ogg|mp3``.
        sample_rate: Hz of the given arrays; for a folder, the rate the files are resampled to.
        temporal_segments: segments per source.
        mix: original mono audio; defaults to the sum of the stems.
        residual: add a ``residual`` source (mix minus stems).
        sources: optional explicit source order (and subset) for a folder.
    """

    backend = "stems"

    def __init__(
        self,
        stems: Mapping[str, np.ndarray] | str | os.PathLike,
        sample_rate: int = 22050,
        temporal_segments: int = 10,
        mix: np.ndarray | None = None,
        residual: bool = False,
        sources: list[str] | None = None,
    ):
        if isinstance(stems, (str, os.PathLike)):
            stems = read_stem_folder(stems, sample_rate, sources)
        if not stems:
            raise FactorizationError("no stems given")
        names = list(stems)
        arrays = [_to_mono(np.asarray(stems[name], dtype=np.float32), name) for name in names]
        lengths = {name: a.shape[0] for name, a in zip(names, arrays)}
        if len(set(lengths.values())) != 1:
            raise FactorizationError(f"stems differ in length (samples): {lengths}")
        stacked = np.stack(arrays)
        if mix is not None:
            mix = _to_mono(np.asarray(mix, dtype=np.float32), "mix")
            if mix.shape[0] != stacked.shape[1]:
                raise FactorizationError(
                    f"mix has {mix.shape[0]} samples but the stems have {stacked.shape[1]}"
                )
        if residual:
            stacked, names = with_residual(stacked, names, mix if mix is not None else stacked.sum(0))
        super().__init__(stacked, names, sample_rate, temporal_segments, mix=mix)


def read_stem_folder(
    folder: str | os.PathLike, sample_rate: int, sources: list[str] | None = None
) -> dict[str, np.ndarray]:
    """Read every stem file of ``folder`` as mono float32 at ``sample_rate``.

    Returns:
        ``{stem name: (nb_timesteps,)}`` in Open-Unmix order (vocals, drums, bass, other), then the
        remaining stems alphabetically, or in the order of ``sources``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FactorizationError(f"stem folder not found: {folder}")
    files = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in AUDIO_SUFFIXES}
    if not files:
        raise FactorizationError(f"stem folder {folder} holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
    if sources is None:
        sources = [s for s in OPENUNMIX_SOURCE_ORDER if s in files]
        sources += sorted(s for s in files if s not in OPENUNMIX_SOURCE_ORDER)
    missing = [s for s in sources if s not in files]
    if missing:
        raise FactorizationError(f"stem folder {folder} lacks stems {missing}; it has {sorted(files)}")
    return {name: load_audio(files[name], sample_rate=sample_rate, mono=True)[0] for name in sources}


def _to_mono(audio: np.ndarray, name: str) -> np.ndarray:
    if audio.ndim == 1:
        return audio
    if audio.ndim == 2:
        channel_axis = 0 if audio.shape[0] <= audio.shape[1] else 1
        return audio.mean(axis=channel_axis).astype(np.float32)
    raise FactorizationError(f"stem {name!r} must be 1-D or 2-D audio, got shape {audio.shape}")
