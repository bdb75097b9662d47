"""Intervals for the global importance (I_LIME, I_AVG, homogeneity, I_HOM) of each class and group.

Each replication of :func:`.bootstrap.resample_counts` (songs resampled within their class, mask seeds
within songs) recomputes the whole aggregation, cross-class entropy and min-max normalisation
included, from the per-song sums of :mod:`.song_table`; the interval of a figure is the percentile
interval of its replications. With every explanation of the point counted once (the point's own
seeds), the same functions give the point estimates of :mod:`.paper_aggregation` and :mod:`.aggregation`
(tested), so an interval and its estimate come from one formula.

In a replication where a group never counts for a class, its ``I_LIME`` and ``I_HOM`` are 0 (it has no
weight there) and its ``I_AVG`` is undefined (left out of the interval).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .aggregation import FEATURE_KINDS
from .aggregation import INTERVAL_COLUMNS as _COLUMNS
from .bootstrap import CHUNK_CELLS, percentile_interval, resample_counts
from .song_table import SongTable, kinds_of, rows_by_class

log = logging.getLogger(__name__)

#: The figures that get intervals, as the importance table's columns name them.
STATISTICS = ("I_LIME", "I_AVG", "homogeneity", "I_HOM")
#: The importance table's interval columns, in order.
INTERVAL_COLUMNS = _COLUMNS


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


def paper_statistics(sums: np.ndarray, present: np.ndarray, kinds: np.ndarray) -> dict[str, np.ndarray]:
    """The paper's figures (:mod:`.paper_aggregation`) from ``(b, C, K)`` sums and presence counts."""
    lime = np.sqrt(np.maximum(sums, 0.0))
    counted = present > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(counted, sums / np.where(counted, present, 1.0), np.nan)
        share = lime / lime.sum(axis=1, keepdims=True)
        entropy = -np.nansum(np.where(share > 0, share * np.log2(np.where(share > 0, share, 1.0)), 0.0), axis=1)
    anywhere = counted.any(axis=1)  # (b, K)
    normalised = np.full(entropy.shape, np.nan)
    pools = [np.isin(kinds, FEATURE_KINDS)] + [kinds == kind for kind in sorted(set(kinds) - set(FEATURE_KINDS))]
    for pool in pools:
        member = anywhere & pool[None, :]
        low = np.where(member, entropy, np.inf).min(axis=1, keepdims=True)
        high = np.where(member, entropy, -np.inf).max(axis=1, keepdims=True)
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


def statistics(table: SongTable, counts: np.ndarray, method: str, classes: list[int]) -> dict[str, np.ndarray]:
    """The figures of ``method`` (``paper`` or ``gale``) for each replication in ``counts`` ``(b, n_rows)``."""
    sums, present = class_sums(table, counts, classes)
    if method == "paper":
        return paper_statistics(sums, present, kinds_of(table))
    n_classes = max([2, len(table.class_names)] + [c + 1 for c in classes])
    return gale_statistics(sums, present, n_classes)


def importance_intervals(table: SongTable, method: str, level: float = 0.9, replicates: int = 1000,
                         seed: int = 0) -> dict[tuple[int, str, str], dict[str, float]]:
    """Per ``(class, kind, group)``: the interval columns (:data:`INTERVAL_COLUMNS`) of each figure."""
    classes = sorted({int(c) for c in table.classes})
    if not classes or not table.keys or replicates < 1:
        return {}
    per_replicate = len(table.song_of_row) + table.n_songs + 8 * len(classes) * len(table.keys)
    samples: dict[str, list[np.ndarray]] = {name: [] for name in STATISTICS}
    per_chunk = max(1, CHUNK_CELLS // per_replicate)  # replications whose figures fit in CHUNK_CELLS numbers
    chunks = resample_counts(table.classes, table.song_of_row, replicates, seed,
                             chunk_cells=per_chunk * (len(table.song_of_row) + table.n_songs))
    for counts in chunks:
        for name, values in statistics(table, counts, method, classes).items():
            samples[name].append(values)
    bounds = {name: percentile_interval(np.concatenate(parts), level) for name, parts in samples.items()}
    intervals = {}
    for i, c in enumerate(classes):
        for k, (kind, group) in enumerate(table.keys):
            entry = {"interval_level": level}
            for name, (low, high) in bounds.items():
                entry[f"{name}_low"], entry[f"{name}_high"] = float(low[i, k]), float(high[i, k])
            intervals[(c, kind, group)] = entry
    return intervals


def point_statistics(table: SongTable, method: str) -> dict[tuple[int, str, str], dict[str, float]]:
    """The figures of the point's own explanations (one per song), from the same formulas as the intervals."""
    classes = sorted({int(c) for c in table.classes})
    counts = np.zeros((1, len(table.song_of_row)))
    counts[0, table.main_rows] = 1.0
    values = statistics(table, counts, method, classes)
    return {(c, kind, group): {name: float(v[0, i, k]) for name, v in values.items()}
            for i, c in enumerate(classes) for k, (kind, group) in enumerate(table.keys)}


def with_intervals(rows: list[dict], intervals: dict[tuple[int, str, str], dict[str, float]]) -> list[dict]:
    """The importance rows with their interval columns (empty where a row has none)."""
    empty = dict.fromkeys(INTERVAL_COLUMNS)
    return [{**row, **intervals.get((int(row["class"]), row["kind"], row["group"]), empty)} for row in rows]
