"""The MusicLIME paper's global aggregation, exactly as its published notebook computes it.

Sotirou, Lyberatos, Mastromichalakis, Stamou, "MusicLIME: Explainable Multimodal Music
Understanding" (arXiv 2409.10496), notebook "Global Aggregations of Local Explanations" of the
authors' repository (IamTheo2000/MusicLIME), after van der Linden et al.'s GALE (arXiv 1907.03039).
What the notebook does, and this module with it:

* each song is explained for its predicted class ``c``; only its **positively** weighted features
  count (``weight > 0``; zero and negative weights are dropped). ``S_cj`` sums their weights
  (``|weight|`` = weight) over the songs of class ``c``; ``n_cj`` counts the songs where feature
  ``j`` has a positive weight;
* ``I_LIME = sqrt(S_cj)``, ``I_AVG = S_cj / n_cj``;
* per feature ``j``: ``p_cj = I_LIME_cj / sum_c I_LIME_cj`` and the base-2 entropy
  ``H_j = -sum_c p_cj log2 p_cj`` (classes where ``j`` never counted add nothing);
* ``H`` is min-max normalised **over all features of all classes together** (audio components and
  lyric units in one pool, as the notebook keeps them in one dictionary), and the weighted score is
  ``I_HOM = I_LIME * (1 - (H_j - min H) / (max H - min H))``: ``I_LIME``, not ``I_AVG``, is weighted.

Features are keyed by name: audio components ``drums_T3``, lyric words, and (``explain.lyrics_unit=line``)
lyric lines by their text, as the notebook keys every feature. Beyond the notebook, and marked so in
docs/reports.md: (a) the same sums are reported for groups of features (``modality``, ``source``,
``segment``: ``n`` counts the songs where the group has at least one positive feature), with the
min-max taken within each group kind; (b) when every ``H`` in a pool is equal (e.g. one class
only) the notebook divides by zero; here the normalised entropy is then 0 (weight 1).

The notebook explained with ``num_features=100000``: LIME then fits its ridge on every feature, and
every feature's weight is aggregated. So does this module by default (``features="all"``,
``report.aggregation_features=all``), from each explanation's full fit (``metadata["full_fit"]``: the
same ridge, kernel, masks and predictions, :mod:`musiclime.method.estimation.full_fit`). With
``features="top"`` it aggregates what each explanation's ``local_exp`` holds (its ``explain.num_features``
selected features, default 20; the others count as absent), which on the demo moved homogeneity by up
to 0.97. An explanation without a full fit (written before it existed) counts with its ``local_exp``.
Not confirmed: the paper's text was not available here; these details come from the notebook alone.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Collection, Iterable

from ..common.errors import ConfigError
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import explained_label
from .aggregation import (AGGREGATION_FEATURES, FEATURE_KINDS, explanation_groups, global_importance, per_line_means,
                          shared_line_keys)

Key = tuple[str, str]


def feature_weights(explanation: MusicLIMEExplanation, label: int, features: str = "all") -> list[tuple[int, float]]:
    """``(feature index, weight)`` pairs of one explanation for ``label``: every feature's full-fit weight
    (``features="all"``, when the explanation has a full fit) or its ``local_exp`` (``"top"``)."""
    if features not in AGGREGATION_FEATURES:
        raise ConfigError(f"config key report.aggregation_features: unknown value {features!r}; "
                          f"choose one of {list(AGGREGATION_FEATURES)}")
    full = (explanation.metadata.get("full_fit") or {}).get("labels", {}).get(str(label))
    if features == "all" and full is not None:
        return list(enumerate(full["weights"]))
    return [(int(index), float(weight)) for index, weight in explanation.local_exp[label]]


def positive_group_weights(explanation: MusicLIMEExplanation, label: int, features: str = "all",
                           shared_lines: Collection[str] | None = None) -> dict[Key, float]:
    """Summed positive weight per ``(kind, group)`` of one explanation for ``label`` (lines keyed by text), over
    the features :func:`feature_weights` gives; a lyric role's (:mod:`.lyric_roles`) is the mean per line of
    the role (:func:`.aggregation.per_line_means`)."""
    groups = explanation_groups(explanation, lines=True, shared_lines=shared_lines)
    totals: dict[Key, float] = defaultdict(float)
    for index, weight in feature_weights(explanation, label, features):
        if float(weight) <= 0:
            continue
        for key in groups[int(index)]:
            totals[key] += float(weight)
    return per_line_means(totals, groups)


def entropy_bits(values: list[float]) -> float:
    """Base-2 Shannon entropy of ``values`` normalised to sum 1 (zeros add nothing; 0 when all are 0)."""
    total = sum(values)
    if total <= 0:
        return 0.0
    return -sum(v / total * math.log2(v / total) for v in values if v > 0)


def min_max(values: dict[Key, float]) -> dict[Key, float]:
    """``(v - min) / (max - min)`` of each value; 0 for all when ``max == min`` (the notebook divides by zero)."""
    low, high = min(values.values(), default=0.0), max(values.values(), default=0.0)
    return {k: (v - low) / (high - low) if high > low else 0.0 for k, v in values.items()}


def paper_importance(explanations: Iterable[MusicLIMEExplanation], features: str = "all") -> list[dict]:
    """The paper's global importance: rows of :data:`.aggregation.COLUMNS` with ``method="paper"``.

    ``sum_abs_weight`` is ``S_cj`` (positive weights only), ``n_present`` is ``n_cj``, ``homogeneity``
    is ``1 - normalised H_j`` and ``I_HOM = I_LIME * homogeneity``; sorted by class, kind and
    descending ``I_AVG``. ``songs`` lists, for lyric lines, the songs the line counted in. ``features``:
    ``all`` (every feature's full-fit weight, as the notebook) or ``top`` (each explanation's selected ones).
    """
    sums: dict[int, dict[Key, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[int, dict[Key, int]] = defaultdict(lambda: defaultdict(int))
    line_songs: dict[int, dict[Key, list[str]]] = defaultdict(lambda: defaultdict(list))
    n_songs: dict[int, int] = defaultdict(int)
    names: dict[int, str] = {}
    explanations = list(explanations)
    shared = shared_line_keys(explanations)
    for explanation in explanations:
        label = explained_label(explanation)
        names[label] = explanation.label_name(label)
        n_songs[label] += 1
        song = str(explanation.metadata.get("song_info", {}).get("song_id", ""))
        for key, value in positive_group_weights(explanation, label, features, shared).items():
            sums[label][key] += value
            counts[label][key] += 1
            if key[0] == "line":
                line_songs[label][key].append(song)
    lime = {c: {k: math.sqrt(s) for k, s in groups.items()} for c, groups in sums.items()}
    keys = {k for groups in lime.values() for k in groups}
    entropy = {k: entropy_bits([lime[c].get(k, 0.0) for c in lime]) for k in keys}
    normalised: dict[Key, float] = {}
    for pool in [set(FEATURE_KINDS)] + [{kind} for kind in {k[0] for k in keys} - set(FEATURE_KINDS)]:
        normalised.update(min_max({k: h for k, h in entropy.items() if k[0] in pool}))
    rows = []
    for c in sorted(sums):
        for key, total in sums[c].items():
            homogeneity = 1.0 - normalised[key]
            rows.append({"method": "paper", "class": c, "class_name": names[c], "kind": key[0], "group": key[1],
                         "n_songs": n_songs[c], "n_present": counts[c][key], "sum_abs_weight": total,
                         "I_LIME": lime[c][key], "I_AVG": total / counts[c][key], "homogeneity": homogeneity,
                         "I_HOM": lime[c][key] * homogeneity, "songs": " ".join(line_songs[c].get(key, []))})
    return sorted(rows, key=lambda r: (r["class"], r["kind"], -r["I_AVG"], r["group"]))


def importance_rows(explanations: Iterable[MusicLIMEExplanation], method: str, features: str = "all") -> list[dict]:
    """Global importance by ``method`` (``report.aggregation``): ``paper`` (over ``features``,
    ``report.aggregation_features``) or ``gale`` (each explanation's selected features)."""
    if method == "paper":
        return paper_importance(explanations, features)
    if method == "gale":
        return global_importance(explanations)
    raise ConfigError(f"config key report.aggregation: unknown method {method!r}; choose paper or gale")
