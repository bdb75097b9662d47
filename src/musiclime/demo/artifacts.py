"""The ai style's positive audio cue: a codec-like tonal artifact in one stem during a few segments.

Lossy codecs and neural vocoders leave "birdies": narrow tonal components in the upper band that
switch on and off from one codec frame to the next. The demo's artifact imitates them: a comb of
steady tones (5-9.7 kHz, inside the demo model's 11 kHz mel range) gated per 1024-sample frame,
added to one stem (vocals or drums) during 3-4 of the song's ``temporal_segments`` equal segments
(the project's segmentation, :func:`musiclime.factorization.base.segment_boundaries`).

Everything is drawn from the song's own ``artifact`` stream, which only the ai style reads. The
artifact is added after the stem is levelled, at a fixed small amplitude, so the stem's level (and
every sample outside the artifact's segments) is the same as without it, and the mix stays below 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..factorization.base import segment_boundaries
from .styles import CodecArtifact

#: Fade at each end of an artifact segment, seconds (no click at the segment edges).
EDGE_FADE_S = 0.005


@dataclass(frozen=True)
class ArtifactPlacement:
    """Where and what the artifact is in one song.

    Attributes:
        stem: the stem that carries it.
        segments: indices ``k`` of the song's ``temporal_segments`` equal segments that carry it (sorted).
        temporal_segments: the segmentation the indices refer to.
        spans_s: ``(start_s, end_s)`` of each carrying segment, in seconds.
        tones_hz: the comb's tone frequencies.
        amplitude: peak amplitude of the summed tones (full scale 1).
    """

    stem: str
    segments: tuple[int, ...]
    temporal_segments: int
    spans_s: tuple[tuple[float, float], ...]
    tones_hz: tuple[float, ...]
    amplitude: float


def place_artifact(spec: CodecArtifact, rng: np.random.Generator, nb_timesteps: int,
                   sample_rate: int) -> ArtifactPlacement:
    """Draw the artifact's stem, segments, tones and amplitude for a song of ``nb_timesteps`` samples."""
    stem = spec.stems[int(rng.integers(len(spec.stems)))]
    n_carrying = int(rng.integers(spec.n_segments[0], spec.n_segments[1] + 1))
    segments = tuple(sorted(int(k) for k in rng.choice(spec.temporal_segments, size=n_carrying, replace=False)))
    edges = segment_boundaries(nb_timesteps, spec.temporal_segments)
    spans = tuple((float(edges[k]) / sample_rate, float(edges[k + 1]) / sample_rate) for k in segments)
    base, spacing = rng.uniform(*spec.base_hz), rng.uniform(*spec.spacing_hz)
    tones = tuple(float(base + i * spacing) for i in range(spec.n_tones))
    amplitude = float(rng.uniform(*spec.amplitude))
    return ArtifactPlacement(stem=stem, segments=segments, temporal_segments=spec.temporal_segments,
                             spans_s=spans, tones_hz=tones, amplitude=amplitude)


def render_artifact(placement: ArtifactPlacement, spec: CodecArtifact, rng: np.random.Generator,
                    nb_timesteps: int, sample_rate: int) -> np.ndarray:
    """The artifact signal ``(nb_timesteps,)`` float32, zero outside the placement's segments.

    Each tone is gated on (probability ``spec.frame_on``) or off per frame of ``spec.frame`` samples
    at 44.1 kHz (scaled to ``sample_rate``), with 2 ms ramps, as a codec's per-frame bit allocation
    switches a band on and off. Tones above 45 % of ``sample_rate`` are left out.
    """
    out = np.zeros(nb_timesteps, dtype=np.float64)
    frame = max(1, int(round(spec.frame * sample_rate / 44100)))
    ramp = max(1, int(round(0.002 * sample_rate)))
    edges = segment_boundaries(nb_timesteps, placement.temporal_segments)
    tones = [f for f in placement.tones_hz if f < 0.45 * sample_rate]
    phases = rng.uniform(0, 2 * np.pi, size=len(placement.tones_hz))
    for k in placement.segments:
        start, end = int(edges[k]), int(edges[k + 1])
        t = np.arange(start, end) / sample_rate
        n_frames = int(np.ceil((end - start) / frame))
        gates = rng.random((len(placement.tones_hz), n_frames)) < spec.frame_on
        signal = np.zeros(end - start)
        for i, freq in enumerate(placement.tones_hz):
            if freq not in tones:
                continue
            gate = np.repeat(gates[i].astype(np.float64), frame)[:end - start]
            gate = np.convolve(gate, np.ones(ramp) / ramp, mode="same")
            signal += gate * np.sin(2 * np.pi * freq * t + phases[i])
        fade = np.minimum(1.0, np.minimum(np.arange(end - start) + 1, np.arange(end - start, 0, -1))
                          / max(1.0, EDGE_FADE_S * sample_rate))
        out[start:end] = signal * fade
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= placement.amplitude / peak
    return out.astype(np.float32)


def artifact_cues(placement: ArtifactPlacement) -> list[dict]:
    """The placement as ground-truth audio cues: one ``{stem, start_s, end_s, cue}`` per carrying segment."""
    return [{"stem": placement.stem, "start_s": start, "end_s": end, "cue": "codec artifact"}
            for start, end in placement.spans_s]
