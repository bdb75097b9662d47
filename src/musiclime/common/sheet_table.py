"""A dataset table as a sample sheet: CSV, TSV or Parquet, with the columns named in the config.

A sheet need not be the workflow's own TSV (:mod:`musiclime.common.sample_sheet`): a dataset's table
(e.g. SONICS: a file name, a ``real``/``fake`` label and the lyrics inline) is read as one with
settings that say which column holds what (``data.columns.*``), what the lyrics column holds
(``data.lyrics_as``: a path, the text itself, or ``auto``), how labels map to 0/1 (``data.labels``)
and where relative paths start (``data.base_dir``). Inline lyrics are written to files (one per
song, rewritten only when their text changes, so the workflow re-runs nothing), as every stage reads
lyrics from a file. An empty lyrics cell is empty lyrics text (an instrumental, ``data.empty_lyrics``),
except with ``lyrics_as=path``: there, as in the workflow's own sheet, it means no lyrics were given
(``Song.lyrics is None``, explained from the audio alone).

Rows are ``(line, Song)`` as :func:`~musiclime.common.sample_sheet.read_sample_sheet_rows` gives them:
``line`` is the row's first line in a CSV/TSV (the header is line 1; a quoted field may span lines),
and the row number + 1 in a Parquet file (as if exported with its header).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .atomic_io import write_text
from .errors import ConfigError
from .sample_sheet import SONG_ID, SPLITS, Song, read_sample_sheet_rows
from .song_checks import SongProblem

#: Suffixes read as a table (anything else is read as the workflow's own TSV).
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".parquet": None, ".pq": None}
#: What a lyrics cell holds (``data.lyrics_as``).
LYRICS_AS = ("auto", "path", "text")
#: Lyrics file suffixes ``lyrics_as=auto`` takes for a path.
LYRICS_FILE_SUFFIXES = (".txt", ".lrc")
#: Columns a table must have; the others may be absent.
REQUIRED_FIELDS = ("audio", "lyrics")
FIELDS = ("song_id", "audio", "lyrics", "label", "stems", "ground_truth", "split")
#: Where the workflow writes inline lyrics, relative to its working directory.
INLINE_LYRICS_DIR = Path(".musiclime") / "lyrics"


@dataclass(frozen=True)
class TableSettings:
    """How to read a table.

    Attributes:
        columns: per field (:data:`FIELDS`), the table's column holding it.
        lyrics_as: ``path``, ``text`` or ``auto`` (text unless the cell is one line naming a ``.txt``/``.lrc``
            file, or an existing file).
        labels: label cell -> 0/1 (e.g. ``{"real": 1, "fake": 0}``); ``None``: cells are 0, 1 or empty.
        base_dir: folder relative paths start from (itself relative to the working directory); ``None``:
            the table's folder.
        keys: per field, the name errors give its setting (``data.columns.audio``, or a CLI option).
        labels_key: the name errors give the label mapping.
        no_lyrics: ignore the lyrics column (it need not exist): every song is given without lyrics
            (``musiclime sheet TABLE --no-lyrics``).
    """

    columns: Mapping[str, str] = field(default_factory=lambda: {f: f for f in FIELDS})
    lyrics_as: str = "auto"
    labels: Mapping[str, int] | None = None
    base_dir: Path | None = None
    keys: Mapping[str, str] = field(default_factory=lambda: {f: f"data.columns.{f}" for f in FIELDS})
    labels_key: str = "data.labels"
    no_lyrics: bool = False

    def column(self, name: str) -> str:
        return str(self.columns.get(name) or name)

    def key(self, name: str) -> str:
        return self.keys.get(name, f"data.columns.{name}")

    @classmethod
    def from_data_config(cls, data: Mapping) -> "TableSettings":
        """The settings of a composed ``data`` config (``columns``, ``lyrics_as``, ``labels``, ``base_dir``)."""
        columns = {f: f for f in FIELDS} | {k: str(v) for k, v in dict(data.get("columns") or {}).items() if v}
        labels = data.get("labels")
        base = data.get("base_dir")
        return cls(columns=columns, lyrics_as=str(data.get("lyrics_as") or "auto"),
                   labels=check_label_map(dict(labels), "data.labels") if labels else None,
                   base_dir=None if base is None else Path(str(base)).expanduser())


def uses_table(data: Mapping) -> bool:
    """Does a ``data`` config name a table (read here) rather than the workflow's plain TSV sheet?

    A ``.tsv`` sheet with every table setting at its default is read as before
    (:func:`~musiclime.common.sample_sheet.read_sample_sheet_rows`: lyrics are paths, labels 0/1).
    """
    if Path(str(data["sample_sheet"])).suffix.lower() != ".tsv":
        return Path(str(data["sample_sheet"])).suffix.lower() in TABLE_SUFFIXES
    columns = dict(data.get("columns") or {})
    return (any(columns.get(f, f) != f for f in FIELDS)
            or bool(data.get("labels")) or data.get("base_dir") is not None or data.get("lyrics_as", "auto") == "text")


def sheet_rows(data: Mapping, need_stems: bool = False,
               lyrics_dir: Path | None = None) -> tuple[list[tuple[int, Song]], list[SongProblem]]:
    """The rows of the sheet a ``data`` config names: a table (:func:`uses_table`) or the plain TSV.

    Inline lyrics go to ``lyrics_dir`` (default: :data:`INLINE_LYRICS_DIR` / a hash of the table's path,
    under the working directory).
    """
    sheet = Path(str(data["sample_sheet"]))
    if not uses_table(data):
        return read_sample_sheet_rows(sheet, need_stems=need_stems)
    if lyrics_dir is None:
        digest = hashlib.sha256(str(sheet.resolve()).encode()).hexdigest()[:12]
        lyrics_dir = INLINE_LYRICS_DIR / f"{sheet.stem}-{digest}"
    return table_rows(sheet, TableSettings.from_data_config(data), lyrics_dir, need_stems=need_stems,
                      sheet_key="data.sample_sheet")


def check_label_map(mapping: Mapping, key: str) -> dict[str, int]:
    """``mapping`` with string keys and values 0 or 1.

    Raises:
        ConfigError: a value is not 0 or 1, or the mapping is empty (the message names ``key``).
    """
    if not mapping:
        raise ConfigError(f"{key}: the label mapping is empty; give e.g. real=1,fake=0")
    out = {}
    for name, value in mapping.items():
        if str(value).strip() not in ("0", "1"):
            raise ConfigError(f"{key}: label {name!r} must map to 0 (AI-Generated) or 1 (Human-Composed), "
                              f"got {value!r}")
        out[str(name).strip()] = int(str(value).strip())
    return out


def parse_label_map(text: str, key: str = "--labels") -> dict[str, int]:
    """``real=1,fake=0`` as ``{"real": 1, "fake": 0}``.

    Raises:
        ConfigError: an item is not ``name=0`` or ``name=1`` (the message names ``key`` and the item).
    """
    mapping = {}
    for item in (part.strip() for part in text.split(",")):
        name, sep, value = item.partition("=")
        if not item or not sep or not name.strip():
            raise ConfigError(f"{key}: expected name=0 or name=1 items separated by commas (e.g. real=1,fake=0), "
                              f"got {item!r}")
        mapping[name.strip()] = value.strip()
    return check_label_map(mapping, key)


def read_table(path: Path, sheet_key: str = "data.sample_sheet") -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """A table's header and its rows as ``(line, {column: cell})``, cells as text (empty when missing).

    Raises:
        ConfigError: the file is missing or unreadable, its suffix unknown, Parquet support (pyarrow)
            absent, or it has no header or no row; the message names the file and ``sheet_key``.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sample sheet not found: {path} ({sheet_key})")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ConfigError(f"sample sheet {path}: unknown table type {suffix or '(no suffix)'!r}; "
                          f"expected one of {', '.join(TABLE_SUFFIXES)} ({sheet_key})")
    if TABLE_SUFFIXES[suffix] is None:
        header, rows = _read_parquet(path)
    else:
        header, rows = _read_delimited(path, TABLE_SUFFIXES[suffix])
    if not header or not rows:
        raise ConfigError(f"sample sheet {path} must have a header and at least one row ({sheet_key})")
    return header, rows


def _read_delimited(path: Path, delimiter: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = [h.strip() for h in next(reader, [])]
            rows, start = [], reader.line_num + 1
            for cells in reader:
                if any(c.strip() for c in cells):
                    rows.append((start, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}))
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise ConfigError(f"sample sheet {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    except csv.Error as exc:
        raise ConfigError(f"sample sheet {path}, line {reader.line_num}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"sample sheet {path} cannot be read: {exc.strerror}") from exc
    return header, rows


def _read_parquet(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError(f"sample sheet {path}: reading Parquet needs pyarrow (pip install pyarrow), "
                          "or export the table as CSV") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow's errors differ by problem
        raise ConfigError(f"sample sheet {path} cannot be read as Parquet: {exc}") from exc
    header = [str(name) for name in table.column_names]
    columns = {name: table.column(name).to_pylist() for name in header}
    rows = [(index + 2, {name: "" if columns[name][index] is None else str(columns[name][index]) for name in header})
            for index in range(table.num_rows)]
    return header, rows


def table_rows(path: str | os.PathLike, settings: TableSettings, lyrics_dir: Path, need_stems: bool = False,
               sheet_key: str = "data.sample_sheet") -> tuple[list[tuple[int, Song]], list[SongProblem]]:
    """The rows of a table as ``(line, Song)``, and the problems of the rows left out.

    A row is left out (as by :func:`~musiclime.common.sample_sheet.read_sample_sheet_rows`) when its id is
    not path-safe or repeats, its label is not mapped (or not 0/1), its split is unknown, or
    (``need_stems``) it names no stems folder. Song ids absent from the table come from the audio
    file names. Inline lyrics are written under ``lyrics_dir``; a song has no lyrics (``None``) when its
    cell is empty under ``lyrics_as=path``, or with ``settings.no_lyrics``. Files are not opened (the song
    checks do that).

    Raises:
        ConfigError: the table cannot be read, or lacks a column the settings name (the message names
            the file, the column and its setting, and lists the table's columns).
    """
    path = Path(path)
    header, raw = read_table(path, sheet_key)
    present = set(header)
    for name in FIELDS:
        column = settings.column(name)
        if name == "lyrics" and settings.no_lyrics:
            continue
        if column not in present and (name in REQUIRED_FIELDS or column != name):
            raise ConfigError(f"sample sheet {path} has no column {column!r} ({settings.key(name)}); "
                              f"its columns: {', '.join(header)}")
    if settings.lyrics_as not in LYRICS_AS:
        raise ConfigError(f"data.lyrics_as must be one of {LYRICS_AS}, got {settings.lyrics_as!r}")
    base = settings.base_dir if settings.base_dir is not None else path.parent
    has = {name: settings.column(name) in present for name in FIELDS}
    taken = {row.get(settings.column("song_id"), "").strip() for _, row in raw} if has["song_id"] else set()
    derived = ids_from_names([row.get(settings.column("audio")) or "" for _, row in raw])
    songs: list[tuple[int, Song]] = []
    problems: list[SongProblem] = []
    seen: set[str] = set()
    for (line, row), derived_id in zip(raw, derived):
        cell = {name: (row.get(settings.column(name)) or "") if has[name] else "" for name in FIELDS}
        audio = cell["audio"].strip()
        song_id = cell["song_id"].strip() if has["song_id"] else _unique(derived_id, seen | taken)
        reason, label = None, None
        if not audio:
            reason = f"no audio file named (column {settings.column('audio')!r})"
        elif not SONG_ID.match(song_id):
            reason = "song_id must be letters, digits, '_', '-', '.'"
        elif song_id in seen:
            reason = "duplicate song_id"
        else:
            label, reason = _label(cell["label"].strip(), settings)
        split = cell["split"].strip()
        if reason is None and split not in ("",) + SPLITS:
            reason = f"split must be one of {', '.join(SPLITS)} or empty, got {split!r}"
        if reason is None and need_stems and not cell["stems"].strip():
            reason = "separation.backend=stems needs a 'stems' column naming a folder of stems"
        seen.add(song_id)
        if reason:
            problems.append(SongProblem(song_id, line, reason))
            continue
        lyrics = None if settings.no_lyrics else _lyrics_file(cell["lyrics"], song_id, settings.lyrics_as, base,
                                                              lyrics_dir)
        stems, truth = cell["stems"].strip(), cell["ground_truth"].strip()
        songs.append((line, Song(song_id=song_id, audio=resolve(base, audio), lyrics=lyrics,
                                 stems=resolve(base, stems) if stems else None, label=label,
                                 ground_truth=resolve(base, truth) if truth else None, split=split or None)))
    return songs, problems


def _label(value: str, settings: TableSettings) -> tuple[int | None, str | None]:
    """A label cell as 0/1 (``None`` when empty), or why it cannot be."""
    if not value:
        return None, None
    if settings.labels is not None:
        if value in settings.labels:
            return settings.labels[value], None
        return None, (f"label {value!r} is not in {settings.labels_key} "
                      f"({', '.join(f'{k}={v}' for k, v in settings.labels.items())})")
    if value in ("0", "1"):
        return int(value), None
    return None, f"label must be 0, 1 or empty, got {value!r}; map names to 0/1 with {settings.labels_key}"


def lyrics_is_path(value: str, base: Path) -> bool:
    """``lyrics_as=auto``: one line naming a lyrics file (by suffix, or an existing file)."""
    value = value.strip()
    if not value or "\n" in value or len(value) > 1024:
        return False
    return value.lower().endswith(LYRICS_FILE_SUFFIXES) or resolve(base, value).is_file()


def _lyrics_file(value: str, song_id: str, lyrics_as: str, base: Path, lyrics_dir: Path) -> Path | None:
    """The song's lyrics file: the path the cell names, or its text written under ``lyrics_dir``; ``None``
    for an empty cell of a ``path`` column (no lyrics given)."""
    if lyrics_as == "path" and not value.strip():
        return None
    if lyrics_as == "path" or (lyrics_as == "auto" and lyrics_is_path(value, base)):
        return resolve(base, value.strip())
    return write_if_changed(Path(lyrics_dir) / f"{song_id}.txt", value.replace("\r\n", "\n").strip() + "\n")


def write_if_changed(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (atomically) unless it already holds it: a rewrite would re-run the
    workflow's jobs that read the file."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    return write_text(path, text)


def resolve(base: Path, value: str) -> Path:
    """``value`` as a path: absolute as given (``~`` expanded), else under ``base``."""
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def id_from_name(file: str) -> str:
    """A path-safe song id from a file name: its stem, other characters as ``_``."""
    stem = Path(file.strip()).stem if file.strip() else "song"
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip("_.-")
    return cleaned or "song"


def ids_from_names(files: list[str]) -> list[str]:
    """Song ids for audio files: each file's stem, or (stems shared by several files) its path without
    the suffix, folders joined by ``_`` (``real/a.mp3`` and ``fake/a.mp3`` become ``real_a``, ``fake_a``)."""
    stems = [id_from_name(f) for f in files]
    shared = {s for s in stems if stems.count(s) > 1}
    return [id_from_name(str(Path(f.strip()).with_suffix("")).replace("/", "_").replace("\\", "_") + ".x")
            if s in shared and f.strip() else s for f, s in zip(files, stems)]


def _unique(song_id: str, taken: set[str]) -> str:
    if song_id not in taken:
        return song_id
    n = 2
    while f"{song_id}-{n}" in taken:
        n += 1
    return f"{song_id}-{n}"
