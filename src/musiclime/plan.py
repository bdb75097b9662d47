"""The workflow plan: which artifacts a sweep needs, and where each one lives.

Each stage's artifact path is keyed by exactly the configuration that can change it
(``DESIGN.md`` section 3), so sweep points share upstream work:

* ``separation``  (backend and its settings, sample rate)
* ``masks``       (num_samples, temporal_segments, modality, lyrics unit, sampler, seed)
* ``predictions`` (+ the model)
* ``explanation`` (+ kernel width, distance scale, feature selection, num_features, labels)

Keys are readable prefixes plus a short hash of the slice, e.g. ``kw25-ds1-3fa2c1d0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .composition import Sweep, SweepPoint, short_hash
from .demo_set import demo_songs
from .errors import ConfigError
from .sample_sheet import Song, read_sample_sheet

SEPARATION_KEYS = {"stems": ("backend", "residual"), "time_only": ("backend",),
                   "openunmix": ("backend", "model", "device", "residual", "chunk_seconds", "overlap_seconds",
                                 "niter")}
MASK_KEYS = ("num_samples", "temporal_segments", "modality", "lyrics_unit", "sampler", "seed")
MODEL_KEYS = ("name", "predict_fn", "requires", "batch_size")
FIT_KEYS = ("kernel_width", "distance_scale", "feature_selection", "num_features", "labels")


def stage_slices(config: dict) -> dict[str, dict]:
    """The config slice of each stage of one point (plain dicts)."""
    sep = config["separation"]
    separation = {k: sep[k] for k in SEPARATION_KEYS[sep["backend"]]}
    separation["sample_rate"] = config["data"]["sample_rate"]  # device is in the key: GPU and CPU stems differ slightly
    return {
        "separation": separation,
        "masks": {k: config["explain"][k] for k in MASK_KEYS},
        "model": {k: config["model"][k] for k in MODEL_KEYS},
        "fit": {k: config["explain"][k] for k in FIT_KEYS},
    }


def stage_keys(slices: dict[str, dict]) -> dict[str, str]:
    """Readable, collision-safe folder names for each stage slice."""
    sep, m, f = slices["separation"], slices["masks"], slices["fit"]
    return {
        "separation": f"{sep['backend']}-{short_hash(sep)}",
        "masks": f"n{m['num_samples']}-T{m['temporal_segments']}-{m['modality']}-{m['lyrics_unit']}-{short_hash(m)}",
        "model": f"{slices['model']['name']}-{short_hash(slices['model'])}",
        "fit": f"kw{f['kernel_width']:g}-ds{f['distance_scale']:g}-{short_hash(f)}",
    }


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
    def predictions(self) -> str:
        return f"{self.song_dir}/{{sep}}/{{masks}}/{{model}}/predictions.npz"

    @property
    def explanation(self) -> str:
        return f"{self.song_dir}/{{sep}}/{{masks}}/{{model}}/{{fit}}/explanation.json"

    @property
    def plot(self) -> str:
        return f"{self.song_dir}/{{sep}}/{{masks}}/{{model}}/{{fit}}/explanation.png"

    @property
    def point_dir(self) -> str:
        return f"{self.results}/points/{{point}}"


class WorkflowPlan:
    """Every artifact of one invocation: songs x sweep points, with the config slices behind each key.

    Args:
        sweep: the composed points.
        songs: the songs to explain (same for every point: the data group may not be swept).
    """

    def __init__(self, sweep: Sweep, songs: list[Song]):
        self.sweep = sweep
        self.songs = {s.song_id: s for s in songs}
        self.points = {p.id: p for p in sweep.points}
        self.paths = ArtifactPaths(sweep.points[0].config["results_dir"])
        self.slices: dict[str, dict[str, dict]] = {"separation": {}, "masks": {}, "model": {}, "fit": {}}
        self.point_keys: dict[str, dict[str, str]] = {}
        for point in sweep.points:
            slices = stage_slices(point.config)
            keys = stage_keys(slices)
            self.point_keys[point.id] = keys
            for stage, key in keys.items():
                self.slices[stage][key] = slices[stage]

    @classmethod
    def from_sweep(cls, sweep: Sweep) -> "WorkflowPlan":
        """Read the songs named by the sweep's data config (checking files unless they are generated)."""
        data = sweep.points[0].config["data"]
        for point in sweep.points[1:]:
            if point.config["data"] != data:
                raise ConfigError("the data group cannot be swept: every point must explain the same songs")
        if data["demo"] is not None:
            songs = demo_songs(Path(data["sample_sheet"]), data["demo"]["n_songs"])
        else:
            need_stems = any(p.config["separation"]["backend"] == "stems" for p in sweep.points)
            songs = read_sample_sheet(data["sample_sheet"], check_files=True, need_stems=need_stems)
        if data["songs"]:
            unknown = sorted(set(data["songs"]) - {s.song_id for s in songs})
            if unknown:
                raise ConfigError(f"config key data.songs names songs not in the sample sheet: {unknown}")
            songs = [s for s in songs if s.song_id in data["songs"]]
        return cls(sweep, songs)

    def keys(self, point: SweepPoint | str) -> dict[str, str]:
        return self.point_keys[point if isinstance(point, str) else point.id]

    def artifact(self, template: str, song: str, point: str) -> str:
        """Fill ``template`` for one song and point."""
        k = self.point_keys[point]
        return template.format(song=song, sep=k["separation"], masks=k["masks"], model=k["model"], fit=k["fit"],
                               point=point)

    def explanations(self, point: str) -> list[str]:
        return [self.artifact(self.paths.explanation, song, point) for song in self.songs]

    def plots(self, point: str) -> list[str]:
        return [self.artifact(self.paths.plot, song, point) for song in self.songs]
