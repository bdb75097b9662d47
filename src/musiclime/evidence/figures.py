"""Pictures of explanations (matplotlib, PNG): audio heatmap, top-feature bars, weighted lyrics, global importance.

Thread-safe: no ``matplotlib.pyplot`` and no global state; each picture is its own
:class:`matplotlib.figure.Figure` rendered by an Agg canvas and written atomically. matplotlib is
imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..common.atomic_io import atomic_path
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import audio_grid, lyric_lines_weighted, top_features

log = logging.getLogger(__name__)

AUDIO_COLOR, LYRICS_COLOR = "#2b8cbe", "#e6550d"
DIVERGING = "RdBu_r"  # red: pushes towards the explained class, blue: away from it
DPI = 110
#: Characters of a feature or lyric line shown in a picture (the HTML page shows the full text).
MAX_LABEL_CHARS = 48
MAX_LINE_CHARS = 90
#: What the lyrics picture colours, per ``explain.lyrics_unit``.
LYRICS_CAPTIONS = {"line": "each line coloured by its weight (L = line number)",
                   "distinct_line": "each line coloured by the weight of its distinct line "
                                    "(L2 x8: first sung as line 2, eight times, one feature)",
                   "section": "each line coloured by the weight of its section (L5 x3: the section starting at "
                              "line 5, sung three times, one feature)",
                   "word": "each word coloured by its weight"}


def new_figure(width_in: float, height_in: float):
    """A fresh Figure with constrained layout (titles and labels kept inside), no pyplot involved."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def save_png(fig, out_png: str | os.PathLike, dpi: int = DPI) -> Path:
    """Render ``fig`` with an Agg canvas into ``out_png`` atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(out_png)


def _song(explanation: MusicLIMEExplanation) -> str:
    return str(explanation.metadata.get("song_info", {}).get("song_id", ""))


def _symmetric_limit(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def draw_audio_heatmap(explanation: MusicLIMEExplanation, label: int, out_png: str | os.PathLike) -> Path:
    """Sources x segments heatmap of the audio weights; x axis in seconds, one cell per component.

    When the explanation has no audio (``modality="lyrical"``) the picture says so.
    """
    grid = audio_grid(explanation, label)
    towards = explanation.label_name(label)
    if grid is None:
        return _note_picture(f"{_song(explanation)}: no audio components were explained", out_png)
    n_sources, n_segments = grid.weights.shape
    fig = new_figure(max(6.0, min(12.0, 0.55 * n_segments + 2.5)), 0.45 * n_sources + 1.8)
    ax = fig.add_subplot()
    limit = _symmetric_limit(grid.weights)
    mesh = ax.pcolormesh(grid.boundaries_s, np.arange(n_sources + 1), grid.weights, cmap=DIVERGING,
                         vmin=-limit, vmax=limit, edgecolors="white", linewidth=0.5)
    ax.set_yticks(np.arange(n_sources) + 0.5, grid.sources)
    ax.set_ylim(n_sources, 0)  # first source on top
    ax.set_xticks(grid.boundaries_s, [f"{t:.1f}" for t in grid.boundaries_s], fontsize=8,
                  rotation=45 if n_segments > 12 else 0)
    ax.set_xlabel("time (s); one column per temporal segment")
    if n_segments <= 16:
        centres = (grid.boundaries_s[:-1] + grid.boundaries_s[1:]) / 2
        for row in range(n_sources):
            for col in range(n_segments):
                value = grid.weights[row, col]
                if abs(value) >= 0.05 * limit:  # label the cells that matter, with enough digits for small weights
                    ax.text(centres[col], row + 0.5, f"{value:+.3f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(value) > 0.6 * limit else "black")
    fig.colorbar(mesh, ax=ax, label=f"weight towards {towards}", shrink=0.9)
    ax.set_title(f"{_song(explanation)}\naudio components (sources x segments) towards {towards}", fontsize=10)
    return save_png(fig, out_png)


def draw_top_features(explanation: MusicLIMEExplanation, label: int, num_features: int,
                      out_png: str | os.PathLike) -> Path:
    """Horizontal bars of the top ``num_features`` features of both modalities, largest on top."""
    from matplotlib.patches import Patch

    items = top_features(explanation, label, num_features)[::-1]
    fig = new_figure(8.0, 0.32 * max(len(items), 3) + 1.4)
    ax = fig.add_subplot()
    colors = [AUDIO_COLOR if item["type"] == "audio" else LYRICS_COLOR for item in items]
    ax.barh(np.arange(len(items)), [item["weight"] for item in items], color=colors)
    ax.set_yticks(np.arange(len(items)), [_shorten(item["label"], MAX_LABEL_CHARS) for item in items], fontsize=8)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel(f"LIME weight (change in P({explanation.label_name(label)}))")
    ax.legend(handles=[Patch(color=AUDIO_COLOR, label="audio component"), Patch(color=LYRICS_COLOR, label="lyrics")],
              fontsize=8, loc="best")
    ax.set_title(f"{_song(explanation)}\ntop {len(items)} features towards {explanation.label_name(label)}",
                 fontsize=10)
    return save_png(fig, out_png)


def draw_lyrics(explanation: MusicLIMEExplanation, label: int, out_png: str | os.PathLike,
                lyrics_text: str | None = None) -> Path:
    """The lyrics, each line (or word) on a background coloured by its weight; lines numbered."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.transforms import offset_copy

    lines = lyric_lines_weighted(explanation, label, lyrics_text)
    if not lines:
        return _note_picture(f"{_song(explanation)}: no lyrics were explained", out_png)
    values = np.array([p.weight for line in lines for p in line if p.weight is not None] or [0.0])
    limit = _symmetric_limit(values)
    cmap, norm = colormaps[DIVERGING], Normalize(-limit, limit)
    height = 0.27 * len(lines) + 1.9
    fig = new_figure(9.0, height)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(len(lines), -0.5)
    renderer = None
    numbers = [pieces[0].feature if len(pieces) == 1 and pieces[0].feature.startswith("L") else ""
               for pieces in lines]
    indent = 0.03 + 0.011 * max(len(number) for number in numbers)
    for row, (pieces, number) in enumerate(zip(lines, numbers)):
        ax.text(0.0, row, number, fontsize=8, color="#555555", va="center", family="monospace")
        transform, shown = ax.transData, 0
        x = indent
        for piece in pieces:
            text = piece.text[: max(0, MAX_LINE_CHARS - shown)]
            shown += len(piece.text)
            if not text:
                break
            box = None if piece.weight is None else dict(boxstyle="square,pad=0.15", linewidth=0,
                                                          facecolor=cmap(norm(piece.weight)))
            strong = piece.weight is not None and abs(piece.weight) > 0.6 * limit
            artist = ax.text(x, row, text + ("…" if shown > MAX_LINE_CHARS else ""), fontsize=9, va="center",
                             transform=transform, bbox=box, color="white" if strong else "black")
            x = 0.0
            renderer = renderer or _renderer(fig)
            transform = offset_copy(artist.get_transform(), fig=fig, x=artist.get_window_extent(renderer).width,
                                    units="dots")
    fig.colorbar(_scalar_mappable(cmap, norm), ax=ax, label=f"weight towards {explanation.label_name(label)}",
                 shrink=0.5, location="bottom", aspect=40)
    caption = LYRICS_CAPTIONS.get(explanation.metadata.get("lyrics_unit"), LYRICS_CAPTIONS["line"])
    ax.set_title(f"{_song(explanation)}\nlyrics, {caption}", fontsize=10)
    return save_png(fig, out_png)


def draw_global_importance(rows: Sequence[dict], out_png: str | os.PathLike, kinds: Sequence[str] | None = None,
                           top: int = 12) -> Path:
    """One panel per (group kind, class): the ``top`` groups by ``I_AVG`` with their ``I_LIME``.

    Args:
        rows: :func:`musiclime.evidence.aggregation.global_importance` rows (``kind``, ``group``, ``class_name``,
            ``I_LIME``, ``I_AVG``).
    """
    kinds = list(kinds or dict.fromkeys(row["kind"] for row in rows))
    classes = list(dict.fromkeys(row["class_name"] for row in rows))
    if not rows:
        return _note_picture("no explanations to aggregate", out_png)
    fig = new_figure(5.0 * len(classes), 2.6 * len(kinds) + 0.6)
    axes = fig.subplots(len(kinds), len(classes), squeeze=False)
    for r, kind in enumerate(kinds):
        for c, cls in enumerate(classes):
            ax = axes[r][c]
            chosen = sorted((row for row in rows if row["kind"] == kind and row["class_name"] == cls),
                            key=lambda row: -row["I_AVG"])[:top][::-1]
            y = np.arange(len(chosen))
            ax.barh(y - 0.2, [row["I_AVG"] for row in chosen], height=0.4, color=AUDIO_COLOR, label="I_AVG")
            ax.barh(y + 0.2, [row["I_LIME"] for row in chosen], height=0.4, color=LYRICS_COLOR, label="I_LIME")
            ax.set_yticks(y, [_shorten(str(row["group"]), 28) for row in chosen], fontsize=8)
            ax.set_title(f"{kind} - {cls}", fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
            if r == 0 and c == 0:
                ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Global importance across songs, per class", fontsize=11)
    return save_png(fig, out_png)


def _note_picture(message: str, out_png: str | os.PathLike) -> Path:
    fig = new_figure(6.0, 1.2)
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=10)
    return save_png(fig, out_png)


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    return canvas.get_renderer()


def _scalar_mappable(cmap, norm):
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=cmap)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
