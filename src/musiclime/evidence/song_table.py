"""One point's explanations as arrays: what each song contributes to every global figure.

The global figures (:mod:`.paper_aggregation`, :mod:`.aggregation`, the exact attribution per class,
the trust figures) are sums and means over songs. Their intervals resample songs, so each song's
part is laid out once here:

* ``weights``: ``(n_rows, n_keys)`` sparse, the per-``(kind, group)`` weight of each explanation as the
  chosen method sums it (``paper``: positive full-fit weights, lines keyed by text and by their roles;
  ``gale``: ``|weight|`` of the selected features). A row is one explanation: a song, or one of a song's
  mask seeds when the point has several (``seed_rows``); ``song_of_row`` ``(n_rows,)`` says whose.
* ``exact``: ``(n_rows, n_players)`` the exact Shapley values (probability units) of each modality
  (``audio``, ``lyrics``, ``interaction``) and stem towards the explained class; NaN where not recorded.
* ``trust``: ``(n_songs, n_metrics)`` each song's trust figures (``evaluation.json`` metrics and
  ``passes_<check>`` as 0/1); NaN where not evaluated.
* per song: its id, its class (the label its explanation explains) and its cohort values.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import sparse

from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import attribution_columns, explained_label, stem_attribution_of
from .aggregation import shared_line_keys, song_group_weights
from .paper_aggregation import positive_group_weights

log = logging.getLogger(__name__)

Key = tuple[str, str]
#: Exact-attribution players, as ``(kind, player)``: the modalities, then each stem found.
MODALITY_PLAYERS = ("audio", "lyrics", "interaction")


@dataclass
class SongTable:
    """Per-song values of one sweep point (module docstring); ``n_songs`` songs, ``n_rows >= n_songs`` rows."""

    song_ids: list[str]
    classes: np.ndarray  # (n_songs,) int: the class each song's explanation explains
    class_names: dict[int, str]
    song_of_row: np.ndarray  # (n_rows,) int
    keys: list[Key]
    weights: sparse.csr_matrix  # (n_rows, n_keys) float64
    players: list[Key] = field(default_factory=list)
    exact: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (n_rows, n_players)
    metrics: list[str] = field(default_factory=list)
    trust: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (n_songs, n_metrics)
    cohorts: dict[str, list[str]] = field(default_factory=dict)  # column -> per song value ("" when absent)
    #: rows of the first seed of each song (the explanations the point's own tables are made of)
    main_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def n_songs(self) -> int:
        return len(self.song_ids)

    def song_means(self, values: np.ndarray) -> np.ndarray:
        """``(n_songs, k)`` mean over each song's rows of ``values`` ``(n_rows, k)`` (NaN-aware)."""
        values = np.asarray(values, dtype=float)
        present = ~np.isnan(values)
        sums = np.zeros((self.n_songs, values.shape[1]))
        counts = np.zeros((self.n_songs, values.shape[1]))
        np.add.at(sums, self.song_of_row, np.where(present, values, 0.0))
        np.add.at(counts, self.song_of_row, present)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def song_table(songs: Sequence[Sequence[MusicLIMEExplanation]], method: str = "paper", features: str = "all",
               evaluations: Sequence[Mapping | None] = (), cohorts: Mapping[str, Mapping[str, str]] | None = None,
               ) -> SongTable:
    """Lay out a point's explanations (module docstring).

    Args:
        songs: per song, its explanations: the point's own first, then its other mask seeds' (if any).
        method, features: ``report.aggregation`` and ``report.aggregation_features``.
        evaluations: per song, its ``evaluation.json`` content (None: not evaluated); empty: none.
        cohorts: ``{column: {song_id: value}}`` from the sample sheet.
    """
    shared = shared_line_keys(group[0] for group in songs)
    key_index: dict[Key, int] = {}
    data, indices, indptr = [], [], [0]
    song_ids, classes, song_of_row, main_rows, names = [], [], [], [], {}
    player_values: list[dict[Key, float]] = []
    for s, group in enumerate(songs):
        first = group[0]
        label = explained_label(first)
        song_ids.append(str(first.metadata.get("song_info", {}).get("song_id", s)))
        classes.append(label)
        names.update({int(c): n for c, n in first.class_names.items()})
        names[label] = first.label_name(label)
        main_rows.append(len(song_of_row))
        for explanation in group:
            values = (positive_group_weights(explanation, label, features, shared) if method == "paper"
                      else song_group_weights(explanation, label, shared))
            for key, value in values.items():
                indices.append(key_index.setdefault(key, len(key_index)))
                data.append(value)
            indptr.append(len(indices))
            song_of_row.append(s)
            player_values.append(exact_players(explanation, label))
    weights = sparse.csr_matrix((np.asarray(data, dtype=float), np.asarray(indices, dtype=np.int64), indptr),
                                shape=(len(song_of_row), len(key_index)))
    players = sorted({k for row in player_values for k in row}, key=_player_order)
    exact = np.array([[row.get(p, np.nan) for p in players] for row in player_values], dtype=float).reshape(
        len(player_values), len(players))
    metrics, trust = trust_matrix(evaluations, len(song_ids))
    cohort_values = {column: [str(values.get(song, "")) for song in song_ids]
                     for column, values in (cohorts or {}).items()}
    return SongTable(song_ids, np.asarray(classes, dtype=int), names, np.asarray(song_of_row, dtype=int),
                     list(key_index), weights, players, exact, metrics, trust, cohort_values,
                     np.asarray(main_rows, dtype=int))


def exact_players(explanation: MusicLIMEExplanation, label: int) -> dict[Key, float]:
    """The explanation's exact Shapley values for ``label``: ``("modality", audio|lyrics|interaction)``,
    ``("stem", <source or lyrics>)``, and ``("share", "audio")`` (the audio's exact share of the effect,
    where defined); empty when not recorded."""
    columns = attribution_columns(explanation, label)
    values = {("modality", p): float(columns[f"exact_{p}"]) for p in MODALITY_PLAYERS
              if columns.get(f"exact_{p}") is not None}
    if columns.get("exact_audio_share") is not None:
        values[("share", "audio")] = float(columns["exact_audio_share"])
    stems = dict(stem_attribution_of(explanation, label) or {})
    values.update({("stem", name): float(v) for name, v in stems.items() if name != "consistency"})
    return values


def _player_order(key: Key) -> tuple:
    order = {"audio": 0, "lyrics": 1, "interaction": 2}
    return ({"modality": 0, "share": 1}.get(key[0], 2), order.get(key[1], 3), key[1])


def trust_matrix(evaluations: Sequence[Mapping | None], n_songs: int) -> tuple[list[str], np.ndarray]:
    """``(metric names, (n_songs, n_metrics))``: each evaluation's numeric metrics and, per verdict,
    ``passes_<check>`` (1 passed, 0 failed); NaN where a song lacks one."""
    rows: list[dict[str, float]] = []
    for document in list(evaluations) or [None] * n_songs:
        row = {}
        for name, value in ((document or {}).get("metrics") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
                row[name] = float(value)
        for verdict in (document or {}).get("verdicts") or []:
            if isinstance(verdict, Mapping) and "check" in verdict and "passed" in verdict:
                row[f"passes_{verdict['check']}"] = 1.0 if verdict["passed"] else 0.0
        rows.append(row)
    names = sorted({name for row in rows for name in row})
    table = np.array([[row.get(n, np.nan) for n in names] for row in rows], dtype=float).reshape(len(rows), len(names))
    return names, table


def kinds_of(table: SongTable) -> np.ndarray:
    """``(n_keys,)`` the kind of each key (``component``, ``source``, ...) as an object array."""
    return np.array([k[0] for k in table.keys], dtype=object)


def rows_by_class(table: SongTable) -> dict[int, np.ndarray]:
    """Row indices of each class."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for row, song in enumerate(table.song_of_row):
        grouped[int(table.classes[song])].append(row)
    return {c: np.asarray(rows, dtype=int) for c, rows in sorted(grouped.items())}
