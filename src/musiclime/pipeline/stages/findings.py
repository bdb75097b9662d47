"""What holds across one point's songs: ``findings-<method>.csv`` and ``.parquet``, written by the
``aggregate`` stage (:func:`.reports.aggregate_point`) from the same per-song table as the intervals.

The class figures with bootstrap intervals and the class and cohort differences, tested
(:mod:`musiclime.evidence.dataset_findings`); the point's report page leads with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from ...common.cohorts import cohort_values
from ...evidence.dataset_findings import FINDING_COLUMNS, Settings, dataset_findings
from ...evidence.detector_split import DetectorSplits
from ...evidence.rows_table import write_rows
from ...evidence.song_table import SongTable, song_table
from ...method.explanation import MusicLIMEExplanation, load_explanation
from . import PathLike


def point_song_table(explanations: Sequence[PathLike], seed_explanations: Sequence[Sequence[PathLike]] = (),
                     evaluations: Sequence[PathLike] = (), report: Mapping | None = None,
                     cohorts: Mapping[str, Mapping[str, str]] | None = None,
                     loaded: Sequence[MusicLIMEExplanation] | None = None) -> SongTable:
    """The point's :class:`~musiclime.evidence.song_table.SongTable`: per song its explanation, then its other
    mask seeds' (``seed_explanations``, per song; empty: none), its evaluation and cohort values
    (``report``: ``aggregation`` and ``aggregation_features`` choose the weights; ``loaded``: the point's
    explanations already read, in the order of ``explanations``)."""
    report = dict(report or {})
    songs = []
    for i, path in enumerate(explanations):
        others = seed_explanations[i] if i < len(seed_explanations) else []
        first = loaded[i] if loaded is not None else load_explanation(path)
        songs.append([first, *(load_explanation(p) for p in others)])
    documents = [json.loads(Path(p).read_text(encoding="utf-8")) for p in evaluations]
    return song_table(songs, report.get("aggregation", "paper"), report.get("aggregation_features", "all"),
                      documents, cohorts)


def point_cohorts(explanations: Sequence[MusicLIMEExplanation], report: Mapping, data: Mapping | None,
                  detector: Mapping | None) -> dict[str, dict[str, str]]:
    """``{column: {song_id: value}}``: the sheet's columns ``report.cohorts`` names and, for a head the workflow
    trained (``detector``), its split (``detector split``: train, validation, test; blank for unused songs)."""
    cohorts = cohort_values(data or {}, list(report.get("cohorts") or []))
    splits = DetectorSplits.from_detector(detector)
    if splits is not None:
        songs = [str(e.metadata.get("song_info", {}).get("song_id", "")) for e in explanations]
        cohorts["detector split"] = {song: splits.of(song) or "" for song in songs}
    return cohorts


def write_findings(table: SongTable, settings: Settings, out_csv: PathLike, out_parquet: PathLike | None) -> Path:
    """Write the point's findings (CSV and Parquet, the same rows, columns
    :data:`~musiclime.evidence.dataset_findings.FINDING_COLUMNS`)."""
    return write_rows(dataset_findings(table, settings), FINDING_COLUMNS, out_csv, out_parquet)
