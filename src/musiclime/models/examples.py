"""A worked example of plugging your own classifier into the workflow.

A model config names a *factory* with ``_target_``; the workflow calls it with the config's other
keys and uses what it returns as ``predict_fn(texts, audios) -> probabilities``:

.. code-block:: yaml

    # conf/model/loudness.yaml
    defaults: [base_model]
    name: loudness
    predict_fn:
      _target_: musiclime.models.examples.loudness_predict_fn
      segment: second_half
    requires: []        # files the factory reads (e.g. weights), so Snakemake tracks them

This toy model calls a song "Human-Composed" the louder its chosen half is; it needs no weights.
"""

from __future__ import annotations

import numpy as np

SEGMENTS = ("first_half", "second_half", "whole")


def loudness_predict_fn(segment: str = "second_half", gain: float = 5.0, sample_rate: int | None = None):
    """Return a predict_fn scoring class 1 by the RMS level of part of the audio.

    Args:
        segment: ``"first_half"``, ``"second_half"`` or ``"whole"``.
        gain: RMS-to-probability factor.
        sample_rate: the rate the model expects (Hz), or ``None`` for any.

    Returns:
        ``predict_fn(texts: list[str], audios: float32 (batch, nb_timesteps)) -> float64 (batch, 2)``.
    """
    if segment not in SEGMENTS:
        raise ValueError(f"segment must be one of {SEGMENTS}, got {segment!r}")

    def predict_fn(texts: list[str], audios: np.ndarray) -> np.ndarray:
        half = audios.shape[1] // 2
        part = {"first_half": audios[:, :half], "second_half": audios[:, half:], "whole": audios}[segment]
        p_human = np.clip(np.sqrt(np.mean(np.square(part, dtype=np.float64), axis=1)) * gain, 0.0, 1.0)
        return np.stack([1.0 - p_human, p_human], axis=1)

    if sample_rate is not None:
        predict_fn.sample_rate = sample_rate
    return predict_fn
