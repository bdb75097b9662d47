"""What a song page claims, as data: the certified sets and orders, the leaders it names, the shares.

A page's lead (:mod:`musiclime.evidence.lead`) writes these claims in words, and the stability of
claims (:mod:`musiclime.evidence.trust.claim_stability`) asks whether explanations of the song with
other mask seeds make the same ones. Both read them from here, so the words and the check cannot
drift apart.

* **Certified sets and orders** per modality: the rankings' certification
  (:mod:`musiclime.evidence.rankings`): the largest certified top set and the leading ranks whose order
  is certified.
* **Named leaders** per modality: the first :data:`MAX_NAMED` of the certified top set, named only
  where the modality is resolved (:func:`resolved`: its top set is certified and, where the exact
  attribution is recorded, removing the modality or its exact value moves the probability by at least
  :data:`~musiclime.method.estimation.coarse_attribution.RESOLVABLE_EFFECT`).
* **Shares**: the modalities' parts of the exact effect, stated only as
  :func:`~musiclime.method.estimation.coarse_attribution.share_kind` allows (whole percent, as written).

Pure functions over an explanation; nothing here calls a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..method.estimation.coarse_attribution import modality_matters, modality_share, share_kind
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import modality_attribution_of
from .rankings import ModalityRanking, RankedFeature, modality_rankings

#: Features a sentence names per modality, at most.
MAX_NAMED = 3


def resolved(ranking: ModalityRanking, attribution: dict | None) -> bool:
    """May a page name ``ranking``'s leaders? A top set is certified and, where the exact attribution
    is recorded, the modality moves the probability by at least ``RESOLVABLE_EFFECT``."""
    if not ranking.judged or ranking.certified < 1:
        return False
    return attribution is None or modality_matters(attribution, ranking.modality)


def named_rows(ranking: ModalityRanking, attribution: dict | None) -> list[RankedFeature]:
    """The leaders a page names: the first :data:`MAX_NAMED` rows of the certified top set, where resolved."""
    return ranking.rows[:min(ranking.certified, MAX_NAMED)] if resolved(ranking, attribution) else []


@dataclass(frozen=True)
class ModalityClaims:
    """What a page claims about one modality's ranking.

    Attributes:
        certified_sets: every certified top set (mask columns), smallest first; a certified order of
            the top ``o`` ranks is the sets of sizes ``1 .. o``.
        named: the columns the lead names (:func:`named_rows`).
    """

    certified_sets: tuple[frozenset[int], ...] = ()
    named: tuple[int, ...] = ()

    @property
    def top_set(self) -> frozenset[int]:
        """The largest certified top set (empty when none)."""
        return self.certified_sets[-1] if self.certified_sets else frozenset()


@dataclass(frozen=True)
class PageClaims:
    """Every claim of a song page's lead.

    Attributes:
        modalities: ``{"audio" | "lyrics": ModalityClaims}`` for each explained modality.
        share_kind: ``"shares"``, ``"opposite"`` or ``"none"``; ``None`` without the exact attribution.
        shares: ``{"audio": 45, "lyrics": 55}`` in whole percent as the page writes them (``share_kind``
            ``"shares"`` only); for ``"opposite"``, the sign of each (``+1`` / ``-1``).
    """

    modalities: dict[str, ModalityClaims] = field(default_factory=dict)
    share_kind: str | None = None
    shares: dict[str, int] = field(default_factory=dict)


def modality_claims(ranking: ModalityRanking, attribution: dict | None) -> ModalityClaims:
    """One modality's claims from its ranking (built with every feature's row or at least the top set's)."""
    columns = ranking.ranking_columns or tuple(row.column for row in ranking.rows)
    sets = tuple(frozenset(columns[:size]) for size in ranking.certified_sets) if ranking.judged else ()
    return ModalityClaims(certified_sets=sets, named=tuple(row.column for row in named_rows(ranking, attribution)))


def stated_shares(attribution: dict | None) -> tuple[str | None, dict[str, int]]:
    """``(share_kind, shares)`` as :class:`PageClaims` holds them."""
    if attribution is None:
        return None, {}
    kind = share_kind(attribution)
    if kind == "shares":
        return kind, {m: round(100 * modality_share(attribution, m)) for m in ("audio", "lyrics")}
    if kind == "opposite":
        return kind, {m: 1 if float(attribution[m]) > 0 else -1 for m in ("audio", "lyrics")}
    return kind, {}


def page_claims(explanation: MusicLIMEExplanation, label: int) -> PageClaims:
    """The claims of the page of ``explanation`` for ``label``."""
    attribution = modality_attribution_of(explanation, label)
    rankings = modality_rankings(explanation, label, top_n=MAX_NAMED)
    kind, shares = stated_shares(attribution if len(rankings) == 2 else None)
    return PageClaims(modalities={r.modality: modality_claims(r, attribution) for r in rankings},
                      share_kind=kind, shares=shares)
