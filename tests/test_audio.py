import logging

import numpy as np
import pytest

from musiclime import AudioError, load_audio
from musiclime.common.audio import resample, save_audio


def tone(seconds=1.0, rate=44100, freq=440.0, channels=2):
    t = np.arange(int(seconds * rate)) / rate
    x = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x] * channels) if channels > 1 else x


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_reads_every_format_resampled_to_requested_rate(tmp_path, ext):
    path = save_audio(tmp_path / f"tone.{ext}", tone(), 44100)
    audio, rate = load_audio(path, sample_rate=22050)
    assert rate == 22050 and audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.shape[0] - 22050) < 2000  # mp3/ogg codecs add a little padding
    spectrum = np.abs(np.fft.rfft(audio[:16384]))
    peak_hz = np.argmax(spectrum) * 22050 / 16384
    assert abs(peak_hz - 440) < 5, "resampling must keep the pitch"


def test_keeps_channels_and_rate_when_asked(tmp_path):
    path = save_audio(tmp_path / "s.wav", tone(channels=2), 44100)
    audio, rate = load_audio(path, sample_rate=None, mono=False)
    assert rate == 44100 and audio.shape == (2, 44100)


def test_resample_length_and_dtype():
    out = resample(np.ones((2, 44100), dtype=np.float32), 44100, 22050)
    assert out.shape == (2, 22050) and out.dtype == np.float32


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(AudioError, match="not found.*nope.wav"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty.*empty.wav"):
        load_audio(tmp_path / "empty.wav")


def test_undecodable_file(tmp_path):
    (tmp_path / "text.mp3").write_text("this is not audio at all " * 50)
    with pytest.raises(AudioError, match="cannot decode.*text.mp3"):
        load_audio(tmp_path / "text.mp3")


def test_truncated_file(tmp_path):
    path = save_audio(tmp_path / "full.flac", tone(seconds=2.0), 44100)
    (tmp_path / "cut.flac").write_bytes(path.read_bytes()[:200])  # header survives, frames are gone
    with pytest.raises(AudioError, match="cut.flac"):
        load_audio(tmp_path / "cut.flac")


def test_header_only_wav_has_no_samples(tmp_path):
    path = save_audio(tmp_path / "full.wav", tone(), 44100)
    (tmp_path / "header.wav").write_bytes(path.read_bytes()[:44])
    with pytest.raises(AudioError, match="header.wav"):
        load_audio(tmp_path / "header.wav")


def test_nan_samples_rejected(tmp_path):
    audio = tone(channels=1)
    audio[100] = np.nan
    path = save_audio(tmp_path / "nan.wav", audio, 44100)
    with pytest.raises(AudioError, match="nan.wav holds 1 NaN/inf"):
        load_audio(path)


def test_silence_warns(tmp_path, caplog):
    path = save_audio(tmp_path / "quiet.wav", np.zeros(4410, dtype=np.float32), 44100)
    with caplog.at_level(logging.WARNING, logger="musiclime"):
        audio, _ = load_audio(path)
    assert "quiet.wav is silent" in caplog.text
    assert not np.any(audio)


def test_wav_writes_are_byte_reproducible(tmp_path):
    audio = tone(channels=2)
    first = save_audio(tmp_path / "a.wav", audio, 44100).read_bytes()
    second = save_audio(tmp_path / "b.wav", audio, 44100).read_bytes()
    assert first == second
    loaded, rate = load_audio(tmp_path / "a.wav", sample_rate=None, mono=False)
    np.testing.assert_array_equal(loaded, audio)
