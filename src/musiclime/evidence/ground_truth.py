"""The ground-truth check: does the explanation find the evidence a song is known to carry?

A song's ground truth (:mod:`musiclime.common.ground_truth_file`) names audio components and lyric
lines. Here it is mapped onto the explanation's own features and each modality's ranking (the
page's: :func:`~musiclime.evidence.rankings.modality_rankings`, by ``|weight|`` of the full fit) is
scored against it:

* **rank AUC**: the probability that a truth feature has a larger ``|weight|`` than a feature that is
  not truth (ties count half); 1 = every truth feature outranks every other, 0.5 = chance;
* **recall in the top k**: of the ``k`` truth features (``k`` = how many there are), how many the
  ranking puts in its top ``k``;
* **leaders in truth**: whether the audio features the page's lead names (its certified top ranks, at
  most :data:`musiclime.evidence.claims.MAX_NAMED`, where the audio's effect is resolved) are all
  truth; ``None`` when the page names no audio leader.

Mapping: when the explanation cut the audio into the file's ``temporal_segments``, the truth is the
file's ``components``; otherwise its ``audio_cues`` go through the explanation's segment boundaries
(``metadata.segment_boundaries_s``), and a component is truth when its stem's cues cover at least
half of its segment. Lyric lines match the explanation's lyric features by text, compared as
:func:`~musiclime.factorization.lyrics.normalized_line` compares lines (a distinct line or a section is
truth when one of its lines is). Word features are not scored. Pure functions; no model call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..common.ground_truth_file import GroundTruth
from ..factorization.lyrics import normalized_line
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import modality_attribution_of, reader_weights
from .claims import named_rows
from .rankings import ModalityRanking, modality_rankings

#: Fraction of a segment a stem's cues must cover for the component to be truth.
MIN_COVERAGE = 0.5
#: ``evaluation.json`` metric names of the explained label's check.
METRICS = ("ground_truth_audio_auc", "ground_truth_audio_recall", "ground_truth_audio_leaders_in_truth",
           "ground_truth_lyrics_auc", "ground_truth_lyrics_recall")


def rank_auc(weights: np.ndarray, truth: np.ndarray) -> float | None:
    """Rank AUC of ``truth`` within ``|weights|``.

    Args:
        weights: float ``(n,)``, one per feature of a modality.
        truth: bool ``(n,)``, the truth features.

    Returns:
        P(``|w_t| > |w_o|``) over pairs of a truth feature ``t`` and another feature ``o``, ties
        counting half; ``None`` when either group is empty.
    """
    magnitude = np.abs(np.asarray(weights, dtype=np.float64))
    truth = np.asarray(truth, dtype=bool)
    positive, negative = magnitude[truth], magnitude[~truth]
    if positive.size == 0 or negative.size == 0:
        return None
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (positive.size * negative.size))


def recall_at_k(order: Sequence[int], truth: set[int], k: int | None = None) -> float | None:
    """Fraction of ``truth`` among the first ``k`` of ``order`` (``k`` defaults to ``len(truth)``);
    ``None`` when there is no truth."""
    k = len(truth) if k is None else k
    if not truth or k <= 0:
        return None
    return len(set(list(order)[:k]) & truth) / min(k, len(truth))


def audio_truth_columns(explanation: MusicLIMEExplanation, truth: GroundTruth) -> tuple[set[int], str, list[str]]:
    """Mask columns of the explanation's audio features that are truth.

    Returns:
        ``(columns, mapping, notes)``: ``mapping`` is ``components`` (the file's names, same segment
        count), ``audio_cues`` (mapped through the segment boundaries) or ``none`` (cannot map).
    """
    audio = {str(f["feature"]): i for i, f in enumerate(explanation.features) if f["type"] == "audio"}
    factorization = explanation.metadata.get("factorization") or {}
    segments = factorization.get("temporal_segments") or (explanation.metadata.get("parameters") or {}).get(
        "temporal_segments")
    notes: list[str] = []
    if segments is not None and int(segments) == truth.temporal_segments:
        missing = [c for c in truth.components if c not in audio]
        if missing:
            notes.append(f"truth components not among the explanation's audio features: {', '.join(missing)}")
        return {audio[c] for c in truth.components if c in audio}, "components", notes
    boundaries = np.asarray(explanation.metadata.get("segment_boundaries_s")
                            or factorization.get("segment_boundaries_s") or [], dtype=np.float64)
    if boundaries.size < 2 or not truth.audio_cues:
        notes.append(f"the explanation has {segments} temporal segments, the ground truth names components for "
                     f"{truth.temporal_segments} and no audio_cues to map: audio not scored")
        return set(), "none", notes
    columns = set()
    for stem in sorted({cue.stem for cue in truth.audio_cues}):
        spans = [(cue.start_s, cue.end_s) for cue in truth.audio_cues if cue.stem == stem]
        for k in range(boundaries.size - 1):
            start, end = boundaries[k], boundaries[k + 1]
            if end > start and _covered(spans, start, end) >= MIN_COVERAGE * (end - start):
                name = f"{stem}_T{k}"
                if name in audio:
                    columns.add(audio[name])
                else:
                    notes.append(f"truth stem {stem!r} is not among the explanation's audio sources")
                    break
    return columns, "audio_cues", notes


def _covered(spans: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of ``[start, end]`` inside the union of ``spans``."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in spans if min(b, end) > max(a, start))
    total, reach = 0.0, start
    for a, b in clipped:
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total


def lyric_truth_columns(explanation: MusicLIMEExplanation, truth: GroundTruth) -> tuple[set[int], list[str]]:
    """Mask columns of the lyric features holding a truth line (matched by :func:`normalized_line`), and notes
    (truth lines no feature holds; word features, which are not matched)."""
    lyric = [(i, f) for i, f in enumerate(explanation.features) if f["type"] == "lyrics"]
    if not lyric or not truth.lyric_lines:
        return set(), []
    unit = explanation.metadata.get("lyrics_unit", "line")
    if unit == "word":
        return set(), ["lyrics_unit=word: truth lyric lines are not mapped onto words; lyrics not scored"]
    wanted = {normalized_line(line): line for line in truth.lyric_lines}
    columns, found = set(), set()
    for column, feature in lyric:
        texts = feature.get("texts") or [feature["feature"]]
        hits = {normalized_line(t) for t in texts} & wanted.keys()
        if hits:
            columns.add(column)
            found |= hits
    missing = [line for key, line in wanted.items() if key not in found]
    notes = [f"truth lyric lines not among the explanation's lyric features: {missing}"] if missing else []
    return columns, notes


@dataclass(frozen=True)
class ModalityScore:
    """One modality's ranking scored against the truth.

    Attributes:
        auc: :func:`rank_auc` (``None`` when all or none of the features are truth).
        recall: :func:`recall_at_k` with ``k`` = truth features (``None`` without truth).
        k: truth features of the modality.
        features: features of the modality.
        truth: labels of the truth features, in ranking order.
        top_k: labels of the ranking's top ``k``.
    """

    auc: float | None
    recall: float | None
    k: int
    features: int
    truth: list[str] = field(default_factory=list)
    top_k: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"auc": self.auc, "recall": self.recall, "k": self.k, "features": self.features,
                "truth": self.truth, "top_k": self.top_k}


def score_ranking(ranking: ModalityRanking, weights: np.ndarray, columns: set[int],
                  modality_columns: Sequence[int] = ()) -> ModalityScore:
    """Score a modality's ranking against truth ``columns``: ``ranking.rows`` in order, then any of
    ``modality_columns`` the rows lack, by ``|weight|``."""
    order = [row.column for row in ranking.rows]
    rest = sorted(set(modality_columns) - set(order), key=lambda c: (-abs(weights[c]), c))
    labels = {row.column: row.label for row in ranking.rows} | {c: str(c) for c in rest}
    order += rest
    truth = np.array([c in columns for c in order], dtype=bool)
    k = int(truth.sum())
    return ModalityScore(auc=rank_auc(weights[order], truth), recall=recall_at_k(order, columns & set(order)), k=k,
                         features=len(order), truth=[labels[c] for c in order if c in columns],
                         top_k=[labels[c] for c in order[:k]])


def audio_leaders(explanation: MusicLIMEExplanation, ranking: ModalityRanking, label: int) -> list[int]:
    """Columns of the audio features the page's lead names (:func:`musiclime.evidence.claims.named_rows`):
    the first of its certified top set, at most :data:`~musiclime.evidence.claims.MAX_NAMED`, and only
    where the audio is resolved; none otherwise."""
    return [row.column for row in named_rows(ranking, modality_attribution_of(explanation, label))]


def ground_truth_check(explanation: MusicLIMEExplanation, truth: GroundTruth,
                       labels: Sequence[int] | None = None) -> dict:
    """The check for each explained label.

    Returns:
        ``{"file", "mapping", "notes", "labels": {"<label>": {"audio": ModalityScore dict +
        "leaders", "leaders_in_truth", "lyrics": ModalityScore dict}}}``; a modality without features
        or truth is absent from a label's entry.
    """
    audio_columns, mapping, notes = audio_truth_columns(explanation, truth)
    lyric_columns, lyric_notes = lyric_truth_columns(explanation, truth)
    columns = {"audio": audio_columns, "lyrics": lyric_columns}
    out: dict = {"file": str(truth.path), "mapping": mapping, "notes": notes + lyric_notes, "labels": {}}
    for label in sorted(explanation.local_exp) if labels is None else labels:
        weights, _ = reader_weights(explanation, label)
        entry = {}
        for ranking in modality_rankings(explanation, label, top_n=len(explanation.features)):
            if not columns[ranking.modality]:
                continue
            own = [i for i, f in enumerate(explanation.features) if f["type"] == ranking.modality]
            score = score_ranking(ranking, weights, columns[ranking.modality], own).as_dict()
            if ranking.modality == "audio":
                leaders = audio_leaders(explanation, ranking, label)
                labels_of = {row.column: row.label for row in ranking.rows}
                score["leaders"] = [labels_of[c] for c in leaders]
                score["leaders_in_truth"] = all(c in audio_columns for c in leaders) if leaders else None
            entry[ranking.modality] = score
        out["labels"][str(label)] = entry
    return out


def check_metrics(check: dict, label: int) -> dict[str, float | None]:
    """``evaluation.json`` metrics (:data:`METRICS`) of ``label``'s entry of a :func:`ground_truth_check`;
    a modality that was not scored is left out."""
    entry = check["labels"].get(str(label), {})
    metrics: dict[str, float | None] = {}
    for modality in ("audio", "lyrics"):
        score = entry.get(modality)
        if score is None:
            continue
        metrics[f"ground_truth_{modality}_auc"] = score["auc"]
        metrics[f"ground_truth_{modality}_recall"] = score["recall"]
        if modality == "audio" and score.get("leaders_in_truth") is not None:
            metrics["ground_truth_audio_leaders_in_truth"] = float(score["leaders_in_truth"])
    return metrics


def ground_truth_sentence(check: dict | None, label: int) -> str | None:
    """The page's line: ``Ground truth: AUC 0.95 of the audio ranking, 3 of 3 truth components in the
    top 3 (the named leaders are all truth); lyric lines: AUC 1.00, 2 of 2 in the top 2.``; ``None``
    without a check."""
    if not check:
        return None
    entry = check["labels"].get(str(label)) or {}
    parts = []
    audio = entry.get("audio")
    if audio:
        text = (f"{_auc(audio['auc'])} of the audio ranking, {_hits(audio)} truth component"
                f"{'s' if audio['k'] != 1 else ''} in the top {audio['k']}")
        if audio.get("leaders_in_truth") is not None:
            text += (" (the named leaders are all truth)" if audio["leaders_in_truth"]
                     else " (a named leader is not truth)")
        parts.append(text)
    lyrics = entry.get("lyrics")
    if lyrics:
        parts.append(f"lyric lines: {_auc(lyrics['auc'])}, {_hits(lyrics)} in the top {lyrics['k']}")
    if not parts:
        return "Ground truth: nothing of it maps onto this explanation's features."
    return "Ground truth: " + "; ".join(parts) + "."


def _auc(value: float | None) -> str:
    return "AUC -" if value is None else f"AUC {value:.2f}"


def _hits(score: dict) -> str:
    found = 0 if score["recall"] is None else round(score["recall"] * score["k"])
    return f"{found} of {score['k']}"
