"""An embedding is keyed by what its encoder is, not only by the settings that name it: a local folder's content
(hashed once, cached by path, size and mtime) or a cached hub model's revision. A changed encoder changes the
embedding key, the head key and the model key; a touched one changes nothing."""

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from musiclime.common.audio import save_audio
from musiclime.common.file_hashes import FileHashes, sample_sha256
from musiclime.models.fusion.encoder_identity import encoder_identity
from musiclime.pipeline.hydra_configs import compose_sweep
from musiclime.pipeline.plan import WorkflowPlan

REPO = Path(__file__).resolve().parents[1]


def fake_encoder(folder: Path, weights: bytes = b"weights v1") -> Path:
    """A save_pretrained-like folder (the plan reads files, it loads no model)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "roberta"}')
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "tokenizer.json").write_text('{"vocab": {}}')
    return folder


def rewrite_keeping_mtime(path: Path, data: bytes) -> None:
    stat = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_folder_is_identified_by_its_files_bytes_wherever_it_lies(tmp_path):
    hashes = FileHashes(tmp_path / "hashes.json")
    first = encoder_identity({"encoder": str(fake_encoder(tmp_path / "enc"))}, hashes)
    assert first["files"] == 3 and len(first["sha256"]) == 64
    copy = shutil.copytree(tmp_path / "enc", tmp_path / "elsewhere" / "enc-copy")
    assert encoder_identity({"encoder": str(copy)}, hashes) == first
    (tmp_path / "enc" / ".hidden").write_text("editor state")  # hidden files are not the encoder's
    assert encoder_identity({"encoder": str(tmp_path / "enc")}, hashes) == first
    (tmp_path / "enc" / "model.safetensors").write_bytes(b"weights v2")  # a fine-tuned checkpoint saved over it
    assert encoder_identity({"encoder": str(tmp_path / "enc")}, hashes) != first
    (tmp_path / "enc" / "tokenizer.json").write_text('{"vocab": {"a": 0}}')  # the tokenizer is part of it too
    assert encoder_identity({"encoder": str(tmp_path / "enc")}, hashes)["sha256"] != first["sha256"]


def test_hashes_are_cached_by_path_size_and_mtime_and_a_touch_rehashes_to_the_same_value(tmp_path):
    folder = fake_encoder(tmp_path / "enc")
    first = FileHashes(tmp_path / "hashes.json")
    identity = encoder_identity({"encoder": str(folder)}, first)
    first.save()
    assert len(first.computed) == 3 and (tmp_path / "hashes.json").is_file()
    again = FileHashes(tmp_path / "hashes.json")
    assert encoder_identity({"encoder": str(folder)}, again) == identity and again.computed == []
    os.utime(folder / "model.safetensors", ns=(1, 10**18))  # touched: hashed again, same bytes, same identity
    touched = FileHashes(tmp_path / "hashes.json")
    assert encoder_identity({"encoder": str(folder)}, touched) == identity
    assert [kind for kind, _ in touched.computed] == ["sha256"]
    touched.save()
    # what the cache cannot see: same size, same mtime, other bytes (documented: size + mtime are the key)
    rewrite_keeping_mtime(folder / "model.safetensors", b"weights v9")
    assert encoder_identity({"encoder": str(folder)}, FileHashes(tmp_path / "hashes.json")) == identity


def test_a_sample_hash_reads_the_middle_and_tells_same_size_files_apart(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.bytes(200_000), rng.bytes(200_000)
    (tmp_path / "a").write_bytes(a)
    (tmp_path / "b").write_bytes(b)
    (tmp_path / "a2").write_bytes(a)
    assert sample_sha256(tmp_path / "a") == sample_sha256(tmp_path / "a2") != sample_sha256(tmp_path / "b")
    silent_start = bytes(100_000) + a[100_000:]  # same size, same (silent) start and end as another song
    (tmp_path / "c").write_bytes(silent_start)
    (tmp_path / "d").write_bytes(bytes(100_000) + b[100_000:150_000] + silent_start[150_000:])
    assert sample_sha256(tmp_path / "c") != sample_sha256(tmp_path / "d")
    (tmp_path / "small").write_bytes(b"x")
    assert sample_sha256(tmp_path / "small") != sample_sha256(tmp_path / "a")


def fake_hub_cache(cache: Path, repo: str, revision: str) -> Path:
    """The Hugging Face hub cache layout: refs/main names the snapshot of a commit."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot / "config.json").write_text("{}")
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    return cache


def test_a_hub_model_is_identified_by_the_revision_of_its_cached_snapshot_offline(tmp_path):
    cache = fake_hub_cache(tmp_path / "hub", "org/encoder", "a" * 40)
    settings = {"encoder": "org/encoder"}
    assert encoder_identity(settings, cache_dir=cache) == {"revision": "a" * 40}
    fake_hub_cache(cache, "org/encoder", "b" * 40)  # a new revision pulled into the cache
    assert encoder_identity(settings, cache_dir=cache) == {"revision": "b" * 40}
    assert encoder_identity({"encoder": "org/not-cached"}, cache_dir=cache) is None
    assert encoder_identity({"_target_": "pkg.factory"}) is None


# --- the plan: keys follow the encoder ---------------------------------------------------------------------

def write_sheet(root: Path, n_songs: int = 6) -> Path:
    """``n_songs`` labelled noise songs (3 per class at least) and their TSV sheet."""
    rng = np.random.default_rng(1)
    lines = ["song_id\taudio\tlyrics\tlabel"]
    for i in range(n_songs):
        save_audio(root / f"s{i}.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), 8000)
        (root / f"s{i}.txt").write_text(f"line {i}\nanother line\n")
        lines.append(f"s{i}\ts{i}.wav\ts{i}.txt\t{i % 2}")
    sheet = root / "songs.tsv"
    sheet.write_text("\n".join(lines) + "\n")
    return sheet


def fusion_plan(sheet: Path, audio: Path, lyrics: Path, *extra: str) -> WorkflowPlan:
    overrides = ["data=sheet", f"data.sample_sheet={sheet}", "model=fusion", f"model.audio.encoder={audio}",
                 f"model.lyrics.encoder={lyrics}", "separation=time_only", "evaluation.data_randomization=true",
                 *extra]
    return WorkflowPlan.from_sweep(compose_sweep(REPO / "conf", None, overrides))


def keys(plan: WorkflowPlan) -> dict:
    point = next(iter(plan.points))
    return {"encoders": sorted(plan.detectors.encoders), "heads": sorted(plan.detectors.heads),
            "model": plan.keys(point)["model"]}


def test_overwriting_a_local_encoder_changes_its_embedding_head_and_model_keys_and_a_touch_changes_none(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sheet = write_sheet(tmp_path)
    audio, lyrics = fake_encoder(tmp_path / "my-ast"), fake_encoder(tmp_path / "my-roberta")
    before = keys(fusion_plan(sheet, audio, lyrics))
    assert (tmp_path / ".musiclime" / "file_hashes.json").is_file()
    plan = fusion_plan(sheet, audio, lyrics)
    encoder = next(s for k, s in plan.detectors.encoders.items() if k.startswith("audio-"))
    assert encoder["identity"]["files"] == 3
    assert plan.points[next(iter(plan.points))].config["model"]["encoder_identity"]["audio"] == encoder["identity"]
    for path in audio.iterdir():
        os.utime(path)  # touched, same bytes
    assert keys(fusion_plan(sheet, audio, lyrics)) == before
    (audio / "model.safetensors").write_bytes(b"fine-tuned weights")
    after = keys(fusion_plan(sheet, audio, lyrics))
    changed = set(after["encoders"]) - set(before["encoders"])
    assert len(changed) == 1 and next(iter(changed)).startswith("audio-my-ast-")
    assert set(before["encoders"]) - set(after["encoders"]) == {k for k in before["encoders"] if k.startswith("audio-")}
    assert not set(after["heads"]) & set(before["heads"])  # the head and its shuffled-labels twin
    assert after["model"] != before["model"]


def test_a_given_head_whose_encoder_changed_is_warned_about_and_its_predictions_are_made_again(
        tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    sheet = write_sheet(tmp_path)
    audio, lyrics = fake_encoder(tmp_path / "my-ast"), fake_encoder(tmp_path / "my-roberta")
    plan = fusion_plan(sheet, audio, lyrics)
    identity = plan.points[next(iter(plan.points))].config["model"]["encoder_identity"]
    head = tmp_path / "head"
    head.mkdir()
    (head / "head.pt").write_bytes(b"")
    (head / "head.json").write_text(json.dumps({"encoders": {m: {"identity": identity[m]} for m in identity}}))
    given = ["model.head.checkpoint=" + str(head)]
    before = keys(fusion_plan(sheet, audio, lyrics, *given))
    assert before["heads"] == [] and "retrain" not in caplog.text
    (lyrics / "model.safetensors").write_bytes(b"other weights")
    with caplog.at_level(logging.WARNING, logger="musiclime.pipeline.detector_plan"):
        after = keys(fusion_plan(sheet, audio, lyrics, *given))
    assert after["model"] != before["model"]
    assert "model.head.checkpoint" in caplog.text and "model.lyrics" in caplog.text and "retrain" in caplog.text


def test_folders_the_workflow_builds_are_not_hashed_but_stay_inputs_of_the_jobs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sheet = write_sheet(tmp_path)
    overrides = ["data=sheet", f"data.sample_sheet={sheet}", "model=fusion_tiny", "separation=time_only"]
    plan = WorkflowPlan.from_sweep(compose_sweep(REPO / "conf", None, overrides))
    assert all("identity" not in s for s in plan.detectors.encoders.values())
    model = plan.points[next(iter(plan.points))].config["model"]
    assert "encoder_identity" not in model
    assert {"resources/encoders/tiny-ast", "resources/encoders/tiny-roberta"} <= set(model["requires"])


@pytest.mark.parametrize("value", ["keep", "warn"])
def test_data_duplicate_audio_takes_error_or_merge(value):
    from musiclime.common.errors import ConfigError

    with pytest.raises(ConfigError, match="data.duplicate_audio"):
        compose_sweep(REPO / "conf", None, ["data=sheet", "data.sample_sheet=x.tsv", f"data.duplicate_audio={value}"])
