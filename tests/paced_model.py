"""A model that takes its time: ``loudness_predict_fn`` with a pause in every call, so that a test can catch a
job while it runs (a warm worker with a built model otherwise finishes a predict job in milliseconds)."""

from __future__ import annotations

import time

from musiclime.models.examples import loudness_predict_fn


def paced_predict_fn(seconds_per_call: float, segment: str = "second_half"):
    """``loudness_predict_fn(segment)`` whose every call first sleeps ``seconds_per_call``: the same
    probabilities, later."""
    inner = loudness_predict_fn(segment)

    def predict_fn(texts, audios):
        time.sleep(seconds_per_call)
        return inner(texts, audios)

    return predict_fn
