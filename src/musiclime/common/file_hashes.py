"""Content hashes of files, computed once and kept between runs by path, size and modification time.

Two hashes answer two questions:

* :meth:`FileHashes.sha256`: the SHA-256 of every byte (:func:`~musiclime.common.provenance.file_sha256`):
  is this exactly that file's content? An encoder folder's fingerprint is made of these.
* :meth:`FileHashes.sample`: the SHA-256 of the size and the :data:`SAMPLE_BYTES` in the middle of the
  file: one read whatever the size (a song's start and end are often digital silence, its middle not),
  equal for identical files, and for distinct songs of one size almost never equal. The duplicate-audio
  check hashes in full only files whose samples agree.

Hashes are kept in :data:`CACHE_FILE` under the working directory (written atomically by :meth:`save`),
keyed by the file's absolute path, size and modification time in ns (of the file a link points to):
every parse of the Snakefile (each SLURM job parses it again) reads a 1 GB weight file's hash from the
cache instead of reading the file. Touching a file re-hashes it (its mtime changed) and gives the same
hash; rewriting its bytes gives a new one. A rewrite that keeps both size and mtime is not seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from .atomic_io import write_json
from .errors import MusicLimeError
from .provenance import file_sha256

log = logging.getLogger(__name__)

#: Hashes of files, relative to the working directory.
CACHE_FILE = Path(".musiclime") / "file_hashes.json"
CACHE_VERSION = 1
#: Bytes a sample hash reads, from the middle of the file.
SAMPLE_BYTES = 64 * 1024


class FileHashes:
    """SHA-256 hashes of files (whole, or sampled), cached by absolute path, size and mtime.

    Args:
        cache_file: where hashes are kept between runs (``None``: within this object only).
    """

    def __init__(self, cache_file: Path | None = CACHE_FILE):
        self.cache_file = None if cache_file is None else Path(cache_file)
        self._entries: dict[str, list] = {}
        self._changed = False
        #: ``(kind, path)`` of each hash computed by this object (not answered from the cache)
        self.computed: list[tuple[str, str]] = []
        if self.cache_file is not None and self.cache_file.is_file():
            try:
                stored = json.loads(self.cache_file.read_text(encoding="utf-8"))
                if stored.get("version") == CACHE_VERSION:
                    self._entries = dict(stored.get("files", {}))
            except (OSError, ValueError):
                log.warning("ignoring the unreadable file hash cache %s", self.cache_file)

    def sha256(self, path: str | os.PathLike) -> str:
        """Hex SHA-256 of all the bytes of ``path``.

        Raises:
            MusicLimeError: the file is missing or unreadable (the message names it).
        """
        return self._hash(Path(path), "sha256", file_sha256)

    def sample(self, path: str | os.PathLike) -> str:
        """Hex SHA-256 of ``path``'s size and the :data:`SAMPLE_BYTES` in its middle."""
        return self._hash(Path(path), "sample", sample_sha256)

    def _hash(self, path: Path, kind: str, compute) -> str:
        key = os.path.abspath(path)  # not resolved: realpath costs a stat per folder, 100,000 songs add up
        try:
            stat = os.stat(key)
        except OSError as exc:
            raise MusicLimeError(f"cannot hash file {path}: {exc}") from exc
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = self._entries.get(key)
        if entry is None or entry[:2] != stamp:
            entry = stamp + [{}]
            self._entries[key] = entry
        if kind not in entry[2]:
            entry[2][kind] = compute(key)
            self.computed.append((kind, key))
            self._changed = True
        return entry[2][kind]

    def save(self) -> None:
        """Write the cache (atomically) when a hash was computed; an unwritable cache only costs time."""
        if self.cache_file is None or not self._changed:
            return
        try:
            write_json(self.cache_file, {"version": CACHE_VERSION, "files": self._entries})
            self._changed = False
        except OSError as exc:
            log.warning("cannot write the file hash cache %s: %s", self.cache_file, exc)


def sample_sha256(path: str | os.PathLike, block: int = SAMPLE_BYTES) -> str:
    """Hex SHA-256 of the size and the ``block`` bytes in the middle of ``path`` (all of a smaller file).

    Raises:
        MusicLimeError: the file is missing or unreadable (the message names it).
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            digest = hashlib.sha256(str(size).encode())
            handle.seek(max(0, size // 2 - block // 2))
            digest.update(handle.read(block))
    except OSError as exc:
        raise MusicLimeError(f"cannot hash file {path}: {exc}") from exc
    return digest.hexdigest()
