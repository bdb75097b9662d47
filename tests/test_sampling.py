import numpy as np
import pytest

from musiclime.common.errors import ConfigError
from musiclime.method.estimation.sampling import sample_masks


def test_random_sampler_reproduces_the_seed():
    masks = sample_masks(100, 7, random_state=3)
    expected = np.random.RandomState(3).randint(0, 2, 700).reshape(100, 7)
    expected[0] = 1
    np.testing.assert_array_equal(masks, expected)


def test_exhaustive_sampler_lists_every_mask_once():
    masks = sample_masks(16, 4, sampler="exhaustive")
    assert masks.shape == (16, 4) and masks[0].tolist() == [1, 1, 1, 1]
    assert len({tuple(r) for r in masks}) == 16


@pytest.mark.parametrize("args, message", [
    ((1, 4), "num_samples must be at least 2"),
    ((10, 0), "at least one feature"),
    ((8, 4, None, "exhaustive"), "2\\*\\*4 = 16 samples"),
    ((8, 4, None, "sobol"), "unknown sampler 'sobol'"),
])
def test_bad_sampling_requests(args, message):
    with pytest.raises(ConfigError, match=message):
        sample_masks(*args)


def test_paired_sampler_follows_each_mask_with_its_complement():
    masks = sample_masks(101, 9, random_state=5, sampler="paired")
    assert masks.shape == (101, 9) and masks[0].tolist() == [1] * 9 and masks[1].tolist() == [0] * 9
    np.testing.assert_array_equal(masks[2:100:2] + masks[3:101:2], 1)
    np.testing.assert_array_equal(masks, sample_masks(101, 9, random_state=5, sampler="paired"))


@pytest.mark.parametrize("sampler", ["factorial", "factorial_paired"])
def test_factorial_samplers_draw_about_sqrt_n_masks_per_modality(sampler):
    masks = sample_masks(5000, 52, random_state=0, sampler=sampler, audio_columns=40)
    assert masks.shape == (5000, 52) and masks[0].tolist() == [1] * 52
    audio, lyrics = np.unique(masks[:, :40], axis=0), np.unique(masks[:, 40:], axis=0)
    # ceil(sqrt(5000)) = 71 masks a modality; in pairs at least 2 (40 + 1) = 82 for 40 audio features
    assert len(audio) <= (82 if sampler == "factorial_paired" else 71) and len(lyrics) <= 71
    assert len(audio) <= 2 * 71 + 2 and len(audio) >= 65  # the bound; 40 columns rarely repeat a mask
    pairs = {(tuple(r[:40]), tuple(r[40:])) for r in masks}
    assert len(pairs) > 0.95 * 5000  # grid pairs are drawn without replacement
    if sampler == "factorial_paired":
        assert [0] * 40 in audio.tolist() and [0] * 12 in lyrics.tolist()  # the complement of all-ones
    np.testing.assert_array_equal(masks, sample_masks(5000, 52, 0, sampler, audio_columns=40))


def test_factorial_sampler_with_one_modality_is_random():
    np.testing.assert_array_equal(sample_masks(30, 8, 4, "factorial"), sample_masks(30, 8, 4, "random"))
    np.testing.assert_array_equal(sample_masks(30, 8, 4, "factorial_paired"), sample_masks(30, 8, 4, "paired"))


@pytest.mark.parametrize("sampler, floor", [("factorial", 17), ("factorial_paired", 34)])
def test_factorial_samplers_draw_enough_masks_to_tell_features_apart(sampler, floor):
    """16 audio features need 17 distinct masks (34 in pairs, which span half), even for 100 rows."""
    masks = sample_masks(100, 19, random_state=1, sampler=sampler, audio_columns=16)
    audio = np.unique(masks[:, :16], axis=0)
    assert len(audio) >= floor - 2  # a few random masks may coincide
    assert np.linalg.matrix_rank(np.c_[np.ones(len(audio)), audio]) == 17  # intercept + 16 features


@pytest.mark.parametrize("sampler", ["factorial", "factorial_paired"])
def test_grid_allocation_by_features_spends_the_same_encoder_items_where_features_are(sampler):
    """40 audio components and 7 lyric lines: equal draws 700 masks each (about 128 distinct lyrics ones);
    by_features gives the lyrics all 128 of theirs and the audio the other 1,272."""
    from musiclime.method.estimation.sampling import grid_sizes

    paired = sampler == "factorial_paired"
    assert grid_sizes(490_000, 40, 7, paired) == (700, 700)
    assert grid_sizes(490_000, 40, 7, paired, "by_features") == (1272, 128)
    assert grid_sizes(490_000, 40, 30, paired, "by_features") == (797, 603)  # in proportion to n + 1
    masks = sample_masks(490_000, 47, 0, sampler, audio_columns=40, allocation="by_features")
    audio, lyrics = np.unique(masks[:, :40], axis=0), np.unique(masks[:, 40:], axis=0)
    assert len(audio) == 1272 and len(lyrics) == 128 and len(masks) == 1272 * 128 < 490_000  # the whole grid
    assert (masks[0] == 1).all() and len(np.unique(masks, axis=0)) == len(masks)
    if paired:
        lyric_rows = {tuple(row) for row in lyrics}
        assert all(tuple(1 - row) in lyric_rows for row in lyrics)
    # equal allocation draws the masks it always drew
    assert np.array_equal(sample_masks(900, 47, 3, sampler, audio_columns=40),
                          sample_masks(900, 47, 3, sampler, audio_columns=40, allocation="equal"))
    with pytest.raises(ConfigError, match=r"explain\.grid_allocation"):
        sample_masks(900, 47, 3, sampler, audio_columns=40, allocation="greedy")
