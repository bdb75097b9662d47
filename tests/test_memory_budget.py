"""Composition buffers are sized in bytes: the budget holds for a long song, short songs get big blocks."""

import tracemalloc

import numpy as np
import pytest

from musiclime import ConfigError, LineIndexedString, StemFactorization
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.scoring.memory_budget import MIB, plan_blocks
from musiclime.method.modality import FeatureLayout
from musiclime.method.estimation.sampling import sample_masks

RATE = 22050


def test_short_song_gets_many_rows_per_block_and_long_song_smaller_batches():
    short = plan_blocks(5000, 10 * RATE, batch_size=32, budget_bytes=768 * MIB)
    assert short.model_batch == 32 and short.block_rows % 32 == 0 and short.block_rows > 32
    assert short.buffer_bytes <= 768 * MIB
    long = plan_blocks(5000, 7 * 60 * RATE, batch_size=32, budget_bytes=768 * MIB, reserved_bytes=60 * MIB)
    assert long.model_batch < 32 and long.block_rows == long.model_batch
    assert long.buffer_bytes + 60 * MIB <= 768 * MIB
    tiny = plan_blocks(5, 7 * 60 * RATE, batch_size=32, budget_bytes=MIB)
    assert tiny.model_batch == tiny.block_rows == 1  # never below one waveform
    assert plan_blocks(3, 1000, batch_size=32, budget_bytes=768 * MIB).block_rows == 3
    with pytest.raises(ConfigError, match="memory_budget_mb"):
        plan_blocks(10, 1000, 4, budget_bytes=0)


def energy_model(texts, audios):
    """Row-wise: P(class 1) grows with the RMS of the waveform and the lyrics' length (no big temporaries)."""
    rms = np.sqrt(np.array([float(np.dot(row, row)) for row in audios]) / audios.shape[1])
    p1 = 1.0 / (1.0 + np.exp(-(10 * rms - 1 + np.array([len(t) for t in texts]) / 500)))
    return np.stack([1 - p1, p1], axis=1)


def test_memory_budget_holds_for_a_seven_minute_song():
    rng = np.random.default_rng(0)
    length = 7 * 60 * RATE
    stems = {name: (0.1 * rng.standard_normal(length)).astype(np.float32) for name in ("vocals", "drums", "bass")}
    fact = StemFactorization(stems, sample_rate=RATE, temporal_segments=10)
    del stems
    text = LineIndexedString("one line\nanother line\na third")
    layout = FeatureLayout("both", fact.get_number_components(), text.num_words())
    masks = sample_masks(12, layout.num_features, random_state=0)
    budget_mb = 160  # one waveform is 35 MiB; the song's 8 mixture tables would take 283 MiB
    tracemalloc.start()
    try:
        result = predict_masks(fact, text, masks, layout, energy_model, batch_size=8, progress=False,
                               memory_budget_mb=budget_mb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= (budget_mb + 2) * MIB, f"peak {peak / MIB:.0f} MiB over the {budget_mb} MiB budget"
    assert result.n_calls == 4  # 3 waveforms per call fit the budget
    one_by_one = np.concatenate([energy_model([text.inverse_removing(np.flatnonzero(row[30:] == 0))],
                                              fact.compose_batch(row[None, :30])) for row in masks[:3]])
    np.testing.assert_allclose(result.predictions[:3], one_by_one, atol=1e-12)
