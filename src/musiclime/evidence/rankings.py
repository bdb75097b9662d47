"""Each modality's own ranking, with how many of its top ranks are certain.

Lyrics usually outweigh audio, so one ranking over every feature shows only lyric units and the
source-separation half of MusicLIME disappears. Here each modality is ranked on its own, by
``|weight|`` of the full fit (every feature weighed; :func:`~musiclime.method.explanation_views.reader_weights`),
and marked with the certification the fit stage recorded (``metadata["certification"]["labels"][label]
["audio" | "lyrics"]``: ``certified_top_k``, ``certified_sets``, ``ranking``, ``tied_at_boundary``).
Older explanations have neither: their own selected weights rank the features and unselected features are 0.

What is certified is a set or an order. ``holm`` and ``bonferroni`` certify top-``k`` *sets* (each
member moves the model more than every feature outside, the order inside not claimed), as many set
sizes as the test separated (``certified_sets``); ``sequential`` certifies the order of its top ``k``
ranks. A rank is certified in its own place only when the sets above and below it both are: rank
``r`` when ``r - 1`` (or ``r = 1``) and ``r`` are certified set sizes. Records written before
``certified_sets`` was kept count as one set of ``certified_top_k`` (``sequential``: an order).
Pure functions over an explanation; nothing here draws or calls a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..method.estimation.coarse_attribution import modality_share, share_kind
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import certification_of, feature_label, modality_attribution_of, reader_weights

#: Modalities in page order.
MODALITIES = ("audio", "lyrics")


@dataclass(frozen=True)
class RankedFeature:
    """One row of a modality's ranking.

    Attributes:
        rank: 1-based rank within the modality.
        column: the feature's mask column (index into ``explanation.features``).
        label: reader-facing name (``drums_T3``; a lyric unit with its repeat count, ``La la la (x8)``).
        weight: weight towards the explained class.
        in_certified_set: it belongs to the modality's certified top-``k`` set.
        rank_certified: its own place is certified (the top ``rank - 1`` and the top ``rank`` are both
            certified sets): the only rows a page marks as certified ranks.
        tied: it belongs to the group tied at the certification boundary.
        repeats: how often the song sings a grouped lyric unit (``None`` for other features).
    """

    rank: int
    column: int
    label: str
    weight: float
    in_certified_set: bool = False
    rank_certified: bool = False
    tied: bool = False
    repeats: int | None = None


@dataclass(frozen=True)
class ModalityRanking:
    """A modality's features by ``|weight|`` and what is certain about their order.

    Attributes:
        modality: ``audio`` or ``lyrics``.
        rows: the top features, :class:`RankedFeature`, best first.
        total: features of the modality.
        share: the modality's part of the sum of ``|weight|`` over every feature (0..1).
        certified_top_k: the size of the largest certified top set (``None`` when no certification was
            recorded).
        certified_sets: every certified top-set size, ascending (``certified_top_k`` the last).
        judged: the certification had enough distinct masks to judge.
        tie_ranks: ``(first, last)`` ranks of the group tied at the boundary; ``None`` when none.
        full_fit: the weights are the full fit's (else the explanation's own, unselected features 0).
        exact: the modality's exact two-player Shapley value towards the explained class
            (:mod:`musiclime.method.estimation.coarse_attribution`); ``None`` when not recorded.
        exact_share: its ``|exact|`` over both modalities' (0..1); ``None`` when not recorded or when no
            share is stated (:func:`~musiclime.method.estimation.coarse_attribution.share_kind`).
        ranking_columns: every feature of the modality (mask columns), best first.
    """

    modality: str
    rows: list[RankedFeature] = field(default_factory=list)
    total: int = 0
    share: float = 0.0
    certified_top_k: int | None = None
    certified_sets: tuple[int, ...] = ()
    judged: bool = False
    tie_ranks: tuple[int, int] | None = None
    full_fit: bool = False
    exact: float | None = None
    exact_share: float | None = None
    ranking_columns: tuple[int, ...] = ()

    @property
    def share_words(self) -> str:
        """The modality's part in words: ``4% of the effect`` (exact) or, for explanations without the
        exact attribution, ``26% of the weight`` (a sum of |weights|, not an effect)."""
        if self.exact_share is not None:
            return f"{self.exact_share:.0%} of the effect"
        if self.exact is not None:
            return f"exact effect {self.exact:+.3f}"
        return f"{self.share:.0%} of the weight"

    @property
    def certified(self) -> int:
        """The size of the certified top set (0 when none or not recorded)."""
        return int(self.certified_top_k or 0)

    @property
    def ordered(self) -> int:
        """Leading ranks whose order is certified: the largest ``o`` with the top 1, 2, ..., ``o`` all
        certified sets (0 when the top rank alone is not certified)."""
        return ordered_ranks(self.certified_sets)

    @property
    def top_set(self) -> tuple[int, ...]:
        """Mask columns of the certified top set, best first (empty when none)."""
        return tuple(self.ranking_columns[:self.certified])

    def status(self, min_ranks: int = 1) -> str:
        """What is certain, in words: ``top 3 of 40 audio ranks certified``, or why they are not (fewer
        than ``min_ranks`` certified, no certification recorded, too few distinct masks to judge)."""
        if self.certified_top_k is None:
            return f"{self.modality} ranks not certified (no rank certification was recorded for this explanation)"
        if not self.judged:
            return f"{self.modality} ranks not certified (too few distinct masks to judge)"
        if self.certified == 0:
            return f"{self.modality} ranks not certified (none of {self.total} certain)"
        what = self._certified_words()
        if self.certified < min_ranks:
            return f"only {what}; the rest not"
        return what

    def _certified_words(self) -> str:
        """``the top 4 of 40 audio ranks certified as a set (their order not certified)``, ``the top 3 of 40
        lyrics ranks certified in order``, or both parts (``...; ranks 1-2 in order``)."""
        k, o = self.certified, min(self.ordered, self.certified)
        head = f"the top {k} of {self.total} {self.modality} ranks certified"
        if k == 1 or o == k:
            return head + (" in order" if k > 1 else "")
        inner = [s for s in self.certified_sets if s < k]
        if o >= 2:
            return f"{head} as a set, ranks 1-{o} in order"
        if o == 1:
            return f"{head} as a set, rank 1 in its place"
        sizes = f" (and the top {_join_numbers(inner)} as sets)" if inner else ""
        return f"{head} as a set{sizes}, their order not certified"


def ordered_ranks(certified_sets) -> int:
    """The leading ranks whose order ``certified_sets`` certifies: the largest ``o`` with ``1 .. o`` all in it."""
    sizes, o = set(certified_sets), 0
    while o + 1 in sizes:
        o += 1
    return o


def certified_sets_of(record: dict | None) -> tuple[int, ...]:
    """A certification record's certified top-set sizes (``certified_sets``; for records written before
    it was kept: every rank up to ``certified_top_k`` for ``sequential``, the one set otherwise)."""
    if not record or not record.get("judged", True):
        return ()
    k = int(record.get("certified_top_k", 0))
    if "certified_sets" in record:
        return tuple(int(s) for s in record["certified_sets"])
    if k < 1:
        return ()
    return tuple(range(1, k + 1)) if record.get("method") == "sequential" else (k,)


def _join_numbers(values) -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def modality_rankings(explanation: MusicLIMEExplanation, label: int, top_n: int = 10) -> list[ModalityRanking]:
    """Per perturbed modality (audio first), its top ``top_n`` features and their certification."""
    weights, full = reader_weights(explanation, label)
    total = float(np.abs(weights).sum())
    certification = certification_of(explanation, label) or {}
    unit = explanation.metadata.get("lyrics_unit", "line")
    out = []
    for modality in MODALITIES:
        columns = [i for i, f in enumerate(explanation.features) if f["type"] == modality]
        if not columns:
            continue
        record = certification.get(modality) if full else None
        out.append(_ranking(explanation, modality, columns, weights, total, record, unit, top_n, full))
    return [with_exact_share(r, modality_attribution_of(explanation, label)) for r in out]


def with_exact_share(ranking: ModalityRanking, attribution: dict | None) -> ModalityRanking:
    """``ranking`` with its modality's exact Shapley value and, where a page states shares
    (:func:`~musiclime.method.estimation.coarse_attribution.share_kind`), its share (unchanged when not
    recorded)."""
    if attribution is None:
        return ranking
    share = modality_share(attribution, ranking.modality) if share_kind(attribution) == "shares" else None
    return replace(ranking, exact=float(attribution[ranking.modality]), exact_share=share)


def _ranking(explanation: MusicLIMEExplanation, modality: str, columns: list[int], weights: np.ndarray,
             total: float, record: dict | None, unit: str, top_n: int, full: bool) -> ModalityRanking:
    ranking = list(record["ranking"]) if record and record.get("ranking") else sorted(
        columns, key=lambda c: (-abs(weights[c]), c))
    k = None if record is None else int(record.get("certified_top_k", 0))
    sets = certified_sets_of(record)
    boundaries = {0, *sets} | ({len(ranking)} if len(ranking) - 1 in sets else set())
    tied = set(record.get("tied_at_boundary") or []) if record else set()
    rank_of = {column: r for r, column in enumerate(ranking, start=1)}
    tie_ranks = (min(rank_of[c] for c in tied), max(rank_of[c] for c in tied)) if tied else None
    rows = []
    for rank, column in enumerate(ranking[:top_n], start=1):
        feature = explanation.features[column]
        repeats = feature.get("repeats", feature.get("count")) if modality == "lyrics" else None
        rows.append(RankedFeature(rank=rank, column=int(column), label=feature_label({**feature, "unit": unit}),
                                  weight=float(weights[column]), in_certified_set=k is not None and rank <= k,
                                  rank_certified=rank - 1 in boundaries and rank in boundaries,
                                  tied=column in tied, repeats=None if repeats is None else int(repeats)))
    share = float(np.abs(weights[columns]).sum()) / total if total > 0 else 0.0
    return ModalityRanking(modality=modality, rows=rows, total=len(columns), share=share, certified_top_k=k,
                           certified_sets=sets, ranking_columns=tuple(int(c) for c in ranking),
                           judged=bool(record.get("judged", True)) if record else False, tie_ranks=tie_ranks,
                           full_fit=full)
