"""Stage ``separate``: one song's audio -> its sources (stems), saved once per separation config."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ...common.artifacts import load_arrays, save_arrays, write_config
from ...common.audio import load_audio
from ...common.errors import ConfigError
from ...common.provenance import describe_file
from ...factorization.base import Factorization
from ...factorization.stems import StemFactorization, read_stem_folder
from ...factorization.time_only import TimeOnlyFactorization

log = logging.getLogger(__name__)


def separate(song: dict, separation: dict, out_stems: str | Path, out_config: str | Path) -> Path:
    """Split one song into sources and save them.

    Args:
        song: ``Song.info()`` (``audio``, ``stems`` paths, ``song_id``).
        separation: the separation slice (``backend``, ``sample_rate``, backend settings).
        out_stems: ``.npz`` with ``stems`` float32 ``(nb_sources, nb_timesteps)``, ``mix`` ``(nb_timesteps,)``.
    """
    rate = int(separation["sample_rate"])
    backend = separation["backend"]
    start = time.perf_counter()
    audio, _ = load_audio(song["audio"], sample_rate=rate, mono=True)
    if backend == "stems":
        stems = read_stem_folder(song["stems"], rate)
        mix = _match_length(audio, len(next(iter(stems.values()))), song["song_id"], rate)
        fact: Factorization = StemFactorization(stems, sample_rate=rate, temporal_segments=1, mix=mix,
                                                residual=separation["residual"])
    elif backend == "openunmix":
        from ...factorization.openunmix import OpenUnmixFactorization  # torch: only this backend pays for it

        fact = OpenUnmixFactorization(audio, temporal_segments=1, sample_rate=rate, model=separation["model"],
                                      device=separation["device"], residual=separation["residual"],
                                      chunk_seconds=separation["chunk_seconds"],
                                      overlap_seconds=separation["overlap_seconds"], niter=separation["niter"],
                                      chunk_batch=separation["chunk_batch"],
                                      memory_budget_mb=separation["memory_budget_mb"])
    elif backend == "time_only":
        fact = TimeOnlyFactorization(audio, sample_rate=rate, temporal_segments=1)
    else:
        raise ConfigError(f"config key separation.backend: unknown backend {backend!r}")
    meta = {"song_id": song["song_id"], "backend": backend, "sample_rate": rate, "sources": fact.source_names,
            "separation_seconds": time.perf_counter() - start,
            "reconstruction_rel_error": fact.reconstruction_error(), "audio_file": describe_file(song["audio"])}
    save_arrays(out_stems, meta, stems=fact.stems, mix=fact.mix)
    write_config(out_config, {"song": song, "separation": separation})
    log.info("%s: %s sources %s in %.1f s", song["song_id"], backend, fact.source_names, meta["separation_seconds"])
    return Path(out_stems)


#: Runs in a warm model worker, which keeps the Open-Unmix separator for the next song.
separate.worker_pool = "models"


def _match_length(audio: np.ndarray, length: int, song_id: str, rate: int, tolerance_s: float = 0.1) -> np.ndarray:
    """The mix cut or zero-padded to the stems' ``length`` (codecs may pad a few samples)."""
    if abs(audio.shape[0] - length) > tolerance_s * rate:
        raise ConfigError(f"song {song_id!r}: the mix has {audio.shape[0] / rate:.2f} s but its stems "
                          f"{length / rate:.2f} s")
    return audio[:length] if audio.shape[0] >= length else np.pad(audio, (0, length - audio.shape[0]))


def load_factorization(stems_npz: str | Path, temporal_segments: int) -> tuple[Factorization, dict]:
    """Rebuild a factorization with ``temporal_segments`` from a separation artifact."""
    meta, arrays = load_arrays(stems_npz)
    fact = Factorization(arrays["stems"], meta["sources"], meta["sample_rate"], temporal_segments, mix=arrays["mix"])
    fact.backend = meta["backend"]
    return fact, meta
