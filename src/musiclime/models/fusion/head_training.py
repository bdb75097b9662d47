"""Training and evaluation of a :class:`~musiclime.models.fusion.head.FusionHead` on precomputed embeddings.

:func:`train_head` fits the scalers (and PCA) on the training split, then the network with AdamW and
cross-entropy, mini-batches in a seeded order, early stopping on the validation loss (the best
epoch's weights are kept). On CPU the result is deterministic for a given ``config.seed``.
:func:`train_detector_head` does the whole job for a labelled song set: split, fusion head plus
audio-only and lyrics-only heads, files ``head.pt``, ``head.json`` and ``metrics.json``.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ...common.atomic_io import write_json
from .head import LABEL_NAMES, MODALITIES, FusionHead, HeadConfig, HeadError, fit_modality_scaler, save_head
from .splits import SPLITS, split_songs

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


def train_head(audio: np.ndarray | None, lyrics: np.ndarray | None, labels: np.ndarray, split: dict,
               config: HeadConfig, modalities: Sequence[str] = MODALITIES) -> tuple[FusionHead, dict]:
    """Train a head on ``split["train"]``, early-stopped on ``split["validation"]``.

    Args:
        audio: raw audio embeddings ``(N, d_a)`` (may be None when ``"audio"`` is not in ``modalities``).
        lyrics: raw lyrics embeddings ``(N, d_l)`` (likewise).
        labels: ``(N,)`` 0 / 1.
        split: index arrays ``{"train", "validation", ...}`` into the N songs (``"test"`` is not read).
        config: hyperparameters; ``config.seed`` seeds initialisation, dropout and batch order.
        modalities: the modalities the head sees.

    Returns:
        ``(head, history)``: the head in eval mode with the best epoch's weights; history
        ``{"epochs": run, "best_epoch": 1-based, "stopped_early": bool, "train_loss": [...],
        "validation_loss": [...]}`` (mean cross-entropy per epoch, nats). The caller's global torch
        RNG state is left unchanged.
    """
    config.check()
    modalities = tuple(modalities)
    features = _checked_features({"audio": audio, "lyrics": lyrics}, labels, modalities)
    labels = np.asarray(labels, dtype=np.int64)
    train, val = (np.asarray(split.get(name, ()), dtype=np.int64) for name in ("train", "validation"))
    if len(train) == 0 or len(val) == 0:
        raise HeadError(f"training a head needs train and validation songs, got {len(train)} and {len(val)}")
    scalers = {m: fit_modality_scaler(features[m][train], getattr(config, f"pca_{m}"), m) for m in modalities}
    tensors = {m: torch.as_tensor(features[m], dtype=torch.float32) for m in MODALITIES if m in features}
    targets = torch.as_tensor(labels)

    def batch(idx):
        return tuple(tensors[m][idx] if m in tensors else None for m in MODALITIES)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(config.seed))
        head = FusionHead(config, scalers)
        order = torch.Generator().manual_seed(int(config.seed))
        optimiser = torch.optim.AdamW(head.network.parameters(), lr=config.learning_rate,
                                      weight_decay=config.weight_decay)
        loss_fn = nn.CrossEntropyLoss()
        train_t, val_t = torch.as_tensor(train), torch.as_tensor(val)
        history = {"epochs": 0, "best_epoch": 0, "stopped_early": False, "train_loss": [], "validation_loss": []}
        best_loss, best_state, waited = float("inf"), None, 0
        for epoch in range(1, config.epochs + 1):
            head.train()
            total = 0.0
            shuffled = train_t[torch.randperm(len(train), generator=order)]
            for start in range(0, len(train), config.batch_size):
                chunk = shuffled[start:start + config.batch_size]
                optimiser.zero_grad()
                loss = loss_fn(head(*batch(chunk)), targets[chunk])
                loss.backward()
                optimiser.step()
                total += loss.item() * len(chunk)
            val_loss = _loss(head, batch(val_t), targets[val_t], loss_fn)
            history["train_loss"].append(total / len(train))
            history["validation_loss"].append(val_loss)
            history["epochs"] = epoch
            if val_loss < best_loss - 1e-7:
                best_loss, best_state, waited = val_loss, copy.deepcopy(head.state_dict()), 0
                history["best_epoch"] = epoch
            else:
                waited += 1
                if waited >= config.patience:
                    history["stopped_early"] = epoch < config.epochs
                    break
        head.load_state_dict(best_state)
    log.info("%s head (%s): %d epochs, best epoch %d, validation loss %.4f", config.kind, "+".join(modalities),
             history["epochs"], history["best_epoch"], best_loss)
    return head.eval(), history


def _loss(head: FusionHead, inputs, targets: torch.Tensor, loss_fn) -> float:
    head.eval()
    with torch.no_grad():
        return float(loss_fn(head(*inputs), targets))


def _checked_features(features: dict, labels, modalities: tuple) -> dict[str, np.ndarray]:
    """``{modality: (N, d) float array}`` for the used modalities; HeadError naming the modality and row."""
    if not modalities or set(modalities) - set(MODALITIES):
        raise HeadError(f"modalities must be a non-empty subset of {MODALITIES}, got {modalities}")
    n = len(labels)
    checked = {}
    for m in modalities:
        if features[m] is None:
            raise HeadError(f"the head uses the {m} modality but got no {m} embeddings")
        array = np.asarray(features[m], dtype=np.float64)
        if array.ndim != 2 or len(array) != n:
            raise HeadError(f"{m} embeddings must be (N={n}, dim), got {array.shape}")
        bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
        if len(bad):
            raise HeadError(f"{m} embeddings of {len(bad)} songs are not finite (rows {bad[:5].tolist()})")
        checked[m] = array
    return checked


def evaluate_head(head: FusionHead, audio, lyrics, labels) -> dict:
    """Classification metrics of ``head`` on ``N`` songs (class 1 = Human-Composed is the positive class).

    Returns ``{"accuracy", "balanced_accuracy", "roc_auc" (None when one class is present),
    "confusion_matrix": [[tn, fp], [fn, tp]], "n"}``.
    """
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return {"accuracy": None, "balanced_accuracy": None, "roc_auc": None,
                "confusion_matrix": [[0, 0], [0, 0]], "n": 0}
    probs = head.probabilities(audio, lyrics).double().cpu().numpy()
    predicted = probs.argmax(axis=1)
    matrix = [[int(np.sum((labels == t) & (predicted == p))) for p in (0, 1)] for t in (0, 1)]
    recalls = [matrix[c][c] / sum(matrix[c]) for c in (0, 1) if sum(matrix[c])]
    both = len(np.unique(labels)) == 2
    return {"accuracy": float(np.mean(predicted == labels)),
            "balanced_accuracy": float(np.mean(recalls)),
            "roc_auc": float(roc_auc_score(labels, probs[:, 1])) if both else None,
            "confusion_matrix": matrix, "n": int(len(labels))}


def _rows(array, idx):
    return None if array is None else np.asarray(array)[idx]


def train_detector_head(audio: np.ndarray, lyrics: np.ndarray, labels, song_ids: Sequence[str], config: HeadConfig,
                        out_dir: str | os.PathLike, split_column: Sequence[str | None] | None = None,
                        validation: float = 0.15, test: float = 0.15, shuffle_labels: bool = False,
                        encoders: dict | None = None) -> dict:
    """Split the songs, train the fusion head and audio-only / lyrics-only heads, write the results.

    Args:
        audio, lyrics: raw embeddings ``(N, d_a)``, ``(N, d_l)`` of the N songs.
        labels: ``(N,)`` 0 (AI-Generated) / 1 (Human-Composed).
        song_ids: N song names (in ``metrics.json``'s split and in messages).
        config: the head config (``config.seed`` also seeds the split and the label shuffle).
        out_dir: gets ``head.pt`` and ``head.json`` (the fusion head) and ``metrics.json``.
        split_column, validation, test: passed to :func:`~musiclime.models.fusion.splits.split_songs`.
        shuffle_labels: the data-randomization check: labels are permuted (seeded) among the train and
            validation songs before training; test metrics use the true labels.
        encoders: what the embeddings came from, per modality (``{"encoder", "key", "identity"}``: the
            workflow's embedding key and the encoder's content hash or hub revision); recorded in
            ``head.json`` and ``metrics.json`` as ``encoders``.

    Returns:
        the metrics written to ``metrics.json``: ``{"test", "validation", "train"}`` (fusion head;
        train/validation against the labels it was trained on), ``"audio_only"`` and ``"lyrics_only"``
        (``{"test", "validation", "history"}``), ``"split"`` (song ids per split), ``"history"`` (fusion
        head), ``"shuffle_labels"``, ``"config"``, ``"modalities"``, ``"label_names"``, ``"n_songs"``,
        ``"encoders"`` (when given).
    """
    song_ids = [str(song) for song in song_ids]
    split = split_songs(labels, song_ids, config.seed, validation, test, split_column)
    true_labels = np.asarray([int(label) for label in labels], dtype=np.int64)
    trained_labels = true_labels.copy()
    if shuffle_labels:
        seen = np.concatenate([split["train"], split["validation"]])
        rng = np.random.default_rng([int(config.seed), 1])
        trained_labels[seen] = true_labels[rng.permutation(seen)]
        log.info("labels shuffled among %d train + validation songs (data randomization check)", len(seen))

    def fit_and_score(modalities):
        head, history = train_head(audio, lyrics, trained_labels, split, config, modalities)
        scores = {name: evaluate_head(head, _rows(audio, split[name]), _rows(lyrics, split[name]),
                                      (true_labels if name == "test" else trained_labels)[split[name]])
                  for name in SPLITS}
        return head, history, scores

    head, history, scores = fit_and_score(MODALITIES)
    single = {}
    for m in MODALITIES:
        _, single_history, single_scores = fit_and_score((m,))
        single[f"{m}_only"] = {"test": single_scores["test"], "validation": single_scores["validation"],
                               "history": single_history}
    metrics = {**scores, **single,
               "split": {name: [song_ids[i] for i in split[name]] for name in SPLITS},
               "history": history, "shuffle_labels": bool(shuffle_labels), "config": config.to_dict(),
               "modalities": list(head.modalities), "label_names": list(LABEL_NAMES), "n_songs": len(song_ids)}
    if encoders is not None:
        metrics["encoders"] = encoders
    out_dir = Path(out_dir)
    save_head(head, out_dir, encoders=encoders)
    write_json(out_dir / METRICS_FILE, metrics)
    log.info("detector head in %s: test accuracy fusion %.3f, audio only %.3f, lyrics only %.3f%s", out_dir,
             scores["test"]["accuracy"], single["audio_only"]["test"]["accuracy"],
             single["lyrics_only"]["test"]["accuracy"], " (labels shuffled)" if shuffle_labels else "")
    return metrics
