import numpy as np
import pytest

from musiclime import FactorizationError, StemFactorization, TimeOnlyFactorization
from musiclime.common.audio import save_audio
from musiclime.factorization import segment_boundaries

from .conftest import noise_stems


def test_segments_cover_the_whole_signal():
    edges = segment_boundaries(10, 3)
    assert edges.tolist() == [0, 3, 6, 10]
    lengths = np.diff(segment_boundaries(22050 * 7 + 5, 10))
    assert lengths.sum() == 22050 * 7 + 5 and lengths.max() - lengths.min() <= 1


def test_component_names_are_segment_major(factorization):
    names = factorization.get_ordered_component_names()
    assert factorization.get_number_components() == 16
    assert names[:5] == ["vocals_T0", "drums_T0", "bass_T0", "other_T0", "vocals_T1"]
    assert names[-1] == "other_T3"


def test_compose_sums_selected_components_and_keeps_the_tail(factorization, stems):
    audio = factorization.compose_model_input([1, 15])  # drums_T0, other_T3
    edges = factorization.boundaries
    expected = np.zeros_like(audio)
    expected[edges[0]:edges[1]] += stems["drums"][edges[0]:edges[1]]
    expected[edges[3]:] += stems["other"][edges[3]:]
    np.testing.assert_allclose(audio, expected, atol=1e-7)
    assert np.any(audio[-10:]), "the last samples belong to the last segment"
    np.testing.assert_allclose(factorization.compose_model_input(range(16)), sum(stems.values()), atol=1e-6)


def test_compose_batch_matches_single_composition(factorization):
    masks = np.random.default_rng(1).integers(0, 2, (5, 16))
    batch = factorization.compose_batch(masks)
    assert batch.shape == (5, factorization.nb_timesteps) and batch.dtype == np.float32
    for row, audio in zip(masks, batch):
        np.testing.assert_allclose(audio, factorization.compose_model_input(np.flatnonzero(row)), atol=1e-6)


def test_stem_folder_in_openunmix_order(tmp_path):
    stems = noise_stems(16000, 1.0)
    for name in ["bass", "other", "vocals", "drums"]:
        save_audio(tmp_path / f"{name}.flac", np.stack([stems[name]] * 2), 16000)
    fact = StemFactorization(tmp_path, sample_rate=8000, temporal_segments=2)
    assert fact.source_names == ["vocals", "drums", "bass", "other"]
    assert fact.sample_rate == 8000 and fact.nb_timesteps == 8000
    assert fact.segment_boundaries_seconds() == [0.0, 0.5, 1.0]


def test_residual_makes_components_sum_to_the_mix(stems):
    mix = sum(stems.values()) + 0.05
    plain = StemFactorization(stems, sample_rate=8000, temporal_segments=2, mix=mix)
    assert plain.reconstruction_error() > 0.01
    full = StemFactorization(stems, sample_rate=8000, temporal_segments=2, mix=mix, residual=True)
    assert full.source_names[-1] == "residual" and full.get_number_components() == 10
    np.testing.assert_allclose(full.reconstruction(), mix, atol=1e-6)


def test_bad_stems_are_named(tmp_path, stems):
    stems["bass"] = stems["bass"][:-5]
    with pytest.raises(FactorizationError, match="differ in length.*bass"):
        StemFactorization(stems, sample_rate=8000)
    with pytest.raises(FactorizationError, match="not found.*nowhere"):
        StemFactorization(tmp_path / "nowhere", sample_rate=8000)
    with pytest.raises(FactorizationError, match="no audio files"):
        StemFactorization(tmp_path, sample_rate=8000)
    with pytest.raises(FactorizationError, match="temporal_segments"):
        StemFactorization(noise_stems(8000, 1.0), sample_rate=8000, temporal_segments=0)
    bad = noise_stems(8000, 1.0)
    bad["drums"][3] = np.inf
    with pytest.raises(Exception, match="drums"):
        StemFactorization(bad, sample_rate=8000)


def test_time_only_segments_the_mix():
    audio = np.arange(100, dtype=np.float32)
    fact = TimeOnlyFactorization(audio, sample_rate=10, temporal_segments=3)
    assert fact.get_ordered_component_names() == ["mix_T0", "mix_T1", "mix_T2"]
    np.testing.assert_array_equal(fact.compose_model_input([2])[66:], audio[66:])
    assert not np.any(fact.compose_model_input([2])[:66])
