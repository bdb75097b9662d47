"""Structured configs (Hydra ConfigStore schemas) and their validation.

Every config group in ``conf/`` is backed by a dataclass here: OmegaConf rejects wrong types and
unknown keys at compose time, and ``__post_init__`` rejects out-of-range values with a
:class:`~musiclime.common.errors.ConfigError` naming the key (``OmegaConf.to_object`` runs it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from ..common.devices import check_device_name
from ..common.errors import ConfigError
from ..common.sheet_table import LYRICS_AS
from ..evidence.aggregation import AGGREGATION_FEATURES, AGGREGATION_METHODS
from ..evidence.differences import CORRECTIONS
from ..factorization.separation_budget import DEFAULT_SEPARATION_MEMORY_BUDGET_MB
from ..method.estimation.certification import DEFAULT_ALPHA, DEFAULT_METHOD, check_alpha, check_method
from ..method.scoring.memory_budget import DEFAULT_MEMORY_BUDGET_MB
from ..method.modality import MODALITIES
from ..method.estimation.sampling import GRID_ALLOCATIONS, SAMPLERS
from ..method.estimation.second_opinion import SURROGATES
from ..method.estimation.stopping import StoppingRule
from ..method.estimation.surrogate import FEATURE_SELECTIONS

SEPARATION_BACKENDS = ("stems", "openunmix", "time_only")
LYRICS_UNITS = ("line", "distinct_line", "section", "word")


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"config key {key}: {message}")


@dataclass
class DemoDataConfig:
    """Synthesize the demo songs (``musiclime.demo``) instead of reading user songs."""

    n_songs: int = 4
    duration_s: float = 20.0
    seed: int = 0

    def __post_init__(self):
        _require(self.n_songs >= 1, "data.demo.n_songs", f"must be >= 1, got {self.n_songs}")
        _require(self.duration_s >= 2, "data.demo.duration_s", f"must be >= 2 seconds, got {self.duration_s}")


@dataclass
class SheetColumnsConfig:
    """Which column of a dataset table holds what (``data.columns.*``, :mod:`musiclime.common.sheet_table`).

    ``song_id``, ``label``, ``stems``, ``ground_truth`` and ``split`` may be absent when left at their
    default names (ids then come from the audio file names); a renamed column must exist.
    """

    song_id: str = "song_id"
    audio: str = "audio"
    lyrics: str = "lyrics"
    label: str = "label"
    stems: str = "stems"
    ground_truth: str = "ground_truth"
    split: str = "split"


@dataclass
class DataConfig:
    """Songs: a TSV sample sheet (song_id, audio, lyrics[, stems][, label]); paths relative to the sheet.

    Or a dataset table (CSV, TSV or Parquet) read with ``columns``, ``lyrics_as``, ``labels`` and ``base_dir``.
    """

    sample_sheet: str = "resources/demo/samples.tsv"
    sample_rate: int = 22050
    demo: Optional[DemoDataConfig] = None
    songs: Optional[list[str]] = None  # subset of song ids; None = all
    # a row whose files do not check out (audio that does not decode, lyrics that are not UTF-8 ...):
    # false = stop before any job with one error listing every bad row; true = explain the others
    skip_bad_songs: bool = False
    # an empty lyrics file: instrumental = explain the song from its audio alone, with a note; bad = a bad row
    empty_lyrics: str = "instrumental"
    # how each song's audio is checked before any job: quick = its format's structure (a file cut short)
    # and its first seconds decoded; full = decoded in full (slower: ~0.25 s per 3-minute MP3 and core)
    audio_check: str = "quick"
    # processes that check new audio files in parallel; 0 = one per core
    check_workers: int = 0
    # the same audio in two rows (one file, or copies with the same bytes): error = stop before any job naming
    # the rows; merge = keep the first row of each and log which rows were merged into it
    duplicate_audio: str = "error"
    # a dataset table as the sheet: which column holds what
    columns: SheetColumnsConfig = field(default_factory=SheetColumnsConfig)
    # what the lyrics column holds: path (a lyrics file), text (the lyrics, written to files under
    # .musiclime/lyrics/ in the working directory) or auto (a path when one line naming a .txt/.lrc or existing file)
    lyrics_as: str = "auto"
    # label cell -> 0 (AI-Generated) / 1 (Human-Composed), e.g. {real: 1, fake: 0}; null: cells are 0, 1 or empty
    labels: Any = None
    # folder the table's relative paths start from; null: the table's folder
    base_dir: Optional[str] = None

    def __post_init__(self):
        _require(self.sample_rate >= 1000, "data.sample_rate", f"must be >= 1000 Hz, got {self.sample_rate}")
        _require(self.lyrics_as in LYRICS_AS, "data.lyrics_as", f"must be one of {LYRICS_AS}, got {self.lyrics_as!r}")
        _require(self.labels is None or (isinstance(self.labels, dict)
                                         and all(v in (0, 1) for v in self.labels.values())),
                 "data.labels", f"must map label names to 0 (AI-Generated) or 1 (Human-Composed), got {self.labels}")
        _require(self.empty_lyrics in ("instrumental", "bad"), "data.empty_lyrics",
                 f"must be instrumental or bad, got {self.empty_lyrics!r}")
        _require(self.audio_check in ("quick", "full"), "data.audio_check",
                 f"must be quick or full, got {self.audio_check!r}")
        _require(self.check_workers >= 0, "data.check_workers", f"must be >= 0 (0: one per core), got {self.check_workers}")
        _require(self.duplicate_audio in ("error", "merge"), "data.duplicate_audio",
                 f"must be error or merge, got {self.duplicate_audio!r}")


@dataclass
class SeparationConfig:
    """How songs are split into sources."""

    backend: str = "stems"
    model: str = "umxl"  # openunmix: pretrained name or local weights folder
    device: str = "auto"
    residual: bool = False
    chunk_seconds: float = 30.0
    overlap_seconds: float = 1.0
    niter: int = 1
    chunk_batch: int = 4  # openunmix: most chunks per forward pass (stems equal one at a time within 1e-4)
    # openunmix: MiB the chunks of one forward pass may take, on the separation device; fewer than
    # chunk_batch when they would exceed it (a 30 s chunk takes ~690 MiB)
    memory_budget_mb: int = DEFAULT_SEPARATION_MEMORY_BUDGET_MB

    def __post_init__(self):
        _require(self.backend in SEPARATION_BACKENDS, "separation.backend",
                 f"unknown backend {self.backend!r}; expected one of {SEPARATION_BACKENDS}")
        check_device_name(self.device, "separation.device")
        _require(self.chunk_batch >= 1, "separation.chunk_batch", f"must be >= 1, got {self.chunk_batch}")
        _require(self.memory_budget_mb >= 16, "separation.memory_budget_mb",
                 f"must be >= 16 MiB, got {self.memory_budget_mb}")
        _require(self.chunk_seconds > 2 * self.overlap_seconds >= 0, "separation.chunk_seconds",
                 f"must exceed twice separation.overlap_seconds ({self.overlap_seconds}), got {self.chunk_seconds}")


@dataclass
class DemoTrainConfig:
    """Train the demo classifier inside the workflow (``musiclime.models.demo_classifier``)."""

    seed: int = 0
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    """The classifier: ``predict_fn`` is a node with ``_target_`` naming a factory that returns a predict_fn."""

    name: str = "demo"
    predict_fn: Any = MISSING  # set by the model group (a node replaces it whole, no key merging)
    requires: list[str] = field(default_factory=list)  # files the factory reads (workflow inputs)
    # factory of the same architecture with re-initialised weights (evaluation.randomization); null = none
    randomized_predict_fn: Any = None
    # cascading randomization (evaluation.randomization_cascade): the steps before full randomization,
    # top layers first, each passed to randomized_predict_fn as layers=<step>
    randomization_cascade: list[str] = field(default_factory=list)
    # factory of the same architecture trained on shuffled labels (evaluation.data_randomization); null = none
    shuffled_labels_predict_fn: Any = None
    shuffled_labels_requires: list[str] = field(default_factory=list)  # files that factory reads
    batch_size: int = 32
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB  # composition buffer (+ mixture tables), on the model's device
    train_demo: Optional[DemoTrainConfig] = None
    # model=fusion (musiclime.models.fusion): the encoders' settings, and the head the workflow trains
    # (rules embed, train_head) unless head.checkpoint names a trained one; null for other models
    audio: Any = None
    lyrics: Any = None
    head: Any = None
    # {audio|lyrics: kind}: build a tiny random encoder of that kind (musiclime.models.fusion.tiny) into the
    # folder the modality's `encoder` names (rule tiny_encoder): the offline fusion demo
    tiny_encoders: Optional[dict[str, str]] = None

    def __post_init__(self):
        if self.predict_fn is MISSING or self.predict_fn == "???":
            return  # the schema's own default; composition fills it in
        if self.head is not None:
            for modality in ("audio", "lyrics"):
                settings = getattr(self, modality)
                _require(isinstance(settings, dict) and ("encoder" in settings or "_target_" in settings),
                         f"model.{modality}", "must be a mapping with `encoder` (a hub name or a local folder) or "
                                              "`_target_` (a factory returning an encoder), as model.head is set")
        _require(isinstance(self.predict_fn, dict) and "_target_" in self.predict_fn, "model.predict_fn",
                 "must be a mapping with a _target_ naming a factory that returns predict_fn(texts, audios)")
        _require(self.batch_size >= 1, "model.batch_size", f"must be >= 1, got {self.batch_size}")
        _require(self.randomized_predict_fn is None or (isinstance(self.randomized_predict_fn, dict)
                                                        and "_target_" in self.randomized_predict_fn),
                 "model.randomized_predict_fn", "must be null or a mapping with a _target_ naming a factory")
        _require(self.shuffled_labels_predict_fn is None or (isinstance(self.shuffled_labels_predict_fn, dict)
                                                             and "_target_" in self.shuffled_labels_predict_fn),
                 "model.shuffled_labels_predict_fn", "must be null or a mapping with a _target_ naming a factory")
        _require(not self.randomization_cascade or self.randomized_predict_fn is not None,
                 "model.randomization_cascade", "needs model.randomized_predict_fn (the factory it passes layers= to)")
        _require(len(set(self.randomization_cascade)) == len(self.randomization_cascade),
                 "model.randomization_cascade", f"names a step twice: {list(self.randomization_cascade)}")
        _require(self.memory_budget_mb >= 16, "model.memory_budget_mb", f"must be >= 16 MiB, got {self.memory_budget_mb}")


@dataclass
class StoppingConfig:
    """Score masks in rounds and stop once the top features are stable (``musiclime.method.estimation.stopping``);
    ``explain.num_samples`` is then the budget."""

    enabled: bool = False
    # defaults are the rule's own (musiclime.method.estimation.stopping.StoppingRule)
    top_k: int = StoppingRule.top_k
    alpha: float = StoppingRule.alpha  # family-wise error level at which the top-k set must be certified
    first_round: int = StoppingRule.first_round  # rows
    growth: float = StoppingRule.growth  # each round scores this many times the rows of the one before
    num_features: int = StoppingRule.num_features  # features the rule's surrogate keeps (as the default fit does)
    kernel_width: float = StoppingRule.kernel_width  # the rule's own kernel: a kernel-width sweep reuses the rows
    distance_scale: float = StoppingRule.distance_scale
    method: str = StoppingRule.method  # holm, sequential or bonferroni: the certification's test (left out of the masks slice when default)
    modality_top_k: int = StoppingRule.modality_top_k  # each modality that matters (exact attribution) needs this many certified ranks too
    spending: str = StoppingRule.spending  # how alpha is spent over the looks: linear in rows (docs/samplers.md)

    def __post_init__(self):
        check_method(self.method, "explain.stopping.method")  # a misspelt method is an error even when off
        if self.enabled:
            StoppingRule.from_config(vars(self))  # raises ConfigError naming explain.stopping.<key>


@dataclass
class CertificationConfig:
    """How many top ranks are certain (``musiclime.method.estimation.certification``); changes the fit only."""

    alpha: float = DEFAULT_ALPHA  # family-wise error level per ranking
    method: str = DEFAULT_METHOD  # holm (sets), sequential (Goldwasser and Hooker: order) or bonferroni

    def __post_init__(self):
        check_alpha(self.alpha)  # raises ConfigError naming explain.certification.alpha
        check_method(self.method)  # raises ConfigError naming explain.certification.method


@dataclass
class ExplainConfig:
    """MusicLIME parameters; defaults reproduce the seed."""

    num_samples: int = 1000
    kernel_width: float = 25.0
    distance_scale: float = 1.0
    temporal_segments: int = 10
    modality: str = "both"
    lyrics_unit: str = "line"
    sampler: str = "random"
    grid_allocation: str = "equal"  # factorial samplers: masks per modality, equal or by_features (the masks only)
    seed: int = 0
    feature_selection: str = "auto"
    num_features: int = 20
    labels: Optional[list[int]] = None  # None: the class the model predicts for the original song
    surrogate: str = "lime"  # the explanation's surrogate; the other one is fitted too, as a second opinion
    certification: CertificationConfig = field(default_factory=CertificationConfig)
    stopping: StoppingConfig = field(default_factory=StoppingConfig)

    def __post_init__(self):
        _require(self.num_samples >= 2, "explain.num_samples", f"must be >= 2, got {self.num_samples}")
        _require(self.kernel_width > 0, "explain.kernel_width", f"must be > 0, got {self.kernel_width}")
        _require(self.distance_scale > 0, "explain.distance_scale", f"must be > 0, got {self.distance_scale}")
        _require(self.temporal_segments >= 1, "explain.temporal_segments",
                 f"must be >= 1, got {self.temporal_segments}")
        _require(self.modality in MODALITIES, "explain.modality",
                 f"unknown modality {self.modality!r}; expected one of {MODALITIES}")
        _require(self.lyrics_unit in LYRICS_UNITS, "explain.lyrics_unit",
                 f"unknown unit {self.lyrics_unit!r}; expected one of {LYRICS_UNITS}")
        _require(self.sampler in SAMPLERS, "explain.sampler", f"unknown sampler {self.sampler!r}; expected {SAMPLERS}")
        _require(self.grid_allocation in GRID_ALLOCATIONS, "explain.grid_allocation",
                 f"unknown allocation {self.grid_allocation!r}; expected one of {GRID_ALLOCATIONS}")
        _require(self.surrogate in SURROGATES, "explain.surrogate",
                 f"unknown surrogate {self.surrogate!r}; expected one of {SURROGATES}")
        _require(self.feature_selection in FEATURE_SELECTIONS, "explain.feature_selection",
                 f"unknown {self.feature_selection!r}; expected one of {FEATURE_SELECTIONS}")
        _require(self.num_features >= 1, "explain.num_features", f"must be >= 1, got {self.num_features}")
        _require(self.labels is None or all(label >= 0 for label in self.labels), "explain.labels",
                 f"must be null or non-negative class indices, got {self.labels}")


@dataclass
class TrackingConfig:
    """MLflow: ``uri`` is a SQLite file (default, MLflow's own default) or ``http://host:port``."""

    enabled: bool = True
    uri: str = "sqlite:///mlflow.db"
    experiment_name: str = "musiclime"
    allow_sqlite_on_cluster: bool = False  # a SQLite uri under a cluster executor is refused unless true

    def __post_init__(self):
        _require(self.uri.split(":", 1)[0] in ("sqlite", "http", "https", "file", "postgresql", "mysql"),
                 "tracking.uri", f"unsupported tracking URI {self.uri!r}")


@dataclass
class ReportConfig:
    """Per-point summary table, pictures, listenable WAVs, HTML pages and global aggregation (each switchable)."""

    num_features: int = 10
    pictures: bool = True  # per-song heatmap, top-feature bars, weighted lyrics (PNG)
    listenable: bool = True  # per-song WAVs of the top-k positive audio components and of the song without them
    listenable_top_k: int = 3
    html: bool = True  # per-song pages and the index
    aggregate: bool = True  # global importance per class (I_LIME, I_AVG, I_HOM) per sweep point
    aggregation: str = "paper"  # paper: the MusicLIME paper's method; gale: the GALE-style variant
    aggregation_features: str = "all"  # paper's method: all (every feature's full-fit weight, as the notebook) or top
    interval_level: float = 0.9  # bootstrap intervals over songs (and mask seeds) of every global figure
    interval_replicates: int = 1000
    interval_seed: int = 0
    difference_alpha: float = 0.05  # a class or cohort difference holds at this level after the correction
    difference_correction: str = "holm"  # holm (family-wise error) or fdr (Benjamini-Hochberg)
    cohorts: list[str] = field(default_factory=list)  # sample-sheet columns to compare songs by, e.g. [generator]

    def __post_init__(self):
        _require(self.aggregation in AGGREGATION_METHODS, "report.aggregation",
                 f"must be one of {list(AGGREGATION_METHODS)}, got {self.aggregation!r}")
        _require(self.aggregation_features in AGGREGATION_FEATURES, "report.aggregation_features",
                 f"must be one of {list(AGGREGATION_FEATURES)}, got {self.aggregation_features!r}")
        _require(self.num_features >= 1, "report.num_features", f"must be >= 1, got {self.num_features}")
        _require(0.0 < self.interval_level < 1.0, "report.interval_level",
                 f"must be between 0 and 1, got {self.interval_level}")
        _require(self.interval_replicates >= 1, "report.interval_replicates",
                 f"must be >= 1, got {self.interval_replicates}")
        _require(0.0 < self.difference_alpha < 1.0, "report.difference_alpha",
                 f"must be between 0 and 1, got {self.difference_alpha}")
        _require(self.difference_correction in CORRECTIONS, "report.difference_correction",
                 f"must be one of {list(CORRECTIONS)}, got {self.difference_correction!r}")
        _require(self.listenable_top_k >= 1, "report.listenable_top_k", f"must be >= 1, got {self.listenable_top_k}")


@dataclass
class EvaluationConfig:
    """Trust metrics per song (``evaluation.json``): stability, faithfulness, model randomization, and the
    ground-truth check for songs with known evidence."""

    enabled: bool = True
    stability: bool = True
    stability_seeds: int = 3  # explanations with mask seeds explain.seed, +1, ... (reuses cached artifacts)
    faithfulness: bool = True
    faithfulness_steps: int = 10  # chunks a deletion/insertion curve moves the features in
    faithfulness_random_draws: int = 5  # random orders averaged for the baseline
    faithfulness_seed: int = 0
    randomization: bool = True  # needs model.randomized_predict_fn; skipped with a note otherwise
    randomization_seeds: int = 3  # mask seeds each randomization check averages over (1 explanation each)
    randomization_cascade: bool = False  # also each step of model.randomization_cascade (one explanation each)
    data_randomization: bool = False  # also the model trained on shuffled labels (model.shuffled_labels_predict_fn)
    ground_truth: bool = True  # score the rankings against a song's ground_truth.json, where it has one (no model call)

    def __post_init__(self):
        _require(self.stability_seeds >= 2, "evaluation.stability_seeds", f"must be >= 2, got {self.stability_seeds}")
        _require(self.randomization_seeds >= 1, "evaluation.randomization_seeds",
                 f"must be >= 1, got {self.randomization_seeds}")
        _require(self.faithfulness_steps >= 1, "evaluation.faithfulness_steps",
                 f"must be >= 1, got {self.faithfulness_steps}")
        _require(self.faithfulness_random_draws >= 1, "evaluation.faithfulness_random_draws",
                 f"must be >= 1, got {self.faithfulness_random_draws}")


@dataclass
class ComputeConfig:
    """Where the heavy stages run, and the resources the rules declare.

    ``device`` is the one switch: ``cuda`` (or ``cuda:N``) puts Open-Unmix separation and the demo
    model on the GPU, ``auto`` uses CUDA when present and otherwise the CPU (with a log line),
    ``cpu`` (default) keeps everything on the CPU. ``gpu`` (GPUs the separate and predict rules
    request; local runs ignore it, SLURM honours it) follows the device by default: 1 unless cpu.

    The heavy stages (separate, attribute, predict, evaluate, song_batch) run in warm model workers that keep the models
    they built (:mod:`musiclime.pipeline.worker_pool`). ``model_workers``: ``auto`` is one per GPU
    with a CUDA device, else ``--cores // threads``; ``0`` runs each heavy job in a fresh process.
    ``model_cache_mb``: MiB of models one worker keeps (least recently used dropped first); ``auto``
    is half the memory (the SLURM job's, else the machine's) shared among the workers, ``0`` no cap.
    ``songs_per_job``: ``0`` plans one job per song and stage; ``N`` one job per ``N`` songs that runs
    each song's stages in turn and skips the artifacts that are current
    (:mod:`musiclime.pipeline.song_batches`), so the job graph does not grow with the dataset; ``auto``
    (default) is ``0`` below 1,000 songs and about 100 batches a point from there
    (:func:`musiclime.pipeline.song_batches.auto_songs_per_job`).
    """

    device: str = "cpu"
    gpu: int = 0
    separate_mem_mb: int = 4000
    predict_mem_mb: int = 4000
    threads: int = 2
    model_workers: str = "auto"
    model_cache_mb: str = "auto"
    songs_per_job: str = "auto"

    def __post_init__(self):
        check_device_name(self.device, "compute.device")
        _require(self.gpu >= 0, "compute.gpu", f"must be >= 0, got {self.gpu}")
        _require(self.threads >= 1, "compute.threads", f"must be >= 1, got {self.threads}")
        for key in ("model_workers", "model_cache_mb", "songs_per_job"):
            value = str(getattr(self, key))
            _require(value == "auto" or (value.isdigit()), f"compute.{key}",
                     f"must be auto or a whole number >= 0, got {value!r}")


def gpus_for_device(device: str) -> int:
    """GPUs a rule requests for ``compute.device``: 0 for ``cpu``, else 1 (``auto`` asks too)."""
    return 0 if str(device) == "cpu" else 1


@dataclass
class MusicLimeConfig:
    """The root config composed from ``conf/config.yaml``."""

    data: DataConfig = field(default_factory=DataConfig)
    separation: SeparationConfig = field(default_factory=SeparationConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    experiment_name: str = "default"
    sweep: list[str] = field(default_factory=list)  # Hydra sweep overrides, e.g. explain.kernel_width=5,25,50
    results_dir: str = "results"


def register_configs() -> None:
    """Store the schemas in Hydra's ConfigStore (``base_<group>`` names used by ``conf/`` defaults)."""
    OmegaConf.register_new_resolver("gpus_for_device", gpus_for_device, replace=True)
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=MusicLimeConfig)
    for group, node in [("data", DataConfig), ("separation", SeparationConfig), ("model", ModelConfig),
                        ("explain", ExplainConfig), ("tracking", TrackingConfig), ("report", ReportConfig),
                        ("evaluation", EvaluationConfig), ("compute", ComputeConfig)]:
        cs.store(group=group, name=f"base_{group}", node=node)
