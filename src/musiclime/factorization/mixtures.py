"""Composition as a copy: every segment has only ``2**nb_sources`` distinct mixtures.

A 0/1 mask switches each source of a segment on or off, so one segment of a composed waveform is
one of ``2**nb_sources`` mixtures (16 for four stems). A *mixture table* holds those mixtures for
one segment, row ``code`` = the sum of the sources whose bit is set in ``code`` (bit ``i`` =
source ``i``). Composing a batch then copies one table row per (waveform, segment) instead of
multiplying masks by stems: the work is a memory copy of the output bytes.

Rows are summed in source order starting from source 0 (``table[c] = table[c - top bit] +
stem[top bit]``), so a composed segment is bit-identical whether its table was built whole,
lazily or for another batch.
"""

from __future__ import annotations

import numpy as np

#: Above this many sources a table (2**n rows) costs more than it saves; composition multiplies instead.
MAX_TABLE_SOURCES = 6


def uses_tables(masks: np.ndarray, nb_sources: int) -> bool:
    """Whether ``masks`` (any shape) are 0/1 and the sources few enough for mixture tables."""
    return nb_sources <= MAX_TABLE_SOURCES and bool(np.all((masks == 0) | (masks == 1)))


def mixture_codes(segment_masks: np.ndarray) -> np.ndarray:
    """Table row of each mask row: ``(batch, nb_sources)`` 0/1 -> int64 ``(batch,)``, bit ``i`` = source ``i``."""
    bits = np.left_shift(1, np.arange(segment_masks.shape[1], dtype=np.int64))
    return (np.asarray(segment_masks) != 0).astype(np.int64) @ bits


def table_bytes(nb_sources: int, nb_timesteps: int) -> int:
    """Bytes of the mixture tables of every segment of a song: ``2**nb_sources x nb_timesteps`` float32."""
    return (1 << nb_sources) * nb_timesteps * 4


def mixture_table(segment_stems: np.ndarray, codes=None) -> np.ndarray:
    """Mixtures of one segment's sources.

    Args:
        segment_stems: float32 ``(nb_sources, segment_len)``.
        codes: rows that must be filled (their lower-bit prefixes are filled too); ``None`` = all.

    Returns:
        float32 ``(2**nb_sources, segment_len)``; rows not needed by ``codes`` are left unset.
    """
    nb_sources, length = segment_stems.shape
    table = np.empty((1 << nb_sources, length), dtype=np.float32)
    needed = np.zeros(1 << nb_sources, dtype=bool)
    if codes is None:
        needed[:] = True
    else:
        for code in np.unique(codes):
            code = int(code)
            while code:  # the chain code, code - top bit, ... down to one source
                needed[code] = True
                code ^= 1 << (code.bit_length() - 1)
    table[0] = 0.0
    for code in np.flatnonzero(needed[1:]) + 1:
        top = int(code).bit_length() - 1
        np.add(table[code ^ (1 << top)], segment_stems[top], out=table[code])
    return table


def all_mixture_tables(stems: np.ndarray, boundaries: np.ndarray) -> list[np.ndarray]:
    """Full mixture tables of every segment: a list of float32 ``(2**nb_sources, segment_len)``."""
    return [mixture_table(stems[:, a:b]) for a, b in zip(boundaries[:-1], boundaries[1:])]


def compose_from_tables(stems: np.ndarray, boundaries: np.ndarray, masks: np.ndarray, out: np.ndarray,
                        tables: list[np.ndarray] | None = None) -> np.ndarray:
    """Compose ``(batch, nb_timesteps)`` waveforms into ``out`` by copying mixture-table rows.

    Args:
        stems: float32 ``(nb_sources, nb_timesteps)``.
        boundaries: int ``(temporal_segments + 1,)`` segment edges in samples.
        masks: 0/1 ``(batch, temporal_segments * nb_sources)``, segment-major.
        out: float32 ``(batch, nb_timesteps)`` to write.
        tables: precomputed :func:`all_mixture_tables`; built per segment (needed rows only) when ``None``.
    """
    nb_sources = stems.shape[0]
    for k, (start, stop) in enumerate(zip(boundaries[:-1], boundaries[1:])):
        codes = mixture_codes(masks[:, k * nb_sources:(k + 1) * nb_sources])
        table = tables[k] if tables is not None else mixture_table(stems[:, start:stop], codes)
        for row, code in enumerate(codes):
            out[row, start:stop] = table[code]
        del table  # a segment's table is freed before the next one is built
    return out
