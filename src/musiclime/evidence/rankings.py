"""Each modality's own ranking, with how many of its top ranks are certain.

Lyrics usually outweigh audio, so one ranking over every feature shows only lyric units and the
source-separation half of MusicLIME disappears. Here each modality is ranked on its own, by
``|weight|`` of the full fit (every feature weighed; :func:`~musiclime.method.explanation_views.reader_weights`),
and marked with the certification the fit stage recorded (``metadata["certification"]["labels"][label]
["audio" | "lyrics"]``: ``certified_top_k``, ``ranking``, ``tied_at_boundary``). Older explanations
have neither: their own selected weights rank the features and unselected features are 0.
Pure functions over an explanation; nothing here draws or calls a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..method.estimation.coarse_attribution import modality_share
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
        certified: its rank is within the modality's certified top ``k``.
        tied: it belongs to the group tied at the certification boundary.
        repeats: how often the song sings a grouped lyric unit (``None`` for other features).
    """

    rank: int
    column: int
    label: str
    weight: float
    certified: bool = False
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
        certified_top_k: ranks certified (``None`` when no certification was recorded).
        judged: the certification had enough distinct masks to judge.
        tie_ranks: ``(first, last)`` ranks of the group tied at the boundary; ``None`` when none.
        full_fit: the weights are the full fit's (else the explanation's own, unselected features 0).
        exact: the modality's exact two-player Shapley value towards the explained class
            (:mod:`musiclime.method.estimation.coarse_attribution`); ``None`` when not recorded.
        exact_share: its ``|exact|`` over both modalities' (0..1); ``None`` when not recorded.
    """

    modality: str
    rows: list[RankedFeature] = field(default_factory=list)
    total: int = 0
    share: float = 0.0
    certified_top_k: int | None = None
    judged: bool = False
    tie_ranks: tuple[int, int] | None = None
    full_fit: bool = False
    exact: float | None = None
    exact_share: float | None = None

    @property
    def share_words(self) -> str:
        """The modality's part in words: ``4% of the effect`` (exact) or, for explanations without the
        exact attribution, ``26% of the weight`` (a sum of |weights|, not an effect)."""
        if self.exact_share is not None:
            return f"{self.exact_share:.0%} of the effect"
        return f"{self.share:.0%} of the weight"

    @property
    def certified(self) -> int:
        """Certified top ranks (0 when none or not recorded)."""
        return int(self.certified_top_k or 0)

    def status(self, min_ranks: int = 1) -> str:
        """What is certain, in words: ``top 3 of 40 audio ranks certified``, or why they are not (fewer
        than ``min_ranks`` certified, no certification recorded, too few distinct masks to judge)."""
        if self.certified_top_k is None:
            return f"{self.modality} ranks not certified (no rank certification was recorded for this explanation)"
        if not self.judged:
            return f"{self.modality} ranks not certified (too few distinct masks to judge)"
        if self.certified == 0:
            return f"{self.modality} ranks not certified (none of {self.total} certain)"
        if self.certified < min_ranks:
            return f"only the top {self.certified} of {self.total} {self.modality} ranks certified; the rest not"
        return f"top {self.certified} of {self.total} {self.modality} ranks certified"


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
    """``ranking`` with its modality's exact Shapley value and share (unchanged when not recorded)."""
    if attribution is None:
        return ranking
    share = modality_share(attribution, ranking.modality)
    return replace(ranking, exact=float(attribution[ranking.modality]), exact_share=0.0 if share is None else share)


def _ranking(explanation: MusicLIMEExplanation, modality: str, columns: list[int], weights: np.ndarray,
             total: float, record: dict | None, unit: str, top_n: int, full: bool) -> ModalityRanking:
    ranking = list(record["ranking"]) if record and record.get("ranking") else sorted(
        columns, key=lambda c: (-abs(weights[c]), c))
    k = None if record is None else int(record.get("certified_top_k", 0))
    tied = set(record.get("tied_at_boundary") or []) if record else set()
    rank_of = {column: r for r, column in enumerate(ranking, start=1)}
    tie_ranks = (min(rank_of[c] for c in tied), max(rank_of[c] for c in tied)) if tied else None
    rows = []
    for rank, column in enumerate(ranking[:top_n], start=1):
        feature = explanation.features[column]
        repeats = feature.get("repeats", feature.get("count")) if modality == "lyrics" else None
        rows.append(RankedFeature(rank=rank, column=int(column), label=feature_label({**feature, "unit": unit}),
                                  weight=float(weights[column]), certified=k is not None and rank <= k,
                                  tied=column in tied, repeats=None if repeats is None else int(repeats)))
    share = float(np.abs(weights[columns]).sum()) / total if total > 0 else 0.0
    return ModalityRanking(modality=modality, rows=rows, total=len(columns), share=share, certified_top_k=k,
                           judged=bool(record.get("judged", True)) if record else False, tie_ranks=tie_ranks,
                           full_fit=full)
