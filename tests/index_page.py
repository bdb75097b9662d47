"""Read an index page's tables as its script does: the JSON data in ``<script type="application/json">``."""

from __future__ import annotations

import json
import re
from pathlib import Path

_DATA = re.compile(r'<script type="application/json" id="rows-([^"]*)">(.*?)</script>', re.S)


def embedded_tables(page: Path | str) -> dict[str, dict]:
    """Per point id (as written in the element id) its table data (``columns``, ``filters``, ``rows``...)."""
    text = Path(page).read_text(encoding="utf-8")
    return {point: json.loads(data) for point, data in _DATA.findall(text)}


def rows_by_song(page: Path | str, point: str | None = None) -> dict[str, dict]:
    """Per song id its row, the cells keyed by column (``song``'s entry: ``href`` and ``split``)."""
    tables = embedded_tables(page)
    out = {}
    for point_id, table in tables.items():
        if point is not None and point_id != point:
            continue
        for row in table["rows"]:
            cells = dict(zip(table["columns"][1:], row["cells"]))
            out[row["song"]] = {**cells, "href": row["href"], "split": row["split"],
                                "facets": dict(zip([f["name"] for f in table["filters"]], row["facets"]))}
    return out
