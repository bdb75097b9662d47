"""Stage ``song_batch``: every stage of a batch of songs in one job (``compute.songs_per_job``).

Runs the steps :func:`musiclime.pipeline.song_batches.batch_steps` listed, skipping those whose
outputs are current (:func:`~musiclime.pipeline.song_batches.is_current`), and writes the batch's
manifest once every song is done.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ...common.atomic_io import write_json
from ..song_batches import BATCH_STAGES, is_current, models_to_build
from . import PathLike

log = logging.getLogger(__name__)


def song_batch(steps_by_song: dict[str, list[dict]], out_manifest: PathLike) -> Path:
    """Run each song's steps whose outputs are not current, in order; write the batch's manifest.

    Args:
        steps_by_song: :func:`batch_steps`.
        out_manifest: JSON ``{"songs", "ran", "skipped", "seconds", "outputs"}`` written once every song is done.

    Raises:
        Whatever a stage raises, with the song and stage added to the message's notes (the songs done
        before keep their artifacts: a re-run resumes with the next one).
    """
    from tqdm import tqdm

    from .. import stages
    from ..model_prefetch import build_models_ahead

    build_models_ahead(models_to_build(steps_by_song))  # loads overlap the first songs' separations
    ran = {stage: 0 for stage in BATCH_STAGES}
    skipped = dict(ran)
    outputs = []
    start = time.perf_counter()
    for song_id, steps in tqdm(steps_by_song.items(), desc="songs of the batch", unit="song",
                               mininterval=5.0, disable=None):
        for item in steps:
            outputs += item["outputs"]
            if is_current(item["outputs"], item["inputs"]):
                skipped[item["stage"]] += 1
                continue
            try:
                getattr(stages, item["stage"])(*item["args"])
            except Exception as exc:
                exc.add_note(f"in the song batch {out_manifest}: song {song_id}, stage {item['stage']}")
                raise
            ran[item["stage"]] += 1
    seconds = time.perf_counter() - start
    log.info("batch %s: %d songs in %.1f s; ran %s; current %s", out_manifest, len(steps_by_song), seconds,
             {k: v for k, v in ran.items() if v}, {k: v for k, v in skipped.items() if v})
    write_json(out_manifest, {"songs": list(steps_by_song), "ran": ran, "skipped": skipped,
                              "seconds": round(seconds, 3), "outputs": outputs})
    return Path(out_manifest)
