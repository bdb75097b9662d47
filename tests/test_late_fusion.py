"""Late-fusion models encode each distinct input once; results equal the plain path's."""

import numpy as np
import pytest
import torch

from musiclime import PredictionError
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.scoring.late_fusion import distinct_rows, is_late_fusion
from musiclime.method.modality import FeatureLayout
from musiclime.models.demo_classifier import DemoClassifier, DemoModelConfig, DemoPredictor
from musiclime.models.glassbox import GlassBoxModel


@pytest.fixture
def demo_model():
    torch.manual_seed(0)
    return DemoPredictor(DemoClassifier(DemoModelConfig()), batch_size=8)


def plain(model):
    """The same model without the protocol: only ``predict_fn(texts, audios)``."""
    return lambda texts, audios: model(texts, audios)


def grid_masks(layout: FeatureLayout, n_audio_masks: int, n_lyric_masks: int, seed: int = 0) -> np.ndarray:
    """Every pair of a few random audio masks and a few random lyric masks, row 0 all ones."""
    rng = np.random.RandomState(seed)
    audio = rng.randint(0, 2, (n_audio_masks, layout.n_audio))
    lyrics = rng.randint(0, 2, (n_lyric_masks, layout.n_text))
    audio[0], lyrics[0] = 1, 1
    rows = [np.concatenate([a, t]) for a in audio for t in lyrics]
    return np.array(rows, dtype=np.int64)


def test_the_demo_model_has_the_protocol_and_a_lambda_does_not(demo_model):
    assert is_late_fusion(demo_model) and not is_late_fusion(plain(demo_model))


def test_late_fusion_equals_the_plain_path_and_encodes_each_input_once(factorization, text_factorization,
                                                                        demo_model):
    layout = FeatureLayout("both", 16, text_factorization.num_words())
    masks = grid_masks(layout, 5, 4)
    fused = predict_masks(factorization, text_factorization, masks, layout, demo_model, batch_size=6, progress=False)
    direct = predict_masks(factorization, text_factorization, masks, layout, plain(demo_model), batch_size=6,
                           progress=False)
    np.testing.assert_allclose(fused.predictions, direct.predictions, atol=1e-6)
    n_audio, n_lyrics = (len(np.unique(part, axis=0)) for part in (masks[:, :16], masks[:, 16:]))
    assert n_audio == 5 and n_lyrics >= 3
    assert fused.costs() == {"compositions": n_audio, "model_items": 0, "audio_encodings": n_audio,
                             "lyric_encodings": n_lyrics, "fused_rows": 20}
    assert direct.costs() == {"compositions": n_audio, "model_items": 20, "audio_encodings": 0, "lyric_encodings": 0,
                              "fused_rows": 0}


@pytest.mark.parametrize("modality, audio_encodings, lyric_encodings", [("audio", 12, 1), ("lyrical", 1, 12)])
def test_a_single_modality_encodes_the_constant_side_once(factorization, text_factorization, demo_model, modality,
                                                          audio_encodings, lyric_encodings):
    layout = FeatureLayout(modality, 16, text_factorization.num_words())
    masks = np.unique(np.random.RandomState(1).randint(0, 2, (40, layout.num_features)), axis=0)[:12]
    result = predict_masks(factorization, text_factorization, masks, layout, demo_model, batch_size=5, progress=False)
    assert (result.audio_encodings, result.lyric_encodings, result.fused_rows) == (audio_encodings, lyric_encodings, 12)
    direct = predict_masks(factorization, text_factorization, masks, layout, plain(demo_model), batch_size=5,
                           progress=False)
    np.testing.assert_allclose(result.predictions, direct.predictions, atol=1e-6)


def test_a_plain_model_composes_each_distinct_audio_mask_once(factorization, text_factorization):
    layout = FeatureLayout("both", 16, text_factorization.num_words())
    masks = grid_masks(layout, 3, 5, seed=2)
    model = GlassBoxModel(factorization, {n: 0.01 * i for i, n in enumerate(factorization.get_ordered_component_names())})
    result = predict_masks(factorization, text_factorization, masks, layout, model, batch_size=4, progress=False)
    one_by_one = [model([text_factorization.inverse_removing(np.flatnonzero(r[16:] == 0))],
                        factorization.compose_model_input(np.flatnonzero(r[:16]))[None])[0] for r in masks]
    np.testing.assert_allclose(result.predictions, np.array(one_by_one), atol=1e-9)
    assert (result.compositions, result.model_items) == (3, 15)


def test_distinct_rows_map_back_to_the_matrix():
    matrix = np.array([[1, 0], [0, 1], [1, 0], [1, 1]])
    found = distinct_rows(matrix)
    assert len(found) == 3
    np.testing.assert_array_equal(found.rows[found.index], matrix)
    empty = distinct_rows(np.zeros((4, 0)))
    assert len(empty) == 1 and empty.index.tolist() == [0, 0, 0, 0]


class WrongEmbedding:
    """A late-fusion model whose audio encoder drops the batch dimension."""

    def __call__(self, texts, audios):
        return np.full((len(texts), 2), 0.5)

    def encode_audio(self, audios):
        return np.zeros(3)

    def encode_lyrics(self, texts):
        return np.zeros((len(texts), 2))

    def fuse(self, audio_emb, lyric_emb):
        return np.full((len(audio_emb), 2), 0.5)


def test_a_malformed_embedding_is_named(factorization, text_factorization):
    layout = FeatureLayout("both", 16, text_factorization.num_words())
    with pytest.raises(PredictionError, match=r"encode_audio returned shape \(3,\)"):
        predict_masks(factorization, text_factorization, grid_masks(layout, 2, 2), layout, WrongEmbedding(),
                      progress=False)


def test_an_explanation_records_what_it_cost_and_mlflow_gets_it(factorization, text_factorization, demo_model):
    from musiclime import MusicLIMEExplainer
    from musiclime.tracking.records import explanation_metrics

    explainer = MusicLIMEExplainer(random_state=0, sampler="factorial", progress=False)
    exp = explainer.explain_instance_with_factorization(factorization, text_factorization, demo_model,
                                                        num_samples=400, labels=None)
    meta = exp.metadata
    assert meta["fused_rows"] == 400 and meta["model_items"] == 1  # the rows fused; the original song scored whole
    assert 15 <= meta["audio_encodings"] <= 20 and 1 <= meta["lyric_encodings"] <= 20  # about sqrt(400) each
    assert meta["compositions"] == meta["audio_encodings"]
    metrics = explanation_metrics(exp)
    for name in ("audio_encodings", "lyric_encodings", "fused_rows", "compositions", "model_items", "model_calls"):
        assert metrics[name] == meta[name]
