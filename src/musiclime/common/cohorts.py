"""Cohort columns of the sample sheet: any column a user names (``report.cohorts``), e.g. ``generator``.

The point's findings compare songs by class and by each cohort column (:mod:`musiclime.evidence.dataset_findings`).
Songs are matched by the sheet's song id column, or, where the table has none, by the ids the workflow
derives from the audio file names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from .errors import ConfigError
from .sheet_table import ids_from_names, read_table


def cohort_values(data: Mapping, columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{column: {song_id: cell}}`` for each named column of the sheet ``data.sample_sheet`` (cells stripped).

    Raises:
        ConfigError: the sheet lacks a named column (the message names ``report.cohorts``, the column,
            the sheet and the columns it has).
    """
    if not columns:
        return {}
    sheet = Path(str(data["sample_sheet"]))
    header, rows = read_table(sheet)
    missing = [c for c in columns if c not in header]
    if missing:
        raise ConfigError(f"config key report.cohorts: column(s) {missing} not in sample sheet {sheet} "
                          f"(its columns: {header})")
    names = dict(data.get("columns") or {})
    id_column, audio_column = names.get("song_id", "song_id"), names.get("audio", "audio")
    if id_column in header:
        ids = [row.get(id_column, "").strip() for _, row in rows]
    else:
        ids = ids_from_names([row.get(audio_column, "") for _, row in rows])
    return {column: {song: row.get(column, "").strip() for song, (_, row) in zip(ids, rows)} for column in columns}
