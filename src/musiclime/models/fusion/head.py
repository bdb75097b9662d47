"""The fusion head: standardised (optionally PCA-reduced) encoder embeddings -> two class logits.

Per modality (``audio``, ``lyrics``) a :class:`ModalityScaler` standardises the raw embedding with
the training split's mean and standard deviation and optionally projects it on the training split's
first principal components; both are module buffers, so :meth:`FusionHead.forward` takes raw encoder
embeddings. The scaled modalities are concatenated and fed to an MLP (Linear-ReLU-Dropout per hidden
size, then Linear to 2; the seed system's 512-256-128 head) or to one Linear layer (``kind: logreg``,
a linear probe as in the MusicLIME paper). Class 0 = AI-Generated, 1 = Human-Composed.

A head folder holds ``head.pt`` (the ``state_dict``) and ``head.json`` (config, input and PCA sizes,
modalities, label names; the encoders its training embeddings came from, when the workflow trained it),
written by :func:`save_head` and read by :func:`load_head`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...common.atomic_io import atomic_path, write_json
from ...common.errors import MusicLimeError
from ..demo_classifier import LABEL_NAMES

log = logging.getLogger(__name__)

MODALITIES = ("audio", "lyrics")
WEIGHTS_FILE, DESCRIPTION_FILE = "head.pt", "head.json"
HEAD_FORMAT = 1


class HeadError(MusicLimeError):
    """A head setting, split, training input or head folder is unusable; the message names the key, song or folder."""


@dataclass
class HeadConfig:
    """Hyperparameters of a :class:`FusionHead` and its training (config ``model.head``).

    ``pca_audio`` / ``pca_lyrics``: number of principal components kept of that modality's
    standardised embedding (None = no PCA), capped at ``n_train - 1`` and at the embedding size.
    ``epochs`` is the maximum; training stops after ``patience`` epochs without a lower validation loss.
    """

    kind: str = "mlp"
    hidden: tuple = (512, 256, 128)
    dropout: tuple = (0.5, 0.4, 0.3)
    weight_decay: float = 1e-4
    learning_rate: float = 1e-3
    epochs: int = 200
    patience: int = 20
    batch_size: int = 32
    pca_audio: int | None = None
    pca_lyrics: int | None = None
    seed: int = 0

    def __post_init__(self):
        for key in ("hidden", "dropout"):  # lists (YAML, JSON) become tuples: configs compare and hash alike
            value = getattr(self, key)
            if isinstance(value, list):
                setattr(self, key, tuple(value))

    @classmethod
    def from_dict(cls, data: dict | None, setting: str = "model.head") -> "HeadConfig":
        """Build and check a config from a plain dict (None = defaults).

        Unknown keys and bad values raise :class:`HeadError` naming ``<setting>.<key>``.
        """
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            keys = ", ".join(f"{setting}.{key}" for key in unknown)
            raise HeadError(f"unknown head setting {keys}; known keys: {sorted(known)}")
        config = cls(**data)
        config.check(setting)
        return config

    def check(self, setting: str = "model.head") -> None:
        """Raise :class:`HeadError` naming ``<setting>.<key>`` for a value out of range or of the wrong type."""
        def bad(key, why):
            raise HeadError(f"{setting}.{key}={getattr(self, key)!r}: {why}")

        if self.kind not in ("mlp", "logreg"):
            bad("kind", "must be 'mlp' or 'logreg'")
        if not isinstance(self.hidden, tuple) or not all(_is_int(h) and h >= 1 for h in self.hidden):
            bad("hidden", "must be a list of positive layer sizes")
        if not isinstance(self.dropout, tuple) or not all(_is_number(p) and 0 <= p < 1 for p in self.dropout):
            bad("dropout", "must be a list of probabilities in [0, 1)")
        if self.kind == "mlp" and len(self.dropout) != len(self.hidden):
            bad("dropout", f"needs one probability per hidden layer ({len(self.hidden)})")
        for key in ("epochs", "patience", "batch_size"):
            if not _is_int(getattr(self, key)) or getattr(self, key) < 1:
                bad(key, "must be a positive integer")
        if not _is_number(self.learning_rate) or self.learning_rate <= 0:
            bad("learning_rate", "must be a positive number")
        if not _is_number(self.weight_decay) or self.weight_decay < 0:
            bad("weight_decay", "must be a number >= 0")
        for key in ("pca_audio", "pca_lyrics"):
            value = getattr(self, key)
            if value is not None and (not _is_int(value) or value < 1):
                bad(key, "must be null or a positive number of components")
        if not _is_int(self.seed):
            bad("seed", "must be an integer")

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples as lists) that :meth:`from_dict` reads back."""
        data = asdict(self)
        data["hidden"], data["dropout"] = list(self.hidden), list(self.dropout)
        return data


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


class ModalityScaler(nn.Module):
    """Standardise ``(batch, dim)`` embeddings, then optionally project on PCA components -> ``(batch, out_dim)``.

    Buffers: ``mean``, ``std`` ``(dim,)``; with PCA also ``pca_mean`` ``(dim,)`` and
    ``pca_components`` ``(n_components, dim)`` (rows: principal axes of the standardised training
    embeddings). Built empty (identity) and filled by :func:`fit_modality_scaler`.
    """

    def __init__(self, dim: int, n_components: int | None = None):
        super().__init__()
        self.dim, self.n_components = int(dim), n_components
        self.register_buffer("mean", torch.zeros(self.dim))
        self.register_buffer("std", torch.ones(self.dim))
        if n_components is not None:
            self.register_buffer("pca_mean", torch.zeros(self.dim))
            self.register_buffer("pca_components", torch.zeros(int(n_components), self.dim))

    @property
    def out_dim(self) -> int:
        return self.dim if self.n_components is None else int(self.n_components)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        scaled = (features - self.mean) / self.std
        if self.n_components is None:
            return scaled
        return (scaled - self.pca_mean) @ self.pca_components.T


def fit_modality_scaler(features: np.ndarray, n_components: int | None = None,
                        modality: str = "audio") -> ModalityScaler:
    """A :class:`ModalityScaler` fitted on training embeddings ``(n_train, dim)``.

    Constant dimensions (std < 1e-8) get std 1. ``n_components`` is capped at ``n_train - 1`` and
    ``dim`` (with a log line); PCA is an SVD of the centred standardised embeddings (float64).
    """
    features = np.asarray(features, dtype=np.float64)
    n_train, dim = features.shape
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    std = np.where(std < 1e-8, 1.0, std)
    if n_components is not None:
        cap = max(1, min(dim, n_train - 1))
        if n_components > cap:
            log.info("PCA of %s: %d components asked, %d kept (n_train - 1 = %d, dim = %d)",
                     modality, n_components, cap, n_train - 1, dim)
            n_components = cap
    scaler = ModalityScaler(dim, n_components)
    scaler.mean.copy_(torch.from_numpy(mean))
    scaler.std.copy_(torch.from_numpy(std))
    if n_components is not None:
        scaled = (features - mean) / std
        pca_mean = scaled.mean(axis=0)
        _, _, vt = np.linalg.svd(scaled - pca_mean, full_matrices=False)
        scaler.pca_mean.copy_(torch.from_numpy(pca_mean))
        scaler.pca_components.copy_(torch.from_numpy(vt[:n_components]))
    return scaler


def build_network(in_dim: int, config: HeadConfig) -> nn.Sequential:
    """The trainable part: ``(batch, in_dim)`` -> logits ``(batch, 2)`` (MLP or one Linear, per ``config.kind``)."""
    if config.kind == "logreg":
        return nn.Sequential(nn.Linear(in_dim, 2))
    layers, width = [], in_dim
    for size, p in zip(config.hidden, config.dropout):
        layers += [nn.Linear(width, int(size)), nn.ReLU(), nn.Dropout(float(p))]
        width = int(size)
    layers.append(nn.Linear(width, 2))
    return nn.Sequential(*layers)


class FusionHead(nn.Module):
    """Raw encoder embeddings -> logits ``(batch, 2)`` (0 = AI-Generated, 1 = Human-Composed).

    ``forward(audio (B, d_a), lyrics (B, d_l))``; the tensor of a modality not in ``modalities`` is
    ignored and may be None. Inputs are cast to float32 and moved to the head's device.

    Attributes:
        config: the :class:`HeadConfig`.
        modalities: ``("audio", "lyrics")``, ``("audio",)`` or ``("lyrics",)``.
        scalers: ``{modality: ModalityScaler}`` (buffers fitted on the training split).
        network: the MLP or linear layer over the concatenated scaled modalities.
        label_names: class names, index = class.
    """

    label_names = LABEL_NAMES

    def __init__(self, config: HeadConfig, scalers: dict[str, ModalityScaler]):
        super().__init__()
        modalities = tuple(m for m in MODALITIES if m in scalers)
        if not modalities or set(scalers) - set(MODALITIES):
            raise HeadError(f"a fusion head needs scalers for some of {MODALITIES}, got {sorted(scalers)}")
        self.config, self.modalities = config, modalities
        self.scalers = nn.ModuleDict({m: scalers[m] for m in modalities})
        self.network = build_network(sum(s.out_dim for s in self.scalers.values()), config)

    @property
    def input_dims(self) -> dict[str, int]:
        """Raw embedding size per used modality."""
        return {m: self.scalers[m].dim for m in self.modalities}

    def forward(self, audio: torch.Tensor | None, lyrics: torch.Tensor | None) -> torch.Tensor:
        inputs = {"audio": audio, "lyrics": lyrics}
        device = self.scalers[self.modalities[0]].mean.device
        parts = [self.scalers[m](self._checked(inputs[m], m).to(device=device, dtype=torch.float32))
                 for m in self.modalities]
        batch = {len(p) for p in parts}
        if len(batch) > 1:
            raise HeadError(f"audio and lyrics embeddings differ in batch size: {[len(p) for p in parts]}")
        return self.network(torch.cat(parts, dim=1))

    def _checked(self, tensor, modality: str) -> torch.Tensor:
        if tensor is None:
            raise HeadError(f"the head uses the {modality} modality but got no {modality} embeddings")
        tensor = torch.as_tensor(tensor)
        if tensor.ndim != 2 or tensor.shape[1] != self.scalers[modality].dim:
            raise HeadError(f"{modality} embeddings must be (batch, {self.scalers[modality].dim}), "
                            f"got {tuple(tensor.shape)}")
        return tensor

    def probabilities(self, audio, lyrics) -> torch.Tensor:
        """Softmax class probabilities ``(B, 2)`` float32 on the head's device (eval mode, no grad).

        ``audio`` / ``lyrics`` may be torch tensors or NumPy arrays.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return torch.softmax(self(audio, lyrics), dim=1)
        finally:
            self.train(was_training)


def save_head(head: FusionHead, folder: str | os.PathLike, encoders: dict | None = None) -> list[Path]:
    """Write ``folder/head.pt`` (state_dict) and ``folder/head.json`` atomically; return both paths.

    ``encoders``: what the head's training embeddings came from (per modality ``encoder``, ``key``,
    ``identity``), recorded in ``head.json`` (a later plan warns when a given head's encoders changed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    state = {key: value.detach().cpu() for key, value in head.state_dict().items()}
    with atomic_path(weights) as tmp:
        torch.save(state, tmp)
    description = write_json(folder / DESCRIPTION_FILE, {
        "format": HEAD_FORMAT,
        "config": head.config.to_dict(),
        "modalities": list(head.modalities),
        "input_dims": head.input_dims,
        "pca_components": {m: head.scalers[m].n_components for m in head.modalities},
        "label_names": list(head.label_names),
        **({"encoders": encoders} if encoders is not None else {}),
    })
    return [weights, description]


def load_head(folder: str | os.PathLike, device: str = "cpu") -> FusionHead:
    """The :class:`FusionHead` saved in ``folder`` by :func:`save_head`, in eval mode on ``device``.

    Raises :class:`HeadError` naming the folder when it, ``head.json`` or ``head.pt`` is missing or corrupt.
    """
    folder = Path(folder)
    weights, description = folder / WEIGHTS_FILE, folder / DESCRIPTION_FILE
    if not folder.is_dir():
        raise HeadError(f"head folder {folder} does not exist")
    for path in (description, weights):
        if not path.is_file():
            raise HeadError(f"head folder {folder} has no {path.name}")
    try:
        info = json.loads(description.read_text(encoding="utf-8"))
        config = HeadConfig.from_dict(info["config"], setting=f"{description}: config")
        scalers = {m: ModalityScaler(int(info["input_dims"][m]), info["pca_components"][m])
                   for m in info["modalities"]}
        head = FusionHead(config, scalers)
    except (ValueError, KeyError, TypeError, AttributeError, HeadError) as error:
        raise HeadError(f"head folder {folder}: {DESCRIPTION_FILE} is corrupt ({error})") from error
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        head.load_state_dict(state)
    except Exception as error:  # torch raises RuntimeError, pickle/zip errors, EOFError ... on a bad file
        raise HeadError(f"head folder {folder}: {WEIGHTS_FILE} is corrupt or does not match "
                        f"{DESCRIPTION_FILE} ({type(error).__name__}: {error})") from error
    return head.to(device).eval()


def reinitialise_head(head: FusionHead, seed: int) -> FusionHead:
    """A copy of ``head`` with freshly initialised network weights (``torch.manual_seed(seed)``), scalers kept.

    The model-randomization sanity check: same inputs and preprocessing, no learned decision.
    The caller's global torch RNG state is left unchanged.
    """
    fresh = copy.deepcopy(head)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for layer in fresh.network.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
    return fresh
