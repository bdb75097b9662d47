"""The workflow plan: which artifacts a sweep needs, and where each one lives.

Each stage's artifact path is keyed by exactly the configuration that can change it
(``DESIGN.md`` section 3), so sweep points share upstream work:

* ``separation``  (backend and its settings, sample rate)
* ``masks``       (num_samples, temporal_segments, modality, lyrics unit, sampler, seed, stopping rule,
  grid allocation)
* ``predictions`` (+ the model)
* ``explanation`` (+ kernel width, distance scale, feature selection, num_features, labels, surrogate,
  certification level)

Keys are readable prefixes plus a short hash of the slice, e.g. ``kw25-ds1-3fa2c1d0``.

A song given without lyrics (an empty lyrics cell, ``Song.lyrics is None``) is explained from its audio
alone: the jobs that read a lyrics file read one shared empty file, :data:`NO_LYRICS_FILE`
(:meth:`WorkflowPlan.lyrics_file`), so every stage treats it as it treats an instrumental's empty
lyrics; its explanation's ``song_info`` records ``"lyrics": null`` and its note.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..common.atomic_io import write_text
from ..common.duplicate_audio import check_duplicate_mode, duplicates_message, find_duplicate_audio, merged_rows
from ..common.errors import ConfigError
from ..common.file_hashes import FileHashes
from ..common.ground_truth_file import ground_truth_path
from ..common.sample_sheet import Song
from ..common.sheet_table import sheet_rows
from ..common.song_checks import FileVerdicts, SongProblem, check_files, named_songs, no_lyrics_note
from ..factorization.lyrics import lyric_lines
from ..method.estimation.certification import DEFAULT_ALPHA, DEFAULT_METHOD
from .checked_sheet import read_checked, write_checked
from .demo_set import demo_songs
from .detector_plan import DetectorPlan, check_detector, is_fusion
from .hydra_configs import Sweep, SweepPoint, short_hash

log = logging.getLogger(__name__)

SEPARATION_KEYS = {"stems": ("backend", "residual"), "time_only": ("backend",),
                   "openunmix": ("backend", "model", "device", "residual", "chunk_seconds", "overlap_seconds",
                                 "niter", "chunk_batch", "memory_budget_mb")}
MASK_KEYS = ("num_samples", "temporal_segments", "modality", "lyrics_unit", "sampler", "seed")
MODEL_KEYS = ("name", "predict_fn", "requires", "batch_size", "memory_budget_mb")
FIT_KEYS = ("kernel_width", "distance_scale", "feature_selection", "num_features", "labels")
#: The empty lyrics file the jobs of songs given without lyrics read, under the working directory.
NO_LYRICS_FILE = Path(".musiclime") / "no_lyrics.txt"
EVALUATION_KEYS = ("stability", "stability_seeds", "faithfulness", "faithfulness_steps", "faithfulness_random_draws",
                   "faithfulness_seed", "randomization", "randomization_seeds", "randomization_cascade",
                   "data_randomization")


def stage_slices(config: dict) -> dict[str, dict]:
    """The config slice of each stage of one point (plain dicts)."""
    sep = config["separation"]
    separation = {k: sep[k] for k in SEPARATION_KEYS[sep["backend"]]}
    separation["sample_rate"] = config["data"]["sample_rate"]
    # device, chunk_batch and memory_budget_mb are in the key although they change the stems only by float
    # noise (GPU vs CPU kernels; chunks batched by the budget: within 1e-4 of one at a time)
    report = config["report"]
    evaluation = config["evaluation"]
    return {
        "separation": separation,
        "masks": masks_slice(config["explain"]),
        "model": model_slice(config["model"]),
        "fit": fit_slice(config["explain"]),
        # per-song pictures and WAVs: 0 switches a part off
        "media": {"num_features": report["num_features"] if report["pictures"] else 0,
                  "listenable_top_k": report["listenable_top_k"] if report["listenable"] else 0},
        "evaluation": evaluation_slice(evaluation),
    }


def model_slice(model: dict) -> dict:
    """The predict stage's slice: :data:`MODEL_KEYS`, and a fusion detector's ``encoder_identity`` (its encoders'
    content hashes or hub revisions, set by :class:`~.detector_plan.DetectorPlan`) when known, so the
    predictions are made again when an encoder's weights change (other models' keys are as before)."""
    out = {k: model[k] for k in MODEL_KEYS}
    if model.get("encoder_identity"):
        out["encoder_identity"] = model["encoder_identity"]
    return out


def evaluation_slice(evaluation: dict) -> dict:
    """The evaluate stage's slice: :data:`EVALUATION_KEYS`, and ``ground_truth`` only when it is off (so
    evaluations made before the ground-truth check existed keep their keys: it needs no model call, and
    adding it must not repeat the faithfulness and randomization work)."""
    out = {k: evaluation[k] for k in EVALUATION_KEYS}
    if not evaluation.get("ground_truth", True):
        out["ground_truth"] = False
    return out


def masks_slice(explain: dict) -> dict:
    """The masks stage's slice: :data:`MASK_KEYS`, the stopping rule when it is on (its ``method`` and
    ``modality_top_k`` only when not the default) and ``grid_allocation`` when it is not ``equal`` (each left out otherwise, so
    that masks drawn before these keys existed keep their keys)."""
    masks = {k: explain[k] for k in MASK_KEYS}
    if explain.get("grid_allocation", "equal") != "equal":
        masks["grid_allocation"] = explain["grid_allocation"]
    stopping = explain.get("stopping") or {}
    if stopping.get("enabled"):
        defaults = {"method": DEFAULT_METHOD, "modality_top_k": 0}
        masks["stopping"] = {k: v for k, v in stopping.items() if not (k in defaults and v == defaults[k])}
    return masks


def fit_slice(explain: dict) -> dict:
    """The fit stage's slice: :data:`FIT_KEYS`, ``surrogate`` unless it is ``lime`` and ``certification``
    with those of its keys (``alpha``, ``method``) that are not the default, left out when none is (so
    that fits made before these keys existed keep their keys).
    Neither enters the masks or predictions slices: comparing LIME with Kernel SHAP, or sweeping the
    certification level, costs a fit, not a model run."""
    fit = {k: explain[k] for k in FIT_KEYS}
    if explain.get("surrogate", "lime") != "lime":
        fit["surrogate"] = explain["surrogate"]
    defaults = {"alpha": DEFAULT_ALPHA, "method": DEFAULT_METHOD}
    certification = {k: v for k, v in (explain.get("certification") or {}).items() if v != defaults.get(k)}
    if certification:
        fit["certification"] = certification
    return fit


def randomized_models(model: dict, evaluation: dict) -> dict[str, dict]:
    """Model slices the randomization checks compare the trained model with, by variant.

    ``model``: the model config's ``randomized_predict_fn`` (every learnable weight re-initialised;
    ``evaluation.randomization``); ``cascade_<layers>``: the same factory with ``layers=<layers>`` for
    each step of ``model.randomization_cascade`` (``evaluation.randomization_cascade``); ``data``:
    ``shuffled_labels_predict_fn``, the architecture trained on shuffled labels
    (``evaluation.data_randomization``). A variant whose factory the model config lacks is left out.
    """
    def variant(name: str, factory: dict, requires: list | None = None) -> dict:
        return model_slice({**model, "name": f"{model['name']}-{name}", "predict_fn": factory,
                            "requires": requires or model["requires"]})

    variants = {}
    randomized = model.get("randomized_predict_fn")
    if randomized and evaluation.get("randomization"):
        variants["model"] = variant("randomized", randomized)
    if randomized and evaluation.get("randomization_cascade"):
        for layers in model.get("randomization_cascade") or ():
            variants[f"cascade_{layers}"] = variant(f"randomized-{layers}", {**randomized, "layers": layers})
    shuffled = model.get("shuffled_labels_predict_fn")
    if shuffled and evaluation.get("data_randomization"):
        variants["data"] = variant("shuffled-labels", shuffled, model.get("shuffled_labels_requires"))
    return variants


def shuffled_training(train_demo: dict) -> dict:
    """The ``train_demo`` slice of the data-randomization model: the same training on shuffled labels."""
    return {**train_demo, "kwargs": {**(train_demo.get("kwargs") or {}), "shuffle_labels": True}}


def stage_keys(slices: dict[str, dict]) -> dict[str, str]:
    """Readable, collision-safe folder names for each stage slice."""
    sep, m, f = slices["separation"], slices["masks"], slices["fit"]
    keys = {
        "separation": f"{sep['backend']}-{short_hash(sep)}",
        "masks": f"n{m['num_samples']}-T{m['temporal_segments']}-{m['modality']}-{m['lyrics_unit']}-{short_hash(m)}",
        "model": f"{slices['model']['name']}-{short_hash(slices['model'])}",
        "fit": ("shap-" if f.get("surrogate") == "kernel_shap" else "")
               + f"kw{f['kernel_width']:g}-ds{f['distance_scale']:g}-{short_hash(f)}",
    }
    if "media" in slices:
        media = slices["media"]
        keys["media"] = f"media-n{media['num_features']}-k{media['listenable_top_k']}"
    if "evaluation" in slices:
        keys["evaluation"] = f"evaluation-{short_hash(slices['evaluation'])}"
    return keys


@dataclass
class ArtifactPaths:
    """Path templates (Snakemake wildcards ``{song}``, ``{sep}``, ``{masks}``, ``{model}``, ``{fit}``, ``{point}``)."""

    results: str = "results"

    @property
    def song_dir(self) -> str:
        return f"{self.results}/songs/{{song}}"

    @property
    def stems(self) -> str:
        return f"{self.song_dir}/{{sep}}/stems.npz"

    @property
    def masks(self) -> str:
        return f"{self.song_dir}/{{sep}}/{{masks}}/masks.npz"

    @property
    def coalitions(self) -> str:
        """The song's coalitions under one model and lyric unit (``{unit}``), shared by its mask seeds."""
        return f"{self.song_dir}/{{sep}}/coalitions-{{unit}}/{{model}}/coalitions.npz"

    @property
    def predictions(self) -> str:
        return f"{self.song_dir}/{{sep}}/{{masks}}/{{model}}/predictions.npz"

    @property
    def explanation(self) -> str:
        return f"{self.song_dir}/{{sep}}/{{masks}}/{{model}}/{{fit}}/explanation.json"

    @property
    def mix(self) -> str:
        """The song's mix at the workflow's sample rate (WAV), played on its page."""
        return f"{self.song_dir}/{{sep}}/mix.wav"

    @property
    def fit_dir(self) -> str:
        return f"{self.song_dir}/{{sep}}/{{masks}}/{{model}}/{{fit}}"

    @property
    def media(self) -> str:
        """Folder of the song's pictures (``heatmap.png``, ``bars.png``, ``lyrics.png``) and WAVs."""
        return f"{self.fit_dir}/{{media}}"

    @property
    def evaluation(self) -> str:
        return f"{self.fit_dir}/{{evaluation}}/evaluation.json"

    @property
    def point_dir(self) -> str:
        return f"{self.results}/points/{{point}}"


def checked_songs(data: dict, need_stems: bool, lyrical: bool = False) -> tuple[list[Song], list[SongProblem]]:
    """The sample sheet's songs whose files all check out (:mod:`musiclime.common.song_checks`), and the
    problems of the others, before any job runs; the same audio in two rows is refused or merged
    (``data.duplicate_audio``, :mod:`musiclime.common.duplicate_audio`).

    Raises:
        ConfigError: a row is bad and ``data.skip_bad_songs`` is false: one message lists every bad
            row (sheet line, song, file, reason); or the same audio is in two good rows and
            ``data.duplicate_audio`` is ``error`` (whatever ``skip_bad_songs`` says): the message names
            each group's rows (lines, songs, files).
    """
    mode = check_duplicate_mode(data.get("duplicate_audio", "error"))
    rows, problems = sheet_rows(data, need_stems=need_stems)
    verdicts = FileVerdicts(depth=data.get("audio_check", "quick"), workers=data.get("check_workers", 0))
    truths: dict[str, Path | None] = {}
    file_problems, notes = check_files(rows, need_stems, data.get("empty_lyrics", "instrumental"), verdicts=verdicts,
                                       has_lyrics=lambda text: bool(lyric_lines(text)), lyrics_needed=lyrical,
                                       truths=truths)
    problems = sorted(problems + file_problems, key=lambda p: p.line)
    bad = {p.line for p in problems}
    hashes = FileHashes()
    duplicates = find_duplicate_audio([(line, song) for line, song in rows if line not in bad], hashes)
    hashes.save()
    refused = duplicates_message(duplicates) if duplicates and mode == "error" else ""
    if problems and not data.get("skip_bad_songs", False):
        listed = "\n".join(f"  - {p.describe()}" for p in problems)
        n_rows = len({line for line, _ in rows} | {p.line for p in problems})
        raise ConfigError(f"sample sheet {data['sample_sheet']}: {len(bad)} of {n_rows} rows "
                          f"cannot be explained; fix them, or set data.skip_bad_songs=true to explain the others:\n"
                          f"{listed}" + (f"\nand {refused}" if refused else ""))
    if refused:
        raise ConfigError(f"sample sheet {data['sample_sheet']}: {refused}")
    for problem in problems:
        log.warning("skipping %s (data.skip_bad_songs=true)", problem.describe())
    good = merged_rows([(line, song) for line, song in rows if line not in bad], duplicates)
    songs = [dataclasses.replace(song, notes=tuple(notes.get(song.song_id, ())),
                                 ground_truth=truths.get(song.song_id, song.ground_truth))
             for line, song in good]
    return songs, problems


def write_no_lyrics_file() -> Path:
    """Write :data:`NO_LYRICS_FILE` (empty, atomically) unless it is there and empty already: every parse of
    the Snakefile plans again, and a rewrite would re-run the jobs that read it."""
    if not (NO_LYRICS_FILE.is_file() and NO_LYRICS_FILE.stat().st_size == 0):
        write_text(NO_LYRICS_FILE, "")
    return NO_LYRICS_FILE


class WorkflowPlan:
    """Every artifact of one invocation: songs x sweep points, with the config slices behind each key.

    Args:
        sweep: the composed points.
        songs: the songs to explain (same for every point: the data group may not be swept).
    """

    def __init__(self, sweep: Sweep, songs: list[Song], skipped: Sequence[SongProblem] = (),
                 training: Sequence[Song] | None = None):
        self.sweep = sweep
        self.songs = {s.song_id: s for s in songs}
        #: the songs a fusion head trains on: every good row of the sheet (``data.songs`` only picks whom to explain)
        self.training = list(songs if training is None else training)
        self._training_by_id = {song.song_id: song for song in self.training}
        if any(song.lyrics is None for song in [*songs, *self.training]):
            write_no_lyrics_file()
        #: rows of the sample sheet left out (``data.skip_bad_songs=true``), with why
        self.skipped = list(skipped)
        self.paths = ArtifactPaths(sweep.points[0].config["results_dir"])
        #: the embeddings and heads of fusion points (``model=fusion``), whose head folders are filled into
        #: their model configs here, before a point's id and stage keys are taken
        self.detectors = DetectorPlan(self.paths.results)
        for point in sweep.points:
            if is_fusion(point.config["model"]):
                self.detectors.resolve(point.config, self.training)
                check_detector(point.config["model"], self.training, self.detectors.tiny,
                               f"sample sheet {point.config['data']['sample_sheet']}")
        self.points = {p.id: p for p in sweep.points}
        self.slices: dict[str, dict[str, dict]] = {stage: {} for stage in
                                                   ("separation", "masks", "model", "fit", "media", "evaluation")}
        self.point_keys: dict[str, dict[str, str]] = {}
        #: per point, the stage keys of the explanations its evaluation compares with (other mask
        #: seeds for stability; per randomization variant, the model that learned nothing explained
        #: with the mask seeds explain.seed, +1, ... up to evaluation.randomization_seeds)
        self.seed_keys: dict[str, list[dict[str, str]]] = {}
        self.randomized_keys: dict[str, dict[str, list[dict[str, str]]]] = {}
        for point in sweep.points:
            slices = stage_slices(point.config)
            keys = self._register(slices)
            self.point_keys[point.id] = keys
            evaluation = point.config["evaluation"]
            self.seed_keys[point.id] = []
            self.randomized_keys[point.id] = {}
            if not evaluation["enabled"]:
                continue
            variants = randomized_models(point.config["model"], evaluation)
            seeds = max(evaluation["stability_seeds"] if evaluation["stability"] else 1,
                        evaluation["randomization_seeds"] if variants else 1)
            seeded = [{**slices, "masks": {**slices["masks"], "seed": slices["masks"]["seed"] + offset}}
                      for offset in range(seeds)]
            self.seed_keys[point.id] = [self._register(seed_slices) for seed_slices in seeded[1:]]
            for variant, model in variants.items():
                self.randomized_keys[point.id][variant] = [
                    self._register({**seed_slices, "model": model})
                    for seed_slices in seeded[:evaluation["randomization_seeds"]]]

    def _register(self, slices: dict[str, dict]) -> dict[str, str]:
        keys = stage_keys(slices)
        for stage, key in keys.items():
            self.slices[stage][key] = slices[stage]
        return keys

    @classmethod
    def from_sweep(cls, sweep: Sweep, cluster_job: bool = False) -> "WorkflowPlan":
        """Read the songs named by the sweep's data config (checking files unless they are generated).

        The main process records the checked songs (:mod:`musiclime.pipeline.checked_sheet`); a cluster
        job (``cluster_job``) reads that record instead of checking every song again.
        """
        data = sweep.points[0].config["data"]
        for point in sweep.points[1:]:
            if point.config["data"] != data:
                raise ConfigError("the data group cannot be swept: every point must explain the same songs")
        skipped: list[SongProblem] = []
        if data["demo"] is not None:
            songs = demo_songs(Path(data["sample_sheet"]), data["demo"]["n_songs"])
        else:
            need_stems = any(p.config["separation"]["backend"] == "stems" for p in sweep.points)
            lyrical = any(p.config["explain"]["modality"] == "lyrical" for p in sweep.points)
            if cluster_job:
                songs, skipped = read_checked(data)
            else:
                songs, skipped = checked_songs(data, need_stems, lyrical)
                write_checked(data, songs, skipped)
        training = list(songs)
        if data["songs"]:
            unknown = sorted(set(data["songs"]) - {s.song_id for s in songs} - {p.song_id for p in skipped})
            if unknown:
                merged = " (or merged into an earlier row with the same audio: data.duplicate_audio=merge logs " \
                         "which)" if data.get("duplicate_audio") == "merge" else ""
                raise ConfigError(f"config key data.songs names songs not in the sample sheet{merged}: {unknown}")
            songs = [s for s in songs if s.song_id in data["songs"]]
            skipped = [p for p in skipped if p.song_id in data["songs"]]
        if not songs:
            raise ConfigError(f"no song of sample sheet {data['sample_sheet']} can be explained: "
                              + "; ".join(p.describe() for p in skipped))
        return cls(sweep, songs, skipped, training)

    def demo_models(self) -> dict[str, dict]:
        """``{weights_dir: train_demo slice}`` of the demo models the workflow trains: each point's
        ``model.train_demo``, and the same training on shuffled labels for its
        ``shuffled_labels_predict_fn`` (the data-randomization check) when that names a ``weights_dir``."""
        models = {}
        for point in self.sweep.points:
            model = point.config["model"]
            if model.get("train_demo") is None:
                continue
            models[model["predict_fn"]["weights_dir"]] = model["train_demo"]
            shuffled = model.get("shuffled_labels_predict_fn") or {}
            if "weights_dir" in shuffled:
                models[shuffled["weights_dir"]] = shuffled_training(model["train_demo"])
        return models

    def training_song(self, song_id: str) -> Song:
        """A song of the sheet a fusion head trains on (explained or not)."""
        return self._training_by_id[song_id]

    def detector_head(self, point: str) -> str | None:
        """The folder of the head the workflow trains for ``point``'s fusion model, or ``None`` (another model,
        or a given ``model.head.checkpoint``)."""
        model = self.points[point].config["model"]
        head_dir = (model.get("predict_fn") or {}).get("head_dir")
        key = None if not head_dir else Path(head_dir).name
        return head_dir if key in self.detectors.heads else None

    @staticmethod
    def lyrics_file(song: Song) -> str:
        """The lyrics file the jobs of ``song`` read: its own, or :data:`NO_LYRICS_FILE` when it was given
        without lyrics (explained from its audio alone, as an instrumental)."""
        return str(NO_LYRICS_FILE if song.lyrics is None else song.lyrics)

    def notes_summary(self) -> list[str]:
        """Lines of the end-of-run message about the songs' notes: the songs given without lyrics counted
        (and named, :func:`~musiclime.common.song_checks.named_songs`) in one line, every other note
        per song."""
        without = [song.song_id for song in self.songs.values() if song.lyrics is None]
        lines = []
        if without:
            lines.append(f"explained from their audio alone, no lyrics given: {len(without)} song(s) "
                         f"({named_songs(without)})")
        lines += [f"note, song {song.song_id}: {note}" for song in self.songs.values() for note in song.notes
                  if note != no_lyrics_note()]
        return lines

    def keys(self, point: SweepPoint | str) -> dict[str, str]:
        return self.point_keys[point if isinstance(point, str) else point.id]

    def artifact(self, template: str, song: str, point: str, keys: dict[str, str] | None = None) -> str:
        """Fill ``template`` for one song and point (or for the stage ``keys`` given)."""
        k = keys or self.point_keys[point]
        return template.format(song=song, sep=k["separation"], masks=k["masks"], model=k["model"], fit=k["fit"],
                               media=k.get("media"), evaluation=k.get("evaluation"), point=point,
                               unit=self.lyrics_unit(k["masks"]))

    def chain_keys(self, point: str) -> list[dict[str, str]]:
        """The stage keys of every explanation ``point`` and its evaluation need: its own, the other mask
        seeds', the randomized models' (each a separation, masks, model and fit key)."""
        return [self.point_keys[point], *self.seed_keys[point],
                *(keys for keyed in self.randomized_keys[point].values() for keys in keyed)]

    def models_after(self, separation: str) -> list[dict]:
        """The model slices of every explanation made from separation key ``separation``, each once: what
        the jobs after a song's separation load (:mod:`musiclime.pipeline.model_prefetch`)."""
        names = {keys["model"] for point in self.points for keys in self.chain_keys(point)
                 if keys["separation"] == separation}
        return [self.slices["model"][name] for name in sorted(names)]

    def lyrics_unit(self, masks_key: str) -> str:
        """The lyric unit of a masks key (its coalitions' ``{unit}``)."""
        return self.slices["masks"][masks_key]["lyrics_unit"]

    def upstream(self, keys: dict[str, str]) -> dict:
        """What a fit records of the stages before it: their config slices and the four stage keys."""
        return {"separation": self.slices["separation"][keys["separation"]],
                "masks": self.slices["masks"][keys["masks"]], "model": self.slices["model"][keys["model"]],
                "keys": {stage: keys[stage] for stage in ("separation", "masks", "model", "fit")}}

    @property
    def songs_per_job(self) -> int:
        """``compute.songs_per_job``: 0 for one job per song and stage, else the songs of a batch job
        (:mod:`musiclime.pipeline.song_batches`; ``auto`` follows the number of songs)."""
        from .song_batches import songs_per_job

        return songs_per_job(self.sweep.points[0].config["compute"].get("songs_per_job"), len(self.songs))

    def batches(self) -> list[list[str]]:
        """The song ids of each batch job, in sheet order (``songs_per_job`` > 0)."""
        ids, size = list(self.songs), max(1, self.songs_per_job)
        return [ids[i:i + size] for i in range(0, len(ids), size)]

    def batch_steps(self, point: str, batch: int) -> dict[str, list[dict]]:
        """What batch job ``batch`` of ``point`` runs (:func:`musiclime.pipeline.song_batches.batch_steps`)."""
        from .song_batches import batch_steps

        return batch_steps(self, point, self.batches()[int(batch)])

    def batch_manifest(self, point: str, batch: int) -> str:
        """The file a batch job writes when its songs are done (what Snakemake knows of them)."""
        return f"{self.paths.results}/points/{point}/batches/{int(batch):05d}.json"

    def batch_manifests(self, point: str) -> list[str]:
        return [self.batch_manifest(point, i) for i in range(len(self.batches()))]

    def batch_sources(self, batch: int) -> list[str]:
        """The files a batch's songs are made from (audio, lyrics, given stems, ground truth): an edit re-runs
        the batch job, which redoes that song's steps only. Given stems count only where the separation reads
        them (``separation=stems`` on a sheet; the demo's stems are its generator's, not an input)."""
        given_stems = self.sweep.points[0].config["data"]["demo"] is None and any(
            p.config["separation"]["backend"] == "stems" for p in self.sweep.points)
        files = []
        for song_id in self.batches()[int(batch)]:
            song = self.songs[song_id]
            files += [str(song.audio), self.lyrics_file(song)]
            files += [str(path) for path in ((song.stems if given_stems else None), song.ground_truth) if path]
        return files

    def embedding_batches(self, encoder: str) -> list[list[str]]:
        """The song ids of each ``embed`` batch job of a fusion head's encoder (``songs_per_job`` > 0): the
        labelled songs its heads train on, in sheet order."""
        ids, size = self.detectors.encoder_songs(encoder), max(1, self.songs_per_job)
        return [ids[i:i + size] for i in range(0, len(ids), size)]

    def embedding_manifests(self, head: str, modality: str) -> list[str]:
        """The manifests of the batch jobs that embed the songs ``head`` trains on with its ``modality`` encoder."""
        encoder = self.detectors.heads[head][modality]
        return [f"{self.paths.results}/detectors/embeddings/{encoder}/batches/{i:05d}.json"
                for i in range(len(self.embedding_batches(encoder)))]

    def embedding_steps(self, encoder: str, batch: int, device: str) -> dict[str, list[dict]]:
        """What ``embed`` batch job ``batch`` of ``encoder`` runs: each song's ``embed`` step
        (:func:`musiclime.pipeline.song_batches.embedding_steps`)."""
        from .song_batches import embedding_steps

        return embedding_steps(self, encoder, self.embedding_batches(encoder)[int(batch)], device)

    def explanations(self, point: str) -> list[str]:
        return [self.artifact(self.paths.explanation, song, point) for song in self.songs]

    def media(self, point: str) -> list[str] | None:
        """The songs' picture/WAV folders, or None when the point draws and plays nothing."""
        media = self.slices["media"][self.point_keys[point]["media"]]
        if not (media["num_features"] or media["listenable_top_k"]):
            return None
        return [self.artifact(self.paths.media, song, point) for song in self.songs]

    def mixes(self, point: str) -> list[str]:
        return [self.artifact(self.paths.mix, song, point) for song in self.songs]

    def evaluations(self, point: str) -> list[str] | None:
        """The songs' ``evaluation.json``, or None when evaluation is switched off for the point."""
        if not self.points[point].config["evaluation"]["enabled"]:
            return None
        return [self.artifact(self.paths.evaluation, song, point) for song in self.songs]

    def ground_truth(self, song: str, point: str) -> str | None:
        """The song's ground-truth file the evaluation of ``point`` reads (an input of rule ``evaluate``, so an
        edited truth re-runs the check), or ``None``: the point's ``evaluation.ground_truth`` is off, or
        the song has none (the sheet's ``ground_truth`` column, else ``ground_truth.json`` beside the audio
        when it exists while the plan is made)."""
        if not self.points[point].config["evaluation"].get("ground_truth", True):
            return None
        song = self.songs[song]
        path = ground_truth_path(song.ground_truth, song.audio)
        return None if path is None else str(path)

    def seed_explanations(self, point: str) -> list[list[str]]:
        """Per song, its explanations with the point's other mask seeds (the stability seeds; empty lists when
        the point makes none): the findings and intervals resample them within songs."""
        return [[self.artifact(self.paths.explanation, song, point, k) for k in self.seed_keys[point]]
                for song in self.songs]

    def comparison_explanations(self, song: str, point: str) -> dict[str, list[str] | str | None]:
        """What the evaluation of one explanation compares it with: ``seeds`` (other mask seeds, in
        seed order) and ``randomized`` (``{variant: [explanation per mask seed]}`` of the models that
        learned nothing, see :func:`randomized_models`; empty when there are none)."""
        return {"seeds": [self.artifact(self.paths.explanation, song, point, k) for k in self.seed_keys[point]],
                "randomized": {variant: [self.artifact(self.paths.explanation, song, point, keys) for keys in seeded]
                               for variant, seeded in self.randomized_keys[point].items()}}
