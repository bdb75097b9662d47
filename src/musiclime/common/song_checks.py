"""Checking every song of a sample sheet before any model work: audio that decodes, lyrics that read.

A corrupt MP3 found by its ``separate`` job would fail that job after other songs' predictions were
made; the plan checks instead, while the Snakefile is parsed: each row's audio is decoded in full
(a header can be intact over garbage or a cut-off file), its lyrics read as UTF-8, its stems folder
looked up. The verdict of each file is kept in :data:`CACHE_FILE` under the working directory, keyed
by the file's resolved path, size and modification time, so a re-parse (every SLURM job parses the
Snakefile again) decodes only new or changed files.

A ground-truth file (the sheet's ``ground_truth`` column, or ``ground_truth.json`` beside the audio)
is read and checked too: a missing, unreadable or invalid one makes the row bad, naming the file and key.

Empty lyrics (no text but whitespace) are not an error by default: the song is explained as an
instrumental, from its audio alone, with a note that its page shows (``data.empty_lyrics``). A row
whose lyrics cell is empty (``Song.lyrics is None``: ``--no-lyrics``) gave no lyrics on purpose: it is
explained from its audio alone too, with its own note, whatever ``data.empty_lyrics`` says.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .atomic_io import write_json
from .ground_truth_file import ground_truth_path, ground_truth_problem

log = logging.getLogger(__name__)

#: Verdicts of decoded files, relative to the working directory.
CACHE_FILE = Path(".musiclime") / "song_checks.json"
#: ``data.empty_lyrics`` values: explain as an instrumental (with a note), or count the row as bad.
EMPTY_LYRICS_CHOICES = ("instrumental", "bad")
CACHE_VERSION = 1


@dataclass(frozen=True)
class SongProblem:
    """Why one row of a sample sheet cannot be explained.

    Attributes:
        song_id: the row's ``song_id`` (as written, may be invalid).
        line: the row's line in the sheet (the header is line 1).
        reason: what is wrong, naming the file.
    """

    song_id: str
    line: int
    reason: str

    def describe(self) -> str:
        return f"line {self.line}, song {self.song_id!r}: {self.reason}"

    def as_row(self) -> dict[str, str]:
        """A row of ``skipped_songs.tsv``: song, sheet line, stage (``check``) and reason."""
        return {"song_id": self.song_id, "line": str(self.line), "stage": "check", "reason": self.reason}


def empty_lyrics_note(lyrics: Path) -> str:
    """The note an instrumental-by-empty-lyrics song carries (on its page and in its metadata)."""
    return (f"the lyrics file {lyrics} holds no lyric line: the song is explained as an instrumental, from its audio alone "
            "(data.empty_lyrics=bad refuses such songs instead)")


#: Songs a warning names, at most (songs without lyrics are counted in one warning).
MAX_NAMED = 10


def no_lyrics_note() -> str:
    """The note a song given without lyrics carries (an empty lyrics cell in the sample sheet)."""
    return ("no lyrics were given for this song (its lyrics cell in the sample sheet is empty, as --no-lyrics "
            "writes it): it is explained from its audio alone")


class FileVerdicts:
    """Per-file verdicts (``None`` = fine, else the reason), cached in :data:`CACHE_FILE` by path, size, mtime."""

    def __init__(self, cache_file: Path | None = CACHE_FILE):
        self.cache_file = cache_file
        self._entries: dict[str, list] = {}
        self._changed = False
        if cache_file is not None and cache_file.is_file():
            try:
                import json

                stored = json.loads(cache_file.read_text(encoding="utf-8"))
                if stored.get("version") == CACHE_VERSION:
                    self._entries = dict(stored.get("files", {}))
            except (OSError, ValueError):
                log.warning("ignoring the unreadable song check cache %s", cache_file)
        #: files decoded or read in this process (not answered from the cache)
        self.checked: list[str] = []

    def verdict(self, path: Path, kind: str) -> str | None:
        """The reason ``path`` (an ``audio`` or ``lyrics`` file) is bad, or ``None``; cached."""
        try:
            stat = path.stat()
        except OSError:
            return f"{kind} file not found: {path}"
        key = f"{kind}:{path.resolve()}"
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = self._entries.get(key)
        if entry is not None and entry[:2] == stamp:
            return entry[2]
        reason = audio_problem(path) if kind == "audio" else lyrics_problem(path)
        self.checked.append(key)
        self._entries[key] = stamp + [reason]
        self._changed = True
        return reason

    def save(self) -> None:
        """Write the cache (atomically) when something new was checked."""
        if self.cache_file is None or not self._changed:
            return
        try:
            write_json(self.cache_file, {"version": CACHE_VERSION, "files": self._entries})
        except OSError as exc:
            log.warning("cannot write the song check cache %s: %s", self.cache_file, exc)


def audio_problem(path: Path) -> str | None:
    """Why the audio file at ``path`` cannot be used (decoded in full), or ``None``."""
    import soundfile as sf

    from .audio import load_audio
    from .errors import AudioError

    try:
        declared = sf.info(str(path)).frames
    except Exception as exc:  # soundfile's errors differ by format
        return f"audio file cannot be decoded: {path} ({exc})"
    try:
        audio, _ = load_audio(path, sample_rate=None, mono=False)
    except AudioError as exc:
        return str(exc)
    if declared > 0 and audio.shape[-1] < declared:  # e.g. a FLAC cut off after its header was written
        return f"audio file is truncated: {path} (its header declares {declared} samples, it holds {audio.shape[-1]})"
    missing = wav_missing_bytes(path)
    if missing:
        return f"audio file is truncated: {path} (its WAV header declares {missing} more bytes of audio than it holds)"
    return None


def wav_missing_bytes(path: Path) -> int:
    """Bytes of audio a RIFF/WAVE file's ``data`` chunk declares beyond the end of the file (0 if none, or
    not a WAV). libsndfile reads a cut-off WAV without complaint, as a shorter song."""
    import struct

    size = path.stat().st_size
    with open(path, "rb") as handle:
        if handle.read(12)[:4] != b"RIFF":
            return 0
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
            if chunk_id == b"data":
                return max(0, offset + 8 + chunk_size - size) if chunk_size != 0xFFFFFFFF else 0
            offset += 8 + chunk_size + (chunk_size & 1)
    return 0


def lyrics_problem(path: Path) -> str | None:
    """Why the lyrics file at ``path`` cannot be read as UTF-8 text, or ``None`` (empty is fine here)."""
    try:
        path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return f"lyrics file is not UTF-8 text: {path} (byte {exc.start}: {exc.reason})"
    except OSError as exc:
        return f"lyrics file cannot be read: {path} ({exc.strerror})"
    return None


def has_text(lyrics: str) -> bool:
    """True when ``lyrics`` holds anything but whitespace (the default test of :func:`check_files`)."""
    return bool(lyrics.strip())


def check_files(rows: Sequence[tuple[int, object]], need_stems: bool, empty_lyrics: str = "instrumental",
                verdicts: FileVerdicts | None = None, has_lyrics: Callable[[str], bool] = has_text,
                lyrics_needed: bool = False) -> tuple[list[SongProblem], dict[str, list[str]]]:
    """Check the files of sample-sheet rows ``(line, Song)``: audio decodes, lyrics read, stems exist, a
    ground-truth file (:func:`~musiclime.common.ground_truth_file.ground_truth_path`) is valid.

    Args:
        has_lyrics: whether a lyrics text has something to explain (the plan passes the lyrics
            factorization's own test, so a file of ``[Chorus]`` tags alone counts as empty).
        lyrics_needed: some sweep point explains the lyrics alone (``explain.modality=lyrical``):
            empty lyrics make the row bad whatever ``empty_lyrics`` says, and so does a row without lyrics.

    Returns:
        ``(problems, notes)``: every problem found (several per row possible), and per song id the
        notes its explanation carries (an empty lyrics file explained as an instrumental, or a row
        without lyrics, ``Song.lyrics is None``: explained from its audio alone whatever ``empty_lyrics`` says).
    """
    if empty_lyrics not in EMPTY_LYRICS_CHOICES:
        from .errors import ConfigError

        raise ConfigError(f"config key data.empty_lyrics must be one of {EMPTY_LYRICS_CHOICES}, got {empty_lyrics!r}")
    verdicts = verdicts or FileVerdicts()
    without_lyrics: list[str] = []  # songs given without lyrics (Song.lyrics is None), named in one warning
    problems: list[SongProblem] = []
    notes: dict[str, list[str]] = {}
    for line, song in _progress(rows):
        if song.lyrics is None:
            if lyrics_needed:
                problems.append(SongProblem(song.song_id, line, "no lyrics were given (the sample sheet's "
                                                                "lyrics cell is empty); explain.modality=lyrical "
                                                                "needs lyrics"))
            else:
                notes.setdefault(song.song_id, []).append(no_lyrics_note())
                without_lyrics.append(song.song_id)
        for kind, path in (("audio", song.audio), ("lyrics", song.lyrics)):
            if path is None:
                continue
            reason = verdicts.verdict(Path(path), kind)
            if reason:
                problems.append(SongProblem(song.song_id, line, reason))
            elif kind == "lyrics" and not has_lyrics(Path(path).read_text(encoding="utf-8")):
                if empty_lyrics == "bad" or lyrics_needed:
                    why = "explain.modality=lyrical needs lyrics" if lyrics_needed else "data.empty_lyrics=bad"
                    problems.append(SongProblem(song.song_id, line, f"lyrics file holds no lyric line: {path} ({why})"))
                else:
                    notes.setdefault(song.song_id, []).append(empty_lyrics_note(Path(path)))
        truth = ground_truth_path(getattr(song, "ground_truth", None), song.audio)
        reason = None if truth is None else ground_truth_problem(truth)
        if reason:
            problems.append(SongProblem(song.song_id, line, reason))
        if need_stems and (song.stems is None or not Path(song.stems).is_dir()):
            problems.append(SongProblem(song.song_id, line, "separation.backend=stems needs a folder of stems "
                                                            f"in the 'stems' column; found {song.stems}"))
    if verdicts.checked:
        log.info("decoded or read %d new song file(s); verdicts cached in %s", len(verdicts.checked),
                 verdicts.cache_file)
    verdicts.save()
    if without_lyrics:
        shown = ", ".join(without_lyrics[:MAX_NAMED]) + (", ..." if len(without_lyrics) > MAX_NAMED else "")
        log.warning("%d song(s) given without lyrics (empty lyrics cell) are explained from their audio alone: %s",
                    len(without_lyrics), shown)
    for song_id, song_notes in notes.items():
        for note in song_notes:
            if note != no_lyrics_note():
                log.warning("song %r: %s", song_id, note)
    return problems, notes


def _progress(rows: Sequence[tuple[int, object]]) -> Iterable[tuple[int, object]]:
    """``rows`` with a progress bar on stderr when there are many (decoding hundreds of songs takes a while)."""
    if len(rows) < 50:
        return rows
    from tqdm.auto import tqdm

    return tqdm(rows, desc="checking songs", unit="song", leave=False, disable=os.environ.get("CI") == "true")
