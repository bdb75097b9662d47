"""A list of dict rows written as CSV and, beside it, as Parquet (the same rows and columns), atomically."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Sequence

from ..common.atomic_io import atomic_path, write_text

log = logging.getLogger(__name__)


def csv_text(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """``rows`` as CSV text with ``columns`` (floats to 6 significant digits, None as empty)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def write_rows(rows: Sequence[dict], columns: Sequence[str], out_csv: str | Path,
               out_parquet: str | Path | None = None) -> Path:
    """Write ``rows`` as CSV (``out_csv``) and, when given, as Parquet (full precision; None as null)."""
    write_text(out_csv, csv_text(rows, columns))
    if out_parquet is not None:
        import pandas as pd

        frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=list(columns))
        with atomic_path(out_parquet) as tmp:
            frame.to_parquet(tmp, index=False)
    log.info("wrote %d rows to %s", len(rows), out_csv)
    return Path(out_csv)
