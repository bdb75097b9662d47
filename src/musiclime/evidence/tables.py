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
from ..method.explanation_views import certified_counts, explained_label

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
    within each modality, empty where not recorded), weight shares and top features."""
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
            **{f"share_{g}": round(v, 4) for g, v in sorted(weight_shares(exp, label).items())},
            "top_features": "; ".join(f"{_short(t['feature'])} ({t['weight']:+.3f})" for t in top),
            "explanation": str(path),
        })
    return rows


def write_tsv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Write dict rows as a TSV (union of keys as columns, atomic)."""
    columns: list[str] = []
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
