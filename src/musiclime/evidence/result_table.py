"""One Parquet table per sweep point: every explanation's features, exact attributions and trust figures.

``results/points/<point>/explanations.parquet`` holds one row per song and feature (a 40-component,
16-line song gives 56 rows), so a dataset's explanations are read in one file, with pandas or DuckDB,
without opening thousands of JSON files or querying MLflow run by run:

* the song: ``point``, ``song_id``, ``true_label``, ``predicted_label``, ``explained_label``,
  ``label_name``, ``p_original``, ``num_samples``, ``seed``;
* the feature: ``column`` (its mask column), ``feature`` (``drums_T3``, a lyric line's text),
  ``modality``, ``repeats`` (a grouped lyric unit's count), ``weight`` (the full fit's, as the pages
  rank them; the explanation's own where no full fit was recorded), ``rank`` (within its modality, by
  ``|weight|``), ``in_certified_set`` and ``rank_certified`` (:mod:`.rankings`), ``tied`` (in the
  group tied at the certification boundary);
* the song's exact attribution (``exact_audio``, ``exact_lyrics``, ``exact_interaction``,
  ``exact_audio_share``, ``exact_<stem>``, ``stem_consistency_gap``), repeated on each of its rows;
* its trust figures: every metric of its ``evaluation.json`` as ``trust_<metric>``, and each verdict as
  ``passes_<check>`` (true/false); absent when the point evaluates nothing.

Parquet stores a repeated value once per column chunk (dictionary encoding), so the repetition costs
little. :func:`load_point_table` reads one table, a point's folder or every point under a results folder.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Mapping, Sequence

from ..common.atomic_io import atomic_path
from ..common.errors import MusicLimeError
from ..method.explanation import MusicLIMEExplanation, load_explanation
from ..method.explanation_views import attribution_columns, explained_label
from .rankings import modality_rankings

log = logging.getLogger(__name__)

#: The table's file name inside a point's folder.
TABLE_NAME = "explanations.parquet"
#: Columns every table has, in order (exact attributions and trust figures follow).
BASE_COLUMNS = ("point", "song_id", "true_label", "predicted_label", "explained_label", "label_name", "p_original",
                "num_samples", "seed", "column", "feature", "modality", "repeats", "weight", "rank",
                "in_certified_set", "rank_certified", "tied")


def feature_rows(explanation: MusicLIMEExplanation, evaluation: Mapping | None = None, point: str = "") -> list[dict]:
    """One row per feature of ``explanation`` (module docstring), for its explained label."""
    label = explained_label(explanation)
    info = explanation.metadata.get("song_info", {})
    parameters = explanation.metadata.get("parameters", {})
    original = explanation.probabilities_original
    song = {"point": point, "song_id": str(info.get("song_id", "")),
            "true_label": _optional_int(info.get("true_label")),
            "predicted_label": int(explanation.predicted_label), "explained_label": int(label),
            "label_name": explanation.label_name(label),
            "p_original": None if original is None else float(original[label]),
            "num_samples": _optional_int(parameters.get("num_samples")), "seed": _optional_int(parameters.get("seed"))}
    song_values = {k: _number(v) for k, v in attribution_columns(explanation, label).items()}
    if evaluation is not None:
        song_values.update({f"trust_{k}": _number(v) for k, v in (evaluation.get("metrics") or {}).items()
                            if isinstance(v, (int, float)) or v is None})
        song_values.update({f"passes_{v['check']}": bool(v["passed"]) for v in evaluation.get("verdicts") or []})
    rows = []
    for ranking in modality_rankings(explanation, label, top_n=len(explanation.features)):
        for row in ranking.rows:
            rows.append({**song, "column": row.column, "feature": str(explanation.features[row.column]["feature"]),
                         "modality": ranking.modality, "repeats": row.repeats, "weight": row.weight,
                         "rank": row.rank, "in_certified_set": row.in_certified_set,
                         "rank_certified": row.rank_certified, "tied": row.tied, **song_values})
    return rows


def write_point_table(explanation_paths: Sequence[str | Path], evaluation_paths: Sequence[str | Path] = (),
                      out_parquet: str | Path = TABLE_NAME, point: str = "") -> Path:
    """Write one point's table (module docstring) atomically.

    Args:
        explanation_paths: the point's explanations, one per song.
        evaluation_paths: their ``evaluation.json`` files in the same order (empty: no trust figures).
        point: the sweep point's id, the ``point`` column.
    """
    import pandas as pd

    if evaluation_paths and len(evaluation_paths) != len(explanation_paths):
        raise MusicLimeError(f"{len(explanation_paths)} explanations but {len(evaluation_paths)} evaluations")
    rows = []
    for i, path in enumerate(explanation_paths):
        evaluation = json.loads(Path(evaluation_paths[i]).read_text()) if evaluation_paths else None
        rows += feature_rows(load_explanation(path), evaluation, point)
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=list(BASE_COLUMNS))
    ordered = list(BASE_COLUMNS) + [c for c in frame.columns if c not in BASE_COLUMNS]
    frame = frame[ordered]
    for column in ("true_label", "num_samples", "seed", "repeats"):
        frame[column] = frame[column].astype("Int64")  # integers with gaps, not floats
    with atomic_path(out_parquet) as tmp:
        frame.to_parquet(tmp, index=False)
    log.info("wrote %d rows (%d songs) to %s", len(frame), len(explanation_paths), out_parquet)
    return Path(out_parquet)


def load_point_table(path: str | Path):
    """Read explanation tables into one pandas DataFrame.

    Args:
        path: a table (``explanations.parquet``), a point's folder (``results/points/<point>``), or a
            results folder (every ``points/*/explanations.parquet`` under it, one frame).

    Raises:
        MusicLimeError: no table at ``path``.
    """
    import pandas as pd

    path = Path(path)
    if path.is_file():
        return pd.read_parquet(path)
    for pattern in (TABLE_NAME, f"points/*/{TABLE_NAME}"):
        tables = sorted(path.glob(pattern))
        if tables:
            return pd.concat([pd.read_parquet(t) for t in tables], ignore_index=True)
    raise MusicLimeError(f"no {TABLE_NAME} at {path} (a table, a point's folder or a results folder)")


def _optional_int(value) -> int | None:
    return None if value is None or value == "" else int(value)


def _number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    value = float(value)
    return value if math.isfinite(value) else None
