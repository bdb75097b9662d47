"""Signal building blocks of the demo songs: tones, envelopes, formants, drum hits, panning.

Every function is deterministic given its arguments (randomness comes in through a
``numpy.random.Generator`` argument). Signals are float32 numpy arrays ``(nb_timesteps,)``;
times are in seconds, frequencies in Hz, pitches in MIDI note numbers (69 = A4 = 440 Hz).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

#: Samples per period of the wavetables used by bass and chord tones.
TABLE_SIZE = 4096

#: Vowel formants: (centre frequencies in Hz, bandwidths in Hz, linear gains), a sung tenor/alto voice.
VOWEL_FORMANTS = {
    "a": ((800.0, 1150.0, 2900.0), (80.0, 90.0, 120.0), (1.0, 0.5, 0.12)),
    "e": ((450.0, 1900.0, 2600.0), (70.0, 100.0, 120.0), (1.0, 0.35, 0.12)),
    "i": ((330.0, 2200.0, 3000.0), (60.0, 100.0, 120.0), (1.0, 0.25, 0.15)),
    "o": ((480.0, 850.0, 2800.0), (70.0, 80.0, 100.0), (1.0, 0.55, 0.06)),
    "u": ((340.0, 750.0, 2700.0), (60.0, 80.0, 100.0), (1.0, 0.3, 0.04)),
}
VOWELS = tuple(VOWEL_FORMANTS)


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray | float:
    """Frequency in Hz of (fractional) MIDI pitch ``midi``."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def formant_gains(freqs_hz: np.ndarray, vowel: str) -> np.ndarray:
    """Spectral envelope of ``vowel`` at ``freqs_hz`` (any shape), with a -6 dB/octave source tilt."""
    centres, widths, gains = VOWEL_FORMANTS[vowel]
    f = np.asarray(freqs_hz, dtype=np.float64)
    envelope = np.full_like(f, 0.02)
    for centre, width, gain in zip(centres, widths, gains):
        envelope += gain / (1.0 + ((f - centre) / (0.5 * width)) ** 2)
    return envelope * (100.0 / np.maximum(f, 100.0))


def harmonic_table(amplitudes: np.ndarray) -> np.ndarray:
    """One period ``(TABLE_SIZE,)`` float32 of a tone whose harmonic ``k+1`` has ``amplitudes[k]``."""
    phase = np.arange(TABLE_SIZE) / TABLE_SIZE
    k = np.arange(1, len(amplitudes) + 1)[:, None]
    table = (np.asarray(amplitudes, dtype=np.float64)[:, None] * np.sin(2 * np.pi * k * phase)).sum(axis=0)
    return (table / np.max(np.abs(table))).astype(np.float32)


def wavetable_tone(table: np.ndarray, freq_hz: float, nb_timesteps: int, sample_rate: int,
                   phase0: float = 0.0) -> np.ndarray:
    """Steady tone ``(nb_timesteps,)`` reading ``table`` at ``freq_hz``, starting at phase ``phase0`` (cycles)."""
    cycles = phase0 + freq_hz * np.arange(nb_timesteps, dtype=np.float64) / sample_rate
    index = ((cycles % 1.0) * TABLE_SIZE).astype(np.int64)
    return table[index]


def ad_envelope(nb_timesteps: int, sample_rate: int, attack_s: float, decay_s: float,
                release_s: float = 0.02, sustain: float = 0.0) -> np.ndarray:
    """Attack / exponential decay to ``sustain`` / linear release at the end, shape ``(nb_timesteps,)``."""
    t = np.arange(nb_timesteps, dtype=np.float32) / sample_rate
    attack = np.minimum(t / max(attack_s, 1e-4), 1.0)
    decay = sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack_s, 0.0) / max(decay_s, 1e-4))
    release = np.clip((t[-1] - t) / max(release_s, 1e-4), 0.0, 1.0) if nb_timesteps else t
    return (attack * decay * release).astype(np.float32)


def fade_edges(nb_timesteps: int, sample_rate: int, fade_s: float) -> np.ndarray:
    """Gain ``(nb_timesteps,)``: linear fade-in and fade-out of ``fade_s`` seconds, 1 in between."""
    n = max(1, int(fade_s * sample_rate))
    ramp = np.minimum(np.arange(nb_timesteps) + 1, np.arange(nb_timesteps)[::-1] + 1) / n
    return np.minimum(ramp, 1.0).astype(np.float32)


def one_pole_lowpass(signal: np.ndarray, cutoff_hz: float, sample_rate: int) -> np.ndarray:
    """First-order low-pass filter of ``signal`` (float32, same shape)."""
    a = float(np.exp(-2 * np.pi * cutoff_hz / sample_rate))
    return lfilter([1.0 - a], [1.0, -a], signal).astype(np.float32)


def one_pole_highpass(signal: np.ndarray, cutoff_hz: float, sample_rate: int) -> np.ndarray:
    """First-order high-pass filter of ``signal`` (float32, same shape)."""
    return (signal - one_pole_lowpass(signal, cutoff_hz, sample_rate)).astype(np.float32)


def kick_sample(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A kick drum hit: a sine sweeping down in pitch with an exponential decay, plus a click."""
    start_hz, end_hz = rng.uniform(110, 170), rng.uniform(42, 60)
    sweep_s, decay_s = rng.uniform(0.02, 0.05), rng.uniform(0.15, 0.3)
    n = int(4 * decay_s * sample_rate)
    t = np.arange(n) / sample_rate
    freq = end_hz + (start_hz - end_hz) * np.exp(-t / sweep_s)
    body = np.sin(2 * np.pi * np.cumsum(freq) / sample_rate) * np.exp(-t / decay_s)
    click = rng.standard_normal(n) * np.exp(-t / 0.003) * 0.3
    return _normalized(body + click)


def snare_sample(rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A snare hit: a short pitched body plus band-limited noise (the wires)."""
    tone_hz, decay_s = rng.uniform(160, 240), rng.uniform(0.1, 0.2)
    n = int(4 * decay_s * sample_rate)
    t = np.arange(n) / sample_rate
    body = np.sin(2 * np.pi * tone_hz * t) * np.exp(-t / 0.05)
    wires = one_pole_lowpass(one_pole_highpass(rng.standard_normal(n), 1500, sample_rate),
                             min(7000.0, 0.4 * sample_rate), sample_rate)
    return _normalized(0.6 * body + rng.uniform(1.5, 2.5) * wires * np.exp(-t / decay_s))


def hat_sample(rng: np.random.Generator, sample_rate: int, open_hat: bool = False) -> np.ndarray:
    """A hi-hat hit: high-passed noise with a short (closed) or longer (open) decay."""
    decay_s = rng.uniform(0.12, 0.25) if open_hat else rng.uniform(0.025, 0.06)
    n = int(4 * decay_s * sample_rate)
    t = np.arange(n) / sample_rate
    noise = one_pole_highpass(one_pole_highpass(rng.standard_normal(n), 6000, sample_rate), 6000, sample_rate)
    return _normalized(noise * np.exp(-t / decay_s))


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power (left, right) gains for ``pan`` in [-1 (left), 1 (right)]."""
    angle = (float(pan) + 1.0) * np.pi / 4
    return float(np.cos(angle)), float(np.sin(angle))


def place(buffer: np.ndarray, sample: np.ndarray, start: int, gain: float) -> None:
    """Add ``gain * sample`` into ``buffer`` ``(nb_timesteps,)`` from index ``start``, clipped at the end."""
    if start >= buffer.shape[0]:
        return
    if start < 0:
        sample, start = sample[-start:], 0
    end = min(buffer.shape[0], start + sample.shape[0])
    buffer[start:end] += gain * sample[: end - start]


def _normalized(signal: np.ndarray) -> np.ndarray:
    return (signal / max(float(np.max(np.abs(signal))), 1e-9)).astype(np.float32)
