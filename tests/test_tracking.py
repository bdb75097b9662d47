"""MLflow tracking of explanations against a real ``mlflow server`` and real SQLite stores (no mocks)."""

from __future__ import annotations

import json
import multiprocessing
import re
import time
from pathlib import Path

import pytest
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

import musiclime
from musiclime import MusicLIMEExplainer, StemFactorization, LineIndexedString
from musiclime.models.glassbox import GlassBoxModel
from musiclime.tracking import (RANKING_ARTIFACT, RANKING_COLUMNS, TrackingError, TrackingSettings, check_tracking_uri,
                                ensure_parent_run, explanation_metrics, log_explanation, ranking_rows)
from musiclime.tracking.store import lock_path, sqlite_path

from .conftest import LYRICS, noise_stems
from .mlflow_server import mlflow_server, start_mlflow_server  # noqa: F401 (fixture)

NUM_SONGS = 8


# --- explanation files ----------------------------------------------------------------------------
def make_explanation(path: Path, song: str, seed: int, drums_weight: float) -> Path:
    """Explain a noise-stem song under a glass-box model and save the JSON to ``path``."""
    fact = StemFactorization(noise_stems(8000, 2.0, seed=seed), sample_rate=8000, temporal_segments=4)
    model = GlassBoxModel(fact, {"drums_T2": drums_weight}, {"sing the chorus loud": 0.1})
    explainer = MusicLIMEExplainer(random_state=seed, progress=False)
    explanation = explainer.explain_instance_with_factorization(
        fact, LineIndexedString(LYRICS), model, num_samples=50, labels=(0, 1), song_info={"song_id": song})
    return explanation.save_to_json(path)


@pytest.fixture(scope="module")
def explanation_files(tmp_path_factory) -> dict[str, Path]:
    """``{song id: explanation.json}`` for songs ``s0`` .. ``s7`` (plus a config and a report each)."""
    root = tmp_path_factory.mktemp("explanations")
    files = {}
    for i in range(NUM_SONGS):
        song = f"s{i}"
        folder = root / song
        files[song] = make_explanation(folder / "explanation.json", song, seed=i, drums_weight=0.1 + 0.05 * i)
        (folder / "config.yaml").write_text(f"song_id: {song}\nexplain:\n  kernel_width: 25\n")
        (folder / "report.txt").write_text(f"report of {song}\n")
    return files


def run_params(song: str, kernel_width=25) -> dict:
    return {"song": song, "modality": "both", "num_samples": 50, "temporal_segments": 4,
            "kernel_width": kernel_width, "distance_scale": 1.0, "sampler": "random", "seed": 0,
            "model": "glassbox", "separation_backend": "stems", "lyrics_unit": "line"}


def log_song(settings, path: Path, song: str, parent: str | None, key_prefix: str = "p0", session=None,
             skip_unchanged: bool = False, **params) -> str:
    return log_explanation(settings, path, run_key=f"{key_prefix}/{song}", parent_run_id=parent,
                           params=run_params(song, **params),
                           tags={"musiclime.experiment": "test", "musiclime.sweep_point": key_prefix},
                           artifacts=[path.parent / "report.txt"], config_path=path.parent / "config.yaml",
                           session=session, skip_unchanged=skip_unchanged)


# --- expectations read straight from the JSON ---------------------------------------------------------
def expected_metrics(doc: dict) -> dict[str, float]:
    meta = doc["metadata"]
    metrics = {"model_calls": meta["model_calls"], "num_features_total": len(doc["features"])}
    for entry in doc["explanations"].values():
        label = entry["label"]
        metrics[f"score_label_{label}"] = entry["score"]
        metrics[f"intercept_label_{label}"] = entry["intercept"]
        metrics[f"local_pred_label_{label}"] = entry["local_prediction"]
    for kind in ("original", "reconstruction"):
        for cls, value in enumerate(meta[f"probabilities_{kind}"]):
            metrics[f"prob_{kind}_class_{cls}"] = value
    for stage, seconds in meta["timings_s"].items():
        metrics[f"timing_{stage}_s"] = seconds
    certified = meta["certification"]["labels"][str(meta["predicted_label"])]  # both labels explained
    metrics["certified_top_k"] = certified["certified_top_k"]
    metrics["certified_top_k_audio"] = certified["audio"]["certified_top_k"]
    metrics["certified_top_k_lyrics"] = certified["lyrics"]["certified_top_k"]
    return metrics


def assert_metrics_match(run, doc: dict) -> None:
    expected = expected_metrics(doc)
    assert set(expected) <= set(run.data.metrics)
    for name, value in expected.items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def assert_ranking_matches(table: dict, doc: dict) -> None:
    """``table`` (MLflow's split JSON) holds every feature of every label with the JSON's weights."""
    assert table["columns"] == list(RANKING_COLUMNS)
    rows = [dict(zip(table["columns"], row)) for row in table["data"]]
    features = doc["features"]
    assert len(rows) == len(doc["explanations"]) * len(features)
    for entry in doc["explanations"].values():
        mine = [r for r in rows if r["label"] == entry["label"]]
        assert [r["rank"] for r in mine] == list(range(1, len(features) + 1))
        assert [r["abs_weight"] for r in mine] == sorted((r["abs_weight"] for r in mine), reverse=True)
        weights = {(features[i]["type"], features[i]["index"]): w for i, w in entry["weights"]}
        for row in mine:
            expected = weights.get((row["type"], row["index"]), 0.0)
            assert row["weight"] == pytest.approx(expected, abs=1e-9)
            assert row["abs_weight"] == pytest.approx(abs(expected), abs=1e-9)
        top = entry["top_features"][0]
        assert (mine[0]["type"], mine[0]["feature"]) == (top["type"], top["feature"])


def download_json(client: MlflowClient, run_id: str, artifact: str, dst: Path) -> dict:
    dst.mkdir(parents=True, exist_ok=True)
    return json.loads(Path(client.download_artifacts(run_id, artifact, str(dst))).read_text())


# --- pure functions ---------------------------------------------------------------------------------------
def test_metrics_and_ranking_rows_follow_the_explanation(explanation_files):
    path = explanation_files["s0"]
    doc = json.loads(path.read_text())
    explanation = musiclime.load_explanation(path)
    metrics = explanation_metrics(explanation)
    for name, value in expected_metrics(doc).items():
        assert metrics[name] == pytest.approx(value)
    assert metrics["num_features_audio"] + metrics["num_features_lyrics"] == metrics["num_features_total"]
    rows = ranking_rows(explanation)
    assert_ranking_matches({"columns": list(RANKING_COLUMNS), "data": [list(r.values()) for r in rows]}, doc)


def test_sqlite_uri_paths_and_check_creates_folder(tmp_path):
    assert sqlite_path("sqlite:///mlflow.db") == Path("mlflow.db")
    assert sqlite_path(f"sqlite:///{tmp_path}/a/b.db") == tmp_path / "a" / "b.db"
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("http://127.0.0.1:5000") is None
    assert lock_path(f"sqlite:///{tmp_path}/a/b.db") == tmp_path / "a" / "b.db.lock"
    check_tracking_uri(f"sqlite:///{tmp_path}/new/folder/mlflow.db")
    assert (tmp_path / "new" / "folder").is_dir()


def test_unusable_inputs_raise_tracking_error_naming_the_file(tmp_path, explanation_files):
    settings = TrackingSettings(uri=f"sqlite:///{tmp_path}/mlflow.db")
    missing = tmp_path / "nope.json"
    with pytest.raises(TrackingError, match=re.escape(str(missing))):
        log_explanation(settings, missing, run_key="k", parent_run_id=None, params={}, tags={})
    path = explanation_files["s0"]
    with pytest.raises(TrackingError, match="plot.png"):
        log_explanation(settings, path, run_key="k", parent_run_id=None, params={}, tags={},
                        artifacts=[tmp_path / "plot.png"])
    assert not (tmp_path / "mlflow.db").exists()  # validated before touching the store


# --- a real server ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_server_records_parent_and_nested_explanations(mlflow_server, explanation_files, tmp_path):
    settings = TrackingSettings(uri=mlflow_server, experiment_name="server-test")
    parent = ensure_parent_run(settings, "sweep-a", "demo", params={"overrides": "(none)", "num_points": 1},
                               tags={"musiclime.experiment": "demo"})
    assert ensure_parent_run(settings, "sweep-a", "demo", params={"num_points": 1}) == parent
    songs = ["s0", "s1", "s2"]
    run_ids = {song: log_song(settings, explanation_files[song], song, parent) for song in songs}

    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("server-test")
    parent_run = client.get_run(parent)
    assert parent_run.data.tags["musiclime.role"] == "parent"
    assert parent_run.data.tags["musiclime.sweep_id"] == "sweep-a"
    assert parent_run.data.params == {"overrides": "(none)", "num_points": "1"}
    children = client.search_runs([experiment.experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'")
    assert sorted(r.info.run_id for r in children) == sorted(run_ids.values())

    for song, run_id in run_ids.items():
        path = explanation_files[song]
        doc = json.loads(path.read_text())
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.data.params == {k: str(v) for k, v in run_params(song).items()}
        assert_metrics_match(run, doc)
        tags = run.data.tags
        assert tags["mlflow.parentRunId"] == parent
        assert tags["musiclime.run_key"] == f"p0/{song}"
        assert tags["musiclime.song_id"] == song
        assert tags["musiclime.version"] == musiclime.__version__
        assert tags["musiclime.experiment"] == "test" and tags["musiclime.sweep_point"] == "p0"
        names = {a.path for a in client.list_artifacts(run_id)}
        assert names == {"explanation.json", RANKING_ARTIFACT, "config.yaml", "report.txt"}
        assert download_json(client, run_id, "explanation.json", tmp_path / song) == doc
        assert_ranking_matches(download_json(client, run_id, RANKING_ARTIFACT, tmp_path / song), doc)
        # logged as an MLflow table (MlflowClient.load_table itself reads the global tracking URI: not used)
        assert {"path": RANKING_ARTIFACT, "type": "table"} in json.loads(tags["mlflow.loggedArtifacts"])


@pytest.mark.slow
def test_relogging_a_run_key_updates_the_one_run(mlflow_server, explanation_files, tmp_path):
    settings = TrackingSettings(uri=mlflow_server, experiment_name="idempotency-test")
    parent = ensure_parent_run(settings, "sweep-b", "demo")
    first = log_song(settings, explanation_files["s3"], "s3", parent, key_prefix="px")
    # same key, other content (another song's explanation) and a changed param value
    second = log_song(settings, explanation_files["s4"], "s3", parent, key_prefix="px", kernel_width=50)
    assert second == first

    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("idempotency-test")
    runs = client.search_runs([experiment.experiment_id], "tags.`musiclime.run_key` = 'px/s3'",
                              run_view_type=ViewType.ALL)
    assert len(runs) == 1
    run = client.get_run(first)
    new_doc = json.loads(explanation_files["s4"].read_text())
    assert_metrics_match(run, new_doc)
    assert [m.step for m in client.get_metric_history(first, "score_label_1")] == [0, 1]
    assert run.data.params["kernel_width"] == "25"  # MLflow params are immutable: the first value stays
    assert "kernel_width" in run.data.tags["musiclime.params_changed"]
    assert run.data.tags["musiclime.log_count"] == "2"
    assert_ranking_matches(download_json(client, first, RANKING_ARTIFACT, tmp_path), new_doc)  # replaced


@pytest.mark.slow
def test_stopped_server_fails_fast_naming_the_uri(tmp_path, explanation_files):
    uri, stop = start_mlflow_server(tmp_path / "server")
    stop()
    settings = TrackingSettings(uri=uri)
    started = time.monotonic()
    for call in (lambda: check_tracking_uri(uri),
                 lambda: ensure_parent_run(settings, "sweep-c", "demo"),
                 lambda: log_song(settings, explanation_files["s0"], "s0", None)):
        with pytest.raises(TrackingError, match=re.escape(uri)) as info:
            call()
        assert "stay on disk" in str(info.value)
    assert time.monotonic() - started < 15
    assert explanation_files["s0"].is_file()


# --- a SQLite store shared by concurrent processes ----------------------------------------------------------
def _log_in_process(uri: str, barrier, jobs: list[tuple[str, str]], out_path: str) -> None:
    """Worker: wait for all workers, find-or-create the parent, log ``jobs`` ``[(song, path)]``."""
    barrier.wait(timeout=180)
    settings = TrackingSettings(uri=uri, experiment_name="parallel-test")
    parent = ensure_parent_run(settings, "sweep-p", "parallel")
    runs = {song: log_song(settings, Path(path), song, parent) for song, path in jobs}
    Path(out_path).write_text(json.dumps({"parent": parent, "runs": runs}))


@pytest.mark.slow
def test_parallel_processes_share_a_fresh_sqlite_store(tmp_path, explanation_files):
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    songs = sorted(explanation_files)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    workers = []
    for w in range(4):
        jobs = [(song, str(explanation_files[song])) for song in songs[w::4]]
        proc = ctx.Process(target=_log_in_process, args=(uri, barrier, jobs, str(tmp_path / f"out{w}.json")))
        proc.start()
        workers.append(proc)
    for proc in workers:
        proc.join(timeout=300)
    assert [proc.exitcode for proc in workers] == [0, 0, 0, 0]

    results = [json.loads((tmp_path / f"out{w}.json").read_text()) for w in range(4)]
    parents = {r["parent"] for r in results}
    assert len(parents) == 1
    logged = {song: run_id for r in results for song, run_id in r["runs"].items()}
    assert sorted(logged) == songs

    client = MlflowClient(tracking_uri=uri)
    experiments = [e for e in client.search_experiments(view_type=ViewType.ALL) if e.name == "parallel-test"]
    assert len(experiments) == 1
    runs = client.search_runs([experiments[0].experiment_id], run_view_type=ViewType.ALL, max_results=1000)
    by_role = {}
    for run in runs:
        by_role.setdefault(run.data.tags["musiclime.role"], []).append(run)
    assert [r.info.run_id for r in by_role["parent"]] == list(parents)
    children = by_role["explanation"]
    assert sorted(r.data.tags["musiclime.run_key"] for r in children) == [f"p0/{s}" for s in songs]
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == parents
    for run in children:
        song = run.data.tags["musiclime.song_id"]
        assert run.info.run_id == logged[song]
        assert_metrics_match(run, json.loads(explanation_files[song].read_text()))
        assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"explanation.json", RANKING_ARTIFACT}
    artifact_root = Path(experiments[0].artifact_location.removeprefix("file://"))
    assert artifact_root == tmp_path / "store" / "mlartifacts"


def test_missing_parent_run_raises(tmp_path, explanation_files):
    settings = TrackingSettings(uri=f"sqlite:///{tmp_path}/mlflow.db")
    with pytest.raises(TrackingError, match="parent run 0123456789abcdef"):
        log_song(settings, explanation_files["s0"], "s0", "0123456789abcdef")


def test_a_point_session_finds_its_runs_in_one_search_and_keeps_points_apart(explanation_files, tmp_path):
    """Logging a point's explanations in one session: runs of point p1 are found again (not duplicated) and
    a later session skips them unchanged; p10's runs, whose keys share the text "p1", stay apart."""
    from musiclime.tracking import PointSession

    settings = TrackingSettings(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", experiment_name="session")
    parent = ensure_parent_run(settings, sweep_id="w", sweep_name="session")
    songs = sorted(explanation_files)[:3]

    def log_point(point):
        session = PointSession(settings, point)
        return {song: log_song(settings, explanation_files[song], song, parent, key_prefix=point, session=session,
                               skip_unchanged=True) for song in songs}

    first, other = log_point("p1"), log_point("p10")
    assert not set(first.values()) & set(other.values())
    again = log_point("p1")
    assert again == first
    client = MlflowClient(tracking_uri=settings.uri)
    runs = client.search_runs([client.get_experiment_by_name("session").experiment_id],
                              run_view_type=ViewType.ACTIVE_ONLY, max_results=100)
    counts = {run.data.tags.get("musiclime.run_key"): run.data.tags.get("musiclime.log_count") for run in runs}
    assert {k: v for k, v in counts.items() if k} == {f"{p}/{s}": "1" for p in ("p1", "p10") for s in songs}
