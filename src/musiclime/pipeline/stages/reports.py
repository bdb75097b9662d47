"""Stages of the per-point and per-sweep tables: summaries and global importance.

* ``report_point``: one point's summary TSV and its resolved config;
* ``aggregate_point``: global importance per class (``importance.csv``, ``importance.png``);
* ``summarize_sweep``: one table for the whole invocation.

The HTML pages are the stages of :mod:`.pages`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ...common.artifacts import write_config
from ...evidence.aggregation import global_importance, write_importance_csv
from ...evidence.figures import draw_global_importance
from ...evidence.tables import summary_rows, write_sweep_summary, write_tsv
from ...method.explanation import load_explanation
from . import PathLike


def report_point(explanations: list[str], config: dict, overrides: list[str], out_summary: str | Path,
                 out_config: str | Path) -> Path:
    """Summary TSV of one sweep point (one row per song) and the point's resolved config beside it."""
    write_tsv(out_summary, summary_rows(list(explanations), config["report"]["num_features"]))
    write_config(out_config, {"overrides": list(overrides), **config})
    return Path(out_summary)


def aggregate_point(explanation_paths: Sequence[PathLike], out_csv: PathLike, out_png: PathLike) -> list[Path]:
    """Global importance of one sweep point's songs (CSV with ``I_LIME``, ``I_AVG``, ``I_HOM``) and its plot."""
    rows = global_importance(load_explanation(p) for p in explanation_paths)
    kinds = [k for k in ("modality", "source", "segment", "word") if any(r["kind"] == k for r in rows)]
    return [write_importance_csv(rows, out_csv), draw_global_importance(rows, out_png, kinds=kinds)]


def summarize_sweep(point_summaries: list[str], point_overrides: dict[str, list[str]], out_summary: str | Path) -> Path:
    """One table for the whole invocation: every point's summary rows with the point's overrides."""
    summaries = {Path(path).parent.name: path for path in point_summaries}
    return write_sweep_summary(summaries, point_overrides, out_summary)
