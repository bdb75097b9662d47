"""The real Snakemake workflow on tiny data: caching, sweeps, validation, resuming."""

import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from musiclime import load_explanation
from musiclime.common.artifacts import load_arrays
from musiclime.evidence.result_table import load_point_table

from .index_page import rows_by_song
from .workflow_helpers import REPO, SNAKEFILE, explanation_weights, job_counts, make_songs, snakemake, tiny_overrides

pytestmark = pytest.mark.slow
NO_TRACKING = "tracking.enabled=false"


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One full run on 2 songs of 5 s with 50 samples; later tests build on it."""
    workdir = tmp_path_factory.mktemp("workflow")
    sheet = make_songs(workdir / "songs")
    overrides = tiny_overrides(sheet, NO_TRACKING)
    result = snakemake(workdir, overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, overrides, result


def test_first_run_produces_every_artifact(first_run):
    workdir, _, result = first_run
    counts = job_counts(result.stderr)
    # evaluation: 2 more mask seeds per song for stability (custom_example names no randomized model)
    assert counts == {"separate": 2, "perturb": 6, "attribute": 2, "predict": 6, "fit": 6, "song_media": 2,
                      "song_mix": 2,
                      "evaluate": 2, "report": 1, "point_table": 1, "pages": 1, "aggregate": 1, "sweep_summary": 1, "sweep_index": 1,
                      "all": 1}
    results = workdir / "results"
    assert len(list(results.glob("songs/*/*/*/*/*/explanation.json"))) == 2 * 3  # the point's, 2 more seeds
    explanations = sorted(p.parents[1] / "explanation.json"
                          for p in results.glob("songs/*/*/*/*/*/evaluation-*/evaluation.json"))
    assert len(explanations) == 2
    for path in explanations:
        exp = load_explanation(path)
        assert exp.metadata["parameters"]["num_samples"] == 50
        assert len(exp.features) == 4 * 4 + 3  # 4 sources x 4 segments + 3 lyric lines
        label = str(exp.predicted_label)
        assert len(exp.metadata["full_fit"]["labels"][label]["weights"]) == len(exp.features)
        certified = exp.metadata["certification"]["labels"][label]
        assert {"certified_top_k", "ranking", "tied_at_boundary", "audio", "lyrics"} <= set(certified)
        assert len(certified["audio"]["ranking"]) == 16 and exp.metadata["certification"]["alpha"] == 0.1
        [media] = list(path.parent.glob("media-*"))
        assert {p.name for p in media.iterdir() if not p.name.startswith(".")} == {
            "heatmap.png", "bars.png", "lyrics.png", "top.wav", "removed.wav", "components.json", "media.json"}
        [evaluation] = list(path.parent.glob("evaluation-*/evaluation.json"))
        metrics = json.loads(evaluation.read_text())["metrics"]
        assert {"jaccard_top5", "jaccard_top10", "kendall_tau", "deletion_aopc", "random_deletion_aopc",
                "insertion_aopc", "random_insertion_aopc"} <= set(metrics)
        for level in (path.parent, path.parents[1], path.parents[2], path.parents[3]):
            assert (level / "config.yaml").is_file(), f"resolved config missing beside {level}"
    point = next((results / "points").iterdir())
    assert {p.name for p in point.iterdir()} == {"summary.tsv", "report.html", "config.yaml", "songs",
                                                 "explanations.parquet",
                                                 "attribution-by-class.tsv", "importance-paper.csv", "importance-paper.png",
                                                 "importance-paper-classes.png", "importance-paper-comparison.png",
                                                 "importance-paper.parquet", "findings-paper.csv",
                                                 "findings-paper.parquet"}
    assert sorted(p.name for p in (point / "songs").glob("*.html")) == ["song0.html", "song1.html"]
    assert {"I_LIME", "I_LIME_low", "I_HOM_high"} <= set((point / "importance-paper.csv").read_text().splitlines()[0]
                                                         .split(","))
    assert "What holds across the dataset" in (point / "report.html").read_text()
    table = load_point_table(results)  # every explanation's features: 2 songs x 19 features, with trust figures
    assert len(table) == 2 * 19 and set(table.song_id) == {"song0", "song1"} and "trust_jaccard_top5" in table
    index = (point / "report.html").read_text()
    assert all(f'src="importance-paper-{name}.png"' in index for name in ("classes", "comparison"))
    assert "explain:" in (point / "config.yaml").read_text()
    assert len(next((results / "sweeps").iterdir()).joinpath("summary.tsv").read_text().splitlines()) == 3
    assert "MusicLIME results" in result.stdout + result.stderr


def worker_of(log: Path) -> tuple[int, int]:
    """(worker PID, Snakemake PID) named in a job's log."""
    found = re.search(r"in worker (\d+) of Snakemake process (\d+)", log.read_text())
    assert found, log
    return int(found.group(1)), int(found.group(2))


def test_every_job_runs_in_warm_workers_of_the_snakemake_process(first_run):
    """Cheap jobs run in the compute workers; separate, predict and evaluate in a model worker that keeps
    the model: one build per model, however many jobs."""
    workdir, _, result = first_run
    logs = workdir / "logs"
    cheap = [path for rule in ("perturb", "fit", "song_media", "report", "pages", "sweep_summary")
             for path in sorted(logs.glob(f"{rule}/**/*.log"))]
    assert len(cheap) == 6 + 6 + 2 + 1 + 1 + 1
    heavy = [path for rule in ("separate", "attribute", "predict", "evaluate")
             for path in sorted(logs.glob(f"{rule}/**/*.log"))]
    assert len(heavy) == 2 + 2 + 6 + 2
    cheap_workers = {worker_of(path) for path in cheap}
    heavy_workers = {worker_of(path) for path in heavy}
    assert {snakemake_pid for _, snakemake_pid in cheap_workers | heavy_workers} == {result.pid}
    assert len(cheap_workers) < len(cheap)  # warm workers serve several jobs each
    assert len(heavy_workers) == 1 and not heavy_workers & cheap_workers  # --cores 2 // threads 2: one model worker
    builds = [line for path in heavy for line in path.read_text().splitlines() if ": built in" in line]
    assert len(builds) == 1 and "model 'loudness'" in builds[0], builds


def test_a_process_per_heavy_job_gives_the_same_explanations(first_run, tmp_path):
    """compute.model_workers=0 (a fresh process per heavy job, as before warm model workers) explains the same."""
    workdir, overrides, _ = first_run
    result = snakemake(tmp_path, [*overrides, "compute.model_workers=0"])
    assert result.returncode == 0, result.stderr[-3000:]
    predict_logs = sorted((tmp_path / "logs").glob("predict/**/*.log"))
    assert len({worker_of(path)[0] for path in predict_logs}) == len(predict_logs) == 6
    assert explanation_weights(tmp_path) == explanation_weights(workdir)


def test_a_model_worker_killed_mid_job_costs_only_that_song(tmp_path):
    """A model worker killed under a predict job (as by the OOM killer) fails that job, naming the song and
    the cause; a new worker takes the other song's jobs and the run goes on (keep-going in the profile)."""
    sheet = make_songs(tmp_path / "songs")
    overrides = tiny_overrides(sheet, NO_TRACKING, "evaluation.enabled=false",
                               "model.predict_fn._target_=tests.crashing_model.crashing_predict_fn",
                               "+model.predict_fn.crash_song=1")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = snakemake(tmp_path / "run", overrides, env=env)
    assert result.returncode != 0
    # the song's first job with the model: its coalitions (attribute), then predict
    assert re.search(r"rule (attribute|predict), song song1, model \S+: the models worker \(pid \d+\) running it "
                     r"died \(killed by "
                     r"SIGKILL\)", result.stderr), result.stderr[-3000:]
    assert "out of memory" in result.stderr
    assert len(list((tmp_path / "run").glob("results/songs/song0/**/explanation.json"))) == 1
    assert not list((tmp_path / "run").glob("results/songs/song1/**/predictions.npz"))


def test_bad_rows_stop_the_run_before_any_job_or_are_skipped_and_listed(tmp_path):
    """Among good songs, a corrupt audio file and an empty lyrics file: by default the run stops before any
    job, naming the corrupt row; with data.skip_bad_songs=true the others are explained, the corrupt one is
    listed (skipped_songs.tsv, index page, end message) and the empty-lyrics song is an instrumental with a note."""
    sheet = make_songs(tmp_path / "songs", n_songs=4)
    (tmp_path / "songs/song2/mix.flac").write_bytes(np.random.default_rng(0).bytes(40_000))
    (tmp_path / "songs/song3/lyrics.txt").write_text("[Instrumental]\n  \n")  # a tag is not a lyric line
    overrides = tiny_overrides(sheet, NO_TRACKING, "evaluation.enabled=false", "report.aggregate=false")
    stopped = snakemake(tmp_path / "stop", overrides)
    assert stopped.returncode != 0
    said = stopped.stdout + stopped.stderr
    assert re.search(r"1 of 4 rows cannot be explained.*\n\s+- line 4, song 'song2': audio file cannot be decoded: "
                     r"\S+song2/mix.flac", said), said[-3000:]
    assert "song 'song3': the lyrics file" in said and "holds no lyric line" in said  # a warning, not an error
    assert not (tmp_path / "stop/results").exists()

    run = tmp_path / "skip"
    skipped = snakemake(run, [*overrides, "data.skip_bad_songs=true"])
    assert skipped.returncode == 0, skipped.stderr[-3000:]
    explained = {p.relative_to(run / "results/songs").parts[0] for p in run.glob("results/songs/*/**/explanation.json")}
    assert explained == {"song0", "song1", "song3"}
    [table] = run.glob("results/sweeps/*/skipped_songs.tsv")
    header, row = table.read_text().splitlines()
    assert header.split("\t") == ["song_id", "line", "stage", "reason"] and row.startswith("song2\t4\tcheck\t")
    [index] = run.glob("results/sweeps/*/index.html")
    assert "Songs not explained (1)" in index.read_text() and "mix.flac" in index.read_text()
    said = skipped.stdout + skipped.stderr
    assert "songs not explained" in said and "line 4, song 'song2'" in said and "note, song song3" in said
    [instrumental] = run.glob("results/songs/song3/**/explanation.json")
    explanation = load_explanation(instrumental)
    assert "explained as an instrumental" in explanation.metadata["song_info"]["notes"][0]
    assert {f["type"] for f in explanation.features} == {"audio"}
    [page] = run.glob("results/points/*/songs/song3.html")
    assert "explained as an instrumental" in page.read_text()


def test_snakemake_report_of_a_run_has_its_categories(first_run):
    workdir, overrides, _ = first_run
    result = snakemake(workdir, overrides, None, "--report", str(workdir / "report.html"))
    assert result.returncode == 0, result.stderr[-3000:]
    text = (workdir / "report.html").read_text()
    for category in ("Songs", "Global importance", "Sweep points"):
        assert category in text, category


def test_second_run_has_nothing_to_do(first_run):
    workdir, overrides, _ = first_run
    result = snakemake(workdir, overrides)
    assert result.returncode == 0
    assert "Nothing to be done" in result.stderr


def test_kernel_sweep_refits_only(first_run):
    workdir, overrides, _ = first_run
    result = snakemake(workdir, overrides + ["explain.kernel_width=5,10,50"])
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stderr)
    assert counts.get("fit") == 3 * 3 * 2, counts  # 3 kernel widths x 3 mask seeds (stability) x 2 songs
    assert counts.get("song_media") == 3 * 2 and counts.get("evaluate") == 3 * 2, counts
    assert not {"separate", "perturb", "predict"} & set(counts), counts
    points = list((workdir / "results" / "points").iterdir())
    assert len(points) == 4  # the first run's point and 3 sweep points, each with its resolved config
    widths = sorted(float(p.joinpath("config.yaml").read_text().split("kernel_width: ")[1].split()[0])
                    for p in points)
    assert widths == [5.0, 10.0, 25.0, 50.0]


def test_a_certification_level_or_method_sweep_refits_only(first_run):
    workdir, overrides, _ = first_run
    result = snakemake(workdir, overrides + ["explain.certification.alpha=0.05"])
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stderr)
    assert counts.get("fit") and not {"separate", "perturb", "predict"} & set(counts), result.stderr[-2000:]
    alphas = {load_explanation(p).metadata["certification"]["alpha"]
              for p in (workdir / "results" / "songs").glob("*/*/*/*/*/explanation.json")}
    assert alphas == {0.1, 0.05}
    result = snakemake(workdir, overrides + ["explain.certification.method=bonferroni"])
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stderr)
    assert counts.get("fit") and not {"separate", "perturb", "predict"} & set(counts), result.stderr[-2000:]
    methods = {load_explanation(p).metadata["certification"]["method"]
               for p in (workdir / "results" / "songs").glob("*/*/*/*/*/explanation.json")}
    assert methods == {"holm", "bonferroni"}


def test_num_samples_and_model_changes_never_reseparate(first_run):
    workdir, overrides, _ = first_run
    result = snakemake(workdir, overrides + ["explain.num_samples=60"], None, "-n")
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("predict") == 2 * 3 and "separate" not in counts, counts  # 3 mask seeds (stability)
    assert "attribute" not in counts, counts  # a song's coalitions do not depend on its masks
    result = snakemake(workdir, overrides + ["model.predict_fn.segment=first_half"], None, "-n")
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("predict") == 2 * 3 and not {"separate", "perturb"} & set(counts), counts
    assert counts.get("attribute") == 2, counts  # a new model: each song's coalitions once, for its 3 mask seeds


def test_stopping_rule_fits_the_rows_it_scored_and_a_kernel_sweep_reuses_them(first_run):
    workdir, overrides, _ = first_run
    stopping = overrides + ["explain.num_samples=400", "explain.stopping.enabled=true",
                            "explain.stopping.first_round=40", "explain.stopping.growth=2"]
    result = snakemake(workdir, stopping)
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stderr).get("predict") == 2 * 3, result.stderr[-2000:]
    found = 0
    for path in (workdir / "results" / "songs").glob("*/*/n400-*/*/*/explanation.json"):
        meta = load_explanation(path).metadata
        record = meta["stopping"]
        assert [r["rows"] for r in record["rounds"]] == [40, 80, 160, 320, 400][:len(record["rounds"])]
        assert meta["samples_used"] == record["samples_used"] == record["rounds"][-1]["rows"]
        assert (record["stopped"] == "stable") == (record["rounds"][-1]["separation"] >=
                                                   record["rounds"][-1]["critical_z"])
        predictions_meta, arrays = load_arrays(path.parents[1] / "predictions.npz")
        assert len(arrays["predictions"]) == predictions_meta["samples_used"] == meta["samples_used"]
        found += 1
    assert found == 2 * 3  # 2 songs x 3 mask seeds
    result = snakemake(workdir, stopping + ["explain.kernel_width=5"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert not {"perturb", "predict"} & set(job_counts(result.stderr)), result.stderr[-2000:]


def test_kernel_shap_costs_a_fit_not_a_model_run(first_run, tmp_path):
    """explain.surrogate=kernel_shap refits on the cached predictions (which hold the all-off row);
    both surrogates' weights and trust metrics reach the explanation, evaluation and page."""
    from musiclime.common.artifacts import save_arrays
    from musiclime.common.errors import MusicLimeError
    from musiclime.pipeline.stages import fit

    workdir, overrides, _ = first_run
    result = snakemake(workdir, overrides + ["explain.surrogate=kernel_shap"])
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stderr)
    assert counts.get("fit") == 2 * 3 and not {"separate", "perturb", "predict"} & set(counts), counts
    paths = sorted((workdir / "results").glob("songs/*/*/*/*/shap-*/explanation.json"))
    assert len(paths) == 2 * 3
    for path in paths:
        meta = json.loads(path.read_text())["metadata"]
        assert meta["surrogate"] == meta["parameters"]["surrogate"] == "kernel_shap"
        assert meta["alternative_surrogate"]["method"] == "lime"
        [label] = meta["alternative_surrogate"]["agreement"]
        assert set(meta["alternative_surrogate"]["agreement"][label]) == {"jaccard_top5", "spearman_abs"}
        predictions_meta, arrays = load_arrays(path.parents[1] / "predictions.npz")
        assert arrays["prediction_all_off"].shape == (2,) and predictions_meta["n_items"] == 50 + 2
        exp = load_explanation(path)
        label = int(label)
        assert sum(w for _, w in exp.local_exp[label]) + exp.intercept[label] == pytest.approx(
            exp.predictions[0, label], abs=1e-9)  # efficiency: the values add up to v(1) - v(0)
    for evaluation in (workdir / "results").glob("songs/*/*/*/*/shap-*/evaluation-*/evaluation.json"):
        metrics = json.loads(evaluation.read_text())["metrics"]
        assert {"lime_jaccard_top5", "lime_kendall_tau", "lime_deletion_aopc", "lime_insertion_aopc"} <= set(metrics)
    point = next(p for p in (workdir / "results" / "points").iterdir()
                 if "surrogate: kernel_shap" in (p / "config.yaml").read_text())
    page = (point / "songs" / "song0.html").read_text()
    assert "LIME (this explanation)" not in page and "Kernel SHAP (this explanation)" in page and "Spearman" in page
    # predictions cached before the all-off row existed: a clear error naming the fix
    old = tmp_path / "predictions.npz"
    predictions_meta, arrays = load_arrays(paths[0].parents[1] / "predictions.npz")
    arrays.pop("prediction_all_off")
    save_arrays(old, predictions_meta, **arrays)
    masks_npz = next(paths[0].parents[2].glob("masks.npz"))
    fit_slice = {"kernel_width": 25.0, "distance_scale": 1.0, "feature_selection": "auto", "num_features": 20,
                 "labels": None, "surrogate": "kernel_shap"}
    with pytest.raises(MusicLimeError, match="re-run predict"):
        fit(masks_npz, old, fit_slice, {"song_id": "song0"}, {}, tmp_path / "e.json", tmp_path / "c.yaml")


def test_named_experiment_expands_its_sweep(first_run):
    workdir, overrides, _ = first_run
    result = snakemake(workdir, overrides, "kernel_sweep", "-n")
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("report") == 3, counts  # one report per point: kernel widths 5, 25, 50
    # fits of kernel widths 5 and 50 exist if the sweep test ran first; predictions always exist
    assert counts.get("fit", 0) in (0, 2 * 3 * 2) and not {"separate", "perturb", "predict"} & set(counts), counts


@pytest.mark.parametrize("override, message", [
    ("explain.num_samples=1", "explain.num_samples: must be >= 2"),
    ("explain.kernel_width=0", "explain.kernel_width: must be > 0"),
    ("explain.modality=video", "unknown modality 'video'"),
    ("separation=nope", "Could not find 'separation/nope'"),
    ("separation.backend=magic", "separation.backend: unknown backend 'magic'"),
    ("explain.num_sampels=10", "explain.num_sampels"),
])
def test_bad_config_fails_before_any_job(tmp_path, override, message):
    sheet = make_songs(tmp_path / "songs", n_songs=1, seconds=1.0)
    result = snakemake(tmp_path, tiny_overrides(sheet, NO_TRACKING, override))
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "results").exists()


def test_missing_song_file_is_named(tmp_path):
    sheet = make_songs(tmp_path / "songs", n_songs=2, seconds=1.0)
    (tmp_path / "songs" / "song1" / "mix.flac").unlink()
    result = snakemake(tmp_path, tiny_overrides(sheet, NO_TRACKING))
    assert result.returncode != 0
    assert "song 'song1'" in result.stderr and "mix.flac" in result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("kill_signal", [signal.SIGINT, signal.SIGKILL])
def test_killed_predict_resumes_without_reading_a_truncated_artifact(tmp_path, kill_signal):
    sheet = make_songs(tmp_path / "songs", n_songs=1, seconds=5.0)
    # 20000 one-item batches keep predict busy for several seconds, long enough to be killed mid-way
    overrides = tiny_overrides(sheet, NO_TRACKING, "evaluation.enabled=false", "explain.num_samples=20000",
                               "model.batch_size=1")
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(tmp_path), "--cores", "1",
               "--config", "overrides=[" + ",".join(f'"{o}"' for o in overrides) + "]"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("logs/predict/**/*.log")):
        time.sleep(0.2)
    time.sleep(0.5)  # the predict script has started
    os.killpg(process.pid, kill_signal)  # Ctrl-C, or a hard kill (power loss, OOM killer)
    process.wait(timeout=60)
    assert not list(tmp_path.glob("results/**/predictions.npz")), "predict was meant to be interrupted"
    if kill_signal == signal.SIGKILL:  # Snakemake's lock survives a hard kill: the README says to unlock
        assert snakemake(tmp_path, overrides, None, "--unlock").returncode == 0
    result = snakemake(tmp_path, overrides, None, cores=1)
    assert result.returncode == 0, result.stderr[-3000:]
    [predictions] = list(tmp_path.glob("results/**/predictions.npz"))
    _, arrays = load_arrays(predictions)
    assert arrays["predictions"].shape == (20000, 2) and np.all(np.isfinite(arrays["predictions"]))
    assert not list(tmp_path.glob("results/**/.predictions*")), "no temporary file is left behind"


def test_lint_is_clean():
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--lint"],
                            capture_output=True, text=True, cwd=SNAKEFILE.parent, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("backend", ["openunmix", "time_only"])
def test_other_separation_backends(tmp_path, backend):
    from musiclime.factorization.openunmix_weights import init_untrained_weights_folder

    sheet = make_songs(tmp_path / "songs", n_songs=1, seconds=2.0)
    extra = [f"separation={backend}", "explain.num_samples=20", "evaluation.enabled=false"]
    if backend == "openunmix":
        weights = init_untrained_weights_folder(tmp_path / "umx", hidden_size=8)
        extra += [f"separation.model={weights}", "separation.device=cpu"]
    result = snakemake(tmp_path, tiny_overrides(sheet, NO_TRACKING, *extra))
    assert result.returncode == 0, result.stderr[-3000:]
    [path] = list(tmp_path.glob("results/songs/song0/*/*/*/*/explanation.json"))
    exp = load_explanation(path)
    assert exp.metadata["factorization"]["backend"] == backend
    n_audio = 4 * 4 if backend == "openunmix" else 4
    assert sum(f["type"] == "audio" for f in exp.features) == n_audio


def test_demo_job_generates_its_songs_and_model(tmp_path):
    """The main job's own path (demo songs + demo model training), shrunk to run in about a minute."""
    overrides = ["data.demo.n_songs=2", "data.demo.duration_s=4", "explain.num_samples=30",
                 "explain.temporal_segments=2", NO_TRACKING, "model.train_demo.kwargs.n_train=8",
                 "model.train_demo.kwargs.epochs=2", "model.train_demo.kwargs.clean_epochs=1",
                 "model.train_demo.kwargs.n_test=2", "model.train_demo.kwargs.duration_s=3",
                 "model.train_demo.kwargs.test_duration_s=3", "evaluation.randomization_cascade=true",
                 "evaluation.data_randomization=true"]
    result = snakemake(tmp_path, overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stderr)
    # per song: 3 mask seeds (stability), and with each of them (evaluation.randomization_seeds) the
    # randomized demo model, its 2 cascade steps and the model trained on shuffled labels (sanity
    # checks); two trainings: the demo model and the shuffled one
    assert counts["demo_songs"] == 1 and counts["train_demo_model"] == 2 and counts["fit"] == 2 * (3 + 4 * 3)
    evaluations = list(tmp_path.glob("results/songs/*/*/*/demo-*/*/evaluation-*/evaluation.json"))
    assert len(evaluations) == 2
    for evaluation in evaluations:
        document = json.loads(evaluation.read_text())
        checks = {v["check"] for v in document["verdicts"]}
        for prefix in ("randomization", "cascade_fusion_head", "cascade_embeddings", "data_randomization"):
            rho = document["metrics"][f"{prefix}_spearman_within_modality"]  # KeyError: not computed
            assert (prefix in checks) == (rho is not None), prefix  # a verdict whenever there is a number
    metrics = json.loads((tmp_path / "resources/models/demo/metrics.json").read_text())
    assert metrics["n_train"] == 8 and 0.0 <= metrics["accuracy"] <= 1.0 and not metrics["shuffle_labels"]
    shuffled = json.loads((tmp_path / "resources/models/demo-shuffled/metrics.json").read_text())
    assert shuffled["shuffle_labels"] and shuffled["n_train"] == 8
    assert len((tmp_path / "resources/demo/samples.tsv").read_text().splitlines()) == 1 + 2
    # one model worker (--cores 2 // threads 2) builds each of the 5 models once, for 2 x 15 predict jobs
    builds = [re.search(r"(model '[^']+'): built in", line).group(1)
              for path in tmp_path.glob("logs/*/**/*.log") for line in path.read_text().splitlines()
              if ": built in" in line]
    assert sorted(builds) == sorted(f"model '{name}'" for name in (
        "demo", "demo-randomized", "demo-randomized-fusion_head", "demo-randomized-embeddings", "demo-shuffled-labels")), builds
    summary = next((tmp_path / "results/points").glob("*/summary.tsv")).read_text()
    assert "demo00_ai" in summary and "demo01_human" in summary
    check_ground_truth_on_the_demo(tmp_path, overrides)


def check_ground_truth_on_the_demo(workdir: Path, overrides: list[str]) -> None:
    """Ground-truth files beside the demo songs (where the demo writes them) re-run only the evaluation,
    whose check reaches evaluation.json, the song pages, the index and MLflow; an edited truth re-runs it."""
    from mlflow.tracking import MlflowClient

    from musiclime.factorization.lyrics import lyric_lines

    for folder in sorted((workdir / "resources/demo").glob("demo*")):
        first = lyric_lines((folder / "lyrics.txt").read_text(encoding="utf-8"))[0]
        (folder / "ground_truth.json").write_text(json.dumps({
            "format": 1, "style": folder.name.split("_")[-1], "label": int(folder.name.endswith("human")),
            "audio_cues": [{"stem": "vocals", "start_s": 0.0, "end_s": 2.0, "cue": "test"}],
            "temporal_segments": 2, "components": ["vocals_T0", "drums_T1"], "lyric_lines": [first]}))
    tracked = [o for o in overrides if o != NO_TRACKING] + ["tracking.experiment_name=truth"]
    result = snakemake(workdir, tracked)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stderr)
    assert counts["evaluate"] == 2 and not {"predict", "fit", "separate", "demo_songs"} & set(counts), counts
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    runs = [r for r in client.search_runs([client.get_experiment_by_name("truth").experiment_id])
            if r.data.tags.get("musiclime.role") != "parent"]
    assert len(runs) == 2
    for run in runs:
        explanation = workdir / run.data.tags["musiclime.explanation_file"]
        [evaluation] = explanation.parent.glob("evaluation-*/evaluation.json")
        document = json.loads(evaluation.read_text())
        check = document["ground_truth"]
        assert check["mapping"] == "components" and Path(check["file"]).name == "ground_truth.json"
        label = str(document["label"])
        assert check["labels"][label]["audio"]["k"] == 2 and check["labels"][label]["lyrics"]["k"] >= 1
        for name in ("ground_truth_audio_auc", "ground_truth_audio_recall", "ground_truth_lyrics_auc"):
            assert run.data.metrics[name] == pytest.approx(document["metrics"][name]), name
    pages = list(workdir.glob("results/points/*/songs/demo00_ai.html"))
    assert any('id="ground-truth">Ground truth: AUC' in page.read_text() for page in pages)
    index = next(workdir.glob("results/sweeps/*/index.html"))
    assert "<th title=\"songs with ground truth" in index.read_text()
    assert any(row["ground truth"].startswith("audio ") for row in rows_by_song(index).values())
    # an edited truth re-runs the check (a dry run lists the jobs)
    truth = workdir / "resources/demo/demo00_ai/ground_truth.json"
    truth.write_text(truth.read_text().replace("drums_T1", "bass_T1"))
    dry = snakemake(workdir, tracked, None, "-n")
    assert dry.returncode == 0 and job_counts(dry.stdout + dry.stderr).get("evaluate") == 1, dry.stdout[-2000:]
