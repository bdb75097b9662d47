"""compute.songs_per_job: one job per batch of songs runs every stage of each, skipping what is current."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from musiclime.pipeline.song_batches import is_current, step
from musiclime.pipeline.stages.batches import song_batch

from .workflow_helpers import job_counts, make_songs, snakemake, tiny_overrides

NO_TRACKING = "tracking.enabled=false"
PER_SONG_RULES = {"separate", "perturb", "attribute", "predict", "fit", "song_media", "song_mix", "evaluate"}


def essentials(path: Path) -> str:
    """An explanation without its timings and timestamps: what two runs of it must share."""
    document = json.loads(path.read_text())
    metadata = document["metadata"]
    for key in ("timestamp", "timings_s"):
        metadata.pop(key, None)
    metadata.get("alternative_surrogate", {}).pop("fit_seconds", None)
    metadata.get("stem_attribution", {}).pop("costs", None)
    return json.dumps(document, sort_keys=True)


def manifests(workdir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(workdir.glob("results/points/*/batches/*.json"))]


@pytest.mark.slow
def test_batches_make_what_per_song_jobs_make_and_redo_only_an_edited_song(tmp_path):
    songs = make_songs(tmp_path / "songs", n_songs=3, seconds=3.0)
    batched = tiny_overrides(songs, NO_TRACKING, "compute.songs_per_job=2")
    result = snakemake(tmp_path / "batched", batched)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stderr)
    assert counts["song_batch"] == 2 and not PER_SONG_RULES & set(counts), counts  # 3 songs, 2 a job
    first, second = manifests(tmp_path / "batched")
    assert first["songs"] == ["song0", "song1"] and second["songs"] == ["song2"]
    assert first["ran"] == {"embed": 0, "separate": 2, "perturb": 6, "attribute": 2, "predict": 6, "fit": 6,
                            "song_media": 2, "song_mix": 2, "evaluate": 2}  # each song: its separation, its coalitions once, 3 mask
    # seeds (stability), one evaluation

    per_song = snakemake(tmp_path / "per_song", tiny_overrides(songs, NO_TRACKING))
    assert per_song.returncode == 0, per_song.stderr[-3000:]
    def artifacts(root):  # Snakemake marks a folder output with a hidden .snakemake_timestamp: not an artifact
        return sorted(p.relative_to(root) for p in root.glob("results/songs/**/*.*") if not p.name.startswith("."))

    assert artifacts(tmp_path / "batched") == artifacts(tmp_path / "per_song")
    for path in (tmp_path / "batched").glob("results/songs/**/explanation.json"):
        assert essentials(path) == essentials(tmp_path / "per_song" / path.relative_to(tmp_path / "batched")), path
    for name in ("summary.tsv", "report.html", "explanations.parquet"):
        assert len(list((tmp_path / "batched").glob(f"results/points/*/{name}"))) == 1, name

    again = snakemake(tmp_path / "batched", batched)
    assert "Nothing to be done" in again.stdout + again.stderr
    untouched = {p: p.stat().st_mtime_ns for p in (tmp_path / "batched").glob("results/songs/song0/**/explanation.json")}
    time.sleep(1.1)
    lyrics = tmp_path / "songs" / "song1" / "lyrics.txt"
    lyrics.write_text(lyrics.read_text() + "a line added later\n")
    edited = snakemake(tmp_path / "batched", batched)
    assert edited.returncode == 0, edited.stderr[-3000:]
    assert job_counts(edited.stderr)["song_batch"] == 1  # the batch of song1 only
    redone = manifests(tmp_path / "batched")[0]
    assert redone["ran"] == {"embed": 0, "separate": 0, "perturb": 3, "attribute": 1, "predict": 3, "fit": 3,
                             "song_media": 1,
                             "song_mix": 0, "evaluate": 1}  # song1's lyrics-dependent steps; song0 untouched
    assert {p: p.stat().st_mtime_ns for p in untouched} == untouched


@pytest.mark.slow
def test_a_per_song_run_is_reused_by_batches(tmp_path):
    songs = make_songs(tmp_path / "songs", n_songs=2, seconds=3.0)
    assert snakemake(tmp_path, tiny_overrides(songs, NO_TRACKING)).returncode == 0
    result = snakemake(tmp_path, tiny_overrides(songs, NO_TRACKING, "compute.songs_per_job=5"))
    assert result.returncode == 0, result.stderr[-3000:]
    [manifest] = manifests(tmp_path)
    assert not any(manifest["ran"].values()) and manifest["skipped"]["fit"] == 6


def test_current_means_every_output_at_least_as_new_as_every_input(tmp_path):
    source, made = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text("a")
    assert not is_current([str(made)], [str(source)])
    made.write_text("b")
    os.utime(source, (time.time() - 10, time.time() - 10))
    assert is_current([str(made)], [str(source)]) and is_current([str(made)], [str(tmp_path / "missing")])
    os.utime(source, (time.time() + 10, time.time() + 10))
    assert not is_current([str(made)], [str(source)])
    folder = tmp_path / "stems"
    folder.mkdir()
    (folder / "drums.wav").write_text("c")
    os.utime(folder / "drums.wav", (time.time() + 20, time.time() + 20))  # a file in an input folder counts
    os.utime(source, (time.time() - 10, time.time() - 10))
    assert not is_current([str(made)], [str(source), str(folder)])


def test_a_failing_step_names_its_song_and_stage_and_keeps_earlier_songs(tmp_path):
    done = tmp_path / "done" / "mix.wav"
    with pytest.raises(Exception) as raised:
        song_batch({"ok": [], "bad": [step("song_mix", [str(tmp_path / "no-stems.npz"), str(done)],
                                                [str(done)], [])]}, tmp_path / "manifest.json")
    assert "song bad, stage song_mix" in "\n".join(getattr(raised.value, "__notes__", []))
    assert not (tmp_path / "manifest.json").exists()


def test_cluster_jobs_read_the_songs_as_the_main_process_checked_them(tmp_path, monkeypatch):
    """The main process records the checked songs; a cluster job's plan reads them without checking a file,
    and a sheet edited since (or no record) is refused with a plain error."""
    from musiclime.common.errors import ConfigError
    from musiclime.pipeline.hydra_configs import compose_sweep
    from musiclime.pipeline.plan import WorkflowPlan

    from .workflow_helpers import REPO

    monkeypatch.chdir(tmp_path)
    songs = make_songs(tmp_path / "songs", n_songs=3, seconds=1.0)
    sweep = compose_sweep(REPO / "conf", None, tiny_overrides(songs, "compute.songs_per_job=2"))
    with pytest.raises(ConfigError, match="no record of the checked songs of sample sheet"):
        WorkflowPlan.from_sweep(sweep, cluster_job=True)
    main = WorkflowPlan.from_sweep(sweep)
    (tmp_path / "songs" / "song1" / "mix.flac").unlink()  # a job must not check (nor see) this
    job = WorkflowPlan.from_sweep(sweep, cluster_job=True)
    assert job.songs == main.songs and job.batches() == main.batches() == [["song0", "song1"], ["song2"]]
    songs.write_text(songs.read_text() + "\n")  # the sheet edited after the main process planned
    with pytest.raises(ConfigError, match="do not edit the sheet while they run"):
        WorkflowPlan.from_sweep(sweep, cluster_job=True)


@pytest.mark.slow
def test_the_demo_plans_in_batches_after_its_songs_and_model(tmp_path):
    """The demo's songs and model are made by jobs: the batches wait for them (their stems are the
    generator's, not an input)."""
    result = snakemake(tmp_path, ["compute.songs_per_job=2"], None, "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["song_batch"] == 2 and counts["demo_songs"] == 1 and counts["train_demo_model"] == 1, counts
    assert not PER_SONG_RULES & set(counts), counts


def test_auto_plans_per_song_jobs_below_a_thousand_songs_and_about_a_hundred_batches_from_there():
    from musiclime.pipeline.song_batches import auto_songs_per_job, songs_per_job

    assert [auto_songs_per_job(n) for n in (1, 999, 1000, 1001, 10_000, 100_000)] == [0, 0, 10, 11, 100, 1000]
    assert -(-100_000 // auto_songs_per_job(100_000)) == 100 and -(-1001 // auto_songs_per_job(1001)) == 91
    assert songs_per_job("auto", 5000) == 50 and songs_per_job("7", 5000) == 7 and songs_per_job(0, 5000) == 0


def test_songs_per_job_is_auto_by_default_and_a_bad_value_names_the_key(tmp_path, monkeypatch):
    from musiclime.common.errors import ConfigError
    from musiclime.pipeline.hydra_configs import compose_sweep
    from musiclime.pipeline.plan import WorkflowPlan

    from .workflow_helpers import REPO

    monkeypatch.chdir(tmp_path)
    songs = make_songs(tmp_path / "songs", n_songs=2, seconds=1.0)
    sweep = compose_sweep(REPO / "conf", None, tiny_overrides(songs))
    assert sweep.points[0].config["compute"]["songs_per_job"] == "auto"
    assert WorkflowPlan.from_sweep(sweep).songs_per_job == 0  # 2 songs: a job per song and stage
    with pytest.raises(ConfigError, match="compute.songs_per_job.*must be auto or a whole number"):
        compose_sweep(REPO / "conf", None, tiny_overrides(songs, "compute.songs_per_job=-3"))
