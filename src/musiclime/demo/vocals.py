"""The sung vocal line: a harmonic voice source shaped by vowel formants, following a pitch track.

The pitch track is where the styles differ: mechanical (every note exactly on its pitch) or
expressive (scoops, vibrato, drift; :class:`.styles.VocalExpression`).
"""

from __future__ import annotations

import numpy as np

from .arrangement import Note
from .instruments import formant_gains, midi_to_hz, one_pole_highpass
from .styles import VocalExpression

#: Highest harmonic frequency synthesized (Hz); the formants above add little.
MAX_HARMONIC_HZ = 5000.0
ATTACK_S, RELEASE_S = 0.03, 0.06


def pitch_deviation(note: Note, t: np.ndarray, expression: VocalExpression, song: dict,
                    rng: np.random.Generator) -> np.ndarray:
    """Deviation in semitones ``(len(t),)`` of an expressive rendering of ``note`` at times ``t`` after its onset.

    Args:
        song: per-song expression parameters drawn by :func:`draw_song_expression`.
    """
    deviation = np.full(t.shape, rng.normal(0.0, expression.drift))
    if rng.random() < expression.scoop_probability:
        depth, tau = rng.uniform(*expression.scoop_depth), rng.uniform(*expression.scoop_time_s)
        deviation -= depth * np.exp(-t / tau)
    delay = rng.uniform(*expression.vibrato_delay_s)
    ramp = np.clip((t - delay) / 0.15, 0.0, 1.0)
    rate = song["vibrato_rate_hz"] * rng.uniform(0.95, 1.05)
    depth = song["vibrato_depth"] * rng.uniform(0.8, 1.2)
    deviation += depth * ramp * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    deviation += expression.wander * np.sin(2 * np.pi * song["wander_hz"] * (t + note.onset_s) + song["wander_phase"])
    return deviation


def draw_song_expression(expression: VocalExpression, rng: np.random.Generator) -> dict:
    """Per-song expression parameters (vibrato rate and depth, wander)."""
    return {"vibrato_rate_hz": rng.uniform(*expression.vibrato_rate_hz),
            "vibrato_depth": rng.uniform(*expression.vibrato_depth),
            "wander_hz": rng.uniform(0.2, 0.8), "wander_phase": rng.uniform(0, 2 * np.pi)}


def render_vocals(notes: list[Note], nb_timesteps: int, sample_rate: int, expression: VocalExpression | None,
                  expression_rng: np.random.Generator, breath_rng: np.random.Generator) -> np.ndarray:
    """Mono vocals ``(nb_timesteps,)`` float32 at ``sample_rate`` Hz.

    Args:
        notes: the melody (non-overlapping, in time order).
        expression: ``None`` sings every note exactly on pitch (ai style).
        expression_rng: stream for the expressive deviations (unused when ``expression`` is None).
        breath_rng: stream for the breath noise (style-independent).
    """
    pitch = np.zeros(nb_timesteps, dtype=np.float64)  # MIDI pitch per sample, held through rests
    envelope = np.zeros(nb_timesteps, dtype=np.float32)
    spans = []
    song = draw_song_expression(expression, expression_rng) if expression is not None else None
    held = notes[0].pitch if notes else 60.0
    cursor = 0
    for note in notes:
        start = int(round(note.onset_s * sample_rate))
        end = min(nb_timesteps, int(round((note.onset_s + note.duration_s) * sample_rate)))
        if end <= start:
            continue
        pitch[cursor:start] = held
        t = np.arange(end - start) / sample_rate
        pitch[start:end] = note.pitch
        if expression is not None:
            pitch[start:end] += pitch_deviation(note, t, expression, song, expression_rng)
        attack = np.minimum(t / ATTACK_S, 1.0)
        release = np.clip((t[-1] - t) / RELEASE_S, 0.0, 1.0)
        envelope[start:end] = note.loudness * attack * release * (0.85 + 0.15 * np.exp(-t / 0.2))
        spans.append((start, end, note))
        held, cursor = note.pitch, end
    pitch[cursor:] = held

    cycles = np.cumsum(midi_to_hz(pitch)) / sample_rate
    cycles = (cycles % 1.0).astype(np.float32)
    voice = np.zeros(nb_timesteps, dtype=np.float32)
    for start, end, note in spans:
        f0 = float(midi_to_hz(note.pitch))
        n_harmonics = max(1, int(min(MAX_HARMONIC_HZ, 0.45 * sample_rate) / (f0 * 1.08)))
        k = np.arange(1, n_harmonics + 1)
        gains = formant_gains(k * f0, note.vowel)
        gains = (gains / np.sqrt(np.sum(gains ** 2))).astype(np.float32)
        voice[start:end] = harmonic_sum((2 * np.pi) * cycles[start:end], gains)
    breath = one_pole_highpass(breath_rng.standard_normal(nb_timesteps).astype(np.float32), 2000.0, sample_rate)
    return ((voice + 0.03 * breath) * envelope).astype(np.float32)


def harmonic_sum(phase: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """``sum_k gains[k-1] * sin(k * phase)`` ``(len(phase),)`` float32, by the Chebyshev recurrence.

    ``sin((k+1)x) = 2 cos(x) sin(kx) - sin((k-1)x)`` costs two multiply-adds per harmonic instead of a sine.
    """
    twice_cos = (2.0 * np.cos(phase)).astype(np.float32)
    previous = np.zeros_like(twice_cos)
    current = np.sin(phase).astype(np.float32)
    total = gains[0] * current
    for gain in gains[1:]:
        previous, current = current, twice_cos * current - previous
        total += gain * current
    return total
