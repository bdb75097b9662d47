"""Stages ``pages``: one HTML page per song and the point's index; ``sweep_index``: the index of a whole sweep.

Pages link relatively to their pictures and WAVs (the ``song_media`` and ``song_mix`` outputs), so a
copied ``results/`` folder keeps working.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from ...common.atomic_io import write_text
from ...evidence.index_rows import (INDEX_COLUMN_TITLES, INDEX_COLUMNS, class_attribution_summary,
                                    detector_summary, ground_truth_summary, index_row, reader_evaluation,
                                    second_opinion_summary)
from ...evidence.detector_split import SPLIT_TITLE, DetectorSplits
from ...evidence.index_table import (cohort_columns, filter_names, index_script, row_facets, script_json,
                                     table_data, table_row, verdict_class)
from ...evidence.pages import aggregation_caption, relative_href, render, song_page, verdict_summary
from ...method.explanation import load_explanation
from ...method.explanation_views import explained_label
from . import PathLike
from .media import PICTURES, WAVS


def song_entries(explanations: list[str], media_dirs: list[str], evaluations: list[str], mixes: list[str],
                 pages_dir: str | Path) -> list[dict]:
    """Per song, the files its page shows (empty lists: that part is switched off)."""
    entries = []
    for i, explanation in enumerate(explanations):
        song = json.loads(Path(explanation).read_text(encoding="utf-8"))["metadata"]["song_info"]["song_id"]
        media = Path(media_dirs[i]) if media_dirs else None
        pictures = [media / name for name in PICTURES if (media / name).is_file()] if media else []
        audio = {"mix": mixes[i]} if mixes else {}
        if media is not None:
            audio.update({key: media / name for key, name in WAVS.items() if (media / name).is_file()})
        entries.append({"song": song, "explanation": explanation, "page": Path(pages_dir) / f"{song}.html",
                        "pictures": pictures, "audio": audio,
                        "evaluation": evaluations[i] if evaluations else None})
    return entries


def point_pages(explanations: list[str], media_dirs: list[str], evaluations: list[str], mixes: list[str],
                point: dict, out_pages: str | Path, out_index: str | Path, aggregation: Sequence[str] = (),
                findings: Sequence[str] = (), cohorts: Mapping[str, Mapping[str, object]] | None = None) -> Path:
    """One page per song (``out_pages/<song>.html``) and the point's index page ``out_index``.

    Args:
        media_dirs, evaluations, mixes: per song, in the order of ``explanations``; empty when off.
        point: ``id``, ``overrides``, ``config`` (``report.num_features``, ``experiment_name``), ``detector``
            (optional: the head the workflow trained, ``key`` and ``files``; each page names its song's split).
        aggregation: the point's global importance files (pictures shown, in this order; tables linked).
        findings: the point's ``findings-<method>.csv`` (and Parquet): what holds across its songs leads the index.
        cohorts: optional, per song id its cohort values ``{column: value}``: the index filters by each column.
    """
    entries = song_entries(explanations, media_dirs, evaluations, mixes, out_pages)
    if cohorts is None:
        cohorts = sheet_cohorts(point.get("config") or {})
    splits = DetectorSplits.from_detector(point.get("detector"))
    for entry in entries:
        write_song_page(entry["explanation"], entry["page"], pictures=entry["pictures"], audio=entry["audio"],
                        evaluation_json=entry["evaluation"], point=point["id"], overrides=point["overrides"],
                        index_html=out_index, num_features=point["config"]["report"]["num_features"],
                        detector_split=None if splits is None else splits.page_entry(entry["song"]))
    write_index([index_point(point, entries, aggregation, findings, cohorts)], out_index,
                point["config"]["experiment_name"])
    return Path(out_index)


def sheet_cohorts(config: Mapping) -> dict[str, dict[str, str]]:
    """Per song id, its values of the sample-sheet columns ``report.cohorts`` names (none: empty)."""
    from ...common.cohorts import cohort_values

    columns = list((config.get("report") or {}).get("cohorts") or [])
    by_column = cohort_values(config.get("data") or {}, columns) if columns else {}
    songs: dict[str, dict[str, str]] = {}
    for column, values in by_column.items():
        for song, value in values.items():
            songs.setdefault(song, {})[column] = value
    return songs


def index_point(point: dict, entries: list[dict], aggregation: Sequence[str] = (), findings: Sequence[str] = (),
                cohorts: Mapping[str, Mapping[str, object]] | None = None) -> dict:
    """A point as :func:`write_index` reads it; ``cohorts``: optional, per song id ``{column: value}``."""
    return {"id": point["id"], "overrides": point["overrides"], "aggregation": list(aggregation),
            "findings": list(findings),
            "detector": point.get("detector"),
            "songs": [{"explanation": e["explanation"], "page": e["page"], "evaluation": e["evaluation"],
                       "cohorts": (cohorts or {}).get(e["song"])} for e in entries]}


def sweep_index(points: list[dict], out_index: str | Path, title: str, skipped: Sequence[Mapping] = ()) -> Path:
    """The index page across every sweep point and song of the invocation.

    Args:
        points: per point ``{"id", "overrides", "explanations", "evaluations", "pages_dir", "aggregation"}``
            and optionally ``"cohorts"`` (per song id ``{column: value}``).
        skipped: sample-sheet rows left out (``song_id``, ``line``, ``stage``, ``reason``), listed first.
    """
    rendered = []
    for point in points:
        entries = song_entries(point["explanations"], [], point["evaluations"], [], point["pages_dir"])
        rendered.append(index_point(point, entries, point["aggregation"], point.get("findings", ()),
                                    point.get("cohorts")))
    return write_index(rendered, out_index, title, skipped)


SONG_PICTURE_CAPTIONS = ("Audio weights: sources x temporal segments, every component (outlined: certified ranks)",
                         "Each modality's top features (check mark: certified rank; hatched: tied at the boundary)",
                         "Lyrics coloured by weight")


def write_song_page(explanation_json: PathLike, out_html: PathLike, pictures: Sequence[PathLike] = (),
                    audio: Mapping[str, PathLike] | None = None, evaluation_json: PathLike | None = None,
                    point: str | None = None, overrides: Sequence[str] = (), index_html: PathLike | None = None,
                    num_features: int = 10, detector_split: Mapping | None = None) -> Path:
    """One song's HTML page (relative links to its pictures and WAVs).

    Args:
        pictures: the three PNGs of :func:`.media.draw_song_pictures` (heatmap, bars, lyrics), in that order.
        audio: ``{"mix" | "top" | "removed": WAV}`` from :func:`.media.write_listenable` (any subset).
        evaluation_json: the song's trust metrics (:func:`.evaluation.evaluate_song`), if evaluated.
        index_html: the index page to link back to.
        detector_split: the song's split in the fusion detector's training (``{"split", "sentence"}``), if any.
    """

    explanation = load_explanation(explanation_json)
    label = explained_label(explanation)
    audio = dict(audio or {})
    captions = {"mix": "the song (original mix)",
                "top": f"top audio components towards {explanation.label_name(label)}",
                "removed": "the song with those components removed"}
    evaluation = _read_json(evaluation_json)
    html = song_page(explanation, label, out_html, pictures=list(zip(SONG_PICTURE_CAPTIONS, pictures)),
                     audio=[(captions[k], audio[k]) for k in captions if k in audio], evaluation=evaluation,
                     point=point, overrides=overrides, index_html=index_html, num_features=num_features,
                     detector_split=detector_split)
    return write_text(out_html, html)


def write_index(points: Sequence[Mapping], out_html: PathLike, title: str, skipped: Sequence[Mapping] = ()) -> Path:
    """The index page across sweep points and songs.

    Each point's table is embedded as JSON data (:mod:`musiclime.evidence.index_table`) that the page's own
    script shows one page at a time, sorted by a header click and filtered by select boxes.

    Args:
        points: per sweep point ``{"id", "overrides": [str], "songs": [{"explanation", "page",
            "evaluation" (optional), "cohorts" (optional: ``{column: value}``, one filter per column)}],
            "aggregation": [files] (optional), "detector": the trained head's ``key`` and ``files``
            (optional, ``model=fusion``)}``.
        title: the experiment's name.
        skipped: songs not explained (``song_id``, ``line``, ``reason``), shown before the points.
    """

    rendered, n_songs = [], 0
    for point in points:
        rows, evaluations, explanations = [], [], []
        splits = DetectorSplits.from_detector(point.get("detector"))
        cohorts = cohort_columns([song.get("cohorts") for song in point["songs"]])
        names = filter_names(splits is not None, cohorts)
        for song in point["songs"]:
            explanation = load_explanation(song["explanation"])
            label = explained_label(explanation)
            explanations.append(explanation)
            evaluations.append(reader_evaluation(explanation, _read_json(song.get("evaluation"))))
            song_id = str(explanation.metadata.get("song_info", {}).get("song_id", ""))
            split = None if splits is None else splits.tag(song_id)
            cells = index_row(explanation, label, evaluations[-1])
            facets = row_facets(cells, verdict_class(evaluations[-1]), split, splits is not None,
                                song.get("cohorts"), cohorts)
            rows.append(table_row(song_id, relative_href(song["page"], out_html), split, cells, INDEX_COLUMNS, facets))
        n_songs += len(rows)
        aggregation = [{"name": Path(f).name, "href": relative_href(f, out_html), "caption": aggregation_caption(f),
                        "is_image": Path(f).suffix.lower() == ".png"} for f in point.get("aggregation", [])]
        rendered.append({"id": str(point["id"]), "overrides": list(point.get("overrides", [])), "n_rows": len(rows),
                         "table": script_json(table_data(str(point["id"]), INDEX_COLUMNS, rows, names)),
                         "findings": findings_lead(point.get("findings", ()), len(rows), out_html),
                         "song_title": None if splits is None else SPLIT_TITLE,
                         "held_out": None if splits is None else splits.held_out_summary([r["song"] for r in rows]),
                         "aggregation": aggregation, "verdicts": verdict_summary(evaluations),
                         "ground_truth": ground_truth_summary(evaluations),
                         "attribution": class_attribution_summary(explanations),
                         "detector": detector_summary(point.get("detector")),
                         "second_opinion": second_opinion_summary(explanations)})
    return write_text(out_html, render("index.html.j2", title=title, points=rendered, columns=INDEX_COLUMNS,
                                       column_titles=INDEX_COLUMN_TITLES, n_songs=n_songs,
                                       skipped=[dict(row) for row in skipped],
                                       script=index_script()))


def findings_lead(findings: Sequence[PathLike], n_songs: int, out_html: PathLike) -> dict | None:
    """The "what holds across the dataset" lead of a point (:func:`~musiclime.evidence.dataset_findings.page_lead`)
    with links to its tables, or None without findings."""
    from ...evidence.dataset_findings import page_lead

    csv_files = [f for f in findings if Path(f).suffix.lower() == ".csv"]  # findings-<method>.csv
    if not csv_files:
        return None
    lead = page_lead(csv_files[0], n_songs)
    lead["files"] = [{"name": Path(f).name, "href": relative_href(f, out_html)} for f in findings]
    return lead


def _read_json(path: PathLike | None) -> dict | None:
    return None if path is None else json.loads(Path(path).read_text(encoding="utf-8"))
