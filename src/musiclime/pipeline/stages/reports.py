"""Stages of the per-point and per-sweep reports: summary tables, HTML pages, global importance.

* ``report_point``: one point's summary TSV and its resolved config;
* ``point_pages``: one HTML page per song and the point's index (``report.html``);
* ``aggregate_point``: global importance per class (``importance.csv``, ``importance.png``);
* ``summarize_sweep`` / ``sweep_index``: one table and one index page for the whole invocation.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...common.artifacts import write_config
from ..evidence_stages import aggregate_point, write_index, write_song_page
from ...evidence.tables import summary_rows, write_sweep_summary, write_tsv
from .media import PICTURES, WAVS

__all__ = ["aggregate_point", "point_pages", "report_point", "summarize_sweep", "sweep_index"]


def report_point(explanations: list[str], config: dict, overrides: list[str], out_summary: str | Path,
                 out_config: str | Path) -> Path:
    """Summary TSV of one sweep point (one row per song) and the point's resolved config beside it."""
    write_tsv(out_summary, summary_rows(list(explanations), config["report"]["num_features"]))
    write_config(out_config, {"overrides": list(overrides), **config})
    return Path(out_summary)


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
                point: dict, out_pages: str | Path, out_index: str | Path) -> Path:
    """One page per song (``out_pages/<song>.html``) and the point's index page ``out_index``.

    Args:
        media_dirs, evaluations, mixes: per song, in the order of ``explanations``; empty when off.
        point: ``id``, ``overrides``, ``config`` (``report.num_features``, ``experiment_name``).
    """
    entries = song_entries(explanations, media_dirs, evaluations, mixes, out_pages)
    for entry in entries:
        write_song_page(entry["explanation"], entry["page"], pictures=entry["pictures"], audio=entry["audio"],
                        evaluation_json=entry["evaluation"], point=point["id"], overrides=point["overrides"],
                        index_html=out_index, num_features=point["config"]["report"]["num_features"])
    write_index([index_point(point, entries)], out_index, point["config"]["experiment_name"])
    return Path(out_index)


def index_point(point: dict, entries: list[dict], aggregation: list[str] = ()) -> dict:
    return {"id": point["id"], "overrides": point["overrides"], "aggregation": list(aggregation),
            "songs": [{"explanation": e["explanation"], "page": e["page"], "evaluation": e["evaluation"]}
                      for e in entries]}


def sweep_index(points: list[dict], out_index: str | Path, title: str) -> Path:
    """The index page across every sweep point and song of the invocation.

    Args:
        points: per point ``{"id", "overrides", "explanations", "evaluations", "pages_dir", "aggregation"}``.
    """
    rendered = []
    for point in points:
        entries = song_entries(point["explanations"], [], point["evaluations"], [], point["pages_dir"])
        rendered.append(index_point(point, entries, point["aggregation"]))
    return write_index(rendered, out_index, title)


def summarize_sweep(point_summaries: list[str], point_overrides: dict[str, list[str]], out_summary: str | Path) -> Path:
    """One table for the whole invocation: every point's summary rows with the point's overrides."""
    summaries = {Path(path).parent.name: path for path in point_summaries}
    return write_sweep_summary(summaries, point_overrides, out_summary)
