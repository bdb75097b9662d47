"""The plan of a fusion detector (``model=fusion``): which embeddings and heads a point needs, and where.

A fusion model config (``model.head`` set) names two encoders and a head. Unless ``model.head.checkpoint``
names a trained head, the workflow trains one: rule ``embed`` encodes each labelled song of the sample
sheet once per encoder config, and rule ``train_head`` trains the head on those embeddings. Keys follow
``DESIGN.md`` section 3: an embedding's key is its encoder's settings, the encoder's identity (the content
hash of a local folder, the revision of a cached hub model:
:func:`~musiclime.models.fusion.encoder_identity.encoder_identity`) and the sample rate, for audio; a
head's key is both encoder keys, the head settings and the labelled songs. So changing ``explain.*``
re-embeds and retrains nothing, changing the head re-embeds nothing, and a checkpoint saved over a
local encoder folder (or a new revision of a hub model in the cache) re-embeds and retrains, and the
predictions of the new head are made again. The point's ``model.encoder_identity`` (set here) carries the
identities into the model key too, so the predictions of a given ``model.head.checkpoint`` are made
again when an encoder changes (with a warning: that head was trained on the old encoder's embeddings).

Encoder folders the workflow builds (``model.tiny_encoders``: rule ``tiny_encoder``) are a job's
outputs, not there when the plan is made: they are not hashed but are inputs of the ``embed`` jobs
and of every job that loads the detector, so a rebuilt folder re-runs them by its modification time.
A ``_target_`` encoder has no identity here (its weights are its factory's business).

:func:`resolve_detector` fills the head's folder into the point's model config (the ``head_dir`` of its
factories, ``requires``) before the stage keys are computed, so the model key changes with the head.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..common.errors import ConfigError
from ..common.file_hashes import FileHashes
from ..common.sample_sheet import Song
from .hydra_configs import short_hash

log = logging.getLogger(__name__)

#: The head's files, in the order the rule ``train_head`` lists its outputs.
HEAD_FILES = ("head.pt", "head.json", "metrics.json")
#: Keys of ``model.head`` that are not :class:`musiclime.models.fusion.head.HeadConfig` fields.
SPLIT_KEYS = ("checkpoint", "validation", "test")


def is_fusion(model: dict) -> bool:
    """True for a fusion model config (``model.head`` set)."""
    return model.get("head") is not None


def encoder_slice(model: dict, modality: str, sample_rate: int, identity: dict | None = None) -> dict:
    """What decides one song's embedding by the ``modality`` encoder: its settings, its ``identity`` (left
    out when unknown, :func:`~musiclime.models.fusion.encoder_identity.encoder_identity`) and, for
    ``audio``, the sample rate."""
    slice_ = {"modality": modality, "settings": dict(model[modality])}
    if modality == "audio":
        slice_["sample_rate"] = int(sample_rate)
    if identity is not None:
        slice_["identity"] = dict(identity)
    return slice_


def encoder_key(slice_: dict) -> str:
    """``<modality>-<folder or hub name tail>-<hash>``, e.g. ``audio-tiny-ast-3fa2c1d0``."""
    settings = slice_["settings"]
    name = str(settings.get("encoder") or settings.get("_target_") or "encoder").rstrip("/")
    tail = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name.replace("\\", "/").split("/")[-1])
    return f"{slice_['modality']}-{tail[:40] or 'encoder'}-{short_hash(slice_)}"


@dataclass
class DetectorPlan:
    """The embeddings and heads of every fusion point.

    Attributes:
        encoders: encoder key -> its slice (:func:`encoder_slice`).
        heads: head key -> its slice: ``audio``/``lyrics`` (encoder keys), ``head`` (settings),
            ``songs`` (``[song_id, label, split]`` rows it trains on), ``shuffle_labels``.
        tiny: encoder folder -> tiny kind (``model.tiny_encoders``): folders the workflow builds.
        hashes: the file hash cache the encoder folders' fingerprints come from (read on first use).
    """

    results: str
    encoders: dict[str, dict] = field(default_factory=dict)
    heads: dict[str, dict] = field(default_factory=dict)
    tiny: dict[str, str] = field(default_factory=dict)
    hashes: FileHashes | None = field(default=None, repr=False)

    def head_dir(self, key: str) -> str:
        return f"{self.results}/detectors/{key}"

    def head_files(self, key: str) -> list[str]:
        return [f"{self.head_dir(key)}/{name}" for name in HEAD_FILES]

    def embedding(self, song: str, encoder: str) -> str:
        return f"{self.results}/songs/{song}/embeddings/{encoder}/embedding.npz"

    def resolve(self, config: dict, training: list[Song]) -> None:
        """Fill the head folder into a fusion point's ``config["model"]`` (in place); register its jobs."""
        model = config["model"]
        folders = []
        for modality, kind in (model.get("tiny_encoders") or {}).items():
            folders.append(str(model[modality]["encoder"]))
            self.tiny[folders[-1]] = kind
        identities = {m: self.identity(model[m]) for m in ("audio", "lyrics")}
        if any(identities.values()):
            model["encoder_identity"] = identities
        checkpoint = model["head"].get("checkpoint")
        if checkpoint:
            warn_if_head_encoders_changed(str(checkpoint), identities)
            _fill(model, str(checkpoint), shuffled=None)
            _require(model, folders)
            return
        rows = labelled_songs(training)
        keys = {m: self._register_encoder(encoder_slice(model, m, config["data"]["sample_rate"], identities[m]))
                for m in ("audio", "lyrics")}
        trained = self._register_head(model, keys, rows, shuffle=False)
        shuffled = None
        if model.get("shuffled_labels_predict_fn") is not None:
            shuffled = self._register_head(model, keys, rows, shuffle=True)
        _fill(model, self.head_dir(trained), shuffled=None if shuffled is None else self.head_dir(shuffled))
        _require(model, folders)

    def identity(self, settings: dict) -> dict | None:
        """The identity of the encoder of ``settings``; ``None`` for a folder the workflow builds (not there
        yet: it is an input of the jobs instead), a ``_target_`` factory, or an encoder not found (the
        plan's checks name it). Folder hashes are kept in :attr:`hashes` (saved at once)."""
        from ..models.fusion.encoder_identity import encoder_identity  # deferred: huggingface_hub

        if str(settings.get("encoder")) in self.tiny:
            return None
        if self.hashes is None:
            self.hashes = FileHashes()
        identity = encoder_identity(settings, self.hashes)
        self.hashes.save()
        return identity

    def _register_encoder(self, slice_: dict) -> str:
        key = encoder_key(slice_)
        self.encoders[key] = slice_
        return key

    def _register_head(self, model: dict, encoders: dict, rows: list[list], shuffle: bool) -> str:
        head = dict(model["head"])
        head.pop("checkpoint", None)
        slice_ = {"audio": encoders["audio"], "lyrics": encoders["lyrics"], "head": head, "songs": rows,
                  "shuffle_labels": shuffle}
        key = f"{model['name']}-{'shuffled-' if shuffle else ''}{short_hash(slice_)}"
        self.heads[key] = slice_
        return key

    def encoder_songs(self, encoder: str) -> list[str]:
        """The song ids an encoder embeds: every song of the heads that use it, in their order, each once."""
        ids = {}
        for head in self.heads.values():
            if encoder in (head["audio"], head["lyrics"]):
                ids.update((song, None) for song, _, _ in head["songs"])
        return list(ids)

    def embedding_files(self, head_key: str, modality: str) -> list[str]:
        """The embeddings one head trains on, in its songs' order."""
        head = self.heads[head_key]
        return [self.embedding(song, head[modality]) for song, _, _ in head["songs"]]


def labelled_songs(training: list[Song]) -> list[list]:
    """``[song_id, label, split]`` of every labelled song; a sheet without labels is refused."""
    rows = [[s.song_id, int(s.label), s.split] for s in training if s.label is not None]
    if not rows:
        raise ConfigError("model.head.checkpoint is null, so the workflow trains the fusion head on the sample "
                          "sheet's labels, but no song has a label (column `label`: 0 = AI-Generated, "
                          "1 = Human-Composed); label the songs or set model.head.checkpoint to a trained head")
    return rows


def _fill(model: dict, head_dir: str, shuffled: str | None) -> None:
    files = [f"{head_dir}/{name}" for name in HEAD_FILES[:2]]
    for factory in ("predict_fn", "randomized_predict_fn"):
        if model.get(factory) is not None:
            model[factory] = {**model[factory], "head_dir": head_dir}
    model["requires"] = list(model.get("requires") or []) + [f for f in files if f not in (model.get("requires") or [])]
    if model.get("shuffled_labels_predict_fn") is not None:
        if shuffled is None and not model["shuffled_labels_predict_fn"].get("head_dir"):
            model["shuffled_labels_predict_fn"] = None  # a given checkpoint has no shuffled-labels twin
            return
        if shuffled is not None:
            model["shuffled_labels_predict_fn"] = {**model["shuffled_labels_predict_fn"], "head_dir": shuffled}
            model["shuffled_labels_requires"] = [f"{shuffled}/{name}" for name in HEAD_FILES[:2]]


def _require(model: dict, folders: list[str]) -> None:
    """Make the encoder ``folders`` the workflow builds inputs of every job that loads the detector."""
    for key in ("requires", "shuffled_labels_requires"):
        if key == "requires" or model.get("shuffled_labels_predict_fn") is not None:
            model[key] = list(model.get(key) or []) + [f for f in folders if f not in (model.get(key) or [])]


def warn_if_head_encoders_changed(checkpoint: str, identities: dict[str, dict | None]) -> None:
    """Warn when a given head's ``head.json`` records encoder identities that differ from today's: the head
    was trained on other embeddings than the encoders now give (its scores mean little)."""
    from ..models.fusion.encoder_identity import describe_identity

    try:
        description = json.loads((Path(checkpoint) / HEAD_FILES[1]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # a missing or unreadable head.json is check_head_checkpoint's (or load_head's) to name
    recorded = description.get("encoders") if isinstance(description, dict) else None
    for modality, identity in identities.items():
        entry = recorded.get(modality) if isinstance(recorded, dict) else None
        then = entry.get("identity") if isinstance(entry, dict) else None
        if then and identity and then != identity:
            log.warning("config key model.head.checkpoint=%s: its head was trained on embeddings of the model.%s "
                        "encoder with %s (%s), which now has %s; its predictions are made again, but by a head "
                        "trained for another encoder: retrain it (model.head.checkpoint=null)", checkpoint, modality,
                        describe_identity(then), Path(checkpoint) / HEAD_FILES[1], describe_identity(identity))


def check_head_checkpoint(model: dict) -> None:
    """A given ``model.head.checkpoint`` must be a folder holding ``head.pt`` and ``head.json``."""
    checkpoint = model["head"].get("checkpoint")
    if checkpoint and not all((Path(checkpoint) / name).is_file() for name in HEAD_FILES[:2]):
        raise ConfigError(f"config key model.head.checkpoint: {checkpoint} is not a trained head folder (it needs "
                          f"{HEAD_FILES[0]} and {HEAD_FILES[1]}); set it to null to let the workflow train one")


def check_detector(model: dict, training: list[Song], tiny: dict[str, str], sheet: str = "the sample sheet") -> None:
    """Before any job: the encoders can be loaded here (a folder that exists, or a hub name in the local
    cache; folders the workflow builds excepted), the head settings are known, and the labelled songs can be
    split for training (two classes, enough songs of each). Errors name the config key or the songs."""
    from ..models.fusion.head import HeadConfig, HeadError
    from ..models.fusion.loading import check_encoder_available
    from ..models.fusion.splits import split_songs

    for modality in ("audio", "lyrics"):
        settings = model[modality]
        if str(settings.get("encoder")) not in tiny:
            check_encoder_available(settings, f"model.{modality}")
    head = model["head"]
    if head.get("checkpoint"):
        check_head_checkpoint(model)
        return
    HeadConfig.from_dict({k: v for k, v in head.items() if k not in SPLIT_KEYS})
    rows = labelled_songs(training)
    splits = [split for _, _, split in rows]
    try:
        split_songs([label for _, label, _ in rows], [song for song, _, _ in rows], seed=int(head.get("seed", 0)),
                    validation=float(head["validation"]), test=float(head["test"]),
                    column=splits if any(splits) else None)
    except HeadError as exc:
        raise ConfigError(f"{sheet}: the workflow trains the fusion head on its labelled songs "
                          f"(model.head.checkpoint=null), but {exc}") from exc
