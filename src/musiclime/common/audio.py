"""Reading, validating and resampling audio.

Waveforms are float32 numpy arrays: mono ``(nb_timesteps,)`` or multichannel
``(nb_channels, nb_timesteps)``; sample rates are in Hz and always travel with the audio.
"""

from __future__ import annotations

import logging
import os
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from .atomic_io import atomic_path
from .audio_decoding import decode_audio
from .errors import AudioError
from .float_wav import write_float_wav

log = logging.getLogger(__name__)

#: Peak amplitude under which audio counts as silent (about -100 dBFS).
SILENCE_PEAK = 1e-5


def load_audio(
    path: str | os.PathLike, sample_rate: int | None = 22050, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Read an audio file of any common format (WAV, AIFF, FLAC, OGG Vorbis/Opus, MP3, M4A/AAC, ...;
    :mod:`musiclime.common.audio_decoding` says which decoder reads which).

    Args:
        path: audio file.
        sample_rate: rate to resample to in Hz; ``None`` keeps the file's rate.
        mono: average the channels to one.

    Returns:
        ``(audio, rate)``: float32 audio of shape ``(nb_timesteps,)`` when ``mono`` else
        ``(nb_channels, nb_timesteps)``, and its sample rate in Hz.

    Raises:
        AudioError: the file is missing, empty, truncated or undecodable, or holds NaN/inf.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"audio file is empty (0 bytes): {path}")
    audio, file_rate = decode_audio(path)  # (nb_channels, nb_timesteps)
    if audio.shape[-1] == 0:
        raise AudioError(f"audio file holds no samples (empty or truncated): {path}")
    check_finite(audio, f"audio file {path}")
    if mono:
        audio = audio.mean(axis=0)
    if sample_rate is not None and sample_rate != file_rate:
        audio = resample(audio, file_rate, sample_rate)
        rate = int(sample_rate)
    else:
        rate = int(file_rate)
    warn_if_silent(audio, f"audio file {path}")
    return audio.astype(np.float32, copy=False), rate


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample along the last axis with a polyphase filter.

    Args:
        audio: float array ``(..., nb_timesteps)`` at ``orig_rate`` Hz.
        orig_rate, target_rate: sample rates in Hz.

    Returns:
        float32 array ``(..., round(nb_timesteps * target_rate / orig_rate))``.
    """
    orig_rate, target_rate = int(orig_rate), int(target_rate)
    if orig_rate <= 0 or target_rate <= 0:
        raise AudioError(f"sample rates must be positive, got {orig_rate} -> {target_rate}")
    if orig_rate == target_rate:
        return np.asarray(audio, dtype=np.float32)
    g = gcd(orig_rate, target_rate)
    from scipy.signal import resample_poly  # deferred: scipy.signal costs ~1 s to import

    out = resample_poly(np.asarray(audio, dtype=np.float64), target_rate // g, orig_rate // g, axis=-1)
    expected = int(round(audio.shape[-1] * target_rate / orig_rate))
    if out.shape[-1] > expected:
        out = out[..., :expected]
    elif out.shape[-1] < expected:
        pad = [(0, 0)] * (out.ndim - 1) + [(0, expected - out.shape[-1])]
        out = np.pad(out, pad)
    return out.astype(np.float32)


def save_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write ``audio`` (``(nb_timesteps,)`` or ``(nb_channels, nb_timesteps)``) atomically.

    The format follows the extension. ``.wav`` is 32-bit float, written byte-reproducibly (no
    libsndfile PEAK chunk with a timestamp); other formats go through soundfile.
    """
    audio = np.asarray(audio, dtype=np.float32)
    path = Path(path)
    if path.suffix.lower() == ".wav":
        return write_float_wav(path, audio, sample_rate)
    frames = audio.T if audio.ndim == 2 else audio
    with atomic_path(path) as tmp:
        sf.write(str(tmp), frames, int(sample_rate), format=_format_of(path))
    return path


def check_finite(audio: np.ndarray, what: str) -> None:
    """Raise :class:`AudioError` naming ``what`` if ``audio`` holds NaN or inf samples."""
    if not np.all(np.isfinite(audio)):
        bad = int(np.size(audio) - np.count_nonzero(np.isfinite(audio)))
        raise AudioError(f"{what} holds {bad} NaN/inf samples")


def warn_if_silent(audio: np.ndarray, what: str) -> bool:
    """Log a warning naming ``what`` if its peak is below :data:`SILENCE_PEAK`; return silence."""
    silent = audio.size == 0 or float(np.max(np.abs(audio))) < SILENCE_PEAK
    if silent:
        log.warning("%s is silent (peak below %.0e): explanations of silence are flat", what, SILENCE_PEAK)
    return silent


def _format_of(path: Path) -> str | None:
    ext = path.suffix.lower().lstrip(".")
    return {"flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}.get(ext)
