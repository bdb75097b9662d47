"""The ``musiclime`` command: sheets from folders and tables, explain, open, provenance; and ``data=sheet``
reading a dataset table directly (``data.columns.*``, ``data.lyrics_as``, ``data.labels``, ``data.base_dir``)."""

from __future__ import annotations

import os
import re
import http.client
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from musiclime import load_explanation
from musiclime.cli import explain as explain_mod
from musiclime.cli.app import app
from musiclime.cli.serve import HOST, make_server, opening_line
from musiclime.common.audio import save_audio
from musiclime.common.errors import ConfigError
from musiclime.common.sample_sheet import read_sample_sheet
from musiclime.common.sheet_table import parse_label_map, read_table, sheet_rows, uses_table
from musiclime.common.song_checks import no_lyrics_note
from musiclime.pipeline.hydra_configs import compose_config, compose_sweep
from musiclime.pipeline.plan import NO_LYRICS_FILE, WorkflowPlan, checked_songs

from .audio_encoders import encode
from .audio_encoders import song as encoded_song

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
RATE = 22050
LYRICS = "[Verse]\nfirst line {i}\nsecond line\n[Chorus]\nchorus line\n"


def cli(*args: str):
    """Run the Typer app in-process; stdout and stderr apart."""
    return CliRunner().invoke(app, [str(a) for a in args])


def write_song(audio: Path, lyrics: str | None, seconds: float = 3.0, seed: int = 0) -> Path:
    """A noise song at ``audio`` and (unless ``None``) its same-named ``.txt`` lyrics."""
    rng = np.random.default_rng(seed)
    save_audio(audio, (0.1 * rng.standard_normal(int(RATE * seconds))).astype(np.float32), RATE)
    if lyrics is not None:
        audio.with_suffix(".txt").write_text(lyrics, encoding="utf-8")
    return audio


def song_folder(root: Path, n: int = 2, seconds: float = 3.0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_song(root / f"track {i}.flac", LYRICS.format(i=i), seconds, seed=i)
    return root


def sonics_csv(root: Path, missing: bool = True) -> Path:
    """A SONICS-style table: file name, label real/fake, lyrics inline (the first spans three lines);
    with ``missing``, line 6 names an audio file that does not exist."""
    audio = root / "audio"
    write_song(audio / "real_0.flac", None, seed=1)
    write_song(audio / "fake_0.flac", None, seed=2)
    lines = ["filename,label,lyrics", 'real_0.flac,real,"la la la\nsecond line\nthird line"',
             "fake_0.flac,fake,oh oh oh"]
    if missing:
        lines.append("gone.mp3,fake,never here")
    table = root / "sonics.csv"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


# --- musiclime sheet: folders ---------------------------------------------------------------------------

def test_sheet_from_a_folder_writes_a_checked_sheet_the_workflow_reads(tmp_path):
    folder = song_folder(tmp_path / "songs")
    result = cli("sheet", folder, "-o", tmp_path / "out" / "songs.tsv")
    assert result.exit_code == 0, result.output
    assert "2 songs" in result.stdout
    songs = read_sample_sheet(tmp_path / "out" / "songs.tsv")
    assert [s.song_id for s in songs] == ["track_0", "track_1"]
    assert [s.audio.resolve() for s in songs] == [(folder / f"track {i}.flac").resolve() for i in range(2)]
    assert songs[0].lyrics.read_text() == LYRICS.format(i=0)
    assert [s.label for s in songs] == [None, None]


def test_sheet_labels_come_from_sub_folder_names_mapped_by_labels(tmp_path):
    write_song(tmp_path / "songs" / "real" / "a.flac", "one line\n", seed=0)
    write_song(tmp_path / "songs" / "fake" / "a.flac", "other line\n", seed=1)
    result = cli("sheet", tmp_path / "songs", "-o", tmp_path / "songs.tsv", "--labels", "real=1,fake=0")
    assert result.exit_code == 0, result.output
    songs = {s.song_id: s.label for s in read_sample_sheet(tmp_path / "songs.tsv")}
    assert songs == {"real_a": 1, "fake_a": 0}
    unmapped = cli("sheet", tmp_path / "songs", "-o", tmp_path / "other.tsv")
    assert unmapped.exit_code == 2
    assert "sub-folder 'real' is not a label" in unmapped.stderr and "--labels" in unmapped.stderr
    assert not (tmp_path / "other.tsv").exists()


def test_sheet_refuses_an_empty_folder_and_a_song_without_lyrics(tmp_path):
    (tmp_path / "empty").mkdir()
    empty = cli("sheet", tmp_path / "empty", "-o", tmp_path / "s.tsv")
    assert empty.exit_code == 2
    assert "no audio file" in empty.stderr and str(tmp_path / "empty") in empty.stderr
    assert "Traceback" not in empty.output
    write_song(tmp_path / "songs" / "a.flac", "line\n")
    write_song(tmp_path / "songs" / "b.flac", None, seed=1)
    result = cli("sheet", tmp_path / "songs", "-o", tmp_path / "s.tsv")
    assert result.exit_code == 2
    assert "1 of 2 rows" in result.stderr and "no lyrics file b.txt" in result.stderr
    assert "or pass --no-lyrics to explain every song from its audio alone" in result.stderr
    assert str(tmp_path / "songs" / "b.flac") in result.stderr  # the row named by its audio file
    skipped = cli("sheet", tmp_path / "songs", "-o", tmp_path / "s.tsv", "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert [s.song_id for s in read_sample_sheet(tmp_path / "s.tsv")] == ["a"]
    assert "left out:" in skipped.stderr


def test_sheet_no_lyrics_writes_empty_lyrics_cells_and_ignores_the_txt_files(tmp_path):
    write_song(tmp_path / "songs" / "real" / "a.flac", "a line\n", seed=0)
    write_song(tmp_path / "songs" / "real" / "b.flac", None, seed=1)
    (tmp_path / "songs" / "real" / "c.flac").write_bytes(b"not audio")  # still checked: only the lyrics are skipped
    out = tmp_path / "songs.tsv"
    result = cli("sheet", tmp_path / "songs", "-o", out, "--no-lyrics", "--labels", "real=1", "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "2 songs (2 labelled 1 Human-Composed" in result.stdout and "2 without lyrics" in result.stdout
    assert "song 'c': audio file cannot be decoded" in result.stderr
    header, *rows = out.read_text(encoding="utf-8").splitlines()
    assert header.split("\t")[:3] == ["song_id", "audio", "lyrics"]
    assert [row.split("\t")[2] for row in rows] == ["", ""]
    songs = read_sample_sheet(out)
    assert [(s.song_id, s.lyrics, s.label) for s in songs] == [("a", None, 1), ("b", None, 1)]


def test_no_lyrics_conflicts_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv(explain_mod.SNAKEFILE_ENV, str(tmp_path / "no" / "Snakefile"))
    song = write_song(tmp_path / "a.flac", "x\n")
    both = cli("explain", song, "--lyrics", tmp_path / "a.txt", "--no-lyrics", "-o", tmp_path / "out")
    assert both.exit_code == 2 and "--lyrics names a song's lyrics and --no-lyrics says there are none" in both.stderr
    sheet = tmp_path / "s.tsv"
    sheet.write_text("song_id\taudio\tlyrics\na\ta.flac\ta.txt\n")
    on_sheet = cli("explain", sheet, "--no-lyrics", "-o", tmp_path / "out")
    assert on_sheet.exit_code == 2 and "--no-lyrics applies to audio files and folders" in on_sheet.stderr
    assert "leave a song's lyrics cell empty" in on_sheet.stderr and "Traceback" not in on_sheet.output
    table = sonics_csv(tmp_path, missing=False)
    read = cli("sheet", table, "-o", tmp_path / "t.tsv", "--no-lyrics", "--lyrics-col", "lyrics")
    assert read.exit_code == 2 and "--no-lyrics ignores the table's lyrics column" in read.stderr
    # songs named one by one: the error without the flag names it, and the flag builds the sheet
    bare = write_song(tmp_path / "c.flac", None, seed=2)
    missing = cli("explain", bare, "-o", tmp_path / "out")
    assert missing.exit_code == 2 and "no lyrics file c.txt" in missing.stderr and "--no-lyrics" in missing.stderr
    built, rows = explain_mod.sheet_for([str(bare), str(song)], tmp_path / "out", no_lyrics=True)
    assert [s.lyrics for s in read_sample_sheet(built)] == [None, None]
    assert rows.notes == {"c": [no_lyrics_note()], "a": [no_lyrics_note()]}


def test_sheet_finds_unreadable_files_as_the_workflow_does(tmp_path):
    folder = tmp_path / "songs"
    write_song(folder / "good.flac", "a line\n")
    (folder / "broken.mp3").write_bytes(b"ID3" + os.urandom(2000))
    (folder / "broken.txt").write_text("line\n")
    write_song(folder / "latin.flac", None, seed=2)
    (folder / "latin.txt").write_bytes("café\n".encode("latin-1"))
    result = cli("sheet", folder, "-o", tmp_path / "s.tsv")
    assert result.exit_code == 2
    assert re.search(r"broken\.mp3, song 'broken': audio file cannot be decoded", result.stderr), result.stderr
    assert "lyrics file is not UTF-8 text" in result.stderr and "latin.txt" in result.stderr
    assert "good" not in result.stderr.replace(str(tmp_path), "")


# --- musiclime sheet: tables ----------------------------------------------------------------------------

def test_a_sonics_style_csv_becomes_a_checked_sheet_and_a_missing_file_is_named_with_its_line(tmp_path):
    table = sonics_csv(tmp_path)
    out = tmp_path / "sheet" / "songs.tsv"
    audio = ("--base-dir", tmp_path / "audio")
    result = cli("sheet", table, "-o", out, "--audio-col", "filename", "--labels", "real=1,fake=0", *audio)
    assert result.exit_code == 2
    # the first row spans lines 2-4, so the missing file's row is line 6
    assert f"{table}, line 6, song 'gone': audio file not found" in result.stderr, result.stderr
    assert "1 of 3 rows" in result.stderr and not out.exists()
    result = cli("sheet", table, "-o", out, "--audio-col", "filename", "--labels", "real=1,fake=0", "--skip-bad",
                 *audio)
    assert result.exit_code == 0, result.output
    songs = read_sample_sheet(out)
    assert [(s.song_id, s.label) for s in songs] == [("real_0", 1), ("fake_0", 0)]
    assert songs[0].lyrics.read_text() == "la la la\nsecond line\nthird line\n"
    assert songs[0].lyrics.parent == out.parent / "lyrics"
    assert songs[0].audio.resolve() == (tmp_path / "audio" / "real_0.flac").resolve()


def test_a_table_missing_a_named_column_is_refused_naming_the_option_and_the_columns(tmp_path):
    table = sonics_csv(tmp_path, missing=False)
    result = cli("sheet", table, "-o", tmp_path / "s.tsv")  # default audio column 'audio' is absent
    assert result.exit_code == 2
    assert "has no column 'audio' (--audio-col)" in result.stderr
    assert "its columns: filename, label, lyrics" in result.stderr
    result = cli("sheet", table, "-o", tmp_path / "s.tsv", "--audio-col", "filename", "--label-col", "target")
    assert result.exit_code == 2 and "no column 'target' (--label-col)" in result.stderr


def test_label_mapping_errors(tmp_path):
    table = sonics_csv(tmp_path, missing=False)
    audio = ("--audio-col", "filename", "--base-dir", tmp_path / "audio")
    for labels, message in [("real=2", "label 'real' must map to 0"), ("real", "expected name=0 or name=1"),
                            ("", "expected name=0")]:
        result = cli("sheet", table, "-o", tmp_path / "s.tsv", *audio, "--labels", labels)
        assert result.exit_code == 2, labels
        assert message in result.stderr and "--labels" in result.stderr
    unmapped = cli("sheet", table, "-o", tmp_path / "s.tsv", *audio, "--labels", "real=1")
    assert unmapped.exit_code == 2
    assert "line 5, song 'fake_0': label 'fake' is not in --labels (real=1)" in unmapped.stderr
    raw = cli("sheet", table, "-o", tmp_path / "s.tsv", *audio)
    assert raw.exit_code == 2 and "label must be 0, 1 or empty, got 'real'" in raw.stderr


def test_lyrics_as_path_and_ids_from_a_column(tmp_path):
    write_song(tmp_path / "a.flac", "text of a\n")
    table = tmp_path / "t.tsv"
    table.write_text("name\twav\twords\nsong-a\ta.flac\ta.txt\n")
    result = cli("sheet", table, "-o", tmp_path / "out.tsv", "--id-col", "name", "--audio-col", "wav",
                 "--lyrics-col", "words", "--lyrics-as", "path")
    assert result.exit_code == 0, result.output
    [song] = read_sample_sheet(tmp_path / "out.tsv")
    assert song.song_id == "song-a" and song.lyrics.resolve() == (tmp_path / "a.txt").resolve()
    table.write_text("name\twav\twords\nsong-a\ta.flac\tmissing.txt\n")
    result = cli("sheet", table, "-o", tmp_path / "out.tsv", "--id-col", "name", "--audio-col", "wav",
                 "--lyrics-col", "words")
    assert result.exit_code == 2 and "line 2, song 'song-a': lyrics file not found" in result.stderr


def test_a_tables_split_column_is_carried_into_the_sheet(tmp_path):
    write_song(tmp_path / "a.flac", "text of a\n")
    write_song(tmp_path / "b.flac", "text of b\n", seed=1)
    table = tmp_path / "t.csv"
    table.write_text("audio,lyrics,split\na.flac,a.txt,train\nb.flac,b.txt,\n")
    result = cli("sheet", table, "-o", tmp_path / "out.tsv")
    assert result.exit_code == 0, result.output
    assert [s.split for s in read_sample_sheet(tmp_path / "out.tsv")] == ["train", None]
    table.write_text("audio,lyrics,split\na.flac,a.txt,training\n")
    result = cli("sheet", table, "-o", tmp_path / "out.tsv")
    assert result.exit_code == 2 and "line 2, song 'a': split must be one of" in result.stderr


def test_parquet_tables_and_a_clear_error_without_pyarrow(tmp_path, monkeypatch):
    import pyarrow as pa  # a dependency of mlflow, so always installed; the test hides it to see the error
    import pyarrow.parquet as pq

    write_song(tmp_path / "x.flac", None)
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"audio": ["x.flac"], "lyrics": ["one line\ntwo"], "label": [1]}), table)
    result = cli("sheet", table, "-o", tmp_path / "s.tsv")
    assert result.exit_code == 0, result.output
    [song] = read_sample_sheet(tmp_path / "s.tsv")
    assert song.label == 1 and song.lyrics.read_text() == "one line\ntwo\n"
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match="reading Parquet needs pyarrow"):
        read_table(table)


def test_a_table_without_lyrics_and_an_empty_path_cell(tmp_path):
    write_song(tmp_path / "audio" / "real_0.flac", None, seed=1)
    write_song(tmp_path / "audio" / "fake_0.flac", "oh oh\n", seed=2)
    table = tmp_path / "audio_only.csv"
    table.write_text("filename,label\nreal_0.flac,real\nfake_0.flac,fake\n")  # no lyrics column at all
    audio = ("--audio-col", "filename", "--labels", "real=1,fake=0", "--base-dir", tmp_path / "audio")
    refused = cli("sheet", table, "-o", tmp_path / "s.tsv", *audio)
    assert refused.exit_code == 2 and "has no column 'lyrics' (--lyrics-col)" in refused.stderr
    result = cli("sheet", table, "-o", tmp_path / "s.tsv", *audio, "--no-lyrics")
    assert result.exit_code == 0, result.output
    assert [(s.song_id, s.lyrics, s.label) for s in read_sample_sheet(tmp_path / "s.tsv")] == [
        ("real_0", None, 1), ("fake_0", None, 0)]
    # lyrics_as=path: an empty cell means no lyrics given, as in the workflow's own sheet
    paths = tmp_path / "paths.csv"
    paths.write_text("filename,lyrics\nreal_0.flac,\nfake_0.flac,fake_0.txt\n")
    result = cli("sheet", paths, "-o", tmp_path / "p.tsv", "--audio-col", "filename", "--lyrics-as", "path",
                 "--base-dir", tmp_path / "audio")
    assert result.exit_code == 0, result.output
    assert [s.lyrics for s in read_sample_sheet(tmp_path / "p.tsv")] == [None, tmp_path / "audio" / "fake_0.txt"]


def test_parse_label_map():
    assert parse_label_map("real=1, fake=0") == {"real": 1, "fake": 0}
    with pytest.raises(ConfigError, match="--labels"):
        parse_label_map("real=yes")


# --- data=sheet reading a table directly -----------------------------------------------------------------

def table_data(table: Path, *overrides: str) -> dict:
    from omegaconf import OmegaConf

    config = compose_config(REPO / "conf", ["data=sheet", f"data.sample_sheet={table}", *overrides])
    return OmegaConf.to_container(config.data)


def test_data_sheet_reads_a_dataset_table_with_the_column_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = sonics_csv(tmp_path, missing=False)
    data = table_data(table, "data.columns.audio=filename", "data.labels={real:1,fake:0}", "data.lyrics_as=text",
                      "data.base_dir=audio")  # relative to the working directory
    assert uses_table(data)
    songs, problems = checked_songs(data, need_stems=False)
    assert problems == []
    assert [(s.song_id, s.label) for s in songs] == [("real_0", 1), ("fake_0", 0)]
    lyrics = songs[0].lyrics
    assert lyrics.read_text() == "la la la\nsecond line\nthird line\n"
    assert lyrics.is_relative_to(Path(".musiclime") / "lyrics")
    stamp = lyrics.stat().st_mtime_ns
    time.sleep(0.01)
    checked_songs(data, need_stems=False)  # every Snakefile parse reads the table again
    assert lyrics.stat().st_mtime_ns == stamp, "unchanged inline lyrics must not be rewritten (jobs would re-run)"


def test_data_sheet_table_errors_name_the_config_key_the_file_and_the_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = sonics_csv(tmp_path)
    with pytest.raises(ConfigError, match=r"has no column 'audio' \(data.columns.audio\); its columns: filename"):
        checked_songs(table_data(table), need_stems=False)
    data = table_data(table, "data.columns.audio=filename", "data.labels={real:1,fake:0}", "data.base_dir=audio")
    with pytest.raises(ConfigError, match=r"sonics.csv: 1 of 3 rows .*\n  - line 6, song 'gone': audio file not found"):
        checked_songs(data, need_stems=False)
    with pytest.raises(ConfigError, match="label 'real' is not in data.labels"):
        checked_songs(table_data(table, "data.columns.audio=filename", "data.labels={fake:0}"), need_stems=False)
    with pytest.raises(ConfigError, match="data.labels"):
        table_data(table, "data.labels={real:2}")
    with pytest.raises(ConfigError, match="data.lyrics_as"):
        table_data(table, "data.lyrics_as=inline")


def test_a_plain_tsv_sheet_is_read_as_before(tmp_path):
    write_song(tmp_path / "a.flac", "line\n")
    sheet = tmp_path / "s.tsv"
    sheet.write_text("song_id\taudio\tlyrics\tlabel\na\ta.flac\ta.txt\t1\n")
    data = table_data(sheet)
    assert not uses_table(data)
    rows, problems = sheet_rows(data)
    assert problems == [] and rows[0][1].lyrics == tmp_path / "a.txt"
    assert uses_table(table_data(sheet, "data.columns.audio=wav"))


def test_the_plan_explains_a_row_without_lyrics_from_its_audio_with_one_shared_empty_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_song(tmp_path / "a.flac", "a line\n")
    write_song(tmp_path / "b.flac", None, seed=1)
    sheet = tmp_path / "s.tsv"
    sheet.write_text("song_id\taudio\tlyrics\nsung\ta.flac\ta.txt\nbare\tb.flac\t\n")
    data = ["data=sheet", f"data.sample_sheet={sheet}", "separation=time_only",
            "data.empty_lyrics=bad"]  # the user asked for no lyrics: not refused
    plan = WorkflowPlan.from_sweep(compose_sweep(REPO / "conf", None, data))
    bare = plan.songs["bare"]
    assert bare.lyrics is None and bare.notes == (no_lyrics_note(),) and bare.info()["lyrics"] is None
    assert plan.lyrics_file(bare) == str(NO_LYRICS_FILE) and NO_LYRICS_FILE.read_text() == ""
    assert plan.lyrics_file(plan.songs["sung"]) == str(tmp_path / "a.txt") and plan.songs["sung"].notes == ()
    stamp = NO_LYRICS_FILE.stat().st_mtime_ns
    time.sleep(0.01)
    WorkflowPlan.from_sweep(compose_sweep(REPO / "conf", None, data))  # every Snakefile parse plans again
    assert NO_LYRICS_FILE.stat().st_mtime_ns == stamp, "the shared empty file must not be rewritten (jobs would re-run)"
    with pytest.raises(ConfigError, match=r"line 3, song 'bare': no lyrics were given .*explain.modality=lyrical"):
        WorkflowPlan.from_sweep(compose_sweep(REPO / "conf", None, [*data, "explain.modality=audio,lyrical"]))


# --- musiclime explain: arguments and errors (the run itself is the slow test below) --------------------

def test_explain_splits_songs_from_overrides_and_picks_the_separation(tmp_path):
    song = write_song(tmp_path / "s.flac", "line\n")
    sources, overrides = explain_mod.split_arguments([str(song), "model=demo", "explain.num_samples=50", "~x"])
    assert sources == [str(song)] and overrides == ["model=demo", "explain.num_samples=50", "~x"]
    sheet = tmp_path / "a b.tsv"
    assert explain_mod.workflow_overrides(sheet, ["model=demo"], stems=False) == [
        "data=sheet", f"data.sample_sheet='{sheet}'", "separation=time_only", "model=demo"]
    assert "separation=time_only" not in explain_mod.workflow_overrides(sheet, ["separation=openunmix"], False)
    assert "separation=time_only" not in explain_mod.workflow_overrides(sheet, [], stems=True)


def test_explain_builds_a_sheet_for_one_song_with_lyrics_and_label(tmp_path):
    song = write_song(tmp_path / "in" / "my song.flac", None)
    (tmp_path / "words.txt").write_text("one line\n")
    sheet, rows = explain_mod.sheet_for([str(song)], tmp_path / "out", str(tmp_path / "words.txt"), 0)
    [built] = read_sample_sheet(sheet)
    assert (built.song_id, built.label) == ("my_song", 0)
    assert built.lyrics.resolve() == (tmp_path / "words.txt").resolve()
    assert sheet.is_relative_to(tmp_path / "out")


def test_explain_refuses_bad_input_before_running_the_workflow(tmp_path, monkeypatch):
    monkeypatch.setenv(explain_mod.SNAKEFILE_ENV, str(tmp_path / "no" / "Snakefile"))
    missing = cli("explain", tmp_path / "nothing.mp3", "-o", tmp_path / "out")
    assert missing.exit_code == 2
    assert f"not found: {tmp_path / 'nothing.mp3'}" in missing.stderr and "Traceback" not in missing.output
    no_song = cli("explain", "model=demo", "-o", tmp_path / "out")
    assert no_song.exit_code == 2 and "name a song" in no_song.stderr
    a, b = write_song(tmp_path / "a.flac", "x\n"), write_song(tmp_path / "b.flac", "y\n", seed=1)
    two = cli("explain", a, b, "--lyrics", tmp_path / "a.txt", "-o", tmp_path / "out")
    assert two.exit_code == 2 and "--lyrics names the lyrics of one song" in two.stderr
    folder = cli("explain", tmp_path, "--label", "1", "-o", tmp_path / "out")
    assert folder.exit_code == 2 and "apply to audio files, not to folders" in folder.stderr
    nolyrics = write_song(tmp_path / "c.flac", None, seed=2)
    bad = cli("explain", nolyrics, "-o", tmp_path / "out")
    assert bad.exit_code == 2 and "no lyrics file c.txt" in bad.stderr
    good = cli("explain", a, "-o", tmp_path / "out")
    assert good.exit_code == 2 and "cannot find the workflow's Snakefile" in good.stderr


def test_the_snakefile_is_found_beside_the_package(monkeypatch):
    monkeypatch.delenv(explain_mod.SNAKEFILE_ENV, raising=False)
    assert explain_mod.find_snakefile() == REPO / "Snakefile"


# --- musiclime open ----------------------------------------------------------------------------------------

def results_folder(root: Path) -> Path:
    index = root / "results" / "sweeps" / "abc123" / "index.html"
    index.parent.mkdir(parents=True)
    index.write_text("<html>the index</html>")
    return root / "results"


def test_open_binds_only_the_loopback_address(tmp_path):
    server = make_server(results_folder(tmp_path), 0)
    try:
        assert server.server_address[0] == HOST == "127.0.0.1"
    finally:
        server.server_close()
    with pytest.raises(ConfigError, match="does not exist"):
        make_server(tmp_path / "nowhere")


def test_open_serves_the_newest_index_and_stops_on_ctrl_c(tmp_path):
    results = results_folder(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    # as from a terminal: Ctrl-C's signal handled (a test run started in the background of a script ignores it,
    # and a child would inherit that)
    process = subprocess.Popen([sys.executable, "-m", "musiclime.cli", "open", str(results)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/sweeps/abc123/index\.html", url), url
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"<html>the index</html>"
        busy = cli("open", results, "--port", url.split(":")[2].split("/")[0])
        assert busy.exit_code == 2 and "cannot serve on 127.0.0.1" in busy.stderr
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_open_refuses_a_missing_folder(tmp_path):
    result = cli("open", tmp_path / "results")
    assert result.exit_code == 2 and "does not exist" in result.stderr


SECRET = b"outside the results: must never be served"


@pytest.fixture
def served(tmp_path):
    """A results folder with symlinks in and out of it, served on a free port in a thread: (port, results)."""
    results = results_folder(tmp_path)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    (results / "points" / "p1").mkdir(parents=True)
    (results / "points" / "p1" / "report.html").write_text("<html>a report</html>")
    (results / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (results / "points" / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    (results / "points" / "same.html").symlink_to(Path("p1") / "report.html")
    server = make_server(results, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], results
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def fetch(port: int, target: str, host: str | None = "", method: str = "GET") -> tuple[int, bytes]:
    """``method target`` sent as is to 127.0.0.1:port with Host ``host`` ("": the bound one, None: no Host)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host or f"{HOST}:{port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def raw_request(port: int, request: bytes) -> bytes:
    """The whole answer to a hand-written ``request`` (for targets and versions http.client won't send)."""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_open_serves_files_of_the_results_and_symlinks_that_stay_inside(served):
    port, _ = served
    assert fetch(port, "/sweeps/abc123/index.html") == (200, b"<html>the index</html>")
    assert fetch(port, "/points/p1/report.html?x=1#top") == (200, b"<html>a report</html>")
    assert fetch(port, "/points/same.html") == (200, b"<html>a report</html>")
    assert fetch(port, "/sweeps/abc123/index.html", host=f"localhost:{port}") == (200, b"<html>the index</html>")
    assert fetch(port, "/sweeps/abc123/index.html", host=f"LocalHost:{port}")[0] == 200
    assert fetch(port, "/points/p1/report.html", method="HEAD") == (200, b"")


@pytest.mark.parametrize("target", ["/leak.txt", "/points/out/secret.txt", "/points/out/", "/points/out",
                                    "/points/%6fut/secret.txt", "/le%61k.txt"])
def test_open_refuses_symlinks_out_of_the_results(served, target):
    port, _ = served
    for method in ("GET", "HEAD"):
        status, body = fetch(port, target, method=method)
        assert status == 404 and SECRET not in body, (method, target, status, body)


@pytest.mark.parametrize("target", ["/../secret.txt", "/sweeps/../../secret.txt", "/points/p1/../../../secret.txt",
                                    "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/sweeps/%2e%2e/%2e%2e/secret.txt",
                                    "/%2e%2e%2fsecret.txt", "/..%2Fsecret.txt", "/sweeps/abc123/%2e%2e/index.html",
                                    "/sweeps/%2e%2e/sweeps/abc123/index.html", "/sweeps/abc123/index.html%00"])
def test_open_refuses_traversal(served, target):
    port, _ = served
    status, body = fetch(port, target)
    assert status == 404 and SECRET not in body and b"the index" not in body, (target, status, body)


@pytest.mark.parametrize("target", ["/", "/sweeps", "/sweeps/", "/sweeps/abc123/", "/points/p1", "/.", "/sweeps/."])
def test_open_lists_no_directories(served, target):
    port, _ = served
    status, body = fetch(port, target)
    assert status == 403 and b"index.html" in body and b"abc123" not in body and b"report" not in body, body
    assert fetch(port, target, method="HEAD") == (403, b"")


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:{wrong}", "localhost:{wrong}",
                                  "127.0.0.1", "127.0.0.2:{port}", "sub.localhost:{port}", "localhost.:{port}",
                                  "[::1]:{port}", ""])
def test_open_refuses_a_foreign_host(served, host):
    port, _ = served
    host = host.format(port=port, wrong=port + 1 if port < 65535 else port - 1) or " "
    for method in ("GET", "HEAD"):
        status, body = fetch(port, "/sweeps/abc123/index.html", host=host, method=method)
        assert status == 421 and b"the index" not in body, (host, method, status, body)
    status, body = fetch(port, "/leak.txt", host=host)
    assert status == 421 and SECRET not in body and f"http://127.0.0.1:{port}/".encode() in body


def test_open_refuses_requests_without_one_loopback_host(served):
    port, _ = served
    assert fetch(port, "/sweeps/abc123/index.html", host=None)[0] == 421
    no_host = raw_request(port, b"GET /sweeps/abc123/index.html HTTP/1.0\r\n\r\n")
    assert no_host.startswith(b"HTTP/1.0 421") and b"the index" not in no_host
    good, evil = f"Host: 127.0.0.1:{port}\r\n".encode(), b"Host: evil.example\r\n"
    for headers in (good + evil, evil + good):
        request = b"GET /sweeps/abc123/index.html HTTP/1.1\r\n" + headers + b"Connection: close\r\n\r\n"
        answer = raw_request(port, request)
        assert answer.startswith(b"HTTP/1.0 421") and b"the index" not in answer, answer
    absolute = raw_request(port, f"GET http://evil.example/sweeps/abc123/index.html HTTP/1.1\r\nHost: 127.0.0.1:{port}"
                                 "\r\nConnection: close\r\n\r\n".encode())
    assert absolute.startswith(b"HTTP/1.0 400") and b"the index" not in absolute, absolute


def test_open_without_an_index_says_what_to_run(tmp_path):
    (tmp_path / "results").mkdir()
    server = make_server(tmp_path / "results", 0)
    try:
        line = opening_line(server, tmp_path / "results")
    finally:
        server.server_close()
    assert line.startswith("no index page in ") and "musiclime explain" in line and "http://127.0.0.1:" in line


# --- musiclime provenance, the entry points ---------------------------------------------------------------

def test_provenance_subcommand_and_scripts(tmp_path):
    result = cli("provenance", tmp_path / "none")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["musiclime"] == "musiclime.cli.app:main"
    assert scripts["musiclime-provenance"] == "musiclime.evidence.provenance:main"


# --- end to end ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_explain_over_a_folder_prints_each_page_and_its_lead(tmp_path):
    folder = song_folder(tmp_path / "my songs", n=2, seconds=4.0)
    out = tmp_path / "work"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "musiclime.cli", "explain", str(folder), "-o", str(out), "explain.num_samples=50",
         "explain.temporal_segments=4", "model=custom_example", "evaluation.enabled=false", "tracking.enabled=false"],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    pages = re.findall(r"^  page: (.+)$", result.stdout, re.M)
    assert len(pages) == 2 and all(Path(p).is_file() for p in pages), result.stdout
    assert [Path(p).name for p in pages] == ["track_0.html", "track_1.html"]
    leads = re.findall(r"^track_\d: (.+)$", result.stdout, re.M)
    assert len(leads) == 2 and all(lead.startswith("The model calls this song ") for lead in leads)
    first_page = Path(pages[0]).read_text(encoding="utf-8")
    assert leads[0].split(". ")[0] in first_page  # the page's own lead sentence
    index = re.search(r"^index: (.+)$", result.stdout, re.M)
    assert index and Path(index.group(1)).is_file()
    assert "[" in result.stderr and "all done" in result.stderr  # progress, one line per step
    provenance = CliRunner().invoke(app, ["provenance", str(out / "results")])
    assert provenance.exit_code == 0 and "explanations from" in provenance.stdout


@pytest.mark.slow
def test_explain_a_folder_without_lyrics_from_its_audio_alone(tmp_path):
    """A folder of MP3s alone (LAME without a Xing header, FFmpeg's LAME with one), one with a .txt beside
    it: with --no-lyrics every song is explained from its audio alone and its page says the lyrics were
    not given."""
    folder = tmp_path / "mp3s"
    folder.mkdir()
    for i, kind in enumerate(("lame_mp3", "ffmpeg_mp3")):
        encode(kind, folder / f"song {i}.mp3", encoded_song(3.0, RATE, seed=i), RATE)
    (folder / "song 0.txt").write_text("ignored line\n", encoding="utf-8")
    out = tmp_path / "work"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "musiclime.cli", "explain", str(folder), "--no-lyrics", "-o", str(out),
         "explain.num_samples=50", "explain.temporal_segments=4", "model=custom_example", "evaluation.enabled=false",
         "tracking.enabled=false"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 song(s) given without lyrics" in result.stderr
    sheet = read_sample_sheet(out / explain_mod.EXPLAIN_DIR / "songs.tsv")
    assert [(s.song_id, s.lyrics) for s in sheet] == [("song_0", None), ("song_1", None)]
    pages = re.findall(r"^  page: (.+)$", result.stdout, re.M)
    assert [Path(p).name for p in pages] == ["song_0.html", "song_1.html"]
    for page in pages:
        text = Path(page).read_text(encoding="utf-8")
        assert "Note: no lyrics were given for this song" in text and "from its audio alone" in text
        assert 'id="ranking-lyrics"' not in text and "The lyrics carry" not in text
        # the exact attribution shows no lyrics cell (always 0 without lyrics), as for an instrumental
        assert "No lyrics were explained" in text and "audio x lyrics" not in text
    explanations = sorted(out.glob("results/songs/*/**/explanation.json"))
    assert len(explanations) == 2
    for path in explanations:
        explanation = load_explanation(path)
        assert explanation.metadata["song_info"]["lyrics"] is None
        assert explanation.metadata["song_info"]["notes"] == [no_lyrics_note()]
        assert {f["type"] for f in explanation.features} == {"audio"}
