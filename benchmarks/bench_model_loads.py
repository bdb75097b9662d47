"""Benchmark: how often a run loads its model, and what the loads and a predict job's overhead cost.

Runs the README's main job (the demo, ``snakemake --cores 2``) with ``--songs`` demo songs, the demo
model wrapped by ``benchmarks/slow_model.py`` so that each load takes ``--load-seconds`` and is
logged (process id, model variant), in a scratch folder per run:

1. preparation (not timed as part of a run): the demo songs and the trained demo model, made once
   by the checkout under test and copied into every run's folder, so no run trains a model;
2. the job with a 0 s load (baseline), then with ``--load-seconds``: wall time of the whole
   ``snakemake`` invocation after the preparation (separate, perturb, predict, fit, media, evaluate,
   reports, MLflow), loads in all, per model variant and per worker process, and the ratio
   wall(load) / wall(0 s);
3. a predict job's overhead beyond its scoring (``wall - predict_seconds``, the latter from the
   ``predictions.npz`` metadata), on one of the 0 s run's predict jobs with the 0 s wrapper:
   (a) ``stages.predict`` in a fresh Python process (what a ``script:`` rule pays, less Snakemake's
   own dispatch), (b) the same through ``run_in_worker`` when the checkout's ``stages.predict`` runs
   in the ``models`` worker pool (first call cold, later calls warm; skipped otherwise), and (c) in
   the runs themselves, from Snakemake's job records (start = its incomplete marker, end = the
   ``predictions.npz`` mtime), which includes the load.

``--repo`` picks the checkout whose Snakefile and ``src/`` run (``PYTHONPATH=<repo>/src``), so the same
script measures before and after. Prints a Markdown table; writes a JSON (default
``benchmarks/results/model_loads-<time>.json``) with the machine's CPU and cores.

Usage:
    PYTHONPATH=src python benchmarks/bench_model_loads.py [--repo PATH] [--songs 8] [--load-seconds 10]
        [--cores 2] [--extra-override compute.model_workers=0 ...] [--overhead-calls 3]
        [--workdir DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SLOW = "slow_model"
DEMO_TARGET = "musiclime.models.demo_classifier.load_demo_predict_fn"
#: the model config nodes wrapped by the slow loader, with their loader and load-log variant
WRAPPED = {"predict_fn": ("load_slow_demo_predict_fn", "trained"),
           "randomized_predict_fn": ("load_slow_randomized_demo_predict_fn", None),
           "shuffled_labels_predict_fn": ("load_slow_demo_predict_fn", "shuffled")}


def model_overrides(load_seconds: float, load_log: Path) -> list[str]:
    """Hydra overrides putting the slow loader in front of every demo model variant."""
    overrides = []
    for node, (loader, variant) in WRAPPED.items():
        overrides += [f"model.{node}._target_={SLOW}.{loader}", f"+model.{node}.load_seconds={load_seconds:g}",
                      f"+model.{node}.load_log={load_log}"]
        if variant is not None:
            overrides.append(f"+model.{node}.variant={variant}")
    return overrides


def repo_env(repo: Path) -> dict[str, str]:
    """The environment of every process of the checkout under test: its ``src/`` and this folder first."""
    path = os.pathsep.join(filter(None, [str(repo / "src"), str(BENCH_DIR), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def snakemake(repo: Path, workdir: Path, overrides: list[str], *extra: str, cores: int = 2) -> tuple[float, dict]:
    """Run the checkout's workflow in ``workdir``; (wall seconds, jobs per rule). Fails loudly."""
    config = "overrides=[" + ",".join(f'"{o}"' for o in overrides) + "]"
    command = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(workdir),
               "--cores", str(cores), *extra, "--config", config]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=repo_env(repo), cwd=workdir)
    wall = time.perf_counter() - started
    (workdir / "snakemake.stderr.txt").write_text(result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"snakemake failed in {workdir} ({' '.join(command)}):\n{result.stderr[-4000:]}")
    return wall, job_counts(result.stdout + result.stderr)


def job_counts(output: str) -> dict[str, int]:
    """Jobs per rule from Snakemake's "Job stats" table."""
    match = re.search(r"Job stats:\njob\s+count\n[-\s]+\n(.*?)\ntotal", output, re.S)
    return {} if not match else {r: int(c) for r, c in re.findall(r"^(\S+)\s+(\d+)$", match.group(1), re.M)}


def prepare(repo: Path, workdir: Path, overrides: list[str], cores: int) -> dict:
    """Make the demo songs and train the demo model(s) once, in ``workdir/prepare``."""
    folder = workdir / "prepare"
    folder.mkdir(parents=True, exist_ok=True)
    wall, jobs = snakemake(repo, folder, overrides, "--until", "demo_songs", "train_demo_model", cores=cores)
    return {"folder": folder, "wall_s": round(wall, 1), "jobs": jobs}


def run_job(repo: Path, workdir: Path, name: str, resources: Path, overrides: list[str], load_seconds: float,
            cores: int) -> dict:
    """One timed run of the main job in a fresh folder holding a copy of the prepared ``resources/``."""
    folder = workdir / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copytree(resources, folder / "resources")  # copy2: modification times kept, nothing re-made
    load_log = folder / "model_loads.jsonl"
    wall, jobs = snakemake(repo, folder, overrides + model_overrides(load_seconds, load_log), cores=cores)
    if {"demo_songs", "train_demo_model"} & set(jobs):
        raise SystemExit(f"run {name} re-made the prepared resources ({jobs}); its wall time would include them")
    predict = predict_jobs(folder)
    in_run = [j["snakemake_s"] - j["predict_seconds"] for j in predict if j["snakemake_s"] is not None]
    scoring = [j["predict_seconds"] for j in predict]
    return {"name": name, "folder": str(folder), "load_seconds": load_seconds, "wall_s": round(wall, 2),
            "jobs": jobs, **count_loads(load_log),
            "predict_jobs": len(predict),
            "in_run_predict_overhead_s": round(float(np.mean(in_run)), 3) if in_run else None,
            "predict_seconds_mean": round(float(np.mean(scoring)), 3) if scoring else None}


def count_loads(load_log: Path) -> dict:
    """Loads in all, per variant, per worker process (most of any process, and of any process and variant)."""
    text = load_log.read_text() if load_log.exists() else ""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    per_pid = Counter(r["pid"] for r in lines)
    per_pid_variant = Counter((r["pid"], r["variant"]) for r in lines)
    return {"loads": len(lines), "loads_per_variant": dict(sorted(Counter(r["variant"] for r in lines).items())),
            "loading_processes": len(per_pid), "max_loads_per_process": max(per_pid.values(), default=0),
            "max_loads_per_process_and_variant": max(per_pid_variant.values(), default=0)}


def artifact_meta(path: Path) -> dict:
    """The JSON metadata of a ``save_arrays`` artifact (``predictions.npz``)."""
    with np.load(path, allow_pickle=False) as archive:
        return json.loads(str(archive["meta"]))


def snakemake_records(workdir: Path) -> dict[str, dict]:
    """Snakemake's file-backend metadata records of ``workdir``: ``{output path: record}``."""
    root = workdir / ".snakemake" / "metadata"
    records = {}
    for path in root.rglob("*") if root.exists() else ():
        if not path.is_file():
            continue
        key = "".join(part.lstrip("@") for part in path.relative_to(root).parts)  # long keys are split in folders
        try:
            records[base64.urlsafe_b64decode(key).decode()] = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
    return records


def predict_jobs(workdir: Path) -> list[dict]:
    """Every ``predictions.npz`` of a run: its inputs, model slice, ``predict_seconds`` and Snakemake's job time."""
    import yaml

    records = snakemake_records(workdir)
    sheet = workdir / "resources" / "demo" / "samples.tsv"
    lyrics = {}
    if sheet.exists():
        rows = [line.split("\t") for line in sheet.read_text().splitlines()]
        column = rows[0].index("lyrics")
        lyrics = {row[0]: str(sheet.parent / row[column]) for row in rows[1:] if row}
    jobs = []
    for predictions in sorted((workdir / "results" / "songs").glob("*/*/*/*/predictions.npz")):
        relative = str(predictions.relative_to(workdir))
        model_dir, masks_dir, sep_dir, song_dir = (predictions.parents[i] for i in range(4))
        meta = artifact_meta(predictions)
        record = records.get(relative) or {}
        start, end = record.get("starttime"), record.get("endtime")
        jobs.append({"predictions": relative, "song": song_dir.name, "model_key": model_dir.name,
                     "stems": str(sep_dir / "stems.npz"), "masks": str(masks_dir / "masks.npz"),
                     "lyrics": lyrics.get(song_dir.name),
                     "coalitions": (meta.get("coalitions") or {}).get("file"),  # the attribute stage's table
                     "model": yaml.safe_load((model_dir / "config.yaml").read_text())["model"],
                     "predict_seconds": float(meta["predict_seconds"]),
                     "snakemake_s": None if start is None or end is None else float(end) - float(start)})
    return jobs


FRESH_PROCESS = """
import json, sys
spec = json.loads(sys.argv[1])
from musiclime.pipeline import stages
inputs = [spec["stems"], spec["masks"], spec["lyrics"]] + ([spec["coalitions"]] if spec["coalitions"] else [])
stages.predict(*inputs, spec["model"], spec["out"] + "/predictions.npz", spec["out"] + "/config.yaml")
"""

WARM_WORKER = """
import json, re, sys, time
from pathlib import Path
spec = json.loads(sys.argv[1])
import musiclime
from musiclime.pipeline import stages
if getattr(stages.predict, "worker_pool", None) != "models":
    print(json.dumps({"skipped": "stages.predict has no worker_pool == 'models' in this checkout",
                      "musiclime_file": musiclime.__file__}))
    sys.exit(0)
from musiclime.pipeline.worker_pool import run_in_worker
load_log = Path(spec["model"]["predict_fn"]["load_log"])
calls = []
for i in range(spec["calls"]):
    out = Path(spec["out"]) / f"call{i}"
    out.mkdir(parents=True, exist_ok=True)
    loads_before = len(load_log.read_text().splitlines()) if load_log.exists() else 0
    start = time.perf_counter()
    try:
        inputs = [spec["stems"], spec["masks"], spec["lyrics"]] + ([spec["coalitions"]] if spec["coalitions"] else [])
        run_in_worker(str(out / "predict.log"), stages.predict, *inputs, spec["model"], str(out / "predictions.npz"),
                      str(out / "config.yaml"))
    except Exception as exc:
        print(json.dumps({"skipped": f"run_in_worker(stages.predict) failed: {exc!r}"}))
        sys.exit(0)
    wall = time.perf_counter() - start
    loads = len(load_log.read_text().splitlines()) if load_log.exists() else 0
    log = (out / "predict.log").read_text() if (out / "predict.log").exists() else ""
    worker = re.search(r"in worker (\\d+)", log)
    calls.append({"wall_s": wall, "predictions": str(out / "predictions.npz"), "loads": loads - loads_before,
                  "worker_pid": int(worker.group(1)) if worker else None})
print(json.dumps({"calls": calls, "musiclime_file": musiclime.__file__}))
"""


def overhead_spec(job: dict, out: Path, load_log: Path) -> dict:
    """A predict call's arguments: the run's inputs (absolute paths), the model behind the 0 s loader
    logging to ``load_log``, outputs under ``out``."""
    model = json.loads(json.dumps(job["model"]))
    model["predict_fn"].update({"load_seconds": 0, "load_log": str(load_log)})
    return {"stems": job["stems"], "masks": job["masks"], "lyrics": job["lyrics"], "coalitions": job["coalitions"],
            "model": model, "out": str(out)}


def overhead_fresh_process(repo: Path, job: dict, workdir: Path, calls: int) -> dict:
    """(a) ``stages.predict`` in a fresh ``python -c`` per call, run in the run's folder."""
    results = []
    for i in range(calls):
        out = workdir / "overhead" / f"fresh{i}"
        out.mkdir(parents=True, exist_ok=True)
        spec = overhead_spec(job, out, out / "loads.jsonl")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, json.dumps(spec)], capture_output=True, text=True,
                              env=repo_env(repo), cwd=workdir)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"predict in a fresh process failed:\n{done.stderr[-4000:]}")
        predict_seconds = artifact_meta(out / "predictions.npz")["predict_seconds"]
        results.append({"wall_s": wall, "predict_seconds": predict_seconds, "overhead_s": wall - predict_seconds,
                        "loads": count_loads(out / "loads.jsonl")["loads"]})
    return summarize_calls(results)


def overhead_warm_worker(repo: Path, job: dict, workdir: Path, calls: int) -> dict:
    """(b) ``run_in_worker(stages.predict)`` ``calls`` times in one process: the first call starts the pool."""
    out = workdir / "overhead" / "worker"
    out.mkdir(parents=True, exist_ok=True)
    spec = {**overhead_spec(job, out, out / "loads.jsonl"), "calls": calls}
    done = subprocess.run([sys.executable, "-c", WARM_WORKER, json.dumps(spec)], capture_output=True, text=True,
                          env=repo_env(repo), cwd=workdir)
    if done.returncode != 0:
        raise SystemExit(f"predict in a warm worker failed:\n{done.stderr[-4000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    if "skipped" in answer:
        return answer
    results = []
    for call in answer["calls"]:
        predict_seconds = artifact_meta(Path(call["predictions"]))["predict_seconds"]
        results.append({"wall_s": call["wall_s"], "predict_seconds": predict_seconds,
                        "overhead_s": call["wall_s"] - predict_seconds, "loads": call["loads"],
                        "worker_pid": call["worker_pid"]})
    warm = [r for r in results[1:] if r["loads"] == 0]
    return {"musiclime_file": answer["musiclime_file"], "first": summarize_calls(results[:1]),
            "warm": summarize_calls(warm) if warm else {"skipped": "every later call loaded the model again"},
            "later_calls_that_loaded": sum(r["loads"] > 0 for r in results[1:])}


def summarize_calls(results: list[dict]) -> dict:
    mean = {key: round(float(np.mean([r[key] for r in results])), 3) for key in ("wall_s", "predict_seconds",
                                                                                "overhead_s")}
    return {"n": len(results), **mean, "loads": sum(r["loads"] for r in results), "calls": results}


def repo_commit(repo: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(repo: Path, workdir: Path, songs: int, load_seconds: float, cores: int = 2,
            extra_overrides: tuple[str, ...] = (), overhead_calls: int = 3) -> dict:
    """Prepare, run the job at 0 s and at ``load_seconds``, time a predict job's overhead; the results."""
    overrides = [f"data.demo.n_songs={songs}", *extra_overrides]
    prepared = prepare(repo, workdir, overrides, cores)
    resources = prepared.pop("folder") / "resources"
    runs = [run_job(repo, workdir, f"load-{seconds:g}s", resources, overrides, seconds, cores)
            for seconds in (0.0, load_seconds)]
    baseline, loaded = runs
    loaded["wall_ratio_to_0s"] = round(loaded["wall_s"] / baseline["wall_s"], 3)
    baseline["wall_ratio_to_0s"] = 1.0
    trained = [j for j in predict_jobs(Path(baseline["folder"]))
               if j["model"]["predict_fn"].get("variant") == "trained"]
    if not trained:
        raise SystemExit(f"no predict job of the trained model in {baseline['folder']}")
    job = trained[0]
    folder = Path(baseline["folder"])
    overhead = {"job": job["predictions"], "in_run_0s": baseline["in_run_predict_overhead_s"],
                "in_run_load": loaded["in_run_predict_overhead_s"],
                "fresh_process": overhead_fresh_process(repo, job, folder, overhead_calls),
                "warm_worker": overhead_warm_worker(repo, job, folder, overhead_calls + 1)}
    from bench_common import hardware

    return {"repo": str(repo), "commit": repo_commit(repo), "songs": songs, "load_seconds": load_seconds,
            "cores": cores, "extra_overrides": list(extra_overrides), "hardware": hardware(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "wall_covers": "the snakemake invocation of the main job after the demo songs and the trained demo "
                           "model were copied in (no training): separate, perturb, predict, fit, media, evaluate, "
                           "reports, MLflow",
            "preparation": prepared, "runs": runs, "predict_overhead": overhead}


def markdown(results: dict) -> str:
    """The runs and the predict overhead as Markdown tables, headed by the machine and the checkout."""
    hw = results["hardware"]
    extra = " ".join(results["extra_overrides"]) or "none"
    lines = [f"Hardware: {hw['cpu']}, {hw['cpu_cores']} cores; `--cores {results['cores']}`; checkout "
             f"{results['repo']} ({results['commit']}); {results['songs']} demo songs; extra overrides: {extra}",
             f"Wall time: {results['wall_covers']}.", "",
             "| load | wall (s) | ratio to 0 s | loads | loads per variant | loading processes | max loads per "
             "process | max per process and variant | predict jobs | predict job in run, beyond scoring (s) |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for run in results["runs"]:
        variants = ", ".join(f"{v} {n}" for v, n in run["loads_per_variant"].items())
        in_run = "-" if run["in_run_predict_overhead_s"] is None else f"{run['in_run_predict_overhead_s']:.2f}"
        lines.append(f"| {run['load_seconds']:g} s | {run['wall_s']:.1f} | {run['wall_ratio_to_0s']:.2f} | "
                     f"{run['loads']} | {variants} | {run['loading_processes']} | {run['max_loads_per_process']} | "
                     f"{run['max_loads_per_process_and_variant']} | {run['predict_jobs']} | {in_run} |")
    overhead = results["predict_overhead"]
    lines += ["", f"Predict job overhead (`wall - predict_seconds`, 0 s loader), job `{overhead['job']}`:", "",
              "| predict call | calls | wall (s) | predict_seconds | overhead (s) | model loads |",
              "|---|---:|---:|---:|---:|---:|"]

    def add(name: str, summary: dict) -> None:
        if "skipped" in summary:
            lines.append(f"| {name} | skipped: {summary['skipped']} | | | | |")
        else:
            lines.append(f"| {name} | {summary['n']} | {summary['wall_s']:.2f} | {summary['predict_seconds']:.2f} | "
                         f"{summary['overhead_s']:.2f} | {summary['loads']} |")

    add("fresh process (`python -c`)", overhead["fresh_process"])
    worker = overhead["warm_worker"]
    if "skipped" in worker:
        add("`run_in_worker`", worker)
    else:
        add("`run_in_worker`, first call (starts the pool)", worker["first"])
        add("`run_in_worker`, later calls without a load (warm)", worker["warm"])
    return "\n".join(lines)


def run(quick: bool) -> dict:
    """Harness section ``model_loads`` on this checkout: 2 songs and a 1 s load when ``quick``, else 8 and 10 s."""
    workdir = Path(tempfile.mkdtemp(prefix="musiclime-loads-bench-"))
    try:
        results = measure(REPO, workdir, songs=2 if quick else 8, load_seconds=1.0 if quick else 10.0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    section = "model loads"
    rows = []
    for r in results["runs"]:
        note = (f"{results['songs']} songs, {r['loads']} loads, at most {r['max_loads_per_process_and_variant']} "
                f"per process and variant")
        rows.append({"section": section, "name": f"main job, load {r['load_seconds']:g} s", "value": r["wall_s"],
                     "unit": "s", "note": note})
    rows.append({"section": section, "name": "wall ratio load / 0 s", "value": results["runs"][1]["wall_ratio_to_0s"],
                 "unit": "x", "note": ""})
    fresh = results["predict_overhead"]["fresh_process"]
    rows.append({"section": section, "name": "predict overhead, fresh process", "value": fresh["overhead_s"],
                 "unit": "s", "note": "wall - predict_seconds"})
    warm = results["predict_overhead"]["warm_worker"].get("warm", {})
    if "overhead_s" in warm:
        rows.append({"section": section, "name": "predict overhead, warm worker", "value": warm["overhead_s"],
                     "unit": "s", "note": "wall - predict_seconds"})
    return {**results, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="checkout whose Snakefile and src/ run (default: this one)")
    parser.add_argument("--songs", type=int, default=8, help="demo songs (data.demo.n_songs; default 8)")
    parser.add_argument("--load-seconds", type=float, default=10.0, help="seconds each model load takes (default 10)")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (default 2, the README's main job)")
    parser.add_argument("--extra-override", action="append", default=[],
                        help="Hydra override for every run (repeatable), e.g. compute.model_workers=0")
    parser.add_argument("--overhead-calls", type=int, default=3,
                        help="predict calls timed in fresh processes (and warm worker calls after the first)")
    parser.add_argument("--workdir", type=Path, help="scratch folder, kept (default: a temporary folder, removed)")
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/model_loads-<date>-<time>.json")
    args = parser.parse_args()
    repo = args.repo.resolve()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="musiclime-loads-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = measure(repo, workdir, args.songs, args.load_seconds, args.cores, tuple(args.extra_override),
                          args.overhead_calls)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(markdown(results))
    out = args.json or BENCH_DIR / "results" / f"model_loads-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nJSON: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
