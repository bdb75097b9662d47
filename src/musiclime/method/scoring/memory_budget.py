"""Buffers sized in bytes: how many waveforms one composition buffer holds.

The explainer composes a *block* of waveforms into one reused buffer and hands the model
``model_batch`` of them per call. A memory budget bounds the buffer (plus whatever the composer
reserves, e.g. mixture tables), so a 10-second song composes hundreds of waveforms per block and
a 7-minute song a few, and neither runs out of memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ...common.errors import ConfigError

log = logging.getLogger(__name__)

#: Default budget of the composition buffers and tables, MiB (``model.memory_budget_mb``).
DEFAULT_MEMORY_BUDGET_MB = 768
MIB = 1 << 20


@dataclass(frozen=True)
class BlockPlan:
    """How one song's samples are composed and scored.

    Attributes:
        model_batch: items per ``predict_fn`` call (``batch_size``, or fewer when one batch of
            waveforms would exceed the budget).
        block_rows: waveforms composed per buffer fill; a multiple of ``model_batch`` unless it
            holds every sample.
        row_bytes: bytes of one waveform.
    """

    model_batch: int
    block_rows: int
    row_bytes: int

    @property
    def buffer_bytes(self) -> int:
        return self.block_rows * self.row_bytes


def plan_blocks(num_samples: int, nb_timesteps: int, batch_size: int, budget_bytes: int,
                reserved_bytes: int = 0, itemsize: int = 4) -> BlockPlan:
    """Size the composition buffer of ``num_samples`` waveforms of ``nb_timesteps`` samples.

    Args:
        batch_size: the model's batch (items per call) when it fits the budget.
        budget_bytes: bytes for the buffer plus ``reserved_bytes``.
        reserved_bytes: bytes the composer needs besides the buffer.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    if budget_bytes < 1:
        raise ConfigError(f"config key model.memory_budget_mb: must be positive, got {budget_bytes / MIB:g} MiB")
    row_bytes = int(nb_timesteps) * itemsize
    rows_fit = max(1, (int(budget_bytes) - int(reserved_bytes)) // row_bytes)
    model_batch = max(1, min(batch_size, rows_fit, num_samples))
    if model_batch < min(batch_size, num_samples):
        log.info("a batch of %d waveforms of %.1f MiB exceeds the memory budget of %.0f MiB: the model gets %d per call",
                 batch_size, row_bytes / MIB, budget_bytes / MIB, model_batch)
    block_rows = max(model_batch, min(num_samples, rows_fit // model_batch * model_batch))
    return BlockPlan(model_batch=model_batch, block_rows=block_rows, row_bytes=row_bytes)
