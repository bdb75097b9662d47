"""A SLURM batch job's start-up as the dataset grows: 1,000 against 10,000 songs (``compute.songs_per_job``).

Usage (from the repository root, as root, with Debian's ``slurm-wlm`` and ``munge`` installed)::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_slurm_startup.py --songs 1000 10000 \
        --songs-per-job 10 --batches 2 [--parallel 1] [--root NEW_FOLDER]

Starts a single-node SLURM cluster in a temporary folder (``tests/slurm_cluster.py``; ``--root``: in a new
folder that is kept, with the songs, runs and logs). For each ``--songs`` N it writes N tiny songs and their
sheet and plans them once with ``snakemake -n``, as a user would (the functions and overrides of
``bench_dataset_scale.py``: no separation, the near-free ``model=custom_example``, trust checks and tracking
off); that main process records the checked songs in ``.musiclime/checked/``.
Then it runs the first ``--batches`` batch manifests as targets through ``profiles/slurm``, filled in as
``tests/test_slurm.py`` does (``--jobs --parallel``: one job at a time by default, so that jobs do not share
the few cores of a test machine), each a real ``sbatch`` job.

A job's start-up, from the cluster's own logs: slurmd's ``Launching batch job J`` (the job starts on the
node) to its ``launch task StepId=J.0`` is the **batch step** (the job's Snakemake: Python, the Snakefile,
the plan, the DAG, then ``srun``); from there to the first line of the rule log
(``logs/song_batch/<point>/<batch>.log``, the first stage taken up by a model worker) is the **job step**
(a second Snakemake parses the Snakefile again, then starts the worker). Peak memory: the test cluster keeps
no accounting (``sacct`` has no MaxRSS), so the job's own batch script (``scontrol write batch_script``) is
run again here with ``--dry-run`` under ``/usr/bin/time``: one Snakemake of the job, parse, plan and DAG, as a
cross-check of the seconds too. Prints a table, writes JSON (``results/slurm_startup.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from statistics import mean

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]  # tests/ (the cluster, the filled-in profile), the library

from bench_dataset_scale import OVERRIDES, dry_run, write_songs  # noqa: E402
from tests.slurm_cluster import SlurmCluster, missing_requirements, start_slurm_cluster  # noqa: E402
from tests.test_slurm import SUBMITTED, TEST_OPTIONS, filled_profile  # noqa: E402

SLURMD_TIME = r"^\[(\S+)\] "
RULE_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def overrides(sheet: Path, songs_per_job: int) -> list[str]:
    """The measured configuration: ``bench_dataset_scale``'s, in batches of ``songs_per_job``."""
    return ["data=sheet", f"data.sample_sheet={sheet}", *OVERRIDES, f"compute.songs_per_job={songs_per_job}"]


def batch_targets(workdir: Path, config: list[str], count: int) -> tuple[list[str], int]:
    """The first ``count`` batch manifests and the number of batches, planned as a cluster job plans them
    (from the main process's record of the checked songs, which must exist)."""
    from musiclime.pipeline.snakemake_setup import plan_from_snakemake_config

    here = os.getcwd()
    os.chdir(workdir)
    try:
        plan = plan_from_snakemake_config({"overrides": config}, conf_dir=REPO / "conf", cluster_job=True)
    finally:
        os.chdir(here)
    [point] = plan.points
    manifests = plan.batch_manifests(point)
    return manifests[:count], len(manifests)


def run_on_slurm(cluster: SlurmCluster, workdir: Path, profile: Path, config: list[str], targets: list[str],
                 parallel: int) -> tuple[float, str]:
    """``snakemake --workflow-profile`` on ``targets``: its wall seconds and stderr (which names the jobs)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2",
               "--workflow-profile", str(profile), *TEST_OPTIONS, "--jobs", str(parallel), *targets,
               "--config", f"overrides={json.dumps(config)}"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=cluster.env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        failed = re.findall(r"^Error in rule .*?^    log: .*?, (\S+) \(check", done.stderr, re.M | re.S)
        raise RuntimeError(done.stderr[-3000:] + "".join(f"\n--- {log}:\n{Path(log).read_text()[-3000:]}"
                                                         for log in failed))
    return wall, done.stderr


def slurmd_time(cluster: SlurmCluster, event: str) -> datetime:
    """When slurmd logged ``event`` (milliseconds)."""
    text = (cluster.root / "slurmd.log").read_text()
    found = re.search(SLURMD_TIME + re.escape(event), text, re.M)
    if found is None:
        raise RuntimeError(f"slurmd.log has no {event!r}")
    return datetime.fromisoformat(found.group(1))


def first_stage_time(rule_log: Path) -> datetime:
    """The time of the rule log's first line: the job's first stage taken up by its model worker."""
    with rule_log.open() as lines:
        for line in lines:
            found = RULE_LOG_TIME.match(line)
            if found:
                return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f")
    raise RuntimeError(f"no timestamped line in {rule_log}")


def job_startup(cluster: SlurmCluster, workdir: Path, job_id: int, slurm_log: Path) -> dict:
    """One job's start-up, split into its batch step and job step (seconds), and its state and run time."""
    point, batch = slurm_log.parent.name.split("_")
    launched = slurmd_time(cluster, f"Launching batch job {job_id} ")
    step = slurmd_time(cluster, f"launch task StepId={job_id}.0 ")
    stage = first_stage_time(workdir / "logs" / "song_batch" / point / f"{batch}.log")
    info = cluster.run("scontrol", "show", "job", str(job_id)).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", info))
    run_s = (datetime.fromisoformat(fields["EndTime"]) - datetime.fromisoformat(fields["StartTime"])).total_seconds()
    return {"job_id": job_id, "batch": batch, "state": fields["JobState"], "run_s": run_s,
            "batch_step_s": round((step - launched).total_seconds(), 2),
            "job_step_s": round((stage - step).total_seconds(), 2),
            "startup_s": round((stage - launched).total_seconds(), 2)}


def remote_dry_run(cluster: SlurmCluster, workdir: Path, job_id: int) -> dict:
    """The job's batch script again, here, with ``--dry-run`` under ``/usr/bin/time``: wall seconds and peak
    memory (MB) of one Snakemake of the job (its wait-for-files file is gone with the main process)."""
    script = cluster.run("scontrol", "write", "batch_script", str(job_id), "-").stdout
    command = shlex.split([line for line in script.splitlines() if "-m snakemake" in line][0])
    at = command.index("--wait-for-files-file")
    command = ["/usr/bin/time", "-f", "%e %M", *command[:at], *command[at + 2:], "--dry-run"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=cluster.env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    wall, peak_kb = done.stderr.strip().splitlines()[-1].split()
    return {"wall_s": float(wall), "peak_mb": round(int(peak_kb) / 1024)}


def measure(cluster: SlurmCluster, root: Path, n: int, args: argparse.Namespace) -> dict:
    """Songs, the main process's dry run, the SLURM run of the first batches and each job's start-up."""
    sheet = write_songs(root / "songs", n)
    workdir = root / "work"
    config = overrides(sheet, args.songs_per_job)
    planned = dry_run(workdir, sheet, args.timeout, args.songs_per_job)
    targets, batches = batch_targets(workdir, config, args.batches)
    wall, stderr = run_on_slurm(cluster, workdir, filled_profile(root / "profile"), config, targets, args.parallel)
    jobs = [job_startup(cluster, workdir, int(job_id), Path(log)) for job_id, log in SUBMITTED.findall(stderr)]
    return {"songs": n, "songs_per_job": args.songs_per_job, "batches": batches, "main_dry_run": planned,
            "submitted": len(jobs), "wall_s": round(wall, 1), "jobs": jobs,
            "remote_dry_run": remote_dry_run(cluster, workdir, jobs[0]["job_id"])}


def print_table(results: list[dict]) -> None:
    print("| songs | jobs planned | per-job start-up (s) | per-job peak memory (MB) | wall of the whole run (s) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        jobs = r["jobs"]
        startup = (f"{mean(j['startup_s'] for j in jobs):.1f} (batch step {mean(j['batch_step_s'] for j in jobs):.1f}"
                   f" + job step {mean(j['job_step_s'] for j in jobs):.1f}); dry run of the job's Snakemake "
                   f"{r['remote_dry_run']['wall_s']}")
        print(f"| {r['songs']:,} | {r['main_dry_run']['jobs']} ({r['batches']} batch jobs, {r['submitted']} run) | "
              f"{startup} | {r['remote_dry_run']['peak_mb']} | {r['wall_s']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--songs-per-job", type=int, default=10, help="compute.songs_per_job")
    parser.add_argument("--batches", type=int, default=2, help="batch jobs to run on the cluster")
    parser.add_argument("--parallel", type=int, default=1, help="jobs on the cluster at once (snakemake --jobs)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds the main process's dry run may take")
    parser.add_argument("--root", type=Path, help="folder of the cluster, songs and runs (kept; default: temporary)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "slurm_startup.json")
    args = parser.parse_args()
    reason = missing_requirements()
    if reason:
        sys.exit(f"no SLURM cluster here: {reason}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root or Path(tmp)
        cluster = start_slurm_cluster(root / "cluster")
        try:
            for n in args.songs:
                results.append(measure(cluster, root / f"n{n}", n, args))
                print(json.dumps(results[-1]), flush=True)
        finally:
            cluster.stop()
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
