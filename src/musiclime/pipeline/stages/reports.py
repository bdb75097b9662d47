"""Stages of the per-point and per-sweep tables: summaries and global importance.

* ``report_point``: one point's summary TSV, the exact attribution per class and its resolved config;
* ``point_table``: one point's Parquet table, a row per song and feature (:mod:`~musiclime.evidence.result_table`);
* ``aggregate_point``: global importance per class by ``report.aggregation`` (``importance-<method>.csv``,
  its overview ``.png``, and the paper's figures: per-class heatmaps and bars, class versus class);
* ``summarize_sweep``: one table for the whole invocation.

The HTML pages are the stages of :mod:`.pages`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from ...common.artifacts import write_config
from ...evidence.aggregation import write_importance_csv
from ...evidence.figures import draw_global_importance
from ...evidence.lyric_roles import ROLE_KINDS
from ...evidence.global_figures import draw_class_comparison, draw_class_heatmaps
from ...evidence.tables import (CLASS_ATTRIBUTION_COLUMNS, class_attribution_rows, summary_rows, write_sweep_summary,
                                write_tsv)
from ...method.explanation import load_explanation
from . import PathLike


def report_point(explanations: list[str], config: dict, overrides: list[str], out_summary: str | Path,
                 out_config: str | Path, out_attribution: str | Path | None = None) -> Path:
    """Summary TSV of one sweep point (one row per song), the exact attribution per class
    (``out_attribution``, :func:`~musiclime.evidence.tables.class_attribution_rows`) and the point's
    resolved config beside them."""
    write_tsv(out_summary, summary_rows(list(explanations), config["report"]["num_features"]))
    if out_attribution is not None:
        rows = class_attribution_rows([load_explanation(p) for p in explanations])
        write_tsv(out_attribution, rows, CLASS_ATTRIBUTION_COLUMNS)
    write_config(out_config, {"overrides": list(overrides), **config})
    return Path(out_summary)


def point_table(explanations: Sequence[PathLike], evaluations: Sequence[PathLike], point: str,
                out_parquet: PathLike) -> Path:
    """One point's ``explanations.parquet``: every explanation's features, exact attributions and (when
    evaluated, ``evaluations`` in the same order) trust figures."""
    from ...evidence.result_table import write_point_table

    return write_point_table(list(explanations), list(evaluations), out_parquet, point)


def aggregate_point(explanation_paths: Sequence[PathLike], out_csv: PathLike, out_png: PathLike,
                    method: str = "paper", out_classes: PathLike | None = None,
                    out_comparison: PathLike | None = None, features: str = "all",
                    seed_explanations: Sequence[Sequence[PathLike]] = (), report: Mapping | None = None,
                    out_parquet: PathLike | None = None, evaluations: Sequence[PathLike] = (),
                    data: Mapping | None = None, out_findings: PathLike | None = None,
                    out_findings_parquet: PathLike | None = None, detector: Mapping | None = None) -> list[Path]:
    """Global importance of one sweep point's songs by ``method`` (``report.aggregation``: ``paper`` or
    ``gale``; ``features``: ``report.aggregation_features``): the CSV (``I_LIME``, ``I_AVG``, ``I_HOM``, a
    ``method`` column, and each figure's bootstrap interval over songs and, with ``seed_explanations`` (per
    song, its other mask seeds' explanations), over seeds within songs; ``report``: the interval settings),
    the same table as Parquet (``out_parquet``), its overview plot and, when their paths are given, the
    per-class heatmap-and-bars figure and the class comparison (error bars: the intervals); and, with
    ``out_findings``, the point's findings (:func:`.findings.write_findings`: ``evaluations`` per song, the
    ``data`` config's sheet for ``report.cohorts``; ``detector``: the head the workflow trained, whose split,
    ``detector split``, is a cohort too)."""
    from ...evidence.dataset_findings import Settings
    from ...evidence.importance_intervals import importance_intervals, importance_rows_of, with_intervals
    from .findings import point_cohorts, point_song_table, write_findings

    explanations = [load_explanation(p) for p in explanation_paths]
    settings = Settings.from_report(report or {})
    report = {**dict(report or {}), "aggregation": method, "aggregation_features": features}
    cohorts = point_cohorts(explanations, report, data, detector)
    table = point_song_table(explanation_paths, seed_explanations, evaluations, report, cohorts, explanations)
    intervals = importance_intervals(table, method, settings.level, settings.replicates, settings.seed)
    rows = with_intervals(importance_rows_of(table, method), intervals)
    class_names = {c: n for e in explanations for c, n in e.class_names.items()}
    components = sorted({f["feature"] for e in explanations for f in e.features if f["type"] == "audio"})
    kinds = [k for k in ("modality", "source", "segment", "word", *ROLE_KINDS) if any(r["kind"] == k for r in rows)]
    written = [write_importance_csv(rows, out_csv, out_parquet), draw_global_importance(rows, out_png, kinds=kinds)]
    if out_classes is not None:
        written.append(draw_class_heatmaps(rows, out_classes, class_names, components=components))
    if out_comparison is not None:
        written.append(draw_class_comparison(rows, out_comparison, class_names,
                                             components=components))
    if out_findings is not None:
        written.append(write_findings(table, settings, out_findings, out_findings_parquet))
    return written


def summarize_sweep(point_summaries: list[str], point_overrides: dict[str, list[str]], out_summary: str | Path,
                    skipped: list[dict] = (), out_skipped: str | Path | None = None) -> Path:
    """One table for the whole invocation: every point's summary rows with the point's overrides; and
    ``skipped_songs.tsv`` (``out_skipped``): the sample-sheet rows left out (``data.skip_bad_songs``),
    one per problem (``song_id``, ``line``, ``stage``, ``reason``; only a header when none)."""
    from ...evidence.tables import write_skipped_songs

    summaries = {Path(path).parent.name: path for path in point_summaries}
    if out_skipped is not None:
        write_skipped_songs(skipped, out_skipped)
    return write_sweep_summary(summaries, point_overrides, out_summary)
