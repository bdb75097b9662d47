import numpy as np
import pytest

from musiclime import MusicLIMEExplainer, PredictionError
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.modality import FeatureLayout
from musiclime.models.glassbox import GlassBoxModel
from musiclime.method.estimation.sampling import sample_masks


class RecordingModel:
    """Wraps a real model and records the size of every batch it is given."""

    def __init__(self, model):
        self.model, self.batch_sizes = model, []

    def __call__(self, texts, audios):
        assert len(texts) == audios.shape[0] and audios.dtype == np.float32
        self.batch_sizes.append(audios.shape[0])
        return self.model(texts, audios)


@pytest.mark.parametrize("batch_size", [1, 7, 32])
def test_predict_fn_never_gets_more_than_batch_size(factorization, text_factorization, batch_size):
    model = RecordingModel(GlassBoxModel(factorization, {"bass_T1": 0.2}))
    explainer = MusicLIMEExplainer(random_state=0, batch_size=batch_size, progress=False)
    exp = explainer.explain_instance_with_factorization(factorization, text_factorization, model, num_samples=75)
    assert max(model.batch_sizes) <= batch_size
    coarse = exp.metadata["stem_attribution"]["costs"]  # the 32 coalitions of the exact attribution, apart
    assert coarse["model_items"] == 32
    assert sum(model.batch_sizes) == 75 + 1 + 32  # every sample once, the original song, the coalitions
    assert exp.metadata["model_calls"] + coarse["n_calls"] == len(model.batch_sizes)


def test_rows_match_their_masks(factorization, text_factorization):
    layout = FeatureLayout("both", 16, text_factorization.num_words())
    masks = sample_masks(20, layout.num_features, random_state=1)
    model = GlassBoxModel(factorization, {n: 0.01 * i for i, n in enumerate(factorization.get_ordered_component_names())})
    result = predict_masks(factorization, text_factorization, masks, layout, model, batch_size=6, progress=False)
    one_by_one = [model([text_factorization.inverse_removing(np.flatnonzero(r[16:] == 0))],
                        factorization.compose_model_input(np.flatnonzero(r[:16]))[None])[0] for r in masks]
    np.testing.assert_allclose(result.predictions, np.array(one_by_one), atol=1e-9)
    assert result.n_calls == 4


@pytest.mark.parametrize("bad, message", [
    (lambda t, a: np.full((len(t), 3, 1), 0.3), "shape"),
    (lambda t, a: np.full((len(t) + 1, 2), 0.5), "shape"),
    (lambda t, a: np.where(np.arange(len(t))[:, None] == 2, np.nan, 0.5) * np.ones((len(t), 2)), "NaN"),
    (lambda t, a: np.tile([2.0, -1.0], (len(t), 1)), "not probabilities"),
    (lambda t, a: np.tile([0.7, 0.7], (len(t), 1)), "not probabilities"),
    (lambda t, a: "nonsense", "non-numeric|shape"),
])
def test_bad_model_output_is_named_by_batch(factorization, text_factorization, bad, message):
    layout = FeatureLayout("audio", 16, text_factorization.num_words())
    masks = sample_masks(10, 16, random_state=0)
    with pytest.raises(PredictionError, match=f"({message}).*batch 0 \\(samples 0..3\\)|batch 0 \\(samples 0..3\\).*({message})"):
        predict_masks(factorization, text_factorization, masks, layout, bad, batch_size=4, progress=False)


def test_batch_index_in_error_for_a_later_batch(factorization, text_factorization):
    calls = []

    def flaky(texts, audios):
        calls.append(1)
        out = np.full((len(texts), 2), 0.5)
        if len(calls) == 3:
            out[0, 0] = np.nan
        return out

    layout = FeatureLayout("audio", 16, 0)
    with pytest.raises(PredictionError, match="batch 2 \\(samples 8..11\\)"):
        predict_masks(factorization, text_factorization, sample_masks(20, 16, 0), layout, flaky, batch_size=4,
                      progress=False)
