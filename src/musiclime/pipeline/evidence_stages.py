"""Evidence stages (pictures, listenable WAVs, HTML pages, global aggregation, trust metrics): paths in, paths out.

Each function reads explanation files (and, where it must, the separation artifact and the model
through the library), writes its outputs atomically and returns their paths. They are safe to run
in threads of one process: no pyplot, no global state, heavy modules imported inside.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Mapping, Sequence

from ..common.atomic_io import write_json
from ..method.explanation import load_explanation
from ..method.explanation_views import explained_label

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


# --- report: pictures and listenable audio ---------------------------------------------------------
def draw_song_pictures(explanation_json: PathLike, out_heatmap: PathLike, out_bars: PathLike, out_lyrics: PathLike,
                       num_features: int = 10) -> list[Path]:
    """The song's three PNGs: audio heatmap (sources x segments), top-feature bars, weighted lyrics."""
    from ..evidence import figures

    explanation = load_explanation(explanation_json)
    label = explained_label(explanation)
    return [figures.draw_audio_heatmap(explanation, label, out_heatmap),
            figures.draw_top_features(explanation, label, num_features, out_bars),
            figures.draw_lyrics(explanation, label, out_lyrics)]


def write_listenable(explanation_json: PathLike, stems_npz: PathLike, k: int, out_top: PathLike,
                     out_removed: PathLike, out_mix: PathLike | None = None,
                     out_meta: PathLike | None = None) -> list[Path]:
    """WAVs of the top-``k`` positively weighted audio components composed together, and of the song without them.

    Args:
        explanation_json: the song's explanation.
        stems_npz: its separation artifact (``stems`` ``(nb_sources, nb_timesteps)``, ``mix``).
        k: ``report.listenable_top_k``.
        out_mix: optional WAV of the original mix, so a report folder plays the song on its own.
        out_meta: optional JSON naming the chosen components and their weights.
    """
    from ..common.audio import save_audio
    from ..evidence.listenable import check_same_components, listenable_audio, top_positive_components
    from .stages import load_factorization

    explanation = load_explanation(explanation_json)
    label = explained_label(explanation)
    segments = int(explanation.metadata["factorization"]["temporal_segments"])
    factorization, _ = load_factorization(stems_npz, segments)
    check_same_components(explanation, factorization, f"explanation {explanation_json}")
    components = top_positive_components(explanation, label, k)
    sound = listenable_audio(factorization, components)
    if not components:
        log.warning("%s: no audio component pushed towards %s; the top-%d WAV is silent", explanation_json,
                    explanation.label_name(label), k)
    written = [save_audio(out_top, sound.top, sound.sample_rate), save_audio(out_removed, sound.removed,
                                                                             sound.sample_rate)]
    if out_mix is not None:
        written.append(save_audio(out_mix, factorization.mix, sound.sample_rate))
    if out_meta is not None:
        weights = dict(explanation.local_exp[label])
        by_index = {f["index"]: i for i, f in enumerate(explanation.features) if f["type"] == "audio"}
        written.append(write_json(out_meta, {"label": label, "k": k, "components": [
            {"component": name, "weight": weights[by_index[c]]} for name, c in zip(sound.components, components)]}))
    return written


# --- report: HTML pages ------------------------------------------------------------------------------
SONG_PICTURE_CAPTIONS = ("Audio weights: sources x temporal segments", "Top features of both modalities",
                         "Lyrics coloured by weight")


def write_song_page(explanation_json: PathLike, out_html: PathLike, pictures: Sequence[PathLike] = (),
                    audio: Mapping[str, PathLike] | None = None, evaluation_json: PathLike | None = None,
                    point: str | None = None, overrides: Sequence[str] = (), index_html: PathLike | None = None,
                    num_features: int = 10) -> Path:
    """One song's HTML page (relative links to its pictures and WAVs).

    Args:
        pictures: the three PNGs of :func:`draw_song_pictures` (heatmap, bars, lyrics), in that order.
        audio: ``{"mix" | "top" | "removed": WAV}`` from :func:`write_listenable` (any subset).
        evaluation_json: the song's trust metrics (:func:`evaluate_song`), if evaluated.
        index_html: the index page to link back to.
    """
    from ..common.atomic_io import write_text
    from ..evidence.pages import song_page

    explanation = load_explanation(explanation_json)
    label = explained_label(explanation)
    audio = dict(audio or {})
    captions = {"mix": "the song (original mix)", "top": f"top audio components towards {explanation.label_name(label)}",
                "removed": "the song with those components removed"}
    evaluation = _read_json(evaluation_json)
    html = song_page(explanation, label, out_html, pictures=list(zip(SONG_PICTURE_CAPTIONS, pictures)),
                     audio=[(captions[k], audio[k]) for k in captions if k in audio], evaluation=evaluation,
                     point=point, overrides=overrides, index_html=index_html, num_features=num_features)
    return write_text(out_html, html)


def write_index(points: Sequence[Mapping], out_html: PathLike, title: str) -> Path:
    """The index page across sweep points and songs.

    Args:
        points: per sweep point ``{"id", "overrides": [str], "songs": [{"explanation", "page",
            "evaluation" (optional)}], "aggregation": [files] (optional)}``.
        title: the experiment's name.
    """
    from ..common.atomic_io import write_text
    from ..evidence.pages import INDEX_COLUMNS, index_row, relative_href, render

    rendered, n_songs = [], 0
    for point in points:
        rows = []
        for song in point["songs"]:
            explanation = load_explanation(song["explanation"])
            label = explained_label(explanation)
            rows.append({"song_id": str(explanation.metadata.get("song_info", {}).get("song_id", "")),
                         "href": relative_href(song["page"], out_html),
                         "cells": index_row(explanation, label, _read_json(song.get("evaluation")))})
        n_songs += len(rows)
        aggregation = [{"name": Path(f).name, "href": relative_href(f, out_html),
                        "is_image": Path(f).suffix.lower() == ".png"} for f in point.get("aggregation", [])]
        rendered.append({"id": str(point["id"]), "overrides": list(point.get("overrides", [])), "rows": rows,
                         "aggregation": aggregation})
    return write_text(out_html, render("index.html.j2", title=title, points=rendered, columns=INDEX_COLUMNS,
                                       n_songs=n_songs))


def _read_json(path: PathLike | None) -> dict | None:
    return None if path is None else json.loads(Path(path).read_text(encoding="utf-8"))


# --- aggregate: global importance per sweep point ---------------------------------------------------------
def aggregate_point(explanation_paths: Sequence[PathLike], out_csv: PathLike, out_png: PathLike) -> list[Path]:
    """Global importance of one sweep point's songs (CSV with ``I_LIME``, ``I_AVG``, ``I_HOM``) and its plot."""
    from ..evidence.aggregation import global_importance, write_importance_csv
    from ..evidence.figures import draw_global_importance

    rows = global_importance(load_explanation(p) for p in explanation_paths)
    kinds = [k for k in ("modality", "source", "segment", "word") if any(r["kind"] == k for r in rows)]
    return [write_importance_csv(rows, out_csv), draw_global_importance(rows, out_png, kinds=kinds)]


# --- evaluate: trust metrics per song ------------------------------------------------------------------------
def randomized_model_slice(model_slice: Mapping) -> dict | None:
    """The model slice with its ``randomized_predict_fn`` as ``predict_fn`` (for explaining the randomized
    model with the usual predict/fit stages), or ``None`` when the config names no randomized factory."""
    randomized = model_slice.get("randomized_predict_fn")
    if not randomized:
        return None
    return {**model_slice, "name": f"{model_slice['name']}-randomized", "predict_fn": randomized}


NO_RANDOMIZED_FACTORY = ("randomization check skipped: the model config names no randomized_predict_fn "
                         "(a factory building the same architecture with re-initialised weights)")


def evaluate_song(explanation_json: PathLike, stems_npz: PathLike, model_slice: Mapping, evaluation: Mapping,
                  out_json: PathLike, seed_explanations: Sequence[PathLike] = (),
                  randomized_explanation: PathLike | None = None) -> Path:
    """Trust metrics of one explanation, written to ``evaluation.json``.

    Args:
        explanation_json: the explanation to evaluate.
        stems_npz: the song's separation artifact (faithfulness composes perturbed audio from it).
        model_slice: the model config slice (``predict_fn`` factory, ``batch_size``).
        evaluation: the ``evaluation`` config slice (``stability``, ``faithfulness``, ``randomization``
            switches; ``faithfulness_steps``, ``faithfulness_random_draws``, ``faithfulness_seed``).
        seed_explanations: explanations of the same song with other mask seeds (stability; the
            evaluated one is included automatically).
        randomized_explanation: the explanation of the same song under the randomized model.

    Output JSON: ``{"song_id", "label", "metrics": {jaccard_top5, jaccard_top10, kendall_tau,
    deletion_aopc, random_deletion_aopc, insertion_aopc, random_insertion_aopc,
    randomization_spearman}, "curves", "notes", "timings_s", "model_items", "evaluation"}``.
    """
    from ..evidence.trust import faithfulness, randomization_spearman, stability
    from ..method.explanation_views import weight_vector

    explanation = load_explanation(explanation_json)
    label = explained_label(explanation)
    song_id = explanation.metadata.get("song_info", {}).get("song_id")
    metrics: dict[str, float] = {}
    notes: list[str] = []
    timings: dict[str, float] = {}
    result: dict = {"song_id": song_id, "label": label, "label_name": explanation.label_name(label)}
    if evaluation.get("stability", True):
        others = [p for p in seed_explanations if Path(p).resolve() != Path(explanation_json).resolve()]
        if others:
            metrics.update(stability([explanation] + [load_explanation(p) for p in others], label))
        else:
            notes.append("stability skipped: no explanations with other mask seeds were given")
    if evaluation.get("faithfulness", True):
        start = time.perf_counter()
        fact, text, layout = _song_inputs(explanation, stems_npz)
        from .stages import load_predict_fn

        faith = faithfulness(fact, text, layout, load_predict_fn(dict(model_slice)), weight_vector(explanation, label),
                             label, steps=int(evaluation.get("faithfulness_steps", 10)),
                             draws=int(evaluation.get("faithfulness_random_draws", 5)),
                             seed=int(evaluation.get("faithfulness_seed", 0)),
                             batch_size=int(model_slice.get("batch_size", 32)))
        metrics.update(faith.metrics)
        result["curves"] = faith.curves()
        result["model_items"] = faith.model_items
        timings["faithfulness"] = time.perf_counter() - start
    if evaluation.get("randomization", True):
        if randomized_explanation is not None:
            metrics["randomization_spearman"] = randomization_spearman(
                explanation, load_explanation(randomized_explanation), label)
        else:
            notes.append(NO_RANDOMIZED_FACTORY)
    result.update(metrics=metrics, notes=notes, timings_s=timings, evaluation=dict(evaluation))
    for note in notes:
        log.info("%s: %s", song_id, note)
    return write_json(out_json, _finite_or_none(result))


def _song_inputs(explanation, stems_npz: PathLike):
    """The factorization, lyrics factorization and feature layout the explanation was made with."""
    from ..factorization.lyrics import make_text_factorization
    from ..evidence.listenable import check_same_components
    from ..method.modality import FeatureLayout
    from .stages import load_factorization

    meta = explanation.metadata
    fact, _ = load_factorization(stems_npz, int(meta["factorization"]["temporal_segments"]))
    check_same_components(explanation, fact, f"song {meta.get('song_info', {}).get('song_id')!r}")
    lyrics_path = meta.get("song_info", {}).get("lyrics")
    lyrics = Path(lyrics_path).read_text(encoding="utf-8") if lyrics_path else ""
    text = make_text_factorization(lyrics, meta.get("lyrics_unit", "line"))
    layout = FeatureLayout(explanation.modality, fact.get_number_components(), text.num_words())
    if layout.num_features != len(explanation.features):
        raise ValueError(f"song {meta.get('song_info', {}).get('song_id')!r}: the lyrics file {lyrics_path} gives "
                         f"{layout.num_features} features, the explanation has {len(explanation.features)}")
    return fact, text, layout


def _finite_or_none(value):
    """JSON-safe copy: NaN/inf floats become ``None``."""
    import math

    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
