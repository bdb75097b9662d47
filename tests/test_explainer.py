import json
from functools import partial

import numpy as np
import pytest
import sklearn.metrics
from lime.lime_base import LimeBase

from musiclime import ConfigError, MusicLIMEExplainer, load_explanation
from musiclime.factorization.openunmix_weights import init_untrained_weights_folder
from musiclime.models.glassbox import GlassBoxModel

AUDIO_PLANT = {"drums_T2": 0.25, "vocals_T0": -0.15, "bass_T3": 0.10}
LINE_PLANT = {"sing the chorus loud": -0.2, "second line with words": 0.12}


def planted_model(factorization, modality):
    audio = AUDIO_PLANT if modality in ("both", "audio") else {}
    lines = LINE_PLANT if modality in ("both", "lyrical") else {}
    return GlassBoxModel(factorization, audio, lines, bias=0.45), {**audio, **lines}


@pytest.mark.parametrize("sampler", ["random", "paired", "factorial", "factorial_paired"])
@pytest.mark.parametrize("modality", ["both", "audio", "lyrical"])
def test_planted_features_ranked_first_with_right_signs(factorization, text_factorization, modality, sampler):
    model, planted = planted_model(factorization, modality)
    explainer = MusicLIMEExplainer(random_state=0, progress=False, sampler=sampler)
    exp = explainer.explain_instance_with_factorization(factorization, text_factorization, model, num_samples=400,
                                                        labels=(0, 1), modality=modality)
    top = exp.get_explanation(1, len(planted))
    assert {f["feature"] for f in top} == set(planted)
    for item in top:
        assert item["type"] == ("audio" if item["feature"] in AUDIO_PLANT else "lyrics")
        assert np.sign(item["weight"]) == np.sign(planted[item["feature"]])
        if sampler != "factorial_paired":  # 400 rows from 34 x 8 paired masks: ranks and signs hold, sizes drift
            assert item["weight"] == pytest.approx(planted[item["feature"]], abs=0.02)
    # class 0 is the complement of class 1: same features, opposite signs
    assert {f["feature"]: -f["weight"] for f in exp.get_explanation(0, len(planted))} == pytest.approx(
        {f["feature"]: f["weight"] for f in top}, abs=1e-9)
    assert exp.score[1] > 0.99


def test_lyrical_mode_names_lines_as_lyrics(factorization, text_factorization):
    model, _ = planted_model(factorization, "lyrical")
    exp = MusicLIMEExplainer(random_state=0, progress=False).explain_instance_with_factorization(
        factorization, text_factorization, model, num_samples=100, modality="lyrical")
    items = exp.get_explanation(1, 10)
    assert len(items) == text_factorization.num_words()
    assert all(item["type"] == "lyrics" for item in items)
    assert {item["feature"] for item in items} == set(text_factorization.lines)


def test_default_weights_equal_limebase_on_the_seed_masks(factorization, text_factorization):
    model = GlassBoxModel(factorization, {n: 0.02 * ((i % 5) - 2) for i, n in
                                          enumerate(factorization.get_ordered_component_names())},
                          {line: 0.03 for line in text_factorization.lines}, bias=0.4, link="logistic")
    exp = MusicLIMEExplainer(kernel_width=25, random_state=7, progress=False).explain_instance_with_factorization(
        factorization, text_factorization, model, num_samples=300, labels=(1,))

    n_features = 16 + text_factorization.num_words()
    data = np.random.RandomState(7).randint(0, 2, 300 * n_features).reshape(300, n_features)
    data[0, :] = 1
    texts = [text_factorization.inverse_removing(np.flatnonzero(r[16:] == 0)) for r in data]
    audios = np.stack([factorization.compose_model_input(np.flatnonzero(r[:16])) for r in data])
    predictions = model(texts, audios)
    distances = sklearn.metrics.pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
    base = LimeBase(partial(lambda d, w: np.sqrt(np.exp(-(d**2) / w**2)), w=25), verbose=False)
    intercept, local_exp, score, local_pred = base.explain_instance_with_data(data, predictions, distances, 1,
                                                                              num_features=20)
    np.testing.assert_array_equal(exp.data, data)
    assert [i for i, _ in exp.local_exp[1]] == [i for i, _ in local_exp]
    np.testing.assert_allclose([w for _, w in exp.local_exp[1]], [w for _, w in local_exp], atol=1e-8, rtol=0)
    assert exp.intercept[1] == pytest.approx(intercept, abs=1e-8)
    assert exp.score[1] == pytest.approx(score, abs=1e-8)
    assert exp.local_pred[1] == pytest.approx(local_pred[0], abs=1e-8)


def test_labels_none_explains_the_predicted_class(factorization, text_factorization):
    model = GlassBoxModel(factorization, {"drums_T1": -0.3}, bias=0.4)  # predicts class 0
    exp = MusicLIMEExplainer(random_state=0, progress=False).explain_instance_with_factorization(
        factorization, text_factorization, model, num_samples=60, labels=None)
    assert list(exp.local_exp) == [0] and exp.predicted_label == 0


def test_original_and_reconstruction_scores_both_reported(stems, text_factorization):
    from musiclime import StemFactorization
    mix = sum(stems.values()) * 1.0
    mix[:4000] = 0.0  # the original differs from the sum of the stems
    fact = StemFactorization(stems, sample_rate=8000, temporal_segments=4, mix=mix)
    model = GlassBoxModel(fact, {"vocals_T0": 0.3, "drums_T0": 0.2}, bias=0.3)
    exp = MusicLIMEExplainer(random_state=0, progress=False).explain_instance_with_factorization(
        fact, text_factorization, model, num_samples=40)
    assert exp.probabilities_reconstruction[1] == pytest.approx(0.8, abs=1e-6)
    assert exp.probabilities_original[1] == pytest.approx(0.3, abs=1e-6)


def test_save_to_json_writes_exactly_there_with_metadata(tmp_path, factorization, text_factorization, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, _ = planted_model(factorization, "both")
    exp = MusicLIMEExplainer(random_state=0, progress=False).explain_instance_with_factorization(
        factorization, text_factorization, model, num_samples=50, song_info={"song_id": "s1"})
    target = tmp_path / "deep" / "dir" / "my.json"
    assert exp.save_to_json(target, song_info={"artist": "x"}, num_features=5) == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["my.json"]  # no temp file left behind
    assert not (tmp_path / "results").exists()
    doc = json.loads(target.read_text())
    meta = doc["metadata"]
    assert meta["song_info"] == {"song_id": "s1", "artist": "x"}
    assert meta["sample_rate"] == 8000 and meta["segment_boundaries_s"] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert meta["parameters"]["num_samples"] == 50 and meta["parameters"]["kernel_width"] == 25
    assert meta["model_calls"] == 3 and set(meta["timings_s"]) >= {"predict", "fit", "total"}
    assert len(doc["explanations"]["label_1"]["top_features"]) == 5
    again = load_explanation(target)
    assert again.get_explanation(1, 5) == exp.get_explanation(1, 5)


def test_explain_instance_seed_signature_with_time_only_and_openunmix(tmp_path):
    rate = 8000
    audio = (0.1 * np.random.default_rng(0).standard_normal(rate * 2)).astype(np.float32)
    lyrics = "la la la\nsecond line"

    def loudness_model(texts, audios):  # class 1 grows with the energy of the second half
        p1 = np.clip(np.sqrt(np.mean(audios[:, audios.shape[1] // 2:] ** 2, axis=1)) * 5, 0, 1)
        return np.stack([1 - p1, p1], axis=1)

    explainer = MusicLIMEExplainer(kernel_width=25, random_state=0, progress=False)
    exp = explainer.explain_instance(audio, lyrics, loudness_model, num_samples=64, labels=(1,), temporal_segments=2,
                                     modality="audio", sample_rate=rate, factorization="time_only")
    assert exp.get_explanation(1, 1)[0]["feature"] == "mix_T1"

    weights = init_untrained_weights_folder(tmp_path / "umx", hidden_size=8)
    exp = explainer.explain_instance(audio, lyrics, loudness_model, num_samples=20, temporal_segments=2,
                                     sample_rate=rate, separation_model=str(weights))
    assert exp.metadata["factorization"]["backend"] == "openunmix"
    assert len(exp.features) == 4 * 2 + 2


def test_bad_parameters_are_named():
    with pytest.raises(ConfigError, match="kernel_width"):
        MusicLIMEExplainer(kernel_width=0)
    with pytest.raises(ConfigError, match="feature_selection"):
        MusicLIMEExplainer(feature_selection="magic")
    with pytest.raises(ConfigError, match="modality"):
        MusicLIMEExplainer().explain_instance_with_factorization(None, None, None, modality="video")
