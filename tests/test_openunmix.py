"""Open-Unmix separation with the real package, on weights written locally (no network here)."""

import numpy as np
import pytest

from musiclime import OpenUnmixFactorization, WeightsUnavailableError
from musiclime.factorization.openunmix import _crossfade_window, chunk_groups, separate
from musiclime.factorization.openunmix_weights import init_untrained_weights_folder


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return init_untrained_weights_folder(tmp_path_factory.mktemp("umx") / "weights", hidden_size=16)


def song(seconds=3.0, rate=22050):
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def test_local_weights_folder_separates_at_the_callers_rate(weights):
    audio = song()
    fact = OpenUnmixFactorization(audio, temporal_segmentation_params=3, sample_rate=22050, model=str(weights),
                                  progress=False)
    assert fact.source_names == ["vocals", "drums", "bass", "other"]
    assert fact.stems.shape == (4, audio.size) and fact.sample_rate == 22050
    assert fact.get_ordered_component_names()[:4] == ["vocals_T0", "drums_T0", "bass_T0", "other_T0"]
    assert np.all(np.isfinite(fact.stems)) and np.any(fact.stems)
    np.testing.assert_array_equal(fact.mix, audio)  # the original is kept beside the reconstruction
    assert fact.describe()["backend"] == "openunmix"


def test_chunked_separation_covers_the_song_and_residual_closes_the_mix(weights):
    audio = song(seconds=4.0)
    stems, names = separate(audio, 22050, model=weights, chunk_seconds=1.5, overlap_seconds=0.25, progress=False)
    assert stems.shape == (4, audio.size) and np.all(np.isfinite(stems))
    assert np.abs(stems[:, -2205:]).max() > 0, "the tail is separated too"
    fact = OpenUnmixFactorization(audio, temporal_segments=2, model=weights, residual=True, chunk_seconds=1.5,
                                  overlap_seconds=0.25, progress=False)
    assert fact.source_names[-1] == "residual"
    np.testing.assert_allclose(fact.reconstruction(), audio, atol=1e-5)


def test_batched_separation_equals_one_chunk_at_a_time(weights):
    audio = song(seconds=6.0)
    kwargs = dict(model=weights, chunk_seconds=1.5, overlap_seconds=0.25, progress=False)
    one_at_a_time, names = separate(audio, 22050, chunk_batch=1, **kwargs)
    batched, batched_names = separate(audio, 22050, chunk_batch=3, **kwargs)
    assert names == batched_names and batched.shape == one_at_a_time.shape == (4, audio.size)
    assert np.abs(one_at_a_time).max() > 1e-3
    np.testing.assert_allclose(batched, one_at_a_time, atol=1e-4)


def test_chunk_groups_batch_full_chunks_and_keep_the_short_tail_alone():
    # length 1000, chunks of 300 with hop 250: starts 0, 250, 500, 750 (the last one 250 long)
    assert chunk_groups([0, 250, 500, 750], 300, 1000, 2) == [[0, 250], [500], [750]]
    assert chunk_groups([0, 250, 500], 300, 800, 8) == [[0, 250, 500]]
    assert chunk_groups([0], 300, 120, 4) == [[0]]
    with pytest.raises(Exception, match="chunk_batch"):
        chunk_groups([0], 300, 120, 0)


def test_crossfade_weights_sum_to_one():
    length, chunk, overlap = 1000, 300, 50
    total = np.zeros(length)
    for start in range(0, length - overlap, chunk - overlap):
        stop = min(start + chunk, length)
        total[start:stop] += _crossfade_window(stop - start, overlap, start == 0, stop == length)
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_pretrained_name_offline_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no cached weights
    with pytest.raises(WeightsUnavailableError, match="umxhq.*(offline|internet).*separator.json"):
        OpenUnmixFactorization(song(1.0), model="umxhq", progress=False)


def test_unknown_model_and_incomplete_folder(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="neither a pretrained name"):
        OpenUnmixFactorization(song(1.0), model="not-a-model", progress=False)
    (tmp_path / "half").mkdir()
    with pytest.raises(WeightsUnavailableError, match="lacks separator.json"):
        OpenUnmixFactorization(song(1.0), model=tmp_path / "half", progress=False)
