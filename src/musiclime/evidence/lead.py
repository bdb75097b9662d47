"""The answer first: a song page's opening sentences, built from the explanation.

"The model calls this song AI-Generated (P = 0.97). The lyrics carry 84% of the weight: 'Perfect
melody never let me go' (x2) and 'La la la la la la' (x8) lead, both certain. Among the audio
(16%), drums in 0-2 s and vocals in 12-14 s lead (ranks not certified)."

Each modality names its certified top features (at most :data:`MAX_NAMED`), or its top two when no
rank is certain, with its share of the weight (:mod:`musiclime.evidence.rankings`). Plain text:
the page's template escapes it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..method.explanation import MusicLIMEExplanation
from .rankings import ModalityRanking, RankedFeature

#: Features a sentence names per modality, at most.
MAX_NAMED = 3
#: Features named when no rank is certified.
UNCERTAIN_NAMED = 2
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
    """The features a sentence names and what is certain about them."""
    certain = ranking.judged and ranking.certified > 0
    rows = ranking.rows[:min(ranking.certified, MAX_NAMED)] if certain else ranking.rows[:UNCERTAIN_NAMED]
    names = []
    for row in rows:
        audio = ranking.modality == "audio"
        name = component_words(explanation, row.column) if audio else lyric_words(explanation, row)
        names.append(name + (f" (pushing away from {label_name})" if row.weight < 0 else ""))
    if not certain:
        return names, "ranks not certified"
    if ranking.certified > len(rows):
        return names, f"the top {ranking.certified} of {ranking.total} ranks certain"
    return names, f"{COUNT_WORDS.get(len(rows), '')}certain"


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def modality_sentence(explanation: MusicLIMEExplanation, ranking: ModalityRanking, label: int, first: bool,
                      only: bool = False) -> str:
    """One modality's sentence: its share of the weight, the features that lead, what is certain."""
    names, certainty = _named(explanation, ranking, explanation.label_name(label))
    subject, verb, among = MODALITY_WORDS[ranking.modality]
    lead = f"{_join(names)} {'leads' if len(names) == 1 else 'lead'}" if names else "no feature leads"
    if only:
        return f"Among {among}, {lead} ({certainty})."
    if first:
        return f"{subject} {verb} {ranking.share:.0%} of the weight: {lead} ({certainty})."
    return f"Among {among} ({ranking.share:.0%} of the weight), {lead} ({certainty})."


def lead_sentences(explanation: MusicLIMEExplanation, label: int, rankings: Sequence[ModalityRanking]) -> list[str]:
    """The page's opening sentences: the prediction, then each modality, the heavier one first."""
    sentences = [prediction_sentence(explanation, label)]
    ordered = sorted(rankings, key=lambda r: -r.share)
    for i, ranking in enumerate(ordered):
        sentences.append(modality_sentence(explanation, ranking, label, first=i == 0, only=len(ordered) == 1))
    return sentences
