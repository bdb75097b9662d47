"""Models a process keeps between jobs: built once, least recently used evicted past a memory cap.

A warm model worker (:mod:`musiclime.pipeline.worker_pool`) runs many ``predict``, ``evaluate`` and
``separate`` jobs; building a classifier or the Open-Unmix separator for each would cost a load per
job (seconds for the demo model, tens of seconds for a language model of several GB). Stages ask
:data:`MODELS` instead: :meth:`ModelCache.get` returns the model already built under the same key,
or builds it.

A key is what decides the model: the config slice that builds it (its factory ``_target_`` and
arguments), plus the size and modification time of its weight files, checked on every hit, so a new
checkpoint at the same path is a new model. The cache counts each model's bytes (its torch
parameters and buffers) and, past ``capacity_mb``, drops the least recently used models other than
the newest and frees their GPU memory. A build that runs out of memory drops every other model and
tries once more.

The capacity comes from the environment variable :data:`CAPACITY_ENV` (MiB; the workflow sets it from
``compute.model_cache_mb`` in each worker); unset or ``0`` means no cap.

:meth:`ModelCache.prefetch` builds a model in a background thread, so that a load overlaps the work
before its first job (the workflow starts the models a run will need while it separates the songs); a
job that asks for a model being built waits for that build instead of starting another.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Environment variable with the cache's capacity in MiB (``0`` or unset: no cap).
CAPACITY_ENV = "MUSICLIME_MODEL_CACHE_MB"
MIB = 1024 * 1024

#: ``(path, size in bytes, modification time in ns)`` of a weight file; ``(path, None, None)`` if absent.
FileStamp = tuple[str, int | None, int | None]


def file_stamps(paths: Iterable[str | os.PathLike]) -> tuple[FileStamp, ...]:
    """Size and modification time of each of ``paths`` (sorted, resolved), to notice a replaced checkpoint."""
    stamps = []
    for path in sorted({str(Path(p).resolve()) for p in paths}):
        try:
            stat = os.stat(path)
            stamps.append((path, stat.st_size, stat.st_mtime_ns))
        except OSError:
            stamps.append((path, None, None))
    return tuple(stamps)


def config_key(kind: str, config: Mapping[str, Any]) -> str:
    """A short stable key of a model's ``kind`` (``predict_fn``, ``openunmix`` ...) and building config."""
    text = json.dumps({"kind": kind, "config": config}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def model_key(model_slice: Mapping[str, Any]) -> str:
    """The key of the model a ``model`` config slice builds with its ``predict_fn`` factory (each randomized
    variant is a slice of its own): what a stage asks the cache for, and what a job's worker affinity names."""
    return config_key("predict_fn", model_slice["predict_fn"])


def model_nbytes(model: Any, depth: int = 2) -> int:
    """Bytes of the torch parameters and buffers held by ``model`` or its attributes (``depth`` levels).

    Objects may say it themselves with a ``memory_bytes`` attribute. Tensors shared between modules
    count once. 0 when torch is not loaded or nothing is found.
    """
    explicit = getattr(model, "memory_bytes", None)
    if isinstance(explicit, (int, float)):
        return int(explicit)
    torch = sys.modules.get("torch")
    if torch is None:
        return 0
    seen: set[int] = set()
    total = 0
    for module in _modules_in(model, torch.nn.Module, depth):
        for tensor in list(module.parameters()) + list(module.buffers()):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                total += tensor.numel() * tensor.element_size()
    return total


def _modules_in(value: Any, module_type: type, depth: int) -> list:
    if isinstance(value, module_type):
        return [value]
    if depth <= 0:
        return []
    children = value.values() if isinstance(value, dict) else getattr(value, "__dict__", {}).values()
    found = []
    for child in children:
        found += _modules_in(child, module_type, depth - 1)
    return found


def release_memory() -> None:
    """Collect garbage and return cached CUDA memory to the driver (when torch has CUDA up)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


@dataclass
class CachedModel:
    """One model in the cache: the object, its bytes, the weight files it was read from and when."""

    value: Any
    nbytes: int
    stamps: tuple[FileStamp, ...]
    build_seconds: float
    hits: int = field(default=0)
    ahead: bool = False  # built by :meth:`ModelCache.prefetch`, before any job asked for it


class ModelCache:
    """Built models by key, least recently used first (see the module docstring).

    Attributes:
        capacity_bytes: most bytes the models may take together (``None``: no cap).
        builds: models built so far (each call of a ``build`` function), by key.
    """

    def __init__(self, capacity_mb: float | None = None):
        self.capacity_bytes = None if not capacity_mb else int(float(capacity_mb) * MIB)
        self._models: OrderedDict[str, CachedModel] = OrderedDict()
        self.builds: dict[str, int] = {}
        self._lock = threading.RLock()
        self._building: dict[str, threading.Event] = {}  # keys being built, set when their build ends

    def __contains__(self, key: str) -> bool:
        return key in self._models

    def keys(self) -> list[str]:
        """Keys held, least recently used first."""
        return list(self._models)

    @property
    def nbytes(self) -> int:
        """Bytes of every model held."""
        return sum(entry.nbytes for entry in self._models.values())

    def get(self, key: str, build: Callable[[], T], files: Iterable[str | os.PathLike] = (), what: str = "model") -> T:
        """The model under ``key``, built by ``build()`` unless held with unchanged weight ``files``.

        Args:
            key: what decides the model (:func:`config_key`).
            build: makes the model; its ``weight_files`` attribute, if any, joins ``files``.
            files: weight files the model is read from (a changed size or mtime means a rebuild).
            what: the model's name in log lines, e.g. ``model 'demo'``.
        """
        files = list(files)
        while True:
            with self._lock:
                held = self._held(key, files, what)
                if held is not None:
                    return held.value
                pending = self._building.get(key)
                if pending is None:
                    self._building[key] = threading.Event()
                    break
            log.info("%s: being built by another thread of this process; waiting for it", what)
            pending.wait()
        return self._build_claimed(key, build, files, what, ahead=False)

    def _build_claimed(self, key: str, build: Callable[[], T], files: list, what: str, ahead: bool) -> T:
        """Build the model under ``key``, which this thread claimed (``_building[key]``); store it; release
        the claim, waking the threads that wait for it."""
        try:
            value, seconds = self._build(build, what)
            watched = files + list(getattr(value, "weight_files", ()) or ())
            with self._lock:
                self._models[key] = CachedModel(value, model_nbytes(value), file_stamps(watched), seconds, ahead=ahead)
                self.builds[key] = self.builds.get(key, 0) + 1
                if not ahead:
                    self._log_build(key, what)
                self._evict_past_capacity(keep=key)
        finally:
            with self._lock:
                self._building.pop(key).set()
        return value

    def _held(self, key: str, files: list, what: str) -> CachedModel | None:
        """The entry under ``key`` if its weight files are unchanged (counted as a hit); a stale one is dropped."""
        entry = self._models.get(key)
        if entry is None:
            return None
        watched = files + list(getattr(entry.value, "weight_files", ()) or ())
        if file_stamps(watched) == entry.stamps:
            self._models.move_to_end(key)
            if entry.ahead:  # the first job to use a model built ahead: its build goes in this job's log
                entry.ahead = False
                self._log_build(key, what, "ahead of this job, in a background thread")
                return entry
            entry.hits += 1
            log.info("%s: already built in this process (the build took %.2f s); job %d to use it (%s)", what,
                     entry.build_seconds, entry.hits + 1, key)
            return entry
        log.info("%s: its weight files changed since it was built; building it again", what)
        self.evict(key)
        return None

    def _log_build(self, key: str, what: str, how: str = "") -> None:
        entry = self._models[key]
        log.info("%s: built in %.2f s%s (%.0f MiB; %d model(s), %.0f MiB held in this process %d)", what,
                 entry.build_seconds, f" {how}" if how else "", entry.nbytes / MIB, len(self._models),
                 self.nbytes / MIB, os.getpid())

    def prefetch(self, key: str, build: Callable[[], Any], files: Iterable[str | os.PathLike] = (),
                 what: str = "model") -> threading.Thread | None:
        """Start building the model under ``key`` in a background thread, unless it is held or being built.

        A job that then asks :meth:`get` for it waits for this build. A failed build is logged and
        leaves nothing behind: the job's own :meth:`get` builds it again and raises the error there.
        Nothing is built ahead when the cache is already at its capacity.

        Returns:
            The thread, or ``None`` when nothing was started.
        """
        files = list(files)
        with self._lock:
            if key in self._models or key in self._building:
                return None
            if self.capacity_bytes is not None and self.nbytes >= self.capacity_bytes:
                return None
            self._building[key] = threading.Event()  # claimed now: a job asking from here on waits for it

        def run() -> None:
            try:
                self._build_claimed(key, build, files, what, ahead=True)
            except Exception as exc:  # the job that needs the model gets the error itself
                log.warning("%s: building it ahead of its first job failed (%s); that job will build it", what, exc)

        thread = threading.Thread(target=run, name=f"prefetch {key}", daemon=True)
        thread.start()
        return thread

    def _build(self, build: Callable[[], T], what: str) -> tuple[T, float]:
        start = time.perf_counter()
        try:
            value = build()
        except MemoryError:
            value = self._build_after_emptying(build, what)
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError
            if "out of memory" not in str(exc).lower() or not self._models:
                raise
            value = self._build_after_emptying(build, what)
        return value, time.perf_counter() - start

    def _build_after_emptying(self, build: Callable[[], T], what: str) -> T:
        if not self._models:
            raise MemoryError(f"{what}: out of memory while building it, with no other model held")
        log.warning("%s: out of memory while building it; dropping the %d other model(s) held and retrying",
                    what, len(self._models))
        self.clear()
        return build()

    def _evict_past_capacity(self, keep: str) -> None:
        if self.capacity_bytes is None:
            return
        for key in list(self._models):
            if self.nbytes <= self.capacity_bytes:
                break
            if key != keep:
                log.info("model cache over %.0f MiB: dropping %s (least recently used)", self.capacity_bytes / MIB, key)
                self.evict(key)

    def evict(self, key: str) -> None:
        """Drop the model under ``key`` (if held) and free its memory, GPU memory included."""
        with self._lock:
            entry = self._models.pop(key, None)
        if entry is not None:
            del entry
            release_memory()

    def clear(self) -> None:
        """Drop every model."""
        with self._lock:
            self._models.clear()
        release_memory()


def capacity_from_environment() -> float | None:
    """MiB from :data:`CAPACITY_ENV`; ``None`` when unset, empty or ``0``."""
    value = os.environ.get(CAPACITY_ENV, "").strip()
    if not value:
        return None
    try:
        return float(value) or None
    except ValueError:
        log.warning("ignoring %s=%r: not a number of MiB", CAPACITY_ENV, value)
        return None


#: This process's models (a worker's, across the jobs it runs).
MODELS = ModelCache(capacity_from_environment())
