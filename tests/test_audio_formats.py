"""Real encoders' files: whole ones pass the check and decode to their length; cut ones are refused.

Every file is written by a real encoder (LAME through lameenc, FFmpeg's libmp3lame, AAC, ALAC and
libopus through PyAV, libsndfile's LAME, libvorbis and FLAC): :mod:`tests.audio_encoders`.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from musiclime import AudioError, load_audio
from musiclime.common.audio_decoding import decode_audio, probe_audio
from musiclime.common.audio_integrity import mpeg_frame, truncation_problem
from musiclime.common.sample_sheet import Song
from musiclime.common.song_checks import FileVerdicts, audio_problem, check_files

from .audio_encoders import KINDS, cut, encode, song

SECONDS = 6.0
#: each kind at the rate its files are usually made at (Opus is always 48 kHz; the issue's MP3s are 22.05 kHz)
RATES = {kind: 48000 if kind == "opus_ogg" else 22050 if kind.endswith("mp3") else 44100 for kind in KINDS}
#: samples a decoder may add beyond the input: none for gapless formats, the codec's delay and padding else
#: (LAME without a Xing header: 1,105 to 2,257; AAC: 1,024 priming + the last frame's padding)
SLACK = {"lame_mp3": 2400, "aac_m4a": 2100}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One whole file per kind: ``kind -> (path, input samples per channel, rate)``."""
    folder = tmp_path_factory.mktemp("encoded")
    made = {}
    for kind, ending in KINDS.items():
        audio = song(SECONDS, RATES[kind], channels=1 if kind == "vorbis_ogg" else 2)
        made[kind] = (encode(kind, folder / f"{kind}{ending}", audio, RATES[kind]), audio.shape[1], RATES[kind])
    return made


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_whole_files_pass_and_decode_to_their_length(files, kind):
    path, samples, rate = files[kind]
    assert audio_problem(path) is None
    assert audio_problem(path, depth="full") is None
    audio, file_rate = decode_audio(path)
    assert file_rate == rate and audio.dtype == np.float32 and audio.ndim == 2
    assert 0 <= audio.shape[1] - samples <= SLACK.get(kind, 0), f"{kind}: {audio.shape[1]} samples from {samples}"
    mono, _ = load_audio(path, sample_rate=22050)
    assert mono.ndim == 1 and abs(mono.shape[0] - SECONDS * 22050) <= 22050 * SLACK.get(kind, 0) / rate + 1
    assert 0.05 < float(np.max(np.abs(mono))) <= 1.0, "decoded to the input's level"


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.99])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cut_files_are_refused_naming_the_file(files, kind, fraction, tmp_path):
    path, _, _ = files[kind]
    cut_file = cut(path, fraction, tmp_path / f"cut{path.suffix}")
    reason = audio_problem(cut_file)
    assert reason is not None and str(cut_file) in reason, f"{kind} cut at {fraction:.0%}: {reason}"
    assert "truncated" in reason, reason


@pytest.mark.parametrize("kind", ["ffmpeg_mp3", "sndfile_mp3"])
def test_both_decoders_drop_the_delay_and_padding_a_lame_header_records(files, kind):
    """An MP3 with a Xing/Info + LAME header decodes to exactly the input's length in libsndfile (the
    decoder used) and in FFmpeg, to the same samples."""
    from musiclime.common.audio_decoding import _ffmpeg_decode

    path, samples, _ = files[kind]
    ours, _ = decode_audio(path)
    ffmpeg, _ = _ffmpeg_decode(path, None)
    assert ours.shape == ffmpeg.shape == (2, samples)
    assert float(np.max(np.abs(ours - ffmpeg))) < 1e-3


def test_the_right_decoder_reads_each_format(files):
    decoders = {kind: probe_audio(path).decoder for kind, (path, _, _) in files.items()}
    assert decoders.pop("aac_m4a") == "ffmpeg" and decoders.pop("alac_m4a") == "ffmpeg"
    assert set(decoders.values()) == {"libsndfile"}


def test_an_mp3_cut_between_two_frames_is_refused_by_its_xing_counts(files, tmp_path):
    """Cut exactly after a whole frame, the stream's end looks whole; the Xing/Info header's counts do not."""
    path, _, _ = files["ffmpeg_mp3"]
    data = path.read_bytes()
    boundaries = _frame_starts(data)
    at = boundaries[len(boundaries) // 2]
    (tmp_path / "half.mp3").write_bytes(data[:at])
    reason = audio_problem(tmp_path / "half.mp3")
    assert reason and "Xing" in reason and "frames" in reason, reason


def test_tags_around_an_mp3_are_not_a_cut(files, tmp_path):
    """An ID3v2 tag before, APEv2 and ID3v1 tags after the frames (as taggers write them) leave the file whole."""
    for kind in ("lame_mp3", "ffmpeg_mp3"):
        path, _, _ = files[kind]
        frames = path.read_bytes()
        id3v2 = b"ID3\x03\x00\x00" + bytes([0, 0, 0, 20]) + b"\0" * 20
        ape_items = b"\x05\0\0\0\0\0\0\0Title\0hello"
        ape = ape_items + b"APETAGEX" + struct.pack("<IIII", 2000, len(ape_items) + 32, 1, 0) + b"\0" * 8
        id3v1 = b"TAG" + b"a title".ljust(125, b"\0")
        tagged = tmp_path / f"tagged_{kind}.mp3"
        tagged.write_bytes(id3v2 + frames + ape + id3v1)
        assert audio_problem(tagged) is None, kind
        assert truncation_problem(tagged) is None
        cut_tagged = tmp_path / f"cut_tagged_{kind}.mp3"
        cut_tagged.write_bytes((id3v2 + frames)[:int(len(frames) * 0.6)])
        assert "truncated" in (audio_problem(cut_tagged) or ""), kind


def test_float_and_integer_wav_any_rate_and_channel_count(tmp_path):
    import soundfile as sf

    rng = np.random.default_rng(0)
    for rate, channels, subtype in ((8000, 1, "PCM_U8"), (32000, 3, "PCM_24"), (96000, 6, "DOUBLE"),
                                    (11025, 2, "PCM_32")):
        audio = (0.3 * rng.standard_normal((channels, rate // 2))).clip(-1, 1).astype(np.float32)
        path = tmp_path / f"{rate}-{channels}-{subtype}.wav"
        sf.write(str(path), audio.T, rate, subtype=subtype)
        assert audio_problem(path) is None
        decoded, file_rate = decode_audio(path)
        assert file_rate == rate and decoded.shape == audio.shape
        np.testing.assert_allclose(decoded, audio, atol=1 / 100 if subtype == "PCM_U8" else 1e-4)


def test_an_undecodable_file_names_itself_and_its_format(tmp_path):
    text = tmp_path / "notes.m4a"
    text.write_text("not audio at all\n" * 100)
    reason = audio_problem(text)
    assert reason.startswith(f"audio file cannot be decoded: {text}") and ".m4a" in reason
    with pytest.raises(AudioError, match="notes.m4a"):
        load_audio(text)


def test_many_files_are_checked_in_parallel_and_cached(files, tmp_path, monkeypatch):
    """Twenty copies (new files each) go through the worker processes; the second pass decodes nothing."""
    from musiclime.common import song_checks

    monkeypatch.setattr(song_checks, "PARALLEL_FROM", {"quick": 10, "full": 10})
    rows = []
    for number in range(20):
        kind = sorted(KINDS)[number % len(KINDS)]
        source, _, _ = files[kind]
        copy = tmp_path / f"song{number}{source.suffix}"
        copy.write_bytes(source.read_bytes() if number != 7 else source.read_bytes()[:len(source.read_bytes()) // 2])
        lyrics = tmp_path / f"song{number}.txt"
        lyrics.write_text("a line\n", encoding="utf-8")
        rows.append((number + 2, Song(f"song{number}", copy, lyrics)))
    first = FileVerdicts(tmp_path / "cache.json", workers=2)
    problems, _ = check_files(rows, need_stems=False, verdicts=first)
    assert [p.song_id for p in problems] == ["song7"] and "truncated" in problems[0].reason
    assert len(first.checked) == 40  # 20 audio files in the workers, 20 lyrics here
    again = FileVerdicts(tmp_path / "cache.json", workers=2)
    assert check_files(rows, need_stems=False, verdicts=again)[0] == problems and again.checked == []
    deeper = FileVerdicts(tmp_path / "cache.json", depth="full", workers=2)
    check_files(rows, need_stems=False, verdicts=deeper)
    assert len(deeper.checked) == 20, "a quick verdict does not answer a full check"


def _frame_starts(data: bytes) -> list[int]:
    """Offsets of the MPEG frames of an MP3 without ID3v2 tag, walked from the first."""
    at, starts = data.find(b"\xff"), []
    while at + 4 <= len(data) and (frame := mpeg_frame(data[at:at + 4])) is not None:
        starts.append(at)
        at += frame[0]
    return starts


# --- the command line: sheets of every format, and one explanation end to end ---------------------------

def _format_folder(root, kinds, cut_at=None):
    """A folder with one song per kind (3 s, 22.05 kHz stereo or the format's rate) and its lyrics;
    ``cut_at``: the audio files cut to that fraction of their bytes."""
    root.mkdir(parents=True)
    for number, kind in enumerate(kinds):
        rate = RATES[kind] if kind != "opus_ogg" else 48000
        path = encode(kind, root / f"{kind}{KINDS[kind]}", song(3.0, rate, seed=number), rate)
        if cut_at is not None:
            cut(path, cut_at, path)
        path.with_suffix(".txt").write_text(f"[Verse]\nline {number} of {kind}\nanother line\n", encoding="utf-8")
    return root


def test_sheet_takes_every_format_and_names_each_cut_file(tmp_path):
    from typer.testing import CliRunner

    from musiclime.cli.app import app
    from musiclime.common.sample_sheet import read_sample_sheet

    kinds = sorted(KINDS)
    whole = _format_folder(tmp_path / "whole", kinds)
    result = CliRunner().invoke(app, ["sheet", str(whole), "-o", str(tmp_path / "songs.tsv")])
    assert result.exit_code == 0, result.output
    assert {s.song_id for s in read_sample_sheet(tmp_path / "songs.tsv")} == set(kinds)
    broken = _format_folder(tmp_path / "broken", kinds, cut_at=0.6)
    result = CliRunner().invoke(app, ["sheet", str(broken), "-o", str(tmp_path / "broken.tsv")])
    assert result.exit_code == 2 and not (tmp_path / "broken.tsv").exists()
    for kind in kinds:
        assert f"{kind}{KINDS[kind]}" in result.output and f"song '{kind}'" in result.output, kind
    assert result.output.count("truncated") == len(kinds), result.output


@pytest.mark.slow
def test_mp3_m4a_and_flac_songs_go_from_sheet_to_pages(tmp_path):
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    folder = _format_folder(tmp_path / "songs", ["lame_mp3", "ffmpeg_mp3", "aac_m4a", "flac"])
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "musiclime.cli"]
    sheet = subprocess.run(command + ["sheet", str(folder), "-o", str(tmp_path / "songs.tsv")], capture_output=True,
                           text=True, env=env, timeout=120)
    assert sheet.returncode == 0 and "4 songs" in sheet.stdout, sheet.stdout + sheet.stderr
    result = subprocess.run(
        command + ["explain", str(tmp_path / "songs.tsv"), "-o", str(tmp_path / "work"), "explain.num_samples=50",
                   "explain.temporal_segments=3", "model=custom_example", "evaluation.enabled=false",
                   "tracking.enabled=false"], capture_output=True, text=True, env=env, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    pages = re.findall(r"^  page: (.+)$", result.stdout, re.M)
    assert sorted(Path(p).stem for p in pages) == ["aac_m4a", "ffmpeg_mp3", "flac", "lame_mp3"], result.stdout
    for page in pages:
        assert "The model calls this song" in Path(page).read_text(encoding="utf-8")
