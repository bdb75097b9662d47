"""Stages of a fusion detector (``model=fusion``): ``embed`` one song by one encoder, ``train_head`` on the
embeddings, ``build_tiny_encoder`` (the offline demo's random encoders).

An embedding is the song's full input (its mix at ``data.sample_rate``, its cleaned lyrics): the input an
explanation's all-on mask row gives the model. Embeddings are cached per encoder config, so a new head
reuses them and only the head is trained again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ...common.artifacts import load_arrays, save_arrays, write_config
from ...common.audio import load_audio
from ...common.devices import resolve_device
from ...common.errors import PredictionError
from ...factorization.lyrics import make_text_factorization, read_lyrics_file
from ..detector_plan import SPLIT_KEYS

log = logging.getLogger(__name__)


def song_input(song_id: str, path: str | Path, encoder: dict):
    """What the encoder of slice ``encoder`` reads of one song: its mono mix ``(1, nb_timesteps)`` float32 at
    the slice's sample rate, or its lyrics as one cleaned text (every line, no ``[Chorus]`` tags)."""
    if encoder["modality"] == "audio":
        audio, _ = load_audio(path, encoder["sample_rate"])
        return audio[None, :]
    return [make_text_factorization(read_lyrics_file(path, song_id), "line").original()]


def embed(song_id: str, input_path: str | Path, encoder: dict, device: str, out_embedding: str | Path,
          out_config: str | Path) -> Path:
    """Encode one song's audio or lyrics (``encoder["modality"]``) with the encoder of ``encoder["settings"]``.

    Writes ``embedding`` ``(dim,)`` float32 into ``out_embedding`` (with the song, modality, encoder and the
    encoder's identity, ``encoder["identity"]``: a folder's content hash or a hub revision, ``None`` when
    unknown, in its metadata) and the slice into ``out_config``.

    Raises:
        PredictionError: the encoder returned NaN or infinity for this song (the message names it).
    """
    from ...models.fusion.detector import cached_encoder  # deferred: torch and transformers

    modality, settings = encoder["modality"], encoder["settings"]
    resolved = resolve_device(device, f"the {modality} encoder", key="compute.device")
    model = cached_encoder(modality, settings, resolved)
    inputs = song_input(song_id, input_path, encoder)
    output = model.encode(inputs, encoder["sample_rate"]) if modality == "audio" else model.encode(inputs)
    embedding = output.detach().float().cpu().numpy()[0]
    if not np.isfinite(embedding).all():
        raise PredictionError(f"song {song_id!r}: the {modality} encoder {settings.get('encoder')!r} returned NaN or "
                              f"infinite values for {input_path} (config key model.{modality}); nothing was saved")
    save_arrays(out_embedding, {"song_id": song_id, "modality": modality, "encoder": settings.get("encoder"),
                                "encoder_identity": encoder.get("identity"), "dim": int(embedding.shape[0])},
                embedding=embedding.astype(np.float32))
    write_config(out_config, {"song_id": song_id, "encoder": encoder})
    log.info("%s: %s embedding of %d values", song_id, modality, embedding.shape[0])
    return Path(out_embedding)


def read_embeddings(paths: list[str]) -> tuple[np.ndarray, dict]:
    """``(n_songs, dim)`` float32 of the ``embedding.npz`` files, in order, and the encoder they came from:
    ``{"encoder": name, "identity": content hash or hub revision or None}`` (of the first file: the files of
    one embedding key share their encoder)."""
    loaded = [load_arrays(path) for path in paths]
    meta = loaded[0][0] if loaded else {}
    encoder = {"encoder": meta.get("encoder"), "identity": meta.get("encoder_identity")}
    return np.stack([arrays["embedding"] for _, arrays in loaded]).astype(np.float32), encoder


def train_head(audio_embeddings: list[str], lyrics_embeddings: list[str], detector: dict, out_head: str | Path,
               out_config: str | Path) -> Path:
    """Train a fusion head on the songs' embeddings (``detector``: a head slice of
    :class:`musiclime.pipeline.detector_plan.DetectorPlan`) into the folder of ``out_head``.

    Writes ``head.pt``, ``head.json`` and ``metrics.json`` (test accuracy, balanced accuracy, ROC AUC,
    confusion matrix; the audio-only and lyrics-only heads' scores; the songs of each split) and
    ``config.yaml``. ``head.json`` and ``metrics.json`` record the encoders the embeddings came from
    (``encoders``: per modality its name, embedding key and identity), so a head names what it was trained on.
    """
    from ...models.fusion.head import HeadConfig  # deferred: torch
    from ...models.fusion.head_training import train_detector_head

    settings = detector["head"]
    songs = detector["songs"]
    splits = [split for _, _, split in songs]
    config = HeadConfig.from_dict({k: v for k, v in settings.items() if k not in SPLIT_KEYS})
    audio, audio_encoder = read_embeddings(audio_embeddings)
    lyrics, lyrics_encoder = read_embeddings(lyrics_embeddings)
    encoders = {"audio": {**audio_encoder, "key": detector["audio"]},
                "lyrics": {**lyrics_encoder, "key": detector["lyrics"]}}
    metrics = train_detector_head(audio, lyrics, np.array([label for _, label, _ in songs]),
                                  [song for song, _, _ in songs], config, Path(out_head).parent,
                                  split_column=splits if any(splits) else None,
                                  validation=float(settings["validation"]), test=float(settings["test"]),
                                  shuffle_labels=bool(detector["shuffle_labels"]), encoders=encoders)
    write_config(out_config, {"detector": detector})
    test = metrics.get("test", {})
    log.info("fusion head%s: test accuracy %s, balanced accuracy %s, ROC AUC %s",
             " (shuffled labels)" if detector["shuffle_labels"] else "", test.get("accuracy"),
             test.get("balanced_accuracy"), test.get("roc_auc"))
    return Path(out_head)


def build_tiny_encoder(kind: str, out_folder: str | Path, seed: int = 0) -> Path:
    """Build the tiny random encoder ``kind`` (:func:`musiclime.models.fusion.tiny.build_tiny_encoder`) into
    ``out_folder``: built aside and moved in whole (a folder Snakemake made beforehand is replaced)."""
    from ...models.fusion.tiny import build_tiny_encoder as build  # deferred: transformers

    return build(kind, out_folder, seed=seed)


# Encoders run in warm model workers, which keep them for the next song (and for the detector's predict jobs).
embed.worker_pool = "models"
