"""Stability of claims: do explanations of one song with other mask seeds make the page's claims too?

A song page claims certified top sets (and, as sets of sizes 1, 2, ..., certified orders), names
leaders, and states the modalities' shares (:mod:`musiclime.evidence.claims`). Each claim is tested at
its level, so different mask seeds may certify more or less of the same ranking, but they must not
contradict one another. Over every pair of the song's explanations (the page's and its other mask
seeds') and every explained modality:

* ``claims_sets_nested``: the share of pairs whose certified sets are nested, every set of one
  explanation containing or contained in every set of the other. Two right claims about one ranking
  always nest, so a pair that does not proves one of its claims wrong;
* ``claims_leaders_agree``: the share of pairs where the leaders one page names are all in the other's
  certified top set (a page that names none agrees with any);
* ``claims_shares_agree`` (per pair, not per modality): the share of pairs stating the same kind of
  share (:func:`~musiclime.method.estimation.coarse_attribution.share_kind`) with the same whole percents.

Each is 1 when every pair agrees. The raw top-``k`` overlaps (:mod:`.stability`) stay beside them as
figures: near ties below a certified set reorder freely between seeds, and the page says so.
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np

from ...common.errors import MusicLimeError
from ...method.explanation import MusicLIMEExplanation
from ..claims import ModalityClaims, PageClaims, page_claims

#: The metrics :func:`claim_stability` returns, each in ``0 .. 1`` (1: every pair agrees).
CLAIM_METRICS = ("claims_sets_nested", "claims_leaders_agree", "claims_shares_agree")


def sets_nested(a: ModalityClaims, b: ModalityClaims) -> bool:
    """Is every certified set of ``a`` inside or around every certified set of ``b``?"""
    return all(x <= y or y <= x for x in a.certified_sets for y in b.certified_sets)


def leaders_agree(a: ModalityClaims, b: ModalityClaims) -> bool:
    """Are the leaders one of them names all in the other's certified top set?"""
    return set(a.named) <= b.top_set or set(b.named) <= a.top_set


def shares_agree(a: PageClaims, b: PageClaims) -> bool:
    """Do both state the same kind of share with the same whole percents (or signs)?"""
    return a.share_kind == b.share_kind and a.shares == b.shares


def claim_stability(explanations: Sequence[MusicLIMEExplanation], label: int) -> dict[str, float]:
    """Agreement of the claims of ``k >= 2`` explanations of one song (different mask seeds).

    Returns:
        ``{"claims_sets_nested", "claims_leaders_agree", "claims_shares_agree", "claims_pairs"}``:
        shares of agreeing pairs (the first two over pairs x modalities) and the pairs of explanations.
    """
    if len(explanations) < 2:
        raise MusicLimeError(f"stability of claims needs at least 2 explanations of one song, got {len(explanations)}")
    claims = [page_claims(e, label) for e in explanations]
    pairs = list(combinations(claims, 2))
    modalities = [m for m in claims[0].modalities if all(m in c.modalities for c in claims)]
    per_modality = [(a.modalities[m], b.modalities[m]) for a, b in pairs for m in modalities]
    return {"claims_sets_nested": _share([sets_nested(a, b) for a, b in per_modality]),
            "claims_leaders_agree": _share([leaders_agree(a, b) for a, b in per_modality]),
            "claims_shares_agree": _share([shares_agree(a, b) for a, b in pairs]),
            "claims_pairs": float(len(pairs))}


def _share(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else 1.0
