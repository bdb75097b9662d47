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

import logging
import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Collection, Iterable

from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import explained_label
from .lyric_roles import ROLE_KINDS, role_groups, song_line_keys

log = logging.getLogger(__name__)

#: The values of ``report.aggregation``: the MusicLIME paper's method, and the GALE-style variant.
AGGREGATION_METHODS = ("paper", "gale")
#: ``report.aggregation_features`` of the paper's method: every feature's full-fit weight (as the notebook), or
#: each explanation's selected top features (:mod:`.paper_aggregation`).
AGGREGATION_FEATURES = ("all", "top")

#: Columns of ``importance-<method>.csv``; ``songs`` is filled for lyric lines only (the songs they come from);
#: the interval columns (:mod:`.importance_intervals`) follow.
COLUMNS = ("method", "class", "class_name", "kind", "group", "n_songs", "n_present", "sum_abs_weight", "I_LIME",
           "I_AVG", "homogeneity", "I_HOM", "songs")
#: Interval columns of the table (``<figure>_low``, ``<figure>_high``, the level).
INTERVAL_COLUMNS = tuple(f"{s}_{end}" for s in ("I_LIME", "I_AVG", "homogeneity", "I_HOM") for end in ("low", "high")
                         ) + ("interval_level",)


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


def explanation_groups(explanation: MusicLIMEExplanation, lines: bool = False,
                       shared_lines: Collection[str] | None = None) -> list[list[tuple[str, str]]]:
    """Per feature of ``explanation`` (in feature order), the ``(kind, group)`` pairs it counts in:
    :func:`feature_groups`, and for lyric lines their roles (:func:`.lyric_roles.role_groups`;
    ``shared_lines``: the lines other songs sing too, :func:`shared_line_keys`)."""
    unit = explanation.metadata.get("lyrics_unit", "line")
    lyrics = explanation.metadata.get("song_info", {}).get("lyrics")
    roles = role_groups(explanation.features, unit, lyrics, shared_lines)
    return [feature_groups(feature, unit, lines) + roles.get(i, []) for i, feature in enumerate(explanation.features)]


def per_line_means(totals: dict[tuple[str, str], float], groups: list[list[tuple[str, str]]]) -> dict:
    """``totals`` with each lyric role's sum divided by the number of the song's lyric features in that role:
    a role's value is the mean weight per line (per feature) of its lines, comparable with one component's."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for keys in groups:
        for key in keys:
            if key[0] in ROLE_KINDS:
                counts[key] += 1
    return {key: (value / counts[key] if key in counts else value) for key, value in totals.items()}


def shared_line_keys(explanations: Iterable[MusicLIMEExplanation]) -> set[str]:
    """The lyric lines (normalised) that more than one song of ``explanations`` sings."""
    seen: dict[str, str] = {}
    shared: set[str] = set()
    for explanation in explanations:
        song = str(explanation.metadata.get("song_info", {}).get("song_id", id(explanation)))
        for key in song_line_keys(explanation.features, explanation.metadata.get("lyrics_unit", "line")):
            if seen.setdefault(key, song) != song:
                shared.add(key)
    return shared


def song_group_weights(explanation: MusicLIMEExplanation, label: int,
                       shared_lines: Collection[str] | None = None) -> dict[tuple[str, str], float]:
    """Summed ``|weight|`` per ``(kind, group)`` of one explanation for ``label`` (its selected features)."""
    groups = explanation_groups(explanation, shared_lines=shared_lines)
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for index, weight in explanation.local_exp[label]:
        for key in groups[int(index)]:
            totals[key] += abs(float(weight))
    return per_line_means(totals, groups)


def global_importance(explanations: Iterable[MusicLIMEExplanation]) -> list[dict]:
    """The GALE-style variant: rows (see :data:`COLUMNS`, ``method="gale"``) per class, kind and group,
    sorted by class, kind and descending ``I_AVG``. Every selected feature counts, whatever its sign."""
    sums: dict[int, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    present: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    n_songs: dict[int, int] = defaultdict(int)
    names: dict[int, str] = {}
    n_classes = 2
    explanations = list(explanations)
    shared = shared_line_keys(explanations)
    for explanation in explanations:
        label = explained_label(explanation)
        n_classes = max(n_classes, len(explanation.class_names), label + 1)
        names[label] = explanation.label_name(label)
        n_songs[label] += 1
        for key, value in song_group_weights(explanation, label, shared).items():
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


def write_importance_csv(rows: list[dict], out_csv: str | os.PathLike,
                         out_parquet: str | os.PathLike | None = None) -> Path:
    """Write :func:`global_importance` or :func:`.paper_aggregation.paper_importance` rows as CSV with columns
    :data:`COLUMNS` and, where the rows have them, :data:`INTERVAL_COLUMNS` (atomic); and as Parquet."""
    from .rows_table import write_rows

    columns = COLUMNS + (INTERVAL_COLUMNS if any("I_AVG_low" in row for row in rows) else ())
    return write_rows(rows, columns, out_csv, out_parquet)
