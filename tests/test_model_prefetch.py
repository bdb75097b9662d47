"""Models built ahead: a background build overlaps other work, a job waits for it instead of building
again, a failed build ahead leaves the error to the job, and missing weights are not built ahead."""

import logging
import pickle
import threading
import time

import pytest

from musiclime.common.model_cache import ModelCache
from musiclime.pipeline import model_prefetch
from musiclime.pipeline.model_prefetch import BuildingModelsAhead, build_models_ahead
from musiclime.pipeline.stages import separate


class SlowModel:
    def __init__(self, seconds: float):
        time.sleep(seconds)
        self.built_in = threading.current_thread().name


def test_a_job_waits_for_the_build_ahead_and_gets_its_model(caplog):
    cache = ModelCache()
    started = time.perf_counter()
    thread = cache.prefetch("k", lambda: SlowModel(0.5), what="model 'slow'")
    assert thread is not None and time.perf_counter() - started < 0.3  # the caller goes on at once
    assert cache.prefetch("k", lambda: SlowModel(0.5)) is None  # being built: not twice
    with caplog.at_level(logging.INFO, logger="musiclime"):
        model = cache.get("k", lambda: SlowModel(0.0), what="model 'slow'")
    assert model.built_in.startswith("prefetch") and cache.builds == {"k": 1}
    assert "being built by another thread" in caplog.text
    assert "model 'slow': built in" in caplog.text and "ahead of this job" in caplog.text  # in the job's log
    assert cache.get("k", lambda: SlowModel(0.0)) is model and cache.prefetch("k", lambda: SlowModel(0)) is None


def test_two_threads_asking_at_once_build_one_model():
    cache = ModelCache()
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("k", lambda: SlowModel(0.3)))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(m) for m in got}) == 1 and cache.builds == {"k": 1}


def test_a_failed_build_ahead_leaves_the_error_to_the_job(caplog):
    cache = ModelCache()
    calls = []

    def broken():
        calls.append(1)
        raise ValueError("checkpoint is corrupt")

    with caplog.at_level(logging.WARNING, logger="musiclime"):
        cache.prefetch("k", broken, what="model 'broken'").join()
    assert "building it ahead of its first job failed (checkpoint is corrupt)" in caplog.text
    assert "k" not in cache
    with pytest.raises(ValueError, match="checkpoint is corrupt"):
        cache.get("k", broken)
    assert len(calls) == 2


def test_nothing_is_built_ahead_past_the_cache_capacity():
    cache = ModelCache(capacity_mb=1)
    cache.get("big", lambda: type("Big", (), {"memory_bytes": 2 * 1024 * 1024})())
    assert cache.prefetch("next", lambda: SlowModel(0)) is None


def test_models_without_their_weights_yet_are_not_built_ahead(tmp_path, monkeypatch):
    cache = ModelCache()
    monkeypatch.setattr("musiclime.common.model_cache.MODELS", cache)
    model = {"name": "glass", "requires": [str(tmp_path / "not-trained-yet.pt")],
             "predict_fn": {"_target_": "musiclime.models.examples.loudness_predict_fn"}}
    assert build_models_ahead([model]) == []
    (tmp_path / "not-trained-yet.pt").write_bytes(b"weights")
    assert build_models_ahead([model]) == ["glass"]
    assert build_models_ahead([model]) == []  # held or being built
    built = cache.get(*_build_args(model))
    assert callable(built)


def _build_args(model):
    from musiclime.pipeline.stages.prediction import model_build

    key, build, files, what = model_build(model)
    return key, build, files, what


def test_the_wrapped_stage_pickles_and_keeps_its_name():
    wrapped = BuildingModelsAhead(separate, [{"name": "m", "requires": [], "predict_fn": {}}])
    again = pickle.loads(pickle.dumps(wrapped))
    assert again.__qualname__ == "separate" and again.worker_pool == "models" and again.stage is separate
    assert model_prefetch.BuildingModelsAhead.worker_pool == "models"
