import numpy as np
import pytest

from musiclime.common.errors import ConfigError
from musiclime.method.sampling import sample_masks


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
