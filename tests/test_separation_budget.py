"""Chunks per Open-Unmix forward pass are sized from a byte budget; the stems do not depend on it."""

import logging

import numpy as np
import pytest

from musiclime import ConfigError
from musiclime.factorization.openunmix import separate
from musiclime.factorization.openunmix_weights import init_untrained_weights_folder
from musiclime.factorization.separation_budget import (DEFAULT_SEPARATION_MEMORY_BUDGET_MB, MIB, ChunkGeometry,
                                                       plan_chunk_batch)

#: a 30 s stereo chunk at 44.1 kHz through umxl/umxhq's STFT (4096/1024), four targets
UMX_30S = ChunkGeometry(chunk_samples=30 * 44100, n_fft=4096, n_hop=1024, nb_channels=2, nb_targets=4)


def test_a_thirty_second_chunk_costs_about_seven_hundred_megabytes():
    assert UMX_30S.nb_frames == 1292 and UMX_30S.nb_bins == 2049
    assert 600 * MIB < UMX_30S.chunk_bytes < 800 * MIB
    half = ChunkGeometry(15 * 44100, 4096, 1024, 2, 4)
    assert half.chunk_bytes == pytest.approx(UMX_30S.chunk_bytes / 2, rel=0.01)  # linear in the chunk's length


def test_budget_bounds_the_batch_and_chunk_batch_stays_the_upper_limit():
    per_chunk = UMX_30S.chunk_bytes
    assert plan_chunk_batch(4, UMX_30S, 100 * per_chunk) == 4
    assert plan_chunk_batch(4, UMX_30S, 2 * per_chunk + 1) == 2
    assert plan_chunk_batch(4, UMX_30S, per_chunk) == 1
    assert plan_chunk_batch(1, UMX_30S, 100 * per_chunk) == 1
    assert plan_chunk_batch(4, UMX_30S, DEFAULT_SEPARATION_MEMORY_BUDGET_MB * MIB) == 1  # the CPU default


def test_budget_below_one_chunk_names_the_key_and_what_one_chunk_needs():
    with pytest.raises(ConfigError, match=r"separation\.memory_budget_mb.*cannot hold one.*at least \d+"):
        plan_chunk_batch(4, UMX_30S, 256 * MIB)
    with pytest.raises(ConfigError, match=r"separation\.chunk_batch"):
        plan_chunk_batch(0, UMX_30S, 4096 * MIB)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return init_untrained_weights_folder(tmp_path_factory.mktemp("umx") / "weights", hidden_size=16)


def test_small_budget_separates_one_at_a_time_with_the_stems_of_a_big_one(weights, caplog):
    rate = 22050
    t = np.arange(6 * rate) / rate
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)
             + 0.05 * np.random.default_rng(0).standard_normal(t.size)).astype(np.float32)
    kwargs = dict(model=weights, chunk_seconds=1.5, overlap_seconds=0.25, progress=False, chunk_batch=3)
    # a 1.5 s chunk at 44.1 kHz through a 2048/512 STFT takes ~35 MiB
    with caplog.at_level(logging.INFO, logger="musiclime.factorization"):
        small, names = separate(audio, rate, memory_budget_mb=40, **kwargs)
    assert "1 per forward pass" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="musiclime.factorization"):
        big, big_names = separate(audio, rate, memory_budget_mb=4096, **kwargs)
    assert "3 per forward pass" in caplog.text
    assert names == big_names and small.shape == big.shape == (4, audio.size)
    assert np.abs(small).max() > 1e-3
    np.testing.assert_allclose(small, big, atol=1e-4)
    with pytest.raises(ConfigError, match=r"separation\.memory_budget_mb"):
        separate(audio, rate, memory_budget_mb=16, **kwargs)
