"""Decoding audio files of every common format to float32 arrays.

Two decoders, one per format, so that a file always decodes to the same array:

* **libsndfile** (``soundfile``) for WAV, AIFF, FLAC, OGG Vorbis, OGG Opus and MP3: bit-exact PCM,
  and gapless MP3 (the encoder delay and padding a LAME/Xing header records are dropped);
* **FFmpeg** (``av``, PyAV's wheels carry it) for what libsndfile does not read: M4A/AAC and ALAC,
  and any other container FFmpeg knows (WMA, WebM, ...).

A file is sent to libsndfile first; a file libsndfile does not recognise goes to FFmpeg. Waveforms
are ``(nb_channels, nb_timesteps)`` float32 in [-1, 1] at the file's own rate (Hz).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioError

log = logging.getLogger(__name__)

#: Audio file name endings a folder of songs is searched for (the formats decoded here).
AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc",
                  ".m4a", ".mp4", ".aac", ".alac", ".wma", ".webm", ".mka")


@dataclass(frozen=True)
class AudioInfo:
    """What a decoder says of a file before decoding it.

    Attributes:
        decoder: ``libsndfile`` or ``ffmpeg``.
        format: the container and codec, e.g. ``MP3``, ``OGG/OPUS``, ``mov,mp4,m4a/aac``.
        sample_rate: Hz.
        channels: channel count.
        frames: samples per channel the header declares (``None``: unknown).
    """

    decoder: str
    format: str
    sample_rate: int
    channels: int
    frames: int | None


def probe_audio(path: str | os.PathLike) -> AudioInfo:
    """The decoder, format, rate, channel count and declared length of an audio file.

    Raises:
        UndecodableAudioError: neither decoder can open the file (the message names it, its ending, and
            both decoders' errors).
    """
    path = Path(path)
    sf_error = None
    try:
        return _sndfile_info(path)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        sf_error = exc
    try:
        return _ffmpeg_info(path)
    except Exception as exc:
        raise UndecodableAudioError(path, _undecodable(path, sf_error, exc)) from exc


def decode_audio(path: str | os.PathLike, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode an audio file (or its first ``max_seconds``).

    Returns:
        ``(audio, rate)``: float32 ``(nb_channels, nb_timesteps)`` and the file's rate in Hz.

    Raises:
        AudioError: the file does not decode; the message names it and its format.
    """
    path = Path(path)
    info = probe_audio(path)
    try:
        if info.decoder == "libsndfile":
            return _sndfile_decode(path, info, max_seconds), info.sample_rate
        return _ffmpeg_decode(path, max_seconds)
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(f"cannot decode audio file {path} ({info.format}, {info.decoder}): {exc}") from exc


class UndecodableAudioError(AudioError):
    """Neither decoder opens the file; ``detail`` says why (its ending, each decoder's error)."""

    def __init__(self, path: Path, detail: str):
        super().__init__(f"cannot decode audio file {path}: {detail}")
        self.path, self.detail = path, detail


def _undecodable(path: Path, sf_error: Exception | None, ff_error: Exception) -> str:
    ending = path.suffix.lower() or "no file ending"
    return (f"a {ending} file that neither libsndfile nor FFmpeg reads; libsndfile: {_first_line(sf_error)}; "
            f"FFmpeg: {_first_line(ff_error)}")


def _first_line(exc: Exception | None) -> str:
    text = str(exc or "").strip().splitlines()
    return text[0] if text else type(exc).__name__


def _sndfile_info(path: Path) -> AudioInfo:
    import soundfile as sf

    info = sf.info(str(path))
    name = info.format if info.format not in ("OGG",) else f"OGG/{info.subtype}"
    return AudioInfo("libsndfile", name, int(info.samplerate), int(info.channels),
                     int(info.frames) if info.frames > 0 else None)


def _sndfile_decode(path: Path, info: AudioInfo, max_seconds: float | None) -> np.ndarray:
    import soundfile as sf

    frames = -1 if max_seconds is None else int(max_seconds * info.sample_rate)
    data = sf.read(str(path), frames=frames, dtype="float32", always_2d=True)[0]
    return np.ascontiguousarray(data.T)


def _ffmpeg_info(path: Path) -> AudioInfo:
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise AudioError(f"no audio stream in {path} ({container.format.name})")
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        if rate <= 0 or not stream.codec_context.channels:  # FFmpeg guessed a format by the name alone
            raise AudioError(f"no decodable audio stream ({container.format.name}: no sample rate or channels)")
        frames = None
        if stream.duration is not None and stream.time_base is not None and rate:
            frames = int(round(stream.duration * stream.time_base * rate))
        return AudioInfo("ffmpeg", f"{container.format.name}/{stream.codec_context.name}", rate,
                         int(stream.codec_context.channels), frames)


def _ffmpeg_decode(path: Path, max_seconds: float | None) -> tuple[np.ndarray, int]:
    """Decode the first audio stream with FFmpeg: every frame converted to planar float32 at its own
    rate and layout. FFmpeg drops the encoder delay an MP4's edit list records (AAC priming)."""
    import av

    chunks: list[np.ndarray] = []
    total = 0
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate)
        limit = None if max_seconds is None else int(max_seconds * rate)
        converter = av.AudioResampler(format="fltp")
        for frame in container.decode(stream):
            for planar in converter.resample(frame):
                chunk = planar.to_ndarray()
                chunks.append(chunk)
                total += chunk.shape[1]
            if limit is not None and total >= limit:
                break
        if limit is None:
            chunks += [planar.to_ndarray() for planar in converter.resample(None)]
    if not chunks:
        return np.zeros((1, 0), dtype=np.float32), rate
    audio = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    return np.ascontiguousarray(audio if limit is None else audio[:, :limit]), rate


def decoded_tail_length(path: str | os.PathLike, start: int) -> int:
    """Samples per channel libsndfile decodes from sample ``start`` to the file's end (it seeks, then
    reads); raises what libsndfile raises when the seek or the read fails."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as handle:
        handle.seek(start)
        return int(handle.read(dtype="float32", always_2d=True).shape[0])
