"""Reports from explanation files: per-song plots, per-point summary tables and HTML, sweep tables.

Reads explanations; never recomputes them.
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path

from .atomic_io import atomic_path, write_text
from .explanation import MusicLIMEExplanation, load_explanation
from .explanation_views import explained_label  # noqa: F401 (re-exported for existing callers)

log = logging.getLogger(__name__)

#: Source groups for the weight shares of the summary: audio sources by name, lyrics together.
SHARE_GROUPS = ("vocals", "drums", "bass", "other", "residual", "mix", "lyrics")


def weight_shares(explanation: MusicLIMEExplanation, label: int) -> dict[str, float]:
    """Fraction of total ``|weight|`` per source (``drums_T3`` -> ``drums``) and for the lyrics."""
    totals: dict[str, float] = {}
    for index, weight in explanation.local_exp[label]:
        feature = explanation.features[index]
        group = "lyrics" if feature["type"] == "lyrics" else feature["feature"].rsplit("_T", 1)[0]
        totals[group] = totals.get(group, 0.0) + abs(weight)
    total = sum(totals.values()) or 1.0
    return {group: value / total for group, value in totals.items()}


def plot_explanation(explanation: MusicLIMEExplanation | str | os.PathLike, out_png: str | os.PathLike,
                     num_features: int = 10) -> Path:
    """Horizontal bar chart of the top features of the explained label (PNG, atomic).

    Thread-safe (a ``Figure`` with its own Agg canvas, no pyplot state), so workflow jobs can draw
    in threads of one process.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(explanation, MusicLIMEExplanation):
        explanation = load_explanation(explanation)
    label = explained_label(explanation)
    items = explanation.get_explanation(label, num_features)[::-1]
    fig = Figure(figsize=(7, 0.35 * max(len(items), 3) + 1.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = ["#2b8cbe" if item["type"] == "audio" else "#e6550d" for item in items]
    labels = [_short(item["feature"]) for item in items]
    ax.barh(range(len(items)), [item["weight"] for item in items], color=colors)
    ax.set_yticks(range(len(items)), labels, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    song = explanation.metadata.get("song_info", {}).get("song_id", "")
    ax.set_title(f"{song}: towards {explanation.label_name(label)}\n(blue audio, orange lyrics)", fontsize=9)
    ax.set_xlabel("LIME weight (probability units)")
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return Path(out_png)


def summary_rows(explanation_paths: list[str | os.PathLike], num_features: int = 10) -> list[dict]:
    """One row per explanation: prediction, fit quality, weight shares and top features."""
    rows = []
    for path in explanation_paths:
        exp = load_explanation(path)
        label = explained_label(exp)
        info = exp.metadata.get("song_info", {})
        top = exp.get_explanation(label, num_features)
        original = exp.probabilities_original
        recon = exp.probabilities_reconstruction
        rows.append({
            "song_id": info.get("song_id", Path(path).parent.name),
            "true_label": info.get("true_label"),
            "predicted_label": exp.predicted_label,
            "explained_label": label,
            "p_original": None if original is None else round(float(original[label]), 6),
            "p_reconstruction": None if recon is None else round(float(recon[label]), 6),
            "score_r2": round(exp.score[label], 6),
            "intercept": round(exp.intercept[label], 6),
            "local_pred": round(exp.local_pred[label], 6),
            **{f"share_{g}": round(v, 4) for g, v in sorted(weight_shares(exp, label).items())},
            "top_features": "; ".join(f"{_short(t['feature'])} ({t['weight']:+.3f})" for t in top),
            "explanation": str(path),
        })
    return rows


def write_tsv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Write dict rows as a TSV (union of keys as columns, atomic)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    lines = ["\t".join(columns)]
    lines += ["\t".join("" if row.get(c) is None else str(row.get(c)) for c in columns) for row in rows]
    return write_text(path, "\n".join(lines) + "\n")


def write_point_report(explanation_paths: list[str], plot_paths: list[str], point_config: dict,
                       out_summary: str | os.PathLike, out_html: str | os.PathLike, num_features: int = 10) -> None:
    """Summary TSV and a self-contained HTML page (table + plots) for one sweep point."""
    rows = summary_rows(explanation_paths, num_features)
    write_tsv(out_summary, rows)
    out_dir = Path(out_html).parent
    explain = point_config.get("explain", {})
    parts = [f"<h1>MusicLIME report: {html.escape(str(point_config.get('experiment_name', '')))}</h1>",
             f"<p>model <b>{html.escape(str(point_config.get('model', {}).get('name')))}</b>, separation "
             f"<b>{html.escape(str(point_config.get('separation', {}).get('backend')))}</b>, "
             + ", ".join(f"{k}={html.escape(str(v))}" for k, v in explain.items()) + "</p>",
             "<table border=1 cellspacing=0 cellpadding=3><tr>"
             + "".join(f"<th>{html.escape(c)}</th>" for c in rows[0] if c != "explanation") + "</tr>"]
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for c, v in row.items()
                                      if c != "explanation") + "</tr>")
    parts.append("</table>")
    for row, plot in zip(rows, plot_paths):
        rel = os.path.relpath(plot, out_dir)
        parts.append(f"<h3>{html.escape(row['song_id'])}</h3><img src='{html.escape(rel)}' alt='top features'>")
    write_text(out_html, "<!doctype html><html><head><meta charset='utf-8'><title>MusicLIME report</title></head>"
                         "<body>" + "\n".join(parts) + "</body></html>\n")


def write_sweep_summary(point_summaries: dict[str, str], point_overrides: dict[str, list[str]],
                        out_tsv: str | os.PathLike) -> Path:
    """Concatenate per-point summaries with the point id and its overrides (one sweep, one table)."""
    import csv

    rows = []
    for point, summary in point_summaries.items():
        with open(summary, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                rows.append({"point": point, "overrides": " ".join(point_overrides[point]), **row})
    return write_tsv(out_tsv, rows)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
