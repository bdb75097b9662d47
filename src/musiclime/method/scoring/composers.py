"""Where perturbed waveforms are built: a reused host buffer (NumPy) or the model's torch device.

``predict_fn`` may opt in to tensors by naming a torch device in a ``torch_device`` attribute
(``"cpu"``, ``"cuda"``, ``"cuda:1"``): it then receives float32 tensors ``(batch, nb_timesteps)``
on that device, composed there (the stems move once), instead of NumPy arrays. Lyrics stay
strings. Functions without the attribute (or with ``None``) get NumPy arrays.

Either way the waveforms live in one buffer reused for every block, sized by the memory budget
(:mod:`musiclime.method.scoring.memory_budget`); a ``predict_fn`` must not keep the arrays it is given after it
returns (copy them if it must).
"""

from __future__ import annotations

import logging

import numpy as np

from ...factorization.base import Factorization
from ...factorization.mixtures import MAX_TABLE_SOURCES, all_mixture_tables, table_bytes
from .memory_budget import BlockPlan, plan_blocks

log = logging.getLogger(__name__)


def model_device(predict_fn) -> str | None:
    """The torch device ``predict_fn`` takes tensors on (its ``torch_device`` attribute), or None for NumPy."""
    device = getattr(predict_fn, "torch_device", None)
    return None if device is None else str(device)


def to_model_input(audios: np.ndarray, device: str | None):
    """``audios`` float32 ``(batch, nb_timesteps)`` as the model takes them: NumPy, or a tensor on ``device``."""
    audios = np.ascontiguousarray(audios, dtype=np.float32)
    if device is None:
        return audios
    import torch

    return torch.from_numpy(audios).to(device)


class HostComposer:
    """Composes blocks of waveforms into one reused float32 host buffer ``(block_rows, nb_timesteps)``.

    With ``cache_tables`` the mixture tables of every segment are built once (``2**nb_sources x
    nb_timesteps`` float32) and composition is a pure copy; otherwise each block builds the rows it needs.
    ``as_tensor`` returns zero-copy CPU tensor views of the buffer (for a model on the CPU that takes tensors).
    """

    def __init__(self, factorization: Factorization, block_rows: int, cache_tables: bool = False,
                 as_tensor: bool = False):
        self.factorization = factorization
        self.buffer = np.empty((block_rows, factorization.nb_timesteps), dtype=np.float32)
        self.tables = all_mixture_tables(factorization.stems, factorization.boundaries) if cache_tables else None
        self.as_tensor = as_tensor

    def compose(self, audio_masks: np.ndarray):
        """Waveforms ``(len(audio_masks), nb_timesteps)``: a view of the buffer (NumPy or CPU tensor)."""
        view = self.factorization.compose_batch(audio_masks, out=self.buffer, tables=self.tables)
        if not self.as_tensor:
            return view
        import torch

        return torch.from_numpy(view)


def make_composer(factorization: Factorization, device: str | None, num_samples: int, batch_size: int,
                  budget_bytes: int) -> tuple[object, BlockPlan]:
    """The composer for a model on ``device`` (None = NumPy input) and its block plan.

    On the host, the mixture tables are cached when they take at most half the budget; on an
    accelerator the stems are moved there and composed by one matrix product per segment.
    """
    fact = factorization
    nb_sources = fact.stems.shape[0]
    if device is not None and not device.startswith("cpu"):
        from .device_composer import DeviceComposer

        stems_bytes = fact.stems.nbytes
        plan = plan_blocks(num_samples, fact.nb_timesteps, batch_size, budget_bytes, reserved_bytes=stems_bytes)
        log.info("composing on %s: blocks of %d waveforms (%.0f MiB)", device, plan.block_rows,
                 plan.buffer_bytes / (1 << 20))
        return DeviceComposer(fact, plan.block_rows, device), plan
    tables = table_bytes(nb_sources, fact.nb_timesteps) if nb_sources <= MAX_TABLE_SOURCES else budget_bytes + 1
    cache = tables <= budget_bytes // 2
    largest_segment = int(np.diff(fact.boundaries).max())
    reserved = tables if cache else table_bytes(nb_sources, largest_segment)
    plan = plan_blocks(num_samples, fact.nb_timesteps, batch_size, budget_bytes, reserved_bytes=reserved)
    log.debug("composing on the host: blocks of %d waveforms, mixture tables %s", plan.block_rows,
              "cached" if cache else "per block")
    return HostComposer(fact, plan.block_rows, cache_tables=cache, as_tensor=device is not None), plan
