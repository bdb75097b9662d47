"""The demo songs: deterministic synthesis, stems that sum to the mix, lyrics, and styles that differ
only in the vocals, the drums and the lyrics."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest
import soundfile as sf

from musiclime import LineIndexedString, MusicLimeError
from musiclime.demo import STEM_NAMES, synthesize_song, write_demo_set, write_song
from musiclime.demo.arrangement import compose_drum_pattern
from musiclime.demo.drums import perform
from musiclime.demo.styles import STYLES
from musiclime.demo.synthesis import arrangement_of, child_rng
from musiclime.common.sample_sheet import read_sample_sheet

DURATION = 5.0


@pytest.fixture(scope="module")
def pair():
    """The ai and human songs of one seed."""
    return synthesize_song(11, "ai", DURATION), synthesize_song(11, "human", DURATION)


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_writes_identical_bytes(tmp_path):
    first = write_song(synthesize_song(3, "human", DURATION), tmp_path / "a")
    time.sleep(1.1)  # float WAV writers that stamp the wall clock (libsndfile's PEAK chunk) would differ
    write_song(synthesize_song(3, "human", DURATION), tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(map(str, a)) == sorted(["lyrics.txt", "mix.wav", "song.json", "stems/bass.wav", "stems/drums.wav",
                                          "stems/other.wav", "stems/vocals.wav"])
    assert a == b
    assert first.mix == tmp_path / "a" / "mix.wav"


def test_different_seeds_differ():
    a, b = synthesize_song(1, "ai", DURATION), synthesize_song(2, "ai", DURATION)
    assert a.lyrics != b.lyrics
    for name in STEM_NAMES:
        assert not np.array_equal(a.stems[name], b.stems[name])


def test_stems_shape_order_and_rate(pair):
    song = pair[0]
    assert list(song.stems) == list(STEM_NAMES) == ["vocals", "drums", "bass", "other"]
    for stem in song.stems.values():
        assert stem.dtype == np.float32 and stem.shape == (2, round(DURATION * 44100))
        assert np.all(np.isfinite(stem)) and np.max(np.abs(stem)) > 0.01
    assert song.sample_rate == 44100 and song.duration_s == pytest.approx(DURATION)
    assert synthesize_song(1, "ai", 3.0, sample_rate=22050).stems["bass"].shape == (2, 66150)


def test_mix_is_sum_of_stems_and_below_full_scale(pair, tmp_path):
    for song in pair:
        mix = song.mix
        np.testing.assert_allclose(mix, sum(song.stems[n] for n in STEM_NAMES), atol=1e-6)
        assert 0.1 < np.max(np.abs(mix)) < 1.0
    files = write_song(pair[1], tmp_path / "song")
    written_mix, rate = sf.read(files.mix, dtype="float32", always_2d=True)
    stems = [sf.read(files.stems[n], dtype="float32", always_2d=True)[0] for n in STEM_NAMES]
    assert rate == 44100 and written_mix.shape == (round(DURATION * 44100), 2)
    np.testing.assert_allclose(written_mix, np.sum(stems, axis=0), atol=1e-6)


def test_lyrics_have_sections_and_lines(pair):
    for song in pair:
        assert song.lyrics.startswith("[Verse 1]\n")
        assert "[Chorus]" in song.lyrics and "[Verse 2]" in song.lyrics
        lines = LineIndexedString(song.lyrics).lines
        assert len(lines) >= 16 and not any(line.startswith("[") for line in lines)


def test_styles_share_bass_other_and_arrangement(pair):
    ai, human = pair
    assert (ai.label, human.label) == (0, 1)
    assert (ai.label_name, human.label_name) == ("AI-Generated", "Human-Composed")
    for name in ("bass", "other"):
        assert np.array_equal(ai.stems[name], human.stems[name])
    for name in ("vocals", "drums"):
        assert not np.array_equal(ai.stems[name], human.stems[name])
    assert ai.lyrics != human.lyrics
    shared = ("tempo_bpm", "tonic", "mode", "progression", "sections", "n_notes")
    assert {k: ai.info[k] for k in shared} == {k: human.info[k] for k in shared}


def test_lyrics_style_cues():
    for seed in range(5):
        ai = LineIndexedString(synthesize_song(seed, "ai", 2.0).lyrics).lines
        human = LineIndexedString(synthesize_song(seed, "human", 2.0).lyrics).lines
        # ai: lines repeated verbatim inside the first verse; human: first verse all distinct
        assert len(set(ai[:4])) < 4
        assert len(set(human[:4])) == 4
        assert len(set(ai)) / len(ai) < len(set(human)) / len(human)


def test_drum_performance_cues():
    arrangement = arrangement_of(5, 10.0)
    pattern = compose_drum_pattern(child_rng(5, "drum_pattern"), arrangement)
    step_s = arrangement.bar_s / 16
    mechanical = perform(pattern, arrangement, None, child_rng(5, "drum_performance"))
    assert {hit.velocity for hit in mechanical} == {1.0}
    assert all(abs(hit.time_s / step_s - round(hit.time_s / step_s)) < 1e-9 for hit in mechanical)
    played = perform(pattern, arrangement, STYLES["human"].drum_feel, child_rng(5, "drum_performance"))
    assert len(played) > len(mechanical)  # ghost notes
    assert np.std([hit.velocity for hit in played]) > 0.1
    assert np.mean([abs(h.time_s / step_s - round(h.time_s / step_s)) for h in played]) > 0.05


def test_vocal_pitch_cues():
    """ai vocals hold steady harmonics within a note; human vocals wobble (vibrato) within a note."""
    def pitch_spread(style):
        song = synthesize_song(4, style, 8.0, sample_rate=22050)
        vocals = song.stems["vocals"].mean(axis=0)
        spreads = []
        frame = 2048
        for start in range(0, len(vocals) - frame, frame // 2):
            chunk = vocals[start:start + frame] * np.hanning(frame)
            if np.max(np.abs(chunk)) < 0.05:
                continue
            spectrum = np.abs(np.fft.rfft(chunk, 8 * frame))
            spreads.append(np.argmax(spectrum) * 22050 / (8 * frame))
        return np.median(np.abs(np.diff(spreads)))
    assert pitch_spread("ai") < pitch_spread("human")


def test_invalid_arguments_raise():
    with pytest.raises(MusicLimeError, match="style"):
        synthesize_song(1, "robot")
    with pytest.raises(MusicLimeError, match="seed"):
        synthesize_song(-1, "ai")
    with pytest.raises(MusicLimeError, match="duration"):
        synthesize_song(1, "ai", duration_s=0.1)


def test_write_demo_set(tmp_path):
    sheet = write_demo_set(tmp_path / "demo", n_songs=3, seed=2, duration_s=2.0)
    assert sheet == tmp_path / "demo" / "samples.tsv"
    with open(sheet, newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == ["song_id", "audio", "lyrics", "stems", "label"]
    assert rows[1] == ["demo00_ai", "demo00_ai/mix.wav", "demo00_ai/lyrics.txt", "demo00_ai/stems", "0"]
    assert [r[4] for r in rows[1:]] == ["0", "1", "0"]
    songs = read_sample_sheet(sheet, need_stems=True)
    assert [s.song_id for s in songs] == ["demo00_ai", "demo01_human", "demo02_ai"]
    assert all((s.stems / "drums.wav").is_file() for s in songs)
    again = synthesize_song(2001, "human", 2.0)  # song 1 of set seed 2
    assert (tmp_path / "demo" / "demo01_human" / "lyrics.txt").read_text() == again.lyrics


def test_synthesis_is_fast():
    start = time.process_time()
    synthesize_song(9, "human", 24.0)
    assert time.process_time() - start < 2.0
