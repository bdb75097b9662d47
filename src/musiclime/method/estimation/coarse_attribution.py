"""Exact Shapley values of the coarse players: the modalities, and each stem beside the lyrics.

LIME's weights say *where* in a song the evidence sits (stems x segments, lyric lines), but a sum of
their absolute values is no measure of how much a modality matters: on a model that ignores the
audio, forty noisy audio weights still add up to a large "share". The coarse questions have exact
answers at a fixed, small cost:

* **Two modalities, two players.** ``v(A, L)`` is the explained class's probability with the audio
  on or off and the lyrics on or off (4 predictions), each "off" the explanation's own: every audio
  component silent, every lyric unit removed. Their Shapley values are
  ``phi_A = ((v(1,0) - v(0,0)) + (v(1,1) - v(0,1))) / 2`` (and the same for ``L``), and the
  interaction is ``v(1,1) - v(1,0) - v(0,1) + v(0,0)``; ``phi_A + phi_L = v(1,1) - v(0,0)``.
* **Each stem and the lyrics, ``S + 1`` players.** Every subset of the sources (all their segments
  on) with the lyrics on or off: ``2 ** (S + 1)`` predictions (32 for four stems; a late-fusion
  model encodes 16 audio inputs and 2 lyrics inputs), and the exact Shapley value of every player.

The modality table is a corner of the stem table (all sources on or none), so one scoring gives
both. A song without lyrics has the sources alone as players (``2 ** S`` predictions) and a lyrics
value of 0. ``v(1, 1)`` is the reconstruction (the sum of the stems), as the surrogate's row 0.

The coarse values also check the fine explanation: the full fit's weights of a stem's components,
summed, are the linear surrogate's own estimate of that stem's effect; their gap to its exact
Shapley value is recorded per stem (``consistency``).

The model scores the coalitions in :mod:`musiclime.method.scoring.coalitions`; this module only computes
with their probabilities (no model call).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from math import factorial
from typing import Iterable

import numpy as np

log = logging.getLogger(__name__)

#: The player standing for every lyric unit at once.
LYRICS_PLAYER = "lyrics"
#: Change in the explained class's probability (removing a whole modality, or its exact Shapley value)
#: below which a modality is taken not to matter: the page names none of its features as leaders
#: (:mod:`musiclime.evidence.lead`) and the stopping rule spends no samples on resolving its ranking.
RESOLVABLE_EFFECT = 0.01
#: What "off" means for each coarse player (recorded beside the values).
OFF_MEANING = {"audio": "every audio component silent", "lyrics": "every lyric unit removed"}


@dataclass(frozen=True)
class CoalitionTable:
    """The model's probabilities on every coalition of the coarse players.

    Attributes:
        players: source names in factorization order, then ``"lyrics"`` when the song has lyrics.
        sources: the source players (the leading ``len(sources)`` players).
        predictions: float64 ``(2 ** len(players), n_classes)``; row ``c`` has player ``i`` on iff
            bit ``i`` of ``c`` is set (row 0: everything off; the last row: everything on).
        costs: what scoring them cost (:meth:`~musiclime.method.scoring.model_io.PredictionResult.costs`, with
            ``n_calls`` and ``seconds``).
    """

    players: tuple[str, ...]
    sources: tuple[str, ...]
    predictions: np.ndarray
    costs: dict

    @property
    def has_lyrics(self) -> bool:
        return LYRICS_PLAYER in self.players[len(self.sources):]

    def value(self, label: int) -> np.ndarray:
        """``v(c)`` for every coalition ``c``: the probability of ``label``, float64 ``(2 ** P,)``."""
        return np.asarray(self.predictions, dtype=np.float64)[:, int(label)]


def exact_shapley(values: np.ndarray) -> np.ndarray:
    """Exact Shapley values ``(P,)`` of a game given on every coalition.

    Args:
        values: ``(2 ** P,)`` ``v(c)``, player ``i`` in ``c`` iff bit ``i`` of ``c`` is set.

    Returns:
        ``phi_i = sum over c not containing i of |c|! (P - |c| - 1)! / P! * (v(c + i) - v(c))``; they
        sum to ``v(all) - v(empty)``.
    """
    values = np.asarray(values, dtype=np.float64)
    n_players = int(round(np.log2(len(values))))
    if 2 ** n_players != len(values):
        raise ValueError(f"values must have 2**P entries, got {len(values)}")
    coalitions = np.arange(len(values))
    sizes = np.array([bin(int(c)).count("1") for c in coalitions])
    weight = np.array([factorial(s) * factorial(n_players - s - 1) / factorial(n_players) if s < n_players else 0.0
                       for s in sizes])
    phi = np.zeros(n_players)
    for i in range(n_players):
        without = coalitions[(coalitions >> i) & 1 == 0]
        phi[i] = float(np.sum(weight[without] * (values[without | (1 << i)] - values[without])))
    return phi


def modality_values(table: CoalitionTable, label: int) -> dict:
    """The two-player game of the modalities for ``label``: Shapley values, interaction, probabilities.

    Returns:
        ``{"audio", "lyrics", "interaction", "audio_share", "probabilities": {"both", "audio_only",
        "lyrics_only", "neither"}}``; ``audio_share`` is ``|phi_A| / (|phi_A| + |phi_L|)`` (1 without
        lyrics, ``None`` when neither moves the probability).
    """
    v = table.value(label)
    audio_bits = 2 ** len(table.sources) - 1
    lyrics_bit = (1 << len(table.sources)) if table.has_lyrics else 0
    both, audio_only = v[audio_bits | lyrics_bit], v[audio_bits]
    lyrics_only, neither = v[lyrics_bit], v[0]
    audio = 0.5 * ((audio_only - neither) + (both - lyrics_only))
    lyrics = 0.5 * ((lyrics_only - neither) + (both - audio_only))
    total = abs(audio) + abs(lyrics)
    return {"audio": float(audio), "lyrics": float(lyrics),
            "interaction": float(both - audio_only - lyrics_only + neither),
            "audio_share": None if total <= 0 else float(abs(audio) / total),
            "probabilities": {"both": float(both), "audio_only": float(audio_only),
                              "lyrics_only": float(lyrics_only), "neither": float(neither)}}


def removal_change(values: dict, modality: str) -> float:
    """The change in the explained class's probability that removing ``modality`` makes (the other
    modality kept), from :func:`modality_values`."""
    probabilities = values["probabilities"]
    return probabilities["lyrics_only" if modality == "audio" else "audio_only"] - probabilities["both"]


def modality_matters(values: dict, modality: str) -> bool:
    """Does ``modality`` move the probability by at least :data:`RESOLVABLE_EFFECT` (removing it, or its
    exact Shapley value)? ``values``: :func:`modality_values`."""
    return max(abs(removal_change(values, modality)), abs(float(values[modality]))) >= RESOLVABLE_EFFECT


def modalities_that_matter(table: CoalitionTable, label: int) -> tuple[str, ...]:
    """The modalities (``"audio"``, ``"lyrics"``) that matter for ``label`` (:func:`modality_matters`)."""
    values = modality_values(table, label)
    return tuple(m for m in ("audio", "lyrics") if modality_matters(values, m))


def modality_share(values: dict, modality: str) -> float | None:
    """``modality``'s part of the two modalities' exact effect, ``|phi_m| / (|phi_A| + |phi_L|)``, from
    :func:`modality_values` (``None`` when neither moves the probability)."""
    share = values.get("audio_share")
    return None if share is None else (share if modality == "audio" else 1.0 - share)


#: How a page may state the modalities' parts (:func:`share_kind`).
SHARE_KINDS = ("shares", "opposite", "none")


def share_kind(values: dict) -> str:
    """How the two modalities' exact values may be stated, from :func:`modality_values`:

    * ``"none"``: ``|phi_A| + |phi_L|`` is below :data:`RESOLVABLE_EFFECT`: neither moves the
      probability enough for a part of it to mean anything, so no share is stated;
    * ``"opposite"``: their signs differ and each reaches :data:`RESOLVABLE_EFFECT`: one pushes towards
      the class, the other away (a share of the pair's absolute values would hide that);
    * ``"shares"``: otherwise, ``|phi_m| / (|phi_A| + |phi_L|)`` each.
    """
    audio, lyrics = float(values["audio"]), float(values["lyrics"])
    if abs(audio) + abs(lyrics) < RESOLVABLE_EFFECT or values.get("audio_share") is None:
        return "none"
    if audio * lyrics < 0 and min(abs(audio), abs(lyrics)) >= RESOLVABLE_EFFECT:
        return "opposite"
    return "shares"


def stem_values(table: CoalitionTable, label: int) -> dict[str, float]:
    """Exact Shapley value of every player (each source, and the lyrics) for ``label``."""
    phi = exact_shapley(table.value(label))
    values = {player: float(value) for player, value in zip(table.players, phi)}
    values.setdefault(LYRICS_PLAYER, 0.0)
    return values


def stem_consistency(values: dict[str, float], fine_weights: np.ndarray, sources: Iterable[str],
                     temporal_segments: int, n_audio_columns: int) -> dict:
    """The fine explanation against the exact coarse values: per source, the sum of its components'
    full-fit weights, and its gap to the source's Shapley value.

    Args:
        values: :func:`stem_values`.
        fine_weights: the full fit's weight per mask column ``(F,)``, the audio components first
            (segment-major) when the audio was perturbed.
        n_audio_columns: mask columns that are audio components (0 when the audio was not perturbed).

    Returns:
        ``{"fine_sums": {source: float}, "gaps": {source: float}, "max_abs_gap": float}`` (empty
        sums and a ``None`` gap when the audio was not perturbed).
    """
    sources = list(sources)
    if n_audio_columns == 0:
        return {"fine_sums": {}, "gaps": {}, "max_abs_gap": None}
    audio = np.asarray(fine_weights, dtype=np.float64)[:n_audio_columns].reshape(temporal_segments, len(sources))
    sums = {source: float(audio[:, s].sum()) for s, source in enumerate(sources)}
    gaps = {source: float(sums[source] - values[source]) for source in sources}
    return {"fine_sums": sums, "gaps": gaps, "max_abs_gap": float(max(abs(g) for g in gaps.values()))}


def attribution_blocks(table: CoalitionTable, labels: Iterable[int], full_weights: dict[int, np.ndarray] | None,
                       temporal_segments: int, n_audio_columns: int) -> tuple[dict, dict]:
    """``metadata["modality_attribution"]`` and ``metadata["stem_attribution"]`` for ``labels``.

    Args:
        full_weights: ``{label: (F,)}`` the full fit's weights (the consistency check), or ``None``.

    Returns:
        ``({"labels": {"<label>": modality_values}, "predictions": 4, "off": ...},
        {"players": [...], "labels": {"<label>": {player: phi, ..., "consistency": {...}}},
        "predictions": 2 ** P, "costs": {...}})``.
    """
    modality, stems = {}, {}
    for label in labels:
        modality[str(label)] = modality_values(table, label)
        entry = stem_values(table, label)
        if full_weights is not None and label in full_weights:
            entry["consistency"] = stem_consistency(entry, full_weights[label], table.sources, temporal_segments,
                                                    n_audio_columns)
        stems[str(label)] = entry
    n_modality = 4 if table.has_lyrics else 2
    return ({"labels": modality, "predictions": n_modality, "off": OFF_MEANING,
             "method": "exact two-player Shapley values (audio, lyrics) and their interaction"},
            {"players": list(table.players), "labels": stems, "predictions": int(len(table.predictions)),
             "costs": table.costs, "method": "exact Shapley values of each source (all its segments) and the lyrics"})
