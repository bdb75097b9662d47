"""model=fusion in the real workflow: tiny encoders built by the workflow, every labelled song embedded once per
encoder, the head trained and tested, the songs explained at the cost of their distinct inputs, the randomization
checks on the detector, MLflow's detector run; what a change re-runs; errors before any job."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from musiclime.common.artifacts import load_arrays
from musiclime.common.sample_sheet import read_sample_sheet, write_sample_sheet

from .index_page import rows_by_song
from .workflow_helpers import job_counts, make_songs, snakemake

pytestmark = pytest.mark.slow

EXPLAINED = ["song0", "song1"]


def fusion_overrides(sheet: Path, *extra: str) -> list[str]:
    """8 labelled songs (4 per class), two explained; 60 samples on 4 segments; a small head."""
    return ["data=sheet", f"data.sample_sheet={sheet}", "model=fusion_tiny", "explain.num_samples=60",
            "explain.temporal_segments=4", f"data.songs=[{','.join(EXPLAINED)}]", "evaluation.stability_seeds=2",
            "evaluation.randomization_seeds=1", "evaluation.randomization_cascade=true",
            "evaluation.data_randomization=true", "report.listenable=false", *extra]


@pytest.fixture(scope="module")
def fusion_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fusion")
    sheet = make_songs(root / "songs", n_songs=8, seconds=3.0)
    result = snakemake(root, fusion_overrides(sheet), timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return root, sheet, result


def test_one_command_embeds_trains_tests_and_explains(fusion_run):
    root, _, result = fusion_run
    counts = job_counts(result.stderr + result.stdout)
    assert counts["tiny_encoder"] == 2
    assert counts["embed"] == 16  # 8 labelled songs x 2 encoders, each once
    assert counts["train_head"] == 2  # the detector and its shuffled-labels twin
    metrics_files = sorted((root / "results" / "detectors").glob("*/metrics.json"))
    assert len(metrics_files) == 2
    metrics = json.loads(next(p for p in metrics_files if "shuffled" not in p.parent.name).read_text())
    for key in ("accuracy", "balanced_accuracy", "roc_auc", "confusion_matrix"):
        assert key in metrics["test"]
    assert "test" in metrics["audio_only"] and "test" in metrics["lyrics_only"]
    point = next((root / "results" / "points").iterdir())
    assert sorted(p.stem for p in (point / "songs").glob("*.html")) == EXPLAINED
    tracked = json.loads((point / "tracked.json").read_text())
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    detector_run = client.get_run(tracked["detector_run_id"])
    assert detector_run.data.tags["musiclime.role"] == "detector"
    assert detector_run.data.metrics["test_accuracy"] == metrics["test"]["accuracy"]
    assert "audio_only_test_balanced_accuracy" in detector_run.data.metrics
    song_run = client.get_run(tracked["runs"]["song0"])
    assert song_run.data.tags["musiclime.detector_run_id"] == tracked["detector_run_id"]
    assert "Detector fusion-tiny-" in (point / "report.html").read_text()


def test_each_explanation_encodes_its_distinct_masks(fusion_run):
    root, _, _ = fusion_run
    for predictions in sorted((root / "results" / "songs").glob("song0/*/*/fusion-tiny-*/predictions.npz")):
        meta, arrays = load_arrays(predictions)
        masks_meta, mask_arrays = load_arrays(predictions.parent.parent / "masks.npz")
        n_audio = masks_meta["n_audio"]
        masks = mask_arrays["masks"]
        costs = meta["costs"]
        assert costs["model_items"] == 0
        # the masks' distinct inputs, plus the all-off row when it was scored apart
        distinct_audio = len(np.unique(masks[:, :n_audio], axis=0))
        distinct_lyrics = len(np.unique(masks[:, n_audio:], axis=0))
        extra = 1 if meta["all_off"] == "scored" else 0
        assert costs["audio_encodings"] in (distinct_audio, distinct_audio + extra)
        assert costs["lyric_encodings"] in (distinct_lyrics, distinct_lyrics + extra)


def test_randomization_checks_run_on_the_detector_and_show_on_its_page(fusion_run):
    root, _, _ = fusion_run
    evaluation = json.loads(next((root / "results" / "songs" / "song0").rglob("evaluation.json")).read_text())
    assert {"randomization", "cascade_head", "data_randomization"} <= {v["check"] for v in evaluation["verdicts"]}
    page = next((root / "results" / "points").glob("*/songs/song0.html")).read_text()
    assert "randomization:" in page and "data randomization:" in page


def test_an_explain_change_runs_no_embed_or_train_head_and_a_head_change_no_embed(fusion_run):
    root, sheet, _ = fusion_run
    result = snakemake(root, fusion_overrides(sheet, "explain.kernel_width=5"), None, "-n")
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("fit") and not counts.get("embed") and not counts.get("train_head"), counts
    result = snakemake(root, fusion_overrides(sheet, "model.head.kind=logreg"), None, "-n")
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("train_head") == 2 and not counts.get("embed"), counts


def test_in_batches_the_embeddings_are_batch_jobs_too(fusion_run, tmp_path):
    """compute.songs_per_job > 0: the labelled songs are embedded by a job per batch and encoder, not a job
    per song, into the same files with the same values; the head trains on them as before."""
    root, _, _ = fusion_run
    sheet = make_songs(tmp_path / "songs", n_songs=8, seconds=3.0)  # the fusion run's songs, made again
    overrides = fusion_overrides(sheet, "compute.songs_per_job=3", "evaluation.enabled=false", "tracking.enabled=false")
    result = snakemake(tmp_path, overrides, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["embed_batch"] == 2 * 3 and "embed" not in counts, counts  # 8 songs in 3 batches, 2 encoders
    # the detector's head only: with the trust checks off there is no shuffled-labels twin to train
    assert counts["train_head"] == 1 and counts["song_batch"] == 1 and "predict" not in counts, counts
    batched = sorted(tmp_path.glob("results/songs/*/embeddings/*/embedding.npz"))
    assert len(batched) == 16
    for path in batched:
        expected = root / path.relative_to(tmp_path)
        np.testing.assert_allclose(load_arrays(path)[1]["embedding"], load_arrays(expected)[1]["embedding"],
                                   atol=1e-6)
    for metrics in tmp_path.glob("results/detectors/*/metrics.json"):  # the same heads, trained alike
        expected = json.loads((root / metrics.relative_to(tmp_path)).read_text())["test"]
        assert json.loads(metrics.read_text())["test"]["accuracy"] == pytest.approx(expected["accuracy"])


def test_a_given_head_checkpoint_trains_nothing(fusion_run):
    root, sheet, _ = fusion_run
    head = next(p for p in (root / "results" / "detectors").iterdir() if "shuffled" not in p.name)
    result = snakemake(root, fusion_overrides(sheet, f"model.head.checkpoint={head}"), None, "-n")
    counts = job_counts(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not counts.get("train_head") and not counts.get("embed"), counts


def test_labels_of_one_class_stop_before_any_job(tmp_path):
    sheet = make_songs(tmp_path / "songs", n_songs=6, seconds=2.0)
    songs = read_sample_sheet(sheet)
    write_sample_sheet(sheet, [type(s)(**{**s.__dict__, "label": 1}) for s in songs])
    result = snakemake(tmp_path, fusion_overrides(sheet), None, "-n")
    assert result.returncode != 0
    assert "one class" in (result.stderr + result.stdout).lower()
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("encoder, message", [("no-such-org/no-such-encoder", "model.audio"),
                                              ("/nonexistent/encoder-folder", "does not exist")])
def test_an_unavailable_encoder_stops_before_any_job(tmp_path, encoder, message):
    sheet = make_songs(tmp_path / "songs", n_songs=6, seconds=2.0)
    result = snakemake(tmp_path, fusion_overrides(sheet, "model=fusion", f"model.audio.encoder={encoder}",
                                                  "model.lyrics.encoder=/nonexistent/lyrics"), None, "-n")
    output = result.stderr + result.stdout
    assert result.returncode != 0 and message in output, output[-3000:]
    assert not (tmp_path / "results").exists()


def test_a_nan_encoder_names_the_song_and_loses_nothing(fusion_run, tmp_path):
    root, sheet, _ = fusion_run
    import torch
    from transformers import AutoModel

    source = root / "resources" / "encoders" / "tiny-roberta"
    broken = tmp_path / "nan-roberta"
    model = AutoModel.from_pretrained(source, local_files_only=True)
    with torch.no_grad():
        model.embeddings.word_embeddings.weight.fill_(float("nan"))
    model.save_pretrained(broken)
    for name in os.listdir(source):
        if "token" in name or name.endswith(".txt") or name == "vocab.json" or name == "merges.txt":
            (broken / name).write_bytes((source / name).read_bytes())
    before = sorted(p.stat().st_mtime_ns for p in (root / "results").rglob("embedding.npz"))
    result = snakemake(root, fusion_overrides(sheet, "model=fusion", f"model.lyrics.encoder={broken}",
                                              f"model.audio.encoder={root / 'resources/encoders/tiny-ast'}"))
    output = result.stderr + result.stdout + "".join(p.read_text() for p in (root / "logs" / "embed").rglob("*.log"))
    assert result.returncode != 0
    assert "NaN" in output and "song" in output
    after = sorted(p.stat().st_mtime_ns for p in (root / "results").rglob("embedding.npz"))
    assert after[:len(before)] == before or set(before) <= set(after)


# --- results that cannot go stale or leak (embeddings keyed by the encoder's content; splits on pages) -----

def test_pages_name_each_songs_split_and_the_head_records_its_encoders(fusion_run):
    root, _, _ = fusion_run
    head = next(p for p in (root / "results" / "detectors").iterdir() if "shuffled" not in p.name)
    metrics = json.loads((head / "metrics.json").read_text())
    split_of = {song: name for name, songs in metrics["split"].items() for song in songs}
    point = next((root / "results" / "points").iterdir())
    for song in EXPLAINED:
        page = (point / "songs" / f"{song}.html").read_text()
        assert f"Detector split: {split_of[song]}" in page, song
    index = (point / "report.html").read_text()
    splits = {song: row["split"] for song, row in rows_by_song(point / "report.html").items()}
    tags = {"train": "train", "validation": "validation", "test": "test: held out"}
    assert splits == {song: tags[split_of[song]] for song in EXPLAINED}
    assert "held out (test split)" in index
    assert "the head&#39;s test scores over its" in index or "the head's test scores over its" in index
    recorded = json.loads((head / "head.json").read_text())["encoders"]
    assert recorded["audio"]["key"].startswith("audio-tiny-ast-") and recorded["audio"]["identity"] is None  # built
    assert metrics["encoders"] == recorded


def test_overwriting_a_local_encoder_re_embeds_and_retrains_and_a_touch_does_not(fusion_run, tmp_path):
    """A local folder (not one the workflow builds) is keyed by its bytes: a fine-tuned checkpoint saved over it
    schedules embed and train_head again; a touch (same bytes, new mtime) re-hashes it and schedules nothing."""
    root, sheet, _ = fusion_run
    import shutil

    import torch
    from transformers import AutoModel

    mine = tmp_path / "my-ast"
    shutil.copytree(root / "resources" / "encoders" / "tiny-ast", mine)
    overrides = fusion_overrides(sheet, "~model.tiny_encoders.audio", f"model.audio.encoder={mine}")
    result = snakemake(root, overrides, None, "--until", "train_head")
    assert result.returncode == 0, result.stderr[-4000:]
    counts = job_counts(result.stderr + result.stdout)
    assert counts.get("embed") == 8 and counts.get("train_head") == 2 and not counts.get("tiny_encoder"), counts
    embedding = next(p for p in (root / "results" / "songs" / "song0" / "embeddings").glob("audio-my-ast-*/*.npz"))
    identity = load_arrays(embedding)[0]["encoder_identity"]
    assert len(identity["sha256"]) == 64 and identity["files"] >= 2
    heads = [p for p in (root / "results" / "detectors").glob("*/head.json")
             if json.loads(p.read_text())["encoders"]["audio"]["identity"] == identity]
    assert len(heads) == 2  # the head and its shuffled-labels twin name the encoder they were trained on

    for path in mine.iterdir():
        os.utime(path)  # same bytes, new mtime: re-hashed, same key
    result = snakemake(root, overrides, None, "-n", "--until", "train_head")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert not counts.get("embed") and not counts.get("train_head"), result.stdout[-3000:]

    model = AutoModel.from_pretrained(mine, local_files_only=True)
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    model.save_pretrained(mine)  # a fine-tuned checkpoint saved over the folder
    result = snakemake(root, overrides, None, "-n", "--until", "train_head")
    counts = job_counts(result.stdout + result.stderr)
    assert counts.get("embed") == 8 and counts.get("train_head") == 2, counts


def sheet_with_a_copy(tmp_path, same_file: bool) -> Path:
    """8 labelled songs and song0's audio again, as the same path or as a copy under another name."""
    import shutil

    sheet = make_songs(tmp_path / "songs", n_songs=8, seconds=2.0)
    songs = read_sample_sheet(sheet)
    audio = songs[0].audio
    if not same_file:
        audio = shutil.copy(audio, audio.with_name("copy-of-mix.flac"))
    write_sample_sheet(sheet, [*songs, type(songs[0])("song0-again", Path(audio), songs[0].lyrics, songs[0].stems, 0)])
    return sheet


@pytest.mark.parametrize("same_file", [True, False], ids=["same-file", "copy"])
def test_the_same_audio_twice_stops_before_any_job_naming_both_rows(tmp_path, same_file):
    sheet = sheet_with_a_copy(tmp_path, same_file)
    result = snakemake(tmp_path, fusion_overrides(sheet), None, "-n")
    output = result.stderr + result.stdout
    assert result.returncode != 0
    assert "line 2, song 'song0'" in output and "line 10, song 'song0-again'" in output, output[-3000:]
    assert ("the same file" if same_file else "copy-of-mix.flac") in output and "data.duplicate_audio=merge" in output
    assert not (tmp_path / "results").exists()


def test_merged_copies_are_embedded_once(tmp_path):
    sheet = sheet_with_a_copy(tmp_path, same_file=False)
    result = snakemake(tmp_path, fusion_overrides(sheet, "data.duplicate_audio=merge"), None, "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stdout + result.stderr)["embed"] == 16  # 8 songs, not 9, by 2 encoders
    assert "song0-again" in result.stderr and "merged into line 2, song 'song0'" in result.stderr
