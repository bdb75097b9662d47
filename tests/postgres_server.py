"""A throwaway PostgreSQL cluster for tests: ``initdb`` in a temporary folder, one server on a loopback port.

``start_postgres(tmp_dir)`` returns ``(url, stop)``: ``url`` is a SQLAlchemy URL
(``postgresql+psycopg://musiclime@127.0.0.1:<port>/mlflow``) for ``mlflow server --backend-store-uri``.
PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` user
(Debian's package creates it). Needs Debian's ``postgresql`` (``.ci/run`` installs it) and ``psycopg``
(the test extra); :func:`require_postgres` skips without them, or fails under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

import pytest

from .mlflow_server import free_port

START_TIMEOUT_S = 60.0


def postgres_bin() -> Path | None:
    """The folder of Debian's newest PostgreSQL binaries (``initdb``, ``pg_ctl``), or ``None``."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def require_postgres() -> Path:
    """The binaries' folder; skip the test when PostgreSQL or psycopg is missing (fail under CI)."""
    missing = []
    folder = postgres_bin()
    if folder is None:
        missing.append("Debian's postgresql (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing.append("psycopg (pip install 'psycopg[binary]', in the test extra)")
    if missing:
        message = "PostgreSQL tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


def _as_owner(command: list[str]) -> list[str]:
    """Run ``command`` as the cluster's owner: ``postgres`` under root, else the current user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def start_postgres(tmp_dir: str | os.PathLike) -> tuple[str, Callable[[], None]]:
    """Initialise a cluster, start it on a free loopback port, create database ``mlflow``.

    The cluster lives in ``tmp_dir`` or, under root, in a folder of its own that the ``postgres`` user
    can reach (pytest's folders are private to root), removed by ``stop``.
    """
    folder = require_postgres()
    own = Path(tempfile.mkdtemp(prefix="musiclime-pg-")) if os.geteuid() == 0 else None
    root = own or Path(tmp_dir)
    data, sockets = root / "pgdata", root / "pgsockets"
    sockets.mkdir(parents=True, exist_ok=True)
    if own is not None:
        own.chmod(0o755)
        for path in (own, sockets):
            shutil.chown(path, "postgres")
    port = free_port()
    subprocess.run(_as_owner([str(folder / "initdb"), "-D", str(data), "-U", "musiclime", "--auth=trust",
                              "-E", "UTF8"]), check=True, capture_output=True, text=True)
    log = root / "postgres.log"
    subprocess.run(_as_owner([str(folder / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t",
                              str(int(START_TIMEOUT_S)), "-o", f"-p {port} -k {sockets} -h 127.0.0.1", "start"]),
                   check=True, capture_output=True, text=True)

    def stop() -> None:
        subprocess.run(_as_owner([str(folder / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, text=True)
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)

    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            created = subprocess.run([str(folder / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "musiclime",
                                      "mlflow"], capture_output=True, text=True)
            if created.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"createdb failed: {created.stderr}\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
    except BaseException:
        stop()
        raise
    return f"postgresql+psycopg://musiclime@127.0.0.1:{port}/mlflow", stop
