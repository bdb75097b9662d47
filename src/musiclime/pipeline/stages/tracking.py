"""Stages ``track_parent`` and ``track_point``: explanations and reports -> MLflow runs.

Reads artifacts and never recomputes them. One ``track_point`` job logs a whole sweep point (one
MLflow run per song, then the point's report files on the parent run) in one MLflow session; runs
whose files, params and tags are unchanged are skipped, so re-tracking costs only new work.
MLflow is imported on first use.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...common.atomic_io import write_json
from ..hydra_configs import short_hash


def _settings(tracking: dict):
    from ... import tracking as mlflow_tracking

    settings = mlflow_tracking.TrackingSettings(uri=tracking["uri"], experiment_name=tracking["experiment_name"])
    mlflow_tracking.check_tracking_uri(settings.uri)
    return mlflow_tracking, settings


def track_parent(tracking: dict, sweep_id: str, sweep_name: str, overrides: list[str], points: dict,
                 out_parent: str | Path) -> Path:
    """Find or create the invocation's MLflow parent run; record its id."""
    mlflow_tracking, settings = _settings(tracking)
    run_id = mlflow_tracking.ensure_parent_run(
        settings, sweep_id=sweep_id, sweep_name=sweep_name,
        params={"overrides": " ".join(overrides) or "(none)", "num_points": len(points)},
        tags={"musiclime.experiment": sweep_name})
    experiment = mlflow_tracking.experiment_id(settings)
    write_json(out_parent, {"run_id": run_id, "sweep_id": sweep_id, "uri": settings.uri,
                            "experiment_name": settings.experiment_name, "experiment_id": experiment,
                            "runs_url": mlflow_tracking.runs_url(settings.uri, experiment)})
    return Path(out_parent)


def explanation_params(song_id: str, config: dict) -> dict:
    """The MLflow params of one explanation run: what a reader filters and compares runs by."""
    explain = config["explain"]
    keys = ("modality", "num_samples", "temporal_segments", "kernel_width", "distance_scale", "sampler", "seed",
            "feature_selection", "num_features", "lyrics_unit")
    return {"song": song_id, **{key: explain[key] for key in keys}, "model": config["model"]["name"],
            "separation_backend": config["separation"]["backend"]}


def track_point(explanations: list[str], configs: list[str], media_dirs: list[str], evaluations: list[str],
                report_files: list[str], parent_json: str | Path, point_info: dict, out_tracked: str | Path) -> Path:
    """Log every explanation of one sweep point (run key ``<point>/<song>``) and the point's report.

    Args:
        explanations, configs: per song, the explanation JSON and its resolved config.
        media_dirs, evaluations: per song, its pictures (logged as artifacts) and its ``evaluation.json``
            (metrics logged under their own names, the file as an artifact); empty lists when off.
        report_files: the point's summary table, config, HTML page and global importance (logged
            under ``points/<point>/`` of the parent run).
        point_info: ``id``, composed ``config``, ``overrides``, ``stage_keys`` and ``sweep_name``; ``detector``
            (``key``, ``files``, ``params``) when the point explains a head the workflow trained: it is logged
            as a detector run, and each explanation run names it (tag ``musiclime.detector_run_id``).
        out_tracked: JSON ``{"runs": {song_id: run_id}, ...}`` written when everything is logged.
    """
    point, config, sweep_name = point_info["id"], point_info["config"], point_info["sweep_name"]
    overrides, stage_keys = list(point_info["overrides"]), dict(point_info["stage_keys"])
    mlflow_tracking, settings = _settings(config["tracking"])
    parent = json.loads(Path(parent_json).read_text())
    base_tags = {"musiclime.experiment": sweep_name, "musiclime.sweep_id": parent["sweep_id"],
                 "musiclime.sweep_point": point, "musiclime.point_overrides": " ".join(overrides) or "(none)",
                 "musiclime.config_hash": short_hash(config),
                 **{f"musiclime.key.{stage}": key for stage, key in stage_keys.items()}}
    detector = point_info.get("detector")
    if detector:
        base_tags[mlflow_tracking.TAG_DETECTOR_RUN_ID] = mlflow_tracking.log_detector(
            settings, detector["key"], detector["files"], detector["params"],
            tags={"musiclime.experiment": sweep_name, "musiclime.sweep_id": parent["sweep_id"]})
    runs = {}
    session = mlflow_tracking.PointSession(settings, point)  # one experiment lookup and run search for the point
    for i, (explanation_path, config_path) in enumerate(zip(explanations, configs)):
        song_id = json.loads(Path(explanation_path).read_text())["metadata"]["song_info"]["song_id"]
        artifacts = sorted(Path(media_dirs[i]).glob("*.png")) if media_dirs else []
        metrics, verdict_tags = {}, {}
        if evaluations:
            artifacts.append(Path(evaluations[i]))
            metrics, verdict_tags = mlflow_tracking.evaluation_record(json.loads(Path(evaluations[i]).read_text()))
        runs[song_id] = mlflow_tracking.log_explanation(
            settings, explanation_path, run_key=f"{point}/{song_id}", parent_run_id=parent["run_id"],
            params=explanation_params(song_id, config), tags={**base_tags, **verdict_tags, "musiclime.song": song_id},
            artifacts=artifacts, config_path=config_path, extra_metrics=metrics, skip_unchanged=True, session=session)
    findings = [f for f in report_files if Path(f).name.startswith("findings-") and Path(f).suffix == ".csv"]
    metrics = finding_metrics(findings[0], point) if findings else {}
    mlflow_tracking.log_point_report(settings, parent["run_id"], point, report_files, metrics)
    write_json(out_tracked, {"runs": runs, "parent_run_id": parent["run_id"], "point": point, "uri": settings.uri,
                             "detector_run_id": base_tags.get(mlflow_tracking.TAG_DETECTOR_RUN_ID),
                             "report_files": list(map(str, report_files))})
    return Path(out_tracked)


# MLflow stages share one worker (see musiclime.pipeline.worker_pool): one MLflow import, no compute worker held.
track_parent.worker_pool = "tracking"
track_point.worker_pool = "tracking"


def finding_metrics(findings_csv: str | Path, point: str) -> dict[str, float]:
    """The findings of a point (``findings.csv``) as metrics of the parent run: per class figure
    ``<point>/class/<class>/<measure>/<key>`` with ``_low`` and ``_high``; per tested difference
    ``<point>/difference/<comparison>/<a>-<b>/<measure>/<key>`` with ``_low``, ``_high``, ``_p_adjusted`` and
    ``_holds`` (1 or 0). Names are made MLflow-safe (:func:`musiclime.tracking.records.metric_name`)."""
    from ...evidence.dataset_findings import read_findings
    from ...tracking.records import metric_name

    metrics: dict[str, float] = {}
    for row in read_findings(findings_csv):
        measure = row["measure"].replace(" ", "_")
        if row["section"] == "class":
            name = f"{point}/class/{row['group_a']}/{measure}/{row['key']}"
            values = {"": row["value_a"], "_low": row["low_a"], "_high": row["high_a"]}
        elif row["p_value"] is not None:
            name = f"{point}/difference/{row['comparison']}/{row['group_a']}-{row['group_b']}/{measure}/{row['key']}"
            values = {"": row["difference"], "_low": row["low"], "_high": row["high"],
                      "_p_adjusted": row["p_adjusted"], "_holds": float(bool(row["holds"]))}
        else:
            continue
        metrics.update({metric_name(name + suffix): float(v) for suffix, v in values.items() if v is not None})
    return metrics
