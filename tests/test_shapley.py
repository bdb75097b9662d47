"""Kernel SHAP on scored masks: exact on every coalition, planted effects on the glass box, the sampler."""

from itertools import combinations
from math import factorial

import numpy as np
import pytest

from musiclime import MusicLIMEExplainer
from musiclime.common.errors import ConfigError, MusicLimeError
from musiclime.factorization.lyrics import make_text_factorization
from musiclime.method.estimation.rank_agreement import agreement
from musiclime.method.estimation.sampling import sample_masks
from musiclime.method.estimation.second_opinion import alternative_view, fit_surrogates
from musiclime.method.estimation.shapley import fit_kernel_shap, regression_weights, shapley_kernel, size_distribution
from musiclime.models.glassbox import glassbox_predict_fn
from musiclime.pipeline.stages import load_factorization

from .evidence_helpers import AUDIO_PLANT, LINE_PLANT, LYRICS, SEGMENTS, separate_song, write_song

#: Planted effects equal Shapley values of the additive glass box up to float rounding of the
#: least-squares solve and of the model's own projection of audio onto the stems.
GLASSBOX_TOLERANCE = 1e-6


def exact_shapley(value, m: int) -> np.ndarray:
    """Shapley values by the definition: phi_i = sum_S |S|! (m-|S|-1)! / m! (v(S + i) - v(S))."""
    phi = np.zeros(m)
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for size in range(m):
            coefficient = factorial(size) * factorial(m - size - 1) / factorial(m)
            for subset in combinations(others, size):
                phi[i] += coefficient * (value(set(subset) | {i}) - value(set(subset)))
    return phi


@pytest.mark.parametrize("m", [2, 5, 8])
def test_regression_on_every_coalition_gives_the_exact_shapley_values(m):
    rng = np.random.default_rng(m)
    table = {}

    def value(coalition: set) -> float:  # an arbitrary, non-additive game: a random value per coalition
        key = frozenset(coalition)
        if key not in table:
            table[key] = float(rng.normal())
        return table[key]

    masks = sample_masks(2**m, m, sampler="exhaustive")
    v = np.array([value({j for j in range(m) if row[j]}) for row in masks])
    predictions = np.stack([1 - v, v], axis=1)
    [fit] = fit_kernel_shap(masks, predictions, [1], sampler="exhaustive").values()
    phi = np.zeros(m)
    for index, weight in fit.local_exp:
        phi[index] = weight
    np.testing.assert_allclose(phi, exact_shapley(value, m), atol=1e-8, rtol=0)
    assert fit.intercept == pytest.approx(value(set()), abs=1e-12)
    assert fit.local_pred == pytest.approx(value(set(range(m))), abs=1e-10)  # efficiency
    assert [abs(w) for _, w in fit.local_exp] == sorted((abs(w) for _, w in fit.local_exp), reverse=True)


def test_random_masks_are_importance_weighted_towards_the_shapley_values():
    """Uniform random masks, weighted pi(z) / q(z), and Shapley-kernel masks, unweighted, both
    approach the exact values of a game with interactions as the sample grows."""
    m = 8
    rng = np.random.default_rng(1)
    effects, pairs = rng.normal(size=m), rng.normal(size=(m, m)) * 0.3

    def v_rows(rows):
        rows = np.asarray(rows, dtype=np.float64)
        return rows @ effects + np.einsum("ni,ij,nj->n", rows, np.triu(pairs, 1), rows)

    exact = exact_shapley(lambda s: float(v_rows([[j in s for j in range(m)]])[0]), m)
    for sampler in ("random", "shapley", "paired"):
        masks = sample_masks(20000, m, random_state=3, sampler=sampler)
        v = v_rows(masks)
        [fit] = fit_kernel_shap(masks, np.stack([1 - v, v], 1), [1], prediction_all_off=[1, 0],
                                sampler=sampler).values()
        phi = np.zeros(m)
        for index, weight in fit.local_exp:
            phi[index] = weight
        np.testing.assert_allclose(phi, exact, atol=0.05, err_msg=sampler)


def test_kernel_and_weights():
    m = 6
    sizes = np.arange(1, m)
    binom = np.array([6, 15, 20, 15, 6])
    np.testing.assert_allclose(shapley_kernel(sizes, m), (m - 1) / (binom * sizes * (m - sizes)))
    np.testing.assert_allclose(size_distribution(m), (1 / (sizes * (m - sizes))) / np.sum(1 / (sizes * (m - sizes))))
    assert np.isfinite(shapley_kernel(np.array([1, 600]), 1201)).all()  # C(1201, 600) overflows floats
    masks = np.array([[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]])
    weights = regression_weights(masks, "random")
    assert weights[:2].tolist() == [0, 0] and weights.sum() == pytest.approx(1)
    assert weights[2] / weights[3] == pytest.approx((5 / (6 * 1 * 5)) / (5 / (20 * 3 * 3)))
    assert regression_weights(masks, "shapley")[2:].tolist() == [0.5, 0.5]


def test_shapley_sampler_draws_kernel_sizes_in_complementary_pairs():
    m, n = 12, 20001
    masks = sample_masks(n, m, random_state=0, sampler="shapley")
    assert masks.shape == (n, m) and masks.dtype == np.int64
    assert masks[0].tolist() == [1] * m and masks[1].tolist() == [0] * m
    np.testing.assert_array_equal(masks[3::2], 1 - masks[2:-1:2])
    sizes = masks[2::2].sum(axis=1)
    observed = np.bincount(sizes, minlength=m)[1:m] / len(sizes)
    np.testing.assert_allclose(observed, size_distribution(m), atol=0.015)
    np.testing.assert_array_equal(sample_masks(7, m, random_state=5, sampler="shapley"),
                                  sample_masks(7, m, random_state=5, sampler="shapley"))


def test_kernel_shap_needs_the_all_off_prediction():
    masks = sample_masks(50, 6, random_state=0)
    predictions = np.full((50, 2), 0.5)
    with pytest.raises(MusicLimeError, match="prediction_all_off"):
        fit_kernel_shap(masks, predictions, [1])
    surrogates = fit_surrogates(masks, predictions, [1], "lime")  # the second opinion is skipped, with a note
    assert surrogates.alternative is None and "kernel_shap not fitted" in surrogates.note
    assert surrogates.alternative_block(6) == {"method": "kernel_shap", "note": surrogates.note}
    with pytest.raises(ConfigError, match="explain.surrogate"):
        fit_surrogates(masks, predictions, [1], "shap")


def test_agreement():
    a = np.array([0.5, -0.4, 0.3, 0.0, 0.1, 0.05])
    assert agreement(a, -a) == {"jaccard_top5": 1.0, "spearman_abs": 1.0}
    result = agreement(a, np.array([0.0, 0.0, 0.3, 0.4, 0.1, 0.5]), k=2)
    assert result["jaccard_top2"] == 0.0 and -1 <= result["spearman_abs"] < 1


@pytest.fixture(scope="module")
def glassbox_song(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapley")
    song = write_song(root, "planted", seed=0)
    stems = separate_song(song, root / "sep")
    fact, _ = load_factorization(stems, SEGMENTS)
    model = glassbox_predict_fn(str(stems), SEGMENTS, AUDIO_PLANT, LINE_PLANT, bias=0.45)
    return fact, make_text_factorization(LYRICS, "line"), model


@pytest.mark.parametrize("sampler", ["random", "shapley"])
@pytest.mark.parametrize("modality", ["both", "audio", "lyrical"])
def test_glassbox_kernel_shap_recovers_the_planted_effects(glassbox_song, sampler, modality):
    """Additive model: the Shapley value of a component is its planted weight, of every other feature 0."""
    fact, text, model = glassbox_song
    explainer = MusicLIMEExplainer(random_state=0, progress=False, sampler=sampler, surrogate="kernel_shap")
    exp = explainer.explain_instance_with_factorization(fact, text, model, num_samples=300, labels=None,
                                                        modality=modality)
    label = 1
    planted = {**AUDIO_PLANT, **LINE_PLANT}
    found = {feature["feature"]: 0.0 for feature in exp.features}
    for index, weight in exp.local_exp[label]:
        found[exp.features[index]["feature"]] = weight
    expected = {name: planted.get(name, 0.0) for name in found}
    assert len(exp.local_exp[label]) == len(exp.features)  # Kernel SHAP keeps every feature
    for name in found:
        assert found[name] == pytest.approx(expected[name], abs=GLASSBOX_TOLERANCE), name
    assert exp.metadata["surrogate"] == "kernel_shap"
    reused = bool(np.any(exp.data.sum(axis=1) == 0))  # a scored all-off row is reused: no extra model item
    assert reused or sampler != "shapley"  # the shapley sampler's row 1 is all off
    assert exp.metadata["model_items"] == 300 + 1 + (not reused)
    second = alternative_view(exp)
    assert second is not None and second.metadata["surrogate"] == "lime"
    assert set(exp.metadata["alternative_surrogate"]["agreement"]["1"]) == {"jaccard_top5", "spearman_abs"}
