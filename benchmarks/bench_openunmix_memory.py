"""Peak memory and time of Open-Unmix separation of a long song, chunked.

Uses a freshly initialised model with umxhq's size (hidden 512, n_fft 4096, hop 1024, 4 targets),
written as a local weights folder (no network here); the cost of a pretrained model is the same.
The defaults are the workflow's (``separation.chunk_batch``, ``separation.memory_budget_mb``); pass
``--memory-budget-mb`` large to batch ``--chunk-batch`` chunks regardless.
Run: ``python benchmarks/bench_openunmix_memory.py [--minutes 7] [--chunk-seconds 30] [--hidden 512]
[--chunk-batch 4] [--memory-budget-mb 768]``.
"""

from __future__ import annotations

import argparse
import logging
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from musiclime import OpenUnmixFactorization
from musiclime.factorization.openunmix import DEFAULT_CHUNK_BATCH
from musiclime.factorization.openunmix_weights import init_untrained_weights_folder
from musiclime.factorization.separation_budget import DEFAULT_SEPARATION_MEMORY_BUDGET_MB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=7.0)
    parser.add_argument("--chunk-seconds", type=float, default=30.0)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--sample-rate", type=int, default=22050)
    parser.add_argument("--chunk-batch", type=int, default=DEFAULT_CHUNK_BATCH)
    parser.add_argument("--memory-budget-mb", type=float, default=DEFAULT_SEPARATION_MEMORY_BUDGET_MB)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")  # the chosen batch
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        weights = init_untrained_weights_folder(Path(tmp) / "umx", hidden_size=args.hidden, nfft=4096, nhop=1024)
        length = int(args.minutes * 60 * args.sample_rate)
        audio = (0.1 * np.random.default_rng(0).standard_normal(length)).astype(np.float32)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        fact = OpenUnmixFactorization(audio, temporal_segments=10, sample_rate=args.sample_rate, model=weights,
                                      chunk_seconds=args.chunk_seconds, progress=False,
                                      chunk_batch=args.chunk_batch, memory_budget_mb=args.memory_budget_mb)
        elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.minutes:.1f} min at {args.sample_rate} Hz, chunks of {args.chunk_seconds:.0f} s, hidden {args.hidden}, "
          f"chunk_batch {args.chunk_batch}, memory_budget_mb {args.memory_budget_mb:g}")
    print(f"separation: {elapsed:.1f} s (RTF {elapsed / (args.minutes * 60):.3f}); stems {fact.stems.shape}")
    print(f"peak RSS: {peak:.0f} MB (before separation: {before:.0f} MB)")


if __name__ == "__main__":
    main()
