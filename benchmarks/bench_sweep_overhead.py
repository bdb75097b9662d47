"""Benchmark: what a sweep costs per new explanation, and how long planning a paper-scale sweep takes.

Runs the real workflow (the demo) in a scratch folder:

1. the demo run (separation, masks, predictions for every song; not timed as overhead);
2. a no-op invocation (everything cached): the fixed cost of one invocation;
3. two kernel-width sweeps adding ``--small`` and ``--large`` new widths over the same predictions;
   the slope between them is the wall time per new explanation (its fit, picture, MLflow run and
   share of the reports), the intercept the fixed cost per invocation;
4. ``snakemake -n`` of ``--plan-songs`` demo songs x ``--plan-points`` kernel widths.

Usage:
    python benchmarks/bench_sweep_overhead.py [--workdir DIR] [--songs 4] [--small 2] [--large 8]
        [--snakefile PATH --src PATH]   # e.g. another checkout, to measure before/after in one go
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def snakemake(snakefile: Path, workdir: Path, overrides: list[str], *extra: str, src: Path | None = None,
              cores: int = 2) -> tuple[float, dict[str, int], str]:
    """Run Snakemake; return (wall seconds, jobs per rule, stderr). Fails loudly on a failed run."""
    config = "overrides=[" + ",".join(f'"{o}"' for o in overrides) + "]"
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir), "--cores", str(cores),
               *extra, "--config", config]
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"snakemake failed ({' '.join(command)}):\n{result.stderr[-4000:]}")
    return wall, job_counts(result.stdout + result.stderr), result.stderr


def job_counts(output: str) -> dict[str, int]:
    """Jobs per rule from Snakemake's "Job stats" table."""
    match = re.search(r"Job stats:\njob\s+count\n[-\s]+\n(.*?)\ntotal", output, re.S)
    return {} if not match else {r: int(c) for r, c in re.findall(r"^(\S+)\s+(\d+)$", match.group(1), re.M)}


def widths(start: float, count: int) -> str:
    """``count`` kernel widths not used elsewhere in this benchmark, as a Hydra sweep value."""
    return ",".join(f"{start + 0.5 * i:g}" for i in range(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--snakefile", type=Path, default=REPO / "Snakefile")
    parser.add_argument("--src", type=Path, help="put this folder first on PYTHONPATH (another checkout's src/)")
    parser.add_argument("--songs", type=int, default=4, help="demo songs (default 4)")
    parser.add_argument("--small", type=int, default=2, help="new kernel widths in the small sweep (default 2)")
    parser.add_argument("--large", type=int, default=8, help="new kernel widths in the large sweep (default 8)")
    parser.add_argument("--plan-songs", type=int, default=100)
    parser.add_argument("--plan-points", type=int, default=10)
    parser.add_argument("--sweep-override", action="append", default=[],
                        help="Hydra override added to the sweeps and to a second plan, e.g. evaluation.enabled=false")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="musiclime-sweep-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    base = [f"data.demo.n_songs={args.songs}"]

    def invoke(*overrides: str) -> tuple[float, dict[str, int], str]:
        return snakemake(args.snakefile, workdir, base + list(overrides), src=args.src)

    demo_wall, demo_jobs, _ = invoke()
    noop_wall, _, _ = invoke()
    small_wall, small_jobs, _ = invoke(f"explain.kernel_width={widths(30, args.small)}", *args.sweep_override)
    large_wall, large_jobs, _ = invoke(f"explain.kernel_width={widths(60, args.large)}", *args.sweep_override)
    n_small, n_large = small_jobs.get("fit", 0), large_jobs.get("fit", 0)
    heavy = {"separate", "perturb", "predict"}
    expected = (args.small * args.songs, args.large * args.songs)
    if heavy & (set(small_jobs) | set(large_jobs)) or (n_small, n_large) != expected:
        # with evaluation on, each new width also fits the stability seeds and the randomized model
        n_small, n_large = small_jobs.get("evaluate", n_small), large_jobs.get("evaluate", n_large)
    if heavy & (set(small_jobs) | set(large_jobs)) or (n_small, n_large) != expected:
        raise SystemExit(f"the sweeps should only fit: small {small_jobs}, large {large_jobs}")
    per_explanation = (large_wall - small_wall) / (n_large - n_small)
    fixed = small_wall - per_explanation * n_small

    plan_dir = workdir / "plan"
    plan_dir.mkdir(exist_ok=True)
    plan_overrides = [f"data.demo.n_songs={args.plan_songs}", f"explain.kernel_width={widths(5, args.plan_points)}"]
    plan_wall, plan_jobs, _ = snakemake(args.snakefile, plan_dir, plan_overrides, "-n", src=args.src)
    plan2_wall, plan2_jobs, _ = snakemake(args.snakefile, plan_dir, plan_overrides + args.sweep_override, "-n",
                                          src=args.src) if args.sweep_override else (None, {}, "")

    results = {
        "snakefile": str(args.snakefile), "songs": args.songs, "cpus": os.cpu_count(),
        "demo_run_s": round(demo_wall, 1), "demo_jobs": sum(demo_jobs.values()),
        "noop_invocation_s": round(noop_wall, 2),
        "small_sweep": {"new_explanations": n_small, "wall_s": round(small_wall, 2), "jobs": small_jobs},
        "large_sweep": {"new_explanations": n_large, "wall_s": round(large_wall, 2), "jobs": large_jobs},
        "s_per_new_explanation": round(per_explanation, 3), "fixed_s_per_invocation": round(fixed, 2),
        "plan": {"songs": args.plan_songs, "points": args.plan_points, "jobs": sum(plan_jobs.values()),
                 "wall_s": round(plan_wall, 2)},
        "sweep_overrides": args.sweep_override,
    }
    if plan2_wall is not None:
        results["plan_with_sweep_overrides"] = {"jobs": sum(plan2_jobs.values()), "wall_s": round(plan2_wall, 2)}
    print(f"{'snakefile':<34}{args.snakefile}")
    print(f"{'demo run (first, all stages)':<34}{demo_wall:8.1f} s  {sum(demo_jobs.values())} jobs")
    print(f"{'no-op invocation':<34}{noop_wall:8.2f} s")
    print(f"{'sweep +' + str(n_small) + ' explanations':<34}{small_wall:8.2f} s  {sum(small_jobs.values())} jobs")
    print(f"{'sweep +' + str(n_large) + ' explanations':<34}{large_wall:8.2f} s  {sum(large_jobs.values())} jobs")
    print(f"{'per new explanation (slope)':<34}{per_explanation:8.3f} s")
    print(f"{'fixed per invocation (intercept)':<34}{fixed:8.2f} s")
    print(f"{'plan ' + str(args.plan_songs) + ' songs x ' + str(args.plan_points) + ' points (-n)':<34}"
          f"{plan_wall:8.2f} s  {sum(plan_jobs.values())} jobs")
    if plan2_wall is not None:
        print(f"{'  the same with ' + ' '.join(args.sweep_override):<34}{plan2_wall:8.2f} s  "
              f"{sum(plan2_jobs.values())} jobs")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
