"""Intervals for the global importance (I_LIME, I_AVG, homogeneity, I_HOM) of each class and group.

Each replication of :func:`.bootstrap.resample_counts` (songs resampled within their class, mask seeds
within songs) recomputes the whole aggregation, cross-class entropy and min-max normalisation
included, from the per-song sums of :mod:`.song_table`; the interval of a figure is the percentile
interval of its replications, its tails expanded for the songs behind the figure (:func:`songs_behind`).
With every explanation of the point counted once (the point's own seeds), the same functions give the
point estimates of :mod:`.paper_aggregation` and :mod:`.aggregation` (tested), so an interval and its
estimate come from one formula.

In a replication where a group never counts for a class, its ``I_LIME`` and ``I_HOM`` are 0 (it has no
weight there) and its ``I_AVG`` is undefined (left out of the interval).

A single feature that only one song has (a lyric line sung in one song, a rare word) gets no interval: its
figures are that song's values. It still counts where it changes the others' figures: in the paper's
min-max of entropies, where it has entropy 0 (one class) in every replication that draws its song. So
it is left out of the replicated table and stands in as "an entropy of 0 is in the pool" of those
replications, which keeps the work and memory proportional to the features songs share.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np

from .aggregation import FEATURE_KINDS, INTERVAL_COLUMNS
from .bootstrap import CHUNK_CELLS, percentile_interval, resample_counts
from .song_table import SongTable, kinds_of, rows_by_class

log = logging.getLogger(__name__)

#: The figures that get intervals, as the importance table's columns name them.
STATISTICS = ("I_LIME", "I_AVG", "homogeneity", "I_HOM")


def class_sums(table: SongTable, counts: np.ndarray, classes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(S, N)``, each ``(b, n_classes, n_keys)``: per replication (``counts`` ``(b, n_rows)``) and class, the
    summed weight of each key and the number of drawn explanations where it is non-zero."""
    by_class = rows_by_class(table)
    b, n_keys = counts.shape[0], len(table.keys)
    sums = np.zeros((b, len(classes), n_keys))
    present = np.zeros((b, len(classes), n_keys))
    for i, c in enumerate(classes):
        rows = by_class.get(c)
        if rows is None or not len(rows):
            continue
        block = table.weights[rows]
        sums[:, i, :] = (block.T @ counts[:, rows].T).T
        present[:, i, :] = ((block > 0).astype(float).T @ counts[:, rows].T).T
    return sums, present


def paper_statistics(sums: np.ndarray, present: np.ndarray, kinds: np.ndarray,
                     zero_entropy: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The paper's figures (:mod:`.paper_aggregation`) from ``(b, C, K)`` sums and presence counts;
    ``zero_entropy`` ``(b,)``: replications whose feature pool also holds an entropy of 0 (a feature of
    one song, left out of the arrays)."""
    lime = np.sqrt(np.maximum(sums, 0.0))
    counted = present > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(counted, sums / np.where(counted, present, 1.0), np.nan)
        share = lime / lime.sum(axis=1, keepdims=True)
        entropy = -np.nansum(np.where(share > 0, share * np.log2(np.where(share > 0, share, 1.0)), 0.0), axis=1)
    anywhere = counted.any(axis=1)  # (b, K)
    normalised = np.full(entropy.shape, np.nan)
    pools = [np.isin(kinds, FEATURE_KINDS)] + [kinds == kind for kind in sorted(set(kinds) - set(FEATURE_KINDS))]
    for index, pool in enumerate(pools):
        member = anywhere & pool[None, :]
        low = np.where(member, entropy, np.inf).min(axis=1, keepdims=True)
        high = np.where(member, entropy, -np.inf).max(axis=1, keepdims=True)
        if index == 0 and zero_entropy is not None:  # the feature pool: one-song features have entropy 0
            low = np.where(zero_entropy[:, None], np.minimum(low, 0.0), low)
            high = np.where(zero_entropy[:, None], np.maximum(high, 0.0), high)
        span = np.where(high > low, high - low, 1.0)
        scaled = np.where(high > low, (entropy - low) / span, 0.0)
        normalised = np.where(member, scaled, normalised)
    homogeneity = np.broadcast_to((1.0 - normalised)[:, None, :], lime.shape)
    return {"I_LIME": lime, "I_AVG": average, "homogeneity": np.where(counted, homogeneity, np.nan),
            "I_HOM": np.where(counted, lime * homogeneity, 0.0)}


def gale_statistics(sums: np.ndarray, present: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """The GALE-style figures (:mod:`.aggregation`) from ``(b, C, K)`` sums and presence counts."""
    counted = present > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(counted, sums / np.where(counted, present, 1.0), 0.0)
        total = average.sum(axis=1, keepdims=True)
        probs = average / np.where(total > 0, total, 1.0)
        entropy = -np.sum(np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1.0)), 0.0), axis=1)
    if n_classes >= 2:
        homogeneity = np.where(total[:, 0, :] > 0, np.maximum(0.0, 1.0 - entropy / math.log(n_classes)), 0.0)
    else:
        homogeneity = np.where(total[:, 0, :] > 0, 1.0, 0.0)
    homogeneity = np.broadcast_to(homogeneity[:, None, :], sums.shape)
    return {"I_LIME": np.sqrt(np.maximum(sums, 0.0)), "I_AVG": np.where(counted, average, np.nan),
            "homogeneity": np.where(counted, homogeneity, np.nan),
            "I_HOM": np.where(counted, average * homogeneity, 0.0)}


def statistics(table: SongTable, counts: np.ndarray, method: str, classes: list[int],
               one_song_rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The figures of ``method`` (``paper`` or ``gale``) for each replication in ``counts`` ``(b, n_rows)``;
    ``one_song_rows`` ``(n_rows,)``: rows with a positive one-song feature left out of ``table``."""
    sums, present = class_sums(table, counts, classes)
    if method == "paper":
        zero = None if one_song_rows is None else (counts[:, one_song_rows] > 0).any(axis=1)
        return paper_statistics(sums, present, kinds_of(table), zero)
    n_classes = max([2, len(table.class_names)] + [c + 1 for c in classes])
    return gale_statistics(sums, present, n_classes)


def importance_intervals(table: SongTable, method: str, level: float = 0.9, replicates: int = 1000,
                         seed: int = 0, one_song_shortcut: bool = True) -> dict[tuple[int, str, str], dict[str, float]]:
    """Per ``(class, kind, group)``: the interval columns (:data:`INTERVAL_COLUMNS`) of each figure; single
    features of one song get none (module docstring; ``one_song_shortcut=False`` replicates them too)."""
    classes = sorted({int(c) for c in table.classes})
    if not classes or not table.keys or replicates < 1:
        return {}
    table, one_song_rows = without_one_song_features(table) if one_song_shortcut else (table, None)
    per_replicate = len(table.song_of_row) + table.n_songs + 8 * len(classes) * len(table.keys)
    samples: dict[str, list[np.ndarray]] = {name: [] for name in STATISTICS}
    per_chunk = max(1, CHUNK_CELLS // per_replicate)  # replications whose figures fit in CHUNK_CELLS numbers
    chunks = resample_counts(table.classes, table.song_of_row, replicates, seed,
                             chunk_cells=per_chunk * (len(table.song_of_row) + table.n_songs))
    for counts in chunks:
        for name, values in statistics(table, counts, method, classes, one_song_rows).items():
            samples[name].append(values.astype(np.float32))
    songs = songs_behind(table, method, classes)
    bounds = {name: percentile_interval(np.concatenate(parts), level, songs) for name, parts in samples.items()}
    intervals = {}
    for i, c in enumerate(classes):
        for k, (kind, group) in enumerate(table.keys):
            entry = {"interval_level": level}
            for name, (low, high) in bounds.items():
                entry[f"{name}_low"], entry[f"{name}_high"] = float(low[i, k]), float(high[i, k])
            intervals[(c, kind, group)] = entry
    return intervals


def without_one_song_features(table: SongTable) -> tuple[SongTable, np.ndarray]:
    """The table without the single features (:data:`.aggregation.FEATURE_KINDS`) that one song alone has,
    and ``(n_rows,)`` whether each row has such a feature with a positive value."""
    columns = table.weights.tocsc()
    songs_of_entries = table.song_of_row[columns.indices]
    starts, ends = columns.indptr[:-1], columns.indptr[1:]
    filled = ends > starts
    low = np.full(len(table.keys), -1)
    high = np.full(len(table.keys), -1)
    if filled.any():
        low[filled] = np.minimum.reduceat(songs_of_entries, starts[filled])
        high[filled] = np.maximum.reduceat(songs_of_entries, starts[filled])
    single = np.isin(kinds_of(table), FEATURE_KINDS) & (low == high)
    if not single.any():
        return table, np.zeros(len(table.song_of_row), dtype=bool)
    rows = np.asarray((columns[:, np.flatnonzero(single)] > 0).sum(axis=1)).ravel() > 0
    kept = np.flatnonzero(~single)
    reduced = replace(table, keys=[table.keys[k] for k in kept], weights=columns[:, kept].tocsr())
    return reduced, rows


def songs_behind(table: SongTable, method: str, classes: list[int]) -> np.ndarray:
    """``(n_classes, n_keys)``: the songs each figure of the point's own explanations averages over: those of
    the class where the feature is present (``paper``: ``I_AVG`` is a mean over them), or all the class's songs
    (``gale``)."""
    if method == "paper":
        counts = np.zeros((1, len(table.song_of_row)))
        counts[0, table.main_rows] = 1.0
        return class_sums(table, counts, classes)[1][0]
    sizes = np.array([(table.classes == c).sum() for c in classes], dtype=float)
    return np.broadcast_to(sizes[:, None], (len(classes), len(table.keys)))


def point_statistics(table: SongTable, method: str) -> dict[tuple[int, str, str], dict[str, float]]:
    """The figures of the point's own explanations (one per song), from the same formulas as the intervals."""
    classes = sorted({int(c) for c in table.classes})
    counts = np.zeros((1, len(table.song_of_row)))
    counts[0, table.main_rows] = 1.0
    values = statistics(table, counts, method, classes)
    return {(c, kind, group): {name: float(v[0, i, k]) for name, v in values.items()}
            for i, c in enumerate(classes) for k, (kind, group) in enumerate(table.keys)}


def importance_rows_of(table: SongTable, method: str) -> list[dict]:
    """The importance rows (:data:`.aggregation.COLUMNS`) of the point's own explanations, from ``table``: what
    :func:`.paper_aggregation.importance_rows` gives from the explanations (tested equal), without computing
    every explanation's groups a second time. A row per class and group that counts in it."""
    classes = sorted({int(c) for c in table.classes})
    counts = np.zeros((1, len(table.song_of_row)))
    counts[0, table.main_rows] = 1.0
    sums, present = class_sums(table, counts, classes)
    values = statistics(table, counts, method, classes)
    main = table.weights[table.main_rows].tocsc()
    rows = []
    for i, c in enumerate(classes):
        n_songs = int((table.classes == c).sum())
        for k in np.flatnonzero(present[0, i] > 0 if method == "paper" else sums[0, i] > 0):
            kind, group = table.keys[k]
            songs = ""
            if method == "paper" and kind == "line":
                holders = main.indices[main.indptr[k]:main.indptr[k + 1]]
                songs = " ".join(table.song_ids[s] for s in sorted(holders) if table.classes[s] == c)
            figures = {name: float(v[0, i, k]) for name, v in values.items()}
            if method == "gale" and np.isnan(figures["I_AVG"]):
                figures["I_AVG"] = 0.0
            rows.append({"method": method, "class": c, "class_name": table.class_names.get(c, str(c)), "kind": kind,
                         "group": group, "n_songs": n_songs, "n_present": int(present[0, i, k]),
                         "sum_abs_weight": float(sums[0, i, k]), **figures, "songs": songs})
    return sorted(rows, key=lambda r: (r["class"], r["kind"], -r["I_AVG"], r["group"]))


def with_intervals(rows: list[dict], intervals: dict[tuple[int, str, str], dict[str, float]]) -> list[dict]:
    """The importance rows with their interval columns (empty where a row has none)."""
    empty = dict.fromkeys(INTERVAL_COLUMNS)
    return [{**row, **intervals.get((int(row["class"]), row["kind"], row["group"]), empty)} for row in rows]
