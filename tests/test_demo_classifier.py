"""The demo classifier: deterministic training, the predict_fn contract, weight loading errors,
held-out accuracy and MusicLIME explanations that point at vocals, drums and lyrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from musiclime import LineIndexedString, MusicLIMEExplainer, MusicLimeError, StemFactorization
from musiclime.demo import synthesize_song
from musiclime.demo.training import train_demo_model
from musiclime.models.demo_classifier import (DemoModelError, N_LINE_STATS, load_demo_model, load_demo_predict_fn,
                                              lyrics_features)

TINY = dict(n_train=8, duration_s=2.0, epochs=2, clean_epochs=1, n_test=4, test_duration_s=2.0, threads=1)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_model")
    metrics = train_demo_model(out, seed=3, **TINY)
    return out, metrics


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    """The demo model with the default training settings, 20 held-out songs of 12 s (about 50 s on two cores)."""
    out = tmp_path_factory.mktemp("demo_model")
    metrics = train_demo_model(out, seed=0, n_test=20, test_duration_s=12.0)
    return out, metrics


def test_training_writes_weights_config_and_metrics(tiny_model):
    out, metrics = tiny_model
    assert (out / "model.pt").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["sample_rate"] == 22050 and config["n_mels"] == 64
    written = json.loads((out / "metrics.json").read_text())
    assert written == pytest.approx(metrics)
    assert written["n_train"] == 8 and written["n_test"] == 4 and written["train_time_s"] > 0
    assert 0.0 <= written["accuracy"] <= 1.0


def test_training_is_deterministic(tiny_model, tmp_path):
    out, _ = tiny_model
    train_demo_model(tmp_path, seed=3, **TINY)
    first = torch.load(out / "model.pt", weights_only=True)
    second = torch.load(tmp_path / "model.pt", weights_only=True)
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name
    train_demo_model(tmp_path / "other", seed=4, **TINY)
    third = torch.load(tmp_path / "other" / "model.pt", weights_only=True)
    assert not torch.equal(first["classifier.weight"], third["classifier.weight"])


def test_predict_fn_contract(tiny_model):
    out, _ = tiny_model
    predict_fn = load_demo_predict_fn(str(out), batch_size=3)
    assert predict_fn.sample_rate == 22050
    rng = np.random.default_rng(0)
    audios = (0.1 * rng.standard_normal((7, 22050))).astype(np.float32)
    texts = ["[Chorus]\nla la la\nla la la", "", "we drove past the harbor", "x", "oh", "yeah yeah", "tonight"]
    probabilities = predict_fn(texts, audios)
    assert probabilities.shape == (7, 2) and probabilities.dtype == np.float64
    assert np.all(probabilities >= 0) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.array_equal(probabilities, predict_fn(texts, audios))  # deterministic (eval mode, no dropout)
    one_by_one = np.concatenate([predict_fn([t], a[None]) for t, a in zip(texts, audios)])
    np.testing.assert_allclose(one_by_one, probabilities, atol=1e-6)  # batching does not matter
    for length in (100, 3 * 22050 + 17):  # any length, even shorter than one frame
        assert predict_fn(["a line"], np.zeros((1, length), dtype=np.float32)).shape == (1, 2)
    with pytest.raises(MusicLimeError, match="one text per waveform"):
        predict_fn(["only one text"], audios[:2])


def test_lyrics_features():
    lyrics = "[Verse 1]\nOh yeah tonight\nOh yeah tonight\n\n[Chorus]\nWe drove past the harbor"
    features = lyrics_features([lyrics, lyrics.replace("[Verse 1]", "[Intro]"), ""], 64)
    assert features.shape == (3, 64 + N_LINE_STATS)
    assert np.array_equal(features[0], features[1])  # metadata lines are ignored
    assert features[0, 64] == pytest.approx(3 / 20)  # lines
    assert features[0, 65] == pytest.approx(2 / 3)  # share of lines that repeat
    assert features[2, -1] == 1.0 and not features[2, :-1].any()  # "no lyrics" flag


def test_missing_or_corrupt_weights_raise(tiny_model, tmp_path):
    out, _ = tiny_model
    with pytest.raises(DemoModelError, match="not_there"):
        load_demo_predict_fn(str(tmp_path / "not_there"))
    assert issubclass(DemoModelError, MusicLimeError)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((out / "config.json").read_text())
    with pytest.raises(DemoModelError, match="model.pt"):
        load_demo_model(broken)
    (broken / "model.pt").write_bytes(b"this is not a torch file")
    with pytest.raises(DemoModelError, match="model.pt"):
        load_demo_model(broken)
    (broken / "model.pt").write_bytes((out / "model.pt").read_bytes())
    (broken / "config.json").write_text('{"n_mels": 32}')  # weights no longer fit
    with pytest.raises(DemoModelError, match="model.pt"):
        load_demo_model(broken)
    (broken / "config.json").write_text("{not json")
    with pytest.raises(DemoModelError, match="config.json"):
        load_demo_model(broken)


@pytest.mark.slow
def test_default_model_is_accurate_on_fresh_songs(trained_model):
    _, metrics = trained_model
    assert metrics["n_test"] >= 20
    assert metrics["accuracy"] >= 0.9
    assert metrics["audio_only_accuracy"] >= 0.9
    assert metrics["lyrics_only_accuracy"] >= 0.9


@pytest.mark.slow
def test_explanations_point_at_vocals_drums_and_lyrics(trained_model):
    weights_dir, _ = trained_model
    predict_fn = load_demo_predict_fn(str(weights_dir))
    explainer = MusicLIMEExplainer(random_state=0, progress=False)
    cue, no_cue = 0.0, 0.0
    for seed, style in ((4_000_001, "ai"), (4_000_002, "human"), (4_000_003, "human")):
        song = synthesize_song(seed, style, duration_s=12.0)
        stems = song.mono_stems(predict_fn.sample_rate)
        factorization = StemFactorization(stems, sample_rate=predict_fn.sample_rate, temporal_segments=4)
        text = LineIndexedString(song.lyrics)
        original = predict_fn([text.original()], factorization.compose_model_input(
            np.arange(factorization.get_number_components()))[None])
        label = int(original.argmax())
        assert label == song.label
        explanation = explainer.explain_instance_with_factorization(
            factorization, text, predict_fn, num_samples=300, labels=(label,), modality="both")
        for record in explanation.get_explanation(label=label, num_features=100):
            source = record["feature"].split("_T")[0]
            if record["type"] == "lyrics" or source in ("vocals", "drums"):
                cue += abs(record["weight"])
            else:
                no_cue += abs(record["weight"])
    assert cue > 2 * no_cue


@pytest.mark.slow
def test_default_model_hears_ai_songs_without_lyrics(trained_model):
    """The ai style's codec artifact is positive audio evidence: with every lyric line off, held-out ai
    songs still read as AI-Generated, and removing the artifact's segments lowers P(AI)."""
    weights_dir, metrics = trained_model
    assert metrics["audio_only_p_ai_on_ai"] > 0.6 and metrics["audio_only_p_human_on_human"] > 0.6
    assert metrics["no_vocals_p_human_on_human"] < metrics["p_human_on_human"]  # human songs use their vocals
    predict_fn = load_demo_predict_fn(str(weights_dir))
    for seed in (4_000_010, 4_000_011, 4_000_012):
        song = synthesize_song(seed, "ai", duration_s=12.0)
        stems = song.mono_stems(predict_fn.sample_rate)
        factorization = StemFactorization(stems, sample_rate=predict_fn.sample_rate, temporal_segments=10)
        everything = np.arange(factorization.get_number_components())
        names = factorization.get_ordered_component_names()
        truth = {f"{song.artifact.stem}_T{k}" for k in song.artifact.segments}
        without_artifact = np.array([i for i in everything if names[i] not in truth])
        no_lyrics = LineIndexedString(song.lyrics).inverse_removing(range(len(LineIndexedString(song.lyrics).lines)))
        p_ai = predict_fn([no_lyrics] * 2, np.stack([factorization.compose_model_input(everything),
                                                     factorization.compose_model_input(without_artifact)]))[:, 0]
        assert p_ai[0] > 0.5
        assert p_ai[1] < p_ai[0]
