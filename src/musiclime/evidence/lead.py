"""The answer first: a song page's opening sentences, built from the explanation.

"The model calls this song AI-Generated (P = 0.95). The lyrics carry 96% of the effect, the audio 4%
(exact Shapley values towards AI-Generated: lyrics +0.427, audio +0.016). Among the lyrics, 'Perfect
melody never let me go' (x2) and 'La la la la la la' (x8) lead, both certain. Removing all of the
audio changes P(AI-Generated) by -0.005 (0.954 to 0.949); no audio component stands out."

How much each modality matters comes from the exact two-player Shapley values
(``metadata["modality_attribution"]``, :mod:`musiclime.method.estimation.coarse_attribution`), never from sums
of absolute surrogate weights. Where in a modality the evidence sits comes from its ranking
(:mod:`musiclime.evidence.rankings`), and a sentence names a modality's leaders only where they are
resolved: its top ranks are certified and removing the whole modality moves the probability by at
least :data:`RESOLVABLE_EFFECT`. Otherwise it says what is known (what removing the modality does)
and names no leader. Explanations written before the exact attribution keep the older wording (the
share of the weight). Plain text: the page's template escapes it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..method.estimation.coarse_attribution import RESOLVABLE_EFFECT, modality_matters, modality_share, removal_change
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import modality_attribution_of, stem_attribution_of
from .rankings import ModalityRanking, RankedFeature

#: Features a sentence names per modality, at most.
MAX_NAMED = 3
#: Stems named in the audio's sentence: those whose exact value reaches this.
NAMED_STEM_EFFECT = 0.01
#: What each modality is made of, for "no ... stands out".
UNIT_WORDS = {"audio": "audio component", "lyrics": "lyric unit"}
#: Characters of a lyric unit quoted in a sentence.
MAX_QUOTE_CHARS = 36
#: How a sentence names each modality: (subject, verb, after "Among").
MODALITY_WORDS = {"audio": ("The audio", "carries", "the audio"), "lyrics": ("The lyrics", "carry", "the lyrics")}
COUNT_WORDS = {1: "", 2: "both ", 3: "all three "}


def prediction_sentence(explanation: MusicLIMEExplanation, label: int) -> str:
    """``The model calls this song <class> (P = 0.97).``, and which class is explained when another."""
    probabilities = explanation.probabilities_original
    if probabilities is None:
        probabilities = explanation.probabilities_reconstruction
    predicted = explanation.predicted_label
    p = "" if probabilities is None else f" (P = {float(probabilities[predicted]):.2f})"
    sentence = f"The model calls this song {explanation.label_name(predicted)}{p}."
    if label != predicted:
        sentence += f" This page explains the class {explanation.label_name(label)}."
    return sentence


def component_words(explanation: MusicLIMEExplanation, column: int) -> str:
    """An audio component in words: ``drums in 0-2 s`` (the feature name when segment times are unknown)."""
    feature = explanation.features[column]
    source, _, segment = str(feature["feature"]).rpartition("_T")
    boundaries = np.asarray(explanation.metadata.get("segment_boundaries_s") or [], dtype=np.float64)
    if not source or not segment.isdigit() or int(segment) + 1 >= boundaries.size:
        return str(feature["feature"])
    start, end = boundaries[int(segment)], boundaries[int(segment) + 1]
    return f"{source} in {_seconds(start)}-{_seconds(end)} s"


def _seconds(value: float) -> str:
    return f"{round(float(value), 1):g}"


def lyric_words(explanation: MusicLIMEExplanation, row: RankedFeature) -> str:
    """A lyric unit quoted: ``'La la la la la la' (x8)``, long lines shortened with an ellipsis."""
    text = " ".join(str(explanation.features[row.column]["feature"]).split())
    if len(text) > MAX_QUOTE_CHARS:
        text = text[:MAX_QUOTE_CHARS - 1].rstrip() + "…"
    quoted = f"'{text}'"
    return quoted + (f" (x{row.repeats})" if row.repeats and row.repeats > 1 else "")


def _named(explanation: MusicLIMEExplanation, ranking: ModalityRanking, label_name: str) -> tuple[list[str], str]:
    """The certified leaders a sentence names (at most :data:`MAX_NAMED`) and what is certain about them."""
    rows = ranking.rows[:min(ranking.certified, MAX_NAMED)] if ranking.judged else []
    names = []
    for row in rows:
        audio = ranking.modality == "audio"
        name = component_words(explanation, row.column) if audio else lyric_words(explanation, row)
        names.append(name + (f" (pushing away from {label_name})" if row.weight < 0 else ""))
    if ranking.certified > len(rows):
        return names, f"the top {ranking.certified} of {ranking.total} ranks certain"
    return names, f"{COUNT_WORDS.get(len(rows), '')}certain"


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _why_unnamed(ranking: ModalityRanking) -> str:
    """Why no leader is named: the ranking's certification, or (certified) an effect too small to resolve."""
    if ranking.judged and ranking.certified >= 1:
        return f"its top ranks are certified, but its whole effect is below {RESOLVABLE_EFFECT:g}"
    if ranking.certified_top_k is None:
        return "no rank certification was recorded"
    if not ranking.judged:
        return "too few distinct masks to judge the ranks"
    return "no rank certified"


def removal_effect(attribution: dict, modality: str) -> tuple[float, float, float]:
    """``(p_with, p_without, change)``: the explained class's probability with everything on, with
    ``modality`` removed (the other kept), and the change removing it makes."""
    both, change = attribution["probabilities"]["both"], removal_change(attribution, modality)
    return both, both + change, change


def resolved(ranking: ModalityRanking, attribution: dict | None) -> bool:
    """May a sentence name ``ranking``'s leaders? Its top rank is certified and, where the exact
    attribution is recorded, the modality moves the probability by at least :data:`RESOLVABLE_EFFECT`."""
    if not ranking.judged or ranking.certified < 1:
        return False
    return attribution is None or modality_matters(attribution, ranking.modality)


def stem_clause(explanation: MusicLIMEExplanation, label: int) -> str:
    """``; by stem (exact): vocals +0.040, drums +0.012`` for the stems whose exact value reaches
    :data:`NAMED_STEM_EFFECT` (``""`` when none, or not recorded)."""
    stems = {k: v for k, v in (stem_attribution_of(explanation, label) or {}).items()
             if k not in ("consistency", "lyrics") and abs(v) >= NAMED_STEM_EFFECT}
    if not stems:
        return ""
    ordered = sorted(stems.items(), key=lambda item: -abs(item[1]))
    return "; by stem (exact): " + ", ".join(f"{name} {value:+.3f}" for name, value in ordered)


def share_sentence(explanation: MusicLIMEExplanation, label: int, attribution: dict) -> str:
    """``The lyrics carry 96% of the effect, the audio 4% (exact Shapley values towards X: ...)``."""
    values = {"audio": float(attribution["audio"]), "lyrics": float(attribution["lyrics"])}
    heavy, light = sorted(values, key=lambda m: -abs(values[m]))
    subject, verb, among = MODALITY_WORDS[heavy]
    if modality_share(attribution, heavy) is None:
        return f"Neither the audio nor the lyrics move P({explanation.label_name(label)})."
    exact = ", ".join(f"{m} {values[m]:+.3f}" for m in (heavy, light))
    interaction = float(attribution.get("interaction") or 0.0)
    joint = f"; together {interaction:+.3f} beyond their sum" if abs(interaction) >= RESOLVABLE_EFFECT else ""
    return (f"{subject} {verb} {modality_share(attribution, heavy):.0%} of the effect, {MODALITY_WORDS[light][2]} "
            f"{modality_share(attribution, light):.0%} (exact Shapley values towards {explanation.label_name(label)}: "
            f"{exact}{joint}).")


def _opening(ranking: ModalityRanking, first: bool, only: bool) -> tuple[str, str]:
    """The start of a sentence without the exact attribution, and the mark after it: ``The audio
    carries 26% of the weight`` + ``:`` (first), ``Among the audio (26% of the weight)`` + ``,``, or, for
    a single modality, ``Among the audio`` + ``,``."""
    subject, verb, among = MODALITY_WORDS[ranking.modality]
    if only:
        return f"Among {among}", ","
    if first:
        return f"{subject} {verb} {ranking.share:.0%} of the weight", ":"
    return f"Among {among} ({ranking.share:.0%} of the weight)", ","


def modality_sentence(explanation: MusicLIMEExplanation, ranking: ModalityRanking, label: int, first: bool,
                      only: bool = False, attribution: dict | None = None) -> str:
    """One modality's sentence: its certified leaders, or what removing it does and that none stands out.

    With the exact attribution the sentence states no share (the share sentence does); without it
    (older explanations) it states the modality's share of the weight (``first``: opening the
    sentence; ``only``: one modality, no share).
    """
    label_name = explanation.label_name(label)
    among = MODALITY_WORDS[ranking.modality][2]
    stems = stem_clause(explanation, label) if ranking.modality == "audio" and attribution else ""
    opening, mark = ("Among " + among, ",") if attribution is not None else _opening(ranking, first, only)
    if not resolved(ranking, attribution):
        tail = f"no {UNIT_WORDS[ranking.modality]} stands out ({_why_unnamed(ranking)})"
        if attribution is not None:
            p_with, p_without, change = removal_effect(attribution, ranking.modality)
            return (f"Removing all of {among} changes P({label_name}) by {change:+.3f} ({p_with:.3f} to "
                    f"{p_without:.3f}){stems}; {tail}.")
        return f"{opening}{';' if mark == ':' else ','} {tail}."
    names, certainty = _named(explanation, ranking, label_name)
    return f"{opening}{mark} {_join(names)} {'leads' if len(names) == 1 else 'lead'} ({certainty}{stems})."


def lead_sentences(explanation: MusicLIMEExplanation, label: int, rankings: Sequence[ModalityRanking]) -> list[str]:
    """The page's opening sentences: the prediction, how much each modality matters (exact, when
    recorded and both modalities are explained), then each modality, the one that matters more first."""
    sentences = [prediction_sentence(explanation, label)]
    attribution = modality_attribution_of(explanation, label)
    both = len(rankings) == 2
    if attribution is not None and both:
        sentences.append(share_sentence(explanation, label, attribution))
        ordered = sorted(rankings, key=lambda r: -abs(float(attribution[r.modality])))
    else:
        ordered = sorted(rankings, key=lambda r: -r.share)
    for i, ranking in enumerate(ordered):
        sentences.append(modality_sentence(explanation, ranking, label, first=i == 0, only=not both,
                                           attribution=attribution))
    return sentences
