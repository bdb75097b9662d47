"""Warm worker pools: a dead worker fails only its job and is replaced; model workers keep their models.

The pools run real spawned processes; the stage functions below are module-level so they travel by
pickle, as the workflow's stages do.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from musiclime.common.model_cache import MODELS, ModelCache, config_key, file_stamps, model_nbytes
from musiclime.pipeline.worker_pool import (Call, PoolSettings, WorkerDiedError, WorkerPool, describe_exit,
                                            model_pool_settings)


def process_id() -> int:
    return os.getpid()


def die(how: str) -> None:
    """A stage whose worker dies under it: SIGKILL (as the OOM killer does) or a segfault-like abort."""
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(3)


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def build_counted(key: str, size: int) -> tuple[int, int]:
    """Build (or reuse) a ``size``-float tensor model under ``key`` in this worker; (pid, builds of key)."""
    MODELS.get(key, lambda: torch.nn.Linear(size, 1, bias=False), what=key)
    return os.getpid(), MODELS.builds.get(key, 0)


@pytest.fixture
def pool():
    made = []

    def make(size: int = 1, reuse: bool = True) -> WorkerPool:
        made.append(WorkerPool("test", PoolSettings(size=size, reuse=reuse)))
        return made[-1]

    yield make
    for p in made:
        p.close()


@pytest.mark.parametrize("how", ["sigkill", "exit"])
def test_a_dead_worker_fails_only_its_job_and_is_replaced(pool, tmp_path, how):
    workers = pool(size=2)
    first = workers.run(Call(process_id))
    results = {}
    # a long job in the other worker runs on while its neighbour dies
    neighbour = threading.Thread(target=lambda: results.setdefault("neighbour", workers.run(Call(sleep_then_pid, (2.0,)))))
    neighbour.start()
    time.sleep(0.3)
    with pytest.raises(WorkerDiedError) as died:
        workers.run(Call(die, (how,), log_path=str(tmp_path / "predict.log"), job="rule predict, song s1"))
    neighbour.join()
    message = str(died.value)
    assert "rule predict, song s1" in message and str(tmp_path / "predict.log") in message
    assert ("killed by SIGKILL" in message and "out of memory" in message) if how == "sigkill" else "exit code 3" in message
    assert results["neighbour"] > 0  # the other job finished normally
    # the pool goes on with the neighbour and a replacement for the dead worker
    pids = set()
    both = [threading.Thread(target=lambda: pids.add(workers.run(Call(sleep_then_pid, (0.5,))))) for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    dead = int(re.search(r"\(pid (\d+)\)", message).group(1))
    assert len(pids) == 2 and results["neighbour"] in pids and dead not in pids and first > 0


def test_a_stage_exception_keeps_its_type_and_the_worker(pool):
    workers = pool()
    before = workers.run(Call(process_id))
    with pytest.raises(ValueError, match="bad song") as raised:
        workers.run(Call(fail, ("bad song",)))
    assert any("in worker process" in note for note in getattr(raised.value, "__notes__", []))
    assert workers.run(Call(process_id)) == before  # an exception is not a death


def test_process_per_call_when_workers_are_not_reused(pool):
    workers = pool(size=1, reuse=False)
    pids = {workers.run(Call(process_id)) for _ in range(3)}
    assert len(pids) == 3


def test_model_workers_keep_models_and_jobs_prefer_the_worker_holding_theirs(pool):
    workers = pool(size=2)
    pid_a, builds = workers.run(Call(build_counted, ("model-a", 4), affinity="model-a"))
    assert builds == 1
    # occupy nothing: the next job for model-a goes back to the worker that holds it, without a build
    for _ in range(3):
        pid, builds = workers.run(Call(build_counted, ("model-a", 4), affinity="model-a"))
        assert (pid, builds) == (pid_a, 1)


def test_lru_eviction_past_the_cap_frees_the_oldest():
    cache = ModelCache(capacity_mb=1.5)  # room for one 1 MiB model and change
    one_mib = 1024 * 1024 // 4  # float32 weights
    a = cache.get("a", lambda: torch.nn.Linear(one_mib, 1, bias=False))
    assert model_nbytes(a) == 1024 * 1024
    cache.get("b", lambda: torch.nn.Linear(one_mib // 4, 1, bias=False))  # 0.25 MiB: both fit
    assert cache.keys() == ["a", "b"]
    cache.get("a", lambda: pytest.fail("a is held"))  # a used again: b is now the oldest
    cache.get("c", lambda: torch.nn.Linear(one_mib // 2, 1, bias=False))  # 0.5 MiB: over the cap
    assert cache.keys() == ["a", "c"] and cache.builds == {"a": 1, "b": 1, "c": 1}


def test_a_new_checkpoint_at_the_same_path_is_a_new_model(tmp_path):
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"x" * 10)
    cache = ModelCache()
    key = config_key("predict_fn", {"_target_": "m.load", "weights": str(weights)})
    cache.get(key, lambda: object(), files=[weights])
    cache.get(key, lambda: pytest.fail("unchanged weights are reused"), files=[weights])
    weights.write_bytes(b"y" * 11)
    cache.get(key, lambda: object(), files=[weights])
    assert cache.builds[key] == 2
    assert file_stamps([weights])[0][1] == 11


def test_running_out_of_memory_while_building_drops_the_others_and_retries():
    cache = ModelCache()
    cache.get("old", lambda: np.zeros(3))
    attempts = []

    def build():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return "new"

    assert cache.get("new", build) == "new" and cache.keys() == ["new"] and len(attempts) == 2


def test_model_pool_settings_follow_cores_threads_and_gpus(monkeypatch):
    monkeypatch.delenv("SLURM_MEM_PER_NODE", raising=False)
    cpu = model_pool_settings({"device": "cpu", "threads": 2, "model_workers": "auto", "model_cache_mb": "500"}, 8)
    assert (cpu.size, cpu.reuse, cpu.slot_env) == (4, True, ())
    assert cpu.env_of(0)["MUSICLIME_MODEL_CACHE_MB"] == "500"
    assert model_pool_settings({"device": "cpu", "threads": 4, "model_workers": "auto"}, 2).size == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    monkeypatch.setenv("SLURM_MEM_PER_NODE", "16000")
    gpu = model_pool_settings({"device": "cuda", "threads": 2, "model_workers": "auto", "model_cache_mb": "auto"}, 16)
    assert gpu.size == 2 and [gpu.env_of(slot)["CUDA_VISIBLE_DEVICES"] for slot in (0, 1)] == ["2", "3"]
    assert gpu.env_of(1)["MUSICLIME_MODEL_CACHE_MB"] == "4000"  # half the job's 16000 MiB over 2 workers
    fresh = model_pool_settings({"device": "cpu", "threads": 2, "model_workers": "0"}, 8)
    assert not fresh.reuse


def test_exit_descriptions():
    assert describe_exit(-signal.SIGSEGV) == "killed by SIGSEGV" and describe_exit(1) == "exit code 1"


def test_a_cluster_job_has_one_model_worker_using_every_core_of_its_allocation(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    settings = model_pool_settings({"device": "cpu", "threads": 2, "model_workers": "auto"}, 8, cluster_job=True)
    assert (settings.size, settings.threads) == (1, 8)


def test_a_served_pool_runs_calls_sent_from_another_process(tmp_path):
    """The batch step of a SLURM group job serves its model worker; a job step (here a child process that
    inherits the environment) sends its call there and gets the result, and the model is built once."""
    import subprocess
    import sys

    from musiclime.pipeline import job_step_server

    path = job_step_server.serve_pool("test-served")
    try:
        script = ("import sys; from musiclime.pipeline.job_step_server import call_server, server_address;"
                  "from musiclime.pipeline.worker_pool import Call; from tests.test_worker_pool import build_counted;"
                  "print(*call_server(server_address(), Call(build_counted, ('served-model', 4), job='rule predict, song s')))")
        answers = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                                  cwd=Path(__file__).resolve().parents[1]) for _ in range(2)]
        assert all(a.returncode == 0 for a in answers), answers[0].stderr[-2000:]
        (pid_1, builds_1), (pid_2, builds_2) = (a.stdout.split() for a in answers)
        assert pid_1 == pid_2 and (builds_1, builds_2) == ("1", "1")  # one worker, one build for both steps
    finally:
        job_step_server._stop(job_step_server._served.pop("test-served"), path)
        for key in (job_step_server.SERVER_ENV, job_step_server.SERVER_KEY_ENV):
            os.environ.pop(key, None)
