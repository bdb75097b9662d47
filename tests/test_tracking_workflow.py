"""The workflow's track stage against a real MLflow server and the default SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from musiclime import load_explanation

from .mlflow_server import mlflow_server, start_mlflow_server  # noqa: F401  (fixture)
from .workflow_helpers import job_counts, make_songs, snakemake, tiny_overrides

pytestmark = pytest.mark.slow


def child_runs(client: MlflowClient, experiment_name: str):
    experiment = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("musiclime.role") == "parent"]
    return parents, [r for r in runs if r.data.tags.get("musiclime.role") != "parent"]


def test_sweep_logged_to_a_real_server_matches_the_explanation_files(tmp_path, mlflow_server):
    sheet = make_songs(tmp_path / "songs", n_songs=2, seconds=3.0)
    overrides = tiny_overrides(sheet, f"tracking.uri={mlflow_server}", "tracking.experiment_name=server_sweep",
                               "explain.kernel_width=10,40")
    result = snakemake(tmp_path, overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(tracking_uri=mlflow_server)
    [parent], runs = child_runs(client, "server_sweep")
    assert len(runs) == 4  # 2 songs x 2 kernel widths
    sweep_id = parent.data.tags["musiclime.sweep_id"]
    filtered = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.`musiclime.sweep_id` = '{sweep_id}'")
    assert len(filtered) == 5  # the parent and its 4 children
    # the end-of-run link opens the runs table (MLflow 3 shows its GenAI view without workflowType)
    runs_link = f"{mlflow_server}/#/experiments/{parent.info.experiment_id}/runs?workflowType=machine_learning"
    assert f"MLflow:       {runs_link}" in result.stdout, result.stdout[-2000:]
    tracked = [json.loads(p.read_text()) for p in tmp_path.glob("results/points/*/tracked.json")]
    assert len(tracked) == 2 and all(record["uri"] == mlflow_server for record in tracked)
    for run in runs:
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        [record] = [r for r in tracked if run.info.run_id in r["runs"].values()]
        explanation_path = tmp_path / run.data.tags["musiclime.explanation_file"]
        assert run.data.tags["musiclime.sweep_point"] == record["point"]
        explanation = load_explanation(explanation_path)
        params = explanation.metadata["parameters"]
        assert float(run.data.params["kernel_width"]) == params["kernel_width"]
        assert run.data.params["num_samples"] == "50" and run.data.params["separation_backend"] == "stems"
        label = params["labels"][0]
        assert run.data.metrics[f"score_label_{label}"] == pytest.approx(explanation.score[label])
        assert run.data.metrics[f"intercept_label_{label}"] == pytest.approx(explanation.intercept[label])
        assert run.data.metrics["model_calls"] == explanation.metadata["model_calls"]
        assert "musiclime.config_hash" in run.data.tags
        recorded = explanation.metadata["provenance"]
        assert run.data.tags["musiclime.sha256.audio"] == recorded["inputs"]["audio"]["sha256"]
        assert run.data.tags["musiclime.sha256.lyrics"] == recorded["inputs"]["lyrics"]["sha256"]
        assert run.data.tags["musiclime.sha256.weights"] == "null"  # the example model names no weight files
        assert run.data.tags["musiclime.package.torch"] == recorded["packages"]["torch"]
        assert run.data.tags["musiclime.code.dirty"] == json.dumps(recorded["code"]["git_dirty"])
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"explanation.json", "ranking.json", "config.yaml", "heatmap.png", "bars.png", "lyrics.png",
                "evaluation.json"} <= artifacts
        evaluation = json.loads((explanation_path.parent / next(explanation_path.parent.glob("evaluation-*")).name
                                 / "evaluation.json").read_text())
        for name in ("jaccard_top5", "jaccard_top10", "kendall_tau", "deletion_aopc", "random_deletion_aopc",
                     "insertion_aopc", "random_insertion_aopc"):
            assert run.data.metrics[name] == pytest.approx(evaluation["metrics"][name])
        assert evaluation["verdicts"], "the evaluation gives verdicts"
        for verdict in evaluation["verdicts"]:  # each verdict: a tag in words and a 0/1 metric
            assert run.data.tags[f"musiclime.verdict.{verdict['check']}"] == f"{verdict['label']}: {verdict['evidence']}"
            assert run.data.metrics[f"passes_{verdict['check']}"] == float(verdict["passed"])
        ranking = json.loads(Path(client.download_artifacts(run.info.run_id, "ranking.json", str(tmp_path))).read_text())
        rows = [dict(zip(ranking["columns"], row)) for row in ranking["data"]]
        weights = {(int(r["label"]), int(r["rank"])): float(r["weight"]) for r in rows}
        for rank, (_, weight) in enumerate(explanation.local_exp[label], start=1):
            assert weights[(label, rank)] == pytest.approx(weight)
        logged = json.loads(Path(client.download_artifacts(run.info.run_id, "explanation.json",
                                                           str(tmp_path / run.info.run_id))).read_text())
        assert logged == json.loads(explanation_path.read_text())
    reports = {a.path for a in client.list_artifacts(parent.info.run_id, "points")}
    assert len(reports) == 2  # one folder per sweep point
    for folder in reports:
        assert {a.path.rsplit("/", 1)[1] for a in client.list_artifacts(parent.info.run_id, folder)} == {
            "summary.tsv", "report.html", "config.yaml", "explanations.parquet", "importance-paper.csv",
            "importance-paper.parquet", "importance-paper.png", "importance-paper-classes.png",
            "importance-paper-comparison.png", "findings-paper.csv", "findings-paper.parquet"}
    # the findings' class figures and their intervals are metrics of the parent run
    parent_metrics = client.get_run(parent.info.run_id).data.metrics
    for point in (folder.rsplit("/", 1)[1] for folder in reports):
        audio = [k for k in parent_metrics if k.startswith(f"{point}/class/") and k.endswith("/exact_modality/audio")]
        assert audio, sorted(parent_metrics)[:10]
        for key in audio:
            assert parent_metrics[key + "_low"] <= parent_metrics[key + "_high"]


def test_parallel_jobs_log_every_run_once_to_sqlite_and_rerun_adds_none(tmp_path):
    sheet = make_songs(tmp_path / "songs", n_songs=2, seconds=2.0)
    overrides = tiny_overrides(sheet, "explain.kernel_width=5,10,25,50", "tracking.experiment_name=parallel")
    result = snakemake(tmp_path, overrides, None, cores=4)
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stderr)["track_point"] == 4  # one MLflow session per point, in threads
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    parents, runs = child_runs(client, "parallel")
    assert len(parents) == 1 and len(runs) == 8
    assert len({r.data.tags["musiclime.run_key"] for r in runs}) == 8
    assert {r.data.tags["musiclime.log_count"] for r in runs} == {"1"}
    rerun = snakemake(tmp_path, overrides, None, "--forcerun", "track_point", cores=4)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert job_counts(rerun.stderr)["track_point"] == 4
    parents, runs_again = child_runs(client, "parallel")
    assert len(parents) == 1 and {r.info.run_id for r in runs_again} == {r.info.run_id for r in runs}
    # unchanged explanations are not logged again: re-tracking costs only new work
    assert {r.data.tags["musiclime.log_count"] for r in runs_again} == {"1"}
    # a refit (new explanation file) is logged again, into the same run
    rerun = snakemake(tmp_path, overrides, None, "--forcerun", "fit", cores=4)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    parents, runs_refit = child_runs(client, "parallel")
    assert {r.info.run_id for r in runs_refit} == {r.info.run_id for r in runs}
    assert {r.data.tags["musiclime.log_count"] for r in runs_refit} == {"2"}


def test_server_down_keeps_explanations_and_a_rerun_logs_everything(tmp_path):
    uri, stop = start_mlflow_server(tmp_path / "server")
    stop()  # the server is down when the workflow runs
    sheet = make_songs(tmp_path / "songs", n_songs=2, seconds=2.0)
    overrides = tiny_overrides(sheet, f"tracking.uri={uri}", "tracking.experiment_name=down")
    result = snakemake(tmp_path, overrides, None, "--keep-going")
    assert result.returncode != 0
    assert uri in result.stderr and "explanations" in result.stderr
    assert len(list(tmp_path.glob("results/songs/*/*/*/*/*/explanation.json"))) == 2 * 3  # with 2 more mask seeds
    assert not list(tmp_path.glob("results/points/*/tracked.json"))
    port = int(uri.rsplit(":", 1)[1])
    uri_again, stop = start_mlflow_server(tmp_path / "server", port=port)
    try:
        result = snakemake(tmp_path, overrides)
        assert result.returncode == 0, result.stderr[-3000:]
        counts = job_counts(result.stderr)
        assert not {"separate", "perturb", "predict", "fit"} & set(counts), counts
        _, runs = child_runs(MlflowClient(tracking_uri=uri_again), "down")
        assert len(runs) == 2
    finally:
        stop()
