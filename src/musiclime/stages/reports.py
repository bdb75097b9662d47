"""Stages ``report`` and ``sweep_summary``: explanations -> per-point tables and pages, one sweep table."""

from __future__ import annotations

from pathlib import Path

from ..artifacts import write_config
from ..reporting import write_point_report, write_sweep_summary


def report_point(explanations: list[str], plots: list[str], config: dict, overrides: list[str],
                 out_summary: str | Path, out_html: str | Path, out_config: str | Path) -> Path:
    """Summary TSV and HTML page of one sweep point, and the point's resolved config beside them."""
    write_point_report(list(explanations), list(plots), config, out_summary, out_html,
                       config["report"]["num_features"])
    write_config(out_config, {"overrides": list(overrides), **config})
    return Path(out_html)


def summarize_sweep(point_summaries: list[str], point_overrides: dict[str, list[str]], out_summary: str | Path) -> Path:
    """One table for the whole invocation: every point's summary rows with the point's overrides."""
    summaries = {Path(path).parent.name: path for path in point_summaries}
    return write_sweep_summary(summaries, point_overrides, out_summary)
