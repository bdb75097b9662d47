"""The same audio in two rows of a sample sheet: found before any job, then refused or merged.

A dataset's table that lists one recording twice (under two names, or the same file twice) would give
two songs, e.g. ``songs_a`` and ``songs_a-2``: explained twice, and, worse, able to land on both sides
of a detector's train/test split, so a "held-out" score would be measured on a song the head trained
on. :func:`find_duplicate_audio` finds such rows; config ``data.duplicate_audio`` says what to do:
``error`` (the default) stops the run naming every row of each group (:func:`duplicates_message`),
``merge`` keeps each group's first row and logs which rows were merged into it (:func:`merged_rows`).

Two rows hold the same audio when their files are the same file (one path, a symlink or a hard link:
the same device and inode) or have the same bytes. Cost, for N songs: one ``stat`` per file; only files
that share a size with another are read, 64 KiB from the middle of each (:meth:`FileHashes.sample`), and only
those whose samples agree are hashed in full. Hashes are cached by path, size and mtime
(:class:`~musiclime.common.file_hashes.FileHashes`), so a re-parse reads nothing new. The same song
encoded twice (an MP3 and a FLAC of it) is not found: that needs an audio fingerprint, not a file's.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .errors import ConfigError, MusicLimeError
from .file_hashes import FileHashes
from .song_checks import SongProblem

log = logging.getLogger(__name__)

#: ``data.duplicate_audio`` values: stop before any job, or keep the first row of each group.
DUPLICATE_AUDIO_CHOICES = ("error", "merge")
#: Groups an error message lists (the rest are counted).
MAX_LISTED = 20


@dataclass(frozen=True)
class DuplicateAudio:
    """Rows of a sheet holding the same audio, in sheet order (the first is the one a merge keeps).

    Attributes:
        rows: ``(line, Song)`` pairs, two or more.
        same_file: every row names one file (a path given twice, a symlink, a hard link); else some
            rows name copies with the same bytes.
    """

    rows: tuple
    same_file: bool

    @property
    def how(self) -> str:
        return "the same file" if self.same_file else "files with the same bytes"

    def describe(self) -> str:
        """``lines 3 and 7 hold files with the same bytes: line 3, song 'a' (a.wav); line 7, song 'a-2' (b.wav)``."""
        lines = [str(line) for line, _ in self.rows]
        listed = "; ".join(_row(line, song) for line, song in self.rows)
        return f"lines {', '.join(lines[:-1])} and {lines[-1]} hold {self.how}: {listed}"

    def problems(self) -> list[SongProblem]:
        """A problem for each row after the first, naming the first (``musiclime sheet`` lists them as bad rows)."""
        first_line, first = self.rows[0]
        return [SongProblem(song.song_id, line, f"its audio {song.audio} is {self.how.replace('files', 'a file')} "
                                                f"as {_row(first_line, first)}: a song is listed once")
                for line, song in self.rows[1:]]


def _row(line: int, song) -> str:
    return f"line {line}, song {song.song_id!r} ({song.audio})"


def find_duplicate_audio(rows: Sequence[tuple[int, object]], hashes: FileHashes | None = None) -> list[DuplicateAudio]:
    """Groups of rows ``(line, Song)`` whose audio is the same file or has the same bytes, in sheet order.

    Files that cannot be read are left out (the file checks name them). ``hashes``: the hash cache
    (default: one kept only in this call).
    """
    hashes = hashes or FileHashes(cache_file=None)
    by_file: dict[tuple[int, int], list] = defaultdict(list)
    sizes: dict[tuple[int, int], int] = {}
    for line, song in rows:
        try:
            stat = os.stat(song.audio)
        except OSError:
            continue
        file = (stat.st_dev, stat.st_ino)
        by_file[file].append((line, song))
        sizes[file] = stat.st_size
    same: dict[tuple[int, int], tuple[int, int]] = {file: file for file in by_file}  # file -> its group's first file
    for files in _groups(list(by_file), lambda file: sizes[file]):
        for sampled in _groups(files, lambda file: _hash(hashes.sample, by_file[file])):
            for copies in _groups(sampled, lambda file: _hash(hashes.sha256, by_file[file])):
                for file in copies:
                    same[file] = copies[0]
    groups: dict[tuple[int, int], list] = defaultdict(list)
    for file, first in same.items():
        groups[first].append(file)
    found = []
    for files in groups.values():
        members = sorted((row for file in files for row in by_file[file]), key=lambda row: row[0])
        if len(members) > 1:
            found.append(DuplicateAudio(tuple(members), same_file=len(files) == 1))
    return sorted(found, key=lambda group: group.rows[0][0])


def _groups(items: list, key) -> list[list]:
    """The groups of two or more ``items`` with equal ``key`` (``None`` keys are never grouped), in order."""
    grouped: dict = defaultdict(list)
    for item in items:
        value = key(item)
        if value is not None:
            grouped[value].append(item)
    return [members for members in grouped.values() if len(members) > 1]


def _hash(function, rows: list) -> str | None:
    try:
        return function(rows[0][1].audio)
    except MusicLimeError:
        return None  # unreadable now: the file checks name it


def check_duplicate_mode(mode: str) -> str:
    if mode not in DUPLICATE_AUDIO_CHOICES:
        raise ConfigError(f"config key data.duplicate_audio must be one of {DUPLICATE_AUDIO_CHOICES}, got {mode!r}")
    return mode


def duplicates_message(groups: Sequence[DuplicateAudio]) -> str:
    """What ``data.duplicate_audio=error`` says: every group's rows (up to :data:`MAX_LISTED` groups)."""
    listed = "\n".join(f"  - {group.describe()}" for group in groups[:MAX_LISTED])
    more = f"\n  ... and {len(groups) - MAX_LISTED} more" if len(groups) > MAX_LISTED else ""
    return (f"the same audio is listed in more than one row ({len(groups)} group(s) of rows): each copy would be a "
            f"song of its own, explained twice, and could both train a detector and test it; remove the copies, or "
            f"set data.duplicate_audio=merge to keep the first row of each:\n{listed}{more}")


def merged_rows(rows: Sequence[tuple[int, object]], groups: Sequence[DuplicateAudio]) -> list[tuple[int, object]]:
    """``rows`` without each group's rows after the first (``data.duplicate_audio=merge``); logs each merge,
    and where the merged row's label, split or lyrics (their text) differ from the kept row's (the kept
    row's are used)."""
    dropped = set()
    for group in groups:
        kept_line, kept = group.rows[0]
        for line, song in group.rows[1:]:
            dropped.add(line)
            differences = [f"{name} {getattr(song, name)!s} (the kept row's: {getattr(kept, name)!s})"
                           for name in ("label", "split") if getattr(song, name, None) != getattr(kept, name, None)]
            if _text(song.lyrics) != _text(kept.lyrics):
                differences.append(f"lyrics {song.lyrics} (other words than the kept row's {kept.lyrics})")
            log.warning("data.duplicate_audio=merge: %s merged into %s (%s)%s", _row(line, song),
                        _row(kept_line, kept), group.how,
                        "; not used: its " + ", its ".join(differences) if differences else "")
    return [(line, song) for line, song in rows if line not in dropped]


def _text(path) -> str | None:
    """A lyrics file's text (``None``: no lyrics, or unreadable: the file checks name it)."""
    try:
        return None if path is None else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
