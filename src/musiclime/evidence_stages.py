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

from .atomic_io import write_json
from .explanation import load_explanation
from .explanation_views import explained_label

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


# --- report: pictures and listenable audio ---------------------------------------------------------
def draw_song_pictures(explanation_json: PathLike, out_heatmap: PathLike, out_bars: PathLike, out_lyrics: PathLike,
                       num_features: int = 10) -> list[Path]:
    """The song's three PNGs: audio heatmap (sources x segments), top-feature bars, weighted lyrics."""
    from . import figures

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
    from .audio import save_audio
    from .listenable import check_same_components, listenable_audio, top_positive_components
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
    from .atomic_io import write_text
    from .html_report import song_page

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
    from .atomic_io import write_text
    from .html_report import INDEX_COLUMNS, index_row, relative_href, render

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
    from .aggregation import global_importance, write_importance_csv
    from .figures import draw_global_importance

    rows = global_importance(load_explanation(p) for p in explanation_paths)
    kinds = [k for k in ("modality", "source", "segment", "word") if any(r["kind"] == k for r in rows)]
    return [write_importance_csv(rows, out_csv), draw_global_importance(rows, out_png, kinds=kinds)]
