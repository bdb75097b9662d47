"""The demo classifier: a small multimodal (audio + lyrics) torch model, and its ``predict_fn`` factory.

Architecture (hyperparameters in :class:`DemoModelConfig`, saved as ``config.json``):

* audio branch: mono audio at 22050 Hz ``(batch, nb_timesteps)`` -> log-mel spectrogram
  ``(batch, n_mels, n_frames)`` (computed with torch ops) -> per-band standardization, stacked with
  its frame-to-frame difference -> three conv/ReLU/max-pool blocks -> mean, max and standard
  deviation over time -> linear embedding;
* lyrics branch: lyrics text -> hashed unigram + bigram counts and line-repetition statistics
  (:func:`lyrics_features`, no downloaded tokenizer) -> linear embedding;
* fusion head: both embeddings concatenated -> linear -> two logits (0 = AI-Generated,
  1 = Human-Composed).

A weights directory holds ``model.pt`` (the ``state_dict``), ``config.json`` and ``metrics.json``
(written by :func:`musiclime.demo.training.train_demo_model`). :func:`load_demo_predict_fn` turns
it into a ``predict_fn(texts, audios) -> (batch, 2)`` probabilities.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zlib
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..common.devices import resolve_device
from ..common.errors import MusicLimeError
from ..factorization.lyrics import lyric_lines

log = logging.getLogger(__name__)

LABEL_NAMES = ("AI-Generated", "Human-Composed")
WEIGHTS_FILE, CONFIG_FILE, METRICS_FILE = "model.pt", "config.json", "metrics.json"
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
#: Number of line statistics appended to the hashed n-gram counts.
N_LINE_STATS = 6


class DemoModelError(MusicLimeError):
    """The demo model's weights directory is missing, incomplete or corrupt, or its input is malformed."""


@dataclass
class DemoModelConfig:
    """Architecture hyperparameters of :class:`DemoClassifier` (all lengths in samples, rates in Hz)."""

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    f_min: float = 30.0
    f_max: float = 11025.0
    conv_channels: list = field(default_factory=lambda: [8, 16, 32])
    audio_embedding: int = 32
    text_buckets: int = 1024
    text_embedding: int = 32
    dropout: float = 0.1
    #: lyrics n-gram counts as ``"linear"`` counts or ``"log1p"`` (each repeat adds less)
    text_counts: str = "linear"
    #: audio feature maps pooled over time by their ``"mean"``, or ``"mean_max_std"`` (concatenated)
    audio_pooling: str = "mean"

    #: values of keys that ``config.json`` files written before the key existed meant
    LEGACY = {"text_counts": "log1p", "audio_pooling": "mean_max_std"}

    @classmethod
    def from_dict(cls, data: dict) -> "DemoModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DemoModelError(f"unknown demo model config keys {unknown}")
        config = cls(**{**cls.LEGACY, **data})
        config.check()
        return config

    def check(self) -> None:
        """Raise :class:`DemoModelError` for an unknown ``text_counts`` or ``audio_pooling``."""
        if self.text_counts not in ("linear", "log1p"):
            raise DemoModelError(f"demo model text_counts must be 'linear' or 'log1p', got {self.text_counts!r}")
        if self.audio_pooling not in ("mean", "mean_max_std"):
            raise DemoModelError(f"demo model audio_pooling must be 'mean' or 'mean_max_std', "
                                 f"got {self.audio_pooling!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int, f_min: float, f_max: float) -> np.ndarray:
    """Triangular filters on the HTK mel scale, ``(n_mels, n_freqs)`` float32, for an STFT of ``n_freqs`` bins."""

    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    bins_hz = np.linspace(0.0, sample_rate / 2, n_freqs)
    edges = to_hz(np.linspace(to_mel(f_min), to_mel(min(f_max, sample_rate / 2)), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bins_hz[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


class LogMel(nn.Module):
    """Log-mel spectrogram: ``(batch, nb_timesteps)`` -> ``(batch, n_mels, n_frames)``.

    ``n_frames = max(nb_timesteps, min_frames * hop_length) // hop_length + 1`` (centred frames;
    audio shorter than ``min_frames`` hops is zero-padded).
    """

    def __init__(self, config: DemoModelConfig, min_frames: int = 8):
        super().__init__()
        self.n_fft, self.hop_length, self.min_frames = config.n_fft, config.hop_length, min_frames
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)
        fbank = mel_filterbank(config.n_fft // 2 + 1, config.n_mels, config.sample_rate, config.f_min, config.f_max)
        self.register_buffer("fbank", torch.from_numpy(fbank), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        shortfall = self.min_frames * self.hop_length - audio.shape[-1]
        if shortfall > 0:
            audio = nn.functional.pad(audio, (0, shortfall))
        spec = torch.stft(audio, self.n_fft, self.hop_length, window=self.window, center=True, pad_mode="constant",
                          return_complex=True)
        power = spec.real ** 2 + spec.imag ** 2  # (batch, n_freqs, n_frames)
        return torch.log(torch.matmul(self.fbank, power) + 1e-6)


class DemoClassifier(nn.Module):
    """Audio + lyrics classifier.

    ``forward(audio (batch, nb_timesteps), text_features (batch, text_buckets + N_LINE_STATS))``
    returns logits ``(batch, 2)``.

    Buffers ``mel_mean`` / ``mel_std`` ``(n_mels,)`` standardize the log-mel bands; they are set from
    the training data and saved with the weights.
    """

    def __init__(self, config: DemoModelConfig):
        super().__init__()
        self.config = config
        self.logmel = LogMel(config)
        self.register_buffer("mel_mean", torch.zeros(config.n_mels))
        self.register_buffer("mel_std", torch.ones(config.n_mels))
        layers, channels = [], 2  # log-mel and its frame-to-frame difference
        for out_channels in config.conv_channels:
            layers += [nn.Conv2d(channels, out_channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels = out_channels
        self.conv = nn.Sequential(*layers)
        pooled_bands = config.n_mels // 2 ** len(config.conv_channels)
        n_pooled = 1 if config.audio_pooling == "mean" else 3
        self.audio_head = nn.Sequential(nn.Linear(n_pooled * channels * pooled_bands, config.audio_embedding),
                                        nn.ReLU())
        self.text_head = nn.Sequential(nn.Linear(config.text_buckets + N_LINE_STATS, config.text_embedding), nn.ReLU())
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.audio_embedding + config.text_embedding, 2)
        # auxiliary single-modality heads: used by the training loss only, so neither branch can lean
        # on the other (lyrics alone are an easy shortcut) and both learn their own cues
        self.audio_classifier = nn.Linear(config.audio_embedding, 2)
        self.text_classifier = nn.Linear(config.text_embedding, 2)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Input planes ``(batch, 2, n_mels, n_frames)`` of ``audio`` ``(batch, nb_timesteps)``.

        Plane 0 is the standardized log-mel spectrogram, plane 1 its difference from the previous
        frame (pitch glides and vibrato show up there as oscillating stripes).
        """
        mel = (self.logmel(audio) - self.mel_mean[:, None]) / self.mel_std[:, None]
        delta = torch.diff(mel, dim=-1, prepend=mel[..., :1])
        return torch.stack([mel, delta], dim=1)

    def embed_audio(self, planes: torch.Tensor) -> torch.Tensor:
        """Audio embedding ``(batch, audio_embedding)`` of input planes ``(batch, 2, n_mels, n_frames)``."""
        maps = self.conv(planes)  # (batch, channels, bands, frames)
        maps = maps.flatten(1, 2)
        if self.config.audio_pooling == "mean":
            return self.audio_head(maps.mean(dim=-1))
        pooled = torch.cat([maps.mean(dim=-1), maps.amax(dim=-1), maps.std(dim=-1, correction=0)], dim=1)
        return self.audio_head(pooled)

    def forward(self, audio: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return self.all_logits(audio, text_features)[0]

    def all_logits(self, audio: torch.Tensor, text_features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Logits ``(batch, 2)`` of the fusion head, the audio-only head and the lyrics-only head."""
        audio_embedding, text_embedding = self.encode_audio(audio), self.encode_text(text_features)
        fused = self.fuse(audio_embedding, text_embedding)
        return fused, self.audio_classifier(audio_embedding), self.text_classifier(text_embedding)

    def encode_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """The audio branch: ``(batch, nb_timesteps)`` -> embedding ``(batch, audio_embedding)``."""
        return self.dropout(self.embed_audio(self.features(audio)))

    def encode_text(self, text_features: torch.Tensor) -> torch.Tensor:
        """The lyrics branch: features ``(batch, text_buckets + N_LINE_STATS)`` -> ``(batch, text_embedding)``."""
        return self.dropout(self.text_head(text_features))

    def fuse(self, audio_embedding: torch.Tensor, text_embedding: torch.Tensor) -> torch.Tensor:
        """The fusion head: both embeddings -> logits ``(batch, 2)``."""
        return self.classifier(torch.cat([audio_embedding, text_embedding], dim=1))


# --- lyrics features ------------------------------------------------------------------------------
@lru_cache(maxsize=65536)
def _bucket(token: str, n_buckets: int) -> int:
    return zlib.crc32(token.encode("utf-8")) % n_buckets


def lyrics_features(texts: Sequence[str], n_buckets: int, counts: str = "linear") -> np.ndarray:
    """Lyrics features ``(len(texts), n_buckets + N_LINE_STATS)`` float32.

    Per text: counts of lower-cased unigrams and in-line bigrams hashed (CRC-32) into ``n_buckets``
    buckets (``counts="linear"``: the counts; ``"log1p"``: ``log(1 + count)``), then line statistics:
    number of lines / 20, fraction of lines that occur more than once, distinct lines / lines,
    distinct words / words, mean words per line / 10, and an "no lyrics" flag. ``[Section]``-style
    metadata lines and blank lines are ignored.
    """
    out = np.zeros((len(texts), n_buckets + N_LINE_STATS), dtype=np.float32)
    for row, text in enumerate(texts):
        lines = [" ".join(_TOKEN.findall(line.lower())) for line in lyric_lines(text or "")]
        lines = [line for line in lines if line]
        grams = np.zeros(n_buckets, dtype=np.float32)
        words = []
        for line in lines:
            tokens = line.split()
            words += tokens
            for gram in tokens + [a + " " + b for a, b in zip(tokens, tokens[1:])]:
                grams[_bucket(gram, n_buckets)] += 1.0
        out[row, :n_buckets] = grams if counts == "linear" else np.log1p(grams)
        if lines:
            repeats = {line: lines.count(line) for line in set(lines)}
            out[row, n_buckets:] = (len(lines) / 20.0, sum(repeats[line] > 1 for line in lines) / len(lines),
                                    len(repeats) / len(lines), len(set(words)) / max(1, len(words)),
                                    len(words) / len(lines) / 10.0, 0.0)
        else:
            out[row, -1] = 1.0
    return out


# --- inference --------------------------------------------------------------------------------------
def predict_proba(model: DemoClassifier, texts: Sequence[str], audios, batch_size: int = 16,
                  device: str | torch.device = "cpu") -> np.ndarray:
    """Class probabilities ``(batch, 2)`` float64 of ``model`` (eval mode, no grad) on ``texts`` and ``audios``.

    Args:
        audios: float NumPy array or torch tensor ``(batch, nb_timesteps)`` (or ``(nb_timesteps,)``
            for one song) at the model's sample rate; a tensor already on ``device`` is used in place.
    """
    audios = _as_audio_tensor(audios, device)
    texts = list(texts)
    if audios.ndim != 2 or audios.shape[0] != len(texts):
        raise DemoModelError(f"need one text per waveform (batch, nb_timesteps): got {len(texts)} texts and "
                             f"audio of shape {tuple(audios.shape)}")
    was_training = model.training
    model.eval()
    outputs = []
    step = max(1, int(batch_size))
    try:
        with torch.no_grad():
            for start in range(0, len(texts), step):
                audio = audios[start:start + step].to(device)
                text = torch.from_numpy(lyrics_features(texts[start:start + step], model.config.text_buckets,
                                                           model.config.text_counts)).to(device)
                logits = model(audio, text).double()
                outputs.append(torch.softmax(logits, dim=1).cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0, 2))


class DemoPredictor:
    """``predict_fn(texts: list[str], audios: (batch, nb_timesteps) float32) -> (batch, 2)`` float64 probabilities.

    ``audios`` may be a NumPy array or a torch tensor; ``torch_device`` tells the explainer to
    compose tensors on the model's device (:mod:`musiclime.method.scoring.composers`). It is also a
    late-fusion model (:mod:`musiclime.method.scoring.late_fusion`): ``encode_audio``, ``encode_lyrics`` and
    ``fuse`` run its two branches and its head apart, so an explanation encodes each distinct audio
    and lyrics input once.

    Attributes:
        sample_rate: Hz the audio must be at (22050 for the default config).
        labels: class names, index = class.
        model: the :class:`DemoClassifier` (eval mode).
        torch_device: the device the model runs on.
        weight_files: the files the model was loaded from (``model.pt``, ``config.json``); the
            workflow records their SHA-256 with every explanation. Empty for a model built in memory.
    """

    labels = LABEL_NAMES

    def __init__(self, model: DemoClassifier, device: str = "cpu", batch_size: int = 16,
                 weight_files: Sequence[str | os.PathLike] = ()):
        self.model = model.eval()
        self.device = device
        self.batch_size = int(batch_size)
        self.sample_rate = int(model.config.sample_rate)
        self.weight_files = tuple(str(path) for path in weight_files)

    @property
    def torch_device(self) -> str:
        return self.device

    def __call__(self, texts: list[str], audios) -> np.ndarray:
        return predict_proba(self.model, texts, audios, batch_size=self.batch_size, device=self.device)

    def encode_audio(self, audios) -> torch.Tensor:
        """Audio embeddings ``(batch, audio_embedding)`` on the model's device, of ``(batch, nb_timesteps)`` audio."""
        audios = _as_audio_tensor(audios, self.device)
        return self._in_batches(lambda start: self.model.encode_audio(audios[start:start + self.batch_size]),
                                len(audios))

    def encode_lyrics(self, texts: list[str]) -> torch.Tensor:
        """Lyrics embeddings ``(batch, text_embedding)`` on the model's device."""
        features = torch.from_numpy(lyrics_features(list(texts), self.model.config.text_buckets,
                                                   self.model.config.text_counts)).to(self.device)
        return self._in_batches(lambda start: self.model.encode_text(features[start:start + self.batch_size]),
                                len(features))

    def fuse(self, audio_embedding: torch.Tensor, text_embedding: torch.Tensor) -> np.ndarray:
        """Probabilities ``(batch, 2)`` float64 of the fusion head on the two embeddings."""
        with torch.no_grad():
            logits = self.model.fuse(audio_embedding.to(self.device), text_embedding.to(self.device)).double()
        return torch.softmax(logits, dim=1).cpu().numpy()

    def _in_batches(self, encode, n_items: int) -> torch.Tensor:
        """``encode(start)`` for each batch start, in eval mode without gradients, concatenated."""
        self.model.eval()
        with torch.no_grad():
            return torch.cat([encode(start) for start in range(0, n_items, self.batch_size)], dim=0)


def _as_audio_tensor(audios, device: str) -> torch.Tensor:
    """``audios`` (NumPy or tensor, ``(batch, nb_timesteps)`` or ``(nb_timesteps,)``) as float32 on ``device``."""
    if isinstance(audios, torch.Tensor):
        audios = audios.to(device=device, dtype=torch.float32)
    else:
        audios = torch.from_numpy(np.ascontiguousarray(audios, dtype=np.float32)).to(device)
    return audios[None] if audios.ndim == 1 else audios


def save_demo_model(model: DemoClassifier, weights_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``model.pt`` (state_dict) and ``config.json`` into ``weights_dir`` atomically.

    Equal weights give byte-identical files: ``torch.save`` names the records inside its zip after
    the file it writes, so the state is serialised to memory (a fixed record name) and the bytes
    written through the atomic temporary file, whose name holds a process id.
    """
    import io

    from ..common.atomic_io import atomic_path, write_json

    weights_dir = Path(weights_dir)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    with atomic_path(weights_dir / WEIGHTS_FILE) as tmp:
        tmp.write_bytes(buffer.getvalue())
    config = write_json(weights_dir / CONFIG_FILE, model.config.to_dict())
    return weights_dir / WEIGHTS_FILE, config


def load_demo_model(weights_dir: str | os.PathLike, device: str = "cpu") -> DemoClassifier:
    """Load the demo model of ``weights_dir`` (``model.pt`` + ``config.json``) in eval mode.

    Raises:
        DemoModelError: the directory or a file is missing, or a file is corrupt or does not fit the
            architecture; the message names the path.
    """
    weights_dir = Path(weights_dir)
    if not weights_dir.is_dir():
        raise DemoModelError(f"demo model weights directory not found: {weights_dir} (train it with "
                             "musiclime.demo.training.train_demo_model)")
    config_path, weights_path = weights_dir / CONFIG_FILE, weights_dir / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise DemoModelError(f"demo model file missing: {path}")
    try:
        config = DemoModelConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        model = DemoClassifier(config)
    except (ValueError, TypeError, DemoModelError) as exc:
        raise DemoModelError(f"corrupt demo model config {config_path}: {exc}") from exc
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # unpickling and shape errors come as several types
        raise DemoModelError(f"corrupt demo model weights {weights_path}: {exc}") from exc
    return model.to(_resolve_device(device)).eval()


def load_demo_predict_fn(weights_dir: str, device: str = "cpu", batch_size: int = 16) -> DemoPredictor:
    """The demo model of ``weights_dir`` as a ``predict_fn`` (see :class:`DemoPredictor`).

    Args:
        weights_dir: folder with ``model.pt`` and ``config.json``.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        batch_size: waveforms per forward pass.
    """
    resolved = _resolve_device(device)
    predictor = DemoPredictor(load_demo_model(weights_dir, resolved), device=resolved, batch_size=batch_size,
                              weight_files=demo_weight_files(weights_dir))
    log.info("loaded demo model from %s on %s", weights_dir, resolved)
    return predictor


def demo_weight_files(weights_dir: str | os.PathLike) -> list[Path]:
    """The files of ``weights_dir`` that :func:`load_demo_model` reads: ``model.pt`` and ``config.json``."""
    return [Path(weights_dir) / WEIGHTS_FILE, Path(weights_dir) / CONFIG_FILE]


def _resolve_device(device: str) -> str:
    return resolve_device(device, "the demo model", key="model.predict_fn.device")


#: Cascading randomization (Adebayo et al. 2018), top layers first: each step re-initialises its
#: modules and every step before it. ``all`` is every learnable weight (full model randomization).
CASCADE_STEPS = ("fusion_head", "embeddings", "all")


def cascade_modules(model: DemoClassifier, layers: str) -> list[nn.Module]:
    """The modules that cascade step ``layers`` (one of :data:`CASCADE_STEPS`) re-initialises.

    ``fusion_head``: the fusion classifier (and the auxiliary single-modality heads, unused at
    inference); ``embeddings``: also the linear layers that embed each modality; ``all``: also the
    convolution blocks of the audio branch.
    """
    if layers not in CASCADE_STEPS:
        raise DemoModelError(f"unknown randomization layers {layers!r}; expected one of {CASCADE_STEPS} "
                             "(config key model.randomized_predict_fn.layers)")
    groups = {"fusion_head": [model.classifier, model.audio_classifier, model.text_classifier],
              "embeddings": [model.audio_head, model.text_head], "all": [model.conv]}
    return [module for step in CASCADE_STEPS[:CASCADE_STEPS.index(layers) + 1] for module in groups[step]]


def reinitialise_parameters(model: DemoClassifier, seed: int, layers: str = "all") -> DemoClassifier:
    """Re-draw the learnable weights of cascade step ``layers`` with PyTorch's default init (in place).

    Linear and convolution weights and biases become ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, PyTorch's
    own default, drawn from a local generator seeded with ``seed``; the band standardization buffers
    (data statistics, not learned) are kept.
    """
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for root in cascade_modules(model, layers):
            for module in root.modules():
                if isinstance(module, (nn.Linear, nn.Conv2d)):
                    bound = 1.0 / float(np.sqrt(module.weight[0].numel()))
                    module.weight.copy_(torch.rand(module.weight.shape, generator=generator) * 2 * bound - bound)
                    if module.bias is not None:
                        module.bias.copy_(torch.rand(module.bias.shape, generator=generator) * 2 * bound - bound)
    return model


def load_randomized_demo_predict_fn(weights_dir: str, seed: int = 0, device: str = "cpu", batch_size: int = 16,
                                    layers: str = "all") -> DemoPredictor:
    """The demo model of ``weights_dir`` with re-initialised weights, as a ``predict_fn``.

    For the model-randomization sanity check (Adebayo et al. 2018): same architecture and input
    standardization as the trained model, the learnable parameters of cascade step ``layers`` (see
    :data:`CASCADE_STEPS`; ``all`` = every one) re-drawn with ``seed``.
    """
    resolved = _resolve_device(device)
    model = reinitialise_parameters(load_demo_model(weights_dir, "cpu"), seed, layers).to(resolved).eval()
    log.info("loaded demo model from %s with re-initialised %s weights (seed %d) on %s", weights_dir, layers, seed,
             resolved)
    return DemoPredictor(model, device=resolved, batch_size=batch_size, weight_files=demo_weight_files(weights_dir))
