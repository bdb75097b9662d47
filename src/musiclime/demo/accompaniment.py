"""Bass and chords ("other"): wavetable tones following the chord progression.

Both are drawn from their own random streams and never look at the style, so they carry no class
signal: for one seed the ``ai`` and ``human`` songs have identical bass and other stems.
"""

from __future__ import annotations

import numpy as np

from .arrangement import Arrangement
from .instruments import ad_envelope, harmonic_table, midi_to_hz, pan_gains, wavetable_tone

#: Bass rhythms: note onsets within a bar, in beats.
BASS_RHYTHMS = ((0.0,), (0.0, 2.0), (0.0, 1.0, 2.0, 3.0), (0.0, 1.5, 2.0, 3.5),
                (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5), (0.0, 0.75, 2.0, 2.75))
#: Chord rhythms: onsets within a bar in beats (one onset = a sustained pad).
CHORD_RHYTHMS = ((0.0,), (0.0, 2.0), (0.0, 1.5, 2.5), (0.5, 1.5, 2.5, 3.5))


def render_bass(arrangement: Arrangement, rng: np.random.Generator, nb_timesteps: int,
                sample_rate: int) -> np.ndarray:
    """Stereo bass ``(2, nb_timesteps)`` float32: chord roots (sometimes fifths/octaves) in a bar rhythm."""
    table = harmonic_table(1.0 / np.arange(1, 13) ** rng.uniform(1.0, 2.2))
    rhythm = BASS_RHYTHMS[int(rng.integers(len(BASS_RHYTHMS)))]
    decay_s, sustain = rng.uniform(0.25, 1.0), rng.uniform(0.2, 0.6)
    mono = np.zeros(nb_timesteps, dtype=np.float32)
    beat = arrangement.beat_s
    for bar in range(arrangement.n_bars):
        root = arrangement.chord(bar)[0]
        base = 36 + root if root < 8 else 24 + root
        for i, onset in enumerate(rhythm):
            pitch = base
            if i > 0 and rng.random() < 0.2:
                pitch += int(rng.choice([7, 12]))
            end_beat = rhythm[i + 1] if i + 1 < len(rhythm) else 4.0
            start = int(round((bar * 4 + onset) * beat * sample_rate))
            length = min(int(round((end_beat - onset) * beat * 0.95 * sample_rate)), nb_timesteps - start)
            if length <= 0:
                continue
            tone = wavetable_tone(table, float(midi_to_hz(pitch)), length, sample_rate)
            mono[start:start + length] += tone * ad_envelope(length, sample_rate, 0.005, decay_s, 0.02, sustain)
    return _pan(mono, arrangement.pans["bass"])


def render_chords(arrangement: Arrangement, rng: np.random.Generator, nb_timesteps: int,
                  sample_rate: int) -> np.ndarray:
    """Stereo chords ``(2, nb_timesteps)`` float32: triads around middle C, as a pad or as rhythmic stabs."""
    table = harmonic_table(rng.uniform(0.05, 1.0, size=6) / np.arange(1, 7))
    rhythm = CHORD_RHYTHMS[int(rng.integers(len(CHORD_RHYTHMS)))]
    pad = len(rhythm) == 1
    attack_s = rng.uniform(0.1, 0.4) if pad else 0.005
    decay_s, sustain = (2.0, 0.8) if pad else (rng.uniform(0.2, 0.6), 0.1)
    low = int(rng.integers(52, 58))
    spread = rng.uniform(0.3, 1.0)
    out = np.zeros((2, nb_timesteps), dtype=np.float32)
    beat = arrangement.beat_s
    for bar in range(arrangement.n_bars):
        pitches = [low + ((pc - low) % 12) for pc in arrangement.chord(bar)]
        for i, onset in enumerate(rhythm):
            end_beat = rhythm[i + 1] if i + 1 < len(rhythm) else 4.0
            start = int(round((bar * 4 + onset) * beat * sample_rate))
            length = min(int(round((end_beat - onset) * beat * sample_rate)), nb_timesteps - start)
            if length <= 0:
                continue
            envelope = ad_envelope(length, sample_rate, attack_s, decay_s, 0.03, sustain)
            for voice, pitch in enumerate(sorted(pitches)):
                tone = wavetable_tone(table, float(midi_to_hz(pitch)), length, sample_rate, phase0=0.25 * voice)
                left, right = pan_gains(np.clip(arrangement.pans["other"] + spread * (voice - 1) / 2, -1, 1))
                out[0, start:start + length] += left * tone * envelope
                out[1, start:start + length] += right * tone * envelope
    return out


def _pan(mono: np.ndarray, pan: float) -> np.ndarray:
    left, right = pan_gains(pan)
    return np.stack([left * mono, right * mono]).astype(np.float32)
