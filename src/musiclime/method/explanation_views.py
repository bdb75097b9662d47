"""Read an explanation into the shapes pictures and pages show: a source x segment grid, lyric pieces.

Pure functions over :class:`~musiclime.method.explanation.MusicLIMEExplanation` (as loaded from JSON);
nothing here draws, writes or calls a model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..factorization.lyrics import LINE_GROUP_UNITS, make_text_factorization
from .explanation import MusicLIMEExplanation

log = logging.getLogger(__name__)


def explained_label(explanation: MusicLIMEExplanation) -> int:
    """The predicted label when it was explained, else the first explained one."""
    predicted = explanation.predicted_label
    return predicted if predicted in explanation.local_exp else sorted(explanation.local_exp)[0]


def weight_vector(explanation: MusicLIMEExplanation, label: int) -> np.ndarray:
    """Surrogate weight of every feature (mask column) for ``label``, float64 ``(num_features,)``.

    Features the surrogate did not select have weight 0.
    """
    weights = np.zeros(len(explanation.features))
    for index, weight in explanation.local_exp[label]:
        weights[int(index)] = float(weight)
    return weights


def full_fit_weights(explanation: MusicLIMEExplanation, label: int) -> np.ndarray | None:
    """The full fit's weight of every feature (mask column) for ``label``, float64 ``(num_features,)``;
    ``None`` for explanations written before the full fit was recorded (``metadata["full_fit"]``)."""
    entry = ((explanation.metadata.get("full_fit") or {}).get("labels") or {}).get(str(label))
    return None if entry is None else np.asarray(entry["weights"], dtype=np.float64)


def certification_of(explanation: MusicLIMEExplanation, label: int) -> dict | None:
    """How many top ranks of ``label``'s rankings are certain (:mod:`musiclime.method.estimation.certification`).

    Returns:
        ``{"alpha", "correction", ["tested_at",] "certified_top_k", "ranking", "tied_at_boundary", ..., "audio": {...},
        "lyrics": {...}}`` (a modality's entry only when it was perturbed), or ``None`` for explanations
        written before certification was recorded.
    """
    block = explanation.metadata.get("certification") or {}
    entry = (block.get("labels") or {}).get(str(label))
    if entry is None:
        return None
    tested_at = {"tested_at": block["tested_at"]} if "tested_at" in block else {}
    return {"alpha": block["alpha"], "correction": block["correction"], **tested_at, **entry}


#: Columns of the summary table and MLflow metrics that count certified top ranks.
CERTIFIED_COUNTS = ("certified_top_k", "certified_top_k_audio", "certified_top_k_lyrics")


def certified_counts(explanation: MusicLIMEExplanation, label: int) -> dict[str, int | None]:
    """``{name: count}`` for :data:`CERTIFIED_COUNTS`: top ranks certified in the explanation's own
    ranking and within each modality's full-fit ranking; ``None`` where not recorded (older files, or
    a modality that was not perturbed)."""
    entry = certification_of(explanation, label) or {}
    own = entry.get("certified_top_k")
    audio = (entry.get("audio") or {}).get("certified_top_k")
    lyrics = (entry.get("lyrics") or {}).get("certified_top_k")
    return dict(zip(CERTIFIED_COUNTS, (own, audio, lyrics)))


def modality_attribution_of(explanation: MusicLIMEExplanation, label: int) -> dict | None:
    """The exact two-player Shapley values of the modalities for ``label``
    (:mod:`musiclime.method.estimation.coarse_attribution`): ``{"audio", "lyrics", "interaction", "audio_share",
    "probabilities": {...}}``, or ``None`` for explanations written before they were recorded."""
    return ((explanation.metadata.get("modality_attribution") or {}).get("labels") or {}).get(str(label))


def stem_attribution_of(explanation: MusicLIMEExplanation, label: int) -> dict | None:
    """The exact Shapley value of each source and of the lyrics for ``label`` (``{player: value}``, with a
    ``consistency`` entry: the full fit's per-source sums and their gaps), or ``None`` when not recorded."""
    return ((explanation.metadata.get("stem_attribution") or {}).get("labels") or {}).get(str(label))


def attribution_columns(explanation: MusicLIMEExplanation, label: int) -> dict[str, float | None]:
    """Flat numbers of the exact attribution for tables and metrics: ``exact_audio``, ``exact_lyrics``,
    ``exact_interaction``, ``exact_audio_share``, ``exact_<source>`` per source, and
    ``stem_consistency_gap`` (the largest |fine sum - exact value| over the sources); empty when not
    recorded."""
    modality = modality_attribution_of(explanation, label)
    if modality is None:
        return {}
    columns = {f"exact_{key}": modality[key] for key in ("audio", "lyrics", "interaction", "audio_share")}
    stems = dict(stem_attribution_of(explanation, label) or {})
    consistency = stems.pop("consistency", None) or {}
    columns.update({f"exact_{player}": value for player, value in stems.items() if player != "lyrics"})
    columns["stem_consistency_gap"] = consistency.get("max_abs_gap")
    return columns


def reader_weights(explanation: MusicLIMEExplanation, label: int) -> tuple[np.ndarray, bool]:
    """The weight of every feature a reader is shown, float64 ``(num_features,)``, and whether it is the
    full fit's: the full fit (a ridge on every feature, :mod:`musiclime.method.estimation.full_fit`) when recorded,
    else the explanation's own weights, where the features it did not select are 0."""
    full = full_fit_weights(explanation, label)
    if full is not None and full.shape == (len(explanation.features),):
        return full, True
    return weight_vector(explanation, label), False


@dataclass(frozen=True)
class AudioGrid:
    """Audio weights as a picture of stems over time.

    Attributes:
        sources: source names, one per row (Open-Unmix order, e.g. vocals, drums, bass, other).
        weights: float64 ``(nb_sources, temporal_segments)``; NaN where the modality had no audio.
        boundaries_s: segment edges in seconds ``(temporal_segments + 1,)``.
        full_fit: the weights are the full fit's (every component weighed), not only the selected ones'.
    """

    sources: list[str]
    weights: np.ndarray
    boundaries_s: np.ndarray
    full_fit: bool = False


def audio_grid(explanation: MusicLIMEExplanation, label: int) -> AudioGrid | None:
    """The audio components' weights (:func:`reader_weights`: the full fit's when recorded) as a
    :class:`AudioGrid`; ``None`` when no audio was explained.

    Component ``c`` (segment-major) is source ``c % nb_sources`` in segment ``c // nb_sources``.
    """
    factorization = explanation.metadata.get("factorization") or {}
    sources = list(factorization.get("sources") or [])
    boundaries = np.asarray(explanation.metadata.get("segment_boundaries_s") or [], dtype=np.float64)
    audio = [(i, f) for i, f in enumerate(explanation.features) if f["type"] == "audio"]
    if not audio or not sources or boundaries.size < 2:
        return None
    weights, full = reader_weights(explanation, label)
    grid = np.zeros((len(sources), boundaries.size - 1))
    for column, feature in audio:
        segment, source = divmod(int(feature["index"]), len(sources))
        grid[source, segment] = weights[column]
    return AudioGrid(sources=sources, weights=grid, boundaries_s=boundaries, full_fit=full)


@dataclass(frozen=True)
class LyricPiece:
    """A piece of a lyric line with the weight of the feature it belongs to.

    Attributes:
        text: the characters shown.
        weight: surrogate weight of its feature (0 when not selected); ``None`` for text that is no
            feature (punctuation between words).
        feature: feature label shown to readers: ``L3`` (third line) or the word itself.
    """

    text: str
    weight: float | None
    feature: str


def lyric_lines_weighted(explanation: MusicLIMEExplanation, label: int,
                         lyrics_text: str | None = None) -> list[list[LyricPiece]]:
    """Lyrics line by line, each a list of :class:`LyricPiece`; ``[]`` when no lyrics were explained.

    Line unit: one piece per line, labelled with its line number (``L1`` ...) so repeated lines,
    which are separate features, can be told apart. Distinct-line and section units: every line of
    the song in order, each with its feature's weight, labelled with the feature (``L2 x8``: the
    line first sung as line 2, eight times). Word unit: the words of each line coloured by their
    word's weight; needs ``lyrics_text`` (else the song's lyrics file from ``song_info``). The weights
    are :func:`reader_weights` (the full fit's when recorded).
    """
    weights, _ = reader_weights(explanation, label)
    lyric_columns = [(i, f) for i, f in enumerate(explanation.features) if f["type"] == "lyrics"]
    if not lyric_columns:
        return []
    unit = explanation.metadata.get("lyrics_unit", "line")
    if unit == "line":
        return [[LyricPiece(text=f["feature"], weight=float(weights[i]), feature=f"L{int(f['index']) + 1}")]
                for i, f in lyric_columns]
    if unit in LINE_GROUP_UNITS:
        return _grouped_lines(explanation, weights, lyric_columns, lyrics_text)
    word_weight = {int(f["index"]): float(weights[i]) for i, f in lyric_columns}
    text = make_text_factorization(_lyrics_of(explanation, lyrics_text), "word")
    return [[LyricPiece(text=piece, weight=None if vid < 0 else word_weight.get(vid, 0.0),
                        feature="" if vid < 0 else piece) for piece, vid in line] for line in text.line_pieces()]


def _grouped_lines(explanation: MusicLIMEExplanation, weights: np.ndarray, lyric_columns: list[tuple[int, dict]],
                   lyrics_text: str | None) -> list[list[LyricPiece]]:
    """Every lyric line in song order with the weight of the feature (distinct line or section) it belongs to.

    The line positions come from the feature records' ``occurrences``; records without them (written
    before musiclime recorded them) are re-read from the lyrics.
    """
    if any("occurrences" not in f for _, f in lyric_columns):
        text = make_text_factorization(_lyrics_of(explanation, lyrics_text), explanation.metadata["lyrics_unit"])
        lines = list(text.lines)
        lyric_columns = [(i, {**f, **text.feature_details(int(f["index"]))}) for i, f in lyric_columns
                         if int(f["index"]) < text.num_words()]
    else:
        lines = None
    by_position: dict[int, LyricPiece] = {}
    for column, feature in lyric_columns:
        tag = unit_label(feature)
        texts = feature.get("texts") or [feature["feature"]] * len(feature["occurrences"])
        for position, line in zip(feature["occurrences"], texts):
            text = lines[position] if lines is not None else line
            by_position[int(position)] = LyricPiece(text=text, weight=float(weights[column]), feature=tag)
    return [[by_position[position]] for position in sorted(by_position)]


def unit_label(feature: dict) -> str:
    """Short tag of a grouped lyrics feature: ``L2`` (the first line it removes, 1-based), then ``x8``
    when the song sings it more than once."""
    occurrences = feature.get("occurrences") or [int(feature["index"])]
    repeats = int(feature.get("repeats", feature.get("count", 1)))
    return f"L{int(occurrences[0]) + 1}" + (f" x{repeats}" if repeats > 1 else "")


def _lyrics_of(explanation: MusicLIMEExplanation, lyrics_text: str | None) -> str:
    if lyrics_text is not None:
        return lyrics_text
    path = explanation.metadata.get("song_info", {}).get("lyrics")
    if not path or not Path(path).is_file():
        log.warning("lyrics file %r of song %r not found: word-level lyrics are not shown", path,
                    explanation.metadata.get("song_info", {}).get("song_id"))
        return ""
    return Path(path).read_text(encoding="utf-8")


def feature_label(feature: dict) -> str:
    """Short reader-facing name of a feature record: ``drums_T3``, ``L4: <line>``, the word, or for a
    repeated distinct line ``<line> (x8)`` and a section ``[Chorus] (x3)``."""
    if feature["type"] == "audio":
        return feature["feature"]
    unit = feature.get("unit")
    if unit == "word":
        return feature["feature"]
    if unit in LINE_GROUP_UNITS:
        name = f"[{feature['feature']}]" if unit == "section" else feature["feature"]
        repeats = int(feature.get("repeats", feature.get("count", 1)))
        return name + (f" (x{repeats})" if repeats > 1 else "")
    return f"L{int(feature['index']) + 1}: {feature['feature']}"


def top_features(explanation: MusicLIMEExplanation, label: int, num_features: int) -> list[dict]:
    """Top ``num_features`` by ``|weight|``: ``get_explanation`` records plus a reader-facing ``label``."""
    unit = explanation.metadata.get("lyrics_unit", "line")
    return [{**item, "label": feature_label({**item, "unit": unit})}
            for item in explanation.get_explanation(label, num_features)]
