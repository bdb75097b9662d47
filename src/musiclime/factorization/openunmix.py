"""Factorization by Open-Unmix source separation (the real ``openunmix`` package).

The audio is resampled to the model's rate, separated in overlapping chunks (memory stays bounded
for long songs), downmixed to mono and resampled back, explicitly. The seed handed 22.05 kHz audio
to a 44.1 kHz model; here the rate travels with the audio.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..common.audio import resample
from ..common.devices import resolve_device
from ..common.errors import FactorizationError
from ..common.model_cache import MODELS, config_key
from .base import Factorization, with_residual
from .openunmix_weights import load_openunmix_separator
from .separation_budget import DEFAULT_SEPARATION_MEMORY_BUDGET_MB, MIB, ChunkGeometry, plan_chunk_batch

log = logging.getLogger(__name__)

#: Most chunks separated per forward pass (``separation.chunk_batch``); ``memory_budget_mb`` may allow fewer.
DEFAULT_CHUNK_BATCH = 4


class OpenUnmixFactorization(Factorization):
    """Components from Open-Unmix stems (vocals, drums, bass, other for umxl/umxhq).

    Args:
        audio: mono ``(nb_timesteps,)`` or ``(nb_channels, nb_timesteps)`` float32 at ``sample_rate``.
        temporal_segmentation_params: segments per source (seed name; ``temporal_segments`` alias).
        sample_rate: Hz of ``audio`` (the seed assumed 22050 without saying so).
        model: pretrained name (``umxl`` default, ``umxhq``) or a local weights folder.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
        residual: add a ``residual`` source (mix minus the sum of the stems).
        chunk_seconds: length of the separated chunks; ``overlap_seconds`` are cross-faded.
        chunk_batch: most chunks per forward pass of the model.
        memory_budget_mb: MiB the chunks of one forward pass may take (fewer than ``chunk_batch``
            when they would exceed it; see :mod:`.separation_budget`).
        niter: Wiener-filter EM iterations (Open-Unmix's default 1).
    """

    backend = "openunmix"

    def __init__(self, audio: np.ndarray, temporal_segmentation_params: int = 10, sample_rate: int = 22050,
                 model: str | os.PathLike = "umxl", device: str = "cpu", residual: bool = False,
                 chunk_seconds: float = 30.0, overlap_seconds: float = 1.0, niter: int = 1,
                 temporal_segments: int | None = None, progress: bool = True,
                 chunk_batch: int = DEFAULT_CHUNK_BATCH,
                 memory_budget_mb: float = DEFAULT_SEPARATION_MEMORY_BUDGET_MB):
        if temporal_segments is not None:
            temporal_segmentation_params = temporal_segments
        audio = np.asarray(audio, dtype=np.float32)
        mix = audio.mean(axis=0) if audio.ndim == 2 else audio
        start = time.perf_counter()
        stems, names = separate(audio, sample_rate, model=model, device=device, chunk_seconds=chunk_seconds,
                                overlap_seconds=overlap_seconds, niter=niter, progress=progress,
                                chunk_batch=chunk_batch, memory_budget_mb=memory_budget_mb)
        self.separation_seconds = time.perf_counter() - start
        self.model = str(model)
        if residual:
            stems, names = with_residual(stems, names, mix)
        super().__init__(stems, names, sample_rate, temporal_segmentation_params, mix=mix)
        log.info("separated %.1f s of audio into %s in %.1f s", self.duration_s, names, self.separation_seconds)


def separate(audio: np.ndarray, sample_rate: int, model: str | os.PathLike = "umxl", device: str = "cpu",
             chunk_seconds: float = 30.0, overlap_seconds: float = 1.0, niter: int = 1,
             progress: bool = True, chunk_batch: int = DEFAULT_CHUNK_BATCH,
             memory_budget_mb: float = DEFAULT_SEPARATION_MEMORY_BUDGET_MB) -> tuple[np.ndarray, list[str]]:
    """Separate ``audio`` with Open-Unmix.

    Args:
        audio: float32 ``(nb_timesteps,)`` or ``(nb_channels, nb_timesteps)`` at ``sample_rate`` Hz.
        chunk_batch: most chunks per forward pass (same crossfades; stems equal one-at-a-time within float noise).
        memory_budget_mb: MiB the chunks of one forward pass may take; the batch is the smaller of
            ``chunk_batch`` and what fits (at least one chunk must fit, else ConfigError).

    Returns:
        ``(stems, names)``: float32 mono stems ``(nb_targets, nb_timesteps)`` at ``sample_rate`` and
        the target names in the model's order.
    """
    import torch

    if chunk_seconds <= 2 * overlap_seconds or overlap_seconds < 0:
        raise FactorizationError(f"chunk_seconds ({chunk_seconds}) must exceed twice overlap_seconds ({overlap_seconds})")
    device = resolve_device(device, "Open-Unmix separation", key="separation.device")
    separator = cached_separator(model, device=device, niter=niter)
    model_rate = int(round(float(separator.sample_rate)))
    names = list(separator.target_models)
    stereo = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if stereo.shape[0] == 1:
        stereo = np.repeat(stereo, 2, axis=0)
    stereo = stereo[:2]
    at_model_rate = resample(stereo, sample_rate, model_rate)  # (2, nb_timesteps_model)
    length = at_model_rate.shape[1]
    chunk = int(chunk_seconds * model_rate)
    overlap = int(overlap_seconds * model_rate)
    hop = chunk - overlap
    starts = list(range(0, max(length - overlap, 1), hop))
    out = np.zeros((len(names), length), dtype=np.float32)  # mono stems at the model rate
    weight = np.zeros(length, dtype=np.float32)
    geometry = ChunkGeometry(chunk_samples=min(chunk, length), n_fft=int(separator.stft.n_fft),
                             n_hop=int(separator.stft.n_hop), nb_channels=2, nb_targets=len(names))
    nb_full = sum(start + chunk <= length for start in starts)
    batch = plan_chunk_batch(chunk_batch, geometry, int(memory_budget_mb * MIB), nb_chunks=nb_full)
    log.info("Open-Unmix: %d chunks of %.1f s, %d per forward pass (~%.0f MiB each)", len(starts), chunk_seconds,
             batch, geometry.chunk_bytes / MIB)
    groups = chunk_groups(starts, chunk, length, batch)
    bar = tqdm(total=len(starts), desc="open-unmix", unit="chunk", disable=not progress or len(starts) < 2,
               leave=False)
    with torch.inference_mode():
        for group in groups:
            stop_of = {start: min(start + chunk, length) for start in group}
            pieces = np.stack([at_model_rate[:, start:stop_of[start]] for start in group])  # (n, 2, chunk_len)
            # (n, nb_targets, nb_channels, chunk_len) -> mono (n, nb_targets, chunk_len)
            estimates = separator(torch.from_numpy(pieces).to(device)).mean(dim=2).cpu().numpy()
            for start, estimate in zip(group, estimates):
                stop = stop_of[start]
                fade = _crossfade_window(stop - start, overlap, first=start == 0, last=stop == length)
                out[:, start:stop] += estimate * fade
                weight[start:stop] += fade
            bar.update(len(group))
    bar.close()
    out /= np.maximum(weight, 1e-8)
    stems = resample(out, model_rate, sample_rate)
    target_len = np.asarray(audio).shape[-1]
    stems = stems[:, :target_len] if stems.shape[1] >= target_len else np.pad(stems, ((0, 0), (0, target_len - stems.shape[1])))
    return np.ascontiguousarray(stems, dtype=np.float32), names


def cached_separator(model: str | os.PathLike, device: str, niter: int):
    """The Open-Unmix separator for ``model`` on ``device``, loaded once per process
    (:mod:`musiclime.common.model_cache`; a local weights folder's files are watched for changes)."""
    path = Path(model).expanduser()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else []
    key = config_key("openunmix", {"model": str(path.resolve()) if path.exists() else str(model), "device": device,
                                   "niter": int(niter)})
    return MODELS.get(key, lambda: load_openunmix_separator(model, device=device, niter=niter), files=files,
                      what=f"Open-Unmix separator {str(model)!r}")


def chunk_groups(starts: list[int], chunk: int, length: int, chunk_batch: int) -> list[list[int]]:
    """Chunk starts grouped into model batches of at most ``chunk_batch`` chunks of equal length.

    Full-length chunks are batched in order; a shorter last chunk goes alone (padding it would
    change what the bidirectional model sees, so it is separated exactly as one at a time).
    """
    if chunk_batch < 1:
        raise FactorizationError(f"chunk_batch must be >= 1, got {chunk_batch}")
    full = [start for start in starts if start + chunk <= length]
    groups = [full[i:i + chunk_batch] for i in range(0, len(full), chunk_batch)]
    return groups + [[start] for start in starts if start + chunk > length]


def _crossfade_window(length: int, overlap: int, first: bool, last: bool) -> np.ndarray:
    """Ones with linear ramps of ``overlap`` samples at inner chunk edges, float32 ``(length,)``."""
    window = np.ones(length, dtype=np.float32)
    ramp_len = min(overlap, length)
    if ramp_len > 0:
        ramp = (np.arange(1, ramp_len + 1, dtype=np.float32) / (ramp_len + 1))
        if not first:
            window[:ramp_len] = ramp
        if not last:
            window[-ramp_len:] = np.minimum(window[-ramp_len:], ramp[::-1])
    return window
