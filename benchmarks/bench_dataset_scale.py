"""What the workflow engine costs as a dataset grows: planning 1,000 to 100,000 songs.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/bench_dataset_scale.py --songs 1000 10000 100000 \
        --songs-per-job 0 1000 [--timeout 1800]

Writes ``--songs`` distinct tiny songs (a quarter second of noise each, 8 kHz WAV, one shared lyrics
file) and their sample sheet, then times ``snakemake -n`` on them with the trust checks and tracking
off, ``separation=time_only`` and the near-free ``model=custom_example``, for each ``--songs-per-job``
(0: one job per song and stage; N: batch jobs of N songs, :mod:`musiclime.pipeline.song_batches`): the
first dry run (audio checks included, their cache cold) and a second one (checks cached), each with its peak memory
(``/usr/bin/time``) and the jobs Snakemake planned. The project's own plan (Hydra, the sheet, the
cached checks) is timed apart from Snakemake's job graph. A run that passes ``--timeout`` is reported
as such. ``--run M`` then runs M songs for real, through Snakemake and through the library in one
process (``--trust``: with the trust checks on). Prints a table, writes JSON (``results/dataset_scale.json``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from musiclime.common.audio import save_audio  # noqa: E402

#: The overrides of the measured runs: no trust checks, no tracking, no separation, a near-free model.
OVERRIDES = ("separation=time_only", "model=custom_example", "evaluation.stability=false",
             "evaluation.faithfulness=false", "evaluation.randomization=false", "tracking.enabled=false",
             "data.sample_rate=8000")


def write_songs(folder: Path, n: int) -> Path:
    """``n`` distinct quarter-second noise songs sharing one lyrics file; their sheet."""
    folder.mkdir(parents=True, exist_ok=True)
    lyrics = folder / "lyrics.txt"
    lyrics.write_text("[Verse]\nfirst line\nsecond line\n[Chorus]\nchorus line\n")
    rows = ["song_id\taudio\tlyrics\tlabel"]
    rng = np.random.default_rng(0)
    for i in range(n):
        audio = folder / "audio" / f"{i // 1000:03d}" / f"s{i:06d}.wav"
        save_audio(audio, (0.1 * rng.standard_normal(2000)).astype(np.float32), 8000)
        rows.append(f"s{i:06d}\t{audio}\t{lyrics}\t{i % 2}")
    sheet = folder / "samples.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    return sheet


def dry_run(workdir: Path, sheet: Path, timeout: float, songs_per_job: int = 0) -> dict:
    """One ``snakemake -n``: wall seconds, peak memory (MB), planned jobs; ``timed_out`` past ``timeout``."""
    overrides = json.dumps(["data=sheet", f"data.sample_sheet={sheet}", *OVERRIDES,
                            f"compute.songs_per_job={songs_per_job}"])
    command = ["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
               "-d", str(workdir), "-n", "--cores", "2", "--config", f"overrides={overrides}"]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timed_out": True, "wall_s": round(time.perf_counter() - start, 1)}
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    wall, peak_kb = done.stderr.strip().splitlines()[-1].split()
    total = re.search(r"^total\s+(\d+)", done.stdout + done.stderr, re.M)
    return {"timed_out": False, "wall_s": round(float(wall), 1), "peak_mb": round(int(peak_kb) / 1024),
            "jobs": int(total.group(1)) if total else None}


def own_plan(sheet: Path, workdir: Path, songs_per_job: int = 0) -> float:
    """The project's own plan (Hydra, the sheet, the audio checks cached in ``workdir`` by the dry runs), in seconds."""
    import os

    from musiclime.pipeline.snakemake_setup import plan_from_snakemake_config

    here = os.getcwd()
    os.chdir(workdir)
    try:
        start = time.perf_counter()
        plan_from_snakemake_config({"overrides": ["data=sheet", f"data.sample_sheet={sheet}", *OVERRIDES,
                                                  f"compute.songs_per_job={songs_per_job}"]}, conf_dir=REPO / "conf")
        return round(time.perf_counter() - start, 2)
    finally:
        os.chdir(here)


#: ``--trust``: the real run with the trust checks (stability, faithfulness, randomization) on, as by default.
TRUST_CHECKS = ("evaluation.stability=false", "evaluation.faithfulness=false", "evaluation.randomization=false")


def run_both(n: int, songs_per_job: int, root: Path, trust: bool = False) -> dict:
    """Wall per song of the real workflow (``snakemake --cores 2``, batches of ``songs_per_job``) against
    the same stages through the library in one process (:func:`~musiclime.pipeline.stages.batches.song_batch`
    over every song, in its own folder): the engine's overhead, both measured here."""
    import os

    from musiclime.pipeline.snakemake_setup import plan_from_snakemake_config
    from musiclime.pipeline.song_batches import batch_steps
    from musiclime.pipeline.stages.batches import song_batch

    sheet = write_songs(root / "songs", n)
    overrides = ["data=sheet", f"data.sample_sheet={sheet}", *OVERRIDES, f"compute.songs_per_job={songs_per_job}"]
    if trust:
        overrides = [o for o in overrides if o not in TRUST_CHECKS]
    workflow_dir = root / "workflow"
    workflow_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workflow_dir), "--cores",
               "2", "--config", f"overrides={json.dumps(overrides)}"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    workflow_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    library_dir = root / "library"
    library_dir.mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    os.chdir(library_dir)
    try:
        start = time.perf_counter()
        plan = plan_from_snakemake_config({"overrides": overrides}, conf_dir=REPO / "conf")
        [point] = plan.points
        song_batch(batch_steps(plan, point, list(plan.songs)), "manifest.json")
        library_s = time.perf_counter() - start
    finally:
        os.chdir(here)
    return {"songs": n, "songs_per_job": songs_per_job, "trust_checks": trust, "workflow_s": round(workflow_s, 1),
            "library_s": round(library_s, 1), "workflow_s_per_song": round(workflow_s / n, 3),
            "library_s_per_song": round(library_s / n, 3), "ratio": round(workflow_s / library_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--songs-per-job", type=int, nargs="+", default=[0],
                        help="compute.songs_per_job values to plan with (0: a job per song and stage)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a dry run may take")
    parser.add_argument("--run", type=int, default=0,
                        help="also run this many songs for real (batches of the first --songs-per-job above 0) "
                             "and through the library in one process, and compare their wall per song")
    parser.add_argument("--trust", action="store_true", help="the real run with the trust checks on")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dataset_scale.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.songs:
            folder = Path(tmp) / f"n{n}"
            sheet = write_songs(folder / "songs", n)
            for songs_per_job in args.songs_per_job:
                work = folder / f"spj{songs_per_job}"
                first = dry_run(work, sheet, args.timeout, songs_per_job)
                second = (dry_run(work, sheet, args.timeout, songs_per_job) if not first["timed_out"]
                          else {"timed_out": True})
                results.append({"songs": n, "songs_per_job": songs_per_job, "first": first, "cached": second,
                                "own_plan_s": own_plan(sheet, work, songs_per_job)})
                print(json.dumps(results[-1]), flush=True)
    print("| songs | songs per job | jobs | dry run, first (s) | dry run, checks cached (s) | peak memory (MB) | "
          "project's own plan (s) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        first, cached = r["first"], r["cached"]
        wall = lambda d: f"> {args.timeout:.0f}" if d.get("timed_out") else d["wall_s"]  # noqa: E731
        print(f"| {r['songs']:,} | {r['songs_per_job'] or 'one job per song and stage'} | {first.get('jobs') or '-'} | "
              f"{wall(first)} | {wall(cached)} | {cached.get('peak_mb', '-')} | {r['own_plan_s']} |")
    if args.run:
        size = next((s for s in args.songs_per_job if s > 0), 1000)
        with tempfile.TemporaryDirectory() as tmp:
            compared = run_both(args.run, size, Path(tmp), args.trust)
        results.append({"run": compared})
        print(f"\nreal run, {compared['songs']:,} songs in batches of {size}"
              f"{', trust checks on' if args.trust else ''}: workflow {compared['workflow_s']} s "
              f"({compared['workflow_s_per_song']} s a song), library in one process {compared['library_s']} s "
              f"({compared['library_s_per_song']} s a song): {compared['ratio']}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
