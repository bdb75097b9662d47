"""Global importance across songs, per class: the GALE-style variant, and what both methods share.

Two methods (``report.aggregation``, :data:`AGGREGATION_METHODS`): ``paper`` is the MusicLIME
paper's own (:mod:`.paper_aggregation`); ``gale`` is the variant of this module, described here.

For class ``c`` (the label each song's explanation explains: its predicted class) and a group ``g``
of features (a source, a segment index, a modality, a component, a word), with ``W_ig`` the summed
``|weight|`` of song ``i``'s features in ``g``:

* ``I_LIME = sqrt(sum_i W_ig)`` (Ribeiro et al.'s global importance);
* ``I_AVG = sum_i W_ig / n_g``, ``n_g`` = songs of class ``c`` in which ``g`` has a non-zero weight;
* homogeneity ``h_g = 1 - H_g / log(C)`` with ``H_g`` the Shannon entropy of ``I_AVG`` normalised
  over the ``C`` classes (van der Linden et al.'s GALE): 1 when ``g`` matters for one class only,
  0 when it matters equally for all; ``I_HOM = I_AVG * h_g`` (the entropy-weighted variant).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from ..common.atomic_io import write_text
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import explained_label

log = logging.getLogger(__name__)

#: The values of ``report.aggregation``: the MusicLIME paper's method, and the GALE-style variant.
AGGREGATION_METHODS = ("paper", "gale")
#: ``report.aggregation_features`` of the paper's method: every feature's full-fit weight (as the notebook), or
#: each explanation's selected top features (:mod:`.paper_aggregation`).
AGGREGATION_FEATURES = ("all", "top")

#: Columns of ``importance-<method>.csv``; ``songs`` is filled for lyric lines only (the songs they come from).
COLUMNS = ("method", "class", "class_name", "kind", "group", "n_songs", "n_present", "sum_abs_weight", "I_LIME",
           "I_AVG", "homogeneity", "I_HOM", "songs")


#: Kinds whose groups are single features (the paper aggregates these); the others group many features.
FEATURE_KINDS = ("component", "word", "line", "section")


def feature_groups(feature: dict, lyrics_unit: str, lines: bool = False) -> list[tuple[str, str]]:
    """``(kind, group)`` pairs a feature belongs to.

    Audio ``drums_T3``: ``("modality", "audio")``, ``("source", "drums")``, ``("segment", "T3")``,
    ``("component", "drums_T3")``. Lyrics: ``("modality", "lyrics")`` and, for ``lyrics_unit="word"``,
    ``("word", <word>)``, for ``"section"`` ``("section", <tag>)`` (a chorus is a chorus in any song).
    Lines (``line`` and ``distinct_line``) are song-specific, so they have a group ``("line", <text>)``
    only when ``lines`` is true (the paper's method keys every feature by its text, lines included).
    A distinct line is one feature, so a song counts it once however often it sings it.
    """
    if feature["type"] == "audio":
        source, segment = feature["feature"].rsplit("_T", 1)
        return [("modality", "audio"), ("source", source), ("segment", f"T{segment}"),
                ("component", feature["feature"])]
    if lyrics_unit in ("word", "section"):
        return [("modality", "lyrics"), (lyrics_unit, feature["feature"])]
    return [("modality", "lyrics")] + ([("line", feature["feature"])] if lines else [])


def song_group_weights(explanation: MusicLIMEExplanation, label: int) -> dict[tuple[str, str], float]:
    """Summed ``|weight|`` per ``(kind, group)`` of one explanation for ``label``."""
    unit = explanation.metadata.get("lyrics_unit", "line")
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for index, weight in explanation.local_exp[label]:
        for key in feature_groups(explanation.features[int(index)], unit):
            totals[key] += abs(float(weight))
    return dict(totals)


def global_importance(explanations: Iterable[MusicLIMEExplanation]) -> list[dict]:
    """The GALE-style variant: rows (see :data:`COLUMNS`, ``method="gale"``) per class, kind and group,
    sorted by class, kind and descending ``I_AVG``. Every selected feature counts, whatever its sign."""
    sums: dict[int, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    present: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    n_songs: dict[int, int] = defaultdict(int)
    names: dict[int, str] = {}
    n_classes = 2
    for explanation in explanations:
        label = explained_label(explanation)
        n_classes = max(n_classes, len(explanation.class_names), label + 1)
        names[label] = explanation.label_name(label)
        n_songs[label] += 1
        for key, value in song_group_weights(explanation, label).items():
            sums[label][key] += value
            present[label][key] += value > 0
    averages = {c: {k: (s / present[c][k] if present[c][k] else 0.0) for k, s in groups.items()}
                for c, groups in sums.items()}
    rows = []
    for c in sorted(sums):
        for key, total in sums[c].items():
            spread = [averages.get(other, {}).get(key, 0.0) for other in range(n_classes)]
            homogeneity = homogeneity_of(spread)
            rows.append({"method": "gale", "class": c, "class_name": names[c], "kind": key[0], "group": key[1],
                         "n_songs": n_songs[c], "n_present": present[c][key], "sum_abs_weight": total,
                         "I_LIME": math.sqrt(total), "I_AVG": averages[c][key], "homogeneity": homogeneity,
                         "I_HOM": averages[c][key] * homogeneity, "songs": ""})
    return sorted(rows, key=lambda r: (r["class"], r["kind"], -r["I_AVG"], r["group"]))


def homogeneity_of(importances: list[float]) -> float:
    """``1 - H / log(C)`` of the importances of one group across ``C`` classes (1 = one class only)."""
    total = sum(importances)
    if total <= 0 or len(importances) < 2:
        return 1.0 if total > 0 else 0.0
    probs = [v / total for v in importances if v > 0]
    entropy = -sum(p * math.log(p) for p in probs)
    return max(0.0, 1.0 - entropy / math.log(len(importances)))


def write_importance_csv(rows: list[dict], out_csv: str | os.PathLike) -> Path:
    """Write :func:`global_importance` or :func:`.paper_aggregation.paper_importance` rows as CSV with columns
    :data:`COLUMNS` (atomic)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return write_text(out_csv, buffer.getvalue())
