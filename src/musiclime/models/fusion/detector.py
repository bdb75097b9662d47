"""The fusion detector: a frozen audio encoder, a frozen lyrics encoder and a trained head, as a ``predict_fn``.

:class:`FusionDetector` is a plain ``predict_fn(texts, audios) -> (batch, 2)`` and a late-fusion model
(:mod:`musiclime.method.scoring.late_fusion`): ``encode_audio``, ``encode_lyrics`` and ``fuse`` run the two
encoders and the head apart, so an explanation encodes each distinct audio and lyrics input once and
fuses every mask row with the (cheap) head.

The encoders come from :mod:`.loading` through the process's model cache
(:data:`musiclime.common.model_cache.MODELS`), keyed by their own settings: a warm model worker loads an
encoder once for the ``embed`` jobs, the trained detector and the variants that keep it (the head-only
randomization, the shuffled-labels head).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ...common.devices import resolve_device
from ...common.errors import ConfigError, PredictionError
from ...common.model_cache import MODELS, config_key
from .head import FusionHead, load_head, reinitialise_head
from .loading import load_audio_encoder, load_lyrics_encoder

log = logging.getLogger(__name__)

LABEL_NAMES = ("AI-Generated", "Human-Composed")
#: Randomization steps (:func:`load_randomized_fusion_predict_fn`): the head alone, then the encoders too.
RANDOMIZATION_LAYERS = ("head", "all")


class FusionDetector:
    """``predict_fn(texts, audios (batch, nb_timesteps) at sample_rate Hz) -> (batch, 2)`` float64 probabilities.

    Attributes:
        audio_encoder, lyrics_encoder: the encoders (``encode`` -> ``(batch, dim)`` tensors).
        head: the :class:`FusionHead` (eval mode) on raw encoder embeddings.
        sample_rate: Hz of the audio it is given (the workflow's ``data.sample_rate``); the audio
            encoder resamples to its own rate.
        torch_device: where the encoders and the head run; compositions are made there.
        weight_files: the head's files and the encoders' (their SHA-256 go into every explanation).
        memory_bytes: the head's bytes (the encoders count in the model cache under their own keys).
    """

    labels = LABEL_NAMES

    def __init__(self, audio_encoder, lyrics_encoder, head: FusionHead, sample_rate: int, device: str = "cpu",
                 weight_files: Sequence[str | os.PathLike] = ()):
        self.audio_encoder = audio_encoder
        self.lyrics_encoder = lyrics_encoder
        self.head = head.to(device).eval()
        self.sample_rate = int(sample_rate)
        self.device = device
        self.weight_files = tuple(str(path) for path in weight_files)
        self.memory_bytes = sum(t.numel() * t.element_size() for t in list(self.head.parameters())
                                + list(self.head.buffers()))

    @property
    def torch_device(self) -> str:
        return self.device

    def encode_audio(self, audios) -> torch.Tensor:
        """Audio embeddings ``(batch, d_a)`` of ``(batch, nb_timesteps)`` float32 audio at :attr:`sample_rate`."""
        embedding = self.audio_encoder.encode(audios, self.sample_rate)
        return _finite(embedding, "the audio encoder", len(audios))

    def encode_lyrics(self, texts: list[str]) -> torch.Tensor:
        """Lyrics embeddings ``(batch, d_l)`` of ``texts``."""
        embedding = self.lyrics_encoder.encode(list(texts))
        return _finite(embedding, "the lyrics encoder", len(texts))

    def fuse(self, audio_embedding: torch.Tensor, lyrics_embedding: torch.Tensor) -> np.ndarray:
        """Probabilities ``(batch, 2)`` float64 of the head on the two embeddings."""
        with torch.no_grad():
            probs = self.head.probabilities(_on(audio_embedding, self.device), _on(lyrics_embedding, self.device))
        return probs.double().cpu().numpy()

    def __call__(self, texts: list[str], audios) -> np.ndarray:
        return self.fuse(self.encode_audio(audios), self.encode_lyrics(texts))


def _on(embedding, device: str) -> torch.Tensor:
    if not isinstance(embedding, torch.Tensor):
        embedding = torch.from_numpy(np.asarray(embedding, dtype=np.float32))
    return embedding.to(device=device, dtype=torch.float32)


def _finite(embedding, what: str, batch: int) -> torch.Tensor:
    """``embedding`` as a tensor, after checking it holds no NaN or infinity (else :class:`PredictionError`)."""
    embedding = _on(embedding, embedding.device if isinstance(embedding, torch.Tensor) else "cpu")
    if not bool(torch.isfinite(embedding).all()):
        bad = int((~torch.isfinite(embedding)).any(dim=1).sum())
        raise PredictionError(f"{what} returned NaN or infinite embeddings for {bad} of {batch} inputs "
                              "(check its weights and its input: silent audio, empty lyrics)")
    return embedding


def cached_encoders(audio: dict, lyrics: dict, device: str, randomize_seed: int | None = None) -> tuple:
    """The ``(audio, lyrics)`` encoders of these settings on ``device``, from the process's model cache.

    A randomized pair (``randomize_seed`` set) is built fresh every time: it is asked for once per variant.
    """
    if randomize_seed is not None:
        return (load_audio_encoder(audio, device, randomize_seed=randomize_seed),
                load_lyrics_encoder(lyrics, device, randomize_seed=randomize_seed))
    return (cached_encoder("audio", audio, device), cached_encoder("lyrics", lyrics, device))


def cached_encoder(modality: str, settings: dict, device: str):
    """One encoder (``modality`` ``audio`` or ``lyrics``) from the process's model cache."""
    load = load_audio_encoder if modality == "audio" else load_lyrics_encoder
    key = config_key(f"{modality}_encoder", {"settings": settings, "device": device})
    name = settings.get("encoder") or settings.get("_target_")
    return MODELS.get(key, lambda: load(settings, device), what=f"{modality} encoder {name!r}")


def _head(head_dir: str | os.PathLike | None, device: str) -> tuple[FusionHead, list[Path]]:
    if not head_dir:
        raise ConfigError("config key model.predict_fn.head_dir: no trained head; set model.head.checkpoint to a "
                          "head folder or let the workflow train one (model.head.checkpoint=null)")
    head = load_head(head_dir, "cpu")
    return head.to(device), [Path(head_dir) / "head.pt", Path(head_dir) / "head.json"]


def load_fusion_predict_fn(audio: dict, lyrics: dict, head_dir: str | None, sample_rate: int,
                           device: str = "cpu") -> FusionDetector:
    """The trained fusion detector as a ``predict_fn`` (see :class:`FusionDetector`).

    Args:
        audio, lyrics: the encoders' settings (config ``model.audio``, ``model.lyrics``).
        head_dir: folder of the trained head (``head.pt``, ``head.json``).
        sample_rate: Hz of the audio the explainer composes (``data.sample_rate``).
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (``compute.device``).
    """
    resolved = resolve_device(device, "the fusion detector", key="model.predict_fn.device")
    audio_encoder, lyrics_encoder = cached_encoders(dict(audio), dict(lyrics), resolved)
    head, head_files = _head(head_dir, resolved)
    files = head_files + list(audio_encoder.weight_files) + list(lyrics_encoder.weight_files)
    log.info("fusion detector: head %s, encoders %s and %s on %s", head_dir, audio.get("encoder"),
             lyrics.get("encoder"), resolved)
    return FusionDetector(audio_encoder, lyrics_encoder, head, sample_rate, resolved, files)


def load_randomized_fusion_predict_fn(audio: dict, lyrics: dict, head_dir: str | None, sample_rate: int,
                                      seed: int = 1, layers: str = "all", device: str = "cpu") -> FusionDetector:
    """The fusion detector with re-initialised weights, for the model-randomization checks.

    ``layers="head"``: the head's network re-drawn with ``seed`` (its standardisation and PCA, data
    statistics, kept), the trained encoders kept; ``"all"``: the encoders too, built from their configs with
    fresh weights (the end of the cascade, Adebayo et al. 2018).
    """
    if layers not in RANDOMIZATION_LAYERS:
        raise ConfigError(f"config key model.randomized_predict_fn.layers: expected one of {RANDOMIZATION_LAYERS}, "
                          f"got {layers!r}")
    resolved = resolve_device(device, "the fusion detector", key="model.predict_fn.device")
    encoders = cached_encoders(dict(audio), dict(lyrics), resolved,
                               randomize_seed=None if layers == "head" else int(seed))
    head, head_files = _head(head_dir, "cpu")
    head = reinitialise_head(head, int(seed)).to(resolved)
    log.info("fusion detector with re-initialised %s weights (seed %d) on %s", layers, seed, resolved)
    return FusionDetector(*encoders, head, sample_rate, resolved, head_files)
