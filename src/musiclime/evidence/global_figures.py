"""Pictures of global importance as the MusicLIME paper draws them: per class, and class against class.

* :func:`draw_class_heatmaps`: one row per class, a sources x segments heatmap of ``I_AVG`` of the
  audio components beside horizontal bars of the class's top features (audio components and lyrics);
* :func:`draw_class_comparison`: two classes side by side: the difference of their ``I_AVG`` per
  source and segment, and the top features of each on one scale.

Lyrics in the bars: words are global features (``explain.lyrics_unit=word``); lines are
song-specific (a line's ``I_AVG`` is its weight in the one song it comes from), so no bar stands for a
line: lines count through their roles (:mod:`.lyric_roles`: ``chorus lines``, ``lines sung 3+ times``,
...). Every bar carries ``n``, the songs it averages over, and, where the table has them, its interval
over songs as an error bar. Inputs are the rows of
:func:`musiclime.evidence.paper_aggregation.importance_rows` (either method). Thread-safe and
pyplot-free like :mod:`.figures`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .aggregation import FEATURE_KINDS
from .lyric_roles import ROLE_KINDS, describe_role
from .figures import AUDIO_COLOR, DIVERGING, LYRICS_COLOR, _shorten, error_bars, new_figure, save_png

log = logging.getLogger(__name__)

#: Open-Unmix's target order; other source names follow alphabetically.
SOURCE_ORDER = ("vocals", "drums", "bass", "other")
SEQUENTIAL = "YlOrRd"
EMPTY_COLOR = "#e8e8e8"  # a component that never counted for the class
MAX_BAR_LABEL = 40


def component_grid(rows: Sequence[dict], cls: int, value: str = "I_AVG",
                   components: Sequence[str] = ()) -> tuple[list[str], list[int], np.ndarray]:
    """``(sources, segments, grid)`` of ``value`` for the ``component`` rows of class ``cls``.

    ``grid`` is float64 ``(n_sources, n_segments)``; NaN where the component never counted for the class.
    Sources and segment indices are those of ``components`` (every audio component name explained,
    e.g. ``drums_T3``) and of every class's rows, so all grids of a point align and show every segment.
    """
    names = set(components) | {r["group"] for r in rows if r["kind"] == "component"}
    parsed = {name: (name.rsplit("_T", 1)[0], int(name.rsplit("_T", 1)[1])) for name in names}
    found = {source for source, _ in parsed.values()}
    sources = [s for s in SOURCE_ORDER if s in found] + sorted(found - set(SOURCE_ORDER))
    segments = sorted({segment for _, segment in parsed.values()})
    grid = np.full((len(sources), len(segments)), np.nan)
    for r in rows:
        if r["kind"] == "component" and r["class"] == cls:
            source, segment = parsed[r["group"]]
            grid[sources.index(source), segments.index(segment)] = r[value]
    return sources, segments, grid


#: Kinds a figure's bars rank: single features shared across songs and the lyric roles (not song-specific lines).
BAR_KINDS = tuple(k for k in FEATURE_KINDS if k != "line") + ROLE_KINDS


def top_feature_rows(rows: Sequence[dict], cls: int, top: int, value: str = "I_AVG") -> list[dict]:
    """The ``top`` rows of class ``cls`` by descending ``value`` among components, words, sections and
    lyric roles (:data:`BAR_KINDS`)."""
    chosen = [r for r in rows if r["class"] == cls and r["kind"] in BAR_KINDS]
    return sorted(chosen, key=lambda r: (-r[value], r["group"]))[:top]


def feature_label(row: Mapping) -> str:
    """A bar's label: the component, ``word "x"``, ``[Chorus]``, or ``"line" (song)`` for a song-specific lyric line."""
    if row["kind"] == "word":
        return f'word "{_shorten(row["group"], MAX_BAR_LABEL - 7)}"'
    if row["kind"] == "section":
        return f'[{_shorten(row["group"], MAX_BAR_LABEL - 2)}]'
    if row["kind"] in ROLE_KINDS:
        return _shorten(describe_role(row["kind"], str(row["group"])), MAX_BAR_LABEL)
    if row["kind"] == "line":
        songs = str(row.get("songs", "")).split()
        where = songs[0] + (f" +{len(songs) - 1}" if len(songs) > 1 else "") if songs else "?"
        return f'"{_shorten(row["group"], MAX_BAR_LABEL - len(where) - 5)}" ({where})'
    return str(row["group"])


def _class_names(rows: Sequence[dict], class_names: Mapping[int, str] | None) -> dict[int, str]:
    names = dict(class_names or {})
    names.update({int(r["class"]): str(r["class_name"]) for r in rows})
    return dict(sorted(names.items()))


def _song_counts(rows: Sequence[dict]) -> dict[int, int]:
    return {int(r["class"]): int(r["n_songs"]) for r in rows}


def _method(rows: Sequence[dict]) -> str:
    return str(rows[0].get("method", "")) if rows else ""


def _note(ax, message: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=10, color="#555555", wrap=True,
            transform=ax.transAxes)


def _heatmap(ax, fig, sources: list[str], segments: list[int], grid: np.ndarray, cmap, vmin: float, vmax: float,
             label: str, signed: bool = False) -> None:
    """Draw ``grid`` (sources x segments) on ``ax`` with a colorbar; NaN cells grey; values printed when few."""
    from matplotlib import colormaps

    colors = colormaps[cmap].with_extremes(bad=EMPTY_COLOR)
    mesh = ax.pcolormesh(np.arange(len(segments) + 1), np.arange(len(sources) + 1), np.ma.masked_invalid(grid),
                         cmap=colors, vmin=vmin, vmax=vmax, edgecolors="white", linewidth=0.5)
    ax.set_yticks(np.arange(len(sources)) + 0.5, sources, fontsize=8)
    ax.set_ylim(len(sources), 0)
    ax.set_xticks(np.arange(len(segments)) + 0.5, [f"T{s}" for s in segments], fontsize=7,
                  rotation=90 if len(segments) > 12 else 0)
    ax.set_xlabel("temporal segment", fontsize=8)
    if len(segments) <= 12:
        span = max(abs(vmin), abs(vmax)) or 1.0
        decimals = max(2, 1 - int(np.floor(np.log10(span))))  # 0.018 -> 3 decimals: "0.018"
        for i in range(len(sources)):
            for j in range(len(segments)):
                value = grid[i, j]
                if np.isfinite(value):
                    strong = abs(value) > 0.6 * span if signed else value > vmin + 0.6 * (vmax - vmin)
                    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
                    ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=6,
                            color="white" if strong else "black")
    fig.colorbar(mesh, ax=ax, shrink=0.9, pad=0.02).set_label(label, fontsize=8)


def _bars(ax, chosen: list[dict], value: str, limit: float | None = None) -> None:
    """Horizontal bars of ``chosen`` rows (largest on top), coloured by modality, each with its ``n``;
    x axis from 0 to 1.25 ``limit`` (default: the largest value) so panels can share a scale."""
    chosen = chosen[::-1]
    y = np.arange(len(chosen))
    values = [r[value] for r in chosen]
    colors = [AUDIO_COLOR if r["kind"] == "component" else LYRICS_COLOR for r in chosen]
    ax.barh(y, values, color=colors, height=0.7)
    errors = error_bars(chosen, value)
    if errors is not None:
        ax.errorbar(values, y, xerr=errors, fmt="none", ecolor="#222222", elinewidth=0.8, capsize=2)
    ax.set_yticks(y, [feature_label(r) for r in chosen], fontsize=7)
    ax.set_ylim(-0.6, max(len(chosen), 1) - 0.4)
    highs = [v if errors is None else v + e for v, e in zip(values, [] if errors is None else errors[1])]
    limit = limit or max(highs, default=1.0) or 1.0
    for yi, v, r in zip(y, highs, chosen):
        ax.text(v + 0.02 * limit, yi, f"n={r['n_present']}", va="center", fontsize=6, color="#444444")
    ax.set_xlim(0.0, limit * 1.25)
    ax.tick_params(axis="x", labelsize=7)


def _modality_legend(ax) -> None:
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=AUDIO_COLOR, label="audio component"), Patch(color=LYRICS_COLOR, label="lyrics")],
              fontsize=7, loc="lower right")


def draw_class_heatmaps(rows: Sequence[dict], out_png: str | os.PathLike,
                        class_names: Mapping[int, str] | None = None, top: int = 12,
                        components: Sequence[str] = ()) -> Path:
    """Per class, the paper's global picture: ``I_AVG`` of each audio component (sources x segments) and
    the top ``top`` features as bars. A class no song was explained as gets a row saying so.

    Args:
        rows: importance rows of one sweep point (one method).
        class_names: ``{class index: name}`` of the model (classes without songs included).
        components: every audio component name explained (the heatmap's cells), see :func:`component_grid`.
    """
    names = _class_names(rows, class_names)
    counts = _song_counts(rows)
    sources, segments, _ = component_grid(rows, -1, components=components)
    finite = [r["I_AVG"] for r in rows if r["kind"] == "component"]
    vmax = max(finite, default=1.0) or 1.0
    n_bars = max((len(top_feature_rows(rows, c, top)) for c in names), default=3)
    row_height = max(0.42 * len(sources) + 1.4, 0.24 * max(n_bars, 3) + 1.0)
    fig = new_figure(13.0, row_height * max(len(names), 1) + 0.9)
    grid_spec = fig.add_gridspec(max(len(names), 1), 2, width_ratios=[1.25, 1.0])
    for i, (cls, name) in enumerate(names.items()):
        heat_ax, bar_ax = fig.add_subplot(grid_spec[i, 0]), fig.add_subplot(grid_spec[i, 1])
        songs = counts.get(cls, 0)
        if not songs:
            log.warning("global importance: no song was explained as class %s (%s); its panels say so", cls, name)
            _note(heat_ax, f"class {name}: no song was explained as {name}")
            _note(bar_ax, "(no global importance without songs)")
            continue
        _, _, grid = component_grid(rows, cls, components=components)
        if sources and np.isfinite(grid).any():
            _heatmap(heat_ax, fig, sources, segments, grid, SEQUENTIAL, 0.0, vmax, "I_AVG (grey: never positive)"
                     if _method(rows) == "paper" else "I_AVG (grey: never selected)")
        else:
            _note(heat_ax, "no audio component counted for this class")
        heat_ax.set_title(f"{name} ({songs} song{'s' if songs != 1 else ''}): I_AVG of each audio component",
                          fontsize=9)
        chosen = top_feature_rows(rows, cls, top)
        if chosen:
            _bars(bar_ax, chosen, "I_AVG")
            bar_ax.set_xlabel("I_AVG (n = songs averaged over; bars: interval over songs)", fontsize=8)
            _modality_legend(bar_ax)
        else:
            _note(bar_ax, "no feature counted for this class")
        kinds = {(r["kind"], r["group"]) for r in rows if r["class"] == cls}
        lines = any(kind == "line" for kind, _ in kinds) or any(kind in ROLE_KINDS for kind, _ in kinds)
        bar_ax.set_title(f"{name}: top {len(chosen)} features" + (
            "\n(lyric lines are song-specific: they count by their role)" if lines else ""), fontsize=9)
    fig.suptitle(f"Global importance per class ({_method(rows) or 'unknown'} aggregation)", fontsize=11)
    return save_png(fig, out_png)


def comparison_classes(names: Mapping[int, str], counts: Mapping[int, int]) -> tuple[int, int] | None:
    """The two classes compared: the two with the most songs (ties: lower index first), or None if < 2 classes."""
    if len(names) < 2:
        return None
    ranked = sorted(names, key=lambda c: (-counts.get(c, 0), c))[:2]
    return tuple(sorted(ranked))  # type: ignore[return-value]


def draw_class_comparison(rows: Sequence[dict], out_png: str | os.PathLike,
                          class_names: Mapping[int, str] | None = None, top: int = 10,
                          components: Sequence[str] = ()) -> Path:
    """Class ``a`` against class ``b`` (the two with the most songs): ``I_AVG(a) - I_AVG(b)`` per source and
    segment (a component that never counted for a class counts 0 there), and the top features of each
    side by side on one scale. A class without songs is named in the figure.
    """
    names = _class_names(rows, class_names)
    counts = _song_counts(rows)
    pair = comparison_classes(names, counts)
    if pair is None:
        fig = new_figure(8.0, 1.4)
        _note(fig.add_subplot(), "class comparison needs two classes; the explanations name one")
        return save_png(fig, out_png)
    a, b = pair
    sources, segments, grid_a = component_grid(rows, a, components=components)
    _, _, grid_b = component_grid(rows, b, components=components)
    top_a, top_b = top_feature_rows(rows, a, top), top_feature_rows(rows, b, top)
    n_bars = max(len(top_a), len(top_b), 3)
    heat_height, bars_height = 0.42 * len(sources) + 1.6, 0.24 * n_bars + 1.3
    fig = new_figure(13.0, heat_height + bars_height + 0.5)
    grid_spec = fig.add_gridspec(2, 2, height_ratios=[heat_height, bars_height])
    heat_ax = fig.add_subplot(grid_spec[0, :])
    label = {c: f"{names[c]} ({counts.get(c, 0)} songs)" for c in pair}
    missing = [names[c] for c in pair if not counts.get(c, 0)]
    both_nan = ~np.isfinite(grid_a) & ~np.isfinite(grid_b)
    difference = np.where(both_nan, np.nan, np.nan_to_num(grid_a) - np.nan_to_num(grid_b))
    if missing:
        log.warning("class comparison: no song was explained as %s; the figure says so", " or ".join(missing))
        _note(heat_ax, f"no song was explained as {' or '.join(missing)}: nothing to compare")
    elif sources and np.isfinite(difference).any():
        limit = float(np.nanmax(np.abs(difference))) or 1.0
        _heatmap(heat_ax, fig, sources, segments, difference, DIVERGING, -limit, limit,
                 "difference of I_AVG", signed=True)
        heat_ax.set_title(f"audio components: I_AVG of {names[a]} minus I_AVG of {names[b]}\n"
                          f"red: larger for {names[a]}, blue: larger for {names[b]}, grey: never counted", fontsize=9)
    else:
        _note(heat_ax, "no audio component counted for either class")
    limit = max((r.get("I_AVG_high") or r["I_AVG"] for r in top_a + top_b), default=1.0) or 1.0
    for position, cls, chosen in ((0, a, top_a), (1, b, top_b)):
        ax = fig.add_subplot(grid_spec[1, position])
        if chosen:
            _bars(ax, chosen, "I_AVG", limit)
            ax.set_xlabel("I_AVG (same scale in both; n = songs; bars: interval over songs)", fontsize=8)
            _modality_legend(ax)
        else:
            _note(ax, f"no song was explained as {names[cls]}" if not counts.get(cls, 0)
                  else f"no feature counted for {names[cls]}")
        ax.set_title(f"top features: {label[cls]}", fontsize=9)
    fig.suptitle(f"{names[a]} versus {names[b]} ({_method(rows) or 'unknown'} aggregation)", fontsize=11)
    return save_png(fig, out_png)
