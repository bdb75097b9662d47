"""What holds across a point's songs: class figures with intervals, and differences tested between groups.

``findings.csv`` (and ``findings.parquet``) holds one row per figure (:data:`FINDING_COLUMNS`):

* ``section="class"``: per class (the label each song's explanation explains) the mean over its songs of
  the exact attribution (each modality's and stem's Shapley value towards the class, probability units;
  the audio's share of the effect) and of each trust figure (``passes_<check>``: the share of songs that
  pass), with a bootstrap percentile interval, its tails expanded for the songs behind it
  (:mod:`.differences`, :mod:`.bootstrap`);
* ``section="difference"``: for each pair of classes, and of values of each cohort column named in
  ``report.cohorts`` (sheet columns, e.g. ``generator``), the difference of the mean *importance* of each
  modality and stem (``|exact value|``: how far removing it moves the probability), of the audio's share,
  of each audio component's and each lyric role's weight (the song's positive full-fit weight, as the
  paper's aggregation sums it; 0 where it has none), with its interval, Welch's p-value, the p-value
  adjusted over the point's whole family of differences (``report.difference_correction``) and whether
  the difference ``holds`` (adjusted p at most ``report.difference_alpha``).

:func:`lead_rows` turns the rows into the sentences that lead the point's report page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .bootstrap import percentile_interval
from .differences import MIN_GROUP_SONGS, adjust, group_means, pairs_to_compare, welch_p_values
from .lyric_roles import ROLE_KINDS
from .song_table import SongTable

log = logging.getLogger(__name__)

FINDING_COLUMNS = ("section", "comparison", "group_a", "group_b", "measure", "key", "n_a", "n_b", "value_a",
                   "low_a", "high_a", "value_b", "low_b", "high_b", "difference", "low", "high", "p_value",
                   "p_adjusted", "holds", "correction", "alpha", "interval_level")
#: Below this many songs in a class, the page says its intervals mean little (a bootstrap only knows these songs).
FEW_SONGS = 10
#: Measures, as the table names them.
EXACT_MODALITY, EXACT_STEM, AUDIO_SHARE = "exact modality", "exact stem", "audio share"
COMPONENT_WEIGHT, ROLE_WEIGHT, TRUST = "component weight", "lyric role weight", "trust"


@dataclass(frozen=True)
class Settings:
    """``report.interval_level``, ``interval_replicates``, ``interval_seed``, ``difference_alpha``,
    ``difference_correction``."""

    level: float = 0.9
    replicates: int = 1000
    seed: int = 0
    alpha: float = 0.05
    correction: str = "holm"

    @classmethod
    def from_report(cls, report: Mapping) -> "Settings":
        return cls(float(report.get("interval_level", 0.9)), int(report.get("interval_replicates", 1000)),
                   int(report.get("interval_seed", 0)), float(report.get("difference_alpha", 0.05)),
                   str(report.get("difference_correction", "holm")))


def class_columns(table: SongTable) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The class figures' columns (``(measure, key)``) and values ``(n_rows, k)``: signed exact values."""
    columns = [(EXACT_MODALITY if kind == "modality" else AUDIO_SHARE if kind == "share" else EXACT_STEM, player)
               for kind, player in table.players]
    return columns, table.exact


def importance_columns(table: SongTable) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The differences' columns and values ``(n_rows, k)``: ``|exact|`` per modality and stem, the audio share,
    each component's and lyric role's weight (0 where a song has none)."""
    columns, parts = [], []
    for j, (kind, player) in enumerate(table.players):
        if kind == "modality" and player == "interaction":
            continue
        columns.append((EXACT_MODALITY if kind == "modality" else AUDIO_SHARE if kind == "share" else EXACT_STEM,
                        player))
        parts.append(table.exact[:, j] if kind == "share" else np.abs(table.exact[:, j]))
    chosen = [k for k, (kind, _) in enumerate(table.keys) if kind == "component" or kind in ROLE_KINDS]
    if chosen:
        dense = table.weights[:, chosen].toarray()
        for position, k in enumerate(chosen):
            kind, group = table.keys[k]
            columns.append((COMPONENT_WEIGHT, group) if kind == "component" else (ROLE_WEIGHT, f"{kind}: {group}"))
            parts.append(dense[:, position])
    values = np.stack(parts, axis=1) if parts else np.zeros((len(table.song_of_row), 0))
    return columns, values


def class_figure_rows(table: SongTable, settings: Settings) -> list[dict]:
    """``section="class"`` rows: per class, the exact attribution's and the trust figures' means with intervals."""
    names = [table.class_names.get(int(c), str(c)) for c in table.classes]
    rows = []
    columns, values = class_columns(table)
    if columns:
        means, _ = group_means(values, table.song_of_row, table.main_rows, names, settings.level,
                               settings.replicates, settings.seed)
        rows += _figure_rows(means, columns, settings)
    if table.metrics:
        songs = np.arange(table.n_songs)
        means, _ = group_means(table.trust, songs, songs, names, settings.level, settings.replicates, settings.seed)
        rows += _figure_rows(means, [(TRUST, m) for m in table.metrics], settings)
    return rows


def _figure_rows(means, columns: list[tuple[str, str]], settings: Settings) -> list[dict]:
    rows = []
    for g, group in enumerate(means.groups):
        for j, (measure, key) in enumerate(columns):
            if means.n[g, j] == 0:
                continue
            rows.append(_row("class", "class", group, "", measure, key, settings, n_a=int(means.n[g, j]),
                             value_a=means.mean[g, j], low_a=means.low[g, j], high_a=means.high[g, j]))
    return rows


def groupings(table: SongTable) -> list[tuple[str, list[str]]]:
    """``(comparison, per-song group)``: the classes, then each cohort column (blank cells left out)."""
    found = [("class", [table.class_names.get(int(c), str(c)) for c in table.classes])]
    found += [(column, list(values)) for column, values in table.cohorts.items()]
    return found


def difference_rows(table: SongTable, settings: Settings) -> list[dict]:
    """``section="difference"`` rows of every comparison, adjusted together (module docstring)."""
    columns, values = importance_columns(table)
    song_values = table.song_means(values)
    rows = []
    for comparison, groups in groupings(table):
        labels = sorted({g for g in groups if g})
        pairs = pairs_to_compare(labels, [groups.count(g) for g in labels])
        if not pairs:
            log.info("%s: no two groups with %d songs each: no difference tested", comparison, MIN_GROUP_SONGS)
            continue
        for a, b in pairs:
            pair_groups = [g if g == a else (b if (g == b or (b == f"not {a}" and g)) else "") for g in groups]
            rows += _pair_rows(table, comparison, a, b, pair_groups, columns, values, song_values, settings)
    adjusted = adjust([r["p_value"] if r["p_value"] is not None else np.nan for r in rows], settings.correction)
    for row, p in zip(rows, adjusted):
        row["p_adjusted"] = None if np.isnan(p) else float(p)
        row["holds"] = bool(row["p_adjusted"] is not None and row["p_adjusted"] <= settings.alpha)
    return rows


def _pair_rows(table: SongTable, comparison: str, a: str, b: str, groups: list[str], columns, values, song_values,
               settings: Settings) -> list[dict]:
    keep_songs = np.array([g in (a, b) for g in groups])
    keep_rows = np.flatnonzero(keep_songs[table.song_of_row])
    renumber = np.cumsum(keep_songs) - 1
    song_of_row = renumber[table.song_of_row[keep_rows]]
    main = np.flatnonzero(np.isin(keep_rows, table.main_rows))
    kept_groups = [g for g in groups if g in (a, b)]
    means, samples = group_means(values[keep_rows], song_of_row, main, kept_groups, settings.level,
                                 settings.replicates, settings.seed)
    ia, ib = means.groups.index(a), means.groups.index(b)
    low, high = percentile_interval(samples[:, ia] - samples[:, ib], settings.level,
                                    np.minimum(means.n[ia], means.n[ib]))
    side = np.array(groups)
    p = welch_p_values(song_values[side == a], song_values[side == b])
    rows = []
    for j, (measure, key) in enumerate(columns):
        if means.n[ia, j] == 0 or means.n[ib, j] == 0:
            continue
        rows.append(_row("difference", comparison, a, b, measure, key, settings, n_a=int(means.n[ia, j]),
                         n_b=int(means.n[ib, j]), value_a=means.mean[ia, j], low_a=means.low[ia, j],
                         high_a=means.high[ia, j], value_b=means.mean[ib, j], low_b=means.low[ib, j],
                         high_b=means.high[ib, j], difference=means.mean[ia, j] - means.mean[ib, j],
                         low=low[j], high=high[j], p_value=p[j], correction=settings.correction,
                         alpha=settings.alpha))
    return rows


def _row(section: str, comparison: str, group_a: str, group_b: str, measure: str, key: str, settings: Settings,
         **values) -> dict:
    row = dict.fromkeys(FINDING_COLUMNS)
    row.update({"section": section, "comparison": comparison, "group_a": group_a, "group_b": group_b,
                "measure": measure, "key": key, "interval_level": settings.level})
    for name, value in values.items():
        row[name] = None if isinstance(value, float) and np.isnan(value) else (
            float(value) if isinstance(value, (float, np.floating)) else value)
    return row


def dataset_findings(table: SongTable, settings: Settings = Settings()) -> list[dict]:
    """Every row of ``findings.csv``: the class figures, then the tested differences."""
    return class_figure_rows(table, settings) + difference_rows(table, settings)


# --- the page's words -------------------------------------------------------------------------------------------

def describe_key(measure: str, key: str) -> str:
    """What a row measures, in words: ``the drums (removed: how far P moves)``, ``drums, segment 4``."""
    if measure in (EXACT_STEM, EXACT_MODALITY):
        return f"the {key}" + (" (all lyrics)" if key == "lyrics" and measure == EXACT_STEM else "")
    if measure == AUDIO_SHARE:
        return "the audio's share of the effect"
    if measure == COMPONENT_WEIGHT:
        source, _, segment = key.rpartition("_T")
        return f"{source}, segment {int(segment) + 1}" if segment.isdigit() else key
    if measure == ROLE_WEIGHT:
        kind, _, group = key.partition(": ")
        return {"lyric section": f"lyric lines of the {group}", "lyric repetition": f"lyric lines {group}",
                "lyric position": f"lyric lines in the {group}",
                "lyric recurrence": f"lyric lines {group}"}.get(kind, key)
    return key


def unit_of(measure: str) -> str:
    return {EXACT_STEM: "P", EXACT_MODALITY: "P", AUDIO_SHARE: "share", COMPONENT_WEIGHT: "weight",
            ROLE_WEIGHT: "weight"}.get(measure, "")


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def lead_rows(rows: Sequence[Mapping], limit: int = 8) -> list[dict]:
    """The differences that hold (largest first by adjusted p, then size), as ``{"finding", "values",
    "test"}`` sentences for the report page; at most ``limit``."""
    holding = [r for r in rows if r["section"] == "difference" and r["holds"]]
    holding.sort(key=lambda r: (r["p_adjusted"], -abs(r["difference"] or 0.0)))
    lead = []
    for r in holding[:limit]:
        more, less = (r["group_a"], r["group_b"]) if r["difference"] > 0 else (r["group_b"], r["group_a"])
        what = describe_key(r["measure"], r["key"])
        verb = "more important" if r["measure"] != AUDIO_SHARE else "larger"
        where = f"{r['comparison']} " if r["comparison"] != "class" else ""
        finding = f"{what[0].upper()}{what[1:]}: {verb} for {where}{more} songs than for {less} songs"
        values = (f"{r['group_a']}: {_fmt(r['value_a'])} [{_fmt(r['low_a'])}, {_fmt(r['high_a'])}], n={r['n_a']}; "
                  f"{r['group_b']}: {_fmt(r['value_b'])} [{_fmt(r['low_b'])}, {_fmt(r['high_b'])}], n={r['n_b']}; "
                  f"difference {_fmt(r['difference'])} [{_fmt(r['low'])}, {_fmt(r['high'])}]")
        test = f"adjusted p = {r['p_adjusted']:.2g} ({r['correction']})"
        lead.append({"finding": finding, "values": values, "test": test})
    return lead


def lead_summary(rows: Sequence[Mapping], n_songs: int) -> dict:
    """What the page says above the list: how many differences were tested and hold, and why none could be."""
    tested = [r for r in rows if r["section"] == "difference" and r["p_value"] is not None]
    holding = [r for r in tested if r["holds"]]
    first = next(iter(tested), None) or next((r for r in rows if r["section"] == "difference"), None)
    correction = (first or {}).get("correction") or "holm"
    alpha = (first or {}).get("alpha")
    comparisons = sorted({r["comparison"] for r in rows if r["section"] == "difference"})
    if not tested:
        note = (f"No difference could be tested: a group needs at least {MIN_GROUP_SONGS} songs "
                f"({n_songs} songs in this point). The intervals below describe these songs only.")
    elif not holding:
        note = (f"No difference holds at alpha = {alpha:g} after {_correction_words(correction)} over "
                f"{len(tested)} tested differences ({', '.join(comparisons)}).")
    else:
        note = (f"{len(holding)} of {len(tested)} tested differences ({', '.join(comparisons)}) hold at alpha = "
                f"{alpha:g} after {_correction_words(correction)}.")
    return {"note": note, "n_tested": len(tested), "n_holding": len(holding)}


def read_findings(path: str | Path) -> list[dict]:
    """The rows of a ``findings.csv`` with numbers as floats, counts as ints, ``holds`` as bool (None where empty)."""
    import csv

    numbers = {"value_a", "low_a", "high_a", "value_b", "low_b", "high_b", "difference", "low", "high", "p_value",
               "p_adjusted", "alpha", "interval_level"}
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            row: dict = {}
            for key, cell in raw.items():
                if cell == "" or cell is None:
                    row[key] = None
                elif key in numbers:
                    row[key] = float(cell)
                elif key in ("n_a", "n_b"):
                    row[key] = int(float(cell))
                elif key == "holds":
                    row[key] = cell == "True"
                else:
                    row[key] = cell
            rows.append(row)
    return rows


def page_lead(path: str | Path, n_songs: int) -> dict:
    """What the point's report page shows first: ``summary`` (how many differences hold), ``classes`` (a line
    per class, with intervals) and ``holding`` (:func:`lead_rows`)."""
    rows = read_findings(path)
    return {"summary": lead_summary(rows, n_songs)["note"], "classes": class_lines(rows), "holding": lead_rows(rows)}


def _correction_words(correction: str) -> str:
    return "Holm's correction" if correction == "holm" else "Benjamini-Hochberg's false discovery rate control"


def class_lines(rows: Sequence[Mapping]) -> list[str]:
    """Per class, one line: the audio's exact share and each modality's mean exact value with intervals."""
    by_class: dict[str, dict[str, Mapping]] = {}
    for r in rows:
        if r["section"] == "class" and r["measure"] in (EXACT_MODALITY, AUDIO_SHARE, EXACT_STEM):
            by_class.setdefault(r["group_a"], {})[f"{r['measure']}:{r['key']}"] = r
    lines = []
    for group, found in by_class.items():
        parts = []
        share = found.get(f"{AUDIO_SHARE}:audio")
        if share:
            parts.append(f"the audio's share of the effect {share['value_a']:.0%} "
                         f"[{share['low_a']:.0%}, {share['high_a']:.0%}]")
        for modality in ("audio", "lyrics"):
            r = found.get(f"{EXACT_MODALITY}:{modality}")
            if r:
                parts.append(f"exact Shapley value of the {modality} towards {group} {r['value_a']:+.3f} "
                             f"[{r['low_a']:+.3f}, {r['high_a']:+.3f}]")
        stems = sorted((r for name, r in found.items() if name.startswith(EXACT_STEM) and r["key"] != "lyrics"),
                       key=lambda r: -abs(r["value_a"]))
        if stems:
            parts.append("stems " + ", ".join(f"{r['key']} {r['value_a']:+.3f} [{r['low_a']:+.3f}, {r['high_a']:+.3f}]"
                                              for r in stems))
        n = max(r["n_a"] for r in found.values())
        level = next(iter(found.values()))["interval_level"]
        caution = f"; with {n} songs these intervals mean little" if n < FEW_SONGS else ""
        lines.append(f"{group} songs (n={n}): " + "; ".join(parts) + f" ({level:.0%} intervals over songs{caution})")
    return lines
