"""A model whose process dies (SIGKILL, as from the OOM killer) when it scores one song: for the workflow
test that a dead model worker costs only the job it was running."""

from __future__ import annotations

import os
import signal

from musiclime.models.examples import loudness_predict_fn


def crashing_predict_fn(crash_song: int, segment: str = "second_half"):
    """``loudness_predict_fn`` that kills its own process on lyrics with ``first line <crash_song>``
    (the lyrics that ``tests.workflow_helpers.make_songs`` writes for that song)."""
    inner = loudness_predict_fn(segment)
    marker = f"first line {crash_song}"

    def predict_fn(texts, audios):
        if any(marker in text for text in texts):
            os.kill(os.getpid(), signal.SIGKILL)
        return inner(texts, audios)

    return predict_fn
