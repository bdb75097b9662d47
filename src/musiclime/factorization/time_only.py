"""Factorization into temporal segments of the mix only: no separation, works on any song."""

from __future__ import annotations

import numpy as np

from .base import Factorization


class TimeOnlyFactorization(Factorization):
    """Components ``mix_T0 .. mix_T{n-1}``: the mono mix cut into ``temporal_segments`` segments.

    Args:
        audio: mono float32 ``(nb_timesteps,)``.
        sample_rate: Hz.
        temporal_segments: number of segments (``temporal_segmentation_params`` is a seed alias).
    """

    backend = "time_only"

    def __init__(self, audio: np.ndarray, sample_rate: int = 22050, temporal_segments: int = 10,
                 temporal_segmentation_params: int | None = None):
        if temporal_segmentation_params is not None:
            temporal_segments = temporal_segmentation_params
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 2:
            audio = audio.mean(axis=0)
        super().__init__(audio[None, :], ["mix"], sample_rate, temporal_segments, mix=audio)
