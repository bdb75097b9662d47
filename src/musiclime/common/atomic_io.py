"""Atomic file writes: write to a temporary file in the target folder, then rename.

A reader never sees a half-written artifact: either the old file (or none) or the complete new one.
A temporary file is named after its target, host and writer process; when a writer was killed before
it could clean up (``SIGKILL``, the OOM killer), the next write of the same target removes its leftover.
The file ends with the mode a plain ``open()`` would have given it (``0o666`` less the umask), not the
owner-only mode of a temporary file, so a group's shared results folder stays readable.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .lifeline import pid_is_alive


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary file keeps ``path``'s suffix (or ``suffix``) so libraries that pick a format from
    the extension (soundfile, numpy) still work. On error the temporary file is removed; so are
    temporary files of ``path`` whose writers on this host died.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_orphaned_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{_temporary_prefix(target)}{os.getpid()}@{socket.gethostname()}.",
        suffix=suffix if suffix is not None else target.suffix, dir=target.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, plain_mode())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def current_umask() -> int:
    """The process's umask, read without changing it (``/proc/self/status`` on Linux).

    Elsewhere it is set and restored at once, which another thread could observe; threads of this
    project create files through :func:`atomic_path`, which reads it here.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def plain_mode(directory: bool = False) -> int:
    """The mode ``open()`` (``0o666``) or ``mkdir`` (``0o777``, ``directory``) gives under the current umask."""
    return (0o777 if directory else 0o666) & ~current_umask()


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}."


def remove_orphaned_temporaries(target: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of ``target`` left by dead writers on this host; return them.

    A name ``.<target name>.<pid>@<host>.<random><suffix>`` is an orphan when ``host`` is this one and
    process ``pid`` no longer runs. Files of other hosts (a shared file system) are left alone.
    """
    target = Path(target)
    prefix, host = _temporary_prefix(target), socket.gethostname()
    removed = []
    for candidate in target.parent.glob(glob.escape(prefix) + f"*@{glob.escape(host)}.*"):
        pid = candidate.name[len(prefix):].split("@", 1)[0]
        if pid.isdigit() and not pid_is_alive(int(pid)):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically and return the path."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Write arrays to an uncompressed ``.npz`` archive atomically and return the path."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
    return Path(path)


def _json_default(value: Any) -> Any:
    """Convert numpy scalars and arrays (and paths) to JSON-native values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"object of type {type(value).__name__} is not JSON serializable")
