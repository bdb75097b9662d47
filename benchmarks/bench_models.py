"""Items per second of the demo model inside the explainer: on the CPU, and (with CUDA) the GPU path
(stems on the GPU, composed there) against the host path (composed on the host, copied per batch)."""

from __future__ import annotations

import time

import numpy as np

from bench_common import LYRICS, HostOnly, row, stem_factorization, untrained_demo_predictor
from musiclime import LineIndexedString
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.modality import FeatureLayout
from musiclime.method.estimation.sampling import sample_masks


class TimedModel:
    """Wraps a predict_fn, adding up the seconds spent inside it; keeps its ``torch_device`` opt-in."""

    def __init__(self, predict_fn):
        self.predict_fn, self.seconds = predict_fn, 0.0
        if getattr(predict_fn, "torch_device", None) is not None:
            self.torch_device = predict_fn.torch_device

    def __call__(self, texts, audios):
        start = time.perf_counter()
        try:
            return self.predict_fn(texts, audios)
        finally:
            self.seconds += time.perf_counter() - start


def explain_throughput(predict_fn, seconds: float, num_samples: int, batch_size: int, budget_mb: int) -> dict:
    """Score ``num_samples`` perturbations of a ``seconds`` song; items/s and the share outside the model."""
    fact = stem_factorization(seconds)
    text = LineIndexedString(LYRICS)
    layout = FeatureLayout("both", fact.get_number_components(), text.num_words())
    masks = sample_masks(num_samples, layout.num_features, random_state=0)
    timed = TimedModel(predict_fn)
    result = predict_masks(fact, text, masks, layout, timed, batch_size=batch_size, progress=False,
                           memory_budget_mb=budget_mb)
    return {"seconds_audio": seconds, "num_samples": num_samples, "batch_size": batch_size,
            "wall_s": result.seconds, "items_per_s": num_samples / result.seconds,
            "outside_model_fraction": 1.0 - timed.seconds / result.seconds, "predictions": result.predictions}


def run_cpu(quick: bool) -> dict:
    seconds, num_samples = (10.0, 48) if quick else (60.0, 128)
    predictor = untrained_demo_predictor("cpu", batch_size=16)
    explain_throughput(predictor, seconds, 8, 16, 768)  # warm-up
    r = explain_throughput(predictor, seconds, num_samples, 16, 768)
    r.pop("predictions")
    note = f"{r['outside_model_fraction']:.0%} of the time outside the model"
    return {"cases": [r], "rows": [row("demo model CPU", f"{seconds:.0f} s x {num_samples}, batch 16",
                                       r["items_per_s"], "items/s", note)]}


def run_gpu(quick: bool) -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "CUDA not available", "rows": []}
    seconds, num_samples, batch = (60.0, 500) if quick else (180.0, 5000)
    predictor = untrained_demo_predictor("cuda", batch_size=batch)
    explain_throughput(predictor, seconds, 2 * batch, batch, 8192)  # warm-up (cuDNN, allocator)
    host = explain_throughput(HostOnly(predictor), seconds, num_samples, batch, 8192)
    gpu = explain_throughput(predictor, seconds, num_samples, batch, 8192)
    diff = float(np.abs(host.pop("predictions") - gpu.pop("predictions")).max())
    speedup = gpu["items_per_s"] / host["items_per_s"]
    setting = f"{seconds:.0f} s x {num_samples}, batch {batch}"
    return {"host": host, "gpu": gpu, "speedup": speedup, "max_probability_difference": diff,
            "peak_gpu_memory_gb": torch.cuda.max_memory_allocated() / 1e9,
            "rows": [row("demo model GPU", f"host path {setting}", host["items_per_s"], "items/s",
                         f"{host['outside_model_fraction']:.0%} outside the model"),
                     row("demo model GPU", f"GPU path {setting}", gpu["items_per_s"], "items/s",
                         f"{speedup:.1f}x the host path; max |dp| {diff:.1e}")]}
