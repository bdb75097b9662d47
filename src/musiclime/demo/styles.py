"""The two demo styles and the only ways in which they differ.

===========  ==========================================  ==============================================
part         ``ai`` (label 0, AI-Generated)              ``human`` (label 1, Human-Composed)
===========  ==========================================  ==============================================
vocals       every note sung exactly at its equal-       each note starts with a scoop from below,
             tempered pitch, no vibrato, no drift         carries delayed vibrato and slowly drifts
drums        hits exactly on the 16th grid, every hit    timing jitter around the grid, accented and
             at full velocity (identical samples)        randomly varied velocities (softer hits are
                                                         also duller), ghost snare notes
artifact     a codec-like tonal artifact (gated comb of  none
             5-9.7 kHz tones) added to the vocals or the
             drums in 3-4 of the 10 equal segments
lyrics       generic filler vocabulary, lines repeated   concrete narrative vocabulary, no repeated
             verbatim inside verses and choruses          line inside a section, varied chorus endings
===========  ==========================================  ==============================================

Bass, chords ("other"), tempo, key, melody notes, drum pattern, section layout and mix balance come
from style-independent random streams: for the same seed both styles share them exactly. The
artifact lands only on vocals or drums, so bass and other stay byte-identical across styles.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common.errors import ConfigError

#: Styles alternate through a demo set: song ``i`` has style ``SET_STYLES[i % 2]``.
SET_STYLES = ("ai", "human")

#: Class labels of the demo classifier.
LABEL_NAMES = {0: "AI-Generated", 1: "Human-Composed"}


@dataclass(frozen=True)
class VocalExpression:
    """Pitch deviations of a sung note (human style); all pitch amounts in semitones.

    Attributes:
        scoop_probability: chance that a note starts below its pitch and glides up.
        scoop_depth: (low, high) start offset below the note.
        scoop_time_s: (low, high) time constant of the glide.
        vibrato_rate_hz: (low, high) vibrato rate, drawn per song.
        vibrato_depth: (low, high) peak vibrato depth, drawn per song.
        vibrato_delay_s: (low, high) time after the onset before vibrato starts.
        drift: standard deviation of each note's constant pitch offset.
        wander: amplitude of a slow (0.2-0.8 Hz) pitch wander.
    """

    scoop_probability: float = 0.85
    scoop_depth: tuple[float, float] = (0.8, 2.0)
    scoop_time_s: tuple[float, float] = (0.03, 0.07)
    vibrato_rate_hz: tuple[float, float] = (4.8, 6.5)
    vibrato_depth: tuple[float, float] = (0.35, 0.7)
    vibrato_delay_s: tuple[float, float] = (0.08, 0.22)
    drift: float = 0.12
    wander: float = 0.1


@dataclass(frozen=True)
class DrumFeel:
    """How a drummer deviates from the grid (human style).

    Attributes:
        jitter_s: (low, high) standard deviation of each hit's timing error, drawn per song.
        velocity_spread: standard deviation of the log velocity around the accent pattern.
        ghost_probability: (low, high) chance per free 16th step of a ghost snare note, per song.
        ghost_velocity: (low, high) velocity of ghost notes.
    """

    jitter_s: tuple[float, float] = (0.008, 0.02)
    velocity_spread: float = 0.35
    ghost_probability: tuple[float, float] = (0.15, 0.35)
    ghost_velocity: tuple[float, float] = (0.15, 0.35)


@dataclass(frozen=True)
class CodecArtifact:
    """A codec-like tonal artifact (ai style), placed per song by :mod:`.artifacts`.

    Attributes:
        stems: the stems it may land on (one drawn per song).
        n_segments: (low, high) inclusive number of carrying segments, drawn per song.
        temporal_segments: the song is cut into this many equal segments (the demo explains with 10).
        n_tones: tones in the comb.
        base_hz: (low, high) lowest tone, Hz.
        spacing_hz: (low, high) spacing of the comb, Hz (the top tone stays below 9.7 kHz, inside
            the 9.9 kHz that 45 % of the model's 22.05 kHz rate allows).
        frame: codec frame in samples at 44.1 kHz; each tone is on or off for a whole frame.
        frame_on: chance that a tone is on in a frame.
        amplitude: (low, high) peak amplitude of the artifact (full scale 1), added after levelling.
    """

    stems: tuple[str, ...] = ("vocals", "drums")
    n_segments: tuple[int, int] = (3, 4)
    temporal_segments: int = 10
    n_tones: int = 5
    base_hz: tuple[float, float] = (5000.0, 6500.0)
    spacing_hz: tuple[float, float] = (500.0, 800.0)
    frame: int = 1024
    frame_on: float = 0.6
    amplitude: tuple[float, float] = (0.035, 0.05)


@dataclass(frozen=True)
class Style:
    """A demo style: its label, the vocal and drum performance (``None`` = mechanical), lyric writer
    and codec artifact (``None`` = none)."""

    name: str
    label: int
    vocal_expression: VocalExpression | None
    drum_feel: DrumFeel | None
    lyrics: str  # "generic" or "narrative"
    artifact: CodecArtifact | None = None


STYLES = {
    "ai": Style("ai", 0, vocal_expression=None, drum_feel=None, lyrics="generic", artifact=CodecArtifact()),
    "human": Style("human", 1, vocal_expression=VocalExpression(), drum_feel=DrumFeel(), lyrics="narrative"),
}


def get_style(name: str) -> Style:
    """The style called ``name`` (``"ai"`` or ``"human"``)."""
    if name not in STYLES:
        raise ConfigError(f"unknown demo style {name!r}; expected one of {sorted(STYLES)}")
    return STYLES[name]
