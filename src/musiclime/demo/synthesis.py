"""Synthesize one demo song from an integer seed: four stems, their mix and lyrics.

Randomness: every part of the song has its own child stream ``numpy.random.default_rng([seed, id])``
(ids in :data:`STREAMS`). The arrangement, melody notes, drum pattern and kit, bass, chords and
breath noise streams never depend on the style; the style decides only how the vocal pitch track
and the drum performance are rendered, how lyrics are written and whether a codec artifact is added
(ai only, on the vocals or the drums, :mod:`.artifacts`). Hence, for one seed, the ``ai`` and
``human`` songs have byte-identical bass and other stems.

Levelling: each stem is scaled from its own content to a peak of ``PEAK_BUDGET[stem] * balance``
(balance drawn per song in [0.7, 1]). The budgets sum to 0.94, so the mix, which is exactly the sum
of the stems, always peaks below 1 and never needs a gain that would couple the stems. The artifact
(peak at most 0.05) is added after levelling: it changes its stem only inside its segments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..common.audio import resample
from ..common.errors import ConfigError
from .accompaniment import render_bass, render_chords
from .artifacts import ArtifactPlacement, place_artifact, render_artifact
from .arrangement import Arrangement, compose_arrangement, compose_drum_pattern, compose_melody
from .drums import make_kit, perform, render_drums
from .instruments import fade_edges, pan_gains
from .lyrics_gen import write_lyrics
from .styles import LABEL_NAMES, get_style
from .vocals import render_vocals

log = logging.getLogger(__name__)

#: Stem order used everywhere (Open-Unmix's target order).
STEM_NAMES = ("vocals", "drums", "bass", "other")
#: Child random stream ids; style-dependent streams are only *read* by one style.
STREAMS = {"arrangement": 1, "melody": 2, "vocal_expression": 3, "breath": 4, "drum_kit": 5, "drum_pattern": 6,
           "drum_performance": 7, "bass": 8, "other": 9, "lyrics": 10,
           "artifact": 11}
#: Peak of each levelled stem before the per-song balance (sum < 1 keeps the mix below full scale).
PEAK_BUDGET = {"vocals": 0.3, "drums": 0.3, "bass": 0.17, "other": 0.17}
MIN_DURATION_S = 1.0
FADE_S = 0.01


@dataclass
class DemoSong:
    """A synthesized demo song.

    Attributes:
        seed: the integer it was synthesized from.
        style: ``"ai"`` or ``"human"``.
        stems: ``{name: (2, nb_timesteps) float32}`` in order vocals, drums, bass, other.
        lyrics: lyrics text with ``[Section]`` metadata lines.
        sample_rate: Hz.
        info: JSON-ready description (tempo, key, ...).
        artifact: where the codec artifact was added (ai style), ``None`` without one.
    """

    seed: int
    style: str
    stems: dict[str, np.ndarray]
    lyrics: str
    sample_rate: int
    info: dict = field(default_factory=dict)
    artifact: ArtifactPlacement | None = None

    @property
    def label(self) -> int:
        """Class label: 0 = AI-Generated (``ai``), 1 = Human-Composed (``human``)."""
        return get_style(self.style).label

    @property
    def label_name(self) -> str:
        return LABEL_NAMES[self.label]

    @property
    def mix(self) -> np.ndarray:
        """The stereo mix ``(2, nb_timesteps)`` float32, the sum of the stems."""
        return np.sum(np.stack([self.stems[name] for name in STEM_NAMES]), axis=0, dtype=np.float32)

    @property
    def duration_s(self) -> float:
        return self.stems["vocals"].shape[-1] / self.sample_rate

    def mono_stems(self, sample_rate: int | None = None) -> dict[str, np.ndarray]:
        """Stems downmixed to mono ``{name: (nb_timesteps',) float32}``, resampled to ``sample_rate`` Hz."""
        rate = self.sample_rate if sample_rate is None else int(sample_rate)
        return {name: resample(self.stems[name].mean(axis=0), self.sample_rate, rate) for name in STEM_NAMES}


def child_rng(seed: int, stream: str) -> np.random.Generator:
    """The independent random stream ``stream`` (a key of :data:`STREAMS`) of song ``seed``."""
    return np.random.default_rng([int(seed), STREAMS[stream]])


def synthesize_song(seed: int, style: str, duration_s: float = 24.0, sample_rate: int = 44100) -> DemoSong:
    """Synthesize the demo song ``seed`` in ``style``.

    Args:
        seed: non-negative integer; the same seed, style, duration and rate give the same song.
        style: ``"ai"`` (label 0) or ``"human"`` (label 1).
        duration_s: length in seconds (at least 1).
        sample_rate: Hz.

    Returns:
        A :class:`DemoSong` with stereo stems ``(2, round(duration_s * sample_rate))``.
    """
    spec = get_style(style)
    if int(seed) != seed or seed < 0:
        raise ConfigError(f"demo song seed must be a non-negative integer, got {seed!r}")
    if not duration_s >= MIN_DURATION_S:
        raise ConfigError(f"demo song duration_s must be at least {MIN_DURATION_S} s, got {duration_s!r}")
    if int(sample_rate) < 8000:
        raise ConfigError(f"demo song sample_rate must be at least 8000 Hz, got {sample_rate!r}")
    seed, sample_rate = int(seed), int(sample_rate)
    nb_timesteps = int(round(duration_s * sample_rate))
    arrangement = compose_arrangement(child_rng(seed, "arrangement"), duration_s)

    notes = compose_melody(child_rng(seed, "melody"), arrangement)
    vocals = render_vocals(notes, nb_timesteps, sample_rate, spec.vocal_expression,
                           child_rng(seed, "vocal_expression"), child_rng(seed, "breath"))
    vocals = _pan(vocals, arrangement.pans["vocals"])

    kit = make_kit(child_rng(seed, "drum_kit"), sample_rate)
    pattern = compose_drum_pattern(child_rng(seed, "drum_pattern"), arrangement)
    hits = perform(pattern, arrangement, spec.drum_feel, child_rng(seed, "drum_performance"))
    drums = render_drums(hits, kit, arrangement.pans, nb_timesteps, sample_rate)

    bass = render_bass(arrangement, child_rng(seed, "bass"), nb_timesteps, sample_rate)
    other = render_chords(arrangement, child_rng(seed, "other"), nb_timesteps, sample_rate)

    raw = {"vocals": vocals, "drums": drums, "bass": bass, "other": other}
    fade = fade_edges(nb_timesteps, sample_rate, FADE_S)
    stems = {name: _levelled(raw[name] * fade, PEAK_BUDGET[name] * arrangement.balance[name]) for name in STEM_NAMES}
    placement = None
    if spec.artifact is not None:
        artifact_rng = child_rng(seed, "artifact")
        placement = place_artifact(spec.artifact, artifact_rng, nb_timesteps, sample_rate)
        artifact = render_artifact(placement, spec.artifact, artifact_rng, nb_timesteps, sample_rate)
        stems[placement.stem] = (stems[placement.stem] + artifact[None, :]).astype(np.float32)
    lyrics = write_lyrics(child_rng(seed, "lyrics"), spec.lyrics, arrangement.sections)
    info = {"seed": seed, "style": style, "label": spec.label, "duration_s": nb_timesteps / sample_rate,
            "sample_rate": sample_rate, "n_notes": len(notes), "n_drum_hits": len(hits), **arrangement.info(),
            "artifact": None if placement is None else {"stem": placement.stem, "segments": list(placement.segments),
                                                       "temporal_segments": placement.temporal_segments}}
    log.debug("synthesized demo song %d (%s): %s", seed, style, info)
    return DemoSong(seed=seed, style=style, stems=stems, lyrics=lyrics, sample_rate=sample_rate, info=info,
                    artifact=placement)


def arrangement_of(seed: int, duration_s: float) -> Arrangement:
    """The (style-independent) arrangement of song ``seed``."""
    return compose_arrangement(child_rng(seed, "arrangement"), duration_s)


def _pan(mono: np.ndarray, pan: float) -> np.ndarray:
    left, right = pan_gains(pan)
    return np.stack([left * mono, right * mono]).astype(np.float32)


def _levelled(stem: np.ndarray, peak: float) -> np.ndarray:
    current = float(np.max(np.abs(stem)))
    if current == 0.0:
        return stem.astype(np.float32)
    return (stem * np.float32(peak / current)).astype(np.float32)
