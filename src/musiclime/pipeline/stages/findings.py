"""Stage ``findings``: what holds across one point's songs (``findings.csv`` and ``findings.parquet``).

The class figures with bootstrap intervals and the class and cohort differences, tested
(:mod:`musiclime.evidence.dataset_findings`); the point's report page leads with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from ...common.cohorts import cohort_values
from ...evidence.dataset_findings import FINDING_COLUMNS, Settings, dataset_findings
from ...evidence.rows_table import write_rows
from ...evidence.song_table import SongTable, song_table
from ...method.explanation import load_explanation
from . import PathLike


def point_song_table(explanations: Sequence[PathLike], seed_explanations: Sequence[Sequence[PathLike]] = (),
                     evaluations: Sequence[PathLike] = (), report: Mapping | None = None,
                     cohorts: Mapping[str, Mapping[str, str]] | None = None) -> SongTable:
    """The point's :class:`~musiclime.evidence.song_table.SongTable`: per song its explanation, then its other
    mask seeds' (``seed_explanations``, per song; empty: none), its evaluation and cohort values."""
    report = dict(report or {})
    songs = []
    for i, path in enumerate(explanations):
        others = seed_explanations[i] if i < len(seed_explanations) else []
        songs.append([load_explanation(p) for p in [path, *others]])
    documents = [json.loads(Path(p).read_text(encoding="utf-8")) for p in evaluations]
    return song_table(songs, report.get("aggregation", "paper"), report.get("aggregation_features", "all"),
                      documents, cohorts)


def point_findings(explanations: Sequence[PathLike], seed_explanations: Sequence[Sequence[PathLike]],
                   evaluations: Sequence[PathLike], report: Mapping, data: Mapping, out_csv: PathLike,
                   out_parquet: PathLike) -> Path:
    """Write the point's findings (CSV and Parquet, the same rows, columns
    :data:`~musiclime.evidence.dataset_findings.FINDING_COLUMNS`).

    Args:
        explanations, evaluations: per song (evaluations empty when the point evaluates nothing).
        seed_explanations: per song, its explanations with the other mask seeds (the stability seeds).
        report: the point's ``report`` config (intervals, alpha, correction, ``cohorts``).
        data: the ``data`` config (its sample sheet holds the cohort columns).
    """
    cohorts = cohort_values(data, list(report.get("cohorts") or []))
    table = point_song_table(explanations, seed_explanations, evaluations, report, cohorts)
    rows = dataset_findings(table, Settings.from_report(report))
    return write_rows(rows, FINDING_COLUMNS, out_csv, out_parquet)
