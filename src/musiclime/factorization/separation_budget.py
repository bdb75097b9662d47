"""Chunks per Open-Unmix forward pass, sized in bytes (``separation.memory_budget_mb``).

Batching chunks speeds separation up on a GPU, but each chunk in a forward pass holds its STFT,
the targets' spectrograms, their Wiener-filtered STFTs (and a contiguous copy) and the inverse
STFT's frames at once: about 0.7 GB for a 30 s stereo chunk at 44.1 kHz, whatever the model's
hidden size. The budget bounds those bytes, as ``model.memory_budget_mb`` bounds the composition
buffer; ``separation.chunk_batch`` stays the upper limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..common.errors import ConfigError

log = logging.getLogger(__name__)

MIB = 1 << 20
#: Default budget of the chunks in flight in one forward pass, MiB (``separation.memory_budget_mb``).
#: One 30 s chunk of a 4-target model takes ~690 MiB, so the default separates one at a time (a
#: 7-minute song then peaks at 2.3 GiB on the CPU instead of 4.3 GiB with 4 per pass); raise it on a
#: GPU to batch.
DEFAULT_SEPARATION_MEMORY_BUDGET_MB = 768
#: Peak bytes of one chunk in a forward pass, in float32 ``(nb_targets, nb_channels, nb_bins,
#: nb_frames)`` arrays (the targets' magnitude spectrograms, 81 MiB for a 30 s chunk). Fitted to the
#: growth of peak RSS per extra chunk in a pass (CPU, hidden 512, 30 s chunks: 2-minute song 1 -> 2
#: chunks +679 MiB; 7-minute song 1 -> 4 chunks +672 MiB each; benchmarks/README.md), rounded up.
SPECTROGRAM_COPIES = 8.5


@dataclass(frozen=True)
class ChunkGeometry:
    """What sets the bytes of one chunk: its length and the separator's STFT and targets.

    Attributes:
        chunk_samples: samples per channel of one chunk at the model's rate.
        n_fft, n_hop: the separator's STFT size and hop, samples.
        nb_channels: audio channels the model sees (2 for the pretrained models).
        nb_targets: separated targets (4 for umxl/umxhq).
    """

    chunk_samples: int
    n_fft: int
    n_hop: int
    nb_channels: int
    nb_targets: int

    @property
    def nb_frames(self) -> int:
        return self.chunk_samples // self.n_hop + 1  # centred STFT

    @property
    def nb_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def chunk_bytes(self) -> int:
        """Estimated peak bytes of one chunk during a forward pass (float32 work)."""
        spectrograms = self.nb_targets * self.nb_channels * self.nb_bins * self.nb_frames * 4
        return int(SPECTROGRAM_COPIES * spectrograms)


def plan_chunk_batch(chunk_batch: int, geometry: ChunkGeometry, budget_bytes: int, nb_chunks: int | None = None) -> int:
    """Chunks per forward pass: at most ``chunk_batch``, and as many as ``budget_bytes`` holds.

    Args:
        chunk_batch: the upper limit (``separation.chunk_batch``).
        geometry: the chunk and the separator it goes through.
        budget_bytes: bytes the chunks in flight may take (``separation.memory_budget_mb``).
        nb_chunks: full-length chunks of the song, when known (only for the log line).

    Raises:
        ConfigError: ``chunk_batch < 1``, or a budget that cannot hold one chunk (naming the key
            and the MiB one chunk needs).
    """
    if chunk_batch < 1:
        raise ConfigError(f"config key separation.chunk_batch: must be >= 1, got {chunk_batch}")
    per_chunk = geometry.chunk_bytes
    fit = int(budget_bytes) // per_chunk
    if fit < 1:
        raise ConfigError(
            f"config key separation.memory_budget_mb: {budget_bytes / MIB:g} MiB cannot hold one "
            f"{geometry.chunk_samples}-sample chunk (~{per_chunk / MIB:.0f} MiB in a forward pass); raise it to "
            f"at least {-(-per_chunk // MIB)} or lower separation.chunk_seconds")
    batch = min(chunk_batch, fit)
    if batch < chunk_batch and (nb_chunks is None or nb_chunks > batch):
        log.info("Open-Unmix: %d chunks of ~%.0f MiB exceed separation.memory_budget_mb=%.0f: %d per forward pass",
                 chunk_batch, per_chunk / MIB, budget_bytes / MIB, batch)
    return batch
