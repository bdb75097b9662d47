"""Listenable explanations (as audioLIME offers them): the top audio components, and the song without them.

Both waveforms are compositions of the song's components, so ``top + removed`` equals the
reconstruction (the sum of the stems) sample for sample, up to float32 rounding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..common.errors import MusicLimeError
from ..factorization.base import Factorization
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import reader_weights

log = logging.getLogger(__name__)


def top_positive_components(explanation: MusicLIMEExplanation, label: int, k: int) -> list[int]:
    """Indices (within the audio factorization) of the ``k`` audio components with the largest positive weight.

    Fewer than ``k`` when fewer audio components pushed towards ``label``; ordered by weight, largest first.
    The weights are the full fit's when recorded (every component weighed, as on the page), else the
    explanation's selected ones.
    """
    if k < 1:
        raise MusicLimeError(f"report.listenable_top_k must be >= 1, got {k}")
    weights, _ = reader_weights(explanation, label)
    audio = [(feature["index"], weights[i]) for i, feature in enumerate(explanation.features)
             if feature["type"] == "audio" and weights[i] > 0]
    return [int(index) for index, _ in sorted(audio, key=lambda item: -item[1])[:k]]


@dataclass
class ListenableAudio:
    """The two listenable waveforms of an explanation.

    Attributes:
        top: float32 ``(nb_timesteps,)``: the chosen components composed together.
        removed: float32 ``(nb_timesteps,)``: every other component composed (the song without them).
        components: names of the chosen components, e.g. ``["drums_T2", "bass_T4"]``.
        sample_rate: Hz.
    """

    top: np.ndarray
    removed: np.ndarray
    components: list[str]
    sample_rate: int


def listenable_audio(factorization: Factorization, components: list[int]) -> ListenableAudio:
    """Compose ``components`` (indices) and their complement from ``factorization``."""
    mask = np.zeros((2, factorization.get_number_components()), dtype=np.float32)
    mask[0, components] = 1.0
    mask[1] = 1.0 - mask[0]
    top, removed = factorization.compose_batch(mask)
    names = factorization.get_ordered_component_names()
    return ListenableAudio(top=top, removed=removed, components=[names[c] for c in components],
                           sample_rate=factorization.sample_rate)


def check_same_components(explanation: MusicLIMEExplanation, factorization: Factorization, where: str) -> None:
    """Raise unless the explanation's audio features name the factorization's components."""
    names = factorization.get_ordered_component_names()
    audio = [f for f in explanation.features if f["type"] == "audio"]
    mismatched = [f["feature"] for f in audio if f["index"] >= len(names) or names[f["index"]] != f["feature"]]
    if mismatched:
        raise MusicLimeError(f"{where}: explanation components {mismatched[:3]} do not match the separation's "
                             f"components {names[:3]}...; re-run the workflow")
