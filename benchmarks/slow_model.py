"""The demo model behind a slow load: a stand-in for a classifier whose checkpoint takes seconds to load.

Each factory sleeps ``load_seconds``, appends one JSON line ``{"pid", "variant", "time"}`` to
``load_log`` (so a benchmark can count the loads per process and per model variant), then returns
the demo model's ``predict_fn`` built by :mod:`musiclime.models.demo_classifier`. Select it with
Hydra overrides on ``model.predict_fn`` and ``model.randomized_predict_fn`` (see
``bench_model_loads.py``); this folder must be on the workflow processes' ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import time


def record_load(load_log: str | os.PathLike, variant: str) -> None:
    """Append one line for this load: one ``write`` to an ``O_APPEND`` file, so concurrent jobs' lines never mix."""
    line = json.dumps({"pid": os.getpid(), "variant": variant, "time": time.time()}) + "\n"
    fd = os.open(os.fspath(load_log), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def _slow_load(load_seconds: float, load_log: str | os.PathLike | None, variant: str) -> None:
    if load_seconds > 0:
        time.sleep(float(load_seconds))
    if load_log:
        record_load(load_log, variant)


def load_slow_demo_predict_fn(load_seconds: float = 0.0, load_log: str | None = None, variant: str = "trained",
                              **demo_kwargs):
    """:func:`musiclime.models.demo_classifier.load_demo_predict_fn` after a load of ``load_seconds``.

    ``variant`` names the model in the load log (``trained``; ``shuffled`` for the model trained on
    shuffled labels); ``demo_kwargs`` (``weights_dir``, ``device``, ``batch_size``) go to the demo factory.
    """
    from musiclime.models.demo_classifier import load_demo_predict_fn

    _slow_load(load_seconds, load_log, variant)
    return load_demo_predict_fn(**demo_kwargs)


def load_slow_randomized_demo_predict_fn(load_seconds: float = 0.0, load_log: str | None = None,
                                         variant: str | None = None, **demo_kwargs):
    """:func:`musiclime.models.demo_classifier.load_randomized_demo_predict_fn` after a load of ``load_seconds``.

    The variant in the load log defaults to ``randomized`` (every weight re-initialised) or
    ``randomized-<layers>`` for a step of the randomization cascade.
    """
    from musiclime.models.demo_classifier import load_randomized_demo_predict_fn

    layers = demo_kwargs.get("layers", "all")
    _slow_load(load_seconds, load_log, variant or ("randomized" if layers == "all" else f"randomized-{layers}"))
    return load_randomized_demo_predict_fn(**demo_kwargs)
