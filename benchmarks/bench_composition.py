"""Composition throughput (the explainer's block loop) against a plain memory copy of the same bytes.

Two copies of the same bytes into the same buffer are measured beside it: one ``np.copyto`` of the
whole block, and one per waveform. Both are plain memcpy; glibc switches to non-temporal stores
only above a large size, so the single block-sized copy can be up to twice as fast as any copy made
of waveform- or segment-sized pieces (composition writes segment-sized pieces).
"""

from __future__ import annotations

import numpy as np

from bench_common import interleaved_best, row, stem_factorization
from musiclime.method.scoring.composers import make_composer
from musiclime.method.scoring.memory_budget import DEFAULT_MEMORY_BUDGET_MB, MIB
from musiclime.method.estimation.sampling import sample_masks


def matmul_compose(fact, masks, out):
    """The previous composition: one (rows, sources) @ (sources, segment) product per segment."""
    n = fact.stems.shape[0]
    weights = masks.astype(np.float32)
    for k, (a, b) in enumerate(zip(fact.boundaries[:-1], fact.boundaries[1:])):
        np.matmul(weights[:, k * n:(k + 1) * n], fact.stems[:, a:b], out=out[:len(masks), a:b])


def measure(seconds: float, num_samples: int, repeats: int) -> dict:
    """Seconds to compose ``num_samples`` waveforms of ``seconds`` s, and to copy the same bytes."""
    fact = stem_factorization(seconds)
    masks = sample_masks(num_samples, fact.get_number_components(), random_state=0)
    composer, plan = make_composer(fact, None, num_samples, 32, DEFAULT_MEMORY_BUDGET_MB * MIB)
    source = np.ones_like(composer.buffer)
    blocks = [masks[i:i + plan.block_rows] for i in range(0, num_samples, plan.block_rows)]

    def compose():
        for block in blocks:
            composer.compose(block)

    def copy():
        for block in blocks:
            np.copyto(composer.buffer[:len(block)], source[:len(block)])

    def copy_rows():
        for block in blocks:
            for i in range(len(block)):
                np.copyto(composer.buffer[i], source[i])

    def previous():
        for block in blocks:
            matmul_compose(fact, block, composer.buffer)

    times = interleaved_best({"compose": compose, "copy": copy, "copy_rows": copy_rows, "previous": previous},
                             repeats)
    gigabytes = num_samples * fact.nb_timesteps * 4 / 1e9
    return {"seconds_audio": seconds, "num_samples": num_samples, "block_rows": plan.block_rows,
            "tables_cached": composer.tables is not None, "gigabytes": gigabytes,
            **{f"{k}_s": v for k, v in times.items()},
            **{f"{k}_gb_per_s": gigabytes / v for k, v in times.items()},
            "compose_vs_copy": times["copy"] / times["compose"],
            "compose_vs_copy_rows": times["copy_rows"] / times["compose"],
            "previous_vs_copy": times["copy"] / times["previous"]}


def run(quick: bool) -> dict:
    cases = [(20.0, 256)] if quick else [(60.0, 1000), (180.0, 500)]
    results = [measure(seconds, n, repeats=2 if quick else 3) for seconds, n in cases]
    rows = []
    for r in results:
        setting = f"{r['seconds_audio']:.0f} s x {r['num_samples']}"
        rows += [row("composition", f"compose {setting}", r["compose_gb_per_s"], "GB/s",
                     f"{r['compose_vs_copy']:.0%} of copy; tables {'cached' if r['tables_cached'] else 'per block'}"),
                 row("composition", f"memory copy {setting}", r["copy_gb_per_s"], "GB/s",
                     "same bytes, one np.copyto per block"),
                 row("composition", f"memory copy by waveform {setting}", r["copy_rows_gb_per_s"], "GB/s",
                     f"same bytes, one np.copyto per waveform; compose = {r['compose_vs_copy_rows']:.0%} of it"),
                 row("composition", f"previous matmul {setting}", r["previous_gb_per_s"], "GB/s",
                     f"{r['previous_vs_copy']:.0%} of copy")]
    return {"cases": results, "rows": rows}
