"""Open-Unmix real-time factor (separation seconds / audio seconds), one chunk at a time vs batched.

Umxl-sized weights (hidden 1024, n_fft 4096, hop 1024, four targets), freshly initialised and
written as a local weights folder (no network); the quick mode uses hidden 128 and a 6 s song on the CPU.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench_common import RATE, row
from musiclime.factorization.openunmix import separate
from musiclime.factorization.openunmix_weights import init_untrained_weights_folder

#: ``separation.memory_budget_mb`` lifted: this benchmark compares ``chunk_batch`` settings as given
UNBOUNDED_MB = 1 << 20


def real_time_factors(device: str, seconds: float, hidden: int, chunk_seconds: float, batches: list[int],
                      overlap_seconds: float = 1.0, repeats: int = 2) -> dict:
    """Separate one ``seconds`` song with each chunk batch; RTFs and the largest stem difference."""
    audio = (0.1 * np.random.default_rng(0).standard_normal(int(seconds * RATE))).astype(np.float32)
    results, stems = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        weights = init_untrained_weights_folder(Path(tmp) / "umx", hidden_size=hidden, nfft=4096, nhop=1024)
        separate(audio[:RATE], RATE, model=weights, device=device, chunk_seconds=chunk_seconds,
                 overlap_seconds=overlap_seconds, progress=False)  # warm-up
        for _ in range(repeats):  # in alternation, best of each: noise and warm-up hit every setting alike
            for batch in batches:
                start = time.perf_counter()
                stems[batch], _ = separate(audio, RATE, model=weights, device=device, chunk_seconds=chunk_seconds,
                                           overlap_seconds=overlap_seconds, chunk_batch=batch, progress=False,
                                           memory_budget_mb=UNBOUNDED_MB)
                results[batch] = min(results.get(batch, float("inf")), (time.perf_counter() - start) / seconds)
    diff = float(max(np.abs(stems[b] - stems[batches[0]]).max() for b in batches))
    return {"device": device, "seconds_audio": seconds, "hidden": hidden, "chunk_seconds": chunk_seconds,
            "rtf": {str(b): v for b, v in results.items()}, "max_stem_difference": diff}


def rows_for(section: str, r: dict) -> list[dict]:
    setting = f"{r['seconds_audio']:.0f} s, hidden {r['hidden']}, {r['chunk_seconds']:.0f} s chunks"
    return [row(section, f"RTF chunk_batch={b}, {setting}", v, "s/s",
                f"max stem diff vs one at a time {r['max_stem_difference']:.1e}" if b != "1" else "")
            for b, v in r["rtf"].items()]


def run_cpu(quick: bool) -> dict:
    r = (real_time_factors("cpu", 6.0, 128, 2.5, [1, 3], overlap_seconds=0.5) if quick
         else real_time_factors("cpu", 60.0, 1024, 30.0, [1, 2]))
    return {**r, "rows": rows_for("separation CPU", r)}


def run_gpu(quick: bool) -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "CUDA not available", "rows": []}
    r = real_time_factors("cuda", 60.0 if quick else 441.0, 1024, 30.0, [1, 8, 16])
    r["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
    return {**r, "rows": rows_for("separation GPU", r)}
