"""One set of model workers per SLURM allocation, shared by the job steps of a group job.

On SLURM, the Snakemake of a job (or group job) runs in the allocation's batch step and starts each
job of its group as a job step (``srun``) with a Snakemake process of its own
(snakemake-executor-plugin-slurm-jobstep). Model workers of those per-job processes would load the
model once per job. So the batch-step Snakemake serves its own ``models`` pool on a Unix socket
(:func:`serve_pool`), named with a random key in the environment its job steps inherit; a job
step's heavy stage sends its call there (:func:`call_server`) and the batch step's warm worker runs
it. A group job of K songs thus loads each model once. The socket lives in ``$TMPDIR`` of the node
(the steps of a group job run on the node of its batch step) and goes when the batch step exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import tempfile
import threading
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from .worker_pool import Call, WorkerDiedError, get_pool, sendable_exception

#: Environment variables naming the socket and its key (hex) for the job steps.
SERVER_ENV = "MUSICLIME_MODEL_SERVER"
SERVER_KEY_ENV = "MUSICLIME_MODEL_SERVER_KEY"

log = logging.getLogger(__name__)
_served: dict[str, Listener] = {}


#: Longest path of a Unix socket (``sun_path`` is 108 bytes on Linux, with its terminating NUL).
MAX_SOCKET_PATH = 107


def serve_pool(name: str = "models") -> Path | None:
    """Run calls that job steps of this allocation send to pool ``name`` (in threads of this process).

    Sets :data:`SERVER_ENV` and :data:`SERVER_KEY_ENV` in this process's environment, which the job
    steps it starts inherit. Returns the socket's path; ``None`` (with a warning: each job step then
    loads its own models) when no socket can be made.
    """
    if name in _served:
        return Path(_served[name].address)
    key = secrets.token_bytes(16)
    socket_name = f"musiclime-{name}-{os.getpid()}-{secrets.token_hex(4)}.sock"
    folder = Path(tempfile.gettempdir())
    if len(str(folder / socket_name)) > MAX_SOCKET_PATH:  # a long $TMPDIR on some clusters
        folder = Path("/tmp")
    path = folder / socket_name
    try:
        listener = Listener(str(path), family="AF_UNIX", authkey=key)
    except OSError as exc:
        log.warning("cannot serve the %s workers to this job's steps at %s (%s); each step loads its own", name,
                    path, exc)
        return None
    _served[name] = listener
    threading.Thread(target=_accept, args=(listener, name), daemon=True, name=f"serve-{name}").start()
    os.environ[SERVER_ENV] = str(path)
    os.environ[SERVER_KEY_ENV] = key.hex()
    atexit.register(_stop, listener, path)
    log.info("serving the %s workers of this SLURM job to its job steps on %s", name, path)
    return path


def _accept(listener: Listener, name: str) -> None:
    while True:
        try:
            connection = listener.accept()
        except (OSError, EOFError):  # closed at exit
            return
        except Exception:  # a client with the wrong key
            log.warning("refused a connection to the %s workers with the wrong key", name)
            continue
        threading.Thread(target=_answer, args=(connection, name), daemon=True).start()


def _answer(connection: Connection, name: str) -> None:
    """Run one call received on ``connection`` in pool ``name`` and send back its outcome."""
    with connection:
        try:
            call = connection.recv()
        except (EOFError, OSError):
            return
        try:
            outcome: tuple[str, Any] = ("ok", get_pool(name).run(call))
        except Exception as exc:
            outcome = ("error", sendable_exception(exc))
        try:
            connection.send(outcome)
        except (OSError, ValueError):
            log.warning("%s: the job step that sent it is gone", call.label)


def _stop(listener: Listener, path: Path) -> None:
    listener.close()
    path.unlink(missing_ok=True)


def server_address() -> tuple[str, bytes] | None:
    """The socket and key of a pool served to this process (a job step of a SLURM job); ``None`` without one
    or in the process that serves it."""
    path, key = os.environ.get(SERVER_ENV), os.environ.get(SERVER_KEY_ENV)
    if not path or not key or _served or not Path(path).exists():
        return None
    return path, bytes.fromhex(key)


def call_server(address: tuple[str, bytes], call: Call) -> Any:
    """Send ``call`` to the pool served at ``address`` and return its result (its exception is raised here).

    Raises:
        WorkerDiedError: the serving process went away before answering.
        ConnectionError: nobody listens at ``address`` (the caller falls back to its own pool).
    """
    path, key = address
    try:
        connection = Client(path, family="AF_UNIX", authkey=key)
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise ConnectionError(f"no model server at {path}") from exc
    with connection:
        connection.send(call.plain())
        try:
            status, value = connection.recv()
        except (EOFError, OSError) as exc:
            raise WorkerDiedError(f"{call.label}: the SLURM job's model server ({path}) went away before it "
                                  f"answered" + (f"; its log: {call.log_path}" if call.log_path else "")) from exc
    if status == "error":
        raise value
    return value
