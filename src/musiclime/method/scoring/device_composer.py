"""Composing perturbed waveforms on the model's torch device (a GPU): the stems move there once.

Each block is one matrix product per segment, ``(rows, nb_sources) @ (nb_sources, segment_len)``,
written into a reused device buffer; only the masks cross the bus.
"""

from __future__ import annotations

import numpy as np
import torch

from ...factorization.base import Factorization


def compose_on_device(stems: torch.Tensor, boundaries, masks: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Compose ``(batch, nb_timesteps)`` waveforms into ``out`` (any device; CPU tensors work too).

    Args:
        stems: float32 ``(nb_sources, nb_timesteps)``.
        boundaries: ``temporal_segments + 1`` segment edges in samples.
        masks: float32 ``(batch, temporal_segments * nb_sources)`` segment-major weights, on the stems' device.
        out: float32 ``(>= batch, nb_timesteps)`` buffer; its first ``batch`` rows are written and returned.
    """
    nb_sources = stems.shape[0]
    out = out[:masks.shape[0]]
    for k in range(len(boundaries) - 1):
        start, stop = int(boundaries[k]), int(boundaries[k + 1])
        torch.matmul(masks[:, k * nb_sources:(k + 1) * nb_sources], stems[:, start:stop], out=out[:, start:stop])
    return out


class DeviceComposer:
    """Stems and a float32 buffer ``(block_rows, nb_timesteps)`` on ``device``; composes blocks there."""

    def __init__(self, factorization: Factorization, block_rows: int, device: str):
        self.device = torch.device(device)
        self.stems = torch.from_numpy(factorization.stems).to(self.device)
        self.boundaries = [int(b) for b in factorization.boundaries]
        self.buffer = torch.empty((block_rows, factorization.nb_timesteps), dtype=torch.float32, device=self.device)

    def compose(self, audio_masks: np.ndarray) -> torch.Tensor:
        """Waveforms ``(len(audio_masks), nb_timesteps)``: a view of the device buffer."""
        masks = torch.from_numpy(np.ascontiguousarray(audio_masks, dtype=np.float32)).to(self.device)
        return compose_on_device(self.stems, self.boundaries, masks, self.buffer)
