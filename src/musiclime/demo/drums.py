"""The drum stem: synthesized kick, snare and hi-hats placed by a pattern and a performance.

The performance is where the styles differ: mechanical (on the grid, constant velocity) or
played (:class:`.styles.DrumFeel`: timing jitter, accents and velocity variation, ghost notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrangement import STEPS_PER_BAR, Arrangement, DrumHit
from .instruments import hat_sample, kick_sample, one_pole_lowpass, pan_gains, place, snare_sample
from .styles import DrumFeel

#: Relative level of each instrument in the kit.
KIT_LEVELS = {"kick": 1.0, "snare": 0.8, "hat": 0.3, "open_hat": 0.3}
#: Nominal accent of a hit by its 16th-note step: beats > off-beat 8ths > other 16ths.
ACCENTS = np.array([1.0 if s % 4 == 0 else 0.6 if s % 2 == 0 else 0.45 for s in range(STEPS_PER_BAR)])


@dataclass(frozen=True)
class PlayedHit:
    """A hit as played: time in seconds, instrument, velocity in (0, 1]."""

    time_s: float
    instrument: str
    velocity: float


def make_kit(rng: np.random.Generator, sample_rate: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The song's drum samples ``{instrument: (hard, soft)}``, each ``(n,) float32``.

    ``hard`` is the sample at full velocity (peak 1); ``soft`` the same hit low-passed, the timbre
    of a gentle stroke. A hit of velocity ``v`` blends them: ``v * hard + (1 - v) * soft``.
    """
    hard = {"kick": kick_sample(rng, sample_rate), "snare": snare_sample(rng, sample_rate),
            "hat": hat_sample(rng, sample_rate), "open_hat": hat_sample(rng, sample_rate, open_hat=True)}
    cutoff = {"kick": 150.0, "snare": 1200.0, "hat": 4000.0, "open_hat": 4000.0}
    kit = {}
    for name, sample in hard.items():
        soft = one_pole_lowpass(one_pole_lowpass(sample, cutoff[name], sample_rate), cutoff[name], sample_rate)
        soft *= np.float32(np.max(np.abs(sample)) / max(float(np.max(np.abs(soft))), 1e-9))
        kit[name] = (sample, soft)
    return kit


def perform(pattern: list[DrumHit], arrangement: Arrangement, feel: DrumFeel | None,
            rng: np.random.Generator) -> list[PlayedHit]:
    """Turn pattern entries into played hits; ``feel=None`` plays them mechanically."""
    step_s = arrangement.bar_s / STEPS_PER_BAR
    if feel is None:
        return [PlayedHit((h.bar * STEPS_PER_BAR + h.step) * step_s, h.instrument, 1.0) for h in pattern]
    jitter = rng.uniform(*feel.jitter_s)
    lag = {"kick": 0.0, "snare": rng.uniform(-0.004, 0.01), "hat": rng.uniform(-0.008, 0.008)}
    lag["open_hat"] = lag["hat"]
    ghost_probability = rng.uniform(*feel.ghost_probability)
    played = []
    for h in pattern:
        time = (h.bar * STEPS_PER_BAR + h.step) * step_s + lag[h.instrument] + rng.normal(0.0, jitter)
        velocity = ACCENTS[h.step] * np.exp(rng.normal(0.0, feel.velocity_spread))
        played.append(PlayedHit(max(0.0, time), h.instrument, float(np.clip(velocity, 0.3, 1.0))))
    occupied = {(h.bar, h.step) for h in pattern if h.instrument in ("kick", "snare")}
    n_bars = max((h.bar for h in pattern), default=-1) + 1
    for bar in range(n_bars):
        for step in range(STEPS_PER_BAR):
            if (bar, step) not in occupied and rng.random() < ghost_probability:
                time = (bar * STEPS_PER_BAR + step) * step_s + lag["snare"] + rng.normal(0.0, jitter)
                played.append(PlayedHit(max(0.0, time), "snare", float(rng.uniform(*feel.ghost_velocity))))
    return played


def render_drums(hits: list[PlayedHit], kit: dict[str, tuple[np.ndarray, np.ndarray]], pans: dict,
                 nb_timesteps: int, sample_rate: int) -> np.ndarray:
    """Stereo drums ``(2, nb_timesteps)`` float32: each hit's velocity-blended sample scaled by velocity
    and kit level, panned."""
    out = np.zeros((2, nb_timesteps), dtype=np.float32)
    for hit in hits:
        start = int(round(hit.time_s * sample_rate))
        if start >= nb_timesteps:
            continue
        left, right = pan_gains(pans["hat" if hit.instrument == "open_hat" else hit.instrument])
        gain = hit.velocity * KIT_LEVELS[hit.instrument]
        hard, soft = kit[hit.instrument]
        sample = hard if hit.velocity >= 1.0 else hit.velocity * hard + (1.0 - hit.velocity) * soft
        place(out[0], sample, start, gain * left)
        place(out[1], sample, start, gain * right)
    return out
