"""The full fit: a ridge on every feature, recorded beside the explanation's selected features."""

import numpy as np

from musiclime import MusicLIMEExplainer
from musiclime.method.estimation.full_fit import FULL_FIT_METHOD, fit_every_feature, full_fit_block
from musiclime.method.modality import FeatureLayout
from musiclime.method.estimation.sampling import sample_masks
from musiclime.method.estimation.surrogate import fit_surrogate
from musiclime.models.glassbox import GlassBoxModel


def test_the_full_fit_is_lime_s_ridge_on_every_column():
    masks = sample_masks(300, 12, 0)
    truth = np.linspace(-0.2, 0.2, 12)
    target = 0.3 + masks @ truth + 0.05 * masks[:, 0] * masks[:, 1]
    predictions = np.stack([1 - target, target], axis=1)
    fits = fit_every_feature(masks, predictions, [1], FeatureLayout("audio", 12, 0), kernel_width=0.5)
    lime = fit_surrogate(masks, predictions, [1], kernel_width=0.5, feature_selection="none", num_features=12)[1]
    dense = np.zeros(12)
    for index, weight in lime.local_exp:
        dense[index] = weight
    np.testing.assert_allclose(fits[1].coef, dense, atol=1e-8)
    assert abs(fits[1].intercept - lime.intercept) < 1e-8 and abs(fits[1].score - lime.score) < 1e-8
    block = full_fit_block(fits)
    assert block["method"] == FULL_FIT_METHOD and len(block["labels"]["1"]["weights"]) == 12


def test_the_explanation_records_a_weight_for_every_audio_component(factorization, text_factorization):
    names = factorization.get_ordered_component_names()
    leaders = {name: 0.05 * (i + 1) for i, name in enumerate(names[:4])}
    model = GlassBoxModel(factorization, leaders, bias=0.2)
    explainer = MusicLIMEExplainer(random_state=0, progress=False, num_features=3)
    exp = explainer.explain_instance_with_factorization(factorization, text_factorization, model, num_samples=300,
                                                        labels=(1,), modality="audio")
    weights = np.asarray(exp.metadata["full_fit"]["labels"]["1"]["weights"])
    assert len(weights) == len(exp.features) == len(names) and len(exp.local_exp[1]) == 3
    np.testing.assert_allclose(weights[:4], [0.05, 0.10, 0.15, 0.20], atol=0.01)  # the 4th leader too
    assert np.all(np.abs(weights[4:]) < 0.01)
