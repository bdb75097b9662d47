"""A real ``mlflow server`` for tests: SQLite backend and proxied artifacts in a temporary folder.

``start_mlflow_server(tmp_dir)`` returns ``(uri, stop)``; the module-scoped fixture
``mlflow_server`` yields the URI of one server shared by a test module and stops it afterwards.
The server runs in its own process group (``start_new_session``), so ``stop`` ends the CLI and its
uvicorn worker together, by process-group id.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import pytest

log = logging.getLogger(__name__)

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
START_ATTEMPTS = 3


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlflow_executable() -> str:
    """The ``mlflow`` CLI of the running interpreter's environment."""
    candidate = Path(sys.executable).with_name("mlflow")
    return str(candidate) if candidate.exists() else "mlflow"


def server_command(tmp_dir: Path, port: int, backend: str | None = None, workers: int = 1) -> list[str]:
    """``mlflow server`` arguments: the ``backend`` store (default: SQLite inside ``tmp_dir``), the artifact
    folder inside ``tmp_dir``, ``workers`` worker processes."""
    return [mlflow_executable(), "server",
            "--backend-store-uri", backend or f"sqlite:///{(tmp_dir / 'mlflow.db').resolve()}",
            "--artifacts-destination", str((tmp_dir / "mlartifacts").resolve()),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


def is_healthy(uri: str, timeout_s: float = 2.0) -> bool:
    """True when ``GET <uri>/health`` answers 200."""
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=timeout_s) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop_process_group(process: subprocess.Popen, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group led by ``process``, wait, SIGKILL whatever is left."""
    pgid = process.pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            continue
        if _group_gone(pgid, timeout_s=5.0):
            break
    process.wait()


def _group_gone(pgid: int, timeout_s: float) -> bool:
    """Wait until no process of group ``pgid`` is left (its leader already reaped)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _log_tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def _launch(tmp_dir: Path, port: int, backend: str | None = None, workers: int = 1) -> tuple[subprocess.Popen, Path]:
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log_path = tmp_dir / f"server-{port}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(server_command(tmp_dir, port, backend, workers), cwd=tmp_dir, env=env,
                                   stdin=subprocess.DEVNULL,
                                   stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    return process, log_path


def _wait_healthy(process: subprocess.Popen, uri: str, timeout_s: float) -> bool:
    """Poll ``/health`` until it answers (True) or the server exits (False); raise on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if is_healthy(uri):
            return True
        time.sleep(0.25)
    raise TimeoutError(f"mlflow server {uri} did not answer /health within {timeout_s:.0f} s")


def start_mlflow_server(tmp_dir: str | os.PathLike, timeout_s: float = START_TIMEOUT_S,
                        port: int | None = None, backend: str | None = None,
                        workers: int = 1) -> tuple[str, Callable[[], None]]:
    """Start ``mlflow server`` on a free loopback port; return ``(uri, stop)`` once ``/health`` answers.

    The store (``mlflow.db``), artifacts (``mlartifacts/``) and the server log live in ``tmp_dir``.
    A server that exits during start-up (e.g. its port was taken meanwhile) is retried on another
    port (unless ``port`` is given: restarting a server where clients expect it). ``stop()`` terminates the server's process group and waits; calling it twice is harmless.
    """
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fixed_port = port
    for _attempt in range(1 if fixed_port else START_ATTEMPTS):
        port = fixed_port or free_port()
        uri = f"http://127.0.0.1:{port}"
        process, log_path = _launch(tmp_dir, port, backend, workers)
        try:
            healthy = _wait_healthy(process, uri, timeout_s)
        except BaseException as exc:
            stop_process_group(process)
            if isinstance(exc, TimeoutError):
                raise RuntimeError(f"{exc}; log {log_path}:\n{_log_tail(log_path)}") from exc
            raise
        if healthy:
            log.info("mlflow server %s up (pid %d, log %s)", uri, process.pid, log_path)
            return uri, _stopper(process, uri)
        stop_process_group(process)
        log.warning("mlflow server on port %d exited during start-up; log tail:\n%s", port, _log_tail(log_path))
    raise RuntimeError(f"mlflow server did not start after {START_ATTEMPTS} attempts; see logs in {tmp_dir}")


def _stopper(process: subprocess.Popen, uri: str) -> Callable[[], None]:
    def stop() -> None:
        if process.returncode is None:
            stop_process_group(process)
            log.info("mlflow server %s stopped", uri)
    return stop


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory) -> str:
    """URI (``http://127.0.0.1:<port>``) of a real MLflow server shared by the test module."""
    uri, stop = start_mlflow_server(tmp_path_factory.mktemp("mlflow_server"))
    try:
        yield uri
    finally:
        stop()
