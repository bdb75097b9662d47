"""The demo songs: deterministic synthesis, stems that sum to the mix, lyrics, styles that differ
only in the vocals, the drums, the lyrics and the ai style's codec artifact, and ground_truth.json."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest
import soundfile as sf

from musiclime import LineIndexedString, MusicLimeError
from musiclime.demo import STEM_NAMES, synthesize_song, write_demo_set, write_song
from musiclime.demo.arrangement import compose_drum_pattern
from musiclime.demo.drums import perform
from musiclime.demo.ground_truth import ground_truth
from musiclime.demo.styles import STYLES
from musiclime.demo.synthesis import arrangement_of, child_rng
from musiclime.common.sample_sheet import read_sample_sheet
from musiclime.factorization.base import segment_boundaries
from musiclime.factorization.lyrics import lyric_lines

DURATION = 5.0


@pytest.fixture(scope="module")
def pair():
    """The ai and human songs of one seed."""
    return synthesize_song(11, "ai", DURATION), synthesize_song(11, "human", DURATION)


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("style", ["human", "ai"])
def test_same_seed_writes_identical_bytes(tmp_path, style):
    first = write_song(synthesize_song(3, style, DURATION), tmp_path / "a")
    time.sleep(1.1)  # float WAV writers that stamp the wall clock (libsndfile's PEAK chunk) would differ
    write_song(synthesize_song(3, style, DURATION), tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(map(str, a)) == sorted(["ground_truth.json", "lyrics.txt", "mix.wav", "song.json", "stems/bass.wav",
                                          "stems/drums.wav", "stems/other.wav", "stems/vocals.wav"])
    assert a == b
    assert first.mix == tmp_path / "a" / "mix.wav"
    assert first.ground_truth == tmp_path / "a" / "ground_truth.json"


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


def _tone_energy(signal, rate, edges, tones_hz, width_hz=40.0):
    """Energy of ``signal`` (mono) within ``width_hz`` of the ``tones_hz`` in each segment ``edges[k]:edges[k+1]``."""
    out = []
    for k in range(len(edges) - 1):
        chunk = signal[edges[k]:edges[k + 1]].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(chunk)) ** 2
        freqs = np.fft.rfftfreq(len(chunk), 1 / rate)
        near = np.any(np.abs(freqs[:, None] - np.asarray(tones_hz)[None, :]) < width_hz, axis=1)
        out.append(spectrum[near].sum() / len(chunk))
    return np.asarray(out)


@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_codec_artifact_only_in_ai_songs_in_the_drawn_stem_and_segments(seed):
    ai, human = synthesize_song(seed, "ai", 10.0), synthesize_song(seed, "human", 10.0)
    assert human.artifact is None and ai.artifact is not None
    placement = ai.artifact
    assert placement.stem in ("vocals", "drums") and 3 <= len(placement.segments) <= 4
    assert placement.temporal_segments == 10 and max(placement.tones_hz) < 9700
    edges = segment_boundaries(ai.stems["vocals"].shape[-1], 10)
    for name in STEM_NAMES:
        ai_energy = _tone_energy(ai.stems[name].mean(axis=0), 44100, edges, placement.tones_hz)
        if name != placement.stem:
            if name in ("bass", "other"):
                assert np.array_equal(ai.stems[name], human.stems[name])
            continue
        carrying = np.isin(np.arange(10), placement.segments)
        # the artifact's tones hold far more energy in its segments than anywhere else in the stem
        assert ai_energy[carrying].min() > 2 * ai_energy[~carrying].max()
        assert ai_energy[carrying].min() > 5 * np.median(ai_energy[~carrying])
    assert np.max(np.abs(ai.mix)) < 1.0


def test_artifact_changes_its_stem_only_inside_its_segments():
    from dataclasses import replace

    from musiclime.demo import styles

    seed = 1
    ai = synthesize_song(seed, "ai", 10.0)
    plain_style = replace(styles.STYLES["ai"], artifact=None)
    original = styles.STYLES["ai"]
    styles.STYLES["ai"] = plain_style
    try:
        plain = synthesize_song(seed, "ai", 10.0)
    finally:
        styles.STYLES["ai"] = original
    edges = segment_boundaries(ai.stems["vocals"].shape[-1], 10)
    stem = ai.artifact.stem
    changed = np.any(ai.stems[stem] != plain.stems[stem], axis=0)
    inside = np.zeros(changed.shape, dtype=bool)
    for k in ai.artifact.segments:
        inside[edges[k]:edges[k + 1]] = True
    assert changed.any() and not changed[~inside].any()
    for name in STEM_NAMES:
        if name != stem:
            assert np.array_equal(ai.stems[name], plain.stems[name])


@pytest.mark.parametrize("seed", [0, 3])
def test_ground_truth_is_consistent(seed):
    for style in ("ai", "human"):
        song = synthesize_song(seed, style, 20.0)
        truth = ground_truth(song)
        assert list(truth) == ["format", "style", "label", "audio_cues", "temporal_segments", "components",
                               "lyric_lines"]
        assert (truth["format"], truth["style"], truth["label"], truth["temporal_segments"]) == (1, style,
                                                                                                song.label, 10)
        # components and audio cues name the same (stem, segment) pairs; seconds are segment edges
        assert len(truth["components"]) == len(truth["audio_cues"]) > 0
        for name, cue in zip(truth["components"], truth["audio_cues"]):
            stem, k = name.rsplit("_T", 1)
            assert cue["stem"] == stem
            assert (cue["start_s"], cue["end_s"]) == pytest.approx((2.0 * int(k), 2.0 * int(k) + 2.0))
        lines = lyric_lines(song.lyrics)
        assert truth["lyric_lines"] and all(line in lines for line in truth["lyric_lines"])
        assert len(set(truth["lyric_lines"])) == len(truth["lyric_lines"])
        if style == "ai":
            assert {c["cue"] for c in truth["audio_cues"]} == {"codec artifact"}
            assert truth["components"] == [f"{song.artifact.stem}_T{k}" for k in song.artifact.segments]
            repeated = {line for line in lines if lines.count(line) > 1}
            assert repeated <= set(truth["lyric_lines"])
        else:
            assert {c["stem"] for c in truth["audio_cues"]} == {"vocals", "drums"}
            assert truth["lyric_lines"] == list(dict.fromkeys(lines))
            # a vocals component is listed exactly where the vocal stem sounds
            edges = segment_boundaries(song.stems["vocals"].shape[-1], 10)
            for k in range(10):
                sounding = np.abs(song.stems["vocals"][:, edges[k]:edges[k + 1]]).max() > 0.01
                if f"vocals_T{k}" in truth["components"]:
                    assert sounding


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
    assert rows[0] == ["song_id", "audio", "lyrics", "stems", "label", "ground_truth"]
    assert rows[1] == ["demo00_ai", "demo00_ai/mix.wav", "demo00_ai/lyrics.txt", "demo00_ai/stems", "0",
                       "demo00_ai/ground_truth.json"]
    assert [r[4] for r in rows[1:]] == ["0", "1", "0"]
    songs = read_sample_sheet(sheet, need_stems=True)
    assert [s.song_id for s in songs] == ["demo00_ai", "demo01_human", "demo02_ai"]
    assert all((s.stems / "drums.wav").is_file() for s in songs)
    assert [json.loads(s.ground_truth.read_text())["style"] for s in songs] == ["ai", "human", "ai"]
    again = synthesize_song(2001, "human", 2.0)  # song 1 of set seed 2
    assert (tmp_path / "demo" / "demo01_human" / "lyrics.txt").read_text() == again.lyrics


def test_synthesis_is_fast():
    start = time.process_time()
    synthesize_song(9, "human", 24.0)
    assert time.process_time() - start < 2.0
