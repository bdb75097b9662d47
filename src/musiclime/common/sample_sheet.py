"""The sample sheet: a TSV naming each song's audio, lyrics and (optionally) stems and label.

Columns: ``song_id``, ``audio``, ``lyrics``, optional ``stems`` (a folder of stem files), ``label``
(0 = AI-Generated, 1 = Human-Composed), ``ground_truth`` (the song's known evidence,
:mod:`musiclime.common.ground_truth_file`) and ``split`` (``train``, ``validation`` or ``test``: where
the workflow's fusion head uses the song, ``model=fusion``). Relative paths are relative to the sheet.

An empty ``lyrics`` cell means no lyrics were given (``musiclime sheet --no-lyrics`` writes it): the
song is explained from its audio alone, with a note (:func:`musiclime.common.song_checks.no_lyrics_note`).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .atomic_io import write_text
from .errors import ConfigError
from .ground_truth_file import ground_truth_problem
from .song_checks import SongProblem

REQUIRED_COLUMNS = ("song_id", "audio", "lyrics")
OPTIONAL_COLUMNS = ("stems", "label", "ground_truth")
#: values of the optional ``split`` column (empty: the seeded stratified split decides)
SPLITS = ("train", "validation", "test")
SONG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Song:
    """One row of the sample sheet, paths resolved."""

    song_id: str
    audio: Path
    #: ``None``: no lyrics were given (an empty ``lyrics`` cell), the song is explained from its audio alone
    lyrics: Path | None
    stems: Path | None = None
    label: int | None = None
    #: the song's ground-truth file (the sheet's column; the plan also finds one beside the audio).
    #: Not part of :meth:`info`: the explanation stages do not depend on it, only the evaluation does.
    ground_truth: Path | None = None
    #: what a reader of the song's explanation must know (e.g. empty lyrics explained as an instrumental)
    notes: tuple[str, ...] = ()
    #: the sheet's ``split`` column (``train``/``validation``/``test``), read by the fusion head's training only
    split: str | None = None

    def info(self) -> dict:
        """JSON-ready description for explanation metadata (``notes`` only when there are some)."""
        info = {"song_id": self.song_id, "audio": str(self.audio),
                "lyrics": None if self.lyrics is None else str(self.lyrics),
                "stems": None if self.stems is None else str(self.stems), "true_label": self.label}
        if self.notes:
            info["notes"] = list(self.notes)
        return info


def read_sample_sheet(path: str | os.PathLike, check_files: bool = True, need_stems: bool = False) -> list[Song]:
    """Read and check a sample sheet.

    Raises:
        ConfigError: the sheet is missing or malformed, an id repeats or is not path-safe, a label is
            not 0/1, or (with ``check_files``) a song's audio, lyrics or stems path does not exist or
            its ground-truth file is missing or invalid;
            the message names the sheet, the song and the file.
    """
    rows, problems = read_sample_sheet_rows(path, need_stems=need_stems)
    if check_files:
        for line, song in rows:
            files = [("audio", song.audio), ("lyrics", song.lyrics)] + ([("stems", song.stems)] if need_stems else [])
            problems += [SongProblem(song.song_id, line, f"{kind} file not found: {file}")
                         for kind, file in files if file is not None and not file.exists()]
            if song.ground_truth is not None and (reason := ground_truth_problem(song.ground_truth)):
                problems.append(SongProblem(song.song_id, line, reason))
    if problems:
        first = min(problems, key=lambda p: p.line)
        raise ConfigError(f"sample sheet {path}, {first.describe()}")
    return [song for _, song in rows]


def read_sample_sheet_rows(path: str | os.PathLike, need_stems: bool = False) -> tuple[list[tuple[int, Song]],
                                                                                      list[SongProblem]]:
    """The rows of a sample sheet as ``(line, Song)``, and the problems of the rows left out.

    A row is left out when its ``song_id`` is not path-safe or repeats, its label is not 0, 1 or
    empty, or (``need_stems``) it names no stems folder. Files are not opened here
    (:func:`musiclime.common.song_checks.check_files` does).

    Raises:
        ConfigError: the sheet is missing, or has no header with the required columns, or no row.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sample sheet not found: {path} (config key data.sample_sheet)")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
        columns = rows[0].keys() if rows else []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if not rows or missing:
        raise ConfigError(f"sample sheet {path} must have a header with columns {REQUIRED_COLUMNS} and at least one "
                          f"song; missing {missing or 'rows'}")
    songs: list[tuple[int, Song]] = []
    problems: list[SongProblem] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        song_id = (row.get("song_id") or "").strip()
        label = (row.get("label") or "").strip()
        stems = (row.get("stems") or "").strip()
        truth = (row.get("ground_truth") or "").strip()
        split = (row.get("split") or "").strip()
        lyrics = (row.get("lyrics") or "").strip()
        reason = None
        if not SONG_ID.match(song_id):
            reason = "song_id must be letters, digits, '_', '-', '.'"
        elif song_id in seen:
            reason = "duplicate song_id"
        elif label not in ("", "0", "1"):
            reason = f"label must be 0, 1 or empty, got {label!r}"
        elif split not in ("",) + SPLITS:
            reason = f"split must be one of {', '.join(SPLITS)} or empty, got {split!r}"
        elif need_stems and not stems:
            reason = "separation.backend=stems needs a 'stems' column naming a folder of stems"
        seen.add(song_id)
        if reason:
            problems.append(SongProblem(song_id, number, reason))
            continue
        songs.append((number, Song(song_id=song_id, audio=_resolve(path, row["audio"]),
                                   lyrics=_resolve(path, lyrics) if lyrics else None,
                                   stems=_resolve(path, stems) if stems else None,
                                   label=int(label) if label else None,
                                   ground_truth=_resolve(path, truth) if truth else None,
                                   split=split or None)))
    return songs, problems


def write_sample_sheet(path: str | os.PathLike, songs: list[Song]) -> Path:
    """Write ``songs`` as a TSV, paths relative to the sheet's folder when possible (atomic); an empty
    ``lyrics`` cell for a song without lyrics; the ``ground_truth`` and ``split`` columns only when some
    song has one."""
    path = Path(path)
    truth = any(s.ground_truth is not None for s in songs)
    split = any(s.split is not None for s in songs)
    columns = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    lines = ["\t".join((columns if truth else columns[:-1]) + (("split",) if split else ()))]
    for s in songs:
        cells = [s.song_id, _relative(path, s.audio), "" if s.lyrics is None else _relative(path, s.lyrics),
                 "" if s.stems is None else _relative(path, s.stems), "" if s.label is None else str(s.label)]
        if truth:
            cells.append("" if s.ground_truth is None else _relative(path, s.ground_truth))
        if split:
            cells.append(s.split or "")
        lines.append("\t".join(cells))
    return write_text(path, "\n".join(lines) + "\n")


def _resolve(sheet: Path, value: str) -> Path:
    value = (value or "").strip()
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else sheet.parent / candidate


def _relative(sheet: Path, file: Path) -> str:
    try:
        return str(Path(os.path.relpath(file, sheet.parent)))
    except ValueError:
        return str(file)
