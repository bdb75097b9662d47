"""Where Snakemake meets Hydra: turn ``snakemake --config`` into a validated :class:`WorkflowPlan`.

``--config experiment=NAME`` picks ``conf/experiment/NAME.yaml``; ``--config 'overrides=[...]'``
passes Hydra overrides (sweeps allowed). Everything is validated here, before any job starts.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Callable, TypeVar

from .composition import compose_sweep
from .errors import ConfigError
from .plan import WorkflowPlan

ALLOWED_KEYS = ("experiment", "overrides")
T = TypeVar("T")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def plan_from_snakemake_config(config: dict, conf_dir: str | Path) -> WorkflowPlan:
    """Compose every sweep point from Snakemake's ``config`` dict and read the songs."""
    unknown = sorted(set(config) - set(ALLOWED_KEYS))
    if unknown:
        raise ConfigError(f"unknown --config keys {unknown}: use experiment=NAME and overrides=[...] "
                          f"(Hydra overrides such as explain.kernel_width=5,25,50)")
    overrides = config.get("overrides") or []
    if isinstance(overrides, str):
        overrides = [overrides]
    sweep = compose_sweep(conf_dir, experiment=config.get("experiment"), overrides=[str(o) for o in overrides])
    return WorkflowPlan.from_sweep(sweep)


def configure_script_logging(log_path: str | Path | None) -> None:
    """Log INFO and above to the rule's log file and to stderr (used by workflow scripts)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format=LOG_FORMAT)


class _ThreadLogRouter(logging.Handler):
    """Sends each library log record to the log file of the job running in the record's thread.

    Cheap stages run as Snakemake ``run:`` jobs in threads of the Snakemake process; every job
    registers its own log file here for the duration of the job, so concurrent jobs never mix logs.
    """

    def __init__(self):
        super().__init__(level=logging.INFO)
        self._handlers: dict[int, logging.Handler] = {}
        self._lock = threading.Lock()

    def attach(self, thread_id: int, handler: logging.Handler) -> None:
        with self._lock:
            self._handlers[thread_id] = handler

    def detach(self, thread_id: int) -> logging.Handler | None:
        with self._lock:
            return self._handlers.pop(thread_id, None)

    def emit(self, record: logging.LogRecord) -> None:
        handler = self._handlers.get(record.thread)
        if handler is not None and record.levelno >= handler.level:
            handler.handle(record)


_ROUTER = _ThreadLogRouter()
_ROUTER_LOCK = threading.Lock()


def _install_router() -> None:
    """Attach the router to the ``musiclime`` logger once per process (idempotent)."""
    with _ROUTER_LOCK:
        library = logging.getLogger("musiclime")
        if _ROUTER not in library.handlers:
            library.addHandler(_ROUTER)
            if library.level == logging.NOTSET or library.level > logging.INFO:
                library.setLevel(logging.INFO)
            library.propagate = False  # the job's log file gets the records, not Snakemake's console


def run_stage(log_path: str | Path | None, stage: Callable[..., T], *args, **kwargs) -> T:
    """Run one stage function inside the current process, logging to the job's ``log_path``.

    Used by the workflow's ``run:`` rules (fit, tracking, reports): they run in threads of the
    Snakemake process, so a job costs its work, not a Python start and the library's imports. The
    log file names the process id, so a reader can tell an in-process job from a spawned one.
    """
    _install_router()
    handler: logging.Handler | None = None
    thread_id = threading.get_ident()
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        _ROUTER.attach(thread_id, handler)
    try:
        logging.getLogger(__name__).info("%s in process %d (thread %d)", stage.__qualname__, os.getpid(),
                                         thread_id)
        return stage(*args, **kwargs)
    except Exception:
        logging.getLogger(__name__).exception("%s failed", stage.__qualname__)
        raise
    finally:
        if handler is not None:
            _ROUTER.detach(thread_id)
            handler.close()
