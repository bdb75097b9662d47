"""The answer first: a song page's opening sentences, built from the explanation.

"The model calls this song AI-Generated (P = 0.95). The lyrics carry 96% of the effect, the audio 4%
(exact Shapley values towards AI-Generated: lyrics +0.427, audio +0.016). Among the lyrics, 'Perfect
melody never let me go' (x2) and 'La la la la la la' (x8) each move the model more than any other lyric
unit; their order among themselves is not certified. Removing all of the audio changes P(AI-Generated)
by -0.005 (0.954 to 0.949); no audio component stands out (no rank certified)."

How much each modality matters comes from the exact two-player Shapley values
(``metadata["modality_attribution"]``, :mod:`musiclime.method.estimation.coarse_attribution`), never from sums
of absolute surrogate weights, and as a share only where
:func:`~musiclime.method.estimation.coarse_attribution.share_kind` allows (together at least
:data:`RESOLVABLE_EFFECT`; opposite signs said as such). Where in a modality the evidence sits comes
from its ranking (:mod:`musiclime.evidence.rankings`), and a sentence names a modality's leaders only
where they are resolved (:func:`~musiclime.evidence.claims.resolved`), in words no stronger than the
certification: a certified set as a set, an order only as far as it is certified
(:func:`claim_words`). Otherwise it says what is known (what removing the modality does) and names no
leader. The claims as data are in :mod:`musiclime.evidence.claims`. Explanations written before the
exact attribution keep the older wording (the share of the weight). Plain text: the page's template
escapes it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..method.estimation.coarse_attribution import RESOLVABLE_EFFECT, modality_share, removal_change, share_kind
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import modality_attribution_of, stem_attribution_of
from .claims import MAX_NAMED, named_rows
from .rankings import ModalityRanking, RankedFeature
#: Stems named in the audio's sentence: those whose exact value reaches this.
NAMED_STEM_EFFECT = 0.01
#: What each modality is made of, for "no ... stands out".
UNIT_WORDS = {"audio": "audio component", "lyrics": "lyric unit"}
#: Characters of a lyric unit quoted in a sentence.
MAX_QUOTE_CHARS = 36
#: How a sentence names each modality: (subject, verb, after "Among").
MODALITY_WORDS = {"audio": ("The audio", "carries", "the audio"), "lyrics": ("The lyrics", "carry", "the lyrics")}


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
    """A lyric unit quoted: ``'La la la la la la' (x8)``, long lines shortened with an ellipsis, but never
    to a start that another lyric unit of the song shares (the quote goes on, word by word, until it
    names one unit)."""
    text = _plain(explanation.features[row.column]["feature"])
    if len(text) > MAX_QUOTE_CHARS:
        others = [_plain(f["feature"]) for i, f in enumerate(explanation.features)
                  if f["type"] == "lyrics" and i != row.column]
        end = len(text[:MAX_QUOTE_CHARS - 1].rstrip())
        while end < len(text) and any(other.startswith(text[:end]) for other in others):
            following = text.find(" ", end + 1)
            end = len(text) if following < 0 else following
        text = text if end >= len(text) else text[:end].rstrip() + "…"
    quoted = f"'{text}'"
    return quoted + (f" (x{row.repeats})" if row.repeats and row.repeats > 1 else "")


def _plain(text) -> str:
    return " ".join(str(text).split())


def _names(explanation: MusicLIMEExplanation, ranking: ModalityRanking, rows: Sequence[RankedFeature],
           label_name: str) -> list[str]:
    """The named leaders in words, each with the direction it pushes when away from the class."""
    names = []
    for row in rows:
        audio = ranking.modality == "audio"
        name = component_words(explanation, row.column) if audio else lyric_words(explanation, row)
        names.append(name + (f" (pushing away from {label_name})" if row.weight < 0 else ""))
    return names


def claim_words(ranking: ModalityRanking, names: Sequence[str]) -> str:
    """What the certification claims of the named leaders, no more: a set as a set, an order only as far
    as it is certified.

    * a certified order: ``X leads, then Y, then Z (this order certified)``;
    * a certified set: ``X, Y and Z each move the model more than any other audio component; their order
      among themselves is not certified`` (``... and 2 more ... (a certified top 5 of 40, in no certified
      order)`` when the set is larger than the names);
    * both: ``X leads; Y and Z follow, each moving the model more than any other audio component (a
      certified top 3 of 40; the order after rank 1 not certified)``.
    """
    k, named, unit = ranking.certified, len(names), UNIT_WORDS[ranking.modality]
    ordered = min(ranking.ordered, k)
    if k == 1:
        return f"{names[0]} moves the model more than any other {unit} (certified)"
    if ordered >= named:
        whole = "this order certified" if ordered == k == named else (
            f"ranks 1-{ordered} of {ranking.total} certified in order" if ordered == k else
            f"ranks 1-{ordered} certified in order, the top {k} of {ranking.total} as a set")
        return f"{_then(names)} ({whole})"
    if ordered == 0:
        if k == named:
            return (f"{_join(names)} each move the model more than any other {unit}; their order among "
                    f"themselves is not certified")
        return (f"{_join(names, k - named)} each move the model more than any other {unit} (a certified top {k} of "
                f"{ranking.total}, in no certified order)")
    verb = "follows" if named - ordered == 1 and k == named else "follow"
    return (f"{_then(names[:ordered])}; {_join(names[ordered:], k - named)} {verb}, each moving the model more than "
            f"any other {unit} (a certified top {k} of {ranking.total}; the order after rank {ordered} not certified)")


def _then(names: Sequence[str]) -> str:
    """``X leads, then Y, then Z``."""
    return ", then ".join([f"{names[0]} leads", *names[1:]])


def _join(names: Sequence[str], more: int = 0) -> str:
    """``X, Y and Z``; with ``more``, ``X, Y, Z and 2 more``."""
    names = [*names, f"{more} more"] if more else list(names)
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


def stem_clause(explanation: MusicLIMEExplanation, label: int) -> str:
    """``vocals +0.040, drums +0.012``: the stems whose exact value reaches :data:`NAMED_STEM_EFFECT`,
    largest first (``""`` when none, or not recorded)."""
    stems = {k: v for k, v in (stem_attribution_of(explanation, label) or {}).items()
             if k not in ("consistency", "lyrics") and abs(v) >= NAMED_STEM_EFFECT}
    if not stems:
        return ""
    ordered = sorted(stems.items(), key=lambda item: -abs(item[1]))
    return ", ".join(f"{name} {value:+.3f}" for name, value in ordered)


def share_sentence(explanation: MusicLIMEExplanation, label: int, attribution: dict) -> str:
    """How much each modality matters, as far as :func:`share_kind` allows: ``The lyrics carry 96% of the
    effect, the audio 4% (exact Shapley values towards X: ...)``; for opposite signs, which pushes
    towards the class and which away; below ``RESOLVABLE_EFFECT`` together, no share."""
    label_name = explanation.label_name(label)
    values = {"audio": float(attribution["audio"]), "lyrics": float(attribution["lyrics"])}
    heavy, light = sorted(values, key=lambda m: -abs(values[m]))
    exact = ", ".join(f"{m} {values[m]:+.3f}" for m in (heavy, light))
    interaction = float(attribution.get("interaction") or 0.0)
    joint = f"; together {interaction:+.3f} beyond their sum" if abs(interaction) >= RESOLVABLE_EFFECT else ""
    kind = share_kind(attribution)
    if kind == "none":
        return (f"Neither the audio nor the lyrics reaches {RESOLVABLE_EFFECT:g} on P({label_name}) (exact Shapley "
                f"values: {exact}{joint}).")
    if kind == "opposite":
        towards, away = sorted(values, key=lambda m: -values[m])
        subject, verb, _ = MODALITY_WORDS[towards]
        push = "pushes" if verb == "carries" else "push"
        return (f"{subject} {push} towards {label_name} and {MODALITY_WORDS[away][2]} away from it (exact Shapley "
                f"values: {exact}{joint}); the two together change P({label_name}) by "
                f"{values['audio'] + values['lyrics']:+.3f}.")
    subject, verb, _ = MODALITY_WORDS[heavy]
    return (f"{subject} {verb} {modality_share(attribution, heavy):.0%} of the effect, {MODALITY_WORDS[light][2]} "
            f"{modality_share(attribution, light):.0%} (exact Shapley values towards {label_name}: "
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
    """One modality's sentence: what its certification claims of its named leaders (:func:`claim_words`),
    or what removing it does and that none stands out.

    With the exact attribution the sentence states no share (the share sentence does); without it
    (older explanations) it states the modality's share of the weight (``first``: opening the
    sentence; ``only``: one modality, no share).
    """
    label_name = explanation.label_name(label)
    among = MODALITY_WORDS[ranking.modality][2]
    stems = stem_clause(explanation, label) if ranking.modality == "audio" and attribution else ""
    rows = named_rows(ranking, attribution)
    if not rows:
        tail = f"no {UNIT_WORDS[ranking.modality]} stands out ({_why_unnamed(ranking)})"
        if attribution is not None:
            p_with, p_without, change = removal_effect(attribution, ranking.modality)
            return (f"Removing all of {among} changes P({label_name}) by {change:+.3f} ({p_with:.3f} to "
                    f"{p_without:.3f}){'; by stem (exact): ' + stems if stems else ''}; {tail}.")
        opening, mark = _opening(ranking, first, only)
        return f"{opening}{';' if mark == ':' else ','} {tail}."
    if attribution is not None:
        opening, mark = f"Among {among}" + (f" (exact, by stem: {stems})" if stems else ""), ","
    else:
        opening, mark = _opening(ranking, first, only)
    return f"{opening}{mark} {claim_words(ranking, _names(explanation, ranking, rows, label_name))}."


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
