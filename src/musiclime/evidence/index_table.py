"""The index's table as data for the page's own script: rows, sort keys and filter values, embedded as JSON.

At 10,000 songs a static table is megabytes of DOM that the browser lays out at once, with no sorting or
filtering. The index instead embeds its rows in ``<script type="application/json">`` and a small inline
script (``templates/index_table.js``) shows one page of them, sorts on a click of a column header and
filters by select boxes. This module builds that data; :func:`script_json` embeds it so that no text of the
data (a lyric line, a song id) can end the script element or open an HTML comment.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from importlib import resources
from typing import Mapping, Sequence

from markupsafe import Markup

from .index_rows import INDEX_TEXT_COLUMNS, INDEX_VERDICTS
from .pages import verdict_rows

#: Rows shown on one page of the table.
PAGE_ROWS = 50
#: The verdict filter's values.
PASSES_ALL, FAILS_SOME, NOT_EVALUATED = "passes all", "fails some", "not evaluated"
#: The filters every table offers (its cells or its verdicts); ``detector split`` where the point has a trained head.
BASE_FILTERS = ("true label", "predicted", "verdict")
SPLIT_FILTER = "detector split"
#: A cohort value a song lacks.
MISSING = "-"

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
#: Characters that must not appear raw inside a script element (``</script``, ``<!--``) or that JavaScript
#: once read as line ends; each becomes its JSON escape, which JSON.parse reads back unchanged.
_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_UNSAFE_RE = re.compile("[<>&\u2028\u2029]")


def verdict_class(evaluation: Mapping | None) -> str:
    """The row's verdict filter value from its (reader's) evaluation and the explanation's own checks (those
    the verdicts cell names): ``passes all``, ``fails some``, or ``not evaluated`` (no evaluation or none
    of those checks)."""
    own = [v for v in verdict_rows(evaluation) if v["check"] in INDEX_VERDICTS]
    if not own:
        return NOT_EVALUATED
    return PASSES_ALL if all(v["passed"] for v in own) else FAILS_SOME


def sort_key(column: str, cell: str) -> float | str | None:
    """The value a column sorts on: text columns and ``song`` their text; number columns the first number in
    the cell (``"0.981 / 0.910"`` sorts as 0.981, ``"+0.45"`` as 0.45); ``None`` (sorted last) where a
    number column holds none (``-``)."""
    if column == "song" or column in INDEX_TEXT_COLUMNS or column in ("true label", "predicted"):
        return cell
    match = _NUMBER.search(cell)
    return float(match.group()) if match else None


def table_row(song_id: str, href: str, split: str | None, cells: Mapping[str, str], columns: Sequence[str],
              facets: Sequence[str]) -> dict:
    """One row of the embedded data.

    Args:
        cells: display strings keyed by ``columns[1:]`` (:func:`~musiclime.evidence.index_rows.index_row`).
        columns: the table's columns, ``song`` first.
        facets: the row's value for each filter of :func:`filters`, in that order.
    Returns:
        ``{"song", "href", "split", "cells": [str] (columns[1:]), "keys": [float | str | None] (columns),
        "facets": [str]}``.
    """
    shown = [cells[c] for c in columns[1:]]
    keys = [sort_key("song", song_id)] + [sort_key(c, v) for c, v in zip(columns[1:], shown)]
    return {"song": song_id, "href": href, "split": split, "cells": shown, "keys": keys, "facets": list(facets)}


def filter_names(has_splits: bool, cohort_columns: Sequence[str]) -> list[str]:
    """The table's filters: true label, predicted, verdict, the detector split (with a trained head), then one
    per cohort column."""
    return [*BASE_FILTERS, *([SPLIT_FILTER] if has_splits else []), *cohort_columns]


def row_facets(cells: Mapping[str, str], verdict: str, split: str | None, has_splits: bool,
               cohorts: Mapping[str, object] | None, cohort_columns: Sequence[str]) -> list[str]:
    """A row's value per filter of :func:`filter_names` (a song without a split or cohort value: ``-``)."""
    values = [cells["true label"], cells["predicted"], verdict]
    if has_splits:
        values.append(split or MISSING)
    return values + [MISSING if (cohorts or {}).get(c) is None else str(cohorts[c]) for c in cohort_columns]


def cohort_columns(cohorts: Sequence[Mapping[str, object] | None]) -> list[str]:
    """The cohort columns of a point's songs, in order of first appearance."""
    return list(dict.fromkeys(column for entry in cohorts for column in (entry or {})))


def filters(names: Sequence[str], rows: Sequence[Mapping]) -> list[dict]:
    """Per filter its options with their row counts: ``[{"name", "options": [[value, count], ...]}]``, values
    in natural order (``s2`` before ``s10``)."""
    out = []
    for i, name in enumerate(names):
        counts = Counter(row["facets"][i] for row in rows)
        out.append({"name": name, "options": [[value, counts[value]] for value in sorted(counts, key=_natural)]})
    return out


def table_data(point_id: str, columns: Sequence[str], rows: Sequence[Mapping], names: Sequence[str]) -> dict:
    """What the page's script reads for one point's table: ``{"point", "columns", "text_columns",
    "page_rows", "filters", "rows"}``; text sort keys become ranks (:func:`ranked_keys`)."""
    return {"point": point_id, "columns": list(columns),
            "text_columns": [c for c in columns if c in INDEX_TEXT_COLUMNS], "page_rows": PAGE_ROWS,
            "filters": filters(names, rows), "rows": ranked_keys(rows)}


def ranked_keys(rows: Sequence[Mapping]) -> list[dict]:
    """The rows with every text sort key replaced by its rank (0, 1, ...) among the column's texts in natural,
    case-blind order (``s2`` before ``s10``; equal texts share a rank), so the page sorts 10,000 rows by
    comparing numbers; number keys and ``None`` stay."""
    if not rows:
        return []
    keys = [list(row["keys"]) for row in rows]
    for c in range(len(keys[0])):
        texts = {k[c] for k in keys if isinstance(k[c], str)}
        rank = {text: i for i, text in enumerate(sorted(texts, key=lambda t: (_natural(t), t)))}
        for k in keys:
            if isinstance(k[c], str):
                k[c] = rank[k[c]]
    return [{**row, "keys": k} for row, k in zip(rows, keys)]


def script_json(data) -> Markup:
    """``data`` as JSON to place verbatim inside ``<script type="application/json">``: ``<``, ``>``, ``&``
    and U+2028/U+2029 become ``\\uXXXX`` escapes, so no string in it can close the element or open a comment
    (``JSON.parse`` of the element's text gives ``data`` back)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(_UNSAFE_RE.sub(lambda m: _UNSAFE[m.group()], text))


def _natural(value: str) -> list:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", value)]


@functools.cache
def index_script() -> Markup:
    """The table's script (``templates/index_table.js``), to inline in the page (no CDN: pages work offline,
    from ``file://`` and from a copied ``results/`` folder)."""
    text = resources.files("musiclime.evidence").joinpath("templates", "index_table.js").read_text(encoding="utf-8")
    if "<script" in text.lower() or "</script" in text.lower() or "<!--" in text:
        raise ValueError("index_table.js must not contain '<script', '</script' or '<!--': it is inlined in a script "
                         "element")
    return Markup(text)
