"""Warm worker processes that run the workflow's stages.

Every stage but the demo's inputs is a Snakemake ``run:`` job (see ``workflow/rules/common.smk``):
Snakemake runs it in a thread of its own process, and the thread hands the stage function to a warm
worker process here and waits for it. Workers start once (``spawn``: no fork of a threaded process),
import what their stages need once, and live until Snakemake exits, so a job costs its own work: no
Python start, no repeated imports and, for the heavy stages, no repeated model loads.

Three pools; a stage names its pool with a ``worker_pool`` attribute (default ``compute``):

* ``compute``: fits, pictures, pages; one worker per CPU (at most :data:`MAX_WORKERS`).
* ``tracking``: the MLflow stages; one worker, so MLflow (a 3 s import) loads once and its SQLite
  writes, serialised anyway, never hold a compute worker.
* ``models``: ``separate``, ``predict`` and ``evaluate``. Each worker keeps the models it built
  (:mod:`musiclime.common.model_cache`), so a run loads each model once per worker. A job prefers an
  idle worker that already holds its model (``affinity``). Its size, threads, GPU and cache are set
  by :func:`configure_model_pool` (from ``compute.*``, see :func:`model_pool_settings`); with
  ``compute.model_workers=0`` every heavy job gets a fresh process that ends with it (the
  process-per-job behaviour, for models that leak memory).

A worker serves one call at a time over its own pipe. When it dies (killed for memory, a segfault,
a CUDA error), only the job it was running fails, with :class:`WorkerDiedError` naming the stage,
the job and its log; the next call starts a replacement. Workers die with Snakemake: an idle one
reads the end of its pipe when Snakemake's process is gone, and each follows that process
(:func:`musiclime.common.lifeline.follow`), so a busy one abandons its stage (``KeyboardInterrupt``)
and exits even after a ``SIGKILL`` of Snakemake.

Arguments travel by pickle: stage functions are module-level, and Snakemake's file lists are turned
into plain lists of strings first (:func:`plain`).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from ..common.errors import MusicLimeError
from ..common.lifeline import ProcessIdentity, follow

T = TypeVar("T")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Most workers of a pool, whatever the machine: jobs are bounded by Snakemake's --cores anyway.
MAX_WORKERS = 8
#: What each pool's workers import as they start (in parallel, before their first job arrives).
WARM_IMPORTS = {
    "compute": ("musiclime.pipeline.stages.fitting", "musiclime.pipeline.stages.media",
                "musiclime.pipeline.stages.reports", "musiclime.pipeline.stages.pages", "lime.lime_base",
                "sklearn.metrics", "matplotlib.figure", "matplotlib.backends.backend_agg", "jinja2"),
    "tracking": ("musiclime.pipeline.stages.tracking", "musiclime.tracking"),
    "models": ("torch", "musiclime.pipeline.stages.prediction", "musiclime.pipeline.stages.evaluation",
               "musiclime.pipeline.stages.separation", "hydra.utils"),
}

log = logging.getLogger(__name__)


class WorkerDiedError(MusicLimeError):
    """The worker process running a job died before it answered; only that job fails."""


@dataclass(frozen=True)
class PoolSettings:
    """How one pool runs its workers.

    Attributes:
        size: most workers at once (jobs beyond wait for one).
        reuse: keep a worker for the next call (``False``: a fresh process per call).
        env: environment every worker gets, applied before it imports anything.
        slot_env: environment of the worker in each slot (``CUDA_VISIBLE_DEVICES``: one GPU each).
        imports: modules a worker imports as it starts.
        threads: CPU threads every call may use (``None``: the call's own ``threads``).
    """

    size: int
    reuse: bool = True
    env: tuple[tuple[str, str], ...] = ()
    slot_env: tuple[tuple[tuple[str, str], ...], ...] = ()
    imports: tuple[str, ...] = ()
    threads: int | None = None

    def env_of(self, slot: int) -> dict[str, str]:
        """The environment of the worker in ``slot``."""
        return {**dict(self.env), **(dict(self.slot_env[slot]) if slot < len(self.slot_env) else {})}


@dataclass(frozen=True)
class Call:
    """One stage call: ``stage(*args, **kwargs)``, its log file, the threads it may use, the model it
    needs (``affinity``: a worker holding it is preferred) and the job's name in errors."""

    stage: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    log_path: str | None = None
    threads: int | None = None
    affinity: str | None = None
    job: str = ""

    @property
    def label(self) -> str:
        return self.job or self.stage.__qualname__

    def plain(self) -> Call:
        """This call with Snakemake's file lists and strings made builtin (:func:`plain`), ready to pickle."""
        return Call(self.stage, tuple(plain(list(self.args))), plain(self.kwargs), self.log_path, self.threads,
                    self.affinity, self.job)


def pool_size() -> int:
    """Workers of the ``compute`` pool: the CPUs this process may use, at most :data:`MAX_WORKERS`."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def default_settings(name: str) -> PoolSettings:
    """Settings of pool ``name`` before any :func:`configure_pool`: one worker per CPU, one for tracking."""
    size = 1 if name in ("tracking", "models") else pool_size()
    return PoolSettings(size=size, imports=WARM_IMPORTS.get(name, ()))


def model_pool_settings(compute: Mapping[str, Any], cores: int | None, cluster_job: bool = False) -> PoolSettings:
    """Settings of the ``models`` pool from the ``compute`` config slice and Snakemake's ``--cores``.

    Workers (``compute.model_workers``): ``auto`` is one per visible GPU when ``compute.device`` is
    ``cuda`` or ``auto`` (each worker sees only its GPU, through ``CUDA_VISIBLE_DEVICES``), one for
    ``cuda:N``, and on the CPU ``cores // compute.threads`` (Snakemake runs at most that many heavy
    jobs at once, each with ``threads`` torch threads), at most :data:`MAX_WORKERS`. In a cluster job
    (``cluster_job``: the Snakemake of one SLURM job or group job) ``auto`` on the CPU is one worker
    whose calls use every core of the allocation, so a group job loads each model once. ``0`` is a
    fresh process per job. Cache (``compute.model_cache_mb``, MiB per worker): ``auto`` is half the
    memory (``SLURM_MEM_PER_NODE`` in a SLURM job, else the machine's) divided among the workers.
    """
    device = str(compute.get("device", "cpu"))
    threads = max(1, int(compute.get("threads", 1)))
    requested = str(compute.get("model_workers", "auto"))
    gpus = visible_gpus() if device in ("cuda", "auto") else []
    call_threads = None
    if requested == "auto":
        if gpus:
            size = len(gpus)
        elif device.startswith("cuda"):
            size = 1
        elif cluster_job:
            size, call_threads = 1, max(threads, cores or 1)
        else:
            size = max(1, (cores or pool_size()) // threads)
        size = min(size, MAX_WORKERS)
    else:
        size = int(requested)
    cache = str(compute.get("model_cache_mb", "auto"))
    cache_mb = int(cache) if cache != "auto" else int(memory_mb() * 0.5 / max(1, size))
    from ..common.model_cache import CAPACITY_ENV

    slot_env = tuple((("CUDA_VISIBLE_DEVICES", gpu),) for gpu in gpus)
    return PoolSettings(size=max(1, size), reuse=size > 0, env=((CAPACITY_ENV, str(cache_mb)),), slot_env=slot_env,
                        imports=WARM_IMPORTS["models"], threads=call_threads)


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries: that variable's list when set,
    else one per line of ``nvidia-smi -L``; empty without either."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu.strip() for gpu in listed.split(",") if gpu.strip() and gpu.strip() != "-1"]
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(line for line in out.splitlines() if line.startswith("GPU "))]


def memory_mb() -> float:
    """MiB of memory this process's jobs may use: the SLURM job's (``SLURM_MEM_PER_NODE``) or the machine's."""
    slurm = os.environ.get("SLURM_MEM_PER_NODE", "").strip()
    if slurm.isdigit():
        return float(slurm)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        return 8192.0


class Worker:
    """One worker process in a pool slot, with the parent's end of its pipe and the model keys it holds."""

    def __init__(self, slot: int, settings: PoolSettings, context):
        self.slot = slot
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, name=f"musiclime-worker-{slot}", daemon=True,
                                       args=(child, ProcessIdentity.current(), settings.imports,
                                             settings.env_of(slot)))
        self.process.start()
        child.close()
        self.holds: tuple[str, ...] = ()
        self.calls = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Ask the worker to exit after its current call (it reads ``None``), and close our end."""
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.conn.close()


class WorkerPool:
    """Up to ``settings.size`` workers, started on demand; :meth:`run` blocks its thread for one call."""

    def __init__(self, name: str, settings: PoolSettings):
        self.name = name
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Condition()
        self._idle: list[Worker] = []  # least recently used first
        self._busy: set[Worker] = set()
        self._closed = False

    def start(self) -> None:
        """Start every worker now, so their imports overlap Snakemake's first scheduling rounds."""
        if not self.settings.reuse:
            return
        with self._lock:
            while self._workers() < self.settings.size:
                self._idle.append(Worker(self._free_slot(), self.settings, self._context))

    def run(self, call: Call) -> Any:
        """Run ``call`` in a worker and return its result; its exception is raised here.

        Raises:
            WorkerDiedError: the worker died during the call (the pool replaces it).
        """
        worker = self._acquire(call.affinity)
        try:
            threads = self.settings.threads or call.threads
            worker.conn.send((call.log_path, os.getpid(), call.stage, call.args, call.kwargs, threads))
            outcome = self._answer(worker)
        except (OSError, EOFError) as exc:  # the pipe broke under the send
            self._release(worker, alive=False)
            raise self._died(worker, call) from exc
        if outcome is None:
            self._release(worker, alive=False)
            raise self._died(worker, call)
        status, value, holds = outcome
        worker.holds = tuple(holds)
        worker.calls += 1
        self._release(worker, alive=self.settings.reuse)
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Stop every idle worker; busy ones stop after their call (Snakemake is exiting)."""
        with self._lock:
            self._closed = True
            for worker in self._idle:
                worker.stop()
            self._idle.clear()

    def _answer(self, worker: Worker):
        """The worker's ``(status, value, model keys)``, or ``None`` when it died first."""
        ready = wait([worker.conn, worker.process.sentinel])
        if worker.conn in ready:
            try:
                return worker.conn.recv()
            except (EOFError, OSError):
                return None
        return None

    def _died(self, worker: Worker, call: Call) -> WorkerDiedError:
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        how = describe_exit(code)
        where = f"; its log: {call.log_path}" if call.log_path else ""
        return WorkerDiedError(f"{call.label}: the {self.name} worker (pid {worker.pid}) running it died ({how}) "
                               f"before it finished{where}. Only this job failed; the next job gets a new worker."
                               + (" A worker killed by SIGKILL was most likely out of memory: lower "
                                  "compute.model_workers or compute.model_cache_mb, or give the job more memory."
                                  if code == -signal.SIGKILL else ""))

    def _workers(self) -> int:
        return len(self._idle) + len(self._busy)

    def _free_slot(self) -> int:
        taken = {w.slot for w in self._idle} | {w.slot for w in self._busy}
        return next(slot for slot in range(len(taken) + 1) if slot not in taken)

    def _acquire(self, affinity: str | None) -> Worker:
        with self._lock:
            while True:
                for worker in [w for w in self._idle if not w.alive()]:  # died while idle (OOM killer ...)
                    self._idle.remove(worker)
                    worker.stop()
                chosen = self._choose(affinity)
                if chosen is not None:
                    self._busy.add(chosen)
                    return chosen
                self._lock.wait()

    def _choose(self, affinity: str | None) -> Worker | None:
        """An idle worker holding ``affinity``, else the least recently used idle one (a load costs less than
        a new worker's start and imports), else a new worker in a free slot; ``None``: wait for one."""
        if affinity is not None:
            for worker in self._idle:
                if affinity in worker.holds:
                    self._idle.remove(worker)
                    return worker
        if self._idle:
            return self._idle.pop(0)
        size = self.settings.size if self.settings.reuse else max(self.settings.size, MAX_WORKERS * 4)
        if self._workers() < size:
            return Worker(self._free_slot(), self.settings, self._context)
        return None

    def _release(self, worker: Worker, alive: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            if alive and not self._closed and worker.alive():
                self._idle.append(worker)
            else:
                worker.stop()
            self._lock.notify_all()


def describe_exit(code: int | None) -> str:
    """``exit code 1``, ``killed by SIGKILL`` ... of a process's ``exitcode``."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


_pools: dict[str, WorkerPool] = {}
_settings: dict[str, PoolSettings] = {}
_pools_lock = threading.Lock()


def configure_pool(name: str, settings: PoolSettings) -> None:
    """Set how pool ``name`` runs its workers; before its first use (later calls to a started pool are ignored)."""
    with _pools_lock:
        if name in _pools:
            if _pools[name].settings != settings:
                log.warning("pool %s already started; keeping its settings", name)
            return
        _settings[name] = settings


def get_pool(name: str) -> WorkerPool:
    """Pool ``name``, created on first use with its configured (or default) settings."""
    with _pools_lock:
        if name not in _pools:
            _pools[name] = WorkerPool(name, _settings.get(name) or default_settings(name))
            atexit.register(_pools[name].close)
        return _pools[name]


def start_pools(names: tuple[str, ...] = ("compute", "tracking")) -> None:
    """Start the workers of pools ``names`` now (Snakemake's ``onstart``), so their imports overlap the first
    scheduling rounds."""
    for name in names:
        get_pool(name).start()


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
    """Run ``stage(*args, **kwargs)`` in a warm worker of its pool; its library logs go to ``log_path``.

    Blocks the calling thread until the stage returns; its exception, if any, is raised here.
    """
    return run_call(Call(stage, tuple(args), kwargs, None if log_path is None else str(log_path)))


def run_call(call: Call) -> Any:
    """Run ``call`` in a worker of its stage's pool (see :class:`Call`)."""
    return get_pool(getattr(call.stage, "worker_pool", "compute")).run(call.plain())


# ---- worker side --------------------------------------------------------------------------------------------

#: Worker side: how many stage calls this worker is running (0 or 1), read by its lifeline.
_calls_running = 0


def _serve(conn: Connection, snakemake_process: ProcessIdentity, modules: tuple[str, ...],
           env: dict[str, str]) -> None:
    """A worker's life: set its environment, follow Snakemake, import, then answer calls until told to stop."""
    os.environ.update(env)
    follow(snakemake_process, busy=lambda: _calls_running > 0)
    _warm_up(modules)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if message is None:
            return
        answer = _call_logged(*message)
        try:
            conn.send(answer)
        except Exception as exc:  # an unpicklable result or exception
            conn.send(("error", MusicLimeError(f"{message[2].__qualname__}: its result could not be sent back: "
                                               f"{exc!r}"), _model_keys()))


def _warm_up(modules: tuple[str, ...]) -> None:
    """Import ``modules`` (errors surface in the first job that needs one)."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def _model_keys() -> list[str]:
    import sys

    cache = sys.modules.get("musiclime.common.model_cache")
    return cache.MODELS.keys() if cache is not None else []


def _call_logged(log_path: str | None, snakemake_pid: int, stage: Callable[..., T], args: list, kwargs: dict,
                 threads: int | None = None) -> tuple[str, Any, list[str]]:
    """Worker side: log the library's INFO records of this one call to ``log_path``, call ``stage``;
    ``("ok", result, model keys)`` or ``("error", exception, model keys)``."""
    library = logging.getLogger("musiclime")
    library.setLevel(logging.INFO)
    library.propagate = False
    handler: logging.Handler | None = None
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        library.addHandler(handler)
    global _calls_running
    _calls_running += 1
    start = time.perf_counter()
    try:
        _limit_threads(threads)
        log.info("%s in worker %d of Snakemake process %d", stage.__qualname__, os.getpid(), snakemake_pid)
        result = stage(*args, **kwargs)
        log.info("%s done in %.2f s", stage.__qualname__, time.perf_counter() - start)
        return "ok", result, _model_keys()
    except Exception as exc:
        log.exception("%s failed", stage.__qualname__)
        exc.add_note(f"(in worker process {os.getpid()}:)\n" + "".join(traceback.format_tb(exc.__traceback__)))
        return "error", sendable_exception(exc), _model_keys()
    finally:
        _calls_running -= 1
        if handler is not None:
            library.removeHandler(handler)
            handler.close()


def _limit_threads(threads: int | None) -> None:
    """Let torch use ``threads`` CPU threads in this call (the job's Snakemake ``threads``)."""
    import sys

    torch = sys.modules.get("torch")
    if threads and torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(int(threads))


def sendable_exception(exc: Exception) -> Exception:
    """``exc`` if it survives pickling, else a :class:`MusicLimeError` with its type, message and traceback."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return MusicLimeError(f"{type(exc).__name__}: {exc}\n{text}")
