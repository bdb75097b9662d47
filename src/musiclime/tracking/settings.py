"""Where explanations are tracked, the tag names musiclime writes, and the tracking error type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from ..common.errors import MusicLimeError

#: Tag holding the caller's idempotency key of an explanation run (``<point>/<song>`` in the workflow).
TAG_RUN_KEY = "musiclime.run_key"
#: ``"parent"`` for a sweep's parent run, ``"explanation"`` for a run that logs one explanation.
TAG_ROLE = "musiclime.role"
#: Tag naming the sweep a parent run stands for.
TAG_SWEEP_ID = "musiclime.sweep_id"
TAG_SWEEP_NAME = "musiclime.sweep_name"
TAG_SONG_ID = "musiclime.song_id"
TAG_VERSION = "musiclime.version"
TAG_EXPLANATION_FILE = "musiclime.explanation_file"
#: How many times an explanation run was logged; also the step of its metrics.
TAG_LOG_COUNT = "musiclime.log_count"
#: SHA-256 of what an explanation run was last logged from (files, params, tags): equal means nothing to do.
TAG_FINGERPRINT = "musiclime.fingerprint"
#: Comma-separated names of params whose new value differed from the (immutable) logged one.
TAG_PARAMS_CHANGED = "musiclime.params_changed"
#: MLflow's own tags (the UI nests runs by ``mlflow.parentRunId``).
TAG_PARENT_RUN_ID = "mlflow.parentRunId"
TAG_GIT_COMMIT = "mlflow.source.git.commit"
#: MLflow 3's UI picks an experiment's view from this tag; ``custom_model_development`` opens the runs
#: (model training) table, not the GenAI traces view.
TAG_EXPERIMENT_KIND = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"

#: Where ``mlflow ui`` / ``mlflow server`` listens by default (the UI of a SQLite store).
DEFAULT_UI_URL = "http://127.0.0.1:5000"
#: MLflow 3's UI opens every experiment in its GenAI view unless the URL asks for the model
#: training one (the ``workflowType`` query parameter of its experiment pages; it also remembers
#: the last choice in the browser, which a fresh browser does not have).
RUNS_VIEW_QUERY = "workflowType=machine_learning"

ROLE_PARENT = "parent"
ROLE_EXPLANATION = "explanation"

#: Artifact file of the feature ranking table (``MlflowClient.log_table`` format).
RANKING_ARTIFACT = "ranking.json"
#: Columns of the ranking table, in order.
RANKING_COLUMNS = ("rank", "label", "type", "feature", "index", "weight", "abs_weight")


class TrackingError(MusicLimeError):
    """MLflow could not be reached or could not record a run; the message names the tracking URI."""


@dataclass
class TrackingSettings:
    """Tracking store and experiment (the Hydra ``tracking`` group without ``enabled``).

    Attributes:
        uri: ``sqlite:///mlflow.db`` (relative to the working directory), ``sqlite:////abs/path.db``
            or ``http(s)://host:port`` of an ``mlflow server``.
        experiment_name: MLflow experiment receiving parent and explanation runs.
    """

    uri: str = "sqlite:///mlflow.db"
    experiment_name: str = "musiclime"


def refuse_sqlite_on_cluster(trackings: Iterable[Mapping], executor: str, local: bool) -> None:
    """Raise ``TrackingError`` when jobs go to a cluster executor and a tracked point writes to SQLite.

    ``trackings`` are the sweep points' ``tracking`` config groups; ``executor`` names Snakemake's
    executor plugin and ``local`` says whether its jobs run on this machine. A SQLite file written from
    several hosts over a shared filesystem (NFS, Lustre) corrupts or locks up, so cluster runs need an
    MLflow server, unless ``tracking.allow_sqlite_on_cluster=true`` says the file's filesystem copes.
    """
    if local:
        return
    for tracking in trackings:
        if tracking["enabled"] and str(tracking["uri"]).startswith("sqlite:") \
                and not tracking.get("allow_sqlite_on_cluster", False):
            raise TrackingError(
                f"tracking.uri={tracking['uri']} is a SQLite file, but jobs run through the {executor!r} executor: "
                "several cluster hosts writing one SQLite file over a shared filesystem lose or lock runs. "
                "Start an MLflow server (mlflow server --host 0.0.0.0 --port 5000 ...) and pass "
                "tracking.uri=http://<host>:5000, or set tracking.enabled=false, or force the file with "
                "tracking.allow_sqlite_on_cluster=true.")


def runs_url(uri: str, experiment_id: str | None) -> str:
    """The MLflow UI link that opens an experiment's runs table (parent runs with their nested runs).

    ``http(s)://`` tracking URIs are the UI themselves; for a SQLite store the link is that of
    ``mlflow ui --backend-store-uri <uri>`` on :data:`DEFAULT_UI_URL`. Without an experiment id, the
    experiments list. Example: ``http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning``.
    """
    base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else DEFAULT_UI_URL
    if experiment_id is None:
        return f"{base}/#/experiments"
    return f"{base}/#/experiments/{experiment_id}/runs?{RUNS_VIEW_QUERY}"
