"""One function per workflow stage: paths in, paths out. Workflow rules only call these.

Each stage lives in its own module and imports only what it uses, so a job pays for its own
dependencies and nothing else (a fit never imports torch; a separation never imports lime):

* :mod:`.separation`  ``separate``, ``load_factorization``
* :mod:`.masks`       ``perturb``
* :mod:`.attribution` ``attribute`` (a song's coalitions, once per model and lyric unit)
* :mod:`.prediction`  ``predict``, ``load_predict_fn``
* :mod:`.fitting`     ``fit``
* :mod:`.tracking`    ``track_parent``, ``track_point``
* :mod:`.media`       ``song_media``, ``song_mix``
* :mod:`.evaluation`  ``evaluate``
* :mod:`.batches`     ``song_batch`` (every stage of a batch of songs, ``compute.songs_per_job``)
* :mod:`.reports`     ``report_point``, ``point_table``, ``aggregate_point``, ``summarize_sweep``
* :mod:`.pages`       ``point_pages``, ``sweep_index``
* :mod:`.demo_inputs` ``synthesize_demo_songs``, ``train_demo_model``
* :mod:`.detector`    ``embed``, ``train_head``, ``build_tiny_encoder`` (``model=fusion``)

``musiclime.pipeline.stages.<function>`` also works; the module is imported on first access.
"""

from __future__ import annotations

import os

from ...common.lazy import lazy_getattr

#: A path as stage functions accept it.
PathLike = str | os.PathLike

_STAGE_MODULES = {
    "separate": ".separation", "load_factorization": ".separation",
    "perturb": ".masks",
    "attribute": ".attribution",
    "predict": ".prediction", "load_predict_fn": ".prediction",
    "fit": ".fitting",
    "track_parent": ".tracking", "track_point": ".tracking",
    "song_media": ".media", "song_mix": ".media", "evaluate": ".evaluation", "song_batch": ".batches",
    "report_point": ".reports", "point_table": ".reports", "aggregate_point": ".reports", "summarize_sweep": ".reports",
    "point_pages": ".pages", "sweep_index": ".pages",
    "synthesize_demo_songs": ".demo_inputs", "train_demo_model": ".demo_inputs",
    "embed": ".detector", "train_head": ".detector", "build_tiny_encoder": ".detector",
}

__all__ = sorted(_STAGE_MODULES)

__getattr__ = lazy_getattr(__name__, _STAGE_MODULES, globals())
