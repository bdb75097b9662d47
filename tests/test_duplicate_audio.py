"""The same audio in two rows of a sheet (one file named twice, a link, or a copy with the same bytes) stops the run
before any job naming both rows, or is merged on request (data.duplicate_audio=merge); either way no audio lands on
two sides of a detector's split. Only files that share a size are read."""

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musiclime.cli.app import app
from musiclime.common.audio import save_audio
from musiclime.common.duplicate_audio import find_duplicate_audio
from musiclime.common.errors import ConfigError
from musiclime.common.file_hashes import FileHashes
from musiclime.common.sample_sheet import Song
from musiclime.models.fusion.splits import SPLITS, split_songs
from musiclime.pipeline.hydra_configs import compose_sweep
from musiclime.pipeline.plan import WorkflowPlan

REPO = Path(__file__).resolve().parents[1]
RATE = 8000


def noise_wav(path: Path, seed: int, seconds: float = 1.0) -> Path:
    """A noise WAV: every song of one duration has the same size (the sample hash must tell them apart)."""
    rng = np.random.default_rng(seed)
    save_audio(path, (0.1 * rng.standard_normal(int(RATE * seconds))).astype(np.float32), RATE)
    return path


def rows_of(root: Path, names: list[tuple[str, str]]) -> list[tuple[int, Song]]:
    return [(line, Song(song_id, root / audio, None)) for line, (song_id, audio) in enumerate(names, start=2)]


def test_one_file_twice_a_link_and_a_copy_are_found_and_same_size_songs_are_not(tmp_path):
    for i in range(3):
        noise_wav(tmp_path / f"s{i}.wav", seed=i)
    noise_wav(tmp_path / "longer.wav", seed=9, seconds=2.0)
    shutil.copy(tmp_path / "s0.wav", tmp_path / "copy-of-s0.wav")
    os.symlink(tmp_path / "s1.wav", tmp_path / "link-to-s1.wav")
    os.link(tmp_path / "s2.wav", tmp_path / "hardlink-to-s2.wav")
    rows = rows_of(tmp_path, [("a", "s0.wav"), ("b", "s1.wav"), ("c", "s2.wav"), ("d", "longer.wav"),
                              ("a-2", "copy-of-s0.wav"), ("b-2", "link-to-s1.wav"), ("b-3", "../" + tmp_path.name
                                                                                     + "/s1.wav"),
                              ("c-2", "hardlink-to-s2.wav"), ("gone", "missing.wav")])
    hashes = FileHashes(None)
    groups = find_duplicate_audio(rows, hashes)
    assert [[song.song_id for _, song in g.rows] for g in groups] == [["a", "a-2"], ["b", "b-2", "b-3"], ["c", "c-2"]]
    assert [g.same_file for g in groups] == [False, True, True]
    # the three same-size distinct songs and the copy were sampled; only the copy and its original read in full
    assert {Path(p).name for kind, p in hashes.computed if kind == "sha256"} == {"s0.wav", "copy-of-s0.wav"}
    assert "longer.wav" not in {Path(p).name for _, p in hashes.computed}
    problem = groups[0].problems()[0]
    assert problem.line == 6 and "copy-of-s0.wav" in problem.reason and "line 2, song 'a'" in problem.reason


def write_sheet(root: Path, rows: list[tuple[str, str, int]]) -> Path:
    """A TSV of ``(song_id, audio, label)``; every song gets lyrics."""
    lines = ["song_id\taudio\tlyrics\tlabel"]
    for song_id, audio, label in rows:
        (root / f"{song_id}.txt").write_text(f"a line of {song_id}\nanother line\n")
        lines.append(f"{song_id}\t{audio}\t{song_id}.txt\t{label}")
    sheet = root / "songs.tsv"
    sheet.write_text("\n".join(lines) + "\n")
    return sheet


def labelled_with_copies(root: Path) -> Path:
    """8 labelled songs (4 per class), then a copy of s0 under another name and s3's file named again."""
    for i in range(8):
        noise_wav(root / f"s{i}.wav", seed=i)
    shutil.copy(root / "s0.wav", root / "s0-copy.wav")
    return write_sheet(root, [*[(f"s{i}", f"s{i}.wav", i % 2) for i in range(8)],
                              ("s0-again", "s0-copy.wav", 0), ("s3-again", "s3.wav", 1)])


def plan(sheet: Path, *extra: str) -> WorkflowPlan:
    overrides = ["data=sheet", f"data.sample_sheet={sheet}", "separation=time_only", *extra]
    return WorkflowPlan.from_sweep(compose_sweep(REPO / "conf", None, overrides))


def test_the_same_audio_twice_stops_the_plan_naming_both_rows_whatever_skip_bad_songs_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sheet = labelled_with_copies(tmp_path)
    for extra in ([], ["data.skip_bad_songs=true"]):
        with pytest.raises(ConfigError) as caught:
            plan(sheet, *extra)
        message = str(caught.value)
        assert "data.duplicate_audio=merge" in message and str(sheet) in message
        assert (f"line 2, song 's0' ({tmp_path / 's0.wav'}); line 10, song 's0-again' ({tmp_path / 's0-copy.wav'})"
                in message)
        assert "files with the same bytes" in message and "the same file" in message
        assert "line 5, song 's3'" in message and "line 11, song 's3-again'" in message
    assert not (tmp_path / "results").exists()


def test_a_bad_row_and_a_copy_are_named_in_one_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sheet = labelled_with_copies(tmp_path)
    (tmp_path / "s5.wav").write_bytes(b"not audio")
    with pytest.raises(ConfigError, match=r"(?s)line 7, song 's5'.*and the same audio.*song 's0-again'"):
        plan(sheet)


def test_merge_keeps_the_first_row_and_logs_the_rows_merged(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    sheet = labelled_with_copies(tmp_path)
    with caplog.at_level(logging.WARNING, logger="musiclime.common.duplicate_audio"):
        merged = plan(sheet, "data.duplicate_audio=merge")
    assert sorted(merged.songs) == [f"s{i}" for i in range(8)]
    assert "line 10, song 's0-again'" in caplog.text and "merged into line 2, song 's0'" in caplog.text
    assert "line 11, song 's3-again'" in caplog.text and "the same file" in caplog.text
    with pytest.raises(ConfigError, match="merged into an earlier row"):
        plan(sheet, "data.duplicate_audio=merge", "data.songs=[s0-again]")


def test_no_audio_lands_on_two_sides_of_a_detectors_split(tmp_path, monkeypatch):
    """Copies merged, the head's songs split as rule train_head splits them: each audio's bytes on one side."""
    monkeypatch.chdir(tmp_path)
    sheet = labelled_with_copies(tmp_path)
    shutil.copy(tmp_path / "s6.wav", tmp_path / "s6-copy.wav")
    rows = (tmp_path / "songs.tsv").read_text().splitlines()
    (tmp_path / "songs.tsv").write_text("\n".join([*rows, "s6-again\ts6-copy.wav\ts0.txt\t0"]) + "\n")
    fusion = plan(sheet, "data.duplicate_audio=merge", "model=fusion_tiny")
    (head,) = [h for h in fusion.detectors.heads.values() if not h["shuffle_labels"]]
    songs = head["songs"]
    hashes = FileHashes(None)
    content = {song: hashes.sha256(fusion.training_song(song).audio) for song, _, _ in songs}
    assert len(set(content.values())) == len(songs)  # one song per audio
    for seed in range(5):
        split = split_songs([label for _, label, _ in songs], [song for song, _, _ in songs], seed=seed,
                            validation=head["head"]["validation"], test=head["head"]["test"])
        sides = {name: {content[songs[i][0]] for i in split[name]} for name in SPLITS}
        assert not (sides["train"] & sides["test"] or sides["train"] & sides["validation"]
                    or sides["validation"] & sides["test"])


def test_musiclime_sheet_reports_the_copies_and_skip_bad_keeps_the_first(tmp_path):
    noise_wav(tmp_path / "songs" / "a.wav", seed=0)
    noise_wav(tmp_path / "songs" / "b.wav", seed=1)
    shutil.copy(tmp_path / "songs" / "a.wav", tmp_path / "songs" / "z-copy.wav")
    for name in ("a", "b", "z-copy"):
        (tmp_path / "songs" / f"{name}.txt").write_text("a line\n")
    out = tmp_path / "songs.tsv"
    refused = CliRunner().invoke(app, ["sheet", str(tmp_path / "songs"), "--out", str(out)])
    assert refused.exit_code != 0 and not out.exists()
    assert "z-copy.wav" in refused.output and "a.wav" in refused.output and "same bytes" in refused.output
    kept = CliRunner().invoke(app, ["sheet", str(tmp_path / "songs"), "--out", str(out), "--skip-bad"])
    assert kept.exit_code == 0, kept.output
    assert [line.split("\t")[0] for line in out.read_text().splitlines()[1:]] == ["a", "b"]
