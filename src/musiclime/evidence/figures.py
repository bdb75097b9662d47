"""Pictures of explanations (matplotlib, PNG): audio heatmap, top-feature bars, weighted lyrics, global importance.

Thread-safe: no ``matplotlib.pyplot`` and no global state; each picture is its own
:class:`matplotlib.figure.Figure` rendered by an Agg canvas and written atomically. matplotlib is
imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..common.atomic_io import atomic_path
from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import audio_grid, lyric_lines_weighted
from .rankings import modality_rankings

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

    The weights are the full fit's when recorded (every component weighed; else the explanation's
    own, unselected components 0); every cell is labelled with its weight (up to 16 segments) and
    the audio components of the certified top set are outlined. When the explanation has no audio
    (``modality="lyrical"``) the picture says so.
    """
    from matplotlib.patches import Rectangle

    grid = audio_grid(explanation, label)
    towards = explanation.label_name(label)
    if grid is None:
        return _note_picture(f"{_song(explanation)}: no audio components were explained", out_png)
    n_sources, n_segments = grid.weights.shape
    fig = new_figure(max(6.0, min(12.0, 0.7 * n_segments + 2.5)), 0.5 * n_sources + 2.0)
    ax = fig.add_subplot()
    limit = _symmetric_limit(grid.weights)
    mesh = ax.pcolormesh(grid.boundaries_s, np.arange(n_sources + 1), grid.weights, cmap=DIVERGING,
                         vmin=-limit, vmax=limit, edgecolors="white", linewidth=0.5)
    ax.set_yticks(np.arange(n_sources) + 0.5, grid.sources)
    ax.set_ylim(n_sources, 0)  # first source on top
    ax.set_xticks(grid.boundaries_s, [f"{t:.1f}" for t in grid.boundaries_s], fontsize=8,
                  rotation=45 if n_segments > 12 else 0)
    ax.set_xlabel("time (s); one column per temporal segment")
    for row, col, text in cell_labels(grid):
        value = grid.weights[row, col]
        ax.text((grid.boundaries_s[col] + grid.boundaries_s[col + 1]) / 2, row + 0.5, text, ha="center",
                va="center", fontsize=7 if n_segments <= 10 else 6,
                color="white" if abs(value) > 0.6 * limit else "black")
    certified = certified_cells(explanation, label, n_sources)
    for row, col in certified:
        ax.add_patch(Rectangle((grid.boundaries_s[col], row), grid.boundaries_s[col + 1] - grid.boundaries_s[col], 1,
                               fill=False, edgecolor="black", linewidth=2.0))
    fig.colorbar(mesh, ax=ax, label=f"weight towards {towards}", shrink=0.9)
    source = ("full fit: every component weighed" if grid.full_fit
              else "selected features only: unselected components are 0")
    marked = f"; outlined: the certified top {len(certified)}" if certified else ""
    ax.set_title(f"{_song(explanation)}\naudio components (sources x segments) towards {towards}\n"
                 f"({source}{marked})", fontsize=10)
    return save_png(fig, out_png)


def cell_labels(grid, max_segments: int = 16) -> list[tuple[int, int, str]]:
    """``(row, column, text)`` of every heatmap cell with a finite weight (none beyond ``max_segments``
    segments, where the numbers would not fit): a reader sees each component's weight, small ones included."""
    n_sources, n_segments = grid.weights.shape
    if n_segments > max_segments:
        return []
    limit = _symmetric_limit(grid.weights)
    digits = max(3, 2 - int(np.floor(np.log10(limit))))  # two significant digits of the largest weight, at least
    return [(row, col, f"{grid.weights[row, col]:+.{digits}f}") for row in range(n_sources)
            for col in range(n_segments) if np.isfinite(grid.weights[row, col])]


def certified_cells(explanation: MusicLIMEExplanation, label: int, n_sources: int) -> list[tuple[int, int]]:
    """``(source row, segment column)`` of the audio components in the certified top set."""
    audio = next((r for r in modality_rankings(explanation, label, len(explanation.features))
                  if r.modality == "audio"), None)
    if audio is None:
        return []
    cells = []
    for row in audio.rows:
        if row.in_certified_set:
            segment, source = divmod(int(explanation.features[row.column]["index"]), n_sources)
            cells.append((source, segment))
    return cells


def draw_top_features(explanation: MusicLIMEExplanation, label: int, num_features: int,
                      out_png: str | os.PathLike) -> Path:
    """Each modality's top ``num_features`` as horizontal bars (one panel per modality, largest on top);
    the certified top set drawn with a black edge, a check mark where a rank is certified in its place
    and a dot where only its membership of the set is, the group tied at the boundary hatched."""
    rankings = [r for r in modality_rankings(explanation, label, num_features) if r.rows]
    if not rankings:
        return _note_picture(f"{_song(explanation)}: no features were explained", out_png)
    longest = max(len(r.rows) for r in rankings)
    fig = new_figure(6.0 * len(rankings) + 1.0, 0.3 * max(longest, 3) + 1.8)
    axes = fig.subplots(1, len(rankings), squeeze=False)[0]
    for ax, ranking in zip(axes, rankings):
        rows = ranking.rows[::-1]
        y = np.arange(len(rows))
        color = AUDIO_COLOR if ranking.modality == "audio" else LYRICS_COLOR
        bars = ax.barh(y, [row.weight for row in rows], color=color,
                       edgecolor=["black" if row.in_certified_set else color for row in rows],
                       linewidth=[1.5 if row.in_certified_set else 0.0 for row in rows])
        for bar, row in zip(bars, rows):
            if row.tied:
                bar.set_hatch("///")
                bar.set_alpha(0.6)
        ax.set_yticks(y, [_mark(row) + f"{row.rank}. "
                          + _shorten(row.label, MAX_LABEL_CHARS) for row in rows], fontsize=8)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel(f"weight (change in P({explanation.label_name(label)}))", fontsize=8)
        tie = (f"; hatched: ranks {ranking.tie_ranks[0]}-{ranking.tie_ranks[1]} tied"
               if ranking.tie_ranks else "")
        ax.set_title(f"{ranking.modality}: top {len(rows)} of {ranking.total} ({ranking.share_words})\n"
                     f"{ranking.status()}{tie}", fontsize=9)
    source = "full fit, every feature weighed" if rankings[0].full_fit else "selected features only"
    fig.suptitle(f"{_song(explanation)}: each modality's top features towards {explanation.label_name(label)} "
                 f"({source}; \u2713 = certified rank, \u2022 = in the certified top set)", fontsize=10)
    return save_png(fig, out_png)


def _mark(row) -> str:
    """A bar's mark: a check where its rank is certified, a dot where only its set membership is."""
    return "\u2713 " if row.rank_certified else ("\u2022 " if row.in_certified_set else "")


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
            for offset, value, color in ((-0.2, "I_AVG", AUDIO_COLOR), (0.2, "I_LIME", LYRICS_COLOR)):
                values = [row[value] for row in chosen]
                ax.barh(y + offset, values, height=0.4, color=color, label=value)
                spans = error_bars(chosen, value)
                if spans is not None:
                    ax.errorbar(values, y + offset, xerr=spans, fmt="none", ecolor="#222222", elinewidth=0.7,
                                capsize=1.5)
            ax.set_yticks(y, [_shorten(str(row["group"]), 28) for row in chosen], fontsize=8)
            ax.set_title(f"{kind} - {cls}", fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
            if r == 0 and c == 0:
                ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Global importance across songs, per class (bars: interval over songs, where computed)", fontsize=11)
    return save_png(fig, out_png)


def error_bars(rows: Sequence[Mapping], value: str) -> np.ndarray | None:
    """``(2, n)`` distances below and above each row's ``value`` to its interval (``<value>_low``/``_high``),
    or None when the rows carry no interval."""
    if not rows or rows[0].get(f"{value}_low") is None:
        return None
    values = np.array([float(r[value]) for r in rows])
    low = np.array([float(r.get(f"{value}_low") if r.get(f"{value}_low") is not None else r[value]) for r in rows])
    high = np.array([float(r.get(f"{value}_high") if r.get(f"{value}_high") is not None else r[value]) for r in rows])
    return np.stack([np.maximum(values - low, 0.0), np.maximum(high - values, 0.0)])


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
