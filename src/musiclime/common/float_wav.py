"""Byte-reproducible 32-bit float WAV files.

libsndfile (behind soundfile) adds a ``PEAK`` chunk with a wall-clock timestamp to float WAVs, so
writing the same audio twice gives different bytes. Artifacts must be reproducible (same seed, same
bytes), so :func:`musiclime.common.audio.save_audio` writes .wav files here: a plain RIFF/WAVE file with a ``fmt `` chunk
(IEEE float, 32 bits), a ``fact`` chunk and the interleaved little-endian samples. Any WAV reader,
soundfile included, reads it.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from .atomic_io import atomic_path

WAVE_FORMAT_IEEE_FLOAT = 3


def write_float_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write ``audio`` (``(nb_timesteps,)`` or ``(nb_channels, nb_timesteps)``) as a float32 WAV, atomically."""
    audio = np.asarray(audio, dtype=np.float32)
    frames = audio[None] if audio.ndim == 1 else audio
    n_channels, n_frames = frames.shape
    data = np.ascontiguousarray(frames.T).astype("<f4").tobytes()
    block_align = 4 * n_channels
    fmt = struct.pack("<HHIIHH", WAVE_FORMAT_IEEE_FLOAT, n_channels, int(sample_rate),
                      int(sample_rate) * block_align, block_align, 32)
    chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt
              + b"fact" + struct.pack("<II", 4, n_frames)
              + b"data" + struct.pack("<I", len(data)) + data)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    return path
