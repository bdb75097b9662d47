"""Find-or-create MLflow experiments and runs, and log one explanation into its run.

Layout in MLflow: one experiment (``TrackingSettings.experiment_name``); per sweep one parent run
(tags ``musiclime.sweep_id``, ``musiclime.role=parent``); per explanation one run nested under it
(tag ``mlflow.parentRunId``), found again by its ``musiclime.run_key`` tag so re-logging updates it.
Every operation goes through :func:`store.guarded`: store lock, locked-retries, short HTTP retries.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from .records import (evaluation_record, explanation_metrics, provenance_tags, ranking_table, read_explanation,
                      song_id, stringify)
from .settings import (EXPERIMENT_KIND, RANKING_ARTIFACT, ROLE_EXPLANATION, ROLE_PARENT, TAG_EXPERIMENT_KIND,
                       TAG_EXPLANATION_FILE, TAG_FINGERPRINT, TAG_GIT_COMMIT, TAG_LOG_COUNT, TAG_PARAMS_CHANGED,
                       TAG_PARENT_RUN_ID, TAG_ROLE, TAG_RUN_KEY, TAG_SONG_ID,
                       TAG_SWEEP_ID, TAG_SWEEP_NAME, TAG_VERSION, TrackingError, TrackingSettings)
from .store import check_tracking_uri, default_artifact_location, guarded

log = logging.getLogger(__name__)

TAG_RUN_NAME = "mlflow.runName"
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_TAG_VALUE_CHARS = 5000


# --- public API ---------------------------------------------------------------------------------
def ensure_parent_run(settings: TrackingSettings, sweep_id: str, sweep_name: str, params: dict | None = None,
                      tags: dict | None = None) -> str:
    """Find or create the experiment and the one parent run of sweep ``sweep_id``; return its run id.

    Idempotent: a second call finds the run by its tags (``musiclime.sweep_id``,
    ``musiclime.role=parent``), logs params it does not have yet and refreshes its tags. Safe when
    called concurrently against a SQLite store (inter-process lock); against a server, concurrent
    creators converge on the earliest parent and delete their own duplicate (the workflow calls it
    from one job anyway).

    Raises:
        TrackingError: the store is unreachable or refused the writes (message names the URI).
    """
    check_tracking_uri(settings.uri)
    run_tags = {**_stringified(tags or {}), **_provenance_tags(), TAG_SWEEP_ID: str(sweep_id),
                TAG_SWEEP_NAME: str(sweep_name), TAG_ROLE: ROLE_PARENT}
    run_tags.setdefault(TAG_RUN_NAME, str(sweep_name))
    run_params = _stringified(params or {})

    def action() -> str:
        client = MlflowClient(tracking_uri=settings.uri)
        experiment_id = find_or_create_experiment(client, settings)
        run = _find_or_create_parent(client, experiment_id, sweep_id, run_tags)
        _log_values(client, run, params=run_params, tags=run_tags)
        return run.info.run_id

    run_id = guarded(settings.uri, f"finding or creating the parent run of sweep {sweep_id}", action)
    log.info("MLflow parent run %s for sweep %s (%s) at %s", run_id, sweep_id, sweep_name, settings.uri)
    return run_id


def log_explanation(settings: TrackingSettings, explanation_path: str | os.PathLike, *, run_key: str,
                    parent_run_id: str | None, params: dict, tags: dict,
                    artifacts: Sequence[str | os.PathLike] = (), config_path: str | os.PathLike | None = None,
                    extra_metrics: Mapping[str, float] | None = None, skip_unchanged: bool = False,
                    session: "PointSession | None" = None) -> str:
    """Log one explanation JSON as an MLflow run nested under ``parent_run_id``; return the run id.

    With a ``session`` (:class:`PointSession`: many explanations of one sweep point logged in a row)
    the experiment is looked up and the parent checked once, and existing runs are found in the
    session's one search instead of a search per explanation: the cost per explanation stays flat as
    the point grows.

    With ``skip_unchanged``, a run whose fingerprint tag (SHA-256 of the files, params and tags it
    was logged from) equals this call's is left as it is: re-tracking a sweep point costs only its
    new or changed explanations.

    Idempotent by ``run_key``: when the experiment has an active run tagged
    ``musiclime.run_key=<run_key>`` it is updated (metrics logged again at the next step, tags and
    artifacts replaced, params it lacks added) instead of creating a duplicate.

    Logs params (stringified), metrics (:func:`records.explanation_metrics`), tags (the caller's,
    plus musiclime version, git commit, run key, song id, parent), and artifacts: the explanation
    JSON, the ranking table ``ranking.json``, ``config_path`` and ``artifacts`` (files or folders).

    Raises:
        TrackingError: unreadable explanation, missing artifact, unreachable store, missing parent.
    """
    path = Path(explanation_path)
    explanation = read_explanation(path)
    files = _artifact_files(path, config_path, artifacts)
    metrics = explanation_metrics(explanation)
    metrics.update({name: float(value) for name, value in (extra_metrics or {}).items() if value is not None})
    table = ranking_table(explanation)
    run_tags = {**_stringified(tags), **_provenance_tags(), **provenance_tags(explanation), TAG_RUN_KEY: str(run_key),
                TAG_ROLE: ROLE_EXPLANATION,
                TAG_EXPLANATION_FILE: str(path.resolve())}
    song = song_id(explanation)
    if song is not None:
        run_tags[TAG_SONG_ID] = song
    if parent_run_id:
        run_tags[TAG_PARENT_RUN_ID] = str(parent_run_id)
    run_tags.setdefault(TAG_RUN_NAME, str(run_key))
    run_params = _stringified(params)
    run_tags[TAG_FINGERPRINT] = _fingerprint(files, run_params, run_tags)
    check_tracking_uri(settings.uri)

    def action() -> str:
        client = session.client if session is not None else MlflowClient(tracking_uri=settings.uri)
        if session is not None:
            experiment_id = session.experiment(settings, parent_run_id)
        else:
            experiment_id = find_or_create_experiment(client, settings)
            if parent_run_id:
                _check_parent(client, settings, parent_run_id, experiment_id)
        known = None if session is None else session.run(run_key)
        run, fresh = (known, False) if known is not None else _find_or_create_explanation_run(
            client, experiment_id, run_key, run_tags, search=session is None)
        if (skip_unchanged and not fresh and run.info.status == "FINISHED"
                and run.data.tags.get(TAG_FINGERPRINT) == run_tags[TAG_FINGERPRINT]):
            log.info("MLflow run %s (key %s) is up to date; nothing to log", run.info.run_id, run_key)
            return run.info.run_id
        count = 1 if fresh else int(run.data.tags.get(TAG_LOG_COUNT, "0") or 0) + 1
        with tempfile.TemporaryDirectory() as tmp:
            ranking = Path(tmp) / RANKING_ARTIFACT
            table.to_json(ranking, orient="split", index=False)  # the format MLflow's log_table writes
            return fill_run(client, run, params=run_params,
                            tags={**run_tags, TAG_LOG_COUNT: str(count), TAG_LOGGED_ARTIFACTS: RANKING_TABLE_TAG},
                            metrics=metrics, files=[*files, ranking], step=count - 1)

    run_id = guarded(settings.uri, f"logging explanation {path} (run key {run_key!r})", action)
    log.info("logged explanation %s as MLflow run %s (key %s) at %s", path, run_id, run_key, settings.uri)
    return run_id


#: The tag MLflow's ``log_table`` sets so that its UI shows the ranking as a table.
TAG_LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
RANKING_TABLE_TAG = json.dumps([{"path": RANKING_ARTIFACT, "type": "table"}])


class PointSession:
    """What logging many explanations of one sweep point in a row looks up once.

    The experiment's id and the parent's check, on first use; and every active run whose key starts with
    ``<point>/`` (the keys :func:`musiclime.pipeline.stages.tracking.track_point` gives), in one paged
    search: a per-explanation search costs time in proportion to the runs already in the store.
    """

    def __init__(self, settings: TrackingSettings, point: str):
        self.settings, self.point = settings, point
        self.client = MlflowClient(tracking_uri=settings.uri)
        self._experiment: str | None = None
        self._checked: set[str] = set()
        self._runs: dict[str, object] | None = None

    def experiment(self, settings: TrackingSettings, parent_run_id: str | None) -> str:
        """The experiment's id (found or created once) with ``parent_run_id`` checked once."""
        if self._experiment is None:
            self._experiment = find_or_create_experiment(self.client, settings)
        if parent_run_id and parent_run_id not in self._checked:
            _check_parent(self.client, settings, parent_run_id, self._experiment)
            self._checked.add(parent_run_id)
        return self._experiment

    def run(self, run_key: str):
        """The active run with ``run_key`` found by the session's search (``None``: none existed)."""
        if self._runs is None:
            self._runs = self._search(f"{self.point}/")
        runs = self._runs.get(str(run_key))
        return None if not runs else _first_of(sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id)),
                                              f"runs with key {run_key!r}")

    def _search(self, prefix: str) -> dict[str, list]:
        condition = f"tags.`{TAG_RUN_KEY}` LIKE {_quoted(prefix.replace('%', '_') + '%')}"
        found: dict[str, list] = {}
        token = None
        while True:
            page = self.client.search_runs([self._experiment], filter_string=condition,
                                           run_view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
            for run in page:
                key = run.data.tags.get(TAG_RUN_KEY)
                if key is not None and key.startswith(prefix):
                    found.setdefault(key, []).append(run)
            token = page.token
            if not token:
                return found


def experiment_id(settings: TrackingSettings) -> str:
    """Id of experiment ``settings.experiment_name`` (created if missing); for links to the UI.

    Raises:
        TrackingError: the store is unreachable (message names the URI).
    """
    check_tracking_uri(settings.uri)
    return guarded(settings.uri, f"finding experiment {settings.experiment_name!r}",
                   lambda: find_or_create_experiment(MlflowClient(tracking_uri=settings.uri), settings))


# --- experiment and runs ------------------------------------------------------------------------
def find_or_create_experiment(client: MlflowClient, settings: TrackingSettings) -> str:
    """Id of experiment ``settings.experiment_name``, created (artifacts beside a SQLite DB) if missing.

    The experiment carries ``mlflow.experimentKind=custom_model_development`` (set on older ones
    too), so MLflow 3's UI opens its runs table instead of the GenAI traces view.
    """
    name = settings.experiment_name
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            experiment_id = client.create_experiment(name, artifact_location=default_artifact_location(settings.uri),
                                                     tags={TAG_EXPERIMENT_KIND: EXPERIMENT_KIND})
            log.info("created MLflow experiment %r (id %s) at %s", name, experiment_id, settings.uri)
            return experiment_id
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)  # another process created it meanwhile
            if experiment is None:
                raise
    if experiment.lifecycle_stage != "deleted" and experiment.tags.get(TAG_EXPERIMENT_KIND) != EXPERIMENT_KIND:
        client.set_experiment_tag(experiment.experiment_id, TAG_EXPERIMENT_KIND, EXPERIMENT_KIND)
    if experiment.lifecycle_stage == "deleted":
        raise TrackingError(f"MLflow experiment {name!r} (id {experiment.experiment_id}) at {settings.uri} is "
                            f"deleted; restore it (mlflow experiments restore --experiment-id "
                            f"{experiment.experiment_id}) or set another tracking.experiment_name")
    return experiment.experiment_id


def runs_with_tags(client: MlflowClient, experiment_id: str, tags: Mapping[str, str]) -> list:
    """Active runs of the experiment carrying all ``tags``, earliest first (ties by run id)."""
    condition = " and ".join(f"tags.`{key}` = {_quoted(value)}" for key, value in tags.items())
    runs = client.search_runs([experiment_id], filter_string=condition, run_view_type=ViewType.ACTIVE_ONLY,
                              max_results=1000)
    return sorted(runs, key=lambda run: (run.info.start_time or 0, run.info.run_id))


def _find_or_create_parent(client: MlflowClient, experiment_id: str, sweep_id: str, tags: dict):
    """The sweep's parent run; a concurrent duplicate (server stores) is resolved to the earliest."""
    identity = {TAG_SWEEP_ID: str(sweep_id), TAG_ROLE: ROLE_PARENT}
    runs = runs_with_tags(client, experiment_id, identity)
    if runs:
        return _first_of(runs, f"parent runs of sweep {sweep_id}")
    created = client.create_run(experiment_id, tags=tags, run_name=tags.get(TAG_RUN_NAME))
    client.set_terminated(created.info.run_id, "FINISHED")
    winner = runs_with_tags(client, experiment_id, identity)[0]
    if winner.info.run_id != created.info.run_id:
        log.info("another process created parent run %s of sweep %s first; deleting duplicate %s",
                 winner.info.run_id, sweep_id, created.info.run_id)
        client.delete_run(created.info.run_id)
        return winner
    log.info("created MLflow parent run %s for sweep %s", created.info.run_id, sweep_id)
    return client.get_run(created.info.run_id)


def _find_or_create_explanation_run(client: MlflowClient, experiment_id: str, run_key: str, tags: dict,
                                    search: bool = True):
    """``(run, fresh)``: the active run tagged with ``run_key`` (``search``: looked up; else known not to
    exist), or a new one."""
    runs = runs_with_tags(client, experiment_id, {TAG_RUN_KEY: str(run_key)}) if search else []
    if runs:
        run = _first_of(runs, f"runs with key {run_key!r}")
        previous_parent = run.data.tags.get(TAG_PARENT_RUN_ID)
        if previous_parent and tags.get(TAG_PARENT_RUN_ID) and previous_parent != tags[TAG_PARENT_RUN_ID]:
            log.info("run %s (key %s) moves from parent %s to parent %s", run.info.run_id, run_key,
                     previous_parent, tags[TAG_PARENT_RUN_ID])
        log.info("updating existing MLflow run %s (key %s)", run.info.run_id, run_key)
        return run, False
    run = client.create_run(experiment_id, tags=tags, run_name=tags.get(TAG_RUN_NAME))
    log.debug("created MLflow run %s (key %s)", run.info.run_id, run_key)
    return run, True


def _first_of(runs: list, what: str):
    """The earliest run; warn when duplicates exist (written outside musiclime's lock)."""
    if len(runs) > 1:
        log.warning("%d active %s exist; using the earliest, %s", len(runs), what, runs[0].info.run_id)
    return runs[0]


def _check_parent(client: MlflowClient, settings: TrackingSettings, parent_run_id: str, experiment_id: str) -> None:
    """Raise :class:`TrackingError` unless the parent run exists, is active and in the experiment."""
    try:
        parent = client.get_run(parent_run_id)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        parent = None
    problem = None
    if parent is None:
        problem = "does not exist"
    elif parent.info.lifecycle_stage == "deleted":
        problem = "is deleted"
    elif parent.info.experiment_id != experiment_id:
        problem = f"belongs to experiment {parent.info.experiment_id}, not {settings.experiment_name!r}"
    if problem:
        raise TrackingError(f"parent run {parent_run_id} at {settings.uri} {problem}; create the sweep's parent "
                            f"again with ensure_parent_run (in the workflow: delete the sweep's "
                            f"mlflow_parent.json and re-run)")


def fill_run(client: MlflowClient, run, *, params: Mapping[str, str], tags: Mapping[str, str],
             metrics: Mapping[str, float], files: Sequence[Path], step: int = 0,
             then: Callable[[str], None] | None = None) -> str:
    """Log params, tags, metrics (at ``step``) and files into ``run``, call ``then(run_id)``, mark it FINISHED;
    mark it FAILED if any of it fails. Returns the run id."""
    run_id = run.info.run_id
    try:
        _log_values(client, run, params=params, tags=tags, metrics=metrics, step=step)
        _log_files(client, run_id, files)
        if then is not None:
            then(run_id)
        client.set_terminated(run_id, "FINISHED")
    except Exception:
        _mark_failed(client, run_id)
        raise
    return run_id


def _mark_failed(client: MlflowClient, run_id: str) -> None:
    """Best effort: mark a run FAILED after an error while logging into it."""
    try:
        client.set_terminated(run_id, "FAILED")
    except Exception as exc:  # the store may be the thing that failed
        log.debug("could not mark run %s FAILED: %s", run_id, exc)


# --- values ---------------------------------------------------------------------------------------
def _log_values(client: MlflowClient, run, *, params: Mapping[str, str], tags: Mapping[str, str],
                metrics: Mapping[str, float] | None = None, step: int = 0) -> None:
    """Log params the run lacks, all tags and metrics (at ``step``) in batches within MLflow's limits."""
    existing = run.data.params
    changed = {k: v for k, v in params.items() if k in existing and existing[k] != v}
    if changed:
        log.warning("run %s keeps its logged params %s (MLflow params are immutable); new values %s",
                    run.info.run_id, {k: existing[k] for k in changed}, changed)
        tags = {**tags, TAG_PARAMS_CHANGED: stringify(changed)[:MAX_TAG_VALUE_CHARS]}
    new_params = [Param(k, v) for k, v in params.items() if k not in existing]
    timestamp = int(time.time() * 1000)
    metric_list = [Metric(k, v, timestamp, step) for k, v in (metrics or {}).items()]
    tag_list = [RunTag(k, v) for k, v in tags.items()]
    run_id = run.info.run_id
    if (len(new_params) <= MAX_PARAMS_PER_BATCH and len(tag_list) <= MAX_TAGS_PER_BATCH
            and len(metric_list) <= MAX_METRICS_PER_BATCH):
        client.log_batch(run_id, params=new_params, tags=tag_list, metrics=metric_list, synchronous=True)
        return  # one call: what nearly every explanation needs
    for chunk in _chunks(new_params, MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, params=chunk, synchronous=True)
    for chunk in _chunks(tag_list, MAX_TAGS_PER_BATCH):
        client.log_batch(run_id, tags=chunk, synchronous=True)
    for chunk in _chunks(metric_list, MAX_METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=chunk, synchronous=True)


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _stringified(values: Mapping) -> dict[str, str]:
    return {str(k): stringify(v) for k, v in values.items()}


def _quoted(value: str) -> str:
    """``value`` as a string literal of MLflow's search grammar."""
    value = str(value)
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise TrackingError(f"cannot search MLflow for a tag value holding both quote characters: {value!r}")


@functools.lru_cache(maxsize=1)
def _git_commit() -> str | None:
    """``git rev-parse HEAD`` in the working directory, or ``None`` outside a repository."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit or None


def _provenance_tags() -> dict[str, str]:
    """musiclime version and, when known, the git commit of the working directory."""
    from .. import __version__

    tags = {TAG_VERSION: __version__}
    commit = _git_commit()
    if commit:
        tags[TAG_GIT_COMMIT] = commit
    return tags


def _fingerprint(files: Sequence[Path], params: Mapping[str, str], tags: Mapping[str, str]) -> str:
    """SHA-256 over the bytes of ``files`` and the sorted ``params`` and ``tags`` (hex)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<folder>")
    digest.update(json.dumps([sorted(params.items()), sorted(tags.items())]).encode())
    return digest.hexdigest()


# --- artifacts --------------------------------------------------------------------------------------
def _artifact_files(explanation: Path, config_path, extras: Sequence) -> list[Path]:
    """Files to upload at the run's artifact root; each must exist and names must not collide."""
    files = [explanation] + ([Path(config_path)] if config_path is not None else []) + [Path(p) for p in extras]
    for path in files:
        if not path.exists():
            raise TrackingError(f"artifact {path} to log with explanation {explanation} does not exist")
    names = [p.name for p in files] + [RANKING_ARTIFACT]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise TrackingError(f"artifacts of explanation {explanation} share file names {clashes}; "
                            f"they would overwrite each other in the run")
    return files


def _log_files(client: MlflowClient, run_id: str, files: list[Path]) -> None:
    """Upload files (folders recursively, under their own name) to the run's artifact root."""
    for path in files:
        if path.is_dir():
            client.log_artifacts(run_id, str(path), artifact_path=path.name)
        else:
            client.log_artifact(run_id, str(path))


def log_point_report(settings: TrackingSettings, parent_run_id: str, point: str,
                     files: Sequence[str | os.PathLike], metrics: Mapping[str, float] | None = None) -> str:
    """Attach one sweep point's report files (summary table, HTML, config) to the parent run, and log
    ``metrics`` on it (e.g. the findings' figures with their intervals).

    They land under ``points/<point>/`` of the parent's artifacts; logging again replaces them.

    Raises:
        TrackingError: a file is missing or the store is unreachable (message names the URI).
    """
    paths = [Path(f) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise TrackingError(f"report files to log are missing: {missing}")
    check_tracking_uri(settings.uri)

    def action() -> str:
        client = MlflowClient(tracking_uri=settings.uri)
        for path in paths:
            client.log_artifact(parent_run_id, str(path), artifact_path=f"points/{point}")
        timestamp = int(time.time() * 1000)
        for chunk in _chunks([Metric(k, v, timestamp, 0) for k, v in (metrics or {}).items()], MAX_METRICS_PER_BATCH):
            client.log_batch(parent_run_id, metrics=chunk, synchronous=True)
        return parent_run_id

    guarded(settings.uri, f"logging the report of point {point} to parent run {parent_run_id}", action)
    log.info("logged report of point %s to parent run %s at %s", point, parent_run_id, settings.uri)
    return parent_run_id


def log_evaluation(settings: TrackingSettings, run_id: str, evaluation_json: str | os.PathLike) -> str:
    """Log an ``evaluation.json``'s metrics (``jaccard_top5``, ``deletion_aopc``, ...) and the file to a run.

    Metrics that could not be computed (``null``) are skipped; the file lands at the run's artifact root.
    Each verdict (``"verdicts"``: a check, whether it passed, its label) becomes a tag
    ``musiclime.verdict.<check>`` (e.g. ``stable``, ``fails the randomization check``) and a metric
    ``passes_<check>`` (1 or 0).

    Raises:
        TrackingError: the file is missing or unreadable, or the store is unreachable.
    """
    path = Path(evaluation_json)
    try:
        values, tags = evaluation_record(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrackingError(f"evaluation file {path} is missing or not an evaluation JSON: {exc!r}") from exc
    check_tracking_uri(settings.uri)

    def action() -> str:
        client = MlflowClient(tracking_uri=settings.uri)
        stamp = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[Metric(k, v, stamp, 0) for k, v in values.items()],
                         tags=[RunTag(k, v) for k, v in tags.items()], synchronous=True)
        client.log_artifact(run_id, str(path))
        return run_id

    guarded(settings.uri, f"logging evaluation {path} to run {run_id}", action)
    log.info("logged evaluation %s (%d metrics) to MLflow run %s", path, len(values), run_id)
    return run_id
