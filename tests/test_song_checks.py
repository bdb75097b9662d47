"""Every sample-sheet row is checked before any job: audio that decodes, lyrics that read, with a cache."""

from __future__ import annotations

import numpy as np
import pytest

from musiclime.common.audio import save_audio
from musiclime.common.errors import ConfigError
from musiclime.common.sample_sheet import Song, read_sample_sheet_rows, write_sample_sheet
from musiclime.common.song_checks import FileVerdicts, audio_problem, check_files, no_lyrics_note


def good_song(root, name: str, lyrics: str = "a line\nanother line\n") -> Song:
    folder = root / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    save_audio(folder / "mix.wav", (0.1 * rng.standard_normal(22050)).astype(np.float32), 22050)
    (folder / "lyrics.txt").write_text(lyrics, encoding="utf-8")
    return Song(name, folder / "mix.wav", folder / "lyrics.txt")


def test_garbage_and_truncated_audio_are_caught_by_decoding(tmp_path):
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(0).bytes(50_000))
    assert "cannot be decoded" in audio_problem(garbage) and str(garbage) in audio_problem(garbage)
    song = good_song(tmp_path, "whole")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(song.audio.read_bytes()[:20_000])  # the header still declares 22050 float samples
    assert "truncated" in audio_problem(cut) and "WAV header" in audio_problem(cut)
    assert audio_problem(song.audio) is None


def test_every_bad_row_is_found_and_empty_lyrics_make_a_note(tmp_path):
    songs = [good_song(tmp_path, "fine"), good_song(tmp_path, "instrumental", lyrics="  \n\n")]
    latin1 = good_song(tmp_path, "latin1")
    latin1.lyrics.write_bytes("d\xe9j\xe0 vu\n".encode("latin-1"))
    corrupt = good_song(tmp_path, "corrupt")
    corrupt.audio.write_bytes(b"RIFF....garbage")
    missing = Song("missing", tmp_path / "nowhere.flac", songs[0].lyrics)
    sheet = write_sample_sheet(tmp_path / "samples.tsv", songs + [latin1, corrupt, missing])
    rows, row_problems = read_sample_sheet_rows(sheet)
    assert not row_problems and len(rows) == 5
    problems, notes = check_files(rows, need_stems=False, verdicts=FileVerdicts(tmp_path / "cache.json"))
    described = {p.song_id: p.describe() for p in problems}
    assert set(described) == {"latin1", "corrupt", "missing"}
    assert "not UTF-8" in described["latin1"] and "line 4" in described["latin1"]
    assert "cannot" in described["corrupt"] and "mix.wav" in described["corrupt"]
    assert "not found" in described["missing"] and "nowhere.flac" in described["missing"]
    assert list(notes) == ["instrumental"] and "explained as an instrumental" in notes["instrumental"][0]
    strict, _ = check_files(rows, need_stems=False, empty_lyrics="bad", verdicts=FileVerdicts(None))
    assert "instrumental" in {p.song_id for p in strict}
    with pytest.raises(ConfigError, match="data.empty_lyrics"):
        check_files(rows, need_stems=False, empty_lyrics="skip")


def test_verdicts_are_cached_by_size_and_mtime(tmp_path):
    song = good_song(tmp_path, "cached")
    rows = [(2, song)]
    first = FileVerdicts(tmp_path / "cache.json")
    check_files(rows, need_stems=False, verdicts=first)
    assert len(first.checked) == 2  # audio decoded, lyrics read
    again = FileVerdicts(tmp_path / "cache.json")
    check_files(rows, need_stems=False, verdicts=again)
    assert again.checked == []  # nothing decoded on a re-parse
    song.audio.write_bytes(b"not audio any more")
    changed = FileVerdicts(tmp_path / "cache.json")
    problems, _ = check_files(rows, need_stems=False, verdicts=changed)
    assert len(changed.checked) == 1 and problems and "cannot" in problems[0].reason


def test_rows_with_bad_ids_or_labels_are_all_reported(tmp_path):
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("song_id\taudio\tlyrics\tlabel\nok\ta.wav\ta.txt\t1\nbad id\tb.wav\tb.txt\t0\n"
                     "ok\tc.wav\tc.txt\t\nthird\td.wav\td.txt\tyes\n")
    rows, problems = read_sample_sheet_rows(sheet)
    assert [song.song_id for _, song in rows] == ["ok"]
    assert [(p.line, p.song_id) for p in problems] == [(3, "bad id"), (4, "ok"), (5, "third")]
    assert "duplicate" in problems[1].reason and "label" in problems[2].reason


def test_tag_only_lyrics_count_as_empty_and_a_lyrical_sweep_refuses_them(tmp_path):
    from musiclime.factorization.lyrics import lyric_lines

    song = good_song(tmp_path, "tags", lyrics="[Intro]\n(instrumental)\n\n[Outro]\n")
    rows = [(2, song)]
    by_factorization = lambda text: bool(lyric_lines(text))  # noqa: E731 (what the plan passes)
    problems, notes = check_files(rows, need_stems=False, verdicts=FileVerdicts(None), has_lyrics=by_factorization)
    assert not problems and "holds no lyric line" in notes["tags"][0]
    problems, _ = check_files(rows, need_stems=False, verdicts=FileVerdicts(None), has_lyrics=by_factorization,
                              lyrics_needed=True)
    assert "explain.modality=lyrical needs lyrics" in problems[0].reason


def test_an_empty_lyrics_cell_means_no_lyrics_given_read_and_written(tmp_path):
    with_lyrics = good_song(tmp_path, "sung")
    without = Song("bare", good_song(tmp_path, "bare").audio, None, label=1)
    sheet = write_sample_sheet(tmp_path / "samples.tsv", [with_lyrics, without])
    assert sheet.read_text(encoding="utf-8").splitlines()[2].split("\t") == ["bare", "bare/mix.wav", "", "", "1"]
    rows, problems = read_sample_sheet_rows(sheet)
    assert not problems and [song.lyrics for _, song in rows] == [with_lyrics.lyrics, None]
    assert rows[1][1].info()["lyrics"] is None and rows[0][1].info()["lyrics"] == str(with_lyrics.lyrics)
    from musiclime.common.sample_sheet import read_sample_sheet

    assert [s.song_id for s in read_sample_sheet(sheet)] == ["sung", "bare"]  # no lyrics file to look for
    # a row cut short before its lyrics cell reads the same way
    (tmp_path / "short.tsv").write_text("song_id\taudio\tlyrics\nbare\tbare/mix.wav\n", encoding="utf-8")
    assert read_sample_sheet_rows(tmp_path / "short.tsv")[0][0][1].lyrics is None


def test_a_row_without_lyrics_is_explained_from_its_audio_whatever_empty_lyrics_says(tmp_path, caplog):
    rows = [(2, good_song(tmp_path, "sung")), (3, Song("bare", good_song(tmp_path, "bare").audio, None))]
    for empty_lyrics in ("instrumental", "bad"):  # the user asked for no lyrics: data.empty_lyrics=bad does not refuse
        with caplog.at_level("WARNING", logger="musiclime.common.song_checks"):
            problems, notes = check_files(rows, need_stems=False, empty_lyrics=empty_lyrics,
                                          verdicts=FileVerdicts(None))
        assert problems == [] and notes == {"bare": [no_lyrics_note()]}
    assert "no lyrics were given" in no_lyrics_note() and "audio alone" in no_lyrics_note()
    assert "1 song(s) given without lyrics" in caplog.text and "bare" in caplog.text
    problems, notes = check_files(rows, need_stems=False, verdicts=FileVerdicts(None), lyrics_needed=True)
    assert [(p.song_id, p.line) for p in problems] == [("bare", 3)] and notes == {}
    assert "no lyrics were given" in problems[0].reason and "explain.modality=lyrical" in problems[0].reason


def test_ground_truth_column_is_optional_relative_and_checked(tmp_path):
    import json

    from musiclime.common.sample_sheet import read_sample_sheet

    truth = {"format": 1, "temporal_segments": 2, "components": ["vocals_T1"], "lyric_lines": ["a line"]}
    named, beside, invalid, plain = (good_song(tmp_path, name) for name in ("named", "beside", "invalid", "plain"))
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "named.json").write_text(json.dumps(truth), encoding="utf-8")
    (beside.audio.parent / "ground_truth.json").write_text(json.dumps(truth), encoding="utf-8")
    (tmp_path / "truth" / "invalid.json").write_text(json.dumps({**truth, "components": ["vocals_T9"]}),
                                                     encoding="utf-8")
    songs = [Song(s.song_id, s.audio, s.lyrics, ground_truth=t) for s, t in (
        (named, tmp_path / "truth" / "named.json"), (beside, None), (invalid, tmp_path / "truth" / "invalid.json"),
        (plain, None))]
    missing = Song("missing", plain.audio, plain.lyrics, ground_truth=tmp_path / "truth" / "absent.json")
    sheet = write_sample_sheet(tmp_path / "samples.tsv", songs + [missing])
    header, first = sheet.read_text(encoding="utf-8").splitlines()[:2]
    assert header.split("\t")[-1] == "ground_truth" and first.split("\t")[-1] == "truth/named.json"
    rows, _ = read_sample_sheet_rows(sheet)
    assert [song.ground_truth for _, song in rows][:2] == [tmp_path / "truth" / "named.json", None]
    problems, _ = check_files(rows, need_stems=False, verdicts=FileVerdicts(None))
    described = {p.song_id: p.reason for p in problems}
    assert set(described) == {"invalid", "missing"}
    assert "invalid.json" in described["invalid"] and "'components'" in described["invalid"]
    assert "not found" in described["missing"] and "absent.json" in described["missing"]
    with pytest.raises(ConfigError, match="invalid.json"):
        read_sample_sheet(sheet)
    # sheets without ground truth keep their columns
    plain_sheet = write_sample_sheet(tmp_path / "plain.tsv", [plain])
    assert "ground_truth" not in plain_sheet.read_text(encoding="utf-8")
