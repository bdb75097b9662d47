"""Evidence in MLflow against a real server: the experiment opens the runs view; evaluation and aggregation logged."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient

from musiclime.tracking import (EXPERIMENT_KIND, TAG_EXPERIMENT_KIND, TrackingSettings, ensure_parent_run,
                                log_evaluation, log_explanation, log_point_report)

from .evidence_helpers import explain_song, separate_song, write_song
from .mlflow_server import mlflow_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


def test_experiment_kind_evaluation_metrics_and_aggregation_files(mlflow_server, tmp_path):
    settings = TrackingSettings(uri=mlflow_server, experiment_name="evidence")
    client = MlflowClient(tracking_uri=mlflow_server)
    old = client.create_experiment("evidence")  # made before musiclime set the tag: it is added on first use
    parent = ensure_parent_run(settings, sweep_id="sw1", sweep_name="evidence")
    assert client.get_experiment(old).tags[TAG_EXPERIMENT_KIND] == EXPERIMENT_KIND == "custom_model_development"

    song = write_song(tmp_path / "songs", "s0", seed=0)
    explanation = explain_song(song, separate_song(song, tmp_path / "sep"), tmp_path / "explanation.json",
                               num_samples=60)
    run_id = log_explanation(settings, explanation, run_key="p0/s0", parent_run_id=parent, params={"song": "s0"},
                             tags={})
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({"metrics": {"jaccard_top5": 0.8, "deletion_aopc": 0.31,
                                                  "randomization_spearman": None}}))
    log_evaluation(settings, run_id, evaluation)
    run = client.get_run(run_id)
    assert run.data.metrics["jaccard_top5"] == pytest.approx(0.8)
    assert run.data.metrics["deletion_aopc"] == pytest.approx(0.31)
    assert "randomization_spearman" not in run.data.metrics
    assert "evaluation.json" in {a.path for a in client.list_artifacts(run_id)}

    table = tmp_path / "importance.csv"
    table.write_text("class,kind,group,I_LIME,I_AVG\n1,source,drums,0.5,0.2\n")
    log_point_report(settings, parent, "p0", [table])
    assert "points/p0/importance.csv" in {a.path for a in client.list_artifacts(parent, "points/p0")}

    fresh = TrackingSettings(uri=mlflow_server, experiment_name="evidence-new")
    ensure_parent_run(fresh, sweep_id="sw2", sweep_name="x")
    assert client.get_experiment_by_name("evidence-new").tags[TAG_EXPERIMENT_KIND] == EXPERIMENT_KIND
