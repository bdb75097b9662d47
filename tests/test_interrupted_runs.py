"""A hard-killed run leaves no process behind and resumes with the README's own command.

The Snakemake process alone gets ``SIGKILL`` (not its process group: the OOM killer and a lost login
session kill one process) at four moments: after a predict job (in a model worker) wrote its outputs but before
Snakemake marked them complete; while a picture job runs in a compute worker; while the tracking
worker creates the MLflow store (a SQLite file whose schema MLflow creates in steps); while it logs
a sweep point's runs. To hit a moment exactly, the test freezes Snakemake and its children with
``SIGSTOP`` the instant it sees the moment's file, checks that the work is still under way, kills
Snakemake, and a second later lets the children go on (``SIGCONT``). Their lifelines' sleeps have
run out meanwhile, so they find Snakemake gone at once, as if the kill had come at that instant.

Every process that Snakemake starts inherits its environment, so a marker variable given to
Snakemake finds them all, reparented or not.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from .workflow_helpers import REPO, SNAKEFILE, explanation_weights, make_songs, snakemake, tiny_overrides

pytestmark = pytest.mark.slow

MARKER = "MUSICLIME_TEST_RUN"
#: The model of every run here pauses 0.1 s a call, so that a predict job lasts long enough to be caught running
#: (the same probabilities as the tiny runs' model; ``tests`` importable by the workers).
PACED = ("model.predict_fn._target_=tests.paced_model.paced_predict_fn", "+model.predict_fn.seconds_per_call=0.1")
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def run_overrides(sheet: Path) -> list[str]:
    """The overrides of every run in this module: the tiny run (tracking on, as the README's) with the paced model."""
    return tiny_overrides(sheet, *PACED)
ABANDONED = "abandoning the work under way"
FINISHED_FIRST = "finishing the uninterrupted step under way"
#: Per moment: the rule whose job is under way, and its output (relative to the job's log name).
WORKER_MOMENTS = {"media_running": ("song_media", "results/songs/{log}/media.json"),
                  "tracking_store_created": ("track_parent", "results/sweeps/{log}/mlflow_parent.json"),
                  "tracking_running": ("track_point", "results/points/{log}/tracked.json")}


def marked_processes(marker: str) -> dict[int, str]:
    """Live processes (zombies excluded) whose environment holds ``MARKER=marker``: PID -> command line."""
    needle = f"{MARKER}={marker}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
        except OSError:  # exited meanwhile, or a zombie
            continue
    return found


def wait_for(condition, timeout_s: float, what: str, process: subprocess.Popen):
    """Poll ``condition()`` every 10 ms until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"Snakemake exited (status {process.returncode}) before {what}")
        time.sleep(0.01)
    pytest.fail(f"no {what} within {timeout_s} s")


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux: each thread's ``children`` file)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def signal_all(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stage_log_started(workdir: Path, rule: str):
    """The log of a ``rule`` job that a worker has begun (it names its worker)."""
    for log in workdir.glob(f"logs/{rule}/**/*.log"):
        if "in worker" in log.read_text():
            return log
    return None


def migrating(db: Path) -> bool:
    """True while MLflow writes the schema of the SQLite file ``db``: its rollback journal exists."""
    return db.with_name(db.name + "-journal").exists()


def job_output(workdir: Path, rule: str, log: Path, pattern: str) -> Path:
    """The output of the ``rule`` job that writes ``log`` (``pattern`` with ``{log}``: the log's wildcards)."""
    return workdir / pattern.format(log=log.relative_to(workdir / "logs" / rule).with_suffix(""))


PREDICTIONS = "results/songs/{log}/predictions.npz"


def marked_incomplete(workdir: Path, output: Path) -> bool:
    """True once Snakemake (its default file store) has marked ``output`` incomplete: a job writing it started.

    The mark is a file under ``.snakemake/incomplete`` named by the URL-safe base64 of the output's path, split
    into components of at most 254 characters, all but the last prefixed with ``@``.
    """
    wanted = base64.urlsafe_b64encode(str(output.relative_to(workdir)).encode()).decode()
    root = workdir / ".snakemake" / "incomplete"
    return any("".join(part.lstrip("@") for part in mark.relative_to(root).parts) == wanted
               for mark in root.rglob("*") if mark.is_file())


@pytest.fixture(scope="module")
def sheet(tmp_path_factory) -> Path:
    return make_songs(tmp_path_factory.mktemp("songs"))


def schema_revision(db: Path) -> str | None:
    """The MLflow schema revision (alembic) of the SQLite store ``db``, None before its migrations."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            return None
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


@pytest.fixture(scope="module")
def uninterrupted(sheet, tmp_path_factory) -> dict:
    """The explanations of the same run, not killed, and its MLflow store's schema revision."""
    workdir = tmp_path_factory.mktemp("uninterrupted")
    result = snakemake(workdir, run_overrides(sheet), env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"explanations": explanation_weights(workdir), "schema": schema_revision(workdir / "mlflow.db")}


def kill_at(moment: str, workdir: Path, process: subprocess.Popen) -> Path:
    """Freeze the run at ``moment``, SIGKILL the Snakemake process alone, let the rest go on.

    Returns the file that shows the moment (predict's output, or the log of the interrupted job).
    """
    if moment == "predict_written":
        # a model worker has begun a predict job: freeze Snakemake alone, so that it can no longer mark the
        # job's outputs complete, and let the worker write them (a warm worker takes milliseconds)
        # Snakemake's local executor hands the job to its pool before it marks the outputs incomplete, so the
        # worker's log can come first: wait for the mark too (else the kill lands before it, and nothing is marked)
        def begun_and_marked():
            log = stage_log_started(workdir, "predict")
            if log and marked_incomplete(workdir, job_output(workdir, "predict", log, PREDICTIONS)):
                return log
            return None

        log = wait_for(begun_and_marked, 180, "predict job marked incomplete", process)
        os.kill(process.pid, signal.SIGSTOP)
        predictions = job_output(workdir, "predict", log, PREDICTIONS)
        wait_for(lambda: (predictions.parent / "config.yaml").exists(), 60, "predict outputs", process)
        frozen, evidence = [], predictions
    else:
        rule, output = WORKER_MOMENTS[moment]
        # the store's moment: MLflow has begun its schema migrations on the new SQLite file
        ready = (lambda: migrating(workdir / "mlflow.db")) if moment == "tracking_store_created" else (lambda: True)
        log = wait_for(lambda: ready() and stage_log_started(workdir, rule), 180, f"{rule} job", process)
        os.kill(process.pid, signal.SIGSTOP)
        frozen = children(process.pid)  # the workers, the resource tracker, running scripts
        signal_all(frozen, signal.SIGSTOP)
        done = job_output(workdir, rule, log, output)
        assert not done.exists(), f"the {rule} job finished before the kill: {done}"
        evidence = log
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    time.sleep(1.0)
    signal_all(frozen, signal.SIGCONT)
    return evidence


@pytest.mark.parametrize("moment", ["predict_written", *WORKER_MOMENTS])
def test_hard_kill_leaves_no_process_and_the_readme_command_resumes(moment, sheet, uninterrupted, tmp_path):
    workdir, marker = tmp_path / "run", uuid.uuid4().hex
    overrides = run_overrides(sheet)  # MLflow tracking on, in workdir/mlflow.db, as in the README's run
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir), "--cores", "2",
               "--config", "overrides=[" + ",".join(f'"{o}"' for o in overrides) + "]"]
    with open(tmp_path / "killed.log", "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env={**ENV, MARKER: marker})
        try:
            evidence = kill_at(moment, workdir, process)
        finally:
            if process.poll() is None:
                process.kill()

    deadline = time.monotonic() + 10
    while marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = marked_processes(marker)
    assert not left, f"processes that Snakemake started outlived it by 10 s: {left}"

    assert snakemake(workdir, overrides, None, "--unlock", env=ENV).returncode == 0  # Snakemake's lock outlives it
    if moment == "predict_written":
        # without the profile, Snakemake refuses: predict's outputs are there but were never marked complete
        bare = snakemake(workdir, overrides, None, "-n", "--workflow-profile", "none", env=ENV)
        said = bare.stdout + bare.stderr
        assert bare.returncode != 0 and "IncompleteFilesException" in said, said[-2000:]
        assert str(evidence.relative_to(workdir)) in said
    elif moment == "tracking_store_created":  # the store's schema was completed, not cut in the middle
        assert FINISHED_FIRST in evidence.read_text(), evidence.read_text()
        assert schema_revision(workdir / "mlflow.db") == uninterrupted["schema"]
    else:  # the job in flight was abandoned, or (an MLflow call) finished first
        said = evidence.read_text()
        assert ABANDONED in said or (moment == "tracking_running" and FINISHED_FIRST in said), said

    resumed = snakemake(workdir, overrides, env=ENV)  # the README's command: no --rerun-incomplete, no profile named
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert explanation_weights(workdir) == uninterrupted["explanations"]

    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workdir}/mlflow.db")
    experiment = client.get_experiment_by_name("musiclime")
    runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1000)
    roles = sorted(run.data.tags["musiclime.role"] for run in runs)
    assert roles == ["explanation", "explanation", "parent"], roles
    keys = sorted(run.data.tags["musiclime.run_key"] for run in runs if run.data.tags["musiclime.role"] == "explanation")
    assert [key.split("/")[1] for key in keys] == ["song0", "song1"]
    leftovers = [p for p in workdir.rglob(".*") if p.is_file() and not p.name.startswith(".snakemake")
                 and ".snakemake" not in p.parts]
    assert not leftovers, f"temporary files left behind: {leftovers}"
