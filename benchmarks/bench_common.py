"""Shared pieces of the benchmark harness: timing, hardware description, synthetic songs and models.

Every figure is measured on synthesized audio and freshly initialised models (no downloads): their
cost equals that of trained ones of the same size.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Callable

import numpy as np

RATE = 22050
SOURCES = ("vocals", "drums", "bass", "other")


def best_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    """Fastest wall time of ``repeats`` calls of ``fn`` (after one warm-up call), seconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved_best(fns: dict[str, Callable[[], object]], repeats: int = 3) -> dict[str, float]:
    """Fastest wall time of each function, measured in alternation (noise hits every one alike)."""
    for fn in fns.values():
        fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def hardware() -> dict:
    """CPU model, cores, torch version and (when present) the CUDA device."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpu_cores": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def noise_stems(seconds: float, seed: int = 0) -> np.ndarray:
    """Four noise stems float32 ``(4, seconds * RATE)``."""
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((len(SOURCES), int(seconds * RATE)))).astype(np.float32)


def stem_factorization(seconds: float, temporal_segments: int = 10, seed: int = 0):
    from musiclime import StemFactorization

    stems = noise_stems(seconds, seed)
    return StemFactorization(dict(zip(SOURCES, stems)), sample_rate=RATE, temporal_segments=temporal_segments)


LYRICS = "\n".join(f"line {i} of the benchmark song, with a few words" for i in range(16))


def untrained_demo_predictor(device: str = "cpu", batch_size: int = 16, seed: int = 0):
    """The demo classifier's architecture with fresh weights, as a predict_fn on ``device``."""
    import torch

    from musiclime.models.demo_classifier import DemoClassifier, DemoModelConfig, DemoPredictor

    torch.manual_seed(seed)
    return DemoPredictor(DemoClassifier(DemoModelConfig()).to(device), device=device, batch_size=batch_size)


def energy_model(texts, audios):
    """A cheap row-wise model (RMS and lyrics length -> 2 probabilities) that allocates nothing big."""
    rms = np.sqrt(np.array([float(np.dot(row, row)) for row in audios]) / audios.shape[1])
    p1 = 1.0 / (1.0 + np.exp(-(10 * rms - 1 + np.array([len(t) for t in texts]) / 500)))
    return np.stack([1 - p1, p1], axis=1)


class HostOnly:
    """A predict_fn without ``torch_device``: the explainer composes NumPy arrays on the host (today's path)."""

    def __init__(self, predict_fn):
        self.predict_fn = predict_fn

    def __call__(self, texts, audios):
        return self.predict_fn(texts, audios)


def row(section: str, name: str, value: float, unit: str, note: str = "") -> dict:
    """One line of the printed table."""
    return {"section": section, "name": name, "value": float(value), "unit": unit, "note": note}
