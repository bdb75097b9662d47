"""MusicLIME benchmark harness: every ratio measured side by side in one run; prints a table, writes JSON.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/harness.py [--quick] [--json benchmarks/results.json]
                                                [--sections composition cpu_model ...]

Sections: composition (vs a memory copy), cpu_model (demo model items/s on the CPU), separation
(Open-Unmix real-time factor on the CPU), memory (peak RSS vs num_samples), fit (surrogate fit time),
gpu (GPU path vs host path, and separation on the GPU; skipped with a line when CUDA is absent).
``--sections gpu`` is the GPU part alone. Opt-in sections (named with ``--sections`` only):
model_loads (whole workflow runs), ground_truth (samplers and budgets by ground-truth AUC and recall
on the demo run in ``MUSICLIME_DEMO_WORKDIR``; :mod:`bench_ground_truth`). ``--quick`` is the CI mode (about two minutes on two cores).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_composition  # noqa: E402
import bench_fit  # noqa: E402
import bench_ground_truth  # noqa: E402
import bench_model_loads  # noqa: E402
import bench_models  # noqa: E402
import bench_peak_memory  # noqa: E402
import bench_separation  # noqa: E402
from bench_common import hardware  # noqa: E402

log = logging.getLogger("benchmarks")


def run_gpu(quick: bool) -> dict:
    predict = bench_models.run_gpu(quick)
    if "skipped" in predict:
        return {"skipped": predict["skipped"], "rows": []}
    separation = bench_separation.run_gpu(quick)
    return {"predict": predict, "separation": separation, "rows": predict["rows"] + separation["rows"]}


SECTIONS = {
    "composition": bench_composition.run,
    "cpu_model": bench_models.run_cpu,
    "separation": bench_separation.run_cpu,
    "memory": bench_peak_memory.run,
    "fit": bench_fit.run,
    "gpu": run_gpu,
}
#: Sections run only when named with --sections (minutes each: whole workflow runs).
OPTIONAL_SECTIONS = {
    "model_loads": bench_model_loads.run,
    "ground_truth": bench_ground_truth.harness_run,  # needs MUSICLIME_DEMO_WORKDIR (a demo run with ground truth)
}


def format_table(results: dict, machine: dict) -> str:
    """The rows of every section as a Markdown table, headed by the hardware."""
    gpu = machine["cuda"] or "none"
    lines = [f"Hardware: {machine['cpu']}, {machine['cpu_cores']} cores, torch {machine['torch']} "
             f"({machine['torch_threads']} threads), GPU: {gpu}", "",
             "| section | benchmark | value | unit | note |", "|---|---|---:|---|---|"]
    for name, result in results.items():
        if "skipped" in result:
            lines.append(f"| {name} | skipped: {result['skipped']} | | | |")
        for r in result["rows"]:
            lines.append(f"| {r['section']} | {r['name']} | {r['value']:.4g} | {r['unit']} | {r['note']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for CI (about two minutes on two cores)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here (atomically)")
    parser.add_argument("--sections", nargs="+", choices=sorted({**SECTIONS, **OPTIONAL_SECTIONS}),
                        default=list(SECTIONS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("musiclime").setLevel(logging.WARNING)
    machine = hardware()
    results, started = {}, time.perf_counter()
    for name in args.sections:
        section_start = time.perf_counter()
        results[name] = {**SECTIONS, **OPTIONAL_SECTIONS}[name](args.quick)
        if "skipped" in results[name]:
            log.info("%s: skipped (%s)", name, results[name]["skipped"])
        else:
            log.info("%s: %.1f s", name, time.perf_counter() - section_start)
    print(format_table(results, machine))
    if args.json is not None:
        from musiclime.common.atomic_io import write_json

        write_json(args.json, {"mode": "quick" if args.quick else "full", "hardware": machine,
                               "wall_s": time.perf_counter() - started, "sections": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
