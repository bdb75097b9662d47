"""The explanation: surrogate weights per label, named features, scores and provenance.

An explanation never needs audio: its features are plain records, so it can be rebuilt from JSON
(`load_explanation`) by the tracking and report stages.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..common.atomic_io import write_json
from ..common.provenance import runtime_provenance
from .modality import FeatureLayout
from .estimation.surrogate import SurrogateFit

log = logging.getLogger(__name__)

DEFAULT_CLASS_NAMES = {0: "AI-Generated", 1: "Human-Composed"}
SCHEMA_VERSION = 1
#: Fields of a grouped lyrics feature's record that its ranking entries repeat.
GROUP_FIELDS = ("repeats", "occurrences")


def feature_records(audio_factorization, text_factorization, modality: str) -> list[dict]:
    """One ``{"type", "feature", "index"}`` record per mask column, in column order.

    ``type`` is ``"audio"`` (``feature`` = component name such as ``drums_T3``) or ``"lyrics"``
    (``feature`` = the line, section name or word); ``index`` is the position within its own
    factorization. Lyrics units that group lines (``distinct_line``, ``section``) add ``count`` (lines
    the feature removes) and ``occurrences`` (their 0-based positions in the cleaned lyric lines).
    """
    n_audio = audio_factorization.get_number_components() if audio_factorization is not None else 0
    n_text = text_factorization.num_words() if text_factorization is not None else 0
    layout = FeatureLayout(modality, n_audio, n_text)
    audio_names = audio_factorization.get_ordered_component_names() if n_audio else []
    records = []
    for kind, index in layout.feature_kinds():
        if kind == "audio":
            records.append({"type": kind, "feature": audio_names[index], "index": index})
        else:
            details = getattr(text_factorization, "feature_details", lambda i: {})(index)
            records.append({"type": kind, "feature": text_factorization.word(index), "index": index, **details})
    return records


def explanation_metadata(audio: dict, song_info: dict | None, lyrics_unit: str, parameters: dict,
                         timings_s: dict, model_calls: int, model_items: int, config: dict | None = None,
                         costs: dict | None = None, samples_used: int | None = None,
                         stopping: dict | None = None, provenance: dict | None = None) -> dict:
    """The provenance block of an explanation, the same whether the facade or the workflow made it.

    Args:
        audio: ``Factorization.describe()`` (backend, sources, ``sample_rate`` in Hz, ``duration_s``,
            ``segment_boundaries_s`` in seconds, reconstruction error).
        song_info: ``song_id`` and file paths, when known.
        lyrics_unit: ``"line"``, ``"distinct_line"``, ``"section"`` or ``"word"``.
        parameters: sampling and fit settings (num_samples, kernel_width, labels, ...).
        timings_s: seconds per stage (``separation``, ``predict``, ``fit``, ...).
        model_calls, model_items: model invocations, and items scored by ``predict_fn`` itself
            (perturbations + original; only the original for a late-fusion model).
        config: the workflow's stage config slices, when the workflow made it.
        costs: what the perturbations cost besides: ``compositions`` (waveforms composed),
            ``audio_encodings``, ``lyric_encodings`` and ``fused_rows`` of a late-fusion model
            (:meth:`musiclime.method.scoring.inference.PredictionResult.costs`); recorded at the top level.
        samples_used: mask rows scored and fitted (fewer than drawn when the stopping rule ended early).
        stopping: the stopping rule's record (:class:`musiclime.method.scoring.rounds.StoppingRecord`), when
            it was on.
        provenance: what a reviewer checks the result against, besides the code and package versions
            of this process (``code``, ``packages``: :func:`musiclime.common.provenance.runtime_provenance`,
            always recorded): the workflow adds ``inputs`` (``audio``, ``lyrics``: path and SHA-256)
            and ``weights`` (the model's weight files and their SHA-256).
    """
    metadata = {
        "song_info": dict(song_info or {}),
        "sample_rate": audio["sample_rate"],
        "segment_boundaries_s": audio["segment_boundaries_s"],
        "factorization": audio,
        "lyrics_unit": lyrics_unit,
        "parameters": dict(parameters),
        "timings_s": dict(timings_s),
        "model_calls": int(model_calls),
        "model_items": int(model_items),
        **{name: int(value) for name, value in (costs or {}).items() if name != "model_items"},
    }
    if samples_used is not None:
        metadata["samples_used"] = int(samples_used)
    if stopping:
        metadata["stopping"] = stopping
    if config is not None:
        metadata["config"] = config
    metadata["provenance"] = {**runtime_provenance(), **(provenance or {})}
    return metadata


class MusicLIMEExplanation:
    """Explanation of one song's prediction (seed-compatible attributes and methods).

    Attributes:
        data: 0/1 masks ``(num_samples, num_features)``.
        predictions: probabilities ``(num_samples, n_classes)``; row 0 scores the reconstruction.
        features: one record per mask column (see :func:`feature_records`).
        intercept, local_exp, score, local_pred: per explained label, as in the seed.
        probabilities_original: model probabilities ``(n_classes,)`` on the original mix, if known.
        metadata: song info, sample rate, segment boundaries, parameters, timings, model calls.
    """

    def __init__(self, audio_factorization, text_factorization, data, predictions, modality: str = "both",
                 features: list[dict] | None = None, probabilities_original=None, metadata: dict | None = None,
                 class_names: dict[int, str] | None = None):
        self.audio_factorization = audio_factorization
        self.text_factorization = text_factorization
        self.data = None if data is None else np.asarray(data)
        self.predictions = None if predictions is None else np.asarray(predictions, dtype=np.float64)
        self.modality = modality
        self.features = features if features is not None else feature_records(
            audio_factorization, text_factorization, modality)
        self.probabilities_original = (None if probabilities_original is None
                                       else np.asarray(probabilities_original, dtype=np.float64))
        self.metadata = dict(metadata or {})
        self.class_names = dict(class_names or DEFAULT_CLASS_NAMES)
        self.intercept: dict[int, float] = {}
        self.local_exp: dict[int, list[tuple[int, float]]] = {}
        self.score: dict[int, float] = {}
        self.local_pred: dict[int, float] = {}

    # --- filling in ---------------------------------------------------------------------------
    def add_fit(self, fit: SurrogateFit) -> None:
        """Store one label's surrogate."""
        self.intercept[fit.label] = fit.intercept
        self.local_exp[fit.label] = list(fit.local_exp)
        self.score[fit.label] = fit.score
        self.local_pred[fit.label] = fit.local_pred

    # --- reading --------------------------------------------------------------------------------
    @property
    def probabilities_reconstruction(self) -> np.ndarray | None:
        """Model probabilities ``(n_classes,)`` on row 0: all components on, full lyrics."""
        return None if self.predictions is None else self.predictions[0]

    @property
    def predicted_label(self) -> int | None:
        """Class the model predicts for the original song (the reconstruction when unknown)."""
        probs = self.probabilities_original if self.probabilities_original is not None else self.probabilities_reconstruction
        return None if probs is None else int(np.argmax(probs))

    def get_explanation(self, label: int, num_features: int = 10) -> list[dict]:
        """Top features for ``label``: ``[{"type", "feature", "weight", "index"}, ...]`` by ``|weight|``.

        Lyrics features of a unit that groups lines (``distinct_line``, ``section``) also carry
        ``repeats`` (times the song sings it) and ``occurrences`` (0-based positions of its lines).
        """
        if label not in self.local_exp:
            return []
        return [{"type": self.features[i]["type"], "feature": self.features[i]["feature"], "weight": float(w),
                 "index": int(self.features[i]["index"]),
                 **{k: self.features[i][k] for k in GROUP_FIELDS if k in self.features[i]}}
                for i, w in self.local_exp[label][:num_features]]

    def label_name(self, label: int) -> str:
        return self.class_names.get(int(label), f"class_{label}")

    def to_dict(self, song_info: dict | None = None, num_features: int = 10) -> dict[str, Any]:
        """JSON-ready dict: metadata, feature list, and per label the top and all weights."""
        explanations = {}
        for label in sorted(self.local_exp):
            explanations[f"label_{label}"] = {
                "label": int(label),
                "prediction_label": self.label_name(label),
                "intercept": float(self.intercept[label]),
                "score": float(self.score[label]),
                "local_prediction": float(self.local_pred[label]),
                "top_features": [{"rank": r + 1, **item} for r, item in
                                 enumerate(self.get_explanation(label, num_features))],
                "weights": [[int(i), float(w)] for i, w in self.local_exp[label]],
            }
        metadata = {
            "schema_version": SCHEMA_VERSION,
            "timestamp": datetime.now(timezone.utc).isoformat(),
            **self.metadata,
            "song_info": {**self.metadata.get("song_info", {}), **(song_info or {})},
            "modality": self.modality,
            "model_info": {
                "total_audio_components": sum(f["type"] == "audio" for f in self.features),
                "total_text_features": sum(f["type"] == "lyrics" for f in self.features),
                "total_features": len(self.features),
            },
            "class_names": {str(k): v for k, v in self.class_names.items()},
            "predicted_label": self.predicted_label,
            "probabilities_original": _as_list(self.probabilities_original),
            "probabilities_reconstruction": _as_list(self.probabilities_reconstruction),
            "num_samples": None if self.data is None else int(self.data.shape[0]),
            "num_features_shown": num_features,
        }
        return {"metadata": metadata, "features": self.features, "explanations": explanations}

    def save_to_json(self, filepath: str | os.PathLike, song_info: dict | None = None, num_features: int = 10) -> Path:
        """Write the explanation to exactly ``filepath`` (atomically) and return the path."""
        path = write_json(filepath, self.to_dict(song_info=song_info, num_features=num_features))
        log.info("explanation saved to %s", path)
        return path


def load_explanation(path: str | os.PathLike) -> MusicLIMEExplanation:
    """Rebuild an explanation (without masks, predictions or factorizations) from its JSON file."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    meta = doc["metadata"]
    explanation = MusicLIMEExplanation(
        None, None, None, None, modality=meta["modality"], features=doc["features"],
        probabilities_original=meta.get("probabilities_original"), metadata=meta,
        class_names={int(k): v for k, v in meta.get("class_names", {}).items()} or None)
    recon = meta.get("probabilities_reconstruction")
    if recon is not None:
        explanation.predictions = np.asarray([recon], dtype=np.float64)
    for entry in doc["explanations"].values():
        explanation.add_fit(SurrogateFit(label=entry["label"], intercept=entry["intercept"],
                                         local_exp=[(int(i), float(w)) for i, w in entry["weights"]],
                                         score=entry["score"], local_pred=entry["local_prediction"]))
    return explanation


def _as_list(array) -> list[float] | None:
    return None if array is None else [float(x) for x in np.ravel(array)]
