"""Provenance a reviewer can check: which code, which packages and which files made a result.

* :func:`code_version`: the git commit of the checkout holding the ``musiclime`` package and
  whether its tree was dirty, or the installed package version when the package is not in a git
  checkout (or git is absent);
* :func:`package_versions`: the versions of the packages that shape an explanation (``None`` for
  one that is not installed);
* :func:`file_sha256`, :func:`describe_files`: SHA-256 content hashes of input files and model
  weights, read in chunks and cached per process by (path, size, mtime).

Everything here is plain JSON-ready data; nothing raises for a missing git or package.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Iterable

from .errors import MusicLimeError

log = logging.getLogger(__name__)

#: Distribution names of the packages whose versions are recorded with every explanation.
TRACKED_PACKAGES = ("torch", "numpy", "scikit-learn", "lime", "openunmix")
#: Bytes read per step when hashing (songs can be hundreds of MB).
CHUNK_BYTES = 1 << 20
GIT_TIMEOUT_S = 10.0

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/musiclime
_hash_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the bytes of ``path``, read in :data:`CHUNK_BYTES` chunks.

    Cached within the process by (resolved path, size, mtime in ns): a file rewritten in place gets
    hashed again.

    Raises:
        MusicLimeError: the file is missing or unreadable (the message names it).
    """
    path = Path(path)
    try:
        stat = path.resolve().stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in _hash_cache:
            return _hash_cache[key]
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                digest.update(chunk)
    except OSError as exc:
        raise MusicLimeError(f"cannot hash file {path}: {exc}") from exc
    _hash_cache[key] = digest.hexdigest()
    return _hash_cache[key]


def describe_file(path: str | os.PathLike | None) -> dict | None:
    """``{"path", "sha256"}`` of one input file; ``None`` when ``path`` is ``None``."""
    if path is None:
        return None
    return {"path": str(path), "sha256": file_sha256(path)}


def describe_files(paths: Iterable[str | os.PathLike] | None, note: str | None = None) -> dict:
    """Content hashes of a set of files (e.g. model weights).

    Returns:
        ``{"files": {path: sha256}, "sha256": combined, "note": note}``. ``combined`` is the SHA-256
        of the lines ``"<sha256>  <file name>\\n"`` sorted by file name (what ``sha256sum`` prints for
        the files, sorted), so one value compares whole weight sets. With no files, ``files`` and
        ``sha256`` are ``None`` and ``note`` says why.
    """
    paths = sorted({str(p) for p in (paths or [])}, key=lambda p: (Path(p).name, p))
    if not paths:
        return {"files": None, "sha256": None, "note": note or "no files named"}
    hashes = {path: file_sha256(path) for path in paths}
    listing = "".join(f"{sha}  {Path(path).name}\n" for path, sha in hashes.items())
    return {"files": hashes, "sha256": hashlib.sha256(listing.encode()).hexdigest(), "note": note}


def package_versions() -> dict[str, str | None]:
    """Versions of python and :data:`TRACKED_PACKAGES`; ``None`` for a package that is not installed."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """The code that runs: ``{"package", "version", "source", "git_commit", "git_dirty"}``.

    ``source`` is ``"git"`` when the ``musiclime`` package lies (tracked) in a git checkout: then
    ``git_commit`` is its ``HEAD`` and ``git_dirty`` whether ``git status --porcelain`` lists any
    change. Otherwise ``source`` is ``"package"`` and both git fields are ``None``; ``version`` is
    the installed distribution's version (``None`` if not installed). Computed once per process.
    """
    try:
        version = metadata.version("musiclime")
    except metadata.PackageNotFoundError:
        version = None
    record = {"package": "musiclime", "version": version, "source": "package", "git_commit": None, "git_dirty": None}
    commit = _git("rev-parse", "HEAD")
    tracked = _git("ls-files", "--error-unmatch", "__init__.py") is not None
    status = _git("status", "--porcelain") if commit and tracked else None
    if commit and tracked and status is not None:
        record.update(source="git", git_commit=commit.strip(), git_dirty=bool(status.strip()))
    else:
        log.debug("musiclime at %s is not in a git checkout (or git failed); recording version %s",
                  _PACKAGE_DIR, version)
    return record


def runtime_provenance() -> dict:
    """``{"code": code_version(), "packages": package_versions()}`` of this process."""
    return {"code": dict(code_version()), "packages": package_versions()}


def short_code(code: dict | None) -> str:
    """``abc1234`` / ``abc1234+dirty`` for a git commit, ``v0.1.0`` for a package version, ``unknown``."""
    if not code:
        return "unknown"
    if code.get("git_commit"):
        return code["git_commit"][:12] + ("+dirty" if code.get("git_dirty") else "")
    return f"v{code['version']}" if code.get("version") else "unknown"


def _git(*args: str) -> str | None:
    """Output of ``git -C <package dir> <args>``, or ``None`` when git is absent, fails or times out."""
    try:
        done = subprocess.run(["git", "-C", str(_PACKAGE_DIR), *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git %s in %s failed: %s", " ".join(args), _PACKAGE_DIR, exc)
        return None
    return done.stdout
