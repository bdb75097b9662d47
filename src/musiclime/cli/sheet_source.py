"""Building a sample sheet: from a folder of songs, from audio files, or from a dataset table.

Every source gives rows ``(line, Song)`` and the problems of rows it could not make; :func:`check_rows`
then checks each row's files as the workflow does before any job (audio decodes in full, lyrics read
as UTF-8, stems exist, :func:`musiclime.common.song_checks.check_files`; the same audio in two rows is a
problem of the later row, :mod:`musiclime.common.duplicate_audio`). A row is shown to the user by
its origin: the table and line it came from, or (folder, files) its audio file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..common.audio_decoding import AUDIO_SUFFIXES  # the audio files a folder source picks up
from ..common.duplicate_audio import find_duplicate_audio
from ..common.errors import ConfigError
from ..common.sample_sheet import Song, write_sample_sheet
from ..common.sheet_table import FIELDS, TableSettings, ids_from_names, table_rows
from ..common.song_checks import FileVerdicts, SongProblem, check_files
from ..factorization.lyrics import lyric_lines

#: The CLI options naming each table column (errors name these instead of ``data.columns.*``).
COLUMN_OPTIONS = {"song_id": "--id-col", "audio": "--audio-col", "lyrics": "--lyrics-col", "label": "--label-col",
                  "stems": "--stems-col", "ground_truth": "--ground-truth-col", "split": "--split-col"}
#: The CLI option that gives every song no lyrics (named by the errors of songs without a lyrics file).
NO_LYRICS_OPTION = "--no-lyrics"


@dataclass
class SheetRows:
    """Rows of a sheet being built: ``(line, Song)``, the problems found, and where each line came from."""

    rows: list[tuple[int, Song]] = field(default_factory=list)
    problems: list[SongProblem] = field(default_factory=list)
    #: line -> what the user calls that row (``songs.csv, line 5`` or an audio file)
    origins: dict[int, str] = field(default_factory=dict)
    #: song id -> notes its explanation will carry (an empty lyrics file explained as an instrumental)
    notes: dict[str, list[str]] = field(default_factory=dict)
    need_stems: bool = False

    @property
    def songs(self) -> list[Song]:
        """The songs of the rows without a problem."""
        bad = {p.line for p in self.problems}
        return [song for line, song in self.rows if line not in bad]

    def describe(self, problem: SongProblem) -> str:
        """A problem named by its row's origin: ``songs.csv, line 5, song 'x': audio file not found: ...``."""
        origin = self.origins.get(problem.line, f"line {problem.line}")
        return f"{origin}, song {problem.song_id!r}: {problem.reason}"


def folder_rows(folder: str | os.PathLike, labels: Mapping[str, int] | None = None,
                no_lyrics: bool = False) -> SheetRows:
    """The songs of a folder: every audio file (:data:`AUDIO_SUFFIXES`) under it, with the same-named ``.txt``
    beside it as its lyrics (``no_lyrics``: none, ``.txt`` files are ignored, every song is explained from
    its audio alone). Files in the folder itself have no label; files under a sub-folder take the
    sub-folder's name as their label (``0``/``1``, or a name mapped by ``labels``).

    Raises:
        ConfigError: the folder does not exist or holds no audio file (the message names it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    audio = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not audio:
        raise ConfigError(f"no audio file ({', '.join(AUDIO_SUFFIXES)}) under the folder {folder}")
    out = SheetRows()
    ids = ids_from_names([str(p.relative_to(folder)) for p in audio])
    for line, (file, song_id) in enumerate(zip(audio, ids), start=2):
        out.origins[line] = str(file)
        relative = file.relative_to(folder)
        label, reason = None, None
        if len(relative.parts) > 1:
            label, reason = folder_label(relative.parts[0], labels)
        lyrics = None if no_lyrics else file.with_suffix(".txt")
        if reason is None and lyrics is not None and not lyrics.is_file():
            reason = (f"no lyrics file {lyrics.name} beside the audio (write one, an empty one for an instrumental, "
                      f"or pass {NO_LYRICS_OPTION} to explain every song from its audio alone)")
        song = Song(song_id=song_id, audio=file, lyrics=lyrics, label=label)
        out.rows.append((line, song))
        if reason:
            out.problems.append(SongProblem(song_id, line, reason))
    return out


def folder_label(name: str, labels: Mapping[str, int] | None) -> tuple[int | None, str | None]:
    """A sub-folder's name as a label (0/1), or why it is not one."""
    if labels is not None:
        if name in labels:
            return labels[name], None
        return None, (f"sub-folder {name!r} is not in --labels ({', '.join(f'{k}={v}' for k, v in labels.items())})")
    if name in ("0", "1"):
        return int(name), None
    return None, (f"sub-folder {name!r} is not a label (0 or 1); map folder names to labels with --labels, "
                  "e.g. --labels real=1,fake=0")


def audio_rows(files: Sequence[str | os.PathLike], lyrics: str | os.PathLike | None = None,
               label: int | None = None, no_lyrics: bool = False) -> SheetRows:
    """Songs from audio files named one by one: lyrics ``lyrics`` (one file only) or each file's
    same-named ``.txt`` (``no_lyrics``: none, every song explained from its audio alone); every song
    labelled ``label`` (or none)."""
    files = [Path(f) for f in files]
    if no_lyrics and lyrics is not None:
        raise ConfigError(f"--lyrics names a song's lyrics and {NO_LYRICS_OPTION} says there are none; "
                          "pass one of them")
    if lyrics is not None and len(files) != 1:
        raise ConfigError(f"--lyrics names the lyrics of one song; {len(files)} audio files were given "
                          "(put each song's lyrics beside it as a same-named .txt instead)")
    out = SheetRows()
    for line, (file, song_id) in enumerate(zip(files, ids_from_names([str(f) for f in files])), start=2):
        out.origins[line] = str(file)
        text = None if no_lyrics else Path(lyrics) if lyrics is not None else file.with_suffix(".txt")
        out.rows.append((line, Song(song_id=song_id, audio=file, lyrics=text, label=label)))
        if text is not None and not text.is_file():
            reason = (f"lyrics file not found: {text}" if lyrics is not None else
                      f"no lyrics file {text.name} beside the audio (give one with --lyrics, or write it; or pass "
                      f"{NO_LYRICS_OPTION} to explain every song from its audio alone)")
            out.problems.append(SongProblem(song_id, line, reason))
    return out


def table_source_rows(table: str | os.PathLike, columns: Mapping[str, str | None], lyrics_as: str = "auto",
                      labels: Mapping[str, int] | None = None, base_dir: str | os.PathLike | None = None,
                      lyrics_dir: str | os.PathLike = "lyrics", no_lyrics: bool = False) -> SheetRows:
    """The songs of a dataset table (CSV, TSV or Parquet): ``columns`` names the column of each field
    (:data:`~musiclime.common.sheet_table.FIELDS`; ``None`` = its default name); inline lyrics are
    written under ``lyrics_dir``; ``no_lyrics``: the lyrics column is ignored (it need not exist), every
    song is explained from its audio alone. Errors name the CLI options (:data:`COLUMN_OPTIONS`)."""
    named = {f: str(c) for f, c in columns.items() if c}
    if no_lyrics and ("lyrics" in named or lyrics_as != "auto"):
        raise ConfigError(f"{NO_LYRICS_OPTION} ignores the table's lyrics column; --lyrics-col and --lyrics-as "
                          "read it: pass one or the other")
    settings = TableSettings(columns={f: named.get(f, f) for f in FIELDS}, lyrics_as=lyrics_as, labels=labels,
                             base_dir=None if base_dir is None else Path(base_dir), keys=COLUMN_OPTIONS,
                             labels_key="--labels", no_lyrics=no_lyrics)
    table = Path(table)
    rows, problems = table_rows(table, settings, Path(lyrics_dir), sheet_key="the sheet command's SOURCE")
    out = SheetRows(rows=rows, problems=problems, need_stems="stems" in named)
    for line in {line for line, _ in rows} | {p.line for p in problems}:
        out.origins[line] = f"{table}, line {line}"
    return out


def check_rows(rows: SheetRows) -> SheetRows:
    """``rows`` with the problems of their files added: each song's files checked as the workflow
    checks them before any job (no verdict cache is written), and the same audio in two good rows
    (:func:`~musiclime.common.duplicate_audio.find_duplicate_audio`) a problem of each row after the
    first, naming it (``--skip-bad`` then writes the first row of each: what ``data.duplicate_audio=merge``
    keeps)."""
    bad = {p.line for p in rows.problems}
    unchecked = [(line, song) for line, song in rows.rows if line not in bad]
    problems, notes = check_files(unchecked, rows.need_stems, verdicts=FileVerdicts(cache_file=None),
                                  has_lyrics=lambda text: bool(lyric_lines(text)))
    bad |= {p.line for p in problems}
    for group in find_duplicate_audio([(line, song) for line, song in unchecked if line not in bad]):
        problems += group.problems()
    rows.problems = sorted(rows.problems + problems, key=lambda p: p.line)
    rows.notes = notes
    return rows


def write_checked_sheet(rows: SheetRows, out: str | os.PathLike, skip_bad: bool = False) -> Path:
    """Write the rows' songs as the workflow's TSV sheet ``out`` (paths relative to it).

    Raises:
        ConfigError: a row is bad and ``skip_bad`` is false (no sheet is written; the message lists
            every bad row by its origin), or no row is good.
    """
    if rows.problems and not skip_bad:
        listed = "\n".join(f"  - {rows.describe(p)}" for p in rows.problems)
        raise ConfigError(f"{len({p.line for p in rows.problems})} of {len(rows.origins)} rows cannot be explained; "
                          f"fix them, or pass --skip-bad to write the others:\n{listed}")
    songs = rows.songs
    if not songs:
        raise ConfigError("no row can be explained: " + "; ".join(rows.describe(p) for p in rows.problems))
    return write_sample_sheet(out, songs)
