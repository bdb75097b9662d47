"""Models built ahead: a heavy job starts building the models that the run's later jobs will need, in
background threads of its model worker, so that a model's load overlaps work instead of delaying its
first job.

A run's first heavy jobs are its separations; every model of the points that read a separation scores
that song after it (``attribute``, ``predict``, ``evaluate``). So a ``separate`` job (and a batch job,
before its first song) hands its model worker the models to build while it works
(:meth:`musiclime.common.model_cache.ModelCache.prefetch`); the first job of each model finds it built, or
waits for the build under way. With a 10 s load per model, the 8-song demo's two loads otherwise sit
on the run's critical path (one model worker on 2 cores).

Nothing is built ahead for a model whose weight files are not there yet (the demo's model is trained
by a job of the same run), in a worker that serves one job only (``compute.model_workers=0``), or past
the model cache's capacity.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)


def build_models_ahead(model_slices: Iterable[dict]) -> list[str]:
    """Start building each model of ``model_slices`` (``model`` config slices) in a background thread of
    this process, unless it is held, being built, or its weight files (``requires``) are missing.

    Returns:
        The names of the models whose build was started.
    """
    from ..common.model_cache import MODELS
    from .stages.prediction import model_build

    started = []
    for model_slice in model_slices:
        if not all(os.path.exists(path) for path in model_slice.get("requires") or ()):
            continue
        key, build, files, what = model_build(model_slice)
        if MODELS.prefetch(key, build, files, what) is not None:
            started.append(model_slice["name"])
    if started:
        log.info("building %s ahead of their first jobs, in background threads", ", ".join(started))
    return started


class BuildingModelsAhead:
    """A heavy stage that first starts building ``model_slices`` ahead (:func:`build_models_ahead`), then
    runs: ``BuildingModelsAhead(stages.separate, models)(*args)``. Picklable; named as its stage in logs."""

    worker_pool = "models"

    def __init__(self, stage: Callable[..., Any], model_slices: Iterable[dict]):
        self.stage = stage
        self.model_slices = list(model_slices)
        self.__qualname__ = stage.__qualname__

    def __call__(self, *args, **kwargs):
        build_models_ahead(self.model_slices)
        return self.stage(*args, **kwargs)
