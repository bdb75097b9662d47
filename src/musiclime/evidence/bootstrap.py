"""The bootstrap over songs (and mask seeds within songs) behind every interval of the global figures.

A replication draws, within each group of songs (a class, a cohort value), as many songs as the group
has, with replacement; each drawn song then contributes one of its explanations drawn at random (its
mask seeds; a song explained once contributes that one). A replication is a vector of counts over the
explanations: every statistic that is a (weighted) sum over songs is a matrix product with it, so
thousands of replications of tens of thousands of songs cost a few matrix products
(:func:`resample_counts` yields them in chunks that keep memory bounded).

Intervals are percentile intervals (:func:`percentile_interval`): the ``(1 - level) / 2`` and
``(1 + level) / 2`` quantiles of the replicated statistic. They describe sampling variation over songs
as the point's songs represent their population; with few songs per group they are too narrow
(docs/reports.md).
"""

from __future__ import annotations

import warnings
from typing import Iterator, Sequence

import numpy as np

#: Numbers held at once by a chunk of replications (replications x explanations).
CHUNK_CELLS = 4_000_000


def resample_counts(groups: Sequence[int], song_of_row: np.ndarray, replicates: int, seed: int,
                    chunk_cells: int = CHUNK_CELLS) -> Iterator[np.ndarray]:
    """Chunks of replications: float64 arrays ``(b, n_rows)``, each row how often each explanation is drawn.

    Args:
        groups: ``(n_songs,)`` the group of each song; songs are resampled within their group.
        song_of_row: ``(n_rows,)`` the song of each explanation (a song's rows: its mask seeds).
        replicates: replications in all (the chunks' ``b`` add up to it).
        seed: the random seed; the same arguments give the same counts.
    """
    rng = np.random.default_rng(seed)
    groups = np.asarray(groups)
    song_of_row = np.asarray(song_of_row, dtype=int)
    n_songs, n_rows = len(groups), len(song_of_row)
    rows_of_song = [np.flatnonzero(song_of_row == s) for s in range(n_songs)]
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    chunk = max(1, min(replicates, chunk_cells // max(n_rows + n_songs, 1)))
    done = 0
    while done < replicates:
        b = min(chunk, replicates - done)
        song_counts = np.zeros((b, n_songs))
        for songs in members:
            song_counts[:, songs] = rng.multinomial(len(songs), np.full(len(songs), 1.0 / len(songs)), size=b)
        counts = np.zeros((b, n_rows))
        for rows, songs in _by_seed_count(rows_of_song):
            if rows.shape[1] == 1:
                counts[:, rows[:, 0]] = song_counts[:, songs]
            else:
                even = np.full(rows.shape[1], 1.0 / rows.shape[1])
                drawn = rng.multinomial(song_counts[:, songs].astype(np.int64), even)  # (b, n, m)
                counts[:, rows.ravel()] = drawn.reshape(b, -1)
        done += b
        yield counts


def _by_seed_count(rows_of_song: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Songs grouped by their number of explanations: ``(rows (n, m), songs (n,))`` per ``m``."""
    sizes = np.array([len(r) for r in rows_of_song])
    grouped = []
    for m in np.unique(sizes):
        songs = np.flatnonzero(sizes == m)
        if m:
            grouped.append((np.stack([rows_of_song[s] for s in songs]), songs))
    return grouped


def percentile_interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` percentile interval along axis 0 of ``samples`` ``(replicates, ...)``, NaN-aware
    (a replication where the statistic is undefined, e.g. a feature never drawn, is left out)."""
    tail = (1.0 - level) / 2.0
    with warnings.catch_warnings():  # all-NaN slices (never defined) give NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(samples, [tail, 1.0 - tail], axis=0)
    return low, high
