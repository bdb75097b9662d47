"""A glass-box classifier whose attributions are known analytically.

Its score for class 1 is ``bias + sum_c w_c * a_c + sum_j v_j * l_j``: ``a_c`` is how much of audio
component ``c`` (a source in a temporal segment) the input contains, recovered exactly by least
squares against the song's known stems; ``l_j`` is 1 when lyric line ``j`` is present. Planted
weights ``w`` and ``v`` are therefore the true local attributions, which tests and evaluations
compare explanations against.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..common.errors import ConfigError
from ..factorization.base import Factorization
from ..factorization.lyrics import lyric_lines


class GlassBoxModel:
    """Planted-attribution classifier for one song.

    Args:
        factorization: the song's components (its stems must be linearly independent in every
            segment, e.g. noise-like or spectrally distinct sources).
        audio_weights: ``{component name (e.g. "drums_T2"): weight}``.
        line_weights: ``{lyric line text: weight}``.
        bias: score with every component and line absent.
        link: ``"linear"`` (probability = clipped score, attributions exact) or ``"logistic"``.

    Calling the model follows the predict_fn contract: ``model(texts, audios (B, L)) -> (B, 2)``.
    """

    def __init__(self, factorization: Factorization, audio_weights: Mapping[str, float] | None = None,
                 line_weights: Mapping[str, float] | None = None, bias: float = 0.5, link: str = "linear"):
        if link not in ("linear", "logistic"):
            raise ConfigError(f"unknown link {link!r}; expected 'linear' or 'logistic'")
        names = factorization.get_ordered_component_names()
        unknown = sorted(set(audio_weights or {}) - set(names))
        if unknown:
            raise ConfigError(f"glass-box audio weights name unknown components {unknown}")
        self.factorization = factorization
        self.audio_weight_vector = np.array([float((audio_weights or {}).get(n, 0.0)) for n in names])
        self.line_weights = dict(line_weights or {})
        self.bias = float(bias)
        self.link = link
        # per segment: pseudo-inverse (nb_sources, segment_len) mapping audio to source amounts
        stems, edges = factorization.stems.astype(np.float64), factorization.boundaries
        self._projectors = [np.linalg.pinv(stems[:, a:b].T) for a, b in zip(edges[:-1], edges[1:])]

    def component_presence(self, audios: np.ndarray) -> np.ndarray:
        """Amount ``(batch, nb_components)`` of every component in each waveform of ``(batch, L)``."""
        audios = np.asarray(audios, dtype=np.float64)
        edges = self.factorization.boundaries
        parts = [audios[:, a:b] @ p.T for p, a, b in zip(self._projectors, edges[:-1], edges[1:])]
        return np.concatenate(parts, axis=1)  # segment-major, like the component names

    def line_presence(self, texts: list[str]) -> np.ndarray:
        """``(batch, n_weighted_lines)`` 0/1 presence of the weighted lines in each text."""
        present = [set(lyric_lines(t)) for t in texts]
        return np.array([[line in p for line in self.line_weights] for p in present], dtype=np.float64)

    def score(self, texts: list[str], audios: np.ndarray) -> np.ndarray:
        """Class-1 score ``(batch,)`` before the link."""
        score = self.bias + self.component_presence(audios) @ self.audio_weight_vector
        if self.line_weights:
            score = score + self.line_presence(texts) @ np.array(list(self.line_weights.values()))
        return score

    def __call__(self, texts: list[str], audios: np.ndarray) -> np.ndarray:
        score = self.score(texts, audios)
        p1 = np.clip(score, 0.0, 1.0) if self.link == "linear" else 1.0 / (1.0 + np.exp(-score))
        return np.stack([1.0 - p1, p1], axis=1)


def glassbox_predict_fn(stems_npz: str, temporal_segments: int, audio_weights: Mapping[str, float] | None = None,
                        line_weights: Mapping[str, float] | None = None, bias: float = 0.5,
                        link: str = "linear") -> GlassBoxModel:
    """A :class:`GlassBoxModel` of the song separated into ``stems_npz`` (a factory for model configs).

    Args:
        stems_npz: the song's separation artifact (``stems`` ``(nb_sources, nb_timesteps)``, ``mix``).
        temporal_segments: segments per source, as in ``explain.temporal_segments``.
    """
    from ..common.artifacts import load_arrays

    meta, arrays = load_arrays(stems_npz)
    factorization = Factorization(arrays["stems"], meta["sources"], meta["sample_rate"], temporal_segments,
                                  mix=arrays["mix"])
    model = GlassBoxModel(factorization, audio_weights, line_weights, bias=bias, link=link)
    model.sample_rate = int(meta["sample_rate"])
    return model


def randomized_glassbox_predict_fn(stems_npz: str, temporal_segments: int,
                                   audio_weights: Mapping[str, float] | None = None,
                                   line_weights: Mapping[str, float] | None = None, bias: float = 0.5,
                                   link: str = "linear", seed: int = 0) -> GlassBoxModel:
    """The same glass-box architecture with re-initialised weights (model-randomization sanity check).

    Every component and weighted line gets a weight drawn from a normal distribution with the RMS
    of the planted weights as scale (seeded), so the model keeps its form but forgets its plant.
    """
    model = glassbox_predict_fn(stems_npz, temporal_segments, audio_weights, line_weights, bias=bias, link=link)
    planted = np.array(list((audio_weights or {}).values()) + list((line_weights or {}).values()) or [0.1])
    scale = float(np.sqrt(np.mean(planted**2)))
    rng = np.random.default_rng(seed)
    model.audio_weight_vector = rng.normal(0.0, scale, model.audio_weight_vector.shape)
    model.line_weights = {line: float(rng.normal(0.0, scale)) for line in model.line_weights}
    return model
