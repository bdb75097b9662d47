"""The checked songs of a sheet, written once by the main Snakemake process for its cluster jobs.

On a cluster every job's own Snakemake parses the Snakefile again. Checking every song of a
100,000-row sheet there (each audio file's verdict, the duplicate search) would make each job's
start-up grow with the dataset, and could even disagree with the main process (a file changed
meanwhile), so a batch job would get other songs than planned. The main process writes what it
found (the good songs with their notes, the skipped rows) to ``.musiclime/checked/<key>.json`` under
the working directory; a cluster job reads it back instead of checking. The key is a hash of the
data config and of the sheet file's size and modification time.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..common.atomic_io import write_json
from ..common.errors import ConfigError
from ..common.sample_sheet import Song
from ..common.song_checks import SongProblem
from .hydra_configs import short_hash

log = logging.getLogger(__name__)

#: Where the main process leaves the checked songs for its cluster jobs (under the working directory).
CHECKED_DIR = Path(".musiclime") / "checked"


def record_path(data: dict) -> Path:
    """The record of ``data``'s sheet as it is now (its size and modification time in the key)."""
    sheet = Path(str(data["sample_sheet"]))
    try:
        stat = sheet.stat()
        stamp = [stat.st_size, stat.st_mtime_ns]
    except OSError:
        stamp = None
    return CHECKED_DIR / f"{short_hash({'data': data, 'sheet': stamp})}.json"


def _song_record(song: Song) -> dict:
    return {"song_id": song.song_id, "audio": str(song.audio),
            "lyrics": None if song.lyrics is None else str(song.lyrics),
            "stems": None if song.stems is None else str(song.stems), "label": song.label,
            "ground_truth": None if song.ground_truth is None else str(song.ground_truth), "notes": list(song.notes),
            "split": song.split}


def _song(record: dict) -> Song:
    optional = {k: None if record[k] is None else Path(record[k]) for k in ("lyrics", "stems", "ground_truth")}
    return Song(record["song_id"], Path(record["audio"]), optional["lyrics"], optional["stems"], record["label"],
                optional["ground_truth"], tuple(record["notes"]), record["split"])


def write_checked(data: dict, songs: list[Song], skipped: list[SongProblem]) -> Path:
    """Record what the main process found (atomically: a job never reads half of it)."""
    path = record_path(data)
    record = {"songs": [_song_record(s) for s in songs],
              "skipped": [{"song_id": p.song_id, "line": p.line, "reason": p.reason} for p in skipped]}
    try:
        if json.loads(path.read_text()) == record:
            return path  # as the last plan left it: no rewrite
    except (OSError, ValueError):
        pass
    write_json(path, record)
    return path


def read_checked(data: dict) -> tuple[list[Song], list[SongProblem]]:
    """What the main process recorded for ``data``'s sheet as it is now.

    Raises:
        ConfigError: no record (the job does not run beside the main process's working directory, or the
            sheet changed since it planned).
    """
    path = record_path(data)
    if not path.is_file():
        raise ConfigError(f"cluster job: no record of the checked songs of sample sheet {data['sample_sheet']} "
                          f"at {Path(os.getcwd()) / path}; the main Snakemake process writes it when it plans: run "
                          f"the jobs from its working directory, and do not edit the sheet while they run")
    record = json.loads(path.read_text())
    log.info("cluster job: %d songs as the main process checked them (%s)", len(record["songs"]), path)
    return ([_song(r) for r in record["songs"]],
            [SongProblem(p["song_id"], p["line"], p["reason"]) for p in record["skipped"]])
