"""Jobs that do not grow with songs: one job runs every stage of a batch of songs (``compute.songs_per_job``).

With ``compute.songs_per_job = 0`` Snakemake plans one job per song and stage (separate, perturb,
attribute, predict, fit, pictures, mix, evaluate: 8 to 21 a song), and its job graph, not the work, is what a
large dataset pays for first. With ``N > 0`` the workflow plans one ``song_batch`` job per ``N``
songs and point instead: the job walks each of its songs through the same stages, with the same
arguments, into the same artifact paths as the per-song jobs (so either mode reuses the other's
work), and skips every step whose outputs are current.

A step is **current** when each of its outputs exists and is at least as new as each of its inputs
(files, or the files of an input folder): Snakemake's own rule, applied inside the job. Artifact paths
hold the keys of the configuration that made them, so a changed setting means new paths, and an
edited song (its audio, lyrics or stems) re-runs that song's steps only. Outputs are written
atomically, so a killed batch resumes where it stopped.

The plan side (:func:`batch_steps`, :meth:`~musiclime.pipeline.plan.WorkflowPlan.batch_steps`) lists each
song's steps as plain data; the job side, the stage :func:`musiclime.pipeline.stages.batches.song_batch`, runs
the ones that are not current (:func:`is_current`).
Songs go in sheet order: adding songs at the end of a sheet adds batches (or grows the last one)
and leaves the others' inputs as they were.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

#: ``compute.songs_per_job=auto``: per-song jobs below this many songs (they plan in under a minute).
AUTO_BATCHES_FROM = 1000
#: ``compute.songs_per_job=auto`` from :data:`AUTO_BATCHES_FROM` songs: about this many batch jobs a point.
AUTO_BATCHES = 100


def auto_songs_per_job(n_songs: int) -> int:
    """``compute.songs_per_job=auto``: ``0`` (a job per song and stage) below :data:`AUTO_BATCHES_FROM` songs,
    else ``ceil(n_songs / AUTO_BATCHES)`` (10 songs a job at 1,000 songs, 1,000 at 100,000): a plan of about
    100 jobs a point, enough to keep 100 cores or SLURM jobs busy."""
    if n_songs < AUTO_BATCHES_FROM:
        return 0
    return -(-n_songs // AUTO_BATCHES)


def songs_per_job(setting, n_songs: int) -> int:
    """The songs of a batch job for ``compute.songs_per_job`` (``auto`` or a whole number) and a sheet's songs."""
    return auto_songs_per_job(n_songs) if str(setting) == "auto" else int(setting or 0)


#: The stages a batch runs, in the order a song needs them.
BATCH_STAGES = ("embed", "separate", "perturb", "attribute", "predict", "fit", "song_media", "song_mix", "evaluate")


def step(stage: str, args: Sequence, outputs: Sequence[str], inputs: Sequence[str], model: dict | None = None) -> dict:
    """One stage call of a song: ``stages.<stage>(*args)``, its output and input paths, and the ``model``
    config slice it scores with (if any: the batch builds it ahead, :mod:`musiclime.pipeline.model_prefetch`)."""
    if stage not in BATCH_STAGES:
        raise ValueError(f"not a batch stage: {stage}")
    return {"stage": stage, "args": list(args), "outputs": [str(p) for p in outputs],
            "inputs": [str(p) for p in inputs if p is not None], **({"model": model} if model else {})}


def batch_steps(plan, point: str, song_ids: Sequence[str]) -> dict[str, list[dict]]:
    """``{song_id: [step, ...]}``: every stage call the per-song jobs of ``point`` would make for these
    songs (each explanation the point and its evaluation need: the point's own, the other mask seeds',
    the randomized models'; then the pictures, the mix and the evaluation), each output once."""
    paths = plan.paths
    main = plan.point_keys[point]
    chains = plan.chain_keys(point)
    media = plan.media(point)
    evaluated = plan.evaluations(point) is not None
    out = {}
    for song_id in song_ids:
        song = plan.songs[song_id]
        info, lyrics = song.info(), plan.lyrics_file(song)
        sources = [str(song.audio)] + _stem_files(song, plan, main)
        steps, scheduled = [], set()

        def add(stage, args, outputs, inputs, model=None):
            if outputs[0] not in scheduled:
                scheduled.add(outputs[0])
                steps.append(step(stage, args, outputs, inputs, model))

        for keys in chains:
            fill = lambda template: plan.artifact(template, song_id, point, keys)  # noqa: E731
            stems, masks, predictions, explanation = (fill(paths.stems), fill(paths.masks), fill(paths.predictions),
                                                      fill(paths.explanation))
            song_dir = paths.song_dir.format(song=song_id)
            sep_dir, masks_dir = f"{song_dir}/{keys['separation']}", f"{song_dir}/{keys['separation']}/{keys['masks']}"
            model = plan.slices["model"][keys["model"]]
            add("separate", (info, plan.slices["separation"][keys["separation"]], stems, f"{sep_dir}/config.yaml"),
                [stems, f"{sep_dir}/config.yaml"], sources)
            add("perturb", (stems, lyrics, plan.slices["masks"][keys["masks"]], song_id, masks,
                            f"{masks_dir}/config.yaml"), [masks, f"{masks_dir}/config.yaml"], [stems, lyrics])
            coalitions = fill(paths.coalitions)
            add("attribute", (stems, lyrics, plan.lyrics_unit(keys["masks"]), model, coalitions,
                              f"{Path(coalitions).parent}/config.yaml"),
                [coalitions, f"{Path(coalitions).parent}/config.yaml"], [stems, lyrics, *model["requires"]], model)
            add("predict", (stems, masks, lyrics, coalitions, model, predictions,
                            f"{masks_dir}/{keys['model']}/config.yaml"),
                [predictions, f"{masks_dir}/{keys['model']}/config.yaml"],
                [stems, masks, lyrics, coalitions, *model["requires"]], model)
            add("fit", (masks, predictions, plan.slices["fit"][keys["fit"]], info, plan.upstream(keys), explanation,
                        f"{Path(explanation).parent}/config.yaml"),
                [explanation, f"{Path(explanation).parent}/config.yaml"], [masks, predictions])
        fill = lambda template: plan.artifact(template, song_id, point)  # noqa: E731
        stems, explanation = fill(paths.stems), fill(paths.explanation)
        if media is not None:
            folder = fill(paths.media)
            add("song_media", (explanation, stems, plan.slices["media"][main["media"]], folder), [folder],
                [explanation, stems])
        add("song_mix", (stems, fill(paths.mix)), [fill(paths.mix)], [stems])
        if evaluated:
            compared = plan.comparison_explanations(song_id, point)
            evaluation = fill(paths.evaluation)
            truth = plan.ground_truth(song_id, point)
            randomized = [p for paths_of_variant in compared["randomized"].values() for p in paths_of_variant]
            add("evaluate", (explanation, stems, compared["seeds"], compared["randomized"],
                             plan.slices["model"][main["model"]], plan.slices["evaluation"][main["evaluation"]],
                             evaluation, f"{Path(evaluation).parent}/config.yaml", truth),
                [evaluation, f"{Path(evaluation).parent}/config.yaml"],
                [explanation, stems, *compared["seeds"], *randomized, truth])
        out[song_id] = steps
    return out


def embedding_steps(plan, encoder: str, song_ids: Sequence[str], device: str) -> dict[str, list[dict]]:
    """``{song_id: [step]}``: the ``embed`` call of each song with a fusion head's ``encoder`` (the per-song
    ``embed`` jobs' arguments and outputs; its inputs: the song's audio or lyrics and a workflow-built encoder's
    folder)."""
    settings = plan.detectors.encoders[encoder]
    folder = str(settings["settings"].get("encoder"))
    built = [folder] if folder in plan.detectors.tiny else []
    out = {}
    for song_id in song_ids:
        song = plan.training_song(song_id)
        source = str(song.audio) if settings["modality"] == "audio" else plan.lyrics_file(song)
        embedding = plan.detectors.embedding(song_id, encoder)
        config = f"{Path(embedding).parent}/config.yaml"
        out[song_id] = [step("embed", (song_id, source, settings, device, embedding, config), [embedding, config],
                             [source, *built])]
    return out


def _stem_files(song, plan, keys) -> list[str]:
    """The song's given stem files, inputs of its separation when the backend reads them."""
    if plan.slices["separation"][keys["separation"]]["backend"] != "stems" or not song.stems:
        return []
    folder = Path(song.stems)
    return sorted(str(p) for p in folder.iterdir()) if folder.is_dir() else [str(folder)]


def _mtime(path: str) -> float | None:
    """Modification time of a file, or the newest of a folder's files (the folder's own when empty)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    if not os.path.isdir(path):
        return stat.st_mtime
    times = [entry.stat().st_mtime for entry in os.scandir(path) if entry.is_file()]
    return max(times, default=stat.st_mtime)


def models_to_build(steps_by_song: dict[str, list[dict]]) -> list[dict]:
    """The model slices of the steps that will run (not current), each once, in the order first needed."""
    models: dict[str, dict] = {}
    for steps in steps_by_song.values():
        for item in steps:
            model = item.get("model")
            if model and model["name"] not in models and not is_current(item["outputs"], item["inputs"]):
                models[model["name"]] = model
    return list(models.values())


def is_current(outputs: Sequence[str], inputs: Sequence[str]) -> bool:
    """Does every output exist, at least as new as every existing input?"""
    made = [_mtime(p) for p in outputs]
    if any(t is None for t in made):
        return False
    newest_input = max((t for t in (_mtime(p) for p in inputs) if t is not None), default=0.0)
    return min(made) >= newest_input
