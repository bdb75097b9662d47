"""Summary tables from explanation files: one row per song and point, one table per sweep.

Reads explanations; never recomputes them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

from ..common.atomic_io import write_text
from ..method.explanation import MusicLIMEExplanation, load_explanation
from ..method.explanation_views import attribution_columns, certified_counts, explained_label

log = logging.getLogger(__name__)

#: Source groups for the weight shares of the summary: audio sources by name, lyrics together.
SHARE_GROUPS = ("vocals", "drums", "bass", "other", "residual", "mix", "lyrics")


def weight_shares(explanation: MusicLIMEExplanation, label: int) -> dict[str, float]:
    """Fraction of total ``|weight|`` per source (``drums_T3`` -> ``drums``) and for the lyrics."""
    totals: dict[str, float] = {}
    for index, weight in explanation.local_exp[label]:
        feature = explanation.features[index]
        group = "lyrics" if feature["type"] == "lyrics" else feature["feature"].rsplit("_T", 1)[0]
        totals[group] = totals.get(group, 0.0) + abs(weight)
    total = sum(totals.values()) or 1.0
    return {group: value / total for group, value in totals.items()}


def summary_rows(explanation_paths: list[str | os.PathLike], num_features: int = 10) -> list[dict]:
    """One row per explanation: prediction, fit quality, certified top ranks (``certified_top_k`` and
    within each modality, empty where not recorded), the exact modality and stem attribution
    (``exact_*``, :func:`~musiclime.method.explanation_views.attribution_columns`), weight shares of
    the selected features (``share_*``: sums of |weight|, not effects) and top features."""
    rows = []
    for path in explanation_paths:
        exp = load_explanation(path)
        label = explained_label(exp)
        info = exp.metadata.get("song_info", {})
        top = exp.get_explanation(label, num_features)
        original = exp.probabilities_original
        recon = exp.probabilities_reconstruction
        rows.append({
            "song_id": info.get("song_id", Path(path).parent.name),
            "true_label": info.get("true_label"),
            "predicted_label": exp.predicted_label,
            "explained_label": label,
            "p_original": None if original is None else round(float(original[label]), 6),
            "p_reconstruction": None if recon is None else round(float(recon[label]), 6),
            "score_r2": round(exp.score[label], 6),
            "intercept": round(exp.intercept[label], 6),
            "local_pred": round(exp.local_pred[label], 6),
            **certified_counts(exp, label),
            **{k: (None if v is None else round(v, 6)) for k, v in attribution_columns(exp, label).items()},
            **{f"share_{g}": round(v, 4) for g, v in sorted(weight_shares(exp, label).items())},
            "top_features": "; ".join(f"{_short(t['feature'])} ({t['weight']:+.3f})" for t in top),
            "explanation": str(path),
        })
    return rows


#: Columns of ``attribution-by-class.tsv``.
CLASS_ATTRIBUTION_COLUMNS = ("class", "class_name", "kind", "player", "n_songs", "mean", "mean_abs", "share")


def class_attribution_rows(explanations: Sequence[MusicLIMEExplanation]) -> list[dict]:
    """The exact attribution aggregated per class (the class each song's explanation explains).

    For every class and player (``modality``: audio, lyrics, and their ``interaction``; ``stem``: each
    source and the lyrics): the songs recording it, the mean exact Shapley value (signed: towards the
    class), the mean of its absolute value, and ``share``, that mean's part of its kind's total
    (the interaction is left out of the modality total). Songs written before the exact attribution
    was recorded are left out.
    """
    values: dict[tuple[int, str, str], list[float]] = {}
    names: dict[int, str] = {}
    for exp in explanations:
        label = explained_label(exp)
        columns = attribution_columns(exp, label)
        if not columns:
            continue
        names[label] = exp.label_name(label)
        stems = dict(exp.metadata["stem_attribution"]["labels"][str(label)])
        stems.pop("consistency", None)
        players = [("modality", p, columns[f"exact_{p}"]) for p in ("audio", "lyrics", "interaction")]
        players += [("stem", p, v) for p, v in stems.items()]
        for kind, player, value in players:
            values.setdefault((label, kind, player), []).append(float(value))
    rows = []
    for (label, kind, player), found in sorted(values.items()):
        mean_abs = sum(abs(v) for v in found) / len(found)
        rows.append({"class": label, "class_name": names[label], "kind": kind, "player": player,
                     "n_songs": len(found), "mean": sum(found) / len(found), "mean_abs": mean_abs})
    for row in rows:
        peers = [r["mean_abs"] for r in rows if r["class"] == row["class"] and r["kind"] == row["kind"]
                 and r["player"] != "interaction"]
        row["share"] = None if row["player"] == "interaction" or not sum(peers) else row["mean_abs"] / sum(peers)
    return [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()} for row in rows]


def write_tsv(path: str | os.PathLike, rows: list[dict], columns: Sequence[str] = ()) -> Path:
    """Write dict rows as a TSV (``columns`` first, then the union of the rows' keys; atomic)."""
    columns = list(columns)
    for row in rows:
        columns += [key for key in row if key not in columns]
    lines = ["\t".join(columns)]
    lines += ["\t".join("" if row.get(c) is None else str(row.get(c)) for c in columns) for row in rows]
    return write_text(path, "\n".join(lines) + "\n")


def write_sweep_summary(point_summaries: dict[str, str], point_overrides: dict[str, list[str]],
                        out_tsv: str | os.PathLike) -> Path:
    """Concatenate per-point summaries with the point id and its overrides (one sweep, one table)."""
    import csv

    rows = []
    for point, summary in point_summaries.items():
        with open(summary, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                rows.append({"point": point, "overrides": " ".join(point_overrides[point]), **row})
    return write_tsv(out_tsv, rows)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Columns of ``skipped_songs.tsv``.
SKIPPED_COLUMNS = ("song_id", "line", "stage", "reason")


def write_skipped_songs(rows: Sequence[Mapping[str, str]], out_tsv: str | os.PathLike) -> Path:
    """The songs left out of a run (one row per problem: song, sample-sheet line, stage, reason) as a TSV."""
    lines = ["\t".join(SKIPPED_COLUMNS)]
    lines += ["\t".join(str(row.get(c, "")).replace("\t", " ").replace("\n", " ") for c in SKIPPED_COLUMNS)
              for row in rows]
    return write_text(out_tsv, "\n".join(lines) + "\n")
