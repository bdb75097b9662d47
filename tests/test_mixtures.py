"""Composition by mixture tables: equal to the weighted sum of the components, batch-independent."""

import numpy as np
import pytest

from musiclime.factorization.base import Factorization
from musiclime.factorization.mixtures import all_mixture_tables, mixture_codes, mixture_table, table_bytes


def reference(fact: Factorization, masks: np.ndarray) -> np.ndarray:
    """float64 weighted sum of the components, segment by segment."""
    n_sources = fact.stems.shape[0]
    out = np.zeros((masks.shape[0], fact.nb_timesteps))
    for k, (a, b) in enumerate(zip(fact.boundaries[:-1], fact.boundaries[1:])):
        out[:, a:b] = masks[:, k * n_sources:(k + 1) * n_sources] @ fact.stems[:, a:b].astype(np.float64)
    return out


def make_fact(n_sources=4, segments=5, length=3001, seed=0):
    rng = np.random.default_rng(seed)
    stems = rng.standard_normal((n_sources, length)).astype(np.float32)
    return Factorization(stems, [f"s{i}" for i in range(n_sources)], 1000, segments)


def test_codes_set_one_bit_per_active_source():
    masks = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1]])
    assert mixture_codes(masks).tolist() == [0, 1, 10, 15]
    assert table_bytes(4, 100) == 16 * 100 * 4


def test_table_rows_are_the_sums_of_their_sources():
    stems = np.random.default_rng(1).standard_normal((3, 50)).astype(np.float32)
    table = mixture_table(stems)
    for code in range(8):
        active = [i for i in range(3) if code >> i & 1]
        np.testing.assert_allclose(table[code], stems[active].sum(axis=0), atol=1e-6)
    lazy = mixture_table(stems, codes=np.array([5]))
    np.testing.assert_array_equal(lazy[[0, 1, 5]], table[[0, 1, 5]])  # same recipe, same bits


@pytest.mark.parametrize("n_sources", [1, 4, 5])
def test_binary_masks_compose_the_weighted_sum(n_sources):
    fact = make_fact(n_sources)
    masks = np.random.default_rng(2).integers(0, 2, (37, fact.get_number_components()))
    composed = fact.compose_batch(masks)
    np.testing.assert_allclose(composed, reference(fact, masks), atol=1e-5)
    tables = all_mixture_tables(fact.stems, fact.boundaries)
    np.testing.assert_array_equal(fact.compose_batch(masks, tables=tables), composed)


def test_a_row_composes_the_same_bits_in_any_batch():
    fact = make_fact()
    masks = np.random.default_rng(3).integers(0, 2, (20, fact.get_number_components()))
    batch = fact.compose_batch(masks)
    for i in (0, 7, 19):
        np.testing.assert_array_equal(fact.compose_batch(masks[i:i + 1])[0], batch[i])


def test_compose_into_a_larger_buffer_writes_only_the_batch_rows():
    fact = make_fact()
    masks = np.random.default_rng(4).integers(0, 2, (3, fact.get_number_components()))
    buffer = np.full((8, fact.nb_timesteps), 7.0, dtype=np.float32)
    view = fact.compose_batch(masks, out=buffer)
    assert view.shape == (3, fact.nb_timesteps) and np.shares_memory(view, buffer)
    np.testing.assert_allclose(buffer[:3], reference(fact, masks), atol=1e-5)
    assert np.all(buffer[3:] == 7.0)


@pytest.mark.parametrize("n_sources, weights", [(4, "real"), (7, "binary")])
def test_real_weights_and_many_sources_multiply(n_sources, weights):
    fact = make_fact(n_sources, segments=3)
    rng = np.random.default_rng(5)
    shape = (9, fact.get_number_components())
    masks = rng.uniform(-1, 2, shape) if weights == "real" else rng.integers(0, 2, shape)
    np.testing.assert_allclose(fact.compose_batch(masks), reference(fact, masks), atol=1e-5)
