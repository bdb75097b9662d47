# Helpers shared by the rules: look up config slices and artifact paths in PLAN.
#
# Every job but the demo's inputs is a `run:` job: a thread of the Snakemake process hands its stage
# function to a warm worker process (musiclime.pipeline.worker_pool), so a job costs its own work,
# not a Python start, the library's imports and, for the heavy stages, a model load.
# Heavy jobs (separate, attribute, predict, evaluate, batches) run in model workers that keep the models they built;
# on a cluster each is a SLURM job (or one of a group job: profiles/slurm), whose own Snakemake
# process keeps model workers for the jobs of its group. Cheap jobs (perturb, fit, media, reports,
# tracking) are `localrules`: they run on the host of the main Snakemake process.
from musiclime.pipeline import stages
from musiclime.pipeline.worker_pool import start_pools
from musiclime.tracking.settings import refuse_sqlite_on_cluster
from musiclime.pipeline.snakemake_setup import (configure_model_workers, mark_snakemake_process, mlflow_summary,
                                                run_heavy_stage, run_stage, share_model_workers_with_job_steps)

# Jobs' scripts and workers exit soon after this process dies, even by SIGKILL: they follow it.
mark_snakemake_process()


localrules:
    perturb,
    fit,
    song_media,
    song_mix,
    report,
    point_table,
    pages,
    aggregate,
    sweep_summary,
    sweep_index,
    track_parent,
    track_point,


PATHS = PLAN.paths
SWEEP_ID = PLAN.sweep.id
RESULTS = PATHS.results
COMPUTE = PLAN.sweep.points[0].config["compute"]
DATA = PLAN.sweep.points[0].config["data"]


def snakemake_cores(workflow):
    """Snakemake's --cores (None in a dry run or when unset)."""
    try:
        return int(workflow.cores)
    except (TypeError, ValueError, WorkflowError):
        return None


configure_model_workers(COMPUTE, snakemake_cores(workflow), cluster_job=workflow.remote_exec)
if workflow.remote_exec:
    share_model_workers_with_job_steps()  # a SLURM (group) job's batch step: one model load per group job


wildcard_constraints:
    song=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    sep=r"[^/]+",
    masks=r"[^/]+",
    model=r"[^/]+",
    unit=r"[a-z_]+",
    fit=r"[^/]+",
    media=r"media-n\d+-k\d+",
    evaluation=r"evaluation-[0-9a-f]{8}",
    point=r"[0-9a-f]{8}",
    batch=r"\d{5}",
    aggregation=r"paper|gale",
    sweep=r"[0-9a-f]{8}",


def song_info(wildcards):
    return PLAN.songs[wildcards.song].info()


def stage_slice(stage, key):
    return PLAN.slices[stage][key]


def tracking_enabled(point):
    return PLAN.points[point].config["tracking"]["enabled"]


def report_config(point):
    return PLAN.points[point].config["report"]


def importance_files(point):
    """The point's global importance (report.aggregation names the method: it is in each name), pictures
    first, the table last (the pages show the pictures in this order); none when report.aggregate is off."""
    settings = report_config(point)
    if not settings["aggregate"]:
        return []
    stem = f"{RESULTS}/points/{point}/importance-{settings['aggregation']}"
    return [f"{stem}-classes.png", f"{stem}-comparison.png", f"{stem}.png", f"{stem}.csv", f"{stem}.parquet"]


def findings_files(point):
    """The point's findings across songs (class figures with intervals, tested differences): CSV and Parquet;
    none when report.aggregate is off."""
    settings = report_config(point)
    if not settings["aggregate"]:
        return []
    stem = f"{RESULTS}/points/{point}/findings-{settings['aggregation']}"
    return [f"{stem}.csv", f"{stem}.parquet"]


def aggregate_arguments(wildcards, output, params):
    """stages.aggregate_point's arguments: the point's explanations (their other mask seeds, evaluations and the
    sheet's cohorts for the intervals and findings) and the rule's outputs."""
    point = wildcards.point
    return {"explanation_paths": PLAN.explanations(point), "out_csv": output.table, "out_png": output.plot,
            "method": wildcards.aggregation, "out_classes": output.classes, "out_comparison": output.comparison,
            "features": params.features, "seed_explanations": PLAN.seed_explanations(point), "report": params.report,
            "out_parquet": output.parquet, "evaluations": PLAN.evaluations(point) or [], "data": params.data,
            "out_findings": output.findings, "out_findings_parquet": output.findings_parquet,
            "detector": point_info(point).get("detector")}


def seed_explanation_files(point):
    """Every song's explanations with the point's other mask seeds, flat (inputs of the findings and intervals)."""
    return [path for paths in PLAN.seed_explanations(point) for path in paths]


def cohort_sheet(point):
    """The sample sheet, an input of the findings when report.cohorts names its columns."""
    return [DATA["sample_sheet"]] if report_config(point)["cohorts"] else []


def coalitions_file(wildcards):
    """The coalitions a predict job reads: its song's, under its separation, model and masks' lyric unit."""
    return PATHS.coalitions.format(song=wildcards.song, sep=wildcards.sep, model=wildcards.model,
                                   unit=PLAN.lyrics_unit(wildcards.masks))


def embed_inputs(wildcards):
    """The song's audio or lyrics file, the encoder folder the workflow builds (if any), the demo's sheet."""
    encoder = PLAN.detectors.encoders[wildcards.encoder]
    song = PLAN.training_song(wildcards.song)
    inputs = {"song": str(song.audio) if encoder["modality"] == "audio" else PLAN.lyrics_file(song)}
    folder = str(encoder["settings"].get("encoder"))
    if folder in PLAN.detectors.tiny:
        inputs["encoder"] = folder
    if DATA["demo"] is not None:
        inputs["sheet"] = DATA["sample_sheet"]  # written after every demo song
    return inputs


def head_embeddings(head, modality):
    """A head's input of embeddings: the files, or with compute.songs_per_job > 0 the batch jobs' manifests."""
    if PLAN.songs_per_job:
        return PLAN.embedding_manifests(head, modality)
    return PLAN.detectors.embedding_files(head, modality)


def embed_batch_inputs(wildcards):
    """An embed batch job's inputs: its songs' audio or lyrics files, a workflow-built encoder, the demo's sheet."""
    steps = PLAN.embedding_steps(wildcards.encoder, wildcards.batch, COMPUTE["device"])
    inputs = {"songs": sorted({path for song_steps in steps.values() for item in song_steps
                               for path in item["inputs"]})}
    if DATA["demo"] is not None:
        inputs["sheet"] = DATA["sample_sheet"]
    return inputs


def point_report_files(point):
    """The point's own report files: summary, config, the table of every explanation's features
    (explanations.parquet), HTML index (report.html) and global importance."""
    files = [f"{RESULTS}/points/{point}/{name}" for name in ("summary.tsv", "config.yaml", "explanations.parquet")]
    if report_config(point)["html"]:
        files.append(f"{RESULTS}/points/{point}/report.html")
    return files + importance_files(point) + findings_files(point)


def song_files(point):
    """The per-song artifacts a point's reports read: ``explanations``, ``configs`` (each beside its
    explanation), ``media``, ``evaluations`` (empty lists when the point makes none) and ``mixes``."""
    explanations = PLAN.explanations(point)
    return {"explanations": explanations, "configs": [str(Path(e).parent / "config.yaml") for e in explanations],
            "media": PLAN.media(point) or [], "evaluations": PLAN.evaluations(point) or [], "mixes": PLAN.mixes(point)}


def song_file_lists(point, *kinds):
    """The lists of :func:`song_files` named by ``kinds``, in order (a rule's arguments)."""
    files = song_files(point)
    return [files[kind] for kind in kinds]


def batch_job(wildcards):
    """A batch job's ``model`` (its point's: a worker that holds it is preferred) and ``job`` (its name in errors)."""
    return {"model": stage_slice("model", PLAN.point_keys[wildcards.point]["model"]),
            "job": f"rule song_batch, point {wildcards.point}, batch {wildcards.batch}"}


def per_song(point, files):
    """A point rule's input of per-song artifacts: the files themselves, or, with compute.songs_per_job > 0,
    the batch jobs' manifests that stand for them (musiclime.pipeline.song_batches)."""
    return PLAN.batch_manifests(point) if PLAN.songs_per_job else list(files)


def point_targets(point):
    """Every file one sweep point asks for: explanations, media, evaluations (or the batches that make
    them), reports, tracking."""
    if PLAN.songs_per_job:  # the batches' manifests; no list of every song's files (a cluster job parses this too)
        targets = PLAN.batch_manifests(point)
    else:
        targets = PLAN.explanations(point) + (PLAN.media(point) or []) + (PLAN.evaluations(point) or [])
    targets += point_report_files(point) + detector_files(point)
    if tracking_enabled(point):
        targets.append(f"{RESULTS}/points/{point}/tracked.json")
    return targets


def all_targets():
    targets = []
    for point in PLAN.points:
        targets += point_targets(point)
    targets.append(f"{RESULTS}/sweeps/{SWEEP_ID}/summary.tsv")
    if any(report_config(point)["html"] for point in PLAN.points):
        targets.append(f"{RESULTS}/sweeps/{SWEEP_ID}/index.html")
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
    return PLAN.upstream({"separation": wildcards.sep, "masks": wildcards.masks, "model": wildcards.model,
                          "fit": wildcards.fit})


def detector_files(point):
    """The files of the head the workflow trains for the point's fusion model (none for other models)."""
    head_dir = PLAN.detector_head(point)
    return [] if head_dir is None else [f"{head_dir}/{name}" for name in ("metrics.json", "head.json", "config.yaml")]


def identity_text(identity):
    """An encoder's identity as an MLflow parameter: a folder's content hash or a hub revision, or null."""
    return None if not identity else identity.get("sha256") or identity.get("revision")


def point_info(point):
    """What tracking needs to know of a sweep point: its id, config, overrides, stage keys and trained head."""
    p = PLAN.points[point]
    info = {"id": point, "config": p.config, "overrides": list(p.overrides), "stage_keys": PLAN.keys(point),
            "sweep_name": PLAN.sweep.name}
    head_dir = PLAN.detector_head(point)
    if head_dir is not None:
        key = Path(head_dir).name
        head = PLAN.detectors.heads[key]
        info["detector"] = {"key": key, "files": detector_files(point),
                            "params": {"audio_encoder": p.config["model"]["audio"].get("encoder"),
                                       "lyrics_encoder": p.config["model"]["lyrics"].get("encoder"),
                            **{f"{m}_encoder_identity": identity_text(PLAN.detectors.encoders[head[m]].get("identity"))
                               for m in ("audio", "lyrics")},
                                       "head_kind": head["head"].get("kind"), "songs": len(head["songs"]),
                                       **{f"head_{k}": v for k, v in head["head"].items() if k != "kind"}}}
    return info


def point_of(wildcards):
    """A sweep point with the wildcards' stage keys (points with equal keys share these artifacts)."""
    wanted = {"separation": wildcards.sep, "masks": wildcards.masks, "model": wildcards.model,
              "fit": wildcards.fit, "evaluation": wildcards.evaluation}
    return next(p for p, keys in PLAN.point_keys.items() if all(keys[s] == v for s, v in wanted.items()))


def evaluation_inputs(wildcards):
    point = point_of(wildcards)
    compared = PLAN.comparison_explanations(wildcards.song, point)
    inputs = {"explanation": PLAN.artifact(PATHS.explanation, wildcards.song, point),
              "stems": PLAN.artifact(PATHS.stems, wildcards.song, point), "seeds": compared["seeds"]}
    inputs.update({f"randomized_{variant}": path for variant, path in compared["randomized"].items()})
    truth = PLAN.ground_truth(wildcards.song, point)
    if truth is not None:
        inputs["ground_truth"] = truth  # an edited truth re-runs the check
    return inputs


def page_inputs(wildcards):
    point = wildcards.point
    files = song_files(point)
    return {"songs": per_song(point, files["explanations"] + files["media"] + files["evaluations"] + files["mixes"]),
            "aggregation": importance_files(point), "detector": detector_files(point),
            "findings": findings_files(point), "sheet": cohort_sheet(point)}


def sweep_index_points(wildcards):
    """Per point with pages: its id, overrides, explanations, evaluations, pages and aggregation files."""
    points = []
    for point in PLAN.points:
        if not report_config(point)["html"]:
            continue
        aggregation = importance_files(point)
        points.append({"id": point, "overrides": list(PLAN.points[point].overrides),
                       "detector": point_info(point).get("detector"),
                       "explanations": PLAN.explanations(point), "evaluations": PLAN.evaluations(point) or [],
                       "pages_dir": f"{RESULTS}/points/{point}/songs", "aggregation": aggregation,
                       "findings": findings_files(point)})
    return points


def sweep_index_inputs(wildcards):
    files = []
    for point in sweep_index_points(wildcards):
        files += per_song(point["id"], point["explanations"] + point["evaluations"])
        files += point["aggregation"] + point["findings"] + detector_files(point["id"])
        files.append(f"{RESULTS}/points/{point['id']}/report.html")
    return {"files": files}


def track_point_inputs(wildcards):
    point = wildcards.point
    files = song_files(point)
    return {
        "songs": per_song(point, files["explanations"] + files["configs"] + files["media"] + files["evaluations"]),
        "report": point_report_files(point),
        "parent": f"{RESULTS}/sweeps/{SWEEP_ID}/mlflow_parent.json",
        "detector": detector_files(point),
    }


def batch_inputs(wildcards):
    """A batch job's inputs: its songs' files, the models its explanations need, the point's trained head,
    the demo's sheet (written after every demo song)."""
    point = wildcards.point
    models = {model["name"]: model for model in (stage_slice("model", k["model"]) for k in PLAN.chain_keys(point))}
    inputs = {"songs": PLAN.batch_sources(wildcards.batch),
              "models": sorted({str(f) for model in models.values() for f in model["requires"]}),
              "detector": detector_files(point)}
    if DATA["demo"] is not None:
        inputs["sheet"] = DATA["sample_sheet"]
    return inputs


def evaluate_arguments(input, params, output):
    """stages.evaluate's arguments: the explanation, stems, other seeds' explanations, the randomized models'
    ({variant: [explanation per mask seed]}), the model and evaluation slices, the two outputs, the ground truth."""
    randomized = {name[len("randomized_"):]: [paths] if isinstance(paths, str) else list(paths)
                  for name, paths in input.items() if name.startswith("randomized_")}
    return (input.explanation, input.stems, list(input.seeds), randomized, params.model, params.evaluation,
            output.evaluation, output.config, input.get("ground_truth"))


def run_jobs_in_threads(workflow):
    """Make Snakemake run `run:` jobs in threads of its process when it executes them itself.

    Snakemake runs `run:` jobs in threads under a cluster executor, but locally (and in the
    Snakemake process of a SLURM job) spawns a new Snakemake process for each unless told to use
    threads (`--force-use-threads`, which the profiles set). This sets it while the Snakefile is
    parsed, before the executors start, so a plain `snakemake --cores 2` and every SLURM job do it too.
    """
    settings = getattr(workflow, "execution_settings", None)
    if settings is None:  # --lint and other modes that run no job
        return
    if hasattr(settings, "use_threads"):
        settings.use_threads = True
    else:
        logger.warning("musiclime: cannot make this Snakemake run jobs in threads; pass --force-use-threads "
                       "to avoid one process start (and one model load) per job")


run_jobs_in_threads(workflow)


onstart:
    refuse_sqlite_on_cluster([PLAN.points[p].config["tracking"] for p in PLAN.points],
                             executor=workflow.executor_plugin.name, local=workflow.local_exec)
    pools = ("compute", "tracking") if any(tracking_enabled(p) for p in PLAN.points) else ("compute",)
    start_pools(pools + (("models",) if workflow.local_exec else ()))


onsuccess:
    print("\nMusicLIME results:")
    for point in PLAN.points:
        print(f"  explanations: {RESULTS}/songs/<song>/.../explanation.json  (point {point})")
        if report_config(point)["html"]:
            print(f"  report:       {RESULTS}/points/{point}/report.html")
    print(f"  sweep summary: {RESULTS}/sweeps/{SWEEP_ID}/summary.tsv")
    if any(report_config(point)["html"] for point in PLAN.points):
        print(f"  sweep index:   {RESULTS}/sweeps/{SWEEP_ID}/index.html")
    if PLAN.skipped:
        print(f"  songs not explained (data.skip_bad_songs=true; {RESULTS}/sweeps/{SWEEP_ID}/skipped_songs.tsv):")
        for problem in PLAN.skipped:
            print(f"    {problem.describe()}")
    for line in PLAN.notes_summary():
        print(f"  {line}")
    tracking = PLAN.sweep.points[0].config["tracking"]
    if tracking["enabled"]:
        print(mlflow_summary(tracking, f"{RESULTS}/sweeps/{SWEEP_ID}/mlflow_parent.json"))
