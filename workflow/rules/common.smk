# Helpers shared by the rules: look up config slices and artifact paths in PLAN.
#
# Two kinds of job. Heavy jobs (demo, separate, predict) are `script:` rules: a process each, and on
# a cluster a SLURM job with its own resources. Cheap jobs (perturb, fit, reports, tracking) are
# `run:` rules listed in `localrules`: they run in threads of the Snakemake process itself, on a
# cluster too, so a new explanation costs its work, not a Python start and the library's imports.
from musiclime import stages
from musiclime.workflow_setup import run_stage


localrules:
    perturb,
    fit,
    report,
    sweep_summary,
    track_parent,
    track_point,


PATHS = PLAN.paths
SWEEP_ID = PLAN.sweep.id
RESULTS = PATHS.results
COMPUTE = PLAN.sweep.points[0].config["compute"]
DATA = PLAN.sweep.points[0].config["data"]


wildcard_constraints:
    song=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    sep=r"[^/]+",
    masks=r"[^/]+",
    model=r"[^/]+",
    fit=r"[^/]+",
    point=r"[0-9a-f]{8}",
    sweep=r"[0-9a-f]{8}",


def song_info(wildcards):
    return PLAN.songs[wildcards.song].info()


def stage_slice(stage, key):
    return PLAN.slices[stage][key]


def point_report(point):
    return f"{RESULTS}/points/{point}/report.html"


def all_targets():
    targets = []
    for point in PLAN.points:
        targets += PLAN.explanations(point) + [point_report(point)]
        if PLAN.points[point].config["tracking"]["enabled"]:
            targets.append(f"{RESULTS}/points/{point}/tracked.json")
    targets.append(f"{RESULTS}/sweeps/{SWEEP_ID}/summary.tsv")
    return targets


def separation_inputs(wildcards):
    song = PLAN.songs[wildcards.song]
    inputs = {"audio": str(song.audio)}
    if DATA["demo"] is not None:
        inputs["sheet"] = DATA["sample_sheet"]  # written after every demo song and its stems
    elif stage_slice("separation", wildcards.sep)["backend"] == "stems":
        inputs["stems"] = str(song.stems)
    return inputs


def upstream_configs(wildcards):
    return {
        "separation": stage_slice("separation", wildcards.sep),
        "masks": stage_slice("masks", wildcards.masks),
        "model": stage_slice("model", wildcards.model),
        "keys": {"separation": wildcards.sep, "masks": wildcards.masks, "model": wildcards.model,
                 "fit": wildcards.fit},
    }


def point_info(point):
    """What tracking needs to know of a sweep point: its id, config, overrides and stage keys."""
    p = PLAN.points[point]
    return {"id": point, "config": p.config, "overrides": list(p.overrides), "stage_keys": PLAN.keys(point),
            "sweep_name": PLAN.sweep.name}


def track_point_inputs(wildcards):
    explanations = PLAN.explanations(wildcards.point)
    return {
        "explanations": explanations,
        "plots": PLAN.plots(wildcards.point),
        "configs": [str(Path(e).parent / "config.yaml") for e in explanations],
        "report": [f"{RESULTS}/points/{wildcards.point}/{name}" for name in ("summary.tsv", "report.html",
                                                                            "config.yaml")],
        "parent": f"{RESULTS}/sweeps/{SWEEP_ID}/mlflow_parent.json",
    }


def run_jobs_in_threads(workflow):
    """Make this process run `run:` jobs in its own threads when it executes them locally.

    Snakemake runs `run:` jobs in threads under a cluster executor, but locally spawns a new
    Snakemake process for each unless `--force-use-threads` is given (the profiles set it). This
    sets the same for invocations without a profile, e.g. the README's `snakemake --cores 2`.
    """
    scheduler = getattr(workflow, "scheduler", None)
    executors = [getattr(scheduler, name, None) for name in ("_executor", "_local_executor")]
    local = [e for e in executors if e is not None and hasattr(e, "use_threads")]
    for executor in local:
        executor.use_threads = True
    if not local:
        logger.warning("musiclime: cannot make this Snakemake run cheap jobs in threads; pass "
                       "--force-use-threads to avoid one process start per job")


onstart:
    run_jobs_in_threads(workflow)


onsuccess:
    print("\nMusicLIME results:")
    for point in PLAN.points:
        print(f"  explanations: {RESULTS}/songs/<song>/.../explanation.json  (point {point})")
        print(f"  report:       {point_report(point)}")
    print(f"  sweep summary: {RESULTS}/sweeps/{SWEEP_ID}/summary.tsv")
    tracking = PLAN.sweep.points[0].config["tracking"]
    if tracking["enabled"]:
        print(f"  MLflow:       {tracking['uri']}  (mlflow ui --backend-store-uri {tracking['uri']})")
