"""Group means with intervals, and differences between groups tested with family-wise (or FDR) control.

Values are per explanation (``(n_rows, k)``, NaN where a song lacks one), songs are grouped (a class,
a cohort value). For each group and column:

* the **mean** over the group's songs (the point's own explanations, one per song) with a bootstrap
  percentile interval (:mod:`.bootstrap`: songs resampled within the group, mask seeds within songs; the
  tails expanded for the group's songs);
* for a pair of groups, the **difference** of their means with its bootstrap interval (the tails expanded
  for the smaller group's songs: Welch's degrees of freedom are at least that group's, so this errs wide),
  and Welch's t-test of "equal means" on the songs' values (a song's seeds averaged), two-sided.

The p-values of one point's whole family of comparisons are adjusted together (:func:`holm` or
:func:`benjamini_hochberg`); a difference **holds** when its adjusted p-value is at most ``alpha``.
Holm controls the chance of any wrong "holds" in the family at ``alpha``; Benjamini-Hochberg the
expected share of wrong ones among those that hold. A group needs :data:`MIN_GROUP_SONGS` songs to be
tested.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .bootstrap import CHUNK_CELLS, percentile_interval, resample_counts

log = logging.getLogger(__name__)

#: Songs a group needs before its difference with another is tested (Welch's test on fewer says nothing).
MIN_GROUP_SONGS = 3
#: ``report.difference_correction`` values.
CORRECTIONS = ("holm", "fdr")


@dataclass(frozen=True)
class GroupMeans:
    """Means of ``k`` columns per group: ``mean``, ``low``, ``high`` and ``n`` (songs) ``(n_groups, k)``."""

    groups: list[str]
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray


def group_means(values: np.ndarray, song_of_row: np.ndarray, main_rows: np.ndarray, groups: Sequence[str],
                level: float, replicates: int, seed: int) -> tuple[GroupMeans, np.ndarray]:
    """Per group (``groups``: ``(n_songs,)`` labels): means with intervals; and the replications' means
    ``(replicates, n_groups, k)`` for differences."""
    values = np.asarray(values, dtype=float)
    labels = sorted(set(groups))
    codes = np.array([labels.index(g) for g in groups], dtype=int)
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    row_group = codes[np.asarray(song_of_row, dtype=int)]
    main = np.zeros(len(song_of_row))
    main[main_rows] = 1.0
    estimate = _means(main[None, :], filled, present, row_group, len(labels))[0]
    n = np.stack([(present[main_rows] & (row_group[main_rows] == g)[:, None]).sum(axis=0)
                  for g in range(len(labels))]) if len(labels) else np.zeros((0, values.shape[1]))
    per_chunk = max(1, CHUNK_CELLS // max(len(song_of_row) + len(codes) + len(labels) * values.shape[1], 1))
    replicated = [_means(counts, filled, present, row_group, len(labels))
                  for counts in resample_counts(codes, song_of_row, replicates, seed,
                                                chunk_cells=per_chunk * (len(song_of_row) + len(codes)))]
    samples = np.concatenate(replicated) if replicated else np.full((0, len(labels), values.shape[1]), np.nan)
    low, high = percentile_interval(samples, level, n) if len(samples) else (estimate * np.nan, estimate * np.nan)
    return GroupMeans(labels, estimate, low, high, n), samples


def _means(counts: np.ndarray, filled: np.ndarray, present: np.ndarray, row_group: np.ndarray,
           n_groups: int) -> np.ndarray:
    """``(b, n_groups, k)`` weighted means of ``filled`` (counts ``(b, n_rows)``), NaN where a group has none."""
    out = np.full((counts.shape[0], n_groups, filled.shape[1]), np.nan)
    for g in range(n_groups):
        rows = np.flatnonzero(row_group == g)
        weight = counts[:, rows] @ present[rows].astype(float)
        total = counts[:, rows] @ filled[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, g, :] = np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan)
    return out


def welch_p_values(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sided Welch t-test p-values per column of ``a`` ``(n_a, k)`` against ``b`` ``(n_b, k)`` (NaN rows
    left out); NaN where a side has fewer than :data:`MIN_GROUP_SONGS` values or both have no spread."""
    from scipy import stats

    p = np.full(a.shape[1], np.nan)
    for j in range(a.shape[1]):
        x, y = a[:, j][~np.isnan(a[:, j])], b[:, j][~np.isnan(b[:, j])]
        if min(len(x), len(y)) < MIN_GROUP_SONGS:
            continue
        if np.allclose(x, x[0], rtol=1e-9, atol=1e-12) and np.allclose(y, y[0], rtol=1e-9, atol=1e-12):
            if not np.isclose(x[0], y[0], rtol=1e-9, atol=1e-12):
                p[j] = 0.0  # no spread on either side, different values: no test needed
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p[j] = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
    return p


def _ascending(p_values: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p, all-NaN adjusted, indices of the tested p-values in ascending order)``; NaN is not tested."""
    p = np.asarray(p_values, dtype=float)
    tested = np.flatnonzero(~np.isnan(p))
    return p, np.full(p.shape, np.nan), tested[np.argsort(p[tested], kind="stable")]


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count in the family)."""
    p, adjusted, order = _ascending(p_values)
    m, running = len(order), 0.0
    for i, index in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[index]))
        adjusted[index] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate; NaN stays NaN)."""
    p, adjusted, order = _ascending(p_values)
    m, running = len(order), 1.0
    for i in range(m - 1, -1, -1):
        running = min(running, p[order[i]] * m / (i + 1))
        adjusted[order[i]] = min(1.0, running)
    return adjusted


def adjust(p_values: Sequence[float], correction: str) -> np.ndarray:
    """Adjusted p-values by ``correction`` (``holm`` or ``fdr``)."""
    if correction == "holm":
        return holm(p_values)
    if correction == "fdr":
        return benjamini_hochberg(p_values)
    from ..common.errors import ConfigError

    raise ConfigError(f"config key report.difference_correction: unknown value {correction!r}; "
                      f"choose one of {list(CORRECTIONS)}")


def pairs_to_compare(labels: Sequence[str], counts: Sequence[int], max_levels: int = 4) -> list[tuple[str, str]]:
    """The pairs of groups compared: every pair of groups with :data:`MIN_GROUP_SONGS` songs when there are
    at most ``max_levels`` such groups, else each group against the others (``"not <group>"``)."""
    ready = [g for g, n in zip(labels, counts) if n >= MIN_GROUP_SONGS]
    if len(ready) <= max_levels:
        return [(a, b) for i, a in enumerate(ready) for b in ready[i + 1:]]
    return [(g, f"not {g}") for g in ready]
