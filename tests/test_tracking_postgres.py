"""MLflow for many writers: a real ``mlflow server`` on a real PostgreSQL backend, four processes logging
sweep points at once (the setup docs/tracking.md describes for clusters)."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from .mlflow_server import start_mlflow_server
from .postgres_server import require_postgres, start_postgres
from .test_tracking import make_explanation

pytestmark = pytest.mark.slow
POINTS = 4
SONGS = 6


def point_info(uri: str, point: str) -> dict:
    explain = {key: 0 for key in ("modality", "num_samples", "temporal_segments", "kernel_width", "distance_scale",
                                  "sampler", "seed", "feature_selection", "num_features", "lyrics_unit")}
    config = {"tracking": {"uri": uri, "experiment_name": "many-writers"}, "explain": explain,
              "model": {"name": "glassbox"}, "separation": {"backend": "stems"}}
    return {"id": point, "config": config, "overrides": [], "stage_keys": {}, "sweep_name": "many"}


def _track(uri: str, barrier, point: str, explanations: list[str], configs: list[str], parent: str,
           out: str) -> None:
    """Worker: wait for the others, then log one sweep point as the workflow's track_point job does."""
    from musiclime.pipeline.stages.tracking import track_point

    barrier.wait(timeout=180)
    track_point(explanations, configs, [], [], [], parent, point_info(uri, point), out)


def test_four_points_logged_at_once_through_a_postgresql_backed_server(tmp_path):
    require_postgres()
    from musiclime.pipeline.stages.tracking import track_parent, track_point

    database, stop_database = start_postgres(tmp_path / "pg")
    try:
        uri, stop_server = start_mlflow_server(tmp_path / "server", backend=database, workers=2)
        try:
            files = []
            for i in range(SONGS):
                path = make_explanation(tmp_path / f"s{i}" / "explanation.json", f"s{i}", seed=i, drums_weight=0.2)
                (path.parent / "config.yaml").write_text("explain: {}\n")
                files.append(path)
            explanations, configs = [str(p) for p in files], [str(p.parent / "config.yaml") for p in files]
            parent = track_parent(point_info(uri, "p0")["config"]["tracking"], "sweep0", "many", [],
                                  {f"p{i}": [] for i in range(POINTS)}, tmp_path / "parent.json")
            ctx = multiprocessing.get_context("spawn")
            barrier = ctx.Barrier(POINTS)
            workers = [ctx.Process(target=_track, args=(uri, barrier, f"p{i}", explanations, configs, str(parent),
                                                        str(tmp_path / f"tracked-p{i}.json")))
                       for i in range(POINTS)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=600)
            assert [w.exitcode for w in workers] == [0] * POINTS
            client = MlflowClient(tracking_uri=uri)
            experiment = client.get_experiment_by_name("many-writers").experiment_id
            runs = client.search_runs([experiment], run_view_type=ViewType.ACTIVE_ONLY, max_results=1000)
            keys = sorted(r.data.tags["musiclime.run_key"] for r in runs if "musiclime.run_key" in r.data.tags)
            assert keys == sorted(f"p{p}/s{s}" for p in range(POINTS) for s in range(SONGS))  # none twice
            assert all(r.info.status == "FINISHED" for r in runs)
            tracked = json.loads((tmp_path / "tracked-p2.json").read_text())
            assert set(tracked["runs"]) == {f"s{s}" for s in range(SONGS)}
            # a second pass over a point finds its runs and logs nothing new
            track_point(explanations, configs, [], [], [], parent, point_info(uri, "p2"), tmp_path / "again.json")
            assert json.loads((tmp_path / "again.json").read_text())["runs"] == tracked["runs"]
            counts = {r.data.tags.get("musiclime.log_count") for r in client.search_runs(
                [experiment], "tags.`musiclime.sweep_point` = 'p2'", max_results=100)}
            assert counts == {"1"}
            # the runs are PostgreSQL's rows: every explanation run and the parent
            import psycopg

            with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as connection:
                [(stored,)] = connection.execute("SELECT count(*) FROM runs WHERE lifecycle_stage = 'active'")
            assert stored == POINTS * SONGS + 1
        finally:
            stop_server()
    finally:
        stop_database()
