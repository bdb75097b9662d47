"""Where Snakemake meets Hydra: turn ``snakemake --config`` into a validated :class:`WorkflowPlan`.

``--config experiment=NAME`` picks ``conf/experiment/NAME.yaml``; ``--config 'overrides=[...]'``
passes Hydra overrides (sweeps allowed). Everything is validated here, before any job starts.

Also the plumbing of jobs: a heavy job's script logs to its rule's log and exits when the Snakemake
process that started it dies (it finds that process in :data:`SNAKEMAKE_PROCESS_ENV`); a cheap job
runs in a warm worker (:func:`run_stage`).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Callable, TypeVar

from ..common.errors import ConfigError
from ..common.lifeline import ProcessIdentity, follow
from .hydra_configs import compose_sweep
from .plan import WorkflowPlan

ALLOWED_KEYS = ("experiment", "overrides")
T = TypeVar("T")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Environment variable naming the Snakemake process (:meth:`ProcessIdentity.encode`) for its jobs.
SNAKEMAKE_PROCESS_ENV = "MUSICLIME_SNAKEMAKE_PROCESS"

log = logging.getLogger(__name__)


def plan_from_snakemake_config(config: dict, conf_dir: str | Path, cluster_job: bool = False) -> WorkflowPlan:
    """Compose every sweep point from Snakemake's ``config`` dict and read the songs (``cluster_job``: as
    the main process checked them, :mod:`musiclime.pipeline.checked_sheet`)."""
    unknown = sorted(set(config) - set(ALLOWED_KEYS))
    if unknown:
        raise ConfigError(f"unknown --config keys {unknown}: use experiment=NAME and overrides=[...] "
                          f"(Hydra overrides such as explain.kernel_width=5,25,50)")
    overrides = config.get("overrides") or []
    if isinstance(overrides, str):
        overrides = [overrides]
    sweep = compose_sweep(conf_dir, experiment=config.get("experiment"), overrides=[str(o) for o in overrides])
    return WorkflowPlan.from_sweep(sweep, cluster_job=cluster_job)


def mark_snakemake_process() -> ProcessIdentity:
    """Name this (Snakemake's) process in the environment that its jobs inherit; return its identity.

    Called while the Snakefile is parsed. In a SLURM job the job's own Snakemake process parses the
    Snakefile again and names itself, so a script always follows the Snakemake on its own host.
    """
    identity = ProcessIdentity.current()
    os.environ[SNAKEMAKE_PROCESS_ENV] = identity.encode()
    return identity


def start_script_job(log_path: str | Path | None) -> None:
    """First call of a heavy job's script: log to ``log_path``; exit when Snakemake dies.

    Snakemake runs a script in a shell of its own, which outlives a hard-killed Snakemake; so the
    script follows the Snakemake process named in :data:`SNAKEMAKE_PROCESS_ENV` and, once it is
    gone, abandons its work within seconds (:func:`musiclime.common.lifeline.follow`).
    """
    configure_script_logging(log_path)
    snakemake_process = os.environ.get(SNAKEMAKE_PROCESS_ENV)
    if not snakemake_process:
        return  # run by hand, outside a workflow
    try:
        identity = ProcessIdentity.decode(snakemake_process)
    except ValueError:
        log.warning("ignoring malformed %s=%r", SNAKEMAKE_PROCESS_ENV, snakemake_process)
        return
    if identity.is_local():
        follow(identity)


def configure_script_logging(log_path: str | Path | None) -> None:
    """Log INFO and above to the rule's log file and to stderr (used by workflow scripts)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format=LOG_FORMAT)


def run_stage(log_path: str | Path | None, stage: Callable[..., T], *args, **kwargs) -> T:
    """Run one stage function for a Snakemake ``run:`` job (fit, pictures, reports, tracking).

    The job's thread hands the call to a warm worker process (:mod:`musiclime.pipeline.worker_pool`), so a
    cheap job costs its work, not a Python start and the library's imports, and cheap jobs use
    every core instead of sharing the Snakemake process's GIL. The log goes to ``log_path``.
    """
    from .worker_pool import run_in_worker

    return run_in_worker(log_path, stage, *args, **kwargs)


def configure_model_workers(compute: dict, cores: int | None, cluster_job: bool = False) -> None:
    """Size the warm model workers of the heavy stages from ``compute.*`` and Snakemake's ``--cores``
    (:func:`musiclime.pipeline.worker_pool.model_pool_settings`); called while the Snakefile is parsed.
    ``cluster_job``: this Snakemake runs one SLURM job (or group job) on its node."""
    from .worker_pool import configure_pool, model_pool_settings

    settings = model_pool_settings(compute, cores, cluster_job)
    configure_pool("models", settings)
    log.debug("model workers: %s", settings)


def run_heavy_stage(log_path: str | Path | None, stage: Callable[..., T], *args, threads: int, job: str,
                    model: dict | None = None, build_ahead: list[dict] | None = None, **kwargs) -> T:
    """Run one heavy stage (separate, attribute, predict, evaluate, batches) for a ``run:`` job in a model worker.

    The worker keeps the models it builds, so the next job of the same model skips the load; a job
    prefers a worker that holds its ``model`` (the model config slice). ``threads`` is the job's
    Snakemake ``threads`` (torch's CPU threads in the call); ``job`` names the rule and song in errors,
    e.g. when the worker dies (:class:`musiclime.pipeline.worker_pool.WorkerDiedError`). ``build_ahead``:
    model slices the worker starts building in the background while the stage runs
    (:mod:`musiclime.pipeline.model_prefetch`; not with ``compute.model_workers=0``).
    """
    from ..common.model_cache import model_key
    from .job_step_server import call_server, server_address
    from .model_prefetch import BuildingModelsAhead
    from .worker_pool import Call, get_pool, run_call

    if build_ahead and get_pool("models").settings.reuse:
        stage = BuildingModelsAhead(stage, build_ahead)
    affinity = model_key(model) if model and "predict_fn" in model else None
    call = Call(stage, args, kwargs, None if log_path is None else str(log_path), int(threads), affinity, job)
    address = server_address()  # a job step of a SLURM (group) job: the batch step's workers hold the models
    if address is not None:
        try:
            return call_server(address, call)
        except ConnectionError as exc:
            log.warning("%s: %s; running it in this process's own model worker", job, exc)
    return run_call(call)


def share_model_workers_with_job_steps() -> None:
    """In the outermost Snakemake of a cluster job (a SLURM job's batch step): serve its model workers to
    the job steps it starts (:mod:`musiclime.pipeline.job_step_server`), so a group job loads each model
    once. A job step, which finds a served pool in its environment, serves none of its own."""
    from .job_step_server import SERVER_ENV, serve_pool

    if not os.environ.get(SERVER_ENV):
        serve_pool("models")


def mlflow_summary(tracking: dict, parent_json: str | Path) -> str:
    """The end-of-run line about MLflow: the store and the UI link that opens its runs table.

    The experiment id comes from the sweep's ``mlflow_parent.json`` (written by ``track_parent``);
    without it the link opens the experiments list. MLflow 3's UI needs the link's
    ``workflowType=machine_learning`` to show runs rather than its GenAI view
    (:func:`musiclime.tracking.settings.runs_url`).
    """
    import json

    from ..tracking.settings import runs_url

    try:
        experiment = json.loads(Path(parent_json).read_text(encoding="utf-8")).get("experiment_id")
    except (OSError, ValueError, AttributeError):
        experiment = None
    uri = str(tracking["uri"])
    url = runs_url(uri, experiment)
    if uri.startswith(("http://", "https://")):
        return f"  MLflow:       {url}"
    return f"  MLflow:       {uri}: run `mlflow ui --backend-store-uri {uri}`, then open {url}"
