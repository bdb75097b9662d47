"""Audio and lyrics encoders: a pretrained transformer turned into one embedding per clip or per text.

:class:`HFAudioEncoder` wraps a Hugging Face audio model (AST, wav2vec2, HuBERT) and its feature
extractor; :class:`HFLyricsEncoder` a text model (RoBERTa, BERT) and its tokenizer. Both read one
hidden layer (``layer``, an index into ``hidden_states``: 0 = the embeddings, -1 = the last layer),
pool it over time or tokens (``mean``, ``cls`` or the model's ``pooler`` output) and return
``(batch, dim)`` float32 tensors on the encoder's device, computed without gradients.

Inputs longer than the encoder's window are cut into windows of the window length (the last one
ends at the input's end, overlapping its neighbour), each window is encoded and the window
embeddings are averaged. Windows of one length are batched together, so an item's embedding does
not depend on the other items of its batch.

torch is imported on first use, so importing this module (for its errors) stays light.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

from ...common.errors import MusicLimeError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

POOLINGS = ("mean", "cls", "pooler")
LONG_LYRICS = ("chunk", "truncate")
#: frame shift of the AST feature extractor's Kaldi filter bank, in seconds
AST_FRAME_SECONDS = 0.01


class EncoderError(MusicLimeError):
    """An encoder setting is unusable (unknown pooling, layer out of range, no pooler) or its input is malformed."""


class EncoderUnavailableError(EncoderError):
    """An encoder's weights are not on this machine (no network is used to fetch them)."""


@runtime_checkable
class AudioEncoder(Protocol):
    """Clips -> embeddings. ``encode(audios (batch, nb_timesteps) at sample_rate Hz) -> (batch, dim)``."""

    dim: int
    sample_rate: int
    weight_files: list[Path]

    def encode(self, audios: Any, sample_rate: int) -> "torch.Tensor": ...


@runtime_checkable
class LyricsEncoder(Protocol):
    """Texts -> embeddings. ``encode(texts: list[str]) -> (batch, dim)``."""

    dim: int
    weight_files: list[Path]

    def encode(self, texts: list[str]) -> "torch.Tensor": ...


def window_starts(length: int, window: int) -> list[int]:
    """Starts of the windows of ``window`` items that cover ``length`` items.

    ``[0]`` when ``length <= window``; otherwise ``0, window, 2 window, ...`` and a last window that
    ends at ``length`` (so every window is full and the last overlaps its neighbour).
    """
    if length <= window:
        return [0]
    return list(range(0, length - window, window)) + [length - window]


def check_pooling(pooling: str, layer: int, n_hidden_states: int, setting: str) -> None:
    """Raise :class:`EncoderError` naming ``setting`` for an unknown pooling or a layer out of range.

    ``n_hidden_states`` is the length of the model's ``hidden_states`` (layers + 1 for the embeddings).
    ``pooler`` reads the model's last layer, so it only goes with ``layer`` -1 (or its positive index).
    """
    if pooling not in POOLINGS:
        raise EncoderError(f"{setting}.pooling={pooling!r}: expected one of {', '.join(POOLINGS)}")
    if isinstance(layer, bool) or not isinstance(layer, int) or not -n_hidden_states <= layer < n_hidden_states:
        raise EncoderError(f"{setting}.layer={layer!r}: the model has {n_hidden_states} hidden states "
                           f"(0 = embeddings, -1 = last layer); expected an int in [{-n_hidden_states}, "
                           f"{n_hidden_states - 1}]")
    if pooling == "pooler" and layer % n_hidden_states != n_hidden_states - 1:
        raise EncoderError(f"{setting}.pooling='pooler' reads the model's last layer, but {setting}.layer={layer}; "
                           f"use mean or cls pooling to read an inner layer")


def pool(outputs: Any, mask: "torch.Tensor | None", pooling: str, layer: int, setting: str) -> "torch.Tensor":
    """Pooled embeddings ``(batch, dim)`` float32 of a model's ``outputs``.

    ``mask``: ``(batch, tokens)`` 1 for real tokens, 0 for padding, or None (every token counts);
    ``mean`` averages ``hidden_states[layer]`` over the real tokens, ``cls`` takes the first token,
    ``pooler`` the model's ``pooler_output``.
    """
    if pooling == "pooler":
        pooled = getattr(outputs, "pooler_output", None)
        if pooled is None:
            raise EncoderError(f"{setting}.pooling='pooler' but this model has no pooler output; "
                               f"use mean or cls")
        return pooled.float()
    hidden = outputs.hidden_states[layer].float()  # (batch, tokens, dim)
    if pooling == "cls":
        return hidden[:, 0]
    if mask is None:
        return hidden.mean(dim=1)
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The token ids a tokenizer puts before and after one text (e.g. RoBERTa ``[0]``, ``[2]``).

    Found by tokenizing a probe text with and without special tokens (transformers 5 tokenizers no
    longer expose ``build_inputs_with_special_tokens``).
    """
    probe = "probe text"
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start:start + len(bare)] == bare:
            return list(full[:start]), list(full[start + len(bare):])
    raise EncoderError(f"cannot tell the special tokens of {type(tokenizer).__name__}: {full} does not hold {bare}")


def _n_hidden_states(model: Any) -> int:
    return int(model.config.num_hidden_layers) + 1


def _as_clips(audios: Any) -> list["torch.Tensor"]:
    """``audios`` ``(batch, nb_timesteps)`` (NumPy, torch on any device) or a list of 1-D clips -> CPU float32 clips."""
    import torch

    if isinstance(audios, (list, tuple)):
        clips = [torch.as_tensor(clip).detach().to("cpu", torch.float32) for clip in audios]
    else:
        batch = torch.as_tensor(audios).detach().to("cpu", torch.float32)
        if batch.ndim != 2:
            raise EncoderError(f"audios must be (batch, nb_timesteps) mono, got shape {tuple(batch.shape)}")
        clips = list(batch)
    for index, clip in enumerate(clips):
        if clip.ndim != 1 or clip.numel() == 0:
            raise EncoderError(f"audio clip {index} must be a non-empty 1-D signal, got shape {tuple(clip.shape)}")
        if not torch.isfinite(clip).all():
            raise EncoderError(f"audio clip {index} holds non-finite samples (NaN or inf)")
    return clips


def _mean_per_item(embeddings: "torch.Tensor", owners: list[int], n_items: int) -> "torch.Tensor":
    """Average of the window embeddings ``(n_windows, dim)`` of each item -> ``(n_items, dim)``."""
    import torch

    index = torch.as_tensor(owners, device=embeddings.device)
    sums = torch.zeros(n_items, embeddings.shape[1], device=embeddings.device).index_add_(0, index, embeddings)
    counts = torch.bincount(index, minlength=n_items).clamp_min(1).unsqueeze(1)
    return sums / counts


class HFAudioEncoder:
    """A Hugging Face audio model + feature extractor as an :class:`AudioEncoder`.

    ``sample_rate`` is the feature extractor's ``sampling_rate`` (Hz); clips at another rate are
    resampled with ``torchaudio.functional.resample``. ``chunk_seconds`` (None: the encoder's own
    limit, ``max_length`` frames x 10 ms for AST, the whole clip for wav2vec2-like models) sets the
    window length.
    """

    def __init__(self, model: Any, feature_extractor: Any, *, pooling: str = "mean", layer: int = -1,
                 chunk_seconds: float | None = None, batch_size: int = 8, device: str = "cpu",
                 weight_files: Sequence[Path] = (), setting: str = "model.audio", name: str = ""):
        check_pooling(pooling, layer, _n_hidden_states(model), setting)
        self.model = model.eval().to(device)
        self.feature_extractor = feature_extractor
        self.pooling, self.layer, self.batch_size, self.device = pooling, layer, batch_size, device
        self.setting, self.name = setting, name
        self.dim = int(model.config.hidden_size)
        self.sample_rate = int(feature_extractor.sampling_rate)
        self.weight_files = [Path(p) for p in weight_files]
        if chunk_seconds is None and hasattr(feature_extractor, "num_mel_bins") and hasattr(feature_extractor,
                                                                                           "max_length"):
            chunk_seconds = feature_extractor.max_length * AST_FRAME_SECONDS
        #: window length in samples at ``sample_rate``, or None (whole clips)
        self.chunk_samples = None if chunk_seconds is None else max(1, round(chunk_seconds * self.sample_rate))

    def encode(self, audios: Any, sample_rate: int) -> "torch.Tensor":
        """Embeddings ``(batch, dim)`` float32 of mono clips ``(batch, nb_timesteps)`` at ``sample_rate`` Hz."""
        import torch
        import torchaudio

        clips = _as_clips(audios)
        if int(sample_rate) != self.sample_rate:
            clips = [torchaudio.functional.resample(clip, int(sample_rate), self.sample_rate) for clip in clips]
        windows, owners = [], []
        for item, clip in enumerate(clips):
            window = self.chunk_samples or clip.numel()
            for start in window_starts(clip.numel(), window):
                windows.append(clip[start:start + window])
                owners.append(item)
        embeddings = torch.empty(len(windows), self.dim, device=self.device)
        by_length: dict[int, list[int]] = {}
        for index, window in enumerate(windows):
            by_length.setdefault(window.numel(), []).append(index)
        with torch.no_grad():
            for indices in by_length.values():
                for start in range(0, len(indices), self.batch_size):
                    chunk = indices[start:start + self.batch_size]
                    embeddings[chunk] = self._encode_windows([windows[i] for i in chunk])
        return _mean_per_item(embeddings, owners, len(clips))

    def _encode_windows(self, windows: list["torch.Tensor"]) -> "torch.Tensor":
        """Embeddings ``(n, dim)`` of ``n`` windows of equal length at ``sample_rate`` Hz."""
        features = self.feature_extractor([w.numpy() for w in windows], sampling_rate=self.sample_rate,
                                          return_tensors="pt")
        inputs = {key: value.to(self.device) for key, value in features.items()}
        if "input_values" in inputs:
            inputs["input_values"] = inputs["input_values"].to(self.model.dtype)
        outputs = self.model(**inputs, output_hidden_states=True)
        # windows of one length carry no padding: every frame counts
        return pool(outputs, None, self.pooling, self.layer, self.setting)


class HFLyricsEncoder:
    """A Hugging Face text model + tokenizer as a :class:`LyricsEncoder`.

    ``max_tokens`` counts the special tokens (None: the tokenizer's ``model_max_length`` capped by
    the model's ``max_position_embeddings - 2``). Longer texts are cut in windows (``long_lyrics``
    ``chunk``, embeddings averaged) or cut to their first tokens (``truncate``, with one warning per
    call).
    """

    def __init__(self, model: Any, tokenizer: Any, *, pooling: str = "mean", layer: int = -1,
                 max_tokens: int | None = None, long_lyrics: str = "chunk", batch_size: int = 8,
                 device: str = "cpu", weight_files: Sequence[Path] = (), setting: str = "model.lyrics",
                 name: str = ""):
        check_pooling(pooling, layer, _n_hidden_states(model), setting)
        if long_lyrics not in LONG_LYRICS:
            raise EncoderError(f"{setting}.long_lyrics={long_lyrics!r}: expected chunk or truncate")
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.pooling, self.layer, self.long_lyrics = pooling, layer, long_lyrics
        self.batch_size, self.device, self.setting, self.name = batch_size, device, setting, name
        self.dim = int(model.config.hidden_size)
        self.weight_files = [Path(p) for p in weight_files]
        limit = self._position_limit()
        if max_tokens is None:
            max_tokens = limit
        elif max_tokens > limit:
            raise EncoderError(f"{setting}.max_tokens={max_tokens} exceeds the {limit} tokens this model can read")
        self.prefix, self.suffix = special_tokens(tokenizer)
        self.n_special = len(self.prefix) + len(self.suffix)
        if max_tokens <= self.n_special:
            raise EncoderError(f"{setting}.max_tokens={max_tokens} leaves no room for text beside "
                               f"{self.n_special} special tokens")
        self.max_tokens = int(max_tokens)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def _position_limit(self) -> int:
        limits = [int(self.tokenizer.model_max_length)] if self.tokenizer.model_max_length < 10 ** 9 else []
        positions = getattr(self.model.config, "max_position_embeddings", None)
        if positions is not None:
            limits.append(int(positions) - 2)
        if not limits:
            raise EncoderError(f"{self.setting}.max_tokens: this model states no length limit; set it")
        return min(limits)

    def encode(self, texts: list[str]) -> "torch.Tensor":
        """Embeddings ``(batch, dim)`` float32 of ``texts``."""
        import torch

        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise EncoderError("lyrics encoder input must be a list of strings")
        texts = list(texts)
        if not texts:
            return torch.empty(0, self.dim, device=self.device)
        ids = self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        windows, owners = self._windows(ids)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))  # similar lengths share a batch
        embeddings = torch.empty(len(windows), self.dim, device=self.device)
        with torch.no_grad():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start:start + self.batch_size]
                embeddings[chunk] = self._encode_windows([windows[i] for i in chunk])
        return _mean_per_item(embeddings, owners, len(texts))

    def _windows(self, ids: list[list[int]]) -> tuple[list[list[int]], list[int]]:
        """Token windows (with special tokens) of each text, and the text each window belongs to."""
        content = self.max_tokens - self.n_special
        windows, owners, long = [], [], []
        for item, tokens in enumerate(ids):
            if len(tokens) > content and self.long_lyrics == "truncate":
                long.append(len(tokens))
                tokens = tokens[:content]
            for start in window_starts(len(tokens), content):
                windows.append(self.prefix + list(tokens[start:start + content]) + self.suffix)
                owners.append(item)
        if long:
            log.warning("%s: %d of %d lyrics are longer than %d tokens (longest %d tokens) and were truncated "
                        "to their first %d tokens (%s.long_lyrics=truncate; chunk averages windows instead)",
                        self.setting, len(long), len(ids), content, max(long), content, self.setting)
        return windows, owners

    def _encode_windows(self, windows: list[list[int]]) -> "torch.Tensor":
        """Embeddings ``(n, dim)`` of ``n`` token windows (padded to the longest, padding masked)."""
        import torch

        length = max(len(w) for w in windows)
        input_ids = torch.full((len(windows), length), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(windows), length), dtype=torch.long)
        for row, window in enumerate(windows):
            input_ids[row, :len(window)] = torch.as_tensor(window, dtype=torch.long)
            mask[row, :len(window)] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        outputs = self.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
        return pool(outputs, mask, self.pooling, self.layer, self.setting)
