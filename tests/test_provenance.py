"""Provenance: code version, package versions and content hashes in every explanation; the listing
command; byte-identical re-runs (explanation weights and the demo model's weight files)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from musiclime.common import provenance
from musiclime.common.errors import MusicLimeError
from musiclime.evidence.provenance import main as provenance_main
from musiclime.evidence.provenance import provenance_rows, summary_lines

from .workflow_helpers import make_songs, snakemake

ROOT = Path(__file__).resolve().parents[1]


def test_file_sha256_reads_in_chunks_and_sees_a_rewrite(tmp_path):
    path = tmp_path / "song.bin"
    data = np.random.default_rng(0).bytes(int(2.5 * provenance.CHUNK_BYTES))
    path.write_bytes(data)
    assert provenance.file_sha256(path) == hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-7])  # another size: the cache must not answer
    assert provenance.file_sha256(path) == hashlib.sha256(data[:-7]).hexdigest()
    with pytest.raises(MusicLimeError, match="missing.bin"):
        provenance.file_sha256(tmp_path / "missing.bin")


def test_describe_files_combines_like_sha256sum_and_says_why_when_empty(tmp_path):
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "a.pt").write_bytes(b"weights")
    record = provenance.describe_files([tmp_path / "b.json", tmp_path / "a.pt"])
    listing = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
                      for p in (tmp_path / "a.pt", tmp_path / "b.json"))
    assert record["sha256"] == hashlib.sha256(listing.encode()).hexdigest()
    assert list(record["files"]) == [str(tmp_path / "a.pt"), str(tmp_path / "b.json")]
    empty = provenance.describe_files(None, note="no weights here")
    assert empty == {"files": None, "sha256": None, "note": "no weights here"}


def test_package_versions_record_a_missing_package_as_null(monkeypatch):
    monkeypatch.setattr(provenance, "TRACKED_PACKAGES", (*provenance.TRACKED_PACKAGES, "no-such-package-musiclime"))
    versions = provenance.package_versions()
    assert versions["no-such-package-musiclime"] is None
    assert versions["numpy"] == np.__version__ and versions["python"].count(".") == 2
    assert set(versions) >= {"torch", "numpy", "scikit-learn", "lime", "openunmix"}


def test_code_version_is_the_checkout_commit_and_its_dirty_state():
    git = ["git", "-C", str(ROOT / "src" / "musiclime")]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("this copy of musiclime is not a git checkout")
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
    provenance.code_version.cache_clear()
    code = provenance.code_version()
    assert code["source"] == "git" and code["git_commit"] == head.stdout.strip()
    assert code["git_dirty"] is bool(status.strip())


def test_code_version_outside_a_checkout_is_the_package_version(tmp_path):
    shutil.copytree(ROOT / "src" / "musiclime", tmp_path / "musiclime", ignore=shutil.ignore_patterns("__pycache__"))
    script = "import json; from musiclime.common.provenance import code_version; print(json.dumps(code_version()))"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                          check=True)
    code = json.loads(done.stdout)
    assert code["source"] == "package" and code["git_commit"] is None and code["git_dirty"] is None
    assert code["version"] == metadata.version("musiclime")


def test_the_command_names_a_folder_without_explanations(tmp_path, capsys):
    assert provenance_main([str(tmp_path)]) == 2
    assert f"no explanation.json under {tmp_path}" in capsys.readouterr().err
    assert provenance_main([str(tmp_path / "nowhere")]) == 2
    assert f"results folder {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err


# --- the workflow, twice ---------------------------------------------------------------------------------
#: The demo model, trained by the workflow on a tiny corpus (a few seconds), tracking and reports off.
TINY_DEMO = ["model=demo", "model.train_demo.kwargs.n_train=4", "model.train_demo.kwargs.duration_s=1.0",
             "model.train_demo.kwargs.epochs=2", "model.train_demo.kwargs.clean_epochs=1",
             "model.train_demo.kwargs.n_test=0", "explain.num_samples=40", "explain.temporal_segments=3",
             "tracking.enabled=false", "evaluation.enabled=false", "report.pictures=false",
             "report.listenable=false", "report.html=false", "report.aggregate=false"]


def weights_bytes(workdir: Path) -> dict[str, bytes]:
    """Per explanation (path relative to the results folder): its weights of every label, as bytes."""
    found = {}
    for path in sorted((workdir / "results").rglob("explanation.json")):
        explanations = json.loads(path.read_text())["explanations"]
        for name, entry in sorted(explanations.items()):
            found[f"{path.relative_to(workdir / 'results')}:{name}"] = (
                np.asarray(entry["weights"], dtype=np.float64).tobytes()
                + np.asarray([entry["intercept"]], dtype=np.float64).tobytes())
    return found


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """The same config and seed in three fresh work folders: twice with 2 cores, once with 1."""
    runs = []
    for cores in (2, 2, 1):
        workdir = tmp_path_factory.mktemp(f"cores{cores}-")
        sheet = make_songs(workdir / "songs", n_songs=2, seconds=2.0)
        result = snakemake(workdir, ["data=sheet", f"data.sample_sheet={sheet}", *TINY_DEMO], cores=cores)
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(workdir)
    return runs


@pytest.mark.slow
def test_same_config_and_seed_give_byte_identical_weights(three_runs):
    first, second, one_core = three_runs
    model_files = ("resources/models/demo/model.pt", "resources/models/demo/config.json")
    for name in model_files:  # the demo model: the training's torch threads are fixed, whatever the cores
        assert (first / name).read_bytes() == (second / name).read_bytes() == (one_core / name).read_bytes(), name
    weights = weights_bytes(first)
    assert len(weights) == 2 and weights == weights_bytes(second)
    # with 1 core, inference sums in another order: the same weights to rounding, not to the bit
    for key, value in weights_bytes(one_core).items():
        np.testing.assert_allclose(np.frombuffer(value), np.frombuffer(weights[key]), rtol=1e-6, atol=1e-9)


@pytest.mark.slow
def test_every_explanation_records_code_packages_and_hashes(three_runs):
    workdir = three_runs[0]
    [path, _] = sorted((workdir / "results").rglob("explanation.json"))
    record = json.loads(path.read_text())["metadata"]["provenance"]
    song = json.loads(path.read_text())["metadata"]["song_info"]
    assert record["code"] == provenance.code_version()
    assert record["packages"] == provenance.package_versions()
    for kind in ("audio", "lyrics"):
        assert record["inputs"][kind]["sha256"] == hashlib.sha256(Path(song[kind]).read_bytes()).hexdigest()
    weights_dir = workdir / "resources" / "models" / "demo"
    expected = provenance.describe_files([weights_dir / "model.pt", weights_dir / "config.json"])
    assert record["weights"]["sha256"] == expected["sha256"]
    assert sorted(Path(p).name for p in record["weights"]["files"]) == ["config.json", "model.pt"]


@pytest.mark.slow
def test_the_command_lists_explanations_by_code_and_weights(three_runs):
    workdir = three_runs[0]
    rows = provenance_rows(workdir / "results")
    assert len(rows) == 2 and {row.song for row in rows} == {"song0", "song1"}
    weights = json.loads(next((workdir / "results").rglob("explanation.json")).read_text())[
        "metadata"]["provenance"]["weights"]["sha256"]
    summary = summary_lines(rows)
    code = provenance.short_code(provenance.code_version()).split("+")[0]
    state = "dirty" if provenance.code_version()["git_dirty"] else "clean"
    assert summary[0] == f"2 explanations from commit {code} ({state}), weights {weights[:12]}"
    done = subprocess.run([sys.executable, "-m", "musiclime.evidence.provenance", "results"], cwd=workdir,
                          capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["explanation", "song", "code", "weights", "audio"]
    assert sum(weights[:12] in line for line in lines[1:3]) == 2 and summary[0] in lines


def test_predictions_without_provenance_get_the_song_files_hashed_at_fit(tmp_path):
    from musiclime.pipeline.stages.fitting import recorded_provenance

    (tmp_path / "mix.flac").write_bytes(b"audio bytes")
    (tmp_path / "lyrics.txt").write_text("la la\n")
    song = {"song_id": "s", "audio": str(tmp_path / "mix.flac"), "lyrics": str(tmp_path / "lyrics.txt")}
    record = recorded_provenance({"model": "old"}, song)
    assert record["inputs"]["audio"] == {"path": song["audio"], "sha256": hashlib.sha256(b"audio bytes").hexdigest(),
                                         "hashed_by": "fit"}
    assert record["weights"]["sha256"] is None and "re-run" in record["weights"]["note"]
