"""Warm worker processes for the workflow's cheap stages.

Snakemake runs ``run:`` jobs in threads of its own process (see ``workflow/rules/common.smk``).
Doing the work there would serialise every fit, picture and MLflow call on one GIL, so each job's
thread submits its stage function to a small pool of worker processes instead. Workers start on
first use (``spawn``: no fork of a threaded process), import what the stages need once, and live
until Snakemake exits. A job therefore costs its own work: no Python start, no repeated imports.

There are two pools. ``compute`` (one worker per core) runs fits, pictures and pages; ``tracking``
(one worker) runs the MLflow stages, so MLflow (a 3 s import) is loaded once, and writes to a SQLite
store, which serialises them anyway, never hold a compute worker. A stage names its pool with a
``worker_pool`` attribute (default ``compute``).

Workers die with the Snakemake process: a hard kill of Snakemake runs none of its cleanup, and a
worker holds both ends of its call queue, so it would wait for work forever. Each worker follows the
process that started it (:func:`musiclime.common.lifeline.follow`): an idle worker exits within a
second of its death, a busy one abandons its stage (``KeyboardInterrupt``) and exits. Once the
workers are gone, multiprocessing's resource tracker reads the end of its pipe and exits too.

Arguments travel by pickle: stage functions are module-level, and Snakemake's file lists are
turned into plain lists of strings first.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, TypeVar

from ..common.lifeline import ProcessIdentity, follow

T = TypeVar("T")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Most workers, whatever the machine: cheap jobs are bounded by Snakemake's --cores anyway.
MAX_WORKERS = 8

_pools: dict[str, ProcessPoolExecutor] = {}
_pool_lock = threading.Lock()
#: Worker side: how many stage calls this worker is running (0 or 1), read by its lifeline.
_calls_running = 0
#: What each pool's workers import as they start (in parallel, before their first job arrives).
WARM_IMPORTS = {
    "compute": ("musiclime.pipeline.stages.fitting", "musiclime.pipeline.stages.media",
                "musiclime.pipeline.stages.reports", "musiclime.pipeline.stages.pages", "lime.lime_base",
                "sklearn.metrics", "matplotlib.figure", "matplotlib.backends.backend_agg", "jinja2"),
    "tracking": ("musiclime.pipeline.stages.tracking", "musiclime.tracking"),
}


def pool_size() -> int:
    """Workers: the CPUs this process may use, at most :data:`MAX_WORKERS`."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _get_pool(name: str) -> ProcessPoolExecutor:
    with _pool_lock:
        if name not in _pools:
            size = _size(name)
            _pools[name] = ProcessPoolExecutor(max_workers=size, mp_context=multiprocessing.get_context("spawn"),
                                               initializer=_start_worker,
                                               initargs=(ProcessIdentity.current(), WARM_IMPORTS.get(name, ())))
            atexit.register(_pools[name].shutdown, wait=False, cancel_futures=True)
        return _pools[name]


def start_pools(names: tuple[str, ...] = ("compute", "tracking")) -> None:
    """Start the workers now (Snakemake's ``onstart``), so their imports overlap the first scheduling rounds."""
    for name in names:
        pool = _get_pool(name)
        for _ in range(_size(name)):
            pool.submit(int)  # a no-op call makes the executor spawn a worker


def _size(name: str) -> int:
    return 1 if name == "tracking" else pool_size()


def _start_worker(snakemake_process: ProcessIdentity, modules: tuple[str, ...]) -> None:
    """Worker initializer: exit with ``snakemake_process``; import what the stages of this pool need."""
    follow(snakemake_process, busy=lambda: _calls_running > 0)
    _warm_up(modules)


def _warm_up(modules: tuple[str, ...]) -> None:
    """Import ``modules`` (errors surface in the first job that needs one)."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def plain(value):
    """``value`` with Snakemake's file lists and path strings turned into builtin lists and ``str``."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Path):
        return value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def run_in_worker(log_path: str | Path | None, stage: Callable[..., T], *args, **kwargs) -> T:
    """Run ``stage(*args, **kwargs)`` in a warm worker; its library logs go to ``log_path``.

    Blocks the calling thread until the stage returns; its exception, if any, is raised here.
    """
    pool = _get_pool(getattr(stage, "worker_pool", "compute"))
    future = pool.submit(_call_logged, None if log_path is None else str(log_path), os.getpid(), stage,
                         plain(list(args)), plain(kwargs))
    return future.result()


def _call_logged(log_path: str | None, snakemake_pid: int, stage: Callable[..., T], args: list, kwargs: dict) -> T:
    """Worker side: log the library's INFO records of this one call to ``log_path``, then call ``stage``."""
    library = logging.getLogger("musiclime")
    library.setLevel(logging.INFO)
    library.propagate = False
    handler: logging.Handler | None = None
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        library.addHandler(handler)
    log = logging.getLogger(__name__)
    global _calls_running
    _calls_running += 1
    try:
        log.info("%s in worker %d of Snakemake process %d", stage.__qualname__, os.getpid(), snakemake_pid)
        return stage(*args, **kwargs)
    except Exception:
        log.exception("%s failed", stage.__qualname__)
        raise
    finally:
        _calls_running -= 1
        if handler is not None:
            library.removeHandler(handler)
            handler.close()
