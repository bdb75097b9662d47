"""Peak memory of one whole explanation (compose, predict, fit) against num_samples.

Each point runs in a fresh process (peak RSS only grows within a process). The model is a cheap
row-wise energy model, so the figure is the explainer's own memory, not a classifier's.
Child usage: ``python benchmarks/bench_peak_memory.py --seconds 180 --num-samples 5000`` prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench_common import row


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB (``VmHWM``; ``ru_maxrss`` is inherited across exec)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(seconds: float, num_samples: int, budget_mb: int) -> dict:
    """Explain one song in this process; peak RSS in MB."""
    from bench_common import LYRICS, energy_model, stem_factorization
    from musiclime import LineIndexedString, MusicLIMEExplainer

    before = peak_rss_mb()
    start = time.perf_counter()
    fact = stem_factorization(seconds)
    explainer = MusicLIMEExplainer(random_state=0, progress=False, memory_budget_mb=budget_mb)
    explainer.explain_instance_with_factorization(fact, LineIndexedString(LYRICS), energy_model,
                                                  num_samples=num_samples, labels=(1,))
    return {"seconds_audio": seconds, "num_samples": num_samples, "memory_budget_mb": budget_mb,
            "wall_s": time.perf_counter() - start, "rss_before_mb": before,
            "peak_rss_mb": peak_rss_mb()}


def measure(seconds: float, num_samples: int, budget_mb: int) -> dict:
    """Run :func:`child` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                     os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, __file__, "--seconds", str(seconds), "--num-samples", str(num_samples),
                          "--budget-mb", str(budget_mb)], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> dict:
    seconds, counts = (60.0, [100, 400]) if quick else (180.0, [500, 1000, 2500, 5000])
    points = [measure(seconds, n, 768) for n in counts]
    rows = [row("peak memory", f"{p['seconds_audio']:.0f} s x {p['num_samples']} samples", p["peak_rss_mb"], "MB",
                f"{p['wall_s']:.1f} s; budget 768 MiB") for p in points]
    return {"points": points, "rows": rows,
            "growth_mb": points[-1]["peak_rss_mb"] - points[0]["peak_rss_mb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--num-samples", type=int, default=5000)
    parser.add_argument("--budget-mb", type=int, default=768)
    args = parser.parse_args()
    print(json.dumps(child(args.seconds, args.num_samples, args.budget_mb)))


if __name__ == "__main__":
    main()
