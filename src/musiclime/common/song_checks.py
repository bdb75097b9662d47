"""Checking every song of a sample sheet before any model work: audio that decodes, lyrics that read.

A corrupt MP3 found by its ``separate`` job would fail that job after other songs' predictions were
made; the plan checks instead, while the Snakefile is parsed: each row's audio is opened by its
decoder, checked against its format's own structure for a cut-off file and decoded (the first
seconds of a compressed file, or all of it with ``data.audio_check=full``), its lyrics read as UTF-8,
its stems folder looked up. Many new files are checked in parallel (``data.check_workers``) with a
progress bar. The verdict of each file is kept in :data:`CACHE_FILE` under the working directory,
keyed by the file's resolved path, size and modification time, so a re-parse (every SLURM job parses
the Snakefile again) checks only new or changed files.

A ground-truth file (the sheet's ``ground_truth`` column, or ``ground_truth.json`` beside the audio)
is read and checked too: a missing, unreadable or invalid one makes the row bad, naming the file and key.

Empty lyrics (no text but whitespace) are not an error by default: the song is explained as an
instrumental, from its audio alone, with a note that its page shows (``data.empty_lyrics``). A row
whose lyrics cell is empty (``Song.lyrics is None``: ``--no-lyrics``) gave no lyrics on purpose: it is
explained from its audio alone too, with its own note, whatever ``data.empty_lyrics`` says.
"""

from __future__ import annotations

import functools
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
#: ``data.audio_check`` values: decode compressed audio's first seconds (and check its structure), or all of it.
AUDIO_CHECK_DEPTHS = ("quick", "full")
#: Seconds of a compressed file that a quick check decodes.
HEAD_SECONDS = 2.0
CACHE_VERSION = 2


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


def named_songs(song_ids: Sequence[str]) -> str:
    """The first :data:`MAX_NAMED` song ids, comma-separated, with ``...`` when there are more."""
    return ", ".join(song_ids[:MAX_NAMED]) + (", ..." if len(song_ids) > MAX_NAMED else "")


def no_lyrics_note() -> str:
    """The note a song given without lyrics carries (an empty lyrics cell in the sample sheet)."""
    return ("no lyrics were given for this song (its lyrics cell in the sample sheet is empty, as --no-lyrics "
            "writes it): it is explained from its audio alone")


class FileVerdicts:
    """Per-file verdicts (``None`` = fine, else the reason), cached in :data:`CACHE_FILE` by path, size, mtime.

    Args:
        cache_file: where verdicts are kept between runs (``None``: not kept).
        depth: how audio is checked (:data:`AUDIO_CHECK_DEPTHS`, config ``data.audio_check``); a cached
            ``full`` verdict answers a ``quick`` question, not the other way round.
        workers: processes that check audio files in parallel (0: one per core the process may use).
    """

    def __init__(self, cache_file: Path | None = CACHE_FILE, depth: str = "quick", workers: int = 0):
        if depth not in AUDIO_CHECK_DEPTHS:
            from .errors import ConfigError

            raise ConfigError(f"config key data.audio_check must be one of {AUDIO_CHECK_DEPTHS}, got {depth!r}")
        self.cache_file = cache_file
        self.depth = depth
        self.workers = workers if workers > 0 else len(os.sched_getaffinity(0))
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
        found = self._lookup(path, kind)
        if isinstance(found, str) or found is None:
            return found
        key, stamp = found
        return self._store(key, stamp, audio_problem(Path(path), self.depth) if kind == "audio"
                           else lyrics_problem(Path(path)))

    def prefetch(self, paths: Sequence[Path]) -> None:
        """Check the audio files among ``paths`` that the cache does not answer, in :attr:`workers`
        processes when there are many, with a progress bar; :meth:`verdict` then answers at once."""
        todo: dict[str, tuple[Path, list]] = {}
        for path in paths:
            found = self._lookup(path, "audio")
            if isinstance(found, tuple):
                todo.setdefault(found[0], (Path(path), found[1]))
        if not todo:
            return
        jobs = list(todo.items())
        reasons = _check_audio_files([path for _, (path, _) in jobs], self.depth, self.workers)
        for (key, (_, stamp)), reason in zip(jobs, reasons):
            self._store(key, stamp, reason)

    def _lookup(self, path: Path, kind: str) -> str | None | tuple[str, list]:
        """The cached verdict (a reason, or ``None``), a missing file's reason, or ``(key, stamp)`` to check.

        Plain strings and ``os`` calls, not :class:`~pathlib.Path` methods: a 100,000-row sheet makes 300,000
        lookups, and pathlib's parsing was most of the plan's time."""
        name = os.fspath(path)
        try:
            stat = os.stat(name)
        except OSError:
            return f"{kind} file not found: {path}"
        folder, base = os.path.split(os.path.abspath(name))
        key = f"{kind}:{_real_folder(folder)}/{base}"
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = self._entries.get(key)
        if entry is not None and entry[:2] == stamp and (kind != "audio" or self.depth == "quick"
                                                          or entry[3:] == ["full"]):
            return entry[2]
        return key, stamp

    def _store(self, key: str, stamp: list, reason: str | None) -> str | None:
        self.checked.append(key)
        self._entries[key] = stamp + [reason] + ([self.depth] if key.startswith("audio:") else [])
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


@functools.lru_cache(maxsize=65536)
def _real_folder(folder: str) -> str:
    """A folder's real path (symlinks resolved), once per folder: a dataset's files share few folders, and
    resolving each file's path walks every component of it (a 100,000-row sheet: 300,000 walks)."""
    return os.path.realpath(folder)


def audio_problem(path: Path, depth: str = "quick") -> str | None:
    """Why the audio file at ``path`` cannot be used, or ``None``.

    Every file is opened by its decoder and checked against its own structure
    (:func:`~musiclime.common.audio_integrity.truncation_problem`: a WAV's data chunk, an Ogg stream's
    last page, an MP3's last frame and Xing counts, an MP4's boxes; a FLAC's declared samples decode).
    ``depth`` ``quick`` decodes uncompressed files in full and the first seconds of compressed ones;
    ``full`` decodes every file in full (a decode error in the middle of an MP3 is found here rather
    than by its ``separate`` job).
    """
    from .audio import check_finite
    from .audio_decoding import UndecodableAudioError, decode_audio, decoded_tail_length, probe_audio
    from .audio_integrity import file_format, flac_tail_problem, truncation_problem
    from .errors import AudioError

    if depth not in AUDIO_CHECK_DEPTHS:
        from .errors import ConfigError

        raise ConfigError(f"config key data.audio_check must be one of {AUDIO_CHECK_DEPTHS}, got {depth!r}")
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return f"audio file is empty (0 bytes): {path}"
        problem = truncation_problem(path)  # first: a cut file's decoder errors say less
        if problem:
            return problem
        try:
            info = probe_audio(path)
        except UndecodableAudioError as exc:
            return f"audio file cannot be decoded: {path} ({exc.detail})"
        kind = file_format(path)
        if kind == "flac" and info.decoder == "libsndfile":
            problem = flac_tail_problem(path, lambda start: decoded_tail_length(path, start))
            if problem:
                return problem
        whole = depth == "full" or kind in ("wav", "aiff")
        audio, _ = decode_audio(path, max_seconds=None if whole else HEAD_SECONDS)
        if audio.shape[-1] == 0:
            return f"audio file holds no samples (empty or truncated): {path}"
        check_finite(audio, f"audio file {path}")
    except AudioError as exc:
        return str(exc)
    return None


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
                lyrics_needed: bool = False,
                truths: dict[str, Path | None] | None = None) -> tuple[list[SongProblem], dict[str, list[str]]]:
    """Check the files of sample-sheet rows ``(line, Song)``: audio decodes, lyrics read, stems exist, a
    ground-truth file (:func:`~musiclime.common.ground_truth_file.ground_truth_path`) is valid.

    Args:
        has_lyrics: whether a lyrics text has something to explain (the plan passes the lyrics
            factorization's own test, so a file of ``[Chorus]`` tags alone counts as empty).
        lyrics_needed: some sweep point explains the lyrics alone (``explain.modality=lyrical``):
            empty lyrics make the row bad whatever ``empty_lyrics`` says, and so does a row without lyrics.
        truths: filled with each song's ground-truth file as found here (``None``: none), for the caller.

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
    verdicts.prefetch([Path(song.audio) for _, song in rows])  # in parallel, before the row-by-row loop
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
        if truths is not None:
            truths[song.song_id] = truth
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
        log.warning("%d song(s) given without lyrics (empty lyrics cell) are explained from their audio alone: %s",
                    len(without_lyrics), named_songs(without_lyrics))
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


#: Fewest unchecked audio files worth starting worker processes for, by check depth: a worker costs about
#: a second to start, a quick check about 4 ms a file, a full one about 0.2 s a three-minute MP3.
PARALLEL_FROM = {"quick": 500, "full": 16}


def _check_audio_files(paths: Sequence[Path], depth: str, workers: int) -> list[str | None]:
    """:func:`audio_problem` of each path, in ``workers`` processes when there are many, with a progress bar."""
    from tqdm.auto import tqdm

    workers = min(workers, len(paths))
    bar = tqdm(total=len(paths), desc="checking audio", unit="file", leave=False,
               disable=len(paths) < PARALLEL_FROM["full"] or os.environ.get("CI") == "true")
    if workers < 2 or len(paths) < PARALLEL_FROM[depth]:
        reasons = []
        for path in paths:
            reasons.append(audio_problem(path, depth))
            bar.update()
        bar.close()
        return reasons
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, min(32, len(paths) // (workers * 8)))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        reasons = []
        for reason in pool.map(audio_problem, paths, [depth] * len(paths), chunksize=chunk):
            reasons.append(reason)
            bar.update()
    bar.close()
    return reasons
