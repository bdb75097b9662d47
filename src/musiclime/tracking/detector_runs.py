"""Log a trained fusion detector (``model=fusion``) as an MLflow run the explanations point to.

One run per trained head, found again by its ``musiclime.detector`` tag (the head's key), with the test,
validation and single-modality scores of its ``metrics.json`` as metrics, the encoders and head settings
as params, and ``metrics.json``, ``head.json`` and the head's ``config.yaml`` as artifacts. Each
explanation run of a point explained with that head carries ``musiclime.detector_run_id``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

from mlflow.tracking import MlflowClient

from .runs import _fingerprint, _stringified, fill_run, find_or_create_experiment, runs_with_tags
from .settings import TAG_FINGERPRINT, TAG_ROLE, TrackingError, TrackingSettings
from .store import check_tracking_uri, guarded

log = logging.getLogger(__name__)

ROLE_DETECTOR = "detector"
TAG_DETECTOR = "musiclime.detector"
#: Tag of an explanation run: the run of the detector it explains.
TAG_DETECTOR_RUN_ID = "musiclime.detector_run_id"
#: ``metrics.json`` sections logged as metrics, each under its own prefix.
SCORED_SECTIONS = ("test", "validation", "train")
CONTEXT_SECTIONS = ("audio_only", "lyrics_only")


def detector_metrics(metrics: dict) -> dict[str, float]:
    """Numbers of a head's ``metrics.json``: ``test_accuracy``, ``validation_roc_auc``,
    ``audio_only_test_balanced_accuracy`` ... (confusion matrices and lists left out)."""
    out = {}
    for section in SCORED_SECTIONS:
        out.update({f"{section}_{k}": v for k, v in _numbers(metrics.get(section)).items()})
    for section in CONTEXT_SECTIONS:
        scores = metrics.get(section) or {}
        out.update({f"{section}_test_{k}": v for k, v in _numbers(scores.get("test", scores)).items()})
    return out


def _numbers(section) -> dict[str, float]:
    if not isinstance(section, dict):
        return {}
    return {k: float(v) for k, v in section.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def log_detector(settings: TrackingSettings, detector: str, files: Sequence[str | os.PathLike], params: dict,
                 tags: dict | None = None) -> str:
    """Find or create the run of head ``detector`` and log its scores and files; return the run id.

    Args:
        detector: the head's key (its folder name under ``results/detectors``).
        files: the head's ``metrics.json`` (read for the metrics) and other files to upload.
        params: what made the head (encoders, head settings, songs).
    """
    paths = [Path(f) for f in files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise TrackingError(f"files of detector {detector} to log do not exist: {missing}")
    metrics_file = next((p for p in paths if p.name == "metrics.json"), None)
    metrics = detector_metrics(json.loads(metrics_file.read_text())) if metrics_file else {}
    run_tags = {**_stringified(tags or {}), TAG_ROLE: ROLE_DETECTOR, TAG_DETECTOR: detector,
                "mlflow.runName": f"detector {detector}"}
    run_params = _stringified(params)
    run_tags[TAG_FINGERPRINT] = _fingerprint(paths, run_params, run_tags)
    check_tracking_uri(settings.uri)

    def action() -> str:
        client = MlflowClient(tracking_uri=settings.uri)
        experiment = find_or_create_experiment(client, settings)
        runs = runs_with_tags(client, experiment, {TAG_ROLE: ROLE_DETECTOR, TAG_DETECTOR: detector})
        if runs and runs[0].data.tags.get(TAG_FINGERPRINT) == run_tags[TAG_FINGERPRINT]:
            return runs[0].info.run_id
        run = runs[0] if runs else client.create_run(experiment, tags=run_tags, run_name=run_tags["mlflow.runName"])
        return fill_run(client, run, params=run_params, tags=run_tags, metrics=metrics, files=paths)

    run_id = guarded(settings.uri, f"logging detector {detector}", action)
    log.info("logged detector %s as MLflow run %s at %s", detector, run_id, settings.uri)
    return run_id
