"""The style-independent score of a demo song: tempo, key, chords, melody notes, drum pattern.

Everything here is drawn from random streams that do not depend on the style, so an ``ai`` and a
``human`` song of the same seed share their arrangement; the styles only change how the melody is
sung, how the drum pattern is played and which lyrics are written (see :mod:`.styles`).
Times are in seconds, pitches in MIDI note numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .instruments import VOWELS

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
#: Four-bar chord progressions as 0-based scale degrees (I-V-vi-IV, vi-IV-I-V, ...).
PROGRESSIONS = ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (0, 3, 4, 3), (0, 3, 0, 4), (1, 4, 0, 0),
                (0, 2, 3, 4), (3, 4, 5, 5))
#: Lyric section layouts; chosen per song, shared by both styles.
SECTION_LAYOUTS = (("Verse 1", "Chorus", "Verse 2", "Chorus"),
                   ("Verse 1", "Chorus", "Verse 2", "Chorus", "Bridge", "Chorus"))
STEPS_PER_BAR = 16


@dataclass(frozen=True)
class Arrangement:
    """Song-level parameters.

    Attributes:
        duration_s: song length in seconds.
        tempo_bpm: beats (quarter notes) per minute; 4 beats per bar.
        tonic: pitch class of the key (0 = C).
        mode: ``"major"`` or ``"minor"``.
        progression: one scale degree per bar, cycled.
        sections: lyric section names in order.
        balance: ``{stem: level in (0, 1]}`` applied after peak levelling.
        pans: ``{part: pan in [-1, 1]}`` for ``vocals``, ``kick``, ``snare``, ``hat``, ``bass``, ``other``.
    """

    duration_s: float
    tempo_bpm: float
    tonic: int
    mode: str
    progression: tuple[int, ...]
    sections: tuple[str, ...]
    balance: dict
    pans: dict

    @property
    def beat_s(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bar_s(self) -> float:
        return 4 * self.beat_s

    @property
    def n_bars(self) -> int:
        return int(math.ceil(self.duration_s / self.bar_s))

    @property
    def scale(self) -> tuple[int, ...]:
        return MAJOR_SCALE if self.mode == "major" else MINOR_SCALE

    def chord(self, bar: int) -> tuple[int, int, int]:
        """Pitch classes (root, third, fifth) of the triad played in ``bar``."""
        degree = self.progression[bar % len(self.progression)]
        scale = self.scale
        return tuple((self.tonic + scale[(degree + i) % 7]) % 12 for i in (0, 2, 4))

    def info(self) -> dict:
        """JSON-ready summary."""
        return {"tempo_bpm": round(self.tempo_bpm, 3), "tonic": self.tonic, "mode": self.mode,
                "progression": list(self.progression), "sections": list(self.sections)}


@dataclass(frozen=True)
class Note:
    """A sung note: onset and duration in seconds, MIDI pitch, vowel, loudness in (0, 1]."""

    onset_s: float
    duration_s: float
    pitch: int
    vowel: str
    loudness: float


@dataclass(frozen=True)
class DrumHit:
    """A drum pattern entry on the 16th-note grid: ``instrument`` in kick/snare/hat/open_hat."""

    bar: int
    step: int
    instrument: str


def compose_arrangement(rng: np.random.Generator, duration_s: float) -> Arrangement:
    """Draw tempo, key, progression, section layout, stem balance and pans."""
    return Arrangement(
        duration_s=float(duration_s),
        tempo_bpm=float(rng.uniform(84.0, 136.0)),
        tonic=int(rng.integers(12)),
        mode=str(rng.choice(["major", "minor"])),
        progression=PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))],
        sections=SECTION_LAYOUTS[int(rng.integers(len(SECTION_LAYOUTS)))],
        balance={name: float(rng.uniform(0.7, 1.0)) for name in ("vocals", "drums", "bass", "other")},
        pans={"vocals": float(rng.uniform(-0.1, 0.1)), "kick": 0.0, "snare": float(rng.uniform(-0.2, 0.2)),
              "hat": float(rng.uniform(-0.6, 0.6)), "bass": float(rng.uniform(-0.05, 0.05)),
              "other": float(rng.uniform(-0.5, 0.5))},
    )


def compose_melody(rng: np.random.Generator, arrangement: Arrangement) -> list[Note]:
    """The vocal line: two-bar phrases (the first always sung, later ones with probability 0.8).

    Pitches walk the key's scale with a pull towards chord tones, in a register centred on a
    random MIDI pitch between 55 and 64; each note gets a random vowel and loudness.
    """
    beat, scale = arrangement.beat_s, arrangement.scale
    centre = int(rng.integers(55, 65))
    register = [p for p in range(centre - 8, centre + 10) if (p - arrangement.tonic) % 12 in scale]
    index = int(np.argmin([abs(p - centre) for p in register]))
    notes: list[Note] = []
    for first_bar in range(0, arrangement.n_bars, 2):
        if first_bar > 0 and rng.random() > 0.8:
            continue
        position = float(rng.choice([0.0, 0.5]))
        span = 8.0 - float(rng.choice([0.5, 1.0, 1.5]))
        while position < span - 0.25:
            length = min(float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0])), span - position)
            index = int(np.clip(index + rng.choice([-2, -1, -1, 0, 1, 1, 2]), 0, len(register) - 1))
            bar = first_bar + int(position // 4)
            if position % 1.0 == 0.0 and rng.random() < 0.5:  # strong beat: move to the nearest chord tone
                chord = arrangement.chord(bar)
                tones = [i for i, p in enumerate(register) if p % 12 in chord]
                index = min(tones, key=lambda i: abs(i - index))
            onset = (first_bar * 4 + position) * beat
            if onset >= arrangement.duration_s:
                break
            notes.append(Note(onset_s=onset, duration_s=length * beat, pitch=register[index],
                              vowel=str(rng.choice(VOWELS)), loudness=float(rng.uniform(0.75, 1.0))))
            position += length
    return notes


def compose_drum_pattern(rng: np.random.Generator, arrangement: Arrangement) -> list[DrumHit]:
    """A one-bar groove (kick/snare/hat templates) repeated over the song, with small per-bar variations.

    Every fourth bar may end in a snare fill; any bar may get one extra kick.
    """
    kick = [(0, 8), (0, 10), (0, 6, 8), (0, 7, 8), (0, 8, 11), (0, 3, 8, 10)][int(rng.integers(6))]
    snare = [(4, 12), (4, 12), (4, 12, 15)][int(rng.integers(3))]
    hat = [tuple(range(0, 16, 2)), tuple(range(16)), (2, 6, 10, 14), tuple(range(0, 16, 2))][int(rng.integers(4))]
    open_hat = rng.random() < 0.4
    hits: list[DrumHit] = []
    for bar in range(arrangement.n_bars):
        bar_kick = set(kick)
        if rng.random() < 0.15:
            bar_kick.add(int(rng.integers(1, 16)))
        bar_snare = set(snare)
        if bar % 4 == 3 and rng.random() < 0.5:
            bar_snare.update((13, 14, 15))
        hits += [DrumHit(bar, s, "kick") for s in sorted(bar_kick)]
        hits += [DrumHit(bar, s, "snare") for s in sorted(bar_snare)]
        for s in hat:
            hits.append(DrumHit(bar, s, "open_hat" if open_hat and s == 14 else "hat"))
    return hits
