"""Which features a modality perturbs, and how a mask row splits into audio and lyrics parts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..common.errors import ConfigError

MODALITIES = ("both", "audio", "lyrical")


def check_modality(modality: str) -> str:
    """Return ``modality`` or raise naming the allowed values."""
    if modality not in MODALITIES:
        raise ConfigError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
    return modality


@dataclass(frozen=True)
class FeatureLayout:
    """Feature order of a mask row: ``[audio components | lyric features]``, per modality.

    Attributes:
        modality: ``"both"``, ``"audio"`` or ``"lyrical"``.
        n_audio: audio components in the factorization (perturbed only if the modality has audio).
        n_text: lyric features (perturbed only if the modality has lyrics).
    """

    modality: str
    n_audio: int
    n_text: int

    def __post_init__(self):
        check_modality(self.modality)

    @property
    def perturbs_audio(self) -> bool:
        return self.modality in ("both", "audio")

    @property
    def perturbs_text(self) -> bool:
        return self.modality in ("both", "lyrical")

    @property
    def audio_columns(self) -> int:
        """Leading audio columns when both modalities are perturbed (for the factorial samplers), else 0."""
        return self.n_audio if self.perturbs_audio and self.perturbs_text else 0

    @property
    def num_features(self) -> int:
        return self.n_audio * self.perturbs_audio + self.n_text * self.perturbs_text

    def audio_masks(self, rows: np.ndarray) -> np.ndarray:
        """Audio-component masks ``(batch, n_audio)``; all ones when audio is not perturbed."""
        if self.perturbs_audio:
            return rows[:, : self.n_audio]
        return np.ones((rows.shape[0], self.n_audio), dtype=rows.dtype)

    def text_masks(self, rows: np.ndarray) -> np.ndarray:
        """Lyric-feature masks ``(batch, n_text)``; all ones when lyrics are not perturbed."""
        if self.perturbs_text:
            return rows[:, rows.shape[1] - self.n_text:]
        return np.ones((rows.shape[0], self.n_text), dtype=rows.dtype)

    def feature_kinds(self) -> list[tuple[str, int]]:
        """``(type, index within its factorization)`` per feature: ``("audio", c)`` or ``("lyrics", j)``."""
        kinds = [("audio", c) for c in range(self.n_audio)] if self.perturbs_audio else []
        return kinds + ([("lyrics", j) for j in range(self.n_text)] if self.perturbs_text else [])
