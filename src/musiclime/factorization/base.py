"""Audio components = sources x temporal segments, and composing model inputs from them.

A component is one source (a separated stem, or the whole mix) restricted to one temporal
segment. Components are ordered segment-major, as in the seed:
``vocals_T0, drums_T0, bass_T0, other_T0, vocals_T1, ...`` (sources in the order given).
Composing a set of components sums them; switching every component on gives the
*reconstruction*, which equals the original mix only when the stems sum to it.
"""

from __future__ import annotations

import logging
from typing import Iterable, Sequence

import numpy as np

from ..common.audio import check_finite, warn_if_silent
from ..common.errors import FactorizationError
from .mixtures import compose_from_tables, uses_tables

log = logging.getLogger(__name__)


def segment_boundaries(nb_timesteps: int, temporal_segments: int) -> np.ndarray:
    """Sample indices that cut ``nb_timesteps`` into ``temporal_segments`` contiguous segments.

    The segments cover the whole signal (the seed's ``len // n`` segments dropped the tail);
    their lengths differ by at most one sample.

    Returns:
        int64 array ``(temporal_segments + 1,)`` from 0 to ``nb_timesteps``.
    """
    if int(temporal_segments) != temporal_segments or temporal_segments < 1:
        raise FactorizationError(f"temporal_segments must be a positive integer, got {temporal_segments!r}")
    if nb_timesteps < temporal_segments:
        raise FactorizationError(
            f"audio of {nb_timesteps} samples is too short for {temporal_segments} temporal segments"
        )
    edges = np.arange(temporal_segments + 1, dtype=np.int64) * nb_timesteps // temporal_segments
    return edges


class Factorization:
    """Components of one song: ``sources`` x ``temporal_segments``.

    Args:
        stems: float32 ``(nb_sources, nb_timesteps)`` mono source signals at ``sample_rate``.
        source_names: one name per row of ``stems``.
        sample_rate: Hz.
        temporal_segments: number of equal segments each source is cut into.
        mix: the original mono audio ``(nb_timesteps,)``; defaults to the sum of the stems.
    """

    def __init__(
        self,
        stems: np.ndarray,
        source_names: Sequence[str],
        sample_rate: int,
        temporal_segments: int,
        mix: np.ndarray | None = None,
    ):
        stems = np.ascontiguousarray(stems, dtype=np.float32)
        if stems.ndim != 2 or stems.shape[0] != len(source_names) or stems.shape[0] == 0:
            raise FactorizationError(
                f"stems must be (nb_sources, nb_timesteps) with one row per source name; got shape "
                f"{stems.shape} for sources {list(source_names)}"
            )
        if len(set(source_names)) != len(source_names):
            raise FactorizationError(f"source names must be unique, got {list(source_names)}")
        for name, stem in zip(source_names, stems):
            check_finite(stem, f"stem {name!r}")
        self.stems = stems
        self.source_names = [str(name) for name in source_names]
        self.sample_rate = int(sample_rate)
        self.temporal_segments = int(temporal_segments)
        self.boundaries = segment_boundaries(stems.shape[1], temporal_segments)
        if mix is None:
            mix = stems.sum(axis=0)
        mix = np.asarray(mix, dtype=np.float32)
        if mix.shape != (stems.shape[1],):
            raise FactorizationError(f"mix has shape {mix.shape}, expected ({stems.shape[1]},) like the stems")
        check_finite(mix, "mix")
        warn_if_silent(mix, "the mix")
        self.mix = mix

    # --- the seed's interface -------------------------------------------------------------
    def get_number_components(self) -> int:
        """Number of components, ``nb_sources * temporal_segments``."""
        return len(self.source_names) * self.temporal_segments

    def get_ordered_component_names(self) -> list[str]:
        """Component names ``{source}_T{k}``, segment-major."""
        return [f"{source}_T{k}" for k in range(self.temporal_segments) for source in self.source_names]

    def compose_model_input(self, components: Iterable[int] | None = None) -> np.ndarray:
        """Sum of the given components (indices), float32 ``(nb_timesteps,)``; all when ``None``."""
        mask = np.zeros((1, self.get_number_components()), dtype=np.float32)
        if components is None:
            mask[:] = 1.0
        else:
            indices = np.asarray(list(components), dtype=np.int64).ravel()
            if indices.size and (indices.min() < 0 or indices.max() >= mask.shape[1]):
                raise IndexError(f"component index out of range 0..{mask.shape[1] - 1}: {indices}")
            mask[0, indices] = 1.0
        return self.compose_batch(mask)[0]

    # --- batched composition ----------------------------------------------------------------
    def compose_batch(self, masks: np.ndarray, out: np.ndarray | None = None,
                      tables: list[np.ndarray] | None = None) -> np.ndarray:
        """Compose one waveform per mask row.

        0/1 masks copy rows of per-segment mixture tables (:mod:`.mixtures`; the result does not
        depend on the batch); other real weights give the weighted sum of the components.

        Args:
            masks: ``(batch, nb_components)``, 0/1 (any real weights work: a weighted sum).
            out: optional float32 buffer with at least ``batch`` rows of ``nb_timesteps`` to write into.
            tables: optional precomputed mixture tables (:func:`.mixtures.all_mixture_tables`).

        Returns:
            float32 ``(batch, nb_timesteps)`` (the first ``batch`` rows of ``out`` when given);
            memory is O(batch x nb_timesteps).
        """
        masks = np.asarray(masks)
        n_sources = len(self.source_names)
        if masks.ndim != 2 or masks.shape[1] != self.get_number_components():
            raise ValueError(f"masks must be (batch, {self.get_number_components()}), got {masks.shape}")
        out = np.empty((masks.shape[0], self.stems.shape[1]), dtype=np.float32) if out is None else out[:masks.shape[0]]
        if uses_tables(masks, n_sources):
            return compose_from_tables(self.stems, self.boundaries, masks, out, tables)
        weights = masks.astype(np.float32)
        for k in range(self.temporal_segments):
            start, stop = self.boundaries[k], self.boundaries[k + 1]
            # (batch, nb_sources) @ (nb_sources, segment_len): the weighted sources of segment k
            np.matmul(weights[:, k * n_sources:(k + 1) * n_sources], self.stems[:, start:stop], out=out[:, start:stop])
        return out

    def reconstruction(self) -> np.ndarray:
        """All components switched on: the sum of the stems, float32 ``(nb_timesteps,)``."""
        return self.stems.sum(axis=0)

    # --- descriptions -----------------------------------------------------------------------
    @property
    def nb_timesteps(self) -> int:
        return int(self.stems.shape[1])

    @property
    def duration_s(self) -> float:
        return self.nb_timesteps / self.sample_rate

    def segment_boundaries_seconds(self) -> list[float]:
        """Segment edges in seconds, ``temporal_segments + 1`` values from 0 to the duration."""
        return [float(b) / self.sample_rate for b in self.boundaries]

    def reconstruction_error(self) -> float:
        """RMS of (mix - reconstruction) relative to the RMS of the mix (0 = exact stems)."""
        mix_rms = float(np.sqrt(np.mean(self.mix.astype(np.float64) ** 2)))
        diff = self.mix.astype(np.float64) - self.reconstruction()
        return float(np.sqrt(np.mean(diff**2)) / mix_rms) if mix_rms > 0 else 0.0

    def describe(self) -> dict:
        """JSON-ready summary: backend, sources, rate, duration, segment edges."""
        return {
            "backend": self.backend,
            "sources": list(self.source_names),
            "sample_rate": self.sample_rate,
            "duration_s": self.duration_s,
            "temporal_segments": self.temporal_segments,
            "segment_boundaries_s": self.segment_boundaries_seconds(),
            "reconstruction_rel_error": self.reconstruction_error(),
        }

    backend = "stems"


def with_residual(stems: np.ndarray, names: list[str], mix: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Append a ``residual`` source (mix minus the sum of the stems) so components sum to the mix."""
    if "residual" in names:
        raise FactorizationError("a source is already named 'residual'")
    residual = (mix.astype(np.float64) - stems.sum(axis=0, dtype=np.float64)).astype(np.float32)
    return np.concatenate([stems, residual[None]], axis=0), [*names, "residual"]
