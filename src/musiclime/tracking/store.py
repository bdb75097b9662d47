"""The tracking store behind a URI: reachability, local paths, the inter-process lock, retries.

A SQLite store is one file shared by every workflow job on the machine. SQLite allows one writer
at a time and MLflow's first connection creates or migrates the schema, so concurrent jobs take an
exclusive ``fcntl.flock`` on ``<db>.lock`` around every find-or-create-and-log sequence, and retry
with backoff when a process outside musiclime (``mlflow ui``, a notebook) still holds the database.
A server (``http(s)://``) serialises writes itself; it is probed with ``GET /health`` first, so a
stopped server fails in a second rather than after MLflow's minutes of HTTP retries.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from ..common.lifeline import uninterrupted
from .settings import TrackingError

log = logging.getLogger(__name__)

T = TypeVar("T")

HTTP_SCHEMES = ("http", "https")
#: MLflow HTTP client settings used for our calls unless the user set them in the environment.
QUICK_HTTP_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
LOCK_TIMEOUT_S = 600.0
LOCKED_MARKERS = ("database is locked", "database table is locked")
STAYS_ON_DISK = ("The computed explanations stay on disk; re-running the workflow logs them once "
                 "the tracking store is available.")


def uri_scheme(uri: str) -> str:
    """Lower-case scheme of ``uri`` (``"sqlite"``, ``"http"``, ...; ``""`` for a bare path)."""
    return uri.split(":", 1)[0].lower() if "://" in uri else ""


def sqlite_path(uri: str) -> Path | None:
    """Database file of a ``sqlite:`` URI (relative to the working directory when written so).

    ``sqlite:///mlflow.db`` -> ``mlflow.db``; ``sqlite:////abs/mlflow.db`` -> ``/abs/mlflow.db``;
    ``None`` for in-memory databases and non-SQLite URIs.
    """
    if uri_scheme(uri) != "sqlite":
        return None
    rest = uri.split("://", 1)[1].split("?", 1)[0]
    if rest.startswith("/"):
        rest = rest[1:]
    if rest in ("", ":memory:"):
        return None
    return Path(rest)


def file_store_path(uri: str) -> Path | None:
    """Directory of a local MLflow file store (``file:///dir``), else ``None``."""
    if uri_scheme(uri) != "file":
        return None
    return Path(uri.split("://", 1)[1].split("?", 1)[0])


def lock_path(uri: str) -> Path | None:
    """Inter-process lock file guarding a local store (``<db>.lock`` beside a SQLite file), or ``None``."""
    local = sqlite_path(uri) or file_store_path(uri)
    return None if local is None else local.with_name(local.name + ".lock")


def default_artifact_location(uri: str) -> str | None:
    """Artifact root for a new experiment: ``mlartifacts/`` beside a SQLite file; else MLflow decides."""
    db = sqlite_path(uri)
    if db is None:
        return None
    return (db.parent / "mlartifacts").resolve().as_uri()


def check_tracking_uri(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast when the tracking store of ``uri`` cannot be used.

    ``http(s)``: ``GET <uri>/health`` must answer 200 within ``timeout_s``. ``sqlite``/``file``: the
    folder holding the store is created if missing.

    Raises:
        TrackingError: naming ``uri``; the explanations already computed stay on disk.
    """
    scheme = uri_scheme(uri)
    if scheme in HTTP_SCHEMES:
        _check_server_health(uri, timeout_s)
    elif scheme in ("sqlite", "file"):
        _ensure_store_folder(uri)
    else:
        log.debug("no reachability check for tracking URI %s", uri)


def _check_server_health(uri: str, timeout_s: float) -> None:
    """``GET <uri>/health``; raise :class:`TrackingError` unless it answers 200."""
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (http(s) only)
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(f"MLflow tracking server {uri} is not reachable ({reason}). {STAYS_ON_DISK}") from exc
    if status != 200:
        raise TrackingError(f"MLflow tracking server {uri} answered HTTP {status} on /health. {STAYS_ON_DISK}")
    log.debug("MLflow tracking server %s is healthy", uri)


def _ensure_store_folder(uri: str) -> None:
    """Create the folder that holds a local store (SQLite file or file-store directory)."""
    db, store = sqlite_path(uri), file_store_path(uri)
    folder = db.parent if db is not None else store
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrackingError(f"cannot create the folder {folder} of tracking store {uri}: {exc}. "
                            f"{STAYS_ON_DISK}") from exc


@contextlib.contextmanager
def store_lock(uri: str, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[Path | None]:
    """Hold an exclusive ``flock`` on the store's lock file for the block (no-op for servers).

    The lock is released when the block ends or the process dies. Waiting longer than
    ``timeout_s`` raises :class:`TrackingError` naming the lock file.
    """
    path = lock_path(uri)
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _acquire(fd, path, uri, timeout_s)
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, uri: str, timeout_s: float) -> None:
    """Poll a non-blocking ``flock`` until it is granted or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TrackingError(f"waited {timeout_s:.0f} s for the lock {path} of tracking store {uri}; "
                                    f"another process holds it. {STAYS_ON_DISK}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def is_locked_error(exc: BaseException) -> bool:
    """True when ``exc`` reports a busy SQLite database."""
    text = str(exc).lower()
    return any(marker in text for marker in LOCKED_MARKERS)


def retry_when_locked(action: Callable[[], T], uri: str, attempts: int = 6, base_delay_s: float = 0.25) -> T:
    """Run ``action``; on a "database is locked" error retry with jittered exponential backoff.

    ``action`` must be idempotent (find-or-create, then log). Other errors propagate at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except Exception as exc:  # MLflow wraps sqlite3/SQLAlchemy errors in MlflowException
            if not is_locked_error(exc):
                raise
            if attempt == attempts:
                raise TrackingError(f"tracking store {uri} stayed locked after {attempts} attempts: {exc}. "
                                    f"{STAYS_ON_DISK}") from exc
            delay = min(base_delay_s * 2 ** (attempt - 1), 5.0) * (1 + random.random())
            log.warning("tracking store %s is locked (attempt %d/%d); retrying in %.2f s",
                        uri, attempt, attempts, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


_QUICK_HTTP_LOCK = threading.Lock()
_quick_http_users = 0
_quick_http_added: list[str] = []


@contextlib.contextmanager
def quick_http_requests() -> Iterator[None]:
    """Shorten MLflow's HTTP retries and timeout for the block, unless the user configured them.

    Thread-safe: tracking jobs run in threads of one process, so the variables are set when the
    first block opens and removed when the last one closes.
    """
    global _quick_http_users
    with _QUICK_HTTP_LOCK:
        if _quick_http_users == 0:
            _quick_http_added[:] = [name for name in QUICK_HTTP_ENV if name not in os.environ]
            for name in _quick_http_added:
                os.environ[name] = QUICK_HTTP_ENV[name]
        _quick_http_users += 1
    try:
        yield
    finally:
        with _QUICK_HTTP_LOCK:
            _quick_http_users -= 1
            if _quick_http_users == 0:
                for name in _quick_http_added:
                    os.environ.pop(name, None)


def guarded(uri: str, action_name: str, action: Callable[[], T]) -> T:
    """Run ``action`` under the store lock, with locked-retries and short HTTP retries.

    The action runs :func:`~musiclime.common.lifeline.uninterrupted`: when Snakemake dies meanwhile,
    the worker finishes it before it exits (MLflow's first use of a SQLite file creates the schema
    in steps; cut short, the file is unusable). Any MLflow or I/O failure becomes a
    :class:`TrackingError` naming ``uri`` and ``action_name``.
    """
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with quick_http_requests(), store_lock(uri), uninterrupted(action_name):
            return retry_when_locked(action, uri)
    except TrackingError:
        raise
    except (MlflowException, SQLAlchemyError, OSError) as exc:  # requests' errors are OSErrors
        raise TrackingError(f"{action_name} failed on tracking store {uri}: {exc}. {STAYS_ON_DISK}") from exc
